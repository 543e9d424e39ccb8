"""Universal activities (Bitrix24's replacement of calls and meetings) and their reminders.

The `reminders` table is the outbox of what is due: APScheduler only wakes a loop that claims
due rows here (SPEC §6), so several bot instances can share it and none sends a row twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base, TimestampMixin
from storage.models.people import User


class Activity(TimestampMixin, Base):
    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_open_by_responsible", "responsible_id", "completed_at", "deadline"),
        # When a client was last contacted (reports: clients not contacted for N days).
        Index("ix_activities_client", "client_entity", "client_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    deadline: Mapped[datetime]
    location: Mapped[str | None] = mapped_column(String(255))
    color: Mapped[str | None] = mapped_column(String(7))
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # The client the activity is with: a contact or a company (entity + id), if any.
    client_entity: Mapped[str | None] = mapped_column(String(8))
    client_id: Mapped[int | None]

    responsible: Mapped[User | None] = relationship(
        foreign_keys="Activity.responsible_id", lazy="joined"
    )
    bindings: Mapped[list[ActivityBinding]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="ActivityBinding.position"
    )
    participants: Mapped[list[ActivityParticipant]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )


class ActivityBinding(Base):
    """An element the activity belongs to (a deal and its contact, say)."""

    __tablename__ = "activity_bindings"
    __table_args__ = (Index("ix_activity_bindings_element", "entity", "entity_id"),)

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True
    )
    entity: Mapped[str] = mapped_column(String(8), primary_key=True)
    entity_id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(default=0)


class ActivityParticipant(Base):
    __tablename__ = "activity_participants"

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class Reminder(Base):
    """One reminder to one user.

    pending → claimed (with a lease) → sending (just before its HTTP call) → sent | failed |
    cancelled; held while the user cannot be reached (released when they write again).
    `not_before` delays a pending reminder without moving its due time (a 429, a retry).
    """

    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_due", "status", "due_at"),
        Index("ix_reminders_user_status", "user_id", "status", "sent_at"),
        UniqueConstraint("activity_id", "user_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    due_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(8), default="offset")  # offset | snooze
    offset_minutes: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(9), default="pending")
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(255))
    not_before: Mapped[datetime | None]
