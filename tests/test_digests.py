"""The digest schedule's rules (time zones, DST, quiet hours, chosen days) and the delivery
record: claimed by one instance, a lease handed over after a crash (repeated, never lost),
a failed send tried again, an unreachable reader skipped. The database is read back through
a fresh session. The messages themselves are tested end to end in test_e2e_digests.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.context import Crm, Runtime
from crm.digests import (
    DEFAULT_MINUTE,
    WORKDAYS,
    DigestJob,
    DigestKind,
    DigestPlan,
    LastDay,
    Outcome,
    in_quiet_hours,
    parse_time,
)
from crm.enums import Right, Role
from crm.errors import InvalidValue
from crm.users import actor_of
from scheduler.digests import DigestCourier
from storage.models import DigestDelivery, User
from tests.harness import FakeClock

pytestmark = pytest.mark.asyncio
Fresh = Callable[[], AbstractAsyncContextManager[Crm]]

TIMES = [("8:30", 510), ("08:30", 510), ("8.30", 510), ("8", 480), (" 23:59 ", 1439),
         ("0:00", 0), ("00:05", 5)]  # fmt: skip
NOT_TIMES = ["24:00", "8:60", "8:5", "830", "-1:00", "ósma", "восемь", "", "8:30:00", "١٢:٠٠"]


@pytest.mark.parametrize(("text", "minute"), TIMES)
async def test_typed_times(text: str, minute: int) -> None:
    assert parse_time(text) == minute


@pytest.mark.parametrize("text", NOT_TIMES)
async def test_what_is_not_a_time(text: str) -> None:
    with pytest.raises(InvalidValue):
        parse_time(text)


def plan(minute: int = DEFAULT_MINUTE, days: frozenset[int] = WORKDAYS) -> DigestPlan:
    return DigestPlan(DigestKind.TEAM, True, minute, days)


@pytest.mark.parametrize(
    ("zone", "day", "utc"),
    [
        # Warsaw: CET before the last Sunday of March, CEST from it; back on the last of October.
        ("Europe/Warsaw", date(2027, 3, 26), datetime(2027, 3, 26, 7, 30, tzinfo=UTC)),
        ("Europe/Warsaw", date(2027, 3, 29), datetime(2027, 3, 29, 6, 30, tzinfo=UTC)),
        ("Europe/Warsaw", date(2026, 10, 23), datetime(2026, 10, 23, 6, 30, tzinfo=UTC)),
        ("Europe/Warsaw", date(2026, 10, 26), datetime(2026, 10, 26, 7, 30, tzinfo=UTC)),
        # Moscow keeps UTC+3 all year; New York moves two weeks before Europe.
        ("Europe/Moscow", date(2027, 3, 29), datetime(2027, 3, 29, 5, 30, tzinfo=UTC)),
        ("America/New_York", date(2027, 3, 12), datetime(2027, 3, 12, 13, 30, tzinfo=UTC)),
        ("America/New_York", date(2027, 3, 15), datetime(2027, 3, 15, 12, 30, tzinfo=UTC)),
    ],
)
async def test_the_time_is_local_on_either_side_of_a_dst_change(
    zone: str, day: date, utc: datetime
) -> None:
    due = plan().due(day, zone)
    assert due == utc
    assert due.astimezone(ZoneInfo(zone)).strftime("%H:%M") == "08:30"


async def test_days_not_chosen_and_switched_off_get_nothing() -> None:
    saturday, sunday, monday = date(2026, 12, 5), date(2026, 12, 6), date(2026, 12, 7)
    assert plan().due(saturday, "Europe/Warsaw") is None
    assert plan().due(sunday, "Europe/Warsaw") is None
    assert plan().due(monday, "Europe/Warsaw") is not None
    off = DigestPlan(DigestKind.TODAY, False, DEFAULT_MINUTE, WORKDAYS)
    assert off.due(monday, "Europe/Warsaw") is None
    # Friday evening: the next digest is on Monday.
    friday_evening = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
    assert plan().next_due(friday_evening, "Europe/Warsaw") == datetime(
        2026, 12, 7, 7, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("minute", "sent_at"),
    [(6 * 60 + 15, 7 * 60), (0, 7 * 60), (23 * 60, 7 * 60), (22 * 60, 7 * 60),
     (21 * 60 + 59, 21 * 60 + 59), (7 * 60, 7 * 60), (8 * 60 + 30, 8 * 60 + 30)],
)  # fmt: skip
async def test_quiet_hours_move_a_digest_to_their_end_the_same_day(
    minute: int, sent_at: int
) -> None:
    assert in_quiet_hours(minute) == (minute != sent_at)
    chosen = plan(minute)
    assert chosen.send_minute == sent_at
    monday = date(2026, 12, 7)
    due = chosen.due(monday, "Europe/Warsaw")
    assert due is not None and due.astimezone(ZoneInfo("Europe/Warsaw")).date() == monday


async def test_the_team_digest_covers_the_days_since_the_previous_one() -> None:
    monday, tuesday = date(2026, 12, 7), date(2026, 12, 8)
    assert plan().previous_day(monday) == date(2026, 12, 4)  # Friday
    assert plan().previous_day(tuesday) == monday
    assert plan(days=frozenset({0})).previous_day(monday) == date(2026, 11, 30)


# --- the delivery record ------------------------------------------------------------------------
MONDAY_0830 = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)  # 08:30 in Warsaw


async def bound(crm: Crm, role: Role, name: str, telegram_id: int) -> User:
    invite = await crm.users.create_invite(role, name, "Sprzedaż")
    return await crm.users.redeem(invite.code, telegram_id, "pl")


class Reader:
    """The courier's hands as a test double: records what it was asked to send; can crash
    after "sending" (an instance that dies before marking) or report a failure."""

    def __init__(self, crash_first: bool = False, outcome: Outcome | None = Outcome.SENT):
        self.sent: list[tuple[int, str]] = []
        self.crash_first = crash_first
        self.outcome = outcome

    async def __call__(self, crm: Crm, job: DigestJob) -> Outcome | None:
        self.sent.append((job.user_id, job.key))
        if self.crash_first:
            self.crash_first = False
            raise RuntimeError("the instance died right after sending")
        return self.outcome


def courier(
    sm: async_sessionmaker[AsyncSession], runtime: Runtime, reader: Reader
) -> DigestCourier:
    return DigestCourier(
        sm, runtime, reader, lease=timedelta(minutes=5), retry=timedelta(minutes=2)
    )


async def rows(fresh: Fresh) -> list[tuple[int, str, str]]:
    async with fresh() as crm:
        found = await crm.repos.session.scalars(select(DigestDelivery).order_by(DigestDelivery.id))
        return [(r.user_id, r.period_key, r.status) for r in found]


async def test_two_couriers_send_each_digest_once(
    crm: Crm,
    sessionmaker: async_sessionmaker[AsyncSession],
    runtime: Runtime,
    clock: FakeClock,
    fresh: Fresh,
) -> None:
    clock.set(MONDAY_0830 - timedelta(hours=1))
    managers = [await bound(crm, Role.MANAGER, f"Kierownik {n}", 500 + n) for n in range(8)]
    rep = await bound(crm, Role.REP, "Ola", 600)  # off by default
    a, b = Reader(), Reader()
    loops = [courier(sessionmaker, runtime, a), courier(sessionmaker, runtime, b)]
    for _ in range(3):
        await asyncio.gather(*(loop.round() for loop in loops))
    assert a.sent == b.sent == [], "not before 08:30"
    clock.set(MONDAY_0830)
    for _ in range(3):
        await asyncio.gather(*(loop.round() for loop in loops), *(loop.round() for loop in loops))
        clock.advance(minutes=30)
    sent = sorted(a.sent + b.sent)
    assert sent == sorted((m.id, "team:2026-12-07") for m in managers)
    assert sorted(await rows(fresh)) == sorted((m.id, "team:2026-12-07", "sent") for m in managers)
    assert all(user_id != rep.id for user_id, _key in sent)


async def test_a_crash_after_the_send_repeats_it_after_the_lease_and_never_loses_it(
    crm: Crm,
    sessionmaker: async_sessionmaker[AsyncSession],
    runtime: Runtime,
    clock: FakeClock,
    fresh: Fresh,
) -> None:
    clock.set(MONDAY_0830)
    boss = await bound(crm, Role.MANAGER, "Szef", 700)
    dying, other = Reader(crash_first=True), Reader()
    await courier(sessionmaker, runtime, dying).round()  # sent, then died before marking
    assert await rows(fresh) == [(boss.id, "team:2026-12-07", "claimed")]
    await courier(sessionmaker, runtime, other).round()
    assert other.sent == [], "the lease still holds"
    clock.advance(minutes=5, seconds=1)
    await courier(sessionmaker, runtime, other).round()
    assert dying.sent == other.sent == [(boss.id, "team:2026-12-07")]  # twice in all, once each
    assert await rows(fresh) == [(boss.id, "team:2026-12-07", "sent")]
    clock.advance(hours=1)
    await courier(sessionmaker, runtime, other).round()
    assert len(other.sent) == 1, "sent is sent"


async def test_a_failed_send_is_tried_again_and_an_unreachable_reader_is_skipped(
    crm: Crm,
    sessionmaker: async_sessionmaker[AsyncSession],
    runtime: Runtime,
    clock: FakeClock,
    fresh: Fresh,
) -> None:
    clock.set(MONDAY_0830)
    boss = await bound(crm, Role.MANAGER, "Szef", 800)
    failing = Reader(outcome=None)
    await courier(sessionmaker, runtime, failing).round()
    clock.advance(minutes=1)
    await courier(sessionmaker, runtime, failing).round()
    assert len(failing.sent) == 1, "not before the retry delay"
    clock.advance(minutes=1, seconds=1)
    blocked = Reader(outcome=Outcome.SKIPPED)
    await courier(sessionmaker, runtime, blocked).round()
    assert blocked.sent == [(boss.id, "team:2026-12-07")]
    assert await rows(fresh) == [(boss.id, "team:2026-12-07", "skipped")]
    clock.advance(minutes=10)
    await courier(sessionmaker, runtime, blocked).round()
    assert len(blocked.sent) == 1


async def test_late_digests_stop_at_the_quiet_hours_and_never_move_to_another_day(
    crm: Crm,
    sessionmaker: async_sessionmaker[AsyncSession],
    runtime: Runtime,
    clock: FakeClock,
) -> None:
    await bound(crm, Role.MANAGER, "Szef", 900)
    reader = Reader()
    clock.set(datetime(2026, 12, 7, 21, 0, tzinfo=UTC))  # Monday 22:00 in Warsaw: quiet
    await courier(sessionmaker, runtime, reader).round()
    clock.set(datetime(2026, 12, 12, 9, 0, tzinfo=UTC))  # Saturday 10:00: not a chosen day
    await courier(sessionmaker, runtime, reader).round()
    assert reader.sent == []
    clock.set(datetime(2026, 12, 7, 20, 59, tzinfo=UTC))  # Monday 21:59: late, still sent
    await courier(sessionmaker, runtime, reader).round()
    assert len(reader.sent) == 1


async def test_the_schedule_is_kept_and_at_least_one_day_stays(crm: Crm, fresh: Fresh) -> None:
    rep = await bound(crm, Role.REP, "Ola", 1000)
    assert not (await crm.digests.plan(rep)).enabled
    await crm.digests.set_time(rep, 7 * 60 + 45)  # choosing a time switches it on
    for day in (0, 1, 2, 3):
        await crm.digests.toggle_day(rep, day)
    with pytest.raises(LastDay):
        await crm.digests.toggle_day(rep, 4)
    with pytest.raises(InvalidValue):
        await crm.digests.toggle_day(rep, 7)  # a forged weekday
    async with fresh() as crm2:
        user = await crm2.users.by_telegram_id(1000)
        assert user is not None
        kept = await crm2.digests.plan(user)
        assert kept == DigestPlan(DigestKind.TODAY, True, 7 * 60 + 45, frozenset({4}))


async def test_a_scheduler_process_reads_the_stored_roles_for_who_gets_a_team_digest(
    crm: Crm,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    fresh: Fresh,
) -> None:
    """`crmbot scheduler` runs apart from the bot: no update ever refreshes its policy. An
    admin takes team reports away from managers in chat; the scheduler process, with a runtime
    of its own, must not send the manager a team digest any more (a personal digest is off
    until they switch it on); the admin still gets theirs."""
    clock.set(MONDAY_0830)
    admin = await bound(crm, Role.ADMIN, "Admin", 700)
    manager = await bound(crm, Role.MANAGER, "Kierownik", 701)
    preset = next(
        r for r in (await crm.roles.list(actor_of(admin))).roles if r.key is Role.MANAGER
    )
    await crm.roles.toggle_right(actor_of(admin), preset.id, Right.TEAM_REPORTS)
    scheduler_runtime = Runtime(clock=clock)  # another process: nothing cached, no updates
    reader = Reader()
    await courier(sessionmaker, scheduler_runtime, reader).round()
    assert reader.sent == [(admin.id, "team:2026-12-07")]
    assert await rows(fresh) == [(admin.id, "team:2026-12-07", "sent")]
    assert all(user_id != manager.id for user_id, _key in reader.sent)
