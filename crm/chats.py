"""Chats the bot serves: a group's own language (and, later, its triage binding)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crm.enums import Right
from crm.errors import InvalidValue
from crm.locales import SUPPORTED_LOCALES
from crm.permissions import Actor
from storage.models import Chat
from storage.repositories import Repos

if TYPE_CHECKING:
    from crm.context import Runtime


class ChatService:
    def __init__(self, repos: Repos, runtime: Runtime) -> None:
        self.repos = repos
        self.runtime = runtime

    async def get(self, chat_id: int) -> Chat | None:
        return await self.repos.chats.get(chat_id)

    async def set_locale(
        self, actor: Actor, chat_id: int, kind: str, title: str | None, locale: str
    ) -> Chat:
        self.runtime.policy.require_right(actor, Right.GROUP_SETTINGS)
        if locale not in SUPPORTED_LOCALES:
            raise InvalidValue("locale", locale)
        chat = await self.repos.chats.get_or_create(chat_id, kind, title)
        chat.locale = locale
        await self.repos.commit()
        return chat
