"""Reporting periods: today, this week, this month or a range of days, in the reader's zone.

A period is a range of whole local days, `first`..`last` inclusive. Its boundaries are the
first moments of `first` and of the day after `last` in the reader's time zone, turned into
UTC instants by zoneinfo: a day across a DST change is 23 or 25 hours long, and a midnight a
DST gap skips is replaced by the first moment that exists (zoneinfo's `fold=0` reading).
Weeks start on Monday (as in Poland and Russia).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from crm.errors import InvalidValue

MAX_DAYS = 366  # a custom range longer than a year is refused


class PeriodKind(StrEnum):
    TODAY = "today"
    WEEK = "week"
    MONTH = "month"
    RANGE = "range"


# What a reader may type for a period, in every language the bot speaks.
_WORDS = {
    PeriodKind.TODAY: {"today", "dziś", "dzis", "dzisiaj", "сегодня"},
    PeriodKind.WEEK: {"week", "tydzień", "tydzien", "неделя", "неделю"},
    PeriodKind.MONTH: {"month", "miesiąc", "miesiac", "месяц"},
}
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\s*(?:\.\.|–|—)\s*(\d{4}-\d{2}-\d{2}))?$")


def start_of_day(day: date, timezone: str) -> datetime:
    """The first moment of `day` in `timezone`, as a UTC instant."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Period:
    kind: PeriodKind
    first: date
    last: date  # inclusive
    timezone: str

    @property
    def start(self) -> datetime:
        """The first moment of the period (UTC)."""
        return start_of_day(self.first, self.timezone)

    @property
    def end(self) -> datetime:
        """The first moment after the period (UTC): periods are half-open, [start, end)."""
        return start_of_day(self.last + timedelta(days=1), self.timezone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def key(self) -> str:
        """A stable name of the period, e.g. for "sent once per period" records."""
        return f"{self.kind.value}:{self.first.isoformat()}..{self.last.isoformat()}"

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def is_current(self, now: datetime) -> bool:
        """Whether the period reaches the present (its end is now or later)."""
        return self.end >= now

    def previous(self) -> Period:
        """The period of the same kind just before this one (trends, "last week")."""
        if self.kind is PeriodKind.MONTH:
            last = self.first - timedelta(days=1)
            return replace(self, first=last.replace(day=1), last=last)
        return replace(
            self,
            first=self.first - timedelta(days=self.days),
            last=self.first - timedelta(days=1),
        )

    @classmethod
    def of(cls, kind: PeriodKind, now: datetime, timezone: str) -> Period:
        """Today, this week (Monday to Sunday) or this month, around `now` in `timezone`."""
        today = now.astimezone(ZoneInfo(timezone)).date()
        if kind is PeriodKind.TODAY:
            return cls(kind, today, today, timezone)
        if kind is PeriodKind.WEEK:
            monday = today - timedelta(days=today.weekday())
            return cls(kind, monday, monday + timedelta(days=6), timezone)
        if kind is PeriodKind.MONTH:
            first = today.replace(day=1)
            following = (first + timedelta(days=32)).replace(day=1)
            return cls(kind, first, following - timedelta(days=1), timezone)
        raise InvalidValue("period", kind.value)

    @classmethod
    def between(cls, first: date, last: date, timezone: str) -> Period:
        if last < first or (last - first).days + 1 > MAX_DAYS:
            raise InvalidValue("period", f"{first.isoformat()}..{last.isoformat()}")
        return cls(PeriodKind.RANGE, first, last, timezone)


def parse_period(text: str, now: datetime, timezone: str) -> Period | None:
    """`today`, `week`, `month` (also in Polish and Russian), `YYYY-MM-DD..YYYY-MM-DD` or one
    day `YYYY-MM-DD`; None when `text` is none of them. A reversed, impossible or too long
    range raises InvalidValue."""
    word = text.strip().casefold()
    for kind, words in _WORDS.items():
        if word in words:
            return Period.of(kind, now, timezone)
    match = _RANGE.match(word)
    if match is None:
        return None
    try:
        first = date.fromisoformat(match[1])
        last = date.fromisoformat(match[2]) if match[2] else first
    except ValueError:
        raise InvalidValue("period", text.strip()[:40]) from None
    return Period.between(first, last, timezone)
