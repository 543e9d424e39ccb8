"""Scheduled jobs. Each opens its own unit of work; arguments are primitives only."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm import maintenance
from crm.context import Crm, Runtime

log = logging.getLogger(__name__)


async def purge_expired_invites(
    sessionmaker: async_sessionmaker[AsyncSession], runtime: Runtime
) -> int:
    async with sessionmaker() as session:
        removed = await maintenance.purge_expired_invites(Crm(session, runtime))
    if removed:
        log.info("removed %d expired invite(s)", removed)
    return removed


async def purge_processed_updates(
    sessionmaker: async_sessionmaker[AsyncSession], runtime: Runtime
) -> int:
    async with sessionmaker() as session:
        removed = await maintenance.purge_processed_updates(Crm(session, runtime))
    if removed:
        log.info("forgot %d processed update marker(s)", removed)
    return removed
