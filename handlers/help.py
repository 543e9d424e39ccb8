from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import BotCommand, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

# The command menu and /help read from this one list; later features add their lines.
COMMANDS: list[tuple[str, object]] = [
    ("help", __("what I can do")),
    ("whoami", __("who I am in the CRM")),
    ("settings", __("language and time zone")),
    ("lang", __("change the language: /lang pl, /lang ru, /lang en")),
    ("cancel", __("leave the current dialog")),
]


def bot_commands(i18n: I18n, locale: str) -> list[BotCommand]:
    with i18n.context(), i18n.use_locale(locale):
        return [BotCommand(command=name, description=str(text)) for name, text in COMMANDS]


async def help_(message: Message) -> None:
    lines = [_("<b>CRM commands</b>")]
    lines += [f"/{name} — {text}" for name, text in COMMANDS]
    await message.answer("\n".join(lines))


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(help_, Command("help"))
    return router
