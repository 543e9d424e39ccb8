"""Triage of inbound requests (Bitrix24's Open Channels, inside a Telegram group).

A group — or one forum topic of it — is bound as a queue. What is written or forwarded there,
sent to the bot by a client, or posted by a web form becomes a *request*; one person's burst of
messages is one request. Members Take, Assign, make a Lead, Junk or Close it.

Every change of state is one conditional UPDATE (`TriageRepo.transition`): two presses at
once, on two instances, give one winner; the loser is told who won. What the group should
show is a version on the request; the courier (`scheduler/triage.py`) posts and edits cards
from the database, so edits coalesce and the final state is never lost.

Telegram-free: the bot passes in what a message said (`Incoming`); a web view could too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, or_

from crm.codes import ElementRef
from crm.elements import Creation, DuplicateHit, ElementInput, ElementService, fold
from crm.enums import EntityType, Operation, Right, Role, TimelineKind
from crm.errors import AlreadyConverted, InvalidValue, NotFound, RequestGone
from crm.modes import CrmMode
from crm.parsing import normalize_email, normalize_phone, parse_line, region_for_locale
from crm.permissions import Actor
from storage.models import (
    Contact,
    Deal,
    Lead,
    TriageMember,
    TriageMessage,
    TriageQueue,
    TriageRequest,
    User,
)
from storage.repositories import Repos

if TYPE_CHECKING:
    from crm.context import Runtime


class QueueMode(StrEnum):
    """How a queue hands out requests (Open Channels' distribution)."""

    EVERYBODY = "everybody"  # shown to all; the first to take it keeps it
    EVENLY = "evenly"  # offered to the member whose last offer is oldest
    STRICTLY = "strictly"  # offered to members in their order


class RequestStatus(StrEnum):
    NEW = "new"  # nobody has it yet
    TAKEN = "taken"  # somebody works on it
    CONVERTED = "lead"  # a lead or deal was made of it
    JUNK = "junk"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        return self in OPEN

    @property
    def is_final(self) -> bool:
        return self in (RequestStatus.JUNK, RequestStatus.CLOSED)


OPEN = frozenset({RequestStatus.NEW, RequestStatus.TAKEN})
ENDED = frozenset({RequestStatus.CONVERTED, RequestStatus.JUNK, RequestStatus.CLOSED})


class Origin(StrEnum):
    GROUP = "group"  # written or forwarded into the group
    BOT = "bot"  # a client wrote to the bot in private (answers are relayed)
    WEB = "web"  # a web form, `POST /inbound/{token}`


class MessageKind(StrEnum):
    CLIENT = "client"  # what the client wrote
    ANSWER = "answer"  # a rep's answer, relayed to the client
    NOTICE_CLOSED = "closed"  # the bot tells the client their request is closed
    AUTO_REPLY = "auto"  # outside working hours
    ACKNOWLEDGED = "ack"  # the bot tells a client writing in private their request is in


class MessageStatus(StrEnum):
    DONE = "done"  # nothing to send (an incoming message, or sent)
    PENDING = "pending"  # to send to the client
    FAILED = "failed"  # could not be sent (the client blocked the bot)


MAX_TEXT = 8000  # what a request keeps of its messages (a card shows less)
CLIENT_KEY_MAX = 160


@dataclass(frozen=True, slots=True)
class Incoming:
    """What one message said, as the front end read it."""

    origin: Origin
    text: str = ""
    chat_id: int | None = None  # where it was written (for replies and edits)
    message_id: int | None = None
    author_tg_id: int | None = None  # who sent it to us
    author_name: str | None = None
    author_is_member: bool = False  # a CRM user forwarding or typing a client's words
    forwarded_from_id: int | None = None  # a forward from a user who allows linking
    forwarded_name: str | None = None  # a forward that names someone (maybe hidden)
    phone: str | None = None  # a shared contact's phone, or a form's field
    email: str | None = None
    contact_name: str | None = None  # a shared contact's or a form's name
    media_group_id: str | None = None  # an album: one request
    locale: str | None = None  # the client's language (Telegram's language_code)
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Received:
    request: TriageRequest
    new: bool  # a new card (False: added to an open request)
    reopened_from: int | None = None  # a returning client: the request this one follows


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of Take, Assign, Lead, Junk or Close."""

    request: TriageRequest
    won: bool  # False: somebody else acted first (see `request` for who and what)
    creation: Creation | None = None
    duplicates: list[DuplicateHit] = field(default_factory=list)
    tell_client: bool = False


async def next_member(
    repos: Repos, queue: TriageQueue, after: int | None, now: datetime
) -> int | None:
    """Who is offered a request next: in *evenly* the member offered longest ago (never
    offered first), in *strictly* the one after `after` in the queue's order (the first when
    `after` is none or gone), wrapping round. Used at intake and when the queue time runs out."""
    members = [
        m
        for m in await repos.triage.members(queue.id)
        if m.user.is_active and m.user.telegram_id is not None
    ]
    if not members:
        return None
    if queue.mode == QueueMode.EVENLY.value:
        candidates = [m for m in members if m.user_id != after] or members
        oldest = min(
            candidates,
            key=lambda m: (m.last_offered_at is not None, m.last_offered_at or now, m.position),
        )
        return oldest.user_id
    ids = [m.user_id for m in members]
    if after in ids:
        return ids[(ids.index(after) + 1) % len(ids)]
    return ids[0]


class TriageService:
    def __init__(self, repos: Repos, runtime: Runtime, elements: ElementService) -> None:
        self.repos = repos
        self.runtime = runtime
        self.elements = elements

    @property
    def _now(self) -> datetime:
        return self.runtime.clock.now()

    # --- binding -------------------------------------------------------------------------------
    async def bind(
        self, actor: Actor, chat_id: int, thread_id: int | None, title: str | None
    ) -> TriageQueue:
        """`/triage on`: the group (the topic where it was sent, in a forum) is the queue."""
        self.runtime.policy.require_right(actor, Right.GROUP_SETTINGS)
        queue = await self.repos.triage.queue_by_chat(chat_id)
        if queue is None:
            queue = TriageQueue(chat_id=chat_id, created_by_id=actor.user_id)
            await self.repos.triage.add(queue)
        queue.active = True
        queue.thread_id = thread_id
        queue.title = title
        if queue.department_id is None:
            queue.department_id = actor.department_id
        await self.join(queue, actor.user_id)
        await self.repos.commit()
        return queue

    async def unbind(self, actor: Actor, chat_id: int) -> TriageQueue | None:
        self.runtime.policy.require_right(actor, Right.GROUP_SETTINGS)
        queue = await self.repos.triage.queue_by_chat(chat_id)
        if queue is not None and queue.active:
            queue.active = False
            await self.repos.commit()
        return queue

    async def lost_group(self, queue_id: int) -> None:
        """The bot can no longer post in the group (removed, or the group is gone)."""
        queue = await self.repos.triage.queue(queue_id)
        if queue is not None and queue.active:
            queue.active = False
            await self.repos.commit()

    async def moved(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group upgraded to a supergroup gets a new id (Telegram's `migrate_to_chat_id`)."""
        queue = await self.repos.triage.queue_by_chat(old_chat_id)
        if queue is not None and await self.repos.triage.queue_by_chat(new_chat_id) is None:
            queue.chat_id = new_chat_id
            await self.repos.commit()

    async def queue_by_chat(self, chat_id: int) -> TriageQueue | None:
        """The group's queue, active or not."""
        return await self.repos.triage.queue_by_chat(chat_id)

    async def queue_of(self, chat_id: int) -> TriageQueue | None:
        """The active queue of a group, if it is one."""
        queue = await self.repos.triage.queue_by_chat(chat_id)
        return queue if queue is not None and queue.active else None

    async def set_mode(self, actor: Actor, queue: TriageQueue, mode: QueueMode) -> TriageQueue:
        self.runtime.policy.require_right(actor, Right.GROUP_SETTINGS)
        queue.mode = mode.value
        await self.repos.commit()
        return queue

    async def configure(self, actor: Actor, queue: TriageQueue, **values: Any) -> TriageQueue:
        """Queue time, escalation, reopen window, burst window, relay, hours, timezone."""
        self.runtime.policy.require_right(actor, Right.GROUP_SETTINGS)
        allowed = {
            "queue_seconds", "escalate_seconds", "reopen_seconds", "burst_seconds",
            "relay_private", "work_hours", "timezone", "source",
        }  # fmt: skip
        for name, value in values.items():
            if name not in allowed:
                raise InvalidValue("setting", name)
            if name.endswith("_seconds") and not (isinstance(value, int) and value >= 0):
                raise InvalidValue(name, str(value))
            setattr(queue, name, value)
        await self.repos.commit()
        return queue

    # --- members -------------------------------------------------------------------------------
    async def join(self, queue: TriageQueue, user_id: int) -> TriageMember:
        """A CRM user seen acting in the group works the queue (Telegram lists no members)."""
        member = await self.repos.triage.member(queue.id, user_id)
        if member is None:
            member = TriageMember(
                queue_id=queue.id,
                user_id=user_id,
                joined_at=self._now,
                position=await self.repos.triage.next_position(queue.id),
            )
            await self.repos.triage.add(member)
        elif not member.active:
            member.active = True
        return member

    async def seen(self, queue: TriageQueue, user: User) -> None:
        """Called for every update of a CRM user in the group; commits only when new."""
        member = await self.repos.triage.member(queue.id, user.id)
        if member is None or not member.active:
            await self.join(queue, user.id)
            await self.repos.commit()

    async def leave(self, queue: TriageQueue, user_id: int) -> None:
        member = await self.repos.triage.member(queue.id, user_id)
        if member is not None and member.active:
            member.active = False
            await self.repos.commit()

    async def members(self, queue: TriageQueue) -> list[User]:
        return [
            m.user
            for m in await self.repos.triage.members(queue.id)
            if m.user.is_active and m.user.telegram_id is not None
        ]

    # --- intake --------------------------------------------------------------------------------
    async def receive(self, queue: TriageQueue, incoming: Incoming) -> Received:
        """A message for the queue: added to the client's open request (an album, a burst, a
        follow-up), or a new request — linked to the client's last one when they return."""
        now = self._now
        if incoming.idempotency_key:
            seen = await self.repos.triage.by_idempotency_key(incoming.idempotency_key)
            if seen is not None:
                return Received(seen, new=False)
        key = self.client_key(incoming)
        latest: TriageRequest | None = None
        if incoming.media_group_id:
            latest = await self.repos.triage.by_media_group(queue.id, incoming.media_group_id)
        if latest is None and key is not None:
            latest = await self.repos.triage.latest_of_client(queue.id, key)
        if latest is not None and self._continues(queue, latest, incoming, now):
            await self._append(latest, incoming, now)
            await self.repos.commit()
            return Received(latest, new=False)
        previous = None
        if (
            latest is not None
            and RequestStatus(latest.status) in ENDED
            and latest.closed_at is not None
            and now - latest.closed_at <= timedelta(seconds=queue.reopen_seconds)
        ):
            previous = latest
        request = await self._new_request(queue, incoming, key, now, previous)
        await self.repos.commit()
        return Received(request, new=True, reopened_from=previous.id if previous else None)

    async def receive_form(self, queue: TriageQueue, incoming: Incoming) -> Received:
        """A web form's submission: always a request of its own (each form filled is a lead of
        its own, as Bitrix24's CRM forms make), linked to the client's last ended request when
        they return. Left uncommitted: the caller commits it with the lead it made."""
        now = self._now
        key = self.client_key(incoming)
        latest = await self.repos.triage.latest_of_client(queue.id, key) if key else None
        previous = None
        if (
            latest is not None
            and RequestStatus(latest.status) in ENDED
            and latest.closed_at is not None
            and now - latest.closed_at <= timedelta(seconds=queue.reopen_seconds)
        ):
            previous = latest
        request = await self._new_request(queue, incoming, key, now, previous)
        return Received(request, new=True, reopened_from=previous.id if previous else None)

    async def request_at(self, chat_id: int, message_id: int) -> TriageRequest | None:
        """The request a message belongs to: its card, or one of the client's messages."""
        return await self.repos.triage.by_message(chat_id, message_id)

    async def from_message(self, queue: TriageQueue, incoming: Incoming) -> TriageRequest:
        """`/lead` as a reply: the request that message is (or became) part of, else a new one."""
        if incoming.chat_id is not None and incoming.message_id is not None:
            found = await self.request_at(incoming.chat_id, incoming.message_id)
            if found is not None and found.queue_id == queue.id:
                return found
        return (await self.receive(queue, incoming)).request

    def client_key(self, incoming: Incoming) -> str | None:
        """Who the client is, so a returning one is recognized; None when nothing tells."""
        region = "PL"
        if incoming.forwarded_from_id is not None:
            return f"tg:{incoming.forwarded_from_id}"
        phone = normalize_phone(incoming.phone, region) if incoming.phone else None
        if phone:
            return f"phone:{phone}"
        email = normalize_email(incoming.email) if incoming.email else None
        if email:
            return f"email:{email}"[:CLIENT_KEY_MAX]
        if incoming.forwarded_name:
            return f"name:{fold(incoming.forwarded_name)}"[:CLIENT_KEY_MAX]
        if incoming.author_tg_id is not None and not incoming.author_is_member:
            return f"tg:{incoming.author_tg_id}"
        parsed = parse_line(incoming.text[:500])
        if parsed.phones:
            return f"phone:{parsed.phones[0]}"
        if parsed.emails:
            return f"email:{parsed.emails[0]}"[:CLIENT_KEY_MAX]
        if incoming.author_tg_id is not None and incoming.origin is not Origin.WEB:
            # A member typing requests one after another: a burst from them is one request.
            return f"member:{incoming.author_tg_id}"
        return None

    def _continues(
        self, queue: TriageQueue, latest: TriageRequest, incoming: Incoming, now: datetime
    ) -> bool:
        if incoming.media_group_id and latest.media_group_id == incoming.media_group_id:
            return True
        status = RequestStatus(latest.status)
        if not status.is_open:
            return False
        if latest.client_key.startswith("member:"):
            # A member's own messages only join within the burst window.
            return now - latest.last_message_at <= timedelta(seconds=queue.burst_seconds)
        return True  # a client's follow-up while the request is open: the same card

    async def _append(self, request: TriageRequest, incoming: Incoming, now: datetime) -> None:
        text = incoming.text.strip()
        values: dict[str, Any] = {
            "messages": TriageRequest.messages + 1,
            "last_message_at": now,
        }
        if text:
            joined = f"{request.text}\n{text}" if request.text else text
            values["text"] = joined[:MAX_TEXT]
        for name in ("phone", "email"):
            if getattr(incoming, name) and not getattr(request, name):
                values[name] = getattr(incoming, name)[: 32 if name == "phone" else 255]
        await self.repos.triage.touch_card(request.id, **values)
        await self._keep_message(request.id, incoming, now)

    async def _new_request(
        self,
        queue: TriageQueue,
        incoming: Incoming,
        key: str | None,
        now: datetime,
        previous: TriageRequest | None,
    ) -> TriageRequest:
        name = (
            incoming.contact_name
            or incoming.forwarded_name
            or (incoming.author_name if not incoming.author_is_member else None)
        )
        phone, email = self._reachable_at(incoming)
        request = TriageRequest(
            queue_id=queue.id,
            status=RequestStatus.NEW.value,
            origin=incoming.origin.value,
            source=incoming.source or queue.source,
            client_key=key or "anon:",
            client_tg_id=self._reachable_client(incoming),
            client_name=(name or "")[:255] or None,
            client_locale=incoming.locale,
            phone=phone,
            email=email,
            forwarded_from=(incoming.forwarded_name or "")[:255] or None,
            text=incoming.text.strip()[:MAX_TEXT],
            extra=dict(incoming.extra),
            media_group_id=incoming.media_group_id,
            last_message_at=now,
            previous_id=previous.id if previous else None,
            idempotency_key=incoming.idempotency_key,
            sla_started_at=now,
            # The SLA round places the first due time at once, by the queue's working hours
            # (and tells a client who wrote while it is closed): crm/triage_sla.py.
            sla_due_at=now,
        )
        if previous is not None and previous.assignee_id is not None:
            member = await self.repos.triage.member(queue.id, previous.assignee_id)
            if member is not None and member.active:
                request.offered_to_id = previous.assignee_id  # back to who served them
        if request.offered_to_id is None and queue.mode != QueueMode.EVERYBODY.value:
            request.offered_to_id = await next_member(self.repos, queue, None, now)
        if request.offered_to_id is not None:
            member = await self.repos.triage.member(queue.id, request.offered_to_id)
            if member is not None:
                member.last_offered_at = now
        await self.repos.triage.add(request)
        if request.client_key == "anon:":
            request.client_key = f"anon:{request.id}"
        await self._keep_message(request.id, incoming, now)
        return request

    def _reachable_at(self, incoming: Incoming) -> tuple[str | None, str | None]:
        """The client's phone and e-mail: given (a shared contact, a form), else read from
        the text the way one-line creation reads it; normalized (E.164, lowercase)."""
        region = region_for_locale(incoming.locale or self.runtime.config.default_locale)
        phone = normalize_phone(incoming.phone, region) if incoming.phone else None
        email = normalize_email(incoming.email) if incoming.email else None
        if (phone is None or email is None) and incoming.text:
            parsed = parse_line(incoming.text[:1000], region=region)
            phone = phone or (parsed.phones[0] if parsed.phones else None)
            email = email or (parsed.emails[0] if parsed.emails else None)
        return (phone[:32] if phone else None), (email[:255] if email else None)

    @staticmethod
    def _reachable_client(incoming: Incoming) -> int | None:
        if incoming.origin is Origin.BOT:
            return incoming.author_tg_id
        return None

    async def _keep_message(self, request_id: int, incoming: Incoming, now: datetime) -> None:
        if incoming.chat_id is None or incoming.message_id is None:
            return
        await self.repos.triage.add(
            TriageMessage(
                request_id=request_id,
                chat_id=incoming.chat_id,
                message_id=incoming.message_id,
                direction="in",
                kind=MessageKind.CLIENT.value,
                status=MessageStatus.DONE.value,
                author_tg_id=incoming.author_tg_id,
                text=incoming.text[:4096],
                at=now,
            )
        )

    # --- the claims ----------------------------------------------------------------------------
    async def request_for(self, actor: Actor, request_id: int) -> TriageRequest:
        """A request the actor works on: they are a member of its queue (or may manage
        groups). Anybody else is told it is gone, whether it exists or not."""
        request = await self.repos.triage.fresh(request_id)
        if request is None or not request.queue.active:
            raise RequestGone()
        member = await self.repos.triage.member(request.queue_id, actor.user_id)
        if (member is None or not member.active) and not self.runtime.policy.has_right(
            actor, Right.GROUP_SETTINGS
        ):
            raise RequestGone()
        return request

    async def take(self, actor: Actor, request_id: int) -> Claim:
        """Take: the presser gets it while it is new; exactly one wins."""
        await self.request_for(actor, request_id)
        won = await self.repos.triage.transition(
            request_id,
            TriageRequest.status == RequestStatus.NEW.value,
            self._acted(actor, status=RequestStatus.TAKEN, assignee_id=actor.user_id),
        )
        if won:
            await self._hand_over(actor, request_id, actor.user_id)
        return await self._finish(request_id, won)

    async def _hand_over(self, actor: Actor, request_id: int, user_id: int) -> None:
        """A web form's lead was made at once, owned by the system actor's user: whoever
        takes (or is assigned) the request becomes its responsible, so they can open it."""
        request = await self.repos.triage.fresh(request_id)
        if (
            request is None
            or request.origin != Origin.WEB.value
            or not (request.element_entity and request.element_id)
        ):
            return
        ref = ElementRef(EntityType(request.element_entity), request.element_id)
        # The hand-over is the queue's rule, not the presser's right: a rep may not give
        # away an admin's lead, but the request they won carries it with it.
        system = Actor(
            user_id=actor.user_id, role=Role.ADMIN, department_id=actor.department_id, system=True
        )
        await self.elements.set_responsible(system, ref, user_id, commit=False)

    async def assign(self, actor: Actor, request_id: int, user_id: int) -> Claim:
        """Assign…: to a member of the queue, while open and the actor may hand it on."""
        request = await self.request_for(actor, request_id)
        member = await self.repos.triage.member(request.queue_id, user_id)
        if member is None or not member.active or not member.user.is_active:
            raise NotFound("member", user_id)
        won = await self.repos.triage.transition(
            request_id,
            self._may_act(actor),
            self._acted(actor, status=RequestStatus.TAKEN, assignee_id=user_id),
        )
        if won:
            await self._hand_over(actor, request_id, user_id)
        return await self._finish(request_id, won)

    async def assignable(self, actor: Actor, request_id: int) -> list[User]:
        request = await self.request_for(actor, request_id)
        return await self.members(request.queue)

    async def junk(self, actor: Actor, request_id: int, reason: str) -> Claim:
        reason = reason.strip()
        if not reason:
            raise InvalidValue("reason", "")
        await self.request_for(actor, request_id)
        won = await self.repos.triage.transition(
            request_id,
            self._may_act(actor),
            self._acted(actor, status=RequestStatus.JUNK, junk_reason=reason[:1000],
                        closed_at=self._now),
        )  # fmt: skip
        return await self._finish(request_id, won)

    async def close(self, actor: Actor, request_id: int) -> Claim:
        """Close: finished. A client who wrote through the bot is told."""
        await self.request_for(actor, request_id)
        guard = and_(
            TriageRequest.status.in_([RequestStatus.TAKEN.value, RequestStatus.CONVERTED.value]),
            self._holder_or_manager(actor),
        )
        won = await self.repos.triage.transition(
            request_id, guard, self._acted(actor, status=RequestStatus.CLOSED, closed_at=self._now)
        )
        claim = await self._finish(request_id, won, commit=False)
        tell = (
            won and claim.request.origin == Origin.BOT.value and not claim.request.client_blocked
        )
        if tell and claim.request.client_tg_id is not None:
            await self.repos.triage.add(
                TriageMessage(
                    request_id=request_id,
                    chat_id=claim.request.client_tg_id,
                    message_id=0,
                    direction="out",
                    kind=MessageKind.NOTICE_CLOSED.value,
                    status=MessageStatus.PENDING.value,
                    at=self._now,
                )
            )
        await self.repos.commit()
        return Claim(claim.request, won, tell_client=tell)

    async def convert(
        self,
        actor: Actor,
        request_id: int,
        *,
        force: bool = False,
        client: ElementRef | None = None,
    ) -> Claim:
        """Lead: a lead (Classic) or a deal with its contact (Simple) from the request, with
        the duplicate check of one-line creation; a returning client's contact gets a *repeat*
        deal or lead. Claimed first, created in the same transaction: one press wins."""
        request = await self.request_for(actor, request_id)
        if request.element_id is not None:
            raise AlreadyConverted()  # a web form's request is a lead from the start
        queue = request.queue
        data = self.input_of(request)
        if client is None:
            client = await self._known_client(actor, request, data)
        if client is None and not force:
            entity = (
                EntityType.CONTACT
                if await self.elements.mode() is CrmMode.SIMPLE
                else (EntityType.LEAD)
            )
            hits = await self.elements.find_duplicates(actor, entity, data)
            if hits and RequestStatus(request.status).is_open:
                return Claim(request, won=False, duplicates=hits)
        won = await self.repos.triage.transition(
            request_id,
            self._may_act(actor),
            self._acted(actor, status=RequestStatus.CONVERTED, assignee_id=actor.user_id,
                        closed_at=self._now),
        )  # fmt: skip
        if not won:
            await self.repos.session.rollback()
            return await self._finish(request_id, False)
        try:
            creation = await self._create(actor, client, data)
        except Exception:
            await self.repos.session.rollback()
            raise
        await self.repos.triage.touch_card(
            request_id,
            element_entity=creation.primary.entity.value,
            element_id=creation.primary.id,
        )
        await self.elements.record(
            actor,
            creation.primary,
            TimelineKind.TRIAGE,
            request=request_id,
            group=queue.title or "",
            origin=request.origin,
            previous=request.previous_id,
            repeat=client is not None,
        )
        await self.repos.commit()
        claim = await self._finish(request_id, True)
        return Claim(claim.request, True, creation=creation)

    async def _create(
        self, actor: Actor, client: ElementRef | None, data: ElementInput
    ) -> Creation:
        """The element, left uncommitted for the caller (the claim commits with it)."""
        if client is not None:
            if await self.elements.mode() is CrmMode.SIMPLE:
                return await self.elements.create_deal_for(actor, client, data, commit=False)
            return await self.elements.repeat_lead(actor, client, data, commit=False)
        entity = (
            EntityType.LEAD if await self.elements.mode() is CrmMode.CLASSIC else (EntityType.DEAL)
        )
        return await self.elements.create(actor, entity, data, commit=False)

    async def _known_client(
        self, actor: Actor, request: TriageRequest, data: ElementInput
    ) -> ElementRef | None:
        """A returning client's contact: from what their earlier request became, or the one
        readable contact holding their phone or e-mail."""
        previous_id = request.previous_id
        while previous_id is not None:
            previous = await self.repos.triage.request(previous_id)
            if previous is None:
                break
            if previous.element_entity and previous.element_id:
                contact_id = await self._contact_of(previous.element_entity, previous.element_id)
                if contact_id is not None:
                    ref = ElementRef(EntityType.CONTACT, contact_id)
                    contact = await self.repos.elements.get(Contact, contact_id)
                    if contact is not None and await self.elements.can(
                        actor, contact, Operation.READ
                    ):
                        return ref
            previous_id = previous.previous_id
        if data.phones or data.emails:
            return await self.elements.client_by_communication(
                actor, ElementInput(phones=data.phones, emails=data.emails)
            )
        return None

    async def _contact_of(self, entity: str, element_id: int) -> int | None:
        if entity == EntityType.CONTACT.value:
            return element_id
        element: Lead | Deal | None
        if entity == EntityType.LEAD.value:
            element = await self.repos.elements.get(Lead, element_id)
        elif entity == EntityType.DEAL.value:
            element = await self.repos.elements.get(Deal, element_id)
        else:
            return None
        return element.contact_id if element is not None else None

    def input_of(self, request: TriageRequest) -> ElementInput:
        """The request read as a one-line creation: the client's name, phone and e-mail from
        the message's sender or the form, the rest of the text from the line."""
        parsed = parse_line(
            request.text[:2000], default_currency=self.runtime.config.base_currency
        )
        data = ElementInput.from_parsed(parsed, source=request.source)
        phones = tuple(dict.fromkeys(
            p for p in (normalize_phone(request.phone) if request.phone else None, *data.phones)
            if p
        ))  # fmt: skip
        emails = tuple(dict.fromkeys(
            e for e in (normalize_email(request.email) if request.email else None, *data.emails)
            if e
        ))  # fmt: skip
        name = data.name or request.client_name
        title = data.title or (request.text.strip().splitlines() or [""])[0][:120]
        return ElementInput(
            title=title or (name or ""),
            name=name,
            company=data.company,
            phones=phones,
            emails=emails,
            amount=data.amount,
            currency=data.currency,
            comment=request.text[:4000] or None,
            source=request.source,
            first_name=data.first_name if data.name else None,
            last_name=data.last_name if data.name else None,
            address=data.address,
        )

    # --- guards --------------------------------------------------------------------------------
    def _is_manager(self, actor: Actor) -> bool:
        return actor.role in (Role.ADMIN, Role.MANAGER)

    def _holder_or_manager(self, actor: Actor) -> ColumnElement[bool]:
        if self._is_manager(actor):
            return TriageRequest.id.is_not(None)
        return TriageRequest.assignee_id == actor.user_id

    def _may_act(self, actor: Actor) -> ColumnElement[bool]:
        """A new request anybody in the queue may act on; a taken one its holder or a manager."""
        new = TriageRequest.status == RequestStatus.NEW.value
        held = and_(
            TriageRequest.status == RequestStatus.TAKEN.value, self._holder_or_manager(actor)
        )
        return or_(new, held)

    def _acted(self, actor: Actor, *, status: RequestStatus, **values: Any) -> dict[str, Any]:
        return {
            "status": status.value,
            "acted_by_id": actor.user_id,
            "sla_due_at": None,
            "sla_lease_until": None,
            "offered_to_id": None,
            # Handled: no "still waiting" in the group, no head told (crm/triage_sla.py).
            "announce_pending": False,
            "escalate_pending": False,
            "updated_at": self._now,
            **values,
        }

    async def _finish(self, request_id: int, won: bool, *, commit: bool = True) -> Claim:
        if won and commit:
            await self.repos.commit()
        elif not won:
            await self.repos.session.rollback()
        request = await self.repos.triage.fresh(request_id)
        if request is None:
            raise RequestGone()
        return Claim(request, won)

    async def names(self, request: TriageRequest) -> dict[int, str]:
        ids = {i for i in (request.assignee_id, request.offered_to_id, request.acted_by_id) if i}
        return await self.repos.users.names(ids) if ids else {}


@dataclass(frozen=True, slots=True)
class CardJob:
    """A card the courier holds for a moment: post or edit it to show `version`."""

    request_id: int
    version: int


@dataclass(frozen=True, slots=True)
class CardView:
    """What a card shows (rendered by the front end in the group's language)."""

    request: TriageRequest
    queue: TriageQueue
    names: dict[int, str]
    element_code: str | None
    first_message: TriageMessage | None  # what the card replies to, in the group
    locale: str | None  # the group's own language, if it chose one


class Courier:
    """The database side of the courier: claim cards, say what they show, settle them."""

    def __init__(self, repos: Repos, runtime: Runtime) -> None:
        self.repos = repos
        self.runtime = runtime

    async def claim(
        self, *, lease: timedelta, group_interval: timedelta, limit: int, only: int | None = None
    ) -> list[CardJob]:
        now = self.runtime.clock.now()
        jobs = await self.repos.triage.claim_cards(
            now, now + lease, now + group_interval, limit, only=only
        )
        await self.repos.commit()
        return [CardJob(request_id, version) for request_id, version in jobs]

    async def view(self, job: CardJob) -> CardView | None:
        request = await self.repos.triage.fresh(job.request_id)
        if request is None:
            return None
        ids = {i for i in (request.assignee_id, request.offered_to_id, request.acted_by_id) if i}
        names = await self.repos.users.names(ids) if ids else {}
        code = None
        if request.element_entity and request.element_id:
            code = ElementRef(EntityType(request.element_entity), request.element_id).code
        first = await self.repos.triage.first_message(request.id, request.queue.chat_id)
        chat = await self.repos.chats.get(request.queue.chat_id)
        return CardView(request, request.queue, names, code, first, chat.locale if chat else None)

    async def shown(
        self, job: CardJob, message_id: int | None, *, announced: bool = False
    ) -> None:
        await self.repos.triage.settle_card(job.request_id, job.version, message_id, announced)
        await self.repos.commit()

    async def failed(self, job: CardJob, queue_id: int, retry_after: float | None) -> None:
        """Not shown: the card goes back; a 429 closes the group's slot for `retry_after`."""
        await self.repos.triage.release_card(job.request_id)
        if retry_after:
            until = self.runtime.clock.now() + timedelta(seconds=retry_after)
            await self.repos.triage.delay_group(queue_id, until)
        await self.repos.commit()

    async def forget_card(self, job: CardJob) -> None:
        """The card's message is gone (deleted in the group): the next delivery posts anew."""
        await self.repos.triage.touch_card(job.request_id, card_message_id=None)
        await self.repos.triage.release_card(job.request_id)
        await self.repos.commit()
