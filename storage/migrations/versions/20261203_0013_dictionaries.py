"""dictionaries: a contact's salutation, a company's employee count, the salutation values

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

Alters tables 0002 made, and only by what is new here: adds `contacts.salutation` and
`companies.employees` (dictionary codes, like `contacts.contact_type`), and inserts the system
values of the `salutation` dictionary into `dictionary_items` (downgrade deletes the rows of
that kind and drops the two columns). Self-contained otherwise: renumber freely at merge.

The values are Bitrix24's honorifics (Mr., Mrs., Ms., Dr.); `name` stays NULL, so the bot
shows each code's localized default until an admin renames it (bot/labels.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SALUTATIONS = ("MR", "MRS", "MS", "DR")


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("salutation", sa.String(length=64), nullable=True))
    with op.batch_alter_table("companies") as batch:
        batch.add_column(sa.Column("employees", sa.String(length=64), nullable=True))
    items = sa.table(
        "dictionary_items",
        sa.column("kind", sa.String),
        sa.column("code", sa.String),
        sa.column("is_system", sa.Boolean),
        sa.column("sort", sa.Integer),
    )
    op.bulk_insert(
        items,
        [
            {"kind": "salutation", "code": code, "is_system": True, "sort": (i + 1) * 10}
            for i, code in enumerate(SALUTATIONS)
        ],
    )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM dictionary_items WHERE kind = 'salutation'"))
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("employees")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("salutation")
