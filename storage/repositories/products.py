from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DealProduct, ElementLink, Product


class ProductRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, product_id: int) -> Product | None:
        return await self.session.get(Product, product_id)

    async def by_key(self, name_key: str) -> Product | None:
        return await self.session.scalar(select(Product).where(Product.name_key == name_key))

    async def by_keys(self, keys: Sequence[str]) -> dict[str, Product]:
        if not keys:
            return {}
        rows = await self.session.scalars(select(Product).where(Product.name_key.in_(keys)))
        return {p.name_key: p for p in rows}

    async def page(self, offset: int, limit: int) -> tuple[Sequence[Product], int]:
        total = await self.session.scalar(select(func.count()).select_from(Product)) or 0
        rows = await self.session.scalars(
            select(Product).order_by(Product.name_key).offset(offset).limit(limit)
        )
        return rows.all(), total

    async def add(self, product: Product) -> Product:
        self.session.add(product)
        await self.session.flush()
        return product

    # --- rows on deals ----------------------------------------------------------------------
    async def rows(self, deal_id: int) -> Sequence[DealProduct]:
        query = select(DealProduct).where(DealProduct.deal_id == deal_id).order_by(DealProduct.id)
        return (await self.session.scalars(query)).all()

    async def row(self, row_id: int) -> DealProduct | None:
        return await self.session.get(DealProduct, row_id)

    async def add_row(self, row: DealProduct) -> DealProduct:
        self.session.add(row)
        await self.session.flush()
        return row

    async def delete_row(self, row: DealProduct) -> None:
        await self.session.delete(row)
        await self.session.flush()

    # --- links between elements ---------------------------------------------------------------
    async def add_link(self, link: ElementLink) -> None:
        self.session.add(link)
        await self.session.flush()

    async def links_of(self, entity: str, element_id: int) -> Sequence[ElementLink]:
        query = (
            select(ElementLink)
            .where(
                or_(
                    (ElementLink.source_entity == entity) & (ElementLink.source_id == element_id),
                    (ElementLink.target_entity == entity) & (ElementLink.target_id == element_id),
                )
            )
            .order_by(ElementLink.id)
            .limit(50)
        )
        return (await self.session.scalars(query)).all()
