"""Gettext catalogs (Babel) and the CRM's own locale resolution.

aiogram's `I18n` loads compiled `.mo` files only, so `ensure_compiled()` compiles any `.po`
that is newer than its `.mo` before the catalogs are loaded: a fresh checkout needs no manual
step, and an edited translation is picked up on the next start.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from crm.locales import SUPPORTED_LOCALES, match_locale

DOMAIN = "messages"
log = logging.getLogger(__name__)


def ensure_compiled(locales_dir: Path, domain: str = DOMAIN) -> list[Path]:
    """Compile stale or missing `.mo` files; return the ones written."""
    written: list[Path] = []
    for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{domain}.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parts[-3], domain=domain)
        tmp_path = mo_path.with_suffix(f".mo.{os.getpid()}.tmp")
        try:
            with tmp_path.open("wb") as mo_file:
                write_mo(mo_file, catalog, use_fuzzy=False)
            tmp_path.replace(mo_path)  # atomic: an instance starting at once reads whole files
        except OSError as exc:
            if not mo_path.exists():
                raise
            # A read-only install (a container image) keeps the catalogs compiled at build time.
            log.warning("could not recompile %s (%s); using the compiled one", mo_path, exc)
            continue
        written.append(mo_path)
    if written:
        log.info("compiled %d catalog(s) in %s", len(written), locales_dir)
    return written


def in_locale(i18n: I18n, locale: str | None, render: Callable[[], str]) -> str:
    """`render()` with `i18n`'s gettext in `locale` (the default one for None): texts made
    outside an update, such as the command line's."""
    with i18n.context(), i18n.use_locale(locale or i18n.default_locale):
        return render()


def create_i18n(locales_dir: Path, default_locale: str) -> I18n:
    ensure_compiled(locales_dir)
    return I18n(path=locales_dir, default_locale=default_locale, domain=DOMAIN)


class CrmI18nMiddleware(I18nMiddleware):
    """Group chat → the chat's language; private → the user's choice → Telegram's → default.

    Runs after the user middleware, which puts `crm_user` and `crm_chat` into the data.
    """

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        chat = data.get("event_chat")
        if chat is not None and chat.type != "private":
            crm_chat = data.get("crm_chat")
            if crm_chat is not None and crm_chat.locale:
                return str(crm_chat.locale)
            return self.i18n.default_locale
        crm_user = data.get("crm_user")
        if crm_user is not None and crm_user.locale in SUPPORTED_LOCALES:
            return str(crm_user.locale)
        tg_user = data.get("event_from_user")
        matched = match_locale(tg_user.language_code if tg_user else None)
        return matched or self.i18n.default_locale
