"""Dictionaries in chat (Bitrix24 "statuses and dropdowns"), for admins.

`/dictionaries` shows the dictionaries as buttons; a dictionary shows its values (🔒 system,
"(custom)" custom) with ➕ Add; a value offers Rename and Delete. The same in one line:
`/dictionary DICTIONARY`, `/dictionary_add DICTIONARY NAME`, `/dictionary_rename DICTIONARY
VALUE NEW NAME`, `/dictionary_delete DICTIONARY VALUE`, the dictionary named in the admin's
language or in English, a value by its name or id. `/sources` and `/source_*` are the same
for the sources. Rights and rules (system values stay, values in use stay, lead statuses'
initial and final ones stay) are crm.dictionaries'; a refusal says why.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot import dictionaries as render
from bot.callbacks import DictCb
from bot.labels import entry_name, kind_names, kind_title
from bot.pressed import PressedChat, Replier, pressed
from crm.context import Crm
from crm.dictionaries import kind_named
from crm.errors import CrmError, InvalidValue, UnknownName
from crm.permissions import Actor
from handlers.configure import configures, refusal, usage


class DictForm(StatesGroup):
    name = State()  # the name of a new value (dict_id 0) or a value's new name


async def dictionaries_command(message: Message, crm: Crm, actor: Actor) -> None:
    text, markup = render.menu(crm.dictionaries.menu(actor))
    await message.answer(text, reply_markup=markup)


async def sources_command(message: Message, crm: Crm, actor: Actor) -> None:
    """The sources, for anyone (they are picked on cards); buttons for who may change them."""
    items = await crm.dictionaries.items("source")
    text, markup = render.listing("source", items, buttons=crm.dictionaries.can_configure(actor))
    await message.answer(text, reply_markup=markup)


async def listing(crm: Crm, actor: Actor, kind: str, head: str = "") -> tuple[str, Any]:
    text, markup = render.listing(kind, await crm.dictionaries.entries(actor, kind), buttons=True)
    return (head + "\n\n" + text if head else text), markup


# --- one-line commands ------------------------------------------------------------------------
@configures("dictionary")
async def dictionary_command(
    message: Message, args: str, crm: Crm, actor: Actor, **_data: Any
) -> None:
    kind, rest = kind_named(args, kind_names())
    if rest:
        raise UnknownName("dictionary", args[:60])
    text, markup = await listing(crm, actor, kind)
    await message.answer(text, reply_markup=markup)


async def add_value(message: Message, crm: Crm, actor: Actor, kind: str, name: str,
                    command: str) -> None:  # fmt: skip
    if not name:
        await message.answer(usage(command))
        return
    entry = await crm.dictionaries.add_entry(actor, kind, name, label=entry_name)
    await message.answer(render.added(kind, entry))


async def rename_value(message: Message, crm: Crm, actor: Actor, kind: str, text: str,
                       command: str) -> None:  # fmt: skip
    if not text:
        await message.answer(usage(command))
        return
    entry, name = await crm.dictionaries.entry_named(actor, kind, text, label=entry_name)
    if not name:
        await message.answer(usage(command))
        return
    entry = await crm.dictionaries.rename_entry(actor, kind, entry.id, name, label=entry_name)
    await message.answer(render.renamed(kind, entry))


async def delete_value(message: Message, crm: Crm, actor: Actor, kind: str, text: str,
                       command: str) -> None:  # fmt: skip
    if not text:
        await message.answer(usage(command))
        return
    entry, _rest = await crm.dictionaries.entry_named(actor, kind, text, label=entry_name)
    said = render.deleted(kind, entry)  # named before it is gone
    await crm.dictionaries.delete_entry(actor, kind, entry.id)
    await message.answer(said)


Change = Callable[[Message, Crm, Actor, str, str, str], Awaitable[None]]


def command_of(name: str, change: Change, kind: str | None = None) -> Callable[..., Any]:
    """`/dictionary_add typ kontaktu Hurtownik` (the dictionary named first) or, with `kind`
    fixed, `/source_add Facebook`."""

    @configures(name)
    async def run(message: Message, args: str, crm: Crm, actor: Actor, **_data: Any) -> None:
        which, rest = (kind, args) if kind is not None else kind_named(args, kind_names())
        await change(message, crm, actor, which, rest, name)

    return run


# --- buttons ----------------------------------------------------------------------------------
async def dictionary_pressed(
    query: CallbackQuery, callback_data: DictCb, state: FSMContext, crm: Crm, actor: Actor
) -> None:
    action = _ACTIONS.get(callback_data.action)
    if action is None:
        raise InvalidValue("choice", callback_data.action[:10])
    chat = pressed(query)
    try:
        await action(chat, callback_data, state, crm, actor)
    except CrmError as exc:
        text = refusal(exc)
        if text is None:
            raise
        await query.answer()
        await chat.answer(text)
        return
    await query.answer()


async def _menu(chat: PressedChat, cb: DictCb, state: FSMContext, crm: Crm, actor: Actor) -> None:
    text, markup = render.menu(crm.dictionaries.menu(actor))
    await chat.edit(text, reply_markup=markup)


async def _values(
    chat: PressedChat, cb: DictCb, state: FSMContext, crm: Crm, actor: Actor
) -> None:
    text, markup = await listing(crm, actor, cb.kind)
    await chat.edit(text, reply_markup=markup)


async def _value(chat: PressedChat, cb: DictCb, state: FSMContext, crm: Crm, actor: Actor) -> None:
    text, markup = render.value(cb.kind, await crm.dictionaries.entry(actor, cb.kind, cb.id))
    await chat.edit(text, reply_markup=markup)


async def _rename(
    chat: PressedChat, cb: DictCb, state: FSMContext, crm: Crm, actor: Actor
) -> None:
    entry = await crm.dictionaries.entry(actor, cb.kind, cb.id)
    await _ask(state, cb.kind, entry.id)
    await chat.answer(
        _("Send the new name for “{name}”. /cancel to stop.").format(name=entry_name(entry))
    )


async def _add(chat: PressedChat, cb: DictCb, state: FSMContext, crm: Crm, actor: Actor) -> None:
    await crm.dictionaries.entries(actor, cb.kind)  # a dictionary the actor may change
    await _ask(state, cb.kind, 0)
    await chat.answer(
        _("Send the name of the new value for {dictionary}. /cancel to stop.").format(
            dictionary=kind_title(cb.kind)
        )
    )


async def _delete(
    chat: PressedChat, cb: DictCb, state: FSMContext, crm: Crm, actor: Actor
) -> None:
    entry = await crm.dictionaries.entry(actor, cb.kind, cb.id)
    said = render.deleted(cb.kind, entry)
    await crm.dictionaries.delete_entry(actor, cb.kind, entry.id)
    text, markup = await listing(crm, actor, cb.kind, head=said)
    await chat.edit(text, reply_markup=markup)


async def _ask(state: FSMContext, kind: str, entry_id: int) -> None:
    await state.set_state(DictForm.name)
    await state.update_data(dict_kind=kind, dict_id=entry_id)


_ACTIONS: dict[str, Callable[[PressedChat, DictCb, FSMContext, Crm, Actor], Awaitable[None]]] = {
    "menu": _menu,
    "k": _values,
    "v": _value,
    "rn": _rename,
    "add": _add,
    "rm": _delete,
}


async def name_typed(message: Message, state: FSMContext, crm: Crm, actor: Actor) -> None:
    """The new value's name, or a value's new name; a refused one is said and asked again."""
    data = await state.get_data()
    kind, entry_id = str(data.get("dict_kind")), int(data.get("dict_id") or 0)
    name = message.text or ""
    try:
        if entry_id:
            entry = await crm.dictionaries.rename_entry(
                actor, kind, entry_id, name, label=entry_name
            )
            head = render.renamed(kind, entry)
        else:
            entry = await crm.dictionaries.add_entry(actor, kind, name, label=entry_name)
            head = render.added(kind, entry)
    except CrmError as exc:
        text = refusal(exc)
        if text is None:
            raise
        await answer_again(message, text)
        return
    await state.set_state(None)
    text, markup = await listing(crm, actor, kind, head=head)
    await message.answer(text, reply_markup=markup)


async def answer_again(replier: Replier, text: str) -> None:
    await replier.answer(text + "\n" + _("Send another name, or /cancel to stop."))


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(name_typed, DictForm.name, F.text, ~F.text.startswith("/"))
    router.message.register(dictionaries_command, Command("dictionaries"))
    router.message.register(dictionary_command, Command("dictionary"))
    router.message.register(sources_command, Command("sources"))
    for name, change, kind in (
        ("dictionary_add", add_value, None),
        ("dictionary_rename", rename_value, None),
        ("dictionary_delete", delete_value, None),
        ("source_add", add_value, "source"),
        ("source_rename", rename_value, "source"),
        ("source_delete", delete_value, "source"),
    ):
        router.message.register(command_of(name, change, kind), Command(name))
    router.callback_query.register(dictionary_pressed, DictCb.filter())
    return router
