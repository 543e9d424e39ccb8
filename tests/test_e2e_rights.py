"""Rights that fit a real team, end to end in Polish and Russian through the fake Bot API."""

from __future__ import annotations

from typing import Any

import pytest

from crm.enums import Role
from crm.permissions import Actor
from crm.users import actor_of
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


NEW_DEAL = {
    "pl": ("Anna", "Nowy deal", "<b>Deale</b>", "Utworzono: deal D2", "Kontakt: /C1 Jan Kowalski"),
    "ru": (
        "Иван",
        "Новая сделка",
        "<b>Сделки</b>",
        "Создано: сделка D2",
        "Контакт: /C1 Jan Kowalski",
    ),
}


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_new_deal_for_an_existing_client(harness: Harness, lang: str) -> None:
    name, button, deals, created, contact_line = NEW_DEAL[lang]
    rep = await harness.member(Role.REP, name, language_code=lang)
    await rep.send("/deal Jan Kowalski +48 600 100 200 jan@firma.pl Wdrożenie CRM 12 000 zł")
    card = texts(await rep.send("/deal C1 Drugie zamówienie 3000 zł"))[0]
    assert card.startswith(created) and "(" not in card.split("\n")[0]  # no new contact
    assert "Drugie zamówienie" in card and contact_line in card and "3\xa0000" in card
    by_phone = texts(await rep.send("/deal +48 600 100 200 serwis"))[0]
    assert by_phone.startswith(created.replace("D2", "D3")) and contact_line in by_phone
    by_email = texts(await rep.send("/deal jan@firma.pl szkolenie"))[0]
    assert contact_line in by_email
    await rep.send("/company ACME sp. z o.o. +48 22 100 20 30")
    company_deal = texts(await rep.send("/deal CO1 Licencje 900 zł"))[0]
    assert "/CO1 ACME" in company_deal
    client = await rep.send("/C1")
    text = client[0].text
    assert deals in text
    for code in ("/D1", "/D2", "/D3", "/D4"):
        assert code in text
    assert button in [b["text"] for b in client[0].buttons]
    assert "/cancel" in texts(await rep.press(button, client[0]))[0]
    fifth = texts(await rep.send("Trzecie zamówienie 500 zł"))[0]
    assert fifth.startswith(created.replace("D2", "D6")) and contact_line in fifth
    async with harness.crm() as crm:
        contacts = await crm.search.find(await _actor(harness, rep), "Kowalski")
    assert sum(1 for c in contacts if type(c).__name__ == "Contact") == 1


async def _actor(harness: Harness, user: TgUser) -> Actor:
    async with harness.crm() as crm:
        found = await crm.users.by_telegram_id(user.id)
        assert found is not None
        return actor_of(found)


USE = {
    "pl": ("Anna", "Użyj tego kontaktu C1", "Utworzono: deal D2", "Kontakt: /C1 Jan Kowalski"),
    "ru": ("Иван", "Использовать контакт C1", "Создано: сделка D2", "Контакт: /C1 Jan Kowalski"),
}


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_duplicate_warning_offers_use_this_contact(harness: Harness, lang: str) -> None:
    name, use, created, contact_line = USE[lang]
    rep = await harness.member(Role.REP, name, language_code=lang)
    await rep.send("/deal Jan Kowalski +48 600 100 200 Wdrożenie")
    warning = (await rep.send("/deal Jan Kowalski +48 600 100 201 Serwis 800 zł"))[0]
    labels = [b["text"] for b in warning.buttons]
    assert labels[1] == use and len(labels) == 3, labels  # Open, Use this contact, Create anyway
    card = texts(await rep.press(use, warning))[0]
    assert card.startswith(created) and "(" not in card.split("\n")[0]
    assert contact_line in card and "Serwis" in card
    again = await rep.press(use, warning)  # used up
    assert [c.method for c in again] == ["answerCallbackQuery"]
