"""The card's Edit button end to end (pl, ru): every reading of a one-line creation can be
corrected — title, name, phone, e-mail, amount — with the same parsers as creation, under edit
rights, written to the history; a bad value is refused and the dialog waits for a good one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.enums import Role
from storage.models import Communication, Contact, Deal
from tests.fakeapi import Call
from tests.harness import Harness, TgUser, texts

WORDS = {
    "pl": {
        "edit": "Edytuj",
        "fields": ["Tytuł", "Imię i nazwisko", "Telefon", "E-mail", "Kwota", "Typ deala"],
        "question": "Co poprawić w D1?",
        "ask": "Wyślij nową wartość pola „{field}” dla D1. /cancel, aby przerwać.",
        "saved": "✏️ Zapisano.",
        "bad_phone": "Ta wartość jest tu niepoprawna: 12",
        "negative": "Ta wartość jest tu niepoprawna: -500.00",
        "title_line": "tytuł: Wdrożenie CRM → Wdrożenie systemu CRM",
        "amount": "Kwota: 5\u00a0000,00\u00a0zł",
        "missing": "Nie znaleziono. Być może zostało w międzyczasie usunięte.",
        "note": "Notatka",
        "phone": "Telefon:",
        "new_phone": "601 200 300",
        "note_added": "Dodano notatkę do D1.",
    },
    "ru": {
        "edit": "Изменить",
        "fields": ["Название", "Имя", "Телефон", "E-mail", "Сумма", "Тип сделки"],
        "question": "Что исправить в D1?",
        "ask": "Отправьте новое значение поля «{field}» для D1. /cancel — отменить.",
        "saved": "✏️ Сохранено.",
        "bad_phone": "Это значение здесь недопустимо: 12",
        "negative": "Это значение здесь недопустимо: -500.00",
        "title_line": "название: Wdrożenie CRM → Wdrożenie systemu CRM",
        "amount": "Сумма: 5\u00a0000,00\u00a0PLN",
        "missing": "Не найдено. Возможно, это уже удалили.",
        "note": "Заметка",
        "phone": "Телефон:",
        "new_phone": "+48 601 200 300",
        "note_added": "Заметка добавлена к D1.",
    },
}


def sent(calls: list[Call]) -> Call:
    (message,) = [c for c in calls if c.method == "sendMessage"]
    return message


async def choose(user: TgUser, lang: str, field: int) -> list[str]:
    await user.press(WORDS[lang]["edit"])
    return texts(await user.press(WORDS[lang]["fields"][field]))


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_edit_every_reading_of_a_one_line_deal(harness: Harness, lang: str) -> None:
    w = WORDS[lang]
    rep = await harness.member(Role.REP, "Ola", language_code=lang)
    created = texts(await rep.send("/deal Wdrożenie CRM 12 000 zł Jan Kowalsky +48 600 100 200"))
    # Every reading is on the card at once: title, client, phone, amount.
    assert "<b>D1</b> · " in created[0] and "· Wdrożenie CRM\n" in created[0]
    assert "/C1 Jan Kowalsky" in created[0] and "+48600100200" in created[0]

    question = await rep.press(w["edit"])
    assert texts(question) == [w["question"]]
    assert [b["text"] for b in sent(question).buttons] == w["fields"]

    assert await choose(rep, lang, 0) == [w["ask"].format(field=w["fields"][0].lower())]
    card = texts(await rep.send("Wdrożenie systemu CRM"))[0]
    assert card.startswith(w["saved"] + "\n\n<b>D1</b>")
    assert "· Wdrożenie systemu CRM\n" in card and w["title_line"] in card

    await choose(rep, lang, 1)
    card = texts(await rep.send("Jan Kowalski"))[0]
    assert "/C1 Jan Kowalski\n" in card
    found = texts(await rep.send("/find Kowalski"))[0]  # the deal is found by the new name
    assert "/D1" in found and "/C1" in found

    await choose(rep, lang, 2)
    assert texts(await rep.send("12")) == [w["bad_phone"]]  # refused; the dialog waits
    card = texts(await rep.send(w["new_phone"]))[0]  # read in the region of the language
    assert f"\n{w['phone']} +48601200300\n" in card
    assert f"{w['phone']} +48600100200\n" not in card  # replaced, not added

    await choose(rep, lang, 3)
    card = texts(await rep.send("jan@kowalski.pl"))[0]
    assert "jan@kowalski.pl" in card

    await choose(rep, lang, 4)
    assert texts(await rep.send("-500 zł")) == [w["negative"]]
    card = texts(await rep.send("5000"))[0]  # a bare number: in the deal's currency
    assert w["amount"] in card

    async with harness.crm() as crm:  # a fresh session: it was committed
        session = crm.repos.session
        deal = await session.get(Deal, 1)
        contact = await session.get(Contact, 1)
        phones = list(
            await session.scalars(select(Communication.value).order_by(Communication.id))
        )
    assert deal is not None and contact is not None
    assert deal.title == "Wdrożenie systemu CRM" and deal.amount_minor == 500_000
    assert (contact.name, contact.first_name, contact.last_name) == (
        "Jan Kowalski",
        "Jan",
        "Kowalski",
    )
    assert phones == ["+48601200300", "jan@kowalski.pl"]
    contact_card = texts(await rep.send("/C1"))[0]
    assert "+48600100200 → +48601200300" in contact_card  # the contact's history too


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_edit_is_refused_like_any_element_one_may_not_see(
    harness: Harness, lang: str
) -> None:
    w = WORDS[lang]
    owner = await harness.member(Role.REP, "Ola", language_code=lang, department="Sprzedaż")
    other = await harness.member(Role.REP, "Boris", language_code=lang, department="Serwis")
    await owner.send("/deal Abonament 900 zł")
    # A forged press: the same answer as opening it, and as for an element that does not exist.
    for data in ("el:edit:D:1:0", "ed:D:1:title", "el:edit:D:99:0"):
        replies = await other.press_data(data)
        assert replies[0].params["text"] == w["missing"], data
    assert texts(await other.send("/D1")) == [w["missing"]]
    async with harness.crm() as crm:
        deal = await crm.repos.session.get(Deal, 1)
    assert deal is not None and deal.title == "Abonament"


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_another_button_ends_the_edit_dialog(harness: Harness, lang: str) -> None:
    w = WORDS[lang]
    rep = await harness.member(Role.REP, "Ola", language_code=lang)
    await rep.send("/deal Abonament 900 zł")
    await choose(rep, lang, 0)
    await rep.send("/D1")
    await rep.press(w["note"])  # another question: the title is no longer awaited
    assert texts(await rep.send("zadzwonić w piątek")) == [w["note_added"]]
    async with harness.crm() as crm:
        deal = await crm.repos.session.get(Deal, 1)
    assert deal is not None and deal.title == "Abonament"
    # A deal without a client offers only its own fields.
    question = await rep.press(w["edit"])
    assert [b["text"] for b in sent(question).buttons] == [
        w["fields"][0],
        w["fields"][4],
        w["fields"][5],
    ]
