from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import TelegramObject, Update

from bot.replies import describe_error, notify_event
from crm.errors import CrmError

log = logging.getLogger(__name__)


class ErrorReplyMiddleware(BaseMiddleware):
    """Turn a domain error into a localized reply, and anything else into an apology.

    Nothing a person sends may crash the bot or leave them without an answer; the traceback
    goes to the log with the update id (never the token or the message text).
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        except CrmError as exc:
            if isinstance(event, Update):
                await self._tell(data["bot"], event, describe_error(exc))
        except Exception as exc:
            update_id = event.update_id if isinstance(event, Update) else None
            log.exception("update %s failed: %s", update_id, type(exc).__name__)
            if isinstance(event, Update):
                await self._tell(data["bot"], event, describe_error(exc))
        return None

    @staticmethod
    async def _tell(bot: Bot, update: Update, text: str) -> None:
        try:
            await notify_event(bot, update, text)
        except TelegramAPIError:
            log.warning("could not deliver the error reply for update %s", update.update_id)
