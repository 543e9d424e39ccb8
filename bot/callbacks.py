"""Callback data: short prefixes, ids only (64 bytes at most), never trusted by handlers.

Anyone can send any callback data, so every number is bounded here: a forged id beyond what
an id column holds (crm.numbers.MAX_ID) fails to unpack, no handler matches, and the press
gets the "button no longer works" alert (handlers/fallback.py) instead of reaching SQL.
"""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from crm.numbers import MAX_ID

Id = Annotated[int, Field(ge=1, le=MAX_ID)]  # a database row (INTEGER columns)
Page = Annotated[int, Field(ge=0, le=100_000)]
Flags = Annotated[int, Field(ge=0, le=255)]  # a small bit set
TzIndex = Annotated[int, Field(ge=-1, le=1000)]


class LangCb(CallbackData, prefix="lg"):
    code: str


class TzCb(CallbackData, prefix="tz"):
    index: TzIndex  # into crm.timezones.COMMON_TIMEZONES; -1 asks for a typed name


class SettingsCb(CallbackData, prefix="st"):
    action: str


class ElCb(CallbackData, prefix="el"):
    """An action on an element: show, timeline page, stage buttons, note, assign, convert."""

    action: str
    kind: str  # the code letters: L, C, CO, D
    id: Id
    page: Page = 0


class EditCb(CallbackData, prefix="ed"):
    """A field to correct on an element: title, name, phone, email, amount."""

    kind: str
    id: Id
    field: str


class StageCb(CallbackData, prefix="sg"):
    kind: str
    id: Id
    stage: Id


class AssignCb(CallbackData, prefix="as"):
    kind: str
    id: Id
    user: Id


class DupCb(CallbackData, prefix="dp"):
    action: str  # "go": create anyway (the pending input is in the FSM data, never here)


class ListCb(CallbackData, prefix="ls"):
    what: str  # my, deals, leads, contacts, companies
    page: Page


class ConvCb(CallbackData, prefix="cv"):
    """Lead conversion options; `flags` is a bit set: 1 contact, 2 company, 4 deal."""

    lead: Id
    flags: Flags
    go: bool = False


class ModeCb(CallbackData, prefix="md"):
    """Classic → Simple options: `flags` 1 contact, 2 company, 8 keep activities open."""

    flags: Flags
    pipeline: Id
    go: bool = False


class ActCb(CallbackData, prefix="ac"):
    """An activity button: done, snooze (s15, s60, tmr), open (the activity's card), edit,
    move (reschedule), del (asks), delok (deletes), delno."""

    action: str
    id: Id


class TodoCb(CallbackData, prefix="td"):
    """The answer to "that time has passed today": tmr (same time tomorrow), keep, no.

    What it answers about is in the dialog's FSM data, never here."""

    action: str


class PickCb(CallbackData, prefix="pk"):
    """A choice for an element from a list: `what` is "pipe" (pipeline), "src" (source) or
    a dictionary (crm.dictionary_kinds: "contact_type", "industry", …); `value` its id."""

    what: str
    kind: str
    id: Id
    value: Id


class TriageCb(CallbackData, prefix="tr"):
    """A button on a triage card (`bot.triage.Act`); `user`: a member to assign, or a contact."""

    action: str
    id: Id
    user: Annotated[int, Field(ge=0, le=MAX_ID)] = 0


class ShareCb(CallbackData, prefix="sh"):
    """A shared contact card past its duplicate warning: "go" creates it anyway (the card
    itself is in the FSM data, never here)."""

    action: str


class ReportCb(CallbackData, prefix="rp"):
    """A digest item's action: `snz` snoozes a stalled deal, `ndd` / `nda` nudge the rep
    responsible for a deal / an activity. Open, reassign and snoozing an activity reuse
    ElCb and ActCb."""

    action: str
    id: Id


class DigestCb(CallbackData, prefix="dg"):
    """The scheduled digest's settings: `on`/`off`, a time (`t`, minutes after midnight), a
    weekday toggle (`d`, Monday = 0), or `typ` to type a time."""

    action: str
    value: Annotated[int, Field(ge=0, le=24 * 60 - 1)] = 0


class ProductCb(CallbackData, prefix="pr"):
    """The catalog: `list` (a page), `open` (a product), `off` / `on` (switch it)."""

    action: str
    id: Annotated[int, Field(ge=0, le=MAX_ID)] = 0
    page: Page = 0


class RowCb(CallbackData, prefix="rw"):
    """A deal's product rows: `show`, `pick` (products to add, a page), `add` (`item` a
    product, quantity 1), `rm` (`item` a row)."""

    action: str
    deal: Id
    item: Annotated[int, Field(ge=0, le=MAX_ID)] = 0
    page: Page = 0


class RoleCb(CallbackData, prefix="rl"):
    """A role's screen: `v` shows it, `c` cycles a cell (`arg` = entity * 8 + operation, in
    the order of crm.enums), `r` toggles a right (`arg` = its index in Right), `cp` makes a
    new role from this one (the name comes from /role_add's FSM data)."""

    action: str
    id: Id
    arg: Flags = 0


class PersonCb(CallbackData, prefix="ps"):
    """/user_role's buttons: `r` gives user `id` the role `arg_id`, `d` the department."""

    action: str
    id: Id
    arg_id: Id


class FieldCb(CallbackData, prefix="fd"):
    """A field's screen (/fields): `open` its menu, `list` its type's fields, `rename`,
    `hide`/`show`, `delete` asks with the count of values, `drop` deletes."""

    action: str
    id: Id


class RequiredCb(CallbackData, prefix="rq"):
    """An answer to the stage dialog's question for a required field: option `option` of a
    list (a yes/no field: 0 yes, 1 no). The element and the stage are the dialog's."""

    field: Id
    option: Page


class FieldStageCb(CallbackData, prefix="fq"):
    """A field's "Required at…" screen: `open` it, `t` toggles `stage`, `all` every stage,
    `none` optional again (`stage` is then unused)."""

    action: str
    id: Id
    stage: Page = 0


class DictCb(CallbackData, prefix="dc"):
    """/dictionaries: `menu` (the dictionaries), `k` (a dictionary's values), `v` (a value:
    rename or delete), `rn` (ask its new name), `rm` (delete it), `add` (ask a new value's
    name). `kind` names the dictionary (crm.dictionary_kinds.MENU); `id` a value."""

    action: str
    kind: str = ""
    id: Annotated[int, Field(ge=0, le=MAX_ID)] = 0


MAX_PICK_BITS = 62
Picks = Annotated[int, Field(ge=0, le=2**MAX_PICK_BITS)]  # a bit set over a merge's fields


class MergeCb(CallbackData, prefix="mg"):
    """/merge's screen: `pick` shows it with other values chosen (`picks`: bit i set, the
    merged element's value of field i stays), `swap` keeps `a` instead, `go` merges `b`
    into `a`, `no` cancels. The domain checks the rights again on every press."""

    action: str
    kind: str
    a: Id
    b: Id
    picks: Picks = 0


class MergeUndoCb(CallbackData, prefix="mu"):
    """The merge report's Undo: the merge record `id` (the domain decides who may)."""

    id: Id


class ImportCb(CallbackData, prefix="im"):
    """The import dialog: the file's kind, a column's field, duplicates, start."""

    action: str  # "kind", "cols", "col", "set", "dup", "go", "back"
    index: Annotated[int, Field(ge=0, le=500)] = 0  # a kind, or the file's column
    value: Annotated[int, Field(ge=0, le=500)] = 0  # a registry column + 1; 0: not imported


class SectionCb(CallbackData, prefix="sc"):
    """/sections: `list` (the type's sections; `id` one of them), `ren` (ask its new name),
    `up` / `dn` (move it), `del` (asks), `drop` (deletes: its fields are hidden, kept)."""

    action: str
    id: Id


class FieldSectionCb(CallbackData, prefix="fs"):
    """A field's menu, "Section": put field `id` into section `section` (0: out of any)."""

    id: Id
    section: Annotated[int, Field(ge=0, le=MAX_ID)] = 0


class ViewCb(CallbackData, prefix="vw"):
    """/view and /my_view: `pg` (a page of the screen), `up` / `dn` (move `field`), `tog`
    (show or hide it), `rst` (reset the view). `entity` is the element type (deal, lead…);
    `dept` the department whose view it is (0: none); `mine` the presser's own view (whose,
    the server decides: the presser's, never an id from here)."""

    action: str
    entity: str
    dept: Annotated[int, Field(ge=0, le=MAX_ID)] = 0
    mine: bool = False
    field: Annotated[int, Field(ge=0, le=MAX_ID)] = 0
    page: Page = 0
