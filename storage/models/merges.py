"""The audit record of a merge of two duplicates, and what its undo needs (crm/merge.py).

`snapshot` is the merged element as it was (its columns, phones and e-mails); `moved` says
which rows were re-pointed at the survivor (by table, their keys) and what the survivor's
fields were before the winning values were applied — enough to put everything back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class MergeRecord(Base):
    __tablename__ = "merges"
    __table_args__ = (
        Index("ix_merges_actor_created", "actor_id", "created_at"),
        Index("ix_merges_survivor", "entity", "survivor_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(8))
    survivor_id: Mapped[int]
    merged_id: Mapped[int]
    merged_code: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    moved: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    undone_at: Mapped[datetime | None]
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    restored_id: Mapped[int | None]  # the id the undo gave back (the same one when it was free)
