"""The relay courier: sends the outbox rows of `crm.relay` — answers, acknowledgements and
notices to clients in private, clients' messages under their cards in the group, and the edits
of either — from the database.

Each row is claimed for a lease by one conditional UPDATE, so with several instances each row
goes out once; a crash mid-send leaves the row pending and the next round after the lease
sends it (at least once: the Bot API has no idempotency key). A copy into a group also takes
the group's send slot, shared with the card courier. Handlers call `deliver(request_id)` after
their commit, so the client normally gets the answer at once; APScheduler's wake-up catches up
the rest (a busy group slot, a 429, an instance that died).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.context import Crm, Runtime
from crm.relay import RelayJob, RelayView
from scheduler.loop import WakeLoop

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sent:
    """What became of one row."""

    copy_id: int | None = None  # the copy made (None: an edit, or nothing to keep)
    sent: bool = True
    retry_after: float | None = None  # not now: try again (a 429 closes a group's slot)
    blocked: bool = False  # 403: the client blocked the bot (or the bot left the group)
    refused: bool = False  # Telegram refused it for good: never retried


Send = Callable[[RelayView], Awaitable[Sent]]
CardChanged = Callable[[int], Awaitable[None]]  # a request whose card must show a change


class RelayCourier(WakeLoop):
    name = "relay courier"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        runtime: Runtime,
        send: Send,
        *,
        card_changed: CardChanged | None = None,
        group_interval: timedelta = timedelta(seconds=3),
        lease: timedelta = timedelta(seconds=30),
        batch: int = 20,
    ) -> None:
        super().__init__(log)
        self._sessionmaker = sessionmaker
        self._runtime = runtime
        self._send = send
        self._card_changed = card_changed
        self._group_interval = group_interval
        self._lease = lease
        self._batch = batch

    # --- one round ---------------------------------------------------------------------------
    async def round(self, only: int | None = None) -> int:
        """Claim what may be sent now and send it; how many rows were handled."""
        async with self._sessionmaker() as session:
            jobs = await Crm(session, self._runtime).relay.claim(
                lease=self._lease, group_interval=self._group_interval, limit=self._batch,
                only=only,
            )  # fmt: skip
        # One chat's rows in order (two answers to one client); different chats at once.
        chains: dict[tuple[bool, int], list[RelayJob]] = {}
        for job in jobs:
            chains.setdefault((job.to_group, job.chat_key), []).append(job)
        if chains:
            await asyncio.gather(*(self._chain(chain) for chain in chains.values()))
        return len(jobs)

    async def deliver(self, request_id: int) -> None:
        """Send this request's pending rows now when they may go; else the loop will."""
        try:
            await self.round(only=request_id)
        except Exception as exc:
            self.failed("relaying now", exc, f"request {request_id}")
        self._wake.set()

    async def _chain(self, jobs: list[RelayJob]) -> None:
        for job in jobs:
            await self._one(job)

    async def _one(self, job: RelayJob) -> None:
        changed: list[int] = []
        async with self._sessionmaker() as session:
            relay = Crm(session, self._runtime).relay
            view = await relay.view(job)
            if view is None:
                await relay.retry(job, None)
                return
            try:
                outcome = await self._send(view)
            except Exception as exc:
                self.failed("relaying a message", exc, f"row {job.row_id}")
                outcome = Sent(sent=False, retry_after=5.0)
            if outcome.sent:
                await relay.sent(view, outcome.copy_id)
            elif outcome.blocked and not job.to_group:
                changed = await relay.blocked(view)
            elif outcome.blocked:
                await relay.failed(job)
                await Crm(session, self._runtime).triage.lost_group(job.queue_id)
            elif outcome.refused:
                await relay.failed(job)
            else:
                await relay.retry(job, outcome.retry_after)
        if self._card_changed is not None:
            for request_id in changed:
                await self._card_changed(request_id)
