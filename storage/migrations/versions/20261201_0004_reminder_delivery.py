"""reminder delivery that settles as it goes: not_before, per-user in-flight index

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Statuses after this revision: pending → claimed → sending → sent | failed | cancelled, and
held (the user could not be reached; released when they write again).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminders") as batch:
        batch.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
    # One chat is served by one worker at a time: the claim asks whether a user has a reminder
    # in flight or one sent a moment ago, which this index answers without a scan.
    op.create_index("ix_reminders_user_status", "reminders", ["user_id", "status", "sent_at"])
    # Reminders cancelled silently for an unreachable user (before 0004) are held instead, so
    # they are delivered when the user comes back.
    op.execute(
        "UPDATE reminders SET status = 'held' WHERE status = 'cancelled' "
        "AND user_id IN (SELECT id FROM users WHERE is_reachable = false)"
    )


def downgrade() -> None:
    op.execute("UPDATE reminders SET status = 'pending' WHERE status IN ('sending', 'held')")
    op.drop_index("ix_reminders_user_status", table_name="reminders")
    with op.batch_alter_table("reminders") as batch:
        batch.drop_column("not_before")
