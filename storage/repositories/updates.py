from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate


class ProcessedUpdateRepo:
    """The markers of updates whose effect is committed (see `bot.middlewares.database`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def effects_of(self, update_id: int) -> list[dict[str, Any]] | None:
        """None: not handled yet; otherwise what the update did (possibly nothing named)."""
        row = await self.session.scalar(
            select(ProcessedUpdate.effects).where(ProcessedUpdate.update_id == update_id)
        )
        return None if row is None else list(row)

    async def delete_older_than(self, cutoff: datetime) -> int:
        result = await self.session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < cutoff)
        )
        return int(getattr(result, "rowcount", 0) or 0)
