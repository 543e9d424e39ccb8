"""CSV import and export end to end, in Polish and Russian: the user sends `/import`, then a
file in windows-1251 with Bitrix24's Russian headers, says what it holds, sees the preview
(columns, a custom field among them, the first rows), imports with duplicates skipped, sees
the progress and the report with its counts and gets the rejected rows back as a CSV with the
reason of each; a UTF-8 file with a BOM sent with `/import contacts` as its caption, with
duplicates created and reported; an XML file is told to be converted to CSV; `/export deals`
returns the deals' file (the language's headers, the custom field); a rep without the export
or import right is refused. Every stored result is read back through a fresh session."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest
from sqlalchemy import select

from crm.context import Crm
from crm.enums import Role
from storage.models import Communication, Contact, CustomField, FieldValue
from tests.fakeapi import Call
from tests.harness import Harness, texts

Fresh = Callable[[], AbstractAsyncContextManager[Crm]]


def bitrix(rows: list[list[str]], sep: str = ";") -> str:
    """Bitrix24's export: every field quoted, `"` doubled, every field ends with `sep`."""
    return "".join(
        "".join('"' + c.replace('"', '""') + '"' + sep for c in row) + "\n" for row in rows
    )


# A Bitrix24 export of contacts (Russian portal, windows-1251): the fourth row has Jan
# Kowalski's phone (a duplicate), the fifth a broken e-mail, the sixth a VIP value that is no
# yes/no.
CONTACTS_1251 = bitrix(
    [
        ["ID", "Имя", "Фамилия", "Рабочий телефон", "Рабочий e-mail", "VIP", "Должность"],
        ["1", "Иван", "Петров", "+7 916 123-45-67, +7 903 000-11-22", "ivan@romashka.ru", "Да",
         "Директор"],
        ["2", "Ольга", "Сидорова", "", "olga@mail.ru", "Нет", ""],
        ["3", "Янек", "Ковальски", "+48 600 100 200", "", "", ""],
        ["4", "Пётр", "Ошибкин", "", "не почта", "", ""],
        ["5", "Анна", "Странная", "", "", "может быть", ""],
    ]
).encode("cp1251")  # fmt: skip

CONTACTS_BOM = (
    b"\xef\xbb\xbf"
    + bitrix(
        [
            ["First Name", "Last Name", "Work Phone", "vip"],
            ["Jan", "Kowalski", "+48 600 100 200", "Y"],
            ["Ewa", "Lis", "+48 601 222 333", "N"],
        ],
        ",",
    ).encode()
)

XML = b'<?xml version="1.0" encoding="UTF-8"?>\n<contacts><contact name="Jan"/></contacts>\n'

WORDS = {
    "pl": {
        "field_contact": "/field_add kontakt tak/nie VIP",
        "field_deal": "/field_add deal data Termin dostawy",
        "contact": "/contact Jan Kowalski +48 600 100 200",
        "deal": "/deal Wdrożenie CRM dla Jana Kowalskiego 5000 zł",
        "set": "/set D1 termin dostawy 15.01.2027",
        "send_file": "Teraz wyślij plik CSV (/cancel, aby przerwać).",
        "what": "Co zawiera plik?",
        "contacts": "kontakty",
        "caption": "/import kontakty",
        "preview_head": "<b>Import: kontakty</b> z pliku kontakty_b24.csv",
        "vip_column": "• VIP → VIP",
        "skip": "Duplikaty: pomiń",
        "create": "Duplikaty: utwórz i pokaż w raporcie",
        "go": "Importuj",
        "progress": "Importuję… przeczytano wierszy: 0",
        "finished": "Import zakończony: przeczytano wierszy: {n}.",
        "report": [
            "Import zakończony: kontakty.",
            "Utworzono: 2",
            "Pominięto jako duplikaty: 1",
            "Odrzucono: 2",
        ],
        "report2": [
            "Import zakończony: kontakty.",
            "Utworzono: 2",
            "Utworzono mimo podobnych: 1",
            "Odrzucono: 0",
        ],
        "line_head": ["Wiersz", "Przyczyna"],
        "not_csv": "Importować można tylko pliki CSV.",
        "export": "/export deale",
        "exported": "Wyeksportowano (deale): 1",
        "deal_header": ["ID", "Nazwa deala", "Etap"],
        "no_export": "Nie możesz eksportować (deale): poproś administratora o uprawnienie do "
        "eksportu.",
        "no_right": "Nie masz uprawnień, aby to zrobić.",
        "client": "Jan Kowalski",
        "columns": "🔀 Kolumny",
        "column_is": "Kolumna „Должность” to:",
        "comment": "Komentarz",
        "back": "Wstecz",
        "position_is_comment": "• Должность → komentarz",
        "line": "wiersz",
        "bad_email": "e-mail: „не почта” jest niepoprawne",
        "bad_vip": "VIP: „может быть” jest niepoprawne",
    },
    "ru": {
        "field_contact": "/field_add контакт да/нет VIP",
        "field_deal": "/field_add сделка дата Срок поставки",
        "contact": "/contact Jan Kowalski +48 600 100 200",
        "deal": "/deal Внедрение CRM для Ивана Петрова 5000 руб",
        "set": "/set Д1 срок поставки 15.01.2027",
        "send_file": "Теперь отправьте файл CSV (/cancel — отменить).",
        "what": "Что в файле?",
        "contacts": "контакты",
        "caption": "/import Контакты",
        "preview_head": "<b>Импорт: контакты</b> из файла kontakty_b24.csv",
        "vip_column": "• VIP → VIP",
        "skip": "Дубликаты: пропустить",
        "create": "Дубликаты: создать и показать в отчёте",
        "go": "Импортировать",
        "progress": "Импортирую… прочитано строк: 0",
        "finished": "Импорт завершён: прочитано строк: {n}.",
        "report": [
            "Импорт завершён: контакты.",
            "Создано: 2",
            "Пропущено как дубликаты: 1",
            "Отклонено: 2",
        ],
        "report2": [
            "Импорт завершён: контакты.",
            "Создано: 2",
            "Создано, хотя есть похожие: 1",
            "Отклонено: 0",
        ],
        "line_head": ["Строка", "Причина"],
        "not_csv": "Импортировать можно только файлы CSV.",
        "export": "/export сделки",
        "exported": "Экспортировано (сделки): 1",
        "deal_header": ["ID", "Название сделки", "Стадия сделки"],
        "no_export": "Вам нельзя экспортировать (сделки): попросите администратора выдать право"
        " на экспорт.",
        "no_right": "У вас нет прав на это действие.",
        "client": "Иван Петров",
        "columns": "🔀 Столбцы",
        "column_is": "Столбец «Должность» — это:",
        "comment": "Комментарий",
        "back": "Назад",
        "position_is_comment": "• Должность → комментарий",
        "line": "строка",
        "bad_email": "e-mail: «не почта» — неверное значение",
        "bad_vip": "VIP: «может быть» — неверное значение",
    },
}


def documents(calls: list[Call]) -> list[tuple[str, bytes]]:
    return [f for c in calls if c.method == "sendDocument" for f in c.files.values()]


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_import_dialog_report_and_rejected_rows(
    harness: Harness, lang: str, fresh: Fresh
) -> None:
    w = WORDS[lang]
    admin = await harness.member(Role.ADMIN, "Admin", language_code=lang)
    assert "/set" in texts(await admin.send(str(w["field_contact"])))[0]
    await admin.send(str(w["contact"]))

    # /import, then the file: what it holds is asked, then the preview.
    assert texts(await admin.send("/import")) == [w["send_file"]]
    assert texts(await admin.send_file("", "kontakty_b24.csv", CONTACTS_1251)) == [w["what"]]
    (preview,) = texts(await admin.press(str(w["contacts"])))
    assert preview.startswith(str(w["preview_head"]))
    assert w["vip_column"] in preview
    assert "Иван" in preview and "ivan@romashka.ru" in preview
    assert admin.inbox[-1].buttons and w["skip"] in [b["text"] for b in admin.inbox[-1].buttons]
    # The position column is read as the comment: Columns, the column, the field, Back.
    await admin.press(str(w["columns"]))
    (question,) = texts(await admin.press("Должность → —"))
    assert question == w["column_is"]
    choices = [b["text"] for b in admin.inbox[-1].buttons]
    assert "VIP" in choices and w["comment"] in choices  # the custom field is a choice too
    await admin.press(str(w["comment"]))
    (preview,) = texts(await admin.press(str(w["back"])))
    assert w["position_is_comment"] in preview
    # Duplicates: to "create" and back to "skip" (the default).
    assert w["create"] in [b["text"] for b in (await admin.press(str(w["skip"])))[-1].buttons]
    assert w["skip"] in [b["text"] for b in (await admin.press(str(w["create"])))[-1].buttons]
    run = await admin.press(str(w["go"]))
    edits = [c.text for c in run if c.method == "editMessageText"]
    assert edits[0] == w["progress"]
    assert edits[-1] == str(w["finished"]).format(n=5)
    report = [c.text for c in run if c.method == "sendMessage"][-1]
    assert report.splitlines()[:4] == w["report"]
    assert report.splitlines()[4:] == [
        f"{w['line']} 5: {w['bad_email']}",
        f"{w['line']} 6: {w['bad_vip']}",
    ]
    ((name, content),) = documents(run)
    assert name == "kontakty_b24.rejected.csv"
    rejected = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert rejected[0][:3] == [*w["line_head"], "ID"]
    assert [r[:4] for r in rejected[1:]] == [
        ["5", w["bad_email"], "4", "Пётр"],
        ["6", w["bad_vip"], "5", "Анна"],
    ]

    async with fresh() as crm2:
        session = crm2.repos.session
        people = {c.name: c for c in (await session.scalars(select(Contact))).unique().all()}
        assert set(people) == {"Jan Kowalski", "Иван Петров", "Ольга Сидорова"}
        assert people["Иван Петров"].comment == "Директор"
        vip = (
            await session.execute(
                select(FieldValue.entity_id, FieldValue.value)
                .join(CustomField, CustomField.id == FieldValue.field_id)
                .where(CustomField.name == "VIP")
            )
        ).all()
        assert sorted(vip) == sorted(
            [(people["Иван Петров"].id, True), (people["Ольга Сидорова"].id, False)]
        )
        phones = (
            await session.scalars(
                select(Communication.value).where(
                    Communication.entity_id == people["Иван Петров"].id,
                    Communication.entity == "contact",
                )
            )
        ).all()
        assert sorted(phones) == ["+79030001122", "+79161234567", "ivan@romashka.ru"]

    # A UTF-8 file with a BOM, with the command as its caption; duplicates created.
    (preview,) = texts(await admin.send_file(str(w["caption"]), "kontakty.csv", CONTACTS_BOM))
    assert "Jan" in preview
    await admin.press(str(w["skip"]))
    run = await admin.press(str(w["go"]))
    report = [c.text for c in run if c.method == "sendMessage"][-1]
    assert report.splitlines()[:4] == w["report2"]
    assert documents(run) == []
    async with fresh() as crm2:
        names = (await crm2.repos.session.scalars(select(Contact.name))).all()
        assert sorted(names) == sorted(
            ["Jan Kowalski", "Jan Kowalski", "Ewa Lis", "Иван Петров", "Ольга Сидорова"]
        )

    # XML, by its name or by its content: convert it to CSV first.
    for name in ("kontakty.xml", "kontakty.csv"):
        (refused,) = texts(await admin.send_file(str(w["caption"]), name, XML))
        assert refused.startswith(str(w["not_csv"])), refused
    async with fresh() as crm2:
        assert len((await crm2.repos.session.scalars(select(Contact.id))).all()) == 5


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_export_deals_as_a_document_and_refused_without_the_right(
    harness: Harness, lang: str, fresh: Fresh
) -> None:
    w = WORDS[lang]
    admin = await harness.member(Role.ADMIN, "Admin", language_code=lang)
    rep = await harness.member(Role.REP, "Anna", language_code=lang)
    await admin.send(str(w["field_deal"]))
    await admin.send(str(w["deal"]))
    await admin.send(str(w["set"]))
    replies = await admin.send(str(w["export"]))
    ((name, content),) = documents(replies)
    (document,) = [c for c in replies if c.method == "sendDocument"]
    assert document.params.get("caption") == w["exported"]
    assert name == "deals.csv"
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == w["deal_header"]
    assert rows[0][-2] == str(w["field_deal"]).split(maxsplit=3)[3]
    assert rows[1][0] == "1" and rows[1][-2] == "15.01.2027"
    assert len(rows) == 2
    assert texts(await rep.send(str(w["export"]))) == [w["no_export"]]
    assert texts(await rep.send("/import")) == [w["no_right"]]
    assert texts(await rep.send_file(str(w["caption"]), "k.csv", CONTACTS_BOM)) == [w["no_right"]]
    async with fresh() as crm2:
        names = (await crm2.repos.session.scalars(select(Contact.name))).all()
    assert list(names) == [w["client"]]  # the deal's contact only: the rep's file made nothing
