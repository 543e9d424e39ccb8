"""One-line input for creating CRM elements: name, phones, e-mails, an amount and the rest.

A sales rep types `/lead Jan Kowalski +48 600 100 200 jan@firma.pl 5000 zł strona www` on a
phone; the handler passes the text after the command to `parse_line`. Everything here is pure:
no Telegram, no database, no clock.

Extraction order, each step cutting its span out before the next one looks:

1. URLs are shielded (left in the title, never read as phones or amounts).
2. E-mails, so that digits inside an address (`jan.600100200@sms.pl`) never become a phone.
3. Phones: `phonenumbers.PhoneNumberMatcher` (Leniency.VALID) and then a fallback that tries
   runs of digit groups (`8 (916) 123-45-67` in RU, `600 100 200 601 200 300`). A number
   directly followed by a currency or a multiplier (`500 000 000 zł`) is an amount, not a
   phone, even when it would be a valid phone number.
4. Money: the first amount with a currency or a multiplier. A bare number (`Order 15`) is not
   money.
5. Name: see `extract_name`.

Only the first `MAX_INPUT_CHARS` characters are read; control and format characters are
dropped, so hostile input costs bounded work.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import phonenumbers
from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberMatcher

__all__ = [
    "MAX_INPUT_CHARS",
    "Money",
    "ParsedLine",
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
    money: Money | None
    rest: str  # title/comment, whitespace collapsed


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
_EMPTY_BRACKETS_RE = re.compile(r"\(\s*\)|\[\s*\]")
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
}
_MULT_WORD = r"tys\.?|тыс\.?|mln\.?|mio\.?|млн\.?|mld\.?|млрд\.?"
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
    # EUR
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "евро": "EUR",
    # USD
    "$": "USD",
    "usd": "USD",
    # RUB
    "₽": "RUB",
    "руб": "RUB",
    "рубль": "RUB",
    "рублей": "RUB",
    "рубля": "RUB",
    "р": "RUB",
    "rub": "RUB",
    # UAH
    "₴": "UAH",
    "грн": "UAH",
    "uah": "UAH",
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
_ABBREVIATIONS = frozenset({"zł", "zl", "руб", "р", "грн"})


def _currency_after_pattern() -> str:
    words = sorted((w for w in _CURRENCY_WORDS if w not in _SYMBOLS), key=len, reverse=True)
    parts = [re.escape(w) + (r"\.?" if w in _ABBREVIATIONS else "") for w in words]
    # A symbol right before another number belongs to that number: `Order 15 $300` is $300.
    symbols = rf"[{re.escape(_SYMBOLS)}](?!{_SP}?[0-9])"
    return rf"(?:{'|'.join(parts)})(?!\w)|{symbols}"


_CODES = sorted({w for w, iso in _CURRENCY_WORDS.items() if w == iso.lower()})
_CURRENCY_BEFORE = (
    rf"[{re.escape(_SYMBOLS)}]|(?<![^\W\d_])(?:{'|'.join(_CODES)}){_NOT_LETTER_AHEAD}"
)
_CURRENCY_AFTER = _currency_after_pattern()

_MONEY_RE = re.compile(
    rf"(?:(?P<pre>{_CURRENCY_BEFORE}){_SP}?|(?<![\w.,]))"
    rf"(?P<num>{_NUMBER})"
    rf"(?P<mult>{_MULT})?"
    rf"(?:{_SP}?(?P<post>{_CURRENCY_AFTER}))?",
    re.IGNORECASE,
)
# Used to keep amounts such as `500 000 000 zł` from being taken as (valid) phone numbers.
_MONEY_TAIL_RE = re.compile(rf"(?:{_MULT})|{_SP}?(?:{_CURRENCY_AFTER})", re.IGNORECASE)
_MONEY_HEAD_RE = re.compile(rf"(?:{_CURRENCY_BEFORE}){_SP}?\Z", re.IGNORECASE)


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


# --- names ------------------------------------------------------------------------------------
_LETTERS = "A-Za-zÀ-ÖØ-öø-ɏЀ-ӿ"  # Latin (with Polish and other diacritics) and Cyrillic
_NAME_WORD_RE = re.compile(rf"[{_LETTERS}]+(?:['’\-][{_LETTERS}]+)*")
_COMPANY_FORM_RE = re.compile(
    r"(?<![^\W\d_])(?:"
    r"sp\.?\s?z\s?o\.?\s?o\.?|sp\.\s?[jkp]\.|sp\.\s?k\.?|s\.\s?a\.|s\.\s?c\.|s\.\s?r\.\s?o\."
    r"|(?-i:LLC|Ltd|LTD|Inc|INC|GmbH|GMBH|AG|PLC|Corp|LLP|Sarl|SARL|SRL|BV|S\.A\.|SA)"
    r"|(?-i:ООО|ОАО|ЗАО|ПАО|НАО|АО|ИП|ТОО|ЧП|ГК|НКО|ФГУП|МУП)"
    r")(?![^\W\d_])",
    re.IGNORECASE,
)
# Capitalised words that start titles far more often than they are someone's name.
_NOT_NAME_WORDS = frozenset(
    {
        "order", "offer", "invoice", "project", "website", "site", "contract", "request",
        "delivery", "service", "lead", "deal", "contact", "company", "test", "budget",
        "zamówienie", "oferta", "faktura", "projekt", "strona", "sklep", "umowa", "usługa",
        "dostawa", "serwis", "zapytanie", "firma", "budżet",
        "заказ", "заявка", "поставка", "проект", "сайт", "счёт", "счет", "договор", "услуга",
        "компания", "фирма", "тест", "бюджет",
    }
)  # fmt: skip
_PATRONYMIC_ENDINGS = ("вич", "вна", "ична")
# A salutation is not part of the name and is no use in a title either.
_HONORIFIC_RE = re.compile(
    r"(?:pan|pani|mr|mrs|ms|dr|господин|госпожа|г-н|г-жа)\.?\s+", re.IGNORECASE
)


def _is_name_word(word: str) -> bool:
    letters = sum(c.isalpha() for c in word)
    if letters < 2 or not word[0].isupper():
        return False
    if word.isupper() and letters <= 4:
        return False  # CRM, LLC, ООО, IT
    return word.lower() not in _NOT_NAME_WORDS


def extract_name(text: str) -> tuple[str | None, str]:
    """Split `Jan Kowalski strona www` into (`Jan Kowalski`, `strona www`).

    The heuristic, applied to text already stripped of phones, e-mails and the amount:

    - If the text contains a company form (`Sp. z o.o.`, `S.A.`, `ООО`, `ИП`, `LLC`, `Ltd`,
      `GmbH`, …) there is no person name.
    - Read up to 3 leading words, each a run of Latin or Cyrillic letters (hyphens and
      apostrophes inside: `Nowak-Kowalska`, `O'Brien`) that starts with an uppercase letter,
      has 2+ letters, is not an all-caps acronym of 4 letters or fewer (`CRM`, `ООО`) and is not
      a common title word (`Order`, `Zamówienie`, `Заказ`, … see `_NOT_NAME_WORDS`). Reading
      stops at the first word that fails, or after a word followed by `,` `;` `:`.
    - Take the first 2 of them, or 3 when one of them is a Russian patronymic (-вич, -вна,
      -ична): `Петров Иван Иванович`.
    - A single capitalised word directly followed by a number is a title (`Windows 11`), not a
      name.
    - A leading salutation (`Pan`, `Pani`, `Mr`, `Dr.`, `господин`, `г-жа`) is dropped when a
      name follows it: `Pani Anna Nowak` → `Anna Nowak`.
    """
    text = _tidy(text)
    if not text or _COMPANY_FORM_RE.search(text):
        return None, text
    words: list[tuple[int, int]] = []
    honorific = _HONORIFIC_RE.match(text)
    pos = honorific.end() if honorific else 0
    while len(words) < 3:
        match = _NAME_WORD_RE.match(text, pos)
        if match is None:
            break
        end = match.end()
        after = text[end : end + 1]
        if (after and after not in " ,;:") or not _is_name_word(match.group()):
            break
        words.append((match.start(), end))
        if after != " ":
            break
        pos = end + 1
    if not words:
        return None, text  # a salutation without a name stays in the text
    has_patronymic = any(text[s:e].lower().endswith(_PATRONYMIC_ENDINGS) for s, e in words)
    words = words[: 3 if has_patronymic else 2]
    end = words[-1][1]
    if len(words) == 1 and text[end:].lstrip()[:1].isdigit():
        return None, text
    return text[words[0][0] : end], _tidy(text[end:])


# --- the line ---------------------------------------------------------------------------------
def region_for_locale(locale: str) -> str:
    """Phone region a user's language implies: `pl`→PL, `ru`→RU, anything else → PL."""
    base = (locale or "").replace("_", "-").split("-", 1)[0].strip().lower()
    return {"pl": "PL", "ru": "RU"}.get(base, "PL")


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def parse_line(text: str, *, region: str = "PL", default_currency: str = "PLN") -> ParsedLine:
    """Pull name, phones, e-mails and the first amount out of one line; the rest is the title.

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
    name, rest = extract_name("".join(remaining))
    return ParsedLine(
        name=name,
        phones=_unique([phone for phone, _, _ in phone_spans]),
        emails=_unique(emails),
        money=money,
        rest=rest,
    )
