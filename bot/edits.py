"""Editing a message into what it already shows is done, not an error.

Telegram answers 400 "message is not modified" when an edit changes nothing — a list page or a
Done button pressed twice, two taps racing on an old message. The message already shows what
was asked for, so the person must not read "something went wrong": this request middleware
turns that one answer into success (`True`, what Telegram returns for an edit it accepted
without a message to give back).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    TelegramMethod,
)

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)

_EDITS = (EditMessageText, EditMessageReplyMarkup, EditMessageCaption)


class NotModifiedIsDone(BaseRequestMiddleware):
    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Any:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            if isinstance(method, _EDITS) and "message is not modified" in exc.message:
                log.debug("%s changed nothing; taken as done", type(method).__name__)
                return True
            raise
