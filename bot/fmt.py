"""Dates, numbers and money in the current user's language, through Babel."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n
from babel import Locale
from babel.dates import format_datetime, format_skeleton
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
