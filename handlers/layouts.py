"""Sections and card views: `/sections deal`, `/section_add deal Dostawa`, a section's
buttons (rename, ▲▼, delete), a field's section (from its menu), `/view deal [Sprzedaż]`
(the common or a department's view) and `/my_view deal`. Rules are crm.layouts'."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import FieldSectionCb, SectionCb, ViewCb
from bot.labels import entity_name
from bot.layouts import (
    layout_refusal,
    render_section_delete,
    render_sections,
    render_view,
    section_deleted,
    view_usage,
)
from bot.pressed import pressed
from crm.codes import entity_named
from crm.context import Crm
from crm.enums import EntityType, Right
from crm.errors import CrmError, InvalidValue
from crm.field_book import ELEMENT_TYPES, ViewScope
from crm.permissions import Actor
from handlers.fields import field_menu


class SectionForm(StatesGroup):
    rename = State()


def _type_usage(command: str) -> str:
    return _("Which type? /{command} deal, lead, contact or company").format(command=command)


async def sections_screen(
    crm: Crm, actor: Actor, entity: EntityType
) -> tuple[str, InlineKeyboardMarkup | None]:
    sections = await crm.layouts.sections(actor, entity)
    return render_sections(entity, sections, await crm.fields.fields(actor, entity))


async def sections_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor
) -> None:
    crm.runtime.policy.require_right(actor, Right.SETTINGS)
    entity = entity_named((command.args or "").strip())
    if entity is None or entity not in ELEMENT_TYPES:
        await message.answer(_type_usage("sections"))
        return
    text, markup = await sections_screen(crm, actor, entity)
    await message.answer(text, reply_markup=markup)


async def section_add_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor
) -> None:
    crm.runtime.policy.require_right(actor, Right.SETTINGS)  # refused before the line is read
    head, _sep, name = (command.args or "").strip().partition(" ")
    entity = entity_named(head)
    if entity is None or entity not in ELEMENT_TYPES or not name.strip():
        await message.answer(
            _("Usage: /section_add TYPE NAME, for example /section_add deal Delivery")
        )
        return
    try:
        section = await crm.layouts.add_section(actor, entity, name)
    except CrmError as exc:
        text = layout_refusal(exc)
        if text is None:
            raise
        await message.answer(text)
        return
    await message.answer(
        _("Section “{name}” added to {entity}.").format(
            name=section.name, entity=entity_name(entity)
        )
    )
    text, markup = await sections_screen(crm, actor, entity)
    await message.answer(text, reply_markup=markup)


async def section_pressed(
    query: CallbackQuery, callback_data: SectionCb, state: FSMContext, crm: Crm, actor: Actor
) -> None:
    section = await crm.layouts.section(actor, callback_data.id)
    action = callback_data.action
    await query.answer()
    if action == "ren":
        await state.set_state(SectionForm.rename)
        await state.update_data(section_id=section.id)
        await pressed(query).answer(
            _("Send the new name of the section “{name}”. /cancel to stop.").format(
                name=section.name
            )
        )
        return
    if action in ("up", "dn"):
        await crm.layouts.move_section(actor, section.id, -1 if action == "up" else 1)
        text, markup = await sections_screen(crm, actor, section.entity)
        await pressed(query).edit(text, reply_markup=markup)
        return
    if action == "del":
        fields = await crm.fields.fields(actor, section.entity)
        count = sum(1 for f in fields if f.section_id == section.id)
        text, markup = render_section_delete(section, count)
        await pressed(query).answer(text, reply_markup=markup)
        return
    elif action == "drop":
        section, count = await crm.layouts.delete_section(actor, section.id)
        await pressed(query).answer(section_deleted(section, count))
    text, markup = await sections_screen(crm, actor, section.entity)
    await pressed(query).answer(text, reply_markup=markup)


async def section_rename_typed(
    message: Message, state: FSMContext, crm: Crm, actor: Actor
) -> None:
    data = await state.get_data()
    try:
        section = await crm.layouts.rename_section(
            actor, int(data.get("section_id", 0)), message.text or ""
        )
    except CrmError as exc:
        text = layout_refusal(exc)
        if text is None:
            raise
        await message.answer(text)  # the dialog stays: send another name
        return
    await state.set_state(None)
    text, markup = await sections_screen(crm, actor, section.entity)
    await message.answer(text, reply_markup=markup)


async def field_section_pressed(
    query: CallbackQuery, callback_data: FieldSectionCb, crm: Crm, actor: Actor
) -> None:
    info = await crm.fields.field(actor, callback_data.id)
    await crm.layouts.set_section(actor, info.id, callback_data.section or None)
    text, markup = await field_menu(crm, actor, await crm.fields.field(actor, info.id))
    await query.answer()
    await pressed(query).answer(text, reply_markup=markup)


# --- views ------------------------------------------------------------------------------------
async def view_screen(
    crm: Crm, actor: Actor, entity: EntityType, scope: ViewScope, page: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    screen = await crm.layouts.screen(actor, entity, scope)
    return render_view(screen, await _department_name(crm, scope), page)


async def _department_name(crm: Crm, scope: ViewScope) -> str | None:
    if scope.department_id is None:
        return None
    department = (await crm.runtime.roles.get(crm.repos)).department(scope.department_id)
    return department.name if department is not None else None


async def view_command(message: Message, command: CommandObject, crm: Crm, actor: Actor) -> None:
    crm.runtime.policy.require_right(actor, Right.SETTINGS)  # refused before the line is read
    head, _sep, rest = (command.args or "").strip().partition(" ")
    entity = entity_named(head)
    if entity is None or entity not in ELEMENT_TYPES:
        await message.answer(view_usage())
        return
    scope = ViewScope()
    if rest.strip():
        try:
            department = await crm.roles.find_department(actor, rest.strip())
        except CrmError as exc:
            text = layout_refusal(exc)
            if text is None:
                raise
            await message.answer(text)
            return
        scope = ViewScope(department_id=department.id)
    text, markup = await view_screen(crm, actor, entity, scope)
    await message.answer(text, reply_markup=markup)


async def my_view_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor
) -> None:
    scope = ViewScope(user_id=actor.user_id)
    try:
        crm.layouts.authorize(actor, scope)  # refused before the line is read
    except CrmError as exc:
        text = layout_refusal(exc)
        if text is None:
            raise
        await message.answer(text)
        return
    entity = entity_named((command.args or "").strip())
    if entity is None or entity not in ELEMENT_TYPES:
        await message.answer(_type_usage("my_view"))
        return
    if entity not in crm.runtime.policy.readable(actor):
        await message.answer(_type_usage("my_view"))  # a type one cannot read is not named
        return
    text, markup = await view_screen(crm, actor, entity, scope)
    await message.answer(text, reply_markup=markup)


async def view_pressed(
    query: CallbackQuery, callback_data: ViewCb, crm: Crm, actor: Actor
) -> None:
    try:
        entity = EntityType(callback_data.entity)
    except ValueError:
        raise InvalidValue("entity", callback_data.entity[:20]) from None
    # Whose view: the presser's own, or (for the settings right) the common or a department's.
    if callback_data.mine:
        scope = ViewScope(user_id=actor.user_id)
    elif callback_data.dept:
        await crm.layouts.department(actor, callback_data.dept)
        scope = ViewScope(department_id=callback_data.dept)
    else:
        scope = ViewScope()
    try:
        action, field = callback_data.action, callback_data.field
        if action in ("up", "dn"):
            await crm.layouts.move(actor, entity, scope, field, -1 if action == "up" else 1)
        elif action == "tog":
            await crm.layouts.toggle(actor, entity, scope, field)
        elif action == "rst":
            await crm.layouts.reset(actor, entity, scope)
        text, markup = await view_screen(crm, actor, entity, scope, callback_data.page)
    except CrmError as exc:
        refusal = layout_refusal(exc)
        if refusal is None:
            raise
        await query.answer(refusal, show_alert=True)
        return
    await query.answer()
    await pressed(query).edit(text, reply_markup=markup)


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(sections_command, Command("sections"))
    router.message.register(section_add_command, Command("section_add"))
    router.message.register(view_command, Command("view"))
    router.message.register(my_view_command, Command("my_view"))
    router.callback_query.register(section_pressed, SectionCb.filter())
    router.callback_query.register(field_section_pressed, FieldSectionCb.filter())
    router.callback_query.register(view_pressed, ViewCb.filter())
    router.message.register(
        section_rename_typed, SectionForm.rename, F.text, ~F.text.startswith("/")
    )
    return router
