from __future__ import annotations

import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Select,
    Table,
    and_,
    any_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, raiseload

from storage.models import Activity, ActivityBinding, ActivityParticipant, Reminder, User


class ActivityRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, activity_id: int) -> Activity | None:
        return await self.session.get(Activity, activity_id)

    async def add(self, activity: Activity) -> Activity:
        self.session.add(activity)
        await self.session.flush()
        return activity

    async def delete(self, activity: Activity) -> None:
        await self.session.delete(activity)
        await self.session.flush()

    def _mine(self, user_id: int) -> ColumnElement[bool]:
        participant = exists().where(
            ActivityParticipant.activity_id == Activity.id, ActivityParticipant.user_id == user_id
        )
        return or_(Activity.responsible_id == user_id, participant)

    async def open_for_user(
        self, user_id: int, before: datetime | None = None, limit: int = 50
    ) -> Sequence[Activity]:
        query = select(Activity).where(Activity.completed_at.is_(None), self._mine(user_id))
        if before is not None:
            query = query.where(Activity.deadline < before)
        result = await self.session.scalars(
            query.order_by(Activity.deadline, Activity.id).limit(limit)
        )
        return result.unique().all()

    async def open_for_element(
        self, entity: str, entity_id: int, limit: int = 10
    ) -> Sequence[Activity]:
        bound = exists().where(
            ActivityBinding.activity_id == Activity.id,
            ActivityBinding.entity == entity,
            ActivityBinding.entity_id == entity_id,
        )
        query = select(Activity).where(Activity.completed_at.is_(None), bound)
        result = await self.session.scalars(query.order_by(Activity.deadline).limit(limit))
        return result.unique().all()

    async def for_delivery(self, ids: set[int]) -> dict[int, Activity]:
        """What a reminder shows — subject, deadline, place, bindings — and nothing more: the
        responsible and the participants are not needed to render it (half the claim's cost)."""
        query = (
            select(Activity)
            .where(Activity.id.in_(ids))
            .options(raiseload(Activity.responsible), raiseload(Activity.participants))
        )
        return {a.id: a for a in (await self.session.scalars(query)).unique().all()}

    async def move_bindings(self, entity: str, entity_id: int, to: str, to_id: int) -> None:
        """Re-bind the open activities of one element to another (lead conversion)."""
        open_ids = select(Activity.id).where(Activity.completed_at.is_(None))
        await self.session.execute(
            update(ActivityBinding)
            .where(
                ActivityBinding.entity == entity,
                ActivityBinding.entity_id == entity_id,
                ActivityBinding.activity_id.in_(open_ids),
            )
            .values(entity=to, entity_id=to_id)
        )


@dataclass(frozen=True, slots=True)
class ClaimedReminder:
    id: int
    activity_id: int
    user_id: int
    due_at: datetime
    kind: str
    attempts: int  # with the worker's name, the attempt id: a re-claim changes it
    # What delivering it needs, read with the claim: of its activity...
    subject: str
    deadline: datetime
    location: str | None
    completed_at: datetime | None
    bound_entity: str | None  # the element it is bound to first
    bound_id: int | None
    # ...and of its user.
    telegram_id: int | None
    locale: str | None
    timezone: str | None
    is_reachable: bool


# Statuses of a reminder that a worker holds (with a lease).
IN_FLIGHT = ("claimed", "sending")
# Statuses from which a "sent" result still counts: a send Telegram accepted wins over a claim
# taken meanwhile, so the other worker's gate refuses it instead of sending it again.
UNSETTLED = ("pending", "claimed", "sending")
# Serializes claims across PostgreSQL instances (claims are one short transaction each): two
# concurrent claims could otherwise both see a chat as free and both take its reminders.
CLAIM_LOCK = 0x43524D52  # "CRMR"


@dataclass(frozen=True, slots=True)
class Settle:
    """One reminder's result, as the engine hands it to the repository."""

    id: int
    attempts: int
    status: str  # sent | held | failed | cancelled | pending (released)
    at: datetime | None = None  # sent: when Telegram accepted it
    not_before: datetime | None = None  # pending: not to be claimed before then
    error: str | None = None
    counted: bool = True  # pending: False gives the claim back (a shutdown, a 429 wait)


# Aliases of `reminders` for the outbox statements, made once: an alias proxies every column,
# which made building them a good part of a small write's CPU.
_OTHER, _SENT, _MINE, _ROW = (aliased(Reminder) for _ in range(4))


def _held_statements() -> tuple[Any, Any, Any]:
    """The outbox's most frequent statements on PostgreSQL, made once (building and keying a
    statement was most of a small write's CPU): Core statements on the table, ids as one
    array parameter, rows locked in id order by the subquery and read by primary key."""
    table = typing.cast(Table, Reminder.__table__)
    c, row = table.c, table.alias("locked")
    ids = bindparam("ids", type_=ARRAY(Integer))
    locked = select(row.c.id).where(row.c.id == any_(ids)).order_by(row.c.id).with_for_update()
    mine = and_(c.id == any_(ids), c.id.in_(locked), c.claimed_by == bindparam("worker"))
    at = c.lease_until.type
    mark = (
        update(table)
        .where(mine, c.status == "claimed", c.lease_until >= bindparam("now", type_=at))
        .values(status="sending")
        .returning(c.id, c.attempts)
    )
    renew = (
        update(table)
        .where(mine, c.status.in_(IN_FLIGHT))
        .values(lease_until=bindparam("until", type_=at))
        .returning(c.id, c.attempts)
    )
    sent = (
        update(table)
        .where(c.id == any_(ids), c.id.in_(locked), c.status.in_(UNSETTLED))
        .values(
            status="sent",
            sent_at=bindparam("at", type_=at),
            lease_until=None,
            claimed_by=bindparam("worker"),
        )
    )
    return mark, renew, sent


_MARK_PG, _RENEW_PG, _SENT_PG = _held_statements()


class ReminderRepo:
    """The reminder outbox. Every statement that changes a claim is atomic on both backends;
    rows are locked in id order, so two workers settling at once cannot deadlock."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        bind = self.session.bind
        return bind is not None and bind.dialect.name == "postgresql"

    def add(self, reminder: Reminder) -> None:
        self.session.add(reminder)

    async def cancel_pending(
        self,
        activity_id: int,
        user_id: int | None = None,
        kind: str | None = None,
        due_until: datetime | None = None,
    ) -> None:
        """Drop reminders not yet sent (deleted, so a new one may take the same moment).

        A reminder already being sent ("sending") is left alone: its message is on its way.
        """
        query = delete(Reminder).where(
            Reminder.activity_id == activity_id,
            Reminder.status.in_(("pending", "claimed", "held")),
        )
        if user_id is not None:
            query = query.where(Reminder.user_id == user_id)
        if kind is not None:
            query = query.where(Reminder.kind == kind)
        if due_until is not None:
            query = query.where(Reminder.due_at <= due_until)
        await self.session.execute(query, execution_options={"synchronize_session": False})

    async def delete_unsent(self, activity_id: int, user_id: int, due_at: datetime) -> None:
        """Make room for a new reminder at exactly `due_at` (the unique key) if one waits there."""
        await self.session.execute(
            delete(Reminder).where(
                Reminder.activity_id == activity_id,
                Reminder.user_id == user_id,
                Reminder.due_at == due_at,
            )
        )

    async def pending_for(self, activity_id: int) -> Sequence[Reminder]:
        query = select(Reminder).where(
            Reminder.activity_id == activity_id, Reminder.status == "pending"
        )
        return (
            await self.session.scalars(query.order_by(Reminder.due_at, Reminder.user_id))
        ).all()

    async def get(self, reminder_id: int) -> Reminder | None:
        return await self.session.get(Reminder, reminder_id)

    # --- claims ------------------------------------------------------------------------------
    async def claim(
        self,
        worker: str,
        now: datetime,
        lease_until: datetime,
        limit: int,
        *,
        per_user: int,
        chat_gap: timedelta = timedelta(0),
    ) -> list[ClaimedReminder]:
        """Claim up to `limit` due reminders, keeping at most `per_user` of one user in flight
        with this worker, and none of a user who has one in flight with another worker or was
        sent one by another worker less than `chat_gap` ago: one chat is served by one worker
        at a time, so its pacing holds across instances, and a worker keeps the chat it serves
        (its sender knows when that chat may have the next message).

        PostgreSQL: claims are serialized by a transaction-level advisory lock, and the
        candidates are locked `FOR UPDATE SKIP LOCKED` in a MATERIALIZED CTE (the planner
        cannot re-run it and lock more). SQLite has one writer at a time. The scan is served
        in order by `(status, due_at)`; the per-user tests by `(user_id, status, sent_at)`.
        """
        if self._postgres:
            await self.session.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK)))
        # Two EXISTS rather than one with an OR: each is one range of (user_id, status, …),
        # where an OR lets the planner scan every in-flight row once per candidate.
        other = _OTHER
        busy = [
            exists().where(
                other.user_id == Reminder.user_id,
                other.status.in_(IN_FLIGHT),
                other.claimed_by != worker,
            )
        ]
        if chat_gap > timedelta(0):
            sent = _SENT
            busy.append(
                exists().where(
                    sent.user_id == Reminder.user_id,
                    sent.status == "sent",
                    sent.sent_at > now - chat_gap,
                    sent.claimed_by != worker,
                )
            )
        candidates = (
            select(Reminder.id, Reminder.user_id, Reminder.due_at)
            .where(
                Reminder.status == "pending",
                Reminder.due_at <= now,
                or_(Reminder.not_before.is_(None), Reminder.not_before <= now),
                *(~b for b in busy),
            )
            .order_by(Reminder.due_at, Reminder.id)
            .limit(limit * 2)
        )
        if self._postgres:
            candidates = candidates.with_for_update(skip_locked=True, of=Reminder)
        cte = candidates.cte("candidates")
        if self._postgres:
            cte = cte.prefix_with("MATERIALIZED")
        rank = (
            func.row_number()
            .over(partition_by=cte.c.user_id, order_by=(cte.c.due_at, cte.c.id))
            .label("rank")
        )
        # What this worker holds per user, counted once for the claim: a count per candidate
        # re-read every in-flight index entry (dead ones too, until a vacuum) a thousand times
        # per claim, which grew with every batch sent and was most of PostgreSQL's work.
        mine = (
            select(_MINE.user_id, func.count().label("held"))
            .where(_MINE.claimed_by == worker, _MINE.status.in_(IN_FLIGHT))
            .group_by(_MINE.user_id)
            .cte("mine")
        )
        held = func.coalesce(mine.c.held, 0).label("held")
        ranked = (
            select(cte.c.id, cte.c.due_at, rank, held)
            .select_from(cte.outerjoin(mine, mine.c.user_id == cte.c.user_id))
            .subquery("ranked")
        )
        chosen = (
            select(ranked.c.id)
            .where(ranked.c.rank + ranked.c.held <= per_user)
            .order_by(ranked.c.due_at, ranked.c.id)
            .limit(limit)
        )
        if self._postgres:
            # `id = ANY((SELECT array_agg(...)))`: the chosen ids as one array, read by primary
            # key; `id IN (subquery)` is planned as a hash join over the whole table, a
            # sequential scan per claim that grows with the outbox and its dead rows.
            picked = select(func.array_agg(chosen.subquery().c.id)).scalar_subquery()
            claiming = Reminder.id == any_(cast(picked, ARRAY(Integer)))
        else:
            claiming = Reminder.id.in_(chosen.scalar_subquery())
        query = (
            update(Reminder)
            .where(claiming)
            .values(
                status="claimed",
                claimed_by=worker,
                lease_until=lease_until,
                attempts=Reminder.attempts + 1,
            )
            .returning(
                Reminder.id,
                Reminder.activity_id,
                Reminder.user_id,
                Reminder.due_at,
                Reminder.kind,
                Reminder.attempts,
            )
        )
        options = {"synchronize_session": False}
        if self._postgres:
            # One statement and one round trip: the claim, and what rendering its rows needs.
            rows = (
                await self.session.execute(
                    _delivery(query.cte("claimed")), {}, execution_options=options
                )
            ).all()
        else:
            # SQLite has no UPDATE inside WITH; its one writer makes two statements as good.
            ids = [row[0] for row in await self.session.execute(query, execution_options=options)]
            rows = []
            if ids:
                claimed = select(*_CLAIM_COLUMNS).where(Reminder.id.in_(ids)).subquery()
                rows = list((await self.session.execute(_delivery(claimed))).all())
        return sorted((ClaimedReminder(*row) for row in rows), key=_claim_order)

    async def mark_sending(
        self, worker: str, held: Sequence[tuple[int, int]], now: datetime
    ) -> set[int]:
        """Just before their HTTP calls: the reminders this worker still holds become
        "sending". Returns the ids that did; the others were lost (re-claimed, completed,
        deleted) and must not be sent."""
        if self._postgres:
            return await self._update_held_pg(_MARK_PG, held, worker=worker, now=now)
        return await self._update_held(
            worker,
            held,
            # An expired claim may be re-taken any moment: it is not sent on.
            (Reminder.status == "claimed", Reminder.lease_until >= now),
            status="sending",
        )

    async def renew(
        self, worker: str, held: Sequence[tuple[int, int]], lease_until: datetime
    ) -> set[int]:
        """Extend the lease of what this worker still holds; returns the ids it still holds."""
        if self._postgres:
            return await self._update_held_pg(_RENEW_PG, held, worker=worker, until=lease_until)
        return await self._update_held(
            worker, held, (Reminder.status.in_(IN_FLIGHT),), lease_until=lease_until
        )

    async def _update_held(
        self,
        worker: str,
        held: Sequence[tuple[int, int]],
        conditions: Sequence[ColumnElement[bool]],
        **values: Any,
    ) -> set[int]:
        """Change the rows of `held` (id, attempts) this worker still holds on those terms;
        returns the ids changed. By id (an index probe), not by (id, attempts) row values,
        which PostgreSQL turns into a long OR; a row this worker re-claimed meanwhile (another
        attempt) is left out of the answer."""
        if not held:
            return set()
        expected = dict(held)
        rows = await self.session.execute(
            update(Reminder)
            .where(self._locked(expected), Reminder.claimed_by == worker, *conditions)
            .values(**values)
            .returning(Reminder.id, Reminder.attempts),
            execution_options={"synchronize_session": False},
        )
        return {id for id, attempts in rows.all() if expected[id] == attempts}

    async def _update_held_pg(
        self, statement: Any, held: Sequence[tuple[int, int]], **params: Any
    ) -> set[int]:
        """`_update_held` with one of the statements made once (`_held_statements`)."""
        if not held:
            return set()
        expected = dict(held)
        rows = await self.session.execute(statement, {"ids": sorted(expected), **params})
        return {id for id, attempts in rows.all() if expected[id] == attempts}

    async def reap(self, now: datetime, lease: timedelta) -> int:
        """Claims whose lease ran out (their worker died or stalled) go back to the queue.

        A reminder that was "sending" may have reached the user: it is the only kind that can
        repeat, so it is given one more lease for its worker to record the result (a worker
        cut off from the database settles when it is back), and says so in `last_error`.
        """
        expired = or_(
            and_(Reminder.status == "claimed", Reminder.lease_until < now),
            and_(Reminder.status == "sending", Reminder.lease_until < now - lease),
        )
        ids = [row[0] for row in (await self.session.execute(select(Reminder.id).where(expired)))]
        if not ids:
            return 0
        await self._lock(ids)
        result = await self.session.execute(
            update(Reminder)
            .where(self._among(ids), expired)
            .values(
                status="pending",
                claimed_by=None,
                lease_until=None,
                last_error=case(
                    (Reminder.status == "sending", "lease expired while sending"),
                    else_="lease expired",
                ),
            ),
            execution_options={"synchronize_session": False},
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]  # CursorResult

    async def settle(self, worker: str, results: Sequence[Settle]) -> None:
        """Record results, rows locked in id order. "sent" counts whoever holds the row now
        (the message is out: nobody may send it again); every other result only applies while
        this worker still holds that attempt."""
        if not results:
            return
        others = [r for r in results if r.status != "sent"]
        if others:
            # Several statements: lock their rows in id order first. (A group of "sent" only,
            # the usual case, is one statement that locks its rows in id order itself.)
            await self._lock(r.id for r in results)
        sent = [r.id for r in results if r.status == "sent"]
        if sent:
            # One statement for the group: `sent_at` is the latest send of it, so the pause
            # another worker keeps before writing to one of these chats is never too short.
            at = max((r.at for r in results if r.status == "sent" and r.at), default=None)
            if self._postgres:
                params = {"ids": sorted(set(sent)), "worker": worker, "at": at}
                await self.session.execute(_SENT_PG, params)
            else:
                await self.session.execute(
                    update(Reminder)
                    .where(self._among(sent), Reminder.status.in_(UNSETTLED))
                    .values(status="sent", sent_at=at, lease_until=None, claimed_by=worker),
                    execution_options={"synchronize_session": False},
                )
        key = lambda r: (r.status, r.not_before, r.error, r.counted)  # noqa: E731
        for (status, not_before, error, counted), group in _grouped(others, key):
            values: dict[str, Any] = {"status": status, "lease_until": None}
            if status == "pending":
                values |= {"claimed_by": None, "not_before": not_before}
                if not counted:
                    values["attempts"] = Reminder.attempts - 1
            if error is not None:
                values["last_error"] = error[:255]
            await self.session.execute(
                update(Reminder)
                .where(
                    # By id: a result of an older attempt of this worker's may land on a newer
                    # one, which then finds its row changed and withdraws (nothing repeats).
                    self._among(r.id for r in group),
                    Reminder.claimed_by == worker,
                    Reminder.status.in_(IN_FLIGHT),
                )
                .values(**values),
                execution_options={"synchronize_session": False},
            )

    def _locked(self, ids: Iterable[int]) -> ColumnElement[bool]:
        """`id IN ids` for one UPDATE that locks its rows in id order (PostgreSQL; SQLite has
        one writer): one statement, where `_lock` and an update would be two."""
        if not self._postgres:
            return self._among(ids)
        ids = sorted(set(ids))
        row = _ROW
        locked = select(row.id).where(self._among(ids, row)).order_by(row.id).with_for_update()
        # The ids outside too: the planner then reads the rows by primary key, where with the
        # subquery alone it may walk every entry of a status in `ix_reminders_due` (dead ones
        # too) and probe the subquery for each.
        return and_(self._among(ids), Reminder.id.in_(locked))

    def _among(self, ids: Iterable[int], table: Any = Reminder) -> ColumnElement[bool]:
        """`id` among `ids`. On PostgreSQL one array parameter (`= ANY($1)`), so the statement's
        text is the same for any number of ids and asyncpg prepares it once, where an expanded
        `IN ($1, …, $n)` is parsed and planned again for every new length."""
        ordered = sorted(set(ids))
        if self._postgres:
            return table.id == any_(literal(ordered, ARRAY(Integer)))  # type: ignore[no-any-return]  # Any-typed table
        return table.id.in_(ordered)  # type: ignore[no-any-return]  # Any-typed table

    async def _lock(self, ids: Iterable[int]) -> None:
        """Lock rows in id order before changing them (PostgreSQL; SQLite has one writer)."""
        if self._postgres:
            await self.session.execute(
                select(Reminder.id).where(self._among(ids)).order_by(Reminder.id).with_for_update()
            )

    async def release_held(self, user_id: int) -> int:
        """Reminders held while the user was unreachable go back to the queue, due now."""
        result = await self.session.execute(
            update(Reminder)
            .where(Reminder.user_id == user_id, Reminder.status == "held")
            .values(status="pending", claimed_by=None, lease_until=None, not_before=None),
            execution_options={"synchronize_session": False},
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]  # CursorResult

    async def counts(self) -> dict[str, int]:
        rows = await self.session.execute(
            text("SELECT status, count(*) FROM reminders GROUP BY status")
        )
        return {row[0]: int(row[1]) for row in rows.all()}


_CLAIM_COLUMNS = (
    Reminder.id,
    Reminder.activity_id,
    Reminder.user_id,
    Reminder.due_at,
    Reminder.kind,
    Reminder.attempts,
)


def _delivery(claimed: Any) -> Select[Any]:
    """The claimed rows (`claimed`: their id, activity_id, user_id, due_at, kind, attempts)
    with what delivering them needs, as plain columns (`ClaimedReminder`'s order)."""
    c = claimed.c
    first = (
        select(ActivityBinding.entity, ActivityBinding.entity_id)
        .where(ActivityBinding.activity_id == Activity.id)
        .order_by(ActivityBinding.position, ActivityBinding.entity, ActivityBinding.entity_id)
        .limit(1)
    )
    entity = first.with_only_columns(ActivityBinding.entity).scalar_subquery()
    entity_id = first.with_only_columns(ActivityBinding.entity_id).scalar_subquery()
    return (
        select(
            c.id,
            c.activity_id,
            c.user_id,
            c.due_at,
            c.kind,
            c.attempts,
            Activity.subject,
            Activity.deadline,
            Activity.location,
            Activity.completed_at,
            entity,
            entity_id,
            User.telegram_id,
            User.locale,
            User.timezone,
            User.is_reachable,
        )
        .select_from(claimed)
        .join(Activity, Activity.id == c.activity_id)
        .join(User, User.id == c.user_id)
    )


def _claim_order(claim: ClaimedReminder) -> tuple[datetime, int]:
    return claim.due_at, claim.id


K = TypeVar("K")


def _grouped(
    results: Sequence[Settle], key: Callable[[Settle], K]
) -> list[tuple[K, list[Settle]]]:
    groups: dict[K, list[Settle]] = {}
    for result in results:
        groups.setdefault(key(result), []).append(result)
    return list(groups.items())
