"""One-line parsing of /lead, /deal, /contact text: phones, e-mails, money, name, rest."""

from __future__ import annotations

import dataclasses
import time
from decimal import Decimal

import pytest

from crm.parsing import (
    MAX_INPUT_CHARS,
    Money,
    ParsedLine,
    extract_name,
    normalize_email,
    normalize_phone,
    parse_line,
    parse_money,
    region_for_locale,
)

PL_PHONE = "+48600100200"
RU_PHONE = "+79161234567"


def money(amount: str, currency: str) -> Money:
    return Money(Decimal(amount), currency)


# --- the examples from the brief --------------------------------------------------------------
def test_polish_lead_line() -> None:
    parsed = parse_line("Jan Kowalski +48 600 100 200 jan@firma.pl 5000 zł strona internetowa")
    assert parsed == ParsedLine(
        name="Jan Kowalski",
        phones=(PL_PHONE,),
        emails=("jan@firma.pl",),
        money=money("5000.00", "PLN"),
        rest="strona internetowa",
        first_name="Jan",
        last_name="Kowalski",
    )


def test_russian_deal_line() -> None:
    parsed = parse_line(
        "Иван Петров 8 (916) 123-45-67 10к руб поставка оборудования",
        region="RU",
        default_currency="RUB",
    )
    assert parsed == ParsedLine(
        name="Иван Петров",
        phones=(RU_PHONE,),
        emails=(),
        money=money("10000.00", "RUB"),
        rest="поставка оборудования",
        first_name="Иван",
        last_name="Петров",
    )


def test_contact_line_with_local_phone_format() -> None:
    parsed = parse_line("Anna Nowak anna.nowak@example.com 600-100-200")
    assert parsed == ParsedLine(
        name="Anna Nowak",
        phones=(PL_PHONE,),
        emails=("anna.nowak@example.com",),
        money=None,
        rest="",
        first_name="Anna",
        last_name="Nowak",
    )


def test_results_are_frozen() -> None:
    parsed = parse_line("Jan 5000 zł")
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.name = "Piotr"  # type: ignore[misc]
    assert isinstance(parsed.money, Money)
    assert parsed.money.amount.as_tuple().exponent == -2


# --- money ------------------------------------------------------------------------------------
MONEY_FORMS = [
    ("5000 zł", "5000.00", "PLN"),
    ("5 000 PLN", "5000.00", "PLN"),
    ("5\u00a0000 PLN", "5000.00", "PLN"),  # NBSP as thousands separator
    ("5\u2009000 zł", "5000.00", "PLN"),  # thin space
    ("5\u202f000 zł", "5000.00", "PLN"),  # narrow NBSP (what Babel prints for pl)
    ("5000zł", "5000.00", "PLN"),
    ("5000 zl", "5000.00", "PLN"),
    ("5000 Zł", "5000.00", "PLN"),
    ("5000 złotych", "5000.00", "PLN"),
    ("2 złote", "2.00", "PLN"),
    ("1 zloty", "1.00", "PLN"),
    ("10к руб", "10000.00", "RUB"),
    ("10К руб", "10000.00", "RUB"),
    ("10 тыс. руб", "10000.00", "RUB"),
    ("10 тыс руб.", "10000.00", "RUB"),
    ("5 tys. zł", "5000.00", "PLN"),
    ("€300", "300.00", "EUR"),
    ("€ 300", "300.00", "EUR"),
    ("300 EUR", "300.00", "EUR"),
    ("300 eur", "300.00", "EUR"),
    ("300€", "300.00", "EUR"),
    ("300 euro", "300.00", "EUR"),
    ("EUR 300", "300.00", "EUR"),
    ("$1.5k", "1500.00", "USD"),
    ("$100", "100.00", "USD"),
    ("100 USD", "100.00", "USD"),
    ("100$", "100.00", "USD"),
    ("1,5 mln", "1500000.00", "PLN"),
    ("1,5 mln zł", "1500000.00", "PLN"),
    ("1,5mln zł", "1500000.00", "PLN"),
    ("2 mio EUR", "2000000.00", "EUR"),
    ("2 млн ₽", "2000000.00", "RUB"),
    ("1.5m", "1500000.00", "PLN"),
    ("1.5M USD", "1500000.00", "USD"),
    ("1.5k", "1500.00", "PLN"),
    ("1 500,50 zł", "1500.50", "PLN"),
    ("1500.50 zł", "1500.50", "PLN"),
    ("1500,5 zł", "1500.50", "PLN"),
    ("100 рублей", "100.00", "RUB"),
    ("1 рубль", "1.00", "RUB"),
    ("2 рубля", "2.00", "RUB"),
    ("100 руб.", "100.00", "RUB"),
    ("100 р.", "100.00", "RUB"),
    ("100 RUB", "100.00", "RUB"),
    ("100₽", "100.00", "RUB"),
    ("300 грн", "300.00", "UAH"),
    ("₴300", "300.00", "UAH"),
    ("300 UAH", "300.00", "UAH"),
    ("£50", "50.00", "GBP"),
    ("50 GBP", "50.00", "GBP"),
    ("1000 KZT", "1000.00", "KZT"),
    ("1000 тенге", "1000.00", "KZT"),
    ("₸1000", "1000.00", "KZT"),
    ("100 BYN", "100.00", "BYN"),
    ("100 CHF", "100.00", "CHF"),
    ("100 CZK", "100.00", "CZK"),
    ("100 Kč", "100.00", "CZK"),
    ("0,5 zł", "0.50", "PLN"),
    ("19,999 zł", "19999.00", "PLN"),  # three digits after one mark group thousands
    ("1.500 zł", "1500.00", "PLN"),
    ("1.500.000 zł", "1500000.00", "PLN"),
    ("1.500,50 zł", "1500.50", "PLN"),
    ("1,500.50 USD", "1500.50", "USD"),
    ("10,005k", "10005.00", "PLN"),  # with a multiplier the mark is always decimal
    ("2,345 zł", "2345.00", "PLN"),
    ("12,345 mln", "12345000.00", "PLN"),
    ("0,125 mln", "125000.00", "PLN"),
    ("1,2345 zł", "1.23", "PLN"),  # quantized half-up to cents
    ("0,005k zł", "5.00", "PLN"),
]


@pytest.mark.parametrize(("text", "amount", "currency"), MONEY_FORMS)
def test_parse_money_forms(text: str, amount: str, currency: str) -> None:
    assert parse_money(text) == money(amount, currency)


@pytest.mark.parametrize(("text", "amount", "currency"), MONEY_FORMS)
def test_money_forms_inside_a_line(text: str, amount: str, currency: str) -> None:
    parsed = parse_line(f"Jan Kowalski {text} strona www")
    assert parsed.money == money(amount, currency)
    assert parsed.name == "Jan Kowalski"
    assert parsed.rest == "strona www"
    assert parsed.phones == ()


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [
        ("1,5 mln", "EUR", money("1500000.00", "EUR")),
        ("10к", "rub", money("10000.00", "RUB")),
        ("1.5k", "USD", money("1500.00", "USD")),
        ("5000 zł", "EUR", money("5000.00", "PLN")),  # an explicit currency wins
    ],
)
def test_default_currency_only_for_bare_multiplier(
    text: str, default: str, expected: Money
) -> None:
    assert parse_money(text, default_currency=default) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "5000",
        "15",
        "1 500",
        "1,5",
        "zł",
        "mln",
        "Order 15",
        "5000 zł i 300 EUR",  # not one amount
        "5 k",  # a lone letter multiplier must touch the number
        "100 m",  # metres, not millions
        "10m2",  # square metres
        "5kg",
        "100 zł2",
        "100 раз",
        "1.2.3 zł",  # a version number, not an amount
        "10" * 20 + " zł",  # absurdly long
        "999999999999999 mln",  # beyond MAX_AMOUNT
    ],
)
def test_parse_money_rejects(text: str) -> None:
    assert parse_money(text) is None


def test_only_first_money_is_taken() -> None:
    parsed = parse_line("serwis 5000 zł i 300 EUR dopłaty")
    assert parsed.money == money("5000.00", "PLN")
    assert parsed.rest == "serwis i 300 EUR dopłaty"


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("Order 15", "Order 15"),
        ("order 15", "order 15"),
        ("Zamówienie 15 szt.", "Zamówienie 15 szt."),
        ("заказ 15 шт", "заказ 15 шт"),
        ("faktura 2024/15", "faktura 2024/15"),
        ("spotkanie 12.05.2025 10:30", "spotkanie 12.05.2025 10:30"),
    ],
)
def test_plain_numbers_are_not_money(text: str, rest: str) -> None:
    parsed = parse_line(text)
    assert parsed.money is None
    assert parsed.phones == ()
    assert parsed.name is None
    assert parsed.rest == rest


@pytest.mark.parametrize(
    ("text", "expected", "rest"),
    [
        ("Order 15 5000 zł", money("5000.00", "PLN"), "Order 15"),
        ("Order 15 $300", money("300.00", "USD"), "Order 15"),
        ("Order 15, 1,5 mln", money("1500000.00", "PLN"), "Order 15"),
        ("dostawa 15 szt. za 2 tys. zł", money("2000.00", "PLN"), "dostawa 15 szt. za"),
    ],
)
def test_title_number_before_money(text: str, expected: Money, rest: str) -> None:
    parsed = parse_line(text)
    assert parsed.money == expected
    assert parsed.rest == rest


# --- phones -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        "600 100 200",
        "600-100-200",
        "600100200",
        "600.100.200",
        "+48 600-100-200",
        "+48 600 100 200",
        "+48600100200",
        "0048600100200",
        "(+48) 600 100 200",
        "+48 (600) 100 200",
        " 600\u00a0100\u00a0200 ",
    ],
)
def test_polish_phone_spellings_are_equivalent(raw: str) -> None:
    assert normalize_phone(raw, "PL") == PL_PHONE
    parsed = parse_line(f"Jan {raw} strona", region="PL")
    assert parsed.phones == (PL_PHONE,)
    assert parsed.name == "Jan"
    assert parsed.rest == "strona"
    assert parsed.money is None


@pytest.mark.parametrize(
    "raw",
    [
        "8 (916) 123-45-67",
        "8-916-123-45-67",
        "89161234567",
        "+7 916 123-45-67",
        "+7 (916) 123-45-67",
        "+7(916)1234567",
        "+79161234567",
        "916 123 45 67",
    ],
)
def test_russian_phone_spellings_are_equivalent(raw: str) -> None:
    assert normalize_phone(raw, "RU") == RU_PHONE
    parsed = parse_line(f"Иван {raw} поставка", region="RU")
    assert parsed.phones == (RU_PHONE,)
    assert parsed.name == "Иван"
    assert parsed.rest == "поставка"
    assert parsed.money is None


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+7 916 123 45 67", "PL", RU_PHONE),  # an international number ignores the region
        ("+48 600 100 200", "RU", PL_PHONE),
        ("22 123 45 67", "PL", "+48221234567"),  # landline
        ("600 100 200", "pl", PL_PHONE),  # region is case-insensitive
        ("8 (916) 123-45-67", "PL", None),  # a Russian local form is not Polish
        ("600 100 200", "RU", None),
        ("123", "PL", None),
        ("600 100 20", "PL", None),
        ("+48 100 000 000", "PL", None),
        ("+999 123 456", "PL", None),
        ("abc", "PL", None),
        ("", "PL", None),
        ("1" * 200, "PL", None),
    ],
)
def test_normalize_phone(raw: str, region: str, expected: str | None) -> None:
    assert normalize_phone(raw, region) == expected


def test_several_phones_in_order_without_duplicates() -> None:
    parsed = parse_line("Jan Kowalski 600 100 200, +48 601-200-300 i 0048600100200 biuro")
    assert parsed.phones == (PL_PHONE, "+48601200300")
    assert parsed.name == "Jan Kowalski"
    assert parsed.rest == "i biuro"


def test_adjacent_local_phones_are_split() -> None:
    parsed = parse_line("600 100 200 601 200 300")
    assert parsed.phones == (PL_PHONE, "+48601200300")
    assert parsed.rest == ""


def test_polish_and_russian_phones_in_one_line() -> None:
    parsed = parse_line("Jan +7 916 123-45-67 600 100 200", region="PL")
    assert parsed.phones == (RU_PHONE, PL_PHONE)


def test_russian_local_phone_does_not_swallow_the_amount() -> None:
    parsed = parse_line("8 (916) 123-45-67 10 тыс. руб", region="RU")
    assert parsed.phones == (RU_PHONE,)
    assert parsed.money == money("10000.00", "RUB")
    assert parsed.rest == ""


def test_phone_digits_are_not_money() -> None:
    parsed = parse_line("+48 600 100 200 5000 zł")
    assert parsed.phones == (PL_PHONE,)
    assert parsed.money == money("5000.00", "PLN")
    assert parsed.rest == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("budżet 500 000 000 zł", money("500000000.00", "PLN")),  # a valid PL number too
        ("budżet 600100200 zł", money("600100200.00", "PLN")),
        ("budżet 123 456 789 PLN", money("123456789.00", "PLN")),
        ("бюджет 9161234567 руб", money("9161234567.00", "RUB")),
    ],
)
def test_amount_shaped_like_a_phone_is_money(text: str, expected: Money) -> None:
    region = "RU" if "руб" in text else "PL"
    parsed = parse_line(text, region=region)
    assert parsed.phones == ()
    assert parsed.money == expected


def test_digits_inside_an_email_are_not_a_phone() -> None:
    parsed = parse_line("kontakt jan.600100200@sms.pl")
    assert parsed.phones == ()
    assert parsed.emails == ("jan.600100200@sms.pl",)
    assert parsed.rest == "kontakt"


def test_digits_inside_a_url_stay_in_the_title() -> None:
    parsed = parse_line("strona https://firma.pl/oferta/600100200?cena=5000zł")
    assert parsed.phones == ()
    assert parsed.money is None
    assert parsed.rest == "strona https://firma.pl/oferta/600100200?cena=5000zł"


# --- e-mails ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jan@firma.pl", "jan@firma.pl"),
        ("Jan.Kowalski@Firma.PL", "jan.kowalski@firma.pl"),
        ("  <anna+crm@example.co.uk>  ", "anna+crm@example.co.uk"),
        ("mailto:Anna@Example.com", "anna@example.com"),
        ("ivan_petrov@mail.ru", "ivan_petrov@mail.ru"),
        ("a-b@sub-domain.example.com", "a-b@sub-domain.example.com"),
        ("jan@firma", None),
        ("jan@@firma.pl", None),
        ("jan..kowalski@firma.pl", None),
        (".jan@firma.pl", None),
        ("@firma.pl", None),
        ("jan@", None),
        ("jan firma.pl", None),
        ("jan@firma.pl2", None),
        ("", None),
        ("a" * 300 + "@firma.pl", None),
    ],
)
def test_normalize_email(raw: str, expected: str | None) -> None:
    assert normalize_email(raw) == expected


def test_several_emails_lowercased_in_order_without_duplicates() -> None:
    parsed = parse_line("Anna Nowak ANNA@Firma.pl, biuro@firma.pl; anna@firma.pl oferta")
    assert parsed.emails == ("anna@firma.pl", "biuro@firma.pl")
    assert parsed.name == "Anna Nowak"
    assert parsed.rest == "oferta"


def test_email_followed_by_sentence_dot() -> None:
    parsed = parse_line("pisać na jan@firma.pl.")
    assert parsed.emails == ("jan@firma.pl",)
    assert parsed.rest == "pisać na."


def test_telegram_username_is_not_an_email() -> None:
    parsed = parse_line("Jan @jankowalski")
    assert parsed.emails == ()
    assert parsed.name == "Jan"
    assert parsed.rest == "@jankowalski"


# --- names ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "name", "rest"),
    [
        ("Jan Kowalski strona internetowa", "Jan Kowalski", "strona internetowa"),
        ("Jan strona", "Jan", "strona"),
        ("Jan", "Jan", ""),
        ("Łukasz Żółkiewski sklep", "Łukasz Żółkiewski", "sklep"),
        ("Anna Nowak-Kowalska wdrożenie", "Anna Nowak-Kowalska", "wdrożenie"),
        ("Seán O'Brien consulting", "Seán O'Brien", "consulting"),
        ("Jan Kowalski Strona Główna", "Jan Kowalski", "Strona Główna"),
        ("Jan Kowalski, pilne", "Jan Kowalski", "pilne"),
        ("Jan, Kowalski pilne", "Jan", "Kowalski pilne"),
        ("Jan Kowalski 10 szt. laptopów", "Jan Kowalski", "10 szt. laptopów"),
        ("KOWALSKI Jan", "KOWALSKI Jan", ""),  # caps longer than 4 letters is a name
        ("Иван Петров поставка оборудования", "Иван Петров", "поставка оборудования"),
        ("Иван Иванович Петров поставка", "Иван Иванович Петров", "поставка"),
        ("Петров Иван Иванович поставка", "Петров Иван Иванович", "поставка"),
        ("Мария Ивановна Сидорова", "Мария Ивановна Сидорова", ""),
        ("Анна Ильинична Петрова заказ", "Анна Ильинична Петрова", "заказ"),
        ("Иван Петров Москва", "Иван Петров", "Москва"),
        ("Алёна Сергеевна", "Алёна Сергеевна", ""),
        ("Pani Anna Nowak oferta", "Anna Nowak", "oferta"),
        ("pan Jan Kowalski", "Jan Kowalski", ""),
        ("Dr. Jan Kowalski konsultacja", "Jan Kowalski", "konsultacja"),
        ("Mr John Smith", "John Smith", ""),
        ("господин Иван Петров", "Иван Петров", ""),
        ("г-жа Мария Ивановна Сидорова", "Мария Ивановна Сидорова", ""),
    ],
)
def test_names(text: str, name: str, rest: str) -> None:
    parsed = parse_line(text)
    assert (parsed.name, parsed.phones, parsed.emails, parsed.money, parsed.rest) == (
        name, (), (), None, rest
    )  # fmt: skip
    assert (parsed.company, parsed.address) == (None, None)
    assert extract_name(text) == (name, rest)


@pytest.mark.parametrize(
    "text",
    [
        "strona www",
        "поставка оборудования",
        "CRM wdrożenie",
        "IT Kowalski",
        "Order 15",
        "Zamówienie sklep",
        "Заказ Иванова",
        "Windows 11 licencje",  # one capitalised word directly before a number
        "J Kowalski",  # one letter is an initial, not a name
        "<b>Jan</b>",
        "Jan2 Kowalski",
        "Pani z recepcji",  # a salutation without a name stays in the text
        "",
    ],
)
def test_no_name(text: str) -> None:
    parsed = parse_line(text)
    assert parsed.name is None
    assert parsed.rest == " ".join(text.split())


def test_no_name_line_with_money() -> None:
    assert parse_line("strona www 5000 zł") == ParsedLine(
        None, (), (), money("5000.00", "PLN"), "strona www"
    )


# Issue 11: a name was only read at the start of the line and only when capitalised; the old
# expectations here ("strona www Jan Kowalski", "JAN KOWALSKI", "jan kowalski", "123 Jan" have
# no name) were the defect.
@pytest.mark.parametrize(
    ("text", "name", "rest"),
    [
        ("strona www Jan Kowalski", "Jan Kowalski", "strona www"),
        ("JAN KOWALSKI", "JAN KOWALSKI", ""),
        ("jan kowalski", "Jan Kowalski", ""),
        ("123 Jan", "Jan", "123"),
    ],
)
def test_names_anywhere_and_in_any_case(text: str, name: str, rest: str) -> None:
    assert extract_name(text) == (name, rest)


# Issue 11: a legal form used to mean only "no person here", the company stayed in the title.
@pytest.mark.parametrize(
    ("text", "company", "rest"),
    [
        ("Kowalski Sp. z o.o.", "Kowalski Sp. z o.o.", ""),
        ("Kowalski sp. z o.o. strona", "Kowalski sp. z o.o.", "strona"),
        ("Kowalski spółka Sp.z o.o.", "Kowalski spółka Sp.z o.o.", ""),
        ("Nowak S.A. dostawa", "Nowak S.A.", "dostawa"),
        ("Kowalski i Syn Sp. j.", "Kowalski i Syn Sp. j.", ""),
        ("Kowalski Sp.k.", "Kowalski Sp.k.", ""),
        ("Acme LLC", "Acme LLC", ""),
        ("Smith Ltd website", "Smith Ltd", "website"),
        ("Müller GmbH Maschinen", "Müller GmbH", "Maschinen"),
        ("Ромашка ООО поставка", "Ромашка ООО", "поставка"),
        ("ООО Ромашка", "ООО Ромашка", ""),
        ("ИП Иванов", "ИП Иванов", ""),
        ("Иванов АО", "Иванов АО", ""),
    ],
)
def test_company_forms_mark_the_company(text: str, company: str, rest: str) -> None:
    parsed = parse_line(f"{text} 5000 zł 600 100 200")
    assert parsed.name is None
    assert parsed.company == company
    assert parsed.rest == rest
    assert parsed.money == money("5000.00", "PLN")
    assert parsed.phones == (PL_PHONE,)


def test_name_found_after_removing_leading_phone_and_money() -> None:
    parsed = parse_line("+48 600 100 200 5000 zł Jan Kowalski strona")
    assert parsed.name == "Jan Kowalski"
    assert parsed.rest == "strona"


def test_dangling_separators_are_tidied() -> None:
    parsed = parse_line("Jan Kowalski, 600 100 200, jan@firma.pl, 5000 zł, strona www")
    assert parsed.name == "Jan Kowalski"
    assert parsed.rest == "strona www"


def test_empty_brackets_left_by_a_phone_are_removed() -> None:
    parsed = parse_line("Jan Kowalski (600 100 200) strona")
    assert parsed.rest == "strona"


# --- hostile and odd input --------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", " ", "\n\t ", "\x00\x01\x02", "\u200b\ufeff"])
def test_empty_input(text: str) -> None:
    assert parse_line(text) == ParsedLine(None, (), (), None, "", None, None, None, None)


def test_control_and_format_characters_are_stripped() -> None:
    parsed = parse_line("Jan\x00Kowalski\u200b\x1f 600\u200b100\u200b200\x07 jan@firma.pl\x0b")
    assert parsed.name == "Jan Kowalski"
    assert parsed.phones == (PL_PHONE,)
    assert parsed.emails == ("jan@firma.pl",)
    assert parsed.rest == ""


def test_terminal_colour_codes_are_not_read_as_money() -> None:
    parsed = parse_line("\x1b[31mJan Kowalski\x1b[0m strona")
    assert parsed.money is None
    assert parsed.name == "Jan Kowalski"
    assert parsed.rest == "strona"


def test_bidi_override_does_not_hide_text() -> None:
    parsed = parse_line("\u202eJan Kowalski\u202c 5000 zł")
    assert parsed.name == "Jan Kowalski"
    assert parsed.money == money("5000.00", "PLN")


def test_multiline_text_is_flattened() -> None:
    parsed = parse_line("Jan Kowalski\n600 100 200\nstrona\r\nwww")
    assert parsed.name == "Jan Kowalski"
    assert parsed.phones == (PL_PHONE,)
    assert parsed.rest == "strona www"


def test_html_is_left_as_text() -> None:
    text = '<a href="javascript:alert(1)">Jan</a> <script>alert(1)</script> 5000 zł'
    parsed = parse_line(text)
    assert parsed.name is None
    assert parsed.money == money("5000.00", "PLN")
    assert parsed.rest == '<a href="javascript:alert(1)">Jan</a> <script>alert(1)</script>'


def test_huge_input_is_capped_and_fast() -> None:
    text = "Jan Kowalski 600 100 200 jan@firma.pl 5000 zł " + "x" * 100_000 + " 601 200 300"
    started = time.perf_counter()
    parsed = parse_line(text)
    assert time.perf_counter() - started < 1.0
    assert parsed.name == "Jan Kowalski"
    assert parsed.phones == (PL_PHONE,)  # the second phone lies beyond the cap
    assert parsed.emails == ("jan@firma.pl",)
    assert parsed.money == money("5000.00", "PLN")
    assert parsed.rest.startswith("xxx")
    assert len(parsed.rest) < MAX_INPUT_CHARS


@pytest.mark.parametrize(
    "text",
    [
        "1" * 100_000,
        "1 " * 50_000,
        "(1) " * 30_000,
        "1-" * 50_000,
        "1." * 50_000,
        "1 000 " * 20_000,
        "600 100 200 " * 10_000,
        "a" * 50_000 + "@" + "b." * 25_000,
        "@" * 100_000,
        "a." * 50_000 + "@",
        "Jan " * 25_000,
        "\x00" * 100_000,
        "€$£₽" * 25_000,
        "<div>" * 20_000,
        "5 тыс. руб " * 10_000,
    ],
)
def test_hostile_input_is_bounded(text: str) -> None:
    started = time.perf_counter()
    parsed = parse_line(text)
    parse_line(text, region="RU")
    parse_money(text)
    normalize_phone(text)
    normalize_email(text)
    assert time.perf_counter() - started < 2.0
    assert len(parsed.rest) <= MAX_INPUT_CHARS
    assert "\x00" not in parsed.rest


def test_many_phones_in_digit_soup_are_each_found_once() -> None:
    parsed = parse_line("600 100 200 601 200 300 " * 500)
    assert parsed.phones == (PL_PHONE, "+48601200300")


def test_parse_line_is_deterministic() -> None:
    text = "Иван Петров 8 (916) 123-45-67 ivan@mail.ru 10к руб поставка"
    assert parse_line(text, region="RU") == parse_line(text, region="RU")


# --- locale → region --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("locale", "region"),
    [
        ("pl", "PL"),
        ("ru", "RU"),
        ("en", "PL"),
        ("uk", "PL"),
        ("", "PL"),
        ("PL", "PL"),
        ("RU", "RU"),
        ("pl-PL", "PL"),
        ("ru_RU", "RU"),
        ("ru-UA", "RU"),
        ("xx", "PL"),
    ],
)
def test_region_for_locale(locale: str, region: str) -> None:
    assert region_for_locale(locale) == region


def test_region_for_locale_drives_phone_parsing() -> None:
    text = "Иван 8 (916) 123-45-67"
    assert parse_line(text, region=region_for_locale("ru")).phones == (RU_PHONE,)
    assert parse_line(text, region=region_for_locale("pl")).phones == ()
