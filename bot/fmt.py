"""Dates, numbers and money in the current user's language, through Babel.

Deadlines have one style per language, `fmt_when` (weekday, date, time without seconds, in
the locale's order), used by every card, list, reminder and answer; where the zone is shown
it is the reader's own city in their language ("Warszawa", "Москва") or a UTC offset, never
an IANA name.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n
from babel import Locale
from babel.dates import format_datetime, format_skeleton, get_timezone_location
from babel.numbers import format_currency, format_decimal


def current_locale() -> str:
    i18n = I18n.get_current(no_error=True)
    return i18n.current_locale if i18n is not None else "en"


def fmt_datetime(moment: datetime, timezone: str, fmt: str = "medium") -> str:
    return format_datetime(moment, format=fmt, tzinfo=ZoneInfo(timezone), locale=current_locale())


def fmt_number(value: int | float | Decimal) -> str:
    return format_decimal(value, locale=current_locale())


def fmt_money(amount: Decimal | int | float, currency: str) -> str:
    return format_currency(amount, currency, locale=current_locale())


def fmt_when(moment: datetime, timezone: str) -> str:
    """Weekday, date and time without seconds, in the locale's order: `wt., 24 lis 2026, 10:00`."""
    zone = ZoneInfo(timezone)
    locale = Locale.parse(current_locale())
    day = format_skeleton("yMMMEd", moment, tzinfo=zone, locale=locale)
    clock = format_skeleton("Hm", moment, tzinfo=zone, locale=locale)
    return str(locale.datetime_formats["medium"]).replace("{1}", day).replace("{0}", clock)


def fmt_date(moment: datetime, timezone: str) -> str:
    """The day alone, `24 lis 2026`."""
    return format_skeleton("yMMMd", moment, tzinfo=ZoneInfo(timezone), locale=current_locale())


def fmt_day(day: date) -> str:
    """A calendar day, `1 gru 2026`."""
    return format_skeleton("yMMMd", day, locale=current_locale())


def fmt_time(moment: datetime, timezone: str) -> str:
    """The wall-clock time alone, `18:00`."""
    return format_skeleton("Hm", moment, tzinfo=ZoneInfo(timezone), locale=current_locale())


def fmt_zone(timezone: str, moment: datetime) -> str:
    """The zone as its reader knows it: a city in their language, else the UTC offset.

    `Europe/Warsaw` is "Warszawa" to a Polish reader and "Варшава" to a Russian one;
    `UTC`, `Etc/GMT-3` and other zones without a city are "UTC", "UTC+3" at `moment`.
    """
    area, _slash, city = timezone.partition("/")
    if city and area not in ("Etc", "SystemV"):
        try:
            return get_timezone_location(timezone, locale=current_locale(), return_city=True)
        except (LookupError, ValueError):
            pass
    offset = moment.astimezone(ZoneInfo(timezone)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def fmt_deadline(moment: datetime, timezone: str) -> str:
    """A deadline with its zone: `śr., 25 lis 2026, 10:00 (Warszawa)`."""
    return f"{fmt_when(moment, timezone)} ({fmt_zone(timezone, moment)})"
