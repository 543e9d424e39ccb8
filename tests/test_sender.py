"""The rate-limited sender against the fake Bot API, over real HTTP, in virtual time.

`VirtualTime` is a discrete-event clock: it stands still while any task can run or any HTTP
request is in flight, and jumps to the earliest sleeper's deadline only when everything is
blocked. So sends that would overlap in real time share one virtual instant, and the timing
assertions are exact and independent of the machine's speed.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import socket
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import SendChatAction, TelegramMethod
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from bot.sender import Blocked, Sender, SendFailed, SendLimits
from tests.fakeapi import FakeTelegram
from tests.harness import TOKEN

LIFTED = SendLimits(global_per_second=1e6, per_chat_interval=0, group_per_minute=10**9)


class VirtualTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []  # every delay the sender asked for
        self.requests: list[tuple[float, str, Any]] = []  # (virtual time, method, chat_id)
        self.inflight = 0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(delay, 0.0), next(self._seq), future))
        await future

    async def record(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Any:
        """aiogram request middleware: the virtual time at which each request is made."""
        self.requests.append((self.now, type(method).__name__, getattr(method, "chat_id", None)))
        self.inflight += 1
        try:
            return await make_request(bot, method)
        finally:
            self.inflight -= 1

    def times(self, chat_id: Any = None) -> list[float]:
        return [t for t, _, chat in self.requests if chat_id is None or chat == chat_id]

    async def _settle(self) -> None:
        # Idle = no request in flight and nothing became runnable for a few loop turns
        # (a lock hand-over or a returning request needs one or two).
        quiet = 0
        while quiet < 20:
            if self.inflight:
                quiet = 0
                await asyncio.sleep(0.001)  # real I/O to the fake server
            else:
                quiet += 1
                await asyncio.sleep(0)

    async def run(self, *aws: Coroutine[Any, Any, Any]) -> list[Any]:
        """Run the coroutines to the end, advancing virtual time; results or exceptions."""
        tasks = [asyncio.ensure_future(a) for a in aws]
        while True:
            await self._settle()
            if all(t.done() for t in tasks):
                break
            if not self._sleepers:
                for t in tasks:
                    t.cancel()
                raise AssertionError("deadlock: tasks blocked but nobody sleeps")
            self.now = max(self.now, self._sleepers[0][0])
            while self._sleepers and self._sleepers[0][0] <= self.now:
                _, _, future = heapq.heappop(self._sleepers)
                if not future.done():
                    future.set_result(None)
        return await asyncio.gather(*tasks, return_exceptions=True)

    async def one(self, aw: Coroutine[Any, Any, Any]) -> Any:
        (result,) = await self.run(aw)
        if isinstance(result, BaseException):
            raise result
        return result


def max_in_window(times: list[float], period: float) -> int:
    """The most events in any half-open window [t, t + period)."""
    ordered = sorted(times)
    best = 0
    for i, start in enumerate(ordered):
        best = max(best, sum(1 for t in ordered[i:] if t < start + period))
    return best


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram(TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def vt() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
async def bot(tg: FakeTelegram, vt: VirtualTime) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url))
    session.middleware(vt.record)
    bot = Bot(token=TOKEN, session=session)
    yield bot
    await bot.session.close()


def make_sender(bot: Bot, vt: VirtualTime, limits: SendLimits | None = None) -> Sender:
    return Sender(bot, limits or SendLimits(), clock=vt.clock, sleep=vt.sleep)


def delivered(tg: FakeTelegram, chat_id: int) -> list[str]:
    return [m["text"] for (chat, _), m in sorted(tg.messages.items()) if chat == chat_id]


# --- (a) the global rate ----------------------------------------------------------------------
async def test_global_rate_never_exceeds_30_in_any_second(
    tg: FakeTelegram, bot: Bot, vt: VirtualTime
) -> None:
    sender = make_sender(bot, vt)
    results = await vt.run(*(sender.send_message(1000 + i, f"m{i}") for i in range(100)))

    assert not [r for r in results if isinstance(r, BaseException)]
    assert len(tg.sent(method="sendMessage")) == 100
    times = vt.times()
    assert len(times) == 100
    assert max_in_window(times, 1.0) == 30
    # Not slower than needed either: 30 + 30 + 30 + 10 over four virtual seconds.
    assert sorted(set(times)) == [0.0, 1.0, 2.0, 3.0]


async def test_global_rate_is_a_setting(tg: FakeTelegram, bot: Bot, vt: VirtualTime) -> None:
    sender = make_sender(bot, vt, SendLimits(global_per_second=5))
    await vt.run(*(sender.send_message(1000 + i, "x") for i in range(12)))
    assert max_in_window(vt.times(), 1.0) == 5
    assert max(vt.times()) == 2.0


async def test_slow_global_rate_below_one_per_second(
    tg: FakeTelegram, bot: Bot, vt: VirtualTime
) -> None:
    sender = make_sender(bot, vt, SendLimits(global_per_second=0.5))
    await vt.run(*(sender.send_message(1000 + i, "x") for i in range(3)))
    assert vt.times() == [0.0, 2.0, 4.0]


# --- (b) one private chat ---------------------------------------------------------------------
async def test_one_chat_gets_one_message_per_second_in_order(
    tg: FakeTelegram, bot: Bot, vt: VirtualTime
) -> None:
    sender = make_sender(bot, vt)
    await vt.run(*(sender.send_message(42, f"n{i}") for i in range(5)))

    times = vt.times(42)
    assert len(times) == 5
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))
    assert times == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert delivered(tg, 42) == ["n0", "n1", "n2", "n3", "n4"]  # submission order kept


# --- (c) groups -------------------------------------------------------------------------------
async def test_group_gets_at_most_20_per_minute(
    tg: FakeTelegram, bot: Bot, vt: VirtualTime
) -> None:
    group = -100_123
    sender = make_sender(bot, vt)
    results = await vt.run(*(sender.send_message(group, f"g{i}") for i in range(45)))

    assert not [r for r in results if isinstance(r, BaseException)]
    times = vt.times(group)
    assert len(times) == 45
    assert max_in_window(times, 60.0) == 20
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))
    assert times[19] == 19.0 and times[20] == 60.0  # the 21st waits for the first to age out
    assert delivered(tg, group) == [f"g{i}" for i in range(45)]


async def test_a_busy_group_does_not_hold_back_another_group(
    tg: FakeTelegram, bot: Bot, vt: VirtualTime
) -> None:
    sender = make_sender(bot, vt)
    await vt.run(
        *(sender.send_message(-1, f"a{i}") for i in range(21)), sender.send_message(-2, "b")
    )
    assert vt.times(-2) == [0.0]
    assert vt.times(-1)[-1] == 60.0


# --- (d) 429 ----------------------------------------------------------------------------------
async def test_429_waits_retry_after_then_delivers_once(
    tg: FakeTelegram, bot: Bot, vt: VirtualTime
) -> None:
    tg.fail("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    sender = make_sender(bot, vt)

    message = await vt.one(sender.send_message(7, "hello"))

    assert message.text == "hello"
    assert 3 in vt.sleeps and max(vt.sleeps) >= 3
    assert vt.times(7) == [0.0, 3.0]  # two requests: the refused one and the retry
    assert len(tg.sent(7)) == 2
    assert delivered(tg, 7) == ["hello"]  # delivered exactly once


async def test_429_retries_are_bounded(tg: FakeTelegram, bot: Bot, vt: VirtualTime) -> None:
    tg.fail("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2, times=10)
    sender = make_sender(bot, vt, SendLimits(max_retries=3))

    with pytest.raises(SendFailed) as caught:
        await vt.one(sender.send_message(7, "hello"))

    assert caught.value.chat_id == 7
    assert "gave up after 3 retries" in caught.value.reason
    assert len(tg.sent(7)) == 4  # the first attempt and three retries
    assert vt.sleeps == [2.0, 2.0, 2.0]
    assert delivered(tg, 7) == []


# --- (e) 403, (f) 400 -------------------------------------------------------------------------
async def test_403_raises_blocked_without_retry(
    tg: FakeTelegram, bot: Bot, vt: VirtualTime
) -> None:
    tg.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=9)
    sender = make_sender(bot, vt)

    with pytest.raises(Blocked) as caught:
        await vt.one(sender.send_message(9, "hello"))

    assert caught.value.chat_id == 9
    assert len(tg.sent(9)) == 1
    assert vt.sleeps == []
    # The chat stays usable for the next caller (e.g. after the user unblocks the bot).
    assert (await vt.one(sender.send_message(9, "again"))).text == "again"


async def test_400_raises_send_failed_without_retry(
    tg: FakeTelegram, bot: Bot, vt: VirtualTime
) -> None:
    tg.fail("sendMessage", 400, "Bad Request: chat not found")
    sender = make_sender(bot, vt)

    with pytest.raises(SendFailed) as caught:
        await vt.one(sender.send_message(9, "hello"))

    assert caught.value.chat_id == 9
    assert "chat not found" in caught.value.reason
    assert len(tg.sent(9)) == 1
    assert vt.sleeps == []


async def test_5xx_is_retried_with_exponential_backoff(
    tg: FakeTelegram, bot: Bot, vt: VirtualTime
) -> None:
    tg.fail("sendMessage", 502, "Bad Gateway", times=3)
    # No per-chat spacing, so that every sleep is a backoff (with it, a retry also waits for
    # the chat's interval: the failed attempt reached Telegram).
    sender = make_sender(bot, vt, SendLimits(per_chat_interval=0))

    assert (await vt.one(sender.send_message(5, "hi"))).text == "hi"
    assert vt.sleeps == [0.5, 1.0, 2.0]
    assert len(tg.sent(5)) == 4
    assert delivered(tg, 5) == ["hi"]


async def test_network_errors_are_retried_then_reported(vt: VirtualTime) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    session = AiohttpSession(api=TelegramAPIServer.from_base(f"http://127.0.0.1:{port}"))
    session.middleware(vt.record)
    bot = Bot(token=TOKEN, session=session)
    try:
        sender = make_sender(bot, vt, SendLimits(per_chat_interval=0, max_retries=4))
        with pytest.raises(SendFailed) as caught:
            await vt.one(sender.send_message(5, "hi"))
    finally:
        await bot.session.close()

    assert "TelegramNetworkError" in caught.value.reason
    assert TOKEN not in caught.value.reason
    assert vt.sleeps == [0.5, 1.0, 2.0, 4.0]
    assert len(vt.requests) == 5


# --- (g) concurrency across chats -------------------------------------------------------------
async def test_other_chats_are_not_serialized_behind_a_slow_one(
    tg: FakeTelegram, bot: Bot, vt: VirtualTime
) -> None:
    tg.fail("sendMessage", 429, "Too Many Requests: retry after 30", chat_id=1, retry_after=30)
    sender = make_sender(bot, vt)

    results = await vt.run(
        *(sender.send_message(1, f"slow{i}") for i in range(3)),
        *(sender.send_message(chat, "fast") for chat in (2, 3, 4)),
    )

    assert not [r for r in results if isinstance(r, BaseException)]
    for chat in (2, 3, 4):
        assert vt.times(chat) == [0.0]  # all went out while chat 1 was waiting
    assert vt.times(1) == [0.0, 30.0, 31.0, 32.0]
    assert delivered(tg, 1) == ["slow0", "slow1", "slow2"]


async def test_requests_to_different_chats_overlap_in_flight(
    tg: FakeTelegram, bot: Bot, vt: VirtualTime
) -> None:
    """A slow HTTP answer for one chat does not hold back the requests to other chats."""
    finished: list[int] = []

    async def slow_chat_one(
        make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Any:
        chat_id = getattr(method, "chat_id", None)
        if chat_id == 1:
            vt.inflight += 1  # a request hanging on the network, in real time
            try:
                await asyncio.sleep(0.3)
            finally:
                vt.inflight -= 1
        result = await make_request(bot, method)
        finished.append(chat_id)  # type: ignore[arg-type]
        return result

    bot.session.middleware(slow_chat_one)  # after vt.record: chat 1 was asked first
    sender = make_sender(bot, vt)

    await vt.run(*(sender.send_message(chat, "x") for chat in range(1, 11)))
    assert vt.requests[0][2] == 1
    assert finished[-1] == 1 and sorted(finished[:-1]) == list(range(2, 11))
    assert vt.times() == [0.0] * 10


# --- (h) lifted limits ------------------------------------------------------------------------
async def test_lifted_limits_send_1000_messages(
    tg: FakeTelegram, bot: Bot, vt: VirtualTime
) -> None:
    sender = make_sender(bot, vt, LIFTED)
    results = await vt.run(*(sender.send_message(1 + i % 10, f"m{i}") for i in range(1000)))

    assert not [r for r in results if isinstance(r, BaseException)]
    assert len(tg.sent(method="sendMessage")) == 1000
    assert vt.sleeps == []  # nothing waited
    assert set(vt.times()) == {0.0}


async def test_infinite_rate_disables_the_global_limiter(
    tg: FakeTelegram, bot: Bot, vt: VirtualTime
) -> None:
    sender = make_sender(bot, vt, SendLimits(global_per_second=float("inf")))
    await vt.run(*(sender.send_message(1000 + i, "x") for i in range(200)))
    assert vt.times() == [0.0] * 200


# --- the rest of the API ----------------------------------------------------------------------
async def test_kwargs_reach_telegram(tg: FakeTelegram, bot: Bot, vt: VirtualTime) -> None:
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Open", callback_data="deal:1")]]
    )
    sender = make_sender(bot, vt)
    await vt.one(sender.send_message(-1005, "topic", reply_markup=markup, message_thread_id=4))
    (call,) = tg.sent(-1005)
    assert call.params["message_thread_id"] == 4
    assert [b["text"] for b in call.buttons] == ["Open"]


async def test_send_document_and_generic_call(tg: FakeTelegram, bot: Bot, vt: VirtualTime) -> None:
    sender = make_sender(bot, vt)
    tg.fail("sendDocument", 429, "Too Many Requests: retry after 1", retry_after=1)
    document = BufferedInputFile(b"BEGIN:VCALENDAR\r\n", filename="crm.ics")

    message = await vt.one(sender.send_document(8, document, caption="calendar"))
    assert message.document is not None and message.document.file_name == "crm.ics"
    assert list(tg.sent(8, "sendDocument")[-1].files.values()) == [
        ("crm.ics", b"BEGIN:VCALENDAR\r\n")
    ]  # the file went again with the retry

    assert await vt.one(sender.call(8, SendChatAction(chat_id=8, action="typing"))) is True
    assert [name for _, name, _ in vt.requests] == [
        "SendDocument",
        "SendDocument",
        "SendChatAction",
    ]
    assert vt.times(8) == [0.0, 1.0, 2.0]  # the per-chat spacing covers every method

    with pytest.raises(ValueError):
        await sender.call(8, SendChatAction(chat_id=9, action="typing"))


async def test_idle_chats_are_forgotten(tg: FakeTelegram, bot: Bot, vt: VirtualTime) -> None:
    sender = make_sender(bot, vt, SendLimits(global_per_second=1e6))
    await vt.run(*(sender.send_message(1000 + i, "x") for i in range(1500)))
    await vt.run(*(sender.send_message(-1 - i, "x") for i in range(600)))
    assert sender.tracked_chats == 2100  # all recent: nothing may be forgotten yet

    await vt.run(vt.sleep(61))  # every chat's limits have lapsed
    await vt.run(*(sender.send_message(5000 + i, "x") for i in range(100)))
    assert sender.tracked_chats <= 100 + 1


async def test_logs_carry_neither_text_nor_token(
    tg: FakeTelegram, bot: Bot, vt: VirtualTime, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Client Kowalski owes 10 000 zł"
    tg.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    tg.fail("sendMessage", 400, "Bad Request: message is too long", chat_id=3)
    tg.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=4)
    sender = make_sender(bot, vt)
    with caplog.at_level(logging.DEBUG, logger="bot.sender"):
        await vt.run(*(sender.send_message(chat, secret) for chat in (2, 3, 4)))
    assert caplog.records
    assert secret not in caplog.text and TOKEN not in caplog.text


def test_limits_are_validated() -> None:
    for bad in (
        {"global_per_second": 0},
        {"per_chat_interval": -1},
        {"group_per_minute": 0},
        {"max_retries": -1},
    ):
        with pytest.raises(ValueError):
            SendLimits(**bad)  # type: ignore[arg-type]
