"""Custom fields (crm/fields.py) as columns of a CSV file, in Bitrix24's way: the column is
named as the field (`Termin dostawy`), or by its code (`UF_CRM_7`) when Bitrix24's codes are
the headers; one cell holds the field's value, written like the file's other columns.

- number: `1250,5` (the decimal mark of the reader's language); date: `15.01.2027`
  (`01/15/2027` in English); yes/no: `Y`/`N` with codes, else the words of the language
  (Tak/Nie, Да/Нет, Yes/No); list: the option; money: `1200,50 PLN` (`1200.50|PLN`, Bitrix24's
  stored form, is read too); link: `[C]Name` (the name of the element, as the system link
  columns), or its code when the reader may not read it.
- On import a value is read in any of the forms above (and as /set reads it); a cell that
  does not read rejects its row, like any bad cell. A link names an element by code or as
  `[C]Name`; by name it must be exactly one element the importer may read.

Telegram-free; the definitions come from the `FieldBook` snapshot of the run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from crm.codes import parse_code
from crm.currencies import currency_code
from crm.enums import EntityType, FieldKind
from crm.errors import InvalidValue
from crm.exchange.values import (
    Link,
    read_day,
    read_decimal,
    read_link,
    read_yes_no,
    write_day,
    write_decimal,
    write_link,
)
from crm.field_book import FieldInfo, Reading, read_value

YES_WORDS = {"pl": ("Tak", "Nie"), "ru": ("Да", "Нет"), "en": ("Yes", "No")}


@dataclass(frozen=True, slots=True)
class LinkName:
    """A link cell naming its element (`[C]Jan Kowalski`): resolved against the database by
    the importer, which may reject it as unknown or ambiguous."""

    entity: EntityType
    name: str


@dataclass(frozen=True, slots=True)
class FieldColumn:
    """One custom field as a column (crm.exchange.columns.CustomField)."""

    info: FieldInfo
    reading: Reading  # how the importer reads dates and money without a currency
    locale: str = "pl"  # how the exporter writes (the reader's language)
    codes: bool = False  # Bitrix24's codes as headers and Y/N

    @property
    def name(self) -> str:
        return self.info.name or self.info.code

    @property
    def code(self) -> str:
        return self.info.code

    @property
    def header(self) -> str:
        return self.code if self.codes else self.name

    # --- import -------------------------------------------------------------------------------
    def parse(self, text: str) -> object:
        """The stored form (`read_value`'s), or a LinkName; InvalidValue when it does not read."""
        kind = self.info.kind
        text = " ".join(text.split())
        if kind is FieldKind.DATE:
            try:
                day = read_day(text)
            except InvalidValue:
                day = None
            if day is not None:
                return day.isoformat()
        elif kind is FieldKind.BOOL:
            try:
                return read_yes_no(text)
            except InvalidValue:
                pass
        elif kind is FieldKind.MONEY:
            money = _money(text, self.reading.currency)
            if money is not None:
                return money
        elif kind is FieldKind.LINK:
            return self._link(text)
        return read_value(self.info, text, self.reading)

    def _link(self, text: str) -> object:
        targets = self.info.link_targets
        link: Link | None = read_link(text)
        if link is None:
            ref = parse_code(text)
            if ref is None or ref.entity not in targets:
                raise InvalidValue(FieldKind.LINK.value, text[:64])
            return ref.code
        entity = link.entity
        if entity is None or entity not in targets or not link.name:
            raise InvalidValue(FieldKind.LINK.value, text[:64])
        return LinkName(entity, " ".join(link.name.split()))

    # --- export -------------------------------------------------------------------------------
    def format(self, value: object, link_name: str | None = None) -> str:
        """The cell of a stored value (a link: `[C]Name` when its name is given, else its code)."""
        if value is None or value == "":
            return ""
        kind = self.info.kind
        try:
            if kind is FieldKind.NUMBER:
                return write_decimal(Decimal(str(value)), self.locale)
            if kind is FieldKind.DATE:
                return write_day(date.fromisoformat(str(value)), self.locale)
            if kind is FieldKind.BOOL:
                yes, no = YES_WORDS.get(self.locale, YES_WORDS["en"])
                if self.codes:
                    yes, no = "Y", "N"
                return yes if value is True else no
            if kind is FieldKind.MONEY and isinstance(value, dict):
                amount = write_decimal(Decimal(str(value["amount"])), self.locale)
                return f"{amount} {value['currency']}"
            if kind is FieldKind.LINK:
                ref = parse_code(str(value))
                if ref is not None and link_name:
                    return write_link(ref.entity, link_name)
        except (ValueError, KeyError, InvalidOperation):
            pass  # a value written by another version: as stored
        return str(value)


def _money(text: str, default: str) -> dict[str, str] | None:
    """`1200,50 PLN`, `1200.50|PLN`, `PLN 1200`, `1200` (the default currency); None when the
    text is not of these forms (then `read_value` tries `5 tys. zł` and the like)."""
    parts = text.replace("|", " ").split()
    if not parts:
        return None
    currency = default
    if len(parts) > 1 and parts[-1].isalpha():
        currency, parts = parts[-1], parts[:-1]
    elif len(parts) > 1 and parts[0].isalpha():
        currency, parts = parts[0], parts[1:]
    try:
        amount = read_decimal("".join(parts), FieldKind.MONEY.value)
        code = currency_code(currency)
    except InvalidValue:
        return None
    if amount is None:
        return None
    return {"amount": str(amount), "currency": code}
