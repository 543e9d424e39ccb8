from __future__ import annotations

from aiogram import Router, html
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.fmt import fmt_datetime
from bot.labels import role_name
from crm.context import Crm
from crm.locales import LOCALE_NAMES
from storage.models import User


async def whoami(message: Message, crm: Crm, crm_user: User) -> None:
    timezone = crm.users.timezone_of(crm_user)
    department = crm_user.department.name if crm_user.department else _("none")
    lines = [
        f"<b>{html.quote(crm_user.name)}</b>",
        _("Role: {role}").format(role=role_name(crm_user.role)),
        _("Department: {department}").format(department=html.quote(department)),
        _("Language: {language}").format(
            language=LOCALE_NAMES.get(crm_user.locale or "", _("from Telegram"))
        ),
        _("Time zone: {timezone}").format(timezone=timezone),
        _("Local time: {time}").format(time=fmt_datetime(crm.runtime.clock.now(), timezone)),
        _("CRM user id: {id}").format(id=crm_user.id),
    ]
    await message.answer("\n".join(lines))


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(whoami, Command("whoami"))
    return router
