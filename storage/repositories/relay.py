"""SQL of the relay between a client's private chat with the bot and the triage group.

The outbox is `triage_messages` itself: a row whose status is pending has something to send —
an "out" row to the client (a rep's answer, an acknowledgement, a notice), an "in" row (the
client's message) to the group as a reply under the card. A row with its copy already made
(`peer_message_id`) and pending again is an edit of that copy. Rows are claimed with a lease
by one conditional UPDATE each, so with several instances each row is sent by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import TriageMessage, TriageQueue, TriageRequest

PENDING = "pending"
DONE = "done"
FAILED = "failed"


class RelayRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def relay_queue(self) -> TriageQueue | None:
        """The queue strangers' private messages go to: the one with relay on (the most
        recently changed, should several have it)."""
        return await self.session.scalar(
            select(TriageQueue)
            .where(TriageQueue.active.is_(True), TriageQueue.relay_private.is_(True))
            .order_by(TriageQueue.updated_at.desc(), TriageQueue.id.desc())
            .limit(1)
        )

    async def relay_off_except(self, queue_id: int) -> Sequence[TriageQueue]:
        """Turn relay off on every other queue; the queues that had it."""
        others = (
            await self.session.scalars(
                select(TriageQueue).where(
                    TriageQueue.relay_private.is_(True), TriageQueue.id != queue_id
                )
            )
        ).all()
        for queue in others:
            queue.relay_private = False
        return others

    async def row(self, row_id: int) -> TriageMessage | None:
        return await self.session.get(TriageMessage, row_id, populate_existing=True)

    async def row_at(self, chat_id: int, message_id: int, direction: str) -> TriageMessage | None:
        """The row of a message written in a chat (the client's, or a rep's answer)."""
        return await self.session.scalar(
            select(TriageMessage)
            .where(
                TriageMessage.chat_id == chat_id,
                TriageMessage.message_id == message_id,
                TriageMessage.direction == direction,
            )
            .order_by(TriageMessage.id.desc())
            .limit(1)
        )

    async def client_texts(self, request_id: int) -> list[str]:
        rows = await self.session.scalars(
            select(TriageMessage.text)
            .where(TriageMessage.request_id == request_id, TriageMessage.direction == "in")
            .order_by(TriageMessage.id)
        )
        return [t for t in rows.all() if t.strip()]

    # --- the courier -------------------------------------------------------------------------
    async def due(
        self, now: datetime, limit: int, only: int | None
    ) -> Sequence[tuple[int, int, str, int]]:
        """(row, queue, direction, client's Telegram id or 0) of pending rows free to claim,
        oldest first. Rows to a client who blocked the bot are never due; a group copy waits
        for its card."""
        free = or_(TriageMessage.lease_until.is_(None), TriageMessage.lease_until < now)
        to_client = and_(TriageMessage.direction == "out", TriageRequest.client_blocked.is_(False))
        to_group = and_(
            TriageMessage.direction == "in",
            TriageRequest.card_message_id.is_not(None),
            TriageQueue.active.is_(True),
        )
        query = (
            select(
                TriageMessage.id,
                TriageRequest.queue_id,
                TriageMessage.direction,
                TriageRequest.client_tg_id,
            )
            .join(TriageRequest, TriageRequest.id == TriageMessage.request_id)
            .join(TriageQueue, TriageQueue.id == TriageRequest.queue_id)
            .where(TriageMessage.status == PENDING, free, or_(to_client, to_group))
            .order_by(TriageMessage.id)
            .limit(limit * 4)
        )
        if only is not None:
            query = query.where(TriageMessage.request_id == only)
        rows = (await self.session.execute(query)).all()
        return [(r, q, d, c or 0) for r, q, d, c in rows]

    async def take_group_slot(self, queue_id: int, now: datetime, until: datetime) -> bool:
        """The group's send slot, shared with the card courier: one post per slot."""
        slot = or_(TriageQueue.next_post_at.is_(None), TriageQueue.next_post_at <= now)
        result = await self.session.execute(
            update(TriageQueue).where(TriageQueue.id == queue_id, slot).values(next_post_at=until),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    async def lease(self, row_id: int, now: datetime, until: datetime) -> bool:
        free = or_(TriageMessage.lease_until.is_(None), TriageMessage.lease_until < now)
        result = await self.session.execute(
            update(TriageMessage)
            .where(TriageMessage.id == row_id, TriageMessage.status == PENDING, free)
            .values(lease_until=until),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    async def settle(
        self, row_id: int, sent_text: str, peer_chat_id: int, peer_message_id: int | None
    ) -> None:
        """Sent: the copy's ids kept; done unless the text changed meanwhile (an edit that
        came while this was in flight stays pending, and edits the copy next)."""
        values: dict[str, object] = {"lease_until": None, "peer_chat_id": peer_chat_id}
        if peer_message_id is not None:
            values["peer_message_id"] = peer_message_id
        await self.session.execute(
            update(TriageMessage).where(TriageMessage.id == row_id).values(**values),
            execution_options={"synchronize_session": False},
        )
        await self.session.execute(
            update(TriageMessage)
            .where(TriageMessage.id == row_id, TriageMessage.text == sent_text)
            .values(status=DONE),
            execution_options={"synchronize_session": False},
        )

    async def release(self, row_id: int) -> None:
        await self.session.execute(
            update(TriageMessage).where(TriageMessage.id == row_id).values(lease_until=None),
            execution_options={"synchronize_session": False},
        )

    async def fail(self, row_id: int) -> None:
        await self.session.execute(
            update(TriageMessage)
            .where(TriageMessage.id == row_id)
            .values(status=FAILED, lease_until=None),
            execution_options={"synchronize_session": False},
        )

    async def set_blocked(self, client_tg_id: int, blocked: bool) -> Sequence[int]:
        """Mark (or clear) every request of this client; the ids whose mark changed."""
        ids = (
            await self.session.scalars(
                select(TriageRequest.id).where(
                    TriageRequest.client_tg_id == client_tg_id,
                    TriageRequest.client_blocked.is_(not blocked),
                )
            )
        ).all()
        if blocked:
            # Nothing to them is sent or retried any more: their pending rows fail.
            theirs = select(TriageRequest.id).where(TriageRequest.client_tg_id == client_tg_id)
            await self.session.execute(
                update(TriageMessage)
                .where(
                    TriageMessage.request_id.in_(theirs),
                    TriageMessage.direction == "out",
                    TriageMessage.status == PENDING,
                )
                .values(status=FAILED, lease_until=None),
                execution_options={"synchronize_session": False},
            )
        return ids
