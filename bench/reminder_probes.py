"""Where the reminder engine's time goes, and what the fixes suggested in REMINDERS.md buy.

    .venv/bin/python -m bench.reminder_probes [--backend postgres|sqlite] [--reminders N]
                                               [--batch B]

In one process, on a fresh database seeded like `bench.reminder_bench` (300 bound users,
3,000 activities, N due reminders), with the no-op deliver (claim + load + settle only):

1. Phases: one drain of the product's engine with timers around its steps (µs per reminder).
2. Fixes, tried by patching the product's classes in this process only (nothing is written
   to the product): the drain rate, median of 3, for the engine as it is; with the claimed
   reminders' activities and users read as plain columns into small dataclasses instead of
   ORM entities with their eager relationships; with the claim split in two statements that
   the existing index `(status, due_at)` serves in order (expired claims, then pending);
   and both.
3. Rendering: `bot.activities.activity_buttons` (aiogram's `InlineKeyboardBuilder`) beside the
   same markup built directly, and the whole `reminder_message`, in µs per call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench.reminder_bench import database, load_reminders, seed_people
from bench.reminder_worker import bench_settings, noop_deliver
from bot.activities import activity_buttons, reminder_message
from bot.callbacks import ActCb
from bot.factory import create_runtime
from bot.i18n import create_i18n
from crm.context import Runtime
from crm.reminders import DueReminder, ReminderService
from scheduler.reminders import ReminderEngine
from storage import migrate
from storage.db import create_engine, create_sessionmaker
from storage.models import Activity, ActivityBinding, Reminder, User
from storage.repositories.activities import ClaimedReminder, ReminderRepo


# --- 1. phases --------------------------------------------------------------------------
class Timers:
    """Wraps async methods of product classes with timers; `restore()` undoes it."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self._saved: list[tuple[type, str, Any]] = []

    def wrap(self, cls: type, name: str, label: str) -> None:
        original = getattr(cls, name)
        seconds = self.seconds

        async def timed(self_: Any, *args: Any, **kwargs: Any) -> Any:
            key = label
            if name == "_by_id":
                key = f"{label}: {args[0].__name__}"
            started = time.perf_counter()
            try:
                return await original(self_, *args, **kwargs)
            finally:
                seconds[key] += time.perf_counter() - started

        self._saved.append((cls, name, original))
        setattr(cls, name, timed)

    def restore(self) -> None:
        for cls, name, original in reversed(self._saved):
            setattr(cls, name, original)
        self._saved.clear()


async def drain(
    sessionmaker: async_sessionmaker[AsyncSession], runtime: Runtime, batch: int
) -> tuple[int, float]:
    engine = ReminderEngine(sessionmaker, runtime, noop_deliver, worker="probe", batch_size=batch)
    started = time.perf_counter()
    count = await engine.tick()
    return count, time.perf_counter() - started


# --- 2. the fixes, as patches -----------------------------------------------------------
@dataclass(slots=True)
class BindingView:
    entity: str
    entity_id: int


@dataclass(slots=True)
class ActivityView:
    """What rendering a reminder reads of an activity (duck-typed for `Activity`)."""

    id: int
    subject: str
    deadline: datetime
    location: str | None
    completed_at: datetime | None
    bindings: list[BindingView] = field(default_factory=list)


@dataclass(slots=True)
class UserView:
    """What delivering a reminder reads of a user (duck-typed for `User`)."""

    id: int
    telegram_id: int | None
    locale: str | None
    timezone: str | None
    is_reachable: bool


async def claim_core(
    self: ReminderService, worker: str, limit: int, lease: timedelta
) -> list[DueReminder]:
    """`ReminderService.claim` reading only the columns rendering needs, as plain rows, into
    small dataclasses instead of ORM entities with their eager relationships."""
    now = self.runtime.clock.now()
    claimed = await self.repos.reminders.claim(worker, now, now + lease, limit)
    await self.repos.commit()
    if not claimed:
        return []
    session = self.repos.session
    activity_ids = {c.activity_id for c in claimed}
    columns = (Activity.id, Activity.subject, Activity.deadline, Activity.location)
    rows = await session.execute(
        select(*columns, Activity.completed_at).where(Activity.id.in_(activity_ids))
    )
    activities = {row[0]: ActivityView(*row) for row in rows.all()}
    rows = await session.execute(
        select(
            ActivityBinding.activity_id, ActivityBinding.entity, ActivityBinding.entity_id
        ).where(ActivityBinding.activity_id.in_(activity_ids), ActivityBinding.position == 0)
    )
    for a_id, entity, entity_id in rows.all():
        activities[a_id].bindings.append(BindingView(entity, entity_id))
    rows = await session.execute(
        select(User.id, User.telegram_id, User.locale, User.timezone, User.is_reachable).where(
            User.id.in_({c.user_id for c in claimed})
        )
    )
    users = {row[0]: UserView(*row) for row in rows.all()}
    result = []
    for c in claimed:
        activity, user = activities.get(c.activity_id), users.get(c.user_id)
        if activity is not None and user is not None:
            result.append(
                DueReminder(
                    c.id, c.kind, c.due_at, c.attempts, cast(Activity, activity), cast(User, user)
                )
            )
    return result


async def _claim_where(
    repo: ReminderRepo, due: Any, worker: str, lease_until: datetime, limit: int
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
    ids = select(Reminder.id).where(due).order_by(Reminder.due_at).limit(limit)
    if repo.session.bind.dialect.name == "postgresql":
        cte = ids.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        query = update(Reminder).where(Reminder.id == cte.c.id)
    else:
        query = update(Reminder).where(Reminder.id.in_(ids.scalar_subquery()))
    rows = (
        await repo.session.execute(
            query.values(**values).returning(*returning),
            execution_options={"synchronize_session": False},
        )
    ).all()
    return [ClaimedReminder(*row) for row in rows]


async def claim_split(
    self: ReminderRepo, worker: str, now: datetime, lease_until: datetime, limit: int
) -> list[ClaimedReminder]:
    """`ReminderRepo.claim` as two statements, each an equality on `status` plus a range on
    the second column, so that the existing index `ix_reminders_due (status, due_at)` yields
    the rows in order: expired claims first (rare), then the oldest pending due rows. The
    OR of the two in one statement makes PostgreSQL read and sort every due row (and SQLite
    sort them in a temporary B-tree) on every claim."""
    expired = and_(Reminder.status == "claimed", Reminder.lease_until < now)
    claimed = await _claim_where(self, expired, worker, lease_until, limit)
    if len(claimed) < limit:
        pending = and_(Reminder.status == "pending", Reminder.due_at <= now)
        claimed += await _claim_where(self, pending, worker, lease_until, limit - len(claimed))
    return claimed


# --- 3. rendering -----------------------------------------------------------------------
def direct_buttons(activity: Activity) -> InlineKeyboardMarkup:
    """The markup `activity_buttons(activity, snooze=True)` makes, without the builder."""

    def button(label: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=label, callback_data=ActCb(action=action, id=activity.id).pack()
        )

    rows = [
        [
            button(_("✅ Done"), "done"),
            button(_("+15 min"), "s15"),
            button(_("+1 h"), "s60"),
            button(_("Tomorrow"), "tmr"),
        ]
    ]
    if activity.bindings:
        rows.append([button(_("Open"), "open")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def per_call(fn: Callable[[], object], calls: int = 3000) -> float:
    for _i in range(100):
        fn()
    started = time.perf_counter()
    for _i in range(calls):
        fn()
    return 1e6 * (time.perf_counter() - started) / calls


# --- main -------------------------------------------------------------------------------
async def probe(backend: str, n: int, batch: int) -> None:
    with tempfile.TemporaryDirectory(prefix="reminder-probes-") as tmp:
        async with database(backend, Path(tmp)) as url:
            engine = create_engine(url)
            try:
                await run_probes(engine, url, backend, n, batch)
            finally:
                await engine.dispose()


async def run_probes(engine: AsyncEngine, url: str, backend: str, n: int, batch: int) -> None:
    await migrate.upgrade(engine)
    pairs = await seed_people(engine, url, 300, 10)
    settings = bench_settings(url, "http://127.0.0.1:1")
    runtime = create_runtime(settings)
    sessionmaker = create_sessionmaker(engine)
    first_due = datetime.now(UTC) - timedelta(days=1)

    async def reload() -> None:
        await load_reminders(engine, pairs, first_due, 0.001, n)

    # 1. phases
    await reload()
    await drain(sessionmaker, runtime, batch)  # warm-up
    await reload()
    timers = Timers()
    timers.wrap(ReminderEngine, "run_once", "engine.run_once, in all")
    timers.wrap(ReminderService, "claim", "ReminderService.claim, in all")
    timers.wrap(ReminderRepo, "claim", "ReminderRepo.claim (UPDATE … RETURNING)")
    timers.wrap(ReminderService, "_by_id", "ReminderService._by_id (ORM)")
    timers.wrap(ReminderService, "settle", "ReminderService.settle")
    try:
        count, seconds = await drain(sessionmaker, runtime, batch)
    finally:
        timers.restore()
    print(f"\n## {backend}: {n:,} due reminders, batch {batch}, no-op deliver\n")
    print(f"Phases (one drain: {count / seconds:,.0f}/s)\n")
    print("| step | µs per reminder |\n|---|---:|")
    for label, spent in sorted(timers.seconds.items(), key=lambda kv: -kv[1]):
        print(f"| {label} | {1e6 * spent / count:,.0f} |")

    # 2. fixes
    async def rate() -> tuple[float, list[float]]:
        rates = []
        for _i in range(3):
            await reload()
            count, seconds = await drain(sessionmaker, runtime, batch)
            assert count == n, (count, n)
            rates.append(count / seconds)
        return statistics.median(rates), rates

    original_service_claim = ReminderService.claim
    original_repo_claim = ReminderRepo.claim

    async def as_is() -> None:
        ReminderService.claim = original_service_claim  # type: ignore[method-assign]
        ReminderRepo.claim = original_repo_claim  # type: ignore[method-assign]

    async def core_load() -> None:
        ReminderService.claim = claim_core  # type: ignore[method-assign]

    async def split() -> None:
        ReminderService.claim = original_service_claim  # type: ignore[method-assign]
        ReminderRepo.claim = claim_split  # type: ignore[method-assign]

    async def both() -> None:
        ReminderService.claim = claim_core  # type: ignore[method-assign]
        ReminderRepo.claim = claim_split  # type: ignore[method-assign]

    variants: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        ("as it is", as_is),
        ("activities and users read as plain columns", core_load),
        ("claim split in two index-friendly statements", split),
        ("both", both),
    ]
    print("\nFixes (claim + load + settle, reminders/s, median of 3)\n")
    print("| variant | reminders/s | runs |\n|---|---:|---|")
    try:
        for label, apply in variants:
            await apply()
            median, rates = await rate()
            runs = ", ".join(f"{r:,.0f}" for r in rates)
            print(f"| {label} | {median:,.0f} | {runs} |", flush=True)
    finally:
        await as_is()

    # 3. rendering
    async with sessionmaker() as session:
        activity = (
            await session.scalars(select(Activity).where(Activity.id == pairs[0][0]))
        ).one()
    i18n = create_i18n(settings.locale.locales_dir, settings.locale.default_locale)
    now = datetime.now(UTC)
    with i18n.context(), i18n.use_locale("pl"):
        built, direct = activity_buttons(activity, snooze=True), direct_buttons(activity)
        assert built.model_dump() == direct.model_dump(), "the direct markup differs"
        timings = [
            (
                "activity_buttons (InlineKeyboardBuilder)",
                per_call(lambda: activity_buttons(activity, snooze=True)),
            ),
            ("the same markup built directly", per_call(lambda: direct_buttons(activity))),
            (
                "reminder_message, in all",
                per_call(lambda: reminder_message(activity, "Europe/Warsaw", now)),
            ),
        ]

    print("\nRendering one reminder (µs per call)\n")
    print("| what | µs |\n|---|---:|")
    for label, micros in timings:
        print(f"| {label} | {micros:,.0f} |")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.reminder_probes")
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--reminders", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args(argv)
    asyncio.run(probe(args.backend, args.reminders, args.batch))
    sys.exit(0)


if __name__ == "__main__":
    main()
