"""The database or Redis goes away and comes back, with the bot running all along.

The app talks to PostgreSQL and Redis through a TCP proxy the test cuts and restores (SQLite:
the database file is taken away). While a service is down every update gets one localized
"temporarily unavailable" (however often Telegram redelivers it), the webhook answers 503 so
that Telegram delivers it again later, and the log has one line per cause — no tracebacks.
When the service is back, the same process works again, and the redelivered update is
handled exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.factory import create_storage
from crm.enums import Role
from storage.models import Deal
from tests.conftest import RedisTarget, make_settings
from tests.harness import FakeClock, Harness, TgUser, running_harness, texts
from tests.tcpproxy import TcpProxy

UNAVAILABLE = {
    "pl": "CRM jest chwilowo niedostępny, spróbuj ponownie za minutę.",
    "ru": "CRM временно недоступна, попробуйте через минуту.",
}
OUTAGE_LOGGER = "bot.middlewares.outages"


@dataclass
class Plant:
    """The services behind the running app, and the switches to break them."""

    harness: Harness
    backend: str
    db_proxy: TcpProxy | None
    redis_proxy: TcpProxy | None
    sqlite_path: Path | None

    async def cut_database(self) -> None:
        if self.db_proxy is not None:
            self.db_proxy.cut()
            return
        assert self.sqlite_path is not None
        # The pool's open connections go (as on a lost disk); new ones cannot open the file.
        await self.harness.app.engine.dispose()
        for path in self._sqlite_files():
            path.rename(path.with_name(path.name + ".away"))
        self.sqlite_path.mkdir()

    def restore_database(self) -> None:
        if self.db_proxy is not None:
            self.db_proxy.restore()
            return
        assert self.sqlite_path is not None
        self.sqlite_path.rmdir()
        for away in self.sqlite_path.parent.glob(self.sqlite_path.name + "*.away"):
            away.rename(away.with_name(away.name.removesuffix(".away")))

    def _sqlite_files(self) -> list[Path]:
        assert self.sqlite_path is not None
        return [
            p for p in self.sqlite_path.parent.glob(self.sqlite_path.name + "*") if p.is_file()
        ]

    async def deals(self) -> int:
        async with self.harness.app.sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(Deal)) or 0)


async def plant_for(
    backend: str,
    database_url: str,
    delivery: str,
    clock: FakeClock,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Plant]:
    db_proxy = redis_proxy = None
    sqlite_path = None
    redis: RedisTarget | None = None
    url = database_url
    if backend == "postgres":
        redis = request.getfixturevalue("redis_target")
        db_proxy = TcpProxy("127.0.0.1", 5432)
        url = database_url.replace("127.0.0.1:5432", f"127.0.0.1:{await db_proxy.start()}")
        assert url != database_url
        redis_proxy = TcpProxy("127.0.0.1", 6379)
        port = await redis_proxy.start()
        redis_url = redis.url.replace("127.0.0.1:6379", f"127.0.0.1:{port}")
        assert redis_url != redis.url
    else:
        sqlite_path = Path(database_url.split("///", 1)[1])

    def settings_for(api_url: str) -> Settings:
        return make_settings(url, api_url, redis_url if redis else None)

    storage = create_storage(settings_for(""), prefix=redis.prefix) if redis else None
    try:
        async with running_harness(settings_for, delivery, clock, storage=storage) as h:
            yield Plant(h, backend, db_proxy, redis_proxy, sqlite_path)
    finally:
        for proxy in (db_proxy, redis_proxy):
            if proxy is not None:
                await proxy.stop()


@pytest.fixture
async def plant(
    backend: str,
    database_url: str,
    delivery: str,
    clock: FakeClock,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Plant]:
    async for plant in plant_for(backend, database_url, delivery, clock, request):
        yield plant


def outage_lines(caplog: pytest.LogCaptureFixture, level: int = logging.ERROR) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == OUTAGE_LOGGER and r.levelno == level
    ]


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info]


async def people(plant: Plant) -> tuple[TgUser, TgUser]:
    anna = await plant.harness.member(Role.REP, "Anna")
    ivan = await plant.harness.member(Role.REP, "Иван", language_code="ru-RU")
    return anna, ivan


async def refused_everything(
    plant: Plant, caplog: pytest.LogCaptureFixture, cause: str, anna: TgUser, ivan: TgUser
) -> dict[str, dict]:
    """Both write while `cause` is down; return their updates (to redeliver later)."""
    h = plant.harness
    updates = {
        "pl": anna.message_update("/lead Jan Kowalski +48 600 100 200 5000 zł strona"),
        "ru": ivan.message_update("/deal Пётр Сидоров 10к руб поставка"),
    }
    for lang, user in (("pl", anna), ("ru", ivan)):
        first = await h.post(updates[lang])
        assert first.status == 503
        assert first.texts == [UNAVAILABLE[lang]]  # told at once, in their language
        assert first.calls[0].chat_id == user.id
        for _ in range(3):  # Telegram redelivers: 503 again, and no second message
            again = await h.post(updates[lang])
            assert (again.status, again.calls) == (503, [])
    # Whatever else they send meanwhile: other commands, plain text, a button.
    others = [
        anna.message_update("/today"),
        anna.message_update("zwykły tekst"),
        ivan.message_update("/help"),
        ivan.message_update("/D1"),
    ]
    for update in others:
        posted = await h.post(update)
        assert posted.status == 503
        assert len(posted.texts) == 1
    press = {
        "update_id": h.tg.next_update_id(),
        "callback_query": {
            "id": "77",
            "from": ivan.payload,
            "chat_instance": "x",
            "data": "el:open:D:1",
            "message": {"message_id": 1, "date": 0, "chat": ivan.chat, "text": "…"},
        },
    }
    pressed = await h.post(press)
    assert pressed.status == 503
    assert [(c.method, c.params.get("text")) for c in pressed.calls] == [
        ("answerCallbackQuery", UNAVAILABLE["ru"])
    ]
    # 15 updates refused: one log line, no traceback.
    lines = outage_lines(caplog)
    assert len(lines) == 1 and lines[0].startswith(f"{cause} unavailable"), lines
    assert tracebacks(caplog) == []
    return updates


async def everything_works_again(plant: Plant, updates: dict[str, dict]) -> None:
    h = plant.harness
    # Telegram's redelivery once the service is back: handled, and exactly once.
    pl = await h.post(updates["pl"])
    assert pl.status == 200
    assert pl.texts[0].startswith("Utworzono: deal D1")
    again = await h.post(updates["pl"])
    assert again.status == 200
    assert again.texts == ["Utworzono /D1, /C1; nie udało się pokazać karty."]
    ru = await h.post(updates["ru"])
    assert ru.status == 200
    assert ru.texts[0].startswith("Создано: сделка D2")
    assert await plant.deals() == 2


@pytest.mark.parametrize("delivery", ["webhook"], indirect=True)
async def test_database_outage_is_one_word_a_503_and_one_log_line(
    plant: Plant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    anna, ivan = await people(plant)
    await plant.cut_database()
    updates = await refused_everything(plant, caplog, "database", anna, ivan)
    plant.restore_database()
    await everything_works_again(plant, updates)
    assert outage_lines(caplog, logging.WARNING) == ["database reachable again"]
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("delivery", ["webhook"], indirect=True)
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_redis_outage_is_one_word_a_503_and_one_log_line(
    plant: Plant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert plant.redis_proxy is not None
    anna, ivan = await people(plant)
    plant.redis_proxy.cut()
    updates = await refused_everything(plant, caplog, "redis", anna, ivan)
    assert await plant.deals() == 0
    plant.redis_proxy.restore()
    await everything_works_again(plant, updates)
    assert outage_lines(caplog, logging.WARNING) == ["redis reachable again"]
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("delivery", ["polling"], indirect=True)
async def test_database_outage_in_long_polling_answers_and_logs_once(
    plant: Plant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    anna, ivan = await people(plant)
    await plant.cut_database()
    for _ in range(3):
        assert texts(await anna.send("/deal oferta 100 zł")) == [UNAVAILABLE["pl"]]
        assert texts(await ivan.send("/deal поставка")) == [UNAVAILABLE["ru"]]
    assert len(outage_lines(caplog)) == 1
    assert tracebacks(caplog) == []
    plant.restore_database()
    assert texts(await anna.send("/deal oferta 100 zł"))[0].startswith("Utworzono: deal D1")
    assert texts(await ivan.send("/D1"))[0]  # any answer: the bot is back for everyone
    assert await plant.deals() == 1
    assert tracebacks(caplog) == []
