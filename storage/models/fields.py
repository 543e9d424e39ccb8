"""Fields an admin configures (Bitrix24 "user fields"), their values, and how cards show them.

Every field of an element type is a row here, the system ones too (`is_system`: title, phone,
amount…, seeded by the migration; their values live on the element's own columns): so hiding,
requiring at a stage, sections and views treat system and custom fields alike. A custom
field's value is one `FieldValue` per element (typed JSON, plus a case-folded text for search).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class FieldSection(Base):
    """A titled group of fields on a card; deleting one hides its fields, never deletes them."""

    __tablename__ = "field_sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(8), index=True)
    name: Mapped[str] = mapped_column(String(120))
    sort: Mapped[int] = mapped_column(default=100)


class CustomField(Base):
    __tablename__ = "custom_fields"
    __table_args__ = (UniqueConstraint("entity", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(8))
    code: Mapped[str] = mapped_column(String(64))  # a system key (`phone`) or UF_CRM_<id>
    name: Mapped[str | None] = mapped_column(String(120))  # None: a system field's own name
    kind: Mapped[str] = mapped_column(String(16))
    is_system: Mapped[bool] = mapped_column(default=False)
    hidden: Mapped[bool] = mapped_column(default=False)
    section_id: Mapped[int | None] = mapped_column(
        ForeignKey("field_sections.id", ondelete="SET NULL"), index=True
    )
    sort: Mapped[int] = mapped_column(default=100)
    # A list's options (in order), or the element types a link may point to.
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime | None]


class FieldValue(Base):
    __tablename__ = "field_values"
    __table_args__ = (
        UniqueConstraint("field_id", "entity_id"),
        Index("ix_field_values_element", "entity", "entity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("custom_fields.id", ondelete="CASCADE"))
    entity: Mapped[str] = mapped_column(String(8))
    entity_id: Mapped[int]
    value: Mapped[Any] = mapped_column(JSON)
    search_text: Mapped[str] = mapped_column(String(600), default="")


class FieldRequirement(Base):
    """The field must be filled before an element moves into `stage_id` (None: any stage)."""

    __tablename__ = "field_requirements"
    __table_args__ = (UniqueConstraint("field_id", "stage_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(
        ForeignKey("custom_fields.id", ondelete="CASCADE"), index=True
    )
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"))


class FieldAccess(Base):
    """Who may see a restricted field: a user or a department (with its sub-departments).
    A field without rows is seen by everyone who may read the element."""

    __tablename__ = "field_access"

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(
        ForeignKey("custom_fields.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE")
    )


class CardView(Base):
    """Which fields a card shows, in order (`layout`: field ids). The common view has neither
    user nor department; "my view" has a user; a department's view has a department."""

    __tablename__ = "card_views"
    __table_args__ = (UniqueConstraint("entity", "user_id", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(8))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE")
    )
    layout: Mapped[list[int]] = mapped_column(JSON, default=list)
