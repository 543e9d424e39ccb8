"""Scheduled digests: who wants one when (`digest_schedules`), and what went out
(`digest_deliveries`, one row per user and period: the record that makes it "once")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class DigestSchedule(Base):
    """A user's own choice; without a row the role's default applies (crm/digests.py)."""

    __tablename__ = "digest_schedules"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    enabled: Mapped[bool]
    minute: Mapped[int]  # minutes after local midnight, in the user's time zone
    days: Mapped[int]  # ISO weekdays as bits: 1 << 0 is Monday … 1 << 6 is Sunday


class DigestDelivery(Base):
    """One scheduled digest of one user for one period (`period_key`, e.g. `team:2026-11-30`).

    Inserted by the instance that claims it (ON CONFLICT DO NOTHING: the others get nothing),
    held until `claimed_until`; `sent` once the messages went out, `skipped` when there was
    nobody to send them to. A lease that ran out hands a `claimed` row to the next round.
    """

    __tablename__ = "digest_deliveries"
    __table_args__ = (UniqueConstraint("user_id", "period_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    period_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
