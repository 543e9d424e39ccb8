"""The import goes in batches (crm/imports.py): what a user of it meets must not depend on
where the batches fall. A file's rows see the rows before them (duplicates, the contact a
deal names, the company a contact names) in the same batch as in an earlier one; a row
refused halfway leaves nothing; a row the database itself refuses loses only that row.

Each case runs with one batch for the whole file, batches of two and batches of one, and
the database is read back through a fresh session."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from crm.context import Crm
from crm.enums import Role
from crm.exchange.columns import Kind
from crm.imports import Duplicates, FileIds, ImportReport
from storage.models import Communication, Company, Contact, Deal, Lead, TimelineEntry
from tests.test_imports import Fresh, bitrix, person

SIZES = (500, 2, 1)


async def _run(
    crm: Crm, kind: Kind, rows: list[list[str]], batch: int, duplicates: Duplicates
) -> ImportReport:
    admin = await person(crm, Role.ADMIN, f"Admin {batch}")
    plan = await crm.imports.open(admin, kind, io.BytesIO(bitrix(rows).encode()))
    return await crm.imports.run(admin, plan, duplicates, batch=batch)


@pytest.mark.parametrize("batch", SIZES)
async def test_a_file_finds_its_own_earlier_rows_as_duplicates(
    crm: Crm, fresh: Fresh, batch: int
) -> None:
    rows = [
        ["Imię", "Nazwisko", "Telefon", "E-mail", "Firma"],
        ["Anna", "Wiśniewska", "+48 600 100 200", "", "Kwiat Sp. z o.o."],
        ["Ania", "Wiśniewska", "600-100-200", "", ""],  # line 2's phone, written otherwise
        ["ANNA", "wiśniewska", "", "", ""],  # line 2's name, case aside
        ["Olga", "Lis", "", "olga@lis.pl", "kwiat sp. z o.o."],  # line 2's company
        ["Ola", "Lisowa", "", "OLGA@lis.pl", ""],  # line 5's e-mail
        ["Piotr", "Nowak", "", "", ""],
    ]
    report = await _run(crm, Kind.CONTACTS, rows, batch, Duplicates.SKIP)
    assert (report.created, report.skipped, report.rejected) == (3, 3, [])
    # The code of the element each duplicate repeats, though it was made by this very file.
    assert report.duplicates == [(3, "C1"), (4, "C1"), (6, "C2")]
    async with fresh() as crm2:
        session = crm2.repos.session
        people = (await session.scalars(select(Contact).order_by(Contact.id))).unique().all()
        assert [c.name for c in people] == ["Anna Wiśniewska", "Olga Lis", "Piotr Nowak"]
        companies = (await session.scalars(select(Company))).unique().all()
        assert [c.title for c in companies] == ["Kwiat Sp. z o.o."]  # one, named twice
        assert people[0].company_id == people[1].company_id == companies[0].id
        phones = (await session.scalars(select(Communication.value))).all()
        assert sorted(phones) == ["+48600100200", "olga@lis.pl"]
        created = (await session.scalars(select(TimelineEntry.entity))).all()
        assert sorted(created) == ["company", "contact", "contact", "contact"]


@pytest.mark.parametrize("batch", SIZES)
async def test_created_anyway_the_duplicates_still_name_what_they_repeat(
    crm: Crm, fresh: Fresh, batch: int
) -> None:
    rows = [
        ["Nazwa leada", "Imię i nazwisko", "Telefon"],
        ["Strona www", "Jan Kowal", "+48 601 000 001"],
        ["Strona WWW", "jan kowal", ""],  # line 2's title and person
        ["Sklep", "Ewa Kos", "+48 601 000 001"],  # line 2's phone
    ]
    report = await _run(crm, Kind.LEADS, rows, batch, Duplicates.CREATE)
    assert (report.created, report.skipped) == (3, 0)
    assert report.duplicates == [(3, "L1"), (4, "L1")]
    async with fresh() as crm2:
        leads = (await crm2.repos.session.scalars(select(Lead).order_by(Lead.id))).unique().all()
        assert [(lead.title, lead.contact_name) for lead in leads] == [
            ("Strona www", "Jan Kowal"),
            ("Strona WWW", "jan kowal"),
            ("Sklep", "Ewa Kos"),
        ]


@pytest.mark.parametrize("batch", SIZES)
async def test_deals_naming_a_new_contact_twice_make_it_once(
    crm: Crm, fresh: Fresh, batch: int
) -> None:
    rows = [
        ["ID", "Название сделки", "Контакт", "Компания", "Товар", "Цена", "Количество"],
        ["1", "Внедрение", "Пётр Новиков", "ЗАО Новые", "Лицензия", "1000", "2"],
        ["1", "Внедрение", "", "", "Обучение", "500", "1"],  # the same deal: a product row
        ["2", "Поддержка", "пётр  новиков", "ЗАО НОВЫЕ", "", "", ""],
        ["3", "Аудит", "[C]Пётр Новиков", "", "", "", ""],
    ]
    report = await _run(crm, Kind.DEALS, rows, batch, Duplicates.SKIP)
    assert (report.created, report.product_rows, report.rejected) == (3, 2, [])
    async with fresh() as crm2:
        session = crm2.repos.session
        people = (await session.scalars(select(Contact))).unique().all()
        assert [c.name for c in people] == ["Пётр Новиков"]
        companies = (await session.scalars(select(Company))).unique().all()
        assert [c.title for c in companies] == ["ЗАО Новые"]
        deals = (await session.scalars(select(Deal).order_by(Deal.id))).unique().all()
        assert [(d.title, d.contact_id, d.company_id) for d in deals] == [
            ("Внедрение", people[0].id, companies[0].id),
            ("Поддержка", people[0].id, companies[0].id),
            ("Аудит", people[0].id, None),
        ]
        assert deals[0].amount_minor == 250_000  # 2 × 1000 + 500: the rows' total
        assert "пётр новиков" in deals[1].search_text  # found by its client's name


@pytest.mark.parametrize("batch", SIZES)
async def test_a_row_refused_halfway_leaves_nothing_of_itself(
    crm: Crm, fresh: Fresh, batch: int
) -> None:
    rows = [
        ["Imię", "Nazwisko", "Firma", "Źródło", "Telefon"],
        ["Jan", "Pierwszy", "Alfa", "", ""],
        # Its company is new, but the source is unknown: neither the contact nor the company.
        ["Jan", "Drugi", "Beta Nowa", "NIE MA TAKIEGO", "+48 602 000 002"],
        ["Jan", "Trzeci", "", "", "+48 602 000 002"],  # the refused row's phone: no duplicate
    ]
    report = await _run(crm, Kind.CONTACTS, rows, batch, Duplicates.SKIP)
    assert report.created == 2 and report.duplicates == []
    assert [(r.line, r.why, r.field) for r in report.rejected] == [(3, "unknown", "source")]
    async with fresh() as crm2:
        session = crm2.repos.session
        assert sorted((await session.scalars(select(Contact.name))).all()) == [
            "Jan Pierwszy",
            "Jan Trzeci",
        ]
        assert (await session.scalars(select(Company.title))).all() == ["Alfa"]


@pytest.mark.parametrize("batch", SIZES)
async def test_a_row_the_database_refuses_loses_only_itself(
    crm: Crm, fresh: Fresh, backend: str, batch: int
) -> None:
    """A rule of the database the importer does not know (an operator's CHECK constraint):
    the batch goes again row by row and only that row is rejected."""
    if backend != "postgres":
        pytest.skip("SQLite cannot add a constraint to an existing table")
    connection = await crm.repos.session.connection()
    await connection.execute(
        text("ALTER TABLE contacts ADD CONSTRAINT ck_no_test CHECK (name <> 'Zły Wiersz')")
    )
    await crm.repos.commit()
    rows = [
        ["Imię", "Nazwisko", "Telefon"],
        ["Jan", "Pierwszy", "+48 603 000 001"],
        ["Zły", "Wiersz", "+48 603 000 002"],
        ["Jan", "Trzeci", "+48 603 000 001"],  # line 2's phone: still its duplicate
        ["Jan", "Czwarty", "+48 603 000 002"],  # the refused row's phone: not a duplicate
    ]
    report = await _run(crm, Kind.CONTACTS, rows, batch, Duplicates.SKIP)
    assert (report.created, report.skipped, report.rows) == (2, 1, 4)
    assert [line for line, _code in report.duplicates] == [4]
    assert [(r.line, r.why) for r in report.rejected] == [(3, "invalid")]
    async with fresh() as crm2:
        session = crm2.repos.session
        people = (await session.scalars(select(Contact).order_by(Contact.id))).unique().all()
        assert [c.name for c in people] == ["Jan Pierwszy", "Jan Czwarty"]
        # The code of line 2's contact (the ids the refused attempt drew are not reused).
        assert report.duplicates == [(4, f"C{people[0].id}")]
        phones = (await session.scalars(select(Communication.value))).all()
        assert sorted(phones) == ["+48603000001", "+48603000002"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.integers(0, 10**20).map(str),
                st.text("0123456789abc-", min_size=1, max_size=6),
            ),
            st.integers(1, 10**12),
        ),
        max_size=60,
    ),
    st.lists(st.text("0123456789abc", max_size=6), max_size=20),
)
def test_the_files_deal_ids_are_remembered_like_a_dict(
    added: list[tuple[str, int]], asked: list[str]
) -> None:
    """FileIds (ascending numbers in arrays, the rest in a dict) answers as a dict would,
    whatever order and shape the file's IDs have."""
    ids, model = FileIds(), {}
    for key, value in added:
        if key not in model:  # a deal's ID is added once: its later rows find it
            ids.add(key, value)
            model[key] = value
    for key in [k for k, _ in added] + asked:
        assert ids.get(key) == model.get(key)
