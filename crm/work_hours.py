"""A triage queue's working hours, and time counted only while they are open.

Written as ISO weekdays and local times: `1-5 09:00-18:00` (Monday to Friday), several groups
and ranges allowed — `1-5 09:00-13:00 14:00-18:00; 6 10:00-14:00`, `1,3,5 08:00-16:00`; a
group without days is every day (`09:00-21:00`); `24:00` ends a day. Times are read in the
queue's time zone, so a day changing its length (DST) keeps its local hours.

`Schedule.elapsed` counts the open seconds between two moments and `Schedule.add` finds the
moment a number of open seconds after another: the unclaimed-request SLA clock waits while
the queue is closed and resumes at the next opening with the time that was left.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY = 24 * 60  # minutes
MAX_TEXT = 64  # what `triage_queues.work_hours` holds
# How far `add` and `next_opening` look ahead (a week of hours always repeats within 8 days;
# the rest is for long counts over short hours).
HORIZON_DAYS = 3 * 366

_DAYS = re.compile(r"^[1-7](-[1-7])?(,[1-7](-[1-7])?)*$")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class HoursError(ValueError):
    """Working hours that cannot be read; `part` is the piece at fault."""

    def __init__(self, part: str) -> None:
        super().__init__(f"cannot read working hours at {part!r}")
        self.part = part


@dataclass(frozen=True, slots=True)
class WorkHours:
    """Open ranges per ISO weekday (1 = Monday), in minutes of the local day, merged."""

    days: tuple[tuple[tuple[int, int], ...], ...]  # index 0 = Monday

    @classmethod
    def parse(cls, text: str) -> WorkHours:
        tokens = [t for t in re.split(r"[\s;]+", text.strip()) if t]
        if not tokens:
            raise HoursError(text)
        ranges: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        current: list[int] | None = None
        fresh_days = False  # days named with no range after them yet
        for token in tokens:
            if _DAYS.match(token):
                if fresh_days:
                    raise HoursError(token)
                current, fresh_days = _read_days(token), True
                continue
            found = _RANGE.match(token)
            if found is None:
                raise HoursError(token)
            start = _minutes(found[1], found[2], token)
            end = _minutes(found[3], found[4], token)
            if end <= start:
                raise HoursError(token)  # an overnight shift is two ranges on two days
            for day in current if current is not None else range(1, 8):
                ranges[day - 1].append((start, end))
            fresh_days = False
        if fresh_days:
            raise HoursError(tokens[-1])
        return cls(tuple(_merged(r) for r in ranges))

    def text(self) -> str:
        """The canonical form (what is stored): days with equal ranges grouped."""
        groups: list[tuple[list[int], tuple[tuple[int, int], ...]]] = []
        for index, ranges in enumerate(self.days):
            if not ranges:
                continue
            if groups and groups[-1][1] == ranges:
                groups[-1][0].append(index + 1)
            else:
                groups.append(([index + 1], ranges))
        parts = []
        for days, ranges in groups:
            times = " ".join(f"{_clock(s)}-{_clock(e)}" for s, e in ranges)
            parts.append(f"{_days_text(days)} {times}")
        return "; ".join(parts)

    def weekly(self) -> list[tuple[list[int], list[tuple[str, str]]]]:
        """Groups of days with the same hours, for showing: ([1, 2, 3, 4, 5], [("09:00",
        "18:00")])."""
        out: list[tuple[list[int], list[tuple[str, str]]]] = []
        for index, ranges in enumerate(self.days):
            if not ranges:
                continue
            shown = [(_clock(s), _clock(e)) for s, e in ranges]
            if out and out[-1][1] == shown and out[-1][0][-1] == index:
                out[-1][0].append(index + 1)
            else:
                out.append(([index + 1], shown))
        return out


def _read_days(token: str) -> list[int]:
    days: list[int] = []
    for part in token.split(","):
        first, _, last = part.partition("-")
        low, high = int(first), int(last or first)
        if high < low:
            raise HoursError(part)
        days.extend(d for d in range(low, high + 1) if d not in days)
    return days


def _minutes(hours: str, minutes: str, token: str) -> int:
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and m != 0):
        raise HoursError(token)
    return h * 60 + m


def _merged(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _days_text(days: list[int]) -> str:
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


class Schedule:
    """Working hours in a time zone; `None` hours: always open."""

    def __init__(self, hours: WorkHours | None, zone: str) -> None:
        self.hours = hours
        self.zone = ZoneInfo(zone)

    @classmethod
    def of(cls, text: str | None, zone: str) -> Schedule:
        return cls(WorkHours.parse(text) if text else None, zone)

    @property
    def always(self) -> bool:
        return self.hours is None

    def intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals [opens, closes) in UTC that end after `start`, in order. Adjacent
        ranges (a day ending at 24:00 and the next starting at 00:00) are joined."""
        assert self.hours is not None
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        pending: tuple[datetime, datetime] | None = None
        for _ in range(HORIZON_DAYS + 2):
            for low, high in self.hours.days[day.isoweekday() - 1]:
                opens, closes = self._at(day, low), self._at(day, high)
                if pending is not None and opens <= pending[1]:
                    pending = (pending[0], max(pending[1], closes))
                    continue
                if pending is not None and pending[1] > start:
                    yield pending
                pending = (opens, closes)
            day += timedelta(days=1)
        if pending is not None and pending[1] > start:
            yield pending

    def _at(self, day: date, minutes: int) -> datetime:
        if minutes >= DAY:
            day, minutes = day + timedelta(days=1), minutes - DAY
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.zone)
        return local.astimezone(UTC)

    def is_open(self, moment: datetime) -> bool:
        if self.hours is None:
            return True
        for opens, closes in self.intervals(moment):
            return opens <= moment < closes
        return False

    def next_opening(self, moment: datetime) -> datetime | None:
        """`moment` itself when open, else when the queue opens next (None: never)."""
        if self.hours is None:
            return moment
        for opens, _closes in self.intervals(moment):
            return max(opens, moment)
        return None

    def elapsed(self, since: datetime, until: datetime) -> float:
        """Open seconds between two moments."""
        if until <= since:
            return 0.0
        if self.hours is None:
            return (until - since).total_seconds()
        total = 0.0
        for opens, closes in self.intervals(since):
            if opens >= until:
                break
            total += (min(closes, until) - max(opens, since)).total_seconds()
        return total

    def add(self, since: datetime, seconds: float) -> datetime | None:
        """The moment `seconds` open seconds after `since`: counting starts at the next
        opening, and a count running out exactly at closing time ends at the next opening
        (nothing falls due while closed). None: the hours never hold that much."""
        if self.hours is None:
            return since + timedelta(seconds=seconds)
        left = max(0.0, seconds)
        for opens, closes in self.intervals(since):
            start = max(opens, since)
            room = (closes - start).total_seconds()
            if left < room:
                return start + timedelta(seconds=left)
            left -= room
        return None
