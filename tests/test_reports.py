"""Reports in the domain: periods (DST included), the period's deals, stalled deals, figures,
currencies and who sees what. Histories are made through the services with a moving clock and
read back through a fresh session."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from crm.codes import ElementRef
from crm.context import Crm
from crm.elements import ElementInput
from crm.enums import EntityType, Role
from crm.errors import AccessDenied, BadRow, InvalidValue, NotFound
from crm.periods import Period, PeriodKind, parse_period
from crm.permissions import Actor
from crm.reports import ReportFilter
from crm.users import actor_of
from tests.harness import FakeClock

Fresh = Callable[[], AbstractAsyncContextManager[Crm]]
WARSAW = "Europe/Warsaw"
BEFORE = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)  # history before the periods
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)  # a Thursday; this week is 30.11–6.12


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]  # year, month, day[, h, m] given


# --- periods ----------------------------------------------------------------------------------
def test_today_week_month_in_the_readers_zone() -> None:
    late = utc(2026, 11, 30, 23, 30)  # already Tuesday 1 December in Warsaw, Monday in UTC
    today = Period.of(PeriodKind.TODAY, late, WARSAW)
    assert (today.first, today.last) == (date(2026, 12, 1), date(2026, 12, 1))
    assert (today.start, today.end) == (utc(2026, 11, 30, 23), utc(2026, 12, 1, 23))
    assert Period.of(PeriodKind.TODAY, late, "UTC").first == date(2026, 11, 30)
    week = Period.of(PeriodKind.WEEK, late, WARSAW)
    assert (week.first, week.last) == (date(2026, 11, 30), date(2026, 12, 6))
    month = Period.of(PeriodKind.MONTH, late, WARSAW)
    assert (month.first, month.last) == (date(2026, 12, 1), date(2026, 12, 31))
    assert month.previous().first == date(2026, 11, 1)
    assert month.previous().last == date(2026, 11, 30)
    assert week.previous().first == date(2026, 11, 23)
    assert week.key == "week:2026-11-30..2026-12-06"


def test_boundaries_across_dst_changes() -> None:
    # Warsaw leaves summer time on Sunday 25 October 2026: that week lasts 169 hours.
    autumn = Period.of(PeriodKind.WEEK, utc(2026, 10, 22, 12), WARSAW)
    assert autumn.start == utc(2026, 10, 18, 22)  # Monday 00:00 CEST
    assert autumn.end == utc(2026, 10, 25, 23)  # the next Monday 00:00 CET
    assert autumn.end - autumn.start == timedelta(hours=169)
    sunday = Period.between(date(2026, 10, 25), date(2026, 10, 25), WARSAW)
    assert sunday.end - sunday.start == timedelta(hours=25)
    spring = Period.between(date(2026, 3, 29), date(2026, 3, 29), WARSAW)
    assert spring.end - spring.start == timedelta(hours=23)
    # Chile skips midnight itself (00:00 → 01:00 on 6 September 2026): the day starts at 01:00.
    chile = Period.between(date(2026, 9, 6), date(2026, 9, 6), "America/Santiago")
    assert chile.start == utc(2026, 9, 6, 4)
    assert chile.end - chile.start == timedelta(hours=23)
    # Half-open: the first moment is in, the end is the next period's.
    assert sunday.contains(sunday.start) and not sunday.contains(sunday.end)
    assert sunday.contains(sunday.end - timedelta(microseconds=1))


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("today", date(2026, 12, 3), date(2026, 12, 3)),
        ("dziś", date(2026, 12, 3), date(2026, 12, 3)),
        ("Сегодня", date(2026, 12, 3), date(2026, 12, 3)),
        ("tydzień", date(2026, 11, 30), date(2026, 12, 6)),
        ("неделя", date(2026, 11, 30), date(2026, 12, 6)),
        ("miesiąc", date(2026, 12, 1), date(2026, 12, 31)),
        ("месяц", date(2026, 12, 1), date(2026, 12, 31)),
        ("2026-11-01..2026-11-30", date(2026, 11, 1), date(2026, 11, 30)),
        ("2026-11-01 .. 2026-11-30", date(2026, 11, 1), date(2026, 11, 30)),
        ("2026-11-01–2026-11-03", date(2026, 11, 1), date(2026, 11, 3)),
        ("2026-02-14", date(2026, 2, 14), date(2026, 2, 14)),
    ],
)
def test_periods_as_typed(text: str, first: date, last: date) -> None:
    period = parse_period(text, NOW, WARSAW)
    assert period is not None and (period.first, period.last) == (first, last)


@pytest.mark.parametrize(
    "text", ["2026-11-30..2026-11-01", "2026-02-30", "2024-01-01..2026-01-01"]
)
def test_bad_ranges_are_refused(text: str) -> None:
    with pytest.raises(InvalidValue):
        parse_period(text, NOW, WARSAW)


@pytest.mark.parametrize("text", ["", "yesterday please", "D7", "2026-11", "tomorrow"])
def test_not_a_period(text: str) -> None:
    assert parse_period(text, NOW, WARSAW) is None


# --- crafted histories ------------------------------------------------------------------------
async def person(crm: Crm, role: Role, name: str, department: str | None = None) -> Actor:
    return actor_of((await crm.users.create_invite(role, name, department)).user)


async def deal(
    crm: Crm, actor: Actor, title: str, amount: str = "", currency: str = "PLN"
) -> ElementRef:
    data = ElementInput(
        title=title,
        amount=Decimal(amount) if amount else None,
        currency=currency if amount else None,
    )
    return (await crm.elements.create(actor, EntityType.DEAL, data)).primary


async def stage(crm: Crm, semantic: str, pipeline_id: int | None = None, index: int = 0) -> int:
    pipelines = await crm.stages.pipelines()
    pid = pipeline_id or pipelines[0].id
    stages = [s for s in await crm.stages.stages(pid) if s.semantic == semantic]
    return stages[index].id


class History:
    """The crafted history every rule test reads, made once per test through the services."""

    def __init__(self, crm: Crm, clock: FakeClock) -> None:
        self.crm = crm
        self.clock = clock

    async def build(self) -> None:
        crm, clock = self.crm, self.clock
        clock.set(BEFORE)
        self.admin = await person(crm, Role.ADMIN, "Admin")
        self.manager = await person(crm, Role.MANAGER, "Marta", "Sprzedaż")
        self.anna = await person(crm, Role.REP, "Anna", "Sprzedaż")
        self.piotr = await person(crm, Role.REP, "Piotr", "Sprzedaż")
        self.olga = await person(crm, Role.REP, "Olga", "Serwis")
        a = self.anna
        self.untouched = await deal(crm, a, "open, untouched", "1000")
        self.closed_then_active = await deal(crm, a, "won early, called in the period", "2000")
        self.closed_quiet = await deal(crm, a, "lost early, quiet since", "3000")
        self.moved = await deal(crm, a, "stage moved in the period", "400")
        self.switched = await deal(crm, a, "moved to the service pipeline", "500")
        self.commented = await deal(crm, a, "only a comment in the period", "600")
        self.planned = await deal(crm, a, "an activity planned in the period", "700")
        self.done = await deal(crm, a, "an activity done in the period", "800")
        self.olgas = await deal(crm, self.olga, "Olga's, untouched", "900")
        self.service = await crm.stages.add_pipeline(self.admin, "Serwis")
        clock.set(BEFORE + timedelta(days=2))
        await crm.stages.move(a, self.closed_then_active, await stage(crm, "success"))
        await crm.stages.move(a, self.closed_quiet, await stage(crm, "failure"), "za drogo")
        clock.set(utc(2026, 12, 1, 8))  # in this week
        await crm.activities.create(
            a, self.closed_then_active, "client called back", utc(2026, 12, 4, 9)
        )
        self.new = await deal(crm, a, "created in the period", "100")
        await crm.stages.move(a, self.moved, (await crm.stages.stages(1))[1].id)
        await crm.stages.move_to_pipeline(a, self.switched, self.service.id)
        await crm.elements.add_note(a, self.commented, "still thinking")
        await crm.activities.create(a, self.planned, "call", utc(2026, 12, 10, 9))
        done = await crm.activities.create(a, self.done, "meeting", utc(2026, 12, 2, 9))
        clock.set(utc(2026, 12, 2, 12))
        await crm.activities.complete(a, done.id)
        clock.set(NOW)


@pytest.fixture
async def history(crm: Crm, clock: FakeClock) -> History:
    h = History(crm, clock)
    await h.build()
    return h


def week(now: datetime = NOW) -> Period:
    return Period.of(PeriodKind.WEEK, now, WARSAW)


async def test_the_periods_deals(history: History, fresh: Fresh) -> None:
    h = history
    async with fresh() as crm:
        this_week = await crm.reports.period_deals(h.admin, week())
        last_week = await crm.reports.period_deals(h.admin, week().previous())
    assert set(this_week) == {
        h.untouched,  # still open, nobody worked on it
        h.closed_then_active,  # closed before the period, new activity in it
        h.moved, h.switched, h.commented, h.planned, h.done, h.new, h.olgas,
    }  # fmt: skip
    assert h.closed_quiet not in this_week  # closed before the period, quiet since
    # Last week: every deal then open counts; the one won before it and active only this week
    # and the one created this week do not.
    assert set(last_week) == {
        h.untouched, h.moved, h.switched, h.commented, h.planned, h.done, h.olgas,
    }  # fmt: skip


async def test_stalled_deals_this_week_and_last(history: History, fresh: Fresh) -> None:
    h = history
    async with fresh() as crm:
        total, items = await crm.reports.stalled(h.admin, week())
        last_total, last_items = await crm.reports.stalled(h.admin, week().previous())
    # Work is a stage or pipeline move, an activity done, the creation; a comment or an
    # activity only planned is not.
    assert [i.ref for i in items] == [h.untouched, h.commented, h.planned, h.olgas]
    assert total == 4
    assert {i.days_idle for i in items} == {23}  # 10 Nov 09:00 → 3 Dec 10:00
    assert items[0].amount is not None and items[0].amount.value == Decimal("1000.00")
    # Last week (23–29 Nov) nobody worked on any open deal: the moves came this week, after it.
    assert [i.ref for i in last_items] == [
        h.untouched, h.moved, h.switched, h.commented, h.planned, h.done, h.olgas,
    ]  # fmt: skip
    assert last_total == 7
    # Days since the last work *before the period's end* (30 Nov 00:00 Warsaw).
    assert {i.days_idle for i in last_items} == {19}
    assert all(i.last_work_at == BEFORE for i in last_items)


async def test_pipeline_filter_follows_the_deal(history: History, fresh: Fresh) -> None:
    h = history
    async with fresh() as crm:
        general = await crm.reports.period_deals(h.admin, week(), ReportFilter(pipeline_id=1))
        service = await crm.reports.period_deals(
            h.admin, week(), ReportFilter(pipeline_id=h.service.id)
        )
        digest = await crm.reports.digest(h.admin, week(), ReportFilter(pipeline_id=h.service.id))
    assert service == [h.switched]
    assert h.switched not in general and h.untouched in general
    assert digest.totals.stage_moves == 1  # the pipeline move, counted in the new pipeline
    assert digest.totals.deals == 1 and digest.totals.stalled == 0


async def test_snoozed_stalled_deal_returns_after_the_snooze(
    history: History, fresh: Fresh, clock: FakeClock
) -> None:
    h = history
    until = await h.crm.reports.snooze_stalled(h.manager, h.untouched.id, days=7)
    assert until == NOW + timedelta(days=7)
    async with fresh() as crm:
        _total, items = await crm.reports.stalled(h.admin, week())
    assert h.untouched not in [i.ref for i in items]
    clock.set(NOW + timedelta(days=8))
    async with fresh() as crm:
        _total, items = await crm.reports.stalled(h.admin, week(clock.now()))
    assert h.untouched in [i.ref for i in items]
    with pytest.raises(NotFound):  # Olga is in another department
        await h.crm.reports.snooze_stalled(h.manager, h.olgas.id)


async def test_unplanned_and_uncontacted(history: History, fresh: Fresh) -> None:
    h = history
    async with fresh() as crm:
        total, items = await crm.reports.unplanned(h.admin)
        days, clients_total, clients = await crm.reports.uncontacted(h.admin, 10)
    # Open deals without an open activity: all but the one with a call planned.
    assert total == 7 and h.planned not in [i.ref for i in items]
    assert days == 10 and clients_total == 0 and clients == []  # deals made no contacts here


async def test_uncontacted_clients(crm: Crm, clock: FakeClock, fresh: Fresh) -> None:
    clock.set(BEFORE)
    anna = await person(crm, Role.REP, "Anna")
    quiet = await crm.elements.create(anna, EntityType.CONTACT, ElementInput(name="Jan Cichy"))
    called = await crm.elements.create(anna, EntityType.CONTACT, ElementInput(name="Ewa Głośna"))
    company = await crm.elements.create(anna, EntityType.COMPANY, ElementInput(company="ACME"))
    clock.set(BEFORE + timedelta(days=1))
    old = await crm.activities.create(anna, company.primary, "intro", BEFORE + timedelta(days=1))
    await crm.activities.complete(anna, old.id)
    clock.set(NOW - timedelta(days=2))
    recent = await crm.activities.create(anna, called.primary, "call", NOW - timedelta(days=2))
    await crm.activities.complete(anna, recent.id)
    clock.set(NOW)
    async with fresh() as crm2:
        assert await crm2.reports.uncontacted_days() == 30
        days, total, clients = await crm2.reports.uncontacted(anna, 14)
    assert (days, total) == (14, 2)
    assert [c.ref for c in clients] == [quiet.primary, company.primary]  # never, then oldest
    assert clients[0].last_contact_at is None
    assert clients[1].last_contact_at == BEFORE + timedelta(days=1)
    with pytest.raises(AccessDenied):
        await crm.reports.set_uncontacted_days(anna, 7)


async def test_figures_per_rep_and_who_sees_them(history: History, fresh: Fresh) -> None:
    h = history
    async with fresh() as crm:
        everyone = await crm.reports.digest(h.admin, week())
        department = await crm.reports.digest(h.manager, week())
        own = await crm.reports.digest(h.anna, week())
        with pytest.raises(NotFound):
            await crm.reports.digest(h.anna, week(), ReportFilter(rep_id=h.piotr.user_id))
        with pytest.raises(NotFound):
            await crm.reports.digest(h.manager, week(), ReportFilter(rep_id=h.olga.user_id))
        by_name = await crm.reports.read_filters(h.manager, "piotr serwis")
    assert by_name == ReportFilter(h.piotr.user_id, h.service.id)
    assert {r.name for r in everyone.reps} == {"Admin", "Marta", "Anna", "Piotr", "Olga"}
    assert {r.name for r in department.reps} == {"Marta", "Anna", "Piotr"}
    assert [r.name for r in own.reps] == ["Anna"]
    anna = own.totals
    # By hand: the period's deals of Anna are 8 (see test_the_periods_deals, without Olga's),
    # 1000+2000+400+500+600+700+800+100 zł; nothing won or lost this week (the won deal was
    # won before); new: 1; moves: the stage and the pipeline move; stalled: 3 of hers.
    assert (anna.deals, anna.deals_amount) == (8, Decimal("6100.00"))
    assert (anna.won, anna.lost, anna.new_deals, anna.stage_moves) == (0, 0, 1, 2)
    assert anna.stalled == 3 and anna.overdue == 0
    assert anna.conversion == Decimal(0)
    assert everyone.totals.deals == 9 and everyone.totals.stalled == 4
    assert department.reps[0].name == "Anna"  # the most deals first
    # Last week nothing was closed; two weeks before the period, Anna won one and lost one.
    early = Period.between(date(2026, 11, 9), date(2026, 11, 15), WARSAW)
    async with fresh() as crm:
        then = (await crm.reports.digest(h.anna, early)).totals
    assert (then.won, then.won_amount, then.lost, then.lost_amount) == (
        1, Decimal("2000.00"), 1, Decimal("3000.00"),
    )  # fmt: skip
    assert then.new_deals == 8 and then.deals == 8
    assert then.conversion == Decimal(1) / Decimal(8)


async def test_overdue_activities(history: History, fresh: Fresh, clock: FakeClock) -> None:
    h = history
    clock.set(utc(2026, 12, 5, 10))  # "client called back" was due on 4 December 09:00
    async with fresh() as crm:
        digest = await crm.reports.digest(h.manager, week(clock.now()))
    assert digest.totals.overdue == 1
    (item,) = digest.overdue
    assert (item.subject, item.ref, item.days_overdue) == (
        "client called back", h.closed_then_active, 1,
    )  # fmt: skip
    assert item.responsible == "Anna"


# --- currencies -------------------------------------------------------------------------------
async def test_amounts_at_the_rate_of_the_deals_day(
    crm: Crm, clock: FakeClock, fresh: Fresh
) -> None:
    clock.set(utc(2026, 11, 30, 8))
    admin = await person(crm, Role.ADMIN, "Admin")
    await crm.currencies.add_rate(admin, "eur", Decimal("4.20"), date(2026, 11, 1))
    await crm.currencies.add_rate(admin, "EUR", Decimal("4.30"), date(2026, 12, 2))
    await crm.currencies.add_rate(admin, "USD", Decimal("4.00"), date(2026, 11, 1))
    won = await stage(crm, "success")
    eur_early = await deal(crm, admin, "EUR won on Tuesday", "1000", "EUR")
    eur_late = await deal(crm, admin, "EUR won on Thursday", "1000", "EUR")
    pln = await deal(crm, admin, "PLN won", "500", "PLN")
    await deal(crm, admin, "GBP, no rate", "100", "GBP")
    clock.set(utc(2026, 12, 1, 12))
    await crm.stages.move(admin, eur_early, won)
    clock.set(utc(2026, 12, 2, 23, 30))  # 3 December 00:30 in Warsaw: the new rate's day
    await crm.stages.move(admin, eur_late, won)
    await crm.stages.move(admin, pln, won)
    clock.set(NOW)
    async with fresh() as crm2:
        pln_view = await crm2.reports.digest(admin, week())
        eur_view = await crm2.reports.digest(admin, week(), currency="EUR")
    # By hand: 1000 × 4.20 + 1000 × 4.30 + 500 = 9000.00 zł won.
    assert pln_view.currency == "PLN"
    assert pln_view.totals.won == 3 and pln_view.totals.won_amount == Decimal("9000.00")
    # The open GBP deal has no rate: counted, left out of the sum, and said so.
    assert pln_view.totals.deals == 4 and pln_view.totals.deals_amount == Decimal("9000.00")
    assert [(u.currency, u.deals) for u in pln_view.unconverted] == [("GBP", 1)]
    # In euros: 1000 + 1000 + 500 / 4.30 (the PLN deal was won on the 4.30 day) = 2116.28.
    assert eur_view.totals.won_amount == Decimal("2116.28")
    async with fresh() as crm2:
        overview = await crm2.currencies.overview()
    assert [(r.currency, r.rate) for r in overview.latest] == [
        ("EUR", Decimal("4.30")), ("USD", Decimal("4.00")),
    ]  # fmt: skip


async def test_rates_import_and_refusals(crm: Crm, fresh: Fresh) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    rep = await person(crm, Role.REP, "Anna")
    text = 'currency,rate,date\nUSD,"4,02",2026-11-01\neur;x\n'
    with pytest.raises(BadRow) as bad:
        await crm.currencies.import_csv(admin, text)
    assert bad.value.line == 3
    count = await crm.currencies.import_csv(
        admin, "waluta;kurs;data\nUSD;4,02;2026-11-01\nEUR;4.31;2026-11-01\nusd;4.05;2026-11-20\n"
    )
    assert count == 3
    async with fresh() as crm2:
        rates = await crm2.currencies.rates()
    assert rates.rate("USD", utc(2026, 11, 19, 22, 59)) == Decimal("4.02")  # 19.11 23:59 Warsaw
    assert rates.rate("USD", utc(2026, 11, 19, 23)) == Decimal("4.05")  # 20.11 00:00 Warsaw
    assert rates.rate("USD", utc(2026, 10, 31, 22)) is None  # before the first rate
    for bad_args in (("PLN", "1"), ("XYZ", "1"), ("USD", "0"), ("USD", "-2")):
        with pytest.raises(InvalidValue):
            await crm.currencies.add_rate(admin, bad_args[0], Decimal(bad_args[1]))
    with pytest.raises(AccessDenied):
        await crm.currencies.add_rate(rep, "USD", Decimal(4))
    with pytest.raises(InvalidValue):
        await crm.currencies.set_report_currency(admin, "CHF")  # no rate
    assert await crm.currencies.set_report_currency(admin, "usd") == "USD"
    async with fresh() as crm2:
        assert await crm2.currencies.report_currency() == "USD"
