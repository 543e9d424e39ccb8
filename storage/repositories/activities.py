from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, raiseload

from storage.models import Activity, ActivityBinding, ActivityParticipant, Reminder


class ActivityRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, activity_id: int) -> Activity | None:
        return await self.session.get(Activity, activity_id)

    async def add(self, activity: Activity) -> Activity:
        self.session.add(activity)
        await self.session.flush()
        return activity

    async def delete(self, activity: Activity) -> None:
        await self.session.delete(activity)
        await self.session.flush()

    def _mine(self, user_id: int):  # type: ignore[no-untyped-def]
        participant = exists().where(
            ActivityParticipant.activity_id == Activity.id, ActivityParticipant.user_id == user_id
        )
        return or_(Activity.responsible_id == user_id, participant)

    async def open_for_user(
        self, user_id: int, before: datetime | None = None, limit: int = 50
    ) -> Sequence[Activity]:
        query = select(Activity).where(Activity.completed_at.is_(None), self._mine(user_id))
        if before is not None:
            query = query.where(Activity.deadline < before)
        result = await self.session.scalars(
            query.order_by(Activity.deadline, Activity.id).limit(limit)
        )
        return result.unique().all()

    async def open_for_element(
        self, entity: str, entity_id: int, limit: int = 10
    ) -> Sequence[Activity]:
        bound = exists().where(
            ActivityBinding.activity_id == Activity.id,
            ActivityBinding.entity == entity,
            ActivityBinding.entity_id == entity_id,
        )
        query = select(Activity).where(Activity.completed_at.is_(None), bound)
        result = await self.session.scalars(query.order_by(Activity.deadline).limit(limit))
        return result.unique().all()

    async def for_delivery(self, ids: set[int]) -> dict[int, Activity]:
        """What a reminder shows — subject, deadline, place, bindings — and nothing more: the
        responsible and the participants are not needed to render it (half the claim's cost)."""
        query = (
            select(Activity)
            .where(Activity.id.in_(ids))
            .options(raiseload(Activity.responsible), raiseload(Activity.participants))
        )
        return {a.id: a for a in (await self.session.scalars(query)).unique().all()}

    async def move_bindings(self, entity: str, entity_id: int, to: str, to_id: int) -> None:
        """Re-bind the open activities of one element to another (lead conversion)."""
        open_ids = select(Activity.id).where(Activity.completed_at.is_(None))
        await self.session.execute(
            update(ActivityBinding)
            .where(
                ActivityBinding.entity == entity,
                ActivityBinding.entity_id == entity_id,
                ActivityBinding.activity_id.in_(open_ids),
            )
            .values(entity=to, entity_id=to_id)
        )


@dataclass(frozen=True, slots=True)
class ClaimedReminder:
    id: int
    activity_id: int
    user_id: int
    due_at: datetime
    kind: str
    attempts: int


class ReminderRepo:
    """The reminder outbox. Claims are single statements, so they are atomic on both backends."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, reminder: Reminder) -> None:
        self.session.add(reminder)

    async def cancel_pending(
        self, activity_id: int, user_id: int | None = None, kind: str | None = None
    ) -> None:
        """Drop reminders not yet sent (deleted, so a new one may take the same moment)."""
        query = delete(Reminder).where(
            Reminder.activity_id == activity_id, Reminder.status.in_(("pending", "claimed"))
        )
        if user_id is not None:
            query = query.where(Reminder.user_id == user_id)
        if kind is not None:
            query = query.where(Reminder.kind == kind)
        await self.session.execute(query, execution_options={"synchronize_session": False})

    async def delete_unsent(self, activity_id: int, user_id: int, due_at: datetime) -> None:
        """Make room for a new reminder at exactly `due_at` (the unique key) if one waits there."""
        await self.session.execute(
            delete(Reminder).where(
                Reminder.activity_id == activity_id,
                Reminder.user_id == user_id,
                Reminder.due_at == due_at,
            )
        )

    async def pending_for(self, activity_id: int) -> Sequence[Reminder]:
        query = select(Reminder).where(
            Reminder.activity_id == activity_id, Reminder.status == "pending"
        )
        return (
            await self.session.scalars(query.order_by(Reminder.due_at, Reminder.user_id))
        ).all()

    async def get(self, reminder_id: int) -> Reminder | None:
        return await self.session.get(Reminder, reminder_id)

    async def claim(
        self, worker: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedReminder]:
        """Claim up to `limit` due reminders, taking back expired claims first.

        PostgreSQL: `FOR UPDATE SKIP LOCKED` in a MATERIALIZED CTE, so concurrent workers take
        disjoint rows and the planner cannot re-run the subquery and lock more than `limit`.
        SQLite: one UPDATE … RETURNING, atomic because SQLite has one writer at a time.
        Two statements rather than one OR: each is served in order by `(status, due_at)`, so
        a claim costs O(batch) however large the backlog is.
        """
        expired = and_(Reminder.status == "claimed", Reminder.lease_until < now)
        claimed = await self._claim(worker, expired, Reminder.lease_until, lease_until, limit)
        if len(claimed) < limit:
            due = and_(Reminder.status == "pending", Reminder.due_at <= now)
            claimed += await self._claim(
                worker, due, Reminder.due_at, lease_until, limit - len(claimed)
            )
        return claimed

    async def _claim(
        self,
        worker: str,
        condition: ColumnElement[bool],
        order: InstrumentedAttribute[Any],
        lease_until: datetime,
        limit: int,
    ) -> list[ClaimedReminder]:
        returning = (
            Reminder.id,
            Reminder.activity_id,
            Reminder.user_id,
            Reminder.due_at,
            Reminder.kind,
            Reminder.attempts,
        )
        values = {
            "status": "claimed",
            "claimed_by": worker,
            "lease_until": lease_until,
            "attempts": Reminder.attempts + 1,
        }
        candidates = select(Reminder.id).where(condition).order_by(order).limit(limit)
        bind = self.session.bind
        if bind is not None and bind.dialect.name == "postgresql":
            due = (
                candidates.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
            )
            query = update(Reminder).where(Reminder.id == due.c.id)
        else:
            query = update(Reminder).where(Reminder.id.in_(candidates.scalar_subquery()))
        rows = await self.session.execute(
            query.values(**values).returning(*returning),
            execution_options={"synchronize_session": False},
        )
        return [ClaimedReminder(*row) for row in rows.all()]

    async def mark_sent(self, ids: Sequence[int], worker: str, now: datetime) -> None:
        if ids:
            await self.session.execute(
                update(Reminder)
                .where(
                    Reminder.id.in_(ids),
                    Reminder.claimed_by == worker,
                    Reminder.status == "claimed",
                )
                .values(status="sent", sent_at=now, lease_until=None),
                execution_options={"synchronize_session": False},
            )

    async def release(self, reminder_id: int, worker: str, retry_at: datetime, error: str) -> None:
        await self.session.execute(
            update(Reminder)
            .where(
                Reminder.id == reminder_id,
                Reminder.claimed_by == worker,
                Reminder.status == "claimed",
            )
            .values(status="pending", due_at=retry_at, lease_until=None, last_error=error[:255]),
            execution_options={"synchronize_session": False},
        )

    async def finish(self, ids: Sequence[int], worker: str, status: str) -> None:
        if ids:
            await self.session.execute(
                update(Reminder)
                .where(Reminder.id.in_(ids), Reminder.claimed_by == worker)
                .values(status=status, lease_until=None),
                execution_options={"synchronize_session": False},
            )

    async def fail(self, reminder_id: int, worker: str, error: str) -> None:
        await self.session.execute(
            update(Reminder)
            .where(Reminder.id == reminder_id, Reminder.claimed_by == worker)
            .values(status="failed", lease_until=None, last_error=error[:255]),
            execution_options={"synchronize_session": False},
        )

    async def release_held(self, user_id: int) -> int:
        """Reminders held while the user was unreachable go back to the queue, due now."""
        result = await self.session.execute(
            update(Reminder)
            .where(Reminder.user_id == user_id, Reminder.status == "held")
            .values(status="pending", claimed_by=None, lease_until=None, not_before=None),
            execution_options={"synchronize_session": False},
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]  # CursorResult

    async def counts(self) -> dict[str, int]:
        rows = await self.session.execute(
            text("SELECT status, count(*) FROM reminders GROUP BY status")
        )
        return {row[0]: int(row[1]) for row in rows.all()}
