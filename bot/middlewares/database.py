"""One session per update, and the marker that makes each update's effect happen once.

Telegram delivers an update again when it did not get a 200 in time (a crash, a timeout, a
503 during an outage). A `processed_updates` row is inserted by the same transaction that
commits the update's effect, so the two exist together or not at all: a redelivered update
whose row exists is not handled again (the person is told what it did), and one whose commit
never happened is handled as if new. The database is used rather than Redis for this because
only a write inside that transaction is atomic with the effect; a Redis key set before the
commit would drop an update whose commit then failed, and one set after it would leave a window
in which a crash repeats the effect.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from sqlalchemy import event, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from crm.context import Crm, Runtime
from crm.effects import Effect, Journal
from storage.models import ProcessedUpdate

log = logging.getLogger(__name__)

OUTCOME_KEY = "update_outcome"


@dataclass(slots=True)
class UpdateOutcome:
    """What one update did to the database, for the error reply and the webhook's answer.

    `remember=False` (the offline console, whose update ids restart at 1) skips the marker.
    """

    update_id: int | None
    remember: bool = True
    committed: bool = False  # a commit carrying this update's marker went through
    repeated: list[Effect] | None = None  # already handled: what it did then
    journal: Journal | None = None
    _aside: int = 0
    _marker_in_transaction: bool = field(default=False, repr=False)

    @property
    def effects(self) -> list[Effect]:
        return list(self.journal.committed) if self.journal is not None else []

    @contextmanager
    def aside(self) -> Iterator[None]:
        """Commits made inside are housekeeping (e.g. marking the sender reachable), not the
        update's effect: they carry no marker, so a failure later still lets Telegram retry."""
        self._aside += 1
        try:
            yield
        finally:
            self._aside -= 1


def outcome_of(data: dict[str, Any], event: TelegramObject) -> UpdateOutcome:
    outcome: UpdateOutcome | None = data.get(OUTCOME_KEY)
    if outcome is None:
        update_id = event.update_id if isinstance(event, Update) else None
        outcome = data[OUTCOME_KEY] = UpdateOutcome(update_id)
    return outcome


class DatabaseMiddleware(BaseMiddleware):
    """One session per update, exposed to handlers as the `crm` services (they commit)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], runtime: Runtime) -> None:
        self.sessionmaker = sessionmaker
        self.runtime = runtime

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        outcome = outcome_of(data, event)
        async with self.sessionmaker() as session:
            crm = Crm(session, self.runtime)
            outcome.journal = crm.journal
            if outcome.remember and outcome.update_id is not None:
                done = await crm.repos.processed_updates.effects_of(outcome.update_id)
                if done is not None:
                    outcome.repeated = [Effect.from_data(item) for item in done]
                    log.info("update %s was handled before; not again", outcome.update_id)
                else:
                    self._mark_on_commit(session.sync_session, outcome)
            data["crm"] = crm
            return await handler(event, data)

    def _mark_on_commit(self, session: Session, outcome: UpdateOutcome) -> None:
        clock = self.runtime.clock

        def before_commit(sync: Session) -> None:
            if outcome._aside or outcome.journal is None:
                return
            journal = outcome.journal
            effects = [e.to_data() for e in (*journal.committed, *journal.pending)]
            if not outcome.committed:
                sync.add(
                    ProcessedUpdate(
                        update_id=outcome.update_id, processed_at=clock.now(), effects=effects
                    )
                )
                outcome._marker_in_transaction = True
            elif journal.pending:  # a second commit in the same update: keep the list whole
                sync.execute(
                    update(ProcessedUpdate)
                    .where(ProcessedUpdate.update_id == outcome.update_id)
                    .values(effects=effects)
                )

        def after_commit(_sync: Session) -> None:
            if outcome._marker_in_transaction:
                outcome.committed = True
                outcome._marker_in_transaction = False

        def after_rollback(_sync: Session, _previous: object) -> None:
            outcome._marker_in_transaction = False

        event.listen(session, "before_commit", before_commit)
        event.listen(session, "after_commit", after_commit)
        event.listen(session, "after_soft_rollback", after_rollback)


def is_concurrent_delivery(exc: BaseException) -> bool:
    """Another instance committed the same update first: our transaction was rolled back."""
    return isinstance(exc, IntegrityError) and "processed_updates" in str(exc.orig)
