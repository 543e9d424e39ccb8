from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, User

from bot.middlewares.database import outcome_of
from crm.context import Crm
from crm.users import actor_of

log = logging.getLogger(__name__)


class CrmUserMiddleware(BaseMiddleware):
    """Resolve the Telegram account to its CRM user (or None) and a group to its settings.

    A user marked unreachable (a 403 from Telegram) who sends anything is reachable again.
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        crm: Crm = data["crm"]
        tg_user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        crm_user = None
        await crm.roles.refresh()  # the stored roles, from the Runtime's cache
        if tg_user is not None and not tg_user.is_bot:
            crm_user = await crm.users.by_telegram_id(tg_user.id)
        if crm_user is not None and not crm_user.is_reachable:
            # They wrote to us, so they can be reached again: what was held for them is sent.
            with outcome_of(data, event).aside():
                released = await crm.users.mark_reachable(crm_user)
            log.info(
                "user %s is reachable again; %d held reminder(s) released", crm_user.id, released
            )
        data["crm_user"] = crm_user
        data["actor"] = actor_of(crm_user) if crm_user is not None else None
        data["crm_chat"] = (
            await crm.chats.get(chat.id) if chat is not None and chat.type != "private" else None
        )
        return await handler(event, data)
