"""One-line input for creating CRM elements: name, phones, e-mails, an amount and the rest.

A sales rep types `/lead Jan Kowalski +48 600 100 200 jan@firma.pl 5000 zł strona www` on a
phone; the handler passes the text after the command to `parse_line`. Everything here is pure:
no Telegram, no database, no clock.

Extraction order, each step cutting its span out before the next one looks:

1. URLs are shielded (left in the title, never read as phones or amounts).
2. E-mails, so that digits inside an address (`jan.600100200@sms.pl`) never become a phone.
3. Postal addresses (`ul. Długa 12/34 00-950 Warszawa`, `г. Москва, ул. Тверская, д. 1`), so
   house numbers and postal codes are never read as a phone.
4. Phones: `phonenumbers.PhoneNumberMatcher` (Leniency.VALID) and then a fallback that tries
   runs of digit groups (`8 (916) 123-45-67` in RU, `600 100 200 601 200 300`). A number
   directly followed by a currency or a multiplier (`500 000 000 zł`) is an amount, not a
   phone, even when it would be a valid phone number.
5. Money: the first amount with a currency or a multiplier (`5000 zł`, `zł 800`, `1500
   долларов`, `200 тыс. руб`). A bare number (`Order 15`) is not money. A minus sign stuck to
   the amount is kept: the caller refuses a negative amount.
6. Company: a legal form and the name beside it, see `extract_company`.
7. Person: a first name wherever it stands, see `extract_name`. The rest is the title.

Only the first `MAX_INPUT_CHARS` characters are read; control and format characters are
dropped, so hostile input costs bounded work.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import phonenumbers
from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberMatcher

from crm import names

__all__ = [
    "MAX_INPUT_CHARS",
    "Money",
    "ParsedLine",
    "extract_company",
    "extract_name",
    "normalize_email",
    "normalize_phone",
    "parse_line",
    "parse_money",
    "region_for_locale",
]

MAX_INPUT_CHARS = 4096
# Far above any real deal; also keeps Decimal arithmetic exact within its default precision.
MAX_AMOUNT = Decimal(10) ** 15
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal  # quantized to 2 places
    currency: str  # ISO 4217, e.g. "PLN"


@dataclass(frozen=True, slots=True)
class ParsedLine:
    name: str | None
    phones: tuple[str, ...]  # E.164
    emails: tuple[str, ...]  # lowercased
    money: Money | None  # as written: a negative amount is kept negative for the caller to refuse
    rest: str  # title/comment, whitespace collapsed
    company: str | None = None  # marked by a legal form: `ACME Sp. z o.o.`, `ООО «Ромашка»`
    address: str | None = None  # `ul. Długa 12/34, 00-950 Warszawa`
    first_name: str | None = None  # parts of `name`: `Kowalski Jan` → Jan / Kowalski
    last_name: str | None = None


# --- cleaning ---------------------------------------------------------------------------------
# Pasted terminal output: without this `\x1b[31m` would leave `[31m`, read as 31 million.
_ANSI_ESCAPE_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def _clean(text: str) -> str:
    """Cap, compose and drop control/format characters.

    Control characters and exotic spaces (NBSP, thin space, line separators) become plain
    spaces, so a stray `\\x00` between two words does not glue them; format characters
    (zero-width spaces, bidi overrides, BOM, soft hyphens), lone surrogates, private-use and
    unassigned code points vanish.
    """
    text = unicodedata.normalize("NFC", text[:MAX_INPUT_CHARS])
    text = _ANSI_ESCAPE_RE.sub(" ", text)
    out: list[str] = []
    for ch in text:
        if ch.isprintable() or ch == " ":
            out.append(ch)
            continue
        category = unicodedata.category(ch)
        if category == "Cc" or category in ("Zl", "Zp", "Zs"):
            out.append(" ")
        elif category in ("Cf", "Cs", "Cn", "Co"):
            continue
        else:
            out.append(ch)
    return "".join(out)


_MASK = "\x00"  # never survives _clean, so it cannot collide with user text


def _mask(text: str, start: int, end: int) -> str:
    return text[:start] + _MASK * (end - start) + text[end:]


def _collapse(text: str) -> str:
    return " ".join(text.split())


_SPACE_BEFORE_PUNCT_RE = re.compile(r"\s+([,.;:!?)\]])")
_SPACE_AFTER_OPEN_RE = re.compile(r"([(\[])\s+")
_EMPTY_BRACKETS_RE = re.compile(r"\(\s*\)|\[\s*\]|\"\s*\"|«\s*»|„\s*[”“]|“\s*”")
_REPEATED_SEPARATORS_RE = re.compile(r"([,;])(?:\s*[,;])+")
_EDGE_JUNK = " ,;:|/-–—"


def _tidy(text: str) -> str:
    """Collapse whitespace and the separators left dangling where spans were cut out."""
    text = _collapse(text)
    for _ in range(2):  # removing empty brackets can expose more dangling separators
        text = _EMPTY_BRACKETS_RE.sub(" ", text)
        text = _collapse(text)
        text = _SPACE_BEFORE_PUNCT_RE.sub(r"\1", text)
        text = _SPACE_AFTER_OPEN_RE.sub(r"\1", text)
        text = _REPEATED_SEPARATORS_RE.sub(r"\1", text)
    return text.strip(_EDGE_JUNK)


# --- e-mails and URLs -------------------------------------------------------------------------
_URL_RE = re.compile(r"(?<![\w@])(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_EMAIL_CORE = (
    r"[\w%+\-]+(?:\.[\w%+\-]+)*"  # local part: no leading/trailing/double dots
    r"@"
    r"(?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.)+"  # domain labels
    r"[^\W\d_]{2,24}"  # TLD: letters only, so `jan@firma.pl2` is not an address
)
_EMAIL_RE = re.compile(rf"(?<![\w.%+\-]){_EMAIL_CORE}(?![\w\-]|\.[^\W_])")
_EMAIL_FULL_RE = re.compile(_EMAIL_CORE)


def normalize_email(raw: str) -> str | None:
    """`<Jan@Firma.PL>` or `mailto:jan@firma.pl` → `jan@firma.pl`; anything else → None."""
    value = _clean(raw).strip().strip("<>").strip()
    if value.lower().startswith("mailto:"):
        value = value[len("mailto:") :]
    if len(value) > 254 or not _EMAIL_FULL_RE.fullmatch(value):
        return None
    return value.lower()


# --- money ------------------------------------------------------------------------------------
_SP = "[ \u00a0\u2009\u202f]"  # space, NBSP, thin space, narrow NBSP
_NOT_LETTER_AHEAD = r"(?![^\W\d_])"
_NUMBER = rf"[0-9]{{1,3}}(?:{_SP}[0-9]{{3}}(?![0-9]))+(?:[.,][0-9]+)?|[0-9]+(?:[.,][0-9]+)*"

# Multipliers written as a word may stand apart from the number; single letters only stick to
# it, because `5 k` / `5 m` are more likely a preposition or metres than thousands/millions.
_MULTIPLIERS: dict[str, int] = {
    "k": 1_000,
    "к": 1_000,
    "tys": 1_000,
    "тыс": 1_000,
    "m": 1_000_000,
    "mln": 1_000_000,
    "mio": 1_000_000,
    "млн": 1_000_000,
    "mld": 1_000_000_000,
    "млрд": 1_000_000_000,
    "tysiąc": 1_000,
    "tysiące": 1_000,
    "tysięcy": 1_000,
    "тысяча": 1_000,
    "тысячи": 1_000,
    "тысяч": 1_000,
    "thousand": 1_000,
    "milion": 1_000_000,
    "miliony": 1_000_000,
    "milionów": 1_000_000,
    "миллион": 1_000_000,
    "миллиона": 1_000_000,
    "миллионов": 1_000_000,
    "million": 1_000_000,
}
_MULT_WORD = (
    r"tysiące|tysięcy|tysiąc|тысячи|тысяча|тысяч|thousand|milionów|miliony|milion|миллионов"
    r"|миллиона|миллион|million|tys\.?|тыс\.?|mln\.?|mio\.?|млн\.?|mld\.?|млрд\.?"
)
_MULT_ATTACHED = r"[kк]|m"
# Nothing word-like may follow: `10m2` is an area and `5kg` a weight, not millions/thousands.
_MULT = rf"(?:{_SP}?(?:{_MULT_WORD})|(?:{_MULT_ATTACHED}))(?!\w)"

_CURRENCY_WORDS: dict[str, str] = {
    # PLN
    "zł": "PLN",
    "zl": "PLN",
    "pln": "PLN",
    "złotych": "PLN",
    "złote": "PLN",
    "złoty": "PLN",
    "zloty": "PLN",
    "zlotych": "PLN",
    "zlote": "PLN",
    "złotego": "PLN",
    "złotówek": "PLN",
    "złotówki": "PLN",
    "zlotys": "PLN",
    "злотых": "PLN",
    "злотый": "PLN",
    "злотого": "PLN",
    "злотые": "PLN",
    # EUR
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "евро": "EUR",
    "euros": "EUR",
    # USD
    "$": "USD",
    "usd": "USD",
    "dolar": "USD",
    "dolara": "USD",
    "dolary": "USD",
    "dolarów": "USD",
    "dolarow": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "доллар": "USD",
    "доллара": "USD",
    "долларов": "USD",
    "долл": "USD",
    # RUB
    "₽": "RUB",
    "руб": "RUB",
    "рубль": "RUB",
    "рублей": "RUB",
    "рубля": "RUB",
    "р": "RUB",
    "rub": "RUB",
    "rubles": "RUB",
    "roubles": "RUB",
    # UAH
    "₴": "UAH",
    "грн": "UAH",
    "uah": "UAH",
    "гривен": "UAH",
    "гривна": "UAH",
    "гривны": "UAH",
    # GBP
    "£": "GBP",
    "gbp": "GBP",
    # KZT
    "₸": "KZT",
    "kzt": "KZT",
    "тенге": "KZT",
    # others
    "byn": "BYN",
    "chf": "CHF",
    "czk": "CZK",
    "kč": "CZK",
}
_SYMBOLS = "€$£₽₴₸"
# Abbreviations may carry their dot (`руб.`, `р.`, `zł.`). Every word must end there, so `р`
# in `100 раз` is not roubles.
_ABBREVIATIONS = frozenset({"zł", "zl", "руб", "р", "грн", "долл"})


def _currency_after_pattern() -> str:
    words = sorted((w for w in _CURRENCY_WORDS if w not in _SYMBOLS), key=len, reverse=True)
    parts = [re.escape(w) + (r"\.?" if w in _ABBREVIATIONS else "") for w in words]
    # A symbol right before another number belongs to that number: `Order 15 $300` is $300.
    symbols = rf"[{re.escape(_SYMBOLS)}](?!{_SP}?[0-9])"
    return rf"(?:{'|'.join(parts)})(?!\w)|{symbols}"


# Written before the number: symbols, ISO codes and `zł` (`zł 800`, as on a price tag).
_CODES = sorted({w for w, iso in _CURRENCY_WORDS.items() if w == iso.lower()})


def _currency_before_pattern(codes: list[str]) -> str:
    return rf"[{re.escape(_SYMBOLS)}]|(?<![^\W\d_])(?:{'|'.join(codes)}){_NOT_LETTER_AHEAD}\.?"


_CURRENCY_BEFORE = _currency_before_pattern([*_CODES, "zł", "zl"])
_CURRENCY_AFTER = _currency_after_pattern()

# A minus sign counts only stuck to the amount at the start of a word (`-500 zł`, `-$50`):
# `Kowalski - 500 zł` is a dash and `10-500 zł` a range.
_SIGN = r"(?<![^\s(])[-−]"
_MONEY_RE = re.compile(
    rf"(?P<sign>{_SIGN}(?=[0-9]|{_CURRENCY_BEFORE}))?"
    rf"(?:(?P<pre>{_CURRENCY_BEFORE}){_SP}?(?P<sign2>[-−])?|(?<![\w.,]))"
    rf"(?P<num>{_NUMBER})"
    rf"(?P<mult>{_MULT})?"
    rf"(?:{_SP}?(?P<post>{_CURRENCY_AFTER}))?",
    re.IGNORECASE,
)
# Used to keep amounts such as `500 000 000 zł` from being taken as (valid) phone numbers.
# A currency followed by a number is that number's (`600 100 200 zł 800`: a phone, then 800 zł).
_MONEY_TAIL_RE = re.compile(
    rf"(?:{_MULT})|{_SP}?(?:{_CURRENCY_AFTER})(?!{_SP}?[0-9])", re.IGNORECASE
)
# `zł` in front of a number is money only where money is looked for: in `5000 zł 600 100 200`
# that `zł` belongs to 5000 and the phone stays a phone.
_MONEY_HEAD_RE = re.compile(rf"(?:{_currency_before_pattern(_CODES)}){_SP}?\Z", re.IGNORECASE)


def _currency_code(token: str) -> str:
    return _CURRENCY_WORDS[token.lower().rstrip(".")]


def _multiplier(token: str) -> int:
    return _MULTIPLIERS[token.strip(" \u00a0\u2009\u202f").lower().rstrip(".")]


def _grouped(parts: list[str]) -> bool:
    return 1 <= len(parts[0]) <= 3 and all(len(p) == 3 for p in parts[1:])


def _number_value(raw: str, has_multiplier: bool) -> Decimal | None:
    """Read `5 000`, `1 500,50`, `1,5`, `1.500.000`, `1.500,50` or `1,500.50`.

    Spaces group thousands. With both `.` and `,` the last one is the decimal mark. A lone mark
    is decimal, except before exactly three digits without a multiplier (`1.500 zł` is 1500:
    nobody writes money with three decimals); repeated marks group thousands.
    """
    spaced = re.search(_SP, raw) is not None
    s = re.sub(_SP, "", raw)
    if len(s) > 24:
        return None
    marks = [c for c in s if c in ".,"]
    integer, fraction = s, ""
    if len(set(marks)) == 2:
        decimal_mark = marks[-1]
        if marks.count(decimal_mark) != 1:
            return None
        integer, fraction = s.split(decimal_mark)
        group_mark = "," if decimal_mark == "." else "."
        groups = integer.split(group_mark)
        if not _grouped(groups):
            return None
        integer = "".join(groups)
    elif len(marks) == 1:
        integer, fraction = re.split(r"[.,]", s)
        if not spaced and not has_multiplier and len(fraction) == 3:
            integer, fraction = integer + fraction, ""
    elif len(marks) > 1:
        groups = re.split(r"[.,]", s)
        if spaced or not _grouped(groups):
            return None
        integer = "".join(groups)
    try:
        return Decimal(f"{integer}.{fraction or '0'}")
    except InvalidOperation:
        return None


def _money_from_match(match: re.Match[str], default_currency: str) -> Money | None:
    pre, mult, post = match.group("pre"), match.group("mult"), match.group("post")
    if not (pre or mult or post):
        return None  # a bare number is a quantity or part of a title, not money
    value = _number_value(match.group("num"), has_multiplier=bool(mult))
    if value is None:
        return None
    if mult:
        value *= _multiplier(mult)
    if value >= MAX_AMOUNT:
        return None
    # The currency written first wins (`$100 USD`, `€100 zł` → the symbol in front).
    currency = _currency_code(pre) if pre else _currency_code(post) if post else default_currency
    if match.group("sign") or match.group("sign2"):
        value = -value  # kept as written: the caller refuses it, never makes it positive
    return Money(value.quantize(_CENT, rounding=ROUND_HALF_UP), currency)


def _find_money(text: str, default_currency: str) -> tuple[Money, int, int] | None:
    for match in _MONEY_RE.finditer(text):
        money = _money_from_match(match, default_currency)
        if money is not None:
            return money, match.start(), match.end()
    return None


def parse_money(text: str, default_currency: str = "PLN") -> Money | None:
    """The whole string is one amount: `5000 zł`, `$1.5k`, `10 тыс. руб`, `1,5 mln`.

    A bare number without a currency or multiplier (`5000`) is None; a multiplier without a
    currency gets `default_currency`.
    """
    value = _collapse(_clean(text))
    match = _MONEY_RE.fullmatch(value)
    if match is None:
        return None
    return _money_from_match(match, default_currency.upper())


# --- phones -----------------------------------------------------------------------------------
_PHONE_RUN_RE = re.compile(r"(?<![\w+])\+?[0-9(][0-9 \t\u00a0\u2009\u202f().\-]*[0-9)]")
_PHONE_TOKEN_RE = re.compile(r"[^ \t\u00a0\u2009\u202f]+")
_MIN_PHONE_DIGITS = 7
_MAX_PHONE_DIGITS = 17  # 15 of E.164 plus an international prefix such as `00`
_MAX_PHONE_TOKENS = 8  # `+7 (916) 123 45 67` is 5; more groups than 8 is not one number
_MAX_PARSE_ATTEMPTS = 512  # a real line needs a few dozen; bounds digit-soup input


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def normalize_phone(raw: str, region: str = "PL") -> str | None:
    """`600 100 200`, `+48 600-100-200`, `0048600100200` (PL) → `+48600100200`; invalid → None.

    `region` is the ISO 3166 country the number is dialled from when it has no `+`.
    """
    value = _collapse(_clean(raw))
    if not value or len(value) > 64 or not any(c.isdigit() for c in value):
        return None
    try:
        number = phonenumbers.parse(value, region.upper())
    except phonenumbers.NumberParseException:
        return None
    return _e164(number) if phonenumbers.is_valid_number(number) else None


def _next_to_money(text: str, start: int, end: int) -> bool:
    return bool(
        _MONEY_TAIL_RE.match(text, end) or _MONEY_HEAD_RE.search(text[max(0, start - 6) : start])
    )


def _balance_parens(text: str, start: int, end: int) -> tuple[int, int]:
    """Take in the bracket the matcher left outside: it returns `(600 100 200` without `)`."""
    span = text[start:end]
    opened, closed = span.count("("), span.count(")")
    if opened > closed and text[end : end + 1] == ")":
        end += 1
    elif closed > opened and start > 0 and text[start - 1] == "(":
        start -= 1
    return start, end


def _fallback_phones(text: str, region: str) -> list[tuple[str, int, int]]:
    """Find local formats the matcher declines: try windows of whitespace-separated groups,
    longest first, so `600 100 200 601 200 300` yields two numbers and `… 45-67 10к` stops
    before the amount."""
    found: list[tuple[str, int, int]] = []
    attempts = 0
    for run in _PHONE_RUN_RE.finditer(text):
        tokens = [
            (run.start() + t.start(), run.start() + t.end())
            for t in _PHONE_TOKEN_RE.finditer(run.group())
        ]
        digits = [sum(c.isdigit() for c in text[s:e]) for s, e in tokens]
        i = 0
        while i < len(tokens):
            taken = False
            for j in range(min(len(tokens), i + _MAX_PHONE_TOKENS), i, -1):
                count = sum(digits[i:j])
                if count < _MIN_PHONE_DIGITS:
                    break  # shorter windows only have fewer digits
                if count > _MAX_PHONE_DIGITS:
                    continue
                start, end = tokens[i][0], tokens[j - 1][1]
                window = text[start:end]
                start += len(window) - len(window.lstrip(".-)"))
                end -= len(window) - len(window.rstrip(".-("))
                if end < len(text) and text[end].isalnum():
                    continue
                if attempts >= _MAX_PARSE_ATTEMPTS:
                    return found
                attempts += 1
                phone = normalize_phone(text[start:end], region)
                if phone is not None and not _next_to_money(text, start, end):
                    found.append((phone, *_balance_parens(text, start, end)))
                    i, taken = j, True
                    break
            if not taken:
                i += 1
    return found


def _find_phones(text: str, region: str) -> tuple[str, list[tuple[str, int, int]]]:
    """Return the text with phones masked out, and (E.164, start, end) for each phone."""
    found: list[tuple[str, int, int]] = []
    for match in PhoneNumberMatcher(text, region, leniency=Leniency.VALID):
        if _next_to_money(text, match.start, match.end):
            continue
        found.append((_e164(match.number), *_balance_parens(text, match.start, match.end)))
    for _, start, end in found:
        text = _mask(text, start, end)
    extra = _fallback_phones(text, region)
    for _, start, end in extra:
        text = _mask(text, start, end)
    return text, sorted(found + extra, key=lambda f: f[1])


# --- addresses --------------------------------------------------------------------------------
# Cut out before phones are looked for, so `ul. Długa 12/34 00-950` is never a phone number.
_HOUSE = r"\d{1,4}[^\W\d_]?(?:\s?/\s?\d{1,4}[^\W\d_]?)?"
_CITY = r"[A-ZĄĆĘŁŃÓŚŹŻ][^\W\d_]+(?:-[A-ZĄĆĘŁŃÓŚŹŻ][^\W\d_]+)?"
_STREET_WORDS = r"(?:[\w'’.\-]+\s){1,4}?"
_ADDRESS_RES = (
    # Polish: ul. Długa 12/34 m. 5, 00-950 Warszawa
    re.compile(
        r"(?<!\w)(?i:ul\.|al\.|pl\.|os\.|ulica|aleja|aleje|plac|osiedle)\s?"
        rf"{_STREET_WORDS}{_HOUSE}(?:\s?(?i:m\.|lok\.)\s?\d{{1,4}})?"
        rf"(?:,?\s\d{{2}}-\d{{3}}(?:\s{_CITY})?)?(?![\w\-])"
    ),
    # Russian: 123456, г. Москва, ул. Тверская, д. 1, корп. 2, кв. 5
    re.compile(
        r"(?<!\w)(?:(?:\d{6},?\s?)?(?i:г\.|город)\s?[А-ЯЁ][а-яё\-]+,?\s?)?"
        r"(?i:ул\.|улица|пр-т|просп\.|проспект|пр\.|пер\.|переулок|б-р|бульвар|наб\.|набережная"
        r"|ш\.|шоссе|пл\.|площадь|мкр\.?|микрорайон)\s?"
        r"(?:[\w'’.\-]+\s){0,3}?[\w'’.\-]+,?\s?(?i:д\.|дом)?\s?\d{1,4}[а-яa-z]?(?:/\d{1,4})?"
        r"(?:,?\s?(?i:корп\.|к\.|стр\.)\s?\d{1,3})?(?:,?\s?(?i:кв\.|оф\.|офис)\s?\d{1,4})?"
        r"(?![\w\-])"
    ),
    # English: 221 Baker Street, Apt 5
    re.compile(
        r"(?<![\w\-])\d{1,5}\s(?:[A-Z][\w'’\-]*\s){1,3}"
        r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Way|Place|Square)\b\.?"
        r"(?:,?\s(?:Apt|Suite|Ste|Unit)\.?\s?\d{1,5})?"
    ),
    # A postal code with its town: 00-950 Warszawa; г. Москва
    re.compile(rf"(?<![\w\-])\d{{2}}-\d{{3}}\s{_CITY}(?![\w\-])"),
    re.compile(r"(?<!\w)(?:\d{6},?\s?)?(?:г\.|город)\s?[А-ЯЁ][а-яё\-]+(?![\w\-])"),
)


def _find_addresses(text: str) -> list[tuple[str, int, int]]:
    found: list[tuple[str, int, int]] = []
    for pattern in _ADDRESS_RES:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(s < end and start < e for _, s, e in found):
                continue
            found.append((_collapse(match.group()).rstrip(","), start, end))
    return sorted(found, key=lambda f: f[1])


# --- words ------------------------------------------------------------------------------------
_LETTERS = "A-Za-zÀ-ÖØ-öø-ɏЀ-ӿ"  # Latin (with Polish and other diacritics) and Cyrillic
_NAME_WORD_RE = re.compile(rf"[{_LETTERS}]+(?:['’\-][{_LETTERS}]+)*")
_LEAD_PUNCT = "\"'«„“‚(["
_TRAIL_PUNCT = "\"'»”’)],;:.!?"


@dataclass(frozen=True, slots=True)
class _Token:
    start: int  # the word without the punctuation around it
    end: int
    core: str
    word: bool  # letters only (with inner hyphens and apostrophes)
    open_before: bool  # punctuation stands before it (a quote, a bracket)
    closed_after: bool  # punctuation stands after it (a comma, a dot, a quote)


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    for chunk in re.finditer(r"\S+", text):
        raw = chunk.group()
        left = len(raw) - len(raw.lstrip(_LEAD_PUNCT))
        right = len(raw.rstrip(_TRAIL_PUNCT))
        if right <= left:
            out.append(_Token(chunk.start(), chunk.end(), "", False, True, True))
            continue
        core = raw[left:right]
        out.append(
            _Token(
                chunk.start() + left,
                chunk.start() + right,
                core,
                _NAME_WORD_RE.fullmatch(core) is not None,
                left > 0,
                right < len(raw),
            )
        )
    return out


def _joined(a: _Token, b: _Token) -> bool:
    """Two neighbouring tokens with nothing but a space between them."""
    return not a.closed_after and not b.open_before


def _acronym(word: str) -> bool:
    return word.isupper() and sum(c.isalpha() for c in word) <= 4  # CRM, LLC, ООО, IT


# --- companies --------------------------------------------------------------------------------
_COMPANY_FORM_RE = re.compile(
    r"(?<![^\W\d_])(?:"
    r"sp\.?\s?z\s?o\.?\s?o\.?|sp\.\s?[jkp]\.|sp\.\s?k\.?|s\.\s?a\.|s\.\s?c\.|s\.\s?r\.\s?o\."
    r"|spółka\s+z\s+o(?:graniczoną)?\.?\s?o(?:dpowiedzialnością)?\.?"
    r"|(?-i:LLC|Ltd\.?|LTD|Inc\.?|INC|GmbH|GMBH|AG|PLC|Corp\.?|LLP|Sarl|SARL|SRL|BV|S\.A\.|SA)"
    r"|(?-i:ООО|ОАО|ЗАО|ПАО|НАО|АО|ИП|ТОО|ЧП|ГК|НКО|ФГУП|МУП)"
    r")(?![^\W\d_])",
    re.IGNORECASE,
)
# Russian forms stand before the name (ООО «Ромашка»), the others after it (ACME Sp. z o.o.).
_PREFIX_FORMS = frozenset({"ООО", "ОАО", "ЗАО", "ПАО", "НАО", "АО", "ИП", "ТОО", "ЧП", "ГК",
                           "НКО", "ФГУП", "МУП"})  # fmt: skip
_QUOTES = {'"': '"', "«": "»", "„": "”“", "“": "”", "'": "'"}
_COMPANY_CONNECTORS = frozenset({"i", "&", "and", "и", "+", "und", "oraz"})
_COMPANY_WORDS = frozenset(
    {"spółka", "firma", "grupa", "group", "holding", "syn", "synowie", "wspólnicy", "partners",
     "компания", "фирма", "группа"}
)  # fmt: skip
_INITIALS_RE = re.compile(r"[A-ZА-ЯЁ]\.(?:\s?[A-ZА-ЯЁ]\.?)?")
_MAX_COMPANY_WORDS = 5


def _company_word(token: _Token) -> bool:
    core = token.core
    if not core or not any(c.isalnum() for c in core):
        return core in _COMPANY_CONNECTORS
    return (
        core[0].isupper()
        or core[0].isdigit()
        or core.lower() in _COMPANY_WORDS
        or core.lower() in _COMPANY_CONNECTORS
    )


def _quoted(text: str, pos: int, forward: bool) -> int | None:
    """The far end of a quoted name right after (or right before) `pos`, if there is one."""
    if forward:
        i = pos
        while i < len(text) and text[i] == " ":
            i += 1
        if i >= len(text) or text[i] not in _QUOTES:
            return None
        ends = [text.find(c, i + 1) for c in _QUOTES[text[i]]]
        ends = [e for e in ends if e > i + 1]
        return min(ends) + 1 if ends else None
    i = pos - 1
    while i >= 0 and text[i] == " ":
        i -= 1
    if i < 0:
        return None
    for opening, closings in _QUOTES.items():
        if text[i] in closings:
            start = text.rfind(opening, 0, i)
            if start >= 0 and start < i - 1:
                return start
    return None


def _person_at(tokens: Sequence[_Token], i: int) -> bool:
    """A first name followed by a surname starts at `tokens[i]`."""
    if i + 1 >= len(tokens) or not (tokens[i].word and tokens[i + 1].word):
        return False
    head = names.analyse(tokens[i].core)
    return (
        head.first
        and not head.ambiguous
        and _joined(tokens[i], tokens[i + 1])
        and _surname_like(tokens[i + 1], at_start=False)
    )


def extract_company(text: str) -> tuple[str | None, str]:
    """Split `Wdrożenie ACME Sp. z o.o. pilne` into (`ACME Sp. z o.o.`, `Wdrożenie pilne`).

    A legal form (`sp. z o.o.`, `S.A.`, `sp.j.`, `LLC`, `GmbH`, … after the name; `ООО`, `АО`,
    `ИП`, … before it) marks the company. Its name is a quoted text next to the form, or up to
    five capitalised words (with `i`, `&`, `и` between them) on the form's side. A person
    written before the company's own words (`Jan Kowalski ACME Sp. z o.o.`) is left out of it.
    """
    match = _COMPANY_FORM_RE.search(text)
    if match is None:
        return None, text
    form_start, form_end = match.span()
    start, end = form_start, form_end
    tokens = _tokens(text)
    after = [t for t in tokens if t.start >= form_end]
    before = [t for t in tokens if t.end <= form_start]
    prefix = match.group().upper() in _PREFIX_FORMS
    grown = False
    if prefix:
        quoted_end = _quoted(text, form_end, forward=True)
        if quoted_end is not None:
            end, grown = quoted_end, True
        else:
            sole_trader = match.group().upper() == "ИП"
            taken: list[_Token] = []
            for k, token in enumerate(after):
                initials = sole_trader and _INITIALS_RE.fullmatch(
                    text[token.start : token.end + 1]
                )
                if len(taken) >= 3 or not (initials or (token.word and _company_word(token))):
                    break
                if taken and not _joined(taken[-1], token) and not initials:
                    break
                if not sole_trader and names.analyse(token.core).first and _person_at(after, k):
                    break  # ООО Ромашка Иван Петров: the person is not the company
                taken.append(token)
                if token.closed_after and not initials:
                    break
            if taken:
                last = taken[-1]
                end = last.end + (1 if text[last.end : last.end + 1] == "." else 0)
                grown = True
    if not grown:
        quoted_start = _quoted(text, form_start, forward=False)
        if quoted_start is not None:
            start = quoted_start
        else:
            taken = []
            for token in reversed(before):
                if len(taken) >= _MAX_COMPANY_WORDS or token.closed_after or not token.core:
                    break
                if not _company_word(token):
                    break
                taken.insert(0, token)
                if token.open_before:
                    break
            while taken and taken[0].core.lower() in _COMPANY_CONNECTORS:
                taken.pop(0)
            if len(taken) > 2 and _person_at(taken, 0):
                taken = taken[2:]
            if not taken and before and before[-1].word and not before[-1].closed_after:
                taken = [before[-1]]  # a lowercase line: `acme sp. z o.o.`
            if taken:
                start = taken[0].start
    company = _collapse(text[start:end])
    head = [t for t in tokens if t.end <= start]
    if head and head[-1].core.lower() in _PREPOSITIONS and not head[-1].closed_after:
        start = head[-1].start  # `Wdrożenie dla ACME Sp. z o.o.` → Wdrożenie
    return company, _tidy(text[:start] + " " + text[end:])


# --- people -----------------------------------------------------------------------------------
# Capitalised words that start titles far more often than they are someone's name.
_NOT_NAME_WORDS = frozenset(
    {
        "order", "offer", "invoice", "project", "website", "site", "contract", "request",
        "delivery", "service", "lead", "deal", "contact", "company", "test", "budget",
        "zamówienie", "oferta", "faktura", "projekt", "strona", "sklep", "umowa", "usługa",
        "dostawa", "serwis", "zapytanie", "firma", "budżet", "wdrożenie", "abonament",
        "заказ", "заявка", "поставка", "проект", "сайт", "счёт", "счет", "договор", "услуга",
        "компания", "фирма", "тест", "бюджет", "сделка",
    }
)  # fmt: skip
_HONORIFICS = frozenset(
    {"pan", "pani", "panu", "panem", "mr", "mrs", "ms", "dr", "господин", "госпожа", "г-н",
     "г-жа"}
)  # fmt: skip
# A preposition right before a name belongs to it, not to the title: `Сделка с Иваном` → Сделка.
_PREPOSITIONS = frozenset(
    {"dla", "od", "z", "ze", "u", "do", "для", "от", "с", "со", "у", "к", "ко", "for", "with",
     "from"}
)  # fmt: skip
_MAX_NAME_WORDS = 3


def _surname_like(token: _Token, *, at_start: bool) -> bool:
    core = token.core
    if not token.word or len(core) < 2 or _acronym(core):
        return False
    lowered = core.lower()
    if lowered in _NOT_NAME_WORDS or lowered in _HONORIFICS or lowered in _PREPOSITIONS:
        return False
    info = names.analyse(core)
    if info.surname and not (info.first and not info.known_surname):
        return True
    if info.first or info.patronymic:
        return False
    capitalised = core[0].isupper()
    if names.is_cyrillic(core):
        # An unknown capitalised word (Кузякин); a known one is an ordinary word (Москва).
        return capitalised and not at_start and not names.is_known_russian(core)
    return capitalised and not at_start


@dataclass(frozen=True, slots=True)
class _Person:
    start: int
    end: int
    name: str
    first_name: str
    last_name: str | None
    has_surname: bool


def _styled(word: str) -> str:
    """Lowercase names are names too, and shown capitalised: `jan` → `Jan`."""
    if word.islower():
        return "-".join(part[:1].upper() + part[1:] for part in word.split("-"))
    return word


def _person_from(tokens: Sequence[_Token], i: int) -> _Person | None:
    head = tokens[i]
    info = names.analyse(head.core)
    if not info.first or (info.ambiguous and not head.core[0].isupper()):
        return None
    if head.core.lower() in _NOT_NAME_WORDS:
        return None
    first, last, patronymic = [i], None, None
    j = i + 1
    while j < len(tokens) and len(first) + (last is not None) + (patronymic is not None) < 3:
        token = tokens[j]
        if not token.word or not _joined(tokens[j - 1], token):
            break
        word = names.analyse(token.core)
        if word.patronymic and patronymic is None and names.is_cyrillic(token.core):
            patronymic = j
        elif last is None and _surname_like(token, at_start=False):
            last = j
        elif (
            last is None
            and patronymic is None
            and len(first) == 1
            and word.first
            and not word.ambiguous
            and j + 1 < len(tokens)
            and _joined(token, tokens[j + 1])
            and _surname_like(tokens[j + 1], at_start=False)
        ):
            first.append(j)  # Anna Maria Nowak
        else:
            break
        j += 1
    if last is None and i > 0 and _joined(tokens[i - 1], head):
        before = tokens[i - 1]
        if _surname_like(before, at_start=i - 1 == 0) and (
            names.analyse(before.core).surname or before.core[0].isupper()
        ):
            last = i - 1  # Kowalski Jan, Петров Иван Иванович
    if info.ambiguous and last is None:
        return None  # `plan Max`, `Вера в успех`: a name only beside a surname
    order = sorted([*first, *([last] if last is not None else []),
                    *([patronymic] if patronymic is not None else [])])  # fmt: skip
    words = [tokens[k].core for k in order]
    preceding = tokens[order[0] - 1] if order[0] > 0 else None
    case = (
        names.PL_PREPOSITION_CASES.get(preceding.core.lower())
        if preceding is not None and _joined(preceding, tokens[order[0]])
        else None
    )
    words = names.polish_nominative(names.russian_nominative(words), case)
    words = [_styled(w) for w in words]
    styled = dict(zip(order, words, strict=True))
    return _Person(
        start=tokens[order[0]].start,
        end=tokens[order[-1]].end,
        name=" ".join(words),
        first_name=" ".join(styled[k] for k in first),
        last_name=styled[last] if last is not None else None,
        has_surname=last is not None,
    )


def _initial_person(text: str, tokens: Sequence[_Token]) -> _Person | None:
    """`J. Kowalski`, `Kowalski J.`: an initial with its dot beside a surname (by list or ending;
    a capitalised word alone is not enough, `J Kowalski` without the dot is not a name)."""
    for i, token in enumerate(tokens):
        if not (len(token.core) == 1 and token.core.isupper()):
            continue
        if text[token.end : token.end + 1] != ".":
            continue
        for k in (i + 1, i - 1):
            if not 0 <= k < len(tokens):
                continue
            other = tokens[k]
            if k < i and not _joined(other, token):
                continue
            if k > i and other.open_before:
                continue
            if other.word and names.analyse(other.core).surname and not _acronym(other.core):
                surname = _styled(other.core)
                initial = token.core + "."
                words = [initial, surname] if k > i else [surname, initial]
                start, end = (token.start, other.end) if k > i else (other.start, token.end + 1)
                return _Person(start, end, " ".join(words), initial, surname, True)
    return None


def _find_person(text: str) -> tuple[_Person | None, str]:
    tokens = _tokens(text)
    best: tuple[_Person, int] | None = None
    for i, token in enumerate(tokens):
        if not token.word:
            continue
        person = _person_from(tokens, i)
        if person is None:
            continue
        if best is None or (person.has_surname and not best[0].has_surname):
            best = (person, i)
        if person.has_surname:
            break
    if best is None:
        initialled = _initial_person(text, tokens)
        if initialled is None:
            return None, _tidy(text)
        best = (initialled, 0)
    person, _ = best
    start, end = person.start, person.end
    k = next(n for n, t in enumerate(tokens) if t.start == start) - 1
    # A salutation (`Pani Anna Nowak`) and a preposition (`с Иваном`) go with the name.
    for words in (_HONORIFICS, _PREPOSITIONS):
        if k < 0 or tokens[k].core.lower() not in words:
            continue
        dotted = text[tokens[k].end : tokens[k].end + 1] == "." and words is _HONORIFICS
        if _joined(tokens[k], tokens[k + 1]) or (dotted and not tokens[k + 1].open_before):
            start = tokens[k].start - (1 if tokens[k].open_before else 0)
            k -= 1
    return person, _tidy(text[:start] + " " + text[end:])


def extract_name(text: str) -> tuple[str | None, str]:
    """Split `strona www Jan Kowalski` into (`Jan Kowalski`, `strona www`).

    Applied to text already stripped of phones, e-mails, the amount, addresses and the
    company. A person's name is found wherever it stands: a first name from the dictionaries
    (Polish and English with diminutives, Russian from pymorphy3; see crm/names.py), in any
    case (`jan kowalski`, `JAN KOWALSKI`), with the word beside it when that is a surname (a
    listed one, a surname's ending such as -ski or -ов, or a capitalised word that is not a
    title word like `Oferta`), and a Russian patronymic (`Петров Иван Иванович`). Declined
    Russian names are put in the nominative (`с Иваном Петровым` → Иван Петров). A salutation
    (`Pani`, `Mr`, `господин`) or a preposition (`dla`, `с`) right before the name goes with
    it. First names that are also ordinary words (`Max`, `Вера`) count only when capitalised
    and beside a surname or at the start. Words joined by punctuation (`Jan, Kowalski`) are
    not one name. No first name: no person (`Abonament`, `Kowalski`, `Заказ Иванова`).
    """
    person, rest = _find_person(text)
    return (person.name if person else None), rest


# --- the line ---------------------------------------------------------------------------------
def region_for_locale(locale: str) -> str:
    """Phone region a user's language implies: `pl`→PL, `ru`→RU, anything else → PL."""
    base = (locale or "").replace("_", "-").split("-", 1)[0].strip().lower()
    return {"pl": "PL", "ru": "RU"}.get(base, "PL")


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def parse_line(text: str, *, region: str = "PL", default_currency: str = "PLN") -> ParsedLine:
    """Pull the parts out of one line; the rest is the title.

    `region` is used for phones without a country code (see `region_for_locale`);
    `default_currency` for amounts that have a multiplier but no currency (`1,5 mln`).
    """
    cleaned = _clean(text)
    region = region.upper()
    masked = cleaned
    consumed: list[tuple[int, int]] = []

    for url in _URL_RE.finditer(masked):
        masked = _mask(masked, url.start(), url.end())

    emails: list[str] = []
    if "@" in masked:
        for match in _EMAIL_RE.finditer(masked):
            emails.append(match.group().lower())
            consumed.append(match.span())
        for start, end in consumed:
            masked = _mask(masked, start, end)

    addresses = _find_addresses(masked)
    for _, start, end in addresses:
        masked = _mask(masked, start, end)
        consumed.append((start, end))

    masked, phone_spans = _find_phones(masked, region)
    consumed.extend((start, end) for _, start, end in phone_spans)

    found_money = _find_money(masked, default_currency.upper())
    money = None
    if found_money is not None:
        money, start, end = found_money
        consumed.append((start, end))

    remaining: list[str] = []
    pos = 0
    for start, end in sorted(consumed):
        remaining.append(cleaned[pos:start])
        remaining.append(" ")
        pos = max(pos, end)
    remaining.append(cleaned[pos:])
    company, rest = extract_company(_tidy("".join(remaining)))
    person, rest = _find_person(rest)
    return ParsedLine(
        name=person.name if person else None,
        phones=_unique([phone for phone, _, _ in phone_spans]),
        emails=_unique(emails),
        money=money,
        rest=rest,
        company=company,
        address=", ".join(a for a, _, _ in addresses) or None,
        first_name=person.first_name if person else None,
        last_name=person.last_name if person else None,
    )
