"""The running application: engine, bot, dispatcher and friends, opened and closed together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.fsm.storage.base import BaseStorage
from aiogram.utils.i18n import I18n
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.dispatcher import CrmDispatcher
from bot.factory import (
    create_bot,
    create_courier,
    create_digests,
    create_dispatcher,
    create_relay,
    create_runtime,
    create_sender,
    create_storage,
    create_triage_sla,
)
from bot.i18n import create_i18n
from bot.reminders import make_deliver
from bot.sender import Sender
from crm.clock import Clock
from crm.context import Runtime
from crm.locales import SUPPORTED_LOCALES
from handlers.help import bot_commands
from scheduler import create_scheduler
from scheduler.digests import DigestCourier
from scheduler.loop import WakeLoop
from scheduler.relay import RelayCourier
from scheduler.reminders import ReminderEngine
from scheduler.setup import Polled
from scheduler.triage import TriageCourier
from scheduler.triage_sla import TriageSla
from storage import migrate
from storage.db import create_engine, create_sessionmaker

log = logging.getLogger(__name__)

L = TypeVar("L", bound=WakeLoop)
CATCH_UP_SECONDS = 2.0  # cards and relayed messages left pending are looked at this often


@dataclass(slots=True)
class App:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    runtime: Runtime
    i18n: I18n
    storage: BaseStorage
    bot: Bot
    dp: CrmDispatcher
    sender: Sender
    courier: TriageCourier
    relay: RelayCourier

    def background(self) -> Background:
        """Housekeeping and the reminder engine, as `crmbot run`, `crmbot scheduler` and the
        console run them: `start()`, then `await stop()` on the way out."""
        engine = self.reminder_engine()
        settings = self.settings.scheduler
        # Stopped in this order: the SLA hands cards to the courier, the courier to the relay.
        every: list[tuple[WakeLoop, float, str]] = [
            (self.triage_sla(), settings.triage_sla_poll_seconds, "triage_sla"),
            (self.courier, CATCH_UP_SECONDS, "triage_courier"),
            (self.relay, CATCH_UP_SECONDS, "relay_courier"),
            (self.digests(), settings.digest_poll_seconds, "digest_courier"),
        ]
        scheduler = create_scheduler(
            self.sessionmaker,
            self.runtime,
            engine,
            settings.reminder_poll_seconds,
            loops=[Polled(*each) for each in every],
        )
        loops = [loop for loop, _seconds, _id in every]
        return Background(scheduler, engine, settings.shutdown_grace_seconds, loops)

    def digests(self) -> DigestCourier:
        """The scheduled-digest loop of this instance (each instance has its own)."""
        return create_digests(
            self.settings, self.sessionmaker, self.runtime, self.sender, self.i18n
        )

    def triage_sla(self) -> TriageSla:
        return create_triage_sla(
            self.settings, self.sessionmaker, self.runtime, self.sender, self.i18n, self.courier,
            self.relay,
        )  # fmt: skip

    def reminder_engine(self) -> ReminderEngine:
        settings = self.settings.scheduler
        lease = timedelta(seconds=settings.reminder_lease_seconds)
        limits = self.sender.limits
        deliver = make_deliver(
            self.sender, self.i18n, self.runtime, max_wait=lease.total_seconds() / 4
        )
        return ReminderEngine(
            self.sessionmaker,
            self.runtime,
            deliver,
            batch_size=settings.reminder_batch,
            lease=lease,
            rate=limits.global_per_second,
            chat_interval=limits.per_chat_interval,
        )

    async def publish_commands(self) -> None:
        """The command menu in every language (Telegram picks by the client's language)."""
        await self.bot.set_my_commands(bot_commands(self.i18n, self.i18n.default_locale))
        for locale in SUPPORTED_LOCALES:
            await self.bot.set_my_commands(bot_commands(self.i18n, locale), language_code=locale)


@dataclass(slots=True)
class Background:
    """APScheduler (the clock), the reminder engine and the loops it wakes, started and
    stopped together."""

    scheduler: AsyncIOScheduler
    engine: ReminderEngine
    grace: float
    loops: list[WakeLoop]

    def loop_of(self, kind: type[L]) -> L:
        """This instance's loop of that kind (tests drive one round by hand)."""
        return next(loop for loop in self.loops if isinstance(loop, kind))

    def start(self) -> None:
        self.engine.start()
        for loop in self.loops:
            loop.start()
        self.scheduler.start()

    async def stop(self) -> None:
        """Stop waking; let the reminders in flight finish and settle; hand back the rest."""
        if self.scheduler.running:
            # A wake-up submitted a moment ago is let finish: APScheduler would log a cancelled
            # job as an error with a traceback.
            self.scheduler.pause()
            for _ in range(3):
                await asyncio.sleep(0)
            self.scheduler.shutdown(wait=False)
        await self.engine.stop(self.grace)
        for loop in self.loops:
            await loop.stop()


@asynccontextmanager
async def open_app(
    settings: Settings,
    *,
    bot_session: BaseSession | None = None,
    clock: Clock | None = None,
    run_migrations: bool = True,
    storage: BaseStorage | None = None,
) -> AsyncIterator[App]:
    engine = create_engine(settings.database.database_url, echo=settings.database.database_echo)
    try:
        if run_migrations:
            await migrate.upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        runtime = create_runtime(settings, clock)
        i18n = create_i18n(settings.locale.locales_dir, settings.locale.default_locale)
        storage = storage or create_storage(settings)
        bot = create_bot(settings, bot_session)
        sender = create_sender(settings, bot)
        courier = create_courier(settings, sessionmaker, runtime, sender, i18n)
        relay = create_relay(settings, sessionmaker, runtime, sender, i18n, courier)
        dp = create_dispatcher(
            settings=settings,
            sessionmaker=sessionmaker,
            runtime=runtime,
            i18n=i18n,
            storage=storage,
            sender=sender,
            courier=courier,
            relay=relay,
        )
        try:
            yield App(
                settings, engine, sessionmaker, runtime, i18n, storage, bot, dp, sender, courier,
                relay,
            )  # fmt: skip
        finally:
            await bot.session.close()
            await storage.close()
    finally:
        await engine.dispose()
