"""`crmbot run`: long polling, or an aiohttp webhook server when WEBHOOK_URL is set.

The webhook server also serves `POST /inbound/{token}` (bot/inbound.py). Long polling has no
server of its own; it starts a small one for that route on LISTEN_HOST:LISTEN_PORT when
INBOUND_SERVER says so (`auto`: when an active inbound source exists at start-up).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
import signal
from typing import Any

from aiogram import Bot
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.app import App
from bot.dispatcher import CrmDispatcher, ServiceUnavailable
from bot.inbound import add_inbound_route
from bot.middlewares.outages import Throttle
from crm.context import Crm

log = logging.getLogger(__name__)


async def run(app: App) -> None:
    # Everything built so far lives as long as the process: keep it out of the collector's
    # sweeps, which otherwise pause every update for tens of milliseconds now and then.
    gc.freeze()
    background = None
    if app.settings.scheduler.run_scheduler:
        background = app.background()
        background.start()
    try:
        await app.publish_commands()
        if app.settings.webhook.webhook_url:
            await run_webhook(app)
        else:
            await run_polling(app)
    finally:
        if background is not None:
            # Reminders in flight finish and are recorded; the rest go back to the queue.
            await background.stop()


async def run_polling(app: App) -> None:
    # A webhook left set would make getUpdates fail with 409 Conflict.
    await app.bot.delete_webhook(drop_pending_updates=False)
    runner = None
    if await serves_inbound(app):
        settings = app.settings.webhook
        runner = web.AppRunner(create_inbound_app(app), handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, settings.listen_host, settings.listen_port).start()
        log.info("inbound endpoint listening on %s:%s", settings.listen_host, settings.listen_port)
    log.info("long polling started")
    try:
        await app.dp.start_polling(
            app.bot,
            allowed_updates=app.dp.resolve_used_update_types(),
            handle_signals=True,
            close_bot_session=False,
        )
    finally:
        if runner is not None:
            await runner.cleanup()


SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookHandler(SimpleRequestHandler):
    """aiogram's handler, answering what Telegram's retry logic needs to hear.

    401 for a wrong (or undecodable) secret and 400 for a body that is not an update, both
    without a traceback; 503 while the database or Redis is unreachable, so that Telegram
    delivers the update again; 200 once the update is handled — also when only its reply
    failed after the effect was committed (a redelivery would not repeat it anyway).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rejections = Throttle()  # a flood of bad requests logs one line a minute

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        if not self.secret_token:
            return True
        # Header values are decoded with surrogateescape; compare bytes, whatever was sent.
        given = telegram_secret_token.encode("utf-8", "surrogateescape")
        return secrets.compare_digest(given, self.secret_token.encode())

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), bot):
            if self.rejections.allow("secret"):
                log.warning("webhook request with a wrong secret token from %s", request.remote)
            return web.Response(text="Unauthorized", status=401)
        try:
            raw = await request.json(loads=bot.session.json_loads)
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            update = Update.model_validate(raw, context={"bot": bot})
        except ValueError as exc:  # JSON, encoding and pydantic validation errors alike
            if self.rejections.allow("body"):
                log.warning("webhook request that is not an update: %s", type(exc).__name__)
            return web.Response(text="Bad Request", status=400)
        dispatcher = self.dispatcher
        assert isinstance(dispatcher, CrmDispatcher)
        try:
            result = await dispatcher.feed_update_or_refuse(bot, update, **self.data)
        except ServiceUnavailable:
            return web.Response(
                text="Service Unavailable", status=503, headers={"Retry-After": "60"}
            )
        method = result if isinstance(result, TelegramMethod) else None
        return web.Response(body=self._build_response_writer(bot=bot, result=method))


def create_webhook_app(app: App) -> web.Application:
    """The aiohttp application: the webhook route and a health check for load balancers.

    Updates are handled before Telegram gets its answer (`handle_in_background=False`): if the
    process dies mid-update, Telegram delivers it again instead of it being lost, and the
    `processed_updates` marker keeps a committed one from being handled twice.
    """
    secret = app.settings.webhook.webhook_secret
    web_app = web.Application(client_max_size=1024 * 1024)
    WebhookHandler(
        dispatcher=app.dp,
        bot=app.bot,
        secret_token=secret.get_secret_value() if secret else None,
        handle_in_background=False,
    ).register(web_app, path=app.settings.webhook.path)

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app.router.add_get("/healthz", health)
    add_inbound_route(web_app, app)
    setup_application(web_app, app.dp, bot=app.bot)
    return web_app


def create_inbound_app(app: App) -> web.Application:
    """With long polling: a small server of the inbound endpoint and the health check only."""
    web_app = web.Application(client_max_size=1024 * 1024)

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app.router.add_get("/healthz", health)
    add_inbound_route(web_app, app)
    return web_app


async def serves_inbound(app: App) -> bool:
    """Whether long polling also serves `POST /inbound/{token}` (INBOUND_SERVER)."""
    wanted = app.settings.inbound.inbound_server
    if wanted != "auto":
        return wanted == "on"
    async with app.sessionmaker() as session:
        return await Crm(session, app.runtime).inbound.any_active()


async def run_webhook(app: App) -> None:
    settings = app.settings.webhook
    web_app = create_webhook_app(app)
    runner = web.AppRunner(web_app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.listen_host, settings.listen_port)
    await site.start()
    await app.bot.set_webhook(
        url=settings.webhook_url or "",
        secret_token=settings.webhook_secret.get_secret_value()
        if settings.webhook_secret
        else None,
        allowed_updates=app.dp.resolve_used_update_types(),
        drop_pending_updates=False,
    )
    log.info("webhook server listening on %s:%s", settings.listen_host, settings.listen_port)
    try:
        await wait_for_stop_signal()
    finally:
        # The webhook stays registered: other instances behind the balancer keep serving it.
        await runner.cleanup()


async def wait_for_stop_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
        log.info("stop signal received, shutting down")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
