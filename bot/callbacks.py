"""Callback data: short prefixes, ids only (64 bytes at most), never trusted by handlers."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class LangCb(CallbackData, prefix="lg"):
    code: str


class TzCb(CallbackData, prefix="tz"):
    index: int  # into crm.timezones.COMMON_TIMEZONES; -1 asks for a typed name


class SettingsCb(CallbackData, prefix="st"):
    action: str
