"""How activities and reminders look in a chat (HTML, localized)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aiogram import html
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ActCb
from bot.cards import code_link, fit, short
from bot.fmt import fmt_datetime, fmt_when
from crm.activities import primary_ref
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


def deadline_text(activity: Activity, timezone: str, now: datetime) -> str:
    when = fmt_when(activity.deadline, timezone)
    if activity.completed_at is None and activity.deadline < now:
        when += " " + _("(overdue)")
    return when


def activity_card(
    activity: Activity, timezone: str, now: datetime, offsets: Sequence[int]
) -> tuple[str, InlineKeyboardMarkup]:
    ref = primary_ref(activity)
    lines = [
        _("✅ Activity created: {subject}").format(subject=html.quote(activity.subject)),
        _("Deadline: {when} ({timezone})").format(
            when=deadline_text(activity, timezone, now), timezone=timezone
        ),
    ]
    if ref is not None:
        lines.append(_("For: {code}").format(code=code_link(ref)))
    if offsets:
        lines.append(_("Reminders: {list}").format(list=offsets_text(offsets)))
    return fit("\n".join(lines)), activity_buttons(activity, snooze=False)


def activity_buttons(activity: Activity, *, snooze: bool) -> InlineKeyboardMarkup:
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
    rows = [first]
    if primary_ref(activity) is not None:
        open_button = button(_("Open"), "open")
        if snooze:
            rows.append([open_button])
        else:
            first.append(open_button)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def reminder_message(
    activity: Activity, timezone: str, now: datetime
) -> tuple[str, InlineKeyboardMarkup]:
    ref = primary_ref(activity)
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
        when = fmt_datetime(activity.deadline, timezone, "short")
        mark = "⚠️ " if activity.deadline < now else ""
        where = f" — {code_link(ref)}" if ref else ""
        lines.append(f"{number}. {mark}{when} {html.quote(short(activity.subject, 80))}{where}")
        kb.button(text=f"✅ {number}", callback_data=ActCb(action="done", id=activity.id))
    kb.adjust(5)
    return fit("\n".join(lines)), kb.as_markup()
