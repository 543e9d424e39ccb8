"""`/lead`, `/deal`, `/contact`, `/company`: one line, or a short dialog; duplicate warning."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import DupCb
from bot.cards import render_card, render_duplicates
from bot.labels import entity_name
from bot.pressed import Replier, pressed
from crm.context import Crm
from crm.elements import ElementInput
from crm.enums import EntityType
from crm.modes import CrmMode
from crm.parsing import parse_line, region_for_locale
from crm.permissions import Actor
from storage.models import User

COMMANDS = {
    "lead": EntityType.LEAD,
    "deal": EntityType.DEAL,
    "contact": EntityType.CONTACT,
    "company": EntityType.COMPANY,
}


class CreateForm(StatesGroup):
    details = State()


async def create_command(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    crm: Crm,
    actor: Actor,
    crm_user: User,
) -> None:
    entity = COMMANDS[command.command.lower()]
    if not (command.args or "").strip():
        await state.set_state(CreateForm.details)
        await state.update_data(entity=entity.value)
        await message.answer(prompt(entity))
        return
    await create(message, state, crm, actor, crm_user, entity, command.args or "")


async def details_typed(
    message: Message, state: FSMContext, crm: Crm, actor: Actor, crm_user: User
) -> None:
    data = await state.get_data()
    await state.set_state(None)
    await create(
        message, state, crm, actor, crm_user, EntityType(data["entity"]), message.text or ""
    )


async def create_anyway(
    query: CallbackQuery, state: FSMContext, crm: Crm, actor: Actor, crm_user: User
) -> None:
    pending = (await state.get_data()).get("pending")
    if not pending:
        await query.answer(_("This request has expired. Send the command again."), show_alert=True)
        return
    await state.update_data(pending=None)
    entity = EntityType(pending["entity"])
    await create(pressed(query), state, crm, actor, crm_user, entity, pending["text"], force=True)
    await query.answer()


async def create(
    message: Replier,
    state: FSMContext,
    crm: Crm,
    actor: Actor,
    user: User,
    entity: EntityType,
    text: str,
    *,
    force: bool = False,
) -> None:
    region = region_for_locale(crm.users.locale_of(user))
    parsed = parse_line(text, region=region, default_currency=crm.runtime.config.base_currency)
    if parsed.money is not None and parsed.money.amount < 0:
        # Refused, never made positive; the next line is read as this element again.
        await state.set_state(CreateForm.details)
        await state.update_data(entity=entity.value)
        await message.answer(
            _(
                "An amount cannot be negative. Send the line again with the amount as a "
                "positive number, for example <code>5000 zł</code>; /cancel to stop."
            )
        )
        return
    data = ElementInput.from_parsed(parsed)
    if data.is_empty():
        await message.answer(prompt(entity))
        return
    mode = await crm.elements.mode()
    checked = (
        EntityType.CONTACT if entity is EntityType.LEAD and mode is CrmMode.SIMPLE else entity
    )
    if not force:
        hits = await crm.elements.find_duplicates(actor, checked, data)
        if hits:
            await state.update_data(pending={"entity": entity.value, "text": text[:4096]})
            warning, markup = render_duplicates(hits)
            await message.answer(warning, reply_markup=markup)
            return
    if entity is EntityType.LEAD:
        creation = await crm.elements.intake(actor, data)
    else:
        creation = await crm.elements.create(actor, entity, data)
    card = await crm.elements.card(actor, creation.primary)
    text_, markup = render_card(card, crm.users.timezone_of(user))
    extra = [r.code for r in creation.created if r != creation.primary]
    head = _("Created: {what} {code}").format(
        what=entity_name(creation.primary.entity), code=creation.primary.code
    )
    if extra:
        head += " " + _("(also {codes})").format(codes=", ".join("/" + c for c in extra))
    await message.answer(head + "\n\n" + text_, reply_markup=markup)


def prompt(entity: EntityType) -> str:
    examples = {
        EntityType.LEAD: "Jan Kowalski +48 600 100 200 jan@firma.pl 5000 zł strona www",
        EntityType.DEAL: "Wdrożenie CRM 12 000 zł Jan Kowalski +48 600 100 200",
        EntityType.CONTACT: "Anna Nowak +48 601 200 300 anna@firma.pl",
        EntityType.COMPANY: "ACME Sp. z o.o. +48 22 100 20 30 biuro@acme.pl",
    }
    return _(
        "Send the {what} in one line: name, phone, e-mail, amount with currency; the rest becomes "
        "the title. For example:\n<code>{example}</code>\n/cancel to stop."
    ).format(what=entity_name(entity), example=examples[entity])


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(create_command, Command(*COMMANDS, ignore_case=True))
    router.message.register(details_typed, CreateForm.details, F.text, ~F.text.startswith("/"))
    router.callback_query.register(create_anyway, DupCb.filter(F.action == "go"))
    return router
