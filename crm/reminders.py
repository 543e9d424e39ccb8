"""The reminder outbox, seen from the domain: claim what is due, mark it just before it goes
out, settle each result as soon as it is known.

A reminder moves pending → claimed (a worker holds it, with a lease it renews) → sending (set
immediately before its HTTP call) → sent, or back to pending (released, deferred by a 429,
retried after a failure), or to held (the user cannot be reached; released when they write
again), failed or cancelled. One chat is served by one worker at a time.

What can repeat: the Bot API has no idempotency key, so a reminder whose message Telegram
accepted but whose "sent" never reached the database (the worker was killed, or the database
stayed away longer than the lease) is sent again. Only rows marked "sending" can be in that
state, and a worker marks a row "sending" only for the send it is about to make, so after a
crash the repeats are at most the sends that were in flight. Nothing is ever dropped: a row
that is not settled is taken again when its lease runs out.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from crm.codes import ElementRef
from crm.enums import EntityType
from storage.repositories import Repos
from storage.repositories.activities import ClaimedReminder, Settle

if TYPE_CHECKING:
    from crm.context import Runtime

MAX_ATTEMPTS = 5  # failed sends (not deferrals or hand-backs) before a reminder is given up
RETRY_BACKOFF_CAP = timedelta(minutes=5)


class Outcome(enum.Enum):
    SENT = "sent"
    CANCELLED = "cancelled"  # the activity was completed meanwhile
    HELD = "held"  # the user cannot be reached: kept until they write to the bot again
    DEFER = "defer"  # Telegram asked us to wait (429): back to the queue, not counted
    RETRY = "retry"  # a passing failure: try again later, counted
    FAILED = "failed"  # a permanent failure: give up on this one
    RELEASED = "released"  # not attempted (the worker is stopping): back to the queue at once
    LOST = "lost"  # the claim was lost (taken again, or the row is gone): nothing to record


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one reminder."""

    outcome: Outcome
    error: str = ""
    retry_after: float = 0.0  # DEFER: seconds Telegram asked to wait
    at: datetime | None = None  # SENT: when Telegram accepted it


@dataclass(frozen=True, slots=True)
class ReminderActivity:
    """What a reminder shows of its activity: plain values read with the claim (no ORM
    entities, whose loading was most of a claim's cost)."""

    id: int
    subject: str
    deadline: datetime
    location: str | None
    completed_at: datetime | None
    ref: ElementRef | None  # the element it is bound to first


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a reminder goes to, as read with the claim."""

    id: int
    telegram_id: int | None
    locale: str | None
    timezone: str | None
    is_reachable: bool


@dataclass(frozen=True, slots=True)
class DueReminder:
    id: int
    kind: str
    due_at: datetime
    attempts: int  # with the worker's name, identifies this claim
    activity: ReminderActivity
    user: Recipient

    @property
    def attempt(self) -> tuple[int, int]:
        return self.id, self.attempts


class ReminderService:
    def __init__(self, repos: Repos, runtime: Runtime) -> None:
        self.repos = repos
        self.runtime = runtime

    async def claim(
        self,
        worker: str,
        limit: int,
        lease: timedelta,
        *,
        per_user: int,
        chat_gap: timedelta = timedelta(0),
    ) -> list[DueReminder]:
        """Claim due reminders with what rendering them needs (one statement on PostgreSQL);
        commits the claim at once. Reminders of one activity or one user share its values."""
        now = self.runtime.clock.now()
        claimed = await self.repos.reminders.claim(
            worker, now, now + lease, limit, per_user=per_user, chat_gap=chat_gap
        )
        await self.repos.commit()
        activities: dict[int, ReminderActivity] = {}
        users: dict[int, Recipient] = {}
        result = []
        for c in claimed:
            activity = activities.get(c.activity_id)
            if activity is None:
                activity = activities[c.activity_id] = _activity_of(c)
            user = users.get(c.user_id)
            if user is None:
                user = users[c.user_id] = Recipient(
                    c.user_id, c.telegram_id, c.locale, c.timezone, c.is_reachable
                )
            result.append(DueReminder(c.id, c.kind, c.due_at, c.attempts, activity, user))
        return result

    async def renew(
        self, worker: str, held: Sequence[tuple[int, int]], lease: timedelta
    ) -> set[int]:
        """Extend this worker's leases; returns the ids it still holds."""
        kept = await self.repos.reminders.renew(worker, held, self.runtime.clock.now() + lease)
        await self.repos.commit()
        return kept

    async def reap(self, lease: timedelta) -> int:
        """Give the claims of dead or stalled workers back to the queue."""
        reaped = await self.repos.reminders.reap(self.runtime.clock.now(), lease)
        await self.repos.commit()
        return reaped

    async def record(
        self,
        worker: str,
        results: Sequence[tuple[DueReminder, Delivery]],
        sending: Sequence[tuple[int, int]],
    ) -> set[int]:
        """One transaction for what the engine has to write at a moment: the `results` known
        (settled first, so a result of an older attempt of a row is never written over the
        mark of a newer one), then the `sending` marks (id, attempts) of the sends about to be
        made. Returns the ids among `sending` that this worker still holds, now "sending"."""
        now = self.runtime.clock.now()
        rows: list[Settle] = []
        blocked: set[int] = set()
        for due, delivery in results:
            row = _settle_row(due, delivery, now)
            if row is not None:
                rows.append(row)
            if delivery.outcome is Outcome.HELD and delivery.error == "blocked":
                blocked.add(due.user.id)
        await self.repos.reminders.settle(worker, rows)
        for user_id in sorted(blocked):  # after the reminders, in id order: no lock cycles
            await self.repos.users.set_reachable(user_id, False)
        marked = await self.repos.reminders.mark_sending(worker, sending, now)
        await self.repos.commit()
        return marked

    async def counts(self) -> dict[str, int]:
        return await self.repos.reminders.counts()


def _activity_of(c: ClaimedReminder) -> ReminderActivity:
    ref = None
    if c.bound_entity is not None and c.bound_id is not None:
        ref = ElementRef(EntityType(c.bound_entity), c.bound_id)
    return ReminderActivity(c.activity_id, c.subject, c.deadline, c.location, c.completed_at, ref)


def _settle_row(due: DueReminder, delivery: Delivery, now: datetime) -> Settle | None:
    outcome, error = delivery.outcome, delivery.error or None
    if outcome is Outcome.SENT:
        return Settle(due.id, due.attempts, "sent", at=delivery.at or now)
    if outcome is Outcome.LOST:
        return None
    if outcome is Outcome.DEFER:
        wait = timedelta(seconds=max(delivery.retry_after, 1.0))
        return Settle(
            due.id, due.attempts, "pending", not_before=now + wait, error=error, counted=False
        )
    if outcome is Outcome.RELEASED:
        return Settle(due.id, due.attempts, "pending", counted=False)
    if outcome is Outcome.RETRY and due.attempts < MAX_ATTEMPTS:
        backoff = min(RETRY_BACKOFF_CAP, timedelta(seconds=5 * 2 ** max(due.attempts - 1, 0)))
        return Settle(due.id, due.attempts, "pending", not_before=now + backoff, error=error)
    if outcome in (Outcome.RETRY, Outcome.FAILED):
        return Settle(due.id, due.attempts, "failed", error=error or outcome.value)
    return Settle(due.id, due.attempts, outcome.value, error=error)  # cancelled, held


def undeliverable(due: DueReminder) -> Delivery | None:
    """Why a claimed reminder is not worth sending now, or None when it is."""
    if due.activity.completed_at is not None:
        return Delivery(Outcome.CANCELLED)
    if not due.user.is_reachable or not due.user.telegram_id:
        return Delivery(Outcome.HELD, "unreachable")
    return None
