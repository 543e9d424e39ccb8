"""How activities and reminders look in a chat (HTML, localized)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aiogram import html
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ActCb, TodoCb
from bot.cards import code_link, fit, short
from bot.fmt import fmt_time, fmt_when, fmt_zone
from crm.activities import CalendarItem, client_ref, due_offsets, primary_ref
from crm.reminders import ReminderActivity
from storage.models import Activity


def offsets_text(offsets: Sequence[int]) -> str:
    parts = []
    for minutes in offsets:
        if minutes == 0:
            parts.append(_("at the deadline"))
        elif minutes % 60 == 0:
            hours = minutes // 60
            parts.append(_("{n} hour before", "{n} hours before", hours).format(n=hours))
        else:
            parts.append(_("{n} minute before", "{n} minutes before", minutes).format(n=minutes))
    return ", ".join(parts)


def deadline_text(activity: Activity | ReminderActivity, timezone: str, now: datetime) -> str:
    when = fmt_when(activity.deadline, timezone)
    if activity.completed_at is None and activity.deadline < now:
        when += " " + _("(overdue)")
    return when


def deadline_line(activity: Activity, timezone: str, now: datetime) -> str:
    """`Deadline: śr., 25 lis 2026, 10:00 (Warszawa)`: the zone as the reader knows it."""
    return _("Deadline: {when} ({timezone})").format(
        when=deadline_text(activity, timezone, now),
        timezone=html.quote(fmt_zone(timezone, activity.deadline)),
    )


def reminders_line(activity: Activity, now: datetime, offsets: Sequence[int]) -> str | None:
    if not offsets:
        return None
    due = due_offsets(activity.deadline, offsets, now)
    if not due:
        return _("No reminders: their time has already passed.")
    return _("Reminders: {list}").format(list=offsets_text(due))


def activity_card(
    activity: Activity, timezone: str, now: datetime, offsets: Sequence[int]
) -> tuple[str, InlineKeyboardMarkup]:
    """What /todo answers once the activity is created."""
    ref = primary_ref(activity)
    lines = [
        _("✅ Activity created: {subject}").format(subject=html.quote(activity.subject)),
        deadline_line(activity, timezone, now),
    ]
    if ref is not None:
        lines.append(_("For: {code}").format(code=code_link(ref)))
    if (reminders := reminders_line(activity, now, offsets)) is not None:
        lines.append(reminders)
    return fit("\n".join(lines)), manage_buttons(activity)


def activity_view(
    activity: Activity, timezone: str, now: datetime, *, title: str | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    """The activity itself ("Open" on a reminder, after an edit): what, when, for which element."""
    ref, client = primary_ref(activity), client_ref(activity)
    lines = [
        title or _("📌 Activity: {subject}").format(subject=html.quote(activity.subject)),
        deadline_line(activity, timezone, now),
    ]
    if activity.location:
        lines.append(_("Where: {place}").format(place=html.quote(short(activity.location, 200))))
    if ref is not None:
        lines.append(_("For: {code}").format(code=code_link(ref)))
    if client is not None and client != ref:
        lines.append(_("Client: {code}").format(code=code_link(client)))
    if activity.description:
        lines.append(html.quote(short(activity.description, 500)))
    if activity.completed_at is not None:
        lines.append(_("Completed: {when}").format(when=fmt_when(activity.completed_at, timezone)))
    return fit("\n".join(lines)), manage_buttons(activity)


def manage_buttons(activity: Activity) -> InlineKeyboardMarkup:
    """Done, Edit, Reschedule, Delete (a completed activity can only be deleted)."""

    def button(text: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=text, callback_data=ActCb(action=action, id=activity.id).pack()
        )

    delete = button(_("🗑 Delete"), "del")
    if activity.completed_at is not None:
        return InlineKeyboardMarkup(inline_keyboard=[[delete]])
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("✅ Done"), "done"), button(_("✏️ Edit"), "edit")],
            [button(_("🕒 Reschedule"), "move"), delete],
        ]
    )


def activity_buttons(
    activity: Activity | ReminderActivity, *, snooze: bool
) -> InlineKeyboardMarkup:
    # Built directly: aiogram's keyboard builder deep-copies on every button, which was a
    # fifth of a reminder's CPU in the reminder benchmark.
    def button(text: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=text, callback_data=ActCb(action=action, id=activity.id).pack()
        )

    first = [button(_("✅ Done"), "done")]
    if snooze:
        first += [
            button(_("+15 min"), "s15"),
            button(_("+1 h"), "s60"),
            button(_("Tomorrow"), "tmr"),
        ]
    # "Open" shows the activity (with its element's code), from which it can be changed.
    open_button = button(_("Open"), "open")
    if snooze:
        return InlineKeyboardMarkup(inline_keyboard=[first, [open_button]])
    return InlineKeyboardMarkup(inline_keyboard=[[*first, open_button]])


def reminder_message(
    activity: ReminderActivity, timezone: str, now: datetime
) -> tuple[str, InlineKeyboardMarkup]:
    ref = activity.ref
    lines = [
        _("⏰ Reminder: {subject}").format(subject=html.quote(activity.subject)),
        _("Deadline: {when}").format(when=deadline_text(activity, timezone, now)),
    ]
    if activity.location:
        lines.append(_("Where: {place}").format(place=html.quote(short(activity.location, 200))))
    if ref is not None:
        lines.append(_("For: {code}").format(code=code_link(ref)))
    return fit("\n".join(lines)), activity_buttons(activity, snooze=True)


def today_list(
    activities: Sequence[Activity], timezone: str, now: datetime
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not activities:
        return _("Nothing due today. 🎉"), None
    lines = [_("<b>Today and overdue</b>")]
    kb = InlineKeyboardBuilder()
    for number, activity in enumerate(activities[:20], start=1):
        ref = primary_ref(activity)
        when = fmt_when(activity.deadline, timezone)
        mark = "⚠️ " if activity.deadline < now else ""
        where = f" — {code_link(ref)}" if ref else ""
        lines.append(f"{number}. {mark}{when} {html.quote(short(activity.subject, 80))}{where}")
        kb.button(text=f"✅ {number}", callback_data=ActCb(action="done", id=activity.id))
    kb.adjust(5)
    return fit("\n".join(lines)), kb.as_markup()


def delete_question(activity: Activity) -> tuple[str, InlineKeyboardMarkup]:
    text = _("Delete the activity “{subject}”? Its reminders are deleted too.").format(
        subject=html.quote(short(activity.subject, 200))
    )
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("🗑 Yes, delete"),
                    callback_data=ActCb(action="delok", id=activity.id).pack(),
                ),
                InlineKeyboardButton(
                    text=_("Keep it"), callback_data=ActCb(action="delno", id=activity.id).pack()
                ),
            ]
        ]
    )
    return text, markup


def past_question(
    at: datetime, tomorrow: datetime, timezone: str
) -> tuple[str, InlineKeyboardMarkup]:
    """`dziś o 18` typed at 20:30: tomorrow at 18:00, today anyway (overdue), or neither."""
    text = _("{time} today has already passed. Did you mean tomorrow?").format(
        time=fmt_time(at, timezone)
    )
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Tomorrow {time}").format(time=fmt_time(tomorrow, timezone)),
                    callback_data=TodoCb(action="tmr").pack(),
                ),
                InlineKeyboardButton(
                    text=_("Keep today"), callback_data=TodoCb(action="keep").pack()
                ),
            ],
            [InlineKeyboardButton(text=_("Cancel"), callback_data=TodoCb(action="no").pack())],
        ]
    )
    return text, markup


def past_refusal(at: datetime, timezone: str) -> str:
    """`wczoraj 10:00`: the date was read, and it is in the past."""
    return _(
        "That date is in the past: {when}. Send a later one, for example "
        "<code>jutro 10:00</code> or <code>w piątek o 15</code>."
    ).format(when=fmt_when(at, timezone))


def calendar_description(item: CalendarItem) -> str:
    """A calendar entry's DESCRIPTION (plain text): who, for what, which number to call."""
    lines = []
    if item.client:
        lines.append(_("Client: {code}").format(code=item.client))
    if item.element is not None:
        element = item.element.code
        if item.element_title:
            element += f" — {item.element_title}"
        lines.append(_("For: {code}").format(code=element))
    if item.phone:
        lines.append(_("Phone: {phone}").format(phone=item.phone))
    if item.activity.description:
        lines.append(item.activity.description)
    return "\n".join(lines)
