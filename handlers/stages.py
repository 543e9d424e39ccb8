"""`/stage CODE`: the pipeline's stages as buttons; a failure stage asks for the reason."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ElCb, StageCb
from bot.cards import render_card
from bot.labels import stage_name
from bot.pressed import Replier, pressed
from crm.codes import PREFIXES, ElementRef
from crm.context import Crm
from crm.enums import EntityType
from crm.errors import StageMismatch
from crm.permissions import Actor
from crm.stages import FAILURE
from handlers.elements import ref_from, require_code
from storage.models import Deal, User


class StageForm(StatesGroup):
    reason = State()


async def stage_buttons(
    crm: Crm, actor: Actor, ref: ElementRef
) -> tuple[str, InlineKeyboardMarkup]:
    element, stages = await crm.stages.targets(actor, ref)
    current = element.stage_id if isinstance(element, Deal) else element.status_id
    kb = InlineKeyboardBuilder()
    for stage in stages:
        if stage.semantic == "success" and not isinstance(element, Deal):
            continue  # a lead succeeds by conversion, from its card
        mark = (
            "• "
            if stage.id == current
            else (
                "✅ "
                if stage.semantic == "success"
                else "❌ "
                if stage.semantic == FAILURE
                else ""
            )
        )
        kb.button(
            text=mark + stage_name(stage),
            callback_data=StageCb(kind=PREFIXES[ref.entity], id=ref.id, stage=stage.id),
        )
    kb.adjust(2)
    if isinstance(element, Deal):
        return _("{code}: choose the new stage").format(code=ref.code), kb.as_markup()
    return _("{code}: choose the new status").format(code=ref.code), kb.as_markup()


async def stage_command(message: Message, command: CommandObject, crm: Crm, actor: Actor) -> None:
    if not (command.args or "").strip():
        await message.answer(_("Which deal? For example: /stage D7"))
        return
    text, markup = await stage_buttons(crm, actor, require_code(command.args))
    await message.answer(text, reply_markup=markup)


async def stage_pressed(query: CallbackQuery, callback_data: ElCb, crm: Crm, actor: Actor) -> None:
    text, markup = await stage_buttons(crm, actor, ref_from(callback_data.kind, callback_data.id))
    await query.answer()
    await pressed(query).answer(text, reply_markup=markup)


async def stage_chosen(
    query: CallbackQuery,
    callback_data: StageCb,
    state: FSMContext,
    crm: Crm,
    actor: Actor,
    crm_user: User,
) -> None:
    ref = ref_from(callback_data.kind, callback_data.id)
    _element, stages = await crm.stages.targets(actor, ref)
    stage = next((s for s in stages if s.id == callback_data.stage), None)
    if stage is None:
        raise StageMismatch()
    if stage.semantic == FAILURE:
        await state.set_state(StageForm.reason)
        await state.update_data(stage_ref=ref.code, stage_id=stage.id)
        await query.answer()
        question = (
            _("Why was it lost? Send the reason. /cancel to stop.")
            if ref.entity is EntityType.DEAL
            else _("Why is this lead junk? Send the reason. /cancel to stop.")
        )
        await pressed(query).answer(question)
        return
    await crm.stages.move(actor, ref, stage.id)
    await query.answer()
    await send_moved(pressed(query), crm, actor, crm_user, ref)


async def reason_typed(
    message: Message, state: FSMContext, crm: Crm, actor: Actor, crm_user: User
) -> None:
    data = await state.get_data()
    await state.set_state(None)
    ref = require_code(data.get("stage_ref"))
    await crm.stages.move(actor, ref, int(data.get("stage_id", 0)), reason=message.text)
    await send_moved(message, crm, actor, crm_user, ref)


async def send_moved(
    message: Replier, crm: Crm, actor: Actor, user: User, ref: ElementRef
) -> None:
    card = await crm.elements.card(actor, ref)
    text, markup = render_card(card, crm.users.timezone_of(user))
    await message.answer(text, reply_markup=markup)


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(stage_command, Command("stage"))
    router.callback_query.register(stage_pressed, ElCb.filter(F.action == "stage"))
    router.callback_query.register(stage_chosen, StageCb.filter())
    router.message.register(reason_typed, StageForm.reason, F.text, ~F.text.startswith("/"))
    return router
