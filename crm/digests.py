"""Scheduled digests: when each user gets one, and the record that sends it once.

Rules (README "Scheduled digests"):

- **Who gets what.** Whoever may read team reports (managers, admins: `Right.TEAM_REPORTS`)
  gets the team digest (`ReportService.digest`) of the days since their previous digest day,
  up to yesterday: on Monday, with Monday–Friday chosen, Friday to Sunday. Anyone else may
  opt into their own morning "today" digest: today's and overdue activities, and their open
  deals with no next activity.
- **Defaults.** Managers and admins: on, Monday–Friday at 08:30. Reps: off (Monday–Friday at
  08:30 once they switch it on).
- **Time zone.** The time is a wall-clock time in the user's own zone, on their own calendar
  days: 08:30 is 08:30 local on either side of a DST change (zoneinfo turns each day's 08:30
  into its own UTC instant).
- **Working days.** Only on the weekdays chosen, by the local date: a digest never lands on a
  day not chosen, even late (an instance that was down sends it later the same day, or never).
- **Quiet hours** are 22:00–07:00 local for everybody. A time chosen inside them is moved to
  their end, 07:00 of that same day (the day's first waking moment: never onto another day);
  a digest not sent by 22:00 of its day is not sent at all.
- **Once.** Each digest has a key per user, `team:YYYY-MM-DD` or `today:YYYY-MM-DD` (the local
  day it is for); `digest_deliveries` holds one row per key (storage/repositories/digests.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from crm.enums import Right
from crm.errors import InvalidValue
from crm.periods import Period
from crm.permissions import Actor
from crm.reports import Digest, ReportFilter, StalledDeal
from crm.roles import current_policy
from crm.users import actor_of
from storage.models import Activity, DigestSchedule, User
from storage.repositories import Repos
from storage.repositories.digests import SENT, SKIPPED

if TYPE_CHECKING:
    from crm.activities import ActivityService
    from crm.context import Runtime
    from crm.reports import ReportService

QUIET_START = 22 * 60  # minutes after local midnight
QUIET_END = 7 * 60
DEFAULT_MINUTE = 8 * 60 + 30
WORKDAYS = frozenset(range(5))  # Monday (0) … Friday (4)
ALL_DAYS = tuple(range(7))
TIME_PRESETS = (7 * 60 + 30, 8 * 60, 8 * 60 + 30, 9 * 60, 12 * 60, 17 * 60)
UNPLANNED_LIMIT = 10
_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?$", re.ASCII)  # ASCII digits only


class DigestKind(StrEnum):
    TEAM = "team"  # the manager's digest of their department (everyone for admins)
    TODAY = "today"  # a rep's own morning digest


class Outcome(StrEnum):
    SENT = SENT
    SKIPPED = SKIPPED  # nobody to send it to (blocked the bot): never retried


class LastDay(InvalidValue):
    """Toggling off the only day left: a digest needs a day (turning it off is the switch)."""

    def __init__(self) -> None:
        super().__init__("weekday", "none")


def in_quiet_hours(minute: int) -> bool:
    return minute >= QUIET_START or minute < QUIET_END


def parse_time(text: str) -> int:
    """`8:30`, `08:30`, `8.30` or `8` as minutes after midnight; InvalidValue otherwise."""
    match = _TIME.match(text.strip())
    if match is not None:
        hours, minutes = int(match[1]), int(match[2] or 0)
        if hours < 24 and minutes < 60:
            return hours * 60 + minutes
    raise InvalidValue("time", text.strip()[:20])


def clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def local_moment(day: date, minute: int, timezone: str) -> datetime:
    """`day` at `minute` local, as a UTC instant. zoneinfo reads a wall time a DST gap skips
    with the offset before the change (02:30 becomes 03:30); in Europe the gaps and repeats
    (02:00–03:00) lie in the quiet hours, so no digest is ever due in one."""
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=ZoneInfo(timezone))
    return wall.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class DigestPlan:
    kind: DigestKind
    enabled: bool
    minute: int
    days: frozenset[int]  # weekdays, Monday = 0

    @property
    def send_minute(self) -> int:
        """The time it really goes out: a time in the quiet hours moves to their end."""
        return QUIET_END if in_quiet_hours(self.minute) else self.minute

    @property
    def moved(self) -> bool:
        return self.send_minute != self.minute

    def due(self, day: date, timezone: str) -> datetime | None:
        """When the digest of local `day` goes out (UTC), None on a day not chosen."""
        if not self.enabled or day.weekday() not in self.days:
            return None
        return local_moment(day, self.send_minute, timezone)

    def next_due(self, now: datetime, timezone: str) -> datetime | None:
        today = now.astimezone(ZoneInfo(timezone)).date()
        for ahead in range(8):
            due = self.due(today + timedelta(days=ahead), timezone)
            if due is not None and due >= now:
                return due
        return None

    def previous_day(self, day: date) -> date:
        """The chosen weekday before `day` (a week before, when only one is chosen)."""
        for back in range(1, 8):
            earlier = day - timedelta(days=back)
            if earlier.weekday() in self.days:
                return earlier
        return day - timedelta(days=7)

    @staticmethod
    def bits(days: frozenset[int]) -> int:
        return sum(1 << d for d in days)

    @staticmethod
    def from_bits(bits: int) -> frozenset[int]:
        return frozenset(d for d in ALL_DAYS if bits & (1 << d))


@dataclass(frozen=True, slots=True)
class DigestJob:
    """One user's digest for one local day, claimed by this instance."""

    user_id: int
    kind: DigestKind
    day: date
    timezone: str

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.day.isoformat()}"


@dataclass(frozen=True, slots=True)
class TodayDigest:
    """A rep's morning digest: what is due today (overdue first), and deals with no next step."""

    day: date
    timezone: str
    now: datetime
    activities: tuple[Activity, ...]
    unplanned_total: int
    unplanned: tuple[StalledDeal, ...]

    @property
    def overdue(self) -> int:
        return sum(1 for a in self.activities if a.deadline < self.now)


class DigestService:
    def __init__(
        self,
        repos: Repos,
        runtime: Runtime,
        reports: ReportService,
        activities: ActivityService,
    ) -> None:
        self.repos = repos
        self.runtime = runtime
        self.reports = reports
        self.activities = activities

    @staticmethod
    def actor(user: User) -> Actor:
        return actor_of(user)

    # --- the schedule --------------------------------------------------------------------------
    def kind_of(self, user: User) -> DigestKind:
        team = self.runtime.policy.has_right(actor_of(user), Right.TEAM_REPORTS)
        return DigestKind.TEAM if team else DigestKind.TODAY

    def plan_of(self, user: User, row: DigestSchedule | None) -> DigestPlan:
        kind = self.kind_of(user)
        if row is None:
            return DigestPlan(kind, kind is DigestKind.TEAM, DEFAULT_MINUTE, WORKDAYS)
        return DigestPlan(kind, row.enabled, row.minute, DigestPlan.from_bits(row.days))

    async def plan(self, user: User) -> DigestPlan:
        return self.plan_of(user, await self.repos.digests.schedule(user.id))

    async def _save(self, user: User, plan: DigestPlan) -> DigestPlan:
        await self.repos.digests.save_schedule(
            user.id, plan.enabled, plan.minute, DigestPlan.bits(plan.days)
        )
        await self.repos.commit()
        return plan

    async def set_enabled(self, user: User, enabled: bool) -> DigestPlan:
        return await self._save(user, replace(await self.plan(user), enabled=enabled))

    async def set_time(self, user: User, minute: int) -> DigestPlan:
        if not 0 <= minute < 24 * 60:
            raise InvalidValue("time", str(minute))
        # Choosing a time means wanting the digest: it is switched on too.
        return await self._save(user, replace(await self.plan(user), minute=minute, enabled=True))

    async def toggle_day(self, user: User, weekday: int) -> DigestPlan:
        if weekday not in ALL_DAYS:
            raise InvalidValue("weekday", str(weekday))
        plan = await self.plan(user)
        days = plan.days ^ {weekday}
        if not days:
            raise LastDay()  # at least one day; "off" is the switch
        return await self._save(user, replace(plan, days=frozenset(days)))

    # --- what is due ---------------------------------------------------------------------------
    async def due(self, now: datetime) -> list[DigestJob]:
        """Digests due now and not yet sent: today's (local) of each user whose time has come,
        until the quiet hours begin."""
        await current_policy(self.repos, self.runtime)  # who gets a team digest: their role
        jobs = []
        for user, row in await self.repos.digests.recipients():
            plan = self.plan_of(user, row)
            timezone = self.runtime.config.timezone_of(user)
            day = now.astimezone(ZoneInfo(timezone)).date()
            due = plan.due(day, timezone)
            if due is None or now < due or now >= local_moment(day, QUIET_START, timezone):
                continue
            jobs.append(DigestJob(user.id, plan.kind, day, timezone))
        if not jobs:
            return []
        settled: set[tuple[int, str]] = set()
        for job in jobs:
            if await self.repos.digests.settled([job.key], job.user_id):
                settled.add((job.user_id, job.key))
        await self.repos.session.rollback()  # read only: end the transaction
        return [j for j in jobs if (j.user_id, j.key) not in settled]

    async def claim(self, job: DigestJob, lease: timedelta) -> bool:
        """Hold this digest for `lease`; False when another instance has it or it is done."""
        now = self.runtime.clock.now()
        won = await self.repos.digests.claim(job.user_id, job.key, now, now + lease)
        await self.repos.commit()
        return won

    async def finish(self, job: DigestJob, outcome: Outcome) -> None:
        await self.repos.digests.finish(
            job.user_id, job.key, outcome.value, self.runtime.clock.now()
        )
        await self.repos.commit()

    async def retry(self, job: DigestJob, after: timedelta) -> None:
        """Sending failed: anyone may take it again after `after` (still the same day only)."""
        await self.repos.digests.retry_at(job.user_id, job.key, self.runtime.clock.now() + after)
        await self.repos.commit()

    # --- what it says --------------------------------------------------------------------------
    async def user(self, job: DigestJob) -> User | None:
        user = await self.repos.users.get(job.user_id)
        if user is None or not user.is_active or user.telegram_id is None:
            return None
        return user

    async def team(self, user: User, job: DigestJob) -> Digest:
        await current_policy(self.repos, self.runtime)  # a scheduler process has no updates
        plan = await self.plan(user)
        period = Period.between(
            plan.previous_day(job.day), job.day - timedelta(days=1), job.timezone
        )
        return await self.reports.digest(actor_of(user), period, ReportFilter())

    async def today(self, user: User, job: DigestJob) -> TodayDigest:
        await current_policy(self.repos, self.runtime)
        actor = actor_of(user)
        activities = await self.activities.today(actor, job.timezone)
        total, unplanned = await self.reports.unplanned(
            actor, ReportFilter(rep_id=user.id), limit=UNPLANNED_LIMIT
        )
        return TodayDigest(
            day=job.day,
            timezone=job.timezone,
            now=self.runtime.clock.now(),
            activities=tuple(activities),
            unplanned_total=total,
            unplanned=tuple(unplanned),
        )
