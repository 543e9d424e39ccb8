"""Fields an admin configures (Bitrix24 "user fields") and the values reps give them.

- Every field of an element type is a `FieldInfo` in one `FieldBook`, system fields too (their
  values live on the element's own columns), so that hiding, requiring at a stage, sections and
  card views treat both alike. The book is a snapshot kept in memory (`crm.snapshots`): a card
  with thirty fields costs one query for its values, none for the definitions.
- Custom fields are typed (`crm.enums.FieldKind`); a typed value is read here, stored as JSON
  (`storage.models.FieldValue`) with a case-folded text for search, and rendered by the front
  end in the reader's language.
- Changing fields needs `Right.SETTINGS`; giving a value needs update rights on the element.
- A field whose visibility is restricted (to users, or departments with their sub-departments)
  is, for everyone else, absent: cards, search, exports, digests, history. Whoever holds
  `Right.SETTINGS` sees every field, so that they can configure them.
- A field required at a stage (or at all of them) must be filled before an element moves into
  that stage (`StageService.move` asks `missing`); creation never asks.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from crm.catalog import Catalog
from crm.codes import ElementRef, parse_code
from crm.elements import ElementService, ref_of
from crm.enums import EntityType, FieldKind, Operation, Right, TimelineKind
from crm.errors import AccessDenied, CannotDelete, InvalidValue, NotFound, UnknownName
from crm.field_book import (
    CODE_PREFIX,
    ELEMENT_TYPES,
    MAX_OPTIONS,
    FieldBook,
    FieldInfo,
    Reading,
    Shown,
    fold,
    read_value,
    search_text,
    sees,
)
from crm.permissions import Actor
from crm.stages import clean_name, require_unique
from storage.models import Contact, CustomField, Deal, FieldRequirement, Lead
from storage.repositories import Repos
from storage.repositories.elements import Element

if TYPE_CHECKING:
    from crm.context import Runtime


def _system_filled(element: Element, code: str, communications: Mapping[str, int]) -> bool:
    """Whether a system field has a value (phones and e-mails are counted by the caller)."""
    if code in ("phone", "email"):
        return communications.get(code, 0) > 0
    if code == "name":
        value: object = element.name if isinstance(element, Contact) else None
        if isinstance(element, Lead):
            value = element.contact_name
        return bool(value)
    if code == "amount":
        return isinstance(element, Deal | Lead) and element.amount_minor is not None
    if code in ("contact", "company"):
        return getattr(element, f"{code}_id", None) is not None
    return bool(getattr(element, code, None))


class FieldService:
    def __init__(self, repos: Repos, runtime: Runtime, elements: ElementService) -> None:
        self.repos = repos
        self.runtime = runtime
        self.elements = elements

    async def book(self) -> FieldBook:
        return await self.runtime.fields.get(self.repos)

    def _changed(self) -> None:
        self.runtime.fields.invalidate()

    # --- who sees what ------------------------------------------------------------------------
    def sees(self, actor: Actor, info: FieldInfo) -> bool:
        return sees(self.runtime.policy, actor, info)

    async def catalog(self) -> Catalog:
        """Pipelines and stages, to name the stages a field is required at."""
        return await self.runtime.catalog.get(self.repos)

    async def fields(self, actor: Actor, entity: EntityType) -> tuple[FieldInfo, ...]:
        """The fields of an element type the actor may see (hidden ones included); a type the
        actor may not read is refused like any element of it."""
        if entity not in ELEMENT_TYPES:
            raise InvalidValue("entity", entity.value)
        if entity not in self.runtime.policy.readable(actor):
            raise AccessDenied(entity=entity, operation=Operation.READ)
        return tuple(f for f in (await self.book()).of(entity) if self.sees(actor, f))

    async def visible_ids(self, actor: Actor, entity: EntityType) -> frozenset[int]:
        return frozenset(f.id for f in await self.fields(actor, entity))

    async def field(self, actor: Actor, field_id: int) -> FieldInfo:
        """One field; a restricted one the actor may not see is not found (not "forbidden")."""
        info = (await self.book()).get(field_id)
        if info is None or not self.sees(actor, info):
            raise NotFound("field", field_id)
        return info

    async def editable(self, actor: Actor, ref: ElementRef) -> list[FieldInfo]:
        """The custom fields the actor may give a value on this element (update rights)."""
        await self.elements.load(actor, ref, Operation.UPDATE)
        return [
            f for f in await self.fields(actor, ref.entity) if not f.is_system and not f.hidden
        ]

    async def named(
        self,
        actor: Actor,
        entity: EntityType,
        text: str,
        label: Callable[[FieldInfo], str],
    ) -> tuple[FieldInfo, str]:
        """The field whose name `text` starts with (the longest such name, case-insensitively),
        and the rest of `text`: `Termin dostawy 15.01` → (Termin dostawy, "15.01")."""
        words = text.split()
        folded = [w.casefold() for w in words]
        best: tuple[int, FieldInfo] | None = None
        for info in await self.fields(actor, entity):
            name = label(info).casefold().split()
            if name and folded[: len(name)] == name and (best is None or len(name) > best[0]):
                best = (len(name), info)
        if best is None:
            raise UnknownName("field", text[:64])
        return best[1], " ".join(words[best[0] :])

    # --- configuration ------------------------------------------------------------------------
    async def add(
        self,
        actor: Actor,
        entity: EntityType,
        kind: FieldKind,
        name: str,
        options: Sequence[str] = (),
    ) -> FieldInfo:
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        if entity not in ELEMENT_TYPES:
            raise InvalidValue("entity", entity.value)
        name = clean_name(name)
        book = await self.book()
        require_unique("field", name, [f for f in book.of(entity) if not f.is_system], _own_name)
        choices = _options(kind, options)
        row = CustomField(
            entity=entity.value,
            code=f"{CODE_PREFIX}NEW_{uuid.uuid4().hex[:12]}",
            name=name,
            kind=kind.value,
            is_system=False,
            hidden=False,
            sort=max((f.sort for f in book.of(entity)), default=0) + 10,
            options=list(choices),
            created_at=self.runtime.clock.now(),
        )
        await self.repos.fields.add(row)
        row.code = f"{CODE_PREFIX}{row.id}"  # Bitrix24 codes its user fields UF_CRM_…
        await self.repos.commit()
        self._changed()
        return await self.field(actor, row.id)

    async def _editable(self, actor: Actor, field_id: int) -> CustomField:
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        row = await self.repos.fields.field(field_id)
        if row is None:
            raise NotFound("field", field_id)
        return row

    async def rename(self, actor: Actor, field_id: int, name: str) -> FieldInfo:
        row = await self._editable(actor, field_id)
        if row.is_system:
            raise CannotDelete("system")  # a system field keeps its name (it is localized)
        name = clean_name(name)
        siblings = [f for f in (await self.book()).of(EntityType(row.entity)) if not f.is_system]
        require_unique("field", name, siblings, _own_name, own_id=row.id)
        row.name = name
        await self.repos.commit()
        self._changed()
        return await self.field(actor, field_id)

    async def values_to_delete(self, actor: Actor, field_id: int) -> int:
        """How many elements lose a value when the field is deleted (asked before deleting)."""
        row = await self._editable(actor, field_id)
        if row.is_system:
            raise CannotDelete("system")
        return await self.repos.fields.value_count(field_id)

    async def delete(self, actor: Actor, field_id: int) -> int:
        """Delete a custom field and every value of it; returns how many values went."""
        count = await self.values_to_delete(actor, field_id)
        row = await self._editable(actor, field_id)
        await self.repos.fields.delete(row)  # values, requirements, access rows cascade
        await self.repos.commit()
        self._changed()
        return count

    async def set_hidden(self, actor: Actor, field_id: int, hidden: bool) -> FieldInfo:
        row = await self._editable(actor, field_id)
        row.hidden = hidden
        await self.repos.commit()
        self._changed()
        return await self.field(actor, field_id)

    async def require(
        self, actor: Actor, field_id: int, stage_ids: Iterable[int] | None
    ) -> FieldInfo:
        """Required at these stages (they must be the element type's), or at all (None); an
        empty set makes it optional again."""
        row = await self._editable(actor, field_id)
        entity = EntityType(row.entity)
        if entity not in (EntityType.DEAL, EntityType.LEAD):
            raise InvalidValue("stage", entity.value)
        catalog = await self.runtime.catalog.get(self.repos)
        known = (
            {s.id for stages in catalog.stages.values() for s in stages}
            if entity is EntityType.DEAL
            else {s.id for s in catalog.lead_statuses}
        )
        wanted: list[int | None] = [None] if stage_ids is None else [*sorted(set(stage_ids))]
        if any(s is not None and s not in known for s in wanted):
            raise InvalidValue("stage", str(wanted))
        await self.repos.fields.clear_requirements(field_id)
        for stage_id in wanted:
            await self.repos.fields.add(FieldRequirement(field_id=field_id, stage_id=stage_id))
        await self.repos.commit()
        self._changed()
        return await self.field(actor, field_id)

    # --- values -------------------------------------------------------------------------------
    async def set_value(
        self, actor: Actor, ref: ElementRef, field_id: int, text: str, reading: Reading
    ) -> Shown:
        """Give a custom field a value from typed text (InvalidValue: nothing saved); the old
        and new values go to the element's history."""
        element = await self.elements.load(actor, ref, Operation.UPDATE)
        info = await self.field(actor, field_id)
        if info.entity is not ref.entity or info.is_system:
            raise NotFound("field", field_id)
        value = read_value(info, text, reading)
        if info.kind is FieldKind.LINK:
            target = parse_code(str(value))
            assert target is not None
            await self.elements.load(actor, target)  # a link to what one may read, that exists
        old = (await self.repos.fields.values_of(ref.entity.value, ref.id)).get(info.id)
        if old != value:
            await self.repos.fields.set_value(
                info.id, ref.entity.value, ref.id, value, search_text(info, value)
            )
            await self.elements.record(
                actor,
                ref,
                TimelineKind.CHANGED,
                field="custom",
                field_id=info.id,
                name=info.name,
                type=info.kind.value,
                old=old,
                new=value,
            )
            element.updated_at = self.runtime.clock.now()
            await self.repos.commit()
        label = (
            await self.elements.link_label(actor, str(value))
            if info.kind is FieldKind.LINK
            else None
        )
        return Shown(info, value, label)

    async def missing(self, actor: Actor, element: Element, stage_id: int) -> list[FieldInfo]:
        """The fields required at `stage_id` that `element` has no value for (the ones the
        actor may not see are not asked of them)."""
        ref = ref_of(element)
        required = [
            f
            for f in (await self.book()).of(ref.entity)
            if f.required_for(stage_id) and self.sees(actor, f)
        ]
        if not required:
            return []
        values = await self.repos.fields.values_of(ref.entity.value, ref.id)
        communications: dict[str, int] = {}
        if any(f.is_system and f.code in ("phone", "email") for f in required):
            phones, emails = await self.elements.communications(ref)
            communications = {"phone": len(phones), "email": len(emails)}
        return [
            f
            for f in required
            if not (
                _system_filled(element, f.code, communications)
                if f.is_system
                else values.get(f.id) not in (None, "")
            )
        ]


def _own_name(info: FieldInfo) -> str:
    return info.name or info.code


def _options(kind: FieldKind, options: Sequence[str]) -> tuple[str, ...]:
    """A list's choices (at least one, unique case-insensitively); a link's element types."""
    if kind is FieldKind.LIST:
        seen: dict[str, str] = {}
        for option in options:
            option = " ".join(option.split())[:120]
            if option and fold(option) not in seen:
                seen[fold(option)] = option
        if not seen or len(seen) > MAX_OPTIONS:
            raise InvalidValue("options", ", ".join(options)[:64])
        return tuple(seen.values())
    if kind is FieldKind.LINK:
        targets = tuple(dict.fromkeys(o for o in options if o in set(ELEMENT_TYPES)))
        return targets
    return ()


__all__ = ["FieldService"]
