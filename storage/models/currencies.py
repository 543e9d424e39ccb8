"""Currencies other than the base one, with their rates by date (Bitrix24: "Currencies")."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from storage.base import Base


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal kept as its text: exact on every backend (SQLite has no decimal type)."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else format(value, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


class CurrencyRate(Base):
    """`rate` units of the base currency buy one unit of `currency`, from `valid_from` (a date
    in the CRM's time zone) until the next rate of that currency.

    `valid_from_at` is that date's first moment (UTC), so that the rate of a moment is one
    index probe in SQL as in Python.
    """

    __tablename__ = "currency_rates"
    __table_args__ = (
        UniqueConstraint("currency", "valid_from"),
        Index("ix_currency_rates_valid_from_at", "valid_from_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    valid_from: Mapped[date]
    valid_from_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
