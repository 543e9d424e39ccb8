"""What no feature took: a private message gets a pointer to /help, a stale button an answer."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _


async def unknown_message(message: Message) -> None:
    await message.answer(_("I didn't understand that. /help lists what I can do."))


async def unknown_button(query: CallbackQuery) -> None:
    await query.answer(_("This button no longer works. Open the card again."), show_alert=True)


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(unknown_message, F.chat.type == "private")
    router.callback_query.register(unknown_button)
    return router
