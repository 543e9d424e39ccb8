"""Cards: `/show CODE`, tapping a code like /D7, history pages, notes."""

from __future__ import annotations

import re

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ElCb
from bot.cards import render_card, timeline_page
from bot.pressed import Replier, pressed
from crm.codes import ElementRef, parse_code
from crm.context import Crm
from crm.errors import NotFound
from crm.permissions import Actor
from storage.models import User

CODE_COMMAND = re.compile(r"^/(co|c|l|d|со|с|л|д)\d{1,12}(@\w+)?$", re.IGNORECASE)


class NoteForm(StatesGroup):
    text = State()


def ref_from(kind: str, element_id: int) -> ElementRef:
    ref = parse_code(f"{kind}{element_id}")
    if ref is None:
        raise NotFound("element", f"{kind}{element_id}")
    return ref


def require_code(text: str | None) -> ElementRef:
    ref = parse_code((text or "").split(maxsplit=1)[0] if text else "")
    if ref is None:
        raise NotFound("element", (text or "")[:20])
    return ref


async def send_card(message: Replier, crm: Crm, actor: Actor, user: User, ref: ElementRef) -> None:
    """Answer with the element's card (refused by the domain if the actor may not read it)."""
    card = await crm.elements.card(actor, ref)
    text, markup = render_card(card, crm.users.timezone_of(user))
    await message.answer(text, reply_markup=markup)


async def show_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor, crm_user: User
) -> None:
    if not (command.args or "").strip():
        await message.answer(_("Which one? For example: /show D7"))
        return
    await send_card(message, crm, actor, crm_user, require_code(command.args))


async def code_tapped(message: Message, crm: Crm, actor: Actor, crm_user: User) -> None:
    await send_card(message, crm, actor, crm_user, require_code(message.text))


async def show_pressed(
    query: CallbackQuery, callback_data: ElCb, crm: Crm, actor: Actor, crm_user: User
) -> None:
    card = await crm.elements.card(actor, ref_from(callback_data.kind, callback_data.id))
    text, markup = render_card(card, crm.users.timezone_of(crm_user))
    await query.answer()
    await pressed(query).answer(text, reply_markup=markup)


async def history_pressed(
    query: CallbackQuery, callback_data: ElCb, crm: Crm, actor: Actor, crm_user: User
) -> None:
    ref = ref_from(callback_data.kind, callback_data.id)
    page = max(0, min(callback_data.page, 10_000))
    card = await crm.elements.card(actor, ref, page=page)
    text, markup = timeline_page(card, page, crm.users.timezone_of(crm_user))
    await query.answer()
    await pressed(query).edit(text, reply_markup=markup)


async def note_command(message: Message, command: CommandObject, crm: Crm, actor: Actor) -> None:
    parts = (command.args or "").strip().split(maxsplit=1)
    if len(parts) < 2:
        await message.answer(
            _("Write it like this: /note D7 Called, will send the offer tomorrow")
        )
        return
    ref = require_code(parts[0])
    await crm.elements.add_note(actor, ref, parts[1])
    await message.answer(_("Note added to {code}.").format(code=ref.code))


async def note_pressed(
    query: CallbackQuery, callback_data: ElCb, state: FSMContext, crm: Crm, actor: Actor
) -> None:
    ref = ref_from(callback_data.kind, callback_data.id)
    await crm.elements.load(actor, ref)  # refuse before asking for text
    await state.set_state(NoteForm.text)
    await state.update_data(note_ref=ref.code)
    await query.answer()
    await pressed(query).answer(
        _("Send the note for {code}. /cancel to stop.").format(code=ref.code)
    )


async def note_typed(message: Message, state: FSMContext, crm: Crm, actor: Actor) -> None:
    ref = require_code((await state.get_data()).get("note_ref"))
    await state.set_state(None)
    await crm.elements.add_note(actor, ref, message.text or "")
    await message.answer(_("Note added to {code}.").format(code=ref.code))


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(show_command, Command("show"))
    router.message.register(note_command, Command("note"))
    router.message.register(code_tapped, F.text.regexp(CODE_COMMAND))
    router.message.register(note_typed, NoteForm.text, F.text, ~F.text.startswith("/"))
    router.callback_query.register(show_pressed, ElCb.filter(F.action == "show"))
    router.callback_query.register(history_pressed, ElCb.filter(F.action == "tl"))
    router.callback_query.register(note_pressed, ElCb.filter(F.action == "note"))
    return router
