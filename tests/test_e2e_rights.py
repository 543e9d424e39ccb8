"""Rights that fit a real team, end to end in Polish and Russian through the fake Bot API."""

from __future__ import annotations

from typing import Any

import pytest

from crm.enums import Role
from tests.fakeapi import Call
from tests.harness import Harness, TgUser, texts


def inaccessible(user: TgUser, call: Call) -> Call:
    """The same message as Telegram describes it 48 h later: only chat, id and date 0."""
    assert call.result is not None
    old: dict[str, Any] = {
        "chat": call.result["chat"],
        "message_id": call.result["message_id"],
        "date": 0,
    }
    return Call(call.method, call.params, result=old)


LOST_THEN_WON = {
    "pl": ("Anna", "Deal przegrany", "Deal wygrany", "✅ Deal wygrany", "Nie rozumiem."),
    "ru": ("Иван", "Сделка провалена", "Сделка успешна", "✅ Сделка успешна", "Не понял."),
}


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_lost_then_won_then_text_keeps_the_deal_won(harness: Harness, lang: str) -> None:
    name, lost, won, won_line, not_understood = LOST_THEN_WON[lang]
    rep = await harness.member(Role.REP, name, language_code=lang)
    await rep.send("/deal Wdrożenie 5000 zł")
    stages = (await rep.send("/stage D1"))[0]
    asked = texts(await rep.press(lost, stages))
    assert len(asked) == 1 and "/cancel" in asked[0]
    card = texts(await rep.press(won, stages))[0]  # the same stage buttons, pressed again
    assert won_line in card
    reply = texts(await rep.send("za drogo"))  # no longer the reason of a loss
    assert len(reply) == 1 and reply[0].startswith(not_understood)
    card = texts(await rep.send("/D1"))[0]
    assert won_line in card and "za drogo" not in card


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_any_other_button_ends_a_pending_dialog(harness: Harness, lang: str) -> None:
    name, lost, _won, _line, not_understood = LOST_THEN_WON[lang]
    rep = await harness.member(Role.REP, name, language_code=lang)
    await rep.send("/deal Pierwszy 100 zł")
    await rep.send("/deal Drugi 200 zł")
    first = (await rep.send("/D1"))[0]
    await rep.send("/stage D2")
    await rep.press(lost)  # D2: the reason is asked
    await rep.press_data("el:tl:D:1:0", first)  # D1's history instead: another element
    assert texts(await rep.send("zadzwonić w piątek"))[0].startswith(not_understood)
    await rep.press(lost)  # asked again
    await rep.press_data("el:note:D:1:0", first)  # a note for D1 instead
    assert texts(await rep.send("zadzwonić w piątek")) == [
        "Dodano notatkę do D1." if lang == "pl" else "Заметка добавлена к D1."
    ]
    assert "❌" not in texts(await rep.send("/D2"))[0]  # D2 was not lost by either text
    # A dialog's own buttons keep it open: "that time has passed today — tomorrow?".
    await rep.send("/todo D1 dziś 8:00 telefon" if lang == "pl" else "/todo D1 сегодня в 8 звонок")
    question = rep.inbox[-1]
    assert question.buttons, question.text
    created = texts(await rep.press(question.buttons[0]["text"], question))  # tomorrow, 8:00
    assert len(created) == 1 and created[0].startswith("✅"), created
    assert texts(await rep.send("jeszcze raz"))[0].startswith(not_understood)


OLD = {
    "pl": ("Anna", "Zrobione: telefon", "historia, strona 2", "(2/2)", "Usunięto: spotkanie"),
    "ru": ("Иван", "Выполнено: telefon", "история, страница 2", "(2/2)", "Удалено: spotkanie"),
}


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_buttons_on_messages_older_than_48_hours(harness: Harness, lang: str) -> None:
    name, done, history, second_page, deleted = OLD[lang]
    rep = await harness.member(Role.REP, name, language_code=lang)
    await rep.send("/deal oferta 100 zł")
    for n in range(6):
        await rep.send(f"/note D1 notatka {n}")
    card = (await rep.send("/D1"))[0]
    # Older history: the old card cannot be edited, so the page comes as a new message.
    replies = await rep.press_data("el:tl:D:1:1", inaccessible(rep, card))
    assert [c.method for c in replies] == ["answerCallbackQuery", "sendMessage"]
    assert history in replies[1].text
    # Done: it is done, and the answer says so (nothing to edit on the old message).
    created = (await rep.send("/todo D1 jutro 10:00 telefon"))[0]
    replies = await rep.press("✅", inaccessible(rep, created))
    assert [(c.method, c.params.get("text")) for c in replies] == [("answerCallbackQuery", done)]
    async with harness.crm() as crm:
        activity = await crm.repos.activities.get(1)
        assert activity is not None and activity.completed_at is not None
    # Delete, confirmed on an old question: deleted, and told in a new message.
    await rep.send("/todo D1 jutro 11:00 spotkanie")
    question = (await rep.press("🗑"))[-1]
    replies = await rep.press_data("ac:delok:2", inaccessible(rep, question))
    assert [c.method for c in replies] == ["answerCallbackQuery", "sendMessage"]
    assert replies[1].text == deleted
    # A list page on an old list and a stage chosen on old stage buttons.
    for n in range(10):
        await rep.send(f"/deal projekt {n} 100 zł")
    listing = (await rep.send("/deals"))[0]
    replies = await rep.press_data("ls:deals:1", inaccessible(rep, listing))
    assert [c.method for c in replies] == ["answerCallbackQuery", "sendMessage"]
    assert second_page in replies[1].text
    stages = (await rep.send("/stage D1"))[0]
    target = stages.buttons[1]["callback_data"]
    replies = await rep.press_data(target, inaccessible(rep, stages))
    assert [c.method for c in replies] == ["answerCallbackQuery", "sendMessage"]
    assert "(2" in replies[1].text  # the card in its new stage


DONE = {
    "pl": ("Anna", "/todo D1 jutro 10:00 spotkanie", "✅ Zrobione", "Zrobione: spotkanie"),
    "ru": ("Иван", "/todo D1 завтра в 10 встреча", "✅ Готово", "Выполнено: встреча"),
}
MISSING = {
    "pl": "Nie znaleziono. Być może zostało w międzyczasie usunięte.",
    "ru": "Не найдено. Возможно, это уже удалили.",
}


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_deals_rep_completes_when_the_contact_is_someone_elses(
    harness: Harness, lang: str
) -> None:
    name, todo, button, done = DONE[lang]
    rep = await harness.member(Role.REP, name, language_code=lang, department="Sprzedaż")
    boss = await harness.member(Role.ADMIN, "Szef")
    other = await harness.member(Role.REP, "Boris", language_code=lang, department="Serwis")
    await rep.send("/deal Jan Kowalski +48 600 100 200 wdrożenie")
    await boss.send("/C1")
    await boss.press("Odpowiedzialny")
    await boss.press("Boris")  # the client is Boris's; the deal stays with the rep
    created = await rep.send(todo)
    assert "/D1" in texts(created)[0]
    replies = await rep.press(button, created[0])
    assert replies[0].params["text"] == done
    assert texts(await other.send("/C1"))[0].count("spotkanie") == 0  # not bound to his card
    assert texts(await other.send("/D1")) == [MISSING[lang]]
    assert texts(await other.send("/D99")) == [MISSING[lang]]


CLIENT = {
    "pl": ("Anna", "Kontakt: Jan Kowalski", "Telefon: +48600100200", "E-mail: jan@firma.pl"),
    "ru": ("Иван", "Контакт: Jan Kowalski", "Телефон: +48600100200", "E-mail: jan@firma.pl"),
}


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_deal_card_shows_how_to_reach_a_client_of_someone_else(
    harness: Harness, lang: str
) -> None:
    name, contact_line, phone_line, email_line = CLIENT[lang]
    rep = await harness.member(Role.REP, name, language_code=lang, department="Sprzedaż")
    boss = await harness.member(Role.ADMIN, "Szef")
    await rep.send("/deal Jan Kowalski +48 600 100 200 jan@firma.pl wdrożenie")
    await boss.send("/C1")
    await boss.press("Odpowiedzialny")
    await boss.press("Szef")  # the client is the boss's now; the deal stays with the rep
    card = texts(await rep.send("/D1"))[0]
    lines = card.split("\n")
    assert contact_line in lines  # the name, without a code the rep could not open
    assert phone_line in lines and email_line in lines
    assert "/C1" not in card
    assert texts(await rep.send("/C1")) == [MISSING[lang]]  # not the rest of the card
    own = texts(await boss.send("/D1"))[0]
    assert "Kontakt: /C1 Jan Kowalski\nTelefon: +48600100200" in own  # he may open it
