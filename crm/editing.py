"""Correcting what a one-line creation read: title, person's name, phone, e-mail, amount.

A misreading shown on the card ("CRM Jan Kowalski" as a title) is fixed with the card's Edit
button. The typed value is read with the same parsers as creation (crm/parsing.py), saved
under edit rights (AccessPolicy through ElementService.load), and written to the timeline.
A deal's name, phone and e-mail are its contact's: editing them needs edit rights on the
contact too.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from crm.codes import ElementRef
from crm.dictionary_kinds import KINDS
from crm.elements import MAX_TITLE, ElementService, _split_name, ref_of, refold
from crm.enums import EntityType, Operation, TimelineKind
from crm.errors import AmountFromProducts, InvalidValue, NotFound
from crm.money import to_minor
from crm.parsing import normalize_email, normalize_phone, parse_money
from crm.permissions import Actor
from storage.models import Company, Contact, Deal, Lead
from storage.repositories import Repos
from storage.repositories.elements import Element

if TYPE_CHECKING:
    from crm.context import Runtime


class Field(StrEnum):
    TITLE = "title"
    NAME = "name"
    PHONE = "phone"
    EMAIL = "email"
    AMOUNT = "amount"
    # Picked from a dictionary (crm/dictionary_kinds.py), not typed: each is named as its
    # dictionary and as the element's column.
    CONTACT_TYPE = "contact_type"
    SALUTATION = "salutation"
    COMPANY_TYPE = "company_type"
    INDUSTRY = "industry"
    EMPLOYEES = "employees"
    DEAL_TYPE = "deal_type"


FIELDS: dict[EntityType, tuple[Field, ...]] = {
    EntityType.LEAD: (Field.TITLE, Field.NAME, Field.PHONE, Field.EMAIL, Field.AMOUNT),
    EntityType.DEAL: (
        Field.TITLE, Field.NAME, Field.PHONE, Field.EMAIL, Field.AMOUNT, Field.DEAL_TYPE,
    ),
    EntityType.CONTACT: (
        Field.NAME, Field.PHONE, Field.EMAIL, Field.CONTACT_TYPE, Field.SALUTATION,
    ),
    EntityType.COMPANY: (
        Field.TITLE, Field.PHONE, Field.EMAIL, Field.COMPANY_TYPE, Field.INDUSTRY,
        Field.EMPLOYEES,
    ),
}  # fmt: skip
# The fields whose value is a dictionary's entry: the Edit menu offers the entries as buttons.
CHOICES = frozenset(f for f in Field if f.value in KINDS)
# A deal's fields that are its contact's (editing them needs edit rights on the contact too).
CONTACT_FIELDS = (Field.NAME, Field.PHONE, Field.EMAIL)


class EditService:
    def __init__(self, repos: Repos, runtime: Runtime, elements: ElementService) -> None:
        self.repos = repos
        self.runtime = runtime
        self.elements = elements

    async def fields(self, actor: Actor, ref: ElementRef) -> tuple[Field, ...]:
        """What the actor may edit on this element; refused like any edit when they may not."""
        element = await self.elements.load(actor, ref, Operation.UPDATE)
        fields = FIELDS.get(ref.entity, ())
        if isinstance(element, Deal):
            contact = element.contact
            if contact is None or not await self.elements.can(actor, contact, Operation.UPDATE):
                # Nobody to name or call on this deal, or their card is someone else's.
                fields = tuple(f for f in fields if f not in CONTACT_FIELDS)
        return fields

    async def settable(self, actor: Actor, ref: ElementRef, field: Field) -> None:
        """Refuse before a value is asked for: a deal's amount while it has product rows."""
        element = await self.elements.load(actor, ref, Operation.UPDATE)
        if field is Field.AMOUNT and isinstance(element, Deal):
            if await self.repos.products.rows(element.id):
                raise AmountFromProducts()

    async def edit(
        self, actor: Actor, ref: ElementRef, field: Field, text: str, *, region: str
    ) -> None:
        """Set `field` from the typed `text`; InvalidValue (nothing saved) if it does not read."""
        element = await self.elements.load(actor, ref, Operation.UPDATE)
        if field not in FIELDS.get(ref.entity, ()) or field in CHOICES:
            raise InvalidValue("field", field.value)  # a choice is pressed, not typed
        text = " ".join(text.split())
        target: Element = element
        if isinstance(element, Deal) and field in CONTACT_FIELDS:
            if element.contact is None:
                raise NotFound("contact", ref.code)
            target = await self.elements.load(actor, ref_of(element.contact), Operation.UPDATE)
        old, new = await self._apply(target, field, text, region)
        now = self.runtime.clock.now()
        element.updated_at = target.updated_at = now
        await self.elements.record(
            actor, ref, TimelineKind.CHANGED, field=field.value, old=old, new=new
        )
        if target is not element:
            await self.elements.record(
                actor, ref_of(target), TimelineKind.CHANGED, field=field.value, old=old, new=new
            )
        await self.repos.commit()

    async def _apply(
        self, element: Element, field: Field, text: str, region: str
    ) -> tuple[str | None, str]:
        if field is Field.TITLE:
            if not text or not isinstance(element, Deal | Lead | Company):
                raise InvalidValue("title", text[:64])
            old, element.title = element.title, text[:MAX_TITLE]
            refold(element)
            return old, element.title
        if field is Field.NAME:
            if not text or not any(c.isalpha() for c in text):
                raise InvalidValue("name", text[:64])
            name = text[:MAX_TITLE]
            if isinstance(element, Contact):
                old, element.name = element.name, name
                first, last = _split_name(name)
                element.first_name, element.last_name = first, last
                refold(element)
                # A deal is found by its client's name too: its search text follows.
                for deal in await self.repos.elements.deals_with_contact(element.id):
                    refold(deal, client=name)
                return old, name
            if isinstance(element, Lead):
                old_name, element.contact_name = element.contact_name, name
                refold(element)
                return old_name, name
            raise InvalidValue("name", text[:64])
        if field is Field.PHONE:
            phone = normalize_phone(text, region)
            if phone is None:
                raise InvalidValue("phone", text[:64])
            return await self._replace_communication(element, "phone", phone), phone
        if field is Field.EMAIL:
            email = normalize_email(text)
            if email is None:
                raise InvalidValue("email", text[:64])
            return await self._replace_communication(element, "email", email), email
        if not isinstance(element, Deal | Lead):
            raise InvalidValue("amount", text[:64])
        if isinstance(element, Deal) and await self.repos.products.rows(element.id):
            raise AmountFromProducts()  # the sum of its product rows (crm/products.py)
        currency = element.currency or self.runtime.config.base_currency
        # A bare number is in the element's currency; `5000 zł`, `1,5 mln` read as at creation.
        money = parse_money(text, currency) or parse_money(f"{text} {currency}", currency)
        if money is None:
            raise InvalidValue("amount", text[:64])
        if money.amount < 0:
            raise InvalidValue("amount", str(money.amount))
        old_amount = element.amount_minor
        element.amount_minor, element.currency = to_minor(money.amount), money.currency
        old_text = None if old_amount is None else f"{old_amount / 100:.2f}"
        return old_text, f"{money.amount:.2f} {money.currency}"

    async def _replace_communication(self, element: Element, kind: str, value: str) -> str | None:
        """The first phone (e-mail) becomes `value`; one is added where there was none."""
        entity = ref_of(element).entity.value
        return await self.repos.elements.replace_first_communication(
            entity, element.id, kind, value
        )
