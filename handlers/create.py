"""`/lead`, `/deal`, `/contact`, `/company`: one line, or a short dialog; duplicate warning."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import DupCb, ElCb
from bot.cards import render_card, render_duplicates
from bot.labels import entity_name
from bot.pressed import Replier, pressed
from crm.codes import ElementRef, parse_code
from crm.context import Crm
from crm.elements import Creation, ElementInput
from crm.enums import EntityType
from crm.modes import CrmMode
from crm.parsing import parse_line, region_for_locale
from crm.permissions import Actor
from handlers.elements import ref_from
from storage.models import User

COMMANDS = {
    "lead": EntityType.LEAD,
    "deal": EntityType.DEAL,
    "contact": EntityType.CONTACT,
    "company": EntityType.COMPANY,
}


CLIENTS = (EntityType.CONTACT, EntityType.COMPANY)  # `/deal C1 …`, `/deal CO2 …`


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
    text = message.text or ""
    if data.get("client"):  # "New deal" on a client's card: the line is for that client
        text = f"{data['client']} {text}"
        await state.update_data(client=None)
    await create(message, state, crm, actor, crm_user, EntityType(data["entity"]), text)


async def use_client_pressed(
    query: CallbackQuery,
    callback_data: ElCb,
    state: FSMContext,
    crm: Crm,
    actor: Actor,
    crm_user: User,
) -> None:
    """ "Use this contact" on a duplicate warning: the pending line becomes that client's deal."""
    pending = (await state.get_data()).get("pending")
    if not pending:
        await query.answer(_("This request has expired. Send the command again."), show_alert=True)
        return
    ref = ref_from(callback_data.kind, callback_data.id)
    await state.update_data(pending=None)
    text = f"{ref.code} {pending['text']}"
    await create(pressed(query), state, crm, actor, crm_user, EntityType.DEAL, text, force=True)
    await query.answer()


async def new_deal_pressed(
    query: CallbackQuery, callback_data: ElCb, state: FSMContext, crm: Crm, actor: Actor
) -> None:
    """ "New deal" on a contact's or company's card: the next line is that client's deal."""
    ref = ref_from(callback_data.kind, callback_data.id)
    await crm.elements.load(actor, ref)  # refuse before asking
    await state.set_state(CreateForm.details)
    await state.update_data(entity=EntityType.DEAL.value, client=ref.code)
    await query.answer()
    await pressed(query).answer(prompt(EntityType.DEAL))


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
    client: ElementRef | None = None
    if entity is EntityType.DEAL:
        # `/deal C1 Drugie zamówienie 3000 zł`: the deal of an existing client.
        first, _sep, rest = text.strip().partition(" ")
        client = parse_code(first)
        if client is not None and client.entity in CLIENTS:
            text = rest
        else:
            client = None
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
    if entity is EntityType.DEAL and client is None:
        client = await crm.elements.client_by_communication(actor, data)  # `/deal +48 600…`
    if client is not None:
        creation = await crm.elements.create_deal_for(actor, client, data)
        await send_created(message, crm, actor, user, entity, creation)
        return
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
            deal = entity is EntityType.DEAL or (
                entity is EntityType.LEAD and mode is CrmMode.SIMPLE
            )
            # A lead, contact or company typed again: its details may go to the one found.
            merge_into = entity if entity is checked and entity is not EntityType.DEAL else None
            warning, markup = render_duplicates(hits, offer_use=deal, merge_into=merge_into)
            await message.answer(warning, reply_markup=markup)
            return
    if entity is EntityType.LEAD:
        creation = await crm.elements.intake(actor, data)
    else:
        creation = await crm.elements.create(actor, entity, data)
    await send_created(message, crm, actor, user, entity, creation)


async def send_created(
    message: Replier, crm: Crm, actor: Actor, user: User, entity: EntityType, creation: Creation
) -> None:
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
    router.callback_query.register(new_deal_pressed, ElCb.filter(F.action == "newdeal"))
    router.callback_query.register(use_client_pressed, ElCb.filter(F.action == "use"))
    return router
