"""The digest's charts: each drawn in Polish and in Russian is a valid PNG, 1080 px wide,
with every letter in the font (no missing-glyph warning), its labels translated and its money
formatted by Babel; top reps plus "others"; the unclaimed triage requests of a reader's queues
counted against a crafted set of requests read back through a fresh session."""

from __future__ import annotations

import logging
import struct
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from aiogram.utils.i18n import I18n
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from sqlalchemy import update

from bot.chart_draw import FONT, WIDTH_PX, render
from bot.charts import TOP_REPS, Chart, Series, digest_charts
from bot.i18n import create_i18n
from crm.context import Crm
from crm.enums import Role
from crm.periods import Period, PeriodKind
from crm.permissions import Actor
from crm.reports import (
    ChartData,
    Digest,
    Figures,
    FunnelStage,
    RepFigures,
    ReportFilter,
    TrendPoint,
)
from crm.triage import Incoming, Origin
from crm.users import actor_of
from storage.models import Pipeline, Stage, TriageQueue
from tests.harness import FakeClock

Fresh = Callable[[], AbstractAsyncContextManager[Crm]]
PANGRAM = "Zażółć gęślą jaźń / Съешь же ещё"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
LOCALES = Path(__file__).resolve().parent.parent / "locales"


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return create_i18n(LOCALES, "pl")


def crafted(reps: int = 10) -> ChartData:
    """A week with long Polish and Cyrillic names, a funnel of six stages, six weeks of trend."""
    period = Period.of(PeriodKind.WEEK, NOW, "Europe/Warsaw")
    names = ["Anna Kowalska-Wiśniewska", "Иван Петров", "Zażółć Gęślą", "Щукин Эдуард",
             "Marta Żurek", "Ольга", "Piotr", "Ёжик", "Łucja", "Юлия"]  # fmt: skip
    people = tuple(
        RepFigures(
            i + 1,
            names[i % len(names)],
            Figures(
                won=i % 3,
                won_amount=Decimal(1000 * (i % 3)),
                lost=i % 2,
                lost_amount=Decimal(250 * (i % 2)),
            ),
        )
        for i in range(reps)
    )
    digest = Digest(period=period, generated_at=NOW, currency="EUR", filters=ReportFilter(),
                    totals=Figures(), reps=people, stalled=(), overdue=())  # fmt: skip
    codes = ["NEW", "PREPARATION", "PREPAYMENT_INVOICE", "EXECUTING", "FINAL_INVOICE", "X"]
    stages = [
        Stage(id=i, entity="deal", code=c, name=PANGRAM if c == "X" else None)
        for i, c in enumerate(codes)
    ]
    funnel = tuple(
        FunnelStage(s, n, Decimal(a))
        for s, (n, a) in zip(
            stages,
            [(42, "125000"), (17, "88000.50"), (9, "41000"), (5, "12000"), (0, "0"), (1, "10")],
            strict=True,
        )
    )
    trend, p = [], period
    for won, lost in [(18069, 7320), (3100, 900), (4300, 1200), (0, 800), (2500, 0), (1000, 200)]:
        trend.append(TrendPoint(p, 3, Decimal(won), 1, Decimal(lost)))
        p = p.previous()
    return ChartData(digest, Pipeline(id=1, name=None), funnel, tuple(reversed(trend)))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


@contextmanager
def no_missing_glyphs() -> Iterator[None]:
    """Fail on matplotlib's "Glyph ... missing from font" (a warning, or a log record)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]  # a list as the sink
    logger = logging.getLogger("matplotlib")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        logger.removeHandler(handler)
    problems = [str(w.message) for w in caught] + [r.getMessage() for r in records]
    assert not [p for p in problems if "glyph" in p.casefold() or "font" in p.casefold()]


def test_the_font_carries_polish_and_cyrillic_letters() -> None:
    path = font_manager.findfont(FONT, fallback_to_default=False)
    assert "DejaVuSans" in Path(path).name
    charmap = FT2Font(path).get_charmap()
    assert [c for c in PANGRAM if c != " " and ord(c) not in charmap] == []


@pytest.mark.parametrize(
    ("locale", "titles", "money"),
    [
        ("pl", ["Otwarte deale według etapów", "Wygrane i przegrane według handlowców",
                "Wygrane i przegrane, tydzień po tygodniu"], "125\xa0000,00\xa0€"),
        ("ru", ["Открытые сделки по стадиям", "Выиграно и проиграно по менеджерам",
                "Выиграно и проиграно по неделям"], "125\xa0000,00\xa0€"),
    ],
)  # fmt: skip
def test_each_chart_renders_legibly(
    i18n: I18n, locale: str, titles: list[str], money: str, tmp_path: Path
) -> None:
    with i18n.context(), i18n.use_locale(locale):
        charts = digest_charts(crafted())
    assert [c.title for c in charts] == titles
    funnel, reps, trend = charts
    assert funnel.series[0].labels[0] == f"42 · {money}"
    assert funnel.categories[-1].startswith("Zażółć gęślą jaźń / Съ")
    assert funnel.series[0].labels[4] == "0 · 0,00\xa0€"  # an empty stage stays in its place
    # At most TOP_REPS rows: the biggest, then "others" with the rest summed.
    assert len(reps.categories) == TOP_REPS
    others = {"pl": "pozostali (3)", "ru": "остальные (3)"}[locale]
    assert reps.categories[-1] == others
    assert trend.categories[-1] == {"pl": "23 lis", "ru": "23 нояб."}[locale]
    assert trend.series[0].labels[-1] == {"pl": "18,1\xa0tys.", "ru": "18,1\xa0тыс."}[locale]
    with no_missing_glyphs():
        images = [render(c) for c in charts]
    for chart, png in zip(charts, images, strict=True):
        width, height = png_size(png)
        assert width == WIDTH_PX and 600 <= height <= 2000, (chart.name, width, height)
        assert 10_000 < len(png) < 1_000_000
        (tmp_path / f"{locale}-{chart.name}").write_bytes(png)


def test_nothing_to_draw_sends_nothing(i18n: I18n) -> None:
    data = crafted(reps=0)
    empty = ChartData(
        data.digest,
        data.pipeline,
        tuple(FunnelStage(f.stage, 0, Decimal(0)) for f in data.funnel),
        tuple(TrendPoint(t.period, 0, Decimal(0), 0, Decimal(0)) for t in data.trend),
    )
    with i18n.context(), i18n.use_locale("pl"):
        assert digest_charts(empty) == []


def test_a_pangram_title_renders_without_missing_glyphs() -> None:
    series = Series(PANGRAM, "#0072B2", (1.0, 2.0), ("Łódź 1", "Ёлка 2"))
    chart = Chart(name="x.png", title=PANGRAM, note=PANGRAM, categories=(PANGRAM, "Ёлка"),
                  series=(series,), horizontal=True)  # fmt: skip
    with no_missing_glyphs():
        assert png_size(render(chart))[0] == WIDTH_PX


# --- unclaimed triage requests -------------------------------------------------------------
async def person(crm: Crm, role: Role, name: str, department: str | None = None) -> Actor:
    invite = await crm.users.create_invite(role, name, department)
    await crm.users.redeem(invite.code, abs(hash(name)) % 10**9, "pl")
    return actor_of(invite.user)


def says(chat_id: int, text: str, who: int) -> Incoming:
    return Incoming(origin=Origin.GROUP, text=text, chat_id=chat_id, message_id=who,
                    author_tg_id=who, author_name=f"Klient {who}")  # fmt: skip


async def test_unclaimed_requests_of_the_readers_queues(
    crm: Crm, fresh: Fresh, clock: FakeClock
) -> None:
    """Three queues: Sprzedaż's, Serwis', and one of no department. Sprzedaż's manager counts
    their department's queue and the shared one, not Serwis'; the admin every queue; a rep the
    queues they work in. Taken, junked and closed requests are not unclaimed."""
    clock.set(NOW - timedelta(hours=5))
    admin = await person(crm, Role.ADMIN, "Admin")
    marta = await person(crm, Role.MANAGER, "Marta", "Sprzedaż")
    anna = await person(crm, Role.REP, "Anna", "Sprzedaż")
    olek = await person(crm, Role.REP, "Olek", "Serwis")
    chats = {"sales": -101, "service": -102, "shared": -103}
    for name, chat in chats.items():
        await crm.triage.bind(admin, chat, None, name)
    assert marta.department_id is not None and olek.department_id is not None
    for name, actor in (("sales", marta), ("service", olek)):
        await crm.repos.session.execute(
            update(TriageQueue)
            .where(TriageQueue.chat_id == chats[name])
            .values(department_id=actor.department_id)
        )
    await crm.repos.commit()
    queues: dict[str, TriageQueue] = {}
    for name, chat in chats.items():
        found = await crm.triage.queue_by_chat(chat)
        assert found is not None
        queues[name] = found
    await crm.triage.join(queues["service"], olek.user_id)
    await crm.repos.commit()
    # sales: 09:00 new (the oldest of all), 10:00 taken, 11:00 new; service: 10:30 new, 12:00
    # junk; shared: 11:30 new, 11:45 closed.
    plan = [("sales", 0, "new"), ("sales", 60, "take"), ("service", 90, "new"),
            ("sales", 120, "new"), ("shared", 150, "new"), ("shared", 165, "close"),
            ("service", 180, "junk")]  # fmt: skip
    start = NOW - timedelta(hours=5)
    for who, (name, minutes, fate) in enumerate(plan, start=1):
        clock.set(start + timedelta(minutes=minutes))
        queue = await crm.triage.queue_by_chat(chats[name])
        assert queue is not None
        request = (await crm.triage.receive(queue, says(chats[name], "Cena?", who))).request
        if fate == "take":
            await crm.triage.take(admin, request.id)
        elif fate == "close":  # taken, then closed
            await crm.triage.take(admin, request.id)
            await crm.triage.close(admin, request.id)
        elif fate == "junk":
            await crm.triage.junk(admin, request.id, "spam")
    clock.set(NOW)
    async with fresh() as other:
        everything = await other.reports.unclaimed(admin)
        sales = await other.reports.unclaimed(marta)
        service = await other.reports.unclaimed(olek)
        nobody = await other.reports.unclaimed(anna)
    assert everything is not None and sales is not None and service is not None
    assert (everything.queues, everything.requests) == (3, 4)
    assert everything.waiting == timedelta(hours=5)  # the 05:00 UTC sales request
    assert (sales.queues, sales.requests) == (2, 3)  # sales + shared, not service
    assert sales.waiting == timedelta(hours=5)
    assert (service.queues, service.requests) == (1, 1)  # the queue Olek works in
    assert service.waiting == timedelta(hours=3, minutes=30)
    assert nobody is None  # Anna works in no queue: the digest says nothing of triage
    # A digest without filters carries it; one filtered by a rep does not.
    async with fresh() as other:
        week = Period.of(PeriodKind.WEEK, NOW, "Europe/Warsaw")
        digest = await other.reports.digest(marta, week)
        assert digest.unclaimed == sales
        filtered = await other.reports.digest(marta, week, ReportFilter(rep_id=anna.user_id))
        assert filtered.unclaimed is None
