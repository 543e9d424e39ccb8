"""Digests and reports as Telegram messages: a summary with the per-rep figures, then the
stalled deals and the overdue activities with one-tap actions; a CSV with everything when a
message would not hold it. Every message stays under Telegram's 4096 characters."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_interval, format_skeleton, format_timedelta
from babel.numbers import format_percent

from bot.callbacks import ActCb, ElCb, ReportCb
from bot.cards import code_link, fit, short
from bot.fmt import current_locale, fmt_date, fmt_money, fmt_when
from crm.codes import PREFIXES, ElementRef
from crm.periods import Period
from crm.reports import (
    Digest,
    Figures,
    IdleClient,
    OverdueActivity,
    RepFigures,
    StalledDeal,
    Unclaimed,
)

MAX_REPS = 25  # rows of the per-rep table in the message; the CSV has them all
MAX_ITEMS = 10  # stalled deals / overdue activities with buttons in one message
TITLE = 50


@dataclass(frozen=True, slots=True)
class Page:
    text: str
    markup: InlineKeyboardMarkup | None = None


def period_text(period: Period) -> str:
    locale = current_locale()
    if period.first == period.last:
        return format_skeleton("yMMMEd", period.first, locale=locale)
    return format_interval(period.first, period.last, skeleton="yMMMd", locale=locale)


def percent(value: Decimal | None) -> str:
    return "—" if value is None else format_percent(value, locale=current_locale())


def _money(amount: Decimal, currency: str) -> str:
    return fmt_money(amount, currency)


def summary_lines(figures: Figures, currency: str, unplanned: int | None = None) -> list[str]:
    f = figures
    lines = [
        _("🆕 {n} new lead", "🆕 {n} new leads", f.new_leads).format(n=f.new_leads)
        + " · "
        + _("{n} new deal", "{n} new deals", f.new_deals).format(n=f.new_deals),
        _("🔀 {n} stage move", "🔀 {n} stage moves", f.stage_moves).format(n=f.stage_moves),
        _("✅ {n} deal won: {amount}", "✅ {n} deals won: {amount}", f.won).format(
            n=f.won, amount=_money(f.won_amount, currency)
        ),
        _("❌ {n} deal lost: {amount}", "❌ {n} deals lost: {amount}", f.lost).format(
            n=f.lost, amount=_money(f.lost_amount, currency)
        ),
        _(
            "📁 {n} deal in the period: {amount}, conversion {conversion}",
            "📁 {n} deals in the period: {amount}, conversion {conversion}",
            f.deals,
        ).format(
            n=f.deals,
            amount=_money(f.deals_amount, currency),
            conversion=percent(f.conversion),
        ),
        _("⏰ {n} overdue activity", "⏰ {n} overdue activities", f.overdue).format(n=f.overdue)
        + " · "
        + _("💤 {n} stalled deal", "💤 {n} stalled deals", f.stalled).format(n=f.stalled),
    ]
    if unplanned is not None:
        lines.append(
            _(
                "🗓 {n} open deal with no next activity (/unplanned)",
                "🗓 {n} open deals with no next activity (/unplanned)",
                unplanned,
            ).format(n=unplanned)
        )
    return lines


def waiting_text(waiting: timedelta) -> str:
    return format_timedelta(waiting, threshold=1.5, locale=current_locale())


def unclaimed_line(unclaimed: Unclaimed) -> str:
    """The triage requests nobody has taken, now, with how long the oldest has waited."""
    n = unclaimed.requests
    if not n:
        return _("📥 No unclaimed requests in triage")
    return _(
        "📥 {n} unclaimed request in triage, waiting {wait}",
        "📥 {n} unclaimed requests in triage, the oldest waiting {wait}",
        n,
    ).format(n=n, wait=waiting_text(unclaimed.waiting))


def rep_line(number: int, rep: RepFigures, currency: str) -> str:
    """One row of Bitrix24's "manager efficiency": leads, deals, lost, sum of deals, won, sum
    won, conversion."""
    f = rep.figures
    name = html.quote(short(rep.name, 40)) if rep.user_id else _("(nobody responsible)")
    return _(
        "{number}. <b>{name}</b>: leads {leads} · deals {deals} ({deals_sum}) · lost {lost} · "
        "won {won} ({won_sum}) · conversion {conversion}"
    ).format(
        number=number,
        name=name,
        leads=f.new_leads,
        deals=f.deals,
        deals_sum=_money(f.deals_amount, currency),
        lost=f.lost,
        won=f.won,
        won_sum=_money(f.won_amount, currency),
        conversion=percent(f.conversion),
    )


def needs_file(digest: Digest) -> bool:
    """Whether the messages leave something out that the CSV holds."""
    t = digest.totals
    return (
        len(digest.reps) > MAX_REPS
        or t.stalled > min(len(digest.stalled), MAX_ITEMS)
        or t.overdue > min(len(digest.overdue), MAX_ITEMS)
    )


def render_digest(
    digest: Digest, pipeline: str | None = None, *, title: str | None = None
) -> list[Page]:
    """The digest as messages: the summary (with the per-rep table), then the stalled deals
    and the overdue activities, each item with its buttons."""
    heading = title or _("📊 <b>Report: {period}</b>").format(period=period_text(digest.period))
    lines = [heading]
    filters = []
    if digest.rep_name is not None:
        filters.append(_("Rep: {name}").format(name=html.quote(digest.rep_name)))
    if pipeline is not None:
        filters.append(_("Pipeline: {name}").format(name=html.quote(pipeline)))
    if filters:
        lines.append(" · ".join(filters))
    lines += ["", *summary_lines(digest.totals, digest.currency, digest.unplanned)]
    if digest.unconverted:
        missing = ", ".join(
            _("{currency}: {n} deal", "{currency}: {n} deals", u.deals).format(
                currency=u.currency, n=u.deals
            )
            for u in digest.unconverted
        )
        lines.append(
            _("⚠️ No rate for the deal's day, left out of the sums: {list}. See /currency.").format(
                list=missing
            )
        )
    if digest.unclaimed is not None:
        lines.append(unclaimed_line(digest.unclaimed))
    if len(digest.reps) > 1 or (digest.reps and digest.rep_name is None and len(digest.reps) == 1
                                and digest.reps[0].user_id is None):  # fmt: skip
        lines += ["", _("<b>Per rep</b>")]
        for number, rep in enumerate(digest.reps[:MAX_REPS], start=1):
            lines.append(rep_line(number, rep, digest.currency))
        hidden = len(digest.reps) - MAX_REPS
        if hidden > 0:
            lines.append(
                _(
                    "…and {n} more rep: see the attached file.",
                    "…and {n} more reps: see the attached file.",
                    hidden,
                ).format(n=hidden)
            )
    pages = [Page(fit("\n".join(lines)))]
    if digest.stalled:
        pages.append(stalled_page(digest.stalled, digest.totals.stalled))
    if digest.overdue:
        pages.append(overdue_page(digest.overdue, digest.totals.overdue, digest.period.timezone))
    return pages


def legend() -> str:
    return _("🔍 open · 💤 snooze · 👤 reassign · 📣 nudge the rep")


def stalled_page(items: Sequence[StalledDeal], total: int) -> Page:
    lines = [
        _(
            "💤 <b>{n} stalled deal</b> (no work in the period)",
            "💤 <b>{n} stalled deals</b> (no work in the period)",
            total,
        ).format(n=total)
    ]
    kb = InlineKeyboardBuilder()
    for number, item in enumerate(items[:MAX_ITEMS], start=1):
        idle = _("{n} day without work", "{n} days without work", item.days_idle).format(
            n=item.days_idle
        )
        parts = [f"{number}. {code_link(item.ref)} {html.quote(short(item.title, TITLE))}"]
        if item.responsible:
            parts.append(html.quote(short(item.responsible, 30)))
        parts.append(idle)
        if item.amount is not None and item.amount.currency:
            parts.append(fmt_money(item.amount.value, item.amount.currency))
        lines.append(" — ".join(parts))
        kind, ident = PREFIXES[item.ref.entity], item.ref.id
        kb.button(text=f"🔍 {number}", callback_data=ElCb(action="show", kind=kind, id=ident))
        kb.button(text=f"💤 {number}", callback_data=ReportCb(action="snz", id=ident))
        kb.button(text=f"👤 {number}", callback_data=ElCb(action="assign", kind=kind, id=ident))
        kb.button(text=f"📣 {number}", callback_data=ReportCb(action="ndd", id=ident))
    if total > len(items[:MAX_ITEMS]):
        lines.append(_("…the rest in the attached file."))
    lines += ["", legend()]
    kb.adjust(4)
    return Page(fit("\n".join(lines)), kb.as_markup())


def overdue_page(items: Sequence[OverdueActivity], total: int, timezone: str) -> Page:
    lines = [
        _("⏰ <b>{n} overdue activity</b>", "⏰ <b>{n} overdue activities</b>", total).format(
            n=total
        )
    ]
    kb = InlineKeyboardBuilder()
    for number, item in enumerate(items[:MAX_ITEMS], start=1):
        late = (
            _("{n} day late", "{n} days late", item.days_overdue).format(n=item.days_overdue)
            if item.days_overdue
            else _("less than a day late")
        )
        parts = [f"{number}. {html.quote(short(item.subject, TITLE))}"]
        if item.ref is not None:
            parts[0] += f" ({code_link(item.ref)})"
        if item.responsible:
            parts.append(html.quote(short(item.responsible, 30)))
        parts.append(f"{fmt_when(item.deadline, timezone)}, {late}")
        lines.append(" — ".join(parts))
        kb.button(text=f"🔍 {number}", callback_data=ActCb(action="open", id=item.activity_id))
        kb.button(text=f"💤 {number}", callback_data=ActCb(action="tmr", id=item.activity_id))
        if item.ref is not None:
            kb.button(
                text=f"👤 {number}",
                callback_data=ElCb(
                    action="assign", kind=PREFIXES[item.ref.entity], id=item.ref.id
                ),
            )
        kb.button(text=f"📣 {number}", callback_data=ReportCb(action="nda", id=item.activity_id))
    if total > len(items[:MAX_ITEMS]):
        lines.append(_("…the rest in the attached file."))
    lines += ["", legend()]
    rows = [4 if item.ref is not None else 3 for item in items[:MAX_ITEMS]]
    kb.adjust(*rows)
    return Page(fit("\n".join(lines)), kb.as_markup())


def unplanned_page(items: Sequence[StalledDeal], total: int) -> Page:
    if not total:
        return Page(_("Every open deal has a next activity planned. 🎉"))
    lines = [
        _(
            "🗓 <b>{n} open deal with no next activity</b>",
            "🗓 <b>{n} open deals with no next activity</b>",
            total,
        ).format(n=total)
    ]
    for number, item in enumerate(items, start=1):
        idle = _("{n} day without work", "{n} days without work", item.days_idle).format(
            n=item.days_idle
        )
        who = f" — {html.quote(short(item.responsible, 30))}" if item.responsible else ""
        lines.append(
            f"{number}. {code_link(item.ref)} {html.quote(short(item.title, TITLE))}{who} — {idle}"
        )
    if total > len(items):
        lines.append(
            _("…and {n} more.", "…and {n} more.", total - len(items)).format(n=total - len(items))
        )
    return Page(fit("\n".join(lines)))


def uncontacted_page(days: int, total: int, items: Sequence[IdleClient], timezone: str) -> Page:
    if not total:
        return Page(
            _(
                "Every client was contacted within the last {n} day.",
                "Every client was contacted within the last {n} days.",
                days,
            ).format(n=days)
        )
    lines = [
        _(
            "📵 <b>Not contacted for {days} day: {n}</b>",
            "📵 <b>Not contacted for {days} days: {n}</b>",
            days,
        ).format(n=total, days=days)
    ]
    for number, item in enumerate(items, start=1):
        last = (
            _("last contact {date}").format(date=fmt_date(item.last_contact_at, timezone))
            if item.last_contact_at is not None
            else _("never contacted")
        )
        who = f" — {html.quote(short(item.responsible, 30))}" if item.responsible else ""
        lines.append(
            f"{number}. {code_link(item.ref)} {html.quote(short(item.name, TITLE))}{who} — {last}"
        )
    if total > len(items):
        lines.append(
            _("…and {n} more.", "…and {n} more.", total - len(items)).format(n=total - len(items))
        )
    return Page(fit("\n".join(lines)))


# --- the file -----------------------------------------------------------------------------------
def _cell(value: object) -> str:
    """Safe in a spreadsheet: a text starting like a formula is prefixed with an apostrophe."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def digest_csv(digest: Digest) -> bytes:
    """Everything of the digest, per rep and per item, for a spreadsheet (UTF-8 with BOM)."""
    out = io.StringIO()
    writer = csv.writer(out)
    c = digest.currency
    writer.writerow([_("Report"), period_text(digest.period), _("Currency"), c])
    writer.writerow([])
    writer.writerow(
        [_("Rep"), _("Leads"), _("Deals"), _("Lost"), _("Sum of deals"), _("Won"),
         _("Sum won"), _("Conversion"), _("New deals"), _("Stage moves"), _("Overdue"),
         _("Stalled")]
    )  # fmt: skip
    rows = [*digest.reps, RepFigures(None, _("Total"), digest.totals)]
    for rep in rows:
        f = rep.figures
        writer.writerow(
            [_cell(rep.name or "—"), f.new_leads, f.deals, f.lost, f.deals_amount, f.won,
             f.won_amount, percent(f.conversion), f.new_deals, f.stage_moves, f.overdue,
             f.stalled]
        )  # fmt: skip
    writer.writerow([])
    writer.writerow([_("Stalled deal"), _("Title"), _("Rep"), _("Days without work"),
                     _("Amount"), _("Currency")])  # fmt: skip
    for item in digest.stalled:
        writer.writerow(
            [item.ref.code, _cell(item.title), _cell(item.responsible), item.days_idle,
             item.amount.value if item.amount else "", item.amount.currency if item.amount else ""]
        )  # fmt: skip
    writer.writerow([])
    writer.writerow([_("Overdue activity"), _("Element"), _("Rep"), _("Deadline"), _("Days late")])
    for act in digest.overdue:
        writer.writerow(
            [_cell(act.subject), act.ref.code if act.ref else "", _cell(act.responsible),
             act.deadline.isoformat(), act.days_overdue]
        )  # fmt: skip
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def csv_name(digest: Digest) -> str:
    return f"report-{digest.period.first.isoformat()}-{digest.period.last.isoformat()}.csv"


def nudge_text(manager: str, ref: ElementRef | None, title: str, activity: bool) -> str:
    where = f" ({code_link(ref)})" if ref is not None and activity else ""
    if activity:
        return _("📣 {manager} asks you to see to the overdue activity “{title}”{where}.").format(
            manager=html.quote(manager), title=html.quote(short(title, 100)), where=where
        )
    return _(
        "📣 {manager} asks you to see to the deal {code} “{title}”: nothing happened on it lately."
    ).format(
        manager=html.quote(manager),
        code=code_link(ref) if ref is not None else "",
        title=html.quote(short(title, 100)),
    )
