"""A corpus of deadlines as reps type them after `/todo D7 …`, in pl/ru/en, on a fixed clock.

The clock is Tuesday 2026-11-24 10:17:43 on the user's wall clock (CET in Warsaw, MSK in
Moscow), seconds included so that relative deadlines show they are put on the minute. Each
case gives the text, the expected local date and time ("past" cases are read, not refused:
the dialog asks about them) and the subject that must remain. Word orders vary ("jutro o 12",
"12 jutro", "o 12 jutro"), so do case, diacritics and punctuation; a bare number after a day
is the hour, a part of day gives a sensible hour. DST edges have their own table with exact
UTC instants. Hypothesis checks that no text crashes the reader and that the subject after a
deadline keeps every word.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.dates import SEPARATORS, parse_deadline, parse_when, past_deadline

WAW = "Europe/Warsaw"
MSK = "Europe/Moscow"
NOW_WALL = datetime(2026, 11, 24, 10, 17, 43)  # a Tuesday

# (text, expected local "YYYY-MM-DD HH:MM", expected subject)
Case = tuple[str, str, str]

POLISH: list[Case] = [
    # the issue's own: a bare number after a day is the hour
    ("jutro 12 zadzwonić", "2026-11-25 12:00", "zadzwonić"),
    ("w czwartek 14", "2026-11-26 14:00", ""),
    ("jutro 18 wysłać podsumowanie", "2026-11-25 18:00", "wysłać podsumowanie"),
    ("pojutrze 7 wyjazd do Gdańska", "2026-11-26 07:00", "wyjazd do Gdańska"),
    ("w poniedziałek 9 spotkanie zespołu", "2026-11-30 09:00", "spotkanie zespołu"),
    ("w sobotę 11 targi", "2026-11-28 11:00", "targi"),
    ("w srode 9", "2026-11-25 09:00", ""),
    ("dziś 12 obiad z klientem", "2026-11-24 12:00", "obiad z klientem"),
    ("1 grudnia 14 spotkanie", "2026-12-01 14:00", "spotkanie"),
    ("15.01 10", "2027-01-15 10:00", ""),
    # word orders
    ("jutro o 12 zadzwonić", "2026-11-25 12:00", "zadzwonić"),
    ("Jutro o 12:00 zadzwonić do klienta", "2026-11-25 12:00", "zadzwonić do klienta"),
    ("12 jutro zadzwonić", "2026-11-25 12:00", "zadzwonić"),
    ("o 12 jutro spotkanie", "2026-11-25 12:00", "spotkanie"),
    ("15:30 w piątek prezentacja", "2026-11-27 15:30", "prezentacja"),
    ("o 9 w poniedziałek raport", "2026-11-30 09:00", "raport"),
    ("w czwartek o 14", "2026-11-26 14:00", ""),
    ("czwartek 14:30 demo", "2026-11-26 14:30", "demo"),
    # abbreviations, dots, case, no diacritics, punctuation
    ("w pt. 15:30 oferta", "2026-11-27 15:30", "oferta"),
    ("pt 15:30 oferta", "2026-11-27 15:30", "oferta"),
    ("w pt o 9 telefon", "2026-11-27 09:00", "telefon"),
    ("pon. 8:30 odprawa", "2026-11-30 08:30", "odprawa"),
    ("w czw. 16 szkolenie", "2026-11-26 16:00", "szkolenie"),
    ("w piatek o 15", "2026-11-27 15:00", ""),
    ("Jutro 12 Zadzwonić do Pana Nowaka", "2026-11-25 12:00", "Zadzwonić do Pana Nowaka"),
    ("JUTRO O 12 ZADZWONIĆ", "2026-11-25 12:00", "ZADZWONIĆ"),
    ("jutro, 12:00 - zadzwonić", "2026-11-25 12:00", "zadzwonić"),
    ("jutro 12: oddzwonić", "2026-11-25 12:00", "oddzwonić"),
    ("jutro o godz. 13 demo", "2026-11-25 13:00", "demo"),
    ("jutro godz. 9.30 przegląd", "2026-11-25 09:30", "przegląd"),
    # parts of day
    ("pojutrze rano wysłać umowę", "2026-11-26 09:00", "wysłać umowę"),
    ("jutro rano", "2026-11-25 09:00", ""),
    ("jutro z samego rana telefon", "2026-11-25 08:00", "telefon"),
    ("jutro przed południem spotkanie", "2026-11-25 10:00", "spotkanie"),
    ("jutro w południe obiad", "2026-11-25 12:00", "obiad"),
    ("jutro po południu oddzwonić", "2026-11-25 15:00", "oddzwonić"),
    ("jutro wieczorem", "2026-11-25 18:00", ""),
    ("dziś wieczorem podsumowanie", "2026-11-24 18:00", "podsumowanie"),
    ("dzisiaj po południu", "2026-11-24 15:00", ""),
    ("w środę rano", "2026-11-25 09:00", ""),
    ("w niedzielę wieczorem", "2026-11-29 18:00", ""),
    ("jutro wieczorem o 7 kolacja", "2026-11-25 19:00", "kolacja"),
    ("jutro rano o 8 telefon", "2026-11-25 08:00", "telefon"),
    ("w piątek po południu o 4 demo", "2026-11-27 16:00", "demo"),
    ("pojutrze o 8", "2026-11-26 08:00", ""),
    # weekdays: today only with a time still ahead, "przyszły" = next week
    ("we wtorek o 16 call", "2026-11-24 16:00", "call"),
    ("we wtorek 10", "2026-12-01 10:00", ""),
    ("w przyszły poniedziałek 10", "2026-11-30 10:00", ""),
    ("w przyszły piątek", "2026-12-04 09:00", ""),
    ("w następny wtorek", "2026-12-01 09:00", ""),
    ("w ten czwartek o 11", "2026-11-26 11:00", ""),
    # "do …": by that day
    ("do piątku przygotować ofertę", "2026-11-27 09:00", "przygotować ofertę"),
    ("do jutra odpisać", "2026-11-25 09:00", "odpisać"),
    ("do czwartku", "2026-11-26 09:00", ""),
    ("do 15.12 faktura", "2026-12-15 09:00", "faktura"),
    ("do końca dnia raport", "2026-11-24 18:00", "raport"),
    # relative: on the minute
    ("za 2 godziny zadzwonić", "2026-11-24 12:17", "zadzwonić"),
    ("za 15 minut", "2026-11-24 10:32", ""),
    ("za godzinę", "2026-11-24 11:17", ""),
    ("za pół godziny", "2026-11-24 10:47", ""),
    ("za półtorej godziny", "2026-11-24 11:47", ""),
    ("za 2h", "2026-11-24 12:17", ""),
    ("za 30min przerwa", "2026-11-24 10:47", "przerwa"),
    ("za 3 dni o 10", "2026-11-27 10:00", ""),
    ("za 3 dni", "2026-11-27 09:00", ""),
    ("za tydzień", "2026-12-01 09:00", ""),
    ("za 2 tygodnie", "2026-12-08 09:00", ""),
    ("za miesiąc", "2026-12-24 09:00", ""),
    # dates
    ("15.01 o 10 przegląd umowy", "2027-01-15 10:00", "przegląd umowy"),
    ("15.01 10:00", "2027-01-15 10:00", ""),
    ("15.01.2027 o 10", "2027-01-15 10:00", ""),
    ("1 grudnia o 10", "2026-12-01 10:00", ""),
    ("3 stycznia", "2027-01-03 09:00", ""),
    ("5 maja 2027 r. o 12 rocznica", "2027-05-05 12:00", "rocznica"),
    ("1.12 o 9", "2026-12-01 09:00", ""),
    # bare times: the next time the clock shows them
    ("o 15 telefon do Jana", "2026-11-24 15:00", "telefon do Jana"),
    ("o 9 telefon", "2026-11-25 09:00", "telefon"),
    ("15:30 spotkanie", "2026-11-24 15:30", "spotkanie"),
    ("10:00 standup", "2026-11-25 10:00", "standup"),
    ("o godz. 14 demo", "2026-11-24 14:00", "demo"),
    ("ok. 13 lunch", "2026-11-24 13:00", "lunch"),
    ("w południe", "2026-11-24 12:00", ""),
    # numbers that are counts, and words that only look like dates
    ("jutro 2 oferty wysłać", "2026-11-25 09:00", "2 oferty wysłać"),
    ("w piątek 3 telefony", "2026-11-27 09:00", "3 telefony"),
    ("jutro w biurze spotkanie", "2026-11-25 09:00", "w biurze spotkanie"),
    ("jutro do Jana", "2026-11-25 09:00", "do Jana"),
    # past days are read (the dialog asks about them), never "no date"
    ("dziś o 9", "2026-11-24 09:00", ""),
    ("wczoraj 10:00", "2026-11-23 10:00", ""),
    ("przedwczoraj", "2026-11-22 09:00", ""),
    ("24.11 o 9", "2026-11-24 09:00", ""),
]

RUSSIAN: list[Case] = [
    ("завтра 12 позвонить", "2026-11-25 12:00", "позвонить"),
    ("в четверг 14", "2026-11-26 14:00", ""),
    ("завтра днём", "2026-11-25 13:00", ""),
    ("завтра в 12 позвонить клиенту", "2026-11-25 12:00", "позвонить клиенту"),
    ("12 завтра созвон", "2026-11-25 12:00", "созвон"),
    ("в 12 завтра", "2026-11-25 12:00", ""),
    ("в четверг в 14:30", "2026-11-26 14:30", ""),
    ("в чт 14 демо", "2026-11-26 14:00", "демо"),
    ("в пятницу 15", "2026-11-27 15:00", ""),
    ("в 15 в пятницу", "2026-11-27 15:00", ""),
    ("в пятницу в 15 встреча", "2026-11-27 15:00", "встреча"),
    ("в пт 15:30", "2026-11-27 15:30", ""),
    ("Завтра В 12 Позвонить", "2026-11-25 12:00", "Позвонить"),
    ("ЗАВТРА 12 ПОЗВОНИТЬ", "2026-11-25 12:00", "ПОЗВОНИТЬ"),
    ("завтра, 12:00 — отправить счёт", "2026-11-25 12:00", "отправить счёт"),
    ("послезавтра 9 выезд", "2026-11-26 09:00", "выезд"),
    ("в понедельник 10 планёрка", "2026-11-30 10:00", "планёрка"),
    ("в субботу 11", "2026-11-28 11:00", ""),
    ("1 декабря 14 совещание", "2026-12-01 14:00", "совещание"),
    ("15.01 в 10", "2027-01-15 10:00", ""),
    ("15.01 10", "2027-01-15 10:00", ""),
    # parts of day
    ("завтра днём в 2 встреча", "2026-11-25 14:00", "встреча"),
    ("завтра утром отправить КП", "2026-11-25 09:00", "отправить КП"),
    ("завтра с утра", "2026-11-25 09:00", ""),
    ("завтра вечером", "2026-11-25 18:00", ""),
    ("завтра вечером в 7", "2026-11-25 19:00", ""),
    ("сегодня вечером перезвонить", "2026-11-24 18:00", "перезвонить"),
    ("сегодня днём", "2026-11-24 13:00", ""),
    ("послезавтра утром", "2026-11-26 09:00", ""),
    ("в среду после обеда", "2026-11-25 14:00", ""),
    ("в субботу до обеда", "2026-11-28 11:00", ""),
    ("завтра в обед", "2026-11-25 13:00", ""),
    ("завтра в полдень", "2026-11-25 12:00", ""),
    ("завтра в 3 часа дня", "2026-11-25 15:00", ""),
    # weekdays and "next"
    ("в понедельник в 9 планёрка", "2026-11-30 09:00", "планёрка"),
    ("в понедельник", "2026-11-30 09:00", ""),
    ("во вторник в 16", "2026-11-24 16:00", ""),
    ("во вторник в 10", "2026-12-01 10:00", ""),
    ("в следующую пятницу", "2026-12-04 09:00", ""),
    ("в следующий понедельник в 10", "2026-11-30 10:00", ""),
    ("в эту пятницу", "2026-11-27 09:00", ""),
    # "до" / "к": by that day
    ("до пятницы подготовить договор", "2026-11-27 09:00", "подготовить договор"),
    ("к пятнице отчёт", "2026-11-27 09:00", "отчёт"),
    ("к четвергу", "2026-11-26 09:00", ""),
    ("до завтра ответить", "2026-11-25 09:00", "ответить"),
    ("до конца дня отчёт", "2026-11-24 18:00", "отчёт"),
    # relative
    ("через 2 часа позвонить", "2026-11-24 12:17", "позвонить"),
    ("через час", "2026-11-24 11:17", ""),
    ("через полчаса", "2026-11-24 10:47", ""),
    ("через полтора часа", "2026-11-24 11:47", ""),
    ("через 15 минут", "2026-11-24 10:32", ""),
    ("через 2ч", "2026-11-24 12:17", ""),
    ("через 3 дня", "2026-11-27 09:00", ""),
    ("через 3 дня в 10", "2026-11-27 10:00", ""),
    ("через неделю", "2026-12-01 09:00", ""),
    # dates and times
    ("1 декабря в 10", "2026-12-01 10:00", ""),
    ("25 декабря", "2026-12-25 09:00", ""),
    ("в 15:30 созвон", "2026-11-24 15:30", "созвон"),
    ("в 9 утра", "2026-11-25 09:00", ""),
    ("в 3 часа дня", "2026-11-24 15:00", ""),
    ("в 7 вечера ужин", "2026-11-24 19:00", "ужин"),
    ("к 15:00 отчёт", "2026-11-24 15:00", "отчёт"),
    ("около 13 обед", "2026-11-24 13:00", "обед"),
    # counts and look-alikes
    ("завтра 2 звонка сделать", "2026-11-25 09:00", "2 звонка сделать"),
    ("завтра в офисе встреча", "2026-11-25 09:00", "в офисе встреча"),
    # past
    ("вчера в 10", "2026-11-23 10:00", ""),
    ("позавчера", "2026-11-22 09:00", ""),
    ("сегодня в 9", "2026-11-24 09:00", ""),
]

ENGLISH: list[Case] = [
    ("tomorrow 12 call John", "2026-11-25 12:00", "call John"),
    ("tomorrow at 12 call", "2026-11-25 12:00", "call"),
    ("12 tomorrow call", "2026-11-25 12:00", "call"),
    ("next monday 9am standup", "2026-11-30 09:00", "standup"),
    ("next monday at 9", "2026-11-30 09:00", ""),
    ("on thursday 14 review", "2026-11-26 14:00", "review"),
    ("thursday at 2pm", "2026-11-26 14:00", ""),
    ("fri 3:30pm", "2026-11-27 15:30", ""),
    ("Tomorrow 9 Send Offer", "2026-11-25 09:00", "Send Offer"),
    ("tomorrow morning", "2026-11-25 09:00", ""),
    ("tomorrow afternoon send offer", "2026-11-25 15:00", "send offer"),
    ("tomorrow evening", "2026-11-25 18:00", ""),
    ("tomorrow evening at 7 dinner", "2026-11-25 19:00", "dinner"),
    ("this afternoon", "2026-11-24 15:00", ""),
    ("this evening call back", "2026-11-24 18:00", "call back"),
    ("tonight at 9", "2026-11-24 21:00", ""),
    ("tonight", "2026-11-24 20:00", ""),
    ("in 2 hours", "2026-11-24 12:17", ""),
    ("in 45 minutes", "2026-11-24 11:02", ""),
    ("in an hour", "2026-11-24 11:17", ""),
    ("in half an hour", "2026-11-24 10:47", ""),
    ("in 3 days", "2026-11-27 09:00", ""),
    ("in a week", "2026-12-01 09:00", ""),
    ("by friday send the contract", "2026-11-27 09:00", "send the contract"),
    ("until thursday", "2026-11-26 09:00", ""),
    ("by end of day report", "2026-11-24 18:00", "report"),
    ("at 3pm", "2026-11-24 15:00", ""),
    ("at 9", "2026-11-25 09:00", ""),
    ("3pm call", "2026-11-24 15:00", "call"),
    ("December 1 10am", "2026-12-01 10:00", ""),
    ("Jan 15 at 10", "2027-01-15 10:00", ""),
    ("15th of January", "2027-01-15 09:00", ""),
    ("day after tomorrow at 8", "2026-11-26 08:00", ""),
    ("today at 6pm", "2026-11-24 18:00", ""),
    ("noon lunch", "2026-11-24 12:00", "lunch"),
    ("2026-12-01 10:00 audit", "2026-12-01 10:00", "audit"),
    ("next week call", "2026-12-01 09:00", "call"),
    ("yesterday 10:00", "2026-11-23 10:00", ""),
]

CORPUS = (
    [(*case, "pl", WAW) for case in POLISH]
    + [(*case, "ru", MSK) for case in RUSSIAN]
    + [(*case, "en", WAW) for case in ENGLISH]
)


def now_in(zone: str, wall: datetime = NOW_WALL) -> datetime:
    return wall.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def test_the_corpus_is_large_and_distinct() -> None:
    keys = [(case[0], case[3]) for case in CORPUS]
    assert len(keys) >= 150
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize(
    ("text", "expected", "subject", "locale", "zone"),
    CORPUS,
    ids=[f"{case[3]}:{case[0]}" for case in CORPUS],
)
def test_corpus(text: str, expected: str, subject: str, locale: str, zone: str) -> None:
    found = parse_deadline(text, now=now_in(zone), timezone=zone, locale=locale)
    assert found is not None, text
    local = found.at.astimezone(ZoneInfo(zone))
    assert (local.strftime("%Y-%m-%d %H:%M"), found.rest) == (expected, subject)
    assert found.at.tzinfo is not None and found.at.utcoffset() == timedelta(0)
    assert (found.at.second, found.at.microsecond) == (0, 0)
    if not subject:  # the whole text is the date: the dialog's "when?" reads it the same
        assert parse_when(text, now=now_in(zone), timezone=zone, locale=locale) == found.at


# (text, locale, zone, now on the wall clock, expected instant in UTC)
DST: list[tuple[str, str, str, datetime, datetime]] = [
    # Warsaw leaves summer time on Sunday 2026-10-25 03:00 CEST -> 02:00 CET
    ("jutro 12 spotkanie", "pl", WAW, datetime(2026, 10, 24, 12), datetime(2026, 10, 25, 11)),
    ("jutro rano", "pl", WAW, datetime(2026, 10, 24, 12), datetime(2026, 10, 25, 8)),
    ("tomorrow morning", "en", WAW, datetime(2026, 10, 24, 12), datetime(2026, 10, 25, 8)),
    ("w niedzielę 10", "pl", WAW, datetime(2026, 10, 23, 9), datetime(2026, 10, 25, 9)),
    ("в воскресенье в 10", "ru", WAW, datetime(2026, 10, 23, 9), datetime(2026, 10, 25, 9)),
    # the repeated 02:30: the first one (summer time) is meant
    ("jutro 2:30", "pl", WAW, datetime(2026, 10, 24, 12), datetime(2026, 10, 25, 0, 30)),
    # durations are exact across the change, on the minute
    ("za 2 godziny", "pl", WAW, datetime(2026, 10, 25, 1, 30, 45), datetime(2026, 10, 25, 1, 30)),
    ("через 2 часа", "ru", WAW, datetime(2026, 10, 25, 1, 30, 5), datetime(2026, 10, 25, 1, 30)),
    ("in 90 minutes", "en", WAW, datetime(2026, 10, 25, 1, 59), datetime(2026, 10, 25, 1, 29)),
    # the day before the change, 18:00 CEST
    ("dziś wieczorem", "pl", WAW, datetime(2026, 10, 24, 12), datetime(2026, 10, 24, 16)),
    # Warsaw enters summer time on Sunday 2027-03-28 02:00 CET -> 03:00 CEST
    ("jutro 12", "pl", WAW, datetime(2027, 3, 27, 12), datetime(2027, 3, 28, 10)),
    ("завтра 12", "ru", WAW, datetime(2027, 3, 27, 12), datetime(2027, 3, 28, 10)),
    ("tomorrow 12", "en", WAW, datetime(2027, 3, 27, 12), datetime(2027, 3, 28, 10)),
    # a nonexistent 02:30 is read as the clock on the wall shows it: 03:30 CEST
    ("jutro 2:30", "pl", WAW, datetime(2027, 3, 27, 12), datetime(2027, 3, 28, 1, 30)),
    ("za 30 minut", "pl", WAW, datetime(2027, 3, 28, 1, 45, 59), datetime(2027, 3, 28, 1, 15)),
    # New York leaves summer time on 2026-11-01
    (
        "tomorrow 12",
        "en",
        "America/New_York",
        datetime(2026, 10, 31, 12),
        datetime(2026, 11, 1, 17),
    ),
    # Moscow has no DST: +03:00 all year
    ("завтра 12", "ru", MSK, datetime(2026, 10, 24, 12), datetime(2026, 10, 25, 9)),
    ("завтра днём", "ru", MSK, datetime(2027, 3, 27, 12), datetime(2027, 3, 28, 10)),
]


@pytest.mark.parametrize(
    ("text", "locale", "zone", "wall", "expected"),
    DST,
    ids=[f"{case[0]}@{case[3]:%Y-%m-%d %H:%M}" for case in DST],
)
def test_dst_edges(text: str, locale: str, zone: str, wall: datetime, expected: datetime) -> None:
    found = parse_deadline(text, now=now_in(zone, wall), timezone=zone, locale=locale)
    assert found is not None
    assert found.at == expected.replace(tzinfo=UTC)


# --- past deadlines: "dziś o 18" sent at 20:30 asks about tomorrow, "wczoraj" is refused


@pytest.mark.parametrize(
    ("text", "locale", "zone", "wall", "tomorrow"),
    [
        ("dziś o 18", "pl", WAW, datetime(2026, 11, 24, 20, 30), datetime(2026, 11, 25, 17)),
        ("dzisiaj 9 zadzwonić", "pl", WAW, NOW_WALL, datetime(2026, 11, 25, 8)),
        ("сегодня в 18", "ru", MSK, datetime(2026, 11, 24, 20, 30), datetime(2026, 11, 25, 15)),
        ("today at 6pm", "en", WAW, datetime(2026, 11, 24, 20, 30), datetime(2026, 11, 25, 17)),
        # the day before the autumn change: 18:00 CEST today, 18:00 CET tomorrow
        ("dziś o 18", "pl", WAW, datetime(2026, 10, 24, 20, 30), datetime(2026, 10, 25, 17)),
    ],
)
def test_past_today_offers_the_same_time_tomorrow(
    text: str, locale: str, zone: str, wall: datetime, tomorrow: datetime
) -> None:
    now = now_in(zone, wall)
    found = parse_deadline(text, now=now, timezone=zone, locale=locale)
    assert found is not None and found.at < now
    past = past_deadline(found.at, now=now, timezone=zone)
    assert past is not None
    assert past.tomorrow == tomorrow.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "locale", "zone"),
    [
        ("wczoraj 10:00", "pl", WAW),
        ("przedwczoraj", "pl", WAW),
        ("вчера в 10", "ru", MSK),
        ("yesterday", "en", WAW),
        ("1.06.2026 o 10", "pl", WAW),
    ],
)
def test_an_earlier_day_is_past_without_a_tomorrow(text: str, locale: str, zone: str) -> None:
    now = now_in(zone)
    found = parse_deadline(text, now=now, timezone=zone, locale=locale)
    assert found is not None
    past = past_deadline(found.at, now=now, timezone=zone)
    assert past is not None and past.tomorrow is None


@pytest.mark.parametrize("text", ["jutro 12", "o 9", "za 2 godziny", "w piątek", "15.01"])
def test_future_deadlines_are_not_past(text: str) -> None:
    now = now_in(WAW)
    found = parse_deadline(text, now=now, timezone=WAW, locale="pl")
    assert found is not None
    assert past_deadline(found.at, now=now, timezone=WAW) is None


# --- properties

ZONES = [WAW, MSK, "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(max_size=80),
    locale=st.sampled_from(["pl", "ru", "en", "de"]),
    zone=st.sampled_from(ZONES),
    now=moments,
)
def test_any_text_is_read_or_not_without_crashing(
    text: str, locale: str, zone: str, now: datetime
) -> None:
    found = parse_deadline(text, now=now, timezone=zone, locale=locale)
    parse_when(text, now=now, timezone=zone, locale=locale)
    if found is None:
        return
    assert found.at.utcoffset() == timedelta(0)
    # the text is the deadline, then separators, then the subject: nothing else is dropped
    body = text.strip()
    assert body.startswith(found.matched)
    assert body.endswith(found.rest)
    gap = body[len(found.matched) : len(body) - len(found.rest)]
    assert gap.strip(SEPARATORS).strip() == "" or not found.rest  # any whitespace separates
    assert len(found.matched) + len(gap) + len(found.rest) == len(body)


# Phrases whose subject is empty, followed by any subject made of ordinary words: the subject
# comes back whole and the deadline is the one the phrase alone gives.
PHRASES = [
    (text, locale, zone)
    for text, _expected, subject, locale, zone in CORPUS
    if not subject and not text.startswith(("next week",))
]
SUBJECT_WORDS = {
    "pl": ["zadzwonić", "wysłać", "ofertę", "Jan", "Kowalski", "umowa", "klienta", "spotkanie"],
    "ru": ["позвонить", "отправить", "договор", "Иван", "Петров", "клиенту", "счёт", "встреча"],
    "en": ["call", "send", "contract", "John", "Smith", "offer", "client", "review"],
}
ALL_SUBJECT_WORDS = [word for words in SUBJECT_WORDS.values() for word in words]


@settings(max_examples=300, deadline=None)
@given(
    phrase=st.sampled_from(PHRASES),
    words=st.lists(st.sampled_from(ALL_SUBJECT_WORDS), min_size=1, max_size=8),
    separator=st.sampled_from([" ", ", ", " - ", ": ", " — "]),
)
def test_the_subject_keeps_every_word(
    phrase: tuple[str, str, str], words: list[str], separator: str
) -> None:
    text, locale, zone = phrase
    subject = " ".join(words)
    alone = parse_deadline(text, now=now_in(zone), timezone=zone, locale=locale)
    found = parse_deadline(
        text + separator + subject, now=now_in(zone), timezone=zone, locale=locale
    )
    assert alone is not None and found is not None
    assert (found.at, found.rest) == (alone.at, subject)
