"""The scheduled-digest loop: every instance runs it; the database decides who sends what.

APScheduler only wakes the loop (every `DIGEST_POLL_SECONDS`). A round asks which digests are
due now (crm/digests.py: each user's time, days, zone and quiet hours), claims each in
`digest_deliveries` (one row per user and period: only one instance gets it), sends it
through the rate-limited sender and marks it sent.

A crash between the send and the mark leaves the row claimed; when its lease runs out another
round sends it again: that digest may arrive twice, it is never lost. (Marking first would
turn the same crash into a digest nobody gets.)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.context import Crm, Runtime
from crm.digests import DigestJob, Outcome
from scheduler.loop import WakeLoop

log = logging.getLogger(__name__)

# Sends the digest of `job`; what became of it, or None to try again later.
Deliver = Callable[[Crm, DigestJob], Awaitable[Outcome | None]]


class DigestCourier(WakeLoop):
    name = "digest courier"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        runtime: Runtime,
        deliver: Deliver,
        *,
        lease: timedelta = timedelta(minutes=5),
        retry: timedelta = timedelta(minutes=2),
    ) -> None:
        super().__init__(log)
        self._sessionmaker = sessionmaker
        self._runtime = runtime
        self._deliver = deliver
        self._lease = lease
        self._retry = retry

    # --- one round ---------------------------------------------------------------------------
    def more(self, handled: int) -> bool:
        return False  # one pass per wake-up: what is due was all claimed or is someone else's

    async def round(self) -> int:
        """Send the digests due now that this instance could claim; how many it sent."""
        async with self._sessionmaker() as session:
            jobs = await Crm(session, self._runtime).digests.due(self._runtime.clock.now())
        sent = 0
        for job in jobs:
            try:
                sent += await self._handle(job)
            except Exception as exc:
                # The claim's lease runs out and a later round (here or elsewhere) retries.
                self.failed("a digest", exc, f"{job.key} of user {job.user_id}")
        return sent

    async def _handle(self, job: DigestJob) -> bool:
        async with self._sessionmaker() as session:
            crm = Crm(session, self._runtime)
            if not await crm.digests.claim(job, self._lease):
                return False  # another instance has it, or it is done
            outcome = await self._deliver(crm, job)
            # A crash right here repeats this digest after the lease; it never loses it.
            if outcome is None:
                await crm.digests.retry(job, self._retry)
                return False
            await crm.digests.finish(job, outcome)
            return outcome is Outcome.SENT
