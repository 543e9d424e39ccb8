from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CurrencyRate


class CurrencyRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> Sequence[CurrencyRate]:
        query = select(CurrencyRate).order_by(CurrencyRate.currency, CurrencyRate.valid_from)
        return (await self.session.scalars(query)).all()

    async def on(self, currency: str, valid_from: date) -> CurrencyRate | None:
        query = select(CurrencyRate).where(
            CurrencyRate.currency == currency, CurrencyRate.valid_from == valid_from
        )
        return await self.session.scalar(query)

    async def add(self, rate: CurrencyRate) -> CurrencyRate:
        self.session.add(rate)
        await self.session.flush()
        return rate
