"""Scheduled digests end to end: chosen in /settings with buttons and a typed time, sent by the
digest loops of TWO bot instances on one PostgreSQL database (the real dispatcher, the real
Bot over HTTP to one fake Bot API), with a clock moved by hand in half-hour steps across a DST
change. Each digest comes once, at its local time, only on the days chosen. Polish and Russian.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crm.context import Crm
from crm.enums import Role
from storage.models import DigestDelivery
from tests.fakeapi import Call
from tests.harness import FakeClock, TgUser, texts
from tests.test_e2e_triage_sla import Instances, two_instances

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.parametrize("backend", ["postgres"], indirect=True),
]

WAW = ZoneInfo("Europe/Warsaw")
Fresh = Callable[[], AbstractAsyncContextManager[Crm]]

# Thursday to the Wednesday after, around the last Sunday of March (clocks go forward at
# 02:00) and of October (back at 03:00): the Sunday itself and the Monday after are chosen.
WALKS = {
    "spring": (datetime(2027, 3, 25, 0, 0, tzinfo=UTC), date(2027, 3, 28)),
    "autumn": (datetime(2026, 10, 22, 0, 0, tzinfo=UTC), date(2026, 10, 25)),
}

TEXTS: dict[str, dict[str, Any]] = {
    "pl": {
        "boss": "Szef",
        "rep": "Ola",
        "button": "🗓 Podsumowanie",
        "team_screen": [
            "🗓 <b>Podsumowanie według harmonogramu</b>",
            "Podsumowanie Twojego zespołu: dni od poprzedniego — w wybrane dni, o godzinie "
            "poniżej.",
            "",
            "Stan: włączone",
            "Godzina: 08:30 (Europe/Warsaw)",
            "Dni: pon., wt., czw., pt., niedz.",
        ],
        "default_days": "Dni: pon., wt., śr., czw., pt.",
        "rep_screen": [
            "🗓 <b>Podsumowanie według harmonogramu</b>",
            "Twoje poranne podsumowanie: dzisiejsze działania, te po terminie i Twoje deale bez "
            "następnego kroku — w wybrane dni, o godzinie poniżej.",
            "",
            "Stan: wyłączone",
            "Godzina: 08:30 (Europe/Warsaw)",
            "Dni: pon., wt., śr., czw., pt.",
        ],
        "wednesday": "śr.",
        "sunday": "niedz.",
        "turn_on": "▶️ Włącz",
        "other": "⌨️ Inna godzina",
        "hint": "Wpisz godzinę podsumowania jako GG:MM, np. 08:45. /cancel, aby przerwać.",
        "bad": "„25:61” to nie godzina. Wpisz ją jako GG:MM, np. 08:45, albo /cancel.",
        "moved": (
            "Podsumowanie przychodzi o 07:00. 06:15 wypada w godzinach ciszy (22:00–07:00): "
            "podsumowanie przyjdzie o 07:00."
        ),
        "one_day": "Zostaw co najmniej jeden dzień. Żeby nie dostawać podsumowania, wyłącz je.",
        "team_title": "📊 <b>Podsumowanie: ",
        "deals": ("/deal Wdrożenie 1000 zł", "/deal Serwis 500 zł"),
        "todo": "/todo D1 za 2 godziny zadzwonić do klienta",
        "morning": "☀️ <b>Dzień dobry! Twój dzień, ",
        "overdue": "⚠️ 1 działanie po terminie",
        "unplanned": "🗓 <b>1 otwarty deal bez następnego działania</b>",
        "today_list": "<b>Dziś i po terminie</b>",
        "call": "zadzwonić do klienta",
    },
    "ru": {
        "boss": "Шеф",
        "rep": "Оля",
        "button": "🗓 Сводка",
        "team_screen": [
            "🗓 <b>Сводка по расписанию</b>",
            "Сводка по вашей команде: дни с предыдущей сводки — в выбранные дни, во время ниже.",
            "",
            "Состояние: включена",
            "Время: 08:30 (Europe/Warsaw)",
            "Дни: пн, вт, чт, пт, вс",
        ],
        "default_days": "Дни: пн, вт, ср, чт, пт",
        "rep_screen": [
            "🗓 <b>Сводка по расписанию</b>",
            "Ваша утренняя сводка: дела на сегодня, просроченные дела и ваши сделки без "
            "следующего шага — в выбранные дни, во время ниже.",
            "",
            "Состояние: выключена",
            "Время: 08:30 (Europe/Warsaw)",
            "Дни: пн, вт, ср, чт, пт",
        ],
        "wednesday": "ср",
        "sunday": "вс",
        "turn_on": "▶️ Включить",
        "other": "⌨️ Другое время",
        "hint": "Введите время сводки в виде ЧЧ:ММ, например 08:45. /cancel — отмена.",
        "bad": "«25:61» — это не время. Введите его в виде ЧЧ:ММ, например 08:45, или /cancel.",
        "moved": (
            "Сводка приходит в 07:00. 06:15 попадает в тихие часы (22:00–07:00): сводка придёт "
            "в 07:00."
        ),
        "one_day": "Оставьте хотя бы один день. Чтобы не получать сводку, выключите её.",
        "team_title": "📊 <b>Сводка: ",
        "deals": ("/deal Внедрение 1000 zł", "/deal Сервис 500 zł"),
        "todo": "/todo D1 через 2 часа позвонить клиенту",
        "morning": "☀️ <b>Доброе утро! Ваш день, ",
        "overdue": "⚠️ 1 просроченное дело",
        "unplanned": "🗓 <b>1 открытая сделка без следующего дела</b>",
        "today_list": "<b>Сегодня и просроченные</b>",
        "call": "позвонить клиенту",
    },
}


def screen(call: Call) -> list[str]:
    """The settings screen without the next digest's moment and the closing hint."""
    lines = call.text.splitlines()[:-1]
    return [line for line in lines if not line.startswith(("Następne:", "Следующая:"))]


def latest_screen(user: TgUser, title: str) -> Call:
    return next(c for c in reversed(user.inbox) if c.text.startswith(title))


def alert_text(calls: list[Call]) -> str:
    (answer,) = [c for c in calls if c.method == "answerCallbackQuery"]
    return str(answer.params.get("text", ""))


async def walk(run: Instances, clock: FakeClock, until: datetime) -> list[tuple[datetime, Call]]:
    """Every half hour until `until`, both instances' digest rounds at once; what the bot sent,
    with the moment it was sent."""
    loops = [run.a.app.digests(), run.b.app.digests()]
    sent: list[tuple[datetime, Call]] = []
    while clock.now() < until:
        clock.advance(minutes=30)
        start = len(run.tg.calls)
        await asyncio.gather(*(loop.round() for loop in loops))
        sent += [(clock.now(), c) for c in run.tg.calls[start:]]
    return sent


def local_days(sent: list[tuple[datetime, Call]], chat_id: int, prefix: str) -> list[date]:
    return [m.astimezone(WAW).date() for m, c in sent if c.chat_id == chat_id
            and c.text.startswith(prefix)]  # fmt: skip


@pytest.mark.parametrize("locale", ["pl", "ru"])
@pytest.mark.parametrize("season", ["spring", "autumn"])
async def test_each_digest_comes_once_at_its_local_time_across_a_dst_change(
    database_url: str, clock: FakeClock, fresh: Fresh, locale: str, season: str
) -> None:
    t = TEXTS[locale]
    start, change = WALKS[season]
    thursday = start.date()
    clock.set(start - timedelta(hours=20))  # Wednesday 05:00 or 06:00 in Warsaw: setting up
    async with two_instances(database_url, clock) as run:
        boss = await run.a.member(Role.MANAGER, t["boss"], language_code=locale, department="S")
        rep = await run.a.member(Role.REP, t["rep"], language_code=locale, department="S")

        # The manager: on by default (Monday–Friday, 08:30); drops Wednesday, adds Sunday.
        await boss.send("/settings")
        await boss.press(t["button"])
        title = t["team_screen"][0]
        assert screen(latest_screen(boss, title)) == [*t["team_screen"][:5], t["default_days"]]
        await boss.press(t["wednesday"])
        await boss.press(t["sunday"])
        assert screen(latest_screen(boss, title)) == t["team_screen"]

        # The rep: off by default; turned on, with a typed time in the quiet hours: 07:00.
        await rep.send("/settings")
        await rep.press(t["button"])
        assert screen(latest_screen(rep, title)) == t["rep_screen"]
        await rep.press(t["turn_on"])
        assert texts(await rep.press(t["other"])) == [t["hint"]]
        assert texts(await rep.send("25:61")) == [t["bad"]]
        assert texts(await rep.send("6:15"))[0] == t["moved"]
        for deal in t["deals"]:  # D1 gets an activity (overdue from today on), D2 nothing
            await rep.send(deal)
        await rep.send(t["todo"])

        sent = await walk(run, clock, start + timedelta(days=6, hours=12))

    boss_days = local_days(sent, boss.id, t["team_title"])
    expected = [thursday + timedelta(days=n) for n in (0, 1, 3, 4, 5)]  # no Saturday, Wednesday
    assert boss_days == expected, "once a day, on the days chosen"
    assert change in boss_days and change + timedelta(days=1) in boss_days
    for moment, call in sent:
        if call.chat_id == boss.id and call.text.startswith(t["team_title"]):
            assert moment.astimezone(WAW).time() == time(8, 30), "08:30 local, DST or not"
    # With each team digest its chart: the two open deals of the department, by stage (nothing
    # won or lost: no other chart), as a photo.
    photos = [(m, c) for m, c in sent if c.chat_id == boss.id and c.method == "sendPhoto"]
    assert [m.astimezone(WAW).date() for m, _c in photos] == expected
    assert all([name for name, _png in c.files.values()] == ["funnel.png"] for _m, c in photos)

    morning = [(m, c) for m, c in sent if c.chat_id == rep.id and c.text.startswith(t["morning"])]
    weekdays = [thursday + timedelta(days=n) for n in (-1, 0, 1, 4, 5, 6)]  # Mon–Fri, from Wed
    assert [m.astimezone(WAW).date() for m, _c in morning] == weekdays
    for number, (moment, call) in enumerate(morning):
        assert moment.astimezone(WAW).time() == time(7, 0)
        lines = call.text.splitlines()
        if number == 0:  # Wednesday: the call is due at 07:00, today's, not yet overdue
            assert lines[1:3] == ["", t["today_list"]] and not lines[3].startswith("1. ⚠️")
            lines.insert(1, t["overdue"])
        else:  # from Thursday on: overdue, still listed first
            assert lines[1] == t["overdue"] and lines[4].startswith("1. ⚠️")
        assert lines[3] == t["today_list"]
        assert t["call"] in lines[4] and "D1" in lines[4]
        assert [b["text"] for b in call.buttons] == ["✅ 1"]
    unplanned = [c for _m, c in sent if c.chat_id == rep.id and c.text.startswith("🗓 <b>")]
    assert len(unplanned) == len(weekdays)
    assert unplanned[0].text.splitlines()[0] == t["unplanned"] and "D2" in unplanned[0].text

    async with fresh() as crm:
        boss_user = await crm.users.by_telegram_id(boss.id)
        rep_user = await crm.users.by_telegram_id(rep.id)
        assert boss_user is not None and rep_user is not None
        rows = (await crm.repos.session.scalars(select(DigestDelivery))).all()
        keys = sorted((r.user_id, r.period_key) for r in rows)
        assert keys == sorted(
            [(boss_user.id, f"team:{d.isoformat()}") for d in expected]
            + [(rep_user.id, f"today:{d.isoformat()}") for d in weekdays]
        )
        assert {r.status for r in rows} == {"sent"} and all(r.sent_at for r in rows)
        plan = await crm.digests.plan(boss_user)
        assert plan.enabled and plan.minute == 8 * 60 + 30 and plan.days == {0, 1, 3, 4, 6}
        rep_plan = await crm.digests.plan(rep_user)
        assert rep_plan.enabled and rep_plan.minute == 6 * 60 + 15 and rep_plan.send_minute == 420


@pytest.mark.parametrize("locale", ["pl", "ru"])
async def test_the_last_day_stays_and_forged_buttons_change_nothing(
    database_url: str, clock: FakeClock, fresh: Fresh, locale: str
) -> None:
    t = TEXTS[locale]
    async with two_instances(database_url, clock) as run:
        rep = await run.a.member(Role.REP, t["rep"], language_code=locale)
        await rep.send("/settings")
        await rep.press(t["button"])
        days = t["default_days"].split(": ")[1].split(", ")
        for day in days[:-1]:
            await rep.press(day)
        assert alert_text(await rep.press(days[-1])) == t["one_day"]
        screen_call = latest_screen(rep, t["team_screen"][0])
        for forged in ("dg:d:9", "dg:t:5000", "dg:zz:0", "dg:t:-1"):
            calls = await rep.press_data(forged, screen_call)
            assert not [c for c in calls if c.method == "editMessageText"], forged
        assert alert_text(await rep.press(days[-1])) == t["one_day"]
    async with fresh() as crm:
        user = await crm.users.by_telegram_id(rep.id)
        assert user is not None
        plan = await crm.digests.plan(user)
        assert plan.days == {4} and not plan.enabled and plan.minute == 8 * 60 + 30
