"""SQL of scheduled digests: schedules, and the delivery records that make each digest go out
once per user and period however many instances run.

A claim is an INSERT … ON CONFLICT DO NOTHING RETURNING id: of two instances inserting the
same (user, period) at once, PostgreSQL lets the second wait for the first and then insert
nothing; SQLite has one writer at a time. A row left `claimed` by an instance that died is
taken over by a conditional UPDATE once its lease has run out (one UPDATE changes it: the
row lock serialises them and the second re-reads a lease in the future).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as lite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DigestDelivery, DigestSchedule, User

CLAIMED = "claimed"
SENT = "sent"
SKIPPED = "skipped"


class DigestRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- schedules -------------------------------------------------------------------------
    async def schedule(self, user_id: int) -> DigestSchedule | None:
        return await self.session.get(DigestSchedule, user_id)

    async def save_schedule(self, user_id: int, enabled: bool, minute: int, days: int) -> None:
        row = await self.session.get(DigestSchedule, user_id)
        if row is None:
            self.session.add(
                DigestSchedule(user_id=user_id, enabled=enabled, minute=minute, days=days)
            )
        else:
            row.enabled, row.minute, row.days = enabled, minute, days
        await self.session.flush()

    async def recipients(self) -> Sequence[tuple[User, DigestSchedule | None]]:
        """Everyone a digest could reach (active, bound, reachable) with their own schedule."""
        rows = await self.session.execute(
            select(User, DigestSchedule)
            .outerjoin(DigestSchedule, DigestSchedule.user_id == User.id)
            .where(
                User.is_active.is_(True),
                User.is_reachable.is_(True),
                User.telegram_id.is_not(None),
            )
            .order_by(User.id)
        )
        return [(row[0], row[1]) for row in rows.all()]

    # --- deliveries ------------------------------------------------------------------------
    async def claim(self, user_id: int, key: str, now: datetime, lease_until: datetime) -> bool:
        """Whether the caller now holds this (user, period): a new row, or a stale claim."""
        insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else lite_insert
        inserted = await self.session.scalar(
            insert(DigestDelivery)
            .values(user_id=user_id, period_key=key, status=CLAIMED, claimed_until=lease_until)
            .on_conflict_do_nothing(index_elements=["user_id", "period_key"])
            .returning(DigestDelivery.id)
        )
        if inserted is not None:
            return True
        result = await self.session.execute(
            update(DigestDelivery)
            .where(
                DigestDelivery.user_id == user_id,
                DigestDelivery.period_key == key,
                DigestDelivery.status == CLAIMED,
                DigestDelivery.claimed_until < now,
            )
            .values(claimed_until=lease_until),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    async def settled(self, keys: Sequence[str], user_id: int) -> set[str]:
        """Which of these periods of the user are already sent or skipped (no claim needed)."""
        rows = await self.session.scalars(
            select(DigestDelivery.period_key).where(
                DigestDelivery.user_id == user_id,
                DigestDelivery.period_key.in_(keys),
                DigestDelivery.status != CLAIMED,
            )
        )
        return set(rows.all())

    async def finish(self, user_id: int, key: str, status: str, now: datetime) -> None:
        await self.session.execute(
            update(DigestDelivery)
            .where(DigestDelivery.user_id == user_id, DigestDelivery.period_key == key)
            .values(status=status, sent_at=now if status == SENT else None, claimed_until=None),
            execution_options={"synchronize_session": False},
        )

    async def retry_at(self, user_id: int, key: str, when: datetime) -> None:
        """Keep the claim but let anyone take it again from `when` (a failed send)."""
        await self.session.execute(
            update(DigestDelivery)
            .where(
                DigestDelivery.user_id == user_id,
                DigestDelivery.period_key == key,
                DigestDelivery.status == CLAIMED,
            )
            .values(claimed_until=when),
            execution_options={"synchronize_session": False},
        )

    async def delivery(self, user_id: int, key: str) -> DigestDelivery | None:
        return await self.session.scalar(
            select(DigestDelivery).where(
                DigestDelivery.user_id == user_id, DigestDelivery.period_key == key
            )
        )
