"""The product catalog and product rows in the domain, checked through a fresh session: CSV
import (good lines, bad lines, all or nothing, updates), the row arithmetic over a corpus of
quantities and discounts, the active window (both ends inclusive), rights, the amount that a
deal with rows refuses, and the command-line import."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.codes import ElementRef
from crm.context import Crm
from crm.editing import Field
from crm.elements import ElementInput
from crm.enums import EntityType, Role
from crm.errors import (
    AccessDenied,
    AmountFromProducts,
    BadRow,
    InvalidValue,
    NameTaken,
    NotFound,
    ProductInactive,
)
from crm.permissions import Actor
from crm.products import Discount, read_discount, read_price, read_quantity, row_total
from crm.users import actor_of
from storage.models import DealProduct, Product
from tests.test_cli import crmbot

Fresh = Callable[[], AbstractAsyncContextManager[Crm]]

GOOD_CSV = (
    "name;price;currency;active_from;active_to\n"
    "Licencja CRM;1200;PLN;;\n"
    "Szkolenie zespołu;450,50;pln;2026-11-01;\n"
    "Wdrożenie od podstaw;5 000,00;PLN;2026-12-01;2026-12-31\n"
    "\n"
    "Hosting roczny;100;EUR;;2027-12-31\n"
)


async def person(crm: Crm, role: Role, name: str) -> Actor:
    return actor_of((await crm.users.create_invite(role, name, None)).user)


async def products_of(fresh: Fresh) -> dict[str, Product]:
    async with fresh() as crm2:
        rows = (await crm2.repos.session.scalars(select(Product))).all()
        return {p.name: p for p in rows}


async def test_csv_import_good_lines_and_updates(crm: Crm, fresh: Fresh) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    result = await crm.products.import_csv(admin, GOOD_CSV)
    assert (result.added, result.updated) == (4, 0)
    stored = await products_of(fresh)
    assert set(stored) == {
        "Licencja CRM",
        "Szkolenie zespołu",
        "Wdrożenie od podstaw",
        "Hosting roczny",
    }
    rollout = stored["Wdrożenie od podstaw"]
    assert (rollout.price_minor, rollout.currency) == (500_000, "PLN")
    assert (rollout.active_from, rollout.active_to) == (date(2026, 12, 1), date(2026, 12, 31))
    assert stored["Szkolenie zespołu"].currency == "PLN"
    assert stored["Szkolenie zespołu"].price_minor == 45_050
    # The same names again (any case, commas): updated, not doubled.
    again = await crm.products.import_csv(admin, "licencja crm,1500,PLN\nNowy,1,USD,,\n")
    assert (again.added, again.updated) == (1, 1)
    stored = await products_of(fresh)
    assert len(stored) == 5 and stored["Licencja CRM"].price_minor == 150_000


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("Dobry;1;PLN\nLicencja;abc;PLN\n", 2, "price"),
        ("Licencja;-5;PLN\n", 1, "price"),
        ("Dobry;1;PLN\nInny;2;PLN\nLicencja;10;XYZ\n", 3, "currency"),
        ("Licencja;10;PLN;1.12.2026\n", 1, "date"),
        ("Licencja;10;PLN;2026-12-31;2026-12-01\n", 1, "window"),
        ("name,price,currency\nA,1,PLN\nB,2\n", 3, "columns"),
        ("A,1,PLN\n,2,PLN\n", 2, "name"),
        ("", 0, "rows"),
        ("name;price;currency\n", 0, "rows"),
    ],
)
async def test_csv_import_bad_lines_save_nothing(
    crm: Crm, fresh: Fresh, text: str, line: int, field: str
) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    with pytest.raises(BadRow) as caught:
        await crm.products.import_csv(admin, text)
    assert (caught.value.line, caught.value.field) == (line, field)
    assert await products_of(fresh) == {}


async def test_managing_the_catalog_needs_settings(crm: Crm, fresh: Fresh) -> None:
    rep = await person(crm, Role.REP, "Anna")
    admin = await person(crm, Role.ADMIN, "Admin")
    with pytest.raises(AccessDenied):
        await crm.products.add(rep, "Licencja", Decimal(10), "PLN")
    with pytest.raises(AccessDenied):
        await crm.products.import_csv(rep, GOOD_CSV)
    product = await crm.products.add(admin, "  Licencja   CRM ", Decimal("1200"), "pln")
    with pytest.raises(NameTaken):
        await crm.products.add(admin, "LICENCJA crm", Decimal(1), "PLN")
    with pytest.raises(InvalidValue):
        await crm.products.add(
            admin, "Okno", Decimal(1), "PLN", date(2026, 12, 2), date(2026, 12, 1)
        )
    with pytest.raises(AccessDenied):
        await crm.products.switch(rep, product.id, on=False)
    page, total = await crm.products.page(rep)  # reading: anyone bound
    assert total == 1 and page[0].name == "Licencja CRM"
    await crm.products.switch(admin, product.id, on=False)
    assert (await products_of(fresh))["Licencja CRM"].deactivated


@pytest.mark.parametrize(
    ("price", "quantity", "discount", "total"),
    [
        (120_000, "3", None, 360_000),
        (120_000, "3", "10%", 324_000),
        (45_050, "2", "-50", 85_100),
        (999, "1,5", None, 1_499),  # 14,985 rounds half up to 14,99
        (333, "3", "33.3%", 666),  # 999 × 0,667 = 666,333 → 666
        (100_00, "1", "100%", 0),
        (100_00, "1", "0%", 100_00),
        (1, "0.001", None, 0),
    ],
)
def test_row_totals_by_hand(price: int, quantity: str, discount: str | None, total: int) -> None:
    d = read_discount(discount) if discount else Discount()
    row = DealProduct(
        price_minor=price,
        quantity=read_quantity(quantity),
        discount_percent=d.percent,
        discount_minor=int(d.amount * 100) if d.amount is not None else None,
    )
    assert row_total(row) == total


@pytest.mark.parametrize("text", ["0", "-1", "abc", "1.0001", "2000000", "nan", "inf"])
def test_bad_quantities(text: str) -> None:
    with pytest.raises(InvalidValue):
        read_quantity(text)


@pytest.mark.parametrize("text", ["10", "101%", "x%", "-abc", "--5"])
def test_bad_discounts(text: str) -> None:
    with pytest.raises(InvalidValue):
        read_discount(text)


@pytest.mark.parametrize(("text", "value"), [("1200", "1200"), ("1 200,50", "1200.50")])
def test_prices(text: str, value: str) -> None:
    assert read_price(text) == Decimal(value)


async def test_rows_the_window_and_the_amount(crm: Crm, fresh: Fresh) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    rep = await person(crm, Role.REP, "Anna")
    other = await person(crm, Role.REP, "Olga")
    today = crm.products.today()
    licence = await crm.products.add(admin, "Licencja", Decimal("1200"), "PLN")
    starts = await crm.products.add(admin, "Od jutra", Decimal(1), "PLN", today + timedelta(1))
    ends = await crm.products.add(admin, "Do dziś", Decimal(1), "PLN", None, today)
    ended = await crm.products.add(
        admin, "Do wczoraj", Decimal(1), "PLN", None, today - timedelta(1)
    )
    deal = (await crm.elements.create(rep, EntityType.DEAL, ElementInput(title="D"))).primary
    with pytest.raises(ProductInactive) as caught:
        await crm.products.add_row(rep, deal.id, starts.id, Decimal(1))
    assert caught.value.active_from == today + timedelta(1)
    with pytest.raises(ProductInactive) as caught:
        await crm.products.add_row(rep, deal.id, ended.id, Decimal(1))
    assert caught.value.active_to == today - timedelta(1)
    await crm.products.add_row(rep, deal.id, ends.id, Decimal(1))  # the last day counts
    with pytest.raises(NotFound):  # someone else's deal: as if there were none
        await crm.products.add_row(other, deal.id, licence.id, Decimal(1))
    row = await crm.products.add_row(rep, deal.id, licence.id, Decimal(2), Discount(Decimal(5)))
    async with fresh() as crm2:
        rows = await crm2.products.rows(rep, deal.id)
        # By hand: 1,00 + 2 × 1200,00 × 0,95 = 2281,00 zł.
        assert rows.deal.amount_minor == 228_100 and rows.deal.currency == "PLN"
        assert [r.product_name for r in rows.rows] == ["Do dziś", "Licencja"]
        with pytest.raises(AmountFromProducts):
            await crm2.edits.edit(
                rep, ElementRef(EntityType.DEAL, deal.id), Field.AMOUNT, "5", region="PL"
            )
    await crm.products.switch(admin, licence.id, on=False)
    with pytest.raises(ProductInactive) as caught:
        await crm.products.add_row(rep, deal.id, licence.id, Decimal(1))
    assert (caught.value.active_from, caught.value.active_to) == (None, None)
    await crm.products.remove_row(rep, row.id)
    async with fresh() as crm2:
        assert (await crm2.products.rows(rep, deal.id)).deal.amount_minor == 100


def test_command_line_import(tmp_path: Path) -> None:
    (tmp_path / "products.csv").write_text(GOOD_CSV, encoding="utf-8")
    imported = crmbot(tmp_path, "product", "import", "products.csv")
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout == "4 product(s) added, 0 updated\n"
    (tmp_path / "bad.csv").write_text("A,1,PLN\nB,x,PLN\n", encoding="utf-8")
    bad = crmbot(tmp_path, "product", "import", "bad.csv")
    assert bad.returncode == 2
    assert bad.stderr == "crmbot: line 2: invalid price 'x'; nothing was imported\n"
    listed = crmbot(tmp_path, "product", "list")
    assert listed.stdout.splitlines() == [
        "Hosting roczny\t100.00 EUR …..2027-12-31",
        "Licencja CRM\t1200.00 PLN …..…",
        "Szkolenie zespołu\t450.50 PLN 2026-11-01..…",
        "Wdrożenie od podstaw\t5000.00 PLN 2026-12-01..2026-12-31",
    ]
