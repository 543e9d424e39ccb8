"""CSV import and export in the domain, on files written here from the facts about Bitrix24's
files (ru headers in windows-1251 and in UTF-8 with a BOM, en headers, the trailing `;`),
checked through a fresh session: contacts then deals linked by full name, duplicates, an XML
file refused, broken rows that do not stop the file, formula values, the export flag, an
export refused without the permission, and the round trip."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.codes import ElementRef, parse_code
from crm.context import Crm
from crm.enums import EntityType, FieldKind, Role
from crm.errors import AccessDenied, FileRefused, NotFound
from crm.exchange.columns import Kind
from crm.field_book import Reading
from crm.imports import Duplicates, ImportReport
from crm.permissions import Actor
from crm.users import actor_of
from storage.models import (
    Communication,
    Company,
    Contact,
    Deal,
    DealProduct,
    FieldValue,
    Lead,
    Product,
    TimelineEntry,
)

Fresh = Callable[[], AbstractAsyncContextManager[Crm]]


def bitrix(rows: list[list[str]], sep: str = ";") -> str:
    """Bitrix24's export: every field quoted, `"` doubled, every field ends with `sep`."""
    return "".join(
        "".join('"' + c.replace('"', '""') + '"' + sep for c in row) + "\n" for row in rows
    )


CONTACTS_RU = [
    ["ID", "Обращение", "Имя", "Фамилия", "Должность", "Компания", "Рабочий телефон",
     "Мобильный телефон", "Рабочий e-mail", "Частный e-mail", "Контакт Telegram", "Адрес",
     "Комментарий", "Источник", "Экспорт", "Дата создания"],
    ["11", "г-н", "Иван", "Петров", "Директор", "ООО Ромашка", "+7 916 123-45-67",
     "+7 903 000-11-22, +7 903 000-11-23", "ivan@romashka.ru", "petrov@mail.ru", "ivanpetrov",
     "Москва, ул. Ленина 1", "Любит звонки", "CALL", "Y", "03.11.2026 14:05:09"],
    ["12", "", "Ольга", "Сидорова", "", "ООО Ромашка", "", "+7 926 555-44-33", "", "", "", "",
     "", "", "N", "04.11.2026 09:00:00"],
    ["13", "", "Анна", "Кузнецова", "", "", "", "", "anna@kuz.ru", "", "", "", "", "", "Да", ""],
    ["14", "", "Анна", "Кузнецова", "", "", "", "", "anna2@kuz.ru", "", "", "", "", "", "", ""],
]  # fmt: skip

DEALS_RU = [
    ["ID", "Название сделки", "Стадия сделки", "Воронка", "Сумма", "Валюта", "Вероятность, %",
     "Компания", "Контакт", "Сделка закрыта", "Ответственный", "Комментарий", "Товар", "Цена",
     "Количество"],
    ["501", "Внедрение CRM", "PREPARATION", "", "", "RUB", "50", "ООО Ромашка",
     "Иван Петров", "Нет", "", "первая", "Лицензия", "1000", "3"],
    ["501", "Внедрение CRM", "", "", "", "RUB", "", "", "", "", "", "", "Обучение", "500,50",
     "2"],
    ["502", "Поддержка", "Переговоры непонятные", "", "12 000,00", "RUB", "", "[CO]ООО Ромашка",
     "[C]Ольга Сидорова", "Да", "", "", "", "", ""],
    ["503", "Спорная", "WON", "", "100", "RUB", "", "", "Анна Кузнецова", "N", "", "", "", "",
     ""],
    ["504", "Новому клиенту", "LOSE", "", "", "", "", "ЗАО Новые", "Пётр Новиков", "", "", "",
     "", "", ""],
]  # fmt: skip


async def person(crm: Crm, role: Role, name: str) -> Actor:
    return actor_of((await crm.users.create_invite(role, name, None)).user)


async def run_import(
    crm: Crm,
    actor: Actor,
    kind: Kind,
    data: bytes,
    name: str = "file.csv",
    duplicates: Duplicates = Duplicates.SKIP,
) -> ImportReport:
    plan = await crm.imports.open(actor, kind, io.BytesIO(data), name)
    return await crm.imports.run(actor, plan, duplicates)


async def test_contacts_then_deals_linked_by_full_name(crm: Crm, fresh: Fresh) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    contacts = await run_import(crm, admin, Kind.CONTACTS, bitrix(CONTACTS_RU).encode("cp1251"))
    # Kuznetsova twice: the second is a duplicate by name and skipped by default.
    assert (contacts.created, contacts.skipped, contacts.rejected) == (3, 1, [])
    assert contacts.unknown == ["Обращение", "Должность"]
    deals_file = b"\xef\xbb\xbf" + bitrix(DEALS_RU).encode()
    deals = await run_import(crm, admin, Kind.DEALS, deals_file)
    assert deals.created == 4 and deals.product_rows == 2
    assert [(r.line, r.why, r.field) for r in deals.rejected] == []
    async with fresh() as crm2:
        session = crm2.repos.session
        people = {c.name: c for c in (await session.scalars(select(Contact))).unique().all()}
        assert set(people) == {"Иван Петров", "Ольга Сидорова", "Анна Кузнецова", "Пётр Новиков"}
        ivan = people["Иван Петров"]
        assert (ivan.first_name, ivan.last_name, ivan.source) == ("Иван", "Петров", "CALL")
        assert ivan.created_at == datetime(2026, 11, 3, 13, 5, 9, tzinfo=UTC)  # Warsaw time
        assert ivan.comment == "Любит звонки\nМосква, ул. Ленина 1"
        assert people["Ольга Сидорова"].export_allowed is False
        phones = (
            await session.scalars(
                select(Communication.value)
                .where(Communication.entity == "contact", Communication.entity_id == ivan.id)
                .order_by(Communication.id)
            )
        ).all()
        assert list(phones) == ["+79161234567", "+79030001122", "+79030001123",
                                "ivan@romashka.ru", "petrov@mail.ru", "ivanpetrov"]  # fmt: skip
        companies = (await session.scalars(select(Company))).unique().all()
        assert sorted(c.title for c in companies) == ["ЗАО Новые", "ООО Ромашка"]
        romashka = next(c for c in companies if c.title == "ООО Ромашка")
        assert ivan.company_id == romashka.id == people["Ольга Сидорова"].company_id
        found = {d.title: d for d in (await session.scalars(select(Deal))).unique().all()}
        assert set(found) == {"Внедрение CRM", "Поддержка", "Спорная", "Новому клиенту"}
        rollout = found["Внедрение CRM"]
        assert rollout.contact_id == ivan.id and rollout.company_id == romashka.id
        assert rollout.stage.code == "PREPARATION" and rollout.closed_at is None
        rows = (await session.scalars(select(DealProduct).order_by(DealProduct.id))).all()
        assert [(r.product_name, r.price_minor, r.quantity) for r in rows] == [
            ("Лицензия", 100_000, 3), ("Обучение", 50_050, 2)
        ]  # fmt: skip
        assert rollout.amount_minor == 300_000 + 100_100 and rollout.currency == "RUB"
        support = found["Поддержка"]
        assert support.stage.code == "NEW"  # an unknown stage: the first one
        assert support.closed_at is not None and support.amount_minor == 1_200_000
        assert support.contact_id == people["Ольга Сидорова"].id
        assert found["Спорная"].contact_id == people["Анна Кузнецова"].id
        assert found["Спорная"].stage.code == "WON"
        newcomer = found["Новому клиенту"]
        assert newcomer.contact_id == people["Пётр Новиков"].id
        assert newcomer.company.title == "ЗАО Новые"
        created = (
            await session.scalars(select(TimelineEntry).where(TimelineEntry.kind == "created"))
        ).all()
        assert len(created) == 3 + 4 + 3  # contacts, deals, and the contact/companies made


async def test_an_ambiguous_full_name_is_rejected_not_guessed(crm: Crm, fresh: Fresh) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    twins = bitrix([CONTACTS_RU[0], CONTACTS_RU[3], CONTACTS_RU[4]]).encode()
    assert (
        await run_import(crm, admin, Kind.CONTACTS, twins, duplicates=Duplicates.CREATE)
    ).created == 2
    report = await run_import(crm, admin, Kind.DEALS, bitrix([DEALS_RU[0], DEALS_RU[4]]).encode())
    assert report.created == 0
    assert [(r.line, r.why, r.field, r.value) for r in report.rejected] == [
        (2, "ambiguous", "contact", "Анна Кузнецова")
    ]
    async with fresh() as crm2:
        assert (await crm2.repos.session.scalars(select(Deal))).unique().all() == []


async def test_duplicates_skipped_or_created_and_reported(crm: Crm, fresh: Fresh) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    await crm.elements.create(admin, EntityType.CONTACT, _input("Jan Kowalski", "+48 600 100 200"))
    en = [
        ["First Name", "Last Name", "Work Phone", "Work E-mail"],
        ["Janusz", "Nowak", "+48 600 100 200", ""],  # the phone of C1
        ["jan", "KOWALSKI", "", ""],  # C1's name
        ["Ewa", "Lis", "", "ewa@lis.pl"],
    ]
    skip = await run_import(crm, admin, Kind.CONTACTS, bitrix(en, ",").encode())
    assert (skip.created, skip.skipped) == (1, 2)
    assert skip.duplicates == [(2, "C1"), (3, "C1")]
    again = await run_import(
        crm, admin, Kind.CONTACTS, bitrix(en, ",").encode(), duplicates=Duplicates.CREATE
    )
    assert (again.created, again.skipped) == (3, 0)
    assert [line for line, _ in again.duplicates] == [2, 3, 4]  # Ewa now exists too
    async with fresh() as crm2:
        names = (await crm2.repos.session.scalars(select(Contact.name))).all()
    assert sorted(names) == sorted(
        ["Jan Kowalski", "Ewa Lis", "Janusz Nowak", "jan KOWALSKI", "Ewa Lis"]
    )


def _input(name: str, phone: str = "") -> object:
    from crm.elements import ElementInput
    from crm.parsing import normalize_phone

    phones = (normalize_phone(phone) or "",) if phone else ()
    return ElementInput(name=name, phones=tuple(p for p in phones if p))


@pytest.mark.parametrize(
    ("name", "data", "why"),
    [
        (
            "kontakty.xml",
            b'<?xml version="1.0"?>\n<contacts><c name="Jan"/></contacts>',
            "not_csv",
        ),
        ("kontakty.csv", b'<?xml version="1.0"?>\n<contacts/>', "not_csv"),
        ("kontakty.xlsx", b"PK\x03\x04\x14\x00\x08\x08\x08\x00", "not_csv"),
        ("kontakty.csv", "Любимый цвет;Рост\nсиний;180\n".encode(), "no_header"),
        ("kontakty.csv", b"\xef\xbb\xbf\n\n", "empty"),
    ],
)
async def test_files_that_are_not_a_csv_it_knows_are_refused(
    crm: Crm, fresh: Fresh, name: str, data: bytes, why: str
) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    with pytest.raises(FileRefused) as refused:
        await crm.imports.open(admin, Kind.CONTACTS, io.BytesIO(data), name)
    assert refused.value.why == why
    async with fresh() as crm2:
        assert (await crm2.repos.session.scalars(select(Contact))).unique().all() == []


async def test_broken_rows_are_rejected_and_the_file_goes_on(crm: Crm, fresh: Fresh) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    await crm.users.create_invite(Role.REP, "Anna Nowak", None)
    rows = [
        ["Имя", "Фамилия", "Рабочий e-mail", "Дата создания", "Ответственный", "Рабочий телефон"],
        ["Пётр", "Первый", "p1@x.ru", "01.11.2026 10:00:00", "Anna Nowak", ""],
        ["", "", "nobody@x.ru", "", "", ""],  # no name
        ["Пётр", "Второй", "not an e-mail", "", "", ""],
        ["Пётр", "Третий", "", "31.02.2026", "", ""],
        ["Пётр", "Четвёртый", "", "", "Nikt Taki", ""],
        ["Пётр", "Пятый", "", "", "", "12"],
        ["Пётр", "Шестой", "", "", "Admin [1]", "+48 600 100 201"],
    ]
    text = bitrix(rows) + '"Пётр";"Седьмой";"";"";"";"";"лишнее";\n' + '"Пётр";"Восьмой";\n'
    for batch in (500, 2):  # batches of two commit between the broken rows
        plan = await crm.imports.open(admin, Kind.CONTACTS, io.BytesIO(text.encode("cp1251")))
        report = await crm.imports.run(admin, plan, Duplicates.CREATE, batch=batch)
        assert report.created == 3 and report.rows == 9
        assert [(r.line, r.why, r.field, r.value) for r in report.rejected] == [
            (3, "required", "first_name", ""),
            (4, "invalid", "emails", "not an e-mail"),
            (5, "invalid", "created_at", "31.02.2026"),
            (6, "unknown", "responsible", "Nikt Taki"),
            (7, "invalid", "phones", "12"),
            (9, "broken", "columns", "8"),
        ]
    async with fresh() as crm2:
        found = (await crm2.repos.session.scalars(select(Contact))).unique().all()
        names = sorted(c.name for c in found)
        assert names == sorted(["Пётр Первый", "Пётр Шестой", "Пётр Восьмой"] * 2)
        first = next(c for c in found if c.name == "Пётр Первый")
        assert first.responsible.name == "Anna Nowak"
        assert next(c for c in found if c.name == "Пётр Шестой").responsible_id == 1


async def test_formula_values_are_neutralized_on_export_and_read_back(
    crm: Crm, fresh: Fresh
) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    rows = [
        ["NAME", "LAST_NAME", "COMMENTS", "PHONE_WORK", "ADDRESS"],
        ["=HYPERLINK(\"http://evil\";\"x\")", "Nowak", "+1+cmd|' /C calc'!A0", "+48 600 100 200",
         ""],
        ["@SUM(A1)", "-Lis", "\tzakładka", "", "=1+1"],
    ]  # fmt: skip
    assert (await run_import(crm, admin, Kind.CONTACTS, bitrix(rows).encode())).created == 2
    out = io.BytesIO()
    await crm.exports.export(admin, Kind.CONTACTS, out, locale="pl")
    text = out.getvalue().decode("utf-8-sig")
    cells = [c for row in csv.reader(io.StringIO(text), delimiter=";") for c in row]
    assert (
        len(cells) == 3 * 14
    )  # 13 columns; every line ends with the separator: one empty cell more
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert '"\'=HYPERLINK(""http://evil"";""x"")"' in text
    assert "'+1+cmd|' /C calc'!A0" in text and "'@SUM(A1)" in text and "'-Lis" in text
    assert '"(+48) 600 100 200"' in text  # a phone, readable, not a formula
    # Read back, the values are what was written in the first place.
    async with fresh() as crm2:
        await _empty(crm2)
        admin2 = actor_of(await crm2.repos.users.get(admin.user_id))  # type: ignore[arg-type]
        plan = await crm2.imports.open(admin2, Kind.CONTACTS, io.BytesIO(out.getvalue()))
        assert (await crm2.imports.run(admin2, plan)).created == 2
    async with fresh() as crm3:
        found = {
            c.first_name: c
            for c in (await crm3.repos.session.scalars(select(Contact))).unique().all()
        }
    assert set(found) == {'=HYPERLINK("http://evil";"x")', "@SUM(A1)"}
    assert found["@SUM(A1)"].last_name == "-Lis"
    assert found["@SUM(A1)"].comment == "\tzakładka\n=1+1".strip()


async def test_the_export_flag_and_the_permission(crm: Crm, fresh: Fresh) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    rep = await person(crm, Role.REP, "Anna")
    manager = await person(crm, Role.MANAGER, "Marek")
    for name in ("Jan Kowalski", "Ewa Lis", "Olga Nowak"):
        await crm.elements.create(admin, EntityType.CONTACT, _input(name))  # type: ignore[arg-type]
    await crm.elements.create(rep, EntityType.CONTACT, _input("Rep Client"))  # type: ignore[arg-type]
    refs = [ElementRef(EntityType.CONTACT, 1), ElementRef(EntityType.CONTACT, 3)]
    await crm.exports.set_export_allowed(admin, refs, False)
    async with fresh() as crm2:
        flags = dict(
            (await crm2.repos.session.execute(select(Contact.name, Contact.export_allowed))).all()
        )
    assert flags == {
        "Jan Kowalski": False,
        "Ewa Lis": True,
        "Olga Nowak": False,
        "Rep Client": True,
    }
    out = io.BytesIO()
    done = await crm.exports.export(admin, Kind.CONTACTS, out, locale="en")
    text = out.getvalue().decode("utf-8-sig")
    assert done.elements == 2 and "Ewa" in text and "Rep" in text
    assert "Kowalski" not in text and "Olga" not in text
    assert text.splitlines()[0].startswith('"ID","First Name","Last Name","Company"')
    # A rep may not export (the preset); nor change a flag of a contact that is not theirs.
    with pytest.raises(AccessDenied):
        await crm.exports.export(rep, Kind.DEALS, io.BytesIO(), locale="pl")
    with pytest.raises(NotFound):
        await crm.exports.set_export_allowed(rep, [ElementRef(EntityType.CONTACT, 2)], False)
    # A manager without a department exports what they may read: their own (none here).
    mine = await crm.exports.export(manager, Kind.CONTACTS, io.BytesIO(), locale="ru")
    assert mine.elements == 0


async def _empty(crm: Crm) -> None:
    session = crm.repos.session
    for model in (
        FieldValue,
        DealProduct,
        Deal,
        Lead,
        Contact,
        Company,
        Communication,
        TimelineEntry,
        Product,
    ):
        await session.execute(delete(model))
    await session.commit()


async def test_the_round_trip(crm: Crm, fresh: Fresh) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    anna = await person(crm, Role.MANAGER, "Anna Nowak")
    await run_import(crm, admin, Kind.CONTACTS, bitrix(CONTACTS_RU[:4]).encode("cp1251"))
    deals = [
        [*row[:10], "Anna Nowak" if row[0] == "502" else row[10], *row[11:]]
        for row in DEALS_RU[:4]
    ]
    await run_import(crm, admin, Kind.DEALS, bitrix(deals).encode())
    products = [["Название", "Цена", "Валюта", "Описание"], ["Лицензия", "1000", "RUB", "=год"]]
    await run_import(crm, admin, Kind.PRODUCTS, bitrix(products).encode())
    del anna

    async def snapshot(c: Crm) -> dict[str, object]:
        s = c.repos.session
        people = (await s.scalars(select(Contact).order_by(Contact.id))).unique().all()
        firms = (await s.scalars(select(Company).order_by(Company.id))).unique().all()
        deals_ = (await s.scalars(select(Deal).order_by(Deal.id))).unique().all()
        rows = (await s.scalars(select(DealProduct).order_by(DealProduct.id))).unique().all()
        comms = (await s.execute(select(Communication.kind, Communication.value))).all()
        catalog = (await s.scalars(select(Product))).unique().all()
        return {
            "contacts": sorted(
                (p.name, p.first_name, p.last_name, p.company.title if p.company else None,
                 p.comment, p.source, p.export_allowed, p.responsible_id,
                 p.created_at.replace(microsecond=0))
                for p in people
            ),
            "companies": sorted((f.title, f.responsible_id) for f in firms),
            "deals": sorted(
                (d.title, d.stage.code, d.pipeline_id, d.amount_minor, d.currency,
                 d.contact.name if d.contact else None, d.company.title if d.company else None,
                 d.closed_at is not None, d.comment, d.responsible_id)
                for d in deals_
            ),
            "rows": sorted((r.product_name, r.price_minor, r.currency, r.quantity) for r in rows),
            "communications": sorted((k, v) for k, v in comms),
            "products": sorted((p.name, p.price_minor, p.currency, p.description) for p in catalog),
        }  # fmt: skip

    before = await snapshot(crm)
    files: dict[Kind, bytes] = {}
    for kind in (Kind.COMPANIES, Kind.CONTACTS, Kind.DEALS, Kind.PRODUCTS):
        out = io.BytesIO()
        await crm.exports.export(admin, kind, out, locale="ru")
        files[kind] = out.getvalue()
    assert b"[C]\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd" in files[Kind.DEALS]  # [C]Иван
    async with fresh() as crm2:
        await _empty(crm2)
    for kind, data in files.items():
        async with fresh() as crm2:
            admin2 = actor_of(await crm2.repos.users.get(admin.user_id))  # type: ignore[arg-type]
            plan = await crm2.imports.open(admin2, kind, io.BytesIO(data))
            report = await crm2.imports.run(admin2, plan, Duplicates.CREATE)
            assert report.rejected == [] and report.unknown == [], kind
    async with fresh() as crm3:
        after = await snapshot(crm3)
    # Olga's export flag is off: she is not exported, so not re-imported, and her deal is
    # linked to a new contact of her name.
    olga = next(c for c in before["contacts"] if c[0] == "Ольга Сидорова")  # type: ignore[attr-defined]
    assert olga not in after["contacts"]  # type: ignore[operator]
    assert [c for c in before["contacts"] if c != olga] == [  # type: ignore[attr-defined]
        c
        for c in after["contacts"]
        if c[0] != "Ольга Сидорова"  # type: ignore[attr-defined]
    ]
    for key in ("companies", "deals", "rows", "products"):
        assert after[key] == before[key], key
    olga_phone = ("phone", "+79265554433")
    assert after["communications"] == [
        c
        for c in before["communications"]
        if c != olga_phone  # type: ignore[attr-defined]
    ]


async def test_custom_fields_are_filled_by_name_or_code(crm: Crm, fresh: Fresh) -> None:
    """A column named as a custom field (any case and spacing) or by its code fills it, read
    by the field's type; a value that does not read rejects its row with the field's name;
    a restricted field the importer may not see, or a hidden one, is not a column for them."""
    admin = await person(crm, Role.ADMIN, "Admin")
    manager = actor_of((await crm.users.create_invite(Role.MANAGER, "Marek", "Serwis")).user)
    add = crm.fields.add
    delivery = await add(admin, EntityType.DEAL, FieldKind.DATE, "Termin dostawy")
    discount = await add(admin, EntityType.DEAL, FieldKind.NUMBER, "Rabat")
    urgent = await add(admin, EntityType.DEAL, FieldKind.BOOL, "Pilne")
    segment = await add(admin, EntityType.DEAL, FieldKind.LIST, "Segment", ["Małe", "Duże"])
    budget = await add(admin, EntityType.DEAL, FieldKind.MONEY, "Budżet")
    referrer = await add(admin, EntityType.DEAL, FieldKind.LINK, "Polecający", ["contact"])
    margin = await add(admin, EntityType.DEAL, FieldKind.STRING, "Marża")
    old = await add(admin, EntityType.DEAL, FieldKind.STRING, "Stare")
    await crm.fields.set_hidden(admin, old.id, True)
    sales = await crm.roles.add_department(admin, "Sprzedaż")
    await crm.fields.restrict(admin, margin.id, [], [sales.id])
    await run_import(
        crm, admin, Kind.CONTACTS, bitrix([["Imię", "Nazwisko"], ["Jan", "Kowalski"]]).encode()
    )
    rows = [
        ["Nazwa deala", "termin  DOSTAWY", "rabat", "PILNE", "Segment", "Budżet",
         referrer.code, "Marża", "Stare"],
        ["Wdrożenie", "15.01.2027", "-2,5", "Tak", "duże", "1 200,50 EUR", "[C]Jan Kowalski",
         "30%", "x"],
        ["Serwis", "2027-02-01", "", "N", "", "900", "C1", "", ""],
        ["Zły termin", "31.02.2027", "", "", "", "", "", "", ""],
        ["Zły rabat", "", "dużo", "", "", "", "", "", ""],
        ["Zła opcja", "", "", "", "Średnie", "", "", "", ""],
        ["Nikt", "", "", "", "", "", "[C]Nikt Taki", "", ""],
    ]  # fmt: skip
    plan = await crm.imports.open(admin, Kind.DEALS, io.BytesIO(bitrix(rows).encode()))
    assert sorted(f.name for f in plan.mapping.custom.values()) == sorted(
        ["Termin dostawy", "Rabat", "Pilne", "Segment", "Budżet", "Polecający", "Marża"]
    )
    assert plan.mapping.unknown == ["Stare"]
    report = await crm.imports.run(admin, plan)
    assert report.created == 2
    assert [(r.line, r.why, r.field, r.value) for r in report.rejected] == [
        (4, "invalid", "Termin dostawy", "31.02.2027"),
        (5, "invalid", "Rabat", "dużo"),
        (6, "invalid", "Segment", "Średnie"),
        (7, "unknown", "Polecający", "Nikt Taki"),
    ]
    async with fresh() as crm2:
        session = crm2.repos.session
        deals = {d.id: d.title for d in (await session.scalars(select(Deal))).unique().all()}
        stored = {
            (deals[v.entity_id], v.field_id): v.value
            for v in (await session.scalars(select(FieldValue))).all()
        }
    assert stored == {
        ("Wdrożenie", delivery.id): "2027-01-15",
        ("Wdrożenie", discount.id): "-2.5",
        ("Wdrożenie", urgent.id): True,
        ("Wdrożenie", segment.id): "Duże",
        ("Wdrożenie", budget.id): {"amount": "1200.50", "currency": "EUR"},
        ("Wdrożenie", referrer.id): "C1",
        ("Wdrożenie", margin.id): "30%",
        ("Serwis", delivery.id): "2027-02-01",
        ("Serwis", urgent.id): False,
        ("Serwis", budget.id): {"amount": "900", "currency": "PLN"},
        ("Serwis", referrer.id): "C1",
    }
    # The manager may not see Marża: the column is not theirs to fill.
    file = bitrix([[*rows[0][:7], "Marża"], [*rows[1][:6], "", "30%"]]).encode()
    mine = await crm.imports.open(manager, Kind.DEALS, io.BytesIO(file))
    assert mine.mapping.unknown == ["Marża"]
    assert (await crm.imports.run(manager, mine)).created == 1
    async with fresh() as crm2:
        session = crm2.repos.session
        newest = max((await session.scalars(select(Deal.id))).all())
        values = (
            await session.scalars(select(FieldValue).where(FieldValue.entity_id == newest))
        ).all()
    assert {v.field_id for v in values} == {
        delivery.id, discount.id, urgent.id, segment.id, budget.id
    }  # fmt: skip


async def test_custom_fields_are_exported_per_reader_in_bulk(
    crm: Crm, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One column per custom field the reader sees, named as the field (its code with
    Bitrix24's codes), values written like the other columns; a restricted field is no
    column for someone outside its audience, a link to what they may not read is its code;
    the values are read a page at a time."""
    admin = await person(crm, Role.ADMIN, "Admin")
    manager = actor_of((await crm.users.create_invite(Role.MANAGER, "Marek", "Serwis")).user)
    add = crm.fields.add
    delivery = await add(admin, EntityType.DEAL, FieldKind.DATE, "Termin dostawy")
    urgent = await add(admin, EntityType.DEAL, FieldKind.BOOL, "Pilne")
    budget = await add(admin, EntityType.DEAL, FieldKind.MONEY, "Budżet")
    referrer = await add(admin, EntityType.DEAL, FieldKind.LINK, "Polecający", ["contact"])
    margin = await add(admin, EntityType.DEAL, FieldKind.STRING, "Marża")
    old = await add(admin, EntityType.DEAL, FieldKind.NUMBER, "Stare")
    await crm.fields.set_hidden(admin, old.id, True)
    sales = await crm.roles.add_department(admin, "Sprzedaż")
    await crm.fields.restrict(admin, margin.id, [], [sales.id])
    await crm.elements.create(admin, EntityType.CONTACT, _input("Jan Kowalski"))  # type: ignore[arg-type]
    reading = Reading("pl", "Europe/Warsaw", "PLN", crm.runtime.clock.now())
    for n in range(5):
        who = manager if n == 4 else admin
        ref = (await crm.elements.create(who, EntityType.DEAL, _deal(f"U {n}"))).primary  # type: ignore[arg-type]
        await crm.fields.set_value(admin, ref, delivery.id, f"2027-01-1{n}", reading)
        await crm.fields.set_value(admin, ref, urgent.id, "tak" if n % 2 else "nie", reading)
        await crm.fields.set_value(admin, ref, budget.id, "1200,50 EUR", reading)
        await crm.fields.set_value(admin, ref, referrer.id, "C1", reading)
        await crm.fields.set_value(admin, ref, margin.id, "=30%", reading)
        await crm.fields.set_value(admin, ref, old.id, "7", reading)
    monkeypatch.setattr("crm.exports.PAGE", 2)
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        out = io.BytesIO()
        done = await crm.exports.export(admin, Kind.DEALS, out, locale="ru")
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert done.elements == 5
    assert sum("FROM field_values" in s for s in statements) == 3  # one a page of two
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig")), delimiter=";"))
    header = rows[0][:-1]
    assert header[-5:] == ["Termin dostawy", "Pilne", "Budżet", "Polecający", "Marża"]
    assert rows[1][-6:-1] == ["10.01.2027", "Нет", "1200,5 EUR", "[C]Jan Kowalski", "'=30%"]
    assert rows[2][-6:-1] == ["11.01.2027", "Да", "1200,5 EUR", "[C]Jan Kowalski", "'=30%"]
    out = io.BytesIO()
    await crm.exports.export(admin, Kind.DEALS, out, locale="en", codes=True)
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    assert rows[0][-6:-1] == [f"UF_CRM_{f.id}" for f in (delivery, urgent, budget, referrer,
                                                           margin)]  # fmt: skip
    assert rows[1][-6:-1] == ["01/10/2027", "N", "1200.5 EUR", "[C]Jan Kowalski", "'=30%"]
    # The manager (Serwis) exports their deal: no Marża column, and C1 (the admin's contact,
    # which they may not read) as its code.
    out = io.BytesIO()
    assert (await crm.exports.export(manager, Kind.DEALS, out, locale="pl")).elements == 1
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig")), delimiter=";"))
    assert rows[0][-5:-1] == ["Termin dostawy", "Pilne", "Budżet", "Polecający"]
    assert "Marża" not in rows[0] and "Stare" not in rows[0]
    assert rows[1][-5:-1] == ["14.01.2027", "Nie", "1200,5 EUR", "C1"]
    assert "=30%" not in out.getvalue().decode("utf-8-sig")


def _deal(title: str) -> object:
    from crm.elements import ElementInput

    return ElementInput(title=title)


COMPANIES_PL = [
    ["Nazwa firmy", "Telefon służbowy", "E-mail służbowy", "Komentarz"],
    ["Beta Sp. z o.o.", "+48 22 100 20 30, +48 600 700 800", "biuro@beta.pl, szef@beta.pl",
     "stały klient; \"VIP\""],
    ["ООО Ромашка", "", "info@romashka.ru", ""],
]  # fmt: skip


async def test_round_trip_with_custom_fields_links_and_product_rows(
    crm: Crm, fresh: Fresh
) -> None:
    """Contacts, companies and deals exported (Russian headers, then Bitrix24's codes) and
    imported into an empty CRM with the same fields: the same elements, phones and e-mails,
    product rows, links and custom values, compared through a fresh session."""
    admin = await person(crm, Role.ADMIN, "Admin")
    add = crm.fields.add
    birthday = await add(admin, EntityType.CONTACT, FieldKind.DATE, "Urodziny")
    vip = await add(admin, EntityType.CONTACT, FieldKind.BOOL, "VIP")
    shops = await add(admin, EntityType.COMPANY, FieldKind.NUMBER, "Liczba sklepów")
    segment = await add(admin, EntityType.COMPANY, FieldKind.LIST, "Segment", ["Małe", "Duże"])
    budget = await add(admin, EntityType.DEAL, FieldKind.MONEY, "Budżet")
    referrer = await add(admin, EntityType.DEAL, FieldKind.LINK, "Polecający", ["contact"])
    partner = await add(admin, EntityType.DEAL, FieldKind.LINK, "Partner", ["company"])
    note = await add(admin, EntityType.DEAL, FieldKind.STRING, "Uwagi")
    await run_import(crm, admin, Kind.COMPANIES, bitrix(COMPANIES_PL).encode())
    contacts = [CONTACTS_RU[0], CONTACTS_RU[1], CONTACTS_RU[3]]
    await run_import(crm, admin, Kind.CONTACTS, bitrix(contacts).encode("cp1251"))
    await run_import(crm, admin, Kind.DEALS, bitrix([*DEALS_RU[:3], *DEALS_RU[4:]]).encode())
    reading = Reading("pl", "Europe/Warsaw", "PLN", crm.runtime.clock.now())
    ids = {
        label: ref
        for model, entity in ((Contact, EntityType.CONTACT), (Company, EntityType.COMPANY),
                              (Deal, EntityType.DEAL))
        for label, ref in [
            (getattr(e, "name", None) or e.title, ElementRef(entity, e.id))
            for e in (await crm.repos.session.scalars(select(model))).unique().all()
        ]
    }  # fmt: skip
    values = [
        ("Иван Петров", birthday, "1980-05-17"),
        ("Иван Петров", vip, "tak"),
        ("Анна Кузнецова", vip, "nie"),
        ("Beta Sp. z o.o.", shops, "-12,5"),
        ("Beta Sp. z o.o.", segment, "Duże"),
        ("ООО Ромашка", shops, "3"),
        ("Внедрение CRM", budget, "1200,50 EUR"),
        ("Внедрение CRM", referrer, ids["Анна Кузнецова"].code),
        ("Внедрение CRM", partner, ids["Beta Sp. z o.o."].code),
        ("Внедрение CRM", note, '=pilne; "dziś"'),
        ("Новому клиенту", referrer, ids["Иван Петров"].code),
    ]
    for label, info, text in values:
        await crm.fields.set_value(admin, ids[label], info.id, text, reading)

    async def snapshot(c: Crm) -> dict[str, object]:
        s = c.repos.session
        people = (await s.scalars(select(Contact))).unique().all()
        firms = (await s.scalars(select(Company))).unique().all()
        deals = (await s.scalars(select(Deal))).unique().all()
        label = {
            **{("contact", p.id): p.name for p in people},
            **{("company", f.id): f.title for f in firms},
            **{("deal", d.id): d.title for d in deals},
        }
        deal_title = {d.id: d.title for d in deals}
        rows = (await s.scalars(select(DealProduct))).unique().all()
        comms = (await s.execute(select(Communication))).scalars().all()
        stored = (await s.scalars(select(FieldValue))).all()

        def shown(value: object) -> object:
            ref = parse_code(value) if isinstance(value, str) else None
            if ref is not None and (ref.entity.value, ref.id) in label:
                return (ref.entity.value, label[(ref.entity.value, ref.id)])
            if isinstance(value, dict):
                return (Decimal(value["amount"]).normalize(), value["currency"])
            return value

        return {
            "contacts": sorted(
                (p.name, p.first_name, p.last_name, p.company.title if p.company else None,
                 p.comment, p.source, p.responsible_id)
                for p in people
            ),
            "companies": sorted((f.title, f.comment, f.responsible_id) for f in firms),
            "deals": sorted(
                (d.title, d.stage.code, d.amount_minor, d.currency,
                 d.contact.name if d.contact else None, d.company.title if d.company else None,
                 d.closed_at is not None, d.comment)
                for d in deals
            ),
            "rows": sorted(
                (deal_title[r.deal_id], r.product_name, r.price_minor, r.currency, r.quantity)
                for r in rows
            ),
            "communications": sorted(
                (label[(m.entity, m.entity_id)], m.kind, m.value) for m in comms
            ),
            "values": sorted(
                (label[(v.entity, v.entity_id)], v.field_id, repr(shown(v.value)))
                for v in stored
            ),
        }  # fmt: skip

    before = await snapshot(crm)
    assert len(before["values"]) == len(values)  # type: ignore[arg-type]
    assert ("Beta Sp. z o.o.", "phone", "+48600700800") in before["communications"]  # type: ignore[operator]
    for codes in (False, True):
        files: dict[Kind, bytes] = {}
        for kind in (Kind.COMPANIES, Kind.CONTACTS, Kind.DEALS):
            out = io.BytesIO()
            await crm.exports.export(admin, kind, out, locale="ru", codes=codes)
            files[kind] = out.getvalue()
        text = files[Kind.DEALS].decode("utf-8-sig")
        assert "[C]Анна Кузнецова" in text and "[CO]Beta Sp. z o.o." in text
        assert ("UF_CRM_" in text) is codes
        async with fresh() as crm2:
            await _empty(crm2)
        for kind, data in files.items():
            async with fresh() as crm2:
                admin2 = actor_of(await crm2.repos.users.get(admin.user_id))  # type: ignore[arg-type]
                plan = await crm2.imports.open(admin2, kind, io.BytesIO(data))
                report = await crm2.imports.run(admin2, plan, Duplicates.CREATE)
                assert (report.rejected, report.unknown) == ([], []), kind
        async with fresh() as crm3:
            after = await snapshot(crm3)
        for key, value in before.items():
            assert after[key] == value, key


async def test_duplicates_are_exact_and_found_through_indexes(
    crm: Crm, fresh: Fresh, engine: AsyncEngine, backend: str
) -> None:
    """The import's duplicate control (Bitrix24's: phone, e-mail, name) compares exactly,
    case and spacing aside, and each row's lookups are index reads: no LIKE, and the
    database's plan for the name lookups uses the search-text indexes of migration 0015."""
    admin = await person(crm, Role.ADMIN, "Admin")
    await crm.elements.create(admin, EntityType.CONTACT, _input("Jan Kowalski", "+48 600 100 200"))  # type: ignore[arg-type]
    await run_import(crm, admin, Kind.CONTACTS, bitrix([["Imię i nazwisko", "E-mail"], ["Ewa Lis", "ewa@lis.pl"]]).encode())  # fmt: skip
    await run_import(crm, admin, Kind.COMPANIES, bitrix([["Nazwa firmy"], ["Beta Sp. z o.o."]]).encode())  # fmt: skip
    await run_import(crm, admin, Kind.LEADS, bitrix([["Nazwa leada", "Imię i nazwisko"], ["Strona", "Olga Nowak"]]).encode())  # fmt: skip
    statements: list[tuple[str, Any]] = []

    def seen(conn: object, cursor: object, statement: str, parameters: Any, *a: object) -> None:
        statements.append((statement, parameters))

    contacts = [
        ["Imię i nazwisko", "Telefon", "E-mail"],
        ["JAN  kowalski", "", ""],  # the name, case and spacing aside
        ["Janek Nowak", "600-100-200", ""],  # Jan's phone, written otherwise
        ["Olga Sroka", "", "EWA@lis.pl"],  # Ewa's e-mail
        ["Jan Kowalsky", "", ""],  # one letter off: not the same name, so not a duplicate
        ["Piotr Zieliński", "+48 601 000 000", "piotr@z.pl"],
    ]
    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        people = await run_import(crm, admin, Kind.CONTACTS, bitrix(contacts).encode())
        firms = await run_import(
            crm, admin, Kind.COMPANIES, bitrix([["Nazwa firmy"], ["beta SP. z o.o."], ["Beta"]]).encode()
        )  # fmt: skip
        leads = await run_import(
            crm, admin, Kind.LEADS,
            bitrix([["Nazwa leada", "Imię i nazwisko"], ["strona", "OLGA NOWAK"], ["Strona", "Olga"]]).encode(),
        )  # fmt: skip
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert (people.created, people.skipped, people.duplicates) == (
        2, 3, [(2, "C1"), (3, "C1"), (4, "C2")]
    )  # fmt: skip
    assert (firms.created, firms.duplicates) == (1, [(2, "CO1")])
    assert (leads.created, leads.duplicates) == (1, [(2, "L1")])
    assert not [s for s, _ in statements if " LIKE " in s.upper()]
    lookups = [(s, p) for s, p in statements if "search_text IN" in s]
    tables = {
        t for t in ("contacts", "companies", "leads") for s, _ in lookups if f"FROM {t}" in s
    }
    assert tables == {"contacts", "companies", "leads"}
    connection = await crm.repos.session.connection()
    if backend == "postgres":
        await connection.exec_driver_sql("SET enable_seqscan = off")
    explain = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN "
    for statement, parameters in lookups:
        plan = " ".join(
            str(row[-1])
            for row in await connection.exec_driver_sql(explain + statement, parameters)
        )
        table = next(t for t in ("contacts", "companies", "leads") if f"FROM {t}" in statement)
        assert f"ix_{table}_search_text" in plan, plan
    async with fresh() as crm2:
        names = (await crm2.repos.session.scalars(select(Contact.name))).all()
    assert sorted(names) == ["Ewa Lis", "Jan Kowalski", "Jan Kowalsky", "Piotr Zieliński"]
