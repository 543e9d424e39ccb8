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
  `Right.SETTINGS` sees every field, so that they can configure them. Only custom fields can
  be restricted (as in Bitrix24); `restrict` with nobody lifts it. People and departments are
  named as /departments and /user_role name them (case-insensitively, spaces allowed); a name
  that is both, or several people's, is refused as ambiguous: `dział`/`отдел`/`department`
  before a department's name settles it.
- A field required at a stage (or at all of them) must be filled before an element moves into
  that stage (`StageService.move` asks `missing`); creation never asks.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crm.catalog import Catalog, StageInfo
from crm.codes import ElementRef, entity_named, parse_code
from crm.elements import ElementService, label_of, ref_of
from crm.enums import EntityType, FieldKind, Operation, Right, TimelineKind
from crm.errors import (
    AccessDenied,
    AmbiguousName,
    CannotDelete,
    InvalidValue,
    NotFound,
    UnknownName,
)
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
from crm.merge import FIELDS, MergeContext, MergeField, ValueKind
from crm.merge import FieldValue as MergeValue
from crm.permissions import Actor
from crm.stages import clean_name, require_unique
from storage.models import Contact, CustomField, Deal, FieldAccess, FieldRequirement, Lead
from storage.repositories import Repos
from storage.repositories.elements import MODELS, Element

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


# `/field_visible FIELD to NAMES`: the word between, and the word that lifts the restriction.
TO_WORDS = frozenset({"to", "for", "dla", "для"})
ALL_WORDS = frozenset({"all", "everyone", "everybody", "wszyscy", "wszystkich", "все", "всем"})
# Put before a department's name when a person has the same name.
DEPARTMENT_WORDS = frozenset({"department", "dept", "dział", "dzial", "отдел"})
MAX_AUDIENCE = 50
# `/field_require FIELD at STAGES`: the word between, and the words for every stage / for none.
AT_WORDS = frozenset({"at", "on", "in", "na", "w", "we", "в", "во", "на"})
EVERY_STAGE_WORDS = ALL_WORDS | {"every", "wszystkie", "wszystkich", "każdym", "всех", "любой"}
NO_STAGE_WORDS = frozenset(
    {"none", "nowhere", "żadne", "żadnym", "zadne", "nigdzie", "нет", "нигде", "никаких"}
)
# The system fields that may be required (Bitrix24: "some system fields"): the ones a person
# types (crm.editing), so that the stage dialog can ask for them.
REQUIRABLE_SYSTEM: dict[EntityType, frozenset[str]] = {
    EntityType.DEAL: frozenset({"title", "amount"}),
    EntityType.LEAD: frozenset({"title", "name", "phone", "email", "amount"}),
}


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a restricted field is shown to, by name (the settings right sees it anyway)."""

    users: tuple[tuple[int, str], ...] = ()
    departments: tuple[tuple[int, str], ...] = ()

    @property
    def everybody(self) -> bool:
        return not self.users and not self.departments


@dataclass(frozen=True, slots=True)
class ExportValues:
    """What an export may print of custom fields: the columns (fields the exporter may see,
    in the card's order) and element id → {field id → stored value} (`read_value`'s forms:
    a link is an element code such as "C3", money {"amount", "currency"}, a date ISO)."""

    fields: tuple[FieldInfo, ...]
    values: Mapping[int, Mapping[int, Any]]

    def value(self, element_id: int, field_id: int) -> Any:
        return self.values.get(element_id, {}).get(field_id)


def visibility_parts(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """The readings of `/field_visible`'s line, most likely first: (the field's words, the
    names; no names = everybody). `Rabat dla partnera dla Sprzedaż` has two: the field
    decides which one holds."""
    words = text.split()
    readings: list[tuple[str, tuple[str, ...]]] = []
    for at in range(len(words) - 1, 0, -1):
        if fold(words[at]) not in TO_WORDS:
            continue
        head, tail = " ".join(words[:at]), " ".join(words[at + 1 :])
        if fold(tail) in ALL_WORDS:
            readings.append((head, ()))
        elif tail:
            names = tuple(n.strip() for n in tail.replace(";", ",").split(",") if n.strip())
            readings.append((head, names))
    if len(words) > 1 and fold(words[-1]) in ALL_WORDS:
        readings.append((" ".join(words[:-1]), ()))
    return readings


def requirement_parts(text: str) -> list[tuple[str, tuple[str, ...] | None]]:
    """The readings of `/field_require`'s line, most likely first: (the field's words, the
    stage names; None = every stage, () = none). `Termin w dniach w Negocjacje` has two: the
    field decides which one holds."""
    words = text.split()
    readings: list[tuple[str, tuple[str, ...] | None]] = []
    for at in range(len(words) - 1, 0, -1):
        if fold(words[at]) not in AT_WORDS:
            continue
        head, tail = " ".join(words[:at]), " ".join(words[at + 1 :])
        if fold(tail) in EVERY_STAGE_WORDS:
            readings.append((head, None))
        elif fold(tail) in NO_STAGE_WORDS:
            readings.append((head, ()))
        elif tail:
            names = tuple(n.strip() for n in tail.replace(";", ",").split(",") if n.strip())
            readings.append((head, names))
    if len(words) > 1 and fold(words[-1]) in EVERY_STAGE_WORDS | NO_STAGE_WORDS:
        last = fold(words[-1])
        readings.append((" ".join(words[:-1]), None if last in EVERY_STAGE_WORDS else ()))
    return readings


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

    async def _deletable(self, actor: Actor, field_id: int) -> tuple[CustomField, int]:
        row = await self._editable(actor, field_id)
        if row.is_system:
            raise CannotDelete("system")
        return row, await self.repos.fields.value_count(field_id)

    async def values_to_delete(self, actor: Actor, field_id: int) -> int:
        """How many elements lose a value when the field is deleted (asked before deleting)."""
        return (await self._deletable(actor, field_id))[1]

    async def delete(self, actor: Actor, field_id: int) -> int:
        """Delete a custom field and every value of it; returns how many values went."""
        row, count = await self._deletable(actor, field_id)
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
        chosen = None if stage_ids is None else sorted(set(stage_ids))
        if chosen != [] and row.is_system and row.code not in REQUIRABLE_SYSTEM[entity]:
            raise InvalidValue("require_system", row.code)  # the dialog could not ask for it
        catalog = await self.runtime.catalog.get(self.repos)
        known = (
            {s.id for stages in catalog.stages.values() for s in stages}
            if entity is EntityType.DEAL
            else {s.id for s in catalog.lead_statuses}
        )
        wanted: list[int | None] = [None] if chosen is None else [*chosen]
        if any(s is not None and s not in known for s in wanted):
            raise InvalidValue("stage", str(wanted))
        await self.repos.fields.clear_requirements(field_id)
        for stage_id in wanted:
            await self.repos.fields.add(FieldRequirement(field_id=field_id, stage_id=stage_id))
        await self.repos.commit()
        self._changed()
        return await self.field(actor, field_id)

    async def require_named(
        self,
        actor: Actor,
        text: str,
        label: Callable[[FieldInfo], str],
        stage_label: Callable[[StageInfo], str],
    ) -> tuple[FieldInfo, tuple[StageInfo, ...] | None]:
        """`/field_require` in words: `Termin dostawy na Negocjacje, Faktura`, `lead Budżet
        w wszystkie`, `Marża na żadne`. Stages are named as the admin sees them (`stage_label`)
        or by their code, case-insensitively; a deal stage's name shared by several pipelines
        names all of them. Returns the field and its stages (None: every stage, (): none);
        UnknownName("field") / UnknownName("stage") when nothing matches (nothing changes)."""
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        readings = requirement_parts(text)
        catalog = await self.catalog()
        refused: UnknownName | None = None
        for head, names in readings:
            info = await self._field_called(actor, head, label)
            if info is None:
                continue
            try:
                stages = _stages_called(info.entity, names, catalog, stage_label)
            except UnknownName as exc:
                refused = refused or exc
                continue
            info = await self.require(
                actor, info.id, None if stages is None else [s.id for s in stages]
            )
            return info, stages
        if refused is not None:
            raise refused
        if not readings or await self._field_called(actor, text, label) is not None:
            raise InvalidValue("field_require", text[:64])  # a field, but at which stages?
        raise UnknownName("field", min((h for h, _names in readings), key=len)[:64])

    # --- visibility ---------------------------------------------------------------------------
    async def restrict(
        self,
        actor: Actor,
        field_id: int,
        user_ids: Iterable[int],
        department_ids: Iterable[int],
    ) -> FieldInfo:
        """Show a custom field only to these users and departments (with their
        sub-departments) and to whoever holds the settings right; nobody given = everybody."""
        row = await self._editable(actor, field_id)
        if row.is_system:
            raise InvalidValue("restrict_system", row.code)
        users, departments = sorted(set(user_ids)), sorted(set(department_ids))
        if len(users) + len(departments) > MAX_AUDIENCE:
            raise InvalidValue("audience", str(len(users) + len(departments)))
        active = {u.id for u in await self.repos.users.list_active()}
        known = {d.id for d in (await self.runtime.roles.get(self.repos)).departments}
        for user_id in users:
            if user_id not in active:
                raise NotFound("user", user_id)
        for department_id in departments:
            if department_id not in known:
                raise NotFound("department", department_id)
        await self.repos.fields.clear_access(field_id)
        for user_id in users:
            await self.repos.fields.add(FieldAccess(field_id=field_id, user_id=user_id))
        for department_id in departments:
            await self.repos.fields.add(
                FieldAccess(field_id=field_id, department_id=department_id)
            )
        await self.repos.commit()
        self._changed()
        return await self.field(actor, field_id)

    async def restrict_named(
        self, actor: Actor, text: str, label: Callable[[FieldInfo], str]
    ) -> tuple[FieldInfo, Audience]:
        """`/field_visible` in words: `Marża dla Sprzedaż, Anna Nowak`, `deal Marża to all`.
        UnknownName("field") when no reading names a field; the names are then resolved (an
        unknown or ambiguous one refuses the whole line, nothing changes)."""
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        readings = visibility_parts(text)
        for head, names in readings:
            info = await self._field_called(actor, head, label)
            if info is None:
                continue
            users, departments = await self.resolve(actor, names)
            info = await self.restrict(actor, info.id, users, departments)
            return info, await self.audience(actor, info)
        if not readings or await self._field_called(actor, text, label) is not None:
            raise InvalidValue("field_visible", text[:64])  # a field, but to whom?
        raise UnknownName("field", readings[0][0][:64])

    async def _field_called(
        self, actor: Actor, text: str, label: Callable[[FieldInfo], str]
    ) -> FieldInfo | None:
        """A field by its whole name or code (`UF_CRM_7`), optionally after its element type
        (`deal Marża`); AmbiguousName when custom fields of several types are so called."""
        words = text.split()
        entities: tuple[EntityType, ...] = ELEMENT_TYPES
        if len(words) > 1 and (entity := entity_named(words[0])) in ELEMENT_TYPES:
            named = await self._field_called_in(actor, (entity,), " ".join(words[1:]), label)
            if named:
                return named[0]
        named = await self._field_called_in(actor, entities, text, label)
        custom = [f for f in named if not f.is_system]
        if len(custom) > 1:
            raise AmbiguousName("field", text[:64], [f.id for f in custom])
        found = custom or named
        return found[0] if found else None  # a system one is refused by `restrict`

    async def _field_called_in(
        self,
        actor: Actor,
        entities: Sequence[EntityType],
        text: str,
        label: Callable[[FieldInfo], str],
    ) -> list[FieldInfo]:
        wanted = fold(text)
        book = await self.book()
        return [
            f
            for entity in entities
            for f in book.of(entity)
            if self.sees(actor, f) and wanted in (fold(label(f)), fold(f.code))
        ]

    async def resolve(
        self, actor: Actor, names: Sequence[str]
    ) -> tuple[frozenset[int], frozenset[int]]:
        """(user ids, department ids) named; UnknownName("audience") / AmbiguousName("audience")
        for a name that is nobody's or several's."""
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        people = [(fold(u.name), u.id) for u in await self.repos.users.list_active()]
        depts = [
            (fold(d.name), d.id) for d in (await self.runtime.roles.get(self.repos)).departments
        ]
        users: set[int] = set()
        departments: set[int] = set()
        for name in names:
            wanted = fold(name)
            user_hits = [i for n, i in people if n == wanted]
            dept_hits = [i for n, i in depts if n == wanted]
            words = wanted.split()
            if (len(user_hits) + len(dept_hits) != 1) and len(words) > 1:
                if words[0] in DEPARTMENT_WORDS:  # `dział Serwis`: the department
                    qualified = [i for n, i in depts if n == " ".join(words[1:])]
                    if len(qualified) == 1:
                        user_hits, dept_hits = [], qualified
            if not user_hits and not dept_hits:
                raise UnknownName("audience", name[:64])
            if len(user_hits) + len(dept_hits) > 1:
                raise AmbiguousName("audience", name[:64], [*user_hits, *dept_hits])
            users.update(user_hits)
            departments.update(dept_hits)
        return frozenset(users), frozenset(departments)

    async def audience(self, actor: Actor, info: FieldInfo) -> Audience:
        """Who `info` is shown to, by name (for its menu); everybody when not restricted."""
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        names = await self.repos.users.names(set(info.users))
        roles = await self.runtime.roles.get(self.repos)
        departments = [(d, roles.department(d)) for d in sorted(info.departments)]
        return Audience(
            users=tuple(sorted(names.items(), key=lambda item: fold(item[1]))),
            departments=tuple(
                sorted(
                    ((d, dept.name) for d, dept in departments if dept is not None),
                    key=lambda item: fold(item[1]),
                )
            ),
        )

    # --- export -------------------------------------------------------------------------------
    async def readable_fields(
        self, actor: Actor, entity: EntityType, *, hidden: bool = False
    ) -> tuple[FieldInfo, ...]:
        """The custom fields of a type the actor may see, in the card's order: the columns an
        export of that type may have (fields hidden from cards only with `hidden`)."""
        return tuple(
            f
            for f in await self.fields(actor, entity)
            if not f.is_system and (hidden or not f.hidden)
        )

    async def values_for_export(
        self,
        actor: Actor,
        entity: EntityType,
        element_ids: Iterable[int],
        *,
        hidden: bool = False,
    ) -> ExportValues:
        """The custom field values of many elements (one query per thousand), only of the
        fields the actor may see: a restricted field is neither a column nor a value for
        anyone else. The caller has checked the export right and chosen `element_ids` within
        the actor's export scope; AccessDenied if the actor may not read the type at all."""
        fields = await self.readable_fields(actor, entity, hidden=hidden)
        values = await self.repos.fields.values_for(
            entity.value, element_ids, [f.id for f in fields]
        )
        return ExportValues(fields, values)

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


def _stages_called(
    entity: EntityType,
    names: tuple[str, ...] | None,
    catalog: Catalog,
    label: Callable[[StageInfo], str],
) -> tuple[StageInfo, ...] | None:
    if names is None:
        return None
    if entity is EntityType.DEAL:
        stages = [s for pipeline in catalog.pipelines for s in catalog.stages.get(pipeline.id, ())]
    elif entity is EntityType.LEAD:
        stages = list(catalog.lead_statuses)
    else:
        raise InvalidValue("stage", entity.value)
    found: dict[int, StageInfo] = {}
    for name in names:
        wanted = fold(name)
        hits = [s for s in stages if wanted in (fold(label(s)), fold(s.name or ""), fold(s.code))]
        if not hits:
            raise UnknownName("stage", name[:64])
        found.update((s.id, s) for s in hits)
    return tuple(s for s in stages if s.id in found)  # in the pipelines' order


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


__all__ = [
    "ALL_WORDS",
    "AT_WORDS",
    "REQUIRABLE_SYSTEM",
    "TO_WORDS",
    "Audience",
    "ExportValues",
    "FieldService",
    "requirement_parts",
    "visibility_parts",
]


# --- merging duplicates (crm/merge.py) -----------------------------------------------------------
async def _mergeable(ctx: MergeContext, entity: EntityType) -> list[MergeField]:
    """The custom fields of `entity` compared side by side: those the person merging may see
    and that are not hidden (the others keep the survivor's value, else take the merged one's
    — the pointer move's rule); an undo (no person) gets every custom field back."""
    book = await ctx.runtime.fields.get(ctx.repos)
    return [
        _merge_field(info)
        for info in book.of(entity)
        if not info.is_system
        and (ctx.actor is None or (not info.hidden and sees(ctx.runtime.policy, ctx.actor, info)))
    ]


def _merge_field(info: FieldInfo) -> MergeField:
    async def read(ctx: MergeContext, element: Any) -> MergeValue:
        value = (await ctx.repos.fields.values_of(info.entity.value, element.id)).get(info.id)
        if value is None or value == "":
            return MergeValue(None)
        label = ""
        target = parse_code(str(value)) if info.kind is FieldKind.LINK else None
        if target is not None:
            linked = await ctx.repos.elements.get(MODELS[target.entity.value], target.id)
            label = label_of(linked) if linked is not None else ""
        return MergeValue(value, text=label)

    async def write(ctx: MergeContext, element: Any, value: Any) -> None:
        if value is None or value == "":
            await ctx.repos.fields.clear_value(info.id, element.id)
        else:
            await ctx.repos.fields.set_value(
                info.id, info.entity.value, element.id, value, search_text(info, value)
            )

    return MergeField(
        f"field:{info.id}",
        ValueKind.CUSTOM,
        frozenset({info.entity}),
        read,
        write,
        name=_own_name(info),
        detail=info.kind,
    )


FIELDS.provide(_mergeable)
