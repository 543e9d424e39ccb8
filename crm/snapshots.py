"""Configuration that nearly every update reads and almost nobody changes, kept in memory as an
immutable snapshot for a few seconds (pipelines and stages, roles, fields).

A change made on this instance invalidates its snapshot at once; another instance sees the
change within `ttl`. No request pays a database round trip for it in between.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from storage.repositories import Repos

T = TypeVar("T")


class Snapshot(Generic[T]):
    def __init__(self, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._value: T | None = None
        self._loaded_at = 0.0

    async def get(self, repos: Repos) -> T:
        now = self.clock()
        if self._value is None or now - self._loaded_at > self.ttl:
            self._value = await self._fetch(repos)
            self._loaded_at = now
        return self._value

    def invalidate(self) -> None:
        self._value = None

    async def _fetch(self, repos: Repos) -> T:
        raise NotImplementedError
