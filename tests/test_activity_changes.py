"""Editing, rescheduling and deleting activities in the domain, checked through a fresh session.

Each change is read back from the database in a new session after the service returns, so a
missing commit fails the test; on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.activities import due_offsets
from crm.codes import ElementRef
from crm.context import Crm
from crm.enums import EntityType, Role
from crm.errors import AccessDenied, InvalidValue
from storage.models import Activity, Reminder, TimelineEntry
from tests.harness import FakeClock
from tests.test_activities import deal, person


async def fresh_activity(
    sessionmaker: async_sessionmaker[AsyncSession], activity_id: int
) -> Activity | None:
    async with sessionmaker() as session:
        return await session.get(Activity, activity_id)


async def fresh_reminders(
    sessionmaker: async_sessionmaker[AsyncSession], activity_id: int
) -> list[datetime]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(Reminder.due_at)
            .where(Reminder.activity_id == activity_id, Reminder.status == "pending")
            .order_by(Reminder.due_at)
        )
        return [due.replace(tzinfo=UTC) if due.tzinfo is None else due for due in rows]


async def test_edit_subject_is_committed(
    crm: Crm, clock: FakeClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    anna = await person(crm, Role.REP, "Anna")
    ref = await deal(crm, anna, "oferta")
    activity = await crm.activities.create(anna, ref, "Oferta", clock.now() + timedelta(hours=2))
    clock.advance(minutes=5)
    await crm.activities.edit_subject(anna, activity.id, "  Wysłać   ofertę  Janowi ")
    stored = await fresh_activity(sessionmaker, activity.id)
    assert stored is not None
    assert stored.subject == "Wysłać ofertę Janowi"
    assert stored.updated_at.replace(tzinfo=UTC) == clock.now()
    with pytest.raises(InvalidValue):
        await crm.activities.edit_subject(anna, activity.id, "   ")


async def test_reschedule_is_committed_with_new_reminders(
    crm: Crm, clock: FakeClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    anna = await person(crm, Role.REP, "Anna")
    ref = await deal(crm, anna, "oferta")
    activity = await crm.activities.create(anna, ref, "Oferta", clock.now() + timedelta(hours=2))
    later = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    await crm.activities.reschedule(anna, activity.id, later)
    stored = await fresh_activity(sessionmaker, activity.id)
    assert stored is not None and stored.deadline.replace(tzinfo=UTC) == later
    assert await fresh_reminders(sessionmaker, activity.id) == [
        later - timedelta(minutes=15),
        later,
    ]
    with pytest.raises(InvalidValue):
        await crm.activities.reschedule(anna, activity.id, datetime(2026, 11, 27, 10))  # naive


async def test_delete_removes_reminders_and_leaves_a_history_line(
    crm: Crm, clock: FakeClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    anna = await person(crm, Role.REP, "Anna")
    ref = await deal(crm, anna, "Jan Kowalski wdrożenie")
    activity = await crm.activities.create(anna, ref, "Spotkanie", clock.now() + timedelta(days=1))
    await crm.activities.delete(anna, activity.id)
    assert await fresh_activity(sessionmaker, activity.id) is None
    async with sessionmaker() as session:
        reminders = await session.scalar(
            select(func.count()).select_from(Reminder).where(Reminder.activity_id == activity.id)
        )
        history = (
            await session.scalars(
                select(TimelineEntry).where(
                    TimelineEntry.entity == ref.entity.value,
                    TimelineEntry.entity_id == ref.id,
                    TimelineEntry.kind == "activity_deleted",
                )
            )
        ).all()
    assert reminders == 0
    assert [(h.author_id, h.data["subject"]) for h in history] == [(anna.user_id, "Spotkanie")]


async def test_changes_need_edit_rights_on_every_bound_element(
    crm: Crm, clock: FakeClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    anna = await person(crm, Role.REP, "Anna", "Sprzedaż")
    boris = await person(crm, Role.REP, "Boris", "Serwis")
    admin = await person(crm, Role.ADMIN, "Boss")
    ref = await deal(crm, anna, "Jan Kowalski wdrożenie")
    deadline = clock.now() + timedelta(hours=3)
    activity = await crm.activities.create(anna, ref, "Spotkanie", deadline)
    # Bound to the deal and its contact (both Anna's then); the contact is Boris's now.
    await crm.elements.set_responsible(admin, ElementRef(EntityType.CONTACT, 1), boris.user_id)
    for who in (anna, boris):
        with pytest.raises(AccessDenied):
            await crm.activities.edit_subject(who, activity.id, "Inne")
        with pytest.raises(AccessDenied):
            await crm.activities.reschedule(who, activity.id, deadline + timedelta(days=1))
        with pytest.raises(AccessDenied):
            await crm.activities.delete(who, activity.id)
        with pytest.raises(AccessDenied):
            await crm.activities.editable(who, activity.id)
    stored = await fresh_activity(sessionmaker, activity.id)
    assert stored is not None
    assert (stored.subject, stored.deadline.replace(tzinfo=UTC)) == ("Spotkanie", deadline)
    await crm.activities.delete(admin, activity.id)
    assert await fresh_activity(sessionmaker, activity.id) is None


async def test_a_kept_past_deadline_has_no_reminders(crm: Crm, clock: FakeClock) -> None:
    anna = await person(crm, Role.REP, "Anna")
    ref = await deal(crm, anna, "oferta")
    past = clock.now() - timedelta(hours=2)
    activity = await crm.activities.create(anna, ref, "Raport", past)
    assert await crm.repos.reminders.pending_for(activity.id) == []
    assert due_offsets(past, (15, 0), clock.now()) == ()


@pytest.mark.parametrize(
    ("minutes_ahead", "expected"),
    [(60, (30, 15, 0)), (20, (15, 0)), (10, (0,)), (0, (0,)), (-1, ())],
)
def test_due_offsets(minutes_ahead: int, expected: tuple[int, ...]) -> None:
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    deadline = now + timedelta(minutes=minutes_ahead)
    assert due_offsets(deadline, (0, 15, 30), now) == expected
