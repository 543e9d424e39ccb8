"""`/mode simple|classic` (admins) and converting a lead from its card."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ConvCb, ModeCb
from bot.cards import code_link, render_card
from bot.labels import pipeline_name
from bot.replies import describe_fields_required
from crm.codes import ElementRef
from crm.context import Crm
from crm.conversion import ConversionOptions
from crm.enums import EntityType, Operation, Right
from crm.errors import FieldsRequired, InvalidValue
from crm.modes import CrmMode
from crm.permissions import Actor
from storage.models import User

CONTACT, COMPANY, DEAL, KEEP = 1, 2, 4, 8


def mode_name(mode: CrmMode) -> str:
    return _("Simple") if mode is CrmMode.SIMPLE else _("Classic")


def tick(on: bool, label: str) -> str:
    return ("☑ " if on else "☐ ") + label


async def mode_command(message: Message, command: CommandObject, crm: Crm, actor: Actor) -> None:
    current = await crm.elements.mode()
    wanted = (command.args or "").strip().lower()
    if not wanted:
        await message.answer(
            _("CRM mode: {mode}. Change it with /mode simple or /mode classic.").format(
                mode=mode_name(current)
            )
        )
        return
    try:
        mode = CrmMode(wanted)
    except ValueError:
        raise InvalidValue("mode", wanted) from None
    crm.runtime.policy.require_right(actor, Right.SETTINGS)
    if mode is current:
        await message.answer(_("The CRM is already in {mode} mode.").format(mode=mode_name(mode)))
        return
    leads = await crm.conversion.open_lead_count() if mode is CrmMode.SIMPLE else 0
    if leads:
        pipeline = (await crm.stages.pipelines())[0]
        text, markup = await mode_options(crm, leads, CONTACT | KEEP, pipeline.id)
        await message.answer(text, reply_markup=markup)
        return
    await crm.conversion.set_mode(actor, mode)
    await message.answer(_("CRM mode is now {mode}.").format(mode=mode_name(mode)))


async def mode_options(
    crm: Crm, leads: int, flags: int, pipeline_id: int
) -> tuple[str, InlineKeyboardMarkup]:
    pipelines = list(await crm.stages.pipelines())
    pipeline = next((p for p in pipelines if p.id == pipeline_id), pipelines[0])
    following = pipelines[(pipelines.index(pipeline) + 1) % len(pipelines)]
    text = _(
        "Switching to Simple mode converts {n} active lead into a deal.",
        "Switching to Simple mode converts {n} active leads into deals.",
        leads,
    ).format(n=leads)
    kb = InlineKeyboardBuilder()
    kb.button(
        text=tick(bool(flags & CONTACT), _("Create contact")),
        callback_data=ModeCb(flags=flags ^ CONTACT, pipeline=pipeline.id),
    )
    kb.button(
        text=tick(bool(flags & COMPANY), _("Create company")),
        callback_data=ModeCb(flags=flags ^ COMPANY, pipeline=pipeline.id),
    )
    kb.button(
        text=_("Pipeline: {name}").format(name=pipeline_name(pipeline)),
        callback_data=ModeCb(flags=flags, pipeline=following.id),
    )
    kb.button(
        text=tick(bool(flags & KEEP), _("Keep open activities open")),
        callback_data=ModeCb(flags=flags ^ KEEP, pipeline=pipeline.id),
    )
    kb.button(
        text=_("Convert and switch"),
        callback_data=ModeCb(flags=flags, pipeline=pipeline.id, go=True),
    )
    kb.adjust(1)
    return text, kb.as_markup()


async def mode_pressed(
    query: CallbackQuery, callback_data: ModeCb, crm: Crm, actor: Actor
) -> None:
    crm.runtime.policy.require_right(actor, Right.SETTINGS)
    if query.message is None:
        return
    flags = callback_data.flags & (CONTACT | COMPANY | KEEP)
    if not callback_data.go:
        leads = await crm.conversion.open_lead_count()
        text, markup = await mode_options(crm, leads, flags, callback_data.pipeline)
        await query.answer()
        await query.message.edit_text(text, reply_markup=markup)  # type: ignore[union-attr]  # may be InaccessibleMessage (issue 11 §4)
        return
    options = ConversionOptions(
        contact=bool(flags & CONTACT),
        company=bool(flags & COMPANY),
        deal=True,
        pipeline_id=callback_data.pipeline,
        keep_activities_open=bool(flags & KEEP),
    )
    conversions = await crm.conversion.set_mode(actor, CrmMode.SIMPLE, options)
    await query.answer()
    await query.message.edit_text(  # type: ignore[union-attr]  # may be InaccessibleMessage (issue 11 §4)
        _(
            "CRM mode is now Simple. {n} lead was converted.",
            "CRM mode is now Simple. {n} leads were converted.",
            len(conversions),
        ).format(n=len(conversions))
    )


async def convert_pressed(
    query: CallbackQuery, callback_data: ConvCb, crm: Crm, actor: Actor, crm_user: User
) -> None:
    if query.message is None:
        return
    # Refuse before offering options for a lead the actor may not convert.
    await crm.elements.load(
        actor, ElementRef(EntityType.LEAD, callback_data.lead), Operation.UPDATE
    )
    flags = callback_data.flags & (CONTACT | COMPANY | DEAL)
    if not callback_data.go:
        kb = InlineKeyboardBuilder()
        for bit, label in ((CONTACT, _("Contact")), (COMPANY, _("Company")), (DEAL, _("Deal"))):
            kb.button(
                text=tick(bool(flags & bit), label),
                callback_data=ConvCb(lead=callback_data.lead, flags=flags ^ bit),
            )
        if flags:
            kb.button(
                text=_("Convert"),
                callback_data=ConvCb(lead=callback_data.lead, flags=flags, go=True),
            )
        kb.adjust(3, 1)
        await query.answer()
        await query.message.answer(
            _("Convert lead L{id} into:").format(id=callback_data.lead),
            reply_markup=kb.as_markup(),
        )
        return
    options = ConversionOptions(
        contact=bool(flags & CONTACT), company=bool(flags & COMPANY), deal=bool(flags & DEAL)
    )
    try:
        result = await crm.conversion.convert(actor, callback_data.lead, options)
    except FieldsRequired as exc:  # in the chat: an alert is too short for a list of fields
        await query.answer()
        await query.message.answer(describe_fields_required(exc))
        return
    await query.answer()
    codes = " ".join(code_link(r) for r in result.created)
    await query.message.answer(
        _("Lead {code} converted: {codes}").format(code=result.lead.code, codes=codes)
    )
    card = await crm.elements.card(actor, result.created[-1])
    text, markup = render_card(card, crm.users.timezone_of(crm_user))
    await query.message.answer(text, reply_markup=markup)


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(mode_command, Command("mode"))
    router.callback_query.register(mode_pressed, ModeCb.filter())
    router.callback_query.register(convert_pressed, ConvCb.filter())
    return router
