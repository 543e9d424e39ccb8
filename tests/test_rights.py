"""Rights that fit a real team, in the domain, read back through a fresh session on SQLite and
PostgreSQL: a deal's rep closes their own activities when the client is someone else's, a
deal's client is readable from the deal, and nothing tells an unreadable element from a
missing one."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.activities import Snooze
from crm.codes import ElementRef
from crm.context import Crm
from crm.enums import EntityType, Role
from crm.errors import AccessDenied, NotFound
from storage.models import Activity, ActivityBinding, Reminder
from tests.harness import FakeClock
from tests.test_activities import deal, person

CONTACT = ElementRef(EntityType.CONTACT, 1)


async def fresh(
    sessionmaker: async_sessionmaker[AsyncSession], activity_id: int
) -> tuple[Activity | None, list[tuple[str, int]], list[tuple[int, str, str]]]:
    async with sessionmaker() as session:
        activity = await session.get(Activity, activity_id)
        bindings = await session.execute(
            select(ActivityBinding.entity, ActivityBinding.entity_id)
            .where(ActivityBinding.activity_id == activity_id)
            .order_by(ActivityBinding.position)
        )
        reminders = await session.execute(
            select(Reminder.user_id, Reminder.kind, Reminder.status)
            .where(Reminder.activity_id == activity_id)
            .order_by(Reminder.id)
        )
        return activity, [tuple(b) for b in bindings], [tuple(r) for r in reminders]


async def test_a_deals_rep_completes_and_snoozes_when_the_contact_is_someone_elses(
    crm: Crm, clock: FakeClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    anna = await person(crm, Role.REP, "Anna", "Sprzedaż")
    boris = await person(crm, Role.REP, "Boris", "Serwis")
    admin = await person(crm, Role.ADMIN, "Boss")
    ref = await deal(crm, anna, "Jan Kowalski +48 600 100 200 wdrożenie")
    await crm.elements.set_responsible(admin, CONTACT, boris.user_id)  # Jan is Boris's client
    first = await crm.activities.create(anna, ref, "Spotkanie", clock.now() + timedelta(hours=3))
    second = await crm.activities.create(anna, ref, "Oferta", clock.now() + timedelta(hours=5))
    stored, bindings, _reminders = await fresh(sessionmaker, first.id)
    assert stored is not None
    # Bound to what Anna may edit; the contact is shown as the client, not bound.
    assert bindings == [("deal", ref.id)]
    assert (stored.client_entity, stored.client_id) == ("contact", 1)
    due = await crm.activities.snooze(anna, second.id, Snooze(minutes=60), "Europe/Warsaw")
    assert due == clock.now() + timedelta(hours=1)
    await crm.activities.complete(anna, first.id)
    stored, _bindings, reminders = await fresh(sessionmaker, first.id)
    assert stored is not None and stored.completed_by_id == anna.user_id
    assert stored.completed_at is not None
    assert stored.completed_at.replace(tzinfo=UTC) == clock.now()
    assert reminders == []  # a done activity's reminders are dropped
    _stored, _bindings, reminders = await fresh(sessionmaker, second.id)
    assert (anna.user_id, "snooze", "pending") in reminders
    # Boris, whose contact it is, may not close Anna's deal's activity.
    with pytest.raises((AccessDenied, NotFound)):
        await crm.activities.complete(boris, second.id)
    # The activity is on the deal's card; Boris's contact card does not get Anna's activity.
    assert [a.id for a in await crm.activities.of_element(anna, ref)] == [second.id]


async def test_a_client_the_creator_may_edit_is_still_bound(
    crm: Crm, clock: FakeClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    anna = await person(crm, Role.REP, "Anna", "Sprzedaż")
    ref = await deal(crm, anna, "ACME sp. z o.o. Jan Kowalski +48 600 100 200 wdrożenie")
    activity = await crm.activities.create(anna, ref, "Telefon", clock.now() + timedelta(hours=1))
    _stored, bindings, _reminders = await fresh(sessionmaker, activity.id)
    assert bindings == [("deal", ref.id), ("contact", 1), ("company", 1)]


async def test_a_manager_binds_the_contacts_of_the_department(
    crm: Crm, clock: FakeClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    anna = await person(crm, Role.REP, "Anna", "Sprzedaż")
    boris = await person(crm, Role.REP, "Boris", "Serwis")
    manager = await person(crm, Role.MANAGER, "Marta", "Sprzedaż")
    admin = await person(crm, Role.ADMIN, "Boss")
    ref = await deal(crm, anna, "Jan Kowalski wdrożenie")
    made = await crm.activities.create(manager, ref, "Przegląd", clock.now() + timedelta(hours=1))
    assert (await fresh(sessionmaker, made.id))[1] == [("deal", ref.id), ("contact", 1)]
    await crm.elements.set_responsible(admin, CONTACT, boris.user_id)
    other = await crm.activities.create(manager, ref, "Drugi", clock.now() + timedelta(hours=2))
    assert (await fresh(sessionmaker, other.id))[1] == [("deal", ref.id)]


async def test_someone_elses_element_is_told_as_missing_on_every_path(
    crm: Crm, clock: FakeClock
) -> None:
    anna = await person(crm, Role.REP, "Anna", "Sprzedaż")
    boris = await person(crm, Role.REP, "Boris", "Sprzedaż")
    ref = await deal(crm, anna, "Jan Kowalski tajny projekt")
    activity = await crm.activities.create(
        anna, ref, "Spotkanie", clock.now() + timedelta(hours=1)
    )
    missing = ElementRef(EntityType.DEAL, 99)

    def paths(target: ElementRef, activity_id: int) -> list:
        soon = clock.now() + timedelta(days=1)
        return [
            crm.elements.load(boris, target),
            crm.elements.card(boris, target),
            crm.elements.timeline(boris, target),
            crm.elements.add_note(boris, target, "hello"),
            crm.elements.assignable_users(boris, target),
            crm.elements.set_responsible(boris, target, boris.user_id),
            crm.stages.targets(boris, target),
            crm.stages.move(boris, target, 2),
            crm.activities.create(boris, target, "x", soon),
            crm.activities.of_element(boris, target),
            crm.activities.get(boris, activity_id),
            crm.activities.complete(boris, activity_id),
            crm.activities.snooze(boris, activity_id, Snooze(minutes=15), "Europe/Warsaw"),
            crm.activities.editable(boris, activity_id),
            crm.activities.delete(boris, activity_id),
        ]

    for hidden, absent in zip(
        paths(ref, activity.id), paths(missing, activity.id + 100), strict=True
    ):
        errors = []
        for call in (hidden, absent):
            with pytest.raises(NotFound) as info:
                await call
            errors.append(type(info.value))
        assert errors[0] is errors[1]
    for target in (CONTACT, ElementRef(EntityType.CONTACT, 99)):
        with pytest.raises(NotFound):
            await crm.elements.card(boris, target)
    assert (await crm.activities.get(anna, activity.id)).subject == "Spotkanie"  # still there


async def test_a_deal_card_carries_its_clients_phones_and_emails(crm: Crm) -> None:
    anna = await person(crm, Role.REP, "Anna", "Sprzedaż")
    admin = await person(crm, Role.ADMIN, "Boss")
    ref = await deal(crm, anna, "Jan Kowalski +48 600 100 200 jan@firma.pl ACME sp. z o.o. x")
    await crm.elements.set_responsible(admin, CONTACT, admin.user_id)
    card = await crm.elements.card(anna, ref)
    assert (card.client_phones, card.client_emails) == (["+48600100200"], ["jan@firma.pl"])
    assert card.client_readable == {
        CONTACT: False,
        ElementRef(EntityType.COMPANY, 1): True,
    }
    with pytest.raises(NotFound):
        await crm.elements.card(anna, CONTACT)


async def test_a_new_deal_for_an_existing_client_is_committed(
    crm: Crm, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    from crm.elements import ElementInput
    from crm.parsing import parse_line
    from storage.models import Contact, Deal

    anna = await person(crm, Role.REP, "Anna", "Sprzedaż")
    boris = await person(crm, Role.REP, "Boris", "Sprzedaż")
    await deal(crm, anna, "Jan Kowalski +48 600 100 200 ACME sp. z o.o. Wdrożenie")
    line = ElementInput.from_parsed(parse_line("Drugie zamówienie 3000 zł"))
    created = await crm.elements.create_deal_for(anna, CONTACT, line)
    by_phone = ElementInput.from_parsed(parse_line("+48 600 100 200 serwis"))
    assert await crm.elements.client_by_communication(anna, by_phone) == CONTACT
    assert await crm.elements.client_by_communication(boris, by_phone) is None  # not his
    with pytest.raises(NotFound):
        await crm.elements.create_deal_for(boris, CONTACT, line)
    async with sessionmaker() as session:
        stored = await session.get(Deal, created.primary.id)
        contacts = (await session.scalars(select(Contact))).all()
    assert stored is not None
    assert (stored.title, stored.contact_id, stored.company_id) == ("Drugie zamówienie", 1, 1)
    assert stored.amount_minor == 300_000 and stored.responsible_id == anna.user_id
    assert len(contacts) == 1
    card = await crm.elements.card(anna, CONTACT)
    assert [d.id for d in card.deals] == [created.primary.id, 1] and card.can_add_deal
