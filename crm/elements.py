"""Leads, contacts, companies and deals: create, load with access checks, notes, responsible.

Every public method takes the acting `Actor` and checks the access policy before it reads or
writes; callers (Telegram handlers, a future REST API) never decide access themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from crm import names
from crm.catalog import PipelineInfo, StageInfo
from crm.codes import ElementRef, parse_code
from crm.dictionary_kinds import kinds_of
from crm.effects import Effect, note
from crm.enums import WORK_KINDS, EntityType, FieldKind, LinkKind, Operation, Right, TimelineKind
from crm.errors import InvalidValue, NotFound
from crm.field_book import (
    Block,
    Shown,
    card_layout,
    department_chain,
    sees,
    view_for,
)
from crm.modes import CrmMode
from crm.money import to_minor
from crm.parsing import ParsedLine
from crm.permissions import Actor, Owner
from storage.base import unloaded
from storage.models import (
    Activity,
    Company,
    Contact,
    Deal,
    DealProduct,
    DictionaryItem,
    Lead,
    TimelineEntry,
    User,
)
from storage.repositories import Repos
from storage.repositories.elements import MODELS, Element

if TYPE_CHECKING:
    from crm.context import Runtime

_RELATIONSHIPS = {"responsible", "stage", "status", "pipeline", "contact", "company"}
MAX_TITLE = 255
MAX_COMMENT = 4000
NAME_CANDIDATES = 200  # stored names compared with a new one, those sharing most words first


def fold(*parts: str | None) -> str:
    """Text for case-insensitive search, folded in Python so Cyrillic folds on SQLite too."""
    return " ".join(p for p in parts if p).casefold()[:600]


def person_text(name: str) -> str:
    """A contact's search text: its folded name and the name's transliteration key."""
    return fold(name, names.search_key(name))


def lead_text(title: str, person: str | None, company: str | None) -> str:
    """A lead's search text: its title, person and company, and the person's key."""
    return fold(title, person, company, names.search_key(person or ""))


def deal_text(title: str, client: str | None, company: str | None) -> str:
    """A deal's search text: its title and its contact's and company's names."""
    return fold(title, client, company)


def refold(element: Element, *, client: str | None = None, company: str | None = None) -> None:
    """The element's search text, one rule per type, wherever its names change: a contact by
    its name (and its transliteration key), a lead by its title, person and company, a company
    by its title, a deal by its title and its client's and company's names (`client` and
    `company` when the relationships are not loaded yet, as at creation)."""
    if isinstance(element, Contact):
        element.search_text = person_text(element.name)
    elif isinstance(element, Lead):
        element.search_text = lead_text(element.title, element.contact_name, element.company_title)
    elif isinstance(element, Deal):
        element.search_text = deal_text(
            element.title,
            client or (element.contact.name if element.contact else None),
            company or (element.company.title if element.company else None),
        )
    elif isinstance(element, Company):
        element.search_text = fold(element.title)


def label_of(element: Element) -> str:
    if isinstance(element, Contact):
        return element.name
    if isinstance(element, Company | Deal | Lead):
        return element.title or (element.contact_name if isinstance(element, Lead) else "") or ""
    return ""


def entity_of(element: Element) -> EntityType:
    return {Lead: EntityType.LEAD, Contact: EntityType.CONTACT, Company: EntityType.COMPANY,
            Deal: EntityType.DEAL}[type(element)]  # fmt: skip


def ref_of(element: Element) -> ElementRef:
    return ElementRef(entity_of(element), element.id)


@dataclass(frozen=True, slots=True)
class ElementInput:
    """What a person gave for a new element, whatever front end they used."""

    title: str = ""
    name: str | None = None  # a person's name; None when the line named nobody
    company: str | None = None  # a company's name (read from a legal form: `ACME Sp. z o.o.`)
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    amount: Decimal | None = None
    currency: str | None = None
    comment: str | None = None
    source: str | None = None
    first_name: str | None = None  # parts of `name` when known (`Kowalski Jan`)
    last_name: str | None = None
    address: str | None = None  # kept in the client's comment: the models have no field for it

    @classmethod
    def from_parsed(cls, parsed: ParsedLine, **extra: Any) -> ElementInput:
        return cls(
            title=parsed.rest[:MAX_TITLE],
            name=parsed.name,
            company=parsed.company,
            phones=parsed.phones,
            emails=parsed.emails,
            amount=parsed.money.amount if parsed.money else None,
            currency=parsed.money.currency if parsed.money else None,
            first_name=parsed.first_name,
            last_name=parsed.last_name,
            address=parsed.address,
            **extra,
        )

    @property
    def has_person(self) -> bool:
        """Whether a new deal gets a contact: a name, or a phone/e-mail with no company to
        hold it (a number is never dropped). `Abonament 900 zł` names nobody: no contact."""
        return bool(self.name or ((self.phones or self.emails) and not self.company))

    def is_empty(self) -> bool:
        return not (
            self.title
            or self.has_person
            or self.company
            or self.amount is not None
            or self.address
        )


@dataclass(frozen=True, slots=True)
class DuplicateHit:
    ref: ElementRef
    label: str
    reason: str  # "phone", "email" or "name"
    visible: bool  # False: the actor may not read it; show only who is responsible
    responsible: str | None


@dataclass(frozen=True, slots=True)
class Card:
    """Everything a card shows, gathered under one access check."""

    ref: ElementRef
    element: Element
    phones: list[str]
    emails: list[str]
    timeline: list[TimelineEntry]
    timeline_total: int
    names: dict[int, str]  # user id → name, for the responsible and timeline authors
    stages: Sequence[StageInfo]  # the deal's pipeline stages / lead statuses; empty otherwise
    stage: StageInfo | None  # the deal's stage or the lead's status
    pipeline: PipelineInfo | None  # the deal's pipeline
    can_update: bool
    activities: Sequence[Activity]  # open ones, soonest first
    now: datetime
    source: DictionaryItem | None
    pipelines: int  # how many pipelines exist (a deal can move between them when > 1)
    # A deal's client (contact, else company) as the deal's reader may see it: how to reach
    # them, even when the client's own card is someone else's; `client_readable` says
    # whether the reader may open that card.
    client_phones: list[str] = field(default_factory=list)
    client_emails: list[str] = field(default_factory=list)
    client_readable: dict[ElementRef, bool] = field(default_factory=dict)
    deals: Sequence[Deal] = ()  # a contact's or company's deals the reader may read
    can_add_deal: bool = False  # a contact or company card offers "New deal"
    product_rows: Sequence[DealProduct] = ()  # a deal's product rows (crm/products.py)
    links: Sequence[Link] = ()  # elements made from this one's card, or it from theirs
    can_create_deal: bool = False  # the actor may add deals (a lead's or deal's card offers it)
    fields: Sequence[Shown] = ()  # custom fields the reader may see, in the card's order
    # The sections and the view the reader's card follows (crm.field_book.card_layout); None:
    # neither exists for the type, the card keeps its default layout.
    layout: tuple[Block, ...] | None = None
    hidden_system: frozenset[str] = frozenset()  # codes of system fields hidden from cards
    seen_fields: frozenset[int] = frozenset()  # every field id the reader may see (history)
    values: Sequence[Choice] = ()  # the dictionary values it holds besides its source
    # Every entry of the dictionaries it holds, by (kind, code): names for its history.
    dictionary: Mapping[tuple[str, str], DictionaryItem] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Choice:
    """A dictionary value an element holds: `item` None if the entry is gone."""

    kind: str
    code: str
    item: DictionaryItem | None


@dataclass(frozen=True, slots=True)
class Link:
    other: ElementRef
    kind: LinkKind
    outgoing: bool  # True: `other` was made from this element


@dataclass(frozen=True, slots=True)
class Creation:
    primary: ElementRef
    created: tuple[ElementRef, ...] = field(default_factory=tuple)


class ElementService:
    def __init__(self, repos: Repos, runtime: Runtime) -> None:
        self.repos = repos
        self.runtime = runtime

    # --- access ------------------------------------------------------------------------------
    async def owner(self, element: Element) -> Owner:
        responsible = await element.awaitable_attrs.responsible
        department = responsible.department_id if responsible is not None else None
        return Owner(user_id=element.responsible_id, department_id=department)

    async def load(self, actor: Actor, ref: ElementRef, op: Operation = Operation.READ) -> Element:
        element = await self.repos.elements.get(MODELS[ref.entity.value], ref.id)
        if element is None:
            raise NotFound(ref.entity.value, ref.code)
        if unloaded(element) & _RELATIONSHIPS:
            # Created in this session: its relationships were never loaded. One refresh
            # loads them all (joined), so callers never trigger a lazy load under asyncio.
            await self.repos.session.refresh(element)
        owner = await self.owner(element)
        if not self.runtime.policy.allows(actor, ref.entity, Operation.READ, owner):
            # Told exactly like a missing one: nobody learns that someone else's D7 exists.
            raise NotFound(ref.entity.value, ref.code)
        self.runtime.policy.require(actor, ref.entity, op, owner)
        return element

    async def can(self, actor: Actor, element: Element, op: Operation) -> bool:
        return self.runtime.policy.allows(actor, entity_of(element), op, await self.owner(element))

    # --- creation ----------------------------------------------------------------------------
    async def create(
        self, actor: Actor, entity: EntityType, data: ElementInput, *, commit: bool = True
    ) -> Creation:
        """`/deal`, `/contact`, `/company`, and `/lead` as typed (no mode logic here).

        `commit=False` leaves the transaction open for a caller whose own change must commit
        together with the element (a triage request claimed for it)."""
        if data.is_empty():
            raise InvalidValue("text", "")
        if data.amount is not None and data.amount < 0:
            raise InvalidValue("amount", str(data.amount))
        self.runtime.policy.require(
            actor, entity, Operation.ADD, Owner(actor.user_id, actor.department_id)
        )
        element: Element
        if entity is EntityType.CONTACT:
            company = await self._new_company(actor, data, people=False) if data.company else None
            element = await self._new_contact(
                actor, data, name=data.name or data.title, company=company
            )
            created = (ref_of(element), *([ref_of(company)] if company else []))
        elif entity is EntityType.COMPANY:
            element = await self._new_company(actor, data)
            created = (ref_of(element),)
        elif entity is EntityType.LEAD:
            element = await self._new_lead(actor, data)
            created = (ref_of(element),)
        elif entity is EntityType.DEAL:
            element, created = await self._new_deal_with_contact(actor, data)
        else:
            raise InvalidValue("entity", entity.value)
        if commit:
            await self.repos.commit()
        return Creation(ref_of(element), created)

    async def create_deal_for(
        self, actor: Actor, client: ElementRef, data: ElementInput, *, commit: bool = True
    ) -> Creation:
        """`/deal C1 Drugie zamówienie 3000 zł`: a new deal of an existing contact or company
        (a contact's company comes along). The client must be one the actor may read."""
        element, contact, company = await self._client_of(actor, client, EntityType.DEAL, data)
        catalog = await self.runtime.catalog.get(self.repos)
        pipeline = catalog.default_pipeline
        stage = catalog.stages[pipeline.id][0]
        title = (data.title or label_of(element))[:MAX_TITLE]
        deal = await self.repos.elements.add(
            Deal(
                title=title,
                pipeline_id=pipeline.id,
                stage_id=stage.id,
                contact_id=contact.id if contact else None,
                company_id=company.id if company else None,
                comment=_comment(_with_address(data.comment, data.address)),
                search_text=deal_text(
                    title, contact.name if contact else None, company.title if company else None
                ),
                stage_changed_at=self.runtime.clock.now(),
                **self._money(data),
                **self._authored(actor, data),
            )
        )
        await self.record(actor, ref_of(deal), TimelineKind.CREATED, stage=stage.id)
        if commit:
            await self.repos.commit()
        return Creation(ref_of(deal), (ref_of(deal),))

    async def repeat_lead(
        self, actor: Actor, client: ElementRef, data: ElementInput, *, commit: bool = True
    ) -> Creation:
        """Bitrix24's *repeat lead*: a returning client's new lead, linked to their contact
        (or company) from the start instead of asking for conversion to create one again."""
        _element, contact, company = await self._client_of(actor, client, EntityType.LEAD, data)
        lead = await self._new_lead(
            actor,
            replace(
                data,
                name=data.name or (contact.name if contact else None),
                company=data.company or (company.title if company else None),
            ),
        )
        lead.contact_id = contact.id if contact else None
        lead.company_id = company.id if company else None
        await self.record(actor, ref_of(lead), TimelineKind.REPEAT, client=client.code)
        if commit:
            await self.repos.commit()
        return Creation(ref_of(lead), (ref_of(lead),))

    async def _client_of(
        self, actor: Actor, client: ElementRef, entity: EntityType, data: ElementInput
    ) -> tuple[Contact | Company, Contact | None, Company | None]:
        """An existing client for a new `entity` of theirs: one the actor may read (a
        contact's company comes along), and the actor may add such elements."""
        if data.amount is not None and data.amount < 0:
            raise InvalidValue("amount", str(data.amount))
        element = await self.load(actor, client)
        if not isinstance(element, Contact | Company):
            raise InvalidValue("client", client.code)
        self.runtime.policy.require(
            actor, entity, Operation.ADD, Owner(actor.user_id, actor.department_id)
        )
        contact = element if isinstance(element, Contact) else None
        company = element if isinstance(element, Company) else element.company
        return element, contact, company

    async def client_by_communication(self, actor: Actor, data: ElementInput) -> ElementRef | None:
        """The one contact or company (readable by the actor) holding the line's phone or
        e-mail, when the line names nobody else: `/deal +48 600 100 200 serwis`."""
        if data.name or data.company or not (data.phones or data.emails):
            return None
        found = await self.repos.elements.owners_of_any(
            {"phone": data.phones, "email": data.emails}
        )
        refs = {
            ElementRef(EntityType(entity), element_id)
            for _kind, entity, element_id in found
            if entity in (EntityType.CONTACT.value, EntityType.COMPANY.value)
        }
        readable = []
        for ref in refs:
            element = await self.repos.elements.get(MODELS[ref.entity.value], ref.id)
            if element is not None and await self.can(actor, element, Operation.READ):
                readable.append(ref)
        return readable[0] if len(readable) == 1 else None

    async def intake(self, actor: Actor, data: ElementInput) -> Creation:
        """`/lead`: a lead in Classic mode; in Simple mode a deal plus its contact."""
        mode = await self.mode()
        if mode is CrmMode.CLASSIC:
            return await self.create(actor, EntityType.LEAD, data)
        return await self.create(actor, EntityType.DEAL, data)

    async def mode(self) -> CrmMode:
        return (await self.runtime.catalog.get(self.repos)).mode

    def contact_of(
        self,
        actor: Actor,
        data: ElementInput,
        name: str | None,
        company: Company | None = None,
        *,
        title_in_comment: bool = True,
        origin: Lead | None = None,
    ) -> Contact:
        """A new contact, not stored yet (`_new_contact` stores one; the import many at once)."""
        name = (
            name
            or (data.phones[0] if data.phones else "")
            or (data.emails[0] if data.emails else "")
        )
        if data.name and name == data.name and (data.first_name or data.last_name):
            first, last = data.first_name, data.last_name
        else:
            first, last = _split_name(name)
        remark = data.comment or (data.title if data.name and title_in_comment else None)
        return Contact(
            name=name[:MAX_TITLE],
            first_name=first[:120] if first else None,
            last_name=last[:120] if last else None,
            company_id=company.id if company else None,
            comment=_comment(_with_address(remark, data.address)),
            search_text=person_text(name),
            **self._authored(actor, data, origin),
        )

    def company_of(
        self, actor: Actor, data: ElementInput, *, people: bool = True, origin: Lead | None = None
    ) -> Company:
        """A new company, not stored yet. `people=False`: a contact is created beside it and
        takes the phones, e-mails and address."""
        others = " ".join(p for p in (data.name, data.title) if p)
        title = data.company or others
        if not title:
            title = data.phones[0] if data.phones else (data.emails[0] if data.emails else "")
        remark = data.comment or (others if data.company and people else None)
        return Company(
            title=title[:MAX_TITLE],
            comment=_comment(_with_address(remark, data.address if people else None)),
            search_text=fold(title),
            **self._authored(actor, data, origin),
        )

    def lead_of(self, actor: Actor, data: ElementInput, status_id: int) -> Lead:
        """A new lead at `status_id`, not stored yet."""
        title = data.title or data.name or data.company or ""
        return Lead(
            title=title[:MAX_TITLE],
            contact_name=data.name,
            company_title=data.company,
            status_id=status_id,
            comment=_comment(_with_address(data.comment, data.address)),
            search_text=lead_text(title, data.name, data.company),
            **self._money(data),
            **self._authored(actor, data),
        )

    async def _new_contact(
        self,
        actor: Actor,
        data: ElementInput,
        name: str | None,
        company: Company | None = None,
        *,
        title_in_comment: bool = True,
        origin: Lead | None = None,
    ) -> Contact:
        contact = await self.repos.elements.add(
            self.contact_of(
                actor, data, name, company, title_in_comment=title_in_comment, origin=origin
            )
        )
        await self._add_communications(EntityType.CONTACT, contact.id, data)
        await self.record(actor, ref_of(contact), TimelineKind.CREATED, **_from_lead(origin))
        return contact

    async def _new_company(
        self, actor: Actor, data: ElementInput, *, people: bool = True, origin: Lead | None = None
    ) -> Company:
        """`/company`, or the company a deal or contact line named. `people=False`: a contact
        is created beside it and takes the phones, e-mails and address."""
        company = await self.repos.elements.add(
            self.company_of(actor, data, people=people, origin=origin)
        )
        if people:
            await self._add_communications(EntityType.COMPANY, company.id, data)
        await self.record(actor, ref_of(company), TimelineKind.CREATED, **_from_lead(origin))
        return company

    async def _new_lead(self, actor: Actor, data: ElementInput) -> Lead:
        statuses = (await self.runtime.catalog.get(self.repos)).lead_statuses
        lead = await self.repos.elements.add(self.lead_of(actor, data, statuses[0].id))
        await self._add_communications(EntityType.LEAD, lead.id, data)
        await self.record(actor, ref_of(lead), TimelineKind.CREATED)
        return lead

    async def _new_deal_with_contact(
        self, actor: Actor, data: ElementInput
    ) -> tuple[Deal, tuple[ElementRef, ...]]:
        contact = None
        company = None
        if data.company:
            # With nobody named the company holds the phones, e-mails and address.
            company = await self._new_company(
                actor, replace(data, title="", name=None), people=not data.has_person
            )
        if data.has_person:
            contact = await self._new_contact(
                actor, data, data.name, company, title_in_comment=False
            )
        catalog = await self.runtime.catalog.get(self.repos)
        pipeline = catalog.default_pipeline
        stage = catalog.stages[pipeline.id][0]
        now = self.runtime.clock.now()
        title = (
            data.title
            or data.name
            or data.company
            or (data.phones[0] if data.phones else "")
            or ""
        )
        address = None if contact or company else data.address
        deal = await self.repos.elements.add(
            Deal(
                title=title[:MAX_TITLE],
                pipeline_id=pipeline.id,
                stage_id=stage.id,
                contact_id=contact.id if contact else None,
                company_id=company.id if company else None,
                comment=_comment(_with_address(data.comment, address)),
                search_text=deal_text(title, data.name, data.company),
                stage_changed_at=now,
                **self._money(data),
                **self._authored(actor, data),
            )
        )
        await self.record(actor, ref_of(deal), TimelineKind.CREATED, stage=stage.id)
        created = (ref_of(deal), *(ref_of(e) for e in (contact, company) if e is not None))
        return deal, created

    def _authored(
        self, actor: Actor, data: ElementInput, origin: Lead | None = None
    ) -> dict[str, Any]:
        """What every new element starts with: the actor is its author and responsible (of
        one converted from a lead, the lead's responsible)."""
        return {
            "responsible_id": origin.responsible_id if origin else actor.user_id,
            "created_by_id": actor.user_id,
            "source": data.source,
            # Set here, not by the server: a server default would cost a re-select per insert.
            "created_at": self.runtime.clock.now(),
            "updated_at": self.runtime.clock.now(),
        }

    @staticmethod
    def _money(data: ElementInput) -> dict[str, Any]:
        if data.amount is None:
            return {"amount_minor": None, "currency": None}
        return {"amount_minor": to_minor(data.amount), "currency": data.currency}

    async def _add_communications(
        self, entity: EntityType, element_id: int, data: ElementInput
    ) -> None:
        await self.repos.elements.add_new_communications(
            entity.value, element_id, {"phone": data.phones, "email": data.emails}
        )

    # --- duplicates --------------------------------------------------------------------------
    async def find_duplicates(
        self, actor: Actor, entity: EntityType, data: ElementInput
    ) -> list[DuplicateHit]:
        """Leads, contacts and companies with the same phone or e-mail, or a very similar name.

        Deals are not checked (Bitrix24: deals are merged by hand only); a deal's contact is.
        """
        if entity is EntityType.DEAL and not data.has_person:
            return []
        hits: dict[ElementRef, str] = {}
        found = await self.repos.elements.owners_of_any(
            {"phone": data.phones, "email": data.emails}
        )
        for kind, owner_entity, owner_id in found:
            hits.setdefault(ElementRef(EntityType(owner_entity), owner_id), kind)
        name = data.name if entity is not EntityType.COMPANY else (data.name or data.title)
        if name and len(name) >= 3:
            for similar in await self._similar_names(entity, name):
                hits.setdefault(ref_of(similar), "name")
        result = []
        for ref, reason in list(hits.items())[:10]:
            element = await self.repos.elements.get(MODELS[ref.entity.value], ref.id)
            if element is None:
                continue
            visible = await self.can(actor, element, Operation.READ)
            owner = await element.awaitable_attrs.responsible
            responsible = owner.name if owner is not None else None
            result.append(
                DuplicateHit(
                    ref, label_of(element) if visible else "", reason, visible, responsible
                )
            )
        return result

    async def _similar_names(self, entity: EntityType, name: str) -> list[Element]:
        """Stored names that are this person (crm/names.py decides), or for a company a very
        similar company name. The candidates come from the repository: those sharing most
        word beginnings and endings with the name first."""
        needles = names.candidate_needles(name)
        if not needles:
            return []
        company = entity is EntityType.COMPANY
        models: list[type[Element]] = [Company] if company else [Contact, Lead]
        same = names.same_company if company else names.same_person
        found: list[Element] = []
        for model in models:
            candidates = await self.repos.elements.name_candidates(
                model, needles, limit=NAME_CANDIDATES
            )
            for candidate in candidates:
                if isinstance(candidate, Contact):
                    other: str | None = candidate.name
                elif isinstance(candidate, Lead):
                    other = candidate.contact_name
                else:
                    other = candidate.title
                if other and same(name, other):
                    found.append(candidate)
        return found

    # --- changes -----------------------------------------------------------------------------
    async def add_note(self, actor: Actor, ref: ElementRef, text: str) -> None:
        text = text.strip()
        if not text:
            raise InvalidValue("text", "")
        await self.load(actor, ref, Operation.UPDATE)
        await self.record(actor, ref, TimelineKind.COMMENT, text=text[:MAX_COMMENT])
        await self.repos.commit()

    async def set_responsible(
        self, actor: Actor, ref: ElementRef, user_id: int, *, commit: bool = True
    ) -> tuple[Element, User]:
        """Hand the element to another user. Per element: a company's contacts keep theirs."""
        element = await self.load(actor, ref, Operation.UPDATE)
        user = await self.repos.users.get(user_id)
        if user is None or not user.is_active:
            raise NotFound("user", user_id)
        # The actor must be allowed to give it to that person (a rep: only to themselves).
        self.runtime.policy.require(
            actor, ref.entity, Operation.UPDATE, Owner(user.id, user.department_id)
        )
        previous = element.responsible_id
        if previous != user.id:
            element.responsible_id = user.id
            element.responsible = user
            element.updated_at = self.runtime.clock.now()
            await self.record(actor, ref, TimelineKind.ASSIGNED, old=previous, new=user.id)
            if commit:
                await self.repos.commit()
        return element, user

    async def assignable_users(self, actor: Actor, ref: ElementRef) -> list[User]:
        await self.load(actor, ref, Operation.UPDATE)
        users = await self.repos.users.list_active()
        policy = self.runtime.policy
        return [
            u
            for u in users
            if u.telegram_id is not None
            and policy.allows(actor, ref.entity, Operation.UPDATE, Owner(u.id, u.department_id))
        ]

    # --- timeline ----------------------------------------------------------------------------
    async def record(
        self, actor: Actor | None, ref: ElementRef, kind: TimelineKind, **data: Any
    ) -> None:
        activity_id = data.get("id") if kind.startswith("activity") else None
        note(self.repos.session, Effect(kind, ref, activity_id))  # what the reply tells, if any
        now = self.runtime.clock.now()
        await self.repos.elements.add_timeline(
            TimelineEntry(
                entity=ref.entity.value,
                entity_id=ref.id,
                kind=kind,
                author_id=actor.user_id if actor else None,
                created_at=now,
                data=data,
            )
        )
        if ref.entity is EntityType.DEAL:  # what the reports read (crm/reports.py)
            await self.repos.elements.touch_deal(ref.id, now, work=kind in WORK_KINDS)

    async def timeline(
        self, actor: Actor, ref: ElementRef, page: int = 0, per_page: int = 5
    ) -> tuple[list[TimelineEntry], int]:
        element = await self.load(actor, ref)
        rows, total = await self.repos.elements.timeline(
            ref.entity.value,
            ref.id,
            max(page, 0) * per_page,
            per_page,
            seen_fields=await self.seen_fields(actor, element),
        )
        return list(rows), total

    async def card(self, actor: Actor, ref: ElementRef, page: int = 0, per_page: int = 5) -> Card:
        element = await self.load(actor, ref)
        phones, emails = await self.communications(ref)
        fields, seen_fields = await self.custom_fields(actor, element)
        # Changes of fields the reader may not see are left out by the query itself, so that
        # the pages and "History (n of total)" count only what this reader is shown.
        entries, total = await self.repos.elements.timeline(
            ref.entity.value,
            ref.id,
            max(page, 0) * per_page,
            per_page,
            seen_fields=seen_fields,
        )
        user_ids = {e.author_id for e in entries if e.author_id}
        for entry in entries:
            if entry.kind == "assigned":
                user_ids |= {v for k, v in entry.data.items() if k in ("old", "new") and v}
        if element.responsible_id:
            user_ids.add(element.responsible_id)
        catalog = await self.runtime.catalog.get(self.repos)
        stages: Sequence[StageInfo] = ()
        stage = pipeline = None
        if isinstance(element, Deal):
            stages = catalog.stages.get(element.pipeline_id, ())
            stage, pipeline = (
                catalog.stage(element.stage_id),
                catalog.pipeline(element.pipeline_id),
            )
        elif isinstance(element, Lead):
            stages, stage = catalog.lead_statuses, catalog.stage(element.status_id)
        # The entries of every dictionary this element holds: its values, and the names of
        # the codes its history's changes recorded.
        kinds = kinds_of(type(element))
        dictionary = {
            (item.kind, item.code): item for item in await self.repos.pipelines.dictionaries(kinds)
        }
        source = dictionary.get(("source", element.source or ""))
        values = [
            Choice(kind, code, dictionary.get((kind, code)))
            for kind in kinds
            if kind != "source" and (code := getattr(element, kind))
        ]
        client_phones: list[str] = []
        client_emails: list[str] = []
        readable: dict[ElementRef, bool] = {}
        if isinstance(element, Deal):
            # Reading a deal is reading its client's name, phones and e-mails (to call them),
            # not the rest of the client's card.
            for client in (element.contact, element.company):
                if client is None:
                    continue
                readable[ref_of(client)] = await self.can(actor, client, Operation.READ)
                phones_, emails_ = await self.communications(ref_of(client))
                client_phones += [p for p in phones_ if p not in client_phones]
                client_emails += [e for e in emails_ if e not in client_emails]
        layout, hidden_system = await self.layout(actor, ref.entity)
        return Card(
            ref=ref,
            element=element,
            fields=fields,
            layout=layout,
            hidden_system=hidden_system,
            seen_fields=seen_fields,
            phones=phones,
            emails=emails,
            timeline=list(entries),
            timeline_total=total,
            names=await self.repos.users.names(user_ids),
            stages=stages,
            stage=stage,
            pipeline=pipeline,
            can_update=await self.can(actor, element, Operation.UPDATE),
            activities=await self.repos.activities.open_for_element(ref.entity.value, ref.id),
            now=self.runtime.clock.now(),
            source=source,
            values=values,
            dictionary=dictionary,
            pipelines=len(catalog.pipelines),
            client_phones=[p for p in client_phones if p not in phones],
            client_emails=[e for e in client_emails if e not in emails],
            client_readable=readable,
            deals=await self._client_deals(actor, ref),
            product_rows=await self.repos.products.rows(ref.id)
            if isinstance(element, Deal)
            else (),
            links=await self.links(ref),
            can_create_deal=self.runtime.policy.allows(
                actor, EntityType.DEAL, Operation.ADD, Owner(actor.user_id, actor.department_id)
            ),
            can_add_deal=isinstance(element, Contact | Company)
            and self.runtime.policy.allows(
                actor, EntityType.DEAL, Operation.ADD, Owner(actor.user_id, actor.department_id)
            ),
        )

    async def custom_fields(
        self, actor: Actor, element: Element
    ) -> tuple[list[Shown], frozenset[int]]:
        """The custom fields of a card as its reader may see them (hidden ones left out), and
        the ids of every field of the type the reader may see."""
        ref = ref_of(element)
        book = await self.runtime.fields.get(self.repos)
        seen = [f for f in book.of(ref.entity) if sees(self.runtime.policy, actor, f)]
        infos = [f for f in seen if not f.is_system and not f.hidden]
        shown: list[Shown] = []
        if infos:
            values = await self.repos.fields.values_of(ref.entity.value, ref.id)
            links = await self.link_labels(
                actor,
                [str(values[f.id]) for f in infos if f.kind is FieldKind.LINK and f.id in values],
            )
            for info in infos:
                value = values.get(info.id)
                label = links.get(str(value)) if info.kind is FieldKind.LINK else None
                shown.append(Shown(info, value, label))
        return shown, frozenset(f.id for f in seen)

    async def layout(
        self, actor: Actor, entity: EntityType
    ) -> tuple[tuple[Block, ...] | None, frozenset[str]]:
        """The blocks the reader's card of this type shows (None: the default layout) and the
        system fields hidden from every card."""
        book = await self.runtime.fields.get(self.repos)
        policy = self.runtime.policy
        chain = department_chain(policy.book.parents, actor.department_id)
        own = policy.has_right(actor, Right.MY_VIEW)
        view = view_for(book, entity, actor.user_id, chain, own=own)
        blocks = card_layout(book, entity, view, lambda f: sees(policy, actor, f))
        hidden = frozenset(f.code for f in book.of(entity) if f.is_system and f.hidden)
        return blocks, hidden

    async def seen_fields(self, actor: Actor, element: Element) -> frozenset[int]:
        """The ids of every field of the element's type the reader may see."""
        book = await self.runtime.fields.get(self.repos)
        return frozenset(
            f.id for f in book.of(entity_of(element)) if sees(self.runtime.policy, actor, f)
        )

    async def link_label(self, actor: Actor, code: str) -> str | None:
        """The name of the element a link field points to; None when the reader may not read
        it (the code alone is shown) or it is gone."""
        return (await self.link_labels(actor, [code])).get(code)

    async def link_labels(self, actor: Actor, codes: Sequence[str]) -> dict[str, str]:
        """The names of the elements these link values point to, by code, with one query a
        type (a card's link fields); those the reader may not read, or gone, are left out."""
        wanted: dict[EntityType, set[int]] = {}
        for code in codes:
            if (ref := parse_code(code)) is not None and ref.entity.value in MODELS:
                wanted.setdefault(ref.entity, set()).add(ref.id)
        labels: dict[str, str] = {}
        for entity, ids in wanted.items():
            scope = self.runtime.policy.scope(actor, entity, Operation.READ)
            for element in await self.repos.elements.by_ids(
                MODELS[entity.value], sorted(ids), scope
            ):
                labels[ElementRef(entity, element.id).code] = label_of(element)
        return labels

    async def links(self, ref: ElementRef) -> list[Link]:
        """What was made from this element's card and what it was made from (only codes are
        told: each linked card checks its own reader)."""
        found: list[Link] = []
        for link in await self.repos.products.links_of(ref.entity.value, ref.id):
            outgoing = link.source_entity == ref.entity.value and link.source_id == ref.id
            entity, other_id = (
                (link.target_entity, link.target_id)
                if outgoing
                else (link.source_entity, link.source_id)
            )
            found.append(
                Link(ElementRef(EntityType(entity), other_id), LinkKind(link.kind), outgoing)
            )
        return found

    async def _client_deals(self, actor: Actor, ref: ElementRef) -> Sequence[Deal]:
        if ref.entity not in (EntityType.CONTACT, EntityType.COMPANY):
            return ()
        scope = self.runtime.policy.scope(actor, EntityType.DEAL, Operation.READ)
        return await self.repos.elements.deals_of_client(ref.entity.value, ref.id, scope)

    async def communications(self, ref: ElementRef) -> tuple[list[str], list[str]]:
        rows = await self.repos.elements.communications_of(ref.entity.value, ref.id)
        return [v for k, v in rows if k == "phone"], [v for k, v in rows if k == "email"]


def _from_lead(origin: Lead | None) -> dict[str, str]:
    """The timeline's note on an element converted from a lead."""
    return {"from_lead": ref_of(origin).code} if origin else {}


def _split_name(name: str) -> tuple[str | None, str | None]:
    parts = name.split()
    if len(parts) < 2:
        return (parts[0][:120] if parts else None), None
    return parts[0][:120], " ".join(parts[1:])[:120]


def _with_address(text: str | None, address: str | None) -> str | None:
    return "\n".join(p for p in (text, address) if p) or None


def _comment(text: str | None) -> str | None:
    return text.strip()[:MAX_COMMENT] if text and text.strip() else None
