"""Currencies (Bitrix24: one base currency, others with rates, a currency for reports).

A rate says how many units of the base currency one unit of a currency costs, from a date on
(a day in the CRM's time zone, DEFAULT_TIMEZONE) until the next rate of that currency. An
amount is converted at the rates of *its moment*: to the report currency R from currency C at
moment t, `amount × rate(C, t) / rate(R, t)`; the base currency's rate is always 1. A currency
with no rate on or before the moment cannot be converted: reports count such deals apart and
say so, they never guess a rate.
"""

from __future__ import annotations

import bisect
import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel.numbers import list_currencies

from crm.enums import Right
from crm.errors import BadRow, InvalidValue
from crm.periods import start_of_day
from crm.permissions import Actor
from storage.models import CurrencyRate
from storage.repositories import Repos

if TYPE_CHECKING:
    from crm.context import Runtime

REPORT_CURRENCY = "report_currency"  # crm_settings key
MAX_RATE = Decimal("1000000000")
CENT = Decimal("0.01")
MAX_IMPORT_ROWS = 100_000
_CODES = frozenset(list_currencies())


def currency_code(text: str) -> str:
    """An ISO 4217 code Babel knows (`usd` → `USD`), else InvalidValue."""
    code = text.strip().upper()
    if code not in _CODES:
        raise InvalidValue("currency", text.strip()[:10])
    return code


def read_rate(text: str) -> Decimal:
    """`4.02` or `4,02`: a positive rate, at most a billion."""
    try:
        rate = Decimal(text.strip().replace(",", ".").replace("\u00a0", "").replace(" ", ""))
    except InvalidOperation:
        raise InvalidValue("rate", text.strip()[:20]) from None
    if not rate.is_finite() or rate <= 0 or rate > MAX_RATE:
        raise InvalidValue("rate", text.strip()[:20])
    return rate


def read_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidValue("date", text.strip()[:20]) from None


@dataclass(frozen=True, slots=True)
class Rates:
    """Every rate, by currency, in the order they became valid."""

    base: str
    history: Mapping[str, Sequence[tuple[datetime, Decimal]]]

    def rate(self, currency: str | None, moment: datetime | None) -> Decimal | None:
        """Base units per unit of `currency` at `moment`; None if it had no rate yet."""
        if currency is None or currency == self.base:
            return Decimal(1)
        entries = self.history.get(currency)
        if not entries or moment is None:
            return None
        index = bisect.bisect_right([at for at, _ in entries], moment) - 1
        return entries[index][1] if index >= 0 else None

    def convert(
        self, minor: int, currency: str | None, moment: datetime | None, target: str
    ) -> Decimal | None:
        """`minor` hundredths of `currency` in `target`, unrounded; None without a rate."""
        source_rate = self.rate(currency, moment)
        target_rate = self.rate(target, moment)
        if source_rate is None or target_rate is None:
            return None
        return Decimal(minor) / 100 * source_rate / target_rate


def round_money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class CurrencyOverview:
    base: str
    report: str
    latest: Sequence[CurrencyRate]  # the newest rate of each currency


class CurrencyService:
    def __init__(self, repos: Repos, runtime: Runtime) -> None:
        self.repos = repos
        self.runtime = runtime

    @property
    def base(self) -> str:
        return self.runtime.config.base_currency

    async def report_currency(self) -> str:
        return await self.repos.pipelines.setting(REPORT_CURRENCY) or self.base

    async def rates(self) -> Rates:
        history: dict[str, list[tuple[datetime, Decimal]]] = {}
        for row in await self.repos.currencies.all():
            history.setdefault(row.currency, []).append((row.valid_from_at, row.rate))
        for entries in history.values():
            entries.sort()
        return Rates(self.base, history)

    async def overview(self) -> CurrencyOverview:
        latest: dict[str, CurrencyRate] = {}
        for row in await self.repos.currencies.all():  # ordered by date within a currency
            latest[row.currency] = row
        return CurrencyOverview(self.base, await self.report_currency(), list(latest.values()))

    def today(self) -> date:
        zone = ZoneInfo(self.runtime.config.default_timezone)
        return self.runtime.clock.now().astimezone(zone).date()

    async def add_rate(
        self,
        actor: Actor | None,
        currency: str,
        rate: Decimal,
        valid_from: date | None = None,
    ) -> CurrencyRate:
        """Set the rate of `currency` from `valid_from` (today by default); the rate of the
        same day is replaced. `actor` None: the command line, which holds the database."""
        if actor is not None:
            self.runtime.policy.require_right(actor, Right.SETTINGS)
        row = await self._put(actor, currency_code(currency), rate, valid_from or self.today())
        await self.repos.commit()
        return row

    async def _put(
        self, actor: Actor | None, code: str, rate: Decimal, valid_from: date
    ) -> CurrencyRate:
        if code == self.base:
            raise InvalidValue("currency", code)  # the base currency's rate is 1 by definition
        if not rate.is_finite() or rate <= 0 or rate > MAX_RATE:
            raise InvalidValue("rate", str(rate))
        existing = await self.repos.currencies.on(code, valid_from)
        if existing is not None:
            existing.rate = rate
            return existing
        return await self.repos.currencies.add(
            CurrencyRate(
                currency=code,
                rate=rate,
                valid_from=valid_from,
                valid_from_at=start_of_day(valid_from, self.runtime.config.default_timezone),
                created_by_id=actor.user_id if actor else None,
            )
        )

    async def import_csv(self, actor: Actor | None, text: str) -> int:
        """Rates from CSV lines `currency,rate,date` (a header line is optional; `;` works as
        a separator too). All or nothing: a bad line raises BadRow with its number."""
        if actor is not None:
            self.runtime.policy.require_right(actor, Right.SETTINGS)
        sample = text[:2048]
        delimiter = ";" if sample.count(";") > sample.count(",") else ","
        rows: list[tuple[str, Decimal, date]] = []
        for number, fields in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), 1):
            if not any(f.strip() for f in fields):
                continue
            if number == 1 and fields[0].strip().casefold() in ("currency", "waluta", "валюта"):
                continue
            if len(fields) < 2:
                raise BadRow(number, "columns", delimiter.join(fields)[:40])
            try:
                code = currency_code(fields[0])
                rate = read_rate(fields[1])
                day = read_date(fields[2]) if len(fields) > 2 and fields[2].strip() else None
            except InvalidValue as exc:
                raise BadRow(number, exc.field, exc.value) from None
            if code == self.base:
                raise BadRow(number, "currency", code)
            rows.append((code, rate, day or self.today()))
            if len(rows) > MAX_IMPORT_ROWS:
                raise BadRow(number, "rows", str(MAX_IMPORT_ROWS))
        if not rows:
            raise BadRow(0, "rows", "")
        for code, rate, day in rows:
            await self._put(actor, code, rate, day)
        await self.repos.commit()
        return len(rows)

    async def set_report_currency(self, actor: Actor | None, currency: str) -> str:
        """The currency reports are given in: the base one, or one that has a rate."""
        if actor is not None:
            self.runtime.policy.require_right(actor, Right.SETTINGS)
        code = currency_code(currency)
        if code != self.base and code not in (await self.rates()).history:
            raise InvalidValue("currency", code)
        await self.repos.pipelines.set_setting(REPORT_CURRENCY, code)
        await self.repos.commit()
        return code
