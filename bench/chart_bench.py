"""The digest's charts: how long each takes to draw, and what drawing costs the event loop.

    .venv/bin/python -m bench.chart_bench [--runs 15]

Draws the three charts of a crafted week (a funnel of six stages, ten reps shown as five plus
"others", six weeks of trend; Polish and Russian labels) `--runs` times each after a warm-up,
and prints the median and the slowest. Then sends all three through `render_charts()` (a
worker thread) while a coroutine ticks every 5 ms on the loop, and prints the loop's worst
lateness meanwhile: what a user of the same instance would wait for during a digest. Also the
import of matplotlib (the first digest of an instance pays it) and the peak RSS it all adds.
Results go to `bench/results/charts.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.charts import Chart, digest_charts, render_charts
from bot.i18n import create_i18n
from crm.periods import Period, PeriodKind
from crm.reports import (
    ChartData,
    Digest,
    Figures,
    FunnelStage,
    RepFigures,
    ReportFilter,
    TrendPoint,
)
from storage.models import Pipeline, Stage

RESULTS = Path(__file__).parent / "results" / "charts.json"
LOCALES = Path(__file__).resolve().parent.parent / "locales"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
NAMES = ["Anna Kowalska-Wiśniewska", "Иван Петров", "Zażółć Gęślą", "Щукин Эдуард",
         "Marta Żurek", "Ольга", "Piotr", "Ёжик", "Łucja", "Юлия"]  # fmt: skip


def crafted() -> ChartData:
    period = Period.of(PeriodKind.WEEK, NOW, "Europe/Warsaw")
    reps = tuple(
        RepFigures(i + 1, name, Figures(won=i % 4, won_amount=Decimal(1500 * (i % 4)),
                                        lost=i % 3, lost_amount=Decimal(700 * (i % 3))))
        for i, name in enumerate(NAMES)
    )  # fmt: skip
    digest = Digest(period=period, generated_at=NOW, currency="PLN", filters=ReportFilter(),
                    totals=Figures(), reps=reps, stalled=(), overdue=())  # fmt: skip
    codes = ["NEW", "PREPARATION", "PREPAYMENT_INVOICE", "EXECUTING", "FINAL_INVOICE"]
    funnel = tuple(
        FunnelStage(Stage(id=i, entity="deal", code=c), 40 - 7 * i, Decimal(90_000 - 15_000 * i))
        for i, c in enumerate(codes)
    )
    trend, p = [], period
    for i in range(6):
        trend.append(TrendPoint(p, 3 + i, Decimal(4000 + 900 * i), i, Decimal(700 * i)))
        p = p.previous()
    return ChartData(digest, Pipeline(id=1, name=None), funnel, tuple(reversed(trend)))


async def loop_lag(charts: list[Chart]) -> float:
    """The loop's worst lateness (s) while `render_charts()` draws `charts`."""
    worst = 0.0
    done = False

    async def tick() -> None:
        nonlocal worst
        while not done:
            planned = time.perf_counter() + 0.005
            await asyncio.sleep(0.005)
            worst = max(worst, time.perf_counter() - planned)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.05)
    await render_charts(charts)
    done = True
    await ticker
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    i18n = create_i18n(LOCALES, "pl")
    out: dict[str, Any] = {"runs": args.runs}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    from bot.chart_draw import render  # what the first digest of an instance pays

    out["import matplotlib (s)"] = round(time.perf_counter() - started, 3)
    print(f"importing the drawing module: {out['import matplotlib (s)'] * 1000:.0f} ms")
    for locale in ("pl", "ru"):
        with i18n.context(), i18n.use_locale(locale):
            started = time.perf_counter()
            charts = digest_charts(crafted())
            out[f"{locale}: specs (on the loop)"] = round(time.perf_counter() - started, 4)
        for chart in charts:
            render(chart)  # warm-up: fonts and caches
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                png = render(chart)
                times.append(time.perf_counter() - started)
            key = f"{locale}: {chart.name}"
            out[key] = {"median_s": round(statistics.median(times), 4),
                        "max_s": round(max(times), 4), "bytes": len(png)}  # fmt: skip
            print(f"{key}: median {statistics.median(times) * 1000:.0f} ms, "
                  f"max {max(times) * 1000:.0f} ms, {len(png):,} bytes", flush=True)  # fmt: skip
        lag = asyncio.run(loop_lag(charts))
        out[f"{locale}: loop lag while drawing all three"] = round(lag, 4)
        print(f"{locale}: the loop's worst lateness while drawing: {lag * 1000:.1f} ms")
    out["peak RSS growth (MiB)"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before, 1
    )
    print(f"peak RSS grew by {out['peak RSS growth (MiB)']} MiB (matplotlib, numpy, drawing)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
