"""Housekeeping that runs on a schedule, outside any update."""

from __future__ import annotations

from datetime import timedelta

from crm.context import Crm

# Telegram stops redelivering an update after about a day; two days of markers cover it.
PROCESSED_UPDATES_KEPT = timedelta(hours=48)


async def purge_expired_invites(crm: Crm) -> int:
    removed = await crm.repos.invites.delete_expired(crm.runtime.clock.now())
    await crm.repos.commit()
    return removed


async def purge_processed_updates(crm: Crm, kept: timedelta = PROCESSED_UPDATES_KEPT) -> int:
    """Forget the markers of updates handled longer ago than Telegram could redeliver them."""
    removed = await crm.repos.processed_updates.delete_older_than(crm.runtime.clock.now() - kept)
    await crm.repos.commit()
    return removed
