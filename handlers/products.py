"""Products: the catalog (`/products`, `/product_add`, `/product_price`, `/product_import`),
product rows on deals (`/deal_product`, the card's Products button) and creating a deal from
a lead's or deal's card. Parsing here, rules in crm/products.py."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ElCb, ProductCb, RowCb
from bot.cards import render_card
from bot.pressed import pressed
from bot.products import refusal, render_catalog, render_pick, render_product, render_rows, usage
from bot.uploads import read_csv
from crm.codes import parse_code
from crm.context import Crm
from crm.currencies import currency_code
from crm.dates import parse_when
from crm.enums import EntityType, Right
from crm.errors import BadRow, InvalidValue, NameTaken, UnknownName
from crm.permissions import Actor
from crm.products import Discount, read_discount, read_price, read_quantity
from handlers.elements import ref_from
from storage.models import User

FROM_WORDS = frozenset({"from", "od", "с", "от"})
TO_WORDS = frozenset({"to", "do", "до", "по"})


def read_day(text: str, crm: Crm, user: User) -> date:
    """`2027-01-01`, `01.01.2027`, `1 stycznia 2027`, `1 января 2027`, `jan 1 2027`."""
    text = text.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    zone = crm.users.timezone_of(user)
    at = parse_when(
        text, now=crm.runtime.clock.now(), timezone=zone, locale=crm.users.locale_of(user)
    )
    if at is None:
        raise InvalidValue("date", text[:20])
    return at.astimezone(ZoneInfo(zone)).date()


def split_product_line(
    args: str, crm: Crm, user: User
) -> tuple[str, str, str, date | None, date | None]:
    """`Licencja CRM 1200 PLN from 01.01.2027 to 31.12.2027` → name, price, currency, dates.

    The price and currency are the first number-and-code pair followed by the end or by a
    from/to word, so that a name may hold numbers and those words."""
    tokens = args.split()
    for i in range(2, len(tokens)):
        if i + 1 < len(tokens) and tokens[i + 1].casefold() not in FROM_WORDS | TO_WORDS:
            continue
        try:
            read_price(tokens[i - 1])
            currency_code(tokens[i])
        except InvalidValue:
            continue
        name, price, currency = " ".join(tokens[: i - 1]), tokens[i - 1], tokens[i]
        start, end = read_window(tokens[i + 1 :], crm, user)
        return name, price, currency, start, end
    raise InvalidValue("line", args[:40])


def read_window(rest: list[str], crm: Crm, user: User) -> tuple[date | None, date | None]:
    """`from 01.12.2026 to 31.12.2026` (either part, in any order, in pl/ru/en words)."""
    start = end = None
    while rest:
        word = rest[0].casefold()
        j = 1
        while j < len(rest) and rest[j].casefold() not in FROM_WORDS | TO_WORDS:
            j += 1
        day = read_day(" ".join(rest[1:j]), crm, user)
        if word in FROM_WORDS:
            start = day
        elif word in TO_WORDS:
            end = day
        else:
            raise InvalidValue("date", " ".join(rest[:j])[:20])
        rest = rest[j:]
    return start, end


async def products_command(message: Message, crm: Crm, actor: Actor) -> None:
    products, total = await crm.products.page(actor, 0)
    manages = crm.runtime.policy.has_right(actor, Right.SETTINGS)
    text, markup = render_catalog(products, total, 0, manages)
    await message.answer(text, reply_markup=markup)


async def product_add_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor, crm_user: User
) -> None:
    crm.runtime.policy.require_right(actor, Right.SETTINGS)  # refused before the line is read
    try:
        name, price, currency, start, end = split_product_line(command.args or "", crm, crm_user)
        product = await crm.products.add(actor, name, read_price(price), currency, start, end)
    except InvalidValue as exc:
        await message.answer(usage() if exc.field == "line" else refusal(exc))
        return
    except NameTaken as exc:
        await message.answer(refusal(exc))
        return
    text, markup = render_product(product, True)
    await message.answer(_("Product added.") + "\n\n" + text, reply_markup=markup)


async def product_price_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor, crm_user: User
) -> None:
    crm.runtime.policy.require_right(actor, Right.SETTINGS)
    tokens = (command.args or "").split()
    if len(tokens) < 3:
        await message.answer(usage())
        return
    try:
        product = await crm.products.find(" ".join(tokens[:-2]))
        product = await crm.products.set_price(
            actor, product.id, read_price(tokens[-2]), tokens[-1]
        )
    except (InvalidValue, UnknownName) as exc:
        await message.answer(refusal(exc))
        return
    text, markup = render_product(product, True)
    await message.answer(_("Price changed.") + "\n\n" + text, reply_markup=markup)


async def product_dates_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor, crm_user: User
) -> None:
    """`/product_dates Licencja CRM od 01.01.2027 do 31.12.2027`; a side left out is open
    (`/product_dates Licencja CRM` alone: on sale with no limits)."""
    crm.runtime.policy.require_right(actor, Right.SETTINGS)
    tokens = (command.args or "").split()
    cut = next(
        (i for i, t in enumerate(tokens) if i > 0 and t.casefold() in FROM_WORDS | TO_WORDS),
        len(tokens),
    )
    if cut == 0:
        await message.answer(usage())
        return
    try:
        product = await crm.products.find(" ".join(tokens[:cut]))
        start, end = read_window(tokens[cut:], crm, crm_user)
        product = await crm.products.set_window(actor, product.id, start, end)
    except (InvalidValue, UnknownName) as exc:
        await message.answer(refusal(exc))
        return
    text, markup = render_product(product, True)
    await message.answer(_("Dates changed.") + "\n\n" + text, reply_markup=markup)


async def product_import_command(message: Message, crm: Crm, actor: Actor) -> None:
    crm.runtime.policy.require_right(actor, Right.SETTINGS)
    if message.document is None:
        await message.answer(usage())
        return
    text = await read_csv(message)
    if text is None:
        return
    try:
        result = await crm.products.import_csv(actor, text)
    except (BadRow, InvalidValue) as exc:
        await message.answer(refusal(exc))
        return
    await message.answer(
        _("Products imported: {added} new, {updated} updated.").format(
            added=result.added, updated=result.updated
        )
    )


def split_row_line(args: str) -> tuple[str, str, str, Discount | None]:
    """`D7 Licencja CRM 3 10%` → code, product name, quantity, discount (`10%` or `-50`)."""
    tokens = args.split()
    discount = None
    if len(tokens) >= 4 and (tokens[-1].endswith("%") or tokens[-1].startswith("-")):
        discount = read_discount(tokens[-1])
        tokens = tokens[:-1]
    if len(tokens) < 3:
        raise InvalidValue("line", args[:40])
    return tokens[0], " ".join(tokens[1:-1]), tokens[-1], discount


async def deal_product_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor, crm_user: User
) -> None:
    try:
        code, name, quantity, discount = split_row_line(command.args or "")
        ref = parse_code(code)
        if ref is None or ref.entity is not EntityType.DEAL:
            raise InvalidValue("line", code)
        amount = read_quantity(quantity)
        product = await crm.products.find(name)
        await crm.products.add_row(actor, ref.id, product.id, amount, discount)
    except InvalidValue as exc:
        await message.answer(usage() if exc.field == "line" else refusal(exc))
        return
    except UnknownName as exc:
        await message.answer(refusal(exc))
        return
    text, markup = render_rows(await crm.products.rows(actor, ref.id))
    await message.answer(text, reply_markup=markup)


async def product_pressed(
    query: CallbackQuery, callback_data: ProductCb, crm: Crm, actor: Actor
) -> None:
    can_manage = crm.runtime.policy.has_right(actor, Right.SETTINGS)
    if callback_data.action == "list":
        page = min(callback_data.page, 10_000)
        products, total = await crm.products.page(actor, page)
        text, markup = render_catalog(products, total, page, can_manage)
    elif callback_data.action in ("off", "on"):
        product = await crm.products.switch(
            actor, callback_data.id, on=callback_data.action == "on"
        )
        text, markup = render_product(product, can_manage)
    else:
        product = await crm.products.get(actor, callback_data.id)
        text, markup = render_product(product, can_manage)
    await query.answer()
    await pressed(query).answer(text, reply_markup=markup)


async def row_pressed(query: CallbackQuery, callback_data: RowCb, crm: Crm, actor: Actor) -> None:
    deal = callback_data.deal
    if callback_data.action == "pick":
        await crm.products.rows(actor, deal)  # refused before listing for a stranger
        page = min(callback_data.page, 10_000)
        products, total = await crm.products.page(actor, page)
        text, markup = render_pick(deal, products, total, page, crm.products.today())
        await query.answer()
        await pressed(query).answer(text, reply_markup=markup)
        return
    if callback_data.action == "add":
        await crm.products.add_row(actor, deal, callback_data.item, read_quantity("1"))
    elif callback_data.action == "rm":
        await crm.products.remove_row(actor, callback_data.item)
    text, markup = render_rows(await crm.products.rows(actor, deal))
    await query.answer()
    await pressed(query).answer(text, reply_markup=markup)


async def derive_pressed(
    query: CallbackQuery, callback_data: ElCb, crm: Crm, actor: Actor, crm_user: User
) -> None:
    """ "Deal from lead" / "Repeat sale" on a card: the new deal, linked, and its card."""
    new = await crm.products.create_from(actor, ref_from(callback_data.kind, callback_data.id))
    card = await crm.elements.card(actor, new)
    text, markup = render_card(card, crm.users.timezone_of(crm_user))
    await query.answer()
    await pressed(query).answer(
        _("Created: deal {code}").format(code=new.code) + "\n\n" + text, reply_markup=markup
    )


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(products_command, Command("products"))
    router.message.register(product_add_command, Command("product_add"))
    router.message.register(product_price_command, Command("product_price"))
    router.message.register(product_dates_command, Command("product_dates"))
    router.message.register(product_import_command, Command("product_import"))
    router.message.register(deal_product_command, Command("deal_product"))
    router.callback_query.register(product_pressed, ProductCb.filter())
    router.callback_query.register(row_pressed, RowCb.filter())
    router.callback_query.register(derive_pressed, ElCb.filter(F.action == "derive"))
    return router
