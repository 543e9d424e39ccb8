"""Activities and the reminder engine in the domain, with a controllable clock, on both databases."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.activities import Snooze, parse_offsets
from crm.codes import ElementRef
from crm.context import Crm, Runtime
from crm.conversion import ConversionOptions
from crm.dates import parse_deadline
from crm.elements import ElementInput
from crm.enums import EntityType, Role
from crm.errors import AccessDenied, InvalidValue, NotFound
from crm.modes import CrmMode
from crm.parsing import parse_line
from crm.permissions import Actor
from crm.reminders import Delivery, DueReminder, Outcome
from crm.users import actor_of
from scheduler.reminders import Gate, ReminderEngine
from storage.models import Activity, Reminder
from tests.harness import FakeClock


async def person(
    crm: Crm, role: Role, name: str, department: str | None = None, tg: int | None = None
) -> Actor:
    issued = await crm.users.create_invite(role, name, department)
    if tg is not None:
        await crm.users.redeem(issued.code, tg, "pl")
    return actor_of(issued.user)


async def deal(crm: Crm, actor: Actor, text: str) -> ElementRef:
    return (
        await crm.elements.create(
            actor, EntityType.DEAL, ElementInput.from_parsed(parse_line(text))
        )
    ).primary


async def pending(crm: Crm, activity_id: int) -> list[tuple[int, datetime, str]]:
    return [
        (r.user_id, r.due_at, r.kind) for r in await crm.repos.reminders.pending_for(activity_id)
    ]


class Recorder:
    """A delivery function that records what it was asked to send (after its gate let it)."""

    def __init__(self, outcome: Outcome = Outcome.SENT, error: str = "") -> None:
        self.sent: list[tuple[int, datetime]] = []
        self.outcome = outcome
        self.error = error
        self.clock: FakeClock | None = None

    async def __call__(self, due: DueReminder, gate: Gate) -> Delivery:
        if not await gate():
            return Delivery(Outcome.LOST)
        self.sent.append((due.id, self.clock.now() if self.clock else due.due_at))
        return Delivery(self.outcome, self.error)


def test_offsets() -> None:
    assert parse_offsets(None) == (15, 0)
    assert parse_offsets("0, 60;15") == (60, 15, 0)
    for bad in ("", "x", "-5", "1,2,3,4,5,6", str(10**6)):
        with pytest.raises(InvalidValue):
            parse_offsets(bad or "x")


async def test_activity_binds_the_deal_and_its_contact(crm: Crm, clock: FakeClock) -> None:
    anna = await person(crm, Role.REP, "Anna")
    ref = await deal(crm, anna, "Jan Kowalski +48 600 100 200 wdrożenie")
    deadline = clock.now() + timedelta(hours=2)
    activity = await crm.activities.create(anna, ref, "Zadzwonić", deadline)
    assert [(b.entity, b.entity_id) for b in activity.bindings] == [
        ("deal", ref.id),
        ("contact", 1),
    ]
    assert (activity.client_entity, activity.client_id) == ("contact", 1)
    assert await pending(crm, activity.id) == [
        (anna.user_id, deadline - timedelta(minutes=15), "offset"),
        (anna.user_id, deadline, "offset"),
    ]
    contact_activities = await crm.activities.of_element(anna, ElementRef(EntityType.CONTACT, 1))
    assert [a.id for a in contact_activities] == [activity.id]


@pytest.mark.parametrize(
    ("timezone", "now", "phrase", "deadline_utc"),
    [
        # Warsaw in winter (CET, +01:00) and in summer (CEST, +02:00), and across the change.
        (
            "Europe/Warsaw",
            datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
            "jutro 10:00",
            datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        ),
        (
            "Europe/Warsaw",
            datetime(2026, 10, 22, 9, 0, tzinfo=UTC),
            "jutro 10:00",
            datetime(2026, 10, 23, 8, 0, tzinfo=UTC),
        ),
        (
            "Europe/Warsaw",
            datetime(2026, 10, 24, 10, 0, tzinfo=UTC),
            "jutro 10:00",
            datetime(2026, 10, 25, 9, 0, tzinfo=UTC),
        ),
        (
            "Europe/Warsaw",
            datetime(2027, 3, 27, 10, 0, tzinfo=UTC),
            "jutro 10:00",
            datetime(2027, 3, 28, 8, 0, tzinfo=UTC),
        ),
        # Moscow: +03:00 all year.
        (
            "Europe/Moscow",
            datetime(2026, 10, 24, 10, 0, tzinfo=UTC),
            "завтра в 10",
            datetime(2026, 10, 25, 7, 0, tzinfo=UTC),
        ),
        (
            "Europe/Moscow",
            datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
            "через 2 часа",
            datetime(2026, 11, 24, 11, 0, tzinfo=UTC),
        ),
    ],
)
async def test_reminders_fire_at_the_right_local_time(
    sessionmaker: async_sessionmaker[AsyncSession],
    runtime: Runtime,
    clock: FakeClock,
    timezone: str,
    now: datetime,
    phrase: str,
    deadline_utc: datetime,
) -> None:
    clock.set(now)
    async with sessionmaker() as session:
        crm = Crm(session, runtime)
        anna = await person(crm, Role.REP, "Anna", tg=501)
        ref = await deal(crm, anna, "wdrożenie")
        parsed = parse_deadline(f"{phrase} zadzwonić", now=now, timezone=timezone, locale="pl")
        assert parsed is not None and parsed.at == deadline_utc
        await crm.activities.create(anna, ref, parsed.rest, parsed.at)
    recorder = Recorder()
    recorder.clock = clock
    engine = ReminderEngine(sessionmaker, runtime, recorder, worker="w1")
    clock.set(deadline_utc - timedelta(minutes=15, seconds=1))
    assert await engine.tick() == 0  # one second early: nothing
    clock.set(deadline_utc - timedelta(minutes=15))
    assert await engine.tick() == 1
    clock.set(deadline_utc)
    assert await engine.tick() == 1
    assert [at for _, at in recorder.sent] == [deadline_utc - timedelta(minutes=15), deadline_utc]
    assert await engine.tick() == 0  # sent ones never come back


async def test_snooze_replaces_and_tomorrow_is_nine_local(crm: Crm, clock: FakeClock) -> None:
    anna = await person(crm, Role.REP, "Anna")
    ref = await deal(crm, anna, "oferta")
    activity = await crm.activities.create(anna, ref, "Oferta", clock.now() + timedelta(minutes=5))
    first = await crm.activities.snooze(anna, activity.id, Snooze(minutes=15), "Europe/Warsaw")
    assert first == clock.now() + timedelta(minutes=15)
    second = await crm.activities.snooze(anna, activity.id, Snooze(minutes=60), "Europe/Warsaw")
    snoozes = [r for r in await pending(crm, activity.id) if r[2] == "snooze"]
    assert snoozes == [(anna.user_id, second, "snooze")]  # replaced, not added
    tomorrow = await crm.activities.snooze(
        anna, activity.id, Snooze(tomorrow=True), "Europe/Moscow"
    )
    assert tomorrow == datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
    with pytest.raises(InvalidValue):
        await crm.activities.snooze(anna, activity.id, Snooze(minutes=0), "Europe/Warsaw")
    boris = await person(crm, Role.REP, "Boris")
    with pytest.raises(NotFound):  # he may not read it: told as if it did not exist
        await crm.activities.snooze(boris, activity.id, Snooze(minutes=15), "Europe/Warsaw")


async def test_reschedule_replaces_pending_reminders(crm: Crm, clock: FakeClock) -> None:
    anna = await person(crm, Role.REP, "Anna")
    ref = await deal(crm, anna, "oferta")
    activity = await crm.activities.create(anna, ref, "Oferta", clock.now() + timedelta(hours=1))
    later = clock.now() + timedelta(days=1)
    await crm.activities.reschedule(anna, activity.id, later)
    await crm.activities.reschedule(anna, activity.id, later)  # twice: still no duplicates
    assert await pending(crm, activity.id) == [
        (anna.user_id, later - timedelta(minutes=15), "offset"),
        (anna.user_id, later, "offset"),
    ]


async def test_completing_needs_rights_on_every_bound_element(crm: Crm, clock: FakeClock) -> None:
    anna = await person(crm, Role.REP, "Anna", "Sprzedaż")
    boris = await person(crm, Role.REP, "Boris", "Serwis")
    admin = await person(crm, Role.ADMIN, "Boss")
    ref = await deal(crm, anna, "Jan Kowalski wdrożenie")
    contact = ElementRef(EntityType.CONTACT, 1)
    activity = await crm.activities.create(
        anna, ref, "Spotkanie", clock.now() + timedelta(hours=3)
    )
    # Bound to the deal and its contact (both Anna's then); the contact is Boris's now.
    await crm.elements.set_responsible(admin, contact, boris.user_id)
    with pytest.raises(AccessDenied):
        await crm.activities.complete(anna, activity.id)
    with pytest.raises(AccessDenied):
        await crm.activities.delete(anna, activity.id)
    with pytest.raises(AccessDenied):
        await crm.activities.complete(boris, activity.id)
    done = await crm.activities.complete(admin, activity.id)
    assert done.completed_at == clock.now() and done.completed_by_id == admin.user_id
    assert await pending(crm, activity.id) == []  # reminders of a done activity are cancelled


async def test_today_lists_overdue_and_today_only(crm: Crm, clock: FakeClock) -> None:
    anna = await person(crm, Role.REP, "Anna")
    ref = await deal(crm, anna, "oferta")
    clock.set(datetime(2026, 11, 24, 21, 0, tzinfo=UTC))  # 22:00 in Warsaw
    overdue = await crm.activities.create(anna, ref, "Overdue", clock.now() - timedelta(days=2))
    tonight = await crm.activities.create(
        anna, ref, "Tonight", datetime(2026, 11, 24, 22, 30, tzinfo=UTC)
    )
    await crm.activities.create(anna, ref, "Tomorrow", datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    today = await crm.activities.today(anna, "Europe/Warsaw")
    assert [a.id for a in today] == [overdue.id, tonight.id]
    assert len(await crm.activities.today(anna, "Europe/London")) == 3  # still the 24th in London


async def test_conversion_keeps_or_closes_the_leads_activities(
    crm: Crm, clock: FakeClock, fresh: Callable[[], AbstractAsyncContextManager[Crm]]
) -> None:
    admin = await person(crm, Role.ADMIN, "Boss")
    await crm.conversion.set_mode(admin, CrmMode.CLASSIC)
    kept = (
        await crm.elements.intake(admin, ElementInput.from_parsed(parse_line("Jan Nowak oferta")))
    ).primary
    closed = (
        await crm.elements.intake(admin, ElementInput.from_parsed(parse_line("Ola Nowak oferta")))
    ).primary
    a1 = await crm.activities.create(admin, kept, "Call", clock.now() + timedelta(hours=1))
    a2 = await crm.activities.create(admin, closed, "Call", clock.now() + timedelta(hours=1))
    result = await crm.conversion.convert(
        admin, kept.id, ConversionOptions(keep_activities_open=True)
    )
    deal_ref = result.created[-1]
    await crm.conversion.convert(admin, closed.id, ConversionOptions(keep_activities_open=False))
    async with fresh() as crm2:  # what was committed, not what this session holds
        assert [a.id for a in await crm2.activities.of_element(admin, deal_ref)] == [a1.id]
        activity = await crm2.repos.activities.get(a2.id)
        assert activity is not None and activity.completed_at is not None
        assert await pending(crm2, a2.id) == []


async def test_engine_outcomes(
    sessionmaker: async_sessionmaker[AsyncSession], runtime: Runtime, clock: FakeClock
) -> None:
    async with sessionmaker() as session:
        crm = Crm(session, runtime)
        anna = await person(crm, Role.REP, "Anna", tg=601)
        ref = await deal(crm, anna, "oferta")
        activity = await crm.activities.create(
            anna, ref, "Call", clock.now() + timedelta(minutes=15), offsets=[15]
        )
    retry = Recorder(Outcome.RETRY)
    assert await ReminderEngine(sessionmaker, runtime, retry, worker="w").tick() == 1
    assert (
        await ReminderEngine(sessionmaker, runtime, retry, worker="w").tick() == 0
    )  # backing off
    clock.advance(seconds=6)
    blocked = Recorder(Outcome.HELD, "blocked")
    assert await ReminderEngine(sessionmaker, runtime, blocked, worker="w").tick() == 1
    async with sessionmaker() as session:
        crm = Crm(session, runtime)
        user = await crm.repos.users.get(anna.user_id)
        assert user is not None and user.is_reachable is False
        # Held for her, not cancelled: she may come back.
        assert await crm.reminders.counts() == {"held": 1}
        # A snooze settles every reminder of hers due until then, the held one too.
        await crm.activities.snooze(anna, activity.id, Snooze(minutes=15), "Europe/Warsaw")
        assert await crm.reminders.counts() == {"pending": 1}
    clock.advance(minutes=16)
    skipped = Recorder()
    assert await ReminderEngine(sessionmaker, runtime, skipped, worker="w").tick() == 1
    assert skipped.sent == []  # unreachable users are not sent to...
    async with sessionmaker() as session:
        assert await Crm(session, runtime).reminders.counts() == {"held": 1}
    async with sessionmaker() as session:
        crm = Crm(session, runtime)
        user = await crm.repos.users.get(anna.user_id)
        assert user is not None
        assert await crm.users.mark_reachable(user) == 1  # ...until she writes again
    assert await ReminderEngine(sessionmaker, runtime, skipped, worker="w").tick() == 1
    assert len(skipped.sent) == 1
    async with sessionmaker() as session:
        crm = Crm(session, runtime)
        assert await crm.reminders.counts() == {"sent": 1}
        user = await crm.repos.users.get(anna.user_id)
        assert user is not None and user.is_reachable is True


async def test_a_worker_dying_mid_batch_loses_nothing(
    sessionmaker: async_sessionmaker[AsyncSession], runtime: Runtime, clock: FakeClock
) -> None:
    async with sessionmaker() as session:
        crm = Crm(session, runtime)
        anna = await person(crm, Role.REP, "Anna", tg=701)
        ref = await deal(crm, anna, "oferta")
        for i in range(20):
            await crm.activities.create(
                anna,
                ref,
                f"Call {i}",
                clock.now() + timedelta(minutes=15, seconds=i),
                offsets=[15],
            )
        clock.advance(minutes=1)
        # A worker claims a batch and dies before delivering: its claims hold for the lease.
        claimed = await crm.reminders.claim("dead-worker", 8, timedelta(seconds=60), per_user=8)
        assert len(claimed) == 8
    recorder = Recorder()
    survivor = ReminderEngine(sessionmaker, runtime, recorder, worker="survivor")
    # Anna's chat is held by the dead worker: nobody else paces messages to her meanwhile.
    assert await survivor.tick() == 0
    clock.advance(seconds=61)  # the lease ran out
    assert await survivor.tick() == 20
    assert len(recorder.sent) == 20 and len({rid for rid, _ in recorder.sent}) == 20
    async with sessionmaker() as session:
        assert await Crm(session, runtime).reminders.counts() == {"sent": 20}


async def test_two_workers_send_each_reminder_once(
    sessionmaker: async_sessionmaker[AsyncSession], runtime: Runtime, clock: FakeClock
) -> None:
    count = 3000
    async with sessionmaker() as session:
        crm = Crm(session, runtime)
        anna = await person(crm, Role.REP, "Anna", tg=801)
        ref = await deal(crm, anna, "oferta")
        activity = await crm.activities.create(
            anna, ref, "Bulk", clock.now() + timedelta(hours=1), offsets=[0]
        )
        # Thousands of due rows, inserted directly: the engine is what is under test here.
        session.add_all(
            Reminder(
                activity_id=activity.id,
                user_id=anna.user_id,
                due_at=clock.now() + timedelta(microseconds=i),
                kind="snooze",
            )
            for i in range(1, count)
        )
        await session.commit()
    clock.advance(hours=2)
    recorders = [Recorder(), Recorder()]
    engines = [
        ReminderEngine(sessionmaker, runtime, recorders[i], worker=f"w{i}", batch_size=200)
        for i in range(2)
    ]
    totals = await asyncio.gather(*(engine.tick() for engine in engines))
    assert sum(totals) == count
    sent = Counter(rid for recorder in recorders for rid, _ in recorder.sent)
    assert len(sent) == count and max(sent.values()) == 1  # each exactly once
    async with sessionmaker() as session:
        statuses = await Crm(session, runtime).reminders.counts()
        assert statuses == {"sent": count}
        assert await session.scalar(select(func.count()).select_from(Activity)) == 1


async def test_a_claim_carries_what_rendering_needs(
    crm: Crm, clock: FakeClock, fresh: Callable[[], AbstractAsyncContextManager[Crm]]
) -> None:
    """The claim reads the activity and the recipient with it, as plain values: subject,
    deadline, place, the element it is bound to first, and the recipient's chat and language."""
    anna = await person(crm, Role.REP, "Anna", tg=901)
    ref = await deal(crm, anna, "Jan Kowalski +48 600 100 200 oferta")
    activity = await crm.activities.create(
        anna, ref, "Zadzwonić", clock.now() + timedelta(minutes=30), offsets=[15]
    )
    user = await crm.repos.users.get(anna.user_id)
    assert user is not None
    user.locale, user.timezone = "ru", "Europe/Moscow"
    await crm.repos.commit()
    clock.advance(minutes=16)
    async with fresh() as crm2:
        [due] = await crm2.reminders.claim("w", 10, timedelta(seconds=60), per_user=10)
    assert (due.activity.id, due.activity.subject) == (activity.id, "Zadzwonić")
    assert due.activity.deadline == activity.deadline and due.activity.completed_at is None
    assert due.activity.ref == ref  # the deal, bound before its contact
    assert (due.user.id, due.user.telegram_id) == (anna.user_id, 901)
    assert (due.user.locale, due.user.timezone, due.user.is_reachable) == (
        "ru",
        "Europe/Moscow",
        True,
    )
    async with fresh() as crm2:
        assert await crm2.reminders.counts() == {"claimed": 1}


async def test_one_write_records_results_before_marks(
    crm: Crm, clock: FakeClock, fresh: Callable[[], AbstractAsyncContextManager[Crm]]
) -> None:
    """The engine writes the results known and the "sending" marks asked for in one
    transaction, results first: a result of an older attempt of a row that lands together
    with the mark of its newer attempt withdraws the newer one (it is not sent), and the row
    goes back to the queue; results and marks of other rows are both written."""
    anna = await person(crm, Role.REP, "Anna", tg=902)
    ref = await deal(crm, anna, "oferta")
    for i in range(3):
        await crm.activities.create(
            anna, ref, f"Call {i}", clock.now() + timedelta(minutes=15, seconds=i), offsets=[15]
        )
    clock.advance(minutes=1)
    lease = timedelta(seconds=60)
    async with fresh() as crm2:
        first = await crm2.reminders.claim("w", 1, lease, per_user=3)
    clock.advance(seconds=61)  # its lease ran out: the same worker takes it again
    async with fresh() as crm2:
        assert await crm2.reminders.reap(lease) == 1
        claimed = await crm2.reminders.claim("w", 3, lease, per_user=3)
    [old] = first
    [again] = [d for d in claimed if d.id == old.id]
    sent, other = [d for d in claimed if d.id != old.id]
    assert again.attempts == old.attempts + 1
    async with fresh() as crm2:
        marked = await crm2.reminders.record("w", [], [sent.attempt])
    assert marked == {sent.id}
    async with fresh() as crm2:
        marked = await crm2.reminders.record(
            "w",
            [(old, Delivery(Outcome.RELEASED)), (sent, Delivery(Outcome.SENT))],
            [again.attempt, other.attempt],
        )
    assert marked == {other.id}  # the newer attempt of `old` is withdrawn
    async with fresh() as crm2:
        rows = {r.id: r for r in (await crm2.repos.session.scalars(select(Reminder))).all()}
    assert rows[old.id].status == "pending" and rows[old.id].claimed_by is None
    assert rows[sent.id].status == "sent" and rows[sent.id].sent_at is not None
    assert rows[other.id].status == "sending"
