from __future__ import annotations

from aiogram import Router, html
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.labels import role_name
from bot.middlewares.access import stranger_hint
from crm.context import Crm
from storage.models import User


async def start(
    message: Message, command: CommandObject, crm: Crm, crm_user: User | None, i18n: I18n
) -> None:
    if crm_user is not None:
        await message.answer(
            _("Hello, {name}! You are signed in. /help lists what I can do.").format(
                name=html.quote(crm_user.name)
            )
        )
        return
    code = (command.args or "").strip()
    if not code or message.from_user is None:
        await message.answer(await stranger_hint(crm))
        return
    user = await crm.users.redeem(code, message.from_user.id, message.from_user.language_code)
    with i18n.use_locale(user.locale or i18n.current_locale):
        await message.answer(
            _("Welcome, {name}! You joined the CRM as {role}. /help lists what I can do.").format(
                name=html.quote(user.name), role=role_name(user.role)
            )
        )


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(start, CommandStart())
    return router
