"""CRM elements — lead, contact, company, deal — with their phones/e-mails and timeline.

Money is stored as integer minor units (`amount_minor`, hundredths) with an ISO currency:
exact, and cheap to sum in reports over millions of deals.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base, TimestampMixin
from storage.models.people import User
from storage.models.pipeline import Pipeline, Stage


class _Element(TimestampMixin):
    """Columns every element has: who is responsible, who created it, a comment, and a
    case-folded `search_text` (SQLite's lower() leaves Cyrillic alone, so Python folds)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    responsible_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    source: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(String(600), default="")


class Company(_Element, Base):
    __tablename__ = "companies"
    # The import's exact lookups by name (crm/imports.py: duplicates, links by name).
    __table_args__ = (Index("ix_companies_search_text", "search_text"),)

    title: Mapped[str] = mapped_column(String(255))
    company_type: Mapped[str | None] = mapped_column(String(64))
    industry: Mapped[str | None] = mapped_column(String(64))
    employees: Mapped[str | None] = mapped_column(String(64))  # an "employee count" code

    responsible: Mapped[User | None] = relationship(
        foreign_keys="Company.responsible_id", lazy="joined"
    )


class Contact(_Element, Base):
    __tablename__ = "contacts"
    __table_args__ = (Index("ix_contacts_search_text", "search_text"),)

    name: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[str | None] = mapped_column(String(120))
    last_name: Mapped[str | None] = mapped_column(String(120))
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    contact_type: Mapped[str | None] = mapped_column(String(64))
    salutation: Mapped[str | None] = mapped_column(String(64))  # Mr., Mrs., … (a code)
    # Bitrix24: a contact is exported only while this is on.
    export_allowed: Mapped[bool] = mapped_column(default=True)

    responsible: Mapped[User | None] = relationship(
        foreign_keys="Contact.responsible_id", lazy="joined"
    )
    company: Mapped[Company | None] = relationship(lazy="joined")


class Lead(_Element, Base):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_responsible_created", "responsible_id", "created_at"),
        Index("ix_leads_search_text", "search_text"),
    )

    title: Mapped[str] = mapped_column(String(255))
    contact_name: Mapped[str | None] = mapped_column(String(255))
    company_title: Mapped[str | None] = mapped_column(String(255))
    status_id: Mapped[int] = mapped_column(ForeignKey("stages.id"), index=True)
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    closed_at: Mapped[datetime | None]
    # What conversion produced, so the card can link to it.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"))
    deal_id: Mapped[int | None]  # no FK: deals reference leads, and a cycle buys nothing here

    responsible: Mapped[User | None] = relationship(
        foreign_keys="Lead.responsible_id", lazy="joined"
    )
    status: Mapped[Stage] = relationship(lazy="joined")


class Deal(_Element, Base):
    __tablename__ = "deals"
    __table_args__ = (
        Index("ix_deals_open_by_responsible", "responsible_id", "closed_at"),
        # Reports (crm/reports.py): new deals of a rep in a period; deals touched in a period;
        # a rep's open deals by their last piece of work (the stalled list).
        Index("ix_deals_responsible_created", "responsible_id", "created_at"),
        Index("ix_deals_responsible_touched", "responsible_id", "touched_at"),
        Index("ix_deals_stalled", "responsible_id", "closed_at", "last_activity_at"),
    )

    title: Mapped[str] = mapped_column(String(255))
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"), index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    deal_type: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None]
    failure_reason: Mapped[str | None] = mapped_column(Text)
    stage_changed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Kept by the timeline (ElementService.record): the moment of its latest entry of any kind,
    # and of its latest piece of work (created, a stage or pipeline move, an activity done).
    # Reports read them instead of scanning the timeline of every deal.
    touched_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_activity_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # A manager's "snooze" of a stalled deal: not listed as stalled before this moment.
    stalled_snoozed_until: Mapped[datetime | None]

    responsible: Mapped[User | None] = relationship(
        foreign_keys="Deal.responsible_id", lazy="joined"
    )
    stage: Mapped[Stage] = relationship(lazy="joined")
    pipeline: Mapped[Pipeline] = relationship(lazy="joined")
    contact: Mapped[Contact | None] = relationship(lazy="joined")
    company: Mapped[Company | None] = relationship(lazy="joined")


class Communication(Base):
    """A phone (E.164) or e-mail (lowercase) of a lead, contact or company."""

    __tablename__ = "communications"
    __table_args__ = (
        Index("ix_communications_lookup", "kind", "value"),
        Index("ix_communications_owner", "entity", "entity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(8))
    entity_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(255))


class TimelineEntry(Base):
    """What happened to an element: created, changed, stage moved, assigned, converted, comment."""

    __tablename__ = "timeline"
    __table_args__ = (
        Index("ix_timeline_element", "entity", "entity_id", "id"),
        Index("ix_timeline_kind_time", "entity", "kind", "created_at"),  # stage moves in a period
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(8))
    entity_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    author: Mapped[User | None] = relationship(lazy="joined")
