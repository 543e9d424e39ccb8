"""Plain enumerations shared by the domain and the storage layer (no imports of either)."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    REP = "rep"


class EntityType(StrEnum):
    LEAD = "lead"
    CONTACT = "contact"
    COMPANY = "company"
    DEAL = "deal"
    ACTIVITY = "activity"


class Operation(StrEnum):
    READ = "read"
    ADD = "add"
    UPDATE = "update"
    DELETE = "delete"
    EXPORT = "export"
    IMPORT = "import"


class Level(IntEnum):
    """How far an operation reaches, ordered so that a higher level includes the lower."""

    NONE = 0
    OWN = 1
    DEPARTMENT = 2
    ALL = 3


class Right(StrEnum):
    """Rights that are not about one element type (Bitrix24 keeps these apart too)."""

    SETTINGS = "settings"  # pipelines, stages, fields, CRM mode, group bindings
    INVITE = "invite"  # create CRM users and invites, change roles
    MERGE = "merge"  # merge duplicates without holding delete rights on both elements
    TEAM_REPORTS = "team_reports"  # digests and reports about other people
    GROUP_SETTINGS = "group_settings"  # language and binding of a group chat
    MY_VIEW = "my_view"  # arrange one's own card view (Bitrix24's "my card view")


class TimelineKind(StrEnum):
    """What a timeline entry records (stored as its value; `Effect.kind` uses the same)."""

    CREATED = "created"
    COMMENT = "comment"
    STAGE = "stage"
    ASSIGNED = "assigned"
    ACTIVITY = "activity"
    ACTIVITY_DONE = "activity_done"
    ACTIVITY_DELETED = "activity_deleted"
    PIPELINE = "pipeline"
    CHANGED = "changed"
    CONVERTED = "converted"
    TRIAGE = "triage"  # made from a triage request
    REPEAT = "repeat"  # Bitrix24's repeat lead of a returning client
    PRODUCT_ADDED = "product_added"  # a product row put on a deal
    PRODUCT_REMOVED = "product_gone"  # a product row taken off a deal
    LINKED = "linked"  # another element was created from this one's card
    MERGED = "merged"  # a duplicate was merged into this one (or a typed line was added)
    UNMERGED = "unmerged"  # a merge was undone: on the survivor and on the element restored


# Timeline kinds that are work on a deal in the sense of Bitrix24's reports: a deal with none
# of them in a period is stalled ("forgotten"). Comments, assignments and activities merely
# planned touch a deal (it counts in the period) but are not work on it.
WORK_KINDS = frozenset(
    {TimelineKind.CREATED, TimelineKind.STAGE, TimelineKind.PIPELINE, TimelineKind.ACTIVITY_DONE}
)


class LinkKind(StrEnum):
    """How one element was made from another's card (`storage.models.ElementLink.kind`)."""

    DEAL_FROM_LEAD = "deal_from_lead"
    REPEAT_SALE = "repeat_sale"


class FieldKind(StrEnum):
    """The type of a field's value (Bitrix24 user fields: string, number, date, yes/no,
    list, money, link to a CRM element)."""

    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    BOOL = "bool"
    LIST = "list"
    MONEY = "money"
    LINK = "link"
