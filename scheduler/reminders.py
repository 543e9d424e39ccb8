"""The reminder engine: claim due rows from the shared database, deliver, settle.

APScheduler calls `tick()` every few seconds in every instance (`max_instances=1`,
`coalesce=True`); several instances on one PostgreSQL take disjoint batches.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.context import Crm, Runtime
from crm.reminders import DueReminder, Outcome, Settlement, deliverable

log = logging.getLogger(__name__)

Deliver = Callable[[DueReminder], Awaitable[tuple[Outcome, str]]]


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class ReminderEngine:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        runtime: Runtime,
        deliver: Deliver,
        *,
        worker: str | None = None,
        batch_size: int = 500,
        lease: timedelta = timedelta(seconds=60),
        concurrency: int = 64,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.runtime = runtime
        self.deliver = deliver
        self.worker = worker or worker_name()
        self.batch_size = batch_size
        self.lease = lease
        self.concurrency = asyncio.Semaphore(concurrency)

    async def run_once(self) -> int:
        """One batch: claim, deliver concurrently (the sender paces), settle. Returns the count."""
        async with self.sessionmaker() as session:
            due = await Crm(session, self.runtime).reminders.claim(
                self.worker, self.batch_size, self.lease
            )
        if not due:
            return 0
        settlement = Settlement()
        await asyncio.gather(*(self._one(reminder, settlement) for reminder in due))
        async with self.sessionmaker() as session:
            await Crm(session, self.runtime).reminders.settle(self.worker, settlement)
        return len(due)

    async def _one(self, reminder: DueReminder, settlement: Settlement) -> None:
        if not deliverable(reminder):
            settlement.add(reminder, Outcome.SKIPPED)
            return
        async with self.concurrency:
            try:
                outcome, error = await self.deliver(reminder)
            except Exception as exc:  # a bug in rendering must not stall the queue
                log.exception("reminder %s could not be delivered", reminder.id)
                outcome, error = Outcome.RETRY, type(exc).__name__
        settlement.add(reminder, outcome, error)

    async def tick(self) -> int:
        """Drain what is due now, batch after batch."""
        total = 0
        while True:
            count = await self.run_once()
            total += count
            if count < self.batch_size:
                return total
