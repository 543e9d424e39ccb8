"""The triage domain without Telegram, on SQLite and PostgreSQL, read back through a fresh
session: returning clients get repeat leads and deals linked to their contact; claims by
someone outside the queue are refused the same way whether the request exists or not."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest
from sqlalchemy import select

from crm.context import Crm
from crm.conversion import ConversionOptions
from crm.enums import Role
from crm.errors import RequestGone
from crm.modes import CrmMode
from crm.permissions import Actor
from crm.triage import Incoming, Origin
from crm.users import actor_of
from storage.models import Contact, Deal, Lead, TriageQueue
from tests.harness import FakeClock

Fresh = Callable[[], AbstractAsyncContextManager[Crm]]
GROUP = -100_123


async def person(crm: Crm, role: Role, name: str) -> Actor:
    invite = await crm.users.create_invite(role, name)
    await crm.users.redeem(invite.code, abs(hash(name)) % 10**9, "pl")
    return actor_of(invite.user)


async def queue(crm: Crm, boss: Actor) -> TriageQueue:
    return await crm.triage.bind(boss, GROUP, None, "Zapytania")


def says(text: str, who: int = 777, name: str = "Jan Kowalski") -> Incoming:
    return Incoming(origin=Origin.GROUP, text=text, chat_id=GROUP, message_id=abs(hash(text)) % 10**6,
                    author_tg_id=who, author_name=name)  # fmt: skip


@pytest.mark.parametrize("mode", [CrmMode.SIMPLE, CrmMode.CLASSIC])
async def test_a_returning_client_gets_a_repeat_element_of_their_contact(
    crm: Crm, fresh: Fresh, clock: FakeClock, mode: CrmMode
) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    await crm.conversion.set_mode(admin, mode)
    q = await queue(crm, admin)
    first = (
        await crm.triage.receive(q, says("Jan Kowalski, oferta na 5 licencji +48 600 100 200"))
    ).request
    made = await crm.triage.convert(admin, first.id, force=True)
    assert made.won and made.creation is not None
    if mode is CrmMode.CLASSIC:  # the lead became a client: a contact and a deal
        await crm.conversion.convert(admin, made.creation.primary.id, ConversionOptions())
    await crm.triage.close(admin, first.id)

    clock.advance(hours=2)
    again = await crm.triage.receive(q, says("To znowu ja, jeszcze 3 licencje"))
    assert again.new and again.reopened_from == first.id
    repeat = await crm.triage.convert(admin, again.request.id)
    assert repeat.won and repeat.creation is not None and not repeat.duplicates
    async with fresh() as crm2:
        if mode is CrmMode.SIMPLE:
            deals = (await crm2.repos.session.scalars(select(Deal).order_by(Deal.id))).all()
            assert len(deals) == 2 and deals[0].contact_id == deals[1].contact_id is not None
        else:  # Bitrix24's repeat lead: linked to the contact from the start
            leads = (await crm2.repos.session.scalars(select(Lead).order_by(Lead.id))).all()
            assert len(leads) == 2 and leads[1].contact_id == leads[0].contact_id is not None
            assert leads[1].contact_name == "Jan Kowalski"
            contacts = (await crm2.repos.session.scalars(select(Contact))).all()
            assert len(contacts) == 1, "no second contact for the same client"


async def test_claims_outside_the_queue_are_refused_alike(crm: Crm, fresh: Fresh) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    rep = await person(crm, Role.REP, "Ola")
    outsider = await person(crm, Role.REP, "Obcy")
    q = await queue(crm, admin)
    request = (await crm.triage.receive(q, says("Proszę o wycenę"))).request
    await crm.triage.join(q, rep.user_id)
    await crm.repos.commit()
    for request_id in (request.id, request.id + 1000):  # existing or not: the same answer
        with pytest.raises(RequestGone):
            await crm.triage.take(outsider, request_id)
    assert (await crm.triage.take(rep, request.id)).won
    lost = await crm.triage.take(admin, request.id)
    assert not lost.won and lost.request.assignee_id == rep.user_id
    async with fresh() as crm2:
        stored = await crm2.triage.request_for(rep, request.id)
        assert stored.status == "taken" and stored.assignee_id == rep.user_id
