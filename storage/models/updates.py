"""Telegram updates whose effect is committed: a redelivered one is not handled again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class ProcessedUpdate(Base):
    """Inserted in the same transaction as the update's effect (so never one without the other);
    purged after a couple of days, long past Telegram's redelivery window."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(index=True)
    # What the update did, as `crm.effects.Effect.to_data()` gives it: told again to the user
    # when Telegram redelivers the update (the first answer may never have reached them).
    effects: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
