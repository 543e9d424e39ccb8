"""The database or Redis is down: say so in a word, log it once a minute, let Telegram retry.

`outage_cause` tells an unreachable service from a bug by the exception (and, for the bare
socket errors asyncpg raises while connecting, by where it was raised). `Outages` answers the
person without touching the failed service (the locale comes from Telegram's language_code),
once per update however often Telegram redelivers it, and keeps the log to one line per cause
per minute instead of a traceback per update.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable

from aiogram import Bot
from aiogram.types import Update
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.replies import notify_event
from crm.locales import match_locale

log = logging.getLogger(__name__)

DATABASE = "database"
REDIS = "redis"
LOG_INTERVAL = 60.0  # seconds between two log lines about the same cause
REPLY_MEMORY = 300.0  # a redelivered update within this time is not answered again
_REPLY_MEMORY_SIZE = 10_000
_MODULES = {DATABASE: ("/sqlalchemy/", "/asyncpg/", "/aiosqlite/"), REDIS: ("/redis/",)}


def outage_cause(exc: BaseException) -> str | None:
    """DATABASE or REDIS when `exc` (or what caused it) means that service is unreachable."""
    from redis import exceptions as redis_errors
    from sqlalchemy import exc as sa_errors

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, redis_errors.ConnectionError | redis_errors.TimeoutError):
            return REDIS
        if isinstance(current, redis_errors.BusyLoadingError | redis_errors.ReadOnlyError):
            return REDIS
        if isinstance(current, sa_errors.DBAPIError) and current.connection_invalidated:
            return DATABASE
        if isinstance(
            current,
            sa_errors.OperationalError | sa_errors.InterfaceError | sa_errors.TimeoutError,
        ):
            return DATABASE
        if isinstance(current, OSError | TimeoutError):
            where = _raised_in(current)
            if where is not None:
                return where
        current = current.__cause__ or current.__context__
    return None


def _raised_in(exc: BaseException) -> str | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        for cause, markers in _MODULES.items():
            if any(marker in frame.filename for marker in markers):
                return cause
    return None


class Throttle:
    """At most one log line per key per `interval`; counts what it held back."""

    def __init__(
        self, interval: float = LOG_INTERVAL, clock: Callable[[], float] = time.monotonic
    ):
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self.held: dict[str, int] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self.held[key] = self.held.get(key, 0) + 1
            return False
        self._last[key] = now
        return True

    def take_held(self, key: str) -> int:
        return self.held.pop(key, 0)

    def forget(self, key: str) -> bool:
        """True when `key` had been logged (and is now forgotten)."""
        self.held.pop(key, None)
        return self._last.pop(key, None) is not None


class Outages:
    def __init__(self, i18n: I18n, clock: Callable[[], float] = time.monotonic) -> None:
        self.i18n = i18n
        self.clock = clock
        self.throttle = Throttle(clock=clock)
        self._answered: OrderedDict[int, float] = OrderedDict()

    async def refuse(self, bot: Bot, update: Update, cause: str, exc: BaseException) -> None:
        """Log (throttled) and tell the person once; never raises."""
        if self.throttle.allow(cause):
            held = self.throttle.take_held(cause)
            log.error(
                "%s unavailable (%s: %s); updates are refused with 503 until it is back%s",
                cause,
                type(exc).__name__,
                _short(exc),
                f" ({held} refused since the previous line)" if held else "",
            )
        if not self._first_answer(update.update_id):
            return
        with self.i18n.context(), self.i18n.use_locale(locale_of_update(update, self.i18n)):
            text = unavailable_text()
        try:
            await notify_event(bot, update, text)
        except Exception as error:
            log.debug("could not tell update %s about the outage: %r", update.update_id, error)

    def healthy(self) -> None:
        """An update went through: a service logged as down is back."""
        for cause in (DATABASE, REDIS):
            if self.throttle.forget(cause):
                log.warning("%s reachable again", cause)

    def _first_answer(self, update_id: int) -> bool:
        now = self.clock()
        while self._answered and (
            len(self._answered) > _REPLY_MEMORY_SIZE
            or now - next(iter(self._answered.values())) > REPLY_MEMORY
        ):
            self._answered.popitem(last=False)
        if update_id in self._answered:
            return False
        self._answered[update_id] = now
        return True


def locale_of_update(update: Update, i18n: I18n) -> str:
    """The sender's language as Telegram gives it: no database, no Redis needed."""
    event = update.message or update.edited_message or update.callback_query
    user = event.from_user if event is not None else None
    return match_locale(user.language_code if user else None) or i18n.default_locale


def unavailable_text() -> str:
    return _("The CRM is temporarily unavailable, try again in a minute.")


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
