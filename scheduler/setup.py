from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.context import Runtime
from scheduler import jobs
from scheduler.loop import Wakeable
from scheduler.reminders import ReminderEngine


@dataclass(frozen=True, slots=True)
class Polled:
    """A loop of this instance and how often APScheduler wakes it (it also wakes on demand)."""

    loop: Wakeable
    seconds: float
    id: str


def create_scheduler(
    sessionmaker: async_sessionmaker[AsyncSession],
    runtime: Runtime,
    reminders: ReminderEngine | None,
    reminder_poll_seconds: float,
    *,
    loops: Sequence[Polled] = (),
) -> AsyncIOScheduler:
    """An in-memory scheduler per process; jobs never overlap themselves and coalesce."""
    scheduler = AsyncIOScheduler(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )
    scheduler.add_job(
        jobs.purge_expired_invites,
        IntervalTrigger(hours=1),
        kwargs={"sessionmaker": sessionmaker, "runtime": runtime},
        id="purge_expired_invites",
        replace_existing=True,
    )
    scheduler.add_job(
        jobs.purge_processed_updates,
        IntervalTrigger(hours=1),
        kwargs={"sessionmaker": sessionmaker, "runtime": runtime},
        id="purge_processed_updates",
        replace_existing=True,
    )
    # Only wake-up calls: the engine and the loops run their own work, so these jobs return
    # at once and never overlap themselves ("maximum number of running instances reached");
    # a loop's own timer catches up what a handler's wake-up left (a busy slot, a 429, an
    # instance that died); who does what is decided in the database.
    wakes = [Polled(reminders, reminder_poll_seconds, "send_due_reminders")] if reminders else []
    for polled in (*wakes, *loops):
        scheduler.add_job(
            polled.loop.wake,
            IntervalTrigger(seconds=polled.seconds),
            id=polled.id,
            replace_existing=True,
        )
    return scheduler
