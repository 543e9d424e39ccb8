"""What every background loop of an instance shares: woken, never overlapping, quiet in outages.

APScheduler only calls `wake()` (it returns at once); the loop then runs `round()` until a
round finds nothing more to do. A database or network outage is logged once per cause per
minute as one line — the loops retry on their own, and a traceback a second would bury the
log — while a failure of our own code keeps its traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from abc import ABC, abstractmethod
from typing import Protocol

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout

QUIET_LOG_SECONDS = 60.0  # one log line per cause per minute while a service is away


def describe(exc: BaseException) -> str:
    """A one-line cause without bound parameters (they may hold names or phones)."""
    if isinstance(exc, DBAPIError):
        orig = exc.orig if exc.orig is not None else exc
        return f"{type(orig).__name__}: {str(orig).splitlines()[0][:200]}"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


def unavailable(exc: BaseException) -> bool:
    """The database (or the network to it) failed, rather than our code."""
    return isinstance(exc, (DBAPIError, SQLAlchemyTimeout, OSError, TimeoutError))


class QuietLog:
    """Logs a repeating failure once per cause per minute, as one line."""

    def __init__(self, logger: logging.Logger, name: str) -> None:
        self._log = logger
        self._name = name
        self._last: dict[tuple[str, str], float] = {}

    def failure(self, what: str, exc: BaseException) -> None:
        key = (what, type(exc).__name__)
        now = time.monotonic()
        if now - self._last.get(key, -math.inf) >= QUIET_LOG_SECONDS:
            self._last[key] = now
            self._log.warning("%s: %s failed (%s); retrying", self._name, what, describe(exc))


class Wakeable(Protocol):
    async def wake(self) -> None:
        """Look for work now; returns at once."""


class WakeLoop(ABC):
    """A loop per instance that APScheduler (or a handler, right after its commit) wakes."""

    name = "loop"

    def __init__(self, logger: logging.Logger) -> None:
        self._log = logger
        self._quiet = QuietLog(logger, self.name)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @abstractmethod
    async def round(self) -> int:
        """Do what is due now; how many items were handled."""

    def more(self, handled: int) -> bool:
        """Whether to go round again at once (something was done: more may be waiting)."""
        return handled > 0

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def wake(self) -> None:
        """APScheduler's job: returns at once; the loop does the work."""
        self._wake.set()

    def failed(self, what: str, exc: BaseException, item: object = None) -> None:
        """One item (or a whole round) failed; it is retried — its lease runs out, or the
        next wake-up. An outage: one line per kind of step per minute, whatever the item."""
        if unavailable(exc):
            self._quiet.failure(what, exc)
        else:
            where = f" ({item})" if item is not None else ""
            self._log.error("%s: %s failed%s; retried later", self.name, what, where, exc_info=exc)

    async def _run(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            try:
                while not self._stopping and self.more(await self.round()):
                    pass
            except Exception as exc:
                self.failed("a round", exc)
