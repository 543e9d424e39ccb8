"""`/todo CODE when text`, `/today`, the activity and reminder buttons, and `/reminders`.

The /todo dialog fills in what is missing: the element, the deadline, then the subject. A
deadline that has already passed is never created silently overdue: earlier today ("dziś o
18" at 20:30) asks whether tomorrow was meant, an earlier day ("wczoraj 10:00") is refused
with a hint, and the subject typed so far is kept. An activity's card has Done, Edit,
Reschedule and Delete; rights are decided by the activity service.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram import F, Router, html
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.activities import (
    activity_card,
    activity_view,
    calendar_description,
    delete_question,
    offsets_text,
    past_question,
    past_refusal,
    today_list,
)
from bot.callbacks import ActCb, TodoCb
from bot.cards import short
from bot.fmt import fmt_when
from bot.middlewares.dialogs import answered_by
from bot.pressed import Replier, pressed
from crm.activities import Snooze, parse_offsets
from crm.codes import ElementRef, parse_code
from crm.context import Crm
from crm.errors import NotFound
from crm.permissions import Actor
from storage.models import Activity, User

# Where an answer goes: the user's message, or the chat of the pressed button.
Chat = Replier


class TodoForm(StatesGroup):
    element = State()
    when = State()
    subject = State()
    past = State()  # "that time has passed today: tomorrow?" (buttons, or a new date typed)


answered_by(TodoForm.past, TodoCb)  # its buttons answer it; any other press ends the dialog


class ActivityForm(StatesGroup):
    subject = State()  # Edit: the new subject
    when = State()  # Reschedule: the new deadline


def date_hint() -> str:
    return _(
        "I couldn't read a date there. Try: <code>jutro 10:00</code>, <code>w piątek o 15</code>, "
        "<code>завтра в 10</code>, <code>in 2 hours</code>."
    )


def has_subject(text: str) -> bool:
    """A subject says what to do: "10" or "—" left over after a deadline is not one."""
    return any(char.isalpha() for char in text)


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
        await state.update_data(todo_ref=ref.code, todo_subject=None)
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
    subject = deadline.rest if has_subject(deadline.rest) else ""
    await deadline_read(message, state, crm, actor, user, ref, subject, deadline.at)


async def deadline_read(
    chat: Chat,
    state: FSMContext,
    crm: Crm,
    actor: Actor,
    user: User,
    ref: ElementRef,
    subject: str,
    at: datetime,
) -> None:
    """A deadline came: refuse or question it if it is past, else go on to the subject."""
    past = crm.activities.past(user, at)
    timezone = crm.users.timezone_of(user)
    if past is not None and past.tomorrow is None:
        await state.set_state(TodoForm.when)
        await state.update_data(todo_ref=ref.code, todo_subject=subject[:255] or None)
        await chat.answer(past_refusal(at, timezone))
        return
    if past is not None and past.tomorrow is not None:
        await state.set_state(TodoForm.past)
        await state.update_data(
            todo_ref=ref.code,
            todo_subject=subject[:255] or None,
            todo_at=at.isoformat(),
            todo_alt=past.tomorrow.isoformat(),
            act_id=None,
        )
        text, markup = past_question(at, past.tomorrow, timezone)
        await chat.answer(text, reply_markup=markup)
        return
    await deadline_known(chat, state, crm, actor, user, ref, subject, at)


async def deadline_known(
    chat: Chat,
    state: FSMContext,
    crm: Crm,
    actor: Actor,
    user: User,
    ref: ElementRef,
    subject: str,
    at: datetime,
) -> None:
    if not subject:
        await state.set_state(TodoForm.subject)
        await state.update_data(todo_ref=ref.code, todo_at=at.isoformat())
        await chat.answer(_("What is to be done?"))
        return
    await create(chat, state, crm, actor, user, ref, subject, at)


async def create(
    chat: Chat,
    state: FSMContext,
    crm: Crm,
    actor: Actor,
    user: User,
    ref: ElementRef,
    subject: str,
    at: datetime,
) -> None:
    await state.clear()
    activity = await crm.activities.create(actor, ref, subject, at)
    offsets = parse_offsets(user.reminder_offsets)
    text, markup = activity_card(
        activity, crm.users.timezone_of(user), crm.runtime.clock.now(), offsets
    )
    await chat.answer(text, reply_markup=markup)


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
        await deadline_read(message, state, crm, actor, crm_user, ref, subject, at)
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
    subject = message.text or ""
    if not has_subject(subject):
        await message.answer(_("What is to be done?"))
        return
    at = datetime.fromisoformat(data["todo_at"])
    await create(message, state, crm, actor, crm_user, ref, subject, at)


async def past_typed(
    message: Message, state: FSMContext, crm: Crm, actor: Actor, crm_user: User
) -> None:
    """Instead of a button, a new date was typed to the "tomorrow?" question."""
    data = await state.get_data()
    if data.get("act_id"):
        await state.set_state(ActivityForm.when)
        await new_deadline_typed(message, state, crm, actor, crm_user)
        return
    await state.set_state(TodoForm.when)
    await when_typed(message, state, crm, actor, crm_user)


async def past_answered(
    query: CallbackQuery,
    callback_data: TodoCb,
    state: FSMContext,
    crm: Crm,
    actor: Actor,
    crm_user: User,
) -> None:
    """Tomorrow at the same time, today anyway (overdue, no reminders), or nothing."""
    data = await state.get_data()
    chat = pressed(query)
    if await state.get_state() != TodoForm.past.state or "todo_alt" not in data:
        await query.answer(_("This question is no longer open."), show_alert=True)
        return
    await query.answer()
    await chat.drop_buttons()
    action = callback_data.action
    if action not in ("tmr", "keep"):
        await state.clear()
        await chat.answer(_("Cancelled. Nothing was changed."))
        return
    at = datetime.fromisoformat(data["todo_alt" if action == "tmr" else "todo_at"])
    if data.get("act_id"):
        await state.clear()
        await reschedule(chat, crm, actor, crm_user, int(data["act_id"]), at)
        return
    ref = parse_code(str(data.get("todo_ref", "")))
    if ref is None:
        await state.clear()
        return
    subject = str(data.get("todo_subject") or "")
    await deadline_known(chat, state, crm, actor, crm_user, ref, subject, at)


async def today_command(message: Message, crm: Crm, actor: Actor, crm_user: User) -> None:
    timezone = crm.users.timezone_of(crm_user)
    activities = await crm.activities.today(actor, timezone)
    text, markup = today_list(activities, timezone, crm.runtime.clock.now())
    await message.answer(text, reply_markup=markup)


async def activity_pressed(
    query: CallbackQuery,
    callback_data: ActCb,
    state: FSMContext,
    crm: Crm,
    actor: Actor,
    crm_user: User,
) -> None:
    timezone = crm.users.timezone_of(crm_user)
    action, activity_id = callback_data.action, callback_data.id
    chat = pressed(query)
    if action == "done":
        activity = await crm.activities.complete(actor, activity_id)
        await query.answer(_("Done: {subject}").format(subject=activity.subject[:150]))
        await chat.drop_buttons()
        return
    if action in ("s15", "s60", "tmr"):
        snooze = (
            Snooze(tomorrow=True)
            if action == "tmr"
            else Snooze(minutes=15 if action == "s15" else 60)
        )
        due = await crm.activities.snooze(actor, activity_id, snooze, timezone)
        await query.answer(_("I'll remind you again: {when}").format(when=fmt_when(due, timezone)))
        return
    if action == "open":
        activity = await crm.activities.get(actor, activity_id)
        text, markup = activity_view(activity, timezone, crm.runtime.clock.now())
        await query.answer()
        await chat.answer(text, reply_markup=markup)
        return
    if action in ("edit", "move"):
        activity = await crm.activities.editable(actor, activity_id)  # refuse before asking
        if action == "move" and activity.completed_at is not None:
            await query.answer(_("This activity is already done."), show_alert=True)
            return
        await state.clear()
        await state.update_data(act_id=activity.id)
        subject = html.quote(short(activity.subject, 200))
        if action == "edit":
            await state.set_state(ActivityForm.subject)
            question = _("Send the new subject for “{subject}”, or /cancel.")
        else:
            await state.set_state(ActivityForm.when)
            question = _(
                "When is “{subject}” due now? For example: jutro 10:00, w piątek o 15, "
                "za 2 godziny. Or /cancel."
            )
        await query.answer()
        await chat.answer(question.format(subject=subject))
        return
    if action == "del":
        activity = await crm.activities.editable(actor, activity_id)
        text, markup = delete_question(activity)
        await query.answer()
        await chat.answer(text, reply_markup=markup)
        return
    if action == "delok":
        activity = await crm.activities.delete(actor, activity_id)
        await query.answer()
        done = _("Deleted: {subject}").format(subject=html.quote(short(activity.subject, 200)))
        await chat.edit(done)
        return
    if action == "delno":
        await query.answer(_("Nothing was deleted."))
        await chat.drop_buttons()
        return
    raise NotFound("action", action[:10])


async def pending_activity(state: FSMContext) -> int | None:
    act_id = (await state.get_data()).get("act_id")
    if not isinstance(act_id, int):
        await state.clear()
        return None
    return act_id


async def new_subject_typed(
    message: Message, state: FSMContext, crm: Crm, actor: Actor, crm_user: User
) -> None:
    act_id = await pending_activity(state)
    if act_id is None:
        return
    subject = message.text or ""
    if not has_subject(subject):
        await message.answer(_("What is to be done?"))
        return
    await state.clear()
    activity = await crm.activities.edit_subject(actor, act_id, subject)
    timezone = crm.users.timezone_of(crm_user)
    title = _("✏️ Subject changed: {subject}").format(subject=html.quote(activity.subject))
    text, markup = activity_view(activity, timezone, crm.runtime.clock.now(), title=title)
    await message.answer(text, reply_markup=markup)


async def new_deadline_typed(
    message: Message, state: FSMContext, crm: Crm, actor: Actor, crm_user: User
) -> None:
    act_id = await pending_activity(state)
    if act_id is None:
        return
    at = crm.activities.read_when(crm_user, message.text or "")
    if at is None:
        await message.answer(date_hint())
        return
    timezone = crm.users.timezone_of(crm_user)
    past = crm.activities.past(crm_user, at)
    if past is not None and past.tomorrow is None:
        await message.answer(past_refusal(at, timezone))
        return
    if past is not None and past.tomorrow is not None:
        await state.set_state(TodoForm.past)
        await state.update_data(
            act_id=act_id, todo_at=at.isoformat(), todo_alt=past.tomorrow.isoformat()
        )
        text, markup = past_question(at, past.tomorrow, timezone)
        await message.answer(text, reply_markup=markup)
        return
    await state.clear()
    await reschedule(message, crm, actor, crm_user, act_id, at)


async def reschedule(
    chat: Chat, crm: Crm, actor: Actor, user: User, act_id: int, at: datetime
) -> Activity:
    activity = await crm.activities.reschedule(actor, act_id, at)
    timezone = crm.users.timezone_of(user)
    title = _("🕒 Rescheduled: {subject}").format(subject=html.quote(activity.subject))
    text, markup = activity_view(activity, timezone, crm.runtime.clock.now(), title=title)
    await chat.answer(text, reply_markup=markup)
    return activity


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
    export = await crm.activities.calendar(actor)
    if not export.items:
        await message.answer(
            _(
                "You have no open activities, so there is nothing to add to a calendar. "
                "Plan one with /todo."
            )
        )
        return
    content = export.to_ics(_("CRM activities"), calendar_description)
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
    typed = (F.text, ~F.text.startswith("/"))
    router.message.register(element_typed, TodoForm.element, *typed)
    router.message.register(when_typed, TodoForm.when, *typed)
    router.message.register(subject_typed, TodoForm.subject, *typed)
    router.message.register(past_typed, TodoForm.past, *typed)
    router.message.register(new_subject_typed, ActivityForm.subject, *typed)
    router.message.register(new_deadline_typed, ActivityForm.when, *typed)
    router.callback_query.register(activity_pressed, ActCb.filter())
    router.callback_query.register(past_answered, TodoCb.filter())
    return router
