"""Dictionaries (Bitrix24 "statuses and dropdowns"): sources, contact/company types, industry…

System entries can be renamed but not deleted; custom ones can be deleted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from crm.codes import ElementRef
from crm.elements import ElementService
from crm.enums import Operation, Right
from crm.errors import CannotDelete, InvalidValue, NotFound
from crm.permissions import Actor
from storage.models import DictionaryItem
from storage.repositories import Repos
from storage.repositories.elements import Element

if TYPE_CHECKING:
    from crm.context import Runtime

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

    async def add(self, actor: Actor, kind: str, name: str) -> DictionaryItem:
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        name = " ".join(name.split())[:120]
        if not name:
            raise InvalidValue("name", "")
        existing = await self.items(kind)
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
        self.repos.session.add(item)
        await self.repos.commit()
        return item

    async def rename(self, actor: Actor, item_id: int, name: str) -> DictionaryItem:
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        item = await self.repos.session.get(DictionaryItem, item_id)
        if item is None:
            raise NotFound("dictionary item", item_id)
        name = " ".join(name.split())[:120]
        if not name:
            raise InvalidValue("name", "")
        item.name = name
        await self.repos.commit()
        return item

    async def delete(self, actor: Actor, item_id: int) -> None:
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        item = await self.repos.session.get(DictionaryItem, item_id)
        if item is None:
            raise NotFound("dictionary item", item_id)
        if item.is_system:
            raise CannotDelete("system")
        await self.repos.session.delete(item)
        await self.repos.commit()

    async def set_source(self, actor: Actor, ref: ElementRef, item_id: int) -> Element:
        element = await self.elements.load(actor, ref, Operation.UPDATE)
        item = await self.repos.session.get(DictionaryItem, item_id)
        if item is None or item.kind != "source":
            raise NotFound("source", item_id)
        if element.source != item.code:
            await self.elements.record(
                actor, ref, "changed", field="source", old=element.source, new=item.code
            )
            element.source = item.code
            element.updated_at = self.runtime.clock.now()
            await self.repos.commit()
        return element
