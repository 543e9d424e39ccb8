"""Housekeeping that runs on a schedule, outside any update."""

from __future__ import annotations

from crm.context import Crm


async def purge_expired_invites(crm: Crm) -> int:
    removed = await crm.repos.invites.delete_expired(crm.runtime.clock.now())
    await crm.repos.commit()
    return removed
