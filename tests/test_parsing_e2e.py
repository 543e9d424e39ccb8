"""Issue 11 §1 end to end, in Polish and Russian: what a one-line /deal and /contact create."""

from __future__ import annotations

from crm.enums import Role
from tests.harness import Harness, texts


async def test_the_bots_own_deal_example_polish(harness: Harness) -> None:
    """The example /deal prints was read as title "CRM Jan Kowalski" and contact "Wdrożenie"."""
    anna = await harness.member(Role.REP, "Anna")
    assert "Wdrożenie CRM 12 000 zł Jan Kowalski" in texts(await anna.send("/deal"))[0]
    card = texts(await anna.send("Wdrożenie CRM 12 000 zł Jan Kowalski +48 600 100 200"))[0]
    assert card.startswith("Utworzono: deal D1 (także /C1)")
    assert "<b>D1</b> · deal · Wdrożenie CRM" in card
    assert "Kontakt: /C1 Jan Kowalski" in card
    assert "Kwota: 12\xa0000,00\xa0zł" in card
    contact = texts(await anna.send("/C1"))[0]
    assert "<b>C1</b> · kontakt · Jan Kowalski" in contact
    assert "Telefon: +48600100200" in contact


async def test_a_declined_russian_name_is_the_contact(harness: Harness) -> None:
    """`Сделка с Иваном Петровым` made a contact called "Сделка"."""
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    card = texts(await ivan.send("/deal Сделка с Иваном Петровым 200 тыс. руб"))[0]
    assert card.startswith("Создано: сделка D1 (а также /C1)")
    assert "<b>D1</b> · сделка · Сделка" in card
    assert "Контакт: /C1 Иван Петров" in card
    assert "200 000,00 ₽" in card.replace("\xa0", " ").replace("\u202f", " ")


async def test_a_line_naming_nobody_creates_no_contact(harness: Harness) -> None:
    """`/deal Abonament 900 zł` made a contact called "Abonament"."""
    anna = await harness.member(Role.REP, "Anna")
    card = texts(await anna.send("/deal Abonament 900 zł"))[0]
    assert card.startswith("Utworzono: deal D1\n")
    assert "Kontakt:" not in card
    assert texts(await anna.send("/C1")) == [
        "Nie znaleziono. Być może zostało w międzyczasie usunięte."
    ]
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    card = texts(await ivan.send("/deal Поставка мебели 100 000 руб"))[0]
    assert card.startswith("Создано: сделка D2\n")
    assert "Контакт:" not in card


async def test_an_address_is_kept_not_read_as_a_phone(harness: Harness) -> None:
    """`ul. Długa 12/34 00-950` became the phone +48123400950 and the address vanished."""
    anna = await harness.member(Role.REP, "Anna")
    card = texts(await anna.send("/contact Jan Kowalski ul. Długa 12/34 00-950 Warszawa"))[0]
    assert card.startswith("Utworzono: kontakt C1")
    assert "Telefon" not in card
    assert "Komentarz: ul. Długa 12/34 00-950 Warszawa" in card
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    card = texts(
        await ivan.send("/deal Анна Смирнова г. Москва, ул. Тверская, д. 1, кв. 5 8 916 123 45 67")
    )[0]
    assert "Контакт: /C2 Анна Смирнова" in card
    contact = texts(await ivan.send("/C2"))[0]
    assert "Телефон: +79161234567" in contact
    assert "Комментарий: г. Москва, ул. Тверская, д. 1, кв. 5" in contact


async def test_a_legal_form_makes_the_company_of_the_deal(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    card = texts(await anna.send("/deal Wdrożenie CRM dla ACME Sp. z o.o. 25 000 zł"))[0]
    assert card.startswith("Utworzono: deal D1 (także /CO1)")
    assert "<b>D1</b> · deal · Wdrożenie CRM" in card
    assert "Firma: /CO1 ACME Sp. z o.o." in card
    assert "Kontakt:" not in card
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    card = texts(
        await ivan.send("/deal Ремонт офиса ООО «Ромашка» Иван Петров 8 916 123-45-67 150 000 руб")
    )[0]
    assert card.startswith("Создано: сделка D2 (а также /C1, /CO2)")
    assert "<b>D2</b> · сделка · Ремонт офиса" in card
    assert "Компания: /CO2 ООО «Ромашка»" in card
    assert "Контакт: /C1 Иван Петров" in card
    contact = texts(await ivan.send("/C1"))[0]
    assert "Компания: /CO2 ООО «Ромашка»" in contact
    assert "Телефон: +79161234567" in contact


async def test_a_negative_amount_is_refused_with_a_hint(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    replies = texts(await anna.send("/deal Jan Kowalski -5000 zł zwrot"))
    assert replies == [
        "Kwota nie może być ujemna. Wyślij linię jeszcze raz z kwotą jako liczbą dodatnią, "
        "na przykład <code>5000 zł</code>; /cancel, aby przerwać."
    ]
    assert texts(await anna.send("/deals")) == ["Na razie nic tu nie ma."]
    # The next line is read as that deal again: nothing typed is lost.
    card = texts(await anna.send("Jan Kowalski 5000 zł zwrot"))[0]
    assert card.startswith("Utworzono: deal D1 (także /C1)")
    assert "Kwota: 5\xa0000,00\xa0zł" in card

    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    replies = texts(await ivan.send("/deal Иван Петров −3000 руб возврат"))
    assert replies == [
        "Сумма не может быть отрицательной. Отправьте строку ещё раз, указав сумму "
        "положительным числом, например <code>5000 руб</code>; /cancel — отмена."
    ]
    assert texts(await ivan.send("/cancel"))
    assert texts(await ivan.send("/deals")) == ["Здесь пока пусто."]
