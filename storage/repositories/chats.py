from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Chat


class ChatRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, chat_id: int) -> Chat | None:
        return await self.session.get(Chat, chat_id)

    async def get_or_create(self, chat_id: int, kind: str, title: str | None) -> Chat:
        chat = await self.session.get(Chat, chat_id)
        if chat is None:
            chat = Chat(id=chat_id, kind=kind, title=title)
            self.session.add(chat)
            await self.session.flush()
        return chat
