"""SQL of CSV import and export (crm/imports.py, crm/exports.py): exact name lookups for
duplicates and linking rows (indexed, migration 0015), keyset pages of a list for export,
and the contacts' export flag."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction

from crm.permissions import Scope
from storage.base import Base
from storage.models import Communication, Company, Contact, Deal, DealProduct, Lead
from storage.repositories.elements import E, scope_filter

CHUNK = 1024  # values in one IN (…): far below the drivers' limits of parameters


@dataclass(frozen=True, slots=True)
class Named:
    """An element found by its search text, as the import's lookups need it: no entity."""

    id: int
    name: str
    search_text: str


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    """The values in lists for `IN (…)`, each padded (with its last value) to a power of two:
    a statement's text depends on the count, and a few texts are prepared once and reused by
    the driver, where every batch's own count would be prepared (planned) again."""
    wanted = sorted({v for v in values if v})
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        yield chunk + chunk[-1:] * ((1 << (len(chunk) - 1).bit_length()) - len(chunk))


class ExchangeRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def savepoint(self) -> AsyncSessionTransaction:
        """`async with repos.exchange.savepoint():` one imported row: a failing row is rolled
        back alone, the rows before it stay in the batch."""
        return self.session.begin_nested()

    async def keyed(
        self,
        model: type[Contact] | type[Company] | type[Lead],
        keys: Sequence[str],
        limit: int = 20,
    ) -> Sequence[Contact | Company | Lead]:
        """Elements whose folded search text is exactly one of `keys` (the index
        `ix_<table>_search_text` serves it: one lookup a key, no scan). The callers compute
        the keys as the element's search text is made (crm/imports.py `name_keys`)."""
        wanted = sorted({k for k in keys if k})
        if not wanted:
            return []
        query = select(model).where(model.search_text.in_(wanted)).order_by(model.id).limit(limit)
        rows = (await self.session.scalars(query)).unique().all()
        return [row for row in rows if isinstance(row, Contact | Company | Lead)]

    async def named(
        self, model: type[Contact] | type[Company] | type[Lead], keys: Iterable[str]
    ) -> list[Named]:
        """Every element whose folded search text is one of `keys` (a batch of rows' names),
        as (id, name, search text): index reads of `ix_<table>_search_text`, no entities."""
        label = {Contact: Contact.name, Company: Company.title, Lead: Lead.title}[model]
        found: list[Named] = []
        for chunk in _chunks(keys):
            query = select(model.id, label, model.search_text).where(model.search_text.in_(chunk))
            found += [Named(r[0], r[1] or "", r[2]) for r in await self.session.execute(query)]
        return found

    async def holders(
        self, values: Mapping[str, Iterable[str]]
    ) -> list[tuple[str, str, str, int]]:
        """(kind, value, entity, id) of every element holding one of these phones or e-mails
        (a batch of rows' values, by kind): index reads of `ix_communications_lookup`."""
        found: list[tuple[str, str, str, int]] = []
        for kind, kind_values in values.items():
            for chunk in _chunks(kind_values):
                query = select(
                    Communication.kind,
                    Communication.value,
                    Communication.entity,
                    Communication.entity_id,
                ).where(and_(Communication.kind == kind, Communication.value.in_(chunk)))
                found += [(r[0], r[1], r[2], r[3]) for r in await self.session.execute(query)]
        return found

    async def analyze(self) -> None:
        """Fresh planner statistics of the tables the import looks names and phones up in.
        PostgreSQL picks a plan by them: a table an import has grown from empty still looks
        empty until autovacuum analyzes it (a minute or more), and each batch's lookup by
        `IN (…)` becomes a scan of the whole table, slower with every batch. ANALYZE reads a
        sample (tens of milliseconds) and takes no lock that stops reads or writes. SQLite
        plans by its indexes alone: nothing to do."""
        connection = await self.session.connection()
        if connection.dialect.name == "postgresql":
            await connection.execute(text("ANALYZE contacts, companies, leads, communications"))

    async def insert(self, objects: Iterable[Base]) -> None:
        """New elements, many at once: the unit of work sends one multi-row INSERT a table
        (SQLAlchemy's insertmanyvalues), ids returned in order."""
        self.session.add_all(objects)
        await self.session.flush()

    async def insert_rows(self, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
        """Rows whose ids nobody needs back (phones, timeline entries, values): one statement
        executed for all of them (the driver's executemany), the same text every batch."""
        if rows:
            await self.session.execute(insert(model), rows)

    async def companies_titled(self, folded: str, limit: int = 20) -> Sequence[Company]:
        found = await self.keyed(Company, [folded], limit)
        return [c for c in found if isinstance(c, Company)]

    async def titled(
        self, model: type[Lead] | type[Deal], title: str, limit: int = 20
    ) -> Sequence[Lead | Deal]:
        """Leads or deals of exactly this title (a custom link field's `[D]Title`)."""
        query = select(model).where(model.title == title).order_by(model.id).limit(limit)
        rows = (await self.session.scalars(query)).unique().all()
        return [row for row in rows if isinstance(row, Lead | Deal)]

    async def page(
        self,
        model: type[E],
        scope: Scope,
        where: ListFilter,
        after_id: int,
        limit: int,
    ) -> Sequence[E]:
        """The next `limit` elements after `after_id` (by id) that the scope reaches."""
        query = select(model).where(model.id > after_id, *where.clauses(model))
        clause = scope_filter(model, scope)
        if clause is not None:
            query = query.where(clause)
        rows = await self.session.scalars(query.order_by(model.id).limit(limit))
        return rows.unique().all()

    async def communications_of(
        self, entity: str, ids: Sequence[int]
    ) -> dict[int, list[tuple[str, str]]]:
        if not ids:
            return {}
        query = (
            select(Communication.entity_id, Communication.kind, Communication.value)
            .where(Communication.entity == entity, Communication.entity_id.in_(list(ids)))
            .order_by(Communication.id)
        )
        found: dict[int, list[tuple[str, str]]] = {}
        for element_id, kind, value in (await self.session.execute(query)).all():
            found.setdefault(element_id, []).append((kind, value))
        return found

    async def deal_rows(self, deal_ids: Sequence[int]) -> dict[int, list[DealProduct]]:
        if not deal_ids:
            return {}
        query = (
            select(DealProduct)
            .where(DealProduct.deal_id.in_(list(deal_ids)))
            .order_by(DealProduct.deal_id, DealProduct.id)
        )
        found: dict[int, list[DealProduct]] = {}
        for row in (await self.session.scalars(query)).unique().all():
            found.setdefault(row.deal_id, []).append(row)
        return found

    async def names_of(self, model: type[E], ids: Sequence[int]) -> dict[int, Any]:
        """The elements with these ids (for link columns), by id."""
        if not ids:
            return {}
        rows = await self.session.scalars(select(model).where(model.id.in_(sorted(set(ids)))))
        return {row.id: row for row in rows.unique().all()}

    async def set_export_allowed(self, ids: Sequence[int], allowed: bool) -> None:
        if ids:
            await self.session.execute(
                update(Contact).where(Contact.id.in_(list(ids))).values(export_allowed=allowed)
            )


@dataclass(frozen=True, slots=True)
class ListFilter:
    """What `/export deals stage=WON responsible=Anna` keeps (None: no condition)."""

    stage_ids: tuple[int, ...] | None = None
    pipeline_id: int | None = None
    responsible_id: int | None = None
    source: str | None = None
    closed: bool | None = None
    exportable_contacts: bool = True  # contacts with the export flag off are left out

    def clauses(self, model: type[E]) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.responsible_id is not None:
            found.append(model.responsible_id == self.responsible_id)
        if self.source is not None:
            found.append(model.source == self.source)
        if model is Deal:
            if self.stage_ids is not None:
                found.append(Deal.stage_id.in_(self.stage_ids))
            if self.pipeline_id is not None:
                found.append(Deal.pipeline_id == self.pipeline_id)
        if model is Lead and self.stage_ids is not None:
            found.append(Lead.status_id.in_(self.stage_ids))
        if self.closed is not None and (model is Deal or model is Lead):
            closed_at = Deal.closed_at if model is Deal else Lead.closed_at
            found.append(closed_at.is_not(None) if self.closed else closed_at.is_(None))
        if model is Contact and self.exportable_contacts:
            found.append(Contact.export_allowed.is_(True))
        return found
