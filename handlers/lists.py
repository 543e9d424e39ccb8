"""`/my`, `/deals`, `/leads` with paging, and `/find`."""

from __future__ import annotations

from aiogram import Router, html
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ListCb
from bot.cards import fit, list_line, render_page
from bot.pressed import PressedChat, pressed
from crm.context import Crm
from crm.enums import EntityType
from crm.parsing import region_for_locale
from crm.permissions import Actor
from handlers.fallback import unknown_message
from storage.models import User

LISTS = {
    "my": (EntityType.DEAL, True),
    "deals": (EntityType.DEAL, False),
    "leads": (EntityType.LEAD, False),
}


def list_title(what: str) -> str:
    titles = {"my": _("My open deals"), "deals": _("Open deals"), "leads": _("Open leads")}
    return titles[what]


async def show_list(
    message: Message | PressedChat, crm: Crm, actor: Actor, what: str, page: int
) -> None:
    """A new message for a command; a page button's message becomes the new page."""
    entity, mine = LISTS[what]
    result = await crm.search.page(actor, entity, mine=mine, page=page)
    text, markup = render_page(list_title(what), result, what)
    if isinstance(message, PressedChat):
        await message.edit(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


async def list_command(message: Message, command: CommandObject, crm: Crm, actor: Actor) -> None:
    what = command.command.lower()
    if LISTS[what][0] not in crm.search.readable(actor):
        # A type the actor cannot read does not exist for them: the same as any unknown command.
        await unknown_message(message)
        return
    await show_list(message, crm, actor, what, 0)


async def list_page(query: CallbackQuery, callback_data: ListCb, crm: Crm, actor: Actor) -> None:
    await query.answer()
    if callback_data.what in LISTS:
        page = max(0, min(callback_data.page, 100_000))
        await show_list(pressed(query), crm, actor, callback_data.what, page)


async def find_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor, crm_user: User
) -> None:
    query = (command.args or "").strip()
    if len(query) < 2:
        await message.answer(
            _("What should I look for? A name, a phone or an e-mail: /find Kowalski")
        )
        return
    region = region_for_locale(crm.users.locale_of(crm_user))
    found = await crm.search.find(actor, query, region=region)
    if not found:
        await message.answer(_("Nothing found for {query}.").format(query=html.quote(query[:100])))
        return
    lines = [_("<b>Found</b> for {query}:").format(query=html.quote(query[:100]))]
    lines += [list_line(element) for element in found]
    await message.answer(fit("\n".join(lines)))


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(list_command, Command(*LISTS))
    router.message.register(find_command, Command("find"))
    router.callback_query.register(list_page, ListCb.filter())
    return router
