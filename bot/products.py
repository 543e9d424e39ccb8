"""How the product catalog and a deal's product rows look in a chat (HTML, localized)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ElCb, ProductCb, RowCb
from bot.cards import fit, product_row_line, short
from bot.fmt import fmt_day, fmt_money
from crm.errors import BadRow, CrmError, InvalidValue, NameTaken, UnknownName
from crm.money import from_minor
from crm.products import PER_PAGE, DealRows, active_on
from storage.models import Product


def price_of(product: Product) -> str:
    return fmt_money(from_minor(product.price_minor) or 0, product.currency)


def window_of(product: Product) -> str:
    start, end = product.active_from, product.active_to
    if start and end:
        return _("on sale {start} – {end}").format(start=fmt_day(start), end=fmt_day(end))
    if start:
        return _("on sale from {start}").format(start=fmt_day(start))
    if end:
        return _("on sale until {end}").format(end=fmt_day(end))
    return ""


def product_line(product: Product) -> str:
    parts = [html.quote(short(product.name, 80)), price_of(product)]
    if window := window_of(product):
        parts.append(window)
    if product.deactivated:
        parts.append(_("switched off"))
    return " · ".join(parts)


def usage() -> str:
    return _(
        "/products — the catalog\n"
        "/product_add Licencja CRM 1200 PLN [from 01.01.2027] [to 31.12.2027] — a new product\n"
        "/product_price Licencja CRM 1500 PLN — a new price\n"
        "/product_dates Licencja CRM [from 01.01.2027] [to 31.12.2027] — when it is on sale\n"
        "/deal_product D7 Licencja CRM 3 [10% or -50] — a product on a deal, with a discount\n"
        "Send a CSV file with the caption /product_import (columns: name, price, currency, "
        "active_from, active_to) to add or update many products at once."
    )


def render_catalog(
    products: Sequence[Product], total: int, page: int, manages: bool
) -> tuple[str, InlineKeyboardMarkup]:
    pages = max(1, -(-total // PER_PAGE))
    lines = [
        _("<b>Products</b> ({total}), page {page} of {pages}").format(
            total=total, page=page + 1, pages=pages
        )
    ]
    if not products:
        lines.append(_("No products yet."))
    lines += [f"{i}. {product_line(p)}" for i, p in enumerate(products, page * PER_PAGE + 1)]
    kb = InlineKeyboardBuilder()
    for product in products:
        kb.button(
            text=short(product.name, 40), callback_data=ProductCb(action="open", id=product.id)
        )
    kb.adjust(2)
    nav = InlineKeyboardBuilder()
    if page > 0:
        nav.button(text="◀", callback_data=ProductCb(action="list", page=page - 1))
    if (page + 1) < pages:
        nav.button(text="▶", callback_data=ProductCb(action="list", page=page + 1))
    kb.attach(nav)
    hint = (
        usage()
        if manages
        else _("Put one on a deal: /deal_product D7 Licencja CRM 3 [10% or -50]")
    )
    return fit("\n".join([*lines, "", hint])), kb.as_markup()


def render_product(product: Product, can_manage: bool) -> tuple[str, InlineKeyboardMarkup]:
    lines = [
        f"📦 <b>{html.quote(product.name)}</b>",
        _("Price: {price}").format(price=price_of(product)),
    ]
    if window := window_of(product):
        lines.append(window)
    if product.sku:
        lines.append(_("SKU: {sku}").format(sku=html.quote(product.sku)))
    if product.description:
        lines.append(html.quote(short(product.description, 500)))
    if product.deactivated:
        lines.append(_("Switched off: it cannot be added to deals."))
    kb = InlineKeyboardBuilder()
    if can_manage:
        if product.deactivated:
            kb.button(text=_("Switch on"), callback_data=ProductCb(action="on", id=product.id))
        else:
            kb.button(text=_("Switch off"), callback_data=ProductCb(action="off", id=product.id))
    kb.button(text=_("Catalog"), callback_data=ProductCb(action="list"))
    return fit("\n".join(lines)), kb.as_markup()


def render_rows(rows: DealRows) -> tuple[str, InlineKeyboardMarkup]:
    deal = rows.deal
    lines = [_("<b>D{id}</b> · products").format(id=deal.id)]
    if rows.rows:
        lines += [product_row_line(r) for r in rows.rows]
        lines.append(
            _("Total: {amount}").format(
                amount=fmt_money(from_minor(deal.amount_minor or 0) or 0, deal.currency or "")
            )
        )
    else:
        lines.append(_("No products on this deal yet."))
    kb = InlineKeyboardBuilder()
    if rows.can_update:
        for row in rows.rows:
            kb.button(
                text="✖ " + short(row.product_name, 30),
                callback_data=RowCb(action="rm", deal=deal.id, item=row.id),
            )
        kb.button(text=_("➕ Add a product"), callback_data=RowCb(action="pick", deal=deal.id))
    kb.button(text=_("Card"), callback_data=ElCb(action="show", kind="D", id=deal.id))
    kb.adjust(1)
    return fit("\n".join(lines)), kb.as_markup()


def render_pick(
    deal_id: int, products: Sequence[Product], total: int, page: int, today: date
) -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "Which product? A press adds one; for more, or with a discount, send "
        "<code>/deal_product D{id} name quantity 10%</code>."
    ).format(id=deal_id)
    kb = InlineKeyboardBuilder()
    for product in products:
        mark = "" if active_on(product, today) else "⛔ "
        kb.button(
            text=mark + short(product.name, 40),
            callback_data=RowCb(action="add", deal=deal_id, item=product.id),
        )
    kb.adjust(1)
    nav = InlineKeyboardBuilder()
    if page > 0:
        nav.button(text="◀", callback_data=RowCb(action="pick", deal=deal_id, page=page - 1))
    if (page + 1) * PER_PAGE < total:
        nav.button(text="▶", callback_data=RowCb(action="pick", deal=deal_id, page=page + 1))
    nav.button(text=_("Back"), callback_data=RowCb(action="show", deal=deal_id))
    kb.attach(nav)
    if not products:
        text = _("No products yet: an admin adds them with /product_add.")
    return text, kb.as_markup()


def refusal(exc: CrmError) -> str:
    """A product command's bad input, said plainly (nothing was saved)."""
    if isinstance(exc, BadRow):
        if exc.line == 0:
            return _("The file has no products.")
        return _("Line {line}: “{value}” is not a valid {field}. Nothing was imported.").format(
            line=exc.line, value=html.quote(exc.value), field=field_name(exc.field)
        )
    if isinstance(exc, NameTaken):
        return _("There is a product called “{name}” already.").format(name=html.quote(exc.name))
    if isinstance(exc, UnknownName):
        return _("No product is called “{name}”. /products lists them.").format(
            name=html.quote(exc.text[:100])
        )
    if isinstance(exc, InvalidValue):
        value = html.quote(exc.value)
        if exc.field == "price":
            return _("“{value}” is not a price: give a number such as 1200 or 99,90.").format(
                value=value
            )
        if exc.field == "quantity":
            return _("“{value}” is not a quantity: give a number above 0, such as 3.").format(
                value=value
            )
        if exc.field == "discount":
            return _(
                "“{value}” is not a discount: give a percentage such as 10% or an amount off "
                "the row such as -50, not more than the row itself."
            ).format(value=value)
        if exc.field == "currency":
            return _("“{value}” is not a currency: give an ISO code such as PLN or EUR.").format(
                value=value
            )
        if exc.field == "date":
            return _("“{value}” is not a date: write it as 31.12.2026 or 2026-12-31.").format(
                value=value
            )
        if exc.field == "window":
            return _("The product cannot stop being on sale before it starts.")
    return usage()


def field_name(field: str) -> str:
    names = {
        "name": _("name"),
        "price": _("price"),
        "currency": _("currency"),
        "date": _("date"),
        "window": _("dates (the end is before the start)"),
        "columns": _("line (name, price, currency, active_from, active_to)"),
        "rows": _("file (too many lines)"),
    }
    return names.get(field, field)
