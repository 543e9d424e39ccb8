"""`/stage CODE`: the pipeline's stages as buttons; a failure stage asks for the reason.

A stage that needs fields filled first (crm.errors.FieldsRequired) asks for them here, one by
one (a list's options and yes/no as buttons), and moves once they are given: each answer is
saved, then the move is tried again on the server, which asks for what is still missing (or
refuses, if rights changed meanwhile). /cancel keeps the values given and the stage as it was.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ElCb, RequiredCb, StageCb
from bot.cards import render_card
from bot.fields import ask_required, field_refusal, required_option
from bot.labels import stage_name
from bot.middlewares.dialogs import answered_by
from bot.pressed import Replier, pressed
from bot.replies import describe_error
from crm.codes import PREFIXES, ElementRef
from crm.context import Crm
from crm.enums import EntityType
from crm.errors import CrmError, FieldsRequired, InvalidValue, StageMismatch
from crm.permissions import Actor
from crm.stages import FAILURE
from handlers.cancel import cancelled_with
from handlers.elements import ref_from, require_code
from handlers.fields import set_field
from storage.models import Deal, User


class StageForm(StatesGroup):
    reason = State()
    fields = State()  # data: stage_ref, stage_id, stage_reason, stage_field (the one asked)


answered_by(StageForm.fields, RequiredCb)  # its buttons answer it; any other press ends it
cancelled_with(
    StageForm.fields,
    lambda data: _("Stopped: {code} stays at its stage; the values you gave are saved.").format(
        code=data.get("stage_ref", "")
    ),
)


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
    try:
        await crm.stages.move(actor, ref, stage.id)
    except FieldsRequired as exc:
        await query.answer()
        await ask_missing(pressed(query), state, ref, stage.id, None, exc)
        return
    await query.answer()
    await send_moved(pressed(query), crm, actor, crm_user, ref)


async def reason_typed(
    message: Message, state: FSMContext, crm: Crm, actor: Actor, crm_user: User
) -> None:
    data = await state.get_data()
    await state.set_state(None)
    ref = require_code(data.get("stage_ref"))
    stage_id = int(data.get("stage_id", 0))
    await move_or_ask(message, state, crm, actor, crm_user, ref, stage_id, message.text)


async def move_or_ask(
    target: Replier,
    state: FSMContext,
    crm: Crm,
    actor: Actor,
    user: User,
    ref: ElementRef,
    stage_id: int,
    reason: str | None = None,
) -> None:
    """Move, and show the card; or, when fields are required at the stage, ask for the first
    one missing (the dialog remembers the move, the reason included)."""
    try:
        await crm.stages.move(actor, ref, stage_id, reason=reason)
    except FieldsRequired as exc:
        await ask_missing(target, state, ref, stage_id, reason, exc)
        return
    await state.set_state(None)
    await send_moved(target, crm, actor, user, ref)


async def ask_missing(
    target: Replier,
    state: FSMContext,
    ref: ElementRef,
    stage_id: int,
    reason: str | None,
    exc: FieldsRequired,
) -> None:
    """Ask for the first field the move is missing; the dialog remembers the move."""
    stage = exc.stage
    if not exc.fields or stage is None:
        raise exc  # nothing to ask by: said in words (bot.replies)
    info = exc.fields[0]
    await state.set_state(StageForm.fields)
    await state.update_data(
        stage_ref=ref.code, stage_id=stage_id, stage_reason=reason, stage_field=info.id
    )
    text, markup = ask_required(info, ref.code, stage)
    await target.answer(text, reply_markup=markup)


async def required_typed(
    message: Message, state: FSMContext, crm: Crm, actor: Actor, crm_user: User
) -> None:
    await required_given(message, state, crm, actor, crm_user, None, message.text or "")


async def required_chosen(
    query: CallbackQuery,
    callback_data: RequiredCb,
    state: FSMContext,
    crm: Crm,
    actor: Actor,
    crm_user: User,
) -> None:
    data = await state.get_data()
    if await state.get_state() != StageForm.fields.state or callback_data.field != data.get(
        "stage_field"
    ):
        raise StageMismatch()  # a button of an earlier question: the current one stays asked
    await query.answer()
    await required_given(pressed(query), state, crm, actor, crm_user, callback_data, None)


async def required_given(
    target: Replier,
    state: FSMContext,
    crm: Crm,
    actor: Actor,
    user: User,
    button: RequiredCb | None,
    text: str | None,
) -> None:
    """A required field's value, typed or pressed: saved (a bad one is refused with what
    the field expects, and asked again), then the move is tried again."""
    data = await state.get_data()
    if await state.get_state() != StageForm.fields.state:
        raise StageMismatch()  # a button of a dialog that has ended
    ref = require_code(data.get("stage_ref"))
    try:
        info = await crm.fields.field(actor, int(data.get("stage_field", 0)))
    except CrmError:
        await state.set_state(None)  # hidden from them meanwhile: the dialog ends
        raise
    if button is not None:
        if button.field != info.id or (text := required_option(info, button.option)) is None:
            raise StageMismatch()  # a button of an earlier question: this one stays asked
    try:
        await set_field(crm, actor, user, ref, info, text or "")
    except InvalidValue as exc:
        stage = (await crm.fields.catalog()).stage(int(data.get("stage_id", 0)))
        if stage is None:
            await state.set_state(None)
            raise
        refusal = field_refusal(exc, info) or describe_error(exc)  # a system field's own words
        question, markup = ask_required(info, ref.code, stage)
        await target.answer(refusal + "\n\n" + question, reply_markup=markup)
        return  # the dialog stays: send again
    except CrmError:
        await state.set_state(None)  # rights gone, the element gone: the dialog ends
        raise
    reason = data.get("stage_reason")
    stage_id = int(data.get("stage_id", 0))
    try:
        await move_or_ask(target, state, crm, actor, user, ref, stage_id, reason)
    except CrmError:
        await state.set_state(None)
        raise


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
    router.message.register(required_typed, StageForm.fields, F.text, ~F.text.startswith("/"))
    router.callback_query.register(required_chosen, RequiredCb.filter())
    return router
