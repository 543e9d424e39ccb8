"""SQL of the unclaimed-request SLA: due requests and pending auto-replies, claimed for a lease
by one conditional UPDATE per row, so that with several instances each is handled by one.

PostgreSQL: two instances updating the same row queue on its lock, and the second re-reads
the row (READ COMMITTED) and finds it leased: zero rows. SQLite: one writer at a time. Either
way the instance whose UPDATE changed the row holds it; nobody else does until the lease ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.enums import Role
from storage.models import TriageMessage, TriageQueue, TriageRequest, User

NEW = "new"  # crm.triage.RequestStatus.NEW (storage does not import the domain's enums)


class TriageSlaRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- due requests ------------------------------------------------------------------------
    @staticmethod
    def _due(now: datetime) -> ColumnElement[bool]:
        free = or_(TriageRequest.sla_lease_until.is_(None), TriageRequest.sla_lease_until < now)
        wanted = or_(TriageRequest.sla_due_at <= now, TriageRequest.escalate_pending.is_(True))
        return and_(TriageRequest.status == NEW, free, wanted)

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[int]:
        """Ids of requests due now (their offer ran out, or a head is to be told), each leased
        to the caller until `lease_until`; the oldest due first."""
        due = self._due(now)
        candidates = (
            await self.session.scalars(
                select(TriageRequest.id)
                .join(TriageQueue, TriageQueue.id == TriageRequest.queue_id)
                .where(due, TriageQueue.active.is_(True))
                .order_by(TriageRequest.sla_due_at, TriageRequest.id)
                .limit(limit)
            )
        ).all()
        won: list[int] = []
        for request_id in candidates:
            result = await self.session.execute(
                update(TriageRequest)
                .where(TriageRequest.id == request_id, due)
                .values(sla_lease_until=lease_until),
                execution_options={"synchronize_session": False},
            )
            if getattr(result, "rowcount", 0):
                won.append(request_id)
        return won

    async def update_held(
        self, request_id: int, lease_until: datetime, values: dict[str, Any]
    ) -> bool:
        """Change a request this caller holds (still new, still its lease), without touching
        the card: False when it was taken meanwhile or the lease passed to another."""
        result = await self.session.execute(
            update(TriageRequest)
            .where(TriageRequest.id == request_id, self.held(lease_until))
            .values(**values),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    @staticmethod
    def held(lease_until: datetime) -> ColumnElement[bool]:
        return and_(TriageRequest.status == NEW, TriageRequest.sla_lease_until == lease_until)

    async def release(
        self, request_id: int, lease_until: datetime, until: datetime | None
    ) -> None:
        """Let go of a held request (`until`: nobody takes it again before then)."""
        await self.session.execute(
            update(TriageRequest)
            .where(TriageRequest.id == request_id, TriageRequest.sla_lease_until == lease_until)
            .values(sla_lease_until=until),
            execution_options={"synchronize_session": False},
        )

    async def replan(self, queue_id: int, now: datetime) -> None:
        """The queue's waiting requests fall due now (its hours or limits changed)."""
        await self.session.execute(
            update(TriageRequest)
            .where(
                TriageRequest.queue_id == queue_id,
                TriageRequest.status == NEW,
                TriageRequest.sla_due_at.is_not(None),
            )
            .values(sla_due_at=now),
            execution_options={"synchronize_session": False},
        )

    # --- who is told -------------------------------------------------------------------------
    async def heads(self, department_id: int | None) -> Sequence[User]:
        """The department's managers who can be written to; none (or no department): admins."""
        reachable = and_(
            User.is_active.is_(True), User.telegram_id.is_not(None), User.is_reachable.is_(True)
        )
        if department_id is not None:
            managers = (
                await self.session.scalars(
                    select(User)
                    .where(
                        reachable, User.role == Role.MANAGER, User.department_id == department_id
                    )
                    .order_by(User.id)
                )
            ).all()
            if managers:
                return managers
        return (
            await self.session.scalars(
                select(User).where(reachable, User.role == Role.ADMIN).order_by(User.id)
            )
        ).all()

    async def is_head(self, user_id: int, department_id: int | None) -> bool:
        return any(u.id == user_id for u in await self.heads(department_id))

    # --- auto-replies to the client (an outbox of "out" rows) ----------------------------------
    async def has_message(self, request_id: int, kind: str) -> bool:
        found = await self.session.scalar(
            select(TriageMessage.id)
            .where(TriageMessage.request_id == request_id, TriageMessage.kind == kind)
            .limit(1)
        )
        return found is not None
