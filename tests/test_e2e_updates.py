"""Each update handled once, and a failed reply that still tells the person what was done.

Through the real webhook app: the reply to `/lead` fails after the commit (the fake Bot API
answers 500), Telegram redelivers the update — exactly one deal, and the person reads what was
created, never "nothing was changed".
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.enums import Role
from scheduler import jobs
from storage.models import Deal, ProcessedUpdate, Reminder, User
from tests.harness import FakeClock, Harness, texts

pytestmark = pytest.mark.parametrize("delivery", ["webhook"], indirect=True)

LANGS = {
    "pl": {
        "name": "Anna",
        "line": "/lead Jan Kowalski +48 600 100 200 5000 zł strona internetowa",
        "created": "Utworzono /D1, /C1; nie udało się pokazać karty.",
        "card": "Utworzono: deal D1",
        "nothing": "Nic nie zostało zmienione",
    },
    "ru": {
        "name": "Иван",
        "line": "/lead Пётр Сидоров 8 (916) 123-45-67 10к руб поставка",
        "created": "Создано: /D1, /C1; не удалось показать карточку.",
        "card": "Создано: сделка D1",
        "nothing": "Ничего не изменено",
    },
}


async def count(harness: Harness, model: type) -> int:
    async with harness.app.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_reply_fails_after_commit_and_the_update_comes_again(
    harness: Harness, lang: str
) -> None:
    words = LANGS[lang]
    rep = await harness.member(Role.REP, words["name"], language_code=lang)
    harness.tg.fail("sendMessage", 500, "Internal Server Error", chat_id=rep.id)
    update = rep.message_update(words["line"])

    first = await harness.post(update)
    assert first.status == 200  # committed: Telegram must not deliver it again
    assert first.texts[0].startswith(words["card"])  # the card: its sendMessage failed
    assert first.texts[1:] == [words["created"]]
    assert await count(harness, Deal) == 1
    assert not any(words["nothing"] in t for t in first.texts)

    again = await harness.post(update)  # Telegram redelivers (e.g. our 200 was lost)
    assert again.status == 200
    assert again.texts == [words["created"]]
    assert await count(harness, Deal) == 1

    # An update that is new is handled as usual.
    follow = await rep.send("/D1")
    assert "D1" in follow[0].text and await count(harness, Deal) == 1


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_the_error_reply_failing_too_is_no_500_and_no_second_deal(
    harness: Harness, lang: str
) -> None:
    words = LANGS[lang]
    rep = await harness.member(Role.REP, words["name"], language_code=lang)
    harness.tg.fail("sendMessage", 500, "Internal Server Error", chat_id=rep.id, times=2)
    update = rep.message_update(words["line"])

    first = await harness.post(update)
    assert first.status == 200
    assert [c.method for c in first.calls] == ["sendMessage", "sendMessage"]  # both failed
    assert await count(harness, Deal) == 1

    for _ in range(3):
        again = await harness.post(update)
        assert again.status == 200
        assert again.texts == [words["created"]]  # told at last, and only what was done
    assert await count(harness, Deal) == 1
    async with harness.app.sessionmaker() as session:
        marker = await session.get(ProcessedUpdate, update["update_id"])
    assert marker is not None
    assert marker.effects == [
        {"kind": "created", "ref": "C1", "activity": None},
        {"kind": "created", "ref": "D1", "activity": None},
    ]


async def test_failed_reply_of_a_stage_button_says_what_changed(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    await anna.send("/deal Wdrożenie 1000 zł")
    await anna.send("/stage D1")
    harness.tg.fail("editMessageText", 500, "Internal Server Error", times=1)
    harness.tg.fail("sendMessage", 500, "Internal Server Error", chat_id=anna.id, times=1)
    replies = await anna.press("Przygotowanie dokumentów")
    alerts = [c.params.get("text") for c in replies if c.method == "answerCallbackQuery"]
    assert "Zapisano zmianę /D1; nie udało się pokazać karty." in alerts
    card = (await anna.send("/D1"))[0].text
    assert "Etap: Przygotowanie dokumentów (2 z 5)" in card


async def test_failure_before_any_commit_changes_nothing_and_says_so(harness: Harness) -> None:
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    await ivan.send("/deal Поставка 100 руб")
    harness.tg.fail("sendMessage", 500, "Internal Server Error", chat_id=ivan.id, times=1)
    update = ivan.message_update("/D1")  # a read: nothing committed
    first = await harness.post(update)
    assert first.status == 200
    assert "Ничего не изменено" in first.texts[-1]
    # Not marked as handled: a redelivery shows the card as if new.
    again = await harness.post(update)
    assert "<b>D1</b>" in again.texts[0]


async def test_two_instances_get_the_same_update_at_once_one_deal(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    update = anna.message_update("/deal strona internetowa 5000 zł")
    start = len(harness.tg.calls)
    results = await asyncio.gather(harness.post(update), harness.post(update))
    assert [r.status for r in results] == [200, 200]
    assert await count(harness, Deal) == 1
    said = texts(harness.tg.calls[start:])
    assert len([t for t in said if t.startswith("Utworzono: deal D1")]) == 1
    assert not any("Nic nie zostało zmienione" in t for t in said)


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_an_unreachable_user_who_writes_is_reachable_and_gets_held_reminders(
    harness: Harness, lang: str
) -> None:
    rep = await harness.member(Role.REP, LANGS[lang]["name"], language_code=lang)
    await rep.send("/deal Wdrożenie" if lang == "pl" else "/deal Поставка")
    await rep.send(
        "/todo D1 jutro 10:00 telefon" if lang == "pl" else "/todo D1 завтра 10:00 звонок"
    )
    async with harness.crm() as crm:
        user = await crm.users.by_telegram_id(rep.id)
        assert user is not None
        await crm.users.mark_unreachable(user)
        await crm.repos.session.execute(
            Reminder.__table__.update().where(Reminder.user_id == user.id).values(status="held")
        )
        await crm.repos.commit()
        user_id = user.id

    replies = await rep.send("/help")
    assert replies and replies[0].chat_id == rep.id

    async with harness.app.sessionmaker() as session:  # a fresh session: really committed
        user = await session.get(User, user_id)
        statuses = list(
            await session.scalars(select(Reminder.status).where(Reminder.user_id == user_id))
        )
    assert user is not None and user.is_reachable
    assert statuses and set(statuses) == {"pending"}
    # A later update does not count as a duplicate of anything: /help answers again.
    assert (await rep.send("/help"))[0].chat_id == rep.id


async def test_markers_are_purged_after_two_days(harness: Harness, clock: FakeClock) -> None:
    anna = await harness.member(Role.REP, "Anna")
    await anna.send("/deal stary")
    clock.advance(hours=47)
    await anna.send("/deal nowszy")
    before = await count(harness, ProcessedUpdate)
    clock.advance(hours=2)  # the first deal's update is now 49 h old, the second 2 h
    removed = await jobs.purge_processed_updates(harness.app.sessionmaker, harness.app.runtime)
    assert removed >= 1
    async with harness.app.sessionmaker() as session:
        left = list(await session.scalars(select(ProcessedUpdate.processed_at)))
    assert len(left) == before - removed
    assert all(clock.now() - at < timedelta(hours=48) for at in left)
