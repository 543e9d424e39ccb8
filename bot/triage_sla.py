"""What the SLA loop says, and its hands on the rate-limited sender: the head's private message
about an untaken request (with Open), and the auto-reply to a client outside working hours."""

from __future__ import annotations

import logging

from aiogram import html
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from babel.dates import get_day_names

from bot.callbacks import TriageCb
from bot.cards import short
from bot.sender import Blocked, RetryLater, Sender, SendFailed
from crm.triage_sla import Escalation
from crm.work_hours import Schedule, WorkHours
from scheduler.triage_sla import Escalate, Told

log = logging.getLogger(__name__)

OPEN = "open"  # TriageCb action: the escalated request's card, in private


def escalation_message(escalation: Escalation) -> tuple[str, InlineKeyboardMarkup]:
    request, queue = escalation.request, escalation.queue
    minutes = max(1, int(escalation.waited.total_seconds() // 60))
    group = html.quote(queue.title or str(queue.chat_id))
    lines = [
        _(
            "⚠️ Nobody has taken request #{id} in {group} for {n} minute.",
            "⚠️ Nobody has taken request #{id} in {group} for {n} minutes.",
            minutes,
        ).format(id=request.id, group=group, n=minutes)
    ]
    who = [p for p in (request.client_name, request.phone, request.email) if p]
    if who:
        lines.append(_("From: {client}").format(client=html.quote(" · ".join(who))))
    if request.text:
        lines.append(html.quote(short(request.text, 300)))
    button = InlineKeyboardButton(
        text=_("🔎 Open"), callback_data=TriageCb(action=OPEN, id=request.id).pack()
    )
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=[[button]])


def make_escalate(sender: Sender, i18n: I18n, *, max_wait: float | None = None) -> Escalate:
    """Each head in their own language; a 403 marks the head unreachable."""

    async def escalate(escalation: Escalation) -> Told:
        delivered, blocked, retry = 0, [], None
        for head in escalation.heads:
            if head.telegram_id is None:
                continue
            with i18n.context(), i18n.use_locale(head.locale or i18n.default_locale):
                text, markup = escalation_message(escalation)
            try:
                await sender.send_message(
                    head.telegram_id, text, reply_markup=markup, max_wait=max_wait
                )
            except Blocked:
                blocked.append(head.id)
                continue
            except RetryLater as exc:
                retry = max(retry or 0.0, exc.retry_after)
                continue
            except SendFailed as exc:  # retries are spent, or Telegram refused it: given up
                log.warning("escalation to user %s failed: %s", head.id, exc.reason[:200])
                continue
            delivered += 1
        return Told(delivered, tuple(blocked), retry)

    return escalate


def hours_text(hours: WorkHours, locale: str) -> str:
    """`Mon–Fri 09:00–18:00; Sat 10:00–14:00` with the locale's day names."""
    names = get_day_names("abbreviated", locale=locale)  # 0 = Monday
    parts = []
    for days, ranges in hours.weekly():
        first, last = names[days[0] - 1], names[days[-1] - 1]
        span = first if len(days) == 1 else f"{first}–{last}"
        parts.append(f"{span} " + ", ".join(f"{a}–{b}" for a, b in ranges))
    return "; ".join(parts)


def auto_reply_text(schedule: Schedule, locale: str) -> str:
    """What a client who wrote while the queue is closed is told (sent by the relay)."""
    text = _("Thank you for your message! We are not at work right now, and we will answer as "
             "soon as we are back.")  # fmt: skip
    if schedule.hours is not None:
        hours = _("Our working hours: {hours} ({zone}).").format(
            hours=hours_text(schedule.hours, locale), zone=html.quote(schedule.zone.key)
        )
        text = f"{text}\n{hours}"
    return text
