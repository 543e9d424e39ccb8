"""products: the product catalog, product rows on deals, links between elements

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

Self-contained (only new tables, referring to users-era tables deals and products): renumber
freely at merge.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("name_key", sa.String(length=255), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("active_from", sa.Date(), nullable=True),
        sa.Column("active_to", sa.Date(), nullable=True),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("deactivated", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("name_key", name=op.f("uq_products_name_key")),
    )
    op.create_table(
        "deal_products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("product_name", sa.String(length=255), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("quantity", sa.String(length=40), nullable=False),
        sa.Column("discount_percent", sa.String(length=40), nullable=True),
        sa.Column("discount_minor", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["deal_id"],
            ["deals.id"],
            name=op.f("fk_deal_products_deal_id_deals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_deal_products_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_products")),
    )
    op.create_index("ix_deal_products_deal", "deal_products", ["deal_id", "id"])
    op.create_index(
        op.f("ix_deal_products_product_id"), "deal_products", ["product_id"], unique=False
    )
    op.create_table(
        "element_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_entity", sa.String(length=8), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("target_entity", sa.String(length=8), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_element_links")),
    )
    op.create_index("ix_element_links_source", "element_links", ["source_entity", "source_id"])
    op.create_index("ix_element_links_target", "element_links", ["target_entity", "target_id"])


def downgrade() -> None:
    op.drop_index("ix_element_links_target", table_name="element_links")
    op.drop_index("ix_element_links_source", table_name="element_links")
    op.drop_table("element_links")
    op.drop_index(op.f("ix_deal_products_product_id"), table_name="deal_products")
    op.drop_index("ix_deal_products_deal", table_name="deal_products")
    op.drop_table("deal_products")
    op.drop_table("products")
