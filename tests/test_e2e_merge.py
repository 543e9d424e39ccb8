"""Merging duplicates end to end, in Polish and Russian: `/merge` shows two contacts side by
side, a value is picked with its button, Merge moves the deals and activities to the survivor
(checked in a fresh session) and the merged contact is gone; companies take their contacts
along; deals are merged by hand; a rep without delete rights and a stranger are refused (the
stranger exactly as for a missing element); elements of two types are refused; the Undo
button and /merge_undo put everything back, and refuse after the window; and "Merge into C1"
on a duplicate warning adds what was typed to C1 without creating anything."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from sqlalchemy import select

from crm.codes import ElementRef
from crm.context import Crm
from crm.enums import EntityType, Role
from storage.models import (
    ActivityBinding,
    Communication,
    Company,
    Contact,
    Deal,
    MergeRecord,
    TimelineEntry,
)
from tests.fakeapi import Call
from tests.harness import FakeClock, Harness, TgUser, texts

Fresh = Callable[[], AbstractAsyncContextManager[Crm]]
NBSP = "\u00a0"
NNBSP = "\u202f"
REP_PRESET = 3
CONTACT_DELETE = 1 * 8 + 3  # RoleCb's cell: entity index * 8 + operation index

LANGS: dict[str, dict[str, Any]] = {
    "pl": {
        "boss": "Szef",
        "anna": "Anna",
        "todo": "/todo C2 jutro 10:00 Oddzwonić w sprawie okien",
        "deal": "/deal C2 Okna PCV 8000 zł",
        "compare_head": [
            "<b>Połączenie C2 z C1</b> · kontakt",
            "/C1 Jan Kowalski ⬅ /C2 Jan Kowalski-Nowak",
            "C1 zostaje; C2 zostanie usunięty, a jego deale, działania i historia przejdą do C1.",
            "",
            "<b>Imię i nazwisko</b>",
            "✅ C1: Jan Kowalski",
            "▫️ C2: Jan Kowalski-Nowak",
            "<b>Telefony</b>: +48601234567, +48501000200 (zostają wszystkie)",
            "<b>E-maile</b>: jan@firma.pl, jan.k@budmax.pl (zostają wszystkie)",
        ],
        "picked": ["<b>Imię i nazwisko</b>", "▫️ C1: Jan Kowalski", "✅ C2: Jan Kowalski-Nowak"],
        "merge": "Połącz",
        "merged": [
            "Połączono C2 z /C1.",
            "Przeniesiono do C1: 1 deal, 1 działanie, 2 wpisy historii.",
            "Możesz je cofnąć do 25.11.2026, 10:00: przyciskiem poniżej lub /merge_undo.",
        ],
        "history": "połączono z /C2 Jan Kowalski-Nowak",
        "gone": "Nie znaleziono. Być może zostało w międzyczasie usunięte.",
        "no_delete": (
            "Do łączenia potrzebne są uprawnienia do edycji i usuwania obu elementów albo "
            "prawo łączenia duplikatów w Twojej roli. Zapytaj administratora."
        ),
        "types": (
            "Łączyć można tylko elementy jednego typu: kontakt z kontaktem, firmę z firmą, "
            "deal z dealem."
        ),
        "usage": (
            "Podaj dwa kody, najpierw ten, który zostaje: <code>/merge C3 C7</code> łączy C7 z C3."
        ),
        "role": "Bez usuwania",
        "given": "Ola ma teraz rolę Bez usuwania.",
        "company_merged": [
            "Połączono CO2 z /CO1.",
            "Przeniesiono do CO1: 1 kontakt, 1 wpis historii.",
        ],
        "deals_merged": ["Połączono D2 z /D1.", "Przeniesiono do D1: 1 wpis historii."],
        "undo": "Cofnij połączenie",
        "undone_deal": "Połączenie cofnięte: /D2 wrócił razem z tym, co przeszło do /D1.",
        "undone_company": "Połączenie cofnięte: /CO2 wrócił razem z tym, co przeszło do /CO1.",
        "nothing_to_undo": "Nie masz połączenia do cofnięcia.",
        "expired": (
            "Połączenia D2 nie można już cofnąć: minął czas na to. Pozostaje zapisane w historii."
        ),
        "cancel": "Anuluj",
        "cancelled": "Łączenie anulowane. Nic nie zmieniono.",
        "duplicate": "/contact jan kowalski +48 602 000 111 jan.prywatny@gmail.com",
        "merge_into": "Połącz z C1",
        "absorbed": (
            "Dodano do /C1: +48602000111, jan.prywatny@gmail.com. Nic nowego nie utworzono."
        ),
        "absorbed_history": "dodano z duplikatu: +48602000111, jan.prywatny@gmail.com",
        "money": f"2{NBSP}000,00{NBSP}zł",
    },
    "ru": {
        "boss": "Босс",
        "anna": "Анна",
        "todo": "/todo C2 завтра в 10:00 Перезвонить по окнам",
        "deal": "/deal C2 Окна ПВХ 8000 zł",
        "compare_head": [
            "<b>Объединение C2 с C1</b> · контакт",
            "/C1 Jan Kowalski ⬅ /C2 Jan Kowalski-Nowak",
            "C1 остаётся; C2 будет удалён, а его сделки, дела и история перейдут в C1.",
            "",
            "<b>Имя</b>",
            "✅ C1: Jan Kowalski",
            "▫️ C2: Jan Kowalski-Nowak",
            "<b>Телефоны</b>: +48601234567, +48501000200 (сохраняются все)",
            "<b>E-mail</b>: jan@firma.pl, jan.k@budmax.pl (сохраняются все)",
        ],
        "picked": ["<b>Имя</b>", "▫️ C1: Jan Kowalski", "✅ C2: Jan Kowalski-Nowak"],
        "merge": "Объединить",
        "merged": [
            "C2 объединён с /C1.",
            "Перенесено в C1: 1 сделка, 1 дело, 2 записи истории.",
            "Его можно отменить до 25.11.2026, 10:00: кнопкой ниже или командой /merge_undo.",
        ],
        "history": "объединён с /C2 Jan Kowalski-Nowak",
        "gone": "Не найдено. Возможно, это уже удалили.",
        "no_delete": (
            "Для объединения нужны права на изменение и удаление обоих элементов или право "
            "объединять дубликаты в вашей роли. Обратитесь к администратору."
        ),
        "types": (
            "Объединять можно только элементы одного типа: контакт с контактом, компанию с "
            "компанией, сделку со сделкой."
        ),
        "usage": (
            "Укажите два кода, первым — тот, что остаётся: <code>/merge C3 C7</code> "
            "объединит C7 с C3."
        ),
        "role": "Без удаления",
        "given": "У сотрудника Ola теперь роль Без удаления.",
        "company_merged": [
            "CO2 объединён с /CO1.",
            "Перенесено в CO1: 1 контакт, 1 запись истории.",
        ],
        "deals_merged": ["D2 объединён с /D1.", "Перенесено в D1: 1 запись истории."],
        "undo": "Отменить объединение",
        "undone_deal": (
            "Объединение отменено: /D2 восстановлен вместе со всем, что перешло в /D1."
        ),
        "undone_company": (
            "Объединение отменено: /CO2 восстановлен вместе со всем, что перешло в /CO1."
        ),
        "nothing_to_undo": "У вас нет объединения, которое можно отменить.",
        "expired": (
            "Объединение D2 уже нельзя отменить: время на это истекло. Оно остаётся "
            "записанным в истории."
        ),
        "cancel": "Отмена",
        "cancelled": "Объединение отменено. Ничего не изменено.",
        "duplicate": "/contact jan kowalski +48 602 000 111 jan.prywatny@gmail.com",
        "merge_into": "Объединить с C1",
        "absorbed": (
            "Добавлено в /C1: +48602000111, jan.prywatny@gmail.com. Ничего нового не создано."
        ),
        "absorbed_history": "добавлено из дубликата: +48602000111, jan.prywatny@gmail.com",
        "money": f"2{NBSP}000,00{NBSP}PLN",
    },
}


def last_text(calls: list[Call]) -> Call:
    return [c for c in calls if c.text][-1]


async def two_contacts(anna: TgUser, lang: str) -> None:
    t = LANGS[lang]
    await anna.send("/contact Jan Kowalski +48 601 234 567 jan@firma.pl")  # C1
    # The same man under his double surname: no phone, e-mail or name in common, no warning.
    created = await anna.send("/contact Jan Kowalski-Nowak +48 501 000 200 jan.k@budmax.pl")
    assert "C2" in created[-1].text
    await anna.send(t["deal"])  # D1, C2's
    await anna.send(t["todo"])


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_merging_contacts_moves_activities_and_deals(
    harness: Harness, fresh: Fresh, lang: str
) -> None:
    t = LANGS[lang]
    anna = await harness.member(Role.REP, t["anna"], language_code=lang)
    await two_contacts(anna, lang)
    screen = last_text(await anna.send("/merge c1, /C2"))
    assert screen.text.splitlines()[: len(t["compare_head"])] == t["compare_head"]
    names = [b["text"] for b in screen.buttons]
    assert names[:2] == ["✅ Jan Kowalski", "Jan Kowalski-Nowak"], names
    # Anna keeps the longer name: the screen shows it chosen, nothing is merged yet.
    picked = last_text(await anna.press("Jan Kowalski-Nowak", screen))
    assert picked.method == "editMessageText"
    lines = picked.text.splitlines()
    start = lines.index(t["picked"][0])
    assert lines[start : start + 3] == t["picked"]
    async with fresh() as crm:
        assert await crm.repos.session.get(Contact, 2) is not None
    report = last_text(await anna.press(t["merge"], picked))
    assert report.text.splitlines()[:3] == t["merged"]
    assert t["history"] in report.text  # the survivor's card, its history has the merge
    assert "Jan Kowalski-Nowak" in report.text.splitlines()[4]  # the card's first line
    async with fresh() as crm:
        session = crm.repos.session
        assert await session.get(Contact, 2) is None
        survivor = await session.get(Contact, 1)
        assert survivor is not None and survivor.name == "Jan Kowalski-Nowak"
        deal = await session.get(Deal, 1)
        assert deal is not None and deal.contact_id == 1
        bound = (
            await session.scalars(
                select(ActivityBinding.entity_id).where(ActivityBinding.entity == "contact")
            )
        ).all()
        assert list(bound) == [1]
        kinds = (
            await session.scalars(
                select(TimelineEntry.kind)
                .where(TimelineEntry.entity == "contact", TimelineEntry.entity_id == 1)
                .order_by(TimelineEntry.id)
            )
        ).all()
        assert kinds[-1] == "merged" and kinds.count("created") == 2
        phones = (
            await session.scalars(
                select(Communication.value)
                .where(Communication.kind == "phone")
                .order_by(Communication.id)
            )
        ).all()
        assert list(phones) == ["+48601234567", "+48501000200"]
    # C2 is gone: its code answers like any missing element.
    assert texts(await anna.send("/C2")) == [t["gone"]]


async def role_without_contact_delete(boss: TgUser, name: str) -> None:
    (question,) = [c for c in await boss.send(f"/role_add {name}") if c.text]
    screen = next(c for c in await boss.press_data(f"rl:cp:{REP_PRESET}:0", question) if c.text)
    role_id = int(screen.buttons[1]["callback_data"].split(":")[2])
    for _n in range(3):  # own -> department -> all -> none
        await boss.press_data(f"rl:c:{role_id}:{CONTACT_DELETE}", screen)


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_merging_is_refused_without_rights_and_to_strangers(
    harness: Harness, fresh: Fresh, lang: str
) -> None:
    t = LANGS[lang]
    boss = await harness.member(Role.ADMIN, t["boss"], language_code=lang)
    ola = await harness.member(Role.REP, "Ola", language_code=lang)
    marek = await harness.member(Role.REP, "Marek", language_code=lang)
    await role_without_contact_delete(boss, t["role"])
    assert texts(await boss.send(f"/user_role Ola {t['role']}")) == [t["given"]]
    await ola.send("/contact Ewa Lis +48 600 111 222")
    await ola.send("/contact Anna Maj +48 600 333 444")
    await ola.send("/company Budmax Sp. z o.o.")
    # Ola edits her contacts but may not delete them: refused, with the reason.
    assert texts(await ola.send("/merge C1 C2")) == [t["no_delete"]]
    # Marek cannot see them: told exactly what a code that does not exist gets.
    assert texts(await marek.send("/merge C1 C2")) == [t["gone"]]
    assert texts(await marek.send("/merge C1 C999")) == [t["gone"]]
    forged = await marek.press_data("mg:go:C:1:2:0")
    alerts = [c.params.get("text") for c in forged if c.method == "answerCallbackQuery"]
    assert alerts == [t["gone"]], forged
    # Two types, and a line that is not two codes.
    assert texts(await boss.send("/merge C1 CO1")) == [t["types"]]
    assert texts(await boss.send("/merge C1")) == [t["usage"]]
    assert texts(await boss.send("/merge C1 D")) == [t["usage"]]
    async with fresh() as crm:
        stored = (await crm.repos.session.scalars(select(Contact.id).order_by(Contact.id))).all()
        assert list(stored) == [1, 2]
        assert (await crm.repos.session.scalars(select(MergeRecord))).all() == []
    # The admin may; Cancel changes nothing.
    screen = last_text(await boss.send("/merge C1 C2"))
    assert texts(await boss.press(t["cancel"], screen)) == [t["cancelled"]]
    async with fresh() as crm:
        assert await crm.repos.session.get(Contact, 2) is not None


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_companies_take_their_contacts_deals_merge_by_hand_and_undo(
    harness: Harness, fresh: Fresh, clock: FakeClock, lang: str
) -> None:
    t = LANGS[lang]
    boss = await harness.member(Role.ADMIN, t["boss"], language_code=lang)
    await boss.send("/company Budmax Sp. z o.o. +48 22 100 20 30")  # CO1
    await boss.send("/contact Ewa Lis Budmax S.A.")  # C1 and its company CO2
    screen = last_text(await boss.send("/merge CO1 CO2"))
    report = last_text(await boss.press(t["merge"], screen))
    assert report.text.splitlines()[:2] == t["company_merged"]
    async with fresh() as crm:
        contact = await crm.repos.session.get(Contact, 1)
        assert contact is not None and contact.company_id == 1
        assert await crm.repos.session.get(Company, 2) is None
    # Deals: no duplicate warning, merged by hand; the amount is picked.
    await boss.send("/deal Okna 1000 zł")  # D1
    await boss.send("/deal Okna 2000 zł")  # D2
    screen = last_text(await boss.send("/merge D1 D2"))
    amount = next(b["text"] for b in screen.buttons if b["text"] == t["money"])
    picked = last_text(await boss.press(amount, screen))
    report = last_text(await boss.press(t["merge"], picked))
    assert report.text.splitlines()[:2] == t["deals_merged"]
    async with fresh() as crm:
        deal = await crm.repos.session.get(Deal, 1)
        assert deal is not None and deal.amount_minor == 200_000
        assert await crm.repos.session.get(Deal, 2) is None
    # The report's Undo button: D2 is back, D1's amount too.
    undone = last_text(await boss.press(t["undo"], report))
    assert undone.text.splitlines()[0] == t["undone_deal"]
    async with fresh() as crm:
        first, second = (
            await crm.repos.session.get(Deal, 1),
            await crm.repos.session.get(Deal, 2),
        )
        assert first is not None and first.amount_minor == 100_000
        assert second is not None and second.amount_minor == 200_000
    # /merge_undo: the newest merge not undone yet — the companies'.
    undone = last_text(await boss.send("/merge_undo"))
    assert undone.text.splitlines()[0] == t["undone_company"]
    async with fresh() as crm:
        contact = await crm.repos.session.get(Contact, 1)
        assert contact is not None and contact.company_id == 2
    assert texts(await boss.send("/merge_undo")) == [t["nothing_to_undo"]]
    # Too late: a day and a second after the merge.
    screen = last_text(await boss.send("/merge D1 D2"))
    report = last_text(await boss.press(t["merge"], screen))
    clock.advance(hours=24, seconds=1)
    late = await boss.press(t["undo"], report)
    assert t["expired"] in [c.params.get("text") or c.text for c in late], late
    async with fresh() as crm:
        assert await crm.repos.session.get(Deal, 2) is None


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_merge_into_from_the_duplicate_warning_adds_what_was_typed(
    harness: Harness, fresh: Fresh, lang: str
) -> None:
    t = LANGS[lang]
    anna = await harness.member(Role.REP, t["anna"], language_code=lang)
    await anna.send("/contact Jan Kowalski +48 601 234 567")
    warning = last_text(await anna.send(t["duplicate"]))
    assert t["merge_into"] in [b["text"] for b in warning.buttons]
    done = last_text(await anna.press(t["merge_into"], warning))
    assert done.text.splitlines()[0] == t["absorbed"]
    assert t["absorbed_history"] in done.text
    async with fresh() as crm:
        contacts = (await crm.repos.session.scalars(select(Contact))).all()
        assert [c.name for c in contacts] == ["Jan Kowalski"]
        assert await crm.elements.communications(ElementRef(EntityType.CONTACT, 1)) == (
            ["+48601234567", "+48602000111"],
            ["jan.prywatny@gmail.com"],
        )


CUSTOM = {
    "pl": {
        "add_date": "/field_add kontakt data Klient od",
        "add_list": "/field_add kontakt lista Segment: VIP, Hurt",
        "set_date": "/set C2 klient od 01.03.2026",
        "set_c1": "/set C1 Segment VIP",
        "set_c2": "/set C2 segment hurt",
        "rows": [
            "<b>Segment</b>",
            "✅ C1: VIP",
            "▫️ C2: Hurt",
            "<b>Klient od</b>: 1 mar 2026 (C2)",
        ],
        "card": ["Segment: Hurt", "Klient od: 1 mar 2026"],
    },
    "ru": {
        "add_date": "/field_add контакт дата Клиент с",
        "add_list": "/field_add контакт список Сегмент: VIP, Опт",
        "set_date": "/set C2 клиент с 01.03.2026",
        "set_c1": "/set C1 Сегмент VIP",
        "set_c2": "/set C2 сегмент опт",
        "rows": [
            "<b>Сегмент</b>",
            "✅ C1: VIP",
            "▫️ C2: Опт",
            f"<b>Клиент с</b>: 1 мар. 2026{NNBSP}г. (C2)",
        ],
        "card": ["Сегмент: Опт", f"Клиент с: 1 мар. 2026{NNBSP}г."],
    },
}


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_custom_fields_are_compared_and_picked(
    harness: Harness, fresh: Fresh, lang: str
) -> None:
    """A custom field is a row of the comparison by its own name, its value in the reader's
    language; the merged one's value fills an empty field and a picked one wins."""
    t, c = LANGS[lang], CUSTOM[lang]
    boss = await harness.member(Role.ADMIN, t["boss"], language_code=lang)
    for line in (c["add_date"], c["add_list"]):
        await boss.send(line)
    await two_contacts(boss, lang)
    for line in (c["set_date"], c["set_c1"], c["set_c2"]):
        await boss.send(line)
    screen = last_text(await boss.send("/merge C1 C2"))
    lines = screen.text.splitlines()
    start = lines.index(c["rows"][0])
    assert lines[start : start + 3] == c["rows"][:3]
    assert c["rows"][3] in lines  # the survivor has none: nothing to choose
    picked = last_text(await boss.press(c["rows"][2].split(": ", 1)[1], screen))
    report = last_text(await boss.press(t["merge"], picked))
    for line in c["card"]:
        assert line in report.text.splitlines(), report.text
    async with fresh() as crm:
        values = await crm.repos.fields.values_of("contact", 1)
        assert sorted(map(str, values.values())) == ["2026-03-01", c["rows"][2].split(": ")[1]]
        assert await crm.repos.fields.values_of("contact", 2) == {}
