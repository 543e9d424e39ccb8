"""Domain errors. They carry facts, not text: the front end renders them in the user's language."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from crm.enums import EntityType, Operation, Right

if TYPE_CHECKING:
    from crm.field_book import FieldInfo
    from storage.models import Stage


class CrmError(Exception):
    """Base of every error a person can cause and should be told about."""


class AccessDenied(CrmError):
    def __init__(
        self,
        *,
        entity: EntityType | None = None,
        operation: Operation | None = None,
        right: Right | None = None,
    ) -> None:
        super().__init__(f"access denied: {entity or ''} {operation or ''} {right or ''}".strip())
        self.entity = entity
        self.operation = operation
        self.right = right


class NotFound(CrmError):
    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} {key!r} not found")
        self.what = what
        self.key = key


class InvalidInvite(CrmError):
    """The invite code is unknown, used or expired (deliberately not said which)."""


class AlreadyBound(CrmError):
    """This Telegram account already belongs to another CRM user."""


class InvalidValue(CrmError):
    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"invalid {field}")
        self.field = field
        self.value = value


class StageMismatch(CrmError):
    """The stage belongs to another pipeline (or is a lead status, not a deal stage)."""


class FieldsRequired(CrmError):
    """The element cannot move into the stage until these fields are filled (`fields`, in
    the card's order, and `stage` name them for the reply; `code` is the element's)."""

    def __init__(
        self,
        stage_id: int,
        field_ids: tuple[int, ...],
        *,
        code: str = "",
        stage: Stage | None = None,
        fields: tuple[FieldInfo, ...] = (),
    ) -> None:
        super().__init__(f"fields {field_ids} required at stage {stage_id}")
        self.stage_id = stage_id
        self.field_ids = field_ids
        self.code = code
        self.stage = stage
        self.fields = fields


class ReasonRequired(CrmError):
    """Moving to a failure stage needs a reason."""


class CannotDelete(CrmError):
    def __init__(self, why: str, *, part: str = "", count: int = 0, entity: str = "") -> None:
        super().__init__(why)
        self.why = why  # "system" (initial/final stage, system entry) or "in_use"
        # For a system stage: "initial" or "final"; for a dictionary's value in use: the
        # dictionary ("source", "industry", …).
        self.part = part
        self.count = count  # for "in_use": how many elements use it
        # For "in_use": "deal", "lead", "contact", "company", or "element" (several kinds);
        # for a system stage: "deal" or "lead" (a status).
        self.entity = entity


class NameTaken(CrmError):
    """Another entry of the same list already has this name (compared case-insensitively)."""

    def __init__(self, what: str, name: str) -> None:
        super().__init__(f"{what} name taken")
        self.what = what
        self.name = name


class UnknownName(CrmError):
    """No pipeline, stage or source is called so (nor has this id)."""

    def __init__(self, what: str, text: str) -> None:
        super().__init__(f"no such {what}")
        self.what = what
        self.text = text


class AmbiguousName(CrmError):
    """Several entries (stages of different pipelines) share the name: the id decides."""

    def __init__(self, what: str, name: str, ids: list[int]) -> None:
        super().__init__(f"ambiguous {what}")
        self.what = what
        self.name = name
        self.ids = ids


class AlreadyConverted(CrmError):
    """The lead was converted (or closed) already."""


class WrongMode(CrmError):
    def __init__(self, needed: str) -> None:
        super().__init__(f"needs {needed} CRM mode")
        self.needed = needed


class RequestGone(CrmError):
    """A triage request the actor does not work on, or that no longer exists, or whose group
    is no longer a queue: said the same way in every case."""


class BadRow(CrmError):
    """A line of an imported file is wrong; nothing of the file was saved."""

    def __init__(self, line: int, field: str, value: str) -> None:
        super().__init__(f"line {line}: invalid {field}")
        self.line = line
        self.field = field
        self.value = value


class ProductInactive(CrmError):
    """The product is outside its active window (or switched off): it cannot be sold now."""

    def __init__(self, name: str, active_from: date | None, active_to: date | None) -> None:
        super().__init__(f"product {name!r} inactive")
        self.name = name
        self.active_from = active_from
        self.active_to = active_to


class NoRate(CrmError):
    """An amount in `source` cannot be given in `target`: one of them has no rate that day."""

    def __init__(self, source: str, target: str) -> None:
        super().__init__(f"no rate {source} -> {target}")
        self.source = source
        self.target = target


class AmountFromProducts(CrmError):
    """The deal has product rows: its amount is their sum and cannot be typed."""


class CannotMerge(CrmError):
    """Two elements that cannot be merged: of different types ("types"), one element with
    itself ("same"), a type that is not merged ("kind"), or two deals whose product rows are
    in different currencies ("currencies")."""

    def __init__(self, why: str) -> None:
        super().__init__(f"cannot merge: {why}")
        self.why = why


class CannotUndo(CrmError):
    """A merge that cannot be undone: none to undo ("none"), undone already ("undone"), past
    the undo window ("expired"), or its survivor is gone since ("gone")."""

    def __init__(self, why: str, code: str = "") -> None:
        super().__init__(f"cannot undo the merge: {why}")
        self.why = why
        self.code = code


class FileRefused(CrmError):
    """An imported file that is not a CSV the CRM can read: `why` is "not_csv" (XML, a
    spreadsheet, a binary file), "empty", or "no_header" (no column it recognizes)."""

    def __init__(self, why: str) -> None:
        super().__init__(f"file refused: {why}")
        self.why = why
