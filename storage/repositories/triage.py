"""SQL of the triage queue. Every change of a request's state is one conditional UPDATE, so two
instances acting at once on one request give one winner (PostgreSQL and SQLite alike)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    InboundSource,
    InboundSubmission,
    TriageMember,
    TriageMessage,
    TriageQueue,
    TriageRequest,
)


class TriageRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- queues and members ----------------------------------------------------------------
    async def queue_by_chat(self, chat_id: int) -> TriageQueue | None:
        return await self.session.scalar(select(TriageQueue).where(TriageQueue.chat_id == chat_id))

    async def queue(self, queue_id: int) -> TriageQueue | None:
        return await self.session.get(TriageQueue, queue_id)

    async def active_queues(self) -> Sequence[TriageQueue]:
        result = await self.session.scalars(
            select(TriageQueue).where(TriageQueue.active.is_(True)).order_by(TriageQueue.id)
        )
        return result.all()

    async def add(self, obj: Any) -> None:
        self.session.add(obj)
        await self.session.flush()

    async def member(self, queue_id: int, user_id: int) -> TriageMember | None:
        return await self.session.get(TriageMember, (queue_id, user_id))

    async def members(self, queue_id: int) -> Sequence[TriageMember]:
        result = await self.session.scalars(
            select(TriageMember)
            .where(TriageMember.queue_id == queue_id, TriageMember.active.is_(True))
            .order_by(TriageMember.position, TriageMember.user_id)
        )
        return result.all()

    async def next_position(self, queue_id: int) -> int:
        top = await self.session.scalar(
            select(func.max(TriageMember.position)).where(TriageMember.queue_id == queue_id)
        )
        return (top or 0) + 1

    # --- requests ------------------------------------------------------------------------------
    async def request(self, request_id: int) -> TriageRequest | None:
        return await self.session.get(TriageRequest, request_id)

    async def fresh(self, request_id: int) -> TriageRequest | None:
        """The row as the database has it now (after another instance's UPDATE)."""
        return await self.session.get(TriageRequest, request_id, populate_existing=True)

    async def latest_of_client(self, queue_id: int, client_key: str) -> TriageRequest | None:
        return await self.session.scalar(
            select(TriageRequest)
            .where(TriageRequest.queue_id == queue_id, TriageRequest.client_key == client_key)
            .order_by(TriageRequest.id.desc())
            .limit(1)
        )

    async def by_media_group(self, queue_id: int, media_group_id: str) -> TriageRequest | None:
        return await self.session.scalar(
            select(TriageRequest)
            .where(
                TriageRequest.queue_id == queue_id,
                TriageRequest.media_group_id == media_group_id,
            )
            .order_by(TriageRequest.id.desc())
            .limit(1)
        )

    async def by_idempotency_key(self, key: str) -> TriageRequest | None:
        return await self.session.scalar(
            select(TriageRequest).where(TriageRequest.idempotency_key == key)
        )

    async def by_card(self, chat_id: int, message_id: int) -> TriageRequest | None:
        return await self.session.scalar(
            select(TriageRequest)
            .join(TriageQueue, TriageQueue.id == TriageRequest.queue_id)
            .where(TriageQueue.chat_id == chat_id, TriageRequest.card_message_id == message_id)
        )

    async def by_message(self, chat_id: int, message_id: int) -> TriageRequest | None:
        """The request a message in a chat belongs to (its card, or one of its messages)."""
        found = await self.by_card(chat_id, message_id)
        if found is not None:
            return found
        return await self.session.scalar(
            select(TriageRequest)
            .join(TriageMessage, TriageMessage.request_id == TriageRequest.id)
            .where(
                or_(
                    and_(TriageMessage.chat_id == chat_id, TriageMessage.message_id == message_id),
                    and_(
                        TriageMessage.peer_chat_id == chat_id,
                        TriageMessage.peer_message_id == message_id,
                    ),
                )
            )
            .order_by(TriageMessage.id.desc())
            .limit(1)
        )

    async def transition(
        self,
        request_id: int,
        guard: ColumnElement[bool],
        values: dict[str, Any],
    ) -> bool:
        """Change a request only while `guard` holds: the one atomic step of every claim. The
        card's version goes up in the same statement, so the courier shows the new state."""
        result = await self.session.execute(
            update(TriageRequest)
            .where(TriageRequest.id == request_id, guard)
            .values(card_version=TriageRequest.card_version + 1, **values),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    async def touch_card(self, request_id: int, **values: Any) -> None:
        await self.transition(request_id, TriageRequest.id == request_id, values)

    # --- messages ----------------------------------------------------------------------------
    async def messages(self, request_id: int, limit: int = 20) -> Sequence[TriageMessage]:
        result = await self.session.scalars(
            select(TriageMessage)
            .where(TriageMessage.request_id == request_id)
            .order_by(TriageMessage.id.desc())
            .limit(limit)
        )
        return list(reversed(result.all()))

    async def first_message(self, request_id: int, chat_id: int) -> TriageMessage | None:
        return await self.session.scalar(
            select(TriageMessage)
            .where(TriageMessage.request_id == request_id, TriageMessage.chat_id == chat_id)
            .order_by(TriageMessage.id)
            .limit(1)
        )

    async def message_at(self, chat_id: int, message_id: int) -> TriageMessage | None:
        return await self.session.scalar(
            select(TriageMessage)
            .where(TriageMessage.chat_id == chat_id, TriageMessage.message_id == message_id)
            .order_by(TriageMessage.id.desc())
            .limit(1)
        )

    # --- the courier: cards to post or edit, one per group per send slot ------------------------
    async def claim_cards(
        self,
        now: datetime,
        lease_until: datetime,
        slot_until: datetime,
        limit: int,
        *,
        only: int | None = None,
    ) -> list[tuple[int, int]]:
        """(request id, version) of cards to post or edit: at most one per group whose send slot
        is free, each leased to this instance, and the group's slot taken until `slot_until`."""
        stale = or_(
            TriageRequest.card_shown < TriageRequest.card_version,
            TriageRequest.announce_pending.is_(True),
        )
        free = or_(TriageRequest.card_lease_until.is_(None), TriageRequest.card_lease_until < now)
        slot = or_(TriageQueue.next_post_at.is_(None), TriageQueue.next_post_at <= now)
        query = (
            select(TriageRequest.id, TriageRequest.queue_id)
            .join(TriageQueue, TriageQueue.id == TriageRequest.queue_id)
            .where(stale, free, slot, TriageQueue.active.is_(True))
            .order_by(TriageRequest.id)
            .limit(limit * 8)
        )
        if only is not None:
            query = query.where(TriageRequest.id == only)
        rows = (await self.session.execute(query)).all()
        taken: list[tuple[int, int]] = []
        groups: set[int] = set()
        for request_id, queue_id in rows:
            if queue_id in groups or len(taken) >= limit:
                continue
            # The group's slot first (one instance wins it), then the card's lease.
            got_slot = await self.session.execute(
                update(TriageQueue)
                .where(TriageQueue.id == queue_id, slot)
                .values(next_post_at=slot_until),
                execution_options={"synchronize_session": False},
            )
            groups.add(queue_id)
            if not getattr(got_slot, "rowcount", 0):
                continue
            version = await self.session.scalar(
                update(TriageRequest)
                .where(TriageRequest.id == request_id, free)
                .values(card_lease_until=lease_until)
                .returning(TriageRequest.card_version),
                execution_options={"synchronize_session": False},
            )
            if version is not None:
                taken.append((request_id, version))
        return taken

    async def settle_card(
        self, request_id: int, version: int, message_id: int | None, announced: bool
    ) -> None:
        values: dict[str, Any] = {
            "card_shown": func.max(TriageRequest.card_shown, version)
            if self.session.get_bind().dialect.name == "sqlite"
            else func.greatest(TriageRequest.card_shown, version),
            "card_lease_until": None,
        }
        if message_id is not None:
            values["card_message_id"] = message_id
        if announced:
            values["announce_pending"] = False
        await self.session.execute(
            update(TriageRequest).where(TriageRequest.id == request_id).values(**values),
            execution_options={"synchronize_session": False},
        )

    async def release_card(self, request_id: int) -> None:
        await self.session.execute(
            update(TriageRequest)
            .where(TriageRequest.id == request_id)
            .values(card_lease_until=None),
            execution_options={"synchronize_session": False},
        )

    async def delay_group(self, queue_id: int, until: datetime) -> None:
        await self.session.execute(
            update(TriageQueue).where(TriageQueue.id == queue_id).values(next_post_at=until),
            execution_options={"synchronize_session": False},
        )

    # --- inbound sources ---------------------------------------------------------------------
    async def source_by_token_hash(self, token_hash: str) -> InboundSource | None:
        return await self.session.scalar(
            select(InboundSource).where(
                InboundSource.token_hash == token_hash, InboundSource.active.is_(True)
            )
        )

    async def source_by_name(self, name: str) -> InboundSource | None:
        return await self.session.scalar(
            select(InboundSource).where(func.lower(InboundSource.name) == name.lower())
        )

    async def sources(self) -> Sequence[InboundSource]:
        result = await self.session.scalars(select(InboundSource).order_by(InboundSource.id))
        return result.all()

    async def any_active_source(self) -> bool:
        found = await self.session.scalar(
            select(InboundSource.id).where(InboundSource.active.is_(True)).limit(1)
        )
        return found is not None

    async def only_active_queue(self) -> TriageQueue | None:
        """The one active queue, when there is exactly one (else None: no guessing)."""
        rows = (
            await self.session.scalars(
                select(TriageQueue).where(TriageQueue.active.is_(True)).limit(2)
            )
        ).all()
        return rows[0] if len(rows) == 1 else None

    # --- inbound submissions (idempotency of web forms) ----------------------------------------
    async def submission(self, source_id: int, key: str) -> InboundSubmission | None:
        return await self.session.scalar(
            select(InboundSubmission).where(
                InboundSubmission.source_id == source_id, InboundSubmission.key == key
            ),
            execution_options={"populate_existing": True},
        )

    async def retire_submission(self, submission_id: int, key: str) -> None:
        """Free a body key whose replay window is over: `key@id` keeps the row for the record
        (conditional, so two instances retiring it at once do it once)."""
        await self.session.execute(
            update(InboundSubmission)
            .where(InboundSubmission.id == submission_id, InboundSubmission.key == key)
            .values(key=InboundSubmission.key + literal("@") + str(submission_id)),
            execution_options={"synchronize_session": False},
        )
