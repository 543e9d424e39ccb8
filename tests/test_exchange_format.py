"""The file format layer (crm/exchange) on files written here from the facts about Bitrix24's
files: ru and en headers, windows-1251 and UTF-8 with a BOM, every separator, the trailing
separator, XML and spreadsheets refused, dates in both portal languages, link fields, and
values that a spreadsheet would run as formulas."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from crm.errors import FileRefused, InvalidValue
from crm.exchange.columns import CONTACTS, DEALS, Kind, read_kind
from crm.exchange.reading import CsvFile
from crm.exchange.values import (
    neutralize,
    read_decimal,
    read_link,
    read_moment,
    read_yes_no,
    smart_process_code,
    split_multi,
    unneutralize,
    write_moment,
    write_phone,
)
from crm.exchange.writing import CsvWriter
from crm.parsing import normalize_phone

RU_HEADER = ["ID", "Имя", "Фамилия", "Рабочий телефон", "Рабочий e-mail", "Компания"]
RU_ROW = ["7", "Иван", "Петров", "+7 916 123-45-67, +7 495 111-22-33", "ivan@romashka.ru",
          "ООО Ромашка"]  # fmt: skip


def bitrix_line(cells: list[str], sep: str = ";") -> str:
    """As Bitrix24 writes: every field quoted and followed by the separator."""
    return "".join('"' + c.replace('"', '""') + '"' + sep for c in cells) + "\n"


def read(data: bytes, name: str = "export.csv") -> tuple[CsvFile, list[list[str]]]:
    file = CsvFile(io.BytesIO(data), name)
    return file, [r.cells for r in file.rows()]


@pytest.mark.parametrize(
    ("encoding", "bom", "python"),
    [("cp1251", b"", "cp1251"), ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"), ("utf-8", b"", "utf-8")],
)
def test_encodings_and_the_trailing_separator(encoding: str, bom: bytes, python: str) -> None:
    text = (
        bitrix_line(RU_HEADER)
        + bitrix_line(RU_ROW)
        + bitrix_line(["8", "Анна", "Ёлкина"] + [""] * 3)
    )
    file, rows = read(bom + text.encode(encoding))
    assert file.dialect.encoding == python
    assert file.header == RU_HEADER  # the trailing empty column is gone, the BOM too
    assert rows == [RU_ROW, ["8", "Анна", "Ёлкина", "", "", ""]]


@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_separators(sep: str) -> None:
    header = ["First Name", "Last Name", "Comment"]
    row = ["Jan", "Kowalski", 'said "hi"; then, left\nnext line']
    file, rows = read((bitrix_line(header, sep) + bitrix_line(row, sep)).encode())
    assert file.dialect.separator == sep
    assert rows == [row]


def test_space_separated_and_unquoted() -> None:
    file, rows = read(b"NAME LAST_NAME PHONE_WORK\nJan Kowalski +48600100200\n")
    assert file.dialect.separator == " "
    assert rows == [["Jan", "Kowalski", "+48600100200"]]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("contacts.xml", b'<?xml version="1.0"?><contacts/>'),
        ("contacts.csv", b'\xef\xbb\xbf  <?xml version="1.0" encoding="UTF-8"?>\n<a/>'),
        ("contacts.xlsx", b"PK\x03\x04\x14\x00\x06\x00"),
        ("export.csv", b"PK\x03\x04\x14\x00\x06\x00rest"),  # a spreadsheet renamed
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
        ("utf16.csv", "Имя;Фамилия\n".encode("utf-16")),
    ],
)
def test_not_csv_is_refused(name: str, content: bytes) -> None:
    with pytest.raises(FileRefused) as refused:
        CsvFile(io.BytesIO(content), name)
    assert refused.value.why == "not_csv"


def test_headers_in_three_languages_and_codes_any_case_and_spacing() -> None:
    for header in (
        ["Имя", "Фамилия", "Рабочий телефон", "Мобильный телефон", "Частный e-mail"],
        ["First Name", "Last Name", "Work Phone", "Mobile", "Home E-mail"],
        ["Imię", "Nazwisko", "Telefon służbowy", "Telefon komórkowy", "E-mail prywatny"],
        ["NAME", "LAST_NAME", "PHONE_WORK", "PHONE_MOBILE", "EMAIL_HOME"],
        ["first  name", "LASTNAME", " work phone ", "MOBILE", "home e-mail"],
    ):
        mapping = CONTACTS.map(header)
        assert [c.field if c else None for c in mapping.fields] == [
            "first_name", "last_name", "phones", "phones", "emails"
        ], header  # fmt: skip
        assert mapping.unknown == []
    mapping = CONTACTS.map(["Имя", "Любимый цвет", "Фамилия"])
    assert mapping.unknown == ["Любимый цвет"]
    deal = DEALS.map(["Название сделки", "Стадия сделки", "Воронка", "Сделка закрыта", "Товар"])
    assert [c.field if c else None for c in deal.fields] == [
        "title", "stage", "pipeline", "closed", "product"
    ]  # fmt: skip
    assert (read_kind("Kontakty"), read_kind("сделки"), read_kind("x")) == (
        Kind.CONTACTS, Kind.DEALS, None
    )  # fmt: skip


def test_dates_in_both_portal_languages() -> None:
    ru = read_moment("03.12.2026 14:05:09", "Europe/Moscow")
    en = read_moment("12/03/2026 2:05:09 pm", "Europe/Moscow")
    assert ru == en == datetime(2026, 12, 3, 11, 5, 9, tzinfo=UTC)
    assert read_moment("12/03/2026 12:00:00 am", "UTC") == datetime(2026, 12, 3, tzinfo=UTC)
    assert read_moment("2026-12-03", "UTC") == datetime(2026, 12, 3, tzinfo=UTC)
    assert read_moment("  ", "UTC") is None
    with pytest.raises(InvalidValue):
        read_moment("31.02.2026", "UTC")
    assert write_moment(ru, "ru", "Europe/Moscow") == "03.12.2026 14:05:09"
    assert write_moment(ru, "en", "Europe/Moscow") == "12/03/2026 02:05:09 pm"


def test_links_yes_no_numbers_and_multi_values() -> None:
    assert read_link("[C]Иван Петров") is not None
    link = read_link("[CO]ООО Ромашка")
    assert link is not None and (link.code, link.name) == ("CO", "ООО Ромашка")
    assert read_link("[Taa]Заявка 5") is not None and smart_process_code(170) == "Taa"
    assert read_link("Иван Петров") is None
    assert [read_yes_no(w) for w in ("Y", "n", "Да", "нет", "Tak", "NIE", "yes", "")] == [
        True, False, True, False, True, False, True, False
    ]  # fmt: skip
    with pytest.raises(InvalidValue):
        read_yes_no("maybe")
    assert str(read_decimal("1 200,50", "amount")) == "1200.50"
    assert str(read_decimal("1,200.50", "amount")) == "1200.50"
    assert split_multi("a@x.pl, b@x.pl") == ["a@x.pl", "b@x.pl"]


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)",
                                   "\t=1", "\r=1"])  # fmt: skip
def test_formula_values_are_neutralized_and_read_back(value: str) -> None:
    safe = neutralize(value)
    assert safe.startswith("'") and unneutralize(safe) == value
    assert neutralize("Jan") == "Jan"


def test_a_phone_stays_a_phone() -> None:
    written = write_phone("+48600100200")
    assert written == "(+48) 600 100 200"
    assert not written.startswith(("=", "+", "-", "@"))
    assert normalize_phone(written) == "+48600100200"
    assert normalize_phone(write_phone("+79161234567")) == "+79161234567"


def test_the_writer_quotes_like_bitrix24() -> None:
    out = io.BytesIO()
    CsvWriter(out, ";").rows([["Имя", "Комментарий"], ["Иван", 'он сказал "да"; ок']])
    data = out.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig") == '"Имя";"Комментарий";\n"Иван";"он сказал ""да""; ок";\n'
    file, rows = read(data)
    assert file.header == ["Имя", "Комментарий"] and rows == [["Иван", 'он сказал "да"; ок']]
