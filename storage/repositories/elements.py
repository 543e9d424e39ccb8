from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, case, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.enums import Level, TimelineKind
from crm.permissions import Scope
from storage.models import (
    Communication,
    Company,
    Contact,
    Deal,
    FieldValue,
    Lead,
    TimelineEntry,
    User,
)

Element = Company | Contact | Deal | Lead
E = TypeVar("E", bound=Element)

MODELS: dict[str, type[Element]] = {
    "lead": Lead,
    "contact": Contact,
    "company": Company,
    "deal": Deal,
}


def scope_filter(model: type[E], scope: Scope) -> ColumnElement[bool] | None:
    """The WHERE clause of what `scope` may see: None for everything."""
    if scope.level is Level.ALL:
        return None
    if scope.level is Level.NONE:
        return false()
    own = model.responsible_id == scope.user_id
    if scope.level is Level.OWN or scope.department_id is None:
        return own
    departments = scope.department_ids or frozenset({scope.department_id})
    colleagues = select(User.id).where(User.department_id.in_(sorted(departments)))
    return or_(own, model.responsible_id.in_(colleagues))


def _scoped(query: Select[Any], model: type[E], scope: Scope) -> Select[Any]:
    clause = scope_filter(model, scope)
    return query if clause is None else query.where(clause)


def _unseen_change(seen_fields: Sequence[int]) -> ColumnElement[bool]:
    """A timeline entry that is a change of a custom field not among `seen_fields` (the data
    crm.fields.set_value writes: field="custom", field_id). COALESCE keeps SQL's NULL from
    hiding entries without those keys."""
    data = TimelineEntry.data
    custom = and_(
        TimelineEntry.kind == TimelineKind.CHANGED.value,
        func.coalesce(data["field"].as_string(), "") == "custom",
    )
    if not seen_fields:
        return custom
    field_id = func.coalesce(data["field_id"].as_integer(), 0)
    return and_(custom, field_id.not_in(seen_fields))


class ElementRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, model: type[E], element_id: int) -> E | None:
        return await self.session.get(model, element_id)

    async def add(self, element: E) -> E:
        self.session.add(element)
        await self.session.flush()
        return element

    async def owner_department(self, user_id: int | None) -> int | None:
        if user_id is None:
            return None
        return await self.session.scalar(select(User.department_id).where(User.id == user_id))

    # --- communications ----------------------------------------------------------------------
    async def add_new_communications(
        self, entity: str, entity_id: int, values: Mapping[str, Sequence[str]]
    ) -> None:
        """Phones and e-mails of an element that has none yet: one batched insert."""
        self.session.add_all(
            Communication(entity=entity, entity_id=entity_id, kind=kind, value=value)
            for kind, kind_values in values.items()
            for value in dict.fromkeys(kind_values)
        )
        await self.session.flush()

    async def add_communications(
        self, entity: str, entity_id: int, kind: str, values: Iterable[str]
    ) -> None:
        """Add the values the element does not have yet."""
        values = list(values)
        if not values:
            return
        existing = set(await self.communications(entity, entity_id, kind))
        for value in dict.fromkeys(values):
            if value not in existing:
                self.session.add(
                    Communication(entity=entity, entity_id=entity_id, kind=kind, value=value)
                )
        await self.session.flush()

    async def replace_first_communication(
        self, entity: str, entity_id: int, kind: str, value: str
    ) -> str | None:
        """The element's first phone (or e-mail) becomes `value`; added if it had none.
        Returns the value replaced."""
        first = await self.session.scalar(
            select(Communication)
            .where(
                Communication.entity == entity,
                Communication.entity_id == entity_id,
                Communication.kind == kind,
            )
            .order_by(Communication.id)
            .limit(1)
        )
        if first is None:
            self.session.add(
                Communication(entity=entity, entity_id=entity_id, kind=kind, value=value)
            )
            await self.session.flush()
            return None
        old, first.value = first.value, value
        await self.session.flush()
        return old

    async def communications(
        self, entity: str, entity_id: int, kind: str | None = None
    ) -> list[str]:
        query = select(Communication.value).where(
            Communication.entity == entity, Communication.entity_id == entity_id
        )
        if kind is not None:
            query = query.where(Communication.kind == kind)
        return list((await self.session.scalars(query.order_by(Communication.id))).all())

    async def communications_of(self, entity: str, entity_id: int) -> list[tuple[str, str]]:
        query = select(Communication.kind, Communication.value).where(
            Communication.entity == entity, Communication.entity_id == entity_id
        )
        rows = await self.session.execute(query.order_by(Communication.id))
        return [(r[0], r[1]) for r in rows.all()]

    async def owners_of_any(
        self, values: Mapping[str, Sequence[str]]
    ) -> list[tuple[str, str, int]]:
        """(kind, entity, id) of every element holding one of the phones or e-mails given."""
        clauses = [
            and_(Communication.kind == kind, Communication.value.in_(list(kind_values)))
            for kind, kind_values in values.items()
            if kind_values
        ]
        if not clauses:
            return []
        query = (
            select(Communication.kind, Communication.entity, Communication.entity_id)
            .where(or_(*clauses))
            .distinct()
        )
        return [(r[0], r[1], r[2]) for r in (await self.session.execute(query)).all()]

    async def move_communications(self, entity: str, entity_id: int, to: str, to_id: int) -> None:
        for kind in ("phone", "email"):
            await self.add_communications(
                to, to_id, kind, await self.communications(entity, entity_id, kind)
            )

    # --- lookups -----------------------------------------------------------------------------
    async def by_text(
        self,
        model: type[E],
        needles: Sequence[str],
        scope: Scope | None,
        limit: int,
        prefer: str | None = None,
    ) -> Sequence[E]:
        """Elements whose folded search text contains any of `needles` (already folded), newest
        first — or, with `prefer`, those containing `prefer` before all others."""
        if not needles:
            return []
        query = select(model).where(
            or_(*(model.search_text.contains(n, autoescape=True) for n in needles))
        )
        if scope is not None:
            query = _scoped(query, model, scope)
        order: list[ColumnElement[Any]] = [model.id.desc()]
        if prefer:
            order.insert(
                0, case((model.search_text.contains(prefer, autoescape=True), 0), else_=1)
            )
        return (await self.session.scalars(query.order_by(*order).limit(limit))).unique().all()

    async def by_field_text(
        self,
        model: type[E],
        field_ids: Sequence[int],
        needle: str,
        scope: Scope | None,
        limit: int,
    ) -> Sequence[E]:
        """Elements with a value of one of `field_ids` whose folded text contains `needle`
        (already folded), newest first; no field ids, no elements."""
        if not field_ids or not needle:
            return []
        entity = next(name for name, m in MODELS.items() if m is model)
        having = select(FieldValue.entity_id).where(
            FieldValue.entity == entity,
            FieldValue.field_id.in_(sorted(set(field_ids))),
            FieldValue.search_text.contains(needle, autoescape=True),
        )
        query = select(model).where(model.id.in_(having))
        if scope is not None:
            query = _scoped(query, model, scope)
        rows = await self.session.scalars(query.order_by(model.id.desc()).limit(limit))
        return rows.unique().all()

    async def name_candidates(
        self, model: type[E], needles: Sequence[str], limit: int
    ) -> Sequence[E]:
        """Elements whose folded search text holds any of `needles`, those holding the most
        first, then the newest: the ones the duplicate-name rule (crm/names.py) looks at.

        Ranking by the count keeps an old exact or one-typo duplicate ahead of hundreds of
        newer elements that only share a surname.
        """
        if not needles:
            return []
        hits = [
            case((model.search_text.contains(n, autoescape=True), 1), else_=0) for n in needles
        ]
        score: ColumnElement[Any] = hits[0]
        for hit in hits[1:]:
            score = score + hit
        query = (
            select(model)
            .where(or_(*(model.search_text.contains(n, autoescape=True) for n in needles)))
            .order_by(score.desc(), model.id.desc())
            .limit(limit)
        )
        return (await self.session.scalars(query)).unique().all()

    async def by_ids(self, model: type[E], ids: Sequence[int], scope: Scope | None) -> Sequence[E]:
        if not ids:
            return []
        query = select(model).where(model.id.in_(ids))
        if scope is not None:
            query = _scoped(query, model, scope)
        return (await self.session.scalars(query.order_by(model.id.desc()))).unique().all()

    async def page(
        self,
        model: type[E],
        scope: Scope,
        *,
        responsible_id: int | None = None,
        open_only: bool = True,
        offset: int = 0,
        limit: int = 10,
    ) -> tuple[Sequence[E], int]:
        """One page of elements, newest first, and the total count."""
        query = _scoped(select(model), model, scope)
        if responsible_id is not None:
            query = query.where(model.responsible_id == responsible_id)
        if open_only and issubclass(model, Deal | Lead):
            query = query.where(model.closed_at.is_(None))
        total = await self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = await self.session.scalars(
            query.order_by(model.id.desc()).offset(offset).limit(limit)
        )
        return rows.unique().all(), total

    async def deals_of_contacts(
        self, contact_ids: Sequence[int], scope: Scope, limit: int = 10
    ) -> Sequence[Deal]:
        query = _scoped(select(Deal).where(Deal.contact_id.in_(contact_ids)), Deal, scope)
        return (
            (await self.session.scalars(query.order_by(Deal.id.desc()).limit(limit)))
            .unique()
            .all()
        )

    async def deals_of_client(
        self, entity: str, client_id: int, scope: Scope, limit: int = 10
    ) -> Sequence[Deal]:
        """The deals of a contact or a company the scope may read, newest first."""
        column = Deal.contact_id if entity == "contact" else Deal.company_id
        query = _scoped(select(Deal).where(column == client_id), Deal, scope)
        return (
            (await self.session.scalars(query.order_by(Deal.id.desc()).limit(limit)))
            .unique()
            .all()
        )

    async def deals_with_contact(self, contact_id: int) -> Sequence[Deal]:
        """Every deal of a contact (to refresh what depends on the contact, such as search)."""
        query = select(Deal).where(Deal.contact_id == contact_id).order_by(Deal.id)
        return (await self.session.scalars(query)).unique().all()

    async def open_leads(self) -> Sequence[Lead]:
        query = select(Lead).where(Lead.closed_at.is_(None)).order_by(Lead.id)
        return (await self.session.scalars(query)).unique().all()

    # --- timeline ----------------------------------------------------------------------------
    async def touch_deal(self, deal_id: int, at: datetime, *, work: bool) -> None:
        """A timeline entry of the deal at `at`: it was touched, and worked on if `work`."""
        values: dict[str, Any] = {"touched_at": at}
        if work:
            values["last_activity_at"] = at
        await self.session.execute(update(Deal).where(Deal.id == deal_id).values(**values))

    async def add_timeline(self, entry: TimelineEntry) -> None:
        self.session.add(entry)
        await self.session.flush()

    async def timeline(
        self,
        entity: str,
        entity_id: int,
        offset: int,
        limit: int,
        seen_fields: Iterable[int] | None = None,
    ) -> tuple[Sequence[TimelineEntry], int]:
        """A page of entries, newest first, and how many there are (one query: a window count).
        With `seen_fields` (the custom field ids the reader may see), a change of any other
        custom field is left out of the page and of the count."""
        where: tuple[ColumnElement[bool], ...] = (
            TimelineEntry.entity == entity,
            TimelineEntry.entity_id == entity_id,
        )
        if seen_fields is not None:
            where += (~_unseen_change(sorted(set(seen_fields))),)
        rows = (
            await self.session.execute(
                select(TimelineEntry, func.count().over())
                .where(*where)
                .order_by(TimelineEntry.id.desc())
                .offset(offset)
                .limit(limit)
            )
        ).all()
        if rows:
            return [row[0] for row in rows], int(rows[0][1])
        if offset == 0:
            return [], 0
        total = await self.session.scalar(
            select(func.count()).select_from(TimelineEntry).where(*where)
        )
        return [], int(total or 0)
