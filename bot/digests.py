"""Scheduled digests as Telegram messages: the settings screen in `/settings`, the manager's
team digest and the rep's morning digest, and the courier's hands on the rate-limited sender."""

from __future__ import annotations

import logging

from aiogram.types import BufferedInputFile
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import get_day_names

from bot.activities import today_list
from bot.callbacks import DigestCb
from bot.cards import fit
from bot.charts import Chart, chart_request, digest_charts, render_charts
from bot.fmt import current_locale, fmt_day, fmt_when
from bot.reports import (
    Page,
    csv_name,
    digest_csv,
    needs_file,
    period_text,
    render_digest,
    unplanned_page,
)
from bot.sender import Blocked, RetryLater, Sender, SendFailed
from crm.context import Crm
from crm.digests import (
    ALL_DAYS,
    QUIET_END,
    QUIET_START,
    TIME_PRESETS,
    DigestJob,
    DigestKind,
    DigestPlan,
    Outcome,
    TodayDigest,
    clock_text,
)
from crm.reports import Digest
from scheduler.digests import Deliver

log = logging.getLogger(__name__)

FILE_LIMIT = 5000  # stalled deals / overdue activities in the attached CSV


# --- the settings screen -------------------------------------------------------------------------
def day_names() -> list[str]:
    names = get_day_names("abbreviated", locale=current_locale())  # 0 = Monday
    return [str(names[d]) for d in ALL_DAYS]


def quiet_text() -> str:
    return f"{clock_text(QUIET_START)}–{clock_text(QUIET_END)}"  # no words: nothing to translate


def digest_settings(plan: DigestPlan, timezone: str, now_text: str | None) -> Page:
    """What the digest settings say, with their buttons. `now_text`: the next digest's moment."""
    if plan.kind is DigestKind.TEAM:
        about = _(
            "Your team's digest: the days since the previous one, on the days and at the time "
            "below."
        )
    else:
        about = _(
            "Your morning digest: today's activities, overdue ones and your deals with no next "
            "step, on the days and at the time below."
        )
    names = day_names()
    days = ", ".join(names[d] for d in ALL_DAYS if d in plan.days)
    lines = [
        _("🗓 <b>Scheduled digest</b>"),
        about,
        "",
        _("Status: on") if plan.enabled else _("Status: off"),
        _("Time: {time} ({timezone})").format(time=clock_text(plan.minute), timezone=timezone),
        _("Days: {days}").format(days=days),
    ]
    if plan.moved:
        lines.append(
            _("{time} is in the quiet hours ({quiet}): it comes at {moved}.").format(
                time=clock_text(plan.minute),
                quiet=quiet_text(),
                moved=clock_text(plan.send_minute),
            )
        )
    if plan.enabled and now_text:
        lines.append(_("Next: {when}").format(when=now_text))
    lines.append(_("Tap a time or the days; “Other time” lets you type one, such as 08:45."))
    kb = InlineKeyboardBuilder()
    if plan.enabled:
        kb.button(text=_("⏸ Turn off"), callback_data=DigestCb(action="off"))
    else:
        kb.button(text=_("▶️ Turn on"), callback_data=DigestCb(action="on"))
    for minute in TIME_PRESETS:
        mark = "• " if minute == plan.minute else ""
        kb.button(
            text=f"{mark}{clock_text(minute)}", callback_data=DigestCb(action="t", value=minute)
        )
    kb.button(text=_("⌨️ Other time"), callback_data=DigestCb(action="typ"))
    for day in ALL_DAYS:
        mark = "✅ " if day in plan.days else ""
        kb.button(text=f"{mark}{names[day]}", callback_data=DigestCb(action="d", value=day))
    kb.adjust(1, 3, 3, 1, 4, 3)
    return Page("\n".join(lines), kb.as_markup())


def time_hint() -> str:
    return _("Type the digest time as HH:MM, for example 08:45. /cancel to stop.")


def bad_time(text: str) -> str:
    return _("“{text}” is not a time. Type it as HH:MM, for example 08:45, or /cancel.").format(
        text=text
    )


def time_set(plan: DigestPlan) -> str:
    text = _("The digest comes at {time}.").format(time=clock_text(plan.send_minute))
    if plan.moved:
        text += " " + _("{time} is in the quiet hours ({quiet}): it comes at {moved}.").format(
            time=clock_text(plan.minute), quiet=quiet_text(), moved=clock_text(plan.send_minute)
        )
    return text


# --- the digests -------------------------------------------------------------------------------
def team_pages(digest: Digest) -> list[Page]:
    title = _("📊 <b>Digest: {period}</b>").format(period=period_text(digest.period))
    return render_digest(digest, None, title=title)


def today_pages(today: TodayDigest) -> list[Page]:
    lines = [_("☀️ <b>Good morning! Your day, {day}</b>").format(day=fmt_day(today.day))]
    if today.overdue:
        lines.append(
            _("⚠️ {n} overdue activity", "⚠️ {n} overdue activities", today.overdue).format(
                n=today.overdue
            )
        )
    text, markup = today_list(list(today.activities), today.timezone, today.now)
    pages = [Page(fit("\n".join(lines) + "\n\n" + text), markup)]
    if today.unplanned_total:
        pages.append(unplanned_page(today.unplanned, today.unplanned_total))
    return pages


def next_text(plan: DigestPlan, crm: Crm, timezone: str) -> str | None:
    due = plan.next_due(crm.runtime.clock.now(), timezone)
    return fmt_when(due, timezone) if due is not None else None


# --- the courier's hands -----------------------------------------------------------------------
def make_deliver(sender: Sender, i18n: I18n, *, max_wait: float | None = None) -> Deliver:
    """Each digest in its reader's language; a 403 marks the reader unreachable."""

    async def deliver(crm: Crm, job: DigestJob) -> Outcome | None:
        user = await crm.digests.user(job)
        if user is None or user.telegram_id is None:
            return Outcome.SKIPPED
        full: Digest | None = None
        charts: list[Chart] = []
        with i18n.context(), i18n.use_locale(user.locale or i18n.default_locale):
            if job.kind is DigestKind.TEAM:
                digest = await crm.digests.team(user, job)
                pages = team_pages(digest)
                charts = digest_charts(await crm.reports.charts(crm.digests.actor(user), digest))
                if needs_file(digest):
                    full = await crm.reports.digest(
                        crm.digests.actor(user), digest.period, digest.filters, limit=FILE_LIMIT
                    )
                caption = _("The whole report, for a spreadsheet.")
            else:
                pages = today_pages(await crm.digests.today(user, job))
                caption = ""
        sent = 0
        try:
            for page in pages:
                await sender.send_message(
                    user.telegram_id, page.text, reply_markup=page.markup, max_wait=max_wait
                )
                sent += 1
            request = chart_request(user.telegram_id, await render_charts(charts))
            if request is not None:  # drawn in a worker thread, like /digest's
                await sender.call(user.telegram_id, request)
            if full is not None:
                document = BufferedInputFile(digest_csv(full), filename=csv_name(full))
                await sender.send_document(user.telegram_id, document, caption=caption)
        except Blocked:
            await crm.users.mark_unreachable(user)
            return Outcome.SKIPPED
        except RetryLater:
            # Nothing out yet: try again soon. Part out: the rest is not worth a repeat.
            return None if sent == 0 else Outcome.SENT
        except SendFailed as exc:
            log.warning("digest %s to user %s failed: %s", job.key, user.id, exc.reason[:200])
            return Outcome.SENT if sent else Outcome.SKIPPED
        return Outcome.SENT

    return deliver
