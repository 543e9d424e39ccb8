"""The unclaimed-request SLA loop: due requests pass on, are announced again, reach the head.

APScheduler only wakes the loop (every `TRIAGE_SLA_POLL_SECONDS`); a round claims the due
requests for a lease (`crm.triage_sla`), handles each in its own transaction, hands the
re-announcement to the courier (which posts it once, in the group's send slot) and tells the
heads in private through the rate-limited sender. An auto-reply to a client who wrote while
the queue was closed is a row of the relay's outbox, sent by the relay courier (woken here).
Every instance runs it; the database decides who does what.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.context import Crm, Runtime
from crm.triage_sla import Escalation, SlaJob
from scheduler.loop import WakeLoop
from scheduler.triage import TriageCourier

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Told:
    """What became of telling the heads about one request."""

    delivered: int = 0  # heads who got it
    blocked: tuple[int, ...] = ()  # users who blocked the bot (marked, not retried)
    retry_after: float | None = None  # nobody got it, and trying again may help


Escalate = Callable[[Escalation], Awaitable[Told]]


class TriageSla(WakeLoop):
    name = "triage SLA"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        runtime: Runtime,
        escalate: Escalate,
        *,
        courier: TriageCourier | None = None,
        outbox: Callable[[], Awaitable[None]] | None = None,
        lease: timedelta = timedelta(seconds=30),
        batch: int = 50,
    ) -> None:
        super().__init__(log)
        self._sessionmaker = sessionmaker
        self._runtime = runtime
        self._escalate = escalate
        self._courier = courier
        self._outbox = outbox
        self._lease = lease
        self._batch = batch

    # --- one round ---------------------------------------------------------------------------
    def more(self, handled: int) -> bool:
        return handled >= self._batch  # a full batch: more may be due

    async def round(self) -> int:
        """Handle what is due now; how many requests were claimed."""
        async with self._sessionmaker() as session:
            jobs = await Crm(session, self._runtime).triage_sla.claim(
                lease=self._lease, limit=self._batch
            )
        for job in jobs:
            try:
                await self._handle(job)
            except Exception as exc:
                # Its lease runs out and the next round (here or elsewhere) tries again.
                self.failed("the SLA of a request", exc, f"request {job.request_id}")
        return len(jobs)

    async def _handle(self, job: SlaJob) -> None:
        async with self._sessionmaker() as session:
            tick = await Crm(session, self._runtime).triage_sla.tick(job)
        if tick.announced and self._courier is not None:
            await self._courier.deliver(job.request_id)
        if tick.auto_reply and self._outbox is not None:
            await self._outbox()  # the relay courier sends the client's auto-reply
        if tick.escalate:
            await self._tell_heads(job)

    async def _tell_heads(self, job: SlaJob) -> None:
        async with self._sessionmaker() as session:
            sla = Crm(session, self._runtime).triage_sla
            escalation = await sla.escalation(job)
            if escalation is None:
                return
            if not escalation.heads:
                log.warning("request %s: no head or admin to escalate to", job.request_id)
                await sla.escalated(job)
                return
            try:
                told = await self._escalate(escalation)
            except Exception as exc:
                self.failed("an escalation", exc, f"request {job.request_id}")
                told = Told(retry_after=30.0)
            for user_id in told.blocked:
                await sla.mark_unreachable(user_id)
            # One head told is enough to mark it: retrying would repeat it to that head.
            retry = told.retry_after if told.delivered == 0 else None
            await sla.escalated(job, retry_after=retry)
