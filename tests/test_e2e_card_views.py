"""Sections and card views end to end, in Polish and Russian (issue 14: sections, card views).

An admin makes sections of deal fields, puts fields into them from the field's menu, moves the
sections and the fields, renames a section and deletes one: its fields are hidden, never
deleted, their values stay. The common view orders and hides fields for everybody; a
department's view applies to that department's people only; a rep holding the "my card view"
right arranges their own card and nobody else's changes; a rep without it is refused (also
through a forged button); a restricted field stays off the card of whoever may not see it,
whatever a view lists. Stored rows are read back through a fresh session."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from sqlalchemy import select

from crm.context import Crm
from crm.enums import Right, Role
from storage.models import CardView, CustomField, Deal, FieldSection, FieldValue
from tests.fakeapi import Call
from tests.harness import Harness, TgUser, texts
from tests.test_e2e_roles import new_role

Fresh = Callable[[], AbstractAsyncContextManager[Crm]]
MY_VIEW = list(Right).index(Right.MY_VIEW)  # RoleCb's right toggle: the index in Right

T: dict[str, dict[str, Any]] = {
    "pl": {
        "fields": [
            "/field_add deal data Termin dostawy",
            "/field_add Deal tekst Adres dostawy",
            "/field_add deal tekst Numer zamówienia",
            "/field_add deal tekst Rabat partnera",
        ],
        "names": ["Termin dostawy", "Adres dostawy", "Numer zamówienia", "Rabat partnera"],
        "sets": [
            "/set {code} termin dostawy 15.01.2027",
            "/set {code} Adres dostawy ul. Polna 5, Poznań",
            "/set {code} numer zamówienia ZAM-2026-117",
            "/set {code} Rabat partnera tajne 17 procent",
        ],
        "lines": [
            "Termin dostawy: 15 sty 2027",
            "Adres dostawy: ul. Polna 5, Poznań",
            "Numer zamówienia: ZAM-2026-117",
            "Rabat partnera: tajne 17 procent",
        ],
        "deal": "/deal Wdrożenie CRM w hurtowni 5000 zł",
        "add_delivery": "/section_add deal Dostawa",
        "add_finance": "/section_add Deal   Finanse i rozliczenia",
        "add_again": "/section_add deal DOSTAWA",
        "delivery": "Dostawa",
        "finance": "Finanse i rozliczenia",
        "added": "Sekcja „Dostawa” dodana, typ elementu: deal.",
        "taken": "Sekcja o nazwie „DOSTAWA” już istnieje.",
        "section_usage": "/section_add deal",
        "section_usage_text": "Użycie: /section_add TYP NAZWA, np. /section_add deal Dostawa",
        "sections_head": "<b>Sekcje: deal</b>",
        "section_button": "Sekcja",
        "rename_prompt": "Wyślij nową nazwę sekcji „Dostawa”. /cancel, aby przerwać.",
        "renamed": "Logistyka i dostawa",
        "delete_q": (
            "Usunąć sekcję „Logistyka i dostawa”? Jej 2 pola zostaną ukryte na kartach, a nie "
            "usunięte: wartości zostają, a pola można znów pokazać albo przenieść do innej "
            "sekcji."
        ),
        "yes": "Tak, usuń",
        "deleted": "Sekcja „Logistyka i dostawa” usunięta; jej 2 pola są ukryte, a ich wartości "
        "zachowane.",
        "denied": "Nie masz uprawnień, aby to zrobić.",
        "responsible": "Odpowiedzialny: ",
        "sales": "Sprzedaż",
        "service": "Serwis",
        "ola": "Ola Nowak",
        "piotr": "Piotr Wiśniewski",
        "marek": "Marek Zając",
        "role": "Handlowiec z własnym widokiem",
        "role_given": "Marek Zając ma teraz rolę Handlowiec z własnym widokiem.",
        "view": "/view deal",
        "view_sales": "/view Deal sprzedaż",
        "view_unknown": "/view deal Magazyn",
        "view_unknown_text": "Nie ma działu o nazwie „Magazyn”. Zobacz /departments.",
        "common_head": "<b>Wspólny widok karty: deal</b> (dla wszystkich)",
        "sales_head": "<b>Widok karty działu Sprzedaż: deal</b>",
        "my_head": "<b>Mój widok karty: deal</b>",
        "my_view": "/my_view deal",
        "my_refused": (
            "Twoja rola nie pozwala układać własnego widoku karty. Poproś administratora o "
            "prawo „mój widok karty”."
        ),
        "restrict": "/field_visible Rabat partnera dla Sprzedaż",
        "reset": "Przywróć domyślny",
    },
    "ru": {
        "fields": [
            "/field_add сделка дата Срок поставки",
            "/field_add Сделки строка Адрес доставки",
            "/field_add сделка строка Номер заказа",
            "/field_add сделка строка Скидка партнёра",
        ],
        "names": ["Срок поставки", "Адрес доставки", "Номер заказа", "Скидка партнёра"],
        "sets": [
            "/set {code} срок поставки 15.01.2027",
            "/set {code} Адрес доставки ул. Ленина 5, Казань",
            "/set {code} номер заказа ЗАК-2026-117",
            "/set {code} Скидка партнёра секретные 17 процентов",
        ],
        "lines": [
            "Срок поставки: 15 янв. 2027\u202fг.",
            "Адрес доставки: ул. Ленина 5, Казань",
            "Номер заказа: ЗАК-2026-117",
            "Скидка партнёра: секретные 17 процентов",
        ],
        "deal": "/deal Внедрение CRM на складе 5000 руб",
        "add_delivery": "/section_add сделка Доставка",
        "add_finance": "/section_add СДЕЛКИ   Финансы и расчёты",
        "add_again": "/section_add сделка доставка",
        "delivery": "Доставка",
        "finance": "Финансы и расчёты",
        "added": "Раздел «Доставка» добавлен, тип элемента: сделка.",
        "taken": "Раздел «доставка» уже есть.",
        "section_usage": "/section_add сделка",
        "section_usage_text": (
            "Формат: /section_add ТИП НАЗВАНИЕ, например /section_add сделка Доставка"
        ),
        "sections_head": "<b>Разделы: сделка</b>",
        "section_button": "Раздел",
        "rename_prompt": "Отправьте новое название раздела «Доставка». /cancel — отменить.",
        "renamed": "Логистика и доставка",
        "delete_q": (
            "Удалить раздел «Логистика и доставка»? Его 2 поля будут скрыты в карточках, а не "
            "удалены: значения сохранятся, поля можно снова показать или перенести в другой "
            "раздел."
        ),
        "yes": "Да, удалить",
        "deleted": "Раздел «Логистика и доставка» удалён; его 2 поля скрыты, значения сохранены.",
        "denied": "У вас нет прав на это действие.",
        "responsible": "Ответственный: ",
        "sales": "Продажи",
        "service": "Сервис",
        "ola": "Ольга Петрова",
        "piotr": "Пётр Смирнов",
        "marek": "Марк Зайцев",
        "role": "Менеджер со своим видом",
        "role_given": "У сотрудника Марк Зайцев теперь роль Менеджер со своим видом.",
        "view": "/view сделка",
        "view_sales": "/view сделки ПРОДАЖИ",
        "view_unknown": "/view сделка Склад",
        "view_unknown_text": "Отдела «Склад» нет. Смотрите /departments.",
        "common_head": "<b>Общий вид карточки: сделка</b> (для всех)",
        "sales_head": "<b>Вид карточки отдела Продажи: сделка</b>",
        "my_head": "<b>Мой вид карточки: сделка</b>",
        "my_view": "/my_view сделка",
        "my_refused": (
            "Ваша роль не позволяет настраивать свой вид карточки. Попросите администратора "
            "дать право «мой вид карточки»."
        ),
        "restrict": "/field_visible Скидка партнёра для Продажи",
        "reset": "Сбросить",
    },
}


def only(calls: list[Call]) -> str:
    (text,) = texts(calls)
    return text


def last(calls: list[Call]) -> Call:
    return [c for c in calls if c.text][-1]


async def card(user: TgUser, code: str = "D1") -> list[str]:
    return last(await user.send(f"/{code}")).text.splitlines()


def at(lines: list[str], text: str) -> int:
    """The index of the line that is, or starts with, `text`."""
    return next(i for i, line in enumerate(lines) if line == text or line.startswith(text))


def has(lines: list[str], text: str) -> bool:
    return any(text in line for line in lines)


async def press_beside(user: TgUser, call: Call, label: str, offset: int) -> list[Call]:
    """Press the button `offset` places after the one labelled `label` (its row's ▲ ▼ 🗑)."""
    buttons = call.buttons
    index = next(i for i, b in enumerate(buttons) if label in b["text"])
    return await user.press_data(buttons[index + offset]["callback_data"], call)


async def add_fields(admin: TgUser, t: dict[str, Any], count: int) -> None:
    for line in t["fields"][:count]:
        assert "/set" in only(await admin.send(line))


async def set_values(admin: TgUser, t: dict[str, Any], code: str, count: int) -> None:
    for line, shown in zip(t["sets"][:count], t["lines"][:count], strict=True):
        assert shown in last(await admin.send(line.format(code=code))).text


async def field_menu(admin: TgUser, t: dict[str, Any], name: str) -> Call:
    listing = last(await admin.send(t["view"].replace("/view", "/fields")))
    return last(await admin.press(name, listing))


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_sections_group_fields_and_deleting_one_hides_its_fields(
    harness: Harness, fresh: Fresh, lang: str
) -> None:
    t = T[lang]
    admin = await harness.member(Role.ADMIN, "Admin", language_code=lang)
    rep = await harness.member(Role.REP, t["ola"], language_code=lang)
    await add_fields(admin, t, 3)
    await rep.send(t["deal"])
    await set_values(admin, t, "D1", 3)
    before = await card(rep)
    assert [at(before, line) for line in t["lines"][:3]] == sorted(
        at(before, line) for line in t["lines"][:3]
    )

    # A rep may not make sections; a bad or taken name is refused, nothing is stored.
    assert only(await rep.send(t["add_delivery"])) == t["denied"]
    assert texts(await rep.send("/sections deal")) == [t["denied"]]
    assert only(await admin.send(t["section_usage"])) == t["section_usage_text"]
    added = texts(await admin.send(t["add_delivery"]))
    assert added[0] == t["added"] and added[1].startswith(t["sections_head"])
    await admin.send(t["add_finance"])
    assert only(await admin.send(t["add_again"])) == t["taken"]
    async with fresh() as crm:
        names = (await crm.repos.session.scalars(select(FieldSection.name))).all()
    assert sorted(names) == sorted([t["delivery"], t["finance"]])

    # Fields into sections, from each field's menu.
    for name, section in (
        (t["names"][0], t["delivery"]),
        (t["names"][1], t["delivery"]),
        (t["names"][2], t["finance"]),
    ):
        menu = await field_menu(admin, t, name)
        choice = last(await admin.press(t["section_button"], menu))
        assert name in choice.text
        assert section in only(await admin.press(section, choice))
    lines = await card(rep)
    delivery, finance = at(lines, f"<b>{t['delivery']}</b>"), at(lines, f"<b>{t['finance']}</b>")
    date_line, address, number = (at(lines, line) for line in t["lines"][:3])
    assert delivery < date_line < address < finance < number, lines
    assert at(lines, t["responsible"]) < delivery  # the fixed lines stay on top

    # The sections swap places; a field moves up within its section.
    screen = last(await admin.send("/sections deal"))
    assert screen.text.startswith(t["sections_head"])
    assert screen.text.index(t["delivery"]) < screen.text.index(t["finance"])
    await press_beside(admin, screen, f"✏️ {t['delivery']}", 2)  # ▼
    await admin.press("▲", await field_menu(admin, t, t["names"][1]))
    lines = await card(rep)
    delivery, finance = at(lines, f"<b>{t['delivery']}</b>"), at(lines, f"<b>{t['finance']}</b>")
    date_line, address, number = (at(lines, line) for line in t["lines"][:3])
    assert finance < number < delivery < address < date_line, lines

    # Renamed through the dialog.
    screen = last(await admin.send("/sections deal"))
    prompt = only(await admin.press(f"✏️ {t['delivery']}", screen))
    assert prompt == t["rename_prompt"]
    renamed = only(await admin.send(t["renamed"]))
    assert renamed.startswith(t["sections_head"]) and t["renamed"] in renamed
    assert f"<b>{t['renamed']}</b>" in await card(rep)

    # Deleted: asks with the count of its fields; they are hidden, never deleted.
    screen = last(await admin.send("/sections deal"))
    question = only(await press_beside(admin, screen, f"✏️ {t['renamed']}", 3))  # 🗑
    assert question == t["delete_q"]
    assert texts(await admin.press(t["yes"]))[0] == t["deleted"]
    lines = await card(rep)
    assert not has(lines, t["renamed"]) and not has(lines, t["lines"][0])
    assert not has(lines, t["lines"][1])
    assert at(lines, f"<b>{t['finance']}</b>") < at(lines, t["lines"][2])
    async with fresh() as crm:
        session = crm.repos.session
        assert (await session.scalars(select(FieldSection.name))).all() == [t["finance"]]
        rows = {
            f.name: f
            for f in (await session.scalars(select(CustomField))).all()
            if not f.is_system
        }
        assert set(rows) == set(t["names"][:3])
        for name in t["names"][:2]:
            assert rows[name].hidden and rows[name].section_id is None
        assert not rows[t["names"][2]].hidden and rows[t["names"][2]].section_id is not None
        values = (await session.scalars(select(FieldValue.value))).all()
    assert len(values) == 3 and "2027-01-15" in values

    # Shown again from its menu, the field is back (outside any section), with its value.
    menu = await field_menu(admin, t, t["names"][0])
    await admin.press(menu.buttons[1]["text"], menu)  # "Show on cards"
    lines = await card(rep)
    assert at(lines, t["lines"][0]) < at(lines, f"<b>{t['finance']}</b>")
    # Put into another section, the other one is back too, there.
    menu = await field_menu(admin, t, t["names"][1])
    await admin.press(t["finance"], last(await admin.press(t["section_button"], menu)))
    lines = await card(rep)
    assert at(lines, f"<b>{t['finance']}</b>") < at(lines, t["lines"][1])
    async with fresh() as crm:
        row = await crm.repos.session.scalar(
            select(CustomField).where(CustomField.name == t["names"][1])
        )
        assert row is not None and not row.hidden and row.section_id is not None

    # The common view lists fields by section; ▲ ▼ move a field within its section only.
    screen = last(await admin.send(t["view"]))
    listed = screen.text.splitlines()
    heading = listed.index(f"<b>{t['finance']}</b>")
    assert listed[heading + 1 : heading + 3] == [f"✅ {t['names'][1]}", f"✅ {t['names'][2]}"]
    before = await card(rep)
    await press_beside(admin, screen, f"✅ {t['names'][1]}", -1)  # ▲: first in its section
    assert await card(rep) == before
    await press_beside(admin, screen, f"✅ {t['names'][1]}", 1)  # ▼
    lines = await card(rep)
    assert (
        at(lines, f"<b>{t['finance']}</b>") < at(lines, t["lines"][2]) < at(lines, t["lines"][1])
    )


def toggle(screen: Call, name: str) -> str:
    return next(b["text"] for b in screen.buttons if name in b["text"])


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_common_department_and_my_views(harness: Harness, fresh: Fresh, lang: str) -> None:
    t = T[lang]
    names, shown = t["names"], t["lines"]
    admin = await harness.member(Role.ADMIN, "Admin", language_code=lang)
    ola = await harness.member(Role.REP, t["ola"], language_code=lang, department=t["sales"])
    piotr = await harness.member(Role.REP, t["piotr"], language_code=lang, department=t["service"])
    marek = await harness.member(Role.REP, t["marek"], language_code=lang, department=t["service"])
    role_id, screen = await new_role(admin, t["role"])
    await admin.press_data(f"rl:r:{role_id}:{MY_VIEW}", screen)
    assert texts(await admin.send(f"/user_role {t['marek']} {t['role']}")) == [t["role_given"]]
    await add_fields(admin, t, 4)
    assert t["sales"] in only(await admin.send(t["restrict"]))
    for user, code in ((ola, "D1"), (piotr, "D2"), (marek, "D3")):
        await user.send(t["deal"])
        await set_values(admin, t, code, 4)
    reps = {"ola": (ola, "D1"), "piotr": (piotr, "D2"), "marek": (marek, "D3")}

    async def cards() -> dict[str, list[str]]:
        return {key: await card(user, code) for key, (user, code) in reps.items()}

    # No view yet: the default order for all; only Sales sees the restricted field.
    for key, lines in (await cards()).items():
        assert at(lines, shown[0]) < at(lines, shown[1]) < at(lines, shown[2])
        assert has(lines, shown[3]) is (key == "ola"), (key, lines)

    # Reps may not set the common or a department's view.
    assert texts(await ola.send(t["view"])) == [t["denied"]]
    assert only(await admin.send(t["view_unknown"])) == t["view_unknown_text"]

    # The common view: the address first, the order number left out, for everybody.
    screen = last(await admin.send(t["view"]))
    assert screen.text.startswith(t["common_head"])
    screen = last(await press_beside(admin, screen, toggle(screen, names[1]), -1))  # ▲
    screen = last(await admin.press(toggle(screen, names[2]), screen))
    assert f"➖ {names[2]}" in screen.text
    for key, lines in (await cards()).items():
        assert at(lines, shown[1]) < at(lines, shown[0]), (key, lines)
        assert not has(lines, shown[2]), (key, lines)
        assert has(lines, shown[3]) is (key == "ola"), (key, lines)  # listed, still restricted

    # Sales' own view shows the order number again: for Ola, not for Service.
    screen = last(await admin.send(t["view_sales"]))
    assert screen.text.startswith(t["sales_head"])
    assert f"➖ {names[2]}" in screen.text  # it starts from what Sales saw
    await admin.press(toggle(screen, names[2]), screen)
    lines = await cards()
    assert has(lines["ola"], shown[2])
    assert not has(lines["piotr"], shown[2]) and not has(lines["marek"], shown[2])

    # A rep without the right is refused, by command and by a button made for someone else.
    assert only(await piotr.send(t["my_view"])) == t["my_refused"]
    mine = last(await marek.send(t["my_view"]))
    assert mine.text.startswith(t["my_head"])
    assert names[3] not in mine.text  # the restricted field is not even offered
    forged = next(b for b in mine.buttons if names[0] in b["text"])["callback_data"]
    await piotr.press_data(forged)
    assert has(await card(piotr, "D2"), shown[0])

    # Marek's own view: the delivery date left out, the order number shown — his card only.
    mine = last(await marek.press(toggle(mine, names[0]), mine))
    mine = last(await marek.press(toggle(mine, names[2]), mine))
    assert f"➖ {names[0]}" in mine.text and f"✅ {names[2]}" in mine.text
    lines = await cards()
    assert not has(lines["marek"], shown[0]) and has(lines["marek"], shown[2])
    assert has(lines["piotr"], shown[0]) and not has(lines["piotr"], shown[2])
    assert has(lines["ola"], shown[0]) and has(lines["ola"], shown[2])
    assert not has(lines["marek"], shown[3]) and not has(lines["piotr"], shown[3])

    async with fresh() as crm:
        views = (await crm.repos.session.scalars(select(CardView))).all()
        users = {u.name: u.id for u in await crm.repos.users.list_active()}
        ids = {
            f.name: f.id
            for f in (await crm.repos.session.scalars(select(CustomField))).all()
            if f.name
        }
    scopes = {(v.user_id is not None, v.department_id is not None): v for v in views}
    assert len(views) == 3 and set(scopes) == {(False, False), (False, True), (True, False)}
    assert scopes[(True, False)].user_id == users[t["marek"]]
    assert -ids[names[2]] in scopes[(False, False)].layout
    assert ids[names[2]] in scopes[(False, True)].layout
    assert -ids[names[0]] in scopes[(True, False)].layout

    # Reset: Marek follows the common view again.
    await marek.press(t["reset"], mine)
    lines = await cards()
    assert has(lines["marek"], shown[0]) and not has(lines["marek"], shown[2])
    async with fresh() as crm:
        assert len((await crm.repos.session.scalars(select(CardView))).all()) == 2


HIDING = {
    "pl": ("kwota", "Ukryj", "Pokazuj na kartach", "Kwota: 5"),
    "ru": ("сумма", "Скрыть", "Показывать в карточках", "Сумма: 5"),
}


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_a_hidden_system_field_leaves_every_card_and_keeps_its_value(
    harness: Harness, fresh: Fresh, lang: str
) -> None:
    t = T[lang]
    field, hide, show, amount = HIDING[lang]
    admin = await harness.member(Role.ADMIN, "Admin", language_code=lang)
    rep = await harness.member(Role.REP, t["ola"], language_code=lang)
    await rep.send(t["deal"])
    before = await card(rep)
    assert has(before, amount)
    listing = last(await admin.send(t["view"].replace("/view", "/fields")))
    menu = last(await admin.press(field, listing))
    await admin.press(hide, menu)
    after = await card(rep)
    assert not has(after, amount)
    # Nothing else on the card moved: the same lines, less the amount's.
    assert [line for line in before if not line.startswith(amount)] == after
    async with fresh() as crm:
        deal = await crm.repos.session.scalar(select(Deal))
        assert deal is not None and deal.amount_minor == 500_000
    await admin.press(show, last(await admin.press(field, listing)))
    assert await card(rep) == before
