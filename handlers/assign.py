"""Reassigning an element from its card; the new responsible is told in private."""

from __future__ import annotations

from aiogram import F, Router, html
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import AssignCb, ElCb
from bot.cards import code_link
from bot.labels import entity_name
from bot.notify import notify_user
from bot.pressed import pressed
from bot.sender import Sender
from crm.context import Crm
from crm.elements import label_of
from crm.permissions import Actor
from handlers.elements import ref_from

MAX_BUTTONS = 40


async def assign_pressed(
    query: CallbackQuery, callback_data: ElCb, crm: Crm, actor: Actor
) -> None:
    ref = ref_from(callback_data.kind, callback_data.id)
    users = (await crm.elements.assignable_users(actor, ref))[:MAX_BUTTONS]
    await query.answer()
    if not users:
        await pressed(query).answer(_("There is nobody you can hand it to."))
        return
    kb = InlineKeyboardBuilder()
    for user in users:
        kb.button(
            text=user.name[:40],
            callback_data=AssignCb(kind=callback_data.kind, id=ref.id, user=user.id),
        )
    kb.adjust(2)
    await pressed(query).answer(
        _("Who will be responsible for {code}?").format(code=ref.code), reply_markup=kb.as_markup()
    )


async def assignee_chosen(
    query: CallbackQuery,
    callback_data: AssignCb,
    crm: Crm,
    actor: Actor,
    sender: Sender,
    i18n: I18n,
) -> None:
    ref = ref_from(callback_data.kind, callback_data.id)
    element, user = await crm.elements.set_responsible(actor, ref, callback_data.user)
    await query.answer()
    await pressed(query).answer(
        _("{code}: the responsible is now {name}.").format(
            code=ref.code, name=html.quote(user.name)
        )
    )
    if user.id != actor.user_id:
        title = html.quote(label_of(element)[:100])

        def render() -> tuple[str, InlineKeyboardMarkup | None]:
            text = _("You are now responsible for the {what} {code} {title}.").format(
                what=entity_name(ref.entity), code=code_link(ref), title=title
            )
            return text, None

        await notify_user(sender, i18n, crm, user, render)


def setup() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(assign_pressed, ElCb.filter(F.action == "assign"))
    router.callback_query.register(assignee_chosen, AssignCb.filter())
    return router
