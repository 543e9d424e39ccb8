"""Clients writing to the bot in private, answered from the triage group (Open Channels' chat).

A group turns it on with `/triage relay on` (one queue at a time: turning it on in a group
turns it off everywhere else, so a stranger's message has exactly one place to go). Then:

- a stranger's private message becomes a request in that queue (`TriageService.receive`: one
  person's burst or album is one request, a follow-up joins their open request, a return after
  a close is a new request linked to the old one). The first message of a request gets a short
  acknowledgement in the client's language; a follow-up is also copied into the group as a
  reply under the card, so the team sees it.
- a CRM user's reply under the card (or under any message of the request) is an answer: it is
  copied to the client. Edits go the same way: an edited answer edits the client's copy, an
  edited client message edits the request's text and its copy in the group.
- Close tells the client (`TriageService.close` queues the notice).

Everything to send is a row of `triage_messages` (the outbox, see `storage/repositories/
relay.py`), written in the same transaction as what caused it and sent by the relay courier
(`scheduler/relay.py`) under a lease: a crash loses nothing, and several instances send each
row once. A client who blocked the bot (403) is marked on all their requests, their pending
rows fail, the card shows it, and nothing is sent to them again until they write again.

Telegram-free: the bot passes in what happened (`Incoming`, chat and message ids, texts).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from crm.enums import Right
from crm.errors import RequestGone
from crm.locales import SOURCE_LOCALE, match_locale
from crm.permissions import Actor
from crm.triage import (
    MAX_TEXT,
    Incoming,
    MessageKind,
    MessageStatus,
    Origin,
    TriageService,
)
from crm.work_hours import HoursError, Schedule
from storage.models import TriageMessage, TriageQueue, TriageRequest
from storage.repositories import Repos

if TYPE_CHECKING:
    from crm.context import Runtime

MAX_MESSAGE = 4096


class Answered(StrEnum):
    """What became of a rep's reply under a card."""

    QUEUED = "queued"  # it goes to the client
    BLOCKED = "blocked"  # the client blocked the bot: kept, not sent
    NOT_RELAYED = "talk"  # the request did not come through the bot: talk among the team


@dataclass(frozen=True, slots=True)
class Relayed:
    """A client's private message taken in."""

    request: TriageRequest
    new: bool  # a new request (and card)
    reopened_from: int | None


@dataclass(frozen=True, slots=True)
class RelayJob:
    """One outbox row the courier holds for a moment."""

    row_id: int
    queue_id: int
    to_group: bool  # the client's message copied under the card (else: to the client)
    chat_key: int  # the group's queue or the client: one chat's rows are sent in order


@dataclass(frozen=True, slots=True)
class RelayView:
    """What to send for a row, rendered by the front end."""

    row: TriageMessage
    request: TriageRequest
    target_chat: int  # where the copy goes (the client's chat, or the group)
    edit_message_id: int | None  # the copy already made: edit it
    reply_to: int | None  # in the group: the card
    thread_id: int | None  # in the group: the forum topic
    locale: str | None  # the client's language, for what the bot itself says to them
    schedule: Schedule | None = None  # the queue's working hours, for an auto-reply

    @property
    def kind(self) -> MessageKind:
        return MessageKind(self.row.kind)


class RelayService:
    def __init__(self, repos: Repos, runtime: Runtime, triage: TriageService) -> None:
        self.repos = repos
        self.runtime = runtime
        self.triage = triage

    # --- the setting ---------------------------------------------------------------------------
    async def queue(self) -> TriageQueue | None:
        """Where strangers' private messages go, if anywhere."""
        return await self.repos.relay.relay_queue()

    async def set(self, actor: Actor, queue: TriageQueue, on: bool) -> list[TriageQueue]:
        """`/triage relay on|off`; on turns it off in every other queue (returned)."""
        self.runtime.policy.require_right(actor, Right.GROUP_SETTINGS)
        queue.relay_private = on
        others = list(await self.repos.relay.relay_off_except(queue.id)) if on else []
        await self.repos.commit()
        return others

    # --- from the client -----------------------------------------------------------------------
    async def from_client(self, incoming: Incoming) -> Relayed | None:
        """A stranger's private message: a request (or part of one) in the relay queue; None
        when no queue takes private messages."""
        queue = await self.queue()
        client = incoming.author_tg_id
        if queue is None or client is None:
            return None
        incoming = _with_locale(incoming)
        # Writing to the bot means it is not blocked (any more): answers may go again.
        await self._mark_blocked(client, False)
        received = await self.triage.receive(queue, incoming)
        request = received.request
        now = self.runtime.clock.now()
        if request.client_tg_id is None:  # their open request came another way (the group)
            await self.repos.triage.touch_card(
                request.id, client_tg_id=client, client_locale=incoming.locale
            )
        if received.new:
            await self.repos.triage.add(
                TriageMessage(
                    request_id=request.id,
                    chat_id=client,
                    message_id=0,
                    peer_chat_id=client,
                    direction="out",
                    kind=MessageKind.ACKNOWLEDGED.value,
                    status=MessageStatus.PENDING.value,
                    at=now,
                )
            )
        elif incoming.chat_id is not None and incoming.message_id is not None:
            row = await self.repos.relay.row_at(incoming.chat_id, incoming.message_id, "in")
            if row is not None and row.request_id == request.id:
                # Copied under the card for the team (the card shows the first message).
                row.status = MessageStatus.PENDING.value
                row.peer_chat_id = queue.chat_id
        await self.repos.commit()
        fresh = await self.repos.triage.fresh(request.id)
        return Relayed(fresh or request, received.new, received.reopened_from)

    async def client_edited(self, chat_id: int, message_id: int, text: str) -> int | None:
        """The client edited a message: the request's text follows, and so does its copy in
        the group. The request's id, or None when the message is not a request's."""
        row = await self.repos.relay.row_at(chat_id, message_id, "in")
        if row is None:
            return None
        row.text = text[:MAX_MESSAGE]
        if row.peer_chat_id is not None and row.status != MessageStatus.FAILED.value:
            row.status = MessageStatus.PENDING.value
        await self.repos.session.flush()
        joined = "\n".join(await self.repos.relay.client_texts(row.request_id))
        await self.repos.triage.touch_card(
            row.request_id, text=joined[:MAX_TEXT], updated_at=self.runtime.clock.now()
        )
        await self.repos.commit()
        return row.request_id

    # --- from the group ------------------------------------------------------------------------
    async def answer(
        self,
        actor: Actor,
        request_id: int,
        *,
        chat_id: int,
        message_id: int,
        text: str,
        author_tg_id: int | None,
    ) -> Answered:
        """A rep's reply under a request's card: copied to the client when they wrote through
        the bot. Only members of the queue answer; anybody else's reply is talk."""
        try:
            request = await self.triage.request_for(actor, request_id)
        except RequestGone:
            return Answered.NOT_RELAYED
        if request.origin != Origin.BOT.value or request.client_tg_id is None:
            return Answered.NOT_RELAYED
        blocked = request.client_blocked
        await self.repos.triage.add(
            TriageMessage(
                request_id=request.id,
                chat_id=chat_id,
                message_id=message_id,
                peer_chat_id=request.client_tg_id,
                direction="out",
                kind=MessageKind.ANSWER.value,
                status=(MessageStatus.FAILED if blocked else MessageStatus.PENDING).value,
                author_tg_id=author_tg_id,
                text=text[:MAX_MESSAGE],
                at=self.runtime.clock.now(),
            )
        )
        await self.repos.commit()
        return Answered.BLOCKED if blocked else Answered.QUEUED

    async def answer_edited(self, chat_id: int, message_id: int, text: str) -> int | None:
        """A rep edited an answer: the client's copy is edited (or the answer still waiting
        goes out as edited). The request's id, or None when it was no answer."""
        row = await self.repos.relay.row_at(chat_id, message_id, "out")
        if row is None or row.kind != MessageKind.ANSWER.value:
            return None
        row.text = text[:MAX_MESSAGE]
        if row.status != MessageStatus.FAILED.value:
            row.status = MessageStatus.PENDING.value
        await self.repos.commit()
        return row.request_id

    # --- the courier's database side -----------------------------------------------------------
    async def claim(
        self, *, lease: timedelta, group_interval: timedelta, limit: int, only: int | None = None
    ) -> list[RelayJob]:
        """Pending rows to send now, each leased to this instance; a copy into a group also
        takes the group's send slot (shared with the cards: Telegram's ~20 a minute)."""
        now = self.runtime.clock.now()
        jobs: list[RelayJob] = []
        groups: set[int] = set()
        for row_id, queue_id, direction, client in await self.repos.relay.due(now, limit, only):
            if len(jobs) >= limit:
                break
            to_group = direction == "in"
            if to_group:
                if queue_id in groups:
                    continue
                groups.add(queue_id)
                if not await self.repos.relay.take_group_slot(queue_id, now, now + group_interval):
                    continue
            if await self.repos.relay.lease(row_id, now, now + lease):
                jobs.append(RelayJob(row_id, queue_id, to_group, queue_id if to_group else client))
        await self.repos.commit()
        return jobs

    async def view(self, job: RelayJob) -> RelayView | None:
        row = await self.repos.relay.row(job.row_id)
        if row is None or row.status != MessageStatus.PENDING.value:
            return None
        request = await self.repos.triage.fresh(row.request_id)
        if request is None:
            return None
        if job.to_group:
            queue = request.queue
            return RelayView(
                row, request, queue.chat_id, row.peer_message_id, request.card_message_id,
                queue.thread_id, None,
            )  # fmt: skip
        target = row.peer_chat_id or request.client_tg_id
        if target is None:
            return None
        zone = request.queue.timezone or self.runtime.config.default_timezone
        try:
            schedule = Schedule.of(request.queue.work_hours, zone)
        except HoursError:
            schedule = Schedule(None, zone)  # stored hours are canonical; still reply
        return RelayView(
            row, request, target, row.peer_message_id, None, None, request.client_locale,
            schedule,
        )  # fmt: skip

    async def sent(self, view: RelayView, copy_id: int | None) -> None:
        await self.repos.relay.settle(view.row.id, view.row.text, view.target_chat, copy_id)
        await self.repos.commit()

    async def retry(self, job: RelayJob, retry_after: float | None) -> None:
        """Not sent now: the row goes back; a 429 in the group closes its slot meanwhile."""
        await self.repos.relay.release(job.row_id)
        if retry_after and job.to_group:
            until = self.runtime.clock.now() + timedelta(seconds=retry_after)
            await self.repos.triage.delay_group(job.queue_id, until)
        await self.repos.commit()

    async def failed(self, job: RelayJob) -> None:
        """Telegram refused it for good (not a flood limit, not a block): never retried."""
        await self.repos.relay.fail(job.row_id)
        await self.repos.commit()

    async def blocked(self, view: RelayView) -> list[int]:
        """403 from the client: every request of theirs is marked (the cards show it), and
        nothing more is sent to them. The requests whose card changed."""
        client = view.request.client_tg_id
        if client is None:
            await self.repos.relay.fail(view.row.id)
            await self.repos.commit()
            return []
        changed = await self._mark_blocked(client, True)
        await self.repos.relay.fail(view.row.id)
        await self.repos.commit()
        return changed

    async def _mark_blocked(self, client_tg_id: int, blocked: bool) -> list[int]:
        ids = list(await self.repos.relay.set_blocked(client_tg_id, blocked))
        for request_id in ids:
            await self.repos.triage.touch_card(request_id, client_blocked=blocked)
        return ids


def _with_locale(incoming: Incoming) -> Incoming:
    """The client's Telegram language as one the bot speaks: another language gets English
    (the source texts), no language at all the bot's default (None)."""
    if not incoming.locale:
        return incoming
    return replace(incoming, locale=match_locale(incoming.locale) or SOURCE_LOCALE)
