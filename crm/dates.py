"""Deadlines typed in chat ("jutro 10:00 zadzwonić", "через 2 часа позвонить") as UTC instants.

`/todo D7 jutro o 10 zadzwonić do Jana` reaches us as "jutro o 10 zadzwonić do Jana": the
deadline is the longest run of words at the start that reads as a date or time, the rest is
the subject.

The phrase families reps really type are read by a small grammar in this module, not by
dateparser, because dateparser misreads several of them: Russian "через 2 часа" as two hours
*ago* in some releases (dateparser issue 706), "w piątek o 15" and "o 15" as the 15th of the
month, "jutro o 10" as tomorrow at the current time, "1 grudnia o 10" as the year 2110, and
weekday phrases in the past (issue 573). dateparser is only a guarded fallback for word
phrases the grammar does not know ("next week", "w przyszłym tygodniu", "12/1").

Wall-clock times are interpreted in the user's IANA zone with zoneinfo and then converted to
UTC, so "jutro 10:00" is 10:00 on the user's clock on both sides of a DST change. Durations
in minutes and hours ("za 2 godziny") are exact: they are added to `now` in UTC and the
result is put on the minute (10:17:43 + 2 h is 12:17).

A bare number right after a day is the hour ("jutro 12 zadzwonić", "в четверг 14"), and so
is one before a day ("12 jutro"); a small one followed by more words is a count ("jutro 2
oferty"). Parts of day give a sensible hour ("rano" 9:00, "przed południem" 10:00, "днём"
13:00, "evening" 18:00) that a following hour refines ("wieczorem o 7" is 19:00). Days in the
past ("wczoraj", "вчера", "dziś o 18" at 20:30) are read, not dropped: `past_deadline` tells
the caller, who asks or refuses instead of saying "no date found".
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from crm.locales import SUPPORTED_LOCALES

__all__ = [
    "SEPARATORS",
    "Deadline",
    "PastDeadline",
    "parse_deadline",
    "parse_when",
    "past_deadline",
]

# Only the start of a message can hold the deadline, so nothing past this many words is ever
# looked at: a 10k-character paste costs the same as a short one.
MAX_WORDS = 12
# dateparser is slow per call and over-eager on long strings; it only sees short prefixes.
MAX_FALLBACK_WORDS = 6
# A longer "word" is a pasted blob, never part of a date.
MAX_WORD_CHARS = 40
# Relative phrases beyond this are typos ("za 300000 dni"), and would overflow `date`.
MAX_RELATIVE_DAYS = 3660
# dateparser computes relative results from RELATIVE_BASE; an odd microsecond on the base
# tells a duration ("in 90 minutes", to be added exactly) from an explicit time ("tonight").
_BASE_MICROSECOND = 987_654

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")
_Meridiem = Literal["am", "pm", "night"]
_Unit = Literal["minutes", "hours", "days", "weeks", "months"]


@dataclass(frozen=True, slots=True)
class Deadline:
    at: datetime  # timezone-aware, UTC
    matched: str  # the part of the text read as the deadline
    rest: str  # the remaining text (subject), stripped
    all_day: bool  # no time was given ("jutro", "w piątek"): the default time was used


# --- vocabulary -------------------------------------------------------------------------
# Words are matched after _normalize: lower case, Polish letters without diacritics (reps
# often type "piatek", "srode"), "ё" as "е", surrounding punctuation and trailing dots gone.

Words = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Lang:
    day_offsets: dict[str, int]
    day_phrases: dict[Words, tuple[int, time | None]]
    # time: (clock, strong); a weak one ("rano", "morning") only counts next to a day
    parts_of_day: dict[Words, tuple[time, bool]]
    # preposition -> may a bare hour follow ("o 15"), or only 10:00 / 3pm ("na 10:00")
    clock_preps: dict[Words, bool]
    hour_words: frozenset[str]
    minute_words: frozenset[str]
    meridiems: dict[Words, _Meridiem]
    # preposition -> may dates and "jutro" follow, or only weekdays ("w piątek")
    day_preps: dict[str, bool]
    # modifier -> in next week ("next"), or the nearest ("this")
    weekday_mods: dict[str, bool]
    weekdays: dict[str, int]
    weekday_abbreviations: dict[str, int]
    months: dict[str, int]
    year_suffixes: frozenset[str]
    of_words: frozenset[str]
    relative_preps: frozenset[str]
    units: dict[str, _Unit]
    numbers: dict[str, float]
    connectors: frozenset[str]
    half_words: frozenset[str]


_PL = _Lang(
    day_offsets={
        "dzis": 0,
        "dzisiaj": 0,
        "jutro": 1,
        "jutra": 1,  # "do jutra"
        "pojutrze": 2,
        "wczoraj": -1,
        "przedwczoraj": -2,
    },
    day_phrases={
        ("do", "konca", "dnia"): (0, time(18)),
        ("pod", "koniec", "dnia"): (0, time(17)),
    },
    parts_of_day={
        ("rano",): (time(9), False),
        ("z", "rana"): (time(9), False),
        ("z", "samego", "rana"): (time(8), False),
        ("przed", "poludniem"): (time(10), False),
        ("w", "poludnie"): (time(12), True),
        ("po", "poludniu"): (time(15), False),
        ("popoludniu",): (time(15), False),
        ("wieczorem",): (time(18), False),
        ("pod", "wieczor"): (time(17), False),
    },
    clock_preps={
        ("o",): True,
        ("o", "godz"): True,
        ("o", "godzinie"): True,
        ("godz",): True,
        ("na",): False,
        ("na", "godz"): True,
        ("ok",): True,
        ("okolo",): True,
        ("do",): False,
        ("przed",): False,
    },
    hour_words=frozenset(),
    minute_words=frozenset(),
    meridiems={
        ("rano",): "am",
        ("po", "poludniu"): "pm",
        ("wieczorem",): "pm",
        ("w", "nocy"): "night",
    },
    # "do piątku", "do jutra", "do 15.01": the deadline is that day
    day_preps={"w": False, "we": False, "na": True, "do": True},
    weekday_mods={
        "nastepny": True,
        "nastepna": True,
        "nastepne": True,
        "przyszly": True,
        "przyszla": True,
        "przyszle": True,
        "ten": False,
        "te": False,
        "najblizszy": False,
        "najblizsza": False,
        "najblizsze": False,
    },
    weekdays={
        "poniedzialek": 0,
        "wtorek": 1,
        "sroda": 2,
        "srode": 2,
        "czwartek": 3,
        "piatek": 4,
        "sobota": 5,
        "sobote": 5,
        "niedziela": 6,
        "niedziele": 6,
        # genitive, after "do": "do piątku"
        "poniedzialku": 0,
        "wtorku": 1,
        "srody": 2,
        "czwartku": 3,
        "piatku": 4,
        "soboty": 5,
        "niedzieli": 6,
    },
    weekday_abbreviations={
        "pon": 0,
        "pn": 0,
        "wt": 1,
        "sr": 2,
        "czw": 3,
        "pt": 4,
        "sob": 5,
        "nd": 6,
        "niedz": 6,
    },
    months={
        **dict.fromkeys(("stycznia", "styczen", "sty"), 1),
        **dict.fromkeys(("lutego", "luty", "lut"), 2),
        **dict.fromkeys(("marca", "marzec", "mar"), 3),
        **dict.fromkeys(("kwietnia", "kwiecien", "kwi"), 4),
        **dict.fromkeys(("maja", "maj"), 5),
        **dict.fromkeys(("czerwca", "czerwiec", "cze"), 6),
        **dict.fromkeys(("lipca", "lipiec", "lip"), 7),
        **dict.fromkeys(("sierpnia", "sierpien", "sie"), 8),
        **dict.fromkeys(("wrzesnia", "wrzesien", "wrz"), 9),
        **dict.fromkeys(("pazdziernika", "pazdziernik", "paz"), 10),
        **dict.fromkeys(("listopada", "listopad", "lis"), 11),
        **dict.fromkeys(("grudnia", "grudzien", "gru"), 12),
    },
    year_suffixes=frozenset({"r", "roku"}),
    of_words=frozenset(),
    relative_preps=frozenset({"za"}),
    units={
        **dict.fromkeys(("minuta", "minute", "minuty", "minut", "min"), "minutes"),
        **dict.fromkeys(("godzina", "godzine", "godziny", "godzin", "godz", "h"), "hours"),
        **dict.fromkeys(("dzien", "dni", "dnia"), "days"),
        **dict.fromkeys(("tydzien", "tygodnie", "tygodni"), "weeks"),
        **dict.fromkeys(("miesiac", "miesiace", "miesiecy"), "months"),
    },
    numbers={
        "jeden": 1,
        "jedna": 1,
        "jedno": 1,
        "dwa": 2,
        "dwie": 2,
        "trzy": 3,
        "cztery": 4,
        "piec": 5,
        "szesc": 6,
        "siedem": 7,
        "osiem": 8,
        "dziewiec": 9,
        "dziesiec": 10,
        "pietnascie": 15,
        "dwadziescia": 20,
        "trzydziesci": 30,
        "pol": 0.5,
        "poltorej": 1.5,
        "poltora": 1.5,
    },
    connectors=frozenset({"i"}),
    half_words=frozenset(),
)

_RU = _Lang(
    day_offsets={"сегодня": 0, "завтра": 1, "послезавтра": 2, "вчера": -1, "позавчера": -2},
    day_phrases={
        ("до", "конца", "дня"): (0, time(18)),
        ("к", "концу", "дня"): (0, time(18)),
    },
    parts_of_day={
        ("утром",): (time(9), False),
        ("с", "утра"): (time(9), False),
        ("до", "обеда"): (time(11), False),
        ("в", "полдень"): (time(12), True),
        ("в", "обед"): (time(13), False),
        ("днем",): (time(13), False),
        ("после", "обеда"): (time(14), False),
        ("вечером",): (time(18), False),
    },
    clock_preps={
        ("в",): True,
        ("к",): False,
        ("на",): False,
        ("около",): True,
        ("до",): False,
    },
    hour_words=frozenset({"час", "часа", "часов", "ч"}),
    minute_words=frozenset({"минута", "минуту", "минуты", "минут", "мин"}),
    meridiems={("утра",): "am", ("дня",): "pm", ("вечера",): "pm", ("ночи",): "night"},
    # "до пятницы", "к пятнице", "до 15.01": the deadline is that day
    day_preps={"в": False, "во": False, "на": True, "до": True, "к": True, "ко": True},
    weekday_mods={
        "следующий": True,
        "следующую": True,
        "следующее": True,
        "следующая": True,
        "этот": False,
        "эту": False,
        "это": False,
        "ближайший": False,
        "ближайшую": False,
        "ближайшее": False,
    },
    weekdays={
        "понедельник": 0,
        "вторник": 1,
        "среда": 2,
        "среду": 2,
        "четверг": 3,
        "пятница": 4,
        "пятницу": 4,
        "суббота": 5,
        "субботу": 5,
        "воскресенье": 6,
        "воскресение": 6,
        # genitive after "до", dative after "к": "до пятницы", "к пятнице"
        "понедельника": 0,
        "вторника": 1,
        "среды": 2,
        "четверга": 3,
        "пятницы": 4,
        "субботы": 5,
        "воскресенья": 6,
        "понедельнику": 0,
        "вторнику": 1,
        "среде": 2,
        "четвергу": 3,
        "пятнице": 4,
        "субботе": 5,
        "воскресенью": 6,
    },
    weekday_abbreviations={"пн": 0, "вт": 1, "ср": 2, "чт": 3, "пт": 4, "сб": 5, "вс": 6},
    months={
        **dict.fromkeys(("января", "январь", "янв"), 1),
        **dict.fromkeys(("февраля", "февраль", "фев", "февр"), 2),
        **dict.fromkeys(("марта", "март", "мар"), 3),
        **dict.fromkeys(("апреля", "апрель", "апр"), 4),
        **dict.fromkeys(("мая", "май"), 5),
        **dict.fromkeys(("июня", "июнь", "июн"), 6),
        **dict.fromkeys(("июля", "июль", "июл"), 7),
        **dict.fromkeys(("августа", "август", "авг"), 8),
        **dict.fromkeys(("сентября", "сентябрь", "сен", "сент"), 9),
        **dict.fromkeys(("октября", "октябрь", "окт"), 10),
        **dict.fromkeys(("ноября", "ноябрь", "ноя", "нояб"), 11),
        **dict.fromkeys(("декабря", "декабрь", "дек"), 12),
    },
    year_suffixes=frozenset({"г", "года", "год"}),
    of_words=frozenset(),
    relative_preps=frozenset({"через", "спустя"}),
    units={
        **dict.fromkeys(("минута", "минуту", "минуты", "минут", "мин"), "minutes"),
        **dict.fromkeys(("час", "часа", "часов", "ч"), "hours"),
        **dict.fromkeys(("день", "дня", "дней", "сутки", "суток"), "days"),
        **dict.fromkeys(("неделя", "неделю", "недели", "недель"), "weeks"),
        **dict.fromkeys(("месяц", "месяца", "месяцев"), "months"),
    },
    numbers={
        "один": 1,
        "одну": 1,
        "одна": 1,
        "одно": 1,
        "два": 2,
        "две": 2,
        "три": 3,
        "четыре": 4,
        "пять": 5,
        "шесть": 6,
        "семь": 7,
        "восемь": 8,
        "девять": 9,
        "десять": 10,
        "пятнадцать": 15,
        "двадцать": 20,
        "тридцать": 30,
        "пол": 0.5,
        "полтора": 1.5,
        "полторы": 1.5,
    },
    connectors=frozenset({"и"}),
    half_words=frozenset(),
)

_EN = _Lang(
    day_offsets={"today": 0, "tomorrow": 1, "yesterday": -1},
    day_phrases={
        ("day", "after", "tomorrow"): (2, None),
        ("the", "day", "after", "tomorrow"): (2, None),
        ("by", "end", "of", "day"): (0, time(18)),
        ("by", "the", "end", "of", "day"): (0, time(18)),
        ("eod",): (0, time(18)),
        ("tonight",): (0, time(20)),
        ("this", "morning"): (0, time(9)),
        ("this", "afternoon"): (0, time(15)),
        ("this", "evening"): (0, time(18)),
    },
    parts_of_day={
        ("morning",): (time(9), False),
        ("in", "the", "morning"): (time(9), True),
        ("noon",): (time(12), True),
        ("at", "noon"): (time(12), True),
        ("midday",): (time(12), True),
        ("afternoon",): (time(15), False),
        ("in", "the", "afternoon"): (time(15), True),
        ("evening",): (time(18), False),
        ("in", "the", "evening"): (time(18), True),
    },
    clock_preps={
        ("at",): True,
        ("by",): False,
        ("around",): True,
        ("about",): True,
        ("before",): False,
    },
    hour_words=frozenset({"o'clock", "oclock"}),
    minute_words=frozenset(),
    meridiems={
        ("am",): "am",
        ("a.m",): "am",
        ("pm",): "pm",
        ("p.m",): "pm",
        ("in", "the", "morning"): "am",
        ("in", "the", "afternoon"): "pm",
        ("in", "the", "evening"): "pm",
        ("at", "night"): "night",
    },
    day_preps={"on": True, "by": True, "until": True, "till": True},
    weekday_mods={"next": True, "this": False, "coming": False},
    weekdays={
        "monday": 0,
        "tuesday": 1,
        "wednesday": 2,
        "thursday": 3,
        "friday": 4,
        "saturday": 5,
        "sunday": 6,
    },
    weekday_abbreviations={
        "mon": 0,
        "tue": 1,
        "tues": 1,
        "wed": 2,
        "thu": 3,
        "thur": 3,
        "thurs": 3,
        "fri": 4,
        "sat": 5,
        "sun": 6,
    },
    months={
        **dict.fromkeys(("january", "jan"), 1),
        **dict.fromkeys(("february", "feb"), 2),
        **dict.fromkeys(("march", "mar"), 3),
        **dict.fromkeys(("april", "apr"), 4),
        "may": 5,
        **dict.fromkeys(("june", "jun"), 6),
        **dict.fromkeys(("july", "jul"), 7),
        **dict.fromkeys(("august", "aug"), 8),
        **dict.fromkeys(("september", "sep", "sept"), 9),
        **dict.fromkeys(("october", "oct"), 10),
        **dict.fromkeys(("november", "nov"), 11),
        **dict.fromkeys(("december", "dec"), 12),
    },
    year_suffixes=frozenset(),
    of_words=frozenset({"of"}),
    relative_preps=frozenset({"in"}),
    units={
        **dict.fromkeys(("minute", "minutes", "min", "mins"), "minutes"),
        **dict.fromkeys(("hour", "hours", "hr", "hrs", "h"), "hours"),
        **dict.fromkeys(("day", "days"), "days"),
        **dict.fromkeys(("week", "weeks", "wk", "wks"), "weeks"),
        **dict.fromkeys(("month", "months"), "months"),
    },
    numbers={
        "a": 1,
        "an": 1,
        "one": 1,
        "two": 2,
        "three": 3,
        "four": 4,
        "five": 5,
        "six": 6,
        "seven": 7,
        "eight": 8,
        "nine": 9,
        "ten": 10,
        "fifteen": 15,
        "twenty": 20,
        "thirty": 30,
    },
    connectors=frozenset({"and"}),
    half_words=frozenset({"half"}),
)

_LANGS: dict[str, _Lang] = {"pl": _PL, "ru": _RU, "en": _EN}


def _languages(locale: str) -> tuple[str, ...]:
    """The user's language first, then the others: a Polish rep may still type "tomorrow"."""
    first = locale.lower()[:2]
    others = tuple(code for code in SUPPORTED_LOCALES if code != first)
    return (first, *others) if first in SUPPORTED_LOCALES else others


def _merged(tables: Iterable[dict[K, V]]) -> dict[K, V]:
    merged: dict[K, V] = {}
    for table in tables:
        for key, value in table.items():
            merged.setdefault(key, value)  # the earlier (preferred) language wins
    return merged


def _phrases(tables: Iterable[dict[Words, V]]) -> dict[Words, V]:
    # Longest first, so that "o godz 10" is not read as "o" followed by junk.
    return dict(sorted(_merged(tables).items(), key=lambda item: -len(item[0])))


def _union(sets: Iterable[frozenset[str]]) -> frozenset[str]:
    return frozenset().union(*sets)


@lru_cache(maxsize=8)
def _vocabulary(locale: str) -> _Lang:
    langs = [_LANGS[code] for code in _languages(locale)]
    return _Lang(
        day_offsets=_merged(lang.day_offsets for lang in langs),
        day_phrases=_phrases(lang.day_phrases for lang in langs),
        parts_of_day=_phrases(lang.parts_of_day for lang in langs),
        clock_preps=_phrases(lang.clock_preps for lang in langs),
        hour_words=_union(lang.hour_words for lang in langs),
        minute_words=_union(lang.minute_words for lang in langs),
        meridiems=_phrases(lang.meridiems for lang in langs),
        day_preps=_merged(lang.day_preps for lang in langs),
        weekday_mods=_merged(lang.weekday_mods for lang in langs),
        weekdays=_merged(lang.weekdays for lang in langs),
        weekday_abbreviations=_merged(lang.weekday_abbreviations for lang in langs),
        months=_merged(lang.months for lang in langs),
        year_suffixes=_union(lang.year_suffixes for lang in langs),
        of_words=_union(lang.of_words for lang in langs),
        relative_preps=_union(lang.relative_preps for lang in langs),
        units=_merged(lang.units for lang in langs),
        numbers=_merged(lang.numbers for lang in langs),
        connectors=_union(lang.connectors for lang in langs),
        half_words=_union(lang.half_words for lang in langs),
    )


# --- tokens -----------------------------------------------------------------------------

_FOLD = str.maketrans("ąćęłńóśźżё", "acelnoszz\u0435")  # ё -> Cyrillic е
_EDGE_PUNCTUATION = ",;:!?()[]{}\"'«»„”“…"
_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class _Token:
    norm: str
    start: int
    end: int


def _normalize(word: str) -> str:
    return word.lower().translate(_FOLD).strip(_EDGE_PUNCTUATION).rstrip(".")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in islice(_WORD.finditer(text), MAX_WORDS):
        if match.end() - match.start() > MAX_WORD_CHARS:
            break
        tokens.append(_Token(_normalize(match.group()), match.start(), match.end()))
    return tokens


# --- grammar ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Offset:
    """Calendar days/months from today in the user's zone ("jutro", "za 3 dni")."""

    days: int = 0
    months: int = 0


@dataclass(frozen=True, slots=True)
class _Weekday:
    index: int  # Monday = 0
    # "w przyszły piątek", "в следующую пятницу", "next friday": the one in next week
    # (weeks start on Monday), as opposed to "w piątek" / "this friday", the nearest one.
    next_week: bool


@dataclass(frozen=True, slots=True)
class _Date:
    year: int | None
    month: int
    day: int


_DaySpec = _Offset | _Weekday | _Date


@dataclass(slots=True)
class _Phrase:
    end: int = 0
    day: _DaySpec | None = None
    clock: time | None = None
    duration: timedelta | None = None
    weak_day: bool = False
    weak_clock: bool = False
    # The clock came from a part of day ("wieczorem", "tonight"): an hour may still refine it.
    part_of_day: bool = False


_HOUR_MINUTE = re.compile(r"(\d{1,2})[:.](\d{2})")
_HOUR = re.compile(r"\d{1,2}")
_ATTACHED_MERIDIEM = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?(am|pm|a\.m|p\.m)")
_DAY_MONTH = re.compile(r"(\d{1,2})\.(\d{1,2})")
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:t(\d{1,2}):(\d{2}))?")
_ORDINAL_DAY = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?")
_YEAR = re.compile(r"(\d{4})(?:r|г)?")
_AMOUNT = re.compile(r"\d{1,6}(?:[.,]\d{1,3})?")
_AMOUNT_WITH_UNIT = re.compile(r"(\d{1,6}(?:[.,]\d{1,3})?)([^\W\d_]+)")
_BARE_INTEGER = re.compile(r"\d+")
_DIGIT = re.compile(r"\d")


def _is_calendar_day(month: int, day: int) -> bool:
    # 2024 is a leap year: 29.02 is a valid day-month; the year is checked on resolution.
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(2024, month)[1]


def _with_meridiem(hour: int, kind: _Meridiem) -> int | None:
    if not 1 <= hour <= 12:
        return None
    if kind == "am":
        return 0 if hour == 12 else hour
    if kind == "pm":
        return hour if hour == 12 else hour + 12
    # "в 11 ночи" is 23:00, "в 2 ночи" is 02:00
    if hour == 12:
        return 0
    return hour + 12 if hour >= 6 else hour


def _clock(hour: int, minute: int) -> time | None:
    return time(hour, minute) if 0 <= hour <= 23 and 0 <= minute <= 59 else None


class _Reader:
    """Reads one deadline phrase from the start of the words, greedily and without guessing."""

    def __init__(
        self, tokens: Sequence[_Token], vocab: _Lang, this_year: int, years: range | None = None
    ) -> None:
        self.words = [token.norm for token in tokens]
        self.v = vocab
        # A deadline's year is near (so that "1 grudnia 1500 zł" keeps its amount); a date
        # field's (a birthday, a contract signed years ago) may be any `years` given.
        self.years = years if years is not None else range(this_year - 1, this_year + 11)

    def word(self, pos: int) -> str:
        return self.words[pos] if pos < len(self.words) else ""

    def lookup(self, pos: int, table: dict[Words, T]) -> tuple[T, int] | None:
        for words, value in table.items():
            if tuple(self.words[pos : pos + len(words)]) == words:
                return value, pos + len(words)
        return None

    # -- whole phrase --

    def read(self) -> _Phrase | None:
        phrase = _Phrase()
        pos = 0
        relative = self.relative(pos)
        if relative is not None:
            spec, pos = relative
            phrase.end = pos
            if isinstance(spec, timedelta):
                phrase.duration = spec
                return phrase  # "za 2 godziny" is complete; a time after it makes no sense
            phrase.day = spec
        while pos < len(self.words):
            day = self.day(pos) if phrase.day is None else None
            after_day = phrase.day is not None
            if day is not None and (day[1] is None or phrase.clock is None):
                phrase.day, clock, pos, phrase.weak_day = day
                if clock is not None:  # "2026-12-01T10:00", "tonight"
                    phrase.clock = clock
                    # "tonight" is a part of day, "2026-12-01T10:00" an exact time
                    phrase.part_of_day = not _DIGIT.search(self.word(pos - 1))
            elif phrase.clock is None and (found := self.clock(pos, after_day)) is not None:
                phrase.clock, pos, phrase.weak_clock, phrase.part_of_day = found
            elif (
                phrase.part_of_day
                and phrase.clock is not None
                and (exact := self.clock(pos, after_day=True, parts=False)) is not None
            ):
                # "jutro wieczorem o 7", "завтра днём в 2", "tonight at 9": the hour is meant
                # within that part of the day.
                clock, pos = exact[0], exact[1]
                if phrase.clock.hour >= 12 and clock.hour < 12:
                    clock = clock.replace(hour=clock.hour + 12)
                phrase.clock, phrase.weak_clock, phrase.part_of_day = clock, False, False
            else:
                break
            phrase.end = pos
        # An abbreviation alone ("pt", "sat") or a vague part of day alone ("rano") is more
        # likely the start of the subject than a deadline.
        if phrase.weak_day and phrase.clock is None:
            return None
        if phrase.weak_clock and phrase.day is None:
            return None
        if phrase.day is None and phrase.clock is None:
            return None
        return phrase

    # -- relative: "za 2 godziny", "через 3 дня", "in 1 hour and 30 minutes" --

    def relative(self, pos: int) -> tuple[timedelta | _Offset, int] | None:
        if self.word(pos) not in self.v.relative_preps:
            return None
        pos += 1
        amounts: dict[_Unit, float] = {}
        while True:
            found = self.amount(pos)
            if found is None or found[0] in amounts:
                break
            unit, value, pos = found
            if value <= 0:
                return None
            amounts[unit] = value
            if self.word(pos) in self.v.connectors and self.amount(pos + 1) is not None:
                pos += 1
        if not amounts:
            return None
        sub_day = {unit: value for unit, value in amounts.items() if unit in ("minutes", "hours")}
        days = amounts.get("days", 0) + 7 * amounts.get("weeks", 0)
        months = amounts.get("months", 0)
        if sub_day:
            if months:
                return None
            delta = timedelta(
                days=days, hours=sub_day.get("hours", 0), minutes=sub_day.get("minutes", 0)
            )
            if delta > timedelta(days=MAX_RELATIVE_DAYS):
                return None
            # Whole minutes ("za 0,333 godziny" is 20 minutes); under a minute is no deadline.
            minutes = round(delta.total_seconds() / 60)
            if minutes < 1:
                return None
            return timedelta(minutes=minutes), pos
        if days != int(days) or months != int(months):
            return None  # "za pół dnia" has no clear calendar meaning
        if days + 31 * months > MAX_RELATIVE_DAYS:
            return None
        return _Offset(days=int(days), months=int(months)), pos

    def amount(self, pos: int) -> tuple[_Unit, float, int] | None:
        word = self.word(pos)
        if match := _AMOUNT_WITH_UNIT.fullmatch(word):  # "2h", "30min", "2ч"
            unit = self.v.units.get(match[2])
            return (unit, float(match[1].replace(",", ".")), pos + 1) if unit else None
        if word.startswith("пол") and word[3:] in self.v.units:  # "полчаса"
            return self.v.units[word[3:]], 0.5, pos + 1
        if word in self.v.half_words:  # "half an hour"
            nxt = pos + 1 + (self.word(pos + 1) in ("a", "an"))
            unit = self.v.units.get(self.word(nxt))
            return (unit, 0.5, nxt + 1) if unit else None
        if _AMOUNT.fullmatch(word):
            value: float | None = float(word.replace(",", "."))
        else:
            value = self.v.numbers.get(word)
        if value is not None:
            unit = self.v.units.get(self.word(pos + 1))
            return (unit, value, pos + 2) if unit else None
        if word in self.v.units:  # "za godzinę", "через час": one of the unit
            return self.v.units[word], 1, pos + 1
        return None

    # -- days: "jutro", "w piątek", "next monday", "25.12", "1 grudnia 2026" --

    def day(self, pos: int) -> tuple[_DaySpec, time | None, int, bool] | None:
        if (phrase := self.lookup(pos, self.v.day_phrases)) is not None:
            (offset, clock), end = phrase
            return _Offset(days=offset), clock, end, False
        prep = self.v.day_preps.get(self.word(pos))
        if prep is not None:
            pos += 1
        modifier = self.v.weekday_mods.get(self.word(pos))
        if modifier is not None:
            pos += 1
        word = self.word(pos)
        if word in self.v.weekdays:
            return _Weekday(self.v.weekdays[word], bool(modifier)), None, pos + 1, False
        if word in self.v.weekday_abbreviations:
            weak = prep is None and modifier is None
            index = self.v.weekday_abbreviations[word]
            return _Weekday(index, bool(modifier)), None, pos + 1, weak
        if modifier is not None or prep is False:
            return None  # "next week" is the fallback's; "w"/"в" only precede weekdays
        if word in self.v.day_offsets:
            return _Offset(days=self.v.day_offsets[word]), None, pos + 1, False
        found = self.date(pos)
        return None if found is None else (*found, False)

    def date(self, pos: int) -> tuple[_Date, time | None, int] | None:
        word = self.word(pos)
        year: int | None  # a written date has one; "1 grudnia" alone may not
        if match := _ISO.fullmatch(word):
            year, month, day = int(match[1]), int(match[2]), int(match[3])
            if year not in self.years or not _is_calendar_day(month, day):
                return None
            clock = _clock(int(match[4]), int(match[5])) if match[4] else None
            if match[4] and clock is None:
                return None
            return _Date(year, month, day), clock, pos + 1
        if match := _DAY_MONTH_YEAR.fullmatch(word):
            day, month, year = int(match[1]), int(match[2]), int(match[3])
            year += 2000 if year < 100 else 0
            if year not in self.years or not _is_calendar_day(month, day):
                return None
            return _Date(year, month, day), None, self.year_suffix(pos + 1)
        if match := _DAY_MONTH.fullmatch(word):
            # "10.12" is a date, "15.30" (no 30th month) a time: the reader tries dates first.
            day, month = int(match[1]), int(match[2])
            if not _is_calendar_day(month, day):
                return None
            return _Date(None, month, day), None, pos + 1
        if word in self.v.months:  # "December 1", "Dec 1st, 2026"
            match = _ORDINAL_DAY.fullmatch(self.word(pos + 1))
            month = self.v.months[word]
            if match is None or not _is_calendar_day(month, int(match[1])):
                return None
            year, end = self.year(pos + 2)
            return _Date(year, month, int(match[1])), None, end
        if match := _ORDINAL_DAY.fullmatch(word):  # "1 grudnia", "1st of December"
            nxt = pos + 1 + (self.word(pos + 1) in self.v.of_words)
            month_word = self.word(nxt)
            if month_word not in self.v.months:
                return None
            month = self.v.months[month_word]
            if not _is_calendar_day(month, int(match[1])):
                return None
            year, end = self.year(nxt + 1)
            return _Date(year, month, int(match[1])), None, end
        return None

    def year(self, pos: int) -> tuple[int | None, int]:
        match = _YEAR.fullmatch(self.word(pos))
        if match is None or int(match[1]) not in self.years:
            return None, pos  # "1 grudnia 1500 zł": the number belongs to the subject
        return int(match[1]), self.year_suffix(pos + 1)

    def year_suffix(self, pos: int) -> int:
        return pos + 1 if self.word(pos) in self.v.year_suffixes else pos

    # -- clock: "10:00", "o 15", "в 3 часа дня", "at 3pm", "15.30", "jutro rano" --

    def clock(
        self, pos: int, after_day: bool = False, *, parts: bool = True
    ) -> tuple[time, int, bool, bool] | None:
        """(clock, end, weak, from a part of day)."""
        if parts and (part := self.lookup(pos, self.v.parts_of_day)) is not None:
            (clock, strong), end = part
            return clock, end, not strong, True
        bare_hour_ok = False
        if (prep := self.lookup(pos, self.v.clock_preps)) is not None:
            bare_hour_ok, pos = prep
        found = self.hour_minute(pos, bare_hour_ok=bare_hour_ok, after_day=after_day)
        if found is None:
            return None
        return found[0], found[1], False, False

    def bare_hour(self, hour: int, pos: int, *, after_day: bool) -> bool:
        """Is a bare number ("jutro 12", "12 jutro") an hour rather than a count?

        Right after a day a number from 6 to 23 is the hour ("jutro 12 zadzwonić", "в четверг
        14"), and so is any hour ending the text ("jutro 3"); a small number before more
        words is a count ("jutro 2 oferty"). Before a day ("12 jutro") it is the hour.
        """
        if after_day:
            return 6 <= hour <= 23 or pos >= len(self.words)
        return 0 <= hour <= 23 and pos < len(self.words) and self.day(pos) is not None

    def hour_minute(
        self, pos: int, *, bare_hour_ok: bool, after_day: bool = False
    ) -> tuple[time, int] | None:
        word = self.word(pos)
        if match := _ATTACHED_MERIDIEM.fullmatch(word):  # "3pm", "10:30am"
            hour = _with_meridiem(int(match[1]), "pm" if match[3][0] == "p" else "am")
            clock = _clock(hour, int(match[2] or 0)) if hour is not None else None
            return (clock, pos + 1) if clock is not None else None
        explicit = True  # a bare "15" is a time only after "o"/"в"/"at" or before "rano"/"pm"
        if match := _HOUR_MINUTE.fullmatch(word):
            hour, minute = int(match[1]), int(match[2])
            pos += 1
        elif _HOUR.fullmatch(word):
            hour, minute = int(word), 0
            pos += 1
            explicit = bare_hour_ok or self.bare_hour(hour, pos, after_day=after_day)
            if self.word(pos) in self.v.hour_words:  # "в 10 часов", "10 o'clock"
                explicit = True
                pos += 1
                if _HOUR.fullmatch(self.word(pos)) and self.word(pos + 1) in self.v.minute_words:
                    minute = int(self.word(pos))  # "в 10 часов 30 минут"
                    pos += 2
        else:
            return None
        if (meridiem := self.lookup(pos, self.v.meridiems)) is not None:
            kind, after = meridiem
            with_meridiem = _with_meridiem(hour, kind)
            if with_meridiem is not None:
                hour, pos, explicit = with_meridiem, after, True
        if not explicit:
            return None
        clock = _clock(hour, minute)
        return (clock, pos) if clock is not None else None


# --- resolution -------------------------------------------------------------------------


def _instant(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time in `zone`.

    fold=0 (what `combine` gives) means: in the autumn hour that happens twice, the first
    one (summer time); in the spring gap, the offset from before the gap, so a nonexistent
    02:30 lands on 03:30 summer time, as the clock on the wall would show.
    """
    return datetime.combine(day, clock.replace(tzinfo=None), tzinfo=zone).astimezone(UTC)


def _minute(moment: datetime) -> datetime:
    """A relative deadline on the minute: "za 2 godziny" at 10:17:43 is 12:17."""
    return moment.replace(second=0, microsecond=0)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _calendar_date(spec: _Date, today: date) -> date | None:
    if spec.year is not None:
        try:
            return date(spec.year, spec.month, spec.day)
        except ValueError:
            return None  # 29.02.2027
    # Without a year the next such date, today included; 29.02 waits for a leap year.
    for year in range(today.year, today.year + 9):
        try:
            candidate = date(year, spec.month, spec.day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _resolve(
    phrase: _Phrase, now: datetime, zone: ZoneInfo, default_time: time
) -> tuple[datetime, bool] | None:
    if phrase.duration is not None:
        return _minute(now + phrase.duration), False
    today = now.astimezone(zone).date()
    clock = phrase.clock if phrase.clock is not None else default_time
    all_day = phrase.clock is None
    spec = phrase.day
    if spec is None:
        # A bare time means the next time the clock shows it.
        at = _instant(today, clock, zone)
        if at <= now:
            at = _instant(today + timedelta(days=1), clock, zone)
        return at, all_day
    if isinstance(spec, _Offset):
        target: date | None = _add_months(today, spec.months) + timedelta(days=spec.days)
    elif isinstance(spec, _Weekday) and spec.next_week:
        target = today + timedelta(days=7 - today.weekday() + spec.index)
    elif isinstance(spec, _Weekday):
        ahead = (spec.index - today.weekday()) % 7
        if ahead == 0 and (phrase.clock is None or _instant(today, clock, zone) <= now):
            ahead = 7  # "w piątek" said on a Friday means today only with a time still ahead
        target = today + timedelta(days=ahead)
    else:
        target = _calendar_date(spec, today)
    if target is None:
        return None
    # Explicit days are kept even when already past ("dziś 10:00" at 14:00): the caller
    # echoes the deadline back and may refuse it; guessing another day would be worse.
    return _instant(target, clock, zone), all_day


# --- dateparser fallback ----------------------------------------------------------------


def _fallback(
    text: str,
    tokens: Sequence[_Token],
    lengths: Iterable[int],
    *,
    now: datetime,
    zone: ZoneInfo,
    languages: Sequence[str],
    default_time: time,
) -> tuple[datetime, bool, int] | None:
    # Imported here: loading dateparser and its first parse take a noticeable fraction of a
    # second, and most deadlines never get this far.
    from dateparser.date import DateDataParser

    base = now.astimezone(zone).replace(tzinfo=None, microsecond=_BASE_MICROSECOND)
    # A parser binds RELATIVE_BASE, so one is built per call; that is cheap, the costly
    # language data is cached inside dateparser. Zones are handled here, not by dateparser:
    # naive in (the user's wall clock), naive out; TIMEZONE="UTC" keeps dateparser from
    # consulting the server's zone and from doing DST arithmetic of its own (given the
    # user's zone it shifts "next week" by the DST hour). RETURN_AS_TIMEZONE_AWARE stays at
    # its default: aware only when the text names a zone ("10:00 UTC"), which is then exact.
    parser = DateDataParser(
        languages=list(languages),
        use_given_order=True,
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": base,
            "TIMEZONE": "UTC",
        },
    )
    for length in lengths:
        words = tokens[:length]
        # Numbers are the grammar's: dateparser reads "2 oferty"-like starts as the 2nd of
        # the month, "15 15" as the year 2115, and a long number as a Unix timestamp.
        if any(_BARE_INTEGER.fullmatch(token.norm) for token in words):
            continue
        if not any(len(token.norm) >= 4 or _DIGIT.search(token.norm) for token in words):
            continue  # dateparser reads "a a" as 1 January and "sat on" as Saturday
        snippet = text[words[0].start : words[-1].end]
        try:
            data = parser.get_date_data(snippet)
        except Exception:  # a dateparser bug must not stop a rep from logging an activity
            continue
        found = data.date_obj
        if found is None or data.period not in ("day", "week"):
            continue  # "March", "next year": too vague to be a deadline
        # `parts` (dateparser 1.3+) says whether the text gave a time; older releases put
        # midnight or the base's time into date-only results.
        parts = getattr(data, "parts", None)
        if parts is not None:
            has_time = "time" in parts
        else:
            has_time = found.time() not in (time(0), base.time())
        if found.tzinfo is not None:
            at, all_day = found.astimezone(UTC), False
        elif found == base:
            continue  # "now", "teraz"
        elif not has_time:
            at, all_day = _instant(found.date(), default_time, zone), True  # "next week"
        elif found.microsecond == _BASE_MICROSECOND:
            at, all_day = _minute(now + (found - base)), False  # a duration, like the grammar
        else:
            at, all_day = _instant(found.date(), found.time(), zone), False
        if not now < at < now + timedelta(days=MAX_RELATIVE_DAYS):
            continue  # dateparser's past readings ("вчера", issue 706) are never deadlines
        return at, all_day, length
    return None


# --- API --------------------------------------------------------------------------------

# What may stand between the deadline and the subject ("jutro 10:00 - zadzwonić").
SEPARATORS = " \t\r\n,;:-–—"


def _parse(
    text: str,
    *,
    now: datetime,
    timezone: str,
    locale: str,
    default_time: time,
    whole: bool,
    years: range | None = None,
) -> tuple[datetime, bool, list[_Token], int] | None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(timezone)
    now = now.astimezone(UTC)
    tokens = _tokenize(text)
    if not tokens:
        return None
    if whole and (len(tokens) == MAX_WORDS or tokens[-1].end < len(text.rstrip())):
        return None  # more words than any date has, or a blob the tokenizer stopped at
    phrase = _Reader(tokens, _vocabulary(locale), now.astimezone(zone).year, years).read()
    if phrase is not None and (not whole or phrase.end == len(tokens)):
        resolved = _resolve(phrase, now, zone, default_time)
        if resolved is None:
            return None
        return resolved[0], resolved[1], tokens, phrase.end
    if whole:
        lengths: Iterable[int] = [len(tokens)] if len(tokens) <= MAX_FALLBACK_WORDS else []
    else:
        lengths = range(min(len(tokens), MAX_FALLBACK_WORDS), 0, -1)
    found = _fallback(
        text,
        tokens,
        lengths,
        now=now,
        zone=zone,
        languages=_languages(locale),
        default_time=default_time,
    )
    if found is None:
        return None
    return found[0], found[1], tokens, found[2]


def parse_deadline(
    text: str,
    *,
    now: datetime,
    timezone: str,
    locale: str,
    default_time: time = time(9, 0),
) -> Deadline | None:
    """Split "jutro 10:00 zadzwonić do Jana" into a deadline and the subject.

    `now` is aware; `timezone` is the user's IANA zone; `locale` ("pl", "ru", "en") is the
    language tried first. Returns None when the text does not start with a date or time.
    A bare time already past today means tomorrow; a weekday the next such day (today only
    with a time still ahead), with "next"/"w przyszły"/"в следующую" the one in next week;
    a day-month without a year the next such date. Minutes and hours are exact durations,
    days and weeks calendar days. Explicit days are kept even if past ("dziś 10:00" at
    14:00, "wczoraj"): the caller checks `past_deadline` and asks or refuses.
    """
    found = _parse(
        text,
        now=now,
        timezone=timezone,
        locale=locale,
        default_time=default_time,
        whole=False,
    )
    if found is None:
        return None
    at, all_day, tokens, length = found
    end = tokens[length - 1].end
    matched = text[tokens[0].start : end].rstrip(SEPARATORS)
    rest = text[end:].lstrip(SEPARATORS).strip()
    return Deadline(at=at, matched=matched, rest=rest, all_day=all_day)


def parse_when(
    text: str,
    *,
    now: datetime,
    timezone: str,
    locale: str,
    default_time: time = time(9, 0),
    years: range | None = None,
) -> datetime | None:
    """Read the whole text as a date/time (e.g. a reply to "when?"); None if any is left.
    `years`: the years a written year may be (default: last year to ten years ahead)."""
    found = _parse(
        text,
        now=now,
        timezone=timezone,
        locale=locale,
        default_time=default_time,
        whole=True,
        years=years,
    )
    return None if found is None else found[0]


@dataclass(frozen=True, slots=True)
class PastDeadline:
    """A deadline that has already passed when it was typed.

    `tomorrow` is the same wall-clock time on the next day when the deadline was earlier
    today ("dziś o 18" sent at 20:30: tomorrow 18:00 was probably meant); None when it was
    an earlier day ("wczoraj 10:00"), which no guess can repair.
    """

    at: datetime
    tomorrow: datetime | None


def past_deadline(at: datetime, *, now: datetime, timezone: str) -> PastDeadline | None:
    """None if `at` is still ahead of `now`; else what the user may have meant instead."""
    if at > now:
        return None
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    if local.date() != now.astimezone(zone).date():
        return PastDeadline(at=at, tomorrow=None)
    tomorrow = _instant(local.date() + timedelta(days=1), local.time(), zone)
    return PastDeadline(at=at, tomorrow=tomorrow if tomorrow > now else None)
