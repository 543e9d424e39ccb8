"""The reminder outbox, seen from the domain: claim what is due, then settle the outcome.

A worker claims a batch with a lease (one short transaction), delivers it, and settles it in a
second short transaction. A worker that dies in between leaves claims whose lease expires; the
next claim takes them again. The window between Telegram accepting a message and our commit is
the only place a reminder can repeat (the Bot API has no idempotency key); none is ever lost.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from storage.models import Activity, User
from storage.repositories import Repos

if TYPE_CHECKING:
    from crm.context import Runtime

MAX_ATTEMPTS = 5


class Outcome(enum.Enum):
    SENT = "sent"
    SKIPPED = "skipped"  # the activity was completed meanwhile, or the user is unreachable
    UNREACHABLE = "unreachable"  # the user blocked the bot: stop, mark them
    RETRY = "retry"  # a passing failure: try again later
    FAILED = "failed"  # a permanent failure: give up on this one


@dataclass(frozen=True, slots=True)
class DueReminder:
    id: int
    kind: str
    due_at: datetime
    attempts: int
    activity: Activity
    user: User


@dataclass(slots=True)
class Settlement:
    sent: list[int] = field(default_factory=list)
    unreachable: list[DueReminder] = field(default_factory=list)
    retry: list[tuple[DueReminder, str]] = field(default_factory=list)
    failed: list[tuple[DueReminder, str]] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)

    def add(self, due: DueReminder, outcome: Outcome, error: str = "") -> None:
        if outcome is Outcome.SENT:
            self.sent.append(due.id)
        elif outcome is Outcome.SKIPPED:
            self.skipped.append(due.id)
        elif outcome is Outcome.UNREACHABLE:
            self.unreachable.append(due)
        elif outcome is Outcome.RETRY and due.attempts < MAX_ATTEMPTS:
            self.retry.append((due, error))
        else:
            self.failed.append((due, error or outcome.value))


class ReminderService:
    def __init__(self, repos: Repos, runtime: Runtime) -> None:
        self.repos = repos
        self.runtime = runtime

    async def claim(self, worker: str, limit: int, lease: timedelta) -> list[DueReminder]:
        """Claim due reminders and load what rendering them needs; commits the claim at once."""
        now = self.runtime.clock.now()
        claimed = await self.repos.reminders.claim(worker, now, now + lease, limit)
        await self.repos.commit()
        if not claimed:
            return []
        activities = await self.repos.activities.for_delivery({c.activity_id for c in claimed})
        users = await self.repos.users.by_ids({c.user_id for c in claimed})
        result = []
        for c in claimed:
            activity, user = activities.get(c.activity_id), users.get(c.user_id)
            if activity is None or user is None:
                continue  # deleted meanwhile: its rows went with it (ON DELETE CASCADE)
            result.append(DueReminder(c.id, c.kind, c.due_at, c.attempts, activity, user))
        return result

    async def settle(self, worker: str, settlement: Settlement) -> None:
        now = self.runtime.clock.now()
        await self.repos.reminders.mark_sent(settlement.sent, worker, now)
        for due in settlement.unreachable:
            await self.repos.reminders.fail(due.id, worker, "unreachable")
            await self.repos.users.set_reachable(due.user.id, False)
        for due, error in settlement.retry:
            backoff = timedelta(seconds=min(300, 5 * 2 ** (due.attempts - 1)))
            await self.repos.reminders.release(due.id, worker, now + backoff, error)
        for due, error in settlement.failed:
            await self.repos.reminders.fail(due.id, worker, error)
        await self.repos.reminders.finish(settlement.skipped, worker, "cancelled")
        await self.repos.commit()

    async def counts(self) -> dict[str, int]:
        return await self.repos.reminders.counts()


def deliverable(due: DueReminder) -> bool:
    """Worth sending: the activity is still open and the user can be reached."""
    user = due.user
    return due.activity.completed_at is None and user.is_reachable and bool(user.telegram_id)
