"""SQL of merging duplicates: which rows point at an element, re-pointing them, snapshots.

`POINTERS` is the one list of every column that refers to a lead, contact, company or deal.
A new table that refers to elements adds its pointer here, and merging (and its undo) moves
its rows too; `tests/test_merge.py` checks that no element-referring column is left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.base import UtcDateTime
from storage.models import (
    Activity,
    ActivityBinding,
    Communication,
    Contact,
    Deal,
    DealProduct,
    ElementLink,
    FieldValue,
    InboundSubmission,
    Lead,
    MergeRecord,
    TimelineEntry,
    TriageRequest,
)
from storage.repositories.elements import MODELS, Element

ANY = frozenset(MODELS)  # a polymorphic pointer (an entity column beside the id)


@dataclass(frozen=True, slots=True)
class Pointer:
    """Rows of one table that refer to an element through `column` (and `entity`, when the
    table refers to elements of several types); `key` names a row (to move it back)."""

    name: str
    key: InstrumentedAttribute[int]
    column: InstrumentedAttribute[Any]  # int, or int | None
    entities: frozenset[str]
    entity: InstrumentedAttribute[Any] | None = None  # str, or str | None

    def points_at(self, entity: str, element_id: int) -> ColumnElement[bool]:
        clause: ColumnElement[bool] = self.column == element_id
        if self.entity is not None:
            clause = and_(clause, self.entity == entity)
        return clause


def _one(entity: str) -> frozenset[str]:
    return frozenset({entity})


POINTERS: tuple[Pointer, ...] = (
    Pointer("timeline", TimelineEntry.id, TimelineEntry.entity_id, ANY, TimelineEntry.entity),
    Pointer(
        "bindings",
        ActivityBinding.activity_id,
        ActivityBinding.entity_id,
        ANY,
        ActivityBinding.entity,
    ),
    Pointer("activity_client", Activity.id, Activity.client_id, ANY, Activity.client_entity),
    Pointer(
        "triage", TriageRequest.id, TriageRequest.element_id, ANY, TriageRequest.element_entity
    ),
    Pointer(
        "inbound",
        InboundSubmission.id,
        InboundSubmission.element_id,
        ANY,
        InboundSubmission.element_entity,
    ),
    Pointer("link_source", ElementLink.id, ElementLink.source_id, ANY, ElementLink.source_entity),
    Pointer("link_target", ElementLink.id, ElementLink.target_id, ANY, ElementLink.target_entity),
    Pointer("deal_contact", Deal.id, Deal.contact_id, _one("contact")),
    Pointer("lead_contact", Lead.id, Lead.contact_id, _one("contact")),
    Pointer("deal_company", Deal.id, Deal.company_id, _one("company")),
    Pointer("contact_company", Contact.id, Contact.company_id, _one("company")),
    Pointer("lead_company", Lead.id, Lead.company_id, _one("company")),
    Pointer("lead_deal", Lead.id, Lead.deal_id, _one("deal")),
    Pointer("deal_rows", DealProduct.id, DealProduct.deal_id, _one("deal")),
    Pointer("deal_lead", Deal.id, Deal.lead_id, _one("lead")),
    # Custom field values: the survivor's own value of a field wins (see `move`).
    Pointer("field_values", FieldValue.id, FieldValue.entity_id, ANY, FieldValue.entity),
)


def row_data(obj: Any) -> dict[str, Any]:
    """A row's columns as JSON (datetimes in ISO form): what a snapshot keeps."""
    data: dict[str, Any] = {}
    for attr in inspect(type(obj)).column_attrs:
        value = getattr(obj, attr.key)
        data[attr.key] = value.isoformat() if isinstance(value, datetime) else value
    return data


def from_row_data(model: type[Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """Column values back from `row_data` (unknown keys — a column dropped since — ignored)."""
    values: dict[str, Any] = {}
    for attr in inspect(model).column_attrs:
        if attr.key not in data:
            continue
        value = data[attr.key]
        column = attr.columns[0]
        if value is not None and isinstance(column.type, UtcDateTime):
            value = datetime.fromisoformat(value)
        values[attr.key] = value
    return values


class MergeRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, model: type[Element], ids: Sequence[int]) -> None:
        """Row locks on both elements (PostgreSQL): two merges of the same pair wait in line."""
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            await self.session.execute(
                select(model.id).where(model.id.in_(list(ids))).with_for_update()
            )

    async def move(self, entity: str, from_id: int, to_id: int) -> dict[str, Any]:
        """Re-point every row referring to element `from_id` at `to_id`. Returns the keys of
        the rows moved per pointer, and under `dropped_*` the rows deleted instead: an
        activity bound to both elements keeps one binding, a link between the two goes."""
        moved: dict[str, Any] = {}
        both = set(
            (
                await self.session.scalars(
                    select(ActivityBinding.activity_id).where(
                        ActivityBinding.entity == entity, ActivityBinding.entity_id == to_id
                    )
                )
            ).all()
        )
        dropped = (
            await self.session.scalars(
                select(ActivityBinding).where(
                    ActivityBinding.entity == entity,
                    ActivityBinding.entity_id == from_id,
                    ActivityBinding.activity_id.in_(sorted(both)),
                )
            )
        ).all()
        moved["dropped_bindings"] = [row_data(b) for b in dropped]
        for binding in dropped:
            await self.session.delete(binding)
        # A custom field both elements have a value of keeps the survivor's (one value per
        # field and element); the merged one's is kept in the record, for undo.
        kept = select(FieldValue.field_id).where(
            FieldValue.entity == entity, FieldValue.entity_id == to_id
        )
        shadowed = (
            await self.session.scalars(
                select(FieldValue).where(
                    FieldValue.entity == entity,
                    FieldValue.entity_id == from_id,
                    FieldValue.field_id.in_(kept),
                )
            )
        ).all()
        moved["dropped_values"] = [row_data(v) for v in shadowed]
        for value in shadowed:
            await self.session.delete(value)
        await self.session.flush()
        for pointer in POINTERS:
            if entity not in pointer.entities:
                continue
            keys = list(
                (
                    await self.session.scalars(
                        select(pointer.key).where(pointer.points_at(entity, from_id))
                    )
                ).all()
            )
            if keys:
                await self.session.execute(
                    update(pointer.key.class_)
                    .where(pointer.points_at(entity, from_id), pointer.key.in_(keys))
                    .values({pointer.column.key: to_id})
                    .execution_options(synchronize_session=False)
                )
            moved[pointer.name] = keys
        selfies = (
            await self.session.scalars(
                select(ElementLink).where(
                    ElementLink.source_entity == entity,
                    ElementLink.target_entity == entity,
                    ElementLink.source_id == to_id,
                    ElementLink.target_id == to_id,
                )
            )
        ).all()
        moved["dropped_links"] = [row_data(link) for link in selfies]
        for link in selfies:
            await self.session.delete(link)
        await self.session.flush()
        self._expire_moved()
        return moved

    async def move_back(
        self, entity: str, moved: Mapping[str, Sequence[Any]], from_id: int, to_id: int
    ) -> int:
        """Undo `move`: rows moved from `to_id` (the restored element) to `from_id` (the
        survivor) that still point at the survivor go back. Returns how many moved rows were
        not there any more (deleted, or re-pointed by someone since)."""
        missing = 0
        for data in moved.get("dropped_links", ()):  # with their own ids: moved back below
            self.session.add(ElementLink(**from_row_data(ElementLink, data)))
        await self.session.flush()
        for pointer in POINTERS:
            keys = list(moved.get(pointer.name, ()))
            if entity not in pointer.entities or not keys:
                continue
            result = await self.session.execute(
                update(pointer.key.class_)
                .where(pointer.points_at(entity, from_id), pointer.key.in_(keys))
                .values({pointer.column.key: to_id})
                .execution_options(synchronize_session=False)
            )
            missing += len(keys) - int(getattr(result, "rowcount", 0) or 0)
        for data in moved.get("dropped_values", ()):
            field_exists = await self.session.scalar(
                select(FieldValue.id).where(FieldValue.field_id == data["field_id"]).limit(1)
            )
            values = {**from_row_data(FieldValue, data), "entity_id": to_id}
            values.pop("id", None)
            self.session.add(FieldValue(**values))
            if field_exists is None:
                missing += 1
        for data in moved.get("dropped_bindings", ()):
            exists = await self.session.scalar(
                select(Activity.id).where(Activity.id == data["activity_id"])
            )
            if exists is None:
                missing += 1
                continue
            values = {**from_row_data(ActivityBinding, data), "entity_id": to_id}
            self.session.add(ActivityBinding(**values))
        await self.session.flush()
        self._expire_moved()
        return missing

    def _expire_moved(self) -> None:
        """Bulk updates bypass the identity map: what was loaded of the tables they changed is
        read again on next use (users, roles and the rest stay loaded)."""
        classes = {pointer.key.class_ for pointer in POINTERS}
        for obj in list(self.session.identity_map.values()):
            if type(obj) in classes:
                self.session.expire(obj)

    async def add(self, record: MergeRecord) -> MergeRecord:
        self.session.add(record)
        await self.session.flush()
        return record

    async def get(self, merge_id: int) -> MergeRecord | None:
        return await self.session.get(MergeRecord, merge_id, with_for_update=self._pg)

    @property
    def _pg(self) -> bool:
        return self.session.bind is not None and self.session.bind.dialect.name == "postgresql"

    async def latest_of(self, actor_id: int) -> MergeRecord | None:
        """The actor's newest merge not undone yet."""
        return await self.session.scalar(
            select(MergeRecord)
            .where(MergeRecord.actor_id == actor_id, MergeRecord.undone_at.is_(None))
            .order_by(MergeRecord.id.desc())
            .limit(1)
        )

    async def restore(self, model: type[Element], data: Mapping[str, Any]) -> Element:
        """The merged element back from its snapshot: under its own id while that is free."""
        values = from_row_data(model, data)
        taken = await self.session.get(model, values.get("id", 0))
        if taken is not None:
            values.pop("id", None)
        element = model(**values)
        self.session.add(element)
        await self.session.flush()
        return element

    async def delete(self, element: Element, element_id: int) -> None:
        """Delete the merged element (nothing refers to it any more: `move` saw to that)."""
        model = type(element)
        self.session.expunge(element)
        await self.session.execute(delete(model).where(model.id == element_id))

    async def delete_communications(self, entity: str, element_id: int) -> None:
        await self.session.execute(
            delete(Communication).where(
                Communication.entity == entity, Communication.entity_id == element_id
            )
        )

    async def set_communications(
        self, entity: str, element_id: int, kind: str, values: Sequence[str]
    ) -> None:
        """The element's phones (or e-mails) become exactly `values`, the ones it keeps
        keeping their rows (and order)."""
        rows = (
            await self.session.scalars(
                select(Communication)
                .where(
                    Communication.entity == entity,
                    Communication.entity_id == element_id,
                    Communication.kind == kind,
                )
                .order_by(Communication.id)
            )
        ).all()
        wanted = list(dict.fromkeys(values))
        have = set()
        for row in rows:
            if row.value in wanted and row.value not in have:
                have.add(row.value)
            else:
                await self.session.delete(row)
        self.session.add_all(
            Communication(entity=entity, entity_id=element_id, kind=kind, value=value)
            for value in wanted
            if value not in have
        )
        await self.session.flush()
