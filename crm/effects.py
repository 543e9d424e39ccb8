"""What a unit of work did, in the domain's words: noted as services change things, kept once
committed.

A front end that fails to show its answer after the commit (Telegram down, a reply too long)
still has to tell the person what happened — "created D12" rather than "nothing was changed".
The services note effects (every timeline entry is one, plus the activity changes that keep no
timeline); the notes become `committed` only when the session's transaction commits, and are
dropped when it rolls back. Nothing here knows about Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from crm.codes import ElementRef, parse_code

_INFO_KEY = "crm.effects"


@dataclass(frozen=True, slots=True)
class Effect:
    kind: str  # a timeline kind ("created", "stage", "comment", "activity", …) or "activity_*"
    ref: ElementRef | None = None
    activity_id: int | None = None

    def to_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ref": self.ref.code if self.ref else None,
            "activity": self.activity_id,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Effect:
        ref = parse_code(str(data["ref"])) if data.get("ref") else None
        activity = data.get("activity")
        return cls(str(data.get("kind") or ""), ref, int(activity) if activity else None)


@dataclass(slots=True)
class Journal:
    """The effects of one session: `pending` until its transaction commits."""

    pending: list[Effect] = field(default_factory=list)
    committed: list[Effect] = field(default_factory=list)

    def note(self, effect: Effect) -> None:
        if effect not in self.pending and effect not in self.committed:
            self.pending.append(effect)

    def _committed(self, _session: Session) -> None:
        self.committed.extend(self.pending)
        self.pending.clear()

    def _rolled_back(self, _session: Session, _previous: object) -> None:
        self.pending.clear()


def journal_of(session: AsyncSession | Session) -> Journal:
    """The session's journal, created (and hooked to its transaction) on first use."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    journal: Journal | None = sync.info.get(_INFO_KEY)
    if journal is None:
        journal = Journal()
        sync.info[_INFO_KEY] = journal
        event.listen(sync, "after_commit", journal._committed)
        event.listen(sync, "after_soft_rollback", journal._rolled_back)
    return journal


def note(session: AsyncSession | Session, effect: Effect) -> None:
    journal_of(session).note(effect)
