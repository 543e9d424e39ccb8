"""Pipelines and stages, lead statuses, dictionaries and CRM-wide settings."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base, TimestampMixin


class CrmSetting(Base):
    __tablename__ = "crm_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class DictionaryItem(TimestampMixin, Base):
    """An entry of a dictionary (source, contact type, industry, …).

    System entries (seeded) can be renamed but not deleted; `name` is None until renamed,
    and the front end shows the localized default for `code`.
    """

    __tablename__ = "dictionary_items"
    __table_args__ = (UniqueConstraint("kind", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(120))
    is_system: Mapped[bool] = mapped_column(default=False)
    sort: Mapped[int] = mapped_column(default=100)


class Pipeline(TimestampMixin, Base):
    """A deal funnel (Bitrix24 "category"). `name` None means the localized default name."""

    __tablename__ = "pipelines"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(120))
    sort: Mapped[int] = mapped_column(default=100)
    is_default: Mapped[bool] = mapped_column(default=False)


class Stage(Base):
    """A deal stage of a pipeline, or a lead status (entity 'lead', no pipeline).

    `semantic` is 'process', 'success' or 'failure'; `is_system` marks the initial and the
    final stages, which cannot be deleted.
    """

    __tablename__ = "stages"
    __table_args__ = (UniqueConstraint("entity", "pipeline_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(8))
    pipeline_id: Mapped[int | None] = mapped_column(
        ForeignKey("pipelines.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(120))
    color: Mapped[str] = mapped_column(String(7), default="#39A8EF")
    sort: Mapped[int] = mapped_column(default=100)
    semantic: Mapped[str] = mapped_column(String(8), default="process")
    is_system: Mapped[bool] = mapped_column(default=False)

    pipeline: Mapped[Pipeline | None] = relationship()
