"""The digest's charts as PNG: the funnel by stage, won and lost per rep, the trend over the
last periods.

Two steps, so that nothing slow runs on the event loop and nothing localized runs off it:
`digest_charts()` turns the domain's `ChartData` into `Chart` specs — every label translated
and every number formatted by Babel in the reader's locale, on the loop; `render_charts()`
draws them with matplotlib's Agg canvas in a worker thread (`asyncio.to_thread`) — no display,
no network, no pyplot state (each chart is its own `Figure`).

Legible on a phone: 1080 px wide, large type (DejaVu Sans, shipped with matplotlib, carries
Polish and Cyrillic letters), at most `TOP_REPS` reps plus "others", the value written at the
end of each bar, colours from the Okabe–Ito palette (told apart with colour blindness too) on
white.
"""

from __future__ import annotations

import asyncio
import io
import textwrap
import threading
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import matplotlib

matplotlib.use("Agg")  # before anything else of matplotlib: no display, ever

from aiogram.utils.i18n import gettext as _
from babel.dates import format_interval, format_skeleton
from babel.numbers import format_compact_decimal
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.cards import short
from bot.fmt import current_locale, fmt_money
from bot.labels import pipeline_name, stage_name
from crm.periods import Period, PeriodKind
from crm.reports import ChartData, RepFigures

WIDTH_PX = 1080
DPI = 100
FONT = "DejaVu Sans"
TOP_REPS = 6  # bars of the per-rep chart; the rest are summed as "others"
MAX_STAGES = 10
LABEL = 28  # characters of a stage's or a rep's name
TITLE_CHARS = 42  # a title's line: longer ones wrap

WON = "#009E73"  # Okabe–Ito bluish green
LOST = "#D55E00"  # vermillion
BARS = "#0072B2"  # blue
TEXT = "#111111"
GRID = "#DDDDDD"

STYLE: dict[str, Any] = {
    "font.family": FONT,
    "font.size": 22,
    "axes.titlesize": 30,
    "axes.titleweight": "bold",
    "axes.labelsize": 22,
    "xtick.labelsize": 20,
    "ytick.labelsize": 22,
    "legend.fontsize": 22,
    "text.color": TEXT,
    "axes.labelcolor": TEXT,
    "xtick.color": TEXT,
    "ytick.color": TEXT,
}


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


# --- drawing, off the event loop ----------------------------------------------------------------
# RcParams is typed by its literal keys; STYLE's keys are all valid ones.
# The bot is matplotlib's only user in the process.
cast("MutableMapping[str, Any]", matplotlib.rcParams).update(STYLE)
_LOCK = threading.Lock()  # matplotlib's caches are not thread-safe: one drawing at a time


def render(chart: Chart) -> bytes:
    """The chart as a PNG, 1080 px wide."""
    with _LOCK:
        return _draw(chart)


def _draw(chart: Chart) -> bytes:
    """A header across the whole width (the title, wrapped; the note with the legend on its
    right), then the plot."""
    n, k = len(chart.categories), len(chart.series)
    title = textwrap.wrap(chart.title, TITLE_CHARS) or [""]
    header = 0.35 + 0.55 * len(title) + (0.45 if chart.note or k > 1 else 0.0)  # inches
    body = 0.8 + n * (0.75 + 0.45 * k) if chart.horizontal else 7.0
    height = header + body
    figure = Figure(figsize=(WIDTH_PX / DPI, height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    left = 0.03
    figure.text(left, 1 - 0.25 / height, "\n".join(title), fontsize=30, fontweight="bold",
                va="top", ha="left", linespacing=1.15)  # fmt: skip
    line = 1 - (0.3 + 0.55 * len(title)) / height  # the note's line, under the title
    if chart.note:
        figure.text(left, line, chart.note, fontsize=20, color="#444444", va="top", ha="left")
    ax = figure.add_subplot()
    top = max((abs(v) for s in chart.series for v in s.values), default=0.0) or 1.0
    if chart.horizontal:
        _horizontal(ax, chart, top)
    else:
        _columns(ax, chart, top)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_axisbelow(True)
    if k > 1:
        figure.legend(
            loc="upper right",
            bbox_to_anchor=(0.97, line + 0.06 / height),
            frameon=False,
            ncols=k,
            handlelength=1.2,
            borderaxespad=0.0,
        )
    figure.tight_layout(rect=(0.0, 0.0, 1.0, 1 - header / height))
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, facecolor="white")
    return out.getvalue()


def _horizontal(ax: Axes, chart: Chart, top: float) -> None:
    """Stages or reps down the chart, each name on its own line above its bars (the bars get
    the whole width of a phone's screen), the value at the end of each bar."""
    n, k = len(chart.categories), len(chart.series)
    slot = 0.5 / k  # each category: its name on top, then its bars, then a gap
    for i, series in enumerate(chart.series):
        positions = [j + 0.18 + (i - (k - 1) / 2) * slot for j in range(n)]
        bars = ax.barh(positions, series.values, height=slot * 0.88, color=series.color,
                       label=series.name)  # fmt: skip
        labels = [label if value or k == 1 else "" for label, value in  # an empty stage: 0
                  zip(series.labels, series.values, strict=True)]  # fmt: skip
        ax.bar_label(bars, labels=labels, padding=8, fontsize=20, color=TEXT)
    for j, name in enumerate(chart.categories):
        ax.text(0, j - 0.1, name, fontsize=23, fontweight="bold", va="bottom",
                ha="left", color=TEXT)  # fmt: skip
    ax.set_ylim(n - 0.5, -0.5)  # the first stage, the biggest rep on top
    ax.set_xlim(0, top * 1.55)  # room for the values after the longest bar
    ax.yaxis.set_visible(False)
    ax.xaxis.set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)


def _columns(ax: Axes, chart: Chart, top: float) -> None:
    """Periods along the bottom: the first series up, the second down (won above the line,
    lost below it), so that no two values' labels meet."""
    n = len(chart.categories)
    for i, series in enumerate(chart.series[:2]):
        sign = 1 if i == 0 else -1
        values = [sign * v for v in series.values]
        bars = ax.bar(range(n), values, width=0.62, color=series.color, label=series.name)
        labels = [label if value else "" for label, value in zip(series.labels, series.values,
                                                                   strict=True)]  # fmt: skip
        ax.bar_label(bars, labels=labels, padding=6, fontsize=20, color=TEXT)
    ax.axhline(0, color=TEXT, linewidth=1.2)
    ax.set_xticks(range(n), list(chart.categories))
    ax.tick_params(axis="x", length=0, pad=10)
    up = max(chart.series[0].values, default=0.0)
    down = max(chart.series[1].values, default=0.0) if len(chart.series) > 1 else 0.0
    scale = max(up, down) or 1.0
    ax.set_ylim(-max(down, scale * 0.12) * 1.35, max(up, scale * 0.12) * 1.3)  # the labels
    names = dict(zip(chart.ticks, chart.axis_labels, strict=True))
    marks = sorted({*(t for t in chart.ticks if t <= up * 1.1 or t == 0),
                    *(-t for t in chart.ticks if 0 < t <= down * 1.1)})  # fmt: skip
    ax.set_yticks(marks, [names.get(abs(t), "") for t in marks])
    ax.grid(axis="y", color=GRID)
    ax.spines["bottom"].set_visible(False)


async def render_charts(charts: Sequence[Chart]) -> list[tuple[str, bytes]]:
    """Every chart drawn in a worker thread, one after the other (the machine's cores serve
    the bot too)."""
    return await asyncio.to_thread(lambda: [(c.name, render(c)) for c in charts])
