"""CSV export of a list, as filtered: `/export deals`, `/export contacts responsible=Anna`.

- Needs Operation.EXPORT on the element type; the rows are those the reader may both read
  and export (the lower of the two levels of the policy), so a row the reader may not read
  is never written. Products (the catalog, which everyone reads) need nothing more.
- Contacts whose "included in export" flag is off are left out (Bitrix24); the flag is set on
  the card and in bulk (`set_export_allowed`).
- Columns in the reader's language (Bitrix24's headers) or as Bitrix24's codes; link fields
  as `[C]Name`, `[CO]Name`; a deal with several product rows is one line per row, with the
  same ID (as the importer reads it back). Activities are not exported (Bitrix24).
- Values are safe in a spreadsheet (crm/exchange/values.py): formulas neutralized, phones
  written so that they stay readable.
- Custom fields: one column per field the reader sees (not hidden from cards), named as
  the field (with codes: its `UF_CRM_…` code), after the system columns; values written as
  the other columns (crm/field_columns.py), a link as `[C]Name` when the reader may read it.
  Read per page in bulk (`FieldService.values_for_export`), never per row.
- Streamed: pages of `PAGE` elements by id, written as they come.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from crm.codes import ElementRef, parse_code
from crm.elements import ElementService, label_of, ref_of
from crm.enums import EntityType, FieldKind, Level, Operation
from crm.errors import AccessDenied, InvalidValue, NotFound
from crm.exchange.columns import REGISTRY, CodeLabels, Column, Kind, Labels, Value
from crm.exchange.values import (
    neutralize,
    read_yes_no,
    write_day,
    write_decimal,
    write_link,
    write_moment,
    write_phone,
)
from crm.exchange.writing import CsvWriter, separator_for
from crm.field_book import Reading
from crm.field_columns import FieldColumn
from crm.fields import ExportValues, FieldService
from crm.imports import SYSTEM
from crm.money import from_minor
from crm.permissions import Actor, Owner, Scope
from storage.models import Company, Contact, Deal, DealProduct, Lead, Product, User
from storage.repositories import Repos
from storage.repositories.elements import MODELS, Element
from storage.repositories.exchange import ListFilter

if TYPE_CHECKING:
    from crm.context import Runtime

PAGE = 500
FILTER_KEYS = ("stage", "pipeline", "responsible", "source", "closed")
YES_WORDS = {"pl": ("Tak", "Nie"), "ru": ("Да", "Нет"), "en": ("Yes", "No")}


def parse_filters(words: Sequence[str]) -> dict[str, str]:
    """`stage=WON responsible="Anna Nowak"` (already split) → {"stage": "WON", …}; a word
    without `=` continues the previous value (`responsible=Anna Nowak`)."""
    found: dict[str, str] = {}
    last: str | None = None
    for word in words:
        key, sep, value = word.partition("=")
        if sep:
            key = key.strip().casefold()
            if key not in FILTER_KEYS:
                raise InvalidValue("filter", key[:20])
            found[key] = value.strip().strip('"')
            last = key
        elif last is not None:
            found[last] = (found[last] + " " + word.strip('"')).strip()
        else:
            raise InvalidValue("filter", word[:20])
    return found


@dataclass(frozen=True, slots=True)
class Exported:
    rows: int  # lines written (a deal with three product rows is three)
    elements: int


class ExportService:
    def __init__(self, repos: Repos, runtime: Runtime, elements: ElementService) -> None:
        self.repos = repos
        self.runtime = runtime
        self.elements = elements

    def scope(self, actor: Actor, entity: EntityType) -> Scope:
        """What the actor may export: EXPORT and READ both reach it."""
        policy = self.runtime.policy
        export = policy.scope(actor, entity, Operation.EXPORT)
        read = policy.scope(actor, entity, Operation.READ)
        if export.level is Level.NONE or read.level is Level.NONE:
            raise AccessDenied(entity=entity, operation=Operation.EXPORT)
        return export if export.level <= read.level else read

    def require(self, actor: Actor | None, kind: Kind) -> None:
        if actor is not None and kind.entity is not None:
            self.scope(actor, kind.entity)

    async def export(
        self,
        actor: Actor | None,
        kind: Kind,
        stream: IO[bytes],
        *,
        locale: str,
        timezone: str | None = None,
        codes: bool = False,
        filters: Mapping[str, str] | None = None,
        labels: Labels | None = None,
    ) -> Exported:
        """Write the list to `stream`; `actor` None: the command line (everything)."""
        labels = labels or CodeLabels()
        zone = timezone or self.runtime.config.default_timezone
        columns = REGISTRY[kind].exported()
        writer = CsvWriter(stream, separator_for(locale))
        header = [c.code if codes else c.title(locale) for c in columns]
        if kind is Kind.PRODUCTS:
            writer.row(header)
            return await self._products(writer, columns, locale)
        entity = kind.entity
        assert entity is not None
        scope = self.scope(actor, entity) if actor is not None else Scope(Level.ALL, 0, None)
        where = await self._filter(kind, filters or {}, labels)
        model = MODELS[entity.value]
        cells = _Cells(self, kind, locale, zone, codes, labels, actor or SYSTEM)
        await cells.prepare()
        writer.row([*header, *(f.header for f in cells.fields)])
        after = 0
        rows = elements = 0
        while True:
            page = await self.repos.exchange.page(model, scope, where, after, PAGE)
            if not page:
                break
            after = page[-1].id
            await cells.load(page)
            for element in page:
                for line in cells.lines(element, columns):
                    writer.row(line)
                    rows += 1
                elements += 1
            self.repos.session.expunge_all()  # a page written is not kept in memory
        return Exported(rows, elements)

    async def _products(
        self, writer: CsvWriter, columns: Sequence[Column], locale: str
    ) -> Exported:
        count = 0
        offset = 0
        while True:
            page, total = await self.repos.products.page(offset, PAGE)
            for product in page:
                writer.row([_product_cell(product, c, locale) for c in columns])
                count += 1
            offset += PAGE
            if offset >= total:
                break
        return Exported(count, count)

    async def _filter(self, kind: Kind, filters: Mapping[str, str], labels: Labels) -> ListFilter:
        catalog = await self.runtime.catalog.get(self.repos)
        stage_ids: tuple[int, ...] | None = None
        pipeline_id = responsible_id = None
        source = None
        closed = None
        for key, value in filters.items():
            wanted = value.casefold()
            if key == "stage" and kind in (Kind.DEALS, Kind.LEADS):
                stages = (
                    [s for ss in catalog.stages.values() for s in ss]
                    if kind is Kind.DEALS
                    else list(catalog.lead_statuses)
                )
                what = "deal_stage" if kind is Kind.DEALS else "lead_status"
                stage_ids = tuple(
                    s.id
                    for s in stages
                    if wanted == s.code.casefold()
                    or wanted in (n.casefold() for n in labels.known(what, s.code, s.name))
                )
                if not stage_ids:
                    raise InvalidValue("stage", value[:40])
            elif key == "pipeline" and kind is Kind.DEALS:
                pipeline_id = next(
                    (
                        p.id
                        for p in catalog.pipelines
                        if wanted == str(p.id)
                        or wanted
                        in (n.casefold() for n in labels.known("pipeline", str(p.id), p.name))
                    ),
                    None,
                )
                if pipeline_id is None:
                    raise InvalidValue("pipeline", value[:40])
            elif key == "responsible":
                users = await self.repos.users.list_active()
                match = [
                    u for u in users
                    if wanted in (str(u.id), " ".join(u.name.split()).casefold())
                    or wanted in u.name.casefold().split()
                ]  # fmt: skip
                if len(match) != 1:
                    raise InvalidValue("responsible", value[:40])
                responsible_id = match[0].id
            elif key == "source":
                items = await self.repos.pipelines.dictionary("source")
                source = next(
                    (
                        i.code
                        for i in items
                        if wanted == i.code.casefold()
                        or wanted in (n.casefold() for n in labels.known("source", i.code, i.name))
                    ),
                    None,
                )
                if source is None:
                    raise InvalidValue("source", value[:40])
            elif key == "closed" and kind in (Kind.DEALS, Kind.LEADS):
                closed = read_yes_no(value)
            else:
                raise InvalidValue("filter", key)
        return ListFilter(stage_ids, pipeline_id, responsible_id, source, closed)

    # --- the export flag ---------------------------------------------------------------------
    async def set_export_allowed(
        self, actor: Actor, refs: Sequence[ElementRef], allowed: bool
    ) -> list[ElementRef]:
        """Contacts' "included in export" flag, one or many (update rights on each: a code
        the actor may not read is told as not found, and nothing is changed)."""
        ids = []
        for ref in refs:
            if ref.entity is not EntityType.CONTACT:
                raise InvalidValue("contact", ref.code)
            element = await self.elements.load(actor, ref, Operation.UPDATE)
            ids.append(element.id)
        if not ids:
            raise NotFound("contact", "")
        await self.repos.exchange.set_export_allowed(ids, allowed)
        await self.repos.commit()
        return list(refs)


class _Cells:
    """The text of each exported cell of one page of elements."""

    def __init__(
        self,
        service: ExportService,
        kind: Kind,
        locale: str,
        timezone: str,
        codes: bool,
        labels: Labels,
        actor: Actor,
    ) -> None:
        self.s = service
        self.actor = actor
        self.kind = kind
        self.locale = locale
        self.timezone = timezone
        self.codes = codes
        self.labels = labels
        self.users: dict[int, User] = {}
        self.communications: dict[int, list[tuple[str, str]]] = {}
        self.contacts: dict[int, Any] = {}
        self.companies: dict[int, Any] = {}
        self.rows: dict[int, list[DealProduct]] = {}
        self.dictionaries: dict[tuple[str, str], str] = {}
        self.stages: dict[int, tuple[str, str, str | None]] = {}
        self.pipelines: dict[int, str] = {}
        self.fields: tuple[FieldColumn, ...] = ()  # custom fields the reader sees
        self.values: ExportValues = ExportValues((), {})
        self.link_names: dict[str, str] = {}  # element code → name, for readable links

    def _field_service(self) -> FieldService:
        return FieldService(self.s.repos, self.s.runtime, self.s.elements)

    async def prepare(self) -> None:
        repos = self.s.repos
        entity = self.kind.entity
        assert entity is not None
        seen = await self._field_service().values_for_export(self.actor, entity, ())
        reading = Reading(self.locale, self.timezone, self.s.runtime.config.base_currency,
                          self.s.runtime.clock.now())  # fmt: skip
        self.fields = tuple(FieldColumn(f, reading, self.locale, self.codes) for f in seen.fields)
        self.users = {u.id: u for u in await repos.users.list_active()}
        catalog = await self.s.runtime.catalog.get(repos)
        for stage in (*catalog.lead_statuses, *(s for ss in catalog.stages.values() for s in ss)):
            what = "deal_stage" if stage.entity == "deal" else "lead_status"
            self.stages[stage.id] = (what, stage.code, stage.name)
        for pipeline in catalog.pipelines:
            self.pipelines[pipeline.id] = (
                str(pipeline.id)
                if self.codes
                else self.labels.shown("pipeline", str(pipeline.id), pipeline.name)
            )
        for kind in ("source", "contact_type", "company_type", "industry", "deal_type"):
            for item in await repos.pipelines.dictionary(kind):
                self.dictionaries[(kind, item.code)] = (
                    item.code if self.codes else self.labels.shown(kind, item.code, item.name)
                )

    async def load(self, page: Sequence[Element]) -> None:
        repos = self.s.repos.exchange
        ids = [e.id for e in page]
        entity = self.kind.entity
        assert entity is not None
        self.communications = await repos.communications_of(entity.value, ids)
        if self.kind is Kind.DEALS:
            self.rows = await repos.deal_rows(ids)
        if self.fields:
            # One query for the page's values (only of the fields the reader sees now), one
            # per linked element type for the names of the links.
            self.values = await self._field_service().values_for_export(self.actor, entity, ids)
            await self._link_names()

    async def _link_names(self) -> None:
        """`[C]Name` for the links the reader may read; the others stay codes."""
        wanted: dict[EntityType, set[int]] = {}
        links = {f.info.id for f in self.fields if f.info.kind is FieldKind.LINK}
        for values in self.values.values.values():
            for field_id, value in values.items():
                ref = parse_code(str(value)) if field_id in links else None
                if ref is not None:
                    wanted.setdefault(ref.entity, set()).add(ref.id)
        self.link_names = {}
        policy = self.s.runtime.policy
        for entity, ids in wanted.items():
            found = await self.s.repos.exchange.names_of(MODELS[entity.value], sorted(ids))
            for element in found.values():
                responsible = element.responsible
                owner = Owner(
                    element.responsible_id, responsible.department_id if responsible else None
                )
                if policy.allows(self.actor, entity, Operation.READ, owner):
                    self.link_names[ref_of(element).code] = label_of(element)

    def lines(self, element: Element, columns: Sequence[Column]) -> list[list[str]]:
        custom = self.custom(element)
        first = [self.cell(element, c, None) for c in columns]
        rows = self.rows.get(element.id, []) if isinstance(element, Deal) else []
        if len(rows) <= 1:
            if rows:
                first = [self.cell(element, c, rows[0]) for c in columns]
            return [first + custom]
        return [[self.cell(element, c, row) for c in columns] + custom for row in rows]

    def custom(self, element: Element) -> list[str]:
        """The element's custom field cells, in the header's order (a field the reader no
        longer sees, restricted since the header was written, stays empty)."""
        if not self.fields:
            return []
        seen = {f.id for f in self.values.fields}
        cells = []
        for column in self.fields:
            value = self.values.value(element.id, column.info.id)
            if column.info.id not in seen or value is None:
                cells.append("")
                continue
            name = self.link_names.get(str(value)) if column.info.kind is FieldKind.LINK else None
            cells.append(neutralize(column.format(value, name)))
        return cells

    def cell(self, element: Element, column: Column, row: DealProduct | None) -> str:
        value = self.value(element, column, row)
        if column.value is Value.PHONES:
            return value  # already written as phones (see values.write_phone)
        return neutralize(value)

    def value(self, element: Element, column: Column, row: DealProduct | None) -> str:
        f = column.field
        comms = self.communications.get(element.id, [])
        if f == "id":
            return str(element.id)
        if f == "phones":
            return ", ".join(write_phone(v) for k, v in comms if k == "phone")
        if f == "emails":
            return ", ".join(v for k, v in comms if k == "email")
        if f == "telegram":
            return ", ".join(v for k, v in comms if k == "telegram")
        if f == "responsible":
            user = self.users.get(element.responsible_id or 0)
            return f"{user.name} [{user.id}]" if user else ""
        if f == "created_at":
            return write_moment(element.created_at, self.locale, self.timezone)
        if f in ("source", "contact_type", "company_type", "industry", "deal_type"):
            code = element.source if f == "source" else getattr(element, f, None)
            if not code:
                return ""
            return self.dictionaries.get((f, code), code)
        if f in ("stage", "status"):
            stage_id = (
                element.stage_id if isinstance(element, Deal) else getattr(element, "status_id", 0)
            )
            what, code, name = self.stages.get(stage_id, ("", "", None))
            return code if self.codes else self.labels.shown(what, code, name)
        if f == "pipeline" and isinstance(element, Deal):
            return self.pipelines.get(element.pipeline_id, "")
        if f == "amount":
            amount = getattr(element, "amount_minor", None)
            return write_decimal(from_minor(amount), self.locale) if amount is not None else ""
        if f == "currency":
            return str(getattr(element, "currency", None) or "")
        if f == "company" and isinstance(element, Contact | Deal):
            company: Company | None = element.company
            return write_link(EntityType.COMPANY, company.title) if company else ""
        if f == "contact" and isinstance(element, Deal):
            contact: Contact | None = element.contact
            return write_link(EntityType.CONTACT, contact.name) if contact else ""
        if f == "closed" and isinstance(element, Deal | Lead):
            yes, no = YES_WORDS.get(self.locale, YES_WORDS["en"])
            return (
                ("Y" if element.closed_at else "N")
                if self.codes
                else (yes if element.closed_at else no)
            )
        if f == "export_allowed" and isinstance(element, Contact):
            yes, no = YES_WORDS.get(self.locale, YES_WORDS["en"])
            allowed = element.export_allowed
            return ("Y" if allowed else "N") if self.codes else (yes if allowed else no)
        if f == "product":
            return row.product_name if row else ""
        if f == "price":
            return write_decimal(from_minor(row.price_minor), self.locale) if row else ""
        if f == "quantity":
            return write_decimal(row.quantity, self.locale) if row else ""
        if f == "contact_name" and isinstance(element, Lead):
            return element.contact_name or ""
        if f == "company_title" and isinstance(element, Lead):
            return element.company_title or ""
        value = getattr(element, f, None)
        return "" if value is None else str(value)


def _product_cell(product: Product, column: Column, locale: str) -> str:
    f = column.field
    if f == "price":
        return write_decimal(from_minor(product.price_minor), locale)
    if f in ("active_from", "active_to"):
        day = getattr(product, f)
        return write_day(day, locale)
    value = getattr(product, f, None)
    return neutralize("" if value is None else str(value))
