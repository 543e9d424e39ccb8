"""reports: deals' touched / last-activity moments, stalled snooze, currency rates, indexes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Self-contained (it touches no table another pending revision adds): renumber freely at merge.

`deals.touched_at` is the moment of a deal's latest timeline entry of any kind and
`deals.last_activity_at` of its latest piece of work (created, stage or pipeline move,
activity done); both are kept by the timeline from now on and filled here from it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WORK_KINDS = "('created', 'stage', 'pipeline', 'activity_done')"


def upgrade() -> None:
    # SQLite cannot ADD COLUMN with a non-constant default: there the table is copied.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("deals", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(
            sa.Column(
                "touched_at",
                sa.DateTime(timezone=True),
                server_default=sa.text("(CURRENT_TIMESTAMP)"),
                nullable=False,
            )
        )
        batch.add_column(
            sa.Column(
                "last_activity_at",
                sa.DateTime(timezone=True),
                server_default=sa.text("(CURRENT_TIMESTAMP)"),
                nullable=False,
            )
        )
        batch.add_column(
            sa.Column("stalled_snoozed_until", sa.DateTime(timezone=True), nullable=True)
        )
    op.execute(
        "UPDATE deals SET "
        "touched_at = COALESCE((SELECT max(t.created_at) FROM timeline t "
        "WHERE t.entity = 'deal' AND t.entity_id = deals.id), deals.created_at), "
        "last_activity_at = COALESCE((SELECT max(t.created_at) FROM timeline t "
        f"WHERE t.entity = 'deal' AND t.entity_id = deals.id AND t.kind IN {WORK_KINDS}), "
        "deals.created_at)"
    )
    op.create_index("ix_deals_responsible_created", "deals", ["responsible_id", "created_at"])
    op.create_index("ix_deals_responsible_touched", "deals", ["responsible_id", "touched_at"])
    op.create_index(
        "ix_deals_stalled", "deals", ["responsible_id", "closed_at", "last_activity_at"]
    )
    op.create_index("ix_leads_responsible_created", "leads", ["responsible_id", "created_at"])
    op.create_index("ix_timeline_kind_time", "timeline", ["entity", "kind", "created_at"])
    op.create_index(
        "ix_activities_client", "activities", ["client_entity", "client_id", "completed_at"]
    )
    op.create_table(
        "currency_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.String(length=40), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_from_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_currency_rates_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_currency_rates")),
        sa.UniqueConstraint(
            "currency", "valid_from", name=op.f("uq_currency_rates_currency_valid_from")
        ),
    )
    op.create_index("ix_currency_rates_valid_from_at", "currency_rates", ["valid_from_at"])


def downgrade() -> None:
    op.drop_index("ix_currency_rates_valid_from_at", table_name="currency_rates")
    op.drop_table("currency_rates")
    op.drop_index("ix_activities_client", table_name="activities")
    op.drop_index("ix_timeline_kind_time", table_name="timeline")
    op.drop_index("ix_leads_responsible_created", table_name="leads")
    op.drop_index("ix_deals_stalled", table_name="deals")
    op.drop_index("ix_deals_responsible_touched", table_name="deals")
    op.drop_index("ix_deals_responsible_created", table_name="deals")
    with op.batch_alter_table("deals") as batch:
        batch.drop_column("stalled_snoozed_until")
        batch.drop_column("last_activity_at")
        batch.drop_column("touched_at")
