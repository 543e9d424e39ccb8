"""The unclaimed-request SLA of a triage queue (Bitrix24 Open Channels' queue time).

A new request carries a due time (`sla_due_at`). When it falls due and nobody took the request:
- in *evenly* and *strictly* modes it passes to the next member (`crm.triage.next_member`),
  in every mode it is announced again in the group (once: `announce_pending`, shown by the
  courier), and the next due time is one queue time later;
- once it waited `escalate_seconds` in all, the department head hears of it in private (the
  queue's department's managers; without any, the admins), once.

Time is counted in working hours only (`crm.work_hours`): while the queue is closed the clock
waits, nobody is passed on or announced, and it resumes at the next opening with the time that
was left. A client who wrote to the bot while the queue is closed gets an auto-reply, once.

Rounds are counted from when the request came (`sla_started_at`): round *n* ends after *n*
queue times of open time. `passes` is how many rounds have been handled; when the loop was
down for several rounds they collapse into one pass and one announcement, not a burst.

Safe with several instances: a due request is leased to one (`TriageSlaRepo.claim_due`), and
its change is one conditional UPDATE on that lease and on its being still new — a Take in the
meantime wins, and the tick changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from crm.enums import Right
from crm.errors import InvalidValue, RequestGone
from crm.permissions import Actor
from crm.triage import (
    CardJob,
    CardView,
    Courier,
    MessageKind,
    MessageStatus,
    Origin,
    QueueMode,
    RequestStatus,
    TriageService,
    next_member,
)
from crm.work_hours import MAX_TEXT, HoursError, Schedule, WorkHours
from storage.models import TriageMessage, TriageQueue, TriageRequest, User
from storage.repositories import Repos
from storage.repositories.triage_sla import TriageSlaRepo

if TYPE_CHECKING:
    from crm.context import Runtime

MAX_ESCALATE_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class SlaJob:
    """A due request this instance holds until `lease_until` (also the lease's identity)."""

    request_id: int
    lease_until: datetime


@dataclass(frozen=True, slots=True)
class Tick:
    """What handling a due request did."""

    request_id: int
    changed: bool = False  # False: taken meanwhile, or nothing was due (closed hours)
    announced: bool = False  # the group hears of it again (the card's version went up)
    offered_to: int | None = None  # passed on to this member
    escalate: bool = False  # a head is to be told (the lease is kept for that)
    auto_reply: bool = False  # an auto-reply to the client was queued


@dataclass(frozen=True, slots=True)
class Escalation:
    """A request to tell the heads about, in their own language."""

    request: TriageRequest
    queue: TriageQueue
    heads: list[User]
    waited: timedelta  # open time since the request came


class SlaService:
    def __init__(self, repos: Repos, runtime: Runtime, triage: TriageService) -> None:
        self.repos = repos
        self.runtime = runtime
        self.triage = triage
        self.sla = TriageSlaRepo(repos.session)

    @property
    def _now(self) -> datetime:
        return self.runtime.clock.now()

    def schedule(self, queue: TriageQueue) -> Schedule:
        zone = queue.timezone or self.runtime.config.default_timezone
        try:
            return Schedule.of(queue.work_hours, zone)
        except HoursError:
            return Schedule(None, zone)  # stored hours are canonical; never stop the SLA

    # --- settings ------------------------------------------------------------------------------
    async def set_hours(
        self, actor: Actor, queue: TriageQueue, text: str | None, timezone: str | None = None
    ) -> TriageQueue:
        """`/triage hours 1-5 09:00-18:00 [zone]`, or None (`off`): always open. The requests
        waiting now get their due times placed anew by the next round."""
        values: dict[str, Any] = {"work_hours": None}
        if text is not None:
            try:
                canonical = WorkHours.parse(text).text()
            except HoursError as exc:
                raise InvalidValue("work_hours", exc.part) from exc
            if len(canonical) > MAX_TEXT:
                raise InvalidValue("work_hours", text[:MAX_TEXT])
            values["work_hours"] = canonical
        if timezone is not None:
            values["timezone"] = timezone
        await self.triage.configure(actor, queue, **values)
        await self._replan(queue)
        return queue

    async def set_escalation(self, actor: Actor, queue: TriageQueue, seconds: int) -> TriageQueue:
        """`/triage escalate 600`: after this long untaken, to the head; 0: never."""
        if not 0 <= seconds <= MAX_ESCALATE_SECONDS:
            raise InvalidValue("escalate_seconds", str(seconds))
        await self.triage.configure(actor, queue, escalate_seconds=seconds)
        await self._replan(queue)
        return queue

    async def _replan(self, queue: TriageQueue) -> None:
        """Waiting requests fall due now, so the next round places them by the new rules."""
        await self.sla.replan(queue.id, self._now)
        await self.repos.commit()

    # --- the rounds ----------------------------------------------------------------------------
    async def claim(self, *, lease: timedelta, limit: int) -> list[SlaJob]:
        now = self._now
        until = now + lease
        ids = await self.sla.claim_due(now, until, limit)
        await self.repos.commit()
        return [SlaJob(i, until) for i in ids]

    async def tick(self, job: SlaJob) -> Tick:
        """Pass on, announce, plan the next due time, mark an escalation: one UPDATE."""
        request = await self.repos.triage.fresh(job.request_id)
        if (
            request is None
            or request.status != RequestStatus.NEW.value
            or request.sla_lease_until != job.lease_until
        ):
            return Tick(job.request_id)
        queue = request.queue
        now = self._now
        schedule = self.schedule(queue)
        started = request.sla_started_at or request.last_message_at
        worked = schedule.elapsed(started, now)
        q, esc = queue.queue_seconds, queue.escalate_seconds
        rounds = int(worked // q) if q > 0 else 0
        values: dict[str, Any] = {}
        announce = rounds > request.passes and schedule.is_open(now)
        offered: int | None = None
        if announce:
            values["passes"] = rounds
            values["announce_pending"] = True
            if queue.mode != QueueMode.EVERYBODY.value:
                offered = await next_member(self.repos, queue, request.offered_to_id, now)
                values["offered_to_id"] = offered
        escalate = request.escalate_pending or (
            esc > 0 and request.escalated_at is None and worked >= esc and schedule.is_open(now)
        )
        if escalate and not request.escalate_pending:
            values["escalate_pending"] = True
        handled = max(request.passes, rounds) if announce else request.passes
        dues = []
        if q > 0:
            dues.append(schedule.add(started, (handled + 1) * q))
        if esc > 0 and request.escalated_at is None and not escalate:
            dues.append(schedule.add(started, esc))
        values["sla_due_at"] = min((d for d in dues if d is not None), default=None)
        if not escalate:
            values["sla_lease_until"] = None  # else kept: this instance tells the heads
        auto = await self._auto_reply(request, schedule, started)
        values["updated_at"] = now
        if announce:
            guard = self.sla.held(job.lease_until)
            won = await self.repos.triage.transition(request.id, guard, values)
        else:
            won = await self.sla.update_held(request.id, job.lease_until, values)
        if not won:
            await self.repos.session.rollback()
            return Tick(job.request_id)
        if offered is not None:
            member = await self.repos.triage.member(queue.id, offered)
            if member is not None:
                member.last_offered_at = now
        await self.repos.commit()
        return Tick(job.request_id, True, announce, offered, escalate, auto)

    async def _auto_reply(
        self, request: TriageRequest, schedule: Schedule, started: datetime
    ) -> bool:
        """A client who wrote to the bot while the queue was closed is told, once (the row is
        added in the tick's transaction: it stands or falls with it)."""
        if (
            request.origin != Origin.BOT.value
            or request.client_tg_id is None
            or request.client_blocked
            or request.passes > 0
            or schedule.is_open(started)
            or await self.sla.has_message(request.id, MessageKind.AUTO_REPLY.value)
        ):
            return False
        await self.repos.triage.add(
            TriageMessage(
                request_id=request.id,
                chat_id=request.client_tg_id,
                message_id=0,
                direction="out",
                kind=MessageKind.AUTO_REPLY.value,
                status=MessageStatus.PENDING.value,
                at=self._now,
            )
        )
        return True

    # --- escalation ----------------------------------------------------------------------------
    async def escalation(self, job: SlaJob) -> Escalation | None:
        """What to tell the heads about a held request, or None (taken meanwhile: nothing)."""
        request = await self.repos.triage.fresh(job.request_id)
        if request is None or request.sla_lease_until != job.lease_until:
            return None
        if request.status != RequestStatus.NEW.value or not request.escalate_pending:
            await self.sla.release(request.id, job.lease_until, None)
            await self.repos.commit()
            return None
        queue = request.queue
        started = request.sla_started_at or request.last_message_at
        waited = timedelta(seconds=self.schedule(queue).elapsed(started, self._now))
        heads = list(await self.sla.heads(queue.department_id))
        return Escalation(request, queue, heads, waited)

    async def escalated(self, job: SlaJob, *, retry_after: float | None = None) -> None:
        """Told (or nobody can be): marked once. `retry_after`: not told, try again then.

        The mark follows the send: an instance dying between the two leaves the request
        pending, and after the lease another instance tells the heads again — one message
        may repeat, none is lost."""
        now = self._now
        if retry_after is not None:
            await self.sla.release(
                job.request_id, job.lease_until, now + timedelta(seconds=retry_after)
            )
        else:
            await self.sla.update_held(
                job.request_id,
                job.lease_until,
                {"escalated_at": now, "escalate_pending": False, "sla_lease_until": None},
            )
        await self.repos.commit()

    async def mark_unreachable(self, user_id: int) -> None:
        await self.repos.users.set_reachable(user_id, False)
        await self.repos.commit()

    async def open_for(self, actor: Actor, request_id: int) -> CardView:
        """The card of a request, for a member of its queue, a group admin, or a head of its
        department (the escalation's Open); anybody else is told it is gone."""
        request = await self.repos.triage.fresh(request_id)
        if request is None:
            raise RequestGone()
        member = await self.repos.triage.member(request.queue_id, actor.user_id)
        allowed = (
            (member is not None and member.active)
            or self.runtime.policy.has_right(actor, Right.GROUP_SETTINGS)
            or await self.sla.is_head(actor.user_id, request.queue.department_id)
        )
        if not allowed:
            raise RequestGone()
        view = await Courier(self.repos, self.runtime).view(
            CardJob(request.id, request.card_version)
        )
        if view is None:
            raise RequestGone()
        return view
