"""The one way out for notifications that are not replies: reminders, digests, assignments.

Telegram's flood limits (SPEC §5): about 30 messages per second in bulk, one per second in a
chat, 20 per minute in a group. aiogram has no throttling or retry of its own (SPEC §6), so
every bulk send goes through `Sender`, which

- keeps a global sliding window: never more than `global_per_second` sends in any half-open
  1-second window, across all chats (with several bot instances, give each its share);
- spaces sends to one chat by `per_chat_interval` and keeps groups (chat_id < 0) under
  `group_per_minute` in any rolling 60 s, while different chats proceed concurrently;
- waits out 429 `retry_after` and retries network errors / 5xx with exponential backoff, up
  to `max_retries` retries; 403 raises `Blocked` at once; any other error raises `SendFailed`.

Every call returns the result or raises: nothing is dropped silently. A retry after a network
error or a 5xx may repeat a message Telegram did accept (the Bot API has no idempotency key);
we prefer that to losing one.

The global limiter is a small exact sliding-window log written here rather than aiolimiter:
aiolimiter's leaky bucket reads `loop.time()` (no injectable clock, so no deterministic tests)
and, being a bucket of capacity `rate`, lets a full burst through and then refills during the
same second — up to about twice the rate in one 1-second window, which is what Telegram counts.
It is also not a dependency of the project.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import InputFile, Message

log = logging.getLogger(__name__)

T = TypeVar("T")
ChatId = int | str

GROUP_WINDOW = 60.0  # seconds: Telegram counts group messages per minute
BACKOFF_BASE = 0.5  # first wait after a network error or 5xx, doubled on each retry
BACKOFF_CAP = 30.0
# Idle per-chat state is swept once a minute, and also whenever the table reaches this size
# (then twice the size that survived the sweep): amortized O(1) per new chat, and the table
# never holds much more than the chats sent to within the last minute.
MIN_SWEEP_SIZE = 1024
SWEEP_EVERY = 60.0


@dataclass(frozen=True)
class SendLimits:
    global_per_second: float = 30.0  # Telegram's bulk limit; a setting, never a constant
    per_chat_interval: float = 1.0  # seconds between two messages to one private chat
    group_per_minute: int = 20  # messages per minute to one group (chat_id < 0)
    max_retries: int = 5  # 429 / network / 5xx retries before giving up

    def __post_init__(self) -> None:
        if not self.global_per_second > 0:
            raise ValueError("global_per_second must be positive (math.inf lifts the limit)")
        if self.per_chat_interval < 0:
            raise ValueError("per_chat_interval must not be negative")
        if self.group_per_minute < 1:
            raise ValueError("group_per_minute must be at least 1")
        if self.max_retries < 0:
            raise ValueError("max_retries must not be negative")


class SendError(Exception):
    """A message that did not go out; `chat_id` says to whom."""

    def __init__(self, chat_id: ChatId, reason: str) -> None:
        super().__init__(f"chat {chat_id}: {reason}")
        self.chat_id = chat_id
        self.reason = reason


class Blocked(SendError):
    """403: the user blocked the bot, or the bot was removed from the group. Not retried."""


class SendFailed(SendError):
    """Gave up: a 4xx other than 403, or retries exhausted."""


class NotSent(SendError):
    """The caller's gate withdrew the message just before its request: nothing went out."""


class RetryLater(SendError):
    """Telegram asked this chat to wait longer than the caller is willing to (a 429 with a long
    `retry_after`). Nothing went out; the chat stays paused until `retry_after` has passed."""

    def __init__(self, chat_id: ChatId, retry_after: float) -> None:
        super().__init__(chat_id, f"retry after {retry_after:g} s")
        self.retry_after = retry_after


# Called once the limits allow the request, immediately before it: False withdraws it.
Gate = Callable[[], Awaitable[bool]]


class _Window:
    """At most `limit` events in any half-open window of `period` seconds (a sliding log).

    Memory is at most `limit` timestamps; each check is amortized O(1).
    """

    __slots__ = ("limit", "period", "times")

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.times: deque[float] = deque()

    def delay(self, now: float) -> float:
        """Seconds until one more event fits (0 when it fits now)."""
        times = self.times
        # The same expression decides expiry and the delay, so a sleep of exactly the delay
        # always frees the slot (no endless sub-epsilon waits from float rounding).
        while times and times[0] + self.period <= now:
            times.popleft()
        if len(times) < self.limit:
            return 0.0
        return times[0] + self.period - now

    def record(self, now: float) -> None:
        self.times.append(now)

    def empty_at(self, now: float) -> bool:
        return not self.times or self.times[-1] + self.period <= now


def _global_window(rate: float) -> _Window | None:
    if math.isinf(rate):
        return None
    if rate >= 1:
        # A fractional part cannot be honoured in a 1 s window without exceeding the rate in
        # some window, so it is rounded down: 30.5/s behaves as 30/s.
        return _Window(math.floor(rate), 1.0)
    return _Window(1, 1.0 / rate)  # slower than 1/s: one send per 1/rate seconds


@dataclass(eq=False)
class _Chat:
    # FIFO: asyncio.Lock hands over to waiters in order and does not let a newcomer barge in,
    # so messages to one chat leave in the order they were submitted.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last: float | None = None  # when the last request to this chat started
    paused_until: float = -math.inf  # a 429's retry_after for this chat
    window: _Window | None = None  # groups only
    users: int = 0  # callers holding or waiting for `lock`; never swept while > 0


class Sender:
    def __init__(
        self,
        bot: Bot,
        limits: SendLimits = SendLimits(),  # frozen: one shared default is safe
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._bot = bot
        self._limits = limits
        self._clock = clock
        self._sleep = sleep
        self._global = _global_window(limits.global_per_second)
        # Held while a caller waits for a global slot, so waiters are served in order and a
        # freed slot is not raced for by every sleeper at once.
        self._global_lock = asyncio.Lock()
        self._chats: dict[ChatId, _Chat] = {}
        self._sweep_at = MIN_SWEEP_SIZE
        self._next_sweep = -math.inf

    @property
    def limits(self) -> SendLimits:
        return self._limits

    @property
    def tracked_chats(self) -> int:
        """How many chats the sender keeps state for (bounded: idle ones are dropped)."""
        return len(self._chats)

    async def send_message(
        self,
        chat_id: ChatId,
        text: str,
        *,
        gate: Gate | None = None,
        max_wait: float | None = None,
        **kwargs: Any,
    ) -> Message:
        """Send under the limits. `gate` is asked right before the request (False: `NotSent`);
        with `max_wait`, a 429 asking to wait longer raises `RetryLater` instead of waiting."""
        return await self._deliver(
            chat_id,
            "sendMessage",
            lambda: self._bot.send_message(chat_id, text, **kwargs),
            gate=gate,
            max_wait=max_wait,
        )

    async def send_document(self, chat_id: ChatId, document: InputFile, **kwargs: Any) -> Message:
        # A retry uploads `document` again: fine for BufferedInputFile / FSInputFile, which can
        # be read more than once.
        return await self._deliver(
            chat_id,
            "sendDocument",
            lambda: self._bot.send_document(chat_id, document, **kwargs),
        )

    async def call(self, chat_id: ChatId, method: TelegramMethod[T]) -> T:
        """Any Bot API method aimed at one chat, under that chat's limits."""
        target = getattr(method, "chat_id", None)
        if target is not None and target != chat_id:
            # Counting the send against another chat than the one it reaches would defeat
            # the per-chat limits.
            raise ValueError(f"method is aimed at chat {target}, not {chat_id}")
        return await self._deliver(chat_id, type(method).__name__, lambda: self._bot(method))

    # --- the pipeline ---------------------------------------------------------------------
    async def _deliver(
        self,
        chat_id: ChatId,
        what: str,
        request: Callable[[], Awaitable[T]],
        *,
        gate: Gate | None = None,
        max_wait: float | None = None,
    ) -> T:
        chat = self._enter(chat_id)
        try:
            # Holding the chat's lock across retries keeps its messages in order and makes
            # the chat's later messages wait out a 429 too; other chats are not affected.
            async with chat.lock:
                return await self._attempts(chat_id, chat, what, request, gate, max_wait)
        finally:
            chat.users -= 1

    async def _attempts(
        self,
        chat_id: ChatId,
        chat: _Chat,
        what: str,
        request: Callable[[], Awaitable[T]],
        gate: Gate | None,
        max_wait: float | None,
    ) -> T:
        retries = 0
        error: TelegramAPIError  # the last failure worth retrying (429, network, 5xx)
        while True:
            paused = chat.paused_until - self._clock()
            if max_wait is not None and paused > max_wait:
                raise RetryLater(chat_id, paused)
            await self._wait_for_chat(chat)
            await self._wait_for_global()
            if gate is not None and not await gate():
                raise NotSent(chat_id, "withdrawn before sending")
            now = self._clock()
            # Every attempt counts, a failed one too: Telegram counted it.
            chat.last = now
            if chat.window is not None:
                chat.window.record(now)
            try:
                return await request()
            except TelegramRetryAfter as exc:
                delay, error = float(exc.retry_after), exc
                chat.paused_until = self._clock() + delay
                if max_wait is not None and delay > max_wait:
                    log.info("%s to chat %s: 429, retry after %g s", what, chat_id, delay)
                    raise RetryLater(chat_id, delay) from exc
            except TelegramForbiddenError as exc:
                log.info("%s to chat %s: blocked or removed (403)", what, chat_id)
                raise Blocked(chat_id, self._describe(exc)) from exc
            except TelegramEntityTooLarge as exc:
                # A subclass of TelegramNetworkError, but sending it again cannot help.
                raise self._failed(chat_id, what, self._describe(exc)) from exc
            except (TelegramNetworkError, TelegramServerError) as exc:
                delay, error = min(BACKOFF_CAP, BACKOFF_BASE * 2**retries), exc
            except TelegramMigrateToChat as exc:
                reason = f"group migrated to supergroup {exc.migrate_to_chat_id}"
                raise self._failed(chat_id, what, reason) from exc
            except (TelegramAPIError, ClientDecodeError) as exc:
                # 400, 401, 404, 409 and anything unknown: the same request would fail again.
                raise self._failed(chat_id, what, self._describe(exc)) from exc
            if retries >= self._limits.max_retries:
                reason = f"gave up after {retries} retries: {self._describe(error)}"
                raise self._failed(chat_id, what, reason) from error
            retries += 1
            log.warning(
                "%s to chat %s: %s, retry %d/%d in %.1f s",
                what,
                chat_id,
                type(error).__name__,
                retries,
                self._limits.max_retries,
                delay,
            )
            await self._sleep(delay)

    async def _wait_for_chat(self, chat: _Chat) -> None:
        while (delay := self._chat_delay(chat, self._clock())) > 0:
            await self._sleep(delay)

    def _chat_delay(self, chat: _Chat, now: float) -> float:
        delay = chat.paused_until - now
        if chat.last is not None:
            delay = max(delay, chat.last + self._limits.per_chat_interval - now)
        if chat.window is not None:
            delay = max(delay, chat.window.delay(now))
        return delay

    async def _wait_for_global(self) -> None:
        window = self._global
        if window is None:
            return
        # Uncontended, this lock and the window cost no await and O(1): a lifted limit
        # (e.g. 1e6/s) adds next to nothing.
        async with self._global_lock:
            while (delay := window.delay(self._clock())) > 0:
                await self._sleep(delay)
            window.record(self._clock())

    # --- per-chat state -------------------------------------------------------------------
    def _enter(self, chat_id: ChatId) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            now = self._clock()
            if len(self._chats) >= self._sweep_at or now >= self._next_sweep:
                self._sweep(now)
            # "@username" targets are public channels or supergroups: treat them as groups.
            is_group = isinstance(chat_id, str) or chat_id < 0
            window = _Window(self._limits.group_per_minute, GROUP_WINDOW) if is_group else None
            chat = self._chats[chat_id] = _Chat(window=window)
        chat.users += 1  # before any await, so a sweep cannot drop a chat someone waits on
        return chat

    def _sweep(self, now: float) -> None:
        """Forget chats nobody is using whose limits no longer constrain the next send."""
        interval = self._limits.per_chat_interval
        idle = [
            chat_id
            for chat_id, chat in self._chats.items()
            if chat.users == 0
            and chat.paused_until <= now
            and (chat.last is None or chat.last + interval <= now)
            and (chat.window is None or chat.window.empty_at(now))
        ]
        for chat_id in idle:
            del self._chats[chat_id]
        self._sweep_at = max(MIN_SWEEP_SIZE, 2 * len(self._chats))
        self._next_sweep = now + SWEEP_EVERY
        log.debug("sender swept %d idle chats, %d kept", len(idle), len(self._chats))

    # --- errors ---------------------------------------------------------------------------
    def _describe(self, exc: BaseException) -> str:
        # Telegram's descriptions do not quote the message, but an HTTP client error may quote
        # the request URL, which contains the token.
        text = f"{type(exc).__name__}: {exc}".replace(self._bot.token, "<token>")
        return text.split("\n(background on this error", 1)[0]

    def _failed(self, chat_id: ChatId, what: str, reason: str) -> SendFailed:
        log.warning("%s to chat %s failed: %s", what, chat_id, reason)
        return SendFailed(chat_id, reason)
