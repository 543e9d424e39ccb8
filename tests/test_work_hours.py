"""Working hours: the parser (a corpus of what admins type, good and bad) and time counted
only while open, across nights, weekends and a DST change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.work_hours import HoursError, Schedule, WorkHours

WARSAW = "Europe/Warsaw"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1-5 09:00-18:00", "1-5 09:00-18:00"),
        ("  1-5   9:00-18:00 ", "1-5 09:00-18:00"),
        ("1-5 09:00-13:00 14:00-18:00", "1-5 09:00-13:00 14:00-18:00"),
        ("1-5 09:00-18:00; 6 10:00-14:00", "1-5 09:00-18:00; 6 10:00-14:00"),
        ("1-5 09:00-18:00 6 10:00-14:00", "1-5 09:00-18:00; 6 10:00-14:00"),
        ("1,3,5 08:00-16:00", "1,3,5 08:00-16:00"),
        ("1-3,4-5 09:00-17:00", "1-5 09:00-17:00"),
        ("09:00-21:00", "1-7 09:00-21:00"),
        ("1-7 00:00-24:00", "1-7 00:00-24:00"),
        ("1-5 09:00-12:00 11:00-18:00", "1-5 09:00-18:00"),  # overlapping ranges merge
        ("5-5 10:00-11:00", "5 10:00-11:00"),
        ("6-7 10:00-14:00;1-5 08:00-20:00", "1-5 08:00-20:00; 6-7 10:00-14:00"),
    ],
)
def test_hours_people_type_are_read_and_kept_in_one_form(text: str, canonical: str) -> None:
    hours = WorkHours.parse(text)
    assert hours.text() == canonical
    assert WorkHours.parse(hours.text()) == hours


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("", ""),
        ("1-5", "1-5"),  # days without hours
        ("1-5 18:00-09:00", "18:00-09:00"),  # overnight: two ranges on two days
        ("1-5 09:00-09:00", "09:00-09:00"),
        ("8 09:00-18:00", "8"),
        ("0 09:00-18:00", "0"),
        ("5-1 09:00-18:00", "5-1"),
        ("1-5 09:60-18:00", "09:60-18:00"),
        ("1-5 25:00-26:00", "25:00-26:00"),
        ("1-5 09:00-24:30", "09:00-24:30"),
        ("1-5 9-18", "9-18"),
        ("mon-fri 09:00-18:00", "mon-fri"),
        ("1-5 6 09:00-18:00", "6"),  # two day groups in a row
        ("1-5 09:00-18:00 6", "6"),  # trailing days
        ("1-5 09.00-18.00", "09.00-18.00"),
    ],
)
def test_hours_that_cannot_be_read_name_the_piece_at_fault(text: str, part: str) -> None:
    with pytest.raises(HoursError) as caught:
        WorkHours.parse(text)
    assert caught.value.part == part


def test_weekly_groups_consecutive_days_with_equal_hours() -> None:
    hours = WorkHours.parse("1-5 09:00-18:00; 6 10:00-14:00")
    assert hours.weekly() == [([1, 2, 3, 4, 5], [("09:00", "18:00")]), ([6], [("10:00", "14:00")])]
    assert WorkHours.parse("1,3 09:00-10:00").weekly() == [
        ([1], [("09:00", "10:00")]),
        ([3], [("09:00", "10:00")]),
    ]


def warsaw(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A Warsaw wall-clock moment in 2026 (November: UTC+1), as UTC."""
    from zoneinfo import ZoneInfo

    return datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo(WARSAW)).astimezone(UTC)


OFFICE = Schedule.of("1-5 09:00-18:00", WARSAW)  # 2026-11-23 is a Monday


def test_open_and_next_opening() -> None:
    assert OFFICE.is_open(warsaw(23, 9))
    assert OFFICE.is_open(warsaw(23, 17, 59))
    assert not OFFICE.is_open(warsaw(23, 18))
    assert not OFFICE.is_open(warsaw(28, 12))  # Saturday
    assert OFFICE.next_opening(warsaw(23, 20)) == warsaw(24, 9)
    assert OFFICE.next_opening(warsaw(27, 18, 30)) == warsaw(30, 9)  # Friday night: Monday
    assert OFFICE.next_opening(warsaw(23, 10)) == warsaw(23, 10)
    always = Schedule.of(None, WARSAW)
    assert always.is_open(warsaw(28, 3)) and always.next_opening(warsaw(28, 3)) == warsaw(28, 3)


def test_time_counts_only_while_open() -> None:
    assert OFFICE.elapsed(warsaw(23, 17, 59), warsaw(24, 9, 1)) == 120
    assert OFFICE.elapsed(warsaw(27, 17), warsaw(30, 10)) == 2 * 3600  # over the weekend
    assert OFFICE.elapsed(warsaw(28, 10), warsaw(28, 12)) == 0
    assert OFFICE.elapsed(warsaw(24, 10), warsaw(23, 10)) == 0
    # The clock stops at 18:00 and resumes at 09:00 with what was left.
    assert OFFICE.add(warsaw(23, 17, 59), 60) == warsaw(24, 9)  # ran out at closing
    assert OFFICE.add(warsaw(23, 17, 59), 90) == warsaw(24, 9) + timedelta(seconds=30)
    assert OFFICE.add(warsaw(23, 22), 60) == warsaw(24, 9, 1)  # came at night
    assert OFFICE.add(warsaw(27, 17, 30), 3600) == warsaw(30, 9, 30)  # Friday to Monday
    assert OFFICE.add(warsaw(23, 10), 0) == warsaw(23, 10)
    assert OFFICE.add(warsaw(23, 20), 0) == warsaw(24, 9)  # nothing falls due while closed


def test_a_day_of_23_hours_keeps_its_local_hours() -> None:
    """2026-03-29: Warsaw moves from UTC+1 to UTC+2 at 02:00."""
    night = Schedule.of("1-7 00:00-24:00", WARSAW)
    assert night.elapsed(warsaw(29, 0, month=3), warsaw(30, 0, month=3)) == 23 * 3600
    shop = Schedule.of("1-7 09:00-18:00", WARSAW)
    assert shop.next_opening(warsaw(29, 3, month=3)) == warsaw(29, 9, month=3)
    assert shop.next_opening(warsaw(29, 3, month=3)) == datetime(2026, 3, 29, 7, tzinfo=UTC)


def test_days_that_meet_at_midnight_are_one_stretch() -> None:
    weekend = Schedule.of("6 12:00-24:00; 7 00:00-12:00", WARSAW)
    assert weekend.add(warsaw(28, 23), 2 * 3600) == warsaw(29, 1)
    assert weekend.is_open(warsaw(29, 0))


moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@given(moments, st.integers(min_value=0, max_value=14 * 24 * 3600))
def test_add_and_elapsed_agree(start: datetime, seconds: int) -> None:
    """`add` lands in open time (or at an opening), and exactly that much open time passed."""
    due = OFFICE.add(start, seconds)
    assert due is not None
    assert OFFICE.is_open(due)
    assert OFFICE.elapsed(start, due) == pytest.approx(seconds, abs=1e-3)
