"""Composition root: every long-lived object is built here, from `Settings`, and nowhere else.

Production (`crmbot run`), the offline console and the tests build the dispatcher with the same
`create_dispatcher`, so what the tests exercise is what runs.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.digests import make_deliver as make_digest_deliver
from bot.dispatcher import CrmDispatcher
from bot.edits import NotModifiedIsDone
from bot.i18n import CrmI18nMiddleware
from bot.middlewares import (
    AccessGateMiddleware,
    CrmUserMiddleware,
    DatabaseMiddleware,
    ErrorReplyMiddleware,
    StaleDialogMiddleware,
    TriageQueueMiddleware,
)
from bot.pydantic_pins import PinningAiohttpSession
from bot.relay import make_send
from bot.runtime import create_runtime as create_runtime  # its home before bot.runtime
from bot.sender import Sender, SendLimits
from bot.triage import make_post
from bot.triage_sla import make_escalate
from crm.context import Runtime
from handlers import get_routers
from scheduler.digests import DigestCourier
from scheduler.relay import RelayCourier
from scheduler.triage import TriageCourier
from scheduler.triage_sla import TriageSla

log = logging.getLogger(__name__)

# A syntactically valid token for the offline console and tests; it never reaches Telegram.
OFFLINE_TOKEN = "1000000001:offline-console-token-not-for-telegram"


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    if session is None:
        session = PinningAiohttpSession()
        if settings.telegram.telegram_api_url:
            session.api = TelegramAPIServer.from_base(settings.telegram.telegram_api_url)
    token = settings.telegram.bot_token
    session.middleware(NotModifiedIsDone())
    return Bot(
        token=token.get_secret_value() if token else OFFLINE_TOKEN,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def create_sender(settings: Settings, bot: Bot) -> Sender:
    limits = SendLimits(
        global_per_second=settings.sender.send_rate_per_second,
        per_chat_interval=settings.sender.send_chat_interval,
        group_per_minute=settings.sender.send_group_per_minute,
    )
    return Sender(bot, limits)


def create_storage(settings: Settings, prefix: str = "crm") -> BaseStorage:
    if settings.redis.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        return RedisStorage.from_url(
            settings.redis.redis_url,
            # An unreachable Redis fails an update within seconds (a localized "try again"
            # and 503), instead of hanging it; the client reconnects by itself afterwards.
            connection_kwargs={"socket_connect_timeout": 5, "socket_timeout": 5},
            key_builder=DefaultKeyBuilder(prefix=prefix, with_bot_id=True, with_destiny=True),
        )
    return MemoryStorage()


def create_courier(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    runtime: Runtime,
    sender: Sender,
    i18n: I18n,
) -> TriageCourier:
    """Cards in triage groups, paced to the group limit across instances (one slot each
    60 / SEND_GROUP_PER_MINUTE seconds, shared through the database)."""
    interval = 60.0 / settings.sender.send_group_per_minute
    return TriageCourier(
        sessionmaker,
        runtime,
        make_post(sender, i18n),
        group_interval=timedelta(seconds=interval),
        lease=timedelta(seconds=settings.scheduler.reminder_lease_seconds / 2),
    )


def create_triage_sla(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    runtime: Runtime,
    sender: Sender,
    i18n: I18n,
    courier: TriageCourier,
    relay: RelayCourier,
) -> TriageSla:
    """The unclaimed-request SLA: passes and re-announcements (through the courier), the
    head's private message (through the sender), auto-replies (through the relay's outbox)."""
    lease = timedelta(seconds=settings.scheduler.reminder_lease_seconds / 2)
    max_wait = lease.total_seconds() / 4  # a longer 429 hands the message back for later
    return TriageSla(
        sessionmaker,
        runtime,
        make_escalate(sender, i18n, max_wait=max_wait),
        courier=courier,
        outbox=relay.wake,
        lease=lease,
    )


def create_digests(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    runtime: Runtime,
    sender: Sender,
    i18n: I18n,
) -> DigestCourier:
    """Scheduled digests, once per user and period across instances (crm/digests.py)."""
    lease = timedelta(seconds=max(60.0, settings.scheduler.reminder_lease_seconds))
    return DigestCourier(
        sessionmaker,
        runtime,
        make_digest_deliver(sender, i18n, max_wait=lease.total_seconds() / 4),
        lease=lease,
    )


def create_relay(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    runtime: Runtime,
    sender: Sender,
    i18n: I18n,
    courier: TriageCourier,
) -> RelayCourier:
    """Clients' chats with the bot and the triage group (answers, notices, copies, edits),
    from the outbox; copies into a group share the cards' send slot."""
    interval = 60.0 / settings.sender.send_group_per_minute
    return RelayCourier(
        sessionmaker,
        runtime,
        make_send(sender, i18n),
        card_changed=courier.deliver,
        group_interval=timedelta(seconds=interval),
        lease=timedelta(seconds=settings.scheduler.reminder_lease_seconds / 2),
    )


def create_dispatcher(
    *,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    runtime: Runtime,
    i18n: I18n,
    storage: BaseStorage,
    sender: Sender,
    courier: TriageCourier,
    relay: RelayCourier,
) -> CrmDispatcher:
    isolation = None
    if hasattr(storage, "create_isolation") and settings.redis.redis_url:
        isolation = storage.create_isolation()
    dp = CrmDispatcher(
        i18n=i18n,
        storage=storage,
        events_isolation=isolation,
        settings=settings,
        runtime=runtime,
        sessionmaker=sessionmaker,
        sender=sender,
        courier=courier,
        relay=relay,
    )
    # Order matters: each middleware reads what the previous one put into the data.
    dp.update.outer_middleware(DatabaseMiddleware(sessionmaker, runtime))
    dp.update.outer_middleware(CrmUserMiddleware())
    dp.update.outer_middleware(TriageQueueMiddleware())
    dp.update.outer_middleware(CrmI18nMiddleware(i18n))
    dp.update.outer_middleware(AccessGateMiddleware())
    dp.update.outer_middleware(ErrorReplyMiddleware())
    dp.callback_query.outer_middleware(StaleDialogMiddleware())
    dp.include_routers(*get_routers())
    return dp
