"""The SLA's side of a triage group: `/triage hours …` and `/triage escalate …` (called from
`handlers.triage.triage_command`), and Open under a head's escalation message."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import TriageCb
from bot.fmt import current_locale
from bot.pressed import pressed
from bot.triage import render_request
from bot.triage_sla import OPEN, hours_text
from crm.context import Crm
from crm.errors import InvalidValue
from crm.permissions import Actor
from crm.timezones import resolve_timezone
from crm.work_hours import Schedule
from storage.models import TriageQueue

SLA_VERBS = frozenset({"hours", "escalate"})


async def sla_command(
    message: Message, words: list[str], crm: Crm, actor: Actor, queue: TriageQueue
) -> None:
    """`words`: the command's arguments, the verb first."""
    verb, args = words[0].lower(), words[1:]
    if verb == "escalate":
        if len(args) != 1 or not args[0].isdecimal():
            await message.answer(escalate_usage())
            return
        await crm.triage_sla.set_escalation(actor, queue, int(args[0][:7]))
        await message.answer(escalate_line(queue))
        return
    if len(args) == 1 and args[0].lower() == "off":
        await crm.triage_sla.set_hours(actor, queue, None)
        await message.answer(hours_line(queue, crm))
        return
    zone = None
    if args and any(c.isalpha() for c in args[-1]):
        zone = resolve_timezone(args[-1])
        if zone is None:
            await message.answer(_("Unknown time zone: {zone}.").format(zone=args[-1][:64]))
            return
        args = args[:-1]
    if not args:
        await message.answer(hours_line(queue, crm) + "\n\n" + hours_usage())
        return
    try:
        await crm.triage_sla.set_hours(actor, queue, " ".join(args), zone)
    except InvalidValue as exc:
        if exc.field != "work_hours":
            raise
        await message.answer(
            _("I could not read the working hours at “{part}”.").format(part=exc.value[:40])
            + "\n"
            + hours_usage()
        )
        return
    await message.answer(hours_line(queue, crm))


def hours_line(queue: TriageQueue, crm: Crm) -> str:
    if not queue.work_hours:
        return _("Working hours: always open.")
    zone = queue.timezone or crm.runtime.config.default_timezone
    schedule = Schedule.of(queue.work_hours, zone)
    assert schedule.hours is not None  # work_hours is set
    return _(
        "Working hours: {hours} ({zone}). Outside them the queue time waits, and a client "
        "who writes to the bot gets an auto-reply."
    ).format(hours=hours_text(schedule.hours, current_locale()), zone=zone)


def hours_usage() -> str:
    return _(
        "Usage: <code>/triage hours 1-5 09:00-18:00</code> (days 1–7, Monday is 1), several "
        "ranges: <code>/triage hours 1-5 09:00-13:00 14:00-18:00; 6 10:00-14:00</code>, a time "
        "zone at the end: <code>… Europe/Warsaw</code>; <code>/triage hours off</code>: always "
        "open."
    )


def escalate_line(queue: TriageQueue) -> str:
    if queue.escalate_seconds <= 0:
        return _("Escalation is off: untaken requests are not sent to the department head.")
    return _(
        "Escalation: a request untaken for {seconds} s goes to the department head in private."
    ).format(seconds=queue.escalate_seconds)


def escalate_usage() -> str:
    return _(
        "Usage: <code>/triage escalate 600</code> (seconds untaken before the department head "
        "is told; 0: never)."
    )


async def open_pressed(
    query: CallbackQuery, callback_data: TriageCb, crm: Crm, actor: Actor
) -> None:
    """Open under an escalation: the request's card as the group sees it."""
    view = await crm.triage_sla.open_for(actor, callback_data.id)
    text, _markup = render_request(view)
    await query.answer()
    await pressed(query).answer(text)


def setup() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(open_pressed, TriageCb.filter(F.action == OPEN))
    return router
