"""A corpus of realistic one-liners (pl, ru, en) with the parts a rep expects from each.

Each row: the line | name | company | phones | e-mails | amount | title. Empty means none;
several phones or e-mails are separated by spaces; an amount is `5000.00 PLN`. The region is
RU for lines with Cyrillic letters, PL otherwise (as `region_for_locale` gives a user). A
second part builds lines from parts (a name, a phone spelling, an amount, a title) in varied
orders, the expectation coming from the parts, not from the parser.
"""

from __future__ import annotations

import itertools
import re
import statistics
import time
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.parsing import Money, ParsedLine, _clean, parse_line

CORPUS = """
Jan Kowalski +48 600 100 200 jan@firma.pl 5000 zł strona internetowa | Jan Kowalski | | +48600100200 | jan@firma.pl | 5000.00 PLN | strona internetowa
Wdrożenie CRM 12 000 zł Jan Kowalski +48 600 100 200 | Jan Kowalski | | +48600100200 | | 12000.00 PLN | Wdrożenie CRM
Сделка с Иваном Петровым 200 тыс. руб | Иван Петров | | | | 200000.00 RUB | Сделка
Abonament 900 zł | | | | | 900.00 PLN | Abonament
Naprawa serwera 900 zł | | | | | 900.00 PLN | Naprawa serwera
jan kowalski +48 600 100 200 | Jan Kowalski | | +48600100200 | | |
anna nowak 601 200 300 oferta | Anna Nowak | | +48601200300 | | | oferta
JAN KOWALSKI 600-100-200 | JAN KOWALSKI | | +48600100200 | | |
Kowalski Jan 600 100 200 wycena | Kowalski Jan | | +48600100200 | | | wycena
oferta na szkolenie Piotr Wiśniewski 5 tys. zł | Piotr Wiśniewski | | | | 5000.00 PLN | oferta na szkolenie
Piotr Wiśniewski, 602 300 400, piotr.w@gmail.com | Piotr Wiśniewski | | +48602300400 | piotr.w@gmail.com | |
"Magda Lewandowska" magda@lewandowska.pl | Magda Lewandowska | | | magda@lewandowska.pl | |
Katarzyna Wójcik (kasia@wp.pl) 1500 złotych | Katarzyna Wójcik | | | kasia@wp.pl | 1500.00 PLN |
Tomasz Zieliński tel. 603 400 500 | Tomasz Zieliński | | +48603400500 | | | tel.
Pani Anna Nowak oferta 2500 PLN | Anna Nowak | | | | 2500.00 PLN | oferta
pan Marek Kamiński 22 123 45 67 serwis | Marek Kamiński | | +48221234567 | | | serwis
Łukasz Żółkiewski sklep 1,5 mln zł | Łukasz Żółkiewski | | | | 1500000.00 PLN | sklep
Lukasz Zolkiewski sklep 1,5 mln zl | Lukasz Zolkiewski | | | | 1500000.00 PLN | sklep
Michał Dąbrowski michal@dabrowski.com.pl +48 604 500 600 | Michał Dąbrowski | | +48604500600 | michal@dabrowski.com.pl | |
Ewa Kozłowska 0048 605 600 700 zł 800 | Ewa Kozłowska | | +48605600700 | | 800.00 PLN |
Marcin Mazur — remont biura — 45 000 zł | Marcin Mazur | | | | 45000.00 PLN | remont biura
remont biura 45 000 zł Marcin Mazur | Marcin Mazur | | | | 45000.00 PLN | remont biura
Krzysztof Jankowski 50 dolarów konsultacja | Krzysztof Jankowski | | | | 50.00 USD | konsultacja
Agnieszka Kwiatkowska €300 tłumaczenie | Agnieszka Kwiatkowska | | | | 300.00 EUR | tłumaczenie
Zofia Krawczyk 300 EUR tłumaczenie umowy | Zofia Krawczyk | | | | 300.00 EUR | tłumaczenie umowy
Grzegorz Piotrowski 10k audyt | Grzegorz Piotrowski | | | | 10000.00 PLN | audyt
Dorota Grabowska 2 tys. zł | Dorota Grabowska | | | | 2000.00 PLN |
Janek Zając 600100200 | Janek Zając | | +48600100200 | | |
Kasia Pawłowska kasia.p@onet.pl | Kasia Pawłowska | | | kasia.p@onet.pl | |
Basia Michalska 600 100 200, 601 200 300 | Basia Michalska | | +48600100200 +48601200300 | | |
Jakub Król https://krol.pl 7000 zł | Jakub Król | | | | 7000.00 PLN | https://krol.pl
Wiktoria Wieczorek www.wieczorek.pl strona | Wiktoria Wieczorek | | | | | www.wieczorek.pl strona
Szymon Jabłoński faktura 2024/15 | Szymon Jabłoński | | | | | faktura 2024/15
Zamówienie 15 szt. Adam Wróbel 3000 zł | Adam Wróbel | | | | 3000.00 PLN | Zamówienie 15 szt.
Order 15 John Smith $300 | John Smith | | | | 300.00 USD | Order 15
John Smith john@smith.co.uk website redesign £2,000 | John Smith | | | john@smith.co.uk | 2000.00 GBP | website redesign
Mary Johnson +44 20 7946 0958 consulting | Mary Johnson | | +442079460958 | | | consulting
mr James Brown 500 USD | James Brown | | | | 500.00 USD |
Dr. Emily Davis second opinion 1500 USD | Emily Davis | | | | 1500.00 USD | second opinion
website for Michael Miller 3k USD | Michael Miller | | | | 3000.00 USD | website
Sarah Wilson sarah@wilson.io | Sarah Wilson | | | sarah@wilson.io | |
Robert Taylor 1500 dollars logo | Robert Taylor | | | | 1500.00 USD | logo
David Moore Ltd 20 000 USD licence | | David Moore Ltd | | | 20000.00 USD | licence
Acme LLC onboarding $5,000 | | Acme LLC | | | 5000.00 USD | onboarding
Müller GmbH Maschinen 10 000 EUR | | Müller GmbH | | | 10000.00 EUR | Maschinen
ACME Sp. z o.o. +48 22 100 20 30 biuro@acme.pl | | ACME Sp. z o.o. | +48221002030 | biuro@acme.pl | |
Wdrożenie CRM dla ACME Sp. z o.o. 25 000 zł | | ACME Sp. z o.o. | | | 25000.00 PLN | Wdrożenie CRM
Budimex S.A. przetarg 2 mln zł | | Budimex S.A. | | | 2000000.00 PLN | przetarg
Kowalski i Syn Sp. j. dostawa 4000 zł | | Kowalski i Syn Sp. j. | | | 4000.00 PLN | dostawa
"Piekarnia Nowak" sp.j. chleb 800 zł | | "Piekarnia Nowak" sp.j. | | | 800.00 PLN | chleb
Jan Kowalski ACME Sp. z o.o. 600 100 200 | Jan Kowalski | ACME Sp. z o.o. | +48600100200 | | |
Anna Nowak, Nowak Consulting S.A., anna@nowak.pl | Anna Nowak | Nowak Consulting S.A. | | anna@nowak.pl | |
Transport Sp. k. 2500 zł przewóz | | Transport Sp. k. | | | 2500.00 PLN | przewóz
Ремонт офиса ООО «Ромашка» 150 000 руб | | ООО «Ромашка» | | | 150000.00 RUB | Ремонт офиса
ООО "Вектор" поставка 50к руб | | ООО "Вектор" | | | 50000.00 RUB | поставка
ООО Ромашка Иван Петров 8 916 123-45-67 | Иван Петров | ООО Ромашка | +79161234567 | | |
АО «Газпром нефть» тендер 5 млн руб | | АО «Газпром нефть» | | | 5000000.00 RUB | тендер
ИП Иванов И.И. 30 000 руб сайт | | ИП Иванов И.И. | | | 30000.00 RUB | сайт
Иван Петров 8 (916) 123-45-67 10к руб поставка оборудования | Иван Петров | | +79161234567 | | 10000.00 RUB | поставка оборудования
Пётр Сидоров +7 916 123 45 67 ivan@mail.ru | Пётр Сидоров | | +79161234567 | ivan@mail.ru | |
иван петров 89161234567 | Иван Петров | | +79161234567 | | |
ИВАН ПЕТРОВ 8-916-123-45-67 | ИВАН ПЕТРОВ | | +79161234567 | | |
Петров Иван Иванович поставка 100 000 руб | Петров Иван Иванович | | | | 100000.00 RUB | поставка
Мария Ивановна Сидорова 5000 рублей консультация | Мария Ивановна Сидорова | | | | 5000.00 RUB | консультация
Звонок от Марии Сидоровой 8 916 765 43 21 | Мария Сидорова | | +79167654321 | | | Звонок
Встреча с Анной Кузнецовой завтра | Анна Кузнецова | | | | | Встреча завтра
Договор для Алексея Смирнова 300 тыс. руб | Алексей Смирнов | | | | 300000.00 RUB | Договор
Письмо Ольге Морозовой olga@yandex.ru | Ольга Морозова | | | olga@yandex.ru | | Письмо
Сергей Волков 1500 долларов консалтинг | Сергей Волков | | | | 1500.00 USD | консалтинг
Наталья Лебедева 5000 злотых перевод | Наталья Лебедева | | | | 5000.00 PLN | перевод
Алёна Соколова 300 евро | Алёна Соколова | | | | 300.00 EUR |
Алена Семенова 300 EUR | Алена Семенова | | | | 300.00 EUR |
Дмитрий Новиков 2 млн ₽ проект | Дмитрий Новиков | | | | 2000000.00 RUB | проект
Екатерина Козлова 1 500,50 руб. | Екатерина Козлова | | | | 1500.50 RUB |
Андрей Попов, 8 (495) 123-45-67, склад | Андрей Попов | | +74951234567 | | | склад
поставка оборудования Михаил Орлов 2,5 млн руб | Михаил Орлов | | | | 2500000.00 RUB | поставка оборудования
заказ 15 шт для Ирины Павловой | Ирина Павлова | | | | | заказ 15 шт
Татьяна Васильева tanya.v@mail.ru +7 (903) 111-22-33 | Татьяна Васильева | | +79031112233 | tanya.v@mail.ru | |
господин Иван Петров 50к руб аудит | Иван Петров | | | | 50000.00 RUB | аудит
Поставка 100 000 руб | | | | | 100000.00 RUB | Поставка
Заказ Иванова 5000 руб | | | | | 5000.00 RUB | Заказ Иванова
Внедрение CRM 100000 руб | | | | | 100000.00 RUB | Внедрение CRM
Второй проект | | | | | | Второй проект
Tajny projekt 5000 zł | | | | | 5000.00 PLN | Tajny projekt
serwis 5000 zł i 300 EUR dopłaty | | | | | 5000.00 PLN | serwis i 300 EUR dopłaty
budżet 500 000 000 zł | | | | | 500000000.00 PLN | budżet
kontakt jan.600100200@sms.pl | | | | jan.600100200@sms.pl | | kontakt
biuro@firma.pl zapytanie | | | | biuro@firma.pl | | zapytanie
+48 600 100 200 | | | +48600100200 | | |
600 100 200 oferta | | | +48600100200 | | | oferta
spotkanie 12.05.2025 10:30 | | | | | | spotkanie 12.05.2025 10:30
Windows 11 licencje 20 szt. | | | | | | Windows 11 licencje 20 szt.
Jan Kowalski ul. Długa 12/34 00-950 Warszawa | Jan Kowalski | | | | |
Anna Nowak, ul. Marszałkowska 10 m. 5, 00-001 Warszawa, 601 200 300 | Anna Nowak | | +48601200300 | | |
Piotr Nowak al. Jana Pawła II 27 Kraków 602 300 400 | Piotr Nowak | | +48602300400 | | | Kraków
dostawa ul. 3 Maja 5 Jan Kowalski 600 100 200 | Jan Kowalski | | +48600100200 | | | dostawa
Иван Петров г. Москва, ул. Тверская, д. 1, кв. 5 | Иван Петров | | | | |
Анна Смирнова ул. Ленина 15 8 916 123 45 67 | Анна Смирнова | | +79161234567 | | |
John Smith 221 Baker Street, Apt 5 +44 20 7946 0958 | John Smith | | +442079460958 | | |
Jan Kowalski -5000 zł zwrot | Jan Kowalski | | | | -5000.00 PLN | zwrot
Иван Петров −3000 руб | Иван Петров | | | | -3000.00 RUB |
Anna Nowak - 5000 zł | Anna Nowak | | | | 5000.00 PLN |
Ola Kaczmarek 200 zł 601 200 300 | Ola Kaczmarek | | +48601200300 | | 200.00 PLN |
Max Mustermann 1000 EUR | Max Mustermann | | | | 1000.00 EUR |
plan Max 500 zł | | | | | 500.00 PLN | plan Max
spotkanie 3 maja 10:00 | | | | | | spotkanie 3 maja 10:00
Вера в успех 100 руб | | | | | 100.00 RUB | Вера в успех
Вера Иванова 8 916 123 45 67 | Вера Иванова | | +79161234567 | | |
J. Kowalski 600 100 200 | J. Kowalski | | +48600100200 | | |
strona www dla Anny Nowak 3000 zł | Anna Nowak | | | | 3000.00 PLN | strona www
oferta dla Jana Kowalskiego 5000 zł | Jan Kowalski | | | | 5000.00 PLN | oferta
spotkanie z Piotrem Wiśniewskim jutro | Piotr Wiśniewski | | | | | spotkanie jutro
zamówienie od Jana Kowalskiego +48 600 100 200 | Jan Kowalski | | +48600100200 | | | zamówienie
wycena dla Katarzyny Wójcik 1200 zł | Katarzyna Wójcik | | | | 1200.00 PLN | wycena
faktura dla Tomasza Zielińskiego 800 zł | Tomasz Zieliński | | | | 800.00 PLN | faktura
rozmowa z Agnieszką Kwiatkowską | Agnieszka Kwiatkowska | | | | | rozmowa
umowa serwisowa dla Marka Kamińskiego 2 tys. zł | Marek Kamiński | | | | 2000.00 PLN | umowa serwisowa
zapytanie od Magdy Lewandowskiej magda@lewandowska.pl | Magda Lewandowska | | | magda@lewandowska.pl | | zapytanie
szkolenie dla Małgorzaty Wiśniewskiej 4500 zł | Małgorzata Wiśniewska | | | | 4500.00 PLN | szkolenie
demo z Pawłem Kowalczykiem 601 200 300 | Paweł Kowalczyk | | +48601200300 | | | demo
oferta od Ewy Kozłowskiej 0048 605 600 700 | Ewa Kozłowska | | +48605600700 | | | oferta
konsultacja z Krzysztofem Jankowskim 50 dolarów | Krzysztof Jankowski | | | | 50.00 USD | konsultacja
tłumaczenie dla Zofii Krawczyk 300 EUR | Zofia Krawczyk | | | | 300.00 EUR | tłumaczenie
audyt dla Grzegorza Piotrowskiego 10k | Grzegorz Piotrowski | | | | 10000.00 PLN | audyt
remont biura dla Marcina Mazura 45 000 zł | Marcin Mazur | | | | 45000.00 PLN | remont biura
projekt od Doroty Grabowskiej 2 tys. zł | Dorota Grabowska | | | | 2000.00 PLN | projekt
serwis dla Michała Dąbrowskiego michal@dabrowski.com.pl | Michał Dąbrowski | | | michal@dabrowski.com.pl | | serwis
sklep internetowy dla Łukasza Żółkiewskiego 1,5 mln zł | Łukasz Żółkiewski | | | | 1500000.00 PLN | sklep internetowy
wdrożenie dla Barbary Michalskiej 7000 zł | Barbara Michalska | | | | 7000.00 PLN | wdrożenie
strona dla Jakuba Króla 7000 zł | Jakub Król | | | | 7000.00 PLN | strona
kampania z Wiktorią Wieczorek | Wiktoria Wieczorek | | | | | kampania
faktura od Szymona Jabłońskiego 2024/15 | Szymon Jabłoński | | | | | faktura 2024/15
zamówienie 15 szt. od Adama Wróbla 3000 zł | Adam Wróbel | | | | 3000.00 PLN | zamówienie 15 szt.
dla anny nowak 900 zł abonament | Anna Nowak | | | | 900.00 PLN | abonament
od jana kowalskiego 600 100 200 | Jan Kowalski | | +48600100200 | | |
z piotrem wiśniewskim spotkanie | Piotr Wiśniewski | | | | | spotkanie
oferta dla Aleksandry Nowickiej 3500 zł | Aleksandra Nowicka | | | | 3500.00 PLN | oferta
wycena dla Andrzeja Wojciechowskiego 9000 zł | Andrzej Wojciechowski | | | | 9000.00 PLN | wycena
negocjacje z Tomaszem Lewandowskim 20 tys. zł | Tomasz Lewandowski | | | | 20000.00 PLN | negocjacje
prezentacja dla Joanny Kamińskiej | Joanna Kamińska | | | | | prezentacja
umowa z Moniką Zielińską 1500 zł | Monika Zielińska | | | | 1500.00 PLN | umowa
oferta od Karoliny Szymańskiej karolina@szymanska.pl | Karolina Szymańska | | | karolina@szymanska.pl | | oferta
serwis klimatyzacji u Roberta Woźniaka 650 zł | Robert Woźniak | | | | 650.00 PLN | serwis klimatyzacji
montaż u Ewy Nowak +48 602 300 400 | Ewa Nowak | | +48602300400 | | | montaż
szkolenie BHP dla Mateusza Kaczmarka 1800 zł | Mateusz Kaczmarek | | | | 1800.00 PLN | szkolenie BHP
rozmowa z Beatą Pawlak o rabacie | Beata Pawlak | | | | | rozmowa o rabacie
oferta dla Natalii Górskiej 4000 zł | Natalia Górska | | | | 4000.00 PLN | oferta
spotkanie ze Stanisławem Sikorą | Stanisław Sikora | | | | | spotkanie
dokumenty od Jolanty Baran | Jolanta Baran | | | | | dokumenty
wycena dla Rafała Zawadzkiego 12 000 zł | Rafał Zawadzki | | | | 12000.00 PLN | wycena
oferta dla Jana 500 zł | Jan | | | | 500.00 PLN | oferta
telefon od Anny 601 200 300 | Anna | | +48601200300 | | | telefon
spotkanie z Piotrem jutro | Piotr | | | | | spotkanie jutro
dostawa dla Grzegorza Brzęczyszczykiewicza 900 zł | Grzegorz Brzęczyszczykiewicz | | | | 900.00 PLN | dostawa
Jana Kowalska +48 600 100 200 | Jana Kowalska | | +48600100200 | | |
"""


def _money(text: str) -> Money | None:
    if not text:
        return None
    amount, currency = text.split()
    return Money(Decimal(amount), currency)


def _row(line: str) -> tuple[str, dict[str, object]]:
    parts = [p.strip() for p in line.split("|")]
    assert len(parts) == 7, line
    text, name, company, phones, emails, amount, title = parts
    return text, {
        "name": name or None,
        "company": company or None,
        "phones": tuple(phones.split()),
        "emails": tuple(emails.split()),
        "money": _money(amount),
        "rest": title,
    }


ROWS = [_row(line) for line in CORPUS.strip().splitlines()]


def region(text: str) -> str:
    return "RU" if re.search("[А-Яа-яЁё]", text) else "PL"


def parts(parsed: ParsedLine) -> dict[str, object]:
    return {
        "name": parsed.name,
        "company": parsed.company,
        "phones": parsed.phones,
        "emails": parsed.emails,
        "money": parsed.money,
        "rest": parsed.rest,
    }


@pytest.mark.parametrize(("text", "expected"), ROWS, ids=[r[0][:40] for r in ROWS])
def test_written_corpus(text: str, expected: dict[str, object]) -> None:
    currency = "RUB" if region(text) == "RU" else "PLN"
    assert parts(parse_line(text, region=region(text), default_currency=currency)) == expected


ADDRESSES = {
    "Jan Kowalski ul. Długa 12/34 00-950 Warszawa": "ul. Długa 12/34 00-950 Warszawa",
    "Иван Петров г. Москва, ул. Тверская, д. 1, кв. 5": "г. Москва, ул. Тверская, д. 1, кв. 5",
    "John Smith 221 Baker Street, Apt 5 +44 20 7946 0958": "221 Baker Street, Apt 5",
}


@pytest.mark.parametrize(("text", "address"), ADDRESSES.items())
def test_addresses_are_kept_and_never_phones(text: str, address: str) -> None:
    parsed = parse_line(text, region=region(text))
    assert parsed.address == address
    assert not any(p.endswith("950") or p.endswith("12340") for p in parsed.phones)


# --- lines built from parts -------------------------------------------------------------------
PEOPLE = [
    ("Jan Kowalski", "Jan", "Kowalski", "PL"),
    ("Małgorzata Wiśniewska", "Małgorzata", "Wiśniewska", "PL"),
    ("Kowalczyk Paweł", "Paweł", "Kowalczyk", "PL"),
    ("Grażyna Dąbrowska-Nowak", "Grażyna", "Dąbrowska-Nowak", "PL"),
    ("Иван Петров", "Иван", "Петров", "RU"),
    ("Ольга Смирнова", "Ольга", "Смирнова", "RU"),
    ("Кузнецов Дмитрий", "Дмитрий", "Кузнецов", "RU"),
    ("Emily Clarke", "Emily", "Clarke", "PL"),
    ("Sean O'Brien", "Sean", "O'Brien", "PL"),
]
PHONES = {
    "PL": [("600 100 200", "+48600100200"), ("+48 601-200-300", "+48601200300"),
           ("(22) 123 45 67", "+48221234567")],
    "RU": [("8 (916) 123-45-67", "+79161234567"), ("+7 903 111 22 33", "+79031112233"),
           ("89261112233", "+79261112233")],
}  # fmt: skip
AMOUNTS = {
    "PL": [("5000 zł", "5000.00 PLN"), ("zł 800", "800.00 PLN"), ("1,5 mln zł", "1500000.00 PLN"),
           ("50 dolarów", "50.00 USD")],
    "RU": [("200 тыс. руб", "200000.00 RUB"), ("1500 долларов", "1500.00 USD"),
           ("5000 злотых", "5000.00 PLN"), ("10к руб", "10000.00 RUB")],
}  # fmt: skip
TITLES = {"PL": ["wdrożenie systemu", "serwis klimatyzacji"], "RU": ["поставка мебели", "аудит"]}


def built_lines() -> list[tuple[str, dict[str, object], str]]:
    out = []
    for (name, _first, _last, lang), order in itertools.product(PEOPLE, range(4)):
        for k, ((phone, e164), (amount, value)) in enumerate(
            zip(PHONES[lang], AMOUNTS[lang][order:] + AMOUNTS[lang][:order], strict=False)
        ):
            title = TITLES[lang][k % 2]
            email = f"{_last.lower().replace(chr(39), '')}{k}@example.com"
            if not email.isascii():
                email = f"client{k}@example.com"
            pieces = {"n": name, "p": phone, "a": amount, "t": title, "e": email}
            layout = ["npat", "tanp", "pnta", "enpta"][order]
            text = " ".join(pieces[c] for c in layout)
            expected = {
                "name": name,
                "company": None,
                "phones": (e164,),
                "emails": (email,) if "e" in layout else (),
                "money": _money(value),
                "rest": title,
            }
            out.append((text, expected, lang))
    return out


BUILT = built_lines()


@pytest.mark.parametrize(("text", "expected", "lang"), BUILT, ids=[b[0][:40] for b in BUILT])
def test_built_corpus(text: str, expected: dict[str, object], lang: str) -> None:
    assert parts(parse_line(text, region=lang)) == expected


def test_corpus_size_and_speed() -> None:
    lines = [r[0] for r in ROWS] + [b[0] for b in BUILT]
    assert len(lines) >= 200
    parse_line("Иван Петров 5000 руб")  # dictionaries load once, lazily
    timings = []
    for text in lines:
        started = time.perf_counter()
        parse_line(text, region=region(text))
        timings.append(time.perf_counter() - started)
    print(f"{len(lines)} lines, median parse time {statistics.median(timings) * 1000:.2f} ms")


# --- properties -------------------------------------------------------------------------------
WORDS = st.sampled_from(
    ["Jan", "Kowalski", "anna", "nowak", "Иван", "Петрову", "с", "oferta", "Sp. z o.o.",
     "ООО", "«Ромашка»", "ul.", "12/34", "5000", "zł", "руб", "-", ",", "(", ")", "15",
     "tys.", "CRM", "dla", "Pani", "J.", "1,5", "mln"]
)  # fmt: skip
PHONE_SPELLINGS = st.sampled_from(
    [("600 100 200", "+48600100200"), ("+48 601-200-300", "+48601200300"),
     ("0048 602 300 400", "+48602300400")]
)  # fmt: skip
EMAILS = st.from_regex(r"[a-z]{1,8}\.[a-z]{1,8}@[a-z]{2,8}\.(pl|com|ru)", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS, max_size=12), PHONE_SPELLINGS, EMAILS, st.integers(0, 12))
def test_phones_and_emails_are_never_lost(
    words: list[str], phone: tuple[str, str], email: str, at: int
) -> None:
    pieces = [*words]
    pieces.insert(min(at, len(pieces)), f", {phone[0]}, ")  # a bare 15 before it could join it
    pieces.insert(min(at // 2, len(pieces)), f" {email} ")
    parsed = parse_line(" ".join(pieces))
    assert phone[1] in parsed.phones
    assert email in parsed.emails


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_nothing_crashes_and_nothing_is_invented(text: str) -> None:
    for reg in ("PL", "RU"):
        parsed = parse_line(text, region=reg)
        folded = _clean(text).casefold()  # what is read: control and unassigned characters go
        for email in parsed.emails:
            assert email in folded
        for piece in (parsed.company, parsed.rest):
            # Tidying moves punctuation (`0 ?` → `0?`); every word was written.
            assert all(word.casefold() in folded for word in re.findall(r"\w+", piece or ""))
        if parsed.name:
            # Russian names come back in the nominative: only their first letters are sure.
            assert all(word[:1].casefold() in folded for word in parsed.name.split())
