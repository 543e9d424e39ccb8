"""Dictionaries ("statuses and dropdowns") end to end, in Polish and Russian: /dictionaries with
its buttons and the one-line /dictionary commands (a dictionary named in the admin's language
or in English, any case, several words); system values renamed but never deleted, custom ones
deleted unless cards hold them (said with how many); lead statuses in the same menu with the
initial and final ones kept; a rep refused; values set from the card's ✏️ Edit menu, saved,
shown on the card and in its history."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from crm.enums import Role
from storage.models import Company, Contact, Deal, DictionaryItem, Stage, TimelineEntry
from tests.fakeapi import Call
from tests.harness import Harness, TgUser, texts

W: dict[str, dict[str, Any]] = {
    "pl": {
        "boss": "Szef",
        "rep": "Ola",
        "menu": (
            "<b>Słowniki</b>\nListy, z których wybiera się wartości na kartach. Wybierz jedną, "
            "aby dodać, zmienić nazwę lub usunąć jej wartości."
        ),
        "menu_buttons": [
            "Źródła", "Typy kontaktów", "Zwroty grzecznościowe", "Typy firm", "Branże",
            "Liczba pracowników", "Typy deali", "Statusy leadów",
        ],
        "legend": (
            "🔒 Wartościom wbudowanym można zmienić nazwę, ale nie można ich usunąć; "
            "własne można usuwać."
        ),
        "status_legend": (
            "🔒 Statusom początkowemu i końcowym można zmienić nazwę, ale nie można ich usunąć."
        ),
        "custom": "(własne)",
        "add": "➕ Dodaj",
        "back": "◀ Słowniki",
        "back_value": "◀ Wstecz",
        "source_added": "Dodano źródło [{id}]: {name}.",
        "source_renamed": "Źródło [{id}] nazywa się teraz {name}.",
        "no_contact_type": (
            "W słowniku „Typy kontaktów” nie ma wartości „{id}” (ani wartości o takim id)."
        ),
        "rename": "✏️ Zmień nazwę",
        "delete": "🗑 Usuń",
        # Commands: the dictionary by a localized, English, or alias name, in any case.
        "contact_type": "typ kontaktu",
        "contact_type_title": "Typy kontaktów",
        "wholesaler": "Hurtownik",
        "wholesaler_typed": "hurtownik",
        "big_wholesaler": "Hurtownik duży",
        "industry": "Industry",
        "industry_title": "Branże",
        "logistics": "Logistyka",
        "employees": "liczba  PRACOWNIKÓW",
        "employees_title": "Liczba pracowników",
        "salutation": "zwrot grzecznościowy",
        "salutation_title": "Zwroty grzecznościowe",
        "prof": "Prof.",
        "mr": "Pan",
        "mr_renamed": "Pan inż.",
        "statuses": "statusy leadów",
        "statuses_title": "Statusy leadów",
        "added": "{title}: dodano [{id}] {name}.",
        "renamed": "{title}: [{id}] nazywa się teraz {name}.",
        "deleted": "{title}: usunięto [{id}] {name}.",
        "taken": "Nazwa „{name}” jest zajęta: nazwy na liście muszą się różnić.",
        "system": "Wbudowanej pozycji nie można usunąć (można zmienić jej nazwę).",
        "in_use_contacts": "2 kontakty mają tę wartość: najpierw je zmień.",
        "in_use_contact": "1 kontakt ma tę wartość: najpierw go zmień.",
        "in_use_deal": "1 deal ma tę wartość: najpierw go zmień.",
        "initial": "Statusu początkowego nie można usunąć (można zmienić jego nazwę).",
        "final": (
            "Statusu końcowego (dobry lub bezwartościowy lead) nie można usunąć "
            "(można zmienić jego nazwę)."
        ),
        "new_lead": "Nieprzetworzony",
        "junk": "Lead bezwartościowy",
        "no_dictionary": "Żaden słownik nie nazywa się „typ rzeczy Logistyka”. Zobacz /dictionaries.",
        "no_value": "W słowniku „Branże” nie ma wartości „Kosmos” (ani wartości o takim id).",
        "usage_add": (
            "Użycie: /dictionary_add SŁOWNIK NAZWA, na przykład /dictionary_add branża "
            "Logistyka\n/dictionaries pokazuje je z ich id."
        ),
        "denied": "Nie masz uprawnień, aby to zrobić.",
        "ask_new": "Wyślij nazwę nowej wartości słownika „{title}”. /cancel, aby przerwać.",
        "ask_rename": "Wyślij nową nazwę dla „{name}”. /cancel, aby przerwać.",
        "again": "\nWyślij inną nazwę albo /cancel, aby przerwać.",
        "value_custom": "Własna: można zmienić jej nazwę i usunąć ją, dopóki nigdzie nie jest użyta.",
        "value_system": "Wbudowana: można zmienić jej nazwę, ale nie można jej usunąć.",
        "fair": "Targi branżowe",
        "fair_typed": "targi  BRANŻOWE",
        "fair_renamed": "Targi Poznań",
        "callback": "Oddzwonienie",
        "status_new": "Do ponownego kontaktu",
        # Cards
        "edit": "✏️ Edytuj",
        "contact_fields": [
            "Imię i nazwisko", "Telefon", "E-mail", "Typ kontaktu", "Zwrot grzecznościowy",
        ],
        "company_fields": ["Tytuł", "Telefon", "E-mail", "Typ firmy", "Branża", "Liczba pracowników"],
        "contact_type_field": "Typ kontaktu",
        "salutation_field": "Zwrot grzecznościowy",
        "deal_type_field": "Typ deala",
        "industry_field": "Branża",
        "employees_field": "Liczba pracowników",
        "pick": "Wybierz wartość pola „{field}” dla {code}:",
        "contact_types": ["Klient", "Dostawca", "Partner", "Inne", "Hurtownik"],
        "client": "Klient",
        "ms": "Panna",
        "deal_types": [
            "Sprzedaż", "Sprzedaż złożona", "Sprzedaż towarów", "Sprzedaż usług",
            "Serwis posprzedażowy",
        ],
        "services": "Sprzedaż usług",
        "goods": "Sprzedaż towarów",
        "it": "IT",
        "size": "50–250",
        "saved": "✏️ Zapisano.",
        "line": "{field}: {value}",
        "history": "{field}: {old} → {new}",
    },
    "ru": {
        "boss": "Шеф",
        "rep": "Оля",
        "menu": (
            "<b>Справочники</b>\nСписки, значения из которых выбирают в карточках. Выберите "
            "список, чтобы добавить, переименовать или удалить его значения."
        ),
        "menu_buttons": [
            "Источники", "Типы контактов", "Обращения", "Типы компаний", "Отрасли",
            "Число сотрудников", "Типы сделок", "Статусы лидов",
        ],
        "legend": (
            "🔒 Встроенные значения можно переименовать, но нельзя удалить; свои можно удалять."
        ),
        "status_legend": "🔒 Начальный и конечные статусы можно переименовать, но нельзя удалить.",
        "custom": "(пользовательский)",
        "add": "➕ Добавить",
        "back": "◀ Справочники",
        "back_value": "◀ Назад",
        "source_added": "Источник [{id}] добавлен: {name}.",
        "source_renamed": "Источник [{id}] теперь называется {name}.",
        "no_contact_type": (
            "В справочнике «Типы контактов» нет значения «{id}» (и значения с таким id тоже)."
        ),
        "rename": "✏️ Переименовать",
        "delete": "🗑 Удалить",
        "contact_type": "Тип Контакта",
        "contact_type_title": "Типы контактов",
        "wholesaler": "Оптовик",
        "wholesaler_typed": "оптовик",
        "big_wholesaler": "Крупный оптовик",
        "industry": "industry",
        "industry_title": "Отрасли",
        "logistics": "Логистика",
        "employees": "кол-во сотрудников",
        "employees_title": "Число сотрудников",
        "salutation": "обращение",
        "salutation_title": "Обращения",
        "prof": "Проф.",
        "mr": "Господин",
        "mr_renamed": "Г-н",
        "statuses": "статусы лидов",
        "statuses_title": "Статусы лидов",
        "added": "{title}: добавлено [{id}] {name}.",
        "renamed": "{title}: [{id}] теперь называется {name}.",
        "deleted": "{title}: удалено [{id}] {name}.",
        "taken": "Название «{name}» уже занято: названия в списке должны различаться.",
        "system": "Встроенную запись нельзя удалить (её можно переименовать).",
        "in_use_contacts": "Это значение указано у 2 контактов: сначала замените его там.",
        "in_use_contact": "Это значение указано у 1 контакта: сначала замените его там.",
        "in_use_deal": "Это значение указано у 1 сделки: сначала замените его там.",
        "initial": "Начальный статус нельзя удалить (его можно переименовать).",
        "final": (
            "Конечный статус (качественный или некачественный лид) нельзя удалить "
            "(его можно переименовать)."
        ),
        "new_lead": "Не обработан",
        "junk": "Некачественный лид",
        "no_dictionary": "Нет справочника с названием «typ rzeczy Logistyka». См. /dictionaries.",
        "no_value": "В справочнике «Отрасли» нет значения «Kosmos» (и значения с таким id тоже).",
        "usage_add": (
            "Как вызвать: /dictionary_add СПРАВОЧНИК НАЗВАНИЕ, например /dictionary_add отрасль "
            "Логистика\n/dictionaries покажет их вместе с id."
        ),
        "denied": "У вас нет прав на это действие.",
        "ask_new": "Отправьте название нового значения справочника «{title}». /cancel — отменить.",
        "ask_rename": "Отправьте новое название для «{name}». /cancel — отменить.",
        "again": "\nОтправьте другое название или /cancel — отменить.",
        "value_custom": "Своё: его можно переименовать и удалить, пока оно нигде не указано.",
        "value_system": "Встроенное: его можно переименовать, но нельзя удалить.",
        "fair": "Отраслевая выставка",
        "fair_typed": "отраслевая   ВЫСТАВКА",
        "fair_renamed": "Выставка в Казани",
        "callback": "Перезвонить",
        "status_new": "Повторный контакт",
        "edit": "✏️ Изменить",
        "contact_fields": ["Имя", "Телефон", "E-mail", "Тип контакта", "Обращение"],
        "company_fields": [
            "Название", "Телефон", "E-mail", "Тип компании", "Сфера деятельности", "Число сотрудников",
        ],
        "contact_type_field": "Тип контакта",
        "salutation_field": "Обращение",
        "deal_type_field": "Тип сделки",
        "industry_field": "Сфера деятельности",
        "employees_field": "Число сотрудников",
        "pick": "Выберите значение поля «{field}» для {code}:",
        "contact_types": ["Клиент", "Поставщик", "Партнёр", "Другое", "Оптовик"],
        "client": "Клиент",
        "ms": "Мисс",
        "deal_types": [
            "Продажа", "Комплексная продажа", "Продажа товаров", "Продажа услуг",
            "Послепродажное обслуживание",
        ],
        "services": "Продажа услуг",
        "goods": "Продажа товаров",
        "it": "Информационные технологии",
        "size": "50–250",
        "saved": "✏️ Сохранено.",
        "line": "{field}: {value}",
        "history": "{field}: {old} → {new}",
    },
}  # fmt: skip


def id_in(text: str) -> int:
    """The id a reply names in brackets: `… [45] Hurtownik.`"""
    found = re.search(r"\[(\d+)\]", text)
    assert found, text
    return int(found.group(1))


def only(calls: list[Call], method: str = "sendMessage") -> Call:
    (call,) = [c for c in calls if c.method == method]
    return call


async def item(harness: Harness, item_id: int) -> DictionaryItem | None:
    async with harness.crm() as crm:  # a fresh session: only what was committed
        return await crm.repos.session.get(DictionaryItem, item_id)


async def items_of(harness: Harness, kind: str) -> dict[str, DictionaryItem]:
    async with harness.crm() as crm:
        rows = await crm.repos.session.scalars(
            select(DictionaryItem).where(DictionaryItem.kind == kind)
        )
        return {row.code: row for row in rows}


async def lead_status_ids(harness: Harness) -> dict[str, int]:
    async with harness.crm() as crm:
        rows = await crm.repos.session.scalars(select(Stage).where(Stage.entity == "lead"))
        return {row.code: row.id for row in rows}


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_dictionaries_by_one_line_commands(harness: Harness, lang: str) -> None:
    w = W[lang]
    boss = await harness.member(Role.ADMIN, w["boss"], language_code=lang)
    rep = await harness.member(Role.REP, w["rep"], language_code=lang)

    # A custom contact type, named by the dictionary's localized name (any case, spaces).
    (added,) = texts(await boss.send(f"/dictionary_add {w['contact_type']} {w['wholesaler']}"))
    wholesaler = id_in(added)
    assert added == w["added"].format(
        title=w["contact_type_title"], id=wholesaler, name=w["wholesaler"]
    )
    stored = await item(harness, wholesaler)
    assert stored is not None and (stored.kind, stored.name, stored.is_system) == (
        "contact_type",
        w["wholesaler"],
        False,
    )
    # Names are unique within a dictionary, case-insensitively; the same name elsewhere is fine.
    assert texts(
        await boss.send(f"/dictionary_add {w['contact_type']} {w['wholesaler_typed']}")
    ) == [w["taken"].format(name=w["wholesaler_typed"])]
    # The dictionary by its English name, and by an alias of several words.
    (logistics,) = texts(await boss.send(f"/dictionary_add {w['industry']} {w['logistics']}"))
    logistics_id = id_in(logistics)
    assert logistics == w["added"].format(
        title=w["industry_title"], id=logistics_id, name=w["logistics"]
    )
    (size,) = texts(await boss.send(f"/dictionary_add {w['employees']} 1000+"))
    size_id = id_in(size)
    assert size == w["added"].format(title=w["employees_title"], id=size_id, name="1000+")
    (prof,) = texts(await boss.send(f"/dictionary_add {w['salutation']} {w['prof']}"))
    prof_id = id_in(prof)
    assert prof == w["added"].format(title=w["salutation_title"], id=prof_id, name=w["prof"])
    stored = await item(harness, prof_id)
    assert stored is not None and (stored.kind, stored.name) == ("salutation", w["prof"])

    # Renamed by name (several words) and by id; a system value is renamed too.
    assert texts(
        await boss.send(
            f"/dictionary_rename {w['contact_type']} {w['wholesaler_typed']} {w['big_wholesaler']}"
        )
    ) == [
        w["renamed"].format(title=w["contact_type_title"], id=wholesaler, name=w["big_wholesaler"])
    ]
    mr = (await items_of(harness, "salutation"))["MR"]
    assert texts(
        await boss.send(f"/dictionary_rename salutation {w['mr']} {w['mr_renamed']}")
    ) == [w["renamed"].format(title=w["salutation_title"], id=mr.id, name=w["mr_renamed"])]
    mr_after = await item(harness, mr.id)
    assert mr_after is not None and (mr_after.code, mr_after.name) == ("MR", w["mr_renamed"])
    # ... but never deleted, renamed or not.
    assert texts(await boss.send(f"/dictionary_delete {w['salutation']} {w['mr_renamed']}")) == [
        w["system"]
    ]
    # A salutation's id is no contact type's.
    assert texts(await boss.send(f"/dictionary_delete contact type {mr.id}")) == [
        w["no_contact_type"].format(id=mr.id)
    ]
    assert await item(harness, mr.id) is not None

    # A custom value deleted by name, by id; an unknown one or dictionary said so.
    assert texts(await boss.send(f"/dictionary_delete {w['industry']} {w['logistics']}")) == [
        w["deleted"].format(title=w["industry_title"], id=logistics_id, name=w["logistics"])
    ]
    assert await item(harness, logistics_id) is None
    assert texts(await boss.send(f"/dictionary_delete {w['employees']} {size_id}")) == [
        w["deleted"].format(title=w["employees_title"], id=size_id, name="1000+")
    ]
    assert await item(harness, size_id) is None
    assert texts(await boss.send("/dictionary_delete industry Kosmos")) == [w["no_value"]]
    assert texts(await boss.send("/dictionary_add typ rzeczy Logistyka")) == [w["no_dictionary"]]
    assert texts(await boss.send("/dictionary_add")) == [w["usage_add"]]
    assert texts(await boss.send(f"/dictionary_add {w['industry']}")) == [w["usage_add"]]

    # In use: refused with how many contacts hold it, then deleted once none does.
    for name in ("Jan Kowalski +48 600 100 200", "Anna Nowak anna@firma.pl"):
        await rep.send(f"/contact {name}")
    for code in ("C1", "C2"):
        await rep.send(f"/{code}")
        await rep.press(w["edit"])
        await rep.press(w["contact_type_field"])
        await rep.press(w["big_wholesaler"])
    assert texts(await boss.send(f"/dictionary_delete {w['contact_type']} {wholesaler}")) == [
        w["in_use_contacts"]
    ]
    await rep.send("/C2")
    await rep.press(w["edit"])
    await rep.press(w["contact_type_field"])
    await rep.press(w["client"])
    assert texts(await boss.send(f"/dictionary_delete {w['contact_type']} {wholesaler}")) == [
        w["in_use_contact"]
    ]
    assert await item(harness, wholesaler) is not None

    # Lead statuses: the initial and the final ones stay; a new one comes and goes.
    statuses = await lead_status_ids(harness)
    assert texts(await boss.send(f"/dictionary_delete {w['statuses']} {w['new_lead']}")) == [
        w["initial"]
    ]
    assert texts(await boss.send(f"/dictionary_delete lead status {statuses['JUNK']}")) == [
        w["final"]
    ]
    assert texts(
        await boss.send(f"/dictionary_delete {w['statuses']} {statuses['CONVERTED']}")
    ) == [w["final"]]
    (status,) = texts(await boss.send(f"/dictionary_add {w['statuses']} {w['status_new']}"))
    status_id = id_in(status)
    assert status == w["added"].format(
        title=w["statuses_title"], id=status_id, name=w["status_new"]
    )
    assert status_id in (await lead_status_ids(harness)).values()
    # A deal stage's id is not a lead status.
    assert texts(await boss.send(f"/dictionary_delete {w['statuses']} 1"))[0].endswith(
        {"pl": "(ani wartości o takim id).", "ru": "(и значения с таким id тоже)."}[lang]
    )
    assert texts(await boss.send(f"/dictionary_delete {w['statuses']} {w['status_new']}")) == [
        w["deleted"].format(title=w["statuses_title"], id=status_id, name=w["status_new"])
    ]
    assert status_id not in (await lead_status_ids(harness)).values()
    assert set(await lead_status_ids(harness)) == set(statuses)

    # A rep configures nothing, whatever the command or the button.
    before = await items_of(harness, "contact_type")
    for command in (
        "/dictionaries",
        f"/dictionary {w['contact_type']}",
        f"/dictionary_add {w['contact_type']} Konkurent",
        f"/dictionary_rename {w['contact_type']} {wholesaler} X",
        f"/dictionary_delete {w['contact_type']} {wholesaler}",
        "/dictionary_add",
    ):
        assert texts(await rep.send(command)) == [w["denied"]], command
    for data in (f"dc:rm:contact_type:{wholesaler}", "dc:k:contact_type:0", "dc:add:industry:0"):
        replies = await rep.press_data(data)
        assert only(replies, "answerCallbackQuery").params.get("text") == w["denied"], data
    after = await items_of(harness, "contact_type")
    assert {c: (i.id, i.name) for c, i in after.items()} == {
        c: (i.id, i.name) for c, i in before.items()
    }


async def open_listing(boss: TgUser, w: dict[str, Any], title: str) -> Call:
    menu = only(await boss.send("/dictionaries"))
    assert menu.text == w["menu"]
    assert [b["text"] for b in menu.buttons] == w["menu_buttons"]
    return only(await boss.press(title), "editMessageText")


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_dictionaries_by_buttons(harness: Harness, lang: str) -> None:
    w = W[lang]
    boss = await harness.member(Role.ADMIN, w["boss"], language_code=lang)
    rep = await harness.member(Role.REP, w["rep"], language_code=lang)
    sources = await items_of(harness, "source")

    listing = await open_listing(boss, w, w["menu_buttons"][0])
    assert listing.text.startswith(f"<b>{w['menu_buttons'][0]}</b>\n  [{sources['CALL'].id}] 🔒 ")
    assert listing.text.endswith("\n" + w["legend"])
    labels = [b["text"] for b in listing.buttons]
    assert len(labels) == len(sources) + 2 and labels[-2:] == [w["add"], w["back"]]
    assert all(label.startswith("🔒 ") for label in labels[:-2])

    # ➕ Add: the name is asked, a taken one refused and asked again, then saved.
    assert texts(await boss.press(w["add"])) == [w["ask_new"].format(title=w["menu_buttons"][0])]
    taken = labels[0].removeprefix("🔒 ").upper()
    assert texts(await boss.send(taken)) == [w["taken"].format(name=taken) + w["again"]]
    saved = only(await boss.send(w["fair_typed"]))
    fair_id = id_in(saved.text)
    fair_name = " ".join(w["fair_typed"].split())
    # (sources are said in the words /source_add always used)
    assert saved.text.startswith(w["source_added"].format(id=fair_id, name=fair_name) + "\n\n")
    assert f"  [{fair_id}] {fair_name} {w['custom']}" in saved.text
    fair = await item(harness, fair_id)
    assert fair is not None and (fair.kind, fair.name, fair.is_system) == (
        "source",
        fair_name,
        False,
    )

    # A value: Rename asks its new name.
    shown = only(await boss.press(f"{fair_name} {w['custom']}"), "editMessageText")
    assert shown.text == (
        f"<b>{w['menu_buttons'][0]}</b> · [{fair_id}] {fair_name}\n{w['value_custom']}"
    )
    assert [b["text"] for b in shown.buttons] == [w["rename"], w["delete"], w["back_value"]]
    assert texts(await boss.press(w["rename"])) == [w["ask_rename"].format(name=fair_name)]
    renamed = only(await boss.send(w["fair_renamed"]))
    assert renamed.text.startswith(
        w["source_renamed"].format(id=fair_id, name=w["fair_renamed"]) + "\n\n"
    )
    fair = await item(harness, fair_id)
    assert fair is not None and fair.name == w["fair_renamed"]

    # In use on a deal: Delete refused with the count; /sources is the same list.
    await rep.send("/deal Wdrożenie CRM 9000 zł")
    await rep.press({"pl": "Źródło", "ru": "Источник"}[lang])
    await rep.press(w["fair_renamed"])
    await boss.press(f"{w['fair_renamed']} {w['custom']}")
    assert (
        texts(await boss.press(w["delete"]))[-1]
        == {
            "pl": "1 klient lub deal ma to źródło: najpierw je zmień.",
            "ru": "1 клиент или сделка с этим источником: сначала смените его.",
        }[lang]
    )
    assert await item(harness, fair_id) is not None
    rep_sources = only(await rep.send("/sources"))
    assert f"[{fair_id}] {w['fair_renamed']} {w['custom']}" in rep_sources.text
    assert rep_sources.buttons == []  # a rep sees the list, without buttons to change it
    assert only(await boss.send("/sources")).buttons[-2]["text"] == w["add"]

    # A system value: Delete refused, said in words.
    await boss.send("/sources")
    shown = only(await boss.press(labels[0]), "editMessageText")
    assert shown.text.endswith("\n" + w["value_system"])
    assert texts(await boss.press(w["delete"]))[-1] == w["system"]
    assert await item(harness, sources["CALL"].id) is not None

    # Another dictionary by buttons: a custom deal type added, then deleted once unused.
    listing = await open_listing(boss, w, w["menu_buttons"][6])
    await boss.press(w["add"])
    (added,) = texts(await boss.send(w["callback"]))
    callback_id = id_in(added)
    await boss.press(f"{w['callback']} {w['custom']}")
    deleted = only(await boss.press(w["delete"]), "editMessageText")
    assert deleted.text.startswith(
        w["deleted"].format(title=w["menu_buttons"][6], id=callback_id, name=w["callback"])
        + "\n\n<b>"
        + w["menu_buttons"][6]
    )
    assert w["callback"] not in deleted.text.split("\n\n", 1)[1]
    assert await item(harness, callback_id) is None

    # Lead statuses by buttons: the initial one refused, a custom one added.
    statuses = await lead_status_ids(harness)
    listing = await open_listing(boss, w, w["menu_buttons"][7])
    assert listing.text.startswith(
        f"<b>{w['menu_buttons'][7]}</b>\n  [{statuses['NEW']}] 🔒 {w['new_lead']}\n"
    )
    assert f"  [{statuses['JUNK']}] ❌ 🔒 {w['junk']}\n" in listing.text
    assert listing.text.endswith("\n" + w["status_legend"])
    await boss.press(f"🔒 {w['new_lead']}")
    assert texts(await boss.press(w["delete"]))[-1] == w["initial"]
    await boss.press("◀")
    await boss.press(f"❌ 🔒 {w['junk']}")
    assert texts(await boss.press(w["delete"]))[-1] == w["final"]
    assert set(await lead_status_ids(harness)) == set(statuses)
    await boss.press("◀")
    await boss.press(w["add"])
    (status,) = texts(await boss.send(w["status_new"]))
    assert id_in(status) in (await lead_status_ids(harness)).values()


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_values_set_on_cards(harness: Harness, lang: str) -> None:
    w = W[lang]
    boss = await harness.member(Role.ADMIN, w["boss"], language_code=lang)
    rep = await harness.member(Role.REP, w["rep"], language_code=lang)
    (added,) = texts(await boss.send(f"/dictionary_add {w['contact_type']} {w['wholesaler']}"))

    # A contact: its type and salutation from the ✏️ Edit menu (a rep, on their own card).
    await rep.send("/contact Jan Kowalski +48 600 100 200")
    menu = only(await rep.press(w["edit"]))
    assert [b["text"] for b in menu.buttons] == w["contact_fields"]
    offered = only(await rep.press(w["contact_type_field"]))
    assert offered.text == w["pick"].format(field=w["contact_type_field"].lower(), code="C1")
    assert [b["text"] for b in offered.buttons] == w["contact_types"]
    card = only(await rep.press(w["wholesaler"])).text
    assert card.startswith(w["saved"] + "\n\n<b>C1</b>")
    assert w["line"].format(field=w["contact_type_field"], value=w["wholesaler"]) in card
    assert (
        w["history"].format(field=w["contact_type_field"].lower(), old="—", new=w["wholesaler"])
        in card
    )
    await rep.press(w["edit"])
    offered = only(await rep.press(w["salutation_field"]))
    assert offered.text == w["pick"].format(field=w["salutation_field"].lower(), code="C1")
    card = only(await rep.press(w["ms"])).text
    assert w["line"].format(field=w["salutation_field"], value=w["ms"]) in card
    # The current value is marked when it is offered again; another one replaces it.
    await rep.press(w["edit"])
    offered = only(await rep.press(w["contact_type_field"]))
    assert "✅ " + w["wholesaler"] in [b["text"] for b in offered.buttons]
    card = only(await rep.press(w["client"])).text
    assert w["line"].format(field=w["contact_type_field"], value=w["client"]) in card
    assert (
        w["history"].format(
            field=w["contact_type_field"].lower(), old=w["wholesaler"], new=w["client"]
        )
        in card
    )
    async with harness.crm() as crm:  # a fresh session: what was committed
        contact = await crm.repos.session.get(Contact, 1)
        changes = (
            await crm.repos.session.scalars(
                select(TimelineEntry)
                .where(TimelineEntry.entity == "contact", TimelineEntry.kind == "changed")
                .order_by(TimelineEntry.id)
            )
        ).all()
    assert contact is not None and (contact.contact_type, contact.salutation) == ("CLIENT", "MS")
    wholesaler_code = (await item(harness, id_in(added))).code  # type: ignore[union-attr]
    assert [(c.data["field"], c.data["old"], c.data["new"]) for c in changes] == [
        ("contact_type", None, wholesaler_code),
        ("salutation", None, "MS"),
        ("contact_type", wholesaler_code, "CLIENT"),
    ]

    # A deal: its type; the card shows it in the rep's words and the admin's renaming.
    await rep.send("/deal Wdrożenie CRM 12 000 zł")
    await rep.press(w["edit"])
    offered = only(await rep.press(w["deal_type_field"]))
    assert [b["text"] for b in offered.buttons] == w["deal_types"]
    card = only(await rep.press(w["services"])).text
    assert w["line"].format(field=w["deal_type_field"], value=w["services"]) in card
    async with harness.crm() as crm:
        deal = await crm.repos.session.get(Deal, 1)
    assert deal is not None and deal.deal_type == "SERVICES"
    services = (await items_of(harness, "deal_type"))["SERVICES"]
    await boss.send(f"/dictionary_rename deal type {services.id} Usługi IT")
    card = texts(await rep.send("/D1"))[0]
    assert w["line"].format(field=w["deal_type_field"], value="Usługi IT") in card
    assert (
        w["history"].format(field=w["deal_type_field"].lower(), old="—", new="Usługi IT") in card
    )
    # Another deal holding a custom type: its delete is refused with the count.
    (custom,) = texts(await boss.send(f"/dictionary_add deal type {w['callback']}"))
    await rep.send("/deal Serwis roczny 3000 zł")
    await rep.press(w["edit"])
    await rep.press(w["deal_type_field"])
    await rep.press(w["callback"])
    assert texts(await boss.send(f"/dictionary_delete deal type {id_in(custom)}")) == [
        w["in_use_deal"]
    ]

    # A company: industry and employee count, from the admin's Edit menu.
    await boss.send("/company Kowalski Logistyka sp. z o.o.")
    menu = only(await boss.press(w["edit"]))
    assert [b["text"] for b in menu.buttons] == w["company_fields"]
    await boss.press(w["industry_field"])
    await boss.press(w["it"])
    await boss.press(w["edit"])
    await boss.press(w["employees_field"])
    card = only(await boss.press(w["size"])).text
    assert w["line"].format(field=w["industry_field"], value=w["it"]) in card
    assert w["line"].format(field=w["employees_field"], value=w["size"]) in card
    async with harness.crm() as crm:
        company = await crm.repos.session.get(Company, 1)
    assert company is not None and (company.industry, company.employees) == ("IT", "EMPLOYEES_2")

    # Someone else's card: the values are refused like any edit, nothing changes.
    other = await harness.member(Role.REP, "Piotr", language_code=lang)
    replies = await other.press_data(
        "pk:salutation:C:1:" + str((await items_of(harness, "salutation"))["DR"].id)
    )
    assert only(replies, "answerCallbackQuery").params.get("text")
    async with harness.crm() as crm:
        contact = await crm.repos.session.get(Contact, 1)
    assert contact is not None and contact.salutation == "MS"
    # A value of another dictionary, or a dictionary a contact does not hold: refused.
    for data in (f"pk:salutation:C:1:{services.id}", f"pk:deal_type:C:1:{services.id}"):
        replies = await rep.press_data(data)
        assert only(replies, "answerCallbackQuery").params.get("text"), data
    async with harness.crm() as crm:
        contact = await crm.repos.session.get(Contact, 1)
    assert contact is not None and (contact.contact_type, contact.salutation) == ("CLIENT", "MS")


USAGE = {
    "pl": {
        "word": "Użycie: ",
        "example": "na przykład ",
        "results": [
            "Branże: dodano [{id}] Logistyka.",
            "<b>Typy kontaktów</b>\n",
            "Zwroty grzecznościowe: [{id}] nazywa się teraz Doktor.",
            "Branże: usunięto [{id}] Logistyka.",
        ],
    },
    "ru": {
        "word": "Как вызвать: ",
        "example": "например ",
        "results": [
            "Отрасли: добавлено [{id}] Логистика.",
            "<b>Типы контактов</b>\n",
            "Обращения: [{id}] теперь называется Д-р.",
            "Отрасли: удалено [{id}] Логистика.",
        ],
    },
}


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_usage_of_each_command_and_its_example_as_typed(harness: Harness, lang: str) -> None:
    """Without arguments a command shows its usage; the usage's example works when sent."""
    u, w = USAGE[lang], W[lang]
    boss = await harness.member(Role.ADMIN, w["boss"], language_code=lang)
    rep = await harness.member(Role.REP, w["rep"], language_code=lang)
    commands = ["/dictionary_add", "/dictionary", "/dictionary_rename", "/dictionary_delete"]
    for command, result in zip(commands, u["results"], strict=True):
        (usage,) = texts(await boss.send(command + "  "))
        assert usage.startswith(u["word"] + command + " "), usage
        assert "\n/dictionaries " in usage  # where the dictionaries are listed
        example = usage.split(u["example"], 1)[1].split("\n", 1)[0]
        assert example.startswith(command + " ")
        (reply,) = texts(await boss.send(example))
        if "{id}" in result:
            assert reply == result.format(id=id_in(reply)), (example, reply)
        else:
            assert reply.startswith(result), (example, reply)
        assert texts(await rep.send(command)) == [w["denied"]]
    async with harness.crm() as crm:
        industries = await crm.dictionaries.items("industry")
        salutations = await crm.dictionaries.items("salutation")
    assert "Logistyka" not in {i.name for i in industries}
    assert "Логистика" not in {i.name for i in industries}
    assert {i.code: i.name for i in salutations}["DR"] == {"pl": "Doktor", "ru": "Д-р"}[lang]
