"""inbound submissions: what a web form posted, so a replay returns the same lead

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

One row per accepted post to `POST /inbound/{token}`, unique per (source, key): two identical
posts at once on two instances make one lead. Apart from `triage_requests` because a source
bound to no group still makes a lead (see storage/models/triage.py `InboundSubmission`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("element_entity", sa.String(length=8), nullable=True),
        sa.Column("element_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["triage_requests.id"],
            name=op.f("fk_inbound_submissions_request_id_triage_requests"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["inbound_sources.id"],
            name=op.f("fk_inbound_submissions_source_id_inbound_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_submissions")),
        sa.UniqueConstraint("source_id", "key", name=op.f("uq_inbound_submissions_source_id_key")),
    )


def downgrade() -> None:
    op.drop_table("inbound_submissions")
