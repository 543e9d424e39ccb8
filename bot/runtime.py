"""The domain's runtime from `Settings`: apart from `bot.factory` (which re-exports it) so that
the command line's database-only commands build it without importing aiogram and the
handlers."""

from __future__ import annotations

from datetime import timedelta

from bot.config import Settings
from crm.clock import Clock, SystemClock
from crm.context import CrmConfig, Runtime


def create_runtime(settings: Settings, clock: Clock | None = None) -> Runtime:
    config = CrmConfig(
        default_locale=settings.locale.default_locale,
        default_timezone=settings.locale.default_timezone,
        base_currency=settings.locale.base_currency,
        invite_ttl=timedelta(hours=settings.scheduler.invite_ttl_hours),
        merge_undo_window=timedelta(hours=settings.scheduler.merge_undo_hours),
    )
    return Runtime(config=config, clock=clock or SystemClock())
