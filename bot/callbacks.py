"""Callback data: short prefixes, ids only (64 bytes at most), never trusted by handlers."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class LangCb(CallbackData, prefix="lg"):
    code: str


class TzCb(CallbackData, prefix="tz"):
    index: int  # into crm.timezones.COMMON_TIMEZONES; -1 asks for a typed name


class SettingsCb(CallbackData, prefix="st"):
    action: str


class ElCb(CallbackData, prefix="el"):
    """An action on an element: show, timeline page, stage buttons, note, assign, convert."""

    action: str
    kind: str  # the code letters: L, C, CO, D
    id: int
    page: int = 0


class StageCb(CallbackData, prefix="sg"):
    kind: str
    id: int
    stage: int


class AssignCb(CallbackData, prefix="as"):
    kind: str
    id: int
    user: int


class DupCb(CallbackData, prefix="dp"):
    action: str  # "go": create anyway (the pending input is in the FSM data, never here)


class ListCb(CallbackData, prefix="ls"):
    what: str  # my, deals, leads, contacts, companies
    page: int


class ConvCb(CallbackData, prefix="cv"):
    """Lead conversion options; `flags` is a bit set: 1 contact, 2 company, 4 deal."""

    lead: int
    flags: int
    go: bool = False


class ModeCb(CallbackData, prefix="md"):
    """Classic → Simple options: `flags` 1 contact, 2 company, 8 keep activities open."""

    flags: int
    pipeline: int
    go: bool = False


class ActCb(CallbackData, prefix="ac"):
    """An activity button: done, snooze (s15, s60, tmr), open (the activity's card), edit,
    move (reschedule), del (asks), delok (deletes), delno."""

    action: str
    id: int


class TodoCb(CallbackData, prefix="td"):
    """The answer to "that time has passed today": tmr (same time tomorrow), keep, no.

    What it answers about is in the dialog's FSM data, never here."""

    action: str


class PickCb(CallbackData, prefix="pk"):
    """A choice for an element from a list: `what` is "pipe" (pipeline) or "src" (source)."""

    what: str
    kind: str
    id: int
    value: int
