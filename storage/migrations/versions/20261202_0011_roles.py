"""roles: stored roles (the three presets seeded), users.role_id, a department tree with heads

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

Self-contained (it touches no table another pending revision adds): renumber freely at merge.

The presets are seeded with the values `crm.permissions.DEFAULT_POLICIES` had when this was
written (copied here: a migration must not change when the code does). Users keep their
`role`; `role_id` stays empty for them, which means "the preset of `role`".
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENTITIES = ("lead", "contact", "company", "deal", "activity")
OPERATIONS = ("read", "add", "update", "delete", "export", "import")
NONE, OWN, DEPARTMENT, ALL = 0, 1, 2, 3


def _levels(per_op: dict[str, int]) -> dict[str, int]:
    return {f"{entity}:{op_}": per_op[op_] for entity in ENTITIES for op_ in OPERATIONS}


PRESETS = [
    {
        "key": "admin",
        "name": "Administrator",
        "base": "admin",
        "levels": _levels(dict.fromkeys(OPERATIONS, ALL)),
        "rights": ["settings", "invite", "merge", "team_reports", "group_settings", "my_view"],
    },
    {
        "key": "manager",
        "name": "Manager",
        "base": "manager",
        "levels": _levels(dict.fromkeys(OPERATIONS, DEPARTMENT)),
        "rights": ["merge", "team_reports", "group_settings"],
    },
    {
        "key": "rep",
        "name": "Sales rep",
        "base": "rep",
        "levels": _levels(
            {"read": OWN, "add": OWN, "update": OWN, "delete": OWN, "export": NONE, "import": NONE}
        ),
        "rights": [],
    },
]


def upgrade() -> None:
    roles = op.create_table(
        "roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("base", sa.String(length=16), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("rights", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint("key", name=op.f("uq_roles_key")),
        sa.UniqueConstraint("name", name=op.f("uq_roles_name")),
    )
    op.bulk_insert(roles, PRESETS)
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("role_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_users_role_id"), ["role_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_users_role_id_roles"), "roles", ["role_id"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("departments") as batch:
        batch.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("head_user_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_departments_parent_id"), ["parent_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_departments_parent_id_departments"),
            "departments",
            ["parent_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_foreign_key(
            "fk_departments_head", "users", ["head_user_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("departments") as batch:
        batch.drop_constraint("fk_departments_head", type_="foreignkey")
        batch.drop_constraint(batch.f("fk_departments_parent_id_departments"), type_="foreignkey")
        batch.drop_index(batch.f("ix_departments_parent_id"))
        batch.drop_column("head_user_id")
        batch.drop_column("parent_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(batch.f("fk_users_role_id_roles"), type_="foreignkey")
        batch.drop_index(batch.f("ix_users_role_id"))
        batch.drop_column("role_id")
    op.drop_table("roles")
