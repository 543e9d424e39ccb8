"""Deadlines typed after `/todo D7 …`: every phrase family against a fixed clock, pl/ru/en.

The main clock is Wednesday 2026-10-21 14:00 on the user's wall clock (CEST in Warsaw, MSK in
Moscow). Expected values in the phrase tables are wall-clock times in the user's zone; the
DST tables give exact UTC instants, so they do not depend on the conversion under test.
"""

from __future__ import annotations

import dataclasses
import time as perf
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm.dates import Deadline, parse_deadline, parse_when

WAW = "Europe/Warsaw"
MSK = "Europe/Moscow"
WEDNESDAY_14 = (2026, 10, 21, 14, 0)

Wall = tuple[int, int, int, int, int]


def utc_now(tz: str, wall: Wall = WEDNESDAY_14) -> datetime:
    return datetime(*wall, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def parse(
    text: str, locale: str, tz: str, wall: Wall = WEDNESDAY_14, **kwargs: time
) -> Deadline | None:
    return parse_deadline(text, now=utc_now(tz, wall), timezone=tz, locale=locale, **kwargs)


def assert_wall(result: Deadline | None, tz: str, expected: Wall) -> Deadline:
    assert result is not None
    assert result.at.utcoffset() == timedelta(0)
    expected_at = datetime(*expected, tzinfo=ZoneInfo(tz)).astimezone(UTC)
    assert result.at == expected_at, (result.at.astimezone(ZoneInfo(tz)), expected_at)
    return result


# (text, expected wall time, all_day, rest)
POLISH: list[tuple[str, Wall, bool, str]] = [
    # bare times: today if still ahead, else tomorrow
    ("10:00 zadzwonić do Jana", (2026, 10, 22, 10, 0), False, "zadzwonić do Jana"),
    ("16:30 spotkanie", (2026, 10, 21, 16, 30), False, "spotkanie"),
    ("o 15 spotkanie", (2026, 10, 21, 15, 0), False, "spotkanie"),
    ("o 9 telefon", (2026, 10, 22, 9, 0), False, "telefon"),
    ("15.30 oferta", (2026, 10, 21, 15, 30), False, "oferta"),
    ("o 15.30", (2026, 10, 21, 15, 30), False, ""),
    ("o godz. 15 demo", (2026, 10, 21, 15, 0), False, "demo"),
    ("na 10:00 raport", (2026, 10, 22, 10, 0), False, "raport"),
    ("o 7 wieczorem", (2026, 10, 21, 19, 0), False, ""),
    ("w południe lunch", (2026, 10, 22, 12, 0), False, "lunch"),
    # today / tomorrow / the day after
    ("jutro 10:00 zadzwonić do Jana", (2026, 10, 22, 10, 0), False, "zadzwonić do Jana"),
    ("jutro o 10 zadzwonić", (2026, 10, 22, 10, 0), False, "zadzwonić"),
    ("Jutro, 10:00 - zadzwonić", (2026, 10, 22, 10, 0), False, "zadzwonić"),
    ("jutro zadzwonić", (2026, 10, 22, 9, 0), True, "zadzwonić"),
    ("pojutrze wysłać ofertę", (2026, 10, 23, 9, 0), True, "wysłać ofertę"),
    ("dziś 18:00 podsumowanie", (2026, 10, 21, 18, 0), False, "podsumowanie"),
    ("dzisiaj o 18", (2026, 10, 21, 18, 0), False, ""),
    ("dzis o 18", (2026, 10, 21, 18, 0), False, ""),
    ("jutro rano", (2026, 10, 22, 9, 0), False, ""),
    ("jutro wieczorem oddzwonić", (2026, 10, 22, 18, 0), False, "oddzwonić"),
    ("jutro w południe", (2026, 10, 22, 12, 0), False, ""),
    ("jutro 10.15", (2026, 10, 22, 10, 15), False, ""),
    ("na jutro raport", (2026, 10, 22, 9, 0), True, "raport"),
    # weekdays: the next such day; today only with a time still ahead
    ("w piątek o 15 demo", (2026, 10, 23, 15, 0), False, "demo"),
    ("w piatek o 15", (2026, 10, 23, 15, 0), False, ""),
    ("w poniedziałek zadzwonić", (2026, 10, 26, 9, 0), True, "zadzwonić"),
    ("we wtorek o 9:30", (2026, 10, 27, 9, 30), False, ""),
    ("w środę o 16", (2026, 10, 21, 16, 0), False, ""),
    ("w środę o 10", (2026, 10, 28, 10, 0), False, ""),
    ("w środę", (2026, 10, 28, 9, 0), True, ""),
    ("w przyszły piątek", (2026, 10, 30, 9, 0), True, ""),
    ("w ten piątek o 12", (2026, 10, 23, 12, 0), False, ""),
    ("pt 15:00 call", (2026, 10, 23, 15, 0), False, "call"),
    ("piątek 3 telefony", (2026, 10, 23, 9, 0), True, "3 telefony"),
    # relative: minutes and hours are durations, days and weeks calendar days
    ("za 2 godziny zadzwonić", (2026, 10, 21, 16, 0), False, "zadzwonić"),
    ("za 30 minut", (2026, 10, 21, 14, 30), False, ""),
    ("za godzinę", (2026, 10, 21, 15, 0), False, ""),
    ("za pół godziny", (2026, 10, 21, 14, 30), False, ""),
    ("za półtorej godziny", (2026, 10, 21, 15, 30), False, ""),
    ("za 1,5 godziny", (2026, 10, 21, 15, 30), False, ""),
    ("za 2h telefon", (2026, 10, 21, 16, 0), False, "telefon"),
    ("za 1 godzinę i 15 minut", (2026, 10, 21, 15, 15), False, ""),
    ("za 3 dni", (2026, 10, 24, 9, 0), True, ""),
    ("za 3 dni o 14 spotkanie", (2026, 10, 24, 14, 0), False, "spotkanie"),
    ("za tydzień", (2026, 10, 28, 9, 0), True, ""),
    ("za 2 tygodnie", (2026, 11, 4, 9, 0), True, ""),
    ("za miesiąc", (2026, 11, 21, 9, 0), True, ""),
    # dates: without a year the next such date
    ("25.12 życzenia", (2026, 12, 25, 9, 0), True, "życzenia"),
    ("25.12 10:00", (2026, 12, 25, 10, 0), False, ""),
    ("25.12.2026 o 10", (2026, 12, 25, 10, 0), False, ""),
    ("25.12.2026 r. o 10 kolacja", (2026, 12, 25, 10, 0), False, "kolacja"),
    ("01.03 przegląd", (2027, 3, 1, 9, 0), True, "przegląd"),
    ("10.12 spotkanie", (2026, 12, 10, 9, 0), True, "spotkanie"),
    ("1 grudnia o 10", (2026, 12, 1, 10, 0), False, ""),
    ("1 grudnia 2027 faktura", (2027, 12, 1, 9, 0), True, "faktura"),
    ("15 stycznia", (2027, 1, 15, 9, 0), True, ""),
    ("2026-12-01 10:00", (2026, 12, 1, 10, 0), False, ""),
    ("2026-12-01T10:00 audyt", (2026, 12, 1, 10, 0), False, "audyt"),
    # dateparser fallback (word phrases and slashes; D/M for Polish)
    ("w przyszłym tygodniu zadzwonić", (2026, 10, 28, 9, 0), True, "zadzwonić"),
    ("12/1 oferta", (2027, 1, 12, 9, 0), True, "oferta"),
]

RUSSIAN: list[tuple[str, Wall, bool, str]] = [
    ("в 10 позвонить", (2026, 10, 22, 10, 0), False, "позвонить"),
    ("в 16 позвонить", (2026, 10, 21, 16, 0), False, "позвонить"),
    ("в 15:30", (2026, 10, 21, 15, 30), False, ""),
    ("к 15:00 отчёт", (2026, 10, 21, 15, 0), False, "отчёт"),
    ("в 7 вечера", (2026, 10, 21, 19, 0), False, ""),
    ("в 10 утра созвон", (2026, 10, 22, 10, 0), False, "созвон"),
    ("в 11 ночи", (2026, 10, 21, 23, 0), False, ""),
    ("в 10 часов 30 минут", (2026, 10, 22, 10, 30), False, ""),
    ("в пятницу в 15 встреча", (2026, 10, 23, 15, 0), False, "встреча"),
    ("в понедельник", (2026, 10, 26, 9, 0), True, ""),
    ("во вторник в 9:30", (2026, 10, 27, 9, 30), False, ""),
    ("в среду в 16", (2026, 10, 21, 16, 0), False, ""),
    ("в среду в 10", (2026, 10, 28, 10, 0), False, ""),
    ("в следующую пятницу", (2026, 10, 30, 9, 0), True, ""),
    ("в эту пятницу", (2026, 10, 23, 9, 0), True, ""),
    ("пт 15:00 созвон", (2026, 10, 23, 15, 0), False, "созвон"),
    ("завтра в 10 позвонить", (2026, 10, 22, 10, 0), False, "позвонить"),
    ("завтра в 10:30", (2026, 10, 22, 10, 30), False, ""),
    ("завтра утром", (2026, 10, 22, 9, 0), False, ""),
    ("завтра вечером", (2026, 10, 22, 18, 0), False, ""),
    ("завтра в 3 часа дня", (2026, 10, 22, 15, 0), False, ""),
    ("на завтра", (2026, 10, 22, 9, 0), True, ""),
    ("послезавтра", (2026, 10, 23, 9, 0), True, ""),
    ("сегодня в 18", (2026, 10, 21, 18, 0), False, ""),
    ("через 2 часа позвонить", (2026, 10, 21, 16, 0), False, "позвонить"),
    ("через 30 минут", (2026, 10, 21, 14, 30), False, ""),
    ("через час", (2026, 10, 21, 15, 0), False, ""),
    ("через полчаса", (2026, 10, 21, 14, 30), False, ""),
    ("через полтора часа", (2026, 10, 21, 15, 30), False, ""),
    ("через 2 часа 30 минут", (2026, 10, 21, 16, 30), False, ""),
    ("через 3 дня", (2026, 10, 24, 9, 0), True, ""),
    ("через 3 дня в 10", (2026, 10, 24, 10, 0), False, ""),
    ("через неделю", (2026, 10, 28, 9, 0), True, ""),
    ("1 декабря в 10", (2026, 12, 1, 10, 0), False, ""),
    ("1 декабря 2026 года отчёт", (2026, 12, 1, 9, 0), True, "отчёт"),
    ("25.12 в 10:00", (2026, 12, 25, 10, 0), False, ""),
    ("на следующей неделе", (2026, 10, 28, 9, 0), True, ""),
]

ENGLISH: list[tuple[str, Wall, bool, str]] = [
    ("at 3pm call", (2026, 10, 21, 15, 0), False, "call"),
    ("at 15:00", (2026, 10, 21, 15, 0), False, ""),
    ("at 9", (2026, 10, 22, 9, 0), False, ""),
    ("3:30pm", (2026, 10, 21, 15, 30), False, ""),
    ("10 am standup", (2026, 10, 22, 10, 0), False, "standup"),
    ("at noon", (2026, 10, 22, 12, 0), False, ""),
    ("on friday at 3pm send offer", (2026, 10, 23, 15, 0), False, "send offer"),
    ("friday 10am", (2026, 10, 23, 10, 0), False, ""),
    ("on wednesday at 4pm", (2026, 10, 21, 16, 0), False, ""),
    ("next monday", (2026, 10, 26, 9, 0), True, ""),
    ("next friday", (2026, 10, 30, 9, 0), True, ""),
    ("this friday", (2026, 10, 23, 9, 0), True, ""),
    ("tomorrow at 10", (2026, 10, 22, 10, 0), False, ""),
    ("tomorrow 9:30am", (2026, 10, 22, 9, 30), False, ""),
    ("tomorrow morning call", (2026, 10, 22, 9, 0), False, "call"),
    ("day after tomorrow", (2026, 10, 23, 9, 0), True, ""),
    ("today at 6pm", (2026, 10, 21, 18, 0), False, ""),
    ("tonight", (2026, 10, 21, 20, 0), False, ""),
    ("in 2 hours", (2026, 10, 21, 16, 0), False, ""),
    ("in 30 min send offer", (2026, 10, 21, 14, 30), False, "send offer"),
    ("in an hour", (2026, 10, 21, 15, 0), False, ""),
    ("in half an hour", (2026, 10, 21, 14, 30), False, ""),
    ("in 1 hour and 30 minutes go", (2026, 10, 21, 15, 30), False, "go"),
    ("in 90 minutes", (2026, 10, 21, 15, 30), False, ""),
    ("in 3 days", (2026, 10, 24, 9, 0), True, ""),
    ("in 3 days at 10am", (2026, 10, 24, 10, 0), False, ""),
    ("in 2 weeks", (2026, 11, 4, 9, 0), True, ""),
    ("December 1 10am", (2026, 12, 1, 10, 0), False, ""),
    ("Dec 1st, 2026 at 10:00 review", (2026, 12, 1, 10, 0), False, "review"),
    ("1st of December", (2026, 12, 1, 9, 0), True, ""),
    ("2026-12-01 10:00", (2026, 12, 1, 10, 0), False, ""),
    # dateparser fallback (M/D for English)
    ("next week call", (2026, 10, 28, 9, 0), True, "call"),
    ("12/1 thing", (2026, 12, 1, 9, 0), True, "thing"),
]


def _ids(table: list[tuple[str, Wall, bool, str]]) -> list[str]:
    return [case[0] for case in table]


@pytest.mark.parametrize(("text", "expected", "all_day", "rest"), POLISH, ids=_ids(POLISH))
def test_polish(text: str, expected: Wall, all_day: bool, rest: str) -> None:
    result = assert_wall(parse(text, "pl", WAW), WAW, expected)
    assert (result.all_day, result.rest) == (all_day, rest)


@pytest.mark.parametrize(("text", "expected", "all_day", "rest"), RUSSIAN, ids=_ids(RUSSIAN))
def test_russian(text: str, expected: Wall, all_day: bool, rest: str) -> None:
    result = assert_wall(parse(text, "ru", MSK), MSK, expected)
    assert (result.all_day, result.rest) == (all_day, rest)


@pytest.mark.parametrize(("text", "expected", "all_day", "rest"), ENGLISH, ids=_ids(ENGLISH))
def test_english(text: str, expected: Wall, all_day: bool, rest: str) -> None:
    result = assert_wall(parse(text, "en", WAW), WAW, expected)
    assert (result.all_day, result.rest) == (all_day, rest)


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        # The user's language is only tried first: a Polish rep may type English and back.
        ("tomorrow at 10", "pl", (2026, 10, 22, 10, 0)),
        ("jutro o 10", "en", (2026, 10, 22, 10, 0)),
        ("завтра в 10", "pl", (2026, 10, 22, 10, 0)),
        ("jutro o 10", "de", (2026, 10, 22, 10, 0)),
        # ...but it decides the ambiguous ones: day/month order of a slash date.
        ("12/1", "pl", (2027, 1, 12, 9, 0)),
        ("12/1", "en", (2026, 12, 1, 9, 0)),
    ],
)
def test_locale_is_tried_first_then_the_others(text: str, locale: str, expected: Wall) -> None:
    assert_wall(parse(text, locale, WAW), WAW, expected)


@pytest.mark.parametrize(
    ("text", "matched", "rest"),
    [
        ("jutro 10:00 zadzwonić do Jana", "jutro 10:00", "zadzwonić do Jana"),
        ("jutro, zadzwonić", "jutro", "zadzwonić"),
        ("jutro 10:00: zadzwonić", "jutro 10:00", "zadzwonić"),
        ("  jutro  —  zadzwonić  ", "jutro", "zadzwonić"),
        ("W Piątek O 15 Demo", "W Piątek O 15", "Demo"),
        ("jutro 2 oferty wysłać", "jutro", "2 oferty wysłać"),
        ("o 15 2 oferty", "o 15", "2 oferty"),
        ("25.12 3 prezenty", "25.12", "3 prezenty"),
        ("1 grudnia 1500 zł faktura", "1 grudnia", "1500 zł faktura"),
        ("jutro w biurze", "jutro", "w biurze"),
    ],
)
def test_matched_and_rest_keep_the_original_text(text: str, matched: str, rest: str) -> None:
    result = parse(text, "pl", WAW)
    assert result is not None
    assert (result.matched, result.rest) == (matched, rest)


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("Zadzwonić 2 razy", "pl"),
        ("2 oferty wysłać", "pl"),
        ("15", "pl"),
        ("15 ofert", "pl"),
        ("zadzwonić jutro o 10", "pl"),
        ("w biurze spotkanie", "pl"),
        ("o czym rozmawiać", "pl"),
        ("za dużo ofert", "pl"),
        ("pt", "pl"),
        ("rano kawa", "pl"),
        ("o 25", "pl"),
        ("25:00 coś", "pl"),
        ("31.02 coś", "pl"),
        ("", "pl"),
        ("   ", "pl"),
        ("позвонить 2 раза", "ru"),
        ("3 раза позвонить", "ru"),
        ("в офисе", "ru"),
        ("через дорогу", "ru"),
        ("call Jan tomorrow", "en"),
        ("2 offers", "en"),
        ("a a a a", "en"),
        ("sat down with Jan", "en"),
        ("may the force", "en"),
        ("now", "en"),
        ("at the office", "en"),
        ("in 0 minutes", "en"),
    ],
)
def test_no_deadline_at_the_start(text: str, locale: str) -> None:
    assert parse(text, locale, MSK if locale == "ru" else WAW) is None


# --- DST: Europe/Warsaw leaves summer time on 2026-10-25 (03:00 -> 02:00) and enters it on
# 2027-03-28 (02:00 -> 03:00). Europe/Moscow has no DST (+03:00).

# (text, locale, zone, now on the wall clock, expected instant in UTC, all_day)
DST: list[tuple[str, str, str, Wall, Wall, bool]] = [
    # wall-clock phrases keep the wall clock: 10:00 is CEST (+2) on the 24th, CET (+1) after
    ("jutro 10:00", "pl", WAW, (2026, 10, 24, 12, 0), (2026, 10, 25, 9, 0), False),
    ("jutro 10:00", "pl", WAW, (2026, 10, 23, 12, 0), (2026, 10, 24, 8, 0), False),
    ("jutro", "pl", WAW, (2026, 10, 24, 12, 0), (2026, 10, 25, 8, 0), True),
    ("10:00", "pl", WAW, (2026, 10, 24, 14, 0), (2026, 10, 25, 9, 0), False),
    ("w poniedziałek o 10", "pl", WAW, (2026, 10, 23, 12, 0), (2026, 10, 26, 9, 0), False),
    ("za 3 dni o 14", "pl", WAW, (2026, 10, 23, 14, 0), (2026, 10, 26, 13, 0), False),
    ("in 3 days", "en", WAW, (2026, 10, 23, 14, 0), (2026, 10, 26, 8, 0), True),
    ("next week", "en", WAW, (2026, 10, 24, 12, 0), (2026, 10, 31, 8, 0), True),
    # the repeated hour: 02:30 happens twice, the first (summer time) one is meant
    ("jutro 02:30", "pl", WAW, (2026, 10, 24, 12, 0), (2026, 10, 25, 0, 30), False),
    # durations are exact: 2 hours after 01:30 CEST is 02:30 CET (the clock moved by one hour)
    ("za 2 godziny", "pl", WAW, (2026, 10, 25, 1, 30), (2026, 10, 25, 1, 30), False),
    ("in 2 hours", "en", WAW, (2026, 10, 25, 1, 30), (2026, 10, 25, 1, 30), False),
    ("через 2 часа", "ru", WAW, (2026, 10, 25, 1, 30), (2026, 10, 25, 1, 30), False),
    # spring: 10:00 is CET (+1) on the 27th, CEST (+2) on the 28th
    ("jutro 10:00", "pl", WAW, (2027, 3, 27, 12, 0), (2027, 3, 28, 8, 0), False),
    ("tomorrow at 10", "en", WAW, (2027, 3, 27, 12, 0), (2027, 3, 28, 8, 0), False),
    # a nonexistent 02:30 is read as the clock would show it: 03:30 CEST
    ("jutro 02:30", "pl", WAW, (2027, 3, 27, 12, 0), (2027, 3, 28, 1, 30), False),
    ("in 2 hours", "en", WAW, (2027, 3, 28, 1, 30), (2027, 3, 28, 2, 30), False),
    ("za 30 minut", "pl", WAW, (2027, 3, 28, 1, 45), (2027, 3, 28, 1, 15), False),
    # Moscow: +03:00 all year
    ("завтра в 10", "ru", MSK, (2026, 10, 24, 12, 0), (2026, 10, 25, 7, 0), False),
    ("завтра в 10", "ru", MSK, (2027, 3, 27, 12, 0), (2027, 3, 28, 7, 0), False),
    ("через 3 дня", "ru", MSK, (2026, 10, 23, 14, 0), (2026, 10, 26, 6, 0), True),
]


@pytest.mark.parametrize(
    ("text", "locale", "tz", "now_wall", "expected", "all_day"),
    DST,
    ids=[f"{case[0]}@{case[3]}" for case in DST],
)
def test_dst(
    text: str, locale: str, tz: str, now_wall: Wall, expected: Wall, all_day: bool
) -> None:
    result = parse(text, locale, tz, now_wall)
    assert result is not None
    assert result.at == datetime(*expected, tzinfo=UTC)
    assert result.at.utcoffset() == timedelta(0)
    assert result.all_day is all_day


# --- dateparser issue 706: "через 2 часа" read as two hours ago.


@pytest.mark.parametrize(
    "text", ["через 2 часа", "через два часа", "через 2 ч", "через 2ч", "Через 2 часа,"]
)
@pytest.mark.parametrize("locale", ["ru", "pl", "en"])
def test_cherez_2_chasa_is_two_hours_ahead(text: str, locale: str) -> None:
    now = datetime(2026, 10, 21, 11, 17, 42, 123456, tzinfo=UTC)
    result = parse_deadline(text, now=now, timezone=MSK, locale=locale)
    assert result is not None
    # two hours ahead, on the minute: seconds are dropped from relative deadlines
    assert result.at == datetime(2026, 10, 21, 13, 17, tzinfo=UTC)
    assert result.all_day is False


def test_weekday_phrases_never_resolve_to_the_past() -> None:
    names = {
        "pl": ["poniedziałek", "wtorek", "środę", "czwartek", "piątek", "sobotę", "niedzielę"],
        "ru": ["понедельник", "вторник", "среду", "четверг", "пятницу", "субботу", "воскресенье"],
        "en": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    }
    preps = {"pl": "w", "ru": "в", "en": "on"}
    for start in range(7):  # every day of a week as "today", at 14:00
        wall = (2026, 10, 19 + start, 14, 0)
        now = utc_now(WAW, wall)
        for locale, days in names.items():
            for index, name in enumerate(days):
                prep = "we" if name == "wtorek" else preps[locale]
                result = parse(f"{prep} {name}", locale, WAW, wall)
                assert result is not None
                local = result.at.astimezone(ZoneInfo(WAW))
                assert result.at > now
                assert local.weekday() == index
                assert timedelta(0) < result.at - now <= timedelta(days=7)


def test_default_time_is_used_only_without_a_time() -> None:
    eight_thirty = time(8, 30)
    result = assert_wall(
        parse("jutro", "pl", WAW, default_time=eight_thirty), WAW, (2026, 10, 22, 8, 30)
    )
    assert result.all_day
    assert_wall(
        parse("w piątek", "pl", WAW, default_time=eight_thirty), WAW, (2026, 10, 23, 8, 30)
    )
    result = assert_wall(
        parse("jutro o 10", "pl", WAW, default_time=eight_thirty), WAW, (2026, 10, 22, 10, 0)
    )
    assert not result.all_day


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # An explicit day is kept even when already past; the confirmation shows it.
        ("dziś 10:00", (2026, 10, 21, 10, 0)),
        ("21.10 o 10", (2026, 10, 21, 10, 0)),
        # 29.02 without a year waits for the next leap year.
        ("29.02", (2028, 2, 29, 9, 0)),
    ],
)
def test_explicit_days(text: str, expected: Wall) -> None:
    assert_wall(parse(text, "pl", WAW), WAW, expected)


def test_invalid_explicit_date_is_no_deadline() -> None:
    assert parse("29.02.2027 o 10", "pl", WAW) is None


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_deadline("jutro", now=datetime(2026, 10, 21, 12), timezone=WAW, locale="pl")


def test_deadline_is_immutable() -> None:
    result = parse("jutro", "pl", WAW)
    assert result is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.rest = "x"  # type: ignore[misc]


def test_now_in_another_zone_is_the_same_instant() -> None:
    now_msk = datetime(2026, 10, 21, 15, 0, tzinfo=ZoneInfo(MSK))  # = 14:00 in Warsaw
    result = parse_deadline("o 15", now=now_msk, timezone=WAW, locale="pl")
    assert_wall(result, WAW, (2026, 10, 21, 15, 0))


# --- hostile input


@pytest.mark.parametrize(
    "text",
    [
        "a " * 5000,
        "x" * 10_000,
        "Zadzwonić " * 1000,
        "1 " * 5000,
        "12:00 " * 2000,
        "za " * 5000,
        "w piątek o " + "9" * 10_000,
    ],
    ids=["words", "one-blob", "subject", "numbers", "times", "za", "huge-number"],
)
def test_huge_input_is_fast(text: str) -> None:
    parse("jutro", "pl", WAW)  # dateparser's import and first call are not what is measured
    parse("next week", "en", WAW)
    started = perf.perf_counter()
    for locale in ("pl", "ru", "en"):
        parse(text, locale, WAW)
        parse_when(text, now=utc_now(WAW), timezone=WAW, locale=locale)
    assert perf.perf_counter() - started < 1.0


def test_huge_subject_after_a_deadline() -> None:
    subject = "zadzwonić " * 1000
    result = parse("jutro o 10 " + subject, "pl", WAW)
    assert_wall(result, WAW, (2026, 10, 22, 10, 0))
    assert result is not None
    assert result.rest == subject.strip()


def test_only_the_first_words_are_read() -> None:
    # A date must be at the start; twelve filler words push it out of reach entirely.
    assert parse("x " * 12 + "jutro", "pl", WAW) is None


# --- parse_when: the whole text is the date


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("jutro 10:00", "pl", datetime(2026, 10, 22, 8, 0, tzinfo=UTC)),
        (" jutro o 10 ", "pl", datetime(2026, 10, 22, 8, 0, tzinfo=UTC)),
        ("za 2 godziny", "pl", datetime(2026, 10, 21, 14, 0, tzinfo=UTC)),
        ("в пятницу в 15", "ru", datetime(2026, 10, 23, 13, 0, tzinfo=UTC)),
        ("next week", "en", datetime(2026, 10, 28, 8, 0, tzinfo=UTC)),
        ("25.12", "pl", datetime(2026, 12, 25, 8, 0, tzinfo=UTC)),
        ("jutro 10:00 zadzwonić", "pl", None),
        ("2 oferty", "pl", None),
        ("Zadzwonić 2 razy", "pl", None),
        ("", "pl", None),
        ("jutro " * 20, "pl", None),
        ("jutro " + "x" * 100, "pl", None),
    ],
)
def test_parse_when(text: str, locale: str, expected: datetime | None) -> None:
    assert parse_when(text, now=utc_now(WAW), timezone=WAW, locale=locale) == expected
