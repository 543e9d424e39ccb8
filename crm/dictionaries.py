"""Dictionaries (Bitrix24 "statuses and dropdowns"): sources, contact/company types, industry,
employee count, deal type, salutation — and lead statuses, which live in the same menu.

System entries can be renamed but not deleted; custom ones can be deleted while no element
holds them. Lead statuses are stages (crm/stages.py): the initial and the final ones are
the system ones. Which element columns hold which dictionary is crm/dictionary_kinds.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from crm.codes import ElementRef
from crm.dictionary_kinds import COLUMNS, KINDS, LEAD_STATUS, MENU
from crm.elements import ElementService
from crm.enums import Operation, Right, TimelineKind
from crm.errors import CannotDelete, InvalidValue, NotFound, UnknownName
from crm.permissions import Actor
from crm.stages import StageService, clean_name, fold, pick, require_unique
from storage.models import DictionaryItem, Stage
from storage.repositories import Repos
from storage.repositories.elements import MODELS, Element

if TYPE_CHECKING:
    from crm.context import Runtime

__all__ = ["KINDS", "LEAD_STATUS", "MENU", "DictionaryService", "Entry", "kind_named"]

Entry = DictionaryItem | Stage  # a dictionary's value, or a lead status
ENTITY_OF = {model: entity for entity, model in MODELS.items()}  # Contact → "contact"


def _label(item: Entry) -> str:
    return item.name or item.code


def kind_named(text: str, names: Mapping[str, Iterable[str]]) -> tuple[str, str]:
    """The dictionary `text` starts with and the rest of `text`.

    `names` gives each dictionary's names (the front end's: localized, English, singular and
    plural…). Compared case-insensitively with spaces collapsed, the longest first, so
    "/dictionary_add typ kontaktu Hurtownik" finds "typ kontaktu" and leaves "Hurtownik".
    """
    words = text.split()
    folded = {fold(name): kind for kind, many in names.items() for name in many if name.strip()}
    for n in range(len(words), 0, -1):
        kind = folded.get(fold(" ".join(words[:n])))
        if kind is not None:
            return kind, " ".join(words[n:])
    raise UnknownName("dictionary", " ".join(words)[:60])


class DictionaryService:
    def __init__(
        self, repos: Repos, runtime: Runtime, elements: ElementService, stages: StageService
    ) -> None:
        self.repos = repos
        self.runtime = runtime
        self.elements = elements
        self.stages = stages

    # --- reading ---------------------------------------------------------------------------
    async def items(self, kind: str) -> Sequence[DictionaryItem]:
        """A dictionary's values (anyone may read them: they are picked on cards)."""
        if kind not in KINDS:
            raise InvalidValue("dictionary", kind[:32])
        return await self.repos.pipelines.dictionary(kind)

    def can_configure(self, actor: Actor) -> bool:
        return self.runtime.policy.has_right(actor, Right.SETTINGS)

    def menu(self, actor: Actor) -> tuple[str, ...]:
        """The dictionaries an admin configures (refused without the settings right)."""
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        return MENU

    async def entries(self, actor: Actor, kind: str) -> Sequence[Entry]:
        """A dictionary's values, or the lead statuses, for configuring them."""
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        if kind == LEAD_STATUS:
            return await self.stages.lead_statuses()
        return await self.items(kind)

    async def entry(self, actor: Actor, kind: str, entry_id: int) -> Entry:
        found = next((e for e in await self.entries(actor, kind) if e.id == entry_id), None)
        if found is None:
            raise NotFound(kind, entry_id)
        return found

    async def entry_named(
        self, actor: Actor, kind: str, text: str, label: Callable[[Entry], str] = _label
    ) -> tuple[Entry, str]:
        """The value (or lead status) `text` starts with (id or name) and the rest of `text`."""
        entries: Sequence[Entry] = await self.entries(actor, kind)
        return pick(kind, text, entries, label)

    # --- configuring (admins) --------------------------------------------------------------
    async def add_entry(
        self, actor: Actor, kind: str, name: str, label: Callable[[Entry], str] = _label
    ) -> Entry:
        if kind == LEAD_STATUS:
            return await self.stages.add_stage(actor, None, name, label=label)
        return await self.add(actor, kind, name, label=label)

    async def rename_entry(
        self,
        actor: Actor,
        kind: str,
        entry_id: int,
        name: str,
        label: Callable[[Entry], str] = _label,
    ) -> Entry:
        await self.entry(actor, kind, entry_id)  # a value of this dictionary, not another's
        if kind == LEAD_STATUS:
            return await self.stages.rename_stage(actor, entry_id, name, label=label)
        return await self.rename(actor, entry_id, name, label=label)

    async def delete_entry(self, actor: Actor, kind: str, entry_id: int) -> None:
        await self.entry(actor, kind, entry_id)
        if kind == LEAD_STATUS:
            await self.stages.delete_stage(actor, entry_id)
        else:
            await self.delete(actor, entry_id)

    async def add(
        self,
        actor: Actor,
        kind: str,
        name: str,
        label: Callable[[DictionaryItem], str] = _label,
    ) -> DictionaryItem:
        """A custom entry; names are unique within the dictionary, case-insensitively (`label`
        gives an entry's name as the admin sees it, a seeded one's localized default)."""
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        name = clean_name(name)
        existing = await self.items(kind)
        require_unique(kind, name, existing, label)
        code = "C_" + (re.sub(r"\W+", "_", name.upper(), flags=re.ASCII).strip("_")[:40] or "ITEM")
        taken = {item.code for item in existing}
        suffix = 1
        base = code
        while code in taken:
            suffix += 1
            code = f"{base[:40]}_{suffix}"
        item = DictionaryItem(
            kind=kind,
            code=code,
            name=name,
            is_system=False,
            sort=max((i.sort for i in existing), default=0) + 10,
        )
        await self.repos.pipelines.add_dictionary_item(item)
        await self.repos.commit()
        return item

    async def rename(
        self,
        actor: Actor,
        item_id: int,
        name: str,
        label: Callable[[DictionaryItem], str] = _label,
    ) -> DictionaryItem:
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        item = await self.repos.pipelines.dictionary_item_by_id(item_id)
        if item is None:
            raise NotFound("dictionary item", item_id)
        name = clean_name(name)
        require_unique(item.kind, name, await self.items(item.kind), label, own_id=item.id)
        item.name = name
        await self.repos.commit()
        return item

    async def delete(self, actor: Actor, item_id: int) -> None:
        """A custom entry no element holds; a system one, or one in use, is refused (with how
        many elements hold it)."""
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        item = await self.repos.pipelines.dictionary_item_by_id(item_id)
        if item is None:
            raise NotFound("dictionary item", item_id)
        if item.is_system:
            raise CannotDelete("system")
        models = COLUMNS.get(item.kind, ())
        count = await self.repos.pipelines.dictionary_use_count(item.kind, item.code, models)
        if count:
            # Who holds it: "element" when several kinds of elements may (a source).
            entity = ENTITY_OF.get(models[0], "element") if len(models) == 1 else "element"
            raise CannotDelete("in_use", count=count, entity=entity, part=item.kind)
        await self.repos.pipelines.delete_dictionary_item(item)
        await self.repos.commit()

    # --- an element's values ---------------------------------------------------------------
    async def choices(
        self, actor: Actor, ref: ElementRef, kind: str
    ) -> tuple[str | None, Sequence[DictionaryItem]]:
        """The element's value of `kind` and the values it may take; refused like any edit."""
        element = await self.elements.load(actor, ref, Operation.UPDATE)
        _require_column(element, kind)
        current: str | None = getattr(element, kind)
        return current, await self.items(kind)

    async def set_value(self, actor: Actor, ref: ElementRef, kind: str, item_id: int) -> Element:
        """Give the element a value of dictionary `kind` (under edit rights), in its history as
        a change of the field `kind` from the old code to the new one."""
        element = await self.elements.load(actor, ref, Operation.UPDATE)
        _require_column(element, kind)
        item = await self.repos.pipelines.dictionary_item_by_id(item_id)
        if item is None or item.kind != kind:
            raise NotFound(kind, item_id)
        old: str | None = getattr(element, kind)
        if old != item.code:
            await self.elements.record(
                actor, ref, TimelineKind.CHANGED, field=kind, old=old, new=item.code
            )
            setattr(element, kind, item.code)
            element.updated_at = self.runtime.clock.now()
            await self.repos.commit()
        return element

    async def set_source(self, actor: Actor, ref: ElementRef, item_id: int) -> Element:
        return await self.set_value(actor, ref, "source", item_id)


def _require_column(element: Element, kind: str) -> None:
    if type(element) not in COLUMNS.get(kind, ()):
        raise InvalidValue("field", kind[:32])
