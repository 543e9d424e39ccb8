"""Lead conversion and switching between Simple and Classic CRM mode (Bitrix24 rules).

Converting a lead creates a contact, a company and/or a deal from it, links them, and closes
the lead with its success status. Switching Classic → Simple converts every active lead with
the options the admin chose: contact, company or both; the target pipeline; and whether the
lead's open activities stay open (moved to the deal) or are closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from crm.codes import ElementRef
from crm.elements import ElementInput, ElementService, deal_text, ref_of
from crm.enums import EntityType, Operation, Right, TimelineKind
from crm.errors import AlreadyConverted, FieldsRequired, InvalidValue, NotFound
from crm.modes import CrmMode
from crm.permissions import Actor, Owner
from crm.stages import SUCCESS
from storage.models import Company, Contact, Deal, Lead, Stage
from storage.repositories import Repos

if TYPE_CHECKING:
    from crm.context import Runtime
    from crm.fields import FieldService


@dataclass(frozen=True, slots=True)
class ConversionOptions:
    contact: bool = True
    company: bool = False
    deal: bool = True
    pipeline_id: int | None = None  # None: the default pipeline
    # Keep the lead's open activities open (moved to the deal) or close them all.
    keep_activities_open: bool = True

    def __post_init__(self) -> None:
        if not (self.contact or self.company or self.deal):
            raise InvalidValue("conversion", "nothing")


@dataclass(frozen=True, slots=True)
class Conversion:
    lead: ElementRef
    created: tuple[ElementRef, ...]


class ConversionService:
    def __init__(
        self, repos: Repos, runtime: Runtime, elements: ElementService, fields: FieldService
    ) -> None:
        self.repos = repos
        self.runtime = runtime
        self.elements = elements
        self.fields = fields

    async def convert(self, actor: Actor, lead_id: int, options: ConversionOptions) -> Conversion:
        ref = ElementRef(EntityType.LEAD, lead_id)
        lead = await self.elements.load(actor, ref, Operation.UPDATE)
        assert isinstance(lead, Lead)
        mine = Owner(actor.user_id, actor.department_id)
        for entity, wanted in (
            (EntityType.CONTACT, options.contact),
            (EntityType.COMPANY, options.company),
            (EntityType.DEAL, options.deal),
        ):
            if wanted:
                self.runtime.policy.require(actor, entity, Operation.ADD, mine)
        # Conversion moves the lead to its success status: the fields required there must be
        # filled first, as for any other move. (Switching to Simple mode converts every lead
        # without asking: the admin chose it for all of them.)
        if lead.closed_at is None:
            converted = await self._success_status()
            if missing := await self.fields.missing(actor, lead, converted.id):
                raise FieldsRequired(
                    converted.id,
                    tuple(f.id for f in missing),
                    code=ref.code,
                    stage=converted,
                    fields=tuple(missing),
                )
        result = await self._convert(actor, lead, options)
        await self.repos.commit()
        return result

    async def _convert(self, actor: Actor, lead: Lead, options: ConversionOptions) -> Conversion:
        if lead.closed_at is not None:
            raise AlreadyConverted()
        now = self.runtime.clock.now()
        ref = ref_of(lead)
        responsible = lead.responsible_id
        created: list[ElementRef] = []
        company: Company | None = None
        contact: Contact | None = None
        # The same factories as creation (names split, the name search key, timeline entry);
        # the phones and e-mails are the lead's, copied by move_communications below.
        if options.company and (lead.company_title or not options.contact):
            title = lead.company_title or lead.title or lead.contact_name or ref.code
            company = await self.elements._new_company(
                actor, ElementInput(company=title, source=lead.source), origin=lead
            )
            await self.repos.elements.move_communications("lead", lead.id, "company", company.id)
            created.append(ref_of(company))
        if options.contact:
            name = lead.contact_name or lead.title or ref.code
            person = ElementInput(name=lead.contact_name, source=lead.source)
            contact = await self.elements._new_contact(
                actor, person, name, company, title_in_comment=False, origin=lead
            )
            await self.repos.elements.move_communications("lead", lead.id, "contact", contact.id)
            created.append(ref_of(contact))
        deal = None
        if options.deal:
            pipeline = (
                await self.repos.pipelines.get(options.pipeline_id)
                if options.pipeline_id is not None
                else await self.repos.pipelines.default()
            )
            if pipeline is None:
                raise NotFound("pipeline", options.pipeline_id)
            stage = (await self.repos.pipelines.stages(pipeline.id))[0]
            title = lead.title or lead.contact_name or ref.code
            deal = await self.repos.elements.add(
                Deal(title=title[:255], pipeline_id=pipeline.id, stage_id=stage.id,
                     contact_id=contact.id if contact else None,
                     company_id=company.id if company else None, lead_id=lead.id,
                     amount_minor=lead.amount_minor, currency=lead.currency,
                     responsible_id=responsible, created_by_id=_id(actor), source=lead.source,
                     comment=lead.comment,
                     search_text=deal_text(title, lead.contact_name, lead.company_title),
                     created_at=now, stage_changed_at=now)
            )  # fmt: skip
            created.append(ref_of(deal))
            await self.elements.record(
                actor, ref_of(deal), TimelineKind.CREATED, from_lead=ref.code
            )
        await self._hand_over_activities(lead, deal or contact or company, options, now)
        converted = await self._success_status()
        old_status = lead.status_id
        lead.status_id = converted.id
        lead.status = converted
        lead.closed_at = now
        lead.contact_id = contact.id if contact else None
        lead.company_id = company.id if company else None
        lead.deal_id = deal.id if deal else None
        codes = [r.code for r in created]
        await self.elements.record(
            actor, ref, TimelineKind.CONVERTED, old=old_status, new=converted.id, created=codes,
            keep_activities_open=options.keep_activities_open,
        )  # fmt: skip
        return Conversion(ref, tuple(created))

    async def _success_status(self) -> Stage:
        return next(s for s in await self.repos.pipelines.lead_statuses() if s.semantic == SUCCESS)

    async def _hand_over_activities(
        self,
        lead: Lead,
        target: Deal | Contact | Company | None,
        options: ConversionOptions,
        now: datetime,
    ) -> None:
        """Open activities move to what the lead became, or are closed (the admin's choice)."""
        if options.keep_activities_open and target is not None:
            new = ref_of(target)
            await self.repos.activities.move_bindings("lead", lead.id, new.entity.value, new.id)
            return
        for activity in await self.repos.activities.open_for_element(
            "lead", lead.id, limit=10_000
        ):
            activity.completed_at = now
            await self.repos.reminders.cancel_pending(activity.id)

    async def set_mode(
        self, actor: Actor, mode: CrmMode, options: ConversionOptions | None = None
    ) -> list[Conversion]:
        """Switch the CRM mode. Classic → Simple converts every active lead first."""
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        current = await self.elements.mode()
        conversions: list[Conversion] = []
        if current is CrmMode.CLASSIC and mode is CrmMode.SIMPLE:
            options = options or ConversionOptions()
            for lead in await self.repos.elements.open_leads():
                conversions.append(await self._convert(actor, lead, options))
        await self.repos.pipelines.set_setting("crm_mode", mode.value)
        await self.repos.commit()
        self.runtime.catalog.invalidate()
        return conversions

    async def open_lead_count(self) -> int:
        return len(await self.repos.elements.open_leads())


def _id(actor: Actor | None) -> int | None:
    return actor.user_id if actor else None
