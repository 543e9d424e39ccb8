"""Products (Bitrix24 "Products"): a catalog, product rows on deals, and creating from a card.

Rules decided here:

- A product has a name (unique, compared case-insensitively), a price in a currency, and may
  be offered only from `active_from` and/or until `active_to` (both days inclusive, in the
  CRM's time zone). Outside that window, or when switched off, it cannot be put on a deal.
- A row's price defaults to the product's price. When the product's currency differs from
  the deal's, the price is converted at the rates of the day the row is added
  (crm.currencies); without a rate for either currency the row is refused (NoRate), never
  guessed. A deal without a currency takes its first product's.
- A row's total is price × quantity less its discount (a percentage, or an amount in the
  deal's currency), rounded half up to the cent. While a deal has rows, its amount is the sum
  of their totals and cannot be typed (AmountFromProducts); removing the last row leaves the
  deal without an amount, to be typed again.
- Reading the catalog: anyone bound; changing it: Right.SETTINGS; rows: update rights on the
  deal.
- Create from a card: from a lead, a deal (the lead stays as it is: this is not conversion);
  from a deal, a linked deal of the same client (a repeat sale). Both sides get a timeline
  entry and an ElementLink, shown in the cards' "Links" section.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING

from crm.codes import ElementRef
from crm.currencies import CurrencyService, currency_code
from crm.elements import MAX_TITLE, ElementService, fold, label_of, ref_of
from crm.enums import EntityType, LinkKind, Operation, Right, TimelineKind
from crm.errors import (
    BadRow,
    InvalidValue,
    NameTaken,
    NoRate,
    NotFound,
    ProductInactive,
    UnknownName,
)
from crm.money import from_minor, to_minor
from crm.permissions import Actor, Owner
from storage.models import Deal, DealProduct, ElementLink, Lead, Product
from storage.repositories import Repos

if TYPE_CHECKING:
    from crm.context import Runtime

MAX_PRICE = Decimal("1000000000000")  # a trillion: fits BigInteger hundredths with room
MAX_QUANTITY = Decimal("1000000")
MAX_NAME = 255
MAX_IMPORT_ROWS = 100_000
PER_PAGE = 8


def read_price(text: str) -> Decimal:
    """`1200`, `1 200,50`, `1200.5`: a price of at least 0, at most a trillion."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        price = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidValue("price", text.strip()[:20]) from None
    if not price.is_finite() or price < 0 or price > MAX_PRICE:
        raise InvalidValue("price", text.strip()[:20])
    return price


def read_quantity(text: str) -> Decimal:
    """`3`, `1,5`: more than 0, at most a million, three decimals at most."""
    try:
        quantity = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise InvalidValue("quantity", text.strip()[:20]) from None
    if (
        not quantity.is_finite()
        or quantity <= 0
        or quantity > MAX_QUANTITY
        or quantity != quantity.quantize(Decimal("0.001"))
    ):
        raise InvalidValue("quantity", text.strip()[:20])
    return (
        quantity.normalize()
        if quantity != quantity.to_integral_value()
        else quantity.quantize(Decimal(1))
    )


@dataclass(frozen=True, slots=True)
class Discount:
    percent: Decimal | None = None
    amount: Decimal | None = None  # in the deal's currency


def read_discount(text: str) -> Discount:
    """`10%` off the row, or `-50` (an amount off the row, in the deal's currency)."""
    raw = text.strip()
    if raw.endswith("%"):
        try:
            percent = Decimal(raw[:-1].strip().lstrip("-").replace(",", "."))
        except InvalidOperation:
            raise InvalidValue("discount", raw[:20]) from None
        if not percent.is_finite() or percent < 0 or percent > 100:
            raise InvalidValue("discount", raw[:20])
        return Discount(percent=percent)
    if raw.startswith("-"):
        return Discount(amount=read_price(raw[1:]))
    raise InvalidValue("discount", raw[:20])


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def row_total(row: DealProduct) -> int:
    """The row's total in minor units: price × quantity less the discount, rounded half up."""
    line = Decimal(row.price_minor) * row.quantity
    if row.discount_percent is not None:
        line = line * (100 - row.discount_percent) / 100
    elif row.discount_minor is not None:
        line -= row.discount_minor
    return int(line.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def active_on(product: Product, day: date) -> bool:
    if product.deactivated:
        return False
    if product.active_from is not None and day < product.active_from:
        return False
    return product.active_to is None or day <= product.active_to


@dataclass(frozen=True, slots=True)
class DealRows:
    deal: Deal
    rows: Sequence[DealProduct]
    can_update: bool


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    updated: int


class ProductService:
    def __init__(
        self,
        repos: Repos,
        runtime: Runtime,
        elements: ElementService,
        currencies: CurrencyService,
    ) -> None:
        self.repos = repos
        self.runtime = runtime
        self.elements = elements
        self.currencies = currencies

    # --- catalog -----------------------------------------------------------------------------
    async def page(self, actor: Actor, page: int = 0) -> tuple[Sequence[Product], int]:
        """Anyone bound reads the catalog (a rep has to know what can be sold)."""
        return await self.repos.products.page(max(page, 0) * PER_PAGE, PER_PAGE)

    async def get(self, actor: Actor, product_id: int) -> Product:
        product = await self.repos.products.get(product_id)
        if product is None:
            raise NotFound("product", product_id)
        return product

    async def find(self, name: str) -> Product:
        product = await self.repos.products.by_key(name_key(name))
        if product is None:
            raise UnknownName("product", name.strip()[:MAX_NAME])
        return product

    async def add(
        self,
        actor: Actor | None,
        name: str,
        price: Decimal,
        currency: str,
        active_from: date | None = None,
        active_to: date | None = None,
        *,
        sku: str | None = None,
        description: str | None = None,
    ) -> Product:
        """A new product; `actor` None: the command line, which holds the database."""
        if actor is not None:
            self.runtime.policy.require_right(actor, Right.SETTINGS)
        product = await self._new(name, price, currency, active_from, active_to, sku, description)
        await self.repos.commit()
        return product

    async def _new(
        self,
        name: str,
        price: Decimal,
        currency: str,
        active_from: date | None,
        active_to: date | None,
        sku: str | None = None,
        description: str | None = None,
    ) -> Product:
        clean = " ".join(name.split())[:MAX_NAME]
        if not clean:
            raise InvalidValue("name", "")
        self._check(price, active_from, active_to)
        if await self.repos.products.by_key(name_key(clean)) is not None:
            raise NameTaken("product", clean)
        return await self.repos.products.add(
            Product(
                name=clean,
                name_key=name_key(clean),
                price_minor=to_minor(price),
                currency=currency_code(currency),
                active_from=active_from,
                active_to=active_to,
                sku=(sku or "").strip()[:64] or None,
                description=(description or "").strip()[:2000] or None,
                created_at=self.runtime.clock.now(),
            )
        )

    @staticmethod
    def _check(price: Decimal, active_from: date | None, active_to: date | None) -> None:
        if not price.is_finite() or price < 0 or price > MAX_PRICE:
            raise InvalidValue("price", str(price))
        if active_from is not None and active_to is not None and active_to < active_from:
            raise InvalidValue("window", f"{active_from} – {active_to}")

    async def set_price(
        self, actor: Actor, product_id: int, price: Decimal, currency: str
    ) -> Product:
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        product = await self.get(actor, product_id)
        self._check(price, None, None)
        product.price_minor, product.currency = to_minor(price), currency_code(currency)
        await self.repos.commit()
        return product

    async def set_window(
        self, actor: Actor, product_id: int, active_from: date | None, active_to: date | None
    ) -> Product:
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        product = await self.get(actor, product_id)
        self._check(Decimal(0), active_from, active_to)
        product.active_from, product.active_to = active_from, active_to
        await self.repos.commit()
        return product

    async def switch(self, actor: Actor, product_id: int, *, on: bool) -> Product:
        """Switch a product off (it stays on the deals that have it) or back on."""
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        product = await self.get(actor, product_id)
        product.deactivated = not on
        await self.repos.commit()
        return product

    def today(self) -> date:
        return self.currencies.today()

    async def import_csv(self, actor: Actor | None, text: str) -> ImportResult:
        """Products from CSV lines `name,price,currency,active_from,active_to` (a header line
        is optional; `;` works as a separator too; the dates are ISO and may be empty). A
        known name gets the line's price, currency and dates. All or nothing: a bad line
        raises BadRow with its number."""
        if actor is not None:
            self.runtime.policy.require_right(actor, Right.SETTINGS)
        sample = text[:2048]
        delimiter = ";" if sample.count(";") > sample.count(",") else ","
        parsed: dict[str, tuple[int, str, Decimal, str, date | None, date | None]] = {}
        for number, fields in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), 1):
            if not any(f.strip() for f in fields):
                continue
            first = fields[0].strip().casefold()
            if number == 1 and first in ("name", "nazwa", "название", "товар", "produkt"):
                continue
            if len(fields) < 3:
                raise BadRow(number, "columns", delimiter.join(fields)[:40])
            name = " ".join(fields[0].split())[:MAX_NAME]
            try:
                if not name:
                    raise InvalidValue("name", "")
                price = read_price(fields[1])
                code = currency_code(fields[2])
                start = _iso(fields[3]) if len(fields) > 3 else None
                end = _iso(fields[4]) if len(fields) > 4 else None
                self._check(price, start, end)
            except InvalidValue as exc:
                raise BadRow(number, exc.field, exc.value) from None
            parsed[name_key(name)] = (number, name, price, code, start, end)
            if len(parsed) > MAX_IMPORT_ROWS:
                raise BadRow(number, "rows", str(MAX_IMPORT_ROWS))
        if not parsed:
            raise BadRow(0, "rows", "")
        known = await self.repos.products.by_keys(list(parsed))
        added = updated = 0
        for key, (_number, name, price, code, start, end) in parsed.items():
            product = known.get(key)
            if product is None:
                await self._new(name, price, code, start, end)
                added += 1
                continue
            product.price_minor, product.currency = to_minor(price), code
            product.active_from, product.active_to = start, end
            updated += 1
        await self.repos.commit()
        return ImportResult(added, updated)

    # --- rows on deals ---------------------------------------------------------------------
    async def rows(self, actor: Actor, deal_id: int) -> DealRows:
        deal = await self._deal(actor, deal_id, Operation.READ)
        return DealRows(
            deal,
            await self.repos.products.rows(deal.id),
            await self.elements.can(actor, deal, Operation.UPDATE),
        )

    async def _deal(self, actor: Actor, deal_id: int, op: Operation) -> Deal:
        deal = await self.elements.load(actor, ElementRef(EntityType.DEAL, deal_id), op)
        assert isinstance(deal, Deal)
        return deal

    async def add_row(
        self,
        actor: Actor,
        deal_id: int,
        product_id: int,
        quantity: Decimal,
        discount: Discount | None = None,
    ) -> DealProduct:
        deal = await self._deal(actor, deal_id, Operation.UPDATE)
        product = await self.get(actor, product_id)
        if not active_on(product, self.today()):
            if product.deactivated:
                raise ProductInactive(product.name, None, None)
            raise ProductInactive(product.name, product.active_from, product.active_to)
        if not quantity.is_finite() or quantity <= 0 or quantity > MAX_QUANTITY:
            raise InvalidValue("quantity", str(quantity))
        currency = deal.currency or product.currency
        price = product.price_minor
        if product.currency != currency:
            rates = await self.currencies.rates()
            converted = rates.convert(price, product.currency, self.runtime.clock.now(), currency)
            if converted is None:
                raise NoRate(product.currency, currency)
            price = to_minor(converted)
        row = DealProduct(
            deal_id=deal.id,
            product_id=product.id,
            product_name=product.name,
            price_minor=price,
            currency=currency,
            quantity=quantity,
            discount_percent=discount.percent if discount else None,
            discount_minor=to_minor(discount.amount)
            if discount and discount.amount is not None
            else None,
        )
        if row_total(row) < 0:
            raise InvalidValue("discount", f"-{discount.amount if discount else ''}")
        await self.repos.products.add_row(row)
        deal.currency = currency
        await self._recompute(deal)
        await self.elements.record(
            actor,
            ref_of(deal),
            TimelineKind.PRODUCT_ADDED,
            name=product.name,
            quantity=format(quantity, "f"),
            total=format(from_minor(row_total(row)), "f"),
            currency=currency,
        )
        await self.repos.commit()
        return row

    async def remove_row(self, actor: Actor, row_id: int) -> Deal:
        row = await self.repos.products.row(row_id)
        if row is None:
            raise NotFound("row", row_id)
        deal = await self._deal(actor, row.deal_id, Operation.UPDATE)
        name = row.product_name
        await self.repos.products.delete_row(row)
        await self._recompute(deal)
        await self.elements.record(actor, ref_of(deal), TimelineKind.PRODUCT_REMOVED, name=name)
        await self.repos.commit()
        return deal

    async def _recompute(self, deal: Deal) -> None:
        rows = await self.repos.products.rows(deal.id)
        deal.amount_minor = sum(row_total(r) for r in rows) if rows else None

    async def has_rows(self, deal_id: int) -> bool:
        return bool(await self.repos.products.rows(deal_id))

    # --- create from a card -----------------------------------------------------------------
    async def create_from(self, actor: Actor, ref: ElementRef) -> ElementRef:
        """From a lead's card a deal; from a deal's card a repeat sale of the same client."""
        source = await self.elements.load(actor, ref)
        if not isinstance(source, Lead | Deal):
            raise InvalidValue("entity", ref.code)
        self.runtime.policy.require(
            actor, EntityType.DEAL, Operation.ADD, Owner(actor.user_id, actor.department_id)
        )
        catalog = await self.runtime.catalog.get(self.repos)
        if isinstance(source, Deal):
            pipeline_id = source.pipeline_id
            kind = LinkKind.REPEAT_SALE
        else:
            pipeline_id = catalog.default_pipeline.id
            kind = LinkKind.DEAL_FROM_LEAD
        stage = catalog.stages[pipeline_id][0]
        now = self.runtime.clock.now()
        title = label_of(source)[:MAX_TITLE]
        deal = await self.repos.elements.add(
            Deal(
                title=title,
                pipeline_id=pipeline_id,
                stage_id=stage.id,
                contact_id=source.contact_id,
                company_id=source.company_id,
                lead_id=source.id if isinstance(source, Lead) else source.lead_id,
                amount_minor=source.amount_minor if isinstance(source, Lead) else None,
                currency=source.currency,
                source=source.source,
                search_text=source.search_text or fold(title),
                stage_changed_at=now,
                responsible_id=actor.user_id,
                created_by_id=actor.user_id,
            )
        )
        new = ref_of(deal)
        if isinstance(source, Lead):  # the lead's phones and e-mails: call them from the deal
            found = await self.repos.elements.communications_of(ref.entity.value, ref.id)
            for channel in ("phone", "email"):
                values = [value for k, value in found if k == channel]
                await self.repos.elements.add_communications(
                    new.entity.value, new.id, channel, values
                )
        origin = "from_lead" if isinstance(source, Lead) else "from_deal"
        await self.elements.record(
            actor, new, TimelineKind.CREATED, stage=stage.id, **{origin: ref.code}
        )
        await self.elements.record(actor, ref, TimelineKind.LINKED, code=new.code, link=kind)
        await self.repos.products.add_link(
            ElementLink(
                source_entity=ref.entity.value,
                source_id=ref.id,
                target_entity=new.entity.value,
                target_id=new.id,
                kind=kind,
                created_at=now,
            )
        )
        await self.repos.commit()
        return new


def _iso(text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidValue("date", text.strip()[:20]) from None
