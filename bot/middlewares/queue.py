from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from bot.middlewares.database import outcome_of
from crm.context import Crm
from storage.models import User


class TriageQueueMiddleware(BaseMiddleware):
    """Puts a group's active triage queue into the handler data (`queue`, else None), and
    records a CRM user acting in it as a member: Telegram lists no group members to bots, so
    the queue's members are the CRM users seen there."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat = data.get("event_chat")
        queue = None
        if chat is not None and chat.type in ("group", "supergroup"):
            crm: Crm = data["crm"]
            queue = await crm.triage.queue_of(chat.id)
            user: User | None = data.get("crm_user")
            if queue is not None and user is not None:
                with outcome_of(data, event).aside():
                    await crm.triage.seen(queue, user)
        data["queue"] = queue
        return await handler(event, data)
