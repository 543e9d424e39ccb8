"""Manager reports: the reporting period's deals, digest figures per rep, stalled deals.

Rules (SPEC §2 "Reports", Bitrix24's help):

- **The period's deals.** A deal counts in a period if it was created, closed or changed in it
  (any timeline entry: a stage move, a comment, an activity planned or done — which covers a
  deal closed earlier that got new activity), or if it was still open at the period's end even
  though nobody worked on it.
- **Stalled ("forgotten") deals**: open at the period's end, with no work in the period — no
  stage or pipeline move, no activity done, not created in it (`crm.enums.WORK_KINDS`); each
  with the days since its last work (its creation when nothing else). A manager may snooze a
  stalled deal for a few days. (Invoices count as work once they exist.)
- **Figures** (Bitrix24's "manager efficiency" columns): leads = new leads; deals = the period's
  deals; sum = their amounts; won / lost = deals closed in the period at a success / failure
  stage, with amounts; conversion = won ÷ the period's deals. New deals and stage moves are
  counted in the period; overdue activities are open ones whose deadline passed before the
  period's end (or now, if sooner). Figures go to a deal's *current* responsible and pipeline:
  a deal moved between pipelines counts in the one it is in now, and the move is work on it.
- **Money** is converted into the report currency (crm/currencies.py) at the rates of the
  deal's moment: its closing for a closed deal, its creation for an open one.
- **Audience.** Admins see everyone; a manager (TEAM_REPORTS) their department, as far as
  they may read deals; anyone else only themselves. A rep named in a filter must be in the
  reader's audience, else it is "not found", as if nobody had that name.

- **Unclaimed triage requests** (status new) are a figure of *now*, in the digest without a
  rep or pipeline filter: an admin (or anyone who reads every deal with TEAM_REPORTS) counts
  every active queue; a department's manager the queues of that department, the queues of no
  department (shared by everyone) and the queues they work in; anyone else the queues they
  work in. With no queue in scope the digest says nothing about triage.
- **Charts** (`ReportService.charts()`): the funnel is the open deals of the filter's pipeline
  (the default one without a filter) per stage, amounts at the rate of their creation; the
  trend is won and lost over the last `TREND_PERIODS` periods of the same kind
  (`Period.previous()`), oldest first.

Scheduled delivery and charts build on `ReportService.digest()` and the `Digest` value.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from crm.codes import ElementRef
from crm.currencies import CurrencyService, Rates, round_money
from crm.elements import ElementService
from crm.enums import EntityType, Level, Operation, Right
from crm.errors import InvalidValue, NotFound
from crm.money import from_minor
from crm.numbers import ascii_int
from crm.periods import Period, PeriodKind, parse_period
from crm.permissions import Actor
from crm.stages import _pipeline_label, fold, pick
from storage.models import Deal, Pipeline, Stage, User
from storage.repositories import Repos
from storage.repositories.reports import (
    ActivityRow,
    AmountGroup,
    Audience,
    ClientRow,
    DealRow,
    QueueScope,
)

if TYPE_CHECKING:
    from crm.context import Runtime

UNCONTACTED_DAYS = "uncontacted_days"  # crm_settings key
DEFAULT_UNCONTACTED_DAYS = 30
MAX_DAYS_SETTING = 3650
LIST_LIMIT = 10
MAX_SNOOZE_DAYS = 90
TREND_PERIODS = 6  # the trend chart: this period and the five before it


@dataclass(frozen=True, slots=True)
class ReportFilter:
    rep_id: int | None = None
    pipeline_id: int | None = None


@dataclass(frozen=True, slots=True)
class Amount:
    """An amount in its own currency (an element's), as stored."""

    value: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class Figures:
    new_leads: int = 0
    new_deals: int = 0
    stage_moves: int = 0
    deals: int = 0  # the period's deals (the inclusion rule)
    deals_amount: Decimal = Decimal("0.00")
    won: int = 0
    won_amount: Decimal = Decimal("0.00")
    lost: int = 0
    lost_amount: Decimal = Decimal("0.00")
    overdue: int = 0
    stalled: int = 0

    @property
    def conversion(self) -> Decimal | None:
        """Won ÷ the period's deals, as a fraction (None without deals)."""
        return Decimal(self.won) / Decimal(self.deals) if self.deals else None

    @property
    def is_empty(self) -> bool:
        return not any(
            (self.new_leads, self.new_deals, self.stage_moves, self.deals, self.won,
             self.lost, self.overdue, self.stalled)
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class RepFigures:
    user_id: int | None  # None: elements nobody is responsible for
    name: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class StalledDeal:
    ref: ElementRef
    title: str
    responsible_id: int | None
    responsible: str
    pipeline_id: int
    stage_id: int
    amount: Amount | None
    last_work_at: datetime
    days_idle: int


@dataclass(frozen=True, slots=True)
class OverdueActivity:
    activity_id: int
    subject: str
    deadline: datetime
    responsible_id: int | None
    responsible: str
    ref: ElementRef | None  # the element it is bound to first
    days_overdue: int


@dataclass(frozen=True, slots=True)
class IdleClient:
    ref: ElementRef
    name: str
    responsible: str
    last_contact_at: datetime | None


@dataclass(frozen=True, slots=True)
class Unconverted:
    """Deals whose amount has no rate for its moment: left out of the sums."""

    currency: str
    deals: int


@dataclass(frozen=True, slots=True)
class Unclaimed:
    """Triage requests nobody has taken yet, in the reader's queues, now."""

    queues: int
    requests: int
    oldest_at: datetime | None
    waiting: timedelta  # since the oldest one arrived (zero without requests)


@dataclass(frozen=True, slots=True)
class FunnelStage:
    stage: Stage
    deals: int
    amount: Decimal  # in the report currency


@dataclass(frozen=True, slots=True)
class TrendPoint:
    period: Period
    won: int
    won_amount: Decimal
    lost: int
    lost_amount: Decimal


@dataclass(frozen=True, slots=True)
class ChartData:
    """What the digest's charts show, in the digest's currency."""

    digest: Digest
    pipeline: Pipeline
    funnel: tuple[FunnelStage, ...]  # every open stage of the pipeline, in its order
    trend: tuple[TrendPoint, ...]  # oldest first, the digest's period last


@dataclass(frozen=True, slots=True)
class Digest:
    """What a manager reads about a period: totals, the same per rep, and what needs a push.

    `stalled` and `overdue` hold at most `limit` items each (the worst first); their totals are
    `totals.stalled` and `totals.overdue`. Everything a renderer or a chart needs is here.
    """

    period: Period
    generated_at: datetime
    currency: str
    filters: ReportFilter
    totals: Figures
    reps: tuple[RepFigures, ...]
    stalled: tuple[StalledDeal, ...]
    overdue: tuple[OverdueActivity, ...]
    unplanned: int | None = None  # open deals with no next activity (when asked for)
    unconverted: tuple[Unconverted, ...] = ()
    pipeline_name: str | None = None  # the filter's pipeline as stored (None: localized)
    rep_name: str | None = None
    unclaimed: Unclaimed | None = None  # None: no triage queue in the reader's scope


@dataclass(slots=True)
class _Sums:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    amounts: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))


_NO_COUNTS: Mapping[str, Mapping[int | None, int]] = {
    k: {} for k in ("new_leads", "new_deals", "stage_moves", "overdue", "stalled")
}


def _days(later: datetime, earlier: datetime) -> int:
    return max(0, (later - earlier) // timedelta(days=1))


class ReportService:
    def __init__(
        self,
        repos: Repos,
        runtime: Runtime,
        elements: ElementService,
        currencies: CurrencyService,
    ) -> None:
        self.repos = repos
        self.runtime = runtime
        self.elements = elements
        self.currencies = currencies

    # --- periods and filters --------------------------------------------------------------------
    def period(self, user: User, text: str = "") -> Period:
        """The period a reader typed (`today` when nothing), in the reader's time zone."""
        timezone = self.runtime.config.timezone_of(user)
        now = self.runtime.clock.now()
        if not text.strip():
            return Period.of(PeriodKind.TODAY, now, timezone)
        period = parse_period(text, now, timezone)
        if period is None:
            raise InvalidValue("period", text.strip()[:40])
        return period

    async def request(self, actor: Actor, user: User, text: str) -> tuple[Period, ReportFilter]:
        """`/report` arguments: `[period] [rep name] [pipeline]`; the period is today when the
        text does not start with one."""
        words = text.split()
        if not words:
            return self.period(user), ReportFilter()
        timezone = self.runtime.config.timezone_of(user)
        now = self.runtime.clock.now()
        for n in (3, 1):  # `2026-11-01 .. 2026-11-30` is three words
            if len(words) >= n:
                period = parse_period(" ".join(words[:n]), now, timezone)
                if period is not None:
                    return period, await self.read_filters(actor, " ".join(words[n:]))
        return self.period(user), await self.read_filters(actor, text)

    async def read_filters(self, actor: Actor, text: str) -> ReportFilter:
        """`[rep name] [pipeline]` after the period: a rep of the reader's audience (by name,
        the longest match first) and/or a pipeline (by name or id)."""
        text = " ".join(text.split())
        if not text:
            return ReportFilter()
        audience = await self._people(actor)
        users = await self.repos.reports.users(audience)
        words = text.split()
        for n in range(len(words), 0, -1):
            name = fold(" ".join(words[:n]))
            found = [u for u in users if fold(u.name) == name]
            if found:
                rest = " ".join(words[n:])
                pipeline_id = await self._pipeline(rest) if rest else None
                return ReportFilter(found[0].id, pipeline_id)
        return ReportFilter(None, await self._pipeline(text))

    async def _pipeline(self, text: str) -> int:
        pipeline, rest = pick("pipeline", text, await self.repos.pipelines.all(), _pipeline_label)
        if rest:
            raise InvalidValue("filter", rest[:40])
        return pipeline.id

    # --- access ---------------------------------------------------------------------------------
    async def _people(self, actor: Actor) -> list[int] | None:
        """Whose figures the actor may read: None is everyone."""
        policy = self.runtime.policy
        if not policy.has_right(actor, Right.TEAM_REPORTS):
            return [actor.user_id]
        level = policy.level(actor, EntityType.DEAL, Operation.READ)
        if level is Level.ALL:
            return None
        if level is Level.DEPARTMENT and actor.department_id is not None:
            members: set[int] = set()
            for department in policy.departments(actor) or {actor.department_id}:
                members.update(await self.repos.reports.department_members(department))
            return sorted({*members, actor.user_id})
        return [actor.user_id]

    async def audience(self, actor: Actor, filters: ReportFilter) -> Audience:
        people = await self._people(actor)
        if filters.rep_id is not None:
            if people is not None and filters.rep_id not in people:
                raise NotFound("user", filters.rep_id)  # as if nobody had that name
            people = [filters.rep_id]
        if filters.pipeline_id is not None:
            if await self.repos.pipelines.get(filters.pipeline_id) is None:
                raise NotFound("pipeline", filters.pipeline_id)
        return Audience(tuple(people) if people is not None else None, filters.pipeline_id)

    # --- the digest -----------------------------------------------------------------------------
    async def digest(
        self,
        actor: Actor,
        period: Period,
        filters: ReportFilter = ReportFilter(),
        *,
        currency: str | None = None,
        limit: int = LIST_LIMIT,
        with_unplanned: bool = False,
    ) -> Digest:
        """The digest of `period`. `with_unplanned` also counts the open deals with no next
        activity (a probe per open deal: the slowest figure, see BENCHMARKS.md)."""
        await self.repos.reports.prepare()
        audience = await self.audience(actor, filters)
        now = self.runtime.clock.now()
        start, end = period.start, period.end
        until = min(end, now)
        target = currency or await self.currencies.report_currency()
        base = self.currencies.base
        repo = self.repos.reports
        rates = await self.currencies.rates()
        groups = await repo.amount_groups(
            audience, start, end, now, base=base, convert_all=target != base
        )
        sums, unconverted = self._convert(groups, rates, target)
        counts: dict[str, Mapping[int | None, int]] = {
            "new_leads": await repo.new_leads(audience, start, end)
            if filters.pipeline_id is None
            else {},
            "new_deals": await repo.new_deals(audience, start, end),
            "stage_moves": await repo.stage_moves(audience, start, end),
            "overdue": await repo.overdue_counts(audience, until),
            "stalled": await repo.stalled_counts(audience, start, end, now),
        }
        people = audience.user_ids
        ids: set[int | None]
        if people is not None:  # everyone of the audience, those who did nothing too
            ids = set(people)
        else:
            ids = {*(u.id for u in await repo.users(None)), *sums}
            for values in counts.values():
                ids |= set(values)
        names = await self.repos.users.names({i for i in ids if i is not None})
        reps = []
        for user_id in ids:
            figures = self._figures(user_id, counts, sums)
            if user_id is None and figures.is_empty:
                continue
            reps.append(RepFigures(user_id, names.get(user_id, "") if user_id else "", figures))
        reps.sort(key=lambda r: (-r.figures.won_amount, -r.figures.deals, r.name, r.user_id or 0))
        totals = self._total([r.figures for r in reps])
        stalled = await repo.stalled(audience, start, end, now, limit)
        overdue = await repo.overdue(audience, until, limit)
        pipeline = (
            await self.repos.pipelines.get(filters.pipeline_id)
            if filters.pipeline_id is not None
            else None
        )
        return Digest(
            period=period,
            generated_at=now,
            currency=target,
            filters=filters,
            totals=totals,
            reps=tuple(reps),
            stalled=tuple(self._stalled_item(row, names, until) for row in stalled),
            overdue=tuple(self._overdue_item(row, names, until) for row in overdue),
            unplanned=await repo.unplanned_count(audience) if with_unplanned else None,
            unconverted=unconverted,
            pipeline_name=pipeline.name if pipeline is not None else None,
            rep_name=names.get(filters.rep_id) if filters.rep_id is not None else None,
            unclaimed=await self.unclaimed(actor)
            if filters.rep_id is None and filters.pipeline_id is None
            else None,
        )

    # --- triage ---------------------------------------------------------------------------------
    def queue_scope(self, actor: Actor) -> QueueScope:
        """Whose triage queues a reader's digest counts (see the module's docstring)."""
        policy = self.runtime.policy
        if policy.has_right(actor, Right.TEAM_REPORTS):
            level = policy.level(actor, EntityType.DEAL, Operation.READ)
            if level is Level.ALL:
                return QueueScope(everything=True)
            if level is Level.DEPARTMENT and actor.department_id is not None:
                return QueueScope(department_id=actor.department_id, member_id=actor.user_id)
        return QueueScope(member_id=actor.user_id)

    async def unclaimed(self, actor: Actor) -> Unclaimed | None:
        row = await self.repos.reports.unclaimed(self.queue_scope(actor))
        if not row.queues:
            return None
        now = self.runtime.clock.now()
        waiting = max(timedelta(0), now - row.oldest_at) if row.oldest_at else timedelta(0)
        return Unclaimed(row.queues, row.requests, row.oldest_at, waiting)

    # --- charts ---------------------------------------------------------------------------------
    async def charts(
        self, actor: Actor, digest: Digest, *, periods: int = TREND_PERIODS
    ) -> ChartData:
        """The funnel and the trend of a digest's reader (the per-rep chart is the digest's)."""
        audience = await self.audience(actor, digest.filters)
        repo = self.repos.reports
        target, base = digest.currency, self.currencies.base
        rates = await self.currencies.rates()
        pipeline = (
            await self.repos.pipelines.get(digest.filters.pipeline_id)
            if digest.filters.pipeline_id is not None
            else None
        ) or await self.repos.pipelines.default()
        deals: dict[int, int] = defaultdict(int)
        amounts: dict[int, Decimal] = defaultdict(Decimal)
        for group in await repo.funnel(
            audience, pipeline.id, base=base, convert_all=target != base
        ):
            deals[group.stage_id] += group.count
            value = rates.convert(group.amount_minor, group.currency, group.epoch, target)
            if value is not None:
                amounts[group.stage_id] += value
        stages = [
            s
            for s in await self.repos.pipelines.stages(pipeline.id)
            if s.semantic == "process" or deals.get(s.id)
        ]
        funnel = tuple(
            FunnelStage(s, deals.get(s.id, 0), round_money(amounts.get(s.id, Decimal(0))))
            for s in stages
        )
        trend: list[TrendPoint] = []
        period = digest.period
        for _n in range(max(1, periods)):
            groups = await repo.closed_groups(
                audience, period.start, period.end, base=base, convert_all=target != base
            )
            sums, _missing = self._convert(groups, rates, target)
            total = self._total([self._figures(rid, _NO_COUNTS, sums) for rid in sums])
            trend.append(
                TrendPoint(period, total.won, total.won_amount, total.lost, total.lost_amount)
            )
            period = period.previous()
        return ChartData(digest, pipeline, funnel, tuple(reversed(trend)))

    @staticmethod
    def _convert(
        groups: Sequence[AmountGroup], rates: Rates, target: str
    ) -> tuple[dict[int | None, _Sums], tuple[Unconverted, ...]]:
        sums: dict[int | None, _Sums] = defaultdict(_Sums)
        missing: dict[str, int] = defaultdict(int)
        for group in groups:
            entry = sums[group.responsible_id]
            entry.counts[group.kind] += group.count
            value = rates.convert(group.amount_minor, group.currency, group.epoch, target)
            if value is None:
                if group.kind == "all" and group.amount_minor:
                    missing[group.currency or rates.base] += group.count
                continue
            entry.amounts[group.kind] += value
        return sums, tuple(Unconverted(c, n) for c, n in sorted(missing.items()))

    @staticmethod
    def _figures(
        user_id: int | None,
        counts: Mapping[str, Mapping[int | None, int]],
        sums: Mapping[int | None, _Sums],
    ) -> Figures:
        entry = sums.get(user_id) or _Sums()
        return Figures(
            new_leads=counts["new_leads"].get(user_id, 0),
            new_deals=counts["new_deals"].get(user_id, 0),
            stage_moves=counts["stage_moves"].get(user_id, 0),
            deals=entry.counts.get("all", 0),
            deals_amount=round_money(entry.amounts.get("all", Decimal(0))),
            won=entry.counts.get("success", 0),
            won_amount=round_money(entry.amounts.get("success", Decimal(0))),
            lost=entry.counts.get("failure", 0),
            lost_amount=round_money(entry.amounts.get("failure", Decimal(0))),
            overdue=counts["overdue"].get(user_id, 0),
            stalled=counts["stalled"].get(user_id, 0),
        )

    @staticmethod
    def _total(rows: Sequence[Figures]) -> Figures:
        return Figures(
            new_leads=sum(r.new_leads for r in rows),
            new_deals=sum(r.new_deals for r in rows),
            stage_moves=sum(r.stage_moves for r in rows),
            deals=sum(r.deals for r in rows),
            deals_amount=sum((r.deals_amount for r in rows), Decimal("0.00")),
            won=sum(r.won for r in rows),
            won_amount=sum((r.won_amount for r in rows), Decimal("0.00")),
            lost=sum(r.lost for r in rows),
            lost_amount=sum((r.lost_amount for r in rows), Decimal("0.00")),
            overdue=sum(r.overdue for r in rows),
            stalled=sum(r.stalled for r in rows),
        )

    @staticmethod
    def _stalled_item(row: DealRow, names: Mapping[int, str], until: datetime) -> StalledDeal:
        value = from_minor(row.amount_minor)
        return StalledDeal(
            ref=ElementRef(EntityType.DEAL, row.id),
            title=row.title,
            responsible_id=row.responsible_id,
            responsible=names.get(row.responsible_id, "") if row.responsible_id else "",
            pipeline_id=row.pipeline_id,
            stage_id=row.stage_id,
            amount=Amount(value, row.currency or "") if value is not None else None,
            last_work_at=row.last_work_at,
            days_idle=_days(until, row.last_work_at),
        )

    @staticmethod
    def _overdue_item(
        row: ActivityRow, names: Mapping[int, str], until: datetime
    ) -> OverdueActivity:
        ref = (
            ElementRef(EntityType(row.entity), row.entity_id)
            if row.entity is not None and row.entity_id is not None
            else None
        )
        return OverdueActivity(
            activity_id=row.id,
            subject=row.subject,
            deadline=row.deadline,
            responsible_id=row.responsible_id,
            responsible=names.get(row.responsible_id, "") if row.responsible_id else "",
            ref=ref,
            days_overdue=_days(until, row.deadline),
        )

    # --- lists ----------------------------------------------------------------------------------
    async def stalled(
        self,
        actor: Actor,
        period: Period,
        filters: ReportFilter = ReportFilter(),
        *,
        limit: int = LIST_LIMIT,
        offset: int = 0,
    ) -> tuple[int, list[StalledDeal]]:
        """How many deals are stalled in the period, and a page of them (worst first)."""
        await self.repos.reports.prepare()
        audience = await self.audience(actor, filters)
        now = self.runtime.clock.now()
        repo = self.repos.reports
        counts = await repo.stalled_counts(audience, period.start, period.end, now)
        rows = await repo.stalled(audience, period.start, period.end, now, limit, offset)
        names = await self.repos.users.names({r.responsible_id for r in rows if r.responsible_id})
        until = min(period.end, now)
        return sum(counts.values()), [self._stalled_item(r, names, until) for r in rows]

    async def period_deals(
        self,
        actor: Actor,
        period: Period,
        filters: ReportFilter = ReportFilter(),
    ) -> list[ElementRef]:
        """The deals the period includes (the inclusion rule), in id order."""
        audience = await self.audience(actor, filters)
        now = self.runtime.clock.now()
        ids = await self.repos.reports.period_deal_ids(audience, period.start, period.end, now)
        return [ElementRef(EntityType.DEAL, i) for i in ids]

    async def unplanned(
        self,
        actor: Actor,
        filters: ReportFilter = ReportFilter(),
        *,
        limit: int = LIST_LIMIT,
    ) -> tuple[int, list[StalledDeal]]:
        """Open deals with no next activity planned (the longest untouched first)."""
        audience = await self.audience(actor, filters)
        repo = self.repos.reports
        rows = await repo.unplanned(audience, limit)
        names = await self.repos.users.names({r.responsible_id for r in rows if r.responsible_id})
        now = self.runtime.clock.now()
        return await repo.unplanned_count(audience), [
            self._stalled_item(r, names, now) for r in rows
        ]

    async def uncontacted_days(self) -> int:
        value = ascii_int(await self.repos.pipelines.setting(UNCONTACTED_DAYS) or "")
        return value if value else DEFAULT_UNCONTACTED_DAYS

    async def set_uncontacted_days(self, actor: Actor | None, days: int) -> int:
        if actor is not None:
            self.runtime.policy.require_right(actor, Right.SETTINGS)
        if not 1 <= days <= MAX_DAYS_SETTING:
            raise InvalidValue("days", str(days))
        await self.repos.pipelines.set_setting(UNCONTACTED_DAYS, str(days))
        await self.repos.commit()
        return days

    async def uncontacted(
        self,
        actor: Actor,
        days: int | None = None,
        *,
        limit: int = LIST_LIMIT,
    ) -> tuple[int, int, list[IdleClient]]:
        """Contacts and companies nobody finished an activity with for `days` (the setting by
        default): the days, how many, and the longest forgotten first."""
        days = days or await self.uncontacted_days()
        if not 1 <= days <= MAX_DAYS_SETTING:
            raise InvalidValue("days", str(days))
        audience = await self.audience(actor, ReportFilter())
        since = self.runtime.clock.now() - timedelta(days=days)
        total, rows = await self.repos.reports.uncontacted(audience, since, limit)
        names = await self.repos.users.names({r.responsible_id for r in rows if r.responsible_id})
        return days, total, [self._client(r, names) for r in rows]

    @staticmethod
    def _client(row: ClientRow, names: Mapping[int, str]) -> IdleClient:
        return IdleClient(
            ref=ElementRef(EntityType(row.entity), row.id),
            name=row.name,
            responsible=names.get(row.responsible_id, "") if row.responsible_id else "",
            last_contact_at=row.last_contact_at,
        )

    # --- actions on a digest's items ------------------------------------------------------------
    async def snooze_stalled(self, actor: Actor, deal_id: int, days: int = 7) -> datetime:
        """Leave a stalled deal out of the stalled lists for `days` (edit rights on the deal)."""
        if not 1 <= days <= MAX_SNOOZE_DAYS:
            raise InvalidValue("days", str(days))
        deal = await self._deal(actor, deal_id, Operation.UPDATE)
        until = self.runtime.clock.now() + timedelta(days=days)
        deal.stalled_snoozed_until = until
        await self.repos.commit()
        return until

    async def nudge_target(
        self, actor: Actor, *, deal_id: int | None = None, activity_id: int | None = None
    ) -> tuple[User, ElementRef | None, str]:
        """Whom a nudge about a deal or an activity goes to (its responsible), what it is about
        and its title. Nudging others is a team-reports right; the item must be readable."""
        self.runtime.policy.require_right(actor, Right.TEAM_REPORTS)
        if deal_id is not None:
            deal = await self._deal(actor, deal_id, Operation.READ)
            ref: ElementRef | None = ElementRef(EntityType.DEAL, deal.id)
            responsible_id, title = deal.responsible_id, deal.title
        elif activity_id is not None:
            from crm.activities import primary_ref

            activity = await self.repos.activities.get(activity_id)
            if activity is None:
                raise NotFound("activity", activity_id)
            ref = primary_ref(activity)
            if ref is None:
                raise NotFound("activity", activity_id)
            await self.elements.load(actor, ref)  # nudging about it is reading it
            responsible_id, title = activity.responsible_id, activity.subject
        else:
            raise InvalidValue("nudge", "")
        user = await self.repos.users.get(responsible_id) if responsible_id else None
        if user is None or not user.is_active:
            raise NotFound("user", responsible_id)
        return user, ref, title

    async def _deal(self, actor: Actor, deal_id: int, op: Operation) -> Deal:
        deal = await self.elements.load(actor, ElementRef(EntityType.DEAL, deal_id), op)
        assert isinstance(deal, Deal)
        return deal
