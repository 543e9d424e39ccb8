"""The one registry of the columns of each element type's file, as Bitrix24 names them.

Every column has our field, the import template's code (`NAME`, `PHONE_WORK`, …) and its
header in each language Bitrix24 exports in (ru, en, pl), plus other spellings people use.
A header is matched case- and space-insensitively; a column nobody knows is reported, not
fatal. Custom fields (crm/fields.py) join as extra columns through `ColumnSet.extended`: the
one extension point (a custom field of the same name as a header is filled).

The headers are data of the file format, not texts of the interface: a file is read the same
whoever imports it, and an export in Russian must carry exactly Bitrix24's Russian headers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from crm.enums import EntityType

LOCALES = ("pl", "ru", "en")


class Kind(StrEnum):
    """What a file holds (the `--type` of `crmbot import`)."""

    CONTACTS = "contacts"
    COMPANIES = "companies"
    LEADS = "leads"
    DEALS = "deals"
    PRODUCTS = "products"

    @property
    def entity(self) -> EntityType | None:
        """The element type whose rights apply; None: products (the catalog's right)."""
        return _ENTITIES.get(self)


_ENTITIES = {
    Kind.CONTACTS: EntityType.CONTACT,
    Kind.COMPANIES: EntityType.COMPANY,
    Kind.LEADS: EntityType.LEAD,
    Kind.DEALS: EntityType.DEAL,
}


def read_kind(text: str) -> Kind | None:
    """`contacts`, `kontakty`, `контакты`, `deal`, `сделки`, `deale` … → the kind."""
    word = text.strip().casefold()
    for kind, words in _KIND_WORDS.items():
        if word in words:
            return kind
    return None


_KIND_WORDS: dict[Kind, frozenset[str]] = {
    Kind.CONTACTS: frozenset(
        {"contacts", "contact", "kontakty", "kontakt", "контакты", "контакт"}
    ),
    Kind.COMPANIES: frozenset({"companies", "company", "firmy", "firma", "компании", "компания"}),
    Kind.LEADS: frozenset({"leads", "lead", "leady", "лиды", "лид"}),
    Kind.DEALS: frozenset({"deals", "deal", "deale", "сделки", "сделка"}),
    Kind.PRODUCTS: frozenset({"products", "product", "produkty", "produkt", "товары", "товар"}),
}


class Value(StrEnum):
    """How a column's cells are read and written (crm/exchange/values.py)."""

    TEXT = "text"
    ID = "id"  # the element's id in the file (rows of one deal share it)
    PHONES = "phones"  # several, joined by ", "
    EMAILS = "emails"
    TELEGRAM = "telegram"
    MONEY = "money"
    NUMBER = "number"
    CURRENCY = "currency"
    YES_NO = "yes_no"
    MOMENT = "moment"
    DAY = "day"
    USER = "user"  # an id, `Name [id]` or a name
    STAGE = "stage"  # a code or a shown name
    PIPELINE = "pipeline"
    SOURCE = "source"
    DICTIONARY = "dictionary"  # `dictionary` names which (contact_type, industry, …)
    CONTACT = "contact"  # a link: `[C]Name` or a full name
    COMPANY = "company"  # a link: `[CO]Name` or a company name


def header_key(text: str) -> str:
    """How headers are compared: case-folded, spaces (and `ё`) ignored."""
    return "".join(text.replace("\ufeff", "").split()).casefold().replace("ё", "е")


@dataclass(frozen=True, slots=True)
class Column:
    field: str  # our field
    code: str  # Bitrix24's import template code
    titles: Mapping[str, str]  # locale → the header Bitrix24 writes
    value: Value = Value.TEXT
    aliases: tuple[str, ...] = ()
    exported: bool = True  # written by the export (False: read on import only)
    dictionary: str | None = None  # for Value.DICTIONARY

    def title(self, locale: str) -> str:
        return self.titles.get(locale) or self.titles["en"]

    def keys(self) -> Iterable[str]:
        yield header_key(self.code)
        for text in (*self.titles.values(), *self.aliases):
            yield header_key(text)


class CustomField(Protocol):
    """What crm/fields.py gives per element type (crm/field_columns.py): a name, a code
    (`UF_CRM_7`, the header when Bitrix24's codes are asked for) and a typed reading and
    writing of its values (any value type: the importer stores what `parse` returned)."""

    @property
    def name(self) -> str: ...

    @property
    def code(self) -> str: ...

    def parse(self, text: str) -> object: ...

    def format(self, value: object) -> str: ...


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Which column of the file is which field: `fields[i]` for the file's column i, None for
    an unknown (or ignored) column; `custom[i]` a custom field filled from it."""

    header: tuple[str, ...]
    fields: tuple[Column | None, ...]
    custom: Mapping[int, CustomField] = field(default_factory=dict)

    @property
    def unknown(self) -> list[str]:
        return [
            h for i, (h, c) in enumerate(zip(self.header, self.fields, strict=True))
            if c is None and i not in self.custom and h
        ]  # fmt: skip

    def remapped(self, index: int, column: Column | CustomField | None) -> ColumnMap:
        """Column `index` read as `column` (a system column, a custom field, or None: not
        imported)."""
        fields = list(self.fields)
        custom = {i: f for i, f in self.custom.items() if i != index}
        if isinstance(column, Column) or column is None:
            fields[index] = column
        else:
            fields[index] = None
            custom[index] = column
        return ColumnMap(self.header, tuple(fields), custom)

    def codes(self) -> list[str]:
        """Each column's code (a custom field's too; "" for not imported): what the chat's
        mapping buttons keep and `ImportService.open` reads back."""
        return [
            c.code if c is not None else self.custom[i].code if i in self.custom else ""
            for i, c in enumerate(self.fields)
        ]

    def recognized(self) -> bool:
        return any(c is not None for c in self.fields) or bool(self.custom)


@dataclass(frozen=True, slots=True)
class ColumnSet:
    kind: Kind
    columns: tuple[Column, ...]
    custom: tuple[CustomField, ...] = ()

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for column in self.columns:
            for key in column.keys():
                other = seen.setdefault(key, column.field)
                assert other == column.field, f"{self.kind}: {key!r} is {other} and {column.field}"

    def extended(self, custom: Sequence[CustomField]) -> ColumnSet:
        """THE extension point for custom fields: the same columns plus these, matched by
        their name (a system column keeps its header when a custom field is named alike)."""
        return ColumnSet(self.kind, self.columns, tuple(custom))

    def by_field(self, name: str) -> Column:
        return next(c for c in self.columns if c.field == name)

    def map(self, header: Sequence[str]) -> ColumnMap:
        index: dict[str, Column] = {}
        for known in self.columns:
            for key in known.keys():
                index.setdefault(key, known)
        customs = {header_key(f.code): f for f in self.custom}
        customs.update({header_key(f.name): f for f in self.custom})
        used: set[str] = set()
        fields: list[Column | None] = []
        custom: dict[int, CustomField] = {}
        for i, text in enumerate(header):
            key = header_key(text)
            column: Column | None = index.get(key)
            if column is not None and column.field in used and column.value is not Value.PHONES:
                column = None  # the same field twice: the first column wins
            if column is None and key in customs and customs[key].code not in used:
                custom[i] = customs[key]
                used.add(customs[key].code)
            if column is not None and column.value not in (
                Value.PHONES, Value.EMAILS, Value.TELEGRAM
            ):  # fmt: skip
                used.add(column.field)
            fields.append(column)
        return ColumnMap(tuple(header), tuple(fields), custom)

    def exported(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.exported)


def _c(
    field: str,
    code: str,
    ru: str,
    en: str,
    pl: str,
    value: Value = Value.TEXT,
    *aliases: str,
    exported: bool = True,
    dictionary: str | None = None,
) -> Column:
    return Column(
        field, code, {"ru": ru, "en": en, "pl": pl}, value, aliases, exported, dictionary
    )


_ID = _c("id", "ID", "ID", "ID", "ID", Value.ID)
_RESPONSIBLE = _c(
    "responsible", "ASSIGNED_BY_ID", "Ответственный", "Responsible", "Osoba odpowiedzialna",
    Value.USER, "Odpowiedzialny", "Assigned to", "Responsible person",
)  # fmt: skip
_COMMENT = _c(
    "comment", "COMMENTS", "Комментарий", "Comment", "Komentarz", Value.TEXT,
    "Комментарии", "Comments", "Komentarze", "Notes",
)  # fmt: skip
_SOURCE = _c("source", "SOURCE_ID", "Источник", "Source", "Źródło", Value.SOURCE)
_CREATED = _c(
    "created_at", "DATE_CREATE", "Дата создания", "Created", "Utworzono", Value.MOMENT,
    "Date created", "Data utworzenia",
)  # fmt: skip
_ADDRESS = _c("address", "ADDRESS", "Адрес", "Address", "Adres", exported=False)
_CURRENCY = _c("currency", "CURRENCY_ID", "Валюта", "Currency", "Waluta", Value.CURRENCY)
_COMMUNICATIONS = (
    _c("phones", "PHONE_WORK", "Рабочий телефон", "Work Phone", "Telefon służbowy",
       Value.PHONES, "Телефон", "Phone", "Telefon"),
    _c("phones", "PHONE_MOBILE", "Мобильный телефон", "Mobile", "Telefon komórkowy",
       Value.PHONES, "Mobile phone", "Komórka", exported=False),
    _c("phones", "PHONE_HOME", "Домашний телефон", "Home Phone", "Telefon domowy",
       Value.PHONES, exported=False),
    _c("phones", "PHONE_OTHER", "Другой телефон", "Other Phone", "Inny telefon",
       Value.PHONES, exported=False),
    _c("emails", "EMAIL_WORK", "Рабочий e-mail", "Work E-mail", "E-mail służbowy",
       Value.EMAILS, "E-mail", "Email", "Электронная почта", "Work email"),
    _c("emails", "EMAIL_HOME", "Частный e-mail", "Home E-mail", "E-mail prywatny",
       Value.EMAILS, "Personal e-mail", "Home email", exported=False),
    _c("emails", "EMAIL_OTHER", "Другой e-mail", "Other E-mail", "Inny e-mail",
       Value.EMAILS, exported=False),
    _c("telegram", "IM_TELEGRAM", "Контакт Telegram", "Telegram account", "Konto Telegram",
       Value.TELEGRAM, "Telegram"),
)  # fmt: skip

CONTACTS = ColumnSet(
    Kind.CONTACTS,
    (
        _ID,
        _c("first_name", "NAME", "Имя", "First Name", "Imię", Value.TEXT, "Name"),
        _c("last_name", "LAST_NAME", "Фамилия", "Last Name", "Nazwisko"),
        _c("name", "FULL_NAME", "ФИО", "Full Name", "Imię i nazwisko", Value.TEXT,
           "Контакт", "Contact", "Kontakt", exported=False),
        _c("company", "COMPANY_ID", "Компания", "Company", "Firma", Value.COMPANY,
           "COMPANY_TITLE", "Firma (nazwa)"),
        _c("contact_type", "TYPE_ID", "Тип контакта", "Contact Type", "Typ kontaktu",
           Value.DICTIONARY, dictionary="contact_type"),
        _RESPONSIBLE,
        *_COMMUNICATIONS,
        _ADDRESS,
        _COMMENT,
        _SOURCE,
        _c("export_allowed", "EXPORT", "Экспорт", "Included in export",
           "Uwzględniany w eksporcie", Value.YES_NO, "Участвует в экспорте", "Export", "Eksport"),
        _CREATED,
    ),
)  # fmt: skip

COMPANIES = ColumnSet(
    Kind.COMPANIES,
    (
        _ID,
        _c("title", "TITLE", "Название компании", "Company Name", "Nazwa firmy", Value.TEXT,
           "Компания", "Company", "Firma", "Название", "Name", "Nazwa"),
        _c("company_type", "COMPANY_TYPE", "Тип компании", "Company Type", "Typ firmy",
           Value.DICTIONARY, dictionary="company_type"),
        _c("industry", "INDUSTRY", "Сфера деятельности", "Industry", "Branża",
           Value.DICTIONARY, dictionary="industry"),
        _RESPONSIBLE,
        *_COMMUNICATIONS,
        _ADDRESS,
        _COMMENT,
        _SOURCE,
        _CREATED,
    ),
)  # fmt: skip

LEADS = ColumnSet(
    Kind.LEADS,
    (
        _ID,
        _c("title", "TITLE", "Название лида", "Lead Name", "Nazwa leada", Value.TEXT,
           "Название", "Title", "Nazwa"),
        _c("status", "STATUS_ID", "Статус", "Status", "Status", Value.STAGE, "Статус лида"),
        _c("amount", "OPPORTUNITY", "Возможная сумма", "Opportunity", "Szansa", Value.MONEY,
           "Сумма", "Amount", "Kwota"),
        _CURRENCY,
        _c("first_name", "NAME", "Имя", "First Name", "Imię", Value.TEXT, "Name",
           exported=False),
        _c("last_name", "LAST_NAME", "Фамилия", "Last Name", "Nazwisko", exported=False),
        _c("contact_name", "FULL_NAME", "ФИО", "Full Name", "Imię i nazwisko", Value.TEXT,
           "Контакт", "Contact", "Kontakt"),
        _c("company_title", "COMPANY_TITLE", "Название компании", "Company Name",
           "Nazwa firmy", Value.TEXT, "Компания", "Company", "Firma"),
        _RESPONSIBLE,
        *_COMMUNICATIONS,
        _ADDRESS,
        _COMMENT,
        _SOURCE,
        _CREATED,
    ),
)  # fmt: skip

DEALS = ColumnSet(
    Kind.DEALS,
    (
        _ID,
        _c("title", "TITLE", "Название сделки", "Deal Name", "Nazwa deala", Value.TEXT,
           "Название", "Title", "Nazwa", "Сделка", "Deal"),
        _c("stage", "STAGE_ID", "Стадия сделки", "Stage", "Etap", Value.STAGE,
           "Стадия", "Etap deala", "Deal stage"),
        _c("pipeline", "CATEGORY_ID", "Направление", "Pipeline", "Lejek", Value.PIPELINE,
           "Воронка", "Kierunek", "Lejek sprzedaży"),
        _c("amount", "OPPORTUNITY", "Сумма", "Income", "Kwota", Value.MONEY,
           "Amount", "Przychód"),
        _CURRENCY,
        _c("company", "COMPANY_ID", "Компания", "Company", "Firma", Value.COMPANY,
           "COMPANY_TITLE"),
        _c("contact", "CONTACT_ID", "Контакт", "Contact", "Kontakt", Value.CONTACT,
           "CONTACT_FULL_NAME", "Klient"),
        _c("deal_type", "TYPE_ID", "Тип", "Type", "Typ", Value.DICTIONARY,
           "Тип сделки", "Deal type", "Typ deala", dictionary="deal_type"),
        _SOURCE,
        _c("closed", "CLOSED", "Сделка закрыта", "Closed", "Zamknięty", Value.YES_NO,
           "Закрыта", "Zamknięta", "Deal closed"),
        _RESPONSIBLE,
        _COMMENT,
        _c("product", "PRODUCT_ID", "Товар", "Product", "Produkt", Value.TEXT,
           "PRODUCT_NAME", "Товары", "Products", "Produkty"),
        _c("price", "PRICE", "Цена", "Price", "Cena", Value.MONEY),
        _c("quantity", "QUANTITY", "Количество", "Quantity", "Ilość", Value.NUMBER),
        _CREATED,
    ),
)  # fmt: skip

PRODUCTS = ColumnSet(
    Kind.PRODUCTS,
    (
        _c("name", "NAME", "Название", "Name", "Nazwa", Value.TEXT,
           "Товар", "Product", "Produkt", "Название товара", "Product name"),
        _c("price", "PRICE", "Цена", "Price", "Cena", Value.MONEY),
        _CURRENCY,
        _c("sku", "XML_ID", "Артикул", "SKU", "Kod produktu", Value.TEXT, "CODE", "Kod"),
        _c("description", "DESCRIPTION", "Описание", "Description", "Opis"),
        _c("active_from", "ACTIVE_FROM", "Начало активности", "Active from", "Aktywny od",
           Value.DAY, "active_from"),
        _c("active_to", "ACTIVE_TO", "Окончание активности", "Active until", "Aktywny do",
           Value.DAY, "active_to", "Active to"),
    ),
)  # fmt: skip

REGISTRY: dict[Kind, ColumnSet] = {
    s.kind: s for s in (CONTACTS, COMPANIES, LEADS, DEALS, PRODUCTS)
}


class Labels(Protocol):
    """How the front end names what the database keeps as codes (stages, pipelines, sources,
    dictionary entries): `shown` in the reader's language (export), `known` in every
    language the CRM speaks (import reads any of them). `what`: "deal_stage",
    "lead_status", "pipeline" or a dictionary kind ("source", "contact_type", …)."""

    def shown(self, what: str, code: str, name: str | None) -> str: ...

    def known(self, what: str, code: str, name: str | None) -> Sequence[str]: ...


class CodeLabels:
    """Labels without a front end: the stored name, else the code."""

    def shown(self, what: str, code: str, name: str | None) -> str:
        return name or code

    def known(self, what: str, code: str, name: str | None) -> Sequence[str]:
        return [n for n in (name, code) if n]
