from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update
from aiogram.utils.i18n import gettext as _

from bot.replies import notify_event


class AccessGateMiddleware(BaseMiddleware):
    """Unknown Telegram users see nothing of the CRM: one localized hint, whatever they send.

    The only thing that passes is `/start <code>` in a private chat, which binds an invite.
    In groups a stranger's plain messages are ignored, except in a triage queue, where they
    are inbound requests; their commands and button presses get the hint.
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if data.get("crm_user") is not None:
            return await handler(event, data)
        if not isinstance(event, Update):
            return None
        message = event.message
        if message is not None and message.chat.type == "private":
            if message.text and message.text.split(maxsplit=1)[0].split("@")[0] == "/start":
                return await handler(event, data)
        elif message is not None and not (message.text or "").startswith("/"):
            if await data["crm"].triage.queue_of(message.chat.id) is not None:
                return await handler(event, data)  # a client writing into a triage queue
            return None
        if message is None and event.callback_query is None:
            return None  # edits, member updates, channel posts: nothing to answer
        bot: Bot = data["bot"]
        await notify_event(bot, event, unbound_hint())
        return None


def unbound_hint() -> str:
    return _("You are not a member of this CRM yet. Ask your admin for an invite.")
