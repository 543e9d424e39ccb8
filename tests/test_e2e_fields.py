"""Custom fields end to end, in Polish and Russian: an admin adds typed fields, a rep gives
them values in one line (`/set D1 Termin dostawy 15.01.2027`) and from the card's Edit
button, bad values are refused with what the field expects and lose nothing, the card and the
history show the values, and deleting a field asks with the count of values it takes along.
Every stored result is read back through a fresh session."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest
from sqlalchemy import func, select

from crm.context import Crm
from crm.enums import Role
from storage.models import CustomField, FieldValue
from tests.harness import Harness, TgUser, texts

NBSP = "\u00a0"
NNBSP = "\u202f"
Fresh = Callable[[], AbstractAsyncContextManager[Crm]]

WORDS = {
    "pl": {
        "add_date": "/field_add deal data Termin dostawy",
        "add_list": "/field_add deal lista Sposób dostawy: kurier, odbiór osobisty, paczkomat",
        "add_number": "/field_add Deal liczba Liczba stanowisk",
        "add_money": "/field_add deal kwota Budżet klienta",
        "add_bool": "/field_add deal tak/nie Faktura VAT",
        "added": "Pole „Termin dostawy” (data) dodane",
        "deal": "/deal Wdrożenie CRM dla Jana Kowalskiego 5000 zł",
        "date_line": "Termin dostawy: 15 sty 2027",
        "list_line": "Sposób dostawy: odbiór osobisty",
        "number_line": f"Liczba stanowisk: 1{NBSP}250,5",
        "money_line": f"Budżet klienta: 12{NBSP}000,00{NBSP}zł",
        "bool_line": "Faktura VAT: tak",
        "bad_date": "„kiedyś” to nie data: wyślij np. 15.01.2027 albo 2027-01-15.",
        "bad_option": "„rower” nie jest żadną z opcji: kurier, odbiór osobisty, paczkomat.",
        "unknown": "Nie ma takiego pola: „Kolor auta czerwony”. Listę pokazuje /fields.",
        "no_right": "Nie masz uprawnień, aby to zrobić.",
        "taken": "Pole o nazwie „termin dostawy” już istnieje.",
        "history": "Termin dostawy: — → 15 sty 2027",
        "edit": "Edytuj",
        "ask": "Wyślij wartość pola „Liczba stanowisk” dla D1.",
        "fields_head": "<b>Pola: deal</b>",
        "delete_q": (
            "Usunąć pole „Termin dostawy”? Jego wartość w 1 elemencie też zostanie usunięta; "
            "tego nie da się cofnąć."
        ),
        "yes_delete": "Tak, usuń",
        "deleted": "Pole „Termin dostawy” usunięte razem z wartością w 1 elemencie.",
        "delete": "Usuń",
    },
    "ru": {
        "add_date": "/field_add сделка дата Срок поставки",
        "add_list": "/field_add сделка список Способ доставки: курьер, самовывоз, постамат",
        "add_number": "/field_add Сделка число Количество мест",
        "add_money": "/field_add сделки деньги Бюджет клиента",
        "add_bool": "/field_add сделка да/нет Нужен НДС",
        "added": "Поле «Срок поставки» (дата) добавлено",
        "deal": "/deal Внедрение CRM для Ивана Петрова 5000 руб",
        "date_line": f"Срок поставки: 15 янв. 2027{NNBSP}г.",
        "list_line": "Способ доставки: самовывоз",
        "number_line": f"Количество мест: 1{NBSP}250,5",
        "money_line": f"Бюджет клиента: 12{NBSP}000,00{NBSP}PLN",
        "bool_line": "Нужен НДС: да",
        "bad_date": "«когда-нибудь» — не дата: отправьте, например, 15.01.2027 или 2027-01-15.",
        "bad_option": "«велосипед» — не из вариантов: курьер, самовывоз, постамат.",
        "unknown": "Такого поля нет: «Цвет машины красный». Список — /fields.",
        "no_right": "У вас нет прав на это действие.",
        "taken": "Поле «срок поставки» уже есть.",
        "history": f"Срок поставки: — → 15 янв. 2027{NNBSP}г.",
        "edit": "Изменить",
        "ask": "Отправьте значение поля «Количество мест» для D1.",
        "fields_head": "<b>Поля: сделка</b>",
        "delete_q": (
            "Удалить поле «Срок поставки»? Его значение у 1 элемента тоже будет удалено; "
            "отменить это нельзя."
        ),
        "yes_delete": "Да, удалить",
        "deleted": "Поле «Срок поставки» удалено вместе со значением у 1 элемента.",
        "delete": "Удалить",
    },
}
VALUES = {
    "pl": {
        "date": "/set D1 termin dostawy 15.01.2027",
        "bad_date": "/set D1 Termin dostawy kiedyś",
        "list": "/set d1 Sposób dostawy Odbiór osobisty",
        "bad_list": "/set D1 Sposób dostawy rower",
        "money": "/set D1 Budżet klienta 12 000 zł",
        "bool": "/set D1 Faktura VAT tak",
        "unknown": "/set D1 Kolor auta czerwony",
    },
    "ru": {
        "date": "/set Д1 срок поставки 15.01.2027",
        "bad_date": "/set D1 Срок поставки когда-нибудь",
        "list": "/set D1 способ доставки Самовывоз",
        "bad_list": "/set D1 Способ доставки велосипед",
        "money": "/set D1 Бюджет клиента 12 000",
        "bool": "/set D1 Нужен НДС да",
        "unknown": "/set D1 Цвет машины красный",
    },
}


async def add_fields(admin: TgUser, lang: str) -> None:
    w = WORDS[lang]
    for key in ("add_list", "add_number", "add_money", "add_bool"):
        (reply,) = texts(await admin.send(str(w[key])))
        assert "/set" in reply, (key, reply)
    assert texts(await admin.send(str(w["add_date"]).lower()))[0] == w["taken"]


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_typed_fields_set_in_one_line_and_from_the_card(
    harness: Harness, lang: str, fresh: Fresh
) -> None:
    w, v = WORDS[lang], VALUES[lang]
    admin = await harness.member(Role.ADMIN, "Admin", language_code=lang)
    rep = await harness.member(Role.REP, "Anna", language_code=lang)
    assert texts(await rep.send(str(w["add_date"]))) == [w["no_right"]]
    (added,) = texts(await admin.send(str(w["add_date"])))
    assert added.startswith(str(w["added"]))
    await add_fields(admin, lang)
    await rep.send(str(w["deal"]))

    card = texts(await rep.send(v["date"]))[0]
    assert w["date_line"] in card and w["history"] in card
    # Bad values are refused with what the field expects; the stored value stays.
    assert texts(await rep.send(v["bad_date"])) == [w["bad_date"]]
    assert texts(await rep.send(v["bad_list"])) == [w["bad_option"]]
    assert texts(await rep.send(v["unknown"])) == [w["unknown"]]
    assert w["list_line"] in texts(await rep.send(v["list"]))[0]
    assert w["money_line"] in texts(await rep.send(v["money"]))[0]
    assert w["bool_line"] in texts(await rep.send(v["bool"]))[0]
    # From the card: Edit, the field, then the value.
    await rep.send("/D1")
    await rep.press(str(w["edit"]))
    (question,) = texts(await rep.press(str(w["number_line"]).split(":")[0]))
    assert question.startswith(str(w["ask"]))
    assert w["number_line"] in texts(await rep.send("1 250,5"))[0]

    async with fresh() as crm2:
        stored = {
            f.name: value
            for f, value in (
                await crm2.repos.session.execute(
                    select(CustomField, FieldValue.value).join(
                        FieldValue, FieldValue.field_id == CustomField.id
                    )
                )
            ).all()
        }
    currency = "PLN"  # the base currency: a bare amount is in it
    assert sorted(stored.values(), key=str) == sorted(
        [
            "2027-01-15",
            stored_option(lang),
            "1250.5",
            {"amount": "12000.00", "currency": currency},
            True,
        ],
        key=str,
    )


def stored_option(lang: str) -> str:
    return "odbiór osobisty" if lang == "pl" else "самовывоз"


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_deleting_a_field_asks_with_its_count_and_takes_its_values(
    harness: Harness, lang: str, fresh: Fresh
) -> None:
    w, v = WORDS[lang], VALUES[lang]
    admin = await harness.member(Role.ADMIN, "Admin", language_code=lang)
    await admin.send(str(w["add_date"]))
    await admin.send(str(w["deal"]))
    await admin.send(v["date"])
    listing = texts(await admin.send("/fields deal"))[0]
    assert listing.startswith(str(w["fields_head"]))
    await admin.press(str(w["date_line"]).split(":")[0])
    assert texts(await admin.press(str(w["delete"]))) == [w["delete_q"]]
    assert texts(await admin.press(str(w["yes_delete"]))) == [w["deleted"]]
    async with fresh() as crm2:
        session = crm2.repos.session
        assert await session.scalar(select(func.count()).select_from(FieldValue)) == 0
        names = (await session.scalars(select(CustomField.name))).all()
        assert all(name is None for name in names)  # only the system fields are left
    assert str(w["date_line"]).split(":")[0] not in texts(await admin.send("/D1"))[0]
