"""CSV import of contacts, companies, leads, deals and products (Bitrix24's rules).

- Import creates; it never updates an existing element. Duplicates (Bitrix24's duplicate
  control: an element of the type with the same phone, e-mail or name, compared exactly,
  case and spacing aside; `_Run.duplicate`) are skipped, or created anyway and reported, as
  the importer chooses: among the stored elements and those the file made before the row.
- The rows go in batches (`BATCH`): a batch's phones, e-mails and names are looked up at
  once (index reads, migration 0015, never a scan), its elements are written with one
  INSERT a table, and it is committed: never the whole file as one transaction.
- A broken row is rejected with its reason and the file goes on: a row refused while it is
  read or checked leaves nothing of itself (`_Batch.undo`); a row the database refuses
  makes its batch go again row by row, each row its own savepoint.
- Deals link to an existing contact by its **full name** (two contacts of that name: the row
  is rejected as ambiguous, not guessed) and to a company by its name; a name nobody has yet
  makes that contact or company. A contact's company is found by name the same way.
- The responsible person is an id, `Name [id]` or a name; empty: `default_responsible`
  (the importing user in chat, the first admin on the command line). The importer's IMPORT
  level must reach that person, as ADD must for one-line creation.
- Stage, type and source by code or by shown name (any language); an unknown stage falls back
  to the pipeline's first stage. Closed is Y/N or yes/no in the file's language.
- Rows of a deals file with the same ID are one deal with several product rows.
- A column named as a custom field (or by its code, `UF_CRM_7`) fills it, read by the
  field's type (crm/field_columns.py); a value that does not read rejects the row. Only the
  fields the importer sees and may fill (not hidden from cards) are columns: the others are
  reported as not imported. A link names one element the importer may read.
- Activities are neither imported nor exported (Bitrix24 does neither).

Rights: Operation.IMPORT on the element type (products: the catalog's Right.SETTINGS).
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy.exc import DataError, IntegrityError

from crm import names
from crm.catalog import Catalog, StageInfo
from crm.codes import ElementRef, parse_code
from crm.currencies import currency_code
from crm.elements import (
    MAX_TITLE,
    ElementInput,
    ElementService,
    _comment,
    deal_text,
    fold,
    lead_text,
    person_text,
    ref_of,
)
from crm.enums import EntityType, FieldKind, Operation, Right, Role, TimelineKind
from crm.errors import AccessDenied, CrmError, FileRefused, InvalidValue, NameTaken, NotFound
from crm.exchange.columns import (
    REGISTRY,
    CodeLabels,
    Column,
    ColumnMap,
    ColumnSet,
    CustomField,
    Kind,
    Labels,
    Value,
)
from crm.exchange.reading import CsvFile, Row
from crm.exchange.values import (
    read_day,
    read_decimal,
    read_link,
    read_moment,
    read_yes_no,
    split_multi,
    unneutralize,
)
from crm.field_book import Reading, search_text, sees
from crm.field_columns import FieldColumn, LinkName
from crm.money import to_minor
from crm.parsing import normalize_email, normalize_phone
from crm.permissions import Actor, Owner
from crm.products import MAX_NAME, ProductService, name_key, read_quantity, row_total
from storage.models import (
    Communication,
    Company,
    Contact,
    Deal,
    DealProduct,
    FieldValue,
    Lead,
    Product,
    TimelineEntry,
    User,
)
from storage.repositories import Repos
from storage.repositories.elements import MODELS, Element
from storage.repositories.exchange import Named

if TYPE_CHECKING:
    from crm.context import Runtime

BATCH = 500  # rows read, written and committed together
ANALYZE_FROM = 1000  # created rows after which the lookups' statistics are renewed, then ×2
_USER_ID = re.compile(r"^(?:(?P<name>.*?)\s*)?\[\s*(?P<id>\d{1,12})\s*\]$|^(?P<bare>\d{1,12})$")

Progress = Callable[[int], Awaitable[None]]
SYSTEM = Actor(0, Role.ADMIN, system=True)  # the command line: sees every field


class Duplicates(StrEnum):
    SKIP = "skip"  # a row whose element exists already is not created (the default)
    CREATE = "create"  # created anyway, and listed in the report


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    cells: tuple[str, ...]
    why: str  # "invalid", "required", "ambiguous", "not_allowed", "unknown", "broken"
    field: str = ""
    value: str = ""


@dataclass(slots=True)
class ImportReport:
    kind: Kind
    header: tuple[str, ...]
    unknown: list[str]
    created: int = 0
    product_rows: int = 0
    skipped: int = 0  # duplicates not created
    duplicates: list[tuple[int, str]] = field(default_factory=list)  # (line, existing code)
    rejected: list[Rejected] = field(default_factory=list)
    rows: int = 0
    separator: str = ";"  # the file's: the rejected rows are written back the same way

    def mark(self) -> Tally:
        return Tally(
            self.created, self.product_rows, self.skipped, len(self.duplicates),
            len(self.rejected), self.rows,
        )  # fmt: skip

    def restore(self, tally: Tally) -> None:
        """Back to `tally`: a batch that goes again row by row counts its rows once."""
        self.created, self.product_rows, self.skipped = (
            tally.created,
            tally.product_rows,
            tally.skipped,
        )
        del self.duplicates[tally.duplicates :]
        del self.rejected[tally.rejected :]
        self.rows = tally.rows


@dataclass(frozen=True, slots=True)
class Tally:
    """What a report had counted at one moment (`ImportReport.mark`)."""

    created: int
    product_rows: int
    skipped: int
    duplicates: int
    rejected: int
    rows: int


@dataclass(slots=True)
class Plan:
    """An opened file and how its columns are read (changeable before the run)."""

    kind: Kind
    file: CsvFile
    columns: ColumnSet
    mapping: ColumnMap


@dataclass(slots=True)
class ReadRow:
    """One row as it will be imported: values by field (phones and e-mails as lists)."""

    line: int
    values: dict[str, Any]
    custom: dict[str, object] = field(default_factory=dict)  # field code → parsed value


class _Reject(Exception):
    def __init__(self, why: str, field_name: str = "", value: str = "") -> None:
        super().__init__(why)
        self.why = why
        self.field = field_name
        self.value = value


def columns_of(kind: Kind, custom: Sequence[CustomField] = ()) -> ColumnSet:
    """The kind's columns, with these custom fields as columns of their name (or code)."""
    return REGISTRY[kind].extended(custom)


def name_keys(name: str) -> list[str]:
    """The search texts a contact of this full name may have (crm/elements.py stores the
    folded name and its search key): looked up exactly, the caller compares the names."""
    name = " ".join(name.split())
    return list(
        dict.fromkeys(
            [fold(name), person_text(name), fold(name, names.search_key(fold(name)))]
        )
    )  # fmt: skip


def read_cells(mapping: ColumnMap, row: Row, timezone: str, region: str) -> ReadRow:
    """The row's cells read by the mapping, without the database; _Reject on a bad value."""
    if row.cells == ["\x00broken"]:
        raise _Reject("broken")
    values: dict[str, Any] = {}
    custom: dict[str, object] = {}
    for index, text in enumerate(row.cells):
        if index >= len(mapping.fields):
            if text.strip():
                raise _Reject("broken", "columns", str(len(row.cells)))
            continue
        column = mapping.fields[index]
        text = unneutralize(text.strip())
        if column is None:
            extra = mapping.custom.get(index)
            if extra is not None and text:
                try:
                    custom[extra.code] = extra.parse(text)
                except (ValueError, CrmError):
                    raise _Reject("invalid", extra.name, text[:60]) from None
            continue
        if not text:
            continue
        try:
            value = _cell(column.value, column.field, text, timezone, region)
        except InvalidValue as exc:
            raise _Reject("invalid", column.field, exc.value or text[:60]) from None
        if column.value in (Value.PHONES, Value.EMAILS, Value.TELEGRAM):
            values.setdefault(column.field, []).extend(value)
        else:
            values[column.field] = value
    return ReadRow(row.line, values, custom)


def _cell(value: Value, field_name: str, text: str, timezone: str, region: str) -> Any:
    if value is Value.PHONES:
        phones = []
        for part in split_multi(text):
            phone = normalize_phone(part, region)
            if phone is None:
                raise InvalidValue("phone", part[:40])
            phones.append(phone)
        return phones
    if value is Value.EMAILS:
        emails = []
        for part in split_multi(text):
            email = normalize_email(part)
            if email is None:
                raise InvalidValue("email", part[:60])
            emails.append(email)
        return emails
    if value is Value.TELEGRAM:
        return [p.lstrip("@")[:64] for p in split_multi(text)]
    if value is Value.MONEY:
        return read_decimal(text, field_name)
    if value is Value.NUMBER:
        return read_quantity(text)
    if value is Value.CURRENCY:
        return currency_code(text)
    if value is Value.YES_NO:
        return read_yes_no(text)
    if value is Value.MOMENT:
        return read_moment(text, timezone)
    if value is Value.DAY:
        return read_day(text)
    return text


class ImportService:
    def __init__(
        self,
        repos: Repos,
        runtime: Runtime,
        elements: ElementService,
        products: ProductService,
    ) -> None:
        self.repos = repos
        self.runtime = runtime
        self.elements = elements
        self.products = products

    # --- rights and opening ------------------------------------------------------------------
    def require(self, actor: Actor | None, kind: Kind) -> None:
        """May `actor` import this kind at all (None: the command line, holding the database)."""
        if actor is None:
            return
        entity = kind.entity
        if entity is None:
            self.runtime.policy.require_right(actor, Right.SETTINGS)
        elif self.runtime.policy.level(actor, entity, Operation.IMPORT) == 0:
            raise AccessDenied(entity=entity, operation=Operation.IMPORT)

    def importable(self, actor: Actor | None) -> list[Kind]:
        """The kinds of file `actor` may import (none: /import is refused before the file)."""
        kinds = []
        for kind in Kind:
            try:
                self.require(actor, kind)
            except AccessDenied:
                continue
            kinds.append(kind)
        return kinds

    async def open(
        self,
        actor: Actor | None,
        kind: Kind,
        stream: IO[bytes],
        file_name: str = "",
        mapping: Sequence[str | None] | None = None,
    ) -> Plan:
        """The file opened and its header mapped; FileRefused for XML, a spreadsheet, or a
        header with no column it knows. `mapping` (fields by column, None: ignored) replaces
        the recognized one, as the chat's mapping buttons set it."""
        self.require(actor, kind)
        file = CsvFile(stream, file_name)
        columns = columns_of(kind, await self.custom_fields(actor, kind))
        found = columns.map(file.header)
        if mapping is not None:
            for index, name in enumerate(mapping[: len(found.fields)]):
                chosen: Column | CustomField | None = next(
                    (c for c in columns.columns if c.code == name), None
                ) or next((f for f in columns.custom if f.code == name), None)
                found = found.remapped(index, chosen)
        if not found.recognized():
            raise FileRefused("no_header")
        return Plan(kind, file, columns, found)

    async def custom_fields(self, actor: Actor | None, kind: Kind) -> tuple[FieldColumn, ...]:
        """The custom fields a file of this kind fills (columns of their name or code): those
        of the element type the importer may see and give values to (not hidden from cards);
        from the run's snapshot of the field book. None: the command line, every field."""
        entity = kind.entity
        if entity is None:
            return ()
        book = await self.runtime.fields.get(self.repos)
        reading = Reading(
            self.runtime.config.default_locale,
            self._timezone,
            self.runtime.config.base_currency,
            self.runtime.clock.now(),
        )
        who = actor or SYSTEM
        return tuple(
            FieldColumn(info, reading)
            for info in book.of(entity)
            if not info.is_system and not info.hidden and sees(self.runtime.policy, who, info)
        )

    def preview(self, plan: Plan, count: int = 3) -> list[ReadRow | Rejected]:
        """The first rows as they will be read (consumes the plan's file: open it again)."""
        shown: list[ReadRow | Rejected] = []
        for row in plan.file.rows():
            try:
                shown.append(read_cells(plan.mapping, row, self._timezone, self._region))
            except _Reject as exc:
                shown.append(Rejected(row.line, tuple(row.cells), exc.why, exc.field, exc.value))
            if len(shown) >= count:
                break
        return shown

    @property
    def _timezone(self) -> str:
        return self.runtime.config.default_timezone

    @property
    def _region(self) -> str:
        return {"ru": "RU", "en": "US"}.get(self.runtime.config.default_locale, "PL")

    # --- the run -----------------------------------------------------------------------------
    async def run(
        self,
        actor: Actor,
        plan: Plan,
        duplicates: Duplicates = Duplicates.SKIP,
        *,
        labels: Labels | None = None,
        progress: Progress | None = None,
        batch: int = BATCH,
    ) -> ImportReport:
        """Import every row of the plan's file as `actor` (its author; the default
        responsible when the file names none): `batch` rows at a time, each batch read in
        a few lookups, written with one INSERT a table and committed."""
        self.require(actor, plan.kind)
        run = _Run(self, actor, plan, duplicates, labels or CodeLabels())
        await run.prepare()
        await self.repos.exchange.analyze()  # an import just before may have grown them
        analyzed = ANALYZE_FROM
        rows: list[Row] = []
        for row in plan.file.rows():
            rows.append(row)
            if len(rows) >= batch:
                await run.batch(rows)
                await self._commit()
                rows = []
                if run.report.created >= analyzed:  # the tables doubled since: plan anew
                    await self.repos.exchange.analyze()
                    await self._commit()
                    analyzed *= 2
                if progress is not None:
                    await progress(run.report.rows)
        if rows:
            await run.batch(rows)
        await self._commit()
        if progress is not None:
            await progress(run.report.rows)
        return run.report

    async def _commit(self) -> None:
        await self.repos.commit()
        # The import's own session: its report says what was done, and a journal holding
        # every created element of a 100,000-row file would cost memory and time.
        journal = self.repos.session.sync_session.info.get("crm.effects")
        if journal is not None:
            journal.committed.clear()


@dataclass(slots=True)
class _Made:
    """An element a batch creates, with what is written beside it once it has its id."""

    element: Element
    entity: EntityType
    communications: dict[str, tuple[str, ...]] = field(default_factory=dict)
    custom: list[tuple[FieldColumn, object]] = field(default_factory=list)
    timeline: dict[str, Any] = field(default_factory=dict)  # the CREATED entry's data


# A key of what a batch has made, for the rows after it: ("contact", folded full name),
# ("company", folded title), ("lead", search text), ("deal-title"/"lead-title", title), and
# (entity, "phone"/"email", value).
Key = tuple[str, ...]


class _Batch:
    """Rows read together: what the database holds of their names, phones and e-mails
    (fetched at once), and what the accepted rows make, written by `_Run.write`.

    Every change a row makes goes through `push`, so that a row rejected halfway (`undo`)
    leaves nothing of itself, not even a company its row named."""

    def __init__(self) -> None:
        self.made: list[_Made] = []
        self.pending: dict[Key, list[Element]] = {}
        self.deals: dict[str, Deal] = {}  # the file's deal ID → a deal of this batch
        self.products: list[tuple[Deal, DealProduct]] = []
        self.late: list[tuple[int, Element]] = []  # report.duplicates index → made here
        self.holders: dict[tuple[str, str], list[tuple[str, int]]] = {}  # (kind, value) → owners
        self.named: dict[tuple[str, str], list[Named]] = {}  # (table, search text) → found
        self._undo: list[Callable[[], object]] = []

    def mark(self) -> int:
        return len(self._undo)

    def undo(self, mark: int) -> None:
        while len(self._undo) > mark:
            self._undo.pop()()

    def push(self, items: list[Any], item: Any) -> None:
        items.append(item)
        self._undo.append(items.pop)

    def add(self, made: _Made, *keys: Key) -> None:
        """A new element of an accepted row (or its company or contact), found by `keys`."""
        self.push(self.made, made)
        for key in keys:
            self.push(self.pending.setdefault(key, []), made.element)

    def deal(self, file_id: str, deal: Deal) -> None:
        self.deals[file_id] = deal
        self._undo.append(lambda: self.deals.pop(file_id, None))

    def pend(self, key: Key) -> list[Element]:
        return self.pending.get(key, [])


class FileIds:
    """The file's deal IDs → our deal ids, for the rows of a deal after its first (product
    rows), held for a whole file. Bitrix24's IDs are numbers in ascending order: kept in two
    arrays (16 bytes a deal, searched by bisection) rather than a dict of strings (~110 bytes:
    11 MiB for 100,000 deals); any other ID goes to a dict."""

    def __init__(self) -> None:
        self._keys = array("q")
        self._values = array("q")
        self._other: dict[str, int] = {}

    def add(self, key: str, value: int) -> None:
        number = int(key) if key.isascii() and key.isdigit() and len(key) < 19 else None
        if number is not None and (not self._keys or number > self._keys[-1]):
            self._keys.append(number)
            self._values.append(value)
        else:
            self._other[key] = value

    def get(self, key: str) -> int | None:
        if key in self._other:
            return self._other[key]
        if key.isascii() and key.isdigit() and len(key) < 19:
            number = int(key)
            at = bisect_left(self._keys, number)
            if at < len(self._keys) and self._keys[at] == number:
                return self._values[at]
        return None


def person_key(name: str) -> str:
    """A contact's full name as the import compares it: case and spacing aside."""
    return fold(*name.split())


def _title(text: str) -> str:
    link = read_link(text)
    return " ".join((link.name if link else text).split())


def _lead_key(data: ElementInput) -> str:
    title = data.title or data.name or data.company or ""
    return lead_text(title, data.name, data.company)


class _Run:
    """One import: what it has resolved and made so far."""

    def __init__(
        self,
        service: ImportService,
        actor: Actor,
        plan: Plan,
        duplicates: Duplicates,
        labels: Labels,
    ) -> None:
        self.s = service
        self.repos = service.repos
        self.actor = actor
        self.plan = plan
        self.duplicates = duplicates
        self.labels = labels
        self.report = ImportReport(
            plan.kind,
            tuple(plan.file.header),
            plan.mapping.unknown,
            separator=plan.file.dialect.separator,
        )
        self.users: list[User] = []
        self.catalog: Catalog | None = None
        self.deals = FileIds()  # the file's deal ID → our deal id
        self.lookups: dict[tuple[str, str], str | None] = {}
        self.products: dict[str, Product | None] = {}  # the catalog's, by name key
        self.fields: dict[str, FieldColumn] = {
            f.code: f for f in plan.columns.custom if isinstance(f, FieldColumn)
        }

    async def prepare(self) -> None:
        self.users = [u for u in await self.repos.users.list_active()]
        self.catalog = await self.s.runtime.catalog.get(self.repos)

    def reject(self, row: Row, why: str, field_name: str = "", value: str = "") -> None:
        self.report.rejected.append(Rejected(row.line, tuple(row.cells), why, field_name, value))

    # --- a batch -----------------------------------------------------------------------------
    async def batch(self, rows: list[Row]) -> None:
        """Read, check and write these rows together. A row the database refuses (a value
        too long for its column…) makes the batch go again row by row, each in its own
        savepoint, so that only that row is rejected."""
        before = self.report.mark()
        try:
            async with self.repos.exchange.savepoint():
                batch = _Batch()
                await self.plan_rows(batch, rows)
                await self.write(batch)
        except (IntegrityError, DataError):
            self.report.restore(before)
            if len(rows) > 1:
                for row in rows:
                    await self.batch([row])
                return
            self.report.rows += 1
            self.reject(rows[0], "invalid")
        self.report.rejected[before.rejected :] = sorted(
            self.report.rejected[before.rejected :], key=lambda r: r.line
        )

    async def plan_rows(self, batch: _Batch, rows: list[Row]) -> None:
        timezone, region = self.s._timezone, self.s._region
        read: list[tuple[Row, ReadRow]] = []
        for row in rows:
            try:
                read.append((row, read_cells(self.plan.mapping, row, timezone, region)))
            except _Reject as exc:
                self.reject(row, exc.why, exc.field, exc.value)
        await self.prefetch(batch, [r for _, r in read])
        self.report.rows += len(rows)
        for row, cells in read:
            mark = batch.mark()
            try:
                await self.row(batch, cells)
                continue
            except _Reject as exc:
                why, field_name, value = exc.why, exc.field, exc.value
            except InvalidValue as exc:
                why, field_name, value = "invalid", exc.field, exc.value
            except AccessDenied:
                why, field_name, value = "not_allowed", "responsible", ""
            except NameTaken as exc:
                why, field_name, value = "duplicate", exc.what, exc.name
            except CrmError:
                why, field_name, value = "invalid", "", ""
            batch.undo(mark)
            self.reject(row, why, field_name, value)

    async def prefetch(self, batch: _Batch, rows: Sequence[ReadRow]) -> None:
        """What the database holds of the batch's phones, e-mails and names: a few index
        reads for the whole batch instead of several for every row."""
        kind = self.plan.kind
        if kind is Kind.PRODUCTS:
            return
        values: dict[str, set[str]] = {"phone": set(), "email": set()}
        wanted: dict[str, set[str]] = {"contacts": set(), "companies": set(), "leads": set()}
        for read in rows:
            v = read.values
            values["phone"].update(v.get("phones", ()))
            values["email"].update(v.get("emails", ()))
            for text in (v.get("company"), v.get("contact")):
                if text:
                    table = "companies" if text is v.get("company") else "contacts"
                    title = _title(text)
                    wanted[table].update(
                        [fold(title)] if table == "companies" else name_keys(title)
                    )
            try:
                data = self.input(v)
            except _Reject:
                continue
            if kind is Kind.CONTACTS and data.name:
                wanted["contacts"].update(name_keys(data.name))
            elif kind is Kind.COMPANIES:
                wanted["companies"].add(fold(*data.title.split()))
            elif kind is Kind.LEADS:
                wanted["leads"].add(_lead_key(data))
        if kind is not Kind.DEALS:
            for kind_, value, entity, element_id in await self.repos.exchange.holders(values):
                batch.holders.setdefault((kind_, value), []).append((entity, element_id))
        models: dict[str, type[Contact] | type[Company] | type[Lead]] = {
            "contacts": Contact,
            "companies": Company,
            "leads": Lead,
        }
        for table, keys in wanted.items():
            if keys:
                for found in await self.repos.exchange.named(models[table], keys):
                    batch.named.setdefault((table, found.search_text), []).append(found)

    async def write(self, batch: _Batch) -> None:
        """The batch's elements in one INSERT a table; then, with their ids, their phones
        and e-mails, custom values, timeline entries and product rows."""
        if not batch.made and not batch.products:
            return
        made_here = {id(m.element) for m in batch.made}
        for deal in {id(d): d for d, _ in batch.products}.values():
            rows_here = sum(row_total(r) for d, r in batch.products if d is deal)
            if id(deal) in made_here:
                deal.amount_minor = rows_here
            else:  # a deal of an earlier batch given more rows: updated with the next insert
                stored = await self.repos.products.rows(deal.id)
                deal.amount_minor = rows_here + sum(row_total(r) for r in stored)
        await self.repos.exchange.insert(m.element for m in batch.made)
        now = self.s.runtime.clock.now()
        phones: list[dict[str, Any]] = []
        values: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        for made in batch.made:
            owner = {"entity": made.entity.value, "entity_id": made.element.id}
            phones += [
                {**owner, "kind": kind, "value": value}
                for kind, kind_values in made.communications.items()
                for value in kind_values
            ]
            for column, value in made.custom:
                kept = ref_of(value).code if isinstance(value, Element) else value
                values.append(
                    {**owner, "field_id": column.info.id, "value": kept,
                     "search_text": search_text(column.info, kept)}
                )  # fmt: skip
            entries.append(
                {**owner, "kind": TimelineKind.CREATED.value, "author_id": self.actor.user_id,
                 "created_at": now, "data": made.timeline}
            )  # fmt: skip
        await self.repos.exchange.insert_rows(Communication, phones)
        await self.repos.exchange.insert_rows(FieldValue, values)
        await self.repos.exchange.insert_rows(TimelineEntry, entries)
        for deal, row in batch.products:
            row.deal_id = deal.id
        await self.repos.exchange.insert(row for _, row in batch.products)
        self.report.product_rows += len(batch.products)
        for index, element in batch.late:
            code = ref_of(element).code
            if await self.s.elements.can(self.actor, element, Operation.READ):
                self.report.duplicates[index] = (self.report.duplicates[index][0], code)
        for file_id, deal in batch.deals.items():
            self.deals.add(file_id, deal.id)

    # --- resolving -------------------------------------------------------------------------
    def responsible(self, text: str | None) -> User:
        entity = self.plan.kind.entity
        if not text:
            user = next((u for u in self.users if u.id == self.actor.user_id), None)
            if user is None:
                raise _Reject("unknown", "responsible", "")
            return user
        match = _USER_ID.match(text.strip())
        user = None
        if match is not None:
            wanted = int(match.group("id") or match.group("bare"))
            user = next((u for u in self.users if u.id == wanted), None)
        if user is None:
            key = " ".join(text.split()).casefold()
            named = [u for u in self.users if " ".join(u.name.split()).casefold() == key]
            if len(named) > 1:
                raise _Reject("ambiguous", "responsible", text[:60])
            user = named[0] if named else None
        if user is None:
            raise _Reject("unknown", "responsible", text[:60])
        if entity is not None and not self.s.runtime.policy.allows(
            self.actor, entity, Operation.IMPORT, Owner(user.id, user.department_id)
        ):
            raise _Reject("not_allowed", "responsible", text[:60])
        return user

    def stage(self, what: str, text: str | None, stages: Sequence[StageInfo]) -> StageInfo:
        """By code or shown name in any language; unknown or empty: the first stage."""
        if text:
            key = text.strip().casefold()
            for stage in stages:
                known = self.labels.known(what, stage.code, stage.name)
                if key == stage.code.casefold() or key in (k.casefold() for k in known):
                    return stage
        return stages[0]

    def pipeline(self, text: str | None) -> int:
        assert self.catalog is not None
        default = self.catalog.default_pipeline.id
        if not text:
            return default
        key = text.strip().casefold()
        for pipeline in self.catalog.pipelines:
            known = self.labels.known("pipeline", str(pipeline.id), pipeline.name)
            if key == str(pipeline.id) or key in (k.casefold() for k in known):
                return pipeline.id
        raise _Reject("unknown", "pipeline", text[:60])

    async def dictionary(self, kind: str, text: str | None) -> str | None:
        """A dictionary entry's code, given its code or shown name; unknown: InvalidValue."""
        if not text:
            return None
        cached = self.lookups.get((kind, text.casefold()))
        if cached is not None or (kind, text.casefold()) in self.lookups:
            return cached
        key = text.strip().casefold()
        found = None
        for item in await self.repos.pipelines.dictionary(kind):
            known = self.labels.known(kind, item.code, item.name)
            if key == item.code.casefold() or key in (k.casefold() for k in known):
                found = item.code
                break
        if found is None:
            raise _Reject("unknown", kind, text[:60])
        self.lookups[(kind, text.casefold())] = found
        return found

    # --- names: the database's (fetched for the batch) and the batch's own ---------------------
    def contacts_named(self, batch: _Batch, name: str) -> tuple[list[Named], list[Element]]:
        """The stored contacts and the batch's new ones of exactly this full name."""
        key = person_key(name)
        stored = {
            n.id: n
            for k in name_keys(name)
            for n in batch.named.get(("contacts", k), ())
            if person_key(n.name) == key
        }
        return list(stored.values()), batch.pend(("contact", key))

    async def contact(self, batch: _Batch, text: str) -> Named | Contact | None:
        """The one contact of this full name; a new one when nobody has it; _Reject when
        several have it."""
        name = _title(text)
        if not name:
            return None
        stored, made = self.contacts_named(batch, name)
        found: list[Named | Element] = [*stored, *made]
        if len(found) > 1:
            raise _Reject("ambiguous", "contact", name[:60])
        if found:
            return found[0] if isinstance(found[0], Named | Contact) else None
        contact = self.s.elements.contact_of(self.actor, ElementInput(name=name), name)
        batch.add(_Made(contact, EntityType.CONTACT), ("contact", person_key(name)))
        return contact

    async def company(self, batch: _Batch, text: str) -> Named | Company | None:
        title = _title(text)[:MAX_TITLE]
        if not title:
            return None
        key = fold(title)
        found: list[Named | Element] = [
            *batch.named.get(("companies", key), ()),
            *batch.pend(("company", key)),
        ]
        if len(found) > 1:
            raise _Reject("ambiguous", "company", title[:60])
        if found:
            return found[0] if isinstance(found[0], Named | Company) else None
        company = self.s.elements.company_of(self.actor, ElementInput(company=title), people=False)
        batch.add(_Made(company, EntityType.COMPANY), ("company", key))
        return company

    async def custom(
        self, batch: _Batch, parsed: dict[str, object]
    ) -> list[tuple[FieldColumn, object]]:
        """The row's custom values as stored: a link resolved to the one element of that name
        (or code) the importer may read (an element of this batch: written as its code once
        it has an id); _Reject when it is nobody or several."""
        values: list[tuple[FieldColumn, object]] = []
        for code, value in parsed.items():
            column = self.fields.get(code)
            if column is None:
                continue
            if column.info.kind is FieldKind.LINK:
                value = await self.link(batch, column, value)
            values.append((column, value))
        return values

    async def link(self, batch: _Batch, column: FieldColumn, value: object) -> str | Element:
        elements = self.s.elements
        if isinstance(value, LinkName):
            found: Sequence[Element]
            if value.entity is EntityType.CONTACT:
                key = person_key(value.name)
                found = await self.repos.exchange.keyed(Contact, name_keys(value.name))
                found = [c for c in found if isinstance(c, Contact) and person_key(c.name) == key]
                made = batch.pend(("contact", key))
            elif value.entity is EntityType.COMPANY:
                found = await self.repos.exchange.companies_titled(fold(value.name))
                made = batch.pend(("company", fold(value.name)))
            else:
                model = Lead if value.entity is EntityType.LEAD else Deal
                found = await self.repos.exchange.titled(model, value.name)
                made = batch.pend((f"{value.entity.value}-title", value.name))
            readable = [e for e in found if await elements.can(self.actor, e, Operation.READ)]
            readable += made  # made by this import: the importer's own
            if len(readable) > 1:
                raise _Reject("ambiguous", column.name, value.name[:60])
            if not readable:
                raise _Reject("unknown", column.name, value.name[:60])
            return readable[0] if readable[0].id is None else ref_of(readable[0]).code
        ref = parse_code(str(value))
        try:
            if ref is None:
                raise NotFound(column.name, str(value))
            await elements.load(self.actor, ref)
        except (NotFound, AccessDenied):
            raise _Reject("unknown", column.name, str(value)[:60]) from None
        return ref.code

    # --- one row -----------------------------------------------------------------------------
    async def row(self, batch: _Batch, read: ReadRow) -> None:
        v = read.values
        kind = self.plan.kind
        if kind is Kind.PRODUCTS:
            await self.product(read.line, v)
            return
        file_id = str(v.get("id") or "")
        if kind is Kind.DEALS and file_id:
            earlier = await self.deal_of(batch, file_id)
            if earlier is not None:
                await self.product_row(batch, earlier, v, required=True)
                return
        user = self.responsible(v.get("responsible"))
        data = self.input(v)
        entity = kind.entity
        assert entity is not None
        if await self.duplicate(batch, read.line, entity, data):
            return
        keys: list[Key] = []
        element: Contact | Company | Lead | Deal
        if kind is Kind.CONTACTS:
            element = await self.new_contact(batch, v, data)
            keys.append(("contact", person_key(element.name)))
        elif kind is Kind.COMPANIES:
            element = await self.new_company(batch, v, data)
            keys.append(("company", element.search_text))
        elif kind is Kind.LEADS:
            element = await self.new_lead(v, data)
            keys += [("lead", element.search_text), ("lead-title", element.title)]
        else:
            element = await self.new_deal(batch, v, data)
            keys.append(("deal-title", element.title))
            if file_id:
                batch.deal(file_id, element)
            if v.get("product"):
                await self.product_row(batch, element, v, required=False)
        element.responsible_id = user.id
        if v.get("created_at"):
            element.created_at = v["created_at"]
        made = _Made(element, entity)
        if entity is not EntityType.DEAL:
            made.communications = {
                "phone": data.phones,
                "email": data.emails,
                "telegram": tuple(dict.fromkeys(v.get("telegram", ()))),
            }
            keys += [
                (entity.value, kind_, value)
                for kind_ in ("phone", "email")
                for value in made.communications[kind_]
            ]
        elif isinstance(element, Deal):
            made.timeline = {"stage": element.stage_id}
        if read.custom:
            made.custom = await self.custom(batch, read.custom)
        batch.add(made, *keys)
        self.report.created += 1

    async def deal_of(self, batch: _Batch, file_id: str) -> Deal | None:
        """The deal an earlier row of the file with this ID made, if any."""
        if file_id in batch.deals:
            return batch.deals[file_id]
        if (deal_id := self.deals.get(file_id)) is not None:
            return await self.repos.elements.get(Deal, deal_id)
        return None

    def input(self, v: dict[str, Any]) -> ElementInput:
        kind = self.plan.kind
        first, last = v.get("first_name"), v.get("last_name")
        full = v.get("name") or v.get("contact_name")
        person = " ".join(p for p in (first, last) if p) or full
        title = v.get("title") or ""
        if kind is Kind.CONTACTS and not person:
            raise _Reject("required", "first_name")
        if kind in (Kind.COMPANIES, Kind.LEADS, Kind.DEALS) and not title:
            if kind is not Kind.LEADS or not (person or v.get("company_title")):
                raise _Reject("required", "title")
        amount = v.get("amount")
        return ElementInput(
            title=title[:MAX_TITLE],
            name=person[:MAX_TITLE] if person else None,
            first_name=first,
            last_name=last,
            company=(v.get("company_title") or "")[:MAX_TITLE] or None,
            phones=tuple(dict.fromkeys(v.get("phones", ()))),
            emails=tuple(dict.fromkeys(v.get("emails", ()))),
            amount=amount,
            currency=(v.get("currency") or self.s.runtime.config.base_currency)
            if amount is not None
            else None,
            comment=v.get("comment"),
            address=v.get("address"),
        )

    async def duplicate(
        self, batch: _Batch, line: int, entity: EntityType, data: ElementInput
    ) -> bool:
        """Bitrix24's duplicate control of an import: an element of the type with the same
        phone, e-mail or name (a contact's full name, a company's name, a lead's title with
        its person and company), compared exactly with case aside, among the stored elements
        (fetched for the batch through indexes: never a scan, however big the CRM) and those
        the file made before this row. (One-line creation's fuzzy name rule stays in chat,
        where one element is checked at a time.)"""
        if entity is EntityType.DEAL:
            return False  # Bitrix24 checks deals' duplicates by hand only
        values = [("phone", p) for p in data.phones] + [("email", e) for e in data.emails]
        ids = [i for value in values for e, i in batch.holders.get(value, ()) if e == entity.value]
        made = [m for kind, value in values for m in batch.pend((entity.value, kind, value))]
        if not ids and not made:
            stored, made = self.named_alike(batch, entity, data)
            ids = [n.id for n in stored]
        if not ids and not made:
            return False
        if ids:
            element = await self.repos.elements.get(MODELS[entity.value], min(ids))
            visible = element is not None and await self.s.elements.can(
                self.actor, element, Operation.READ
            )
            self.report.duplicates.append(
                (line, ElementRef(entity, min(ids)).code if visible else "")
            )
        else:  # made by an earlier row of this batch: its code once it is written
            self.report.duplicates.append((line, ""))
            batch.late.append((len(self.report.duplicates) - 1, made[0]))
        if self.duplicates is Duplicates.SKIP:
            self.report.skipped += 1
            return True
        return False

    def named_alike(
        self, batch: _Batch, entity: EntityType, data: ElementInput
    ) -> tuple[list[Named], list[Element]]:
        if entity is EntityType.CONTACT:
            return self.contacts_named(batch, data.name) if data.name else ([], [])
        if entity is EntityType.COMPANY:
            key = fold(*data.title.split())
            return list(batch.named.get(("companies", key), ())), batch.pend(("company", key))
        key = _lead_key(data)
        return list(batch.named.get(("leads", key), ())), batch.pend(("lead", key))

    async def new_contact(self, batch: _Batch, v: dict[str, Any], data: ElementInput) -> Contact:
        company = await self.company(batch, v["company"]) if v.get("company") else None
        source = await self.dictionary("source", v.get("source"))
        contact = self.s.elements.contact_of(self.actor, replace(data, source=source), data.name)
        _belongs(contact, company)
        contact.contact_type = await self.dictionary("contact_type", v.get("contact_type"))
        if v.get("export_allowed") is False:
            contact.export_allowed = False
        return contact

    async def new_company(self, batch: _Batch, v: dict[str, Any], data: ElementInput) -> Company:
        company = self.s.elements.company_of(
            self.actor,
            replace(  # the title is the company's name, not a remark about it
                data, company=data.title, name=None, title="",
                source=await self.dictionary("source", v.get("source")),
            ),
        )  # fmt: skip
        company.company_type = await self.dictionary("company_type", v.get("company_type"))
        company.industry = await self.dictionary("industry", v.get("industry"))
        return company

    async def new_lead(self, v: dict[str, Any], data: ElementInput) -> Lead:
        assert self.catalog is not None
        status = self.stage("lead_status", v.get("status"), self.catalog.lead_statuses)
        lead = self.s.elements.lead_of(
            self.actor,
            replace(data, source=await self.dictionary("source", v.get("source"))),
            status.id,
        )
        if status.semantic != "process":
            lead.closed_at = self.s.runtime.clock.now()
        return lead

    async def new_deal(self, batch: _Batch, v: dict[str, Any], data: ElementInput) -> Deal:
        assert self.catalog is not None
        pipeline = self.pipeline(v.get("pipeline"))
        stage = self.stage("deal_stage", v.get("stage"), self.catalog.stages[pipeline])
        contact = await self.contact(batch, v["contact"]) if v.get("contact") else None
        company = await self.company(batch, v["company"]) if v.get("company") else None
        now = self.s.runtime.clock.now()
        closed = v.get("closed")
        if closed is None:
            closed = stage.semantic != "process"
        deal = Deal(
            title=data.title,
            pipeline_id=pipeline,
            stage_id=stage.id,
            contact_id=None,
            company_id=None,
            comment=_comment(data.comment),
            search_text=deal_text(
                data.title,
                contact.name if contact else None,
                company.name if isinstance(company, Named) else company.title if company else None,
            ),
            stage_changed_at=now,
            # What a CREATED timeline entry stamps (ElementService.record, touch_deal).
            touched_at=now,
            last_activity_at=now,
            deal_type=await self.dictionary("deal_type", v.get("deal_type")),
            closed_at=now if closed else None,
            amount_minor=to_minor(data.amount) if data.amount is not None else None,
            currency=data.currency,
            responsible_id=self.actor.user_id,
            created_by_id=self.actor.user_id,
            source=await self.dictionary("source", v.get("source")),
            created_at=now,
            updated_at=now,
        )  # fmt: skip
        _belongs(deal, company, contact)
        return deal

    async def product_row(
        self, batch: _Batch, deal: Deal, v: dict[str, Any], *, required: bool
    ) -> None:
        """A product row of the deal: the catalog's product of that name (its price unless
        the row gives one), else a row holding the name and the row's price."""
        name = " ".join(str(v.get("product") or "").split())[:MAX_NAME]
        if not name:
            if required:
                raise _Reject("required", "product")
            return
        key = name_key(name)
        if key not in self.products:
            self.products[key] = await self.repos.products.by_key(key)
        product = self.products[key]
        price: Decimal | None = v.get("price")
        currency = deal.currency or (product.currency if product else None)
        currency = currency or v.get("currency") or self.s.runtime.config.base_currency
        if price is None:
            if product is None or product.currency != currency:
                raise _Reject("required", "price")
            price_minor = product.price_minor
        else:
            price_minor = to_minor(price)
        row = DealProduct(
            product_id=product.id if product else None,
            product_name=product.name if product else name,
            price_minor=price_minor,
            currency=currency,
            quantity=v.get("quantity") or Decimal(1),
        )
        batch.push(batch.products, (deal, row))
        deal.currency = currency  # the amount is the rows' total (`_Run.write`)

    async def product(self, line: int, v: dict[str, Any]) -> None:
        name = " ".join(str(v.get("name") or "").split())
        if not name:
            raise _Reject("required", "name")
        if await self.repos.products.by_key(name_key(name)) is not None:
            self.report.duplicates.append((line, name))
            self.report.skipped += 1
            return  # creates only: a known product is a duplicate, never updated
        price = v.get("price")
        if price is None:
            raise _Reject("required", "price")
        await self.s.products._new(
            name,
            price,
            v.get("currency") or self.s.runtime.config.base_currency,
            v.get("active_from"),
            v.get("active_to"),
            v.get("sku"),
            v.get("description"),
        )
        self.report.created += 1


def _belongs(
    element: Contact | Deal,
    company: Named | Company | None,
    contact: Named | Contact | None = None,
) -> None:
    """Link a new contact or deal to its company (and a deal to its contact): a stored one by
    id, one made in the same batch by the relationship, so that the insert gets its id."""
    if isinstance(company, Named):
        element.company_id = company.id
    elif company is not None:
        element.company = company
    if isinstance(element, Deal):
        if isinstance(contact, Named):
            element.contact_id = contact.id
        elif contact is not None:
            element.contact = contact
