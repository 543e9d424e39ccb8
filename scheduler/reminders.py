"""The reminder engine: claim due rows from the shared database, deliver, settle each result.

Every instance runs one engine against the shared database. APScheduler only wakes it
(`wake()`, every `REMINDER_POLL_SECONDS`); the engine keeps a pipeline of at most `budget`
claimed reminders, which is what it can send in half a lease at its rate:

- **claim** in one short transaction: at most `per_user` reminders of one user, and none of a
  user who has one in flight with any worker, so a chat is paced by one worker at a time;
- **gate**: right before its HTTP call a reminder is marked "sending"; a reminder this worker
  no longer holds is not sent;
- **settle** each result as soon as it is known (retried until it is written, never dropped);
  a "sent" counts even against a claim taken meanwhile. Marks and results are written by one
  writer, group-committed: whatever is asked for while a write runs goes in the next one, one
  transaction (results first, then marks);
- at most `concurrency` deliveries run at once, on worker tasks that take the claimed
  reminders one after the other;
- **renew** the leases of what it still holds every quarter lease, and give back the expired
  claims of dead workers;
- a 429 asking to wait longer than a quarter lease hands the chat's reminders back with
  `not_before` instead of holding them;
- **stop** (SIGTERM): no new claims or sends, the sends in flight finish and are settled, the
  rest is handed back at once: a deploy repeats nothing.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.context import Crm, Runtime
from crm.reminders import Delivery, DueReminder, Outcome, ReminderService, undeliverable
from scheduler.loop import QuietLog, unavailable

log = logging.getLogger(__name__)

Gate = Callable[[], Awaitable[bool]]
Deliver = Callable[[DueReminder, Gate], Awaitable[Delivery]]
T = TypeVar("T")


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(eq=False)
class _Held:
    """A reminder this worker holds, from claim to settle."""

    due: DueReminder
    phase: str = "queued"  # queued → sending (marked, its request may be out) → done
    lost: bool = False  # renewal found it taken again or gone
    refused: str = ""  # why the gate withdrew it: "lost" | "stopping"
    task: asyncio.Task[None] | None = field(default=None, repr=False)


def _conflict(exc: BaseException) -> bool:
    """A deadlock or serialization failure (PostgreSQL) or a busy SQLite: worth one retry."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(
        getattr(orig, "__cause__", None), "sqlstate", None
    )
    return state in ("40P01", "40001") or "database is locked" in str(orig)


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
        rate: float = math.inf,
        chat_interval: float = 0.0,
    ) -> None:
        """`rate` (sends per second) and `chat_interval` are the sender's limits: the claim
        takes what can be sent within half a lease at that rate, and at most what one chat
        can be sent within a twelfth of a lease."""
        self.sessionmaker = sessionmaker
        self.runtime = runtime
        self.deliver = deliver
        self.worker = worker or worker_name()
        self.lease = lease
        seconds = lease.total_seconds()
        if math.isinf(rate):
            self.max_budget = batch_size
        else:
            self.max_budget = max(1, min(batch_size, math.floor(rate * seconds / 2)))
        if chat_interval > 0:
            self.per_user = max(1, min(self.max_budget, math.ceil(seconds / 12 / chat_interval)))
        else:
            self.per_user = self.max_budget
        # What this worker really achieves (a busy CPU, a slow Bot API) bounds the claim too:
        # twice what it finished in the last half lease, i.e. what it sends in one lease at its
        # current rate; never less than a tenth of the maximum, so a burst starts at once.
        self._floor = max(self.per_user, self.max_budget // 10, 1)
        self._window = seconds / 2
        self._finished_at: collections.deque[float] = collections.deque()
        self.chat_gap = timedelta(seconds=chat_interval)
        self.max_wait = seconds / 4  # a longer 429 wait hands the chat's reminders back
        self.beat = seconds / 4  # lease renewal and reaping
        # At most `concurrency` deliveries run at once, on as many worker tasks; the rest wait
        # in `_queue` (not on a semaphore: with hundreds of waiters each release scans them).
        self.concurrency = concurrency
        self._queue: collections.deque[_Held] = collections.deque()
        self._held: dict[int, _Held] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # delivery workers, at most `concurrency`
        self._starting = 0  # workers made that have not taken a reminder yet
        self._idle = asyncio.Event()  # set when nothing is held
        # The writer: "sending" marks and results submitted while a write runs go together in
        # the next one (group commit: one transaction per burst, no added wait when idle).
        self._marks: list[tuple[_Held, asyncio.Future[bool]]] = []
        self._results: list[tuple[_Held, Delivery]] = []
        self._settling = 0  # results submitted and not yet written (or given up)
        self._writer: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._abandon = False  # stop() gave up waiting for the database
        self._loops: list[asyncio.Task[None]] = []
        self._quiet = QuietLog(log, "reminders")

    # --- running ---------------------------------------------------------------------------
    @property
    def in_flight(self) -> int:
        return len(self._held)

    @property
    def budget(self) -> int:
        """How many reminders this worker may hold now."""
        now = time.monotonic()
        finished = self._finished_at
        while finished and finished[0] < now - self._window:
            finished.popleft()
        return max(self._floor, min(self.max_budget, 2 * len(finished)))

    def start(self) -> None:
        """Run the pipeline and the lease keeper in the background until `stop()`."""
        if not self._loops:
            self._loops = [
                asyncio.create_task(self._loop(), name="reminders"),
                asyncio.create_task(self._keep_leases(), name="reminder-leases"),
            ]

    async def wake(self) -> None:
        """APScheduler's interval job: look for due reminders now (returns at once)."""
        self._wake.set()

    async def tick(self) -> int:
        """Drain what is due now: claim, deliver, settle, until nothing more can be claimed.
        Returns how many reminders were claimed. (Tests and benchmarks; `start` in production.)"""
        await self._transaction(lambda s: s.reap(self.lease))
        total = 0
        while True:
            count = await self._fill()
            await self._drain()
            total += count
            if count == 0:
                return total

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming and sending; finish and settle the sends in flight; hand back the rest.

        Waits up to `timeout` seconds for in-flight sends and for the database; what cannot be
        settled by then is left to its lease (and may be sent again by another worker)."""
        self._stopping = True
        self._wake.set()
        # Leases are renewed until the sends in flight are settled: a send that outlasts two
        # leases while its worker shuts down must not be reaped and sent again by another.
        leases: asyncio.Task[None] | None = None
        if self._loops:
            claims, leases = self._loops
            # A claim under way is let finish, so what it took is known and handed back.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(claims), timeout)
            claims.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await claims
        self._loops = []
        try:
            await self._finish_in_flight(timeout)
        finally:
            if leases is not None:
                leases.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await leases

    async def _finish_in_flight(self, timeout: float) -> None:
        while self._queue:  # never started: nothing went out
            held = self._queue.popleft()
            held.refused = "stopping"
            self._done(held, Delivery(Outcome.RELEASED))
        for held in list(self._held.values()):
            if held.phase == "queued" and held.task is not None:
                held.refused = "stopping"
                held.task.cancel()
        deadline = time.monotonic() + timeout
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=timeout)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._written_all(), max(0.0, deadline - time.monotonic()))
        if self._tasks or self._settling:
            self._abandon = True  # the writer gives up the results at its next failure
            log.error(
                "reminders: %d could not be settled before shutdown; "
                "their leases will hand them to another worker",
                len(self._tasks) + self._settling,
            )
            pending = set(self._tasks)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)

    async def _loop(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            await self._fill()

    async def _keep_leases(self) -> None:
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + self.beat
        while True:  # until `stop` has settled what is in flight, then it cancels this task
            await asyncio.sleep(max(0.0, next_beat - loop.time()))
            next_beat += self.beat  # a fixed rate: a slow renewal does not push the next one
            await self._renew()

    # --- claiming --------------------------------------------------------------------------
    async def _fill(self) -> int:
        claimed = 0
        while not self._stopping:
            room = self.budget - len(self._held)
            if room <= 0:
                break
            try:
                due = await self._transaction(
                    lambda s, room=room: s.claim(  # type: ignore[misc]  # bound default
                        self.worker,
                        room,
                        self.lease,
                        per_user=self.per_user,
                        chat_gap=self.chat_gap,
                    )
                )
            except Exception as exc:
                self._quiet.failure("claim", exc)
                break
            for reminder in due:
                self._start(reminder)
            claimed += len(due)
            if len(due) < room:
                break
        return claimed

    def _start(self, due: DueReminder) -> None:
        held = _Held(due)
        older = self._held.get(due.id)
        if older is not None:
            older.lost = True  # our own expired claim, taken again: the new attempt sends it
        self._held[due.id] = held
        delivery = undeliverable(due)
        if delivery is not None:
            self._done(held, delivery)  # nothing to send: no slot, no task
        else:
            self._queue.append(held)
            self._pump()

    def _pump(self) -> None:
        """Make delivery workers for the reminders waiting for a slot, as far as slots are
        free: a worker delivers one reminder after the other while any wait (no task, lock or
        future per reminder)."""
        tasks = self._tasks
        while (
            len(self._queue) > self._starting
            and len(tasks) < self.concurrency
            and not self._stopping
        ):
            self._starting += 1
            task = asyncio.create_task(self._work())
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def _work(self) -> None:
        self._starting -= 1
        task = asyncio.current_task()
        queue = self._queue
        while queue and not self._stopping:
            held = queue.popleft()
            held.task = task
            try:
                await self._one(held)
            finally:
                held.task = None

    async def _drain(self) -> None:
        while self._held:
            self._idle.clear()
            await self._idle.wait()

    # --- one reminder ----------------------------------------------------------------------
    async def _one(self, held: _Held) -> None:
        due = held.due
        delivery: Delivery | None
        try:
            delivery = await self.deliver(due, lambda: self._gate(held))
        except asyncio.CancelledError:
            # stop() withdrew it before its send, or gave up waiting for a send in flight.
            delivery = Delivery(Outcome.RELEASED) if held.phase == "queued" else None
        except Exception as exc:
            if held.phase == "queued" and unavailable(exc):
                # The gate could not reach the database: nothing went out; hand it back.
                delivery = Delivery(Outcome.RELEASED)
            else:
                log.exception("reminder %s could not be delivered", due.id)
                delivery = Delivery(Outcome.RETRY, type(exc).__name__)
        if delivery is not None and delivery.outcome is Outcome.LOST:
            delivery = Delivery(Outcome.RELEASED) if held.refused == "stopping" else None
        self._done(held, delivery)

    def _done(self, held: _Held, delivery: Delivery | None) -> None:
        """Its result is known: hand it to the writer (which lets go of it once written)."""
        held.phase = "done"
        self._finished_at.append(time.monotonic())
        if delivery is None:
            self._let_go(held)
            return
        self._settling += 1
        self._results.append((held, delivery))
        self._write_soon()

    def _let_go(self, held: _Held) -> None:
        if self._held.get(held.due.id) is held:
            del self._held[held.due.id]
            if not self._held:
                self._idle.set()
        if not self._stopping and len(self._held) <= self._floor:
            self._wake.set()  # room for more: do not wait for the next poll

    async def _gate(self, held: _Held) -> bool:
        """Right before the request: mark it "sending", or withdraw it."""
        if held.phase == "sending":
            return True  # the sender retrying the same message
        if held.lost:
            held.refused = "lost"
            return False
        if self._stopping:
            held.refused = "stopping"
            return False
        marked: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._marks.append((held, marked))
        self._write_soon()
        if not await marked:
            held.refused = "lost"
            return False
        held.phase = "sending"
        return True

    # --- writes ----------------------------------------------------------------------------
    def _write_soon(self) -> None:
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())

    async def _written_all(self) -> None:
        while self._writer is not None:
            await asyncio.shield(self._writer)

    async def _write(self) -> None:
        """Write the results known and the marks asked for, together, until none are left.

        A failed write fails its marks at once (their sends are withdrawn: nothing went out)
        and keeps its results for the next write, retried with a growing pause: a result is
        never dropped, unless `stop()` gave up on the database."""
        delay = 0.05
        marks: list[tuple[_Held, asyncio.Future[bool]]] = []
        try:
            while self._marks or self._results:
                marks, self._marks = self._marks, []
                results, self._results = self._results, []
                dues = [(held.due, delivery) for held, delivery in results]
                attempts = [held.due.attempt for held, _ in marks]
                try:
                    marked = await self._transaction(
                        lambda s: s.record(self.worker, dues, attempts)  # noqa: B023 - awaited here
                    )
                except Exception as exc:
                    if marks:
                        self._quiet.failure("marking reminders as sending", exc)
                        for _, future in marks:
                            if not future.done():
                                future.set_exception(exc)
                    if results:
                        self._quiet.failure("recording results", exc)
                        if self._abandon:
                            for held, _ in results:
                                self._written(held)  # left to its lease
                        else:
                            self._results[:0] = results
                            await asyncio.sleep(delay)
                            delay = min(delay * 2, 2.0)
                    continue
                delay = 0.05
                for held, future in marks:
                    if not future.done():
                        future.set_result(held.due.id in marked)
                for held, _ in results:
                    self._written(held)
        except BaseException:
            for _, future in marks + self._marks:
                if not future.done():
                    future.set_exception(asyncio.CancelledError())
            raise
        finally:
            self._writer = None

    def _written(self, held: _Held) -> None:
        self._settling -= 1
        self._let_go(held)

    async def _renew(self) -> None:
        # Settled-but-not-yet-written ones too: a "sent" waiting for the database keeps its row.
        held = [h for h in self._held.values() if not h.lost]
        attempts = [h.due.attempt for h in held]
        try:
            kept = await self._transaction(lambda s: s.renew(self.worker, attempts, self.lease))
            reaped = await self._transaction(lambda s: s.reap(self.lease))
        except Exception as exc:
            self._quiet.failure("renewing leases", exc)
            return
        for h in held:
            if h.due.id not in kept and h.phase == "queued":
                h.lost = True  # taken again or gone: its gate will withdraw it
        if reaped:
            log.info("reminders: %d expired claim(s) handed back to the queue", reaped)
            self._wake.set()

    async def _transaction(self, work: Callable[[ReminderService], Awaitable[T]]) -> T:
        """One unit of work on a fresh session; a deadlock or busy database is retried once."""
        for attempt in (1, 2):
            try:
                async with self.sessionmaker() as session:
                    return await work(Crm(session, self.runtime).reminders)
            except DBAPIError as exc:
                if attempt == 2 or not _conflict(exc):
                    raise
        raise AssertionError("unreachable")


async def drain(engines: Sequence[ReminderEngine]) -> int:
    """Tick several engines at once (tests): how many reminders they claimed together."""
    return sum(await asyncio.gather(*(engine.tick() for engine in engines)))
