"""What a card shows of a custom field's value can be typed back: the number, date, amount
and yes/no as the bot writes them in Polish and Russian (non-breaking spaces, decimal commas,
abbreviated months, currency signs) read back to the same stored value, and no text at all
makes a field's reader fail other than with InvalidValue (a clear reply, nothing saved)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.fields import plain_value
from bot.i18n import create_i18n
from crm.enums import EntityType, FieldKind
from crm.errors import InvalidValue
from crm.field_book import FieldInfo, Reading, read_value

LOCALES = Path(__file__).resolve().parent.parent / "locales"
I18N = create_i18n(LOCALES, "pl")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
LANGS = ("pl", "ru")


def field(kind: FieldKind, options: tuple[str, ...] = ()) -> FieldInfo:
    return FieldInfo(1, EntityType.DEAL, "UF_CRM_1", "Pole", kind, False, False, None, 0, options)


def shown_then_read(lang: str, kind: FieldKind, stored: object) -> object:
    reading = Reading(lang, "Europe/Warsaw", "PLN", NOW)
    with I18N.context(), I18N.use_locale(lang):
        return read_value(field(kind), plain_value(kind, stored), reading)


numbers = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=3, allow_nan=False
).map(lambda d: d.normalize())


@pytest.mark.parametrize("lang", LANGS)
@settings(max_examples=150, deadline=None)
@given(number=numbers)
def test_a_shown_number_reads_back(lang: str, number: Decimal) -> None:
    stored = format(number, "f")
    back = shown_then_read(lang, FieldKind.NUMBER, stored)
    assert isinstance(back, str) and "E" not in back.upper()
    assert Decimal(back) == number


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("typed", ["1000000", "1 000 000", "2500", "100"])
def test_a_round_number_is_stored_without_an_exponent(lang: str, typed: str) -> None:
    reading = Reading(lang, "Europe/Warsaw", "PLN", NOW)
    stored = read_value(field(FieldKind.NUMBER), typed, reading)
    assert stored == typed.replace(" ", "")  # what /find and the CSV export meet


@pytest.mark.parametrize("lang", LANGS)
@settings(max_examples=80, deadline=None)
@given(day=st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)))
def test_a_shown_date_reads_back(lang: str, day: date) -> None:
    assert shown_then_read(lang, FieldKind.DATE, day.isoformat()) == day.isoformat()


@pytest.mark.parametrize("lang", LANGS)
@settings(max_examples=100, deadline=None)
@given(
    amount=st.decimals(min_value=0, max_value=Decimal("1e9"), places=2, allow_nan=False),
    currency=st.sampled_from(["PLN", "EUR", "USD", "RUB", "UAH", "GBP"]),
)
def test_a_shown_amount_reads_back_in_its_currency(
    lang: str, amount: Decimal, currency: str
) -> None:
    stored = {"amount": str(amount), "currency": currency}
    back = shown_then_read(lang, FieldKind.MONEY, stored)
    assert isinstance(back, dict)
    assert (Decimal(back["amount"]), back["currency"]) == (amount, currency)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("value", [True, False])
def test_a_shown_yes_or_no_reads_back(lang: str, value: bool) -> None:
    assert shown_then_read(lang, FieldKind.BOOL, value) is value


@pytest.mark.parametrize("kind", list(FieldKind))
@settings(max_examples=120, deadline=None)
@given(text=st.text(max_size=40))
def test_any_text_is_read_or_refused_as_invalid(kind: FieldKind, text: str) -> None:
    info = field(kind, ("kurier", "odbiór osobisty") if kind is FieldKind.LIST else ())
    for lang in LANGS:
        try:
            read_value(info, text, Reading(lang, "Europe/Warsaw", "PLN", NOW))
        except InvalidValue:
            pass
