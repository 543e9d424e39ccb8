from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update
from aiogram.utils.i18n import gettext as _

from bot.relay import client_greeting
from bot.replies import notify_event
from crm.context import Crm


class AccessGateMiddleware(BaseMiddleware):
    """Unknown Telegram users see nothing of the CRM: one localized hint, whatever they send.

    The only thing that passes is `/start <code>` in a private chat, which binds an invite.
    In groups a stranger's plain messages are ignored, except in a triage queue, where they
    are inbound requests; their commands and button presses get the hint. While a triage
    queue takes private messages (`/triage relay on`), a stranger's private messages and
    their edits pass too (they are requests, `handlers/relay.py`), and their commands get a
    client's greeting instead of the hint — neither says anything of the CRM.
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
        if event.my_chat_member is not None:
            return await handler(event, data)  # the bot added to or removed from a chat
        message = event.message
        if message is not None and message.chat.type == "private":
            if message.text and message.text.split(maxsplit=1)[0].split("@")[0] == "/start":
                return await handler(event, data)
            if not (message.text or "").startswith("/") and await relaying(data):
                return await handler(event, data)  # a client writing to the bot
        elif message is not None and not (message.text or "").startswith("/"):
            if data.get("queue") is not None:
                return await handler(event, data)  # a client writing into a triage queue
            return None
        edited = event.edited_message
        if edited is not None and edited.chat.type == "private" and await relaying(data):
            return await handler(event, data)  # a client's edit follows to the request
        if message is None and event.callback_query is None:
            return None  # edits, member updates, channel posts: nothing to answer
        bot: Bot = data["bot"]
        private = message is not None and message.chat.type == "private"
        await notify_event(
            bot, event, await stranger_hint(data["crm"]) if private else unbound_hint()
        )
        return None


async def relaying(data: dict[str, Any]) -> bool:
    return await data["crm"].relay.queue() is not None


async def stranger_hint(crm: Crm) -> str:
    """What a stranger's private command gets: a client's greeting while private messages are
    taken as requests, else the hint to ask for an invite."""
    return client_greeting() if await crm.relay.queue() is not None else unbound_hint()


def unbound_hint() -> str:
    return _("You are not a member of this CRM yet. Ask your admin for an invite.")
