"""Fields: `/fields deal`, `/field_add deal date Termin dostawy`, `/set D7 Termin dostawy 15.01`,
`/field_visible Marża dla Sprzedaż, Anna Nowak` (or `… dla wszyscy`), `/field_require Termin
dostawy na Negocjacje, Faktura` (or `… na wszystkie` / `… na żadne`), and a field's menu
(who sees it, required at which stages, rename, hide, delete with the count of values).
Rules are crm.fields'."""

from __future__ import annotations

from aiogram import F, Router, html
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import FieldCb, FieldStageCb
from bot.cards import render_card
from bot.fields import (
    field_refusal,
    field_require_usage,
    field_visible_usage,
    render_delete_question,
    render_field_menu,
    render_fields,
    render_required_menu,
    requirement_saved,
    stages_of,
    visibility_saved,
)
from bot.labels import entity_name, field_label, kind_name, stage_name
from bot.layouts import render_section_choice
from bot.pressed import Replier, pressed
from crm.codes import ElementRef, entity_named
from crm.context import Crm
from crm.editing import CHOICES, Field
from crm.enums import EntityType, Right
from crm.errors import AmbiguousName, CrmError, InvalidValue, UnknownName
from crm.field_book import KIND_WORDS, FieldInfo, Reading, ViewScope
from crm.parsing import region_for_locale
from crm.permissions import Actor
from handlers.elements import require_code
from storage.models import User


class FieldForm(StatesGroup):
    rename = State()


def reading_for(crm: Crm, user: User) -> Reading:
    """How this person's typed values are read: their language, zone, the base currency."""
    return Reading(
        locale=crm.users.locale_of(user),
        timezone=crm.users.timezone_of(user),
        currency=crm.runtime.config.base_currency,
        now=crm.runtime.clock.now(),
    )


async def refuse(message: Message, exc: CrmError, info: FieldInfo | None = None) -> None:
    """Say why a field change was refused (nothing was saved); an error that is not a field's
    goes on to the error middleware."""
    text = field_refusal(exc, info)
    if text is None:
        raise exc
    await message.answer(text)


async def set_field(
    crm: Crm, actor: Actor, user: User, ref: ElementRef, info: FieldInfo, text: str
) -> None:
    """Give a field a typed value: a custom one through crm.fields, a system one through the
    card's editing (crm.editing) where it has an editor."""
    if info.is_system:
        if info.code not in {f.value for f in Field} or Field(info.code) in CHOICES:
            raise InvalidValue("system_field", info.code)  # its own card button sets it
        region = region_for_locale(crm.users.locale_of(user))
        await crm.edits.edit(actor, ref, Field(info.code), text, region=region)
        return
    await crm.fields.set_value(actor, ref, info.id, text, reading_for(crm, user))


async def send_saved(
    message: Replier, crm: Crm, actor: Actor, user: User, ref: ElementRef
) -> None:
    card = await crm.elements.card(actor, ref)
    text, markup = render_card(card, crm.users.timezone_of(user))
    await message.answer(_("✏️ Saved.") + "\n\n" + text, reply_markup=markup)


async def fields_command(message: Message, command: CommandObject, crm: Crm, actor: Actor) -> None:
    entity = entity_named((command.args or "").strip())
    if entity is None:
        await message.answer(
            _("Which fields? /fields deal, /fields lead, /fields contact or /fields company")
        )
        return
    text, markup = await fields_screen(crm, actor, entity)
    await message.answer(text, reply_markup=markup)


async def fields_screen(
    crm: Crm, actor: Actor, entity: EntityType
) -> tuple[str, InlineKeyboardMarkup | None]:
    fields = await crm.fields.fields(actor, entity)
    catalog = await crm.fields.catalog()
    configure = crm.runtime.policy.has_right(actor, Right.SETTINGS)
    text, markup = render_fields(entity, fields, catalog, can_configure=configure)
    return text, markup


async def field_add_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor
) -> None:
    crm.runtime.policy.require_right(actor, Right.SETTINGS)  # refused before the line is read
    words = (command.args or "").split()
    entity = entity_named(words[0]) if words else None
    kind = KIND_WORDS.get(words[1].casefold()) if len(words) > 1 else None
    if entity is None or kind is None or len(words) < 3:
        await message.answer(field_add_usage())
        return
    name, _sep, options = " ".join(words[2:]).partition(":")
    choices = [o for o in options.replace(";", ",").split(",") if o.strip()]
    if kind.value == "link":
        targets = [entity_named(o) for o in choices]
        choices = [t.value for t in targets if t is not None]
    try:
        info = await crm.fields.add(actor, entity, kind, name, choices)
    except CrmError as exc:
        await refuse(message, exc)
        return
    await message.answer(
        _(
            "Field “{name}” ({kind}) added to {entity}. Give it a value: /set CODE {name} VALUE"
        ).format(name=field_label(info), kind=kind_name(info.kind), entity=entity_name(entity))
    )


def field_add_usage() -> str:
    return _(
        "Usage: /field_add TYPE KIND NAME, where TYPE is deal, lead, contact or company and "
        "KIND is string, number, date, bool, list, money or link. A list's options follow "
        "a colon: /field_add deal list Delivery: courier, pickup"
    )


async def field_visible_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor
) -> None:
    crm.runtime.policy.require_right(actor, Right.SETTINGS)  # refused before the line is read
    args = (command.args or "").strip()
    if not args:
        await message.answer(field_visible_usage())
        return
    try:
        info, audience = await crm.fields.restrict_named(actor, args, field_label)
    except CrmError as exc:
        await refuse(message, exc)
        return
    await message.answer(visibility_saved(info, audience))


async def field_require_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor
) -> None:
    crm.runtime.policy.require_right(actor, Right.SETTINGS)  # refused before the line is read
    args = (command.args or "").strip()
    if not args:
        await message.answer(field_require_usage())
        return
    try:
        info, stages = await crm.fields.require_named(actor, args, field_label, stage_name)
    except UnknownName as exc:
        await message.answer(field_refusal(exc) or field_require_usage())
        return
    except AmbiguousName as exc:
        if exc.what != "field":
            raise
        await message.answer(
            _(
                "Several element types have a field called “{name}”: name the type first, for "
                "example /field_require deal {name} at …"
            ).format(name=html.quote(exc.name))
        )
        return
    except CrmError as exc:
        await refuse(message, exc)
        return
    await message.answer(requirement_saved(info, stages))


async def required_pressed(
    query: CallbackQuery, callback_data: FieldStageCb, crm: Crm, actor: Actor
) -> None:
    """The field menu's "Required at…": toggle a stage, every stage, none."""
    crm.runtime.policy.require_right(actor, Right.SETTINGS)
    info = await crm.fields.field(actor, callback_data.id)
    action = callback_data.action
    try:
        if action == "t":
            chosen = set(info.required_at)
            if info.required_always:  # every stage, but this one
                chosen = {s.id for s in stages_of(info, await crm.fields.catalog())}
            chosen ^= {callback_data.stage}
            info = await crm.fields.require(actor, info.id, chosen)
        elif action in ("all", "none"):
            info = await crm.fields.require(actor, info.id, None if action == "all" else ())
    except CrmError as exc:
        text = field_refusal(exc, info)
        if text is None:
            raise
        await query.answer(text, show_alert=True)
        return
    text, markup = render_required_menu(info, await crm.fields.catalog())
    await query.answer()
    await pressed(query).answer(text, reply_markup=markup)


async def field_menu(crm: Crm, actor: Actor, info: FieldInfo) -> tuple[str, InlineKeyboardMarkup]:
    """A field's menu, with who sees it."""
    audience = await crm.fields.audience(actor, info)
    sections = await crm.layouts.sections(actor, info.entity)
    section = next((s.name for s in sections if s.id == info.section_id), None)
    return render_field_menu(info, await crm.fields.catalog(), audience, section)


async def set_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor, crm_user: User
) -> None:
    args = (command.args or "").strip()
    head, _sep, rest = args.partition(" ")
    if not args or not rest.strip():
        await message.answer(_("Usage: /set CODE FIELD VALUE, for example /set D7 Delivery 15.01"))
        return
    ref = require_code(head)
    await crm.elements.load(actor, ref)  # a stranger learns nothing about the fields
    info: FieldInfo | None = None
    try:
        info, value = await crm.fields.named(actor, ref.entity, rest, field_label)
        if not value:
            await message.answer(
                _("Which value? For example: /set {code} {field} …").format(
                    code=ref.code, field=field_label(info)
                )
            )
            return
        await set_field(crm, actor, crm_user, ref, info, value)
    except CrmError as exc:
        await refuse(message, exc, info)
        return
    await send_saved(message, crm, actor, crm_user, ref)


async def field_pressed(
    query: CallbackQuery, callback_data: FieldCb, state: FSMContext, crm: Crm, actor: Actor
) -> None:
    crm.runtime.policy.require_right(actor, Right.SETTINGS)
    info = await crm.fields.field(actor, callback_data.id)
    action = callback_data.action
    if action == "list":
        text, markup = await fields_screen(crm, actor, info.entity)
        await query.answer()
        await pressed(query).answer(text, reply_markup=markup)
        return
    if action in ("hide", "show"):
        info = await crm.fields.set_hidden(actor, info.id, action == "hide")
    elif action == "sect":
        text, markup = render_section_choice(info, await crm.layouts.sections(actor, info.entity))
        await query.answer()
        await pressed(query).answer(text, reply_markup=markup)
        return
    elif action in ("up", "dn"):  # in the common view: the order for everybody
        await crm.layouts.move(
            actor, info.entity, ViewScope(), info.id, -1 if action == "up" else 1
        )
    elif action == "rename":
        await state.set_state(FieldForm.rename)
        await state.update_data(field_id=info.id)
        await query.answer()
        await pressed(query).answer(
            _("Send the new name of “{name}”. /cancel to stop.").format(name=field_label(info))
        )
        return
    elif action == "delete":
        count = await crm.fields.values_to_delete(actor, info.id)
        text, markup = render_delete_question(info, count)
        await query.answer()
        await pressed(query).answer(text, reply_markup=markup)
        return
    elif action == "drop":
        count = await crm.fields.delete(actor, info.id)
        await query.answer()
        await pressed(query).answer(
            _(
                "Field “{name}” deleted, with its value on {n} element.",
                "Field “{name}” deleted, with its values on {n} elements.",
                count,
            ).format(name=field_label(info), n=count)
        )
        return
    text, markup = await field_menu(crm, actor, info)
    await query.answer()
    await pressed(query).answer(text, reply_markup=markup)


async def rename_typed(message: Message, state: FSMContext, crm: Crm, actor: Actor) -> None:
    data = await state.get_data()
    try:
        info = await crm.fields.rename(actor, int(data.get("field_id", 0)), message.text or "")
    except CrmError as exc:
        await refuse(message, exc)  # the dialog stays: send another name
        return
    await state.set_state(None)
    text, markup = await field_menu(crm, actor, info)
    await message.answer(text, reply_markup=markup)


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(fields_command, Command("fields"))
    router.message.register(field_add_command, Command("field_add"))
    router.message.register(set_command, Command("set"))
    router.message.register(field_visible_command, Command("field_visible"))
    router.message.register(field_require_command, Command("field_require"))
    router.callback_query.register(required_pressed, FieldStageCb.filter())
    router.callback_query.register(field_pressed, FieldCb.filter())
    router.message.register(rename_typed, FieldForm.rename, F.text, ~F.text.startswith("/"))
    return router
