"""Restricted visibility of a custom field end to end, in Polish and Russian (issue 14, item 3).

An admin restricts a deal field to the Sales department with `/field_visible`. A rep of the
Service department who owns (reads and updates) the deal then does not meet the field
anywhere: not on the card, not in /find by its value, not in the history (whose count and
pages are the rep's own), not in /fields, not in the card's Edit menu, and /set of it answers
exactly like a field that does not exist; a forged Edit press is told "not found" like an id
that never existed; the digest, /today, /unplanned and the CSV export never carry it. A member of Sales
and the admin see all of it; lifting the restriction shows it to everybody. Stored access rows
and values are read through a fresh session."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from sqlalchemy import select

from crm.context import Crm
from crm.enums import Role
from storage.models import CustomField, Department, FieldAccess, FieldValue
from tests.fakeapi import Call
from tests.harness import Harness, TgUser, texts
from tests.test_e2e_roles import cycle, new_role

Fresh = Callable[[], AbstractAsyncContextManager[Crm]]
DEAL_READ, DEAL_UPDATE = 3 * 8 + 0, 3 * 8 + 2  # RoleCb's cell: entity index * 8 + operation

T: dict[str, dict[str, Any]] = {
    "pl": {
        "boss": "Szef",
        "ola": "Ola Nowak",
        "piotr": "Piotr Wiśniewski",
        "marek": "Marek Zając",
        "sales": "Sprzedaż",
        "service": "Serwis",
        "role": "Handlowiec wszystkich deali",
        "role_given": "Ola Nowak ma teraz rolę Handlowiec wszystkich deali.",
        "add": "/field_add deal tekst Rabat dla partnera",
        "field": "Rabat dla partnera",
        "deal": "/deal Serwis klimatyzacji biurowej 8000 zł",
        "title": "Serwis klimatyzacji biurowej",
        "values": ["rabat wstępny 5 procent", "rabat negocjowany 12 procent"],
        "value": "tajny rabat 17 procent",
        "set": "/set D1 rabat dla PARTNERA {value}",
        "find": "/find TAJNY rabat",
        "found_query": "TAJNY rabat",
        "notes": [f"/note D1 dzwoniłem do klienta, próba {n}" for n in range(1, 6)],
        "restrict": "/field_visible rabat DLA partnera dla sprzedaż",
        "restricted": (
            "Pole „Rabat dla partnera” (deal) widzą teraz tylko: 🏢 Sprzedaż. Widzą je też "
            "osoby z prawem do ustawień; dla pozostałych znika z kart, wyszukiwania, historii "
            "i eksportu."
        ),
        "restrict_two": "/field_visible Rabat dla partnera dla piotr  WIŚNIEWSKI, Sprzedaż",
        "restricted_two": (
            "Pole „Rabat dla partnera” (deal) widzą teraz tylko: 🏢 Sprzedaż, Piotr Wiśniewski. "
            "Widzą je też osoby z prawem do ustawień; dla pozostałych znika z kart, "
            "wyszukiwania, historii i eksportu."
        ),
        "lift": "/field_visible Rabat dla partnera dla WSZYSCY",
        "lifted": "Pole „Rabat dla partnera” (deal) znów widzą wszyscy.",
        "unknown_name": "/field_visible Rabat dla partnera dla Magazyn",
        "no_name": "Nie ma ani osoby, ani działu o nazwie „Magazyn”. Zobacz /departments.",
        "system": "/field_visible Tytuł dla Sprzedaż",
        "no_system": (
            "Widoczność można ograniczyć tylko polom niestandardowym; pole systemowe można za "
            "to ukryć."
        ),
        "usage": "/field_visible Rabat dla partnera",
        "usage_text": (
            "Użycie: /field_visible POLE dla OSOBY LUB DZIAŁY, np. /field_visible Marża dla "
            "Sprzedaż, Anna Nowak; /field_visible Marża dla wszyscy znów pokazuje pole "
            "wszystkim."
        ),
        "unknown_field": "Nie ma takiego pola: „{text}”. Listę pokazuje /fields.",
        "denied": "Nie masz uprawnień, aby to zrobić.",
        "not_found": "Nie znaleziono. Być może zostało w międzyczasie usunięte.",
        "history": "<b>Historia</b> ({shown} z {total})",
        "older": "Starsza historia",
        "page2": "<b>D1</b> · historia, strona 2",
        "edit": "Edytuj",
        "edit_question": "Co poprawić w D1?",
        "nothing": "Nic nie znaleziono dla TAJNY rabat.",
        "found": "<b>Znaleziono</b> dla TAJNY rabat:",
        "fields_head": "<b>Pola: deal</b>",
        "listed": "• Rabat dla partnera — tekst · 🔒 ograniczona widoczność",
        "menu_sales": (
            "Widoczne tylko dla: 🏢 Sprzedaż (oraz dla osób z prawem do ustawień).\n"
            "Zmiana: /field_visible Rabat dla partnera dla Sprzedaż, Anna Nowak — albo dla "
            "wszyscy."
        ),
        "menu_all": "Widoczne dla wszystkich.",
        "unknown_set": "/set D1 Kolor auta {value}",
        "unknown_set_text": "Kolor auta {value}",
    },
    "ru": {
        "boss": "Босс",
        "ola": "Ольга Петрова",
        "piotr": "Пётр Смирнов",
        "marek": "Марк Зайцев",
        "sales": "Продажи",
        "service": "Сервис",
        "role": "Менеджер всех сделок",
        "role_given": "У сотрудника Ольга Петрова теперь роль Менеджер всех сделок.",
        "add": "/field_add сделка строка Скидка для партнёра",
        "field": "Скидка для партнёра",
        "deal": "/deal Обслуживание кондиционеров в офисе 8000 руб",
        "title": "Обслуживание кондиционеров в офисе",
        "values": ["предварительная скидка 5 процентов", "согласованная скидка 12 процентов"],
        "value": "секретная скидка 17 процентов",
        "set": "/set D1 скидка ДЛЯ партнёра {value}",
        "find": "/find СЕКРЕТНАЯ скидка",
        "found_query": "СЕКРЕТНАЯ скидка",
        "notes": [f"/note D1 звонил клиенту, попытка {n}" for n in range(1, 6)],
        "restrict": "/field_visible скидка для ПАРТНЁРА для продажи",
        "restricted": (
            "Поле «Скидка для партнёра» (сделка) теперь видят только: 🏢 Продажи. Его видят и "
            "те, у кого есть право на настройки; у остальных оно пропадает из карточек, поиска, "
            "истории и экспорта."
        ),
        "restrict_two": "/field_visible Скидка для партнёра для пётр  СМИРНОВ, Продажи",
        "restricted_two": (
            "Поле «Скидка для партнёра» (сделка) теперь видят только: 🏢 Продажи, Пётр Смирнов. "
            "Его видят и те, у кого есть право на настройки; у остальных оно пропадает из "
            "карточек, поиска, истории и экспорта."
        ),
        "lift": "/field_visible Скидка для партнёра для ВСЕ",
        "lifted": "Поле «Скидка для партнёра» (сделка) снова видят все.",
        "unknown_name": "/field_visible Скидка для партнёра для Склад",
        "no_name": "Нет ни сотрудника, ни отдела «Склад». Смотрите /departments.",
        "system": "/field_visible Название для Продажи",
        "no_system": (
            "Ограничить видимость можно только у пользовательских полей; системное поле можно "
            "скрыть."
        ),
        "usage": "/field_visible Скидка для партнёра",
        "usage_text": (
            "Формат: /field_visible ПОЛЕ для СОТРУДНИКИ ИЛИ ОТДЕЛЫ, например /field_visible "
            "Маржа для Продажи, Анна Петрова; /field_visible Маржа для все снова показывает "
            "поле всем."
        ),
        "unknown_field": "Такого поля нет: «{text}». Список — /fields.",
        "denied": "У вас нет прав на это действие.",
        "not_found": "Не найдено. Возможно, это уже удалили.",
        "history": "<b>История</b> ({shown} из {total})",
        "older": "Ранняя история",
        "page2": "<b>D1</b> · история, страница 2",
        "edit": "Изменить",
        "edit_question": "Что исправить в D1?",
        "nothing": "По запросу СЕКРЕТНАЯ скидка ничего не найдено.",
        "found": "<b>Найдено</b> по запросу СЕКРЕТНАЯ скидка:",
        "fields_head": "<b>Поля: сделка</b>",
        "listed": "• Скидка для партнёра — строка · 🔒 ограниченная видимость",
        "menu_sales": (
            "Видно только: 🏢 Продажи (и тем, у кого есть право на настройки).\n"
            "Изменить: /field_visible Скидка для партнёра для Продажи, Анна Петрова — или для "
            "все."
        ),
        "menu_all": "Видно всем.",
        "unknown_set": "/set D1 Цвет машины {value}",
        "unknown_set_text": "Цвет машины {value}",
    },
}


def only(calls: list[Call]) -> str:
    (text,) = texts(calls)
    return text


def line(t: dict[str, Any], value: str) -> str:
    return f"{t['field']}: {value}"


def buttons(call: Call) -> list[str]:
    return [b["text"] for b in call.buttons]


async def card(user: TgUser) -> Call:
    return next(c for c in await user.send("/D1") if c.text)


async def access_rows(fresh: Fresh) -> list[tuple[int | None, str | None]]:
    """(user id, department name) of every stored access row."""
    async with fresh() as crm:
        rows = await crm.repos.session.execute(
            select(FieldAccess.user_id, Department.name).outerjoin(
                Department, Department.id == FieldAccess.department_id
            )
        )
        return sorted(((u, d) for u, d in rows.all()), key=str)


async def stored_value(fresh: Fresh) -> object:
    async with fresh() as crm:
        return await crm.repos.session.scalar(
            select(FieldValue.value)
            .join(CustomField, CustomField.id == FieldValue.field_id)
            .where(CustomField.is_system.is_(False))
        )


async def field_id(fresh: Fresh) -> int:
    async with fresh() as crm:
        found = await crm.repos.session.scalar(
            select(CustomField.id).where(CustomField.is_system.is_(False))
        )
        assert found is not None
        return found


async def user_id(fresh: Fresh, name: str) -> int:
    async with fresh() as crm:
        return next(u.id for u in await crm.repos.users.list_active() if u.name == name)


async def setup(harness: Harness, lang: str) -> dict[str, TgUser]:
    """The admin; Ola in Sales with a role reading and updating every deal; Piotr, a plain rep
    in Service who owns D1; Marek, Service's manager. D1 has 1 creation, 5 notes of Piotr's and
    3 values of the field set by the admin: 9 entries, 6 of them not about the field."""
    t = T[lang]
    boss = await harness.member(Role.ADMIN, t["boss"], language_code=lang)
    ola = await harness.member(Role.REP, t["ola"], language_code=lang, department=t["sales"])
    piotr = await harness.member(Role.REP, t["piotr"], language_code=lang, department=t["service"])
    marek = await harness.member(
        Role.MANAGER, t["marek"], language_code=lang, department=t["service"]
    )
    role_id, screen = await new_role(boss, t["role"])
    await cycle(boss, role_id, DEAL_READ, screen, 2)  # own -> department -> all
    await cycle(boss, role_id, DEAL_UPDATE, screen, 2)
    assert texts(await boss.send(f"/user_role {t['ola']} {t['role']}")) == [t["role_given"]]
    assert "/set" in only(await boss.send(t["add"]))
    await piotr.send(t["deal"])
    for note, value in zip(t["notes"][:3], t["values"] + [t["value"]], strict=True):
        await piotr.send(note)
        assert line(t, value) in only(await boss.send(t["set"].format(value=value)))
    for note in t["notes"][3:]:
        await piotr.send(note)
    return {"boss": boss, "ola": ola, "piotr": piotr, "marek": marek}


def assert_unseen(t: dict[str, Any], text: str) -> None:
    """Neither the field's name nor any value it ever had is in `text`."""
    assert t["field"] not in text, text
    for value in [*t["values"], t["value"]]:
        assert value not in text, (value, text)


async def assert_sees_all(t: dict[str, Any], user: TgUser, total: int = 9) -> None:
    shown = await card(user)
    assert line(t, t["value"]) in shown.text
    assert t["history"].format(shown=5, total=total) in shown.text
    # The newest change is among the five newest entries (notes 4 and 5 came after it).
    assert f"{t['field']}: {t['values'][1]} → {t['value']}" in shown.text
    found = only(await user.send(t["find"]))
    assert found.startswith(t["found"]) and "/D1" in found and t["title"] in found
    assert t["value"] not in found  # results name the deal, never the value that matched


EXPORT = {"pl": "/export deale", "ru": "/export сделки"}


def exported(calls: list[Any]) -> str:
    """The text of the one CSV document among the replies."""
    (content,) = [f[1] for c in calls if c.method == "sendDocument" for f in c.files.values()]
    return bytes(content).decode("utf-8-sig")


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_a_restricted_field_is_invisible_to_a_rep_of_another_department_everywhere(
    harness: Harness, fresh: Fresh, lang: str
) -> None:
    t = T[lang]
    people = await setup(harness, lang)
    boss, ola, piotr, marek = people["boss"], people["ola"], people["piotr"], people["marek"]
    # Before any restriction the deal's owner sees the field like everyone.
    await assert_sees_all(t, piotr)

    # Refusals first: nothing is stored by any of them.
    assert only(await piotr.send(t["restrict"])) == t["denied"]
    assert only(await boss.send(t["unknown_name"])) == t["no_name"]
    assert only(await boss.send(t["system"])) == t["no_system"]
    assert only(await boss.send(t["usage"])) == t["usage_text"]
    assert await access_rows(fresh) == []

    assert only(await boss.send(t["restrict"])) == t["restricted"]
    assert await access_rows(fresh) == [(None, t["sales"])]

    # The rep of the other department, who owns the deal: the card has neither the field nor
    # its history, and the history's count and pages are his own (6 entries: 5 + 1).
    shown = await card(piotr)
    assert t["title"] in shown.text
    assert_unseen(t, shown.text)
    assert t["history"].format(shown=5, total=6) in shown.text
    page2 = next(c for c in await piotr.press(t["older"], shown) if c.text)
    assert page2.text.startswith(t["page2"]) and len(page2.text.splitlines()) == 2
    assert "▶" not in buttons(page2)
    assert_unseen(t, page2.text)
    # Search by the value finds nothing; /fields does not list it.
    assert only(await piotr.send(t["find"])) == t["nothing"]
    listing = only(await piotr.send("/fields deal"))
    assert listing.startswith(t["fields_head"])
    assert_unseen(t, listing)
    # /set answers exactly as for a field that does not exist, and changes nothing.
    other = "20"
    assert only(await piotr.send(t["set"].format(value=other))) == t["unknown_field"].format(
        text=t["set"].format(value=other).split(" ", 2)[2]
    )
    unknown = only(await piotr.send(t["unknown_set"].format(value=other)))
    assert unknown == t["unknown_field"].format(text=t["unknown_set_text"].format(value=other))
    assert await stored_value(fresh) == t["value"]
    # The Edit menu has no button for it; a forged press is "not found", like a made-up id.
    menu = next(c for c in await piotr.press(t["edit"], shown) if c.text)
    assert menu.text == t["edit_question"]
    assert menu.buttons and not any(t["field"] in b for b in buttons(menu))
    fid = await field_id(fresh)
    forged = texts(await piotr.press_data(f"ed:D:1:u{fid}"))
    made_up = texts(await piotr.press_data("ed:D:1:u999999"))
    assert forged == made_up and any(t["not_found"] in text for text in forged), forged
    # The manager of the other department: card, search, digests.
    assert_unseen(t, (await card(marek)).text)
    assert only(await marek.send(t["find"])) == t["nothing"]
    for command in ("/digest", "/unplanned", "/today"):
        for text in texts(await marek.send(command)) + texts(await piotr.send(command)):
            assert_unseen(t, text)
    # The CSV export: the manager's file has neither the column nor the value; the admin's both.
    export = EXPORT[lang]
    hidden_csv = exported(await marek.send(export))
    assert t["title"] in hidden_csv
    assert t["field"] not in hidden_csv and t["value"] not in hidden_csv
    full_csv = exported(await boss.send(export))
    assert t["field"] in full_csv and t["value"] in full_csv

    # A member of the allowed department and the admin see all of it.
    await assert_sees_all(t, ola)
    assert t["listed"] in only(await ola.send("/fields deal"))
    menu = next(c for c in await ola.press(t["edit"], await card(ola)) if c.text)
    assert t["field"] in buttons(menu)
    assert line(t, "7") in only(await ola.send(t["set"].format(value="7")))
    assert await stored_value(fresh) == "7"
    assert line(t, t["value"]) in only(await boss.send(t["set"].format(value=t["value"])))
    await assert_sees_all(t, boss, total=11)
    listing_call = next(c for c in await boss.send("/fields deal") if c.text)
    assert t["listed"] in listing_call.text
    field_menu = only(await boss.press(t["field"], listing_call))
    assert t["menu_sales"] in field_menu

    # The rep is added by name beside the department: he sees it again.
    assert only(await boss.send(t["restrict_two"])) == t["restricted_two"]
    piotr_id = await user_id(fresh, t["piotr"])
    assert await access_rows(fresh) == sorted([(None, t["sales"]), (piotr_id, None)], key=str)
    assert line(t, t["value"]) in (await card(piotr)).text
    assert_unseen(t, (await card(marek)).text)

    # Lifted: everybody sees it, the whole history counts again.
    assert only(await boss.send(t["lift"])) == t["lifted"]
    assert await access_rows(fresh) == []
    for user in (piotr, marek):
        await assert_sees_all(t, user, total=11)
    assert t["menu_all"] in only(await boss.press(t["field"], listing_call))
