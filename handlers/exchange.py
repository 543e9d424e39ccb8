"""CSV import and export in chat: `/import` (then a document, or a document with `/import
contacts` as its caption) → a preview, the column mapping (buttons), duplicates, the run
with a progress message, the report and the rejected rows; `/export deals [codes] [stage=…]`;
`/export_flag off C3 C5`; the card's export button. Rules in crm/imports.py, crm/exports.py."""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, FSInputFile, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ElCb, ImportCb
from bot.cards import render_card
from bot.exchange import (
    KIND_NAMES,
    BotLabels,
    refusal,
    rejected_csv,
    render_preview,
    render_report,
)
from bot.middlewares.dialogs import answered_by
from bot.pressed import pressed
from crm.codes import parse_code
from crm.context import Crm
from crm.enums import Operation
from crm.errors import AccessDenied, FileRefused, InvalidValue
from crm.exchange.columns import Column, ColumnMap, CustomField, Kind, read_kind
from crm.exports import parse_filters
from crm.imports import Duplicates, Plan
from crm.permissions import Actor
from handlers.elements import ref_from
from storage.models import User

MAX_IMPORT_BYTES = 20_000_000  # what a bot may download from Telegram
PROGRESS_SECONDS = 1.0  # the progress message is edited at most once a second
KINDS = list(Kind)
CODE_WORDS = frozenset({"codes", "kody", "коды", "code", "kod", "код"})
ON_WORDS = frozenset({"on", "wł", "włącz", "tak", "вкл", "да", "yes"})
OFF_WORDS = frozenset({"off", "wył", "wyłącz", "nie", "выкл", "нет", "no"})


class ImportForm(StatesGroup):
    file = State()  # waiting for the document
    review = State()  # the preview is shown: mapping, duplicates, start


answered_by(ImportForm.review, ImportCb)  # its buttons answer it; any other press ends it


def _usage() -> str:
    return _(
        "Send a CSV file with /import contacts as its caption (or companies, leads, deals, "
        "products), or send /import and then the file. Bitrix24's export and import "
        "template are read as they are."
    )


# --- import --------------------------------------------------------------------------------
async def import_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor, state: FSMContext
) -> None:
    words = (command.args or "").split()
    kind = read_kind(words[0]) if words else None
    if words and kind is None:
        await message.answer(_usage())
        return
    if kind is not None:
        crm.imports.require(actor, kind)
    elif not crm.imports.importable(actor):
        raise AccessDenied(operation=Operation.IMPORT)
    if message.document is None:
        await state.set_state(ImportForm.file)
        await state.set_data({"kind": kind.value if kind else None})
        await message.answer(_("Send the CSV file now (/cancel to stop)."))
        return
    await _received(message, crm, actor, state, kind)


async def file_sent(message: Message, crm: Crm, actor: Actor, state: FSMContext) -> None:
    data = await state.get_data()
    kind = Kind(data["kind"]) if data.get("kind") else None
    await _received(message, crm, actor, state, kind)


async def _received(
    message: Message, crm: Crm, actor: Actor, state: FSMContext, kind: Kind | None
) -> None:
    document = message.document
    if document is None:
        await message.answer(_usage())
        return
    if (document.file_size or 0) > MAX_IMPORT_BYTES:
        await message.answer(
            _("The file is too big for a chat (20 MB at most): use crmbot import on the server.")
        )
        return
    await state.set_state(ImportForm.review)
    await state.set_data(
        {
            "kind": kind.value if kind else None,
            "file_id": document.file_id,
            "file_name": document.file_name or "",
            "mapping": None,
            "dup": Duplicates.SKIP.value,
        }
    )
    if kind is None:
        kb = InlineKeyboardBuilder()
        allowed = crm.imports.importable(actor)
        for i, option in enumerate(KINDS):
            if option in allowed:
                kb.button(
                    text=str(KIND_NAMES[option]), callback_data=ImportCb(action="kind", index=i)
                )
        kb.adjust(3)
        await message.answer(_("What does the file hold?"), reply_markup=kb.as_markup())
        return
    text, markup = await _preview(message.bot, crm, actor, state)
    await message.answer(text, reply_markup=markup)


async def _download(bot: Bot | None, file_id: str) -> io.BytesIO:
    if bot is None:
        raise RuntimeError("a message without its bot")
    buffer = io.BytesIO()
    await bot.download(file_id, destination=buffer)
    buffer.seek(0)
    return buffer


async def _plan(bot: Bot | None, crm: Crm, actor: Actor, data: dict[str, Any]) -> Plan:
    stream = await _download(bot, data["file_id"])
    return await crm.imports.open(
        actor, Kind(data["kind"]), stream, data.get("file_name") or "", data.get("mapping")
    )


async def _preview(bot: Bot | None, crm: Crm, actor: Actor, state: FSMContext) -> tuple[str, Any]:
    data = await state.get_data()
    try:
        plan = await _plan(bot, crm, actor, data)
    except FileRefused as exc:
        await state.clear()
        return refusal(exc), None
    if data.get("mapping") is None:
        await state.update_data(mapping=plan.mapping.codes())
    rows = crm.imports.preview(plan)
    text = render_preview(plan.kind, plan.mapping, rows, data.get("file_name") or "")
    return text, _review_keyboard(data.get("dup") == Duplicates.CREATE.value)


def _review_keyboard(create: bool) -> Any:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("▶️ Import"), callback_data=ImportCb(action="go"))
    kb.button(text=_("🔀 Columns"), callback_data=ImportCb(action="cols"))
    kb.button(
        text=_("Duplicates: create and report") if create else _("Duplicates: skip"),
        callback_data=ImportCb(action="dup"),
    )
    kb.adjust(1)
    return kb.as_markup()


def _columns_keyboard(mapping: ColumnMap, locale: str) -> Any:
    kb = InlineKeyboardBuilder()
    for i, (header, column) in enumerate(zip(mapping.header, mapping.fields, strict=True)):
        custom = mapping.custom.get(i)
        target = column.title(locale) if column else custom.name if custom else "—"
        kb.button(text=f"{header[:30]} → {target}", callback_data=ImportCb(action="col", index=i))
    kb.button(text=_("⬅️ Back"), callback_data=ImportCb(action="back"))
    kb.adjust(1)
    return kb.as_markup()


async def import_pressed(
    query: CallbackQuery,
    callback_data: ImportCb,
    crm: Crm,
    actor: Actor,
    crm_user: User,
    state: FSMContext,
    i18n: I18n,
) -> None:
    data = await state.get_data()
    chat = pressed(query)
    if not data.get("file_id") or await state.get_state() != ImportForm.review.state:
        await query.answer(_("This import is over: send the file again."), show_alert=True)
        return
    action = callback_data.action
    if action == "kind":
        kind = KINDS[min(callback_data.index, len(KINDS) - 1)]
        crm.imports.require(actor, kind)
        await state.update_data(kind=kind.value, mapping=None)
    elif data.get("kind") is None:
        await query.answer()
        return
    if action == "dup":
        create = data.get("dup") != Duplicates.CREATE.value
        await state.update_data(dup=(Duplicates.CREATE if create else Duplicates.SKIP).value)
    if action in ("cols", "col", "set"):
        plan = await _plan(query.bot, crm, actor, await state.get_data())
        locale = i18n.current_locale
        columns: list[Column | CustomField] = [*plan.columns.columns, *plan.columns.custom]
        if action == "col":
            index = min(callback_data.index, len(plan.mapping.fields) - 1)
            kb = InlineKeyboardBuilder()
            kb.button(text=_("not imported"), callback_data=ImportCb(action="set", index=index))
            for j, column in enumerate(columns):
                kb.button(
                    text=column.title(locale) if isinstance(column, Column) else column.name,
                    callback_data=ImportCb(action="set", index=index, value=j + 1),
                )
            kb.adjust(2)
            await query.answer()
            await chat.edit(
                _("Column “{header}” is:").format(header=plan.mapping.header[index]),
                reply_markup=kb.as_markup(),
            )
            return
        if action == "set":
            mapping = list(data.get("mapping") or [])
            index = callback_data.index
            if index < len(mapping):
                value = callback_data.value
                mapping[index] = columns[value - 1].code if 0 < value <= len(columns) else ""
                await state.update_data(mapping=mapping)
            plan = await _plan(query.bot, crm, actor, await state.get_data())
        await query.answer()
        await chat.edit(
            _("Which column is which:"), reply_markup=_columns_keyboard(plan.mapping, locale)
        )
        return
    if action == "go":
        await query.answer()
        await _run(query, crm, actor, crm_user, state, i18n)
        return
    await query.answer()
    text, markup = await _preview(query.bot, crm, actor, state)
    await chat.edit(text, reply_markup=markup)


async def _run(
    query: CallbackQuery,
    crm: Crm,
    actor: Actor,
    crm_user: User,
    state: FSMContext,
    i18n: I18n,
) -> None:
    data = await state.get_data()
    await state.clear()
    chat = pressed(query)
    try:
        plan = await _plan(query.bot, crm, actor, data)
    except FileRefused as exc:
        await chat.answer(refusal(exc))
        return
    status = await chat.edit(_("Importing… {n} rows read").format(n=0))
    last = time.monotonic()

    async def progress(rows: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < PROGRESS_SECONDS or not isinstance(status, Message):
            return
        last = now
        try:
            await status.edit_text(_("Importing… {n} rows read").format(n=rows))
        except TelegramBadRequest:
            pass  # the message is gone or unchanged: the import goes on

    report = await crm.imports.run(
        actor,
        plan,
        Duplicates(data.get("dup") or Duplicates.SKIP.value),
        labels=BotLabels(i18n, i18n.current_locale),
        progress=progress,
    )
    if isinstance(status, Message):
        try:
            await status.edit_text(_("Import finished: {n} rows read.").format(n=report.rows))
        except TelegramBadRequest:
            pass
    text = render_report(report)
    if report.rejected:
        name = Path(data.get("file_name") or "import.csv").stem + ".rejected.csv"
        await chat.answer(text)
        if chat.message is not None:
            await chat.message.answer_document(BufferedInputFile(rejected_csv(report), name))
        return
    await chat.answer(text)


# --- export --------------------------------------------------------------------------------
async def export_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor, crm_user: User, i18n: I18n
) -> None:
    words = (command.args or "").split()
    kind = read_kind(words[0]) if words else None
    if kind is None:
        await message.answer(
            _(
                "What to export? For example: /export deals, /export contacts, "
                "/export deals stage=WON responsible=Anna, /export deals codes (Bitrix24's "
                "codes as column names)."
            )
        )
        return
    codes = any(w.casefold() in CODE_WORDS for w in words[1:])
    try:
        filters = parse_filters([w for w in words[1:] if w.casefold() not in CODE_WORDS])
    except InvalidValue as exc:
        await message.answer(
            _(
                "I don't know the filter “{word}”: use stage=, pipeline=, responsible=, "
                "source= or closed=."
            ).format(word=exc.value)
        )
        return
    locale = i18n.current_locale
    try:
        crm.exports.require(actor, kind)
    except AccessDenied:
        await message.answer(
            _("You may not export {kind}: ask an admin for the export right.").format(
                kind=KIND_NAMES[kind]
            )
        )
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{kind.value}.csv"
        try:
            with path.open("wb") as stream:
                done = await crm.exports.export(
                    actor,
                    kind,
                    stream,
                    locale=locale,
                    timezone=crm.users.timezone_of(crm_user),
                    codes=codes,
                    filters=filters,
                    labels=BotLabels(i18n, locale),
                )
        except InvalidValue as exc:
            await message.answer(
                _("Nothing matches “{value}” ({field}).").format(value=exc.value, field=exc.field)
            )
            return
        await message.answer_document(
            FSInputFile(path, filename=f"{kind.value}.csv"),
            caption=_("Exported {kind}: {n}").format(kind=KIND_NAMES[kind], n=done.elements),
        )


async def export_flag_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor
) -> None:
    words = (command.args or "").replace(",", " ").split()
    refs = [parse_code(w) for w in words[1:]]
    if not words or words[0].casefold() not in ON_WORDS | OFF_WORDS or not refs or None in refs:
        await message.answer(
            _("Which contacts, on or off? For example: /export_flag off C3 C5 C9")
        )
        return
    allowed = words[0].casefold() in ON_WORDS
    done = await crm.exports.set_export_allowed(actor, [r for r in refs if r is not None], allowed)
    codes = ", ".join(f"/{r.code}" for r in done)
    if allowed:
        await message.answer(_("Included in exports again: {codes}").format(codes=codes))
    else:
        await message.answer(_("Left out of exports from now on: {codes}").format(codes=codes))


async def export_flag_pressed(
    query: CallbackQuery, callback_data: ElCb, crm: Crm, actor: Actor, crm_user: User
) -> None:
    ref = ref_from(callback_data.kind, callback_data.id)
    element = await crm.elements.load(actor, ref, Operation.UPDATE)
    allowed = not getattr(element, "export_allowed", True)
    await crm.exports.set_export_allowed(actor, [ref], allowed)
    crm.repos.session.expire_all()
    card = await crm.elements.card(actor, ref)
    text, markup = render_card(card, crm.users.timezone_of(crm_user))
    await query.answer(_("Included in exports.") if allowed else _("Left out of exports."))
    await pressed(query).edit(text, reply_markup=markup)


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(import_command, Command("import"))
    router.message.register(file_sent, StateFilter(ImportForm.file), F.document)
    router.callback_query.register(import_pressed, ImportCb.filter())
    router.message.register(export_command, Command("export"))
    router.message.register(export_flag_command, Command("export_flag"))
    router.callback_query.register(export_flag_pressed, ElCb.filter(F.action == "xflag"))
    return router
