from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import LangCb, SettingsCb, TzCb
from crm.locales import LOCALE_NAMES, SUPPORTED_LOCALES
from crm.timezones import COMMON_TIMEZONES


def languages_kb() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code in SUPPORTED_LOCALES:
        kb.button(text=LOCALE_NAMES[code], callback_data=LangCb(code=code))
    kb.adjust(3)
    return kb.as_markup()


def timezones_kb() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for index, name in enumerate(COMMON_TIMEZONES):
        kb.button(text=name, callback_data=TzCb(index=index))
    kb.button(text=_("Other…"), callback_data=TzCb(index=-1))
    kb.adjust(2)
    return kb.as_markup()


def settings_kb() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Language"), callback_data=SettingsCb(action="lang"))
    kb.button(text=_("Time zone"), callback_data=SettingsCb(action="tz"))
    kb.button(text=_("🗓 Digest"), callback_data=SettingsCb(action="dg"))
    kb.adjust(2, 1)
    return kb.as_markup()
