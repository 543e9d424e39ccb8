"""The product catalog (Bitrix24: "Products"), product rows on deals, and links between elements.

Prices are integer minor units (hundredths) with an ISO currency, like deal amounts; a
product is offered from `active_from` to `active_to` (dates, both inclusive, either open).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base
from storage.models.currencies import ExactDecimal


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    name_key: Mapped[str] = mapped_column(String(255), unique=True)  # casefolded: one per name
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    active_from: Mapped[date | None]
    active_to: Mapped[date | None]
    sku: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    deactivated: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]


class DealProduct(Base):
    """A product row of a deal: its price in the deal's currency, quantity and discount.

    `product_name` is kept as it was, so that a row still reads after the product is renamed
    or gone. A discount is either a percentage or an amount (minor units) off the row."""

    __tablename__ = "deal_products"
    __table_args__ = (Index("ix_deal_products_deal", "deal_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    product_name: Mapped[str] = mapped_column(String(255))
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    discount_percent: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    discount_minor: Mapped[int | None] = mapped_column(BigInteger)

    product: Mapped[Product | None] = relationship(lazy="joined")


class ElementLink(Base):
    """One element made from another's card: a deal from a lead, a repeat sale from a deal."""

    __tablename__ = "element_links"
    __table_args__ = (
        Index("ix_element_links_source", "source_entity", "source_id"),
        Index("ix_element_links_target", "target_entity", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_entity: Mapped[str] = mapped_column(String(8))
    source_id: Mapped[int]
    target_entity: Mapped[str] = mapped_column(String(8))
    target_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
