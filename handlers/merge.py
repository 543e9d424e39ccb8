"""`/merge C3 C7`: the two side by side, a value to keep per field, Merge; `/merge_undo`; and
"Merge into C3" on a duplicate warning (what was typed goes to the existing element)."""

from __future__ import annotations

import re

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ElCb, MergeCb, MergeUndoCb
from bot.cards import render_card
from bot.merge import (
    absorbed_report,
    field_names,
    merge_report,
    render_compare,
    undo_report,
    with_undo,
)
from bot.pressed import Replier, pressed
from crm.codes import ElementRef, parse_code
from crm.context import Crm
from crm.elements import ElementInput
from crm.parsing import parse_line, region_for_locale
from crm.permissions import Actor
from handlers.elements import ref_from
from storage.models import User

_SEPARATORS = re.compile(r"[\s,;]+")


def read_codes(text: str) -> tuple[ElementRef, ElementRef] | None:
    """`C3 C7`, `/C3 /C7`, `c3, c7`, `С3 С7` (Cyrillic): two codes, the survivor first."""
    parts = [p for p in _SEPARATORS.split(text.strip()) if p]
    if len(parts) != 2:
        return None
    first, second = parse_code(parts[0]), parse_code(parts[1])
    if first is None or second is None:
        return None
    return first, second


async def merge_command(message: Message, command: CommandObject, crm: Crm, actor: Actor) -> None:
    codes = read_codes(command.args or "")
    if codes is None:
        await message.answer(
            _(
                "Send the two codes, the one that stays first: <code>/merge C3 C7</code> "
                "merges C7 into C3."
            )
        )
        return
    plan = await crm.merge.compare(actor, *codes)
    text, markup = render_compare(plan, plan.default_picks())
    await message.answer(text, reply_markup=markup)


async def merge_pressed(
    query: CallbackQuery, callback_data: MergeCb, crm: Crm, actor: Actor, crm_user: User
) -> None:
    survivor = ref_from(callback_data.kind, callback_data.a)
    merged = ref_from(callback_data.kind, callback_data.b)
    chat = pressed(query)
    if callback_data.action == "no":
        await query.answer()
        await chat.edit(_("Merge cancelled. Nothing was changed."))
        return
    plan = await crm.merge.compare(actor, survivor, merged)  # the rights, checked again
    if callback_data.action in ("pick", "swap"):
        picks = callback_data.picks if callback_data.action == "pick" else plan.default_picks()
        text, markup = render_compare(plan, picks)
        await query.answer()
        await chat.edit(text, reply_markup=markup)
        return
    outcome = await crm.merge.merge(actor, survivor, merged, plan.sides(callback_data.picks))
    await query.answer()
    await chat.edit_markup(None)
    timezone = crm.users.timezone_of(crm_user)
    card = await crm.elements.card(actor, outcome.survivor)
    text, markup = render_card(card, timezone)
    if outcome.undo_until is not None:
        markup = with_undo(markup, outcome.merge_id)
    await chat.answer(merge_report(outcome, timezone) + "\n\n" + text, reply_markup=markup)


async def undo_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor, crm_user: User
) -> None:
    await undo(message, crm, actor, crm_user, None)


async def undo_pressed(
    query: CallbackQuery, callback_data: MergeUndoCb, crm: Crm, actor: Actor, crm_user: User
) -> None:
    await undo(pressed(query), crm, actor, crm_user, callback_data.id)
    await query.answer()


async def undo(message: Replier, crm: Crm, actor: Actor, user: User, merge_id: int | None) -> None:
    outcome = await crm.merge.undo(actor, merge_id)
    card = await crm.elements.card(actor, outcome.restored)
    text, markup = render_card(card, crm.users.timezone_of(user))
    report = undo_report(outcome, {**field_names(outcome.kept_fields), **outcome.kept_names})
    await message.answer(report + "\n\n" + text, reply_markup=markup)


async def absorb_pressed(
    query: CallbackQuery,
    callback_data: ElCb,
    state: FSMContext,
    crm: Crm,
    actor: Actor,
    crm_user: User,
) -> None:
    """ "Merge into C3" on a duplicate warning: the pending line's phones, e-mails and
    comment go to C3 — nothing new is created, so there is nothing to merge later."""
    pending = (await state.get_data()).get("pending")
    if not pending:
        await query.answer(_("This request has expired. Send the command again."), show_alert=True)
        return
    target = ref_from(callback_data.kind, callback_data.id)
    region = region_for_locale(crm.users.locale_of(crm_user))
    parsed = parse_line(
        str(pending["text"]), region=region, default_currency=crm.runtime.config.base_currency
    )
    done = await crm.merge.absorb(actor, target, ElementInput.from_parsed(parsed))
    await state.update_data(pending=None)
    await query.answer()
    chat = pressed(query)
    await chat.edit_markup(None)
    card = await crm.elements.card(actor, done.ref)
    text, markup = render_card(card, crm.users.timezone_of(crm_user))
    await chat.answer(absorbed_report(done) + "\n\n" + text, reply_markup=markup)


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(merge_command, Command("merge", ignore_case=True))
    router.message.register(undo_command, Command("merge_undo", ignore_case=True))
    router.callback_query.register(merge_pressed, MergeCb.filter())
    router.callback_query.register(undo_pressed, MergeUndoCb.filter())
    router.callback_query.register(absorb_pressed, ElCb.filter(F.action == "absorb"))
    return router
