"""The digest's charts as PNG: the funnel by stage, won and lost per rep, the trend over the
last periods.

Two steps, so that nothing slow runs on the event loop and nothing localized runs off it:
`digest_charts()` turns the domain's `ChartData` into `Chart` specs — every label translated
and every number formatted by Babel in the reader's locale, on the loop; `render_charts()`
draws them (bot/chart_draw.py, matplotlib's Agg canvas) in a worker thread. matplotlib is
imported there, by the first digest: it costs ~40-50 MiB and ~0.3-1 s, which an instance that never
draws a chart does not pay (BENCHMARKS.md).

Legible on a phone: at most `TOP_REPS` reps plus "others", the value written at the end of
each bar, colours from the Okabe–Ito palette (told apart with colour blindness too) on white;
the drawing's side: 1080 px wide, large type in DejaVu Sans (Polish and Cyrillic letters).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiogram.methods import SendMediaGroup, SendPhoto, TelegramMethod
from aiogram.types import BufferedInputFile, InputMediaPhoto
from aiogram.utils.i18n import gettext as _
from babel.dates import format_interval, format_skeleton
from babel.numbers import format_compact_decimal

from bot.cards import short
from bot.fmt import current_locale, fmt_money
from bot.labels import pipeline_name, stage_name
from crm.periods import Period, PeriodKind
from crm.reports import ChartData, RepFigures

TOP_REPS = 6  # bars of the per-rep chart; the rest are summed as "others"
MAX_STAGES = 10
LABEL = 28  # characters of a stage's or a rep's name

WON = "#009E73"  # Okabe–Ito bluish green
LOST = "#D55E00"  # vermillion
BARS = "#0072B2"  # blue


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    color: str
    values: tuple[float, ...]
    labels: tuple[str, ...]  # written at the end of each bar


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart, ready to draw: nothing in it needs a locale any more."""

    name: str  # the file's name
    title: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    horizontal: bool  # categories down the side (stages, reps) or along the bottom (periods)
    axis_labels: tuple[str, ...] = ()  # the value axis' tick labels (columns only)
    ticks: tuple[float, ...] = ()
    note: str = ""  # under the title (the currency, the pipeline)


# --- the specs, localized on the event loop -----------------------------------------------------
def _compact(value: Decimal | float) -> str:
    return format_compact_decimal(value, format_type="short", locale=current_locale(),
                                  fraction_digits=1)  # fmt: skip


def _ticks(top: float) -> tuple[float, ...]:
    """Up to five round ticks from 0 to at least `top`."""
    if top <= 0:
        return (0.0,)
    step = 1.0
    while top / step > 4:
        for factor in (2, 2.5, 2):
            step *= factor
            if top / step <= 4:
                break
    return tuple(step * i for i in range(int(top // step) + 2))


def _money_axis(values: Sequence[float]) -> tuple[tuple[float, ...], tuple[str, ...]]:
    ticks = _ticks(max(values, default=0.0))
    return ticks, tuple(_compact(t) for t in ticks)


def _count_and_money(count: int, amount: Decimal, currency: str) -> str:
    return f"{count} · {fmt_money(amount, currency)}"


def funnel_chart(data: ChartData) -> Chart | None:
    stages = list(data.funnel[:MAX_STAGES])
    if not any(f.deals for f in stages):
        return None
    currency = data.digest.currency
    values = tuple(float(f.deals) for f in stages)
    return Chart(
        name="funnel.png",
        title=_("Open deals by stage"),
        note=_("Pipeline: {name} · amounts in {currency}").format(
            name=pipeline_name(data.pipeline), currency=currency
        ),
        categories=tuple(short(stage_name(f.stage), LABEL) for f in stages),
        series=(
            Series(
                _("Deals"),
                BARS,
                values,
                tuple(_count_and_money(f.deals, f.amount, currency) for f in stages),
            ),
        ),
        horizontal=True,
    )


def _top_reps(reps: Sequence[RepFigures]) -> list[tuple[str, int, Decimal, int, Decimal]]:
    """(name, won, won amount, lost, lost amount) of the reps who won or lost anything, the
    biggest first, at most TOP_REPS rows with the rest summed as "others"."""
    rows = [
        (
            short(r.name, LABEL) if r.user_id else _("(nobody responsible)"),
            r.figures.won,
            r.figures.won_amount,
            r.figures.lost,
            r.figures.lost_amount,
        )
        for r in reps
        if r.figures.won or r.figures.lost
    ]
    rows.sort(key=lambda r: (-(r[2] + r[4]), -(r[1] + r[3]), r[0]))
    if len(rows) <= TOP_REPS:
        return rows
    head, rest = rows[: TOP_REPS - 1], rows[TOP_REPS - 1 :]
    others = (
        _("others ({n})", "others ({n})", len(rest)).format(n=len(rest)),
        sum(r[1] for r in rest),
        sum((r[2] for r in rest), Decimal(0)),
        sum(r[3] for r in rest),
        sum((r[4] for r in rest), Decimal(0)),
    )
    return [*head, others]


def reps_chart(data: ChartData) -> Chart | None:
    rows = _top_reps(data.digest.reps)
    if not rows:
        return None
    currency = data.digest.currency
    won = tuple(float(r[2]) for r in rows)
    lost = tuple(float(r[4]) for r in rows)
    return Chart(
        name="reps.png",
        title=_("Won and lost per rep"),
        note=_("Amounts in {currency}").format(currency=currency),
        categories=tuple(r[0] for r in rows),
        series=(
            Series(
                _("won"), WON, won, tuple(_count_and_money(r[1], r[2], currency) for r in rows)
            ),
            Series(
                _("lost"), LOST, lost, tuple(_count_and_money(r[3], r[4], currency) for r in rows)
            ),
        ),
        horizontal=True,
    )


def period_label(period: Period) -> str:
    """A period under its bar: short, the year left out (the title has the latest)."""
    locale = current_locale()
    if period.kind is PeriodKind.MONTH:
        return format_skeleton("MMMyy", period.first, locale=locale)
    if period.first == period.last or period.kind is PeriodKind.WEEK:  # a week by its Monday
        return format_skeleton("MMMd", period.first, locale=locale)
    return format_interval(period.first, period.last, skeleton="Md", locale=locale)


def trend_chart(data: ChartData) -> Chart | None:
    points = data.trend
    if len(points) < 2 or not any(p.won or p.lost for p in points):
        return None
    currency = data.digest.currency
    won = tuple(float(p.won_amount) for p in points)
    lost = tuple(float(p.lost_amount) for p in points)
    ticks, labels = _money_axis([*won, *lost])
    titles = {
        PeriodKind.TODAY: _("Won and lost, day by day"),
        PeriodKind.WEEK: _("Won and lost, week by week"),
        PeriodKind.MONTH: _("Won and lost, month by month"),
        PeriodKind.RANGE: _("Won and lost, period by period"),
    }
    return Chart(
        name="trend.png",
        title=titles[data.digest.period.kind],
        note=_("Amounts in {currency}").format(currency=currency),
        categories=tuple(period_label(p.period) for p in points),
        series=(
            Series(_("won"), WON, won, tuple(_compact(p.won_amount) for p in points)),
            Series(_("lost"), LOST, lost, tuple(_compact(p.lost_amount) for p in points)),
        ),
        horizontal=False,
        ticks=ticks,
        axis_labels=labels,
    )


def digest_charts(data: ChartData) -> list[Chart]:
    """The charts worth sending: none of an empty funnel, of reps who neither won nor lost, of
    a trend with nothing closed."""
    charts = (funnel_chart(data), reps_chart(data), trend_chart(data))
    return [c for c in charts if c is not None]


async def render_charts(charts: Sequence[Chart]) -> list[tuple[str, bytes]]:
    """Every chart drawn in a worker thread, one after the other (the machine's cores serve
    the bot too); matplotlib is imported there the first time, off the loop too."""

    if not charts:  # nothing to draw: matplotlib stays unloaded
        return []

    def draw() -> list[tuple[str, bytes]]:
        from bot.chart_draw import render

        return [(c.name, render(c)) for c in charts]

    return await asyncio.to_thread(draw)


def chart_request(chat_id: int, images: Sequence[tuple[str, bytes]]) -> TelegramMethod[Any] | None:
    """The drawn charts as one Bot API call: a photo, or an album of them (2–10)."""
    if not images:
        return None
    files = [BufferedInputFile(png, filename=name) for name, png in images]
    if len(files) == 1:
        return SendPhoto(chat_id=chat_id, photo=files[0])
    return SendMediaGroup(chat_id=chat_id, media=[InputMediaPhoto(media=f) for f in files])
