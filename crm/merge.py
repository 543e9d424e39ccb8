"""Merging duplicates: two leads, contacts, companies or deals become one.

Bitrix24: leads, contacts and companies are merged from the duplicate control or by hand,
deals by hand only; merging needs the administrator, or rights to edit and delete the
elements. Here the rule is (`MergeService.authorize`):

* both elements must be readable — otherwise the refusal is the one for a missing element, so
  nobody learns that someone else's C7 exists;
* the actor may update both (the survivor changes, the merged one's values move);
* and may delete both, or holds `Right.MERGE` (the "merge duplicates" right of a role, which
  stands in for the delete rights). The administrator has every level and right, so passes.

The fields compared side by side come from one registry (`FIELDS`): a field reads a value of
either element and writes a value onto the survivor; phones and e-mails are *united* (both
kept, nothing to choose). `crm/fields.py` adds custom fields with `FIELDS.provide`: a
provider gives the fields of an element type for this unit of work (one per custom field),
and they are compared, chosen, merged and undone like the built-in ones.

A merge is one transaction: winning values applied, every row that referred to the merged
element re-pointed at the survivor (storage.repositories.merges.POINTERS), the merged element
deleted, a timeline entry on the survivor, and an audit record (`merges`) with the full
snapshot of the merged element and of what moved. Within `CrmConfig.merge_undo_window` the
merge can be undone: the element comes back (under its own id while that is free), what moved
goes back, and the survivor's fields return to their values before the merge — except those
changed since, which stay as they are now (the undo says how many). Who merged may undo it,
and so may anyone with the merge right; either must still be allowed to update the survivor
and to add an element owned as the restored one was.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from crm.catalog import StageInfo
from crm.codes import ElementRef
from crm.elements import ElementInput, label_of, ref_of, refold
from crm.enums import EntityType, Operation, Right, TimelineKind
from crm.errors import AccessDenied, CannotMerge, CannotUndo, InvalidValue, NotFound
from crm.permissions import Actor, Owner
from crm.products import row_total
from storage.models import Deal, DictionaryItem, MergeRecord
from storage.repositories import Repos
from storage.repositories.elements import MODELS, Element
from storage.repositories.merges import row_data

if TYPE_CHECKING:
    from crm.context import Runtime
    from crm.elements import ElementService

MERGEABLE = (EntityType.LEAD, EntityType.CONTACT, EntityType.COMPANY, EntityType.DEAL)
MAX_COMMENT = 4000


class ValueKind(StrEnum):
    """How a front end shows a field's value (a custom field maps its type onto one)."""

    TEXT = "text"
    LIST = "list"  # phones, e-mails: `items`
    USER = "user"  # `text` is the person's name
    ELEMENT = "element"  # `ref` and its label in `text`
    DICTIONARY = "dictionary"  # `item` (localized by the front end), else the code in `text`
    MONEY = "money"  # value {"amount_minor", "currency"}
    STAGE = "stage"  # `stage`
    CUSTOM = "custom"  # a custom field's stored value; MergeField.detail is its FieldKind


class Side(StrEnum):
    SURVIVOR = "survivor"
    MERGED = "merged"


@dataclass(frozen=True, slots=True)
class FieldValue:
    """One element's value of a field: `value` is what is stored and applied (JSON-able;
    None or empty when the element has none); the rest is for showing it."""

    value: Any
    text: str = ""
    items: tuple[str, ...] = ()
    ref: ElementRef | None = None
    stage: StageInfo | None = None
    item: DictionaryItem | None = None
    identity: Any = None  # what makes two values the same, when not the whole `value`

    @property
    def empty(self) -> bool:
        return self.value is None or self.value in ("", [], {})

    def same(self, other: FieldValue) -> bool:
        return bool(_plain(self.key) == _plain(other.key))

    @property
    def key(self) -> Any:
        return self.value if self.identity is None else self.identity


@dataclass(frozen=True, slots=True)
class MergeContext:
    repos: Repos
    runtime: Runtime
    # Who compares or merges: providers leave out the fields this person may not see (their
    # values follow the default rule). None (an undo): every field, so that all come back.
    actor: Actor | None = None


Reader = Callable[[MergeContext, Any], Awaitable[FieldValue]]
Writer = Callable[[MergeContext, Any, Any], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class MergeField:
    """A field compared and merged. `key` is stable (the audit record and undo use it);
    `name` is a custom field's own name — built-in fields are named by the front end."""

    key: str
    kind: ValueKind
    entities: frozenset[EntityType]
    read: Reader
    write: Writer
    united: bool = False  # both elements' values are kept: nothing to choose
    name: str | None = None
    detail: Any = None  # what the front end needs besides `kind` (a custom field's FieldKind)


Provider = Callable[[MergeContext, EntityType], Awaitable[Sequence[MergeField]]]


class FieldRegistry:
    """The mergeable fields: built-in ones registered here, more from providers."""

    def __init__(self) -> None:
        self._fields: dict[str, MergeField] = {}
        self._providers: list[Provider] = []

    def register(self, merge_field: MergeField) -> MergeField:
        if merge_field.key in self._fields:
            raise ValueError(f"merge field {merge_field.key!r} registered twice")
        self._fields[merge_field.key] = merge_field
        return merge_field

    def provide(self, provider: Provider) -> Provider:
        """Fields known only at run time (custom fields, kept in the database)."""
        if provider not in self._providers:
            self._providers.append(provider)
        return provider

    def withdraw(self, provider: Provider) -> None:
        if provider in self._providers:
            self._providers.remove(provider)

    async def of(self, ctx: MergeContext, entity: EntityType) -> list[MergeField]:
        found = [f for f in self._fields.values() if entity in f.entities]
        keys = {f.key for f in found}
        for provider in self._providers:
            for extra in await provider(ctx, entity):
                if extra.key not in keys and entity in extra.entities:
                    found.append(extra)
                    keys.add(extra.key)
        return found


FIELDS = FieldRegistry()


# --- built-in fields ----------------------------------------------------------------------------
def _text_field(key: str, attr: str, entities: Sequence[EntityType], limit: int) -> MergeField:
    async def read(_ctx: MergeContext, element: Any) -> FieldValue:
        value = getattr(element, attr)
        return FieldValue(value or None, text=value or "")

    async def write(_ctx: MergeContext, element: Any, value: Any) -> None:
        setattr(element, attr, str(value)[:limit] if value else _empty_text(element, attr))

    return MergeField(key, ValueKind.TEXT, frozenset(entities), read, write)


def _empty_text(element: Any, attr: str) -> str | None:
    """A NOT NULL title keeps an empty string; other texts become NULL."""
    column = type(element).__table__.columns[attr]
    return None if column.nullable else ""


async def _read_name(_ctx: MergeContext, element: Any) -> FieldValue:
    return FieldValue(element.name or None, text=element.name or "")


async def _write_name(_ctx: MergeContext, element: Any, value: Any) -> None:
    if not value:
        return  # a contact always has a name
    element.name = str(value)[:255]
    parts = element.name.split()
    element.first_name = parts[0][:120] if parts else None
    element.last_name = " ".join(parts[1:])[:120] or None


def _communications(key: str, kind: str) -> MergeField:
    async def read(ctx: MergeContext, element: Any) -> FieldValue:
        values = await ctx.repos.elements.communications(_entity(element), element.id, kind)
        return FieldValue(values or None, items=tuple(values))

    async def write(ctx: MergeContext, element: Any, value: Any) -> None:
        await ctx.repos.merges.set_communications(
            _entity(element), element.id, kind, [str(v) for v in value or []]
        )

    return MergeField(
        key,
        ValueKind.LIST,
        frozenset({EntityType.LEAD, EntityType.CONTACT, EntityType.COMPANY}),
        read,
        write,
        united=True,
    )


async def _read_responsible(ctx: MergeContext, element: Any) -> FieldValue:
    user_id = element.responsible_id
    if user_id is None:
        return FieldValue(None)
    name = (await ctx.repos.users.names({user_id})).get(user_id, "")
    return FieldValue(user_id, text=name)


async def _write_responsible(ctx: MergeContext, element: Any, value: Any) -> None:
    user = await ctx.repos.users.get(int(value)) if value else None
    element.responsible_id = user.id if user is not None else None
    element.responsible = user


def _dictionary_field(key: str, kind: str, entities: Sequence[EntityType]) -> MergeField:
    async def read(ctx: MergeContext, element: Any) -> FieldValue:
        code = getattr(element, key)
        if not code:
            return FieldValue(None)
        item = await ctx.repos.pipelines.dictionary_item(kind, code)
        return FieldValue(code, text=code, item=item)

    async def write(_ctx: MergeContext, element: Any, value: Any) -> None:
        setattr(element, key, str(value) if value else None)

    return MergeField(key, ValueKind.DICTIONARY, frozenset(entities), read, write)


def _element_field(
    key: str, attr: str, target: EntityType, entities: Sequence[EntityType]
) -> MergeField:
    async def read(ctx: MergeContext, element: Any) -> FieldValue:
        other_id = getattr(element, attr)
        if other_id is None:
            return FieldValue(None)
        other = await ctx.repos.elements.get(MODELS[target.value], other_id)
        if other is None:
            return FieldValue(None)
        return FieldValue(other_id, text=label_of(other), ref=ElementRef(target, other_id))

    async def write(ctx: MergeContext, element: Any, value: Any) -> None:
        other = await ctx.repos.elements.get(MODELS[target.value], int(value)) if value else None
        setattr(element, attr, other.id if other is not None else None)
        if hasattr(type(element), key):  # the relationship the card reads
            setattr(element, key, other)

    return MergeField(key, ValueKind.ELEMENT, frozenset(entities), read, write)


async def _read_money(_ctx: MergeContext, element: Any) -> FieldValue:
    if element.amount_minor is None:
        return FieldValue(None)
    return FieldValue({"amount_minor": element.amount_minor, "currency": element.currency})


async def _write_money(_ctx: MergeContext, element: Any, value: Any) -> None:
    element.amount_minor = value.get("amount_minor") if value else None
    element.currency = value.get("currency") if value else None


async def _read_stage(ctx: MergeContext, element: Any) -> FieldValue:
    catalog = await ctx.runtime.catalog.get(ctx.repos)
    if isinstance(element, Deal):
        value: dict[str, Any] = {
            "pipeline": element.pipeline_id,
            "stage": element.stage_id,
            "closed_at": _iso(element.closed_at),
            "reason": element.failure_reason,
            "changed_at": _iso(element.stage_changed_at),
        }
        identity: Any = [element.pipeline_id, element.stage_id]
        stage = catalog.stage(element.stage_id)
    else:
        value = {"stage": element.status_id, "closed_at": _iso(element.closed_at)}
        identity = element.status_id
        stage = catalog.stage(element.status_id)
    return FieldValue(value, stage=stage, identity=identity)


async def _write_stage(_ctx: MergeContext, element: Any, value: Any) -> None:
    closed = value.get("closed_at")
    element.closed_at = datetime.fromisoformat(closed) if closed else None
    if isinstance(element, Deal):
        element.pipeline_id = int(value["pipeline"])
        element.stage_id = int(value["stage"])
        element.failure_reason = value.get("reason")
        if value.get("changed_at"):
            element.stage_changed_at = datetime.fromisoformat(value["changed_at"])
    else:
        element.status_id = int(value["stage"])


_ALL = (EntityType.LEAD, EntityType.CONTACT, EntityType.COMPANY, EntityType.DEAL)
_TITLED = (EntityType.LEAD, EntityType.COMPANY, EntityType.DEAL)
_MONEY = (EntityType.LEAD, EntityType.DEAL)

for _field in (
    _text_field("title", "title", _TITLED, 255),
    MergeField("name", ValueKind.TEXT, frozenset({EntityType.CONTACT}), _read_name, _write_name),
    _text_field("person", "contact_name", (EntityType.LEAD,), 255),
    _text_field("company_name", "company_title", (EntityType.LEAD,), 255),
    MergeField("stage", ValueKind.STAGE, frozenset(_MONEY), _read_stage, _write_stage),
    MergeField("amount", ValueKind.MONEY, frozenset(_MONEY), _read_money, _write_money),
    _communications("phones", "phone"),
    _communications("emails", "email"),
    _element_field("contact", "contact_id", EntityType.CONTACT, _MONEY),
    _element_field("company", "company_id", EntityType.COMPANY, (EntityType.CONTACT, *_MONEY)),
    MergeField(
        "responsible", ValueKind.USER, frozenset(_ALL), _read_responsible, _write_responsible
    ),
    _dictionary_field("source", "source", _ALL),
    _dictionary_field("contact_type", "contact_type", (EntityType.CONTACT,)),
    _dictionary_field("company_type", "company_type", (EntityType.COMPANY,)),
    _dictionary_field("industry", "industry", (EntityType.COMPANY,)),
    _dictionary_field("deal_type", "deal_type", (EntityType.DEAL,)),
    _text_field("comment", "comment", _ALL, MAX_COMMENT),
):
    FIELDS.register(_field)


# --- results ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CompareRow:
    field: MergeField
    survivor: FieldValue
    merged: FieldValue

    @property
    def choosable(self) -> bool:
        """Both have a value and they differ: the person picks the one that stays."""
        return (
            not self.field.united
            and not self.survivor.empty
            and not self.merged.empty
            and not self.survivor.same(self.merged)
        )

    @property
    def default(self) -> Side:
        return Side.MERGED if self.survivor.empty and not self.merged.empty else Side.SURVIVOR

    def united_items(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.survivor.items, *self.merged.items)))


@dataclass(frozen=True, slots=True)
class MergePlan:
    """The two elements side by side, the survivor first."""

    survivor: ElementRef
    merged: ElementRef
    survivor_label: str
    merged_label: str
    rows: tuple[CompareRow, ...]

    def sides(self, picks: int) -> dict[str, Side]:
        """Who wins each field from a bit set over `rows` (bit i set: the merged element's
        value of row i); rows with nothing to choose take their default."""
        return {
            row.field.key: (
                (Side.MERGED if picks >> i & 1 else Side.SURVIVOR)
                if row.choosable
                else row.default
            )
            for i, row in enumerate(self.rows)
        }

    def default_picks(self) -> int:
        return sum(1 << i for i, row in enumerate(self.rows) if row.default is Side.MERGED)


@dataclass(frozen=True, slots=True)
class MergeOutcome:
    survivor: ElementRef
    merged: ElementRef
    merge_id: int
    deals: int
    activities: int
    entries: int  # timeline entries
    contacts: int  # a company's contacts
    leads: int
    undo_until: datetime | None


@dataclass(frozen=True, slots=True)
class UndoOutcome:
    survivor: ElementRef
    restored: ElementRef
    same_id: bool
    kept_fields: tuple[str, ...]  # changed on the survivor since the merge: left as they are
    missing: int  # rows moved by the merge that are gone since
    kept_names: Mapping[str, str] = field(default_factory=dict)  # custom ones the actor sees


@dataclass(frozen=True, slots=True)
class Absorbed:
    ref: ElementRef
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    comment: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


# --- the service --------------------------------------------------------------------------------
class MergeService:
    def __init__(self, repos: Repos, runtime: Runtime, elements: ElementService) -> None:
        self.repos = repos
        self.runtime = runtime
        self.elements = elements
        self.ctx = MergeContext(repos, runtime)

    async def authorize(
        self, actor: Actor, survivor: ElementRef, merged: ElementRef
    ) -> tuple[Element, Element]:
        """Both elements, if the actor may merge them (the module's rule)."""
        if survivor.entity is not merged.entity:
            raise CannotMerge("types")
        if survivor.entity not in MERGEABLE:
            raise CannotMerge("kind")
        if survivor == merged:
            raise CannotMerge("same")
        first = await self.elements.load(actor, survivor)  # a stranger's: NotFound
        second = await self.elements.load(actor, merged)
        policy = self.runtime.policy
        may_merge = policy.has_right(actor, Right.MERGE)
        for element in (first, second):
            owner = await self.elements.owner(element)
            for op in (Operation.UPDATE, *(() if may_merge else (Operation.DELETE,))):
                if not policy.allows(actor, survivor.entity, op, owner):
                    raise AccessDenied(entity=survivor.entity, operation=op, right=Right.MERGE)
        return first, second

    async def compare(self, actor: Actor, survivor: ElementRef, merged: ElementRef) -> MergePlan:
        first, second = await self.authorize(actor, survivor, merged)
        return await self._plan(actor, first, second)

    async def _plan(self, actor: Actor, first: Element, second: Element) -> MergePlan:
        rows = []
        seen_by = MergeContext(self.repos, self.runtime, actor)
        for merge_field in await FIELDS.of(seen_by, ref_of(first).entity):
            rows.append(
                CompareRow(
                    merge_field,
                    await merge_field.read(self.ctx, first),
                    await merge_field.read(self.ctx, second),
                )
            )
        return MergePlan(
            ref_of(first), ref_of(second), label_of(first), label_of(second), tuple(rows)
        )

    async def merge(
        self,
        actor: Actor,
        survivor: ElementRef,
        merged: ElementRef,
        choices: Mapping[str, Side] | None = None,
    ) -> MergeOutcome:
        """Merge `merged` into `survivor` in one transaction (committed here). `choices`:
        which side wins a field by its key; a field left out takes the survivor's value when
        it has one, else the merged one's."""
        model = MODELS[survivor.entity.value]
        await self.repos.merges.lock(model, sorted({survivor.id, merged.id}))
        first, second = await self.authorize(actor, survivor, merged)
        plan = await self._plan(actor, first, second)
        entity = survivor.entity.value
        if isinstance(first, Deal):
            currencies = {
                r.currency for d in (first, second) for r in await self.repos.products.rows(d.id)
            }
            if len(currencies) > 1:
                raise CannotMerge("currencies")  # one sum of rows in two currencies is no sum
        phones, emails = await self.elements.communications(merged)
        snapshot = {"element": row_data(second), "phones": phones, "emails": emails}
        before: dict[str, Any] = {}
        for row in plan.rows:
            before[row.field.key] = _plain(row.survivor.value)
            side = (choices or {}).get(row.field.key, row.default)
            if not row.choosable:
                side = row.default
            if row.field.united:
                if row.merged.items:
                    await row.field.write(self.ctx, first, list(row.united_items()))
            elif side is Side.MERGED:
                await row.field.write(self.ctx, first, row.merged.value)
        now = self.runtime.clock.now()
        first.updated_at = now
        refold(first)
        await self.repos.session.flush()
        moved = await self.repos.merges.move(entity, merged.id, survivor.id)
        await self.repos.session.refresh(first)
        await self.repos.merges.delete_communications(entity, merged.id)
        await self.repos.merges.delete(second, merged.id)
        if isinstance(first, Deal):
            await self._amount_from_rows(first)
        after = {
            f.key: _plain((await f.read(self.ctx, first)).value)
            for f in (r.field for r in plan.rows)
        }
        moved["before"] = before
        moved["after"] = after
        record = await self.repos.merges.add(
            MergeRecord(
                entity=entity,
                survivor_id=survivor.id,
                merged_id=merged.id,
                merged_code=merged.code,
                actor_id=actor.user_id,
                created_at=now,
                snapshot=_plain(snapshot),
                moved=_plain(moved),
            )
        )
        await self.elements.record(
            actor,
            survivor,
            TimelineKind.MERGED,
            merged=merged.code,
            label=plan.merged_label[:200],
            merge=record.id,
            phones=phones,
            emails=emails,
        )
        await self.repos.commit()
        window = self.runtime.config.merge_undo_window
        deals = {*moved.get("deal_contact", ()), *moved.get("deal_company", ())}
        activities = {*moved.get("bindings", ()), *moved.get("activity_client", ())}
        activities |= {b["activity_id"] for b in moved.get("dropped_bindings", ())}
        return MergeOutcome(
            survivor=survivor,
            merged=merged,
            merge_id=record.id,
            deals=len(deals),
            activities=len(activities),
            entries=len(moved.get("timeline", ())),
            contacts=len(moved.get("contact_company", ())),
            leads=len({*moved.get("lead_contact", ()), *moved.get("lead_company", ())}),
            undo_until=now + window if window.total_seconds() > 0 else None,
        )

    async def _amount_from_rows(self, deal: Deal) -> None:
        """A deal with product rows has their sum for its amount (crm/products.py)."""
        rows = await self.repos.products.rows(deal.id)
        if rows:
            deal.amount_minor = sum(row_total(r) for r in rows)
            deal.currency = rows[0].currency

    # --- undo ---------------------------------------------------------------------------------
    async def undoable(self, actor: Actor, merge_id: int | None = None) -> MergeRecord:
        """The merge `merge_id` (else the actor's newest one not undone) if the actor may undo
        it now: their own merge, or any with the merge right; within the window."""
        record = (
            await self.repos.merges.get(merge_id)
            if merge_id is not None
            else await self.repos.merges.latest_of(actor.user_id)
        )
        if record is None or (
            record.actor_id != actor.user_id
            and not self.runtime.policy.has_right(actor, Right.MERGE)
        ):
            raise CannotUndo("none")
        if record.undone_at is not None:
            raise CannotUndo("undone", record.merged_code)
        window = self.runtime.config.merge_undo_window
        if self.runtime.clock.now() - record.created_at > window:
            raise CannotUndo("expired", record.merged_code)
        return record

    async def undo(self, actor: Actor, merge_id: int | None = None) -> UndoOutcome:
        record = await self.undoable(actor, merge_id)
        entity = EntityType(record.entity)
        survivor_ref = ElementRef(entity, record.survivor_id)
        try:
            survivor = await self.elements.load(actor, survivor_ref, Operation.UPDATE)
        except NotFound:
            raise CannotUndo("gone", record.merged_code) from None
        snapshot = record.snapshot.get("element", {})
        owner = Owner(
            snapshot.get("responsible_id"),
            await self.repos.elements.owner_department(snapshot.get("responsible_id")),
        )
        self.runtime.policy.require(actor, entity, Operation.ADD, owner)
        model = MODELS[entity.value]
        restored = await self.repos.merges.restore(model, snapshot)
        restored_ref = ref_of(restored)
        await self.repos.elements.add_new_communications(
            entity.value,
            restored.id,
            {
                "phone": record.snapshot.get("phones", []),
                "email": record.snapshot.get("emails", []),
            },
        )
        missing = await self.repos.merges.move_back(
            entity.value, record.moved, survivor_ref.id, restored.id
        )
        await self.repos.session.refresh(survivor)
        await self.repos.session.refresh(restored)
        before, after = record.moved.get("before", {}), record.moved.get("after", {})
        kept: list[str] = []
        kept_names: dict[str, str] = {}
        shown = {
            f.key for f in await FIELDS.of(MergeContext(self.repos, self.runtime, actor), entity)
        }
        for merge_field in await FIELDS.of(self.ctx, entity):
            if merge_field.key not in before:
                continue
            current = _plain((await merge_field.read(self.ctx, survivor)).value)
            old, new = before[merge_field.key], after.get(merge_field.key)
            if merge_field.united:
                added = [v for v in new or [] if v not in (old or [])]
                if added and current:
                    await merge_field.write(
                        self.ctx, survivor, [v for v in current if v not in added]
                    )
            elif current != new:
                if old != new:
                    kept.append(merge_field.key)  # changed since the merge: left as it is
                    if merge_field.name and merge_field.key in shown:
                        kept_names[merge_field.key] = merge_field.name
            elif old != new:
                await merge_field.write(self.ctx, survivor, old)
        refold(survivor)
        if isinstance(survivor, Deal):
            await self._amount_from_rows(survivor)
        if isinstance(restored, Deal):
            await self._amount_from_rows(restored)
        now = self.runtime.clock.now()
        survivor.updated_at = now
        record.undone_at = now
        record.undone_by_id = actor.user_id
        record.restored_id = restored.id
        await self.repos.session.flush()
        await self.elements.record(
            actor, survivor_ref, TimelineKind.UNMERGED, merged=restored_ref.code, merge=record.id
        )
        await self.elements.record(
            actor, restored_ref, TimelineKind.UNMERGED, survivor=survivor_ref.code, merge=record.id
        )
        await self.repos.commit()
        return UndoOutcome(
            survivor=survivor_ref,
            restored=restored_ref,
            same_id=restored.id == record.merged_id,
            kept_fields=tuple(kept),
            missing=missing,
            kept_names=kept_names,
        )

    # --- the duplicate warning's "Merge into" -------------------------------------------------
    async def absorb(self, actor: Actor, target: ElementRef, data: ElementInput) -> Absorbed:
        """What a person typed for a new element goes to the existing `target` instead:
        its phones and e-mails are added, a comment (or the rest of the line) is appended.
        Nothing is created or deleted, so editing `target` is the right needed."""
        if target.entity not in (EntityType.LEAD, EntityType.CONTACT, EntityType.COMPANY):
            raise CannotMerge("kind")
        element = await self.elements.load(actor, target, Operation.UPDATE)
        phones, emails = await self.elements.communications(target)
        new_phones = tuple(p for p in dict.fromkeys(data.phones) if p not in phones)
        new_emails = tuple(e for e in dict.fromkeys(data.emails) if e not in emails)
        await self.repos.elements.add_communications(
            target.entity.value, target.id, "phone", new_phones
        )
        await self.repos.elements.add_communications(
            target.entity.value, target.id, "email", new_emails
        )
        remark = "\n".join(
            p for p in (data.comment, data.address, _rest(element, data)) if p and p.strip()
        ).strip()
        if remark and remark not in (element.comment or ""):
            element.comment = "\n".join(p for p in (element.comment, remark) if p)[:MAX_COMMENT]
        if not (new_phones or new_emails or remark):
            raise InvalidValue("merge", "")  # nothing new to add
        element.updated_at = self.runtime.clock.now()
        await self.elements.record(
            actor,
            target,
            TimelineKind.MERGED,
            typed=True,
            phones=list(new_phones),
            emails=list(new_emails),
            comment=remark[:200] or None,
        )
        await self.repos.commit()
        return Absorbed(target, new_phones, new_emails, bool(remark))


def _rest(element: Element, data: ElementInput) -> str | None:
    """The line's title when it is more than the name the target already has."""
    title = (data.title or "").strip()
    if not title or title.casefold() == label_of(element).casefold():
        return None
    if data.name and title.casefold() == data.name.casefold():
        return None
    return title


def _entity(element: Element) -> str:
    return ref_of(element).entity.value


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _plain(value: Any) -> Any:
    """JSON's own form of a value (tuples become lists): what the audit record stores."""
    return json.loads(json.dumps(value, default=str))
