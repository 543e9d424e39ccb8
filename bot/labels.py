"""Localized names of domain values."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from crm.enums import Role


def role_name(role: Role) -> str:
    names = {
        Role.ADMIN: _("administrator"),
        Role.MANAGER: _("manager"),
        Role.REP: _("sales rep"),
    }
    return names[role]
