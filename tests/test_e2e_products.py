"""Products end to end, in Polish and Russian: the catalog from commands (dates in the
user's language), product rows on a deal with quantity and discount and the deal's amount
recomputed (checked against sums made by hand here), an inactive product refused with its
dates, a price in another currency converted at the day's rate or refused without one, a
typed amount refused on a deal with rows, and deals created from a lead's and a deal's card,
linked in both timelines and in the cards' links section."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date

import pytest
from sqlalchemy import select

from crm.context import Crm
from crm.enums import Role, TimelineKind
from storage.models import Deal, DealProduct, ElementLink, Lead, Product, TimelineEntry
from tests.harness import Harness, TgUser, texts

NBSP = "\u00a0"
NNBSP = "\u202f"  # Babel's narrow no-break space (before the Russian "г.")
Fresh = Callable[[], AbstractAsyncContextManager[Crm]]

WORDS = {
    "pl": {
        "licence": "/product_add Licencja CRM 1200 PLN",
        "training": "/product_add Szkolenie zespołu 450,50 PLN od 1 listopada 2026",
        "rollout": "/product_add Wdrożenie od podstaw 5000 PLN od 1 grudnia 2026 do 31.12.2026",
        "old": "/product_add Stary abonament 99 PLN do 2026-10-31",
        "euro": "/product_add Hosting roczny 100 EUR",
        "dollar": "/product_add Wsparcie USA 10 USD",
        "added": "Produkt dodany.",
        "rollout_window": "w sprzedaży 1 gru 2026 – 31 gru 2026",
        "taken": "Produkt o nazwie „licencja crm” już istnieje.",
        "bad_price": "„12x” to nie cena: podaj liczbę, np. 1200 lub 99,90.",
        "bad_date": "„kiedyś” to nie data: napisz ją jako 31.12.2026 lub 2026-12-31.",
        "no_right": "Nie masz uprawnień, aby to zrobić.",
        "list_head": "<b>Produkty</b> (6), strona 1 z 1",
        "deal": "/deal Wdrożenie CRM 1000 zł",
        "refused_window": (
            "Nie można dodać „Wdrożenie od podstaw”: jest w sprzedaży tylko od 1 gru 2026 "
            "do 31 gru 2026."
        ),
        "refused_old": "Nie można dodać „Stary abonament”: był w sprzedaży tylko do 31 paź 2026.",
        "unknown": "Nie ma produktu o nazwie „Nic takiego”. Listę pokazuje /products.",
        "bad_discount": (
            "„-5000” to nie rabat: podaj procent, np. 10%, albo kwotę odejmowaną od pozycji, "
            "np. -50, nie większą niż sama pozycja."
        ),
        "no_rate": (
            "Produkt ma cenę w USD, a deal jest w PLN, ale nie ma dzisiejszego kursu, by ją "
            "przeliczyć: dodaj go poleceniem /currency add i spróbuj ponownie."
        ),
        "money": lambda amount: f"{amount}{NBSP}zł",
        "amount_line": "Kwota: {amount} (suma {n} pozycji produktowych)",
        "products_button": "Produkty",
        "edit": "Edytuj",
        "amount_field": "Kwota",
        "amount_refused": (
            "Kwota tego deala to suma jego pozycji produktowych, więc nie można jej ustawić "
            "wprost: zmień pozycje (przycisk Produkty na karcie albo /deal_product)."
        ),
        "added_line": "dodano produkt: Licencja CRM × 3 = 3{NBSP}240,00{NBSP}zł",
        "removed_line": "usunięto produkt: Szkolenie zespołu",
    },
    "ru": {
        "licence": "/product_add Licencja CRM 1200 PLN",
        "training": "/product_add Szkolenie zespołu 450,50 PLN с 1 ноября 2026",
        "rollout": "/product_add Wdrożenie od podstaw 5000 PLN с 1 декабря 2026 по 31.12.2026",
        "old": "/product_add Stary abonament 99 PLN до 2026-10-31",
        "euro": "/product_add Hosting roczny 100 EUR",
        "dollar": "/product_add Wsparcie USA 10 USD",
        "added": "Товар добавлен.",
        "rollout_window": f"в продаже 1 дек. 2026{NNBSP}г. – 31 дек. 2026{NNBSP}г.",
        "taken": "Товар «licencja crm» уже есть.",
        "bad_price": "«12x» — не цена: укажите число, например 1200 или 99,90.",
        "bad_date": "«kiedyś» — не дата: напишите её как 31.12.2026 или 2026-12-31.",
        "no_right": "У вас нет прав на это действие.",
        "list_head": "<b>Товары</b> (6), страница 1 из 1",
        "deal": "/deal Wdrożenie CRM 1000 zł",
        "refused_window": (
            f"«Wdrożenie od podstaw» нельзя добавить: он продаётся только с 1 дек. 2026{NNBSP}г. "
            f"по 31 дек. 2026{NNBSP}г."  # the date's own "г." ends the sentence
        ),
        "refused_old": (
            f"«Stary abonament» нельзя добавить: он продавался только до 31 окт. 2026{NNBSP}г."
        ),
        "unknown": "Товара «Nic takiego» нет. Список — /products.",
        "bad_discount": (
            "«-5000» — не скидка: укажите процент, например 10%, или сумму, вычитаемую из "
            "позиции, например -50, не больше самой позиции."
        ),
        "no_rate": (
            "Цена товара в USD, а сделка в PLN, но курса на сегодня для пересчёта нет: "
            "добавьте его командой /currency add и попробуйте снова."
        ),
        "money": lambda amount: f"{amount}{NBSP}PLN",
        "amount_line": "Сумма: {amount} (итог {n} товарных позиций)",
        "products_button": "Товары",
        "edit": "Изменить",
        "amount_field": "Сумма",
        "amount_refused": (
            "Сумма этой сделки — итог её товарных позиций, поэтому её нельзя задать напрямую: "
            "измените позиции (кнопка «Товары» в карточке или /deal_product)."
        ),
        "added_line": "добавлен товар: Licencja CRM × 3 = 3{NBSP}240,00{NBSP}PLN",
        "removed_line": "убран товар: Szkolenie zespołu",
    },
}


async def catalog(h: Harness, admin: TgUser, lang: str) -> None:
    w = WORDS[lang]
    for key in ("licence", "training", "rollout", "old", "euro", "dollar"):
        replies = texts(await admin.send(str(w[key])))
        assert replies[0].startswith(str(w["added"])), (key, replies)
    assert w["rollout_window"] in texts(await admin.send("/products"))[0]


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_catalog_rows_and_the_amount(harness: Harness, lang: str, fresh: Fresh) -> None:
    w = WORDS[lang]
    admin = await harness.member(Role.ADMIN, "Admin", language_code=lang)
    rep = await harness.member(Role.REP, "Anna", language_code=lang)
    await catalog(harness, admin, lang)
    # Bad lines lose nothing and say why.
    assert texts(await admin.send("/product_add licencja crm 10 PLN")) == [w["taken"]]
    (usage,) = texts(await admin.send("/product_add Zły produkt 12x PLN"))
    assert usage.startswith("/products — ")  # no price found: how to write the line
    assert texts(await admin.send("/product_price Licencja CRM 12x PLN")) == [w["bad_price"]]
    assert texts(await admin.send("/product_add Coś 10 PLN od kiedyś")) == [w["bad_date"]]
    # A rep reads the catalog but does not change it.
    assert texts(await rep.send("/product_add Coś 10 PLN")) == [w["no_right"]]
    listing = texts(await rep.send("/products"))[0]
    assert listing.startswith(str(w["list_head"]))
    for name in ("Licencja CRM", "Szkolenie zespołu", "Wdrożenie od podstaw", "Stary abonament"):
        assert name in listing

    await rep.send(str(w["deal"]))  # D1, 1000 zł typed
    assert texts(await rep.send("/deal_product D1 Wdrożenie od podstaw 1")) == [
        w["refused_window"]
    ]
    assert texts(await rep.send("/deal_product D1 stary abonament 2")) == [w["refused_old"]]
    assert texts(await rep.send("/deal_product D1 Nic takiego 2")) == [w["unknown"]]
    assert texts(await rep.send("/deal_product D1 Licencja CRM 1 -5000")) == [w["bad_discount"]]
    assert texts(await rep.send("/deal_product D1 Wsparcie USA 1")) == [w["no_rate"]]
    # By hand: 3 × 1200,00 less 10 % = 3240,00; 2 × 450,50 less 50,00 = 851,00;
    # the deal: 3240,00 + 851,00 = 4091,00 (the typed 1000 zł is gone).
    rows = texts(await rep.send("/deal_product D1 licencja crm 3 10%"))[0]
    assert f"3 × 1{NBSP}200,00" in rows and w["money"](f"3{NBSP}240,00") in rows
    rows = texts(await rep.send("/deal_product D1 Szkolenie zespołu 2 -50"))[0]
    assert w["money"](f"4{NBSP}091,00") in rows
    card = texts(await rep.send("/D1"))[0]
    assert str(w["amount_line"]).format(amount=w["money"](f"4{NBSP}091,00"), n=2) in card
    assert str(w["added_line"]).format(NBSP=NBSP) in card
    async with fresh() as crm2:
        deal = await crm2.repos.session.get(Deal, 1)
        assert deal is not None and (deal.amount_minor, deal.currency) == (409_100, "PLN")
        stored = (await crm2.repos.session.scalars(select(DealProduct))).all()
        assert sorted((r.product_name, r.price_minor) for r in stored) == [
            ("Licencja CRM", 120_000),
            ("Szkolenie zespołu", 45_050),
        ]
    # A typed amount is refused while rows exist.
    await rep.press(str(w["edit"]))
    pressed = await rep.press(str(w["amount_field"]))
    (alert,) = [c for c in pressed if c.method == "answerCallbackQuery"]
    assert alert.params["text"] == w["amount_refused"]
    assert not [c for c in pressed if c.method == "sendMessage"]
    assert texts(await rep.send("5000"))[0] != w["amount_refused"]  # no dialog was opened
    # Remove a row with its button: the amount follows.
    await rep.send("/D1")
    await rep.press(str(w["products_button"]))
    rows = texts(await rep.press("✖ Szkolenie"))[0]
    assert w["money"](f"3{NBSP}240,00") in rows and "Szkolenie" not in rows
    card = texts(await rep.send("/D1"))[0]
    assert w["removed_line"] in card
    async with fresh() as crm2:
        deal = await crm2.repos.session.get(Deal, 1)
        assert deal is not None and deal.amount_minor == 324_000
        kinds = (
            await crm2.repos.session.scalars(
                select(TimelineEntry.kind).where(TimelineEntry.entity == "deal")
            )
        ).all()
        assert kinds.count(TimelineKind.PRODUCT_ADDED) == 2
        assert kinds.count(TimelineKind.PRODUCT_REMOVED) == 1


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_a_price_in_another_currency_at_the_days_rate(
    harness: Harness, lang: str, fresh: Fresh
) -> None:
    w = WORDS[lang]
    admin = await harness.member(Role.ADMIN, "Admin", language_code=lang)
    await catalog(harness, admin, lang)
    await admin.send("/currency add EUR 4,30")
    await admin.send(str(w["deal"]))
    # By hand: 100,00 € × 4,30 = 430,00 zł a piece; 2 pieces = 860,00 zł.
    rows = texts(await admin.send("/deal_product D1 Hosting roczny 2"))[0]
    assert f"2 × {w['money']('430,00')}" in rows and w["money"]("860,00") in rows
    async with fresh() as crm2:
        (row,) = (await crm2.repos.session.scalars(select(DealProduct))).all()
        assert (row.price_minor, row.currency) == (43_000, "PLN")
        deal = await crm2.repos.session.get(Deal, 1)
        assert deal is not None and deal.amount_minor == 86_000


LINKS = {
    "pl": {
        "from_lead": "Deal z leada",
        "repeat": "Sprzedaż powtórna",
        "created": "Utworzono: deal D1",
        "deal_link": "• utworzono z leada /L1",
        "deal_history": "utworzono z leada /L1",
        "lead_link": "• deal /D1 utworzony z tego leada",
        "lead_history": "z tego leada utworzono deal: /D1",
        "repeat_link": "• sprzedaż powtórna deala /D1",
        "repeat_history": "utworzono jako sprzedaż powtórną /D1",
        "first_link": "• sprzedaż powtórna /D2",
        "first_history": "utworzono sprzedaż powtórną: /D2",
        "links": "<b>Powiązania</b>",
    },
    "ru": {
        "from_lead": "Сделка из лида",
        "repeat": "Повторная продажа",
        "created": "Создано: сделка D1",
        "deal_link": "• создана из лида /L1",
        "deal_history": "создана из лида /L1",
        "lead_link": "• сделка /D1 создана из этого лида",
        "lead_history": "из этого лида создана сделка: /D1",
        "repeat_link": "• повторная продажа сделки /D1",
        "repeat_history": "создана как повторная продажа /D1",
        "first_link": "• повторная продажа /D2",
        "first_history": "создана повторная продажа: /D2",
        "links": "<b>Связи</b>",
    },
}


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_a_deal_from_a_lead_and_a_repeat_sale_from_a_deal(
    harness: Harness, lang: str, fresh: Fresh
) -> None:
    w = LINKS[lang]
    admin = await harness.member(Role.ADMIN, "Admin", language_code=lang)
    await admin.send("/mode classic")
    await admin.send("/lead Jan Kowalski +48 600 100 200 5000 zł")  # L1
    created = texts(await admin.press(w["from_lead"]))[0]
    assert created.startswith(w["created"])
    assert w["links"] in created and w["deal_link"] in created
    assert "5\u00a0000,00" in created  # the lead's amount comes along
    assert "+48600100200" in created  # and its phone
    lead = texts(await admin.send("/L1"))[0]
    assert w["lead_link"] in lead and w["lead_history"] in lead
    await admin.send("/D1")
    repeat = texts(await admin.press(w["repeat"]))[0]
    assert w["repeat_link"] in repeat and w["repeat_history"] in repeat
    first = texts(await admin.send("/D1"))[0]
    assert w["deal_history"] in first
    assert w["first_link"] in first and w["first_history"] in first
    async with fresh() as crm2:
        links = (await crm2.repos.session.scalars(select(ElementLink))).all()
        assert sorted((x.source_entity, x.source_id, x.target_id, x.kind) for x in links) == [
            ("deal", 1, 2, "repeat_sale"),
            ("lead", 1, 1, "deal_from_lead"),
        ]
        deals = {d.id: d for d in (await crm2.repos.session.scalars(select(Deal))).all()}
        assert deals[1].lead_id == 1 and deals[1].amount_minor == 500_000
        assert deals[2].lead_id == 1 and deals[2].amount_minor is None
        lead_kinds = (
            await crm2.repos.session.scalars(
                select(TimelineEntry.kind).where(TimelineEntry.entity == "lead")
            )
        ).all()
        assert TimelineKind.LINKED in lead_kinds
        # The lead is not converted by it: it stays open.
        lead_row = await crm2.repos.session.get(Lead, 1)
        assert lead_row is not None and lead_row.closed_at is None


async def test_strangers_and_reps_and_someone_elses_deal(harness: Harness) -> None:
    admin = await harness.member(Role.ADMIN, "Admin")
    anna = await harness.member(Role.REP, "Anna")
    olga = await harness.member(Role.REP, "Olga", language_code="ru")
    await admin.send("/product_add Licencja CRM 1200 PLN")
    await anna.send("/deal Wdrożenie 1000 zł")  # D1, Anna's
    # Olga may not change Anna's deal: told as if it did not exist.
    assert texts(await olga.send("/deal_product D1 Licencja CRM 1")) == [
        "Не найдено. Возможно, это уже удалили."
    ]
    stranger = harness.user("Obcy")
    assert "Licencja" not in " ".join(texts(await stranger.send("/products")))
    assert "Licencja" not in " ".join(
        texts(await stranger.send("/deal_product D1 Licencja CRM 1"))
    )
    forged = await olga.press_data("rw:add:1:1:0")
    assert all("Licencja" not in t for t in texts(forged))
    async with harness.crm() as crm:
        assert await crm.repos.products.rows(1) == []


IMPORT = {
    "pl": {
        "done": "Zaimportowano produkty: nowe — 2, zaktualizowane — 1.",
        "bad": "Wiersz 3: „12x” to niepoprawne pole „cena”. Nic nie zaimportowano.",
        "not_csv": "Importować można tylko pliki CSV: najpierw zapisz go jako CSV.",
        "no_file": "/products — katalog",
    },
    "ru": {
        "done": "Товары импортированы: новых — 2, обновлено — 1.",
        "bad": "Строка 3: «12x» — неверное поле «цена». Ничего не импортировано.",
        "not_csv": "Импортировать можно только CSV-файлы: сначала сохраните его как CSV.",
        "no_file": "/products — каталог",
    },
}


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_a_csv_file_sent_with_the_caption(harness: Harness, lang: str, fresh: Fresh) -> None:
    w = IMPORT[lang]
    admin = await harness.member(Role.ADMIN, "Admin", language_code=lang)
    rep = await harness.member(Role.REP, "Anna", language_code=lang)
    await admin.send("/product_add Licencja CRM 1000 PLN")
    bad = "name,price,currency\nNowy,10,PLN\nZły,12x,PLN\n".encode()
    assert texts(await admin.send_file("/product_import", "produkty.csv", bad)) == [w["bad"]]
    good = (
        "name;price;currency;active_from;active_to\n"
        "licencja crm;1200;PLN;;\n"
        "Szkolenie zespołu;450,50;PLN;2026-11-01;\n"
        "Wdrożenie od podstaw;5000;PLN;2026-12-01;2026-12-31\n"
    ).encode()
    assert texts(await admin.send_file("/product_import", "produkty.csv", good)) == [w["done"]]
    assert texts(await admin.send_file("/product_import", "produkty.xlsx", good)) == [w["not_csv"]]
    assert texts(await admin.send("/product_import"))[0].startswith(w["no_file"])
    assert texts(await rep.send_file("/product_import", "p.csv", good)) == [
        WORDS[lang]["no_right"]
    ]
    async with fresh() as crm2:
        stored = {p.name: p for p in (await crm2.repos.session.scalars(select(Product))).all()}
    assert set(stored) == {"Licencja CRM", "Szkolenie zespołu", "Wdrożenie od podstaw"}
    assert stored["Licencja CRM"].price_minor == 120_000
    assert stored["Wdrożenie od podstaw"].active_to == date(2026, 12, 31)


SWITCH = {
    "pl": {
        "off": "Wyłącz",
        "on": "Włącz",
        "off_line": "Wyłączony: nie można go dodać do deali.",
        "refused": "Nie można dodać „Licencja CRM”: produkt jest wyłączony.",
        "dates": "/product_dates licencja crm od 1 grudnia 2026",
        "dates_done": "Zmieniono daty.",
        "later": "Nie można dodać „Licencja CRM”: jest w sprzedaży dopiero od 1 gru 2026.",
        "hint": "Dodaj go do deala: /deal_product D7 Licencja CRM 3 [10% lub -50]",
    },
    "ru": {
        "off": "Выключить",
        "on": "Включить",
        "off_line": "Выключен: его нельзя добавить в сделки.",
        "refused": "«Licencja CRM» нельзя добавить: товар выключен.",
        "dates": "/product_dates licencja crm с 1 декабря 2026",
        "dates_done": "Даты изменены.",
        "later": f"«Licencja CRM» нельзя добавить: он продаётся только с 1 дек. 2026{NNBSP}г.",
        "hint": "Добавить в сделку: /deal_product D7 Лицензия CRM 3 [10% или -50]",
    },
}


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_switching_a_product_off_and_its_dates(harness: Harness, lang: str) -> None:
    w = SWITCH[lang]
    admin = await harness.member(Role.ADMIN, "Admin", language_code=lang)
    rep = await harness.member(Role.REP, "Anna", language_code=lang)
    await admin.send("/product_add Licencja CRM 1200 PLN")
    await rep.send("/deal Wdrożenie 1000 zł")
    await admin.send("/products")
    await admin.press("Licencja CRM")
    card = texts(await admin.press(w["off"]))[0]
    assert w["off_line"] in card
    assert texts(await rep.send("/deal_product D1 Licencja CRM 1")) == [w["refused"]]
    listing = texts(await rep.send("/products"))[0]
    assert listing.endswith(w["hint"]) and "/product_add" not in listing
    assert w["off"] not in str((await rep.press("Licencja CRM"))[-1].buttons)
    await admin.press(w["on"])
    assert texts(await admin.send(w["dates"]))[0].startswith(w["dates_done"])
    assert texts(await rep.send("/deal_product D1 Licencja CRM 1")) == [w["later"]]
    await admin.send("/product_dates Licencja CRM")  # no limits again
    assert "1\u00a0200,00" in texts(await rep.send("/deal_product D1 Licencja CRM 1"))[0]
