"""ORM models of the foundation: people, invites and the chats the bot serves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.enums import Role
from storage.base import Base, TimestampMixin


def _str_enum(enum_cls: type[Role]) -> Enum:
    return Enum(
        enum_cls,
        native_enum=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Department(TimestampMixin, Base):
    """A department: a tree (`parent_id`) with a head. "Own + department" reaches its subtree."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True
    )
    head_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL", use_alter=True, name="fk_departments_head")
    )


class RoleRecord(TimestampMixin, Base):
    """A stored role: per "entity:operation" a level (0 none .. 3 all) and a list of rights.

    The built-in presets carry `key` = their `crm.enums.Role` value; users whose `role_id` is
    empty use the preset of their `role`. `base` is the preset a custom role was made from: it
    is what the user's `role` becomes when they are given that role.
    """

    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    base: Mapped[Role] = mapped_column(_str_enum(Role))
    levels: Mapped[dict[str, int]] = mapped_column(JSON)
    rights: Mapped[list[str]] = mapped_column(JSON)


class User(TimestampMixin, Base):
    """A CRM user. The Telegram account is bound later, through a one-time invite."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(_str_enum(Role))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True
    )
    # A custom role; None: the built-in preset of `role` (so users from before roles map).
    role_id: Mapped[int | None] = mapped_column(
        ForeignKey("roles.id", ondelete="SET NULL"), index=True
    )
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(default=True)
    # False once Telegram answered 403 (the user blocked the bot): stop sending until they return.
    is_reachable: Mapped[bool] = mapped_column(default=True)
    # Minutes before a deadline to remind, e.g. "15,0"; None: the default (15 before and at it).
    reminder_offsets: Mapped[str | None] = mapped_column(String(64))

    department: Mapped[Department | None] = relationship(
        lazy="joined", foreign_keys=[department_id]
    )


class Invite(TimestampMixin, Base):
    """A one-time code that binds a Telegram account to `user`. Only its hash is stored."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Chat(TimestampMixin, Base):
    """A Telegram chat the bot has seen; a group has its own language."""

    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(8))
