"""SQL of the reports (crm/reports.py): grouped counts and sums, the stalled and the unplanned
deals, overdue activities, clients nobody contacted. Every query is set-based: one statement per
figure for the whole audience, grouped by the responsible user.

Amounts are summed in minor units per currency and per *rate epoch* — the latest moment a rate
of any currency became valid before the deal's moment — so that the domain converts a handful of
groups exactly instead of every deal (within an epoch every rate is constant).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from crm.enums import WORK_KINDS
from storage.models import (
    Activity,
    ActivityBinding,
    Company,
    Contact,
    CurrencyRate,
    Deal,
    Lead,
    Stage,
    TimelineEntry,
    TriageMember,
    TriageMessage,
    TriageQueue,
    TriageRequest,
    User,
)

STAGE_KINDS = ("stage", "pipeline")  # a pipeline move puts the deal at another stage too


@dataclass(frozen=True, slots=True)
class Audience:
    """Whose work a report covers: `user_ids` None is everyone (unassigned elements too)."""

    user_ids: tuple[int, ...] | None
    pipeline_id: int | None = None


@dataclass(frozen=True, slots=True)
class AmountGroup:
    """Deals of one responsible, one kind, one currency and one rate epoch."""

    responsible_id: int | None
    kind: str  # "all" (the period's deals), "success" (won) or "failure" (lost)
    currency: str | None
    epoch: datetime | None  # None: before any rate (or no conversion needed)
    count: int
    amount_minor: int


@dataclass(frozen=True, slots=True)
class FunnelGroup:
    """Open deals of one stage, one currency and one rate epoch (of their creation)."""

    stage_id: int
    currency: str | None
    epoch: datetime | None
    count: int
    amount_minor: int


@dataclass(frozen=True, slots=True)
class QueueScope:
    """Which triage queues a reader's digest covers: every queue (`everything`), else the
    queues of `department_id` and those of no department, and the queues `member_id` works."""

    everything: bool = False
    department_id: int | None = None
    member_id: int | None = None


@dataclass(frozen=True, slots=True)
class UnclaimedRow:
    queues: int  # active queues in the scope
    requests: int  # their new (unclaimed) requests
    oldest_at: datetime | None


@dataclass(frozen=True, slots=True)
class DealRow:
    id: int
    title: str
    responsible_id: int | None
    pipeline_id: int
    stage_id: int
    amount_minor: int | None
    currency: str | None
    last_work_at: datetime


@dataclass(frozen=True, slots=True)
class ActivityRow:
    id: int
    subject: str
    deadline: datetime
    responsible_id: int | None
    entity: str | None  # the first element it is bound to
    entity_id: int | None


@dataclass(frozen=True, slots=True)
class ClientRow:
    entity: str  # "contact" or "company"
    id: int
    name: str
    responsible_id: int | None
    last_contact_at: datetime | None


def _among(column: Any, audience: Audience) -> list[ColumnElement[bool]]:
    if audience.user_ids is None:
        return []
    return [column.in_(audience.user_ids)]


def _deal_filters(audience: Audience) -> list[ColumnElement[bool]]:
    clauses = _among(Deal.responsible_id, audience)
    if audience.pipeline_id is not None:
        clauses.append(Deal.pipeline_id == audience.pipeline_id)
    return clauses


def _counts(rows: Sequence[Any]) -> dict[int | None, int]:
    return {row[0]: int(row[1]) for row in rows}


def _worked_between(start: datetime, end: datetime) -> ColumnElement[bool]:
    return exists().where(
        TimelineEntry.entity == "deal",
        TimelineEntry.entity_id == Deal.id,
        TimelineEntry.kind.in_(WORK_KINDS),
        TimelineEntry.created_at >= start,
        TimelineEntry.created_at < end,
    )


class ReportRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def prepare(self) -> None:
        """Report statements are short index-driven queries: PostgreSQL's JIT compiler (30–40
        ms per statement in the bench's plans) costs more than it could save. Off for this
        transaction only."""
        bind = self.session.get_bind()
        if bind.dialect.name == "postgresql":
            await self.session.execute(text("SET LOCAL jit = off"))

    # --- the period's deals (Bitrix24's inclusion rule) -----------------------------------------
    def period_deals_clause(
        self, start: datetime, end: datetime, now: datetime
    ) -> ColumnElement[bool]:
        """A deal belongs to [start, end) if it existed before `end` and was still open at the
        end, or was closed in the period, or anything happened on its timeline in the period
        (a change, a comment, a new or finished activity — also on a deal closed earlier)."""
        touched = Deal.touched_at >= start
        if end < now:  # a past period: something later may have moved touched_at on
            touched = and_(
                touched,
                exists().where(
                    TimelineEntry.entity == "deal",
                    TimelineEntry.entity_id == Deal.id,
                    TimelineEntry.created_at >= start,
                    TimelineEntry.created_at < end,
                ),
            )
        return and_(
            Deal.created_at < end,
            or_(Deal.closed_at.is_(None), Deal.closed_at >= start, touched),
        )

    def period_parts(
        self, start: datetime, end: datetime, now: datetime
    ) -> list[ColumnElement[bool]]:
        """The same rule as three disjoint parts, each answered by one index of a rep's deals:
        open (`ix_deals_stalled`), closed in or after the period (`ix_deals_open_by_
        responsible`), closed before it but touched in it (`ix_deals_responsible_touched`)."""
        touched: ColumnElement[bool] = Deal.touched_at >= start
        if end < now:
            touched = and_(
                touched,
                exists().where(
                    TimelineEntry.entity == "deal",
                    TimelineEntry.entity_id == Deal.id,
                    TimelineEntry.created_at >= start,
                    TimelineEntry.created_at < end,
                ),
            )
        return [
            and_(Deal.closed_at.is_(None), Deal.created_at < end),
            and_(Deal.closed_at >= start, Deal.created_at < end),
            and_(Deal.closed_at < start, touched),
        ]

    async def period_deal_ids(
        self, audience: Audience, start: datetime, end: datetime, now: datetime
    ) -> list[int]:
        query = select(Deal.id).where(
            self.period_deals_clause(start, end, now), *_deal_filters(audience)
        )
        return list((await self.session.scalars(query.order_by(Deal.id))).all())

    # --- counts ---------------------------------------------------------------------------------
    async def new_leads(
        self, audience: Audience, start: datetime, end: datetime
    ) -> dict[int | None, int]:
        query = (
            select(Lead.responsible_id, func.count())
            .where(Lead.created_at >= start, Lead.created_at < end)
            .where(*_among(Lead.responsible_id, audience))
            .group_by(Lead.responsible_id)
        )
        return _counts((await self.session.execute(query)).all())

    async def new_deals(
        self, audience: Audience, start: datetime, end: datetime
    ) -> dict[int | None, int]:
        query = (
            select(Deal.responsible_id, func.count())
            .where(Deal.created_at >= start, Deal.created_at < end, *_deal_filters(audience))
            .group_by(Deal.responsible_id)
        )
        return _counts((await self.session.execute(query)).all())

    async def stage_moves(
        self, audience: Audience, start: datetime, end: datetime
    ) -> dict[int | None, int]:
        """Stage (and pipeline) moves in the period, counted for the deal's responsible."""
        query = (
            select(Deal.responsible_id, func.count())
            .select_from(TimelineEntry)
            .join(Deal, Deal.id == TimelineEntry.entity_id)
            .where(
                TimelineEntry.entity == "deal",
                TimelineEntry.kind.in_(STAGE_KINDS),
                TimelineEntry.created_at >= start,
                TimelineEntry.created_at < end,
                *_deal_filters(audience),
            )
            .group_by(Deal.responsible_id)
        )
        return _counts((await self.session.execute(query)).all())

    # --- amounts --------------------------------------------------------------------------------
    @staticmethod
    def _epoch(moment: Any, currency: Any, convert_all: bool) -> Any:
        """The rate epoch of `moment`: the latest start of any rate at or before it. Deals in the
        base currency need none unless the report is in another currency."""
        latest = (
            select(func.max(CurrencyRate.valid_from_at))
            .where(CurrencyRate.valid_from_at <= moment)
            .scalar_subquery()
        )
        if convert_all:
            return latest
        return case((currency.is_(None), null()), else_=latest)

    async def amount_groups(
        self,
        audience: Audience,
        start: datetime,
        end: datetime,
        now: datetime,
        *,
        base: str,
        convert_all: bool,
    ) -> list[AmountGroup]:
        """Sums of the period's deals (at the rate of the closing moment of a closed deal, of
        the creation of an open one) and of the deals won and lost in the period."""
        currency = func.nullif(Deal.currency, base)  # the base currency reads as NULL
        moment = func.coalesce(Deal.closed_at, Deal.created_at)
        inner = union_all(
            *(
                select(
                    Deal.responsible_id.label("rid"),
                    currency.label("cur"),
                    self._epoch(moment, currency, convert_all).label("epoch"),
                    func.coalesce(Deal.amount_minor, 0).label("amount"),
                ).where(part, *_deal_filters(audience))
                for part in self.period_parts(start, end, now)
            )
        ).subquery()
        groups = [
            AmountGroup(r.rid, "all", r.cur, r.epoch, int(r.n), int(r.total or 0))
            for r in (
                await self.session.execute(
                    select(
                        inner.c.rid,
                        inner.c.cur,
                        inner.c.epoch,
                        func.count().label("n"),
                        func.sum(inner.c.amount).label("total"),
                    ).group_by(inner.c.rid, inner.c.cur, inner.c.epoch)
                )
            ).all()
        ]
        return groups + await self.closed_groups(
            audience, start, end, base=base, convert_all=convert_all
        )

    async def closed_groups(
        self,
        audience: Audience,
        start: datetime,
        end: datetime,
        *,
        base: str,
        convert_all: bool,
    ) -> list[AmountGroup]:
        """The deals won and lost in [start, end), at the rate of their closing moment."""
        currency = func.nullif(Deal.currency, base)
        closed = (
            select(
                Deal.responsible_id.label("rid"),
                Stage.semantic.label("semantic"),
                currency.label("cur"),
                self._epoch(Deal.closed_at, currency, convert_all).label("epoch"),
                func.coalesce(Deal.amount_minor, 0).label("amount"),
            )
            .join(Stage, Stage.id == Deal.stage_id)
            .where(
                Deal.closed_at >= start,
                Deal.closed_at < end,
                Stage.semantic.in_(("success", "failure")),
                *_deal_filters(audience),
            )
            .subquery()
        )
        rows = await self.session.execute(
            select(
                closed.c.rid,
                closed.c.semantic,
                closed.c.cur,
                closed.c.epoch,
                func.count().label("n"),
                func.sum(closed.c.amount).label("total"),
            ).group_by(closed.c.rid, closed.c.semantic, closed.c.cur, closed.c.epoch)
        )
        return [
            AmountGroup(r.rid, r.semantic, r.cur, r.epoch, int(r.n), int(r.total or 0))
            for r in rows.all()
        ]

    async def rates(self) -> Sequence[CurrencyRate]:
        query = select(CurrencyRate).order_by(CurrencyRate.currency, CurrencyRate.valid_from)
        return (await self.session.scalars(query)).all()

    # --- the funnel -----------------------------------------------------------------------------
    async def funnel(
        self, audience: Audience, pipeline_id: int, *, base: str, convert_all: bool
    ) -> list[FunnelGroup]:
        """Open deals of a pipeline per stage (amounts at the rate of their creation), for the
        audience's responsibles; `ix_deals_stalled` finds a rep's open deals."""
        currency = func.nullif(Deal.currency, base)
        inner = (
            select(
                Deal.stage_id.label("sid"),
                currency.label("cur"),
                self._epoch(Deal.created_at, currency, convert_all).label("epoch"),
                func.coalesce(Deal.amount_minor, 0).label("amount"),
            )
            .where(
                Deal.closed_at.is_(None),
                Deal.pipeline_id == pipeline_id,
                *_among(Deal.responsible_id, audience),
            )
            .subquery()
        )
        rows = await self.session.execute(
            select(
                inner.c.sid,
                inner.c.cur,
                inner.c.epoch,
                func.count().label("n"),
                func.sum(inner.c.amount).label("total"),
            ).group_by(inner.c.sid, inner.c.cur, inner.c.epoch)
        )
        return [
            FunnelGroup(int(r.sid), r.cur, r.epoch, int(r.n), int(r.total or 0))
            for r in rows.all()
        ]

    # --- unclaimed triage requests ---------------------------------------------------------------
    async def unclaimed(self, scope: QueueScope) -> UnclaimedRow:
        """The new (nobody's) requests of the active queues in `scope`, and the oldest one's
        arrival."""
        clauses: list[ColumnElement[bool]] = [TriageQueue.active.is_(True)]
        if not scope.everything:
            allowed: list[ColumnElement[bool]] = []
            if scope.department_id is not None:
                allowed += [
                    TriageQueue.department_id == scope.department_id,
                    TriageQueue.department_id.is_(None),
                ]
            if scope.member_id is not None:
                allowed.append(
                    exists().where(
                        TriageMember.queue_id == TriageQueue.id,
                        TriageMember.user_id == scope.member_id,
                        TriageMember.active.is_(True),
                    )
                )
            clauses.append(or_(*allowed) if allowed else literal(False))
        queues = select(TriageQueue.id).where(*clauses).subquery()
        count = await self.session.scalar(select(func.count()).select_from(queues))
        arrived = (  # the first message's moment (the app's clock), else the row's creation
            select(func.min(TriageMessage.at))
            .where(TriageMessage.request_id == TriageRequest.id, TriageMessage.direction == "in")
            .scalar_subquery()
        )
        row = (
            await self.session.execute(
                select(
                    func.count(), func.min(func.coalesce(arrived, TriageRequest.created_at))
                ).where(
                    TriageRequest.queue_id.in_(select(queues.c.id)),
                    TriageRequest.status == "new",
                )
            )
        ).one()
        return UnclaimedRow(int(count or 0), int(row[0]), row[1])

    # --- stalled deals --------------------------------------------------------------------------
    def _stalled(
        self, audience: Audience, start: datetime, end: datetime, now: datetime
    ) -> tuple[ColumnElement[bool], Any]:
        """Deals open at the period's end with no work in it: no stage or pipeline move, no
        activity done, not created in it; and the moment of their last work before the end.
        A deal a manager snoozed is left out until the snooze ends."""
        snoozed = or_(Deal.stalled_snoozed_until.is_(None), Deal.stalled_snoozed_until <= now)
        if end >= now:
            clause = and_(Deal.closed_at.is_(None), Deal.last_activity_at < start, snoozed)
            return and_(clause, *_deal_filters(audience)), Deal.last_activity_at
        last_before = (
            select(func.max(TimelineEntry.created_at))
            .where(
                TimelineEntry.entity == "deal",
                TimelineEntry.entity_id == Deal.id,
                TimelineEntry.kind.in_(WORK_KINDS),
                TimelineEntry.created_at < end,
            )
            .scalar_subquery()
        )
        clause = and_(
            Deal.created_at < start,
            or_(Deal.closed_at.is_(None), Deal.closed_at >= end),
            or_(
                Deal.last_activity_at < start,
                and_(Deal.last_activity_at >= end, ~_worked_between(start, end)),
            ),
            snoozed,
        )
        return and_(clause, *_deal_filters(audience)), func.coalesce(last_before, Deal.created_at)

    async def stalled_counts(
        self, audience: Audience, start: datetime, end: datetime, now: datetime
    ) -> dict[int | None, int]:
        clause, _last = self._stalled(audience, start, end, now)
        query = select(Deal.responsible_id, func.count()).where(clause)
        return _counts((await self.session.execute(query.group_by(Deal.responsible_id))).all())

    async def stalled(
        self,
        audience: Audience,
        start: datetime,
        end: datetime,
        now: datetime,
        limit: int,
        offset: int = 0,
    ) -> list[DealRow]:
        """The most forgotten first (the oldest last work), then by id."""
        clause, last = self._stalled(audience, start, end, now)
        return await self._deal_rows(clause, last, limit, offset)

    async def _deal_rows(
        self, clause: ColumnElement[bool], last: Any, limit: int, offset: int
    ) -> list[DealRow]:
        query = (
            select(
                Deal.id,
                Deal.title,
                Deal.responsible_id,
                Deal.pipeline_id,
                Deal.stage_id,
                Deal.amount_minor,
                Deal.currency,
                last.label("last_work_at"),
            )
            .where(clause)
            .order_by(last, Deal.id)
            .offset(offset)
            .limit(limit)
        )
        rows = (await self.session.execute(query)).all()
        return [DealRow(*row) for row in rows]

    # --- open deals with nothing planned --------------------------------------------------------
    def _unplanned(self, audience: Audience) -> ColumnElement[bool]:
        planned = (
            select(literal(1))
            .select_from(ActivityBinding)
            .join(Activity, Activity.id == ActivityBinding.activity_id)
            .where(
                ActivityBinding.entity == "deal",
                ActivityBinding.entity_id == Deal.id,
                Activity.completed_at.is_(None),
            )
            .exists()
        )
        return and_(Deal.closed_at.is_(None), ~planned, *_deal_filters(audience))

    async def unplanned_count(self, audience: Audience) -> int:
        query = select(func.count()).select_from(Deal).where(self._unplanned(audience))
        return int(await self.session.scalar(query) or 0)

    async def unplanned(self, audience: Audience, limit: int, offset: int = 0) -> list[DealRow]:
        return await self._deal_rows(
            self._unplanned(audience), Deal.last_activity_at, limit, offset
        )

    # --- overdue activities ---------------------------------------------------------------------
    def _overdue(self, audience: Audience, until: datetime) -> ColumnElement[bool]:
        clauses = [
            Activity.completed_at.is_(None),
            Activity.deadline < until,
            *_among(Activity.responsible_id, audience),
        ]
        if audience.pipeline_id is not None:
            clauses.append(
                exists().where(
                    ActivityBinding.activity_id == Activity.id,
                    ActivityBinding.entity == "deal",
                    Deal.id == ActivityBinding.entity_id,
                    Deal.pipeline_id == audience.pipeline_id,
                )
            )
        return and_(*clauses)

    async def overdue_counts(self, audience: Audience, until: datetime) -> dict[int | None, int]:
        query = (
            select(Activity.responsible_id, func.count())
            .where(self._overdue(audience, until))
            .group_by(Activity.responsible_id)
        )
        return _counts((await self.session.execute(query)).all())

    async def overdue(
        self, audience: Audience, until: datetime, limit: int, offset: int = 0
    ) -> list[ActivityRow]:
        """The longest overdue first."""
        first = (
            select(ActivityBinding.entity, ActivityBinding.entity_id)
            .where(ActivityBinding.activity_id == Activity.id)
            .order_by(ActivityBinding.position)
            .limit(1)
        )
        if audience.user_ids is not None and len(audience.user_ids) > 1:
            # The first `offset + limit` of each rep, each one ordered index range
            # (`ix_activities_open_by_responsible`), then the best of those: no sort of every
            # overdue activity of the department.
            each = [
                select(Activity.id.label("id"), Activity.deadline.label("deadline"))
                .where(self._overdue(Audience((uid,), audience.pipeline_id), until))
                .order_by(Activity.deadline, Activity.id)
                .limit(offset + limit)
                .subquery()
                for uid in audience.user_ids
            ]
            best = union_all(*(select(e.c.id, e.c.deadline) for e in each)).subquery()
            ids = select(best.c.id).order_by(best.c.deadline, best.c.id).offset(offset)
            clause: ColumnElement[bool] = Activity.id.in_(ids.limit(limit).scalar_subquery())
        else:
            clause = self._overdue(audience, until)
        query: Select[Any] = (
            select(
                Activity.id,
                Activity.subject,
                Activity.deadline,
                Activity.responsible_id,
                first.with_only_columns(ActivityBinding.entity).scalar_subquery(),
                first.with_only_columns(ActivityBinding.entity_id).scalar_subquery(),
            )
            .where(clause)
            .order_by(Activity.deadline, Activity.id)
        )
        if audience.user_ids is None or len(audience.user_ids) <= 1:
            query = query.offset(offset).limit(limit)
        return [ActivityRow(*row) for row in (await self.session.execute(query)).all()]

    # --- clients nobody contacted ---------------------------------------------------------------
    async def uncontacted(
        self, audience: Audience, since: datetime, limit: int
    ) -> tuple[int, list[ClientRow]]:
        """Contacts and companies existing before `since` with no activity done with them since
        then (an activity's client is the contact or company it is with); the longest
        forgotten first, with their last contact."""
        found: list[ClientRow] = []
        total = 0
        for entity, model, label in (
            ("contact", Contact, Contact.name),
            ("company", Company, Company.title),
        ):
            done_with = and_(
                Activity.client_entity == entity,
                Activity.client_id == model.id,
                Activity.completed_at.is_not(None),
            )
            last = select(func.max(Activity.completed_at)).where(done_with).scalar_subquery()
            clause = and_(
                model.created_at < since,
                ~exists().where(done_with, Activity.completed_at >= since),
                *_among(model.responsible_id, audience),
            )
            total += int(
                await self.session.scalar(select(func.count()).select_from(model).where(clause))
                or 0
            )
            rows = await self.session.execute(
                select(literal(entity), model.id, label, model.responsible_id, last.label("last"))
                .where(clause)
                .order_by(last.is_not(None), last, model.id)
                .limit(limit)
            )
            found += [ClientRow(*row) for row in rows.all()]
        found.sort(key=lambda c: (c.last_contact_at is not None, c.last_contact_at or since))
        return total, found[:limit]

    # --- people ---------------------------------------------------------------------------------
    async def department_members(self, department_id: int) -> list[int]:
        query = select(User.id).where(User.department_id == department_id, User.is_active)
        return list((await self.session.scalars(query.order_by(User.id))).all())

    async def users(self, user_ids: Sequence[int] | None) -> Sequence[User]:
        query = select(User).where(User.is_active)
        if user_ids is not None:
            query = query.where(User.id.in_(user_ids))
        return (await self.session.scalars(query.order_by(User.name, User.id))).unique().all()
