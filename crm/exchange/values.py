"""One cell of a Bitrix24 CSV: read (import) and written (export).

- Dates follow the portal's language: ru (also pl) `DD.MM.YYYY HH:MI:SS`, en
  `MM/DD/YYYY H:MI:SS am`; ISO `YYYY-MM-DD HH:MM:SS` is read too. A moment without a time
  zone is in the CRM's zone.
- A link to a CRM element is its type code and name, `[C]Иван Петров`, `[CO]ООО Ромашка`
  (`[L]`, `[D]`, `[SI]` invoice, `[T<hex>]` a smart process: 170 → `[Taa]`).
- Yes/no: `Y`/`N`, or yes/no in the file's language (да/нет, tak/nie).
- Several values of one kind (phones, e-mails) share a cell, joined by `, `.
- Written values are safe in a spreadsheet (OWASP CSV injection): a value starting with `=`,
  `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so it is text, not a formula.
  Phones are written as `(+48) 600 100 200`: a `(` starts no formula, so Excel and LibreOffice
  show the number as it is written instead of an apostrophe or a `#NAME?` error, a phone app
  dials it, and the importer reads it back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import PhoneNumberFormat

from crm.enums import EntityType
from crm.errors import InvalidValue

YES = frozenset({"y", "yes", "да", "д", "tak", "t", "1", "true"})
NO = frozenset({"n", "no", "нет", "н", "nie", "0", "false", ""})
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
MULTI_SEPARATOR = ", "

LINK_CODES: dict[str, EntityType | None] = {
    "L": EntityType.LEAD,
    "C": EntityType.CONTACT,
    "CO": EntityType.COMPANY,
    "D": EntityType.DEAL,
    "SI": None,  # invoices: not in this CRM (yet)
}
CODE_OF: dict[EntityType, str] = {e: c for c, e in LINK_CODES.items() if e is not None}
_LINK = re.compile(r"^\s*\[(CO|C|L|D|SI|T[0-9a-fA-F]+)\]\s*(.*?)\s*$", re.DOTALL)

_DATE_FORMATS = {
    "dot": ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y"),
    "us": ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y"),
    "iso": ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"),
}


@dataclass(frozen=True, slots=True)
class Link:
    code: str  # "C", "CO", "L", "D", "SI", "Taa"
    name: str

    @property
    def entity(self) -> EntityType | None:
        return LINK_CODES.get(self.code)


def read_link(text: str) -> Link | None:
    """`[C]Иван Петров` → Link("C", "Иван Петров"); a bare name → None (the caller decides)."""
    match = _LINK.match(text)
    if match is None:
        return None
    code = match.group(1)
    return Link(code if not code.startswith("T") else "T" + code[1:].lower(), match.group(2))


def smart_process_code(type_id: int) -> str:
    """Bitrix24's code of a smart-process element: its type id in hex, `170` → `Taa`."""
    return f"T{type_id:x}"


def write_link(entity: EntityType, name: str) -> str:
    return f"[{CODE_OF[entity]}]{name}"


def read_yes_no(text: str) -> bool:
    word = text.strip().casefold()
    if word in YES:
        return True
    if word in NO:
        return False
    raise InvalidValue("yes_no", text.strip()[:40])


def read_moment(text: str, timezone: str) -> datetime | None:
    """A date or a date and time in any of the three forms, as an aware UTC moment."""
    raw = " ".join(text.strip().replace("\u00a0", " ").split())
    if not raw:
        return None
    cleaned = re.sub(r"\s*([ap])\.?\s*m\.?$", r" \1M", raw, flags=re.IGNORECASE)
    for formats in _DATE_FORMATS.values():
        for pattern in formats:
            try:
                naive = datetime.strptime(cleaned, pattern)
            except ValueError:
                continue
            return naive.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)
    raise InvalidValue("date", raw[:40])


def read_day(text: str) -> date | None:
    moment = read_moment(text, "UTC")
    return moment.date() if moment else None


def write_moment(moment: datetime | None, locale: str, timezone: str) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(timezone))
    if locale == "en":
        return local.strftime("%m/%d/%Y %I:%M:%S %p").lower()
    return local.strftime("%d.%m.%Y %H:%M:%S")


def write_day(day: date | None, locale: str) -> str:
    if day is None:
        return ""
    return day.strftime("%m/%d/%Y") if locale == "en" else day.strftime("%d.%m.%Y")


def read_decimal(text: str, field: str) -> Decimal | None:
    """`1 200,50`, `1200.5`, `1,200.50` (a comma before three digits and a point: thousands)."""
    raw = text.strip().replace("\u00a0", "").replace(" ", "")
    if not raw:
        return None
    if "," in raw and "." in raw:
        raw = raw.replace(",", "") if raw.rfind(".") > raw.rfind(",") else raw.replace(".", "")
    raw = raw.replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise InvalidValue(field, text.strip()[:40]) from None
    if not value.is_finite() or value < 0 or value > Decimal("1000000000000"):
        raise InvalidValue(field, text.strip()[:40])
    return value


def write_decimal(value: Decimal | None, locale: str) -> str:
    if value is None:
        return ""
    text = format(value.normalize() if value == value.to_integral() else value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",") if locale in ("pl", "ru") else text


def split_multi(text: str) -> list[str]:
    """`+48 600 100 200, +48 600 100 201` → both; `;` and line breaks separate values too."""
    return [p.strip() for p in re.split(r"[,;\n]\s*|\s{2,}", text) if p.strip()]


def write_phone(e164: str) -> str:
    """`+48600100200` → `(+48) 600 100 200` (see the module's note on spreadsheets)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return neutralize(e164)
    international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    country, _, rest = international.partition(" ")
    return f"({country}) {rest}" if rest else neutralize(international)


def neutralize(text: str) -> str:
    """OWASP: a cell a spreadsheet would run as a formula is made text with a leading `'`."""
    return "'" + text if text.startswith(DANGEROUS) else text


def unneutralize(text: str) -> str:
    """What `neutralize` wrote, read back: `'=SUM(A1)` → `=SUM(A1)`."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(DANGEROUS):
        return text[1:]
    return text
