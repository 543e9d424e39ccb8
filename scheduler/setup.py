from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.context import Runtime
from scheduler import jobs
from scheduler.digests import DigestCourier
from scheduler.relay import RelayCourier
from scheduler.reminders import ReminderEngine
from scheduler.triage import TriageCourier
from scheduler.triage_sla import TriageSla


def create_scheduler(
    sessionmaker: async_sessionmaker[AsyncSession],
    runtime: Runtime,
    reminders: ReminderEngine | None,
    reminder_poll_seconds: float,
    *,
    courier: TriageCourier | None = None,
    sla: TriageSla | None = None,
    sla_poll_seconds: float = 1.0,
    relay: RelayCourier | None = None,
    digests: DigestCourier | None = None,
    digest_poll_seconds: float = 30.0,
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
    if reminders is not None:
        # Only a wake-up call: the engine runs its own pipeline, so this job returns at once
        # and never overlaps itself ("maximum number of running instances reached").
        scheduler.add_job(
            reminders.wake,
            IntervalTrigger(seconds=reminder_poll_seconds),
            id="send_due_reminders",
            replace_existing=True,
        )
    if courier is not None:
        # Cards left stale (a slot was busy, an instance died mid-post) are caught up here.
        scheduler.add_job(
            courier.wake,
            IntervalTrigger(seconds=2),
            id="triage_courier",
            replace_existing=True,
        )
    if sla is not None:
        # Untaken requests whose queue time ran out: only a wake-up, like the two above.
        scheduler.add_job(
            sla.wake,
            IntervalTrigger(seconds=sla_poll_seconds),
            id="triage_sla",
            replace_existing=True,
        )
    if relay is not None:
        # Answers and copies left pending (a busy group slot, a 429, an instance that died).
        scheduler.add_job(
            relay.wake,
            IntervalTrigger(seconds=2),
            id="relay_courier",
            replace_existing=True,
        )
    if digests is not None:
        # Scheduled digests: a wake-up; who sends which digest is decided in the database.
        scheduler.add_job(
            digests.wake,
            IntervalTrigger(seconds=digest_poll_seconds),
            id="digest_courier",
            replace_existing=True,
        )
    return scheduler
