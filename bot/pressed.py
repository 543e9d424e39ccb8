"""Where the answer to a pressed button goes: `query.message` narrowed once, here.

Telegram sends the pressed button's message as an `InaccessibleMessage` (only the chat, the
id and date 0) when it is older than 48 hours, and no message at all for a button under an
inline-mode message. Either way the press does its work and the person gets the answer: an
edit becomes a new message in that chat, dropping the buttons is skipped, and without a chat
the answer goes to the presser's private chat.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Protocol

from aiogram.types import CallbackQuery, InaccessibleMessage, InlineKeyboardMarkup, Message


class Replier(Protocol):
    """What a handler answers into: a user's message, or the chat of a pressed button."""

    # Not `async def`: aiogram's Message.answer returns an awaitable SendMessage.
    def answer(self, text: str, **kwargs: Any) -> Awaitable[Any]: ...


class PressedChat:
    def __init__(self, query: CallbackQuery) -> None:
        self.query = query
        message = query.message
        self.message: Message | None = message if isinstance(message, Message) else None
        self.old: InaccessibleMessage | None = (
            message if isinstance(message, InaccessibleMessage) else None
        )

    @property
    def chat_id(self) -> int:
        if self.message is not None:
            return self.message.chat.id
        if self.old is not None:
            return self.old.chat.id
        return self.query.from_user.id

    async def answer(self, text: str, **kwargs: Any) -> Any:
        """A new message in the button's chat."""
        if self.message is not None:
            return await self.message.answer(text, **kwargs)
        if self.old is not None:
            return await self.old.answer(text, **kwargs)
        bot = self.query.bot
        if bot is None:  # only a CallbackQuery built by hand, never one from the dispatcher
            raise RuntimeError("a callback query without its bot")
        return await bot.send_message(self.chat_id, text, **kwargs)

    async def edit(self, text: str, reply_markup: InlineKeyboardMarkup | None = None) -> Any:
        """The button's message shows `text` now; an old one is answered with a new message."""
        if self.message is not None:
            return await self.message.edit_text(text, reply_markup=reply_markup)
        return await self.answer(text, reply_markup=reply_markup)

    async def edit_markup(self, reply_markup: InlineKeyboardMarkup | None) -> None:
        """Other buttons under the same message; an old one cannot be edited, so they come
        as a new message in that chat."""
        if self.message is not None:
            await self.message.edit_reply_markup(reply_markup=reply_markup)
        elif reply_markup is not None:
            await self.answer("⬇️", reply_markup=reply_markup)

    async def drop_buttons(self) -> None:
        """The buttons are used up; an old message keeps them (it cannot be edited)."""
        if self.message is not None:
            await self.message.edit_reply_markup(reply_markup=None)


def pressed(query: CallbackQuery) -> PressedChat:
    return PressedChat(query)
