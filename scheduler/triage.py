"""The triage courier: posts and edits request cards in the bound groups, from the database.

A request's state changes in one transaction (`crm.triage`), which also raises the version
its card should show. The courier claims stale cards — one per group per send slot, the slot
shared by every instance through `triage_queues.next_post_at` (Telegram allows a group about
20 messages a minute) — renders each in the group's language and posts or edits it, then
records the version shown. Several changes between two slots become one edit showing the
last state; a crash leaves the card stale, and the lease hands it to the next round.

Handlers call `deliver(request_id)` right after their commit, so the presser normally sees
the card change at once; the loop (woken by APScheduler or by `wake()`) catches up the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.context import Crm, Runtime
from crm.triage import CardJob, CardView
from scheduler.loop import WakeLoop

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Posted:
    """What became of a card: shown (with its message id), or why not."""

    message_id: int | None = None  # the card's message (a new one, or the one edited)
    shown: bool = True
    retry_after: float | None = None  # a 429: the group's slot waits this long
    gone: bool = False  # the card's message no longer exists: post a new one next time
    lost: bool = False  # the bot can no longer post in the group


Post = Callable[[CardView], Awaitable[Posted]]


class TriageCourier(WakeLoop):
    name = "triage courier"

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        runtime: Runtime,
        post: Post,
        *,
        group_interval: timedelta = timedelta(seconds=3),
        lease: timedelta = timedelta(seconds=30),
        batch: int = 20,
    ) -> None:
        super().__init__(log)
        self._sessionmaker = sessionmaker
        self._runtime = runtime
        self._post = post
        self._group_interval = group_interval
        self._lease = lease
        self._batch = batch

    # --- one round ---------------------------------------------------------------------------
    async def round(self, only: int | None = None) -> int:
        """Claim what may be shown now and show it; how many cards were handled."""
        async with self._sessionmaker() as session:
            jobs = await Crm(session, self._runtime).courier.claim(
                lease=self._lease,
                group_interval=self._group_interval,
                limit=1 if only is not None else self._batch,
                only=only,
            )
        if jobs:
            await asyncio.gather(*(self._show(job) for job in jobs))
        return len(jobs)

    async def deliver(self, request_id: int) -> None:
        """Show this request's card now if its group's slot is free; else the loop will."""
        try:
            if not await self.round(only=request_id):
                self._wake.set()
        except Exception as exc:
            self.failed("showing a card now", exc, f"request {request_id}")
            self._wake.set()

    async def _show(self, job: CardJob) -> None:
        async with self._sessionmaker() as session:
            crm = Crm(session, self._runtime)
            view = await crm.courier.view(job)
            if view is None:
                return
            queue_id = view.queue.id
            try:
                posted = await self._post(view)
            except Exception as exc:
                self.failed("showing a card", exc, f"request {job.request_id}")
                posted = Posted(shown=False)
            if posted.shown:
                await crm.courier.shown(job, posted.message_id, announced=True)
            elif posted.gone:
                await crm.courier.forget_card(job)
                self._wake.set()
            else:
                await crm.courier.failed(job, queue_id, posted.retry_after)
                if posted.lost:
                    await crm.triage.lost_group(queue_id)
