"""fields: custom fields and their values, sections, required-at-stage, restricted
visibility, card views; the system fields seeded as rows

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

Self-contained (only new tables): renumber freely at merge. The system fields are seeded with
the keys `crm.fields.SYSTEM_FIELDS` had when this was written (copied: a migration must not
change when the code does).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SYSTEM_FIELDS = {
    "lead": [
        ("title", "string"),
        ("name", "string"),
        ("phone", "string"),
        ("email", "string"),
        ("amount", "money"),
        ("source", "list"),
        ("comment", "string"),
    ],
    "contact": [
        ("name", "string"),
        ("phone", "string"),
        ("email", "string"),
        ("company", "link"),
        ("contact_type", "list"),
        ("salutation", "list"),
        ("source", "list"),
        ("comment", "string"),
    ],
    "company": [
        ("title", "string"),
        ("phone", "string"),
        ("email", "string"),
        ("company_type", "list"),
        ("industry", "list"),
        ("employees", "list"),
        ("source", "list"),
        ("comment", "string"),
    ],
    "deal": [
        ("title", "string"),
        ("amount", "money"),
        ("contact", "link"),
        ("company", "link"),
        ("deal_type", "list"),
        ("source", "list"),
        ("comment", "string"),
    ],
}


def upgrade() -> None:
    op.create_table(
        "field_sections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("sort", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_sections")),
    )
    with op.batch_alter_table("field_sections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_field_sections_entity"), ["entity"], unique=False)

    op.create_table(
        "custom_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=8), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("is_system", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=True),
        sa.Column("sort", sa.Integer(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["field_sections.id"],
            name=op.f("fk_custom_fields_section_id_field_sections"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_fields")),
        sa.UniqueConstraint("entity", "code", name=op.f("uq_custom_fields_entity_code")),
    )
    with op.batch_alter_table("custom_fields", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_custom_fields_section_id"), ["section_id"], unique=False
        )

    op.create_table(
        "card_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=8), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("layout", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_card_views_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_card_views_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_views")),
        sa.UniqueConstraint(
            "entity",
            "user_id",
            "department_id",
            name=op.f("uq_card_views_entity_user_id_department_id"),
        ),
    )
    op.create_table(
        "field_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_field_access_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["field_id"],
            ["custom_fields.id"],
            name=op.f("fk_field_access_field_id_custom_fields"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_field_access_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_access")),
    )
    with op.batch_alter_table("field_access", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_field_access_field_id"), ["field_id"], unique=False)

    op.create_table(
        "field_requirements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["field_id"],
            ["custom_fields.id"],
            name=op.f("fk_field_requirements_field_id_custom_fields"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stage_id"],
            ["stages.id"],
            name=op.f("fk_field_requirements_stage_id_stages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_requirements")),
        sa.UniqueConstraint(
            "field_id", "stage_id", name=op.f("uq_field_requirements_field_id_stage_id")
        ),
    )
    with op.batch_alter_table("field_requirements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_field_requirements_field_id"), ["field_id"], unique=False
        )

    op.create_table(
        "field_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=8), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("search_text", sa.String(length=600), nullable=False),
        sa.ForeignKeyConstraint(
            ["field_id"],
            ["custom_fields.id"],
            name=op.f("fk_field_values_field_id_custom_fields"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_values")),
        sa.UniqueConstraint(
            "field_id", "entity_id", name=op.f("uq_field_values_field_id_entity_id")
        ),
    )
    with op.batch_alter_table("field_values", schema=None) as batch_op:
        batch_op.create_index("ix_field_values_element", ["entity", "entity_id"], unique=False)

    fields = sa.table(
        "custom_fields",
        sa.column("entity", sa.String),
        sa.column("code", sa.String),
        sa.column("kind", sa.String),
        sa.column("is_system", sa.Boolean),
        sa.column("hidden", sa.Boolean),
        sa.column("sort", sa.Integer),
        sa.column("options", sa.JSON),
    )
    op.bulk_insert(
        fields,
        [
            {
                "entity": entity,
                "code": code,
                "kind": kind,
                "is_system": True,
                "hidden": False,
                "sort": 10 * (i + 1),
                "options": [],
            }
            for entity, keys in SYSTEM_FIELDS.items()
            for i, (code, kind) in enumerate(keys)
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("field_values", schema=None) as batch_op:
        batch_op.drop_index("ix_field_values_element")

    op.drop_table("field_values")
    with op.batch_alter_table("field_requirements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_requirements_field_id"))

    op.drop_table("field_requirements")
    with op.batch_alter_table("field_access", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_access_field_id"))

    op.drop_table("field_access")
    op.drop_table("card_views")
    with op.batch_alter_table("custom_fields", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custom_fields_section_id"))

    op.drop_table("custom_fields")
    with op.batch_alter_table("field_sections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_sections_entity"))

    op.drop_table("field_sections")
