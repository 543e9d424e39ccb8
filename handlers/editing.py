"""The card's Edit button: pick a field (title, name, phone, e-mail, amount), type the new
value, see the card again; a dictionary's field (contact type, salutation, company type,
industry, employee count, deal type) offers its values as buttons instead (picked through
handlers/configure.picked). Reading, rights and history are crm.editing's and
crm.dictionaries'."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot import dictionaries
from bot.callbacks import EditCb, ElCb
from bot.fields import ask_value, field_refusal
from bot.labels import field_label, field_name
from bot.pressed import pressed
from crm.context import Crm
from crm.editing import CHOICES, Field
from crm.errors import InvalidValue
from crm.numbers import ascii_int
from crm.parsing import region_for_locale
from crm.permissions import Actor
from handlers.elements import ref_from, require_code
from handlers.fields import reading_for, send_saved
from storage.models import User

CUSTOM = "u"  # EditCb.field of a custom field: `u12`


class EditForm(StatesGroup):
    value = State()


def custom_id(field: str) -> int | None:
    """The id of a custom field named in callback data or dialog state, if it is one."""
    if field.startswith(CUSTOM):
        return ascii_int(field[len(CUSTOM) :])
    return None


async def edit_pressed(query: CallbackQuery, callback_data: ElCb, crm: Crm, actor: Actor) -> None:
    ref = ref_from(callback_data.kind, callback_data.id)
    fields = await crm.edits.fields(actor, ref)  # refused like any edit before anything is asked
    rows = [
        [
            InlineKeyboardButton(
                text=field_name(field).capitalize(),
                callback_data=EditCb(kind=callback_data.kind, id=ref.id, field=field.value).pack(),
            )
        ]
        for field in fields
    ]
    rows += [  # the custom fields the editor may see, after the system ones
        [
            InlineKeyboardButton(
                text=field_label(info)[:60],
                callback_data=EditCb(
                    kind=callback_data.kind, id=ref.id, field=f"{CUSTOM}{info.id}"
                ).pack(),
            )
        ]
        for info in await crm.fields.editable(actor, ref)
    ]
    await query.answer()
    await pressed(query).answer(
        _("What should be corrected on {code}?").format(code=ref.code),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


async def field_pressed(
    query: CallbackQuery, callback_data: EditCb, state: FSMContext, crm: Crm, actor: Actor
) -> None:
    ref = ref_from(callback_data.kind, callback_data.id)
    fields = await crm.edits.fields(actor, ref)
    if (custom := custom_id(callback_data.field)) is not None:
        info = await crm.fields.field(actor, custom)
        await state.set_state(EditForm.value)
        await state.update_data(edit_ref=ref.code, edit_field=callback_data.field)
        await query.answer()
        await pressed(query).answer(ask_value(info, ref.code))
        return
    if callback_data.field not in {f.value for f in fields}:
        raise InvalidValue("field", callback_data.field[:20])
    field = Field(callback_data.field)
    if field in CHOICES:  # a dictionary's value: picked from its values, not typed
        current, items = await crm.dictionaries.choices(actor, ref, field.value)
        await query.answer()
        await pressed(query).answer(
            _("Pick the {field} for {code}:").format(field=field_name(field), code=ref.code),
            reply_markup=dictionaries.choices(callback_data.kind, ref.id, field.value, current,
                                              items),
        )  # fmt: skip
        return
    await crm.edits.settable(actor, ref, field)  # a deal's amount made of product rows
    await state.set_state(EditForm.value)
    await state.update_data(edit_ref=ref.code, edit_field=field.value)
    await query.answer()
    await pressed(query).answer(
        _("Send the new {field} for {code}. /cancel to stop.").format(
            field=field_name(field), code=ref.code
        )
    )


async def value_typed(
    message: Message, state: FSMContext, crm: Crm, actor: Actor, crm_user: User
) -> None:
    data = await state.get_data()
    ref = require_code(data.get("edit_ref"))
    if (custom := custom_id(str(data.get("edit_field")))) is not None:
        info = await crm.fields.field(actor, custom)
        try:
            await crm.fields.set_value(
                actor, ref, info.id, message.text or "", reading_for(crm, crm_user)
            )
        except InvalidValue as exc:
            await message.answer(field_refusal(exc, info) or ask_value(info, ref.code))
            return  # the dialog stays: send again
        await state.set_state(None)
        await send_saved(message, crm, actor, crm_user, ref)
        return
    field = Field(str(data.get("edit_field")))
    region = region_for_locale(crm.users.locale_of(crm_user))
    # A value that does not read is refused with the reason and the dialog stays: send again.
    await crm.edits.edit(actor, ref, field, message.text or "", region=region)
    await state.set_state(None)
    await send_saved(message, crm, actor, crm_user, ref)


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(value_typed, EditForm.value, F.text, ~F.text.startswith("/"))
    router.callback_query.register(edit_pressed, ElCb.filter(F.action == "edit"))
    router.callback_query.register(field_pressed, EditCb.filter())
    return router
