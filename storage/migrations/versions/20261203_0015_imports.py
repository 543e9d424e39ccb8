"""imports: indexes for the CSV import's exact lookups by name (duplicates, links by name)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

The import checks every row for a duplicate by phone, e-mail and name, and links deals to
contacts and companies by name: phones and e-mails are indexed already
(ix_communications_lookup); these index the folded search text of contacts, companies and
leads, which the import compares exactly (crm/imports.py), so a row costs index reads, not a
scan of the table. Self-contained (indexes only): renumber freely at merge.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("contacts", "companies", "leads")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_search_text", ["search_text"], unique=False)


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_search_text")
