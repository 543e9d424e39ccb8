"""Dictionaries (Bitrix24 "statuses and dropdowns"): sources, contact/company types, industry…

System entries can be renamed but not deleted; custom ones can be deleted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from crm.codes import ElementRef
from crm.elements import ElementService
from crm.enums import Operation, Right, TimelineKind
from crm.errors import CannotDelete, InvalidValue, NotFound
from crm.permissions import Actor
from crm.stages import clean_name, pick, require_unique
from storage.models import DictionaryItem
from storage.repositories import Repos
from storage.repositories.elements import Element

if TYPE_CHECKING:
    from crm.context import Runtime


def _label(item: DictionaryItem) -> str:
    return item.name or item.code


KINDS = ("source", "contact_type", "company_type", "industry", "deal_type", "employees")


class DictionaryService:
    def __init__(self, repos: Repos, runtime: Runtime, elements: ElementService) -> None:
        self.repos = repos
        self.runtime = runtime
        self.elements = elements

    async def items(self, kind: str) -> Sequence[DictionaryItem]:
        if kind not in KINDS:
            raise InvalidValue("dictionary", kind[:32])
        return await self.repos.pipelines.dictionary(kind)

    async def named(
        self, kind: str, text: str, label: Callable[[DictionaryItem], str] = _label
    ) -> tuple[DictionaryItem, str]:
        """The entry `text` starts with (id or name) and the rest of `text`."""
        return pick(kind, text, await self.items(kind), label)

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
        while code in taken:
            suffix += 1
            code = f"{code[:40]}_{suffix}"
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
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        item = await self.repos.pipelines.dictionary_item_by_id(item_id)
        if item is None:
            raise NotFound("dictionary item", item_id)
        if item.is_system:
            raise CannotDelete("system")
        if item.kind == "source":
            count = await self.repos.pipelines.source_use_count(item.code)
            if count:
                raise CannotDelete("in_use", count=count, entity="element")
        await self.repos.pipelines.delete_dictionary_item(item)
        await self.repos.commit()

    async def set_source(self, actor: Actor, ref: ElementRef, item_id: int) -> Element:
        element = await self.elements.load(actor, ref, Operation.UPDATE)
        item = await self.repos.session.get(DictionaryItem, item_id)
        if item is None or item.kind != "source":
            raise NotFound("source", item_id)
        if element.source != item.code:
            await self.elements.record(
                actor, ref, TimelineKind.CHANGED, field="source", old=element.source, new=item.code
            )
            element.source = item.code
            element.updated_at = self.runtime.clock.now()
            await self.repos.commit()
        return element
