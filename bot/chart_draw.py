"""Drawing the digest's charts (`bot.charts.Chart`) as PNG with matplotlib's Agg canvas: no
display, no network, no pyplot state (each chart is its own `Figure`).

Imported in a worker thread by `bot.charts.render_charts()` (it loads numpy and matplotlib).
Legible on a phone: 1080 px wide, large type, DejaVu Sans (it ships with matplotlib and
carries Polish and Cyrillic letters), high contrast on white.
"""

from __future__ import annotations

import gc
import io
import textwrap
import threading
from collections.abc import MutableMapping
from typing import Any, cast

import matplotlib

matplotlib.use("Agg")  # before anything else of matplotlib: no display, ever

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.charts import Chart

WIDTH_PX = 1080
DPI = 100
FONT = "DejaVu Sans"
TITLE_CHARS = 42  # a title's line: longer ones wrap
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


# RcParams is typed by its literal keys; STYLE's keys are all valid ones.
# The bot is matplotlib's only user in the process.
cast("MutableMapping[str, Any]", matplotlib.rcParams).update(STYLE)
_LOCK = threading.Lock()  # matplotlib's caches are not thread-safe: one drawing at a time


def render(chart: Chart) -> bytes:
    """The chart as a PNG, 1080 px wide."""
    with _LOCK:
        png = _draw(chart)
        # A figure and its artists are a web of reference cycles: left to the collector's own
        # pace, a few digests' worth (~100 MiB) piles up first. The young generations hold
        # them: collecting those takes under a millisecond (a full collection: ~140 ms).
        gc.collect(1)
        return png


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
