"""Finding elements: `/find` by name, phone (normalized) or e-mail, by the values of custom
fields, and the paged lists.

A custom field's value finds an element only for a reader who may see that field
(crm.field_book.sees) and only while it is shown on cards (not hidden): a restricted value
never leads anyone else to the element. Results show codes, titles, stages and amounts only,
never the value that matched."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crm.elements import fold
from crm.enums import EntityType, Operation
from crm.field_book import sees
from crm.parsing import normalize_email, normalize_phone
from crm.permissions import Actor, Scope
from storage.models import Company, Contact, Deal, Lead
from storage.repositories import Repos
from storage.repositories.elements import MODELS, Element

if TYPE_CHECKING:
    from crm.context import Runtime

MAX_QUERY = 200


@dataclass(frozen=True, slots=True)
class Page:
    items: Sequence[Element]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class SearchService:
    def __init__(self, repos: Repos, runtime: Runtime) -> None:
        self.repos = repos
        self.runtime = runtime

    def readable(self, actor: Actor) -> frozenset[EntityType]:
        """The element types the actor sees at all: lists, search and help show no other."""
        return self.runtime.policy.readable(actor)

    async def find(
        self, actor: Actor, query: str, region: str = "PL", limit: int = 20
    ) -> list[Element]:
        """Contacts, companies, leads and deals the actor may read, best matches first."""
        query = query.strip()[:MAX_QUERY]
        if len(query) < 2:
            return []
        found: dict[tuple[type, int], Element] = {}
        phone = normalize_phone(query, region) if sum(c.isdigit() for c in query) >= 6 else None
        email = normalize_email(query) if "@" in query else None
        matches = await self.repos.elements.owners_of_any(
            {"phone": [phone] if phone else [], "email": [email] if email else []}
        )
        for _kind, entity, element_id in matches:
            model = MODELS[entity]
            for element in await self.repos.elements.by_ids(
                model, [element_id], self._scope(actor, entity)
            ):
                found[(model, element.id)] = element
        # Deals of a found contact/company are what a rep calling back wants to see.
        contact_ids = [e.id for e in found.values() if isinstance(e, Contact)]
        if contact_ids:
            for deal in await self._deals_of_contacts(actor, contact_ids):
                found.setdefault((Deal, deal.id), deal)
        if not phone and not email:
            needle = fold(query)
            for model in (Contact, Company, Lead, Deal):
                entity = _entity(model)
                for element in await self.repos.elements.by_text(
                    model, [needle], self._scope(actor, entity), limit
                ):
                    found.setdefault((model, element.id), element)
            for model in (Contact, Company, Lead, Deal):
                entity = _entity(model)
                for element in await self.repos.elements.by_field_text(
                    model,
                    await self._searchable_fields(actor, EntityType(entity)),
                    needle,
                    self._scope(actor, entity),
                    limit,
                ):
                    found.setdefault((model, element.id), element)
        return list(found.values())[:limit]

    async def _searchable_fields(self, actor: Actor, entity: EntityType) -> list[int]:
        """The custom fields of a type whose values may find an element for this reader."""
        if entity not in self.readable(actor):
            return []
        book = await self.runtime.fields.get(self.repos)
        return [
            f.id
            for f in book.of(entity)
            if not f.is_system and not f.hidden and sees(self.runtime.policy, actor, f)
        ]

    async def _deals_of_contacts(self, actor: Actor, contact_ids: list[int]) -> Sequence[Deal]:
        return await self.repos.elements.deals_of_contacts(contact_ids, self._scope(actor, "deal"))

    def _scope(self, actor: Actor, entity: str) -> Scope:
        return self.runtime.policy.scope(actor, EntityType(entity), Operation.READ)

    async def page(
        self, actor: Actor, entity: EntityType, *, mine: bool, page: int = 0, per_page: int = 10
    ) -> Page:
        model = MODELS[entity.value]
        items, total = await self.repos.elements.page(
            model,
            self._scope(actor, entity.value),
            responsible_id=actor.user_id if mine else None,
            offset=max(page, 0) * per_page,
            limit=per_page,
        )
        return Page(items, total, max(page, 0), per_page)


def _entity(model: type[Element]) -> str:
    return {Contact: "contact", Company: "company", Lead: "lead", Deal: "deal"}[model]
