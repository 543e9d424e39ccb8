"""The foundation end to end: real updates → real dispatcher → HTTP calls to the fake Bot API."""

from __future__ import annotations

import pytest

from crm.enums import Role
from tests.harness import Harness, texts


async def test_unbound_user_gets_only_the_invite_hint(harness: Harness) -> None:
    stranger = harness.user("Eve", language_code="pl")
    for text in ("/help", "hello", "/whoami", "/lang ru", "/start", "/start WRONGCODE"):
        replies = await stranger.send(text)
        assert len(replies) == 1, (text, replies)
        assert replies[0].method == "sendMessage"
        assert "zaproszenie" in replies[0].text or "zaproszenia" in replies[0].text, replies[
            0
        ].text
        assert "/help" not in replies[0].text
    replies = await stranger.press_data("lg:ru")
    assert [c.method for c in replies] == ["answerCallbackQuery"]
    assert "zaproszenie" in replies[0].params["text"]


async def test_unbound_hint_in_russian(harness: Harness) -> None:
    stranger = harness.user("Ivan", language_code="ru")
    replies = await stranger.send("что это?")
    assert texts(replies) == [
        "Вы ещё не подключены к этой CRM. Попросите приглашение у администратора."
    ]


async def test_invite_binds_once_and_help_speaks_polish(harness: Harness) -> None:
    code = await harness.invite(Role.REP, "Anna Nowak", "Sprzedaż")
    anna = harness.user("Anna", language_code="pl")
    welcome = texts(await anna.send(f"/start {code}"))
    assert welcome == [
        "Witaj, Anna Nowak! Masz dostęp do CRM jako handlowiec. /help pokaże, co potrafię."
    ]

    help_text = texts(await anna.send("/help"))[0]
    assert help_text.startswith("<b>Polecenia CRM</b>")
    assert "/whoami — kim jestem w CRM" in help_text

    # The code works once: somebody else trying it later stays outside.
    mallory = harness.user("Mallory", language_code="pl")
    assert "zaproszenie" in texts(await mallory.send(f"/start {code}"))[0]
    assert "zaproszenie" in texts(await mallory.send("/help"))[0]


async def test_expired_invite_is_refused(harness: Harness, clock) -> None:
    code = await harness.invite(Role.REP, "Late Larry")
    clock.advance(hours=73)
    larry = harness.user("Larry", language_code="en")
    assert texts(await larry.send(f"/start {code}")) == [
        "This invite is not valid: it may be used or expired. Ask your admin for a new one."
    ]


async def test_russian_user_changes_language_with_buttons(harness: Harness) -> None:
    ivan = await harness.member(Role.MANAGER, "Иван Петров", language_code="ru")
    help_text = texts(await ivan.send("/help"))[0]
    assert "<b>Команды CRM</b>" in help_text

    replies = await ivan.send("/lang")
    assert texts(replies) == ["Выберите язык:"]
    assert [b["text"] for b in replies[0].buttons] == ["Polski", "Русский", "English"]

    replies = await ivan.press("Polski")
    assert texts(replies) == ["Ustawiono język: Polski."]
    assert "<b>Polecenia CRM</b>" in texts(await ivan.send("/help"))[0]

    assert texts(await ivan.send("/lang ru")) == ["Язык установлен: Русский."]
    assert texts(await ivan.send("/lang xx")) == ["Это значение здесь недопустимо: xx"]


async def test_whoami_and_timezone_dialog(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna", department="Sprzedaż")
    who = texts(await anna.send("/whoami"))[0]
    assert "Rola: handlowiec" in who
    assert "Dział: Sprzedaż" in who
    assert "Strefa czasowa: Europe/Warsaw" in who
    assert "Czas lokalny: 24 lis 2026, 10:00:00" in who  # 09:00 UTC in Warsaw (CET)

    await anna.send("/settings")
    await anna.press("Strefa czasowa")
    await anna.press("Inna")
    assert "Nie znam strefy czasowej Mars/Base" in texts(await anna.send("Mars/Base"))[0]
    assert texts(await anna.send("moscow")) == ["Ustawiono strefę czasową: Europe/Moscow."]
    assert "Czas lokalny: 24 lis 2026, 12:00:00" in texts(await anna.send("/whoami"))[0]
    assert texts(await anna.send("/cancel")) == ["Nie ma czego anulować."]


async def test_cancel_leaves_the_dialog(harness: Harness) -> None:
    ivan = await harness.member(Role.REP, "Ivan", language_code="ru")
    await ivan.send("/settings")
    await ivan.press("Часовой пояс")
    await ivan.press("Другой")
    assert texts(await ivan.send("/cancel")) == ["Отменено."]
    # After /cancel plain text is not taken as a time zone any more.
    assert texts(await ivan.send("Europe/Moscow")) == ["Не понял. /help покажет, что я умею."]
    assert "Часовой пояс: Europe/Warsaw" in texts(await ivan.send("/whoami"))[0]


async def test_forged_callback_data_is_refused_politely(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    replies = await anna.press_data("tz:999")
    assert any("niepoprawna" in c.params.get("text", "") for c in replies), replies
    replies = await anna.press_data("lg:xx")
    assert any("niepoprawna" in c.params.get("text", "") for c in replies), replies
    replies = await anna.press_data("garbage-without-prefix")
    assert replies == [] or all(c.method == "answerCallbackQuery" for c in replies)


async def test_group_language_is_the_groups_own(harness: Harness) -> None:
    group = harness.group("Triage")
    boss = (await harness.member(Role.MANAGER, "Boss", language_code="pl")).in_chat(group)
    rep = (await harness.member(Role.REP, "Rep", language_code="pl")).in_chat(group)

    assert "Polecenia CRM" in texts(await boss.send("/help"))[0]  # default locale
    assert texts(await boss.send("/lang ru")) == ["Язык этой группы теперь: Русский."]
    assert "Команды CRM" in texts(await rep.send("/help"))[0]
    # A rep may not change the group's language; the answer is in the group's language.
    assert texts(await rep.send("/lang pl")) == ["У вас нет прав на это действие."]
    # Private chats keep the person's own language.
    assert (
        "Polecenia CRM"
        in texts(await rep.in_chat(rep.chat | {"id": rep.id, "type": "private"}).send("/help"))[0]
    )


async def test_stranger_in_group_plain_text_is_ignored(harness: Harness) -> None:
    group = harness.group()
    stranger = harness.user("Eve").in_chat(group)
    assert await stranger.send("just chatting") == []
    assert len(await stranger.send("/help")) == 1


async def test_hostile_text_is_escaped(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    await anna.send("/settings")
    await anna.press("Strefa czasowa")
    await anna.press("Inna")
    reply = texts(await anna.send("<b>x</b>&" + "A" * 5000))[0]
    assert "&lt;b&gt;x&lt;/b&gt;&amp;" in reply
    assert len(reply) < 4096


@pytest.mark.parametrize("delivery", ["webhook"], indirect=True)
async def test_webhook_mode_serves_the_same_bot(harness: Harness) -> None:
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    assert "<b>Команды CRM</b>" in texts(await ivan.send("/help"))[0]


@pytest.mark.parametrize("delivery", ["webhook"], indirect=True)
async def test_webhook_rejects_a_wrong_secret(harness: Harness) -> None:
    assert harness.webhook_url is not None
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 5, "type": "private"},
            "from": {"id": 5, "is_bot": False, "first_name": "X"},
            "text": "/help",
        },
    }
    assert await harness.tg.post_update(harness.webhook_url, update, "wrong") == 401
    assert await harness.tg.post_update(harness.webhook_url, update, None) == 401
    assert harness.tg.calls == []
