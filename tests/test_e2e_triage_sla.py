"""The unclaimed-request SLA end to end, with two bot instances on one database (SQLite file and
PostgreSQL) and both of their SLA loops running at once: the real dispatcher, the real Bot over
HTTP to one fake Bot API, a hand-moved clock. In Polish and Russian (the group's `/lang`)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.app import open_app
from bot.callbacks import TriageCb
from bot.runner import create_webhook_app
from crm.enums import Role
from crm.triage import Incoming, Origin
from scheduler.triage_sla import TriageSla
from tests.conftest import make_settings
from tests.fakeapi import Call, FakeTelegram
from tests.harness import TOKEN, FakeClock, Harness, TgUser, texts

pytestmark = pytest.mark.asyncio

MONDAY_9 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 09:00 in Warsaw

TEXTS: dict[str, dict[str, Any]] = {
    "pl": {
        "waiting_for": "⏰ Zgłoszenie #{id} wciąż czeka. {name}, podejmij je.",
        "waiting": "⏰ Zgłoszenie #{id} wciąż czeka: nikt go nie podjął.",
        "escalated": "⚠️ Nikt nie podjął zgłoszenia #{id} w grupie Zapytania od 2 minut.",
        "open": "🔎 Otwórz",
        "escalate_set": (
            "Eskalacja: zgłoszenie niepodjęte przez 120 s trafia prywatnie do kierownika działu."
        ),
        "hours_set": (
            "Godziny pracy: pon.–pt. 09:00–18:00 (Europe/Warsaw). Poza nimi czas kolejki stoi, "
            "a klient piszący do bota dostaje automatyczną odpowiedź."
        ),
        "hours_off": "Godziny pracy: zawsze otwarte.",
        "hours_bad": "Nie rozumiem godzin pracy w miejscu „18:00-09:00”.",
        "escalate_usage": "Użycie: <code>/triage escalate 600</code>",
        "zone_bad": "Nieznana strefa czasowa: Atlantyda.",
        "auto": (
            "Dziękujemy za wiadomość! Teraz nie pracujemy — odpowiemy, gdy tylko wrócimy.\n"
            "Nasze godziny pracy: pon.–pt. 09:00–18:00 (Europe/Warsaw)."
        ),
        "names": ("Ola", "Ala"),
        "title": "Zapytania",
        "client": "Dzień dobry, proszę o ofertę na 10 licencji",
    },
    "ru": {
        "waiting_for": "⏰ Обращение #{id} всё ещё ждёт. {name}, возьмите его.",
        "waiting": "⏰ Обращение #{id} всё ещё ждёт: его никто не взял.",
        "escalated": "⚠️ Обращение #{id} в группе Zapytania никто не взял уже 2 минуты.",
        "open": "🔎 Открыть",
        "escalate_set": (
            "Эскалация: обращение, которое никто не взял за 120 с, уходит руководителю отдела в "
            "личные сообщения."
        ),
        "hours_set": (
            "Часы работы: пн–пт 09:00–18:00 (Europe/Warsaw). Вне их время очереди не идёт, а "
            "клиент, написавший боту, получает автоответ."
        ),
        "hours_off": "Часы работы: без ограничений.",
        "hours_bad": "Не удалось разобрать часы работы в месте «18:00-09:00».",
        "escalate_usage": "Использование: <code>/triage escalate 600</code>",
        "zone_bad": "Неизвестный часовой пояс: Atlantyda.",
        "auto": (
            "Спасибо за сообщение! Сейчас мы не работаем и ответим, как только вернёмся.\n"
            "Наши часы работы: пн–пт 09:00–18:00 (Europe/Warsaw)."
        ),
        "names": ("Оля", "Аля"),
        "title": "Zapytania",
        "client": "Здравствуйте, пришлите, пожалуйста, предложение на 10 лицензий",
    },
}


@dataclass
class Instances:
    """Two bot instances behind one fake Bot API, sharing the database."""

    tg: FakeTelegram
    a: Harness  # people's updates arrive here
    b: Harness
    sla: list[TriageSla]

    async def rounds(self, times: int = 1) -> None:
        """Both SLA loops at once, then both couriers, as the instances' jobs run them."""
        for _ in range(times):
            await asyncio.gather(*(loop.round() for loop in self.sla))
            await asyncio.gather(self.a.app.courier.round(), self.b.app.courier.round())
            await asyncio.gather(self.a.app.relay.round(), self.b.app.relay.round())


@asynccontextmanager
async def two_instances(
    database_url: str, clock: FakeClock, **scheduler: Any
) -> AsyncIterator[Instances]:
    tg = FakeTelegram(TOKEN)
    api = await tg.start()
    settings = make_settings(database_url, api, None, scheduler=scheduler)
    async with (
        open_app(settings, clock=clock, run_migrations=False) as app_a,
        open_app(settings, clock=clock, run_migrations=False) as app_b,
    ):
        servers = [TestServer(create_webhook_app(app), host="127.0.0.1") for app in (app_a, app_b)]
        for server in servers:
            await server.start_server()
        try:
            a, b = (
                Harness(app, tg, "webhook", str(server.make_url(settings.webhook.path)))
                for app, server in zip((app_a, app_b), servers, strict=True)
            )
            yield Instances(tg, a, b, [app_a.triage_sla(), app_b.triage_sla()])
        finally:
            for server in servers:
                await server.close()
    await tg.stop()
    assert tg.violations == [], f"Telegram would have refused: {tg.violations}"


@dataclass
class Team:
    group: dict[str, Any]
    boss: TgUser  # the department head, in the group
    reps: list[TgUser]  # in the group


async def team(h: Harness, locale: str, mode: str) -> Team:
    group = h.group(TEXTS[locale]["title"])
    boss = await h.member(Role.MANAGER, "Boss", language_code=locale, department="Sprzedaż")
    in_group = boss.in_chat(group)
    await in_group.send(f"/lang {locale}")
    assert texts(await in_group.send("/triage on"))
    reps = []
    for name in TEXTS[locale]["names"]:
        rep = (await h.member(Role.REP, name, language_code=locale)).in_chat(group)
        await rep.send("/triage")  # seen acting in the group: a member of the queue
        reps.append(rep)
    await in_group.send(f"/triage mode {mode}")
    return Team(group, in_group, reps)


def escalations(tg: FakeTelegram, chat_id: int) -> list[Call]:
    return [c for c in tg.sent(chat_id, "sendMessage") if c.text.startswith("⚠️")]


def announcements(tg: FakeTelegram, group: dict[str, Any]) -> list[Call]:
    return [c for c in tg.sent(group["id"], "sendMessage") if c.text.startswith("⏰")]


async def client_writes(h: Harness, team: Team, text: str) -> tuple[int, Call]:
    client = h.user("Jan", language_code=None).in_chat(team.group)
    calls = await client.send(text)
    card = next(c for c in calls if c.method == "sendMessage" and "#" in c.text)
    found = re.search(r"#(\d+)", card.text)
    assert found is not None
    return int(found[1]), card


@pytest.mark.parametrize("locale", ["pl", "ru"])
async def test_an_untaken_request_passes_on_and_is_announced_once(
    database_url: str, clock: FakeClock, locale: str
) -> None:
    t = TEXTS[locale]
    async with two_instances(database_url, clock) as run:
        crew = await team(run.a, locale, "strictly")  # in order: Boss, then the two reps
        request_id, card = await client_writes(run.a, crew, t["client"])
        await run.rounds()
        clock.advance(seconds=59)
        await run.rounds(3)
        assert announcements(run.tg, crew.group) == []

        clock.advance(seconds=1)  # the queue time ran out: to the next in order, announced
        await run.rounds(3)
        said = announcements(run.tg, crew.group)
        first = t["waiting_for"].format(id=request_id, name=t["names"][0])
        assert [c.text for c in said] == [first]
        assert said[0].params["reply_parameters"]["message_id"] == card.result["message_id"]
        assert said[0].params.get("message_thread_id") is None

        clock.advance(seconds=60)
        await run.rounds(3)
        second = t["waiting_for"].format(id=request_id, name=t["names"][1])
        assert [c.text for c in announcements(run.tg, crew.group)] == [first, second]

        # Taken: never announced again.
        take = TriageCb(action="take", id=request_id).pack()
        taken = await crew.reps[1].press_data(take, card)
        assert any(c.method == "answerCallbackQuery" for c in taken)
        for _ in range(5):
            clock.advance(seconds=60)
            await run.rounds()
        assert len(announcements(run.tg, crew.group)) == 2


@pytest.mark.parametrize("locale", ["pl", "ru"])
async def test_in_everybody_mode_it_is_announced_to_all_and_offered_to_nobody(
    database_url: str, clock: FakeClock, locale: str
) -> None:
    t = TEXTS[locale]
    async with two_instances(database_url, clock) as run:
        crew = await team(run.a, locale, "everybody")
        ids = []
        for i in range(3):
            clock.advance(seconds=3)  # the group's send slot (20 messages a minute) is free
            ids.append((await client_writes(run.a, crew, f"{t['client']} ({i})"))[0])
        await run.rounds()
        clock.advance(seconds=61)
        await run.rounds(4)  # one announcement per send slot of the group
        for _ in range(3):
            clock.advance(seconds=3)
            await run.rounds()
        said = sorted(c.text for c in announcements(run.tg, crew.group))
        assert said == sorted(t["waiting"].format(id=i) for i in ids)


@pytest.mark.parametrize("locale", ["pl", "ru"])
async def test_escalation_reaches_the_head_once_and_open_shows_the_card(
    database_url: str, clock: FakeClock, locale: str
) -> None:
    t = TEXTS[locale]
    async with two_instances(database_url, clock) as run:
        crew = await team(run.a, locale, "everybody")
        assert texts(await crew.boss.send("/triage escalate abc"))[0].startswith(
            t["escalate_usage"]
        )
        assert texts(await crew.boss.send("/triage escalate 120")) == [t["escalate_set"]]
        request_id, _card = await client_writes(run.a, crew, t["client"])
        boss_chat = crew.boss.id
        for _ in range(2):
            await run.rounds()
            clock.advance(seconds=60)
        clock.advance(seconds=-1)
        await run.rounds(2)
        assert escalations(run.tg, boss_chat) == [], "not before 120 s"
        clock.advance(seconds=1)
        await run.rounds(3)
        for _ in range(3):
            clock.advance(seconds=60)
            await run.rounds()
        told = escalations(run.tg, boss_chat)
        assert len(told) == 1
        assert told[0].text.splitlines()[0] == t["escalated"].format(id=request_id)
        assert t["client"] in told[0].text
        assert [b["text"] for b in told[0].buttons] == [t["open"]]

        head = crew.boss.in_chat({"id": boss_chat, "type": "private", "first_name": "Boss"})
        opened = await head.press(t["open"], told[0])
        shown = [c for c in opened if c.method == "sendMessage" and c.chat_id == boss_chat]
        assert len(shown) == 1 and t["client"] in shown[0].text
        assert f"#{request_id}" in shown[0].text

        # A stranger pressing the same button learns nothing.
        stranger = run.a.user("Obcy", language_code=locale)
        answered = await stranger.press_data(told[0].buttons[0]["callback_data"], told[0])
        assert not any(t["client"] in (c.text or "") for c in answered)


@pytest.mark.parametrize("locale", ["pl", "ru"])
async def test_nothing_happens_at_night_and_the_clock_resumes_in_the_morning(
    database_url: str, clock: FakeClock, locale: str
) -> None:
    t = TEXTS[locale]
    clock.set(MONDAY_9 + timedelta(hours=8, minutes=59, seconds=30))  # 17:59:30 in Warsaw
    async with two_instances(database_url, clock) as run:
        crew = await team(run.a, locale, "strictly")
        boss = crew.boss
        assert texts(await boss.send("/triage hours 1-5 18:00-09:00"))[0].startswith(
            t["hours_bad"]
        )
        assert texts(await boss.send("/triage hours 1-5 9:00-18:00 Atlantyda")) == [t["zone_bad"]]
        assert texts(await boss.send("/triage hours off")) == [t["hours_off"]]
        assert texts(await boss.send("/triage hours 1-5 09:00-18:00 Europe/Warsaw")) == [
            t["hours_set"]
        ]
        request_id, _card = await client_writes(run.a, crew, t["client"])
        await run.rounds()
        clock.advance(minutes=20)  # 18:19:30: closed
        # A client who wrote to the bot (the private relay builds these; here, the domain).
        async with run.a.crm() as crm:
            queue = await crm.triage.queue_of(crew.group["id"])
            assert queue is not None
            await crm.triage.receive(
                queue,
                Incoming(origin=Origin.BOT, text="?", chat_id=4242, message_id=1,
                         author_tg_id=4242, author_name="Klient", locale=locale),
            )  # fmt: skip
        tuesday_9 = MONDAY_9 + timedelta(days=1)
        for _ in range(44):  # every 20 minutes of the night, until 08:59:30
            clock.advance(minutes=20)
            await run.rounds()
        clock.set(tuesday_9 + timedelta(seconds=20))
        await run.rounds()
        assert announcements(run.tg, crew.group) == []
        assert escalations(run.tg, boss.id) == []
        assert [c.text for c in run.tg.sent(4242, "sendMessage")] == [t["auto"]]

        clock.set(tuesday_9 + timedelta(seconds=30))  # 30 s were left at 18:00
        await run.rounds(3)
        said = announcements(run.tg, crew.group)
        assert [c.text for c in said] == [
            t["waiting_for"].format(id=request_id, name=t["names"][0])
        ]
        assert len(run.tg.sent(4242, "sendMessage")) == 1  # the auto-reply, once


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_scheduled_jobs_do_it_on_their_own(database_url: str, clock: FakeClock) -> None:
    """APScheduler wakes each instance's SLA loop; the announcement still goes out once."""
    t = TEXTS["pl"]
    async with two_instances(database_url, clock, triage_sla_poll_seconds=0.05) as run:
        crew = await team(run.a, "pl", "everybody")
        request_id, _card = await client_writes(run.a, crew, t["client"])
        backgrounds = [run.a.app.background(), run.b.app.background()]
        for background in backgrounds:
            background.start()
        try:
            clock.advance(seconds=61)
            for _ in range(400):  # until a loop has done it (each wakes every 0.05 s)
                if announcements(run.tg, crew.group):
                    break
                await asyncio.sleep(0.05)
            await asyncio.gather(*(bg.loop_of(TriageSla).round() for bg in backgrounds))
        finally:
            for background in backgrounds:
                await background.stop()
        assert [c.text for c in announcements(run.tg, crew.group)] == [
            t["waiting"].format(id=request_id)
        ]
