"""`/todo CODE when text`, `/today`, the reminder buttons, and `/reminders` (own offsets)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram import F, Router, html
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.activities import activity_card, offsets_text, today_list
from bot.callbacks import ActCb
from bot.cards import render_card
from bot.fmt import fmt_when
from crm.activities import Snooze, parse_offsets, primary_ref
from crm.codes import ElementRef, parse_code
from crm.context import Crm
from crm.errors import NotFound
from crm.permissions import Actor
from storage.models import User


class TodoForm(StatesGroup):
    element = State()
    when = State()
    subject = State()


def date_hint() -> str:
    return _(
        "I couldn't read a date there. Try: <code>jutro 10:00</code>, <code>w piątek o 15</code>, "
        "<code>завтра в 10</code>, <code>in 2 hours</code>."
    )


async def todo_command(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    crm: Crm,
    actor: Actor,
    crm_user: User,
) -> None:
    args = (command.args or "").strip()
    if not args:
        await state.set_state(TodoForm.element)
        await message.answer(
            _("For which deal, lead, contact or company? Send its code, e.g. D7.")
        )
        return
    first, _sep, rest = args.partition(" ")
    ref = parse_code(first)
    if ref is None:
        raise NotFound("element", first[:20])
    await crm.elements.load(actor, ref)  # refuse early, before any dialog
    await continue_todo(message, state, crm, actor, crm_user, ref, rest)


async def continue_todo(
    message: Message,
    state: FSMContext,
    crm: Crm,
    actor: Actor,
    user: User,
    ref: ElementRef,
    text: str,
) -> None:
    """Fill in what is missing: the deadline, then the subject; create when both are known."""
    text = text.strip()
    if not text:
        await state.set_state(TodoForm.when)
        await state.update_data(todo_ref=ref.code)
        await message.answer(
            _("When? For example: jutro 10:00, w piątek o 15, завтра в 10, in 2 hours.")
        )
        return
    deadline = crm.activities.read_deadline(user, text)
    if deadline is None:
        await state.set_state(TodoForm.when)
        await state.update_data(todo_ref=ref.code, todo_subject=text[:255])
        await message.answer(date_hint())
        return
    if not deadline.rest:
        await state.set_state(TodoForm.subject)
        await state.update_data(todo_ref=ref.code, todo_at=deadline.at.isoformat())
        await message.answer(_("What is to be done?"))
        return
    await create(message, state, crm, actor, user, ref, deadline.rest, deadline.at)


async def create(
    message: Message,
    state: FSMContext,
    crm: Crm,
    actor: Actor,
    user: User,
    ref: ElementRef,
    subject: str,
    at: datetime,
) -> None:
    await state.set_state(None)
    activity = await crm.activities.create(actor, ref, subject, at)
    offsets = parse_offsets(user.reminder_offsets)
    text, markup = activity_card(
        activity, crm.users.timezone_of(user), crm.runtime.clock.now(), offsets
    )
    await message.answer(text, reply_markup=markup)


async def element_typed(
    message: Message, state: FSMContext, crm: Crm, actor: Actor, crm_user: User
) -> None:
    first, _sep, rest = (message.text or "").strip().partition(" ")
    ref = parse_code(first)
    if ref is None:
        await message.answer(
            _("That is not a code. Send one like D7, L3, C12 or CO2, or /cancel.")
        )
        return
    await crm.elements.load(actor, ref)
    await continue_todo(message, state, crm, actor, crm_user, ref, rest)


async def pending_todo(state: FSMContext) -> tuple[dict[str, Any], ElementRef | None]:
    """The dialog's data and its element; a dialog whose element is unreadable is dropped."""
    data = await state.get_data()
    ref = parse_code(str(data.get("todo_ref", "")))
    if ref is None:
        await state.clear()
    return data, ref


async def when_typed(
    message: Message, state: FSMContext, crm: Crm, actor: Actor, crm_user: User
) -> None:
    data, ref = await pending_todo(state)
    if ref is None:
        return
    subject = data.get("todo_subject")
    text = message.text or ""
    if subject:  # the subject came first; this message is only the date
        at = crm.activities.read_when(crm_user, text)
        if at is None:
            await message.answer(date_hint())
            return
        await create(message, state, crm, actor, crm_user, ref, subject, at)
        return
    if crm.activities.read_deadline(crm_user, text) is None:
        await message.answer(date_hint())  # still waiting for a date; the text is not a subject
        return
    await continue_todo(message, state, crm, actor, crm_user, ref, text)


async def subject_typed(
    message: Message, state: FSMContext, crm: Crm, actor: Actor, crm_user: User
) -> None:
    data, ref = await pending_todo(state)
    if ref is None or "todo_at" not in data:
        await state.clear()
        return
    await create(
        message,
        state,
        crm,
        actor,
        crm_user,
        ref,
        message.text or "",
        datetime.fromisoformat(data["todo_at"]),
    )


async def today_command(message: Message, crm: Crm, actor: Actor, crm_user: User) -> None:
    timezone = crm.users.timezone_of(crm_user)
    activities = await crm.activities.today(actor, timezone)
    text, markup = today_list(activities, timezone, crm.runtime.clock.now())
    await message.answer(text, reply_markup=markup)


async def activity_pressed(
    query: CallbackQuery, callback_data: ActCb, crm: Crm, actor: Actor, crm_user: User
) -> None:
    timezone = crm.users.timezone_of(crm_user)
    action = callback_data.action
    if action == "done":
        activity = await crm.activities.complete(actor, callback_data.id)
        await query.answer(_("Done: {subject}").format(subject=activity.subject[:150]))
        if query.message is not None:
            await query.message.edit_reply_markup(reply_markup=None)  # type: ignore[union-attr]
        return
    if action in ("s15", "s60", "tmr"):
        snooze = (
            Snooze(tomorrow=True)
            if action == "tmr"
            else Snooze(minutes=15 if action == "s15" else 60)
        )
        due = await crm.activities.snooze(actor, callback_data.id, snooze, timezone)
        await query.answer(_("I'll remind you again: {when}").format(when=fmt_when(due, timezone)))
        return
    if action == "open":
        activity = await crm.activities.get(actor, callback_data.id)
        ref = primary_ref(activity)
        if ref is None or query.message is None:
            raise NotFound("element", callback_data.id)
        card = await crm.elements.card(actor, ref)
        text, markup = render_card(card, timezone)
        await query.answer()
        await query.message.answer(text, reply_markup=markup)
        return
    raise NotFound("action", action[:10])


async def reminders_command(
    message: Message, command: CommandObject, crm: Crm, crm_user: User
) -> None:
    value = (command.args or "").strip()
    if not value:
        current = parse_offsets(crm_user.reminder_offsets)
        await message.answer(
            _(
                "Your reminders: {list}. Change them like this: /reminders 30,15,0 "
                "(minutes before)."
            ).format(list=offsets_text(current))
        )
        return
    offsets = await crm.activities.set_user_offsets(crm_user, value)
    await message.answer(
        _("Reminders set: {list}.").format(list=html.quote(offsets_text(offsets)))
    )


async def calendar_command(message: Message, crm: Crm, actor: Actor) -> None:
    content = await crm.activities.calendar(actor, _("CRM activities"))
    await message.answer_document(
        BufferedInputFile(content, filename="crm-activities.ics"),
        caption=_("Your open activities. Open the file to add them to your calendar."),
    )


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(todo_command, Command("todo"))
    router.message.register(today_command, Command("today"))
    router.message.register(reminders_command, Command("reminders"))
    router.message.register(calendar_command, Command("calendar"))
    router.message.register(element_typed, TodoForm.element, F.text, ~F.text.startswith("/"))
    router.message.register(when_typed, TodoForm.when, F.text, ~F.text.startswith("/"))
    router.message.register(subject_typed, TodoForm.subject, F.text, ~F.text.startswith("/"))
    router.callback_query.register(activity_pressed, ActCb.filter())
    return router
