"""End-to-end harness: the production app pointed at the fake Bot API, and test users.

A `Harness` runs the real dispatcher either by long polling the fake server or behind the
real aiohttp webhook app; a `TgUser` sends text and presses buttons by their label, and gets
back the Bot API calls the bot made while handling that update.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiogram.client.telegram import TelegramAPIServer
from aiohttp.test_utils import TestServer

from bot.app import App, open_app
from bot.config import Settings
from bot.pydantic_pins import PinningAiohttpSession
from bot.runner import create_webhook_app
from crm.clock import Clock
from crm.context import Crm
from crm.enums import Role
from tests.fakeapi import Call, FakeTelegram

TOKEN = "123456789:TEST-token-for-the-fake-bot-api-server"
WEBHOOK_SECRET = "test-secret_123"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = now

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)


@dataclass
class Harness:
    app: App
    tg: FakeTelegram
    mode: str
    webhook_url: str | None = None
    _ids = itertools.count(10_000)
    # People's message ids, one sequence for all: two users in one group never write the same
    # id, nor the same as the bot's own messages (the fake counts those from 1).
    _message_ids = itertools.count(1_000_001)

    async def deliver(self, update: dict[str, Any]) -> list[Call]:
        start = len(self.tg.calls)
        if self.mode == "webhook":
            assert self.webhook_url is not None
            status = await self.tg.post_update(self.webhook_url, update, WEBHOOK_SECRET)
            assert status == 200, f"webhook answered {status}"
        else:
            await self.tg.push_update(update)
        return self.tg.calls[start:]

    async def post(self, update: dict[str, Any], secret: str | None = WEBHOOK_SECRET) -> Posted:
        """POST an update to the webhook as Telegram does (again, to test a redelivery) and
        return the HTTP status with the Bot API calls made meanwhile, whatever the status."""
        assert self.webhook_url is not None, "post() needs the webhook harness"
        start = len(self.tg.calls)
        status = await self.tg.post_update(self.webhook_url, update, secret)
        return Posted(status, self.tg.calls[start:])

    def user(
        self,
        first_name: str = "Anna",
        *,
        language_code: str | None = "pl",
        user_id: int | None = None,
        chat: dict[str, Any] | None = None,
    ) -> TgUser:
        return TgUser(self, user_id or next(self._ids), first_name, language_code, chat)

    def group(self, title: str = "Sales team") -> dict[str, Any]:
        return {"id": -1_000_000_000_000 - next(self._ids), "type": "supergroup", "title": title}

    @asynccontextmanager
    async def crm(self) -> AsyncIterator[Crm]:
        async with self.app.sessionmaker() as session:
            yield Crm(session, self.app.runtime)

    async def invite(self, role: Role, name: str, department: str | None = None) -> str:
        async with self.crm() as crm:
            return (await crm.users.create_invite(role, name, department)).code

    async def member(
        self,
        role: Role = Role.REP,
        name: str = "Anna",
        *,
        language_code: str | None = "pl",
        department: str | None = None,
    ) -> TgUser:
        """A Telegram user bound to a new CRM user through a real /start <invite>."""
        user = self.user(name, language_code=language_code)
        code = await self.invite(role, name, department)
        replies = await user.send(f"/start {code}")
        assert replies and name in replies[-1].text, replies
        return user


class TgUser:
    def __init__(
        self,
        harness: Harness,
        user_id: int,
        first_name: str,
        language_code: str | None,
        chat: dict[str, Any] | None,
    ) -> None:
        self.h = harness
        self.id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self.chat = chat or {"id": user_id, "type": "private", "first_name": first_name}
        self._message_ids = harness._message_ids
        self.inbox: list[Call] = []

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def in_chat(self, chat: dict[str, Any]) -> TgUser:
        return TgUser(self.h, self.id, self.first_name, self.language_code, chat)

    async def send(self, text: str, **extra: Any) -> list[Call]:
        return await self._deliver(self.message_update(text, **extra))

    def message_update(self, text: str, **extra: Any) -> dict[str, Any]:
        """The update Telegram would deliver for this text (not sent)."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat,
            "from": self.payload,
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        message.update(extra)
        return {"update_id": self.h.tg.next_update_id(), "message": message}

    async def send_file(self, caption: str, file_name: str, content: bytes) -> list[Call]:
        """A document with a caption (a command in a caption is an entity, as in a text)."""
        update = self.message_update(caption)
        message = update["message"]
        del message["text"]
        message["caption"] = caption
        if "entities" in message:
            message["caption_entities"] = message.pop("entities")
        message["document"] = self.h.tg.upload(file_name, content)
        return await self._deliver(update)

    async def say(self, text: str, **extra: Any) -> tuple[dict[str, Any], list[Call]]:
        """Send like `send`, and also return the message sent (to edit or reply to it)."""
        update = self.message_update(text, **extra)
        return update["message"], await self._deliver(update)

    async def reply(self, text: str, to: dict[str, Any], **extra: Any) -> list[Call]:
        """A reply to a message (`to`: a message dict, e.g. a call's `result`)."""
        return await self.send(text, reply_to_message=to, **extra)

    async def edit(self, sent: dict[str, Any], text: str) -> list[Call]:
        """Edit a message this user sent (`sent`: its update's message) to a new text."""
        edited = {**sent, "text": text, "edit_date": int(time.time())}
        update = {"update_id": self.h.tg.next_update_id(), "edited_message": edited}
        return await self._deliver(update)

    async def share_contact(self, contact: dict[str, Any], **extra: Any) -> list[Call]:
        """Share (or, with `forward_origin`, forward) a Telegram contact card."""
        update = self.message_update("", **extra)
        del update["message"]["text"]
        update["message"]["contact"] = contact
        return await self._deliver(update)

    async def press(self, label: str, in_call: Call | None = None) -> list[Call]:
        """Press the button whose text contains `label` on the newest message that has it."""
        candidates = [in_call] if in_call else reversed(self.inbox)
        for call in candidates:
            for button in call.buttons:
                if label in button["text"] and "callback_data" in button:
                    return await self.press_data(button["callback_data"], call)
        raise AssertionError(f"no button {label!r} in the messages to {self.first_name}")

    async def press_data(self, data: str, call: Call | None = None) -> list[Call]:
        """Send a callback query with arbitrary data — also how a forged button is tested."""
        message = (call.result if call is not None else None) or {
            "message_id": 1,
            "date": int(time.time()),
            "chat": self.chat,
            "text": "…",
        }
        query = {
            "id": str(self.h.tg.next_update_id()),
            "from": self.payload,
            "chat_instance": "test",
            "message": message,
            "data": data,
        }
        return await self._deliver(
            {"update_id": self.h.tg.next_update_id(), "callback_query": query}
        )

    async def _deliver(self, update: dict[str, Any]) -> list[Call]:
        calls = await self.h.deliver(update)
        self.inbox.extend(c for c in calls if c.chat_id == self.chat["id"])
        return calls


class LoopbackSession(PinningAiohttpSession):
    """The production session, closed without aiogram's fixed 250 ms wait: that wait lets TLS
    connections shut down gracefully, and the fake Bot API is plain HTTP on loopback. Every
    request goes through the production class unchanged; the wait cost each test a quarter of
    a second."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


@dataclass
class Posted:
    status: int
    calls: list[Call]

    @property
    def texts(self) -> list[str]:
        return texts(self.calls)


def texts(calls: list[Call]) -> list[str]:
    return [c.text for c in calls if c.text]


@asynccontextmanager
async def running_harness(
    make_settings: Callable[[str], Settings],
    mode: str = "polling",
    clock: Clock | None = None,
    tg: FakeTelegram | None = None,
    **app_kwargs: Any,
) -> AsyncIterator[Harness]:
    """`make_settings` gets the fake server's base URL to use as TELEGRAM_API_URL. Instances
    given one `tg` talk to the same Telegram (webhook mode: one poller per token)."""
    shared = tg is not None
    tg = tg or FakeTelegram(TOKEN)
    settings = make_settings(tg.base_url if shared else await tg.start())
    assert settings.telegram.telegram_api_url, "the harness talks to the fake Bot API only"
    session = LoopbackSession(api=TelegramAPIServer.from_base(settings.telegram.telegram_api_url))
    async with open_app(
        settings, bot_session=session, clock=clock, run_migrations=False, **app_kwargs
    ) as app:
        if mode == "webhook":
            server = TestServer(create_webhook_app(app), host="127.0.0.1")
            await server.start_server()
            try:
                yield Harness(app, tg, mode, str(server.make_url(settings.webhook.path)))
            finally:
                await server.close()
        else:
            task = asyncio.create_task(
                app.dp.start_polling(
                    app.bot, handle_as_tasks=False, handle_signals=False, close_bot_session=False,
                    polling_timeout=5,
                )
            )  # fmt: skip
            await asyncio.wait_for(tg.polling.wait(), 10)
            try:
                yield Harness(app, tg, mode)
            finally:
                await tg.release_pollers()
                await app.dp.stop_polling()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, 10)
    if not shared:
        await tg.stop()
    # The bot broke a rule Telegram enforces (a test expecting that clears the list itself).
    assert tg.violations == [], f"Telegram would have refused: {tg.violations}"
