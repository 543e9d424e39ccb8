"""Fields, their values, requirements, visibility and card views (storage.models.fields)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    CardView,
    CustomField,
    FieldAccess,
    FieldRequirement,
    FieldSection,
    FieldValue,
)

CHUNK = 1000  # element ids per IN list (SQLite and PostgreSQL both take it comfortably)


class FieldRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- definitions (read whole into crm.fields.FieldBook) -----------------------------------
    async def fields(self) -> Sequence[CustomField]:
        query = select(CustomField).order_by(CustomField.entity, CustomField.sort, CustomField.id)
        return (await self.session.scalars(query)).all()

    async def sections(self) -> Sequence[FieldSection]:
        query = select(FieldSection).order_by(FieldSection.entity, FieldSection.sort)
        return (await self.session.scalars(query.order_by(FieldSection.id))).all()

    async def requirements(self) -> Sequence[FieldRequirement]:
        return (await self.session.scalars(select(FieldRequirement))).all()

    async def access(self) -> Sequence[FieldAccess]:
        return (await self.session.scalars(select(FieldAccess))).all()

    async def views(self) -> Sequence[CardView]:
        return (await self.session.scalars(select(CardView))).all()

    async def section(self, section_id: int) -> FieldSection | None:
        return await self.session.get(FieldSection, section_id)

    async def in_section(self, section_id: int) -> Sequence[CustomField]:
        query = select(CustomField).where(CustomField.section_id == section_id)
        return (await self.session.scalars(query)).all()

    async def view(
        self, entity: str, user_id: int | None, department_id: int | None
    ) -> CardView | None:
        """The stored view of one scope (NULLs compared as such: the unique constraint does
        not tell two common views apart, so this query is the one way to find one)."""
        query = select(CardView).where(
            CardView.entity == entity,
            CardView.user_id.is_(None) if user_id is None else CardView.user_id == user_id,
            CardView.department_id.is_(None)
            if department_id is None
            else CardView.department_id == department_id,
        )
        return (await self.session.scalars(query.order_by(CardView.id))).first()

    async def field(self, field_id: int) -> CustomField | None:
        return await self.session.get(CustomField, field_id)

    async def add(
        self, row: CustomField | FieldSection | FieldRequirement | FieldAccess | CardView
    ) -> None:
        self.session.add(row)
        await self.session.flush()

    async def delete(self, row: CustomField | FieldSection | CardView) -> None:
        await self.session.delete(row)
        await self.session.flush()

    async def value_count(self, field_id: int) -> int:
        query = select(func.count()).select_from(FieldValue).where(FieldValue.field_id == field_id)
        return await self.session.scalar(query) or 0

    async def clear_requirements(self, field_id: int) -> None:
        await self.session.execute(
            delete(FieldRequirement).where(FieldRequirement.field_id == field_id)
        )

    async def clear_access(self, field_id: int) -> None:
        await self.session.execute(delete(FieldAccess).where(FieldAccess.field_id == field_id))

    # --- values -----------------------------------------------------------------------------
    async def values_of(self, entity: str, entity_id: int) -> dict[int, Any]:
        """Field id → stored value, for one element."""
        query = select(FieldValue.field_id, FieldValue.value).where(
            FieldValue.entity == entity, FieldValue.entity_id == entity_id
        )
        return {field_id: value for field_id, value in await self.session.execute(query)}

    async def values_for(
        self, entity: str, entity_ids: Iterable[int], field_ids: Iterable[int]
    ) -> dict[int, dict[int, Any]]:
        """Element id → {field id → stored value} for many elements at once (one query per
        `CHUNK` elements); elements without any of these values are left out."""
        ids, fields = sorted(set(entity_ids)), sorted(set(field_ids))
        found: dict[int, dict[int, Any]] = {}
        if not fields:
            return found
        for start in range(0, len(ids), CHUNK):
            query = select(FieldValue.entity_id, FieldValue.field_id, FieldValue.value).where(
                FieldValue.entity == entity,
                FieldValue.entity_id.in_(ids[start : start + CHUNK]),
                FieldValue.field_id.in_(fields),
            )
            for entity_id, field_id, value in await self.session.execute(query):
                found.setdefault(entity_id, {})[field_id] = value
        return found

    async def set_value(
        self, field_id: int, entity: str, entity_id: int, value: Any, search_text: str
    ) -> None:
        row = await self.session.scalar(
            select(FieldValue).where(
                FieldValue.field_id == field_id, FieldValue.entity_id == entity_id
            )
        )
        if row is None:
            self.session.add(
                FieldValue(
                    field_id=field_id,
                    entity=entity,
                    entity_id=entity_id,
                    value=value,
                    search_text=search_text,
                )
            )
        else:
            row.value, row.search_text = value, search_text
        await self.session.flush()

    async def add_values(
        self, entity: str, entity_id: int, values: Sequence[tuple[int, Any, str]]
    ) -> None:
        """Values of a new element, which has none yet: (field id, value, search text)."""
        self.session.add_all(
            FieldValue(
                field_id=field_id,
                entity=entity,
                entity_id=entity_id,
                value=value,
                search_text=text,
            )
            for field_id, value, text in values
        )
        await self.session.flush()

    async def clear_value(self, field_id: int, entity_id: int) -> None:
        await self.session.execute(
            delete(FieldValue).where(
                FieldValue.field_id == field_id, FieldValue.entity_id == entity_id
            )
        )

    async def matching(
        self, entity: str, field_ids: Iterable[int], folded: str, limit: int
    ) -> Sequence[int]:
        """Ids of elements with a value of one of `field_ids` containing `folded`."""
        ids = list(field_ids)
        if not ids:
            return ()
        query = (
            select(FieldValue.entity_id)
            .where(
                FieldValue.entity == entity,
                FieldValue.field_id.in_(ids),
                FieldValue.search_text.contains(folded, autoescape=True),
            )
            .distinct()
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()
