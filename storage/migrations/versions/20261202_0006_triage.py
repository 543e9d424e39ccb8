"""triage of inbound requests: queues (bound groups), members, requests, messages, sources

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

A request's state moves by conditional UPDATEs; its card in the group is a version beside the
version shown, posted and edited by a courier per instance (see storage/models/triage.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "triage_queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("queue_seconds", sa.Integer(), nullable=False),
        sa.Column("escalate_seconds", sa.Integer(), nullable=False),
        sa.Column("reopen_seconds", sa.Integer(), nullable=False),
        sa.Column("burst_seconds", sa.Integer(), nullable=False),
        sa.Column("relay_private", sa.Boolean(), nullable=False),
        sa.Column("work_hours", sa.String(length=64), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("next_post_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_triage_queues_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_triage_queues_department_id_departments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_queues")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_triage_queues_chat_id")),
    )
    op.create_table(
        "inbound_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["triage_queues.id"],
            name=op.f("fk_inbound_sources_queue_id_triage_queues"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_inbound_sources_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_inbound_sources_token_hash")),
    )
    op.create_table(
        "triage_members",
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("last_offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["triage_queues.id"],
            name=op.f("fk_triage_members_queue_id_triage_queues"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_triage_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("queue_id", "user_id", name=op.f("pk_triage_members")),
    )
    op.create_table(
        "triage_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("client_key", sa.String(length=160), nullable=False),
        sa.Column("client_tg_id", sa.BigInteger(), nullable=True),
        sa.Column("client_name", sa.String(length=255), nullable=True),
        sa.Column("client_locale", sa.String(length=8), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("forwarded_from", sa.String(length=255), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("media_group_id", sa.String(length=64), nullable=True),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("offered_to_id", sa.Integer(), nullable=True),
        sa.Column("acted_by_id", sa.Integer(), nullable=True),
        sa.Column("sla_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sla_lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("passes", sa.Integer(), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalate_pending", sa.Boolean(), nullable=False),
        sa.Column("element_entity", sa.String(length=8), nullable=True),
        sa.Column("element_id", sa.Integer(), nullable=True),
        sa.Column("junk_reason", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("client_blocked", sa.Boolean(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("card_message_id", sa.Integer(), nullable=True),
        sa.Column("card_version", sa.Integer(), nullable=False),
        sa.Column("card_shown", sa.Integer(), nullable=False),
        sa.Column("card_lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("announce_pending", sa.Boolean(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["acted_by_id"],
            ["users.id"],
            name=op.f("fk_triage_requests_acted_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_triage_requests_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["offered_to_id"],
            ["users.id"],
            name=op.f("fk_triage_requests_offered_to_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["triage_requests.id"],
            name=op.f("fk_triage_requests_previous_id_triage_requests"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["triage_queues.id"],
            name=op.f("fk_triage_requests_queue_id_triage_queues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_requests")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_triage_requests_idempotency_key")),
    )
    with op.batch_alter_table("triage_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_triage_requests_card", ["card_shown", "card_version"], unique=False
        )
        batch_op.create_index(
            "ix_triage_requests_client", ["queue_id", "client_key", "id"], unique=False
        )
        batch_op.create_index("ix_triage_requests_sla", ["sla_due_at"], unique=False)

    op.create_table(
        "triage_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("peer_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("peer_message_id", sa.Integer(), nullable=True),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("author_tg_id", sa.BigInteger(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["triage_requests.id"],
            name=op.f("fk_triage_messages_request_id_triage_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_messages")),
    )
    with op.batch_alter_table("triage_messages", schema=None) as batch_op:
        batch_op.create_index("ix_triage_messages_lookup", ["chat_id", "message_id"], unique=False)
        batch_op.create_index("ix_triage_messages_outbox", ["status", "id"], unique=False)
        batch_op.create_index("ix_triage_messages_request", ["request_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("triage_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_triage_messages_request")
        batch_op.drop_index("ix_triage_messages_outbox")
        batch_op.drop_index("ix_triage_messages_lookup")

    op.drop_table("triage_messages")
    with op.batch_alter_table("triage_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_triage_requests_sla")
        batch_op.drop_index("ix_triage_requests_client")
        batch_op.drop_index("ix_triage_requests_card")

    op.drop_table("triage_requests")
    op.drop_table("triage_members")
    op.drop_table("inbound_sources")
    op.drop_table("triage_queues")
