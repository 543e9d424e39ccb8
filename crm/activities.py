"""Universal activities: a deadline bound to CRM elements, with reminders.

Rules from the seeds: an activity is bound to one or more elements (a deal and its contact);
to complete, reschedule or delete it a user needs edit rights on every one of them.
Reminders are rows in the `reminders` outbox, one per recipient and moment; changing the
deadline replaces the pending ones, so nothing is sent twice or for a stale time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from crm.codes import ElementRef
from crm.dates import Deadline, PastDeadline, parse_deadline, parse_when, past_deadline
from crm.effects import Effect, note
from crm.elements import ElementService, label_of, ref_of
from crm.enums import EntityType, Operation, TimelineKind
from crm.errors import AccessDenied, InvalidValue, NotFound
from crm.ical import CalendarEvent, build_calendar
from crm.numbers import ascii_int
from crm.permissions import Actor
from storage.models import (
    Activity,
    ActivityBinding,
    ActivityParticipant,
    Company,
    Contact,
    Deal,
    Reminder,
    User,
)
from storage.repositories import Repos
from storage.repositories.elements import Element

if TYPE_CHECKING:
    from crm.context import Runtime

DEFAULT_OFFSETS = (15, 0)  # minutes before the deadline
MAX_OFFSETS = 5
MAX_SUBJECT = 255


def parse_offsets(value: str | None) -> tuple[int, ...]:
    """`"15,0"` → (15, 0); a user's or an activity's reminder setting."""
    if not value:
        return DEFAULT_OFFSETS
    offsets = set()
    for part in value.replace(";", ",").split(","):
        minutes = ascii_int(part.strip(), maximum=7 * 24 * 60)
        if minutes is None:
            raise InvalidValue("reminders", value[:64])
        offsets.add(minutes)
    if not offsets or len(offsets) > MAX_OFFSETS:
        raise InvalidValue("reminders", value[:64])
    return tuple(sorted(offsets, reverse=True))


def due_offsets(deadline: datetime, offsets: Sequence[int], now: datetime) -> tuple[int, ...]:
    """The reminder offsets still ahead of `now` for this deadline, largest first."""
    return tuple(
        offset
        for offset in sorted(set(offsets), reverse=True)
        if deadline - timedelta(minutes=offset) >= now - timedelta(seconds=1)
    )


@dataclass(frozen=True, slots=True)
class Snooze:
    minutes: int | None = None  # +15 min, +1 h
    tomorrow: bool = False  # tomorrow at 09:00 in the user's zone


@dataclass(frozen=True, slots=True)
class CalendarItem:
    """One open activity as a calendar entry shows it."""

    activity: Activity
    element: ElementRef | None
    element_title: str | None  # None where the reader may not read the element
    client: str | None  # the contact's or company's name
    phone: str | None


@dataclass(frozen=True, slots=True)
class CalendarExport:
    items: list[CalendarItem]
    offsets: tuple[int, ...]  # the reader's reminder offsets: one VALARM each
    installation: str  # makes UIDs unique per installation
    now: datetime

    def to_ics(self, name: str, describe: Callable[[CalendarItem], str]) -> bytes:
        """The file; `describe` writes an entry's DESCRIPTION in the reader's language."""
        events = [
            CalendarEvent(
                uid=f"activity-{item.activity.id}@{self.installation}",
                summary=item.activity.subject,
                start=item.activity.deadline,
                description=describe(item),
                location=item.activity.location or "",
                alarms=self.offsets,
            )
            for item in self.items
        ]
        return build_calendar(events, name=name, now=self.now)


class ActivityService:
    def __init__(self, repos: Repos, runtime: Runtime, elements: ElementService) -> None:
        self.repos = repos
        self.runtime = runtime
        self.elements = elements

    # --- create ------------------------------------------------------------------------------
    async def create(
        self,
        actor: Actor,
        ref: ElementRef,
        subject: str,
        deadline: datetime,
        *,
        description: str | None = None,
        location: str | None = None,
        participants: Sequence[int] = (),
        offsets: Sequence[int] | None = None,
    ) -> Activity:
        subject = " ".join(subject.split())[:MAX_SUBJECT]
        if not subject:
            raise InvalidValue("subject", "")
        if deadline.tzinfo is None:
            raise InvalidValue("deadline", "naive")
        element = await self.elements.load(actor, ref, Operation.UPDATE)
        bindings = [ref]
        clients: list[ElementRef] = []
        # A deal's activity is also its contact's (and company's): the client sees one history.
        # It is bound only to those the creator may edit (closing needs edit rights on every
        # bound element); a client of someone else's is kept as the client, read-only, so the
        # deal's rep can still complete the activity they made.
        if isinstance(element, Deal):
            for other in (element.contact, element.company):
                if other is None:
                    continue
                other_ref = ref_of(other)
                clients.append(other_ref)
                if await self.elements.can(actor, other, Operation.UPDATE):
                    bindings.append(other_ref)
        if ref.entity in (EntityType.CONTACT, EntityType.COMPANY):
            clients.insert(0, ref)
        client = clients[0] if clients else None
        now = self.runtime.clock.now()
        activity = Activity(
            subject=subject,
            description=(description or "").strip()[:4000] or None,
            deadline=deadline,
            location=(location or "").strip()[:255] or None,
            responsible_id=actor.user_id,
            created_by_id=actor.user_id,
            client_entity=client.entity.value if client else None,
            client_id=client.id if client else None,
            created_at=now,
            updated_at=now,
        )
        activity.bindings = [
            ActivityBinding(entity=b.entity.value, entity_id=b.id, position=i)
            for i, b in enumerate(bindings)
        ]
        users = {actor.user_id, *participants}
        activity.participants = [
            ActivityParticipant(user_id=u) for u in sorted(users - {actor.user_id})
        ]
        await self.repos.activities.add(activity)
        for user_id in sorted(users):
            await self._schedule(activity, user_id, offsets)
        await self.elements.record(
            actor, ref, TimelineKind.ACTIVITY, id=activity.id, subject=subject
        )
        await self.repos.commit()
        return activity

    async def _schedule(
        self, activity: Activity, user_id: int, offsets: Sequence[int] | None
    ) -> None:
        if offsets is None:
            user = await self.repos.users.get(user_id)
            offsets = parse_offsets(user.reminder_offsets if user else None)
        now = self.runtime.clock.now()
        for offset in due_offsets(activity.deadline, offsets, now):  # none for the past
            due = activity.deadline - timedelta(minutes=offset)
            self.repos.reminders.add(
                Reminder(
                    activity_id=activity.id,
                    user_id=user_id,
                    due_at=due,
                    kind="offset",
                    offset_minutes=offset,
                )
            )
        await self.repos.session.flush()

    def read_deadline(self, user: User, text: str) -> Deadline | None:
        """A deadline at the start of `text`, read in the user's language and time zone."""
        return parse_deadline(text, **self._reading(user))

    def read_when(self, user: User, text: str) -> datetime | None:
        """`text` as a whole read as a moment, in the user's language and time zone."""
        return parse_when(text, **self._reading(user))

    def past(self, user: User, at: datetime) -> PastDeadline | None:
        """Whether a deadline typed now is already past (and what the user may have meant).

        A deadline is never created overdue without the user's word: the dialog asks about
        "dziś o 18" at 20:30 (tomorrow 18:00?) and refuses "wczoraj 10:00".
        """
        return past_deadline(
            at, now=self.runtime.clock.now(), timezone=self.runtime.config.timezone_of(user)
        )

    def _reading(self, user: User) -> dict[str, Any]:
        config = self.runtime.config
        return {
            "now": self.runtime.clock.now(),
            "timezone": config.timezone_of(user),
            "locale": config.locale_of(user),
        }

    # --- load and rights ---------------------------------------------------------------------
    async def get(self, actor: Actor, activity_id: int) -> Activity:
        activity = await self.repos.activities.get(activity_id)
        if activity is None:
            raise NotFound("activity", activity_id)
        if not await self._can(actor, activity, Operation.READ):
            raise NotFound("activity", activity_id)  # as if it did not exist
        return activity

    async def _can(self, actor: Actor, activity: Activity, op: Operation) -> bool:
        """READ: the responsible, a participant, or anyone who may read a bound element.
        UPDATE: edit rights on every bound element (the seed rule)."""
        if op is Operation.READ and actor.user_id in self._people(activity):
            return True
        checks = []
        for binding in activity.bindings:
            ref = ElementRef(EntityType(binding.entity), binding.entity_id)
            try:
                await self.elements.load(actor, ref, op)
                checks.append(True)
            except (AccessDenied, NotFound):
                checks.append(False)
        if op is Operation.READ:
            return any(checks)
        return bool(checks) and all(checks)

    @staticmethod
    def _people(activity: Activity) -> set[int]:
        people = {p.user_id for p in activity.participants}
        if activity.responsible_id:
            people.add(activity.responsible_id)
        return people

    async def _editable(self, actor: Actor, activity_id: int) -> Activity:
        activity = await self.repos.activities.get(activity_id)
        if activity is None:
            raise NotFound("activity", activity_id)
        if not await self._can(actor, activity, Operation.UPDATE):
            if not await self._can(actor, activity, Operation.READ):
                raise NotFound("activity", activity_id)  # as if it did not exist
            raise AccessDenied(entity=EntityType.ACTIVITY, operation=Operation.UPDATE)
        return activity

    # --- changes -----------------------------------------------------------------------------
    async def complete(self, actor: Actor, activity_id: int) -> Activity:
        activity = await self._editable(actor, activity_id)
        if activity.completed_at is None:
            now = self.runtime.clock.now()
            activity.completed_at = now
            activity.completed_by_id = actor.user_id
            activity.updated_at = now
            await self.repos.reminders.cancel_pending(activity.id)
            for binding in activity.bindings[:1]:
                ref = ElementRef(EntityType(binding.entity), binding.entity_id)
                await self.elements.record(
                    actor,
                    ref,
                    TimelineKind.ACTIVITY_DONE,
                    id=activity.id,
                    subject=activity.subject,
                )
            await self.repos.commit()
        return activity

    async def editable(self, actor: Actor, activity_id: int) -> Activity:
        """The activity, if `actor` may change it (edit rights on every bound element)."""
        return await self._editable(actor, activity_id)

    async def delete(self, actor: Actor, activity_id: int) -> Activity:
        """Delete the activity and its reminders; the element's history keeps a line of it."""
        activity = await self._editable(actor, activity_id)
        subject, ref = activity.subject, primary_ref(activity)
        note(self.repos.session, Effect(TimelineKind.ACTIVITY_DELETED, ref, activity_id))
        await self.repos.activities.delete(activity)  # its reminders go with it (FK cascade)
        if ref is not None:
            await self.elements.record(
                actor, ref, TimelineKind.ACTIVITY_DELETED, id=activity_id, subject=subject
            )
        await self.repos.commit()
        return activity

    async def edit_subject(self, actor: Actor, activity_id: int, subject: str) -> Activity:
        subject = " ".join(subject.split())[:MAX_SUBJECT]
        if not subject:
            raise InvalidValue("subject", "")
        activity = await self._editable(actor, activity_id)
        if subject != activity.subject:
            activity.subject = subject
            activity.updated_at = self.runtime.clock.now()
            await self.repos.commit()
        return activity

    async def reschedule(self, actor: Actor, activity_id: int, deadline: datetime) -> Activity:
        """A new deadline replaces every pending reminder: no duplicates, none for the old time."""
        if deadline.tzinfo is None:
            raise InvalidValue("deadline", "naive")
        activity = await self._editable(actor, activity_id)
        if activity.completed_at is not None:
            raise InvalidValue("activity", "completed")
        activity.deadline = deadline
        activity.updated_at = self.runtime.clock.now()
        await self.repos.reminders.cancel_pending(activity.id)
        await self.repos.session.flush()
        for user_id in sorted(self._people(activity)):
            await self._schedule(activity, user_id, None)
        note(
            self.repos.session, Effect("activity_rescheduled", primary_ref(activity), activity.id)
        )
        await self.repos.commit()
        return activity

    async def snooze(
        self, actor: Actor, activity_id: int, snooze: Snooze, timezone: str
    ) -> datetime:
        """Remind this user again later; an earlier snooze of theirs is replaced, not added to."""
        activity = await self.get(actor, activity_id)
        if activity.completed_at is not None:
            raise InvalidValue("activity", "completed")
        now = self.runtime.clock.now()
        if snooze.tomorrow:
            zone = ZoneInfo(timezone)
            tomorrow = (now.astimezone(zone) + timedelta(days=1)).date()
            due = datetime.combine(tomorrow, time(9, 0), tzinfo=zone).astimezone(now.tzinfo)
        elif snooze.minutes and 0 < snooze.minutes <= 7 * 24 * 60:
            due = now + timedelta(minutes=snooze.minutes)
        else:
            raise InvalidValue("snooze", str(snooze.minutes))
        due = due.replace(microsecond=0)
        # Every reminder of mine due until then is settled by the snooze (the at-deadline one
        # must not follow it); later ones (a day before a far deadline) still come.
        await self.repos.reminders.cancel_pending(activity.id, actor.user_id, due_until=due)
        await self.repos.reminders.delete_unsent(activity.id, actor.user_id, due)
        self.repos.reminders.add(
            Reminder(activity_id=activity.id, user_id=actor.user_id, due_at=due, kind="snooze")
        )
        note(self.repos.session, Effect("activity_snoozed", primary_ref(activity), activity.id))
        await self.repos.commit()
        return due

    # --- lists -------------------------------------------------------------------------------
    async def today(self, actor: Actor, timezone: str) -> list[Activity]:
        """Open activities of mine due before the end of my today (overdue ones included)."""
        zone = ZoneInfo(timezone)
        local_now = self.runtime.clock.now().astimezone(zone)
        end = datetime.combine(local_now.date() + timedelta(days=1), time(0), tzinfo=zone)
        return list(await self.repos.activities.open_for_user(actor.user_id, before=end))

    async def open_for(self, actor: Actor) -> list[Activity]:
        return list(await self.repos.activities.open_for_user(actor.user_id, limit=500))

    async def calendar(self, actor: Actor) -> CalendarExport:
        """My open activities for an iCalendar file (the seeds' "add to calendar").

        Each comes with what a calendar entry alone must tell: the element (code and title),
        the client's name and a phone, read only where the actor may read the element, so the
        file reveals nothing a card would not.
        """
        installation = await self.repos.pipelines.installation_id()
        await self.repos.commit()  # made once, on the first export: kept from then on
        user = await self.repos.users.get(actor.user_id)
        items = [await self._calendar_item(actor, a) for a in await self.open_for(actor)]
        return CalendarExport(
            items=items,
            offsets=parse_offsets(user.reminder_offsets if user else None),
            installation=installation,
            now=self.runtime.clock.now(),
        )

    async def _calendar_item(self, actor: Actor, activity: Activity) -> CalendarItem:
        ref, title = primary_ref(activity), None
        client: Element | None = None
        for candidate in (ref, client_ref(activity)):
            if candidate is None:
                continue
            try:
                element = await self.elements.load(actor, candidate)
            except (NotFound, AccessDenied):
                continue
            if candidate == ref:
                title = label_of(element) or None
            if isinstance(element, Deal):
                client = client or element.contact or element.company
            elif client is None and isinstance(element, Contact | Company):
                client = element
        phone = None
        if client is not None:
            phones, _emails = await self.elements.communications(ref_of(client))
            phone = phones[0] if phones else None
        return CalendarItem(
            activity=activity,
            element=ref,
            element_title=title,
            client=label_of(client) if client is not None else None,
            phone=phone,
        )

    async def of_element(self, actor: Actor, ref: ElementRef) -> list[Activity]:
        await self.elements.load(actor, ref)
        return list(await self.repos.activities.open_for_element(ref.entity.value, ref.id))

    async def set_user_offsets(self, user: User, value: str) -> tuple[int, ...]:
        offsets = parse_offsets(value)
        user.reminder_offsets = ",".join(str(o) for o in offsets)
        await self.repos.commit()
        return offsets


def primary_ref(activity: Activity) -> ElementRef | None:
    if not activity.bindings:
        return None
    binding = activity.bindings[0]
    return ElementRef(EntityType(binding.entity), binding.entity_id)


def client_ref(activity: Activity) -> ElementRef | None:
    if activity.client_entity and activity.client_id:
        return ElementRef(EntityType(activity.client_entity), activity.client_id)
    return None
