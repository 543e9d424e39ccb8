"""The relay's outbox with several instances: every pending row is sent exactly once when two
couriers (each with its own sessions, as two bot instances) run their rounds at once; a row
edited while in flight stays pending and goes out as an edit; a blocked client's rows are
never claimed. Read back through a fresh session."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.context import Crm, Runtime
from crm.enums import Role
from crm.permissions import Actor
from crm.relay import RelayView
from crm.triage import Incoming, Origin
from crm.users import actor_of
from scheduler.relay import RelayCourier, Sent
from storage.models import TriageMessage
from tests.harness import FakeClock

pytestmark = pytest.mark.asyncio
Fresh = Callable[[], AbstractAsyncContextManager[Crm]]
CLIENTS = 12
GROUP = -100_777


async def setup_queue(crm: Crm) -> tuple[Actor, list[int]]:
    admin = actor_of((await crm.users.create_invite(Role.ADMIN, "Admin")).user)
    queue = await crm.triage.bind(admin, GROUP, None, "Zapytania")
    await crm.relay.set(admin, queue, True)
    requests = []
    for n in range(CLIENTS):
        client = 9_000 + n
        relayed = await crm.relay.from_client(
            Incoming(
                origin=Origin.BOT,
                text=f"Pytanie {n}",
                chat_id=client,
                message_id=1,
                author_tg_id=client,
                author_name=f"Klient {n}",
                locale="pl",
            )
        )
        assert relayed is not None and relayed.new
        requests.append(relayed.request.id)
        await crm.relay.answer(
            admin,
            relayed.request.id,
            chat_id=GROUP,
            message_id=600 + n,
            text=f"Odpowiedź {n}",
            author_tg_id=1,
        )
    return admin, requests


async def test_two_instances_send_each_row_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    crm: Crm,
    fresh: Fresh,
    clock: FakeClock,
) -> None:
    await setup_queue(crm)
    sent: list[tuple[int, str]] = []

    async def send(view: RelayView) -> Sent:
        await asyncio.sleep(0)  # let the other instance run meanwhile
        sent.append((view.row.id, view.kind.value))
        return Sent(copy_id=10_000 + view.row.id)

    couriers = [RelayCourier(sessionmaker, Runtime(clock=clock), send, batch=5) for _ in range(2)]
    for _ in range(10):
        await asyncio.gather(*(c.round() for c in couriers))
    ids = [row_id for row_id, _kind in sent]
    assert len(ids) == len(set(ids)) == 2 * CLIENTS  # an acknowledgement and an answer each
    async with fresh() as crm2:
        rows = (
            await crm2.repos.session.scalars(
                select(TriageMessage).where(TriageMessage.direction == "out")
            )
        ).all()
        assert {r.status for r in rows} == {"done"}
        assert all(r.peer_message_id == 10_000 + r.id for r in rows)


async def test_an_edit_in_flight_stays_pending_and_a_blocked_client_is_never_claimed(
    sessionmaker: async_sessionmaker[AsyncSession],
    crm: Crm,
    fresh: Fresh,
    clock: FakeClock,
) -> None:
    await setup_queue(crm)
    seen: list[tuple[int, int | None, str]] = []

    async def send(view: RelayView) -> Sent:
        seen.append((view.row.id, view.edit_message_id, view.row.text))
        if view.row.text == "Odpowiedź 0":  # the rep edits it while it is being sent
            async with sessionmaker() as session:
                await Crm(session, Runtime(clock=clock)).relay.answer_edited(
                    GROUP, 600, "Odpowiedź 0 (poprawiona)"
                )
        if view.request.client_tg_id == 9_001:
            return Sent(sent=False, blocked=True)
        return Sent(copy_id=20_000 + view.row.id)

    courier = RelayCourier(sessionmaker, Runtime(clock=clock), send)
    await courier.round()
    clock.advance(seconds=1)
    await courier.round()
    edits = [(m, t) for _r, m, t in seen if m is not None]
    assert len(edits) == 1 and edits[0][1] == "Odpowiedź 0 (poprawiona)"
    clock.advance(minutes=5)  # past every lease: nothing for the blocked client comes back
    before = len(seen)
    await courier.round()
    assert len(seen) == before
    async with fresh() as crm2:
        blocked = [r for r in await crm2.repos.session.scalars(select(TriageMessage)) if
                   r.peer_chat_id == 9_001 and r.direction == "out"]  # fmt: skip
        assert blocked and {r.status for r in blocked} == {"failed"}
        request = await crm2.repos.triage.request(blocked[0].request_id)
        assert request is not None and request.client_blocked
