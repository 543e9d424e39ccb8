"""A bot process under test: the CRM's real webhook app, or a bare aiogram echo handler.

`python -m bench.server --target crm|echo --token T --api-url URL [--database-url URL]`
listens on a free loopback port and prints one JSON line (`{"port": ..., "path": ...}`)
when it accepts updates; SIGTERM stops it. Both targets use the same `Bot` (the product's
`create_bot`: aiohttp session, the fake Bot API's URL), the same `SimpleRequestHandler`
with `handle_in_background=False` and the same secret check, and the product's logging set-up.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported at run time only once the target has chosen the import order
    from aiogram import Bot
    from aiohttp import web

    from bot.config import Settings

WEBHOOK_SECRET = "bench-secret_0123456789"
WEBHOOK_URL = "https://crm.example.test/telegram/webhook"


def make_settings(token: str, api_url: str, database_url: str | None = None) -> Settings:
    """Like `tests/conftest.make_settings`: no `.env`, memory FSM, no scheduler."""
    from bot.config import load_settings

    overrides: dict[str, dict[str, object]] = {
        "telegram": {"bot_token": token, "telegram_api_url": api_url, "bot_username": "b"},
        "webhook": {"webhook_url": WEBHOOK_URL, "webhook_secret": WEBHOOK_SECRET},
        "redis": {"redis_url": None},
        "locale": {"default_locale": "pl", "default_timezone": "Europe/Warsaw"},
        "scheduler": {"run_scheduler": False},
    }
    if database_url:
        overrides["database"] = {"database_url": database_url}
    return load_settings(env_file=None, **overrides)


def echo_webhook_app(settings: Settings) -> tuple[web.Application, Bot]:
    from aiogram import Dispatcher, Router
    from aiogram.types import Message
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
    from aiohttp import web

    from bot.factory import create_bot

    router = Router(name="echo")

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dp = Dispatcher()
    dp.include_router(router)
    bot = create_bot(settings)
    web_app = web.Application(client_max_size=1024 * 1024)
    SimpleRequestHandler(
        dispatcher=dp, bot=bot, secret_token=WEBHOOK_SECRET, handle_in_background=False
    ).register(web_app, path=settings.webhook.path)
    setup_application(web_app, dp, bot=bot)
    return web_app, bot


async def serve_app(web_app: web.Application, path: str) -> None:
    from aiohttp import web

    from bot.runner import wait_for_stop_signal

    runner = web.AppRunner(web_app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(json.dumps({"port": port, "path": path}), flush=True)
    try:
        await wait_for_stop_signal()
    finally:
        await runner.cleanup()


async def serve(args: argparse.Namespace) -> None:
    settings = make_settings(args.token, args.api_url, args.database_url)
    if args.target == "echo":
        web_app, bot = echo_webhook_app(settings)
        try:
            await serve_app(web_app, settings.webhook.path)
        finally:
            await bot.session.close()
        return
    from bot.app import open_app
    from bot.runner import create_webhook_app

    # As `crmbot run` does: open the app (migrations included; at head they do nothing).
    async with open_app(settings) as app:
        await serve_app(create_webhook_app(app), settings.webhook.path)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.server")
    parser.add_argument("--target", choices=["crm", "echo"], required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--database-url")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    if args.target == "crm" and not args.database_url:
        parser.error("--database-url is required with --target crm")
    # The CRM imports its `bot` package first, as `crmbot` does (it sets up aiogram's types to
    # build lazily); the echo handler gets aiogram as it ships, every type built at import.
    importlib.import_module("aiogram" if args.target == "echo" else "bot")
    from bot.logs import setup_logging

    setup_logging(args.log_level, [args.token, WEBHOOK_SECRET])
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
