"""Triage of inbound requests in a Telegram group (Bitrix24's Open Channels, inside a group).

The database holds the whole truth, so any instance can act and none acts twice:
- a request's state changes by one conditional UPDATE (`take`: only while it is new), so two
  presses at once on two instances give one winner;
- what the group should show is a version on the request (`card_version`) beside what it
  shows (`card_shown`); a courier per instance posts and edits cards, claiming each card for a
  short lease and the group's send slot (`triage_queues.next_post_at`, Telegram's ~20 messages
  a minute in a group), so edits coalesce into the final state and none is lost;
- the unclaimed-request SLA is a due time on the request (`sla_due_at`), claimed the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base, TimestampMixin
from storage.models.people import User


class TriageQueue(TimestampMixin, Base):
    """A group (or one forum topic of it) bound as the queue of inbound requests."""

    __tablename__ = "triage_queues"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    thread_id: Mapped[int | None]  # a forum topic: kept on everything posted there
    title: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    mode: Mapped[str] = mapped_column(String(16), default="everybody")  # crm.triage.QueueMode
    queue_seconds: Mapped[int] = mapped_column(default=60)  # untaken this long: passes on
    escalate_seconds: Mapped[int] = mapped_column(default=600)  # then to the department head
    reopen_seconds: Mapped[int] = mapped_column(default=3 * 24 * 3600)  # a returning client
    burst_seconds: Mapped[int] = mapped_column(default=30)  # one person's messages: one request
    relay_private: Mapped[bool] = mapped_column(default=False)  # strangers writing to the bot
    # Working hours, e.g. "1-5 09:00-18:00" (ISO weekdays), in `timezone`; None: always open.
    work_hours: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str | None] = mapped_column(String(64))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(String(64), default="TELEGRAM")  # a dictionary code
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The group's send slot, shared by every instance: no post or edit before this moment.
    next_post_at: Mapped[datetime | None]


class TriageMember(Base):
    """A CRM user who works this queue (seen acting in the group, or added by an admin)."""

    __tablename__ = "triage_members"

    queue_id: Mapped[int] = mapped_column(
        ForeignKey("triage_queues.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    joined_at: Mapped[datetime]
    position: Mapped[int] = mapped_column(default=0)  # order in the *strictly* mode
    last_offered_at: Mapped[datetime | None]  # *evenly*: the oldest goes first
    active: Mapped[bool] = mapped_column(default=True)

    user: Mapped[User] = relationship(lazy="joined")


class TriageRequest(TimestampMixin, Base):
    __tablename__ = "triage_requests"
    __table_args__ = (
        Index("ix_triage_requests_client", "queue_id", "client_key", "id"),
        Index("ix_triage_requests_card", "card_shown", "card_version"),
        Index("ix_triage_requests_sla", "sla_due_at"),
        UniqueConstraint("idempotency_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("triage_queues.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="new")  # crm.triage.RequestStatus
    origin: Mapped[str] = mapped_column(String(8))  # crm.triage.Origin: group, bot, web
    source: Mapped[str | None] = mapped_column(String(64))
    # Who the client is: "tg:<id>", "phone:<e164>", "email:<addr>", or "anon:<request>".
    client_key: Mapped[str] = mapped_column(String(160))
    client_tg_id: Mapped[int | None] = mapped_column(BigInteger)  # reachable through the bot
    client_name: Mapped[str | None] = mapped_column(String(255))
    client_locale: Mapped[str | None] = mapped_column(String(8))  # for what the bot tells them
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(255))
    forwarded_from: Mapped[str | None] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text, default="")
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    media_group_id: Mapped[str | None] = mapped_column(String(64))
    messages: Mapped[int] = mapped_column(default=1)
    last_message_at: Mapped[datetime]
    # Who has it, who it is offered to (evenly/strictly), and who acted last.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    offered_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The SLA: when the current offer runs out; passes, announcements, escalation.
    sla_started_at: Mapped[datetime | None]
    sla_due_at: Mapped[datetime | None]
    sla_lease_until: Mapped[datetime | None]
    passes: Mapped[int] = mapped_column(default=0)
    escalated_at: Mapped[datetime | None]
    escalate_pending: Mapped[bool] = mapped_column(default=False)  # tell the head, in private
    # What it became.
    element_entity: Mapped[str | None] = mapped_column(String(8))
    element_id: Mapped[int | None]
    junk_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    previous_id: Mapped[int | None] = mapped_column(
        ForeignKey("triage_requests.id", ondelete="SET NULL")
    )
    client_blocked: Mapped[bool] = mapped_column(default=False)  # 403 from the client's chat
    # A web form: the same submission posted twice is one request.
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    # The card in the group, and what it should show against what it shows.
    card_message_id: Mapped[int | None]
    card_version: Mapped[int] = mapped_column(default=1)
    card_shown: Mapped[int] = mapped_column(default=0)
    card_lease_until: Mapped[datetime | None]
    announce_pending: Mapped[bool] = mapped_column(default=False)  # re-announce in the group

    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="joined")
    offered_to: Mapped[User | None] = relationship(foreign_keys=[offered_to_id], lazy="joined")
    acted_by: Mapped[User | None] = relationship(foreign_keys=[acted_by_id], lazy="joined")
    queue: Mapped[TriageQueue] = relationship(lazy="joined")


class TriageMessage(Base):
    """A Telegram message that belongs to a request: the client's, or a rep's answer relayed.

    Looked up by (chat, message) to find the request a reply or an edit is about."""

    __tablename__ = "triage_messages"
    __table_args__ = (
        Index("ix_triage_messages_lookup", "chat_id", "message_id"),
        Index("ix_triage_messages_request", "request_id", "id"),
        Index("ix_triage_messages_outbox", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("triage_requests.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int]
    # The same message's copy on the other side of the relay (group <-> client's chat).
    peer_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    peer_message_id: Mapped[int | None]
    direction: Mapped[str] = mapped_column(String(4))  # "in" from the client, "out" to them
    # What it is: crm.triage.MessageKind (the client's message, a relayed answer, a notice).
    kind: Mapped[str] = mapped_column(String(16), default="client")
    # An "out" row is an outbox entry: pending until the courier sent it (or it failed).
    status: Mapped[str] = mapped_column(String(8), default="done")
    lease_until: Mapped[datetime | None]
    author_tg_id: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class InboundSource(TimestampMixin, Base):
    """A web form (or any system) posting to `POST /inbound/{token}`; only the token's hash."""

    __tablename__ = "inbound_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(64), default="WEBFORM")  # dictionary source code
    queue_id: Mapped[int | None] = mapped_column(
        ForeignKey("triage_queues.id", ondelete="SET NULL")
    )
    active: Mapped[bool] = mapped_column(default=True)


class InboundSubmission(Base):
    """One accepted post to an inbound source: what makes a replay return the same lead.

    `key` is `key:<Idempotency-Key>` when the poster sent one, else `body:<sha256 of the
    canonical body>`; unique per source, so two identical posts at the same moment on two
    instances give one row (the loser's INSERT fails and it answers with the winner's). A
    body key older than the replay window is retired (`@<id>` appended) before a new one
    takes it. Kept apart from `triage_requests` because a source bound to no group still
    makes a lead, and a replay of it must still find that lead."""

    __tablename__ = "inbound_submissions"
    __table_args__ = (UniqueConstraint("source_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("inbound_sources.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("triage_requests.id", ondelete="SET NULL")
    )
    element_entity: Mapped[str | None] = mapped_column(String(8))
    element_id: Mapped[int | None]
