"""The dispatcher with the one outermost guard every front end shares (webhook, polling,
console): whatever fails anywhere in the chain — aiogram's own FSM middleware and events
isolation (Redis) included, which run before any middleware of ours — ends here.

- The update's effect is committed: the person is told what was done; it counts as handled.
- The database or Redis is unreachable: the person gets one localized word, the log one line a
  minute, and `ServiceUnavailable` tells the webhook to answer 503 so that Telegram delivers the
  update again later (long polling cannot: there the update is answered and dropped).
- Anything else: the traceback is logged and the person gets an apology.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiogram.utils.i18n import I18n

from bot.middlewares.database import OUTCOME_KEY, UpdateOutcome, is_concurrent_delivery
from bot.middlewares.errors import describe_effects, log_after_commit, tell
from bot.middlewares.outages import Outages, locale_of_update, outage_cause
from bot.replies import describe_error

log = logging.getLogger(__name__)

REMEMBER_KEY = "remember_update"  # feed_update(..., remember_update=False): no marker


class ServiceUnavailable(Exception):
    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


class CrmDispatcher(Dispatcher):
    def __init__(self, *, i18n: I18n, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.i18n = i18n
        self.outages = Outages(i18n)

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        """Long polling and the console: an outage is answered and logged, nothing raised."""
        try:
            return await self.feed_update_or_refuse(bot, update, **kwargs)
        except ServiceUnavailable:
            return None

    async def feed_update_or_refuse(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        """The webhook's entry: raises `ServiceUnavailable` when the update should come again."""
        outcome = UpdateOutcome(update.update_id, remember=kwargs.pop(REMEMBER_KEY, True))
        try:
            result = await super().feed_update(bot, update, **{OUTCOME_KEY: outcome}, **kwargs)
        except Exception as exc:
            return await self._failed(bot, update, outcome, exc)
        self.outages.healthy()
        return result

    async def _failed(
        self, bot: Bot, update: Update, outcome: UpdateOutcome, exc: Exception
    ) -> None:
        if is_concurrent_delivery(exc):
            log.info("update %s is being handled by another instance", update.update_id)
            return None
        if outcome.committed:
            # E.g. Redis went away while the events-isolation lock was released.
            log_after_commit(update.update_id, exc)
            with self.i18n.context(), self.i18n.use_locale(locale_of_update(update, self.i18n)):
                text = describe_effects(outcome.effects)
            await tell(bot, update, text)
            return None
        cause = outage_cause(exc)
        if cause is not None:
            await self.outages.refuse(bot, update, cause, exc)
            raise ServiceUnavailable(cause) from None
        log.exception("update %s failed: %s", update.update_id, type(exc).__name__)
        with self.i18n.context(), self.i18n.use_locale(locale_of_update(update, self.i18n)):
            text = describe_error(exc)
        await tell(bot, update, text)
        return None
