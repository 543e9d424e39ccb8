"""The unclaimed-request SLA in the domain: two SLA loops on two engines against one database
(SQLite file and PostgreSQL), a hand-moved clock, and every outcome read back through a fresh
session. The messages themselves are recorded at the loop's edge here; the end-to-end tests
(test_e2e_triage_sla.py) send them through the real bot to the fake Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.context import Crm, Runtime
from crm.enums import Role
from crm.errors import AccessDenied, InvalidValue, RequestGone
from crm.permissions import Actor
from crm.triage import Incoming, Origin, QueueMode, RequestStatus
from crm.triage_sla import Escalation
from crm.users import actor_of
from scheduler.triage_sla import Told, TriageSla
from storage.db import create_engine, create_sessionmaker
from storage.models import TriageMessage, TriageRequest
from tests.harness import FakeClock

Fresh = Callable[[], AbstractAsyncContextManager[Crm]]
GROUP = -100_777
MONDAY_9 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 09:00 in Warsaw, a Monday
_ids = count(1)


class Recorder:
    """The loop's hands, recording what it would send (the e2e tests send it for real)."""

    def __init__(self) -> None:
        self.escalations: list[tuple[int, list[int]]] = []  # request, heads' user ids

    async def escalate(self, escalation: Escalation) -> Told:
        self.escalations.append((escalation.request.id, [h.id for h in escalation.heads]))
        return Told(delivered=len(escalation.heads))


@pytest.fixture
async def loops(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], runtime: Runtime
) -> AsyncIterator[tuple[list[TriageSla], Recorder]]:
    """Two SLA loops, as two instances would run them: each its own engine."""
    other = create_engine(database_url)
    recorder = Recorder()
    made = [
        TriageSla(maker, runtime, recorder.escalate)
        for maker in (sessionmaker, create_sessionmaker(other))
    ]
    yield made, recorder
    await other.dispose()


async def both(loops: list[TriageSla]) -> int:
    return sum(await asyncio.gather(*(loop.round() for loop in loops)))


async def person(
    crm: Crm, role: Role, name: str, department: str | None = None, tg: int | None = None
) -> Actor:
    issued = await crm.users.create_invite(role, name, department)
    await crm.users.redeem(issued.code, tg or 5000 + next(_ids), "pl")
    return actor_of(issued.user)


async def team(
    crm: Crm, mode: QueueMode, hours: str | None = None
) -> tuple[int, Actor, list[Actor]]:
    """A queue bound by a department head (who only hears of escalations) and three reps."""
    boss = await person(crm, Role.MANAGER, "Boss", "Sprzedaż")
    queue = await crm.triage.bind(boss, GROUP, None, "Zapytania")
    reps = [await person(crm, Role.REP, name, "Sprzedaż") for name in ("Ala", "Ola", "Ela")]
    for rep in reps:
        await crm.triage.join(queue, rep.user_id)
    await crm.repos.commit()
    await crm.triage.leave(queue, boss.user_id)
    await crm.triage.set_mode(boss, queue, mode)
    if hours is not None:
        await crm.triage_sla.set_hours(boss, queue, hours)
    return queue.id, boss, reps


async def request(
    crm: Crm, queue_id: int, text: str, origin: Origin = Origin.GROUP, locale: str = "pl"
) -> int:
    queue = await crm.repos.triage.queue(queue_id)
    assert queue is not None
    client = 70_000 + next(_ids)
    incoming = Incoming(
        origin=origin,
        text=text,
        chat_id=client if origin is Origin.BOT else GROUP,
        message_id=next(_ids),
        author_tg_id=client,
        author_name="Klient",
        locale=locale,
    )
    return (await crm.triage.receive(queue, incoming)).request.id


async def state(fresh: Fresh, request_id: int) -> TriageRequest:
    async with fresh() as crm:
        found = await crm.repos.triage.fresh(request_id)
        assert found is not None
        return found


async def test_untaken_request_passes_once_per_queue_time_with_two_loops(
    crm: Crm, fresh: Fresh, clock: FakeClock, loops: tuple[list[TriageSla], Recorder]
) -> None:
    sla, _ = loops
    queue_id, _boss, (ala, ola, ela) = await team(crm, QueueMode.STRICTLY)
    first = await request(crm, queue_id, "Proszę o ofertę")
    assert (await state(fresh, first)).offered_to_id == ala.user_id
    assert await both(sla) == 1  # the first due time is placed at once
    placed = await state(fresh, first)
    assert placed.sla_due_at == clock.now() + timedelta(seconds=60)
    assert placed.passes == 0 and not placed.announce_pending
    version = placed.card_version

    clock.advance(seconds=59)
    assert await both(sla) == 0
    clock.advance(seconds=1)
    assert await both(sla) == 1  # claimed by exactly one of the two
    passed = await state(fresh, first)
    assert (passed.offered_to_id, passed.passes) == (ola.user_id, 1)
    assert passed.announce_pending and passed.card_version == version + 1
    assert passed.sla_due_at == clock.now() + timedelta(seconds=60)
    assert passed.sla_lease_until is None
    for _ in range(3):
        assert await both(sla) == 0  # nothing more until the next queue time
    async with fresh() as crm2:
        member = await crm2.repos.triage.member(queue_id, ola.user_id)
        assert member is not None and member.last_offered_at == clock.now()

    clock.advance(seconds=60)
    await both(sla)
    assert (await state(fresh, first)).offered_to_id == ela.user_id
    clock.advance(seconds=60)
    await both(sla)
    assert (await state(fresh, first)).offered_to_id == ala.user_id  # round again


async def test_many_due_requests_are_each_handled_once_by_two_loops(
    crm: Crm, fresh: Fresh, clock: FakeClock, loops: tuple[list[TriageSla], Recorder]
) -> None:
    sla, _ = loops
    queue_id, _boss, _reps = await team(crm, QueueMode.EVERYBODY)
    ids = [await request(crm, queue_id, f"Zapytanie {i}") for i in range(60)]
    await both(sla)
    clock.advance(seconds=61)
    handled = await both(sla)
    while (more := await both(sla)) > 0:
        handled += more
    assert handled == len(ids)
    for request_id in ids:
        row = await state(fresh, request_id)
        assert (row.passes, row.announce_pending, row.offered_to_id) == (1, True, None)
        assert row.card_version == 2


async def test_evenly_offers_to_whoever_was_offered_longest_ago(
    crm: Crm, fresh: Fresh, clock: FakeClock, loops: tuple[list[TriageSla], Recorder]
) -> None:
    sla, _ = loops
    queue_id, _boss, (ala, ola, ela) = await team(crm, QueueMode.EVENLY)
    ids = []
    for i in range(4):
        ids.append(await request(crm, queue_id, f"Zapytanie {i}"))
        await both(sla)
        clock.advance(seconds=1)
    offered = [(await state(fresh, i)).offered_to_id for i in ids]
    assert offered == [ala.user_id, ola.user_id, ela.user_id, ala.user_id]
    clock.advance(seconds=55)  # the first falls due at 60 s; one a second after that
    passes = []
    for request_id in ids:
        clock.advance(seconds=1)
        assert await both(sla) == 1
        passes.append((await state(fresh, request_id)).offered_to_id)
    # Each goes to someone else, the one offered longest ago.
    assert passes == [ola.user_id, ela.user_id, ala.user_id, ola.user_id]


async def test_strictly_offers_every_new_request_to_the_first_in_order(
    crm: Crm, fresh: Fresh, clock: FakeClock, loops: tuple[list[TriageSla], Recorder]
) -> None:
    sla, _ = loops
    queue_id, _boss, (ala, ola, _ela) = await team(crm, QueueMode.STRICTLY)
    ids = [await request(crm, queue_id, f"Zapytanie {i}") for i in range(3)]
    assert {(await state(fresh, i)).offered_to_id for i in ids} == {ala.user_id}
    await both(sla)
    clock.advance(seconds=60)
    while await both(sla):
        pass
    assert {(await state(fresh, i)).offered_to_id for i in ids} == {ola.user_id}


async def test_a_request_taken_before_its_tick_is_left_alone(
    crm: Crm, fresh: Fresh, clock: FakeClock, loops: tuple[list[TriageSla], Recorder]
) -> None:
    sla, recorder = loops
    queue_id, _boss, (ala, _ola, _ela) = await team(crm, QueueMode.STRICTLY)
    request_id = await request(crm, queue_id, "Oferta")
    await both(sla)
    clock.advance(seconds=700)  # past the queue time and the escalation
    async with fresh() as crm2:
        jobs = await crm2.triage_sla.claim(lease=timedelta(seconds=30), limit=10)
    assert [j.request_id for j in jobs] == [request_id]
    async with fresh() as crm3:  # a Take lands between the claim and the tick
        assert (await crm3.triage.take(ala, request_id)).won
    async with fresh() as crm4:
        tick = await crm4.triage_sla.tick(jobs[0])
    assert not tick.changed and not tick.announced
    row = await state(fresh, request_id)
    assert row.status == RequestStatus.TAKEN.value
    assert (row.passes, row.announce_pending, row.escalate_pending) == (0, False, False)
    clock.advance(seconds=3600)
    assert await both(sla) == 0
    assert recorder.escalations == []


async def test_take_clears_a_pending_announcement(
    crm: Crm, fresh: Fresh, clock: FakeClock, loops: tuple[list[TriageSla], Recorder]
) -> None:
    sla, _ = loops
    queue_id, _boss, (ala, _ola, _ela) = await team(crm, QueueMode.EVERYBODY)
    request_id = await request(crm, queue_id, "Oferta")
    clock.advance(seconds=61)
    await both(sla)
    assert (await state(fresh, request_id)).announce_pending
    async with fresh() as crm2:
        assert (await crm2.triage.take(ala, request_id)).won
    row = await state(fresh, request_id)
    assert not row.announce_pending and row.sla_due_at is None


async def test_escalation_reaches_the_department_head_once(
    crm: Crm, fresh: Fresh, clock: FakeClock, loops: tuple[list[TriageSla], Recorder]
) -> None:
    sla, recorder = loops
    queue_id, boss, _reps = await team(crm, QueueMode.EVERYBODY)
    other_head = await person(crm, Role.MANAGER, "Other", "Serwis")  # another department
    request_id = await request(crm, queue_id, "Pilne")
    await both(sla)
    for _ in range(9):  # passed on and announced every minute meanwhile
        clock.advance(seconds=60)
        await both(sla)
    clock.advance(seconds=59)
    await both(sla)
    assert recorder.escalations == []
    clock.advance(seconds=1)  # 600 s untaken
    await both(sla)
    assert recorder.escalations == [(request_id, [boss.user_id])]
    assert other_head.user_id not in recorder.escalations[0][1]
    row = await state(fresh, request_id)
    assert row.escalated_at == clock.now() and not row.escalate_pending
    assert row.passes == 10 and row.sla_lease_until is None
    for _ in range(5):
        clock.advance(seconds=60)
        await both(sla)
    assert len(recorder.escalations) == 1


async def test_without_department_managers_the_admins_are_told(
    crm: Crm, fresh: Fresh, clock: FakeClock, loops: tuple[list[TriageSla], Recorder]
) -> None:
    sla, recorder = loops
    admin = await person(crm, Role.ADMIN, "Admin")
    queue = await crm.triage.bind(admin, GROUP, None, "Zapytania")  # no department
    await crm.triage.configure(admin, queue, escalate_seconds=120)
    request_id = await request(crm, queue.id, "Pilne")
    await both(sla)
    clock.advance(seconds=120)
    await both(sla)
    assert recorder.escalations == [(request_id, [admin.user_id])]


async def test_a_failed_escalation_is_retried_then_marked(
    crm: Crm, fresh: Fresh, clock: FakeClock, runtime: Runtime,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    outcomes = [Told(retry_after=20.0), Told(delivered=1)]
    seen: list[int] = []

    async def flaky(escalation: Escalation) -> Told:
        seen.append(escalation.request.id)
        return outcomes.pop(0)

    loop = TriageSla(sessionmaker, runtime, flaky)
    queue_id, _boss, _reps = await team(crm, QueueMode.EVERYBODY)
    request_id = await request(crm, queue_id, "Pilne")
    await loop.round()
    clock.advance(seconds=600)
    await loop.round()
    assert seen == [request_id]
    row = await state(fresh, request_id)
    assert row.escalate_pending and row.escalated_at is None
    clock.advance(seconds=10)
    await loop.round()
    assert seen == [request_id]  # waits out the 429
    clock.advance(seconds=11)
    await loop.round()
    assert seen == [request_id, request_id]
    row = await state(fresh, request_id)
    assert not row.escalate_pending and row.escalated_at == clock.now()


async def test_nothing_happens_at_night_and_the_clock_resumes_in_the_morning(
    crm: Crm, fresh: Fresh, clock: FakeClock, loops: tuple[list[TriageSla], Recorder]
) -> None:
    sla, recorder = loops
    clock.set(MONDAY_9 + timedelta(hours=8, minutes=59, seconds=30))  # 17:59:30 in Warsaw
    queue_id, _boss, (ala, ola, _ela) = await team(crm, QueueMode.STRICTLY, "1-5 09:00-18:00")
    request_id = await request(crm, queue_id, "Wieczorem")
    await both(sla)
    tuesday_9 = MONDAY_9 + timedelta(days=1)
    # 30 s were used before closing; 30 s are left for the morning.
    assert (await state(fresh, request_id)).sla_due_at == tuesday_9 + timedelta(seconds=30)
    for _ in range(15 * 6):  # every ten minutes of the night, both loops
        clock.advance(minutes=10)
        if clock.now() >= tuesday_9:
            break
        await both(sla)
    row = await state(fresh, request_id)
    assert (row.offered_to_id, row.passes, row.announce_pending) == (ala.user_id, 0, False)
    assert recorder.escalations == []
    clock.set(tuesday_9 + timedelta(seconds=29))
    assert await both(sla) == 0
    clock.set(tuesday_9 + timedelta(seconds=30))
    assert await both(sla) == 1
    row = await state(fresh, request_id)
    assert (row.offered_to_id, row.passes, row.announce_pending) == (ola.user_id, 1, True)
    # Escalation counts open time too: 600 s after it came, i.e. 09:09:30 on Tuesday.
    clock.set(tuesday_9 + timedelta(minutes=9, seconds=29))
    await both(sla)
    assert recorder.escalations == []
    clock.set(tuesday_9 + timedelta(minutes=9, seconds=30))
    await both(sla)
    assert [e[0] for e in recorder.escalations] == [request_id]


async def test_a_request_that_came_at_night_waits_for_the_opening(
    crm: Crm, fresh: Fresh, clock: FakeClock, loops: tuple[list[TriageSla], Recorder]
) -> None:
    sla, _recorder = loops
    saturday = MONDAY_9 + timedelta(days=5, hours=3)
    clock.set(saturday)
    queue_id, _boss, _reps = await team(crm, QueueMode.EVERYBODY, "1-5 09:00-18:00")
    group_request = await request(crm, queue_id, "Z grupy")
    bot_request = await request(crm, queue_id, "Napisałem do bota", Origin.BOT, locale="ru")
    await both(sla)
    monday_9 = MONDAY_9 + timedelta(days=7)
    for request_id in (group_request, bot_request):
        assert (await state(fresh, request_id)).sla_due_at == monday_9 + timedelta(seconds=60)

    # Only the client who wrote to the bot gets an auto-reply, queued once in the relay's
    # outbox (the relay courier sends it in their language: tests/test_e2e_triage_sla.py).
    async def auto_rows() -> list[tuple[int, str, str]]:
        async with fresh() as crm2:
            rows = (
                await crm2.repos.session.scalars(
                    select(TriageMessage).where(TriageMessage.kind == "auto")
                )
            ).all()
        return [(r.request_id, r.direction, r.status) for r in rows]

    assert await auto_rows() == [(bot_request, "out", "pending")]
    clock.advance(hours=5)
    await both(sla)
    assert await auto_rows() == [(bot_request, "out", "pending")]


async def test_hours_and_escalation_are_set_by_group_admins_only(
    crm: Crm, fresh: Fresh, clock: FakeClock
) -> None:
    queue_id, boss, (ala, _ola, _ela) = await team(crm, QueueMode.EVERYBODY)
    queue = await crm.repos.triage.queue(queue_id)
    assert queue is not None
    await crm.triage_sla.set_hours(boss, queue, "1-5  9:00-18:00", "Europe/Moscow")
    await crm.triage_sla.set_escalation(boss, queue, 900)
    async with fresh() as crm2:
        stored = await crm2.repos.triage.queue(queue_id)
        assert stored is not None
        assert (stored.work_hours, stored.timezone, stored.escalate_seconds) == (
            "1-5 09:00-18:00", "Europe/Moscow", 900,
        )  # fmt: skip
    with pytest.raises(InvalidValue):
        await crm.triage_sla.set_hours(boss, queue, "1-5 18:00-09:00")
    with pytest.raises(InvalidValue):
        await crm.triage_sla.set_escalation(boss, queue, 10**9)
    with pytest.raises(AccessDenied):
        await crm.triage_sla.set_hours(ala, queue, None)
    await crm.triage_sla.set_hours(boss, queue, None)
    async with fresh() as crm3:
        stored = await crm3.repos.triage.queue(queue_id)
        assert stored is not None and stored.work_hours is None


async def test_open_shows_the_card_to_heads_and_members_only(
    crm: Crm, fresh: Fresh, clock: FakeClock
) -> None:
    queue_id, boss, (ala, _ola, _ela) = await team(crm, QueueMode.EVERYBODY)
    stranger = await person(crm, Role.REP, "Obcy", "Serwis")
    request_id = await request(crm, queue_id, "Oferta na 5 licencji")
    async with fresh() as crm2:
        assert (await crm2.triage_sla.open_for(boss, request_id)).request.id == request_id
        assert (await crm2.triage_sla.open_for(ala, request_id)).request.text.startswith("Oferta")
        with pytest.raises(RequestGone):
            await crm2.triage_sla.open_for(stranger, request_id)
        with pytest.raises(RequestGone):
            await crm2.triage_sla.open_for(boss, request_id + 1000)
