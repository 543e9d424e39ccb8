"""`/digest`, `/report [period] [rep] [pipeline]`, `/unplanned`, `/uncontacted`, `/currency`,
and the actions on a digest's items (snooze a stalled deal, nudge its rep).

Open, reassign and "remind me tomorrow" of an overdue activity are the card's, the
assignment's and the activity's own buttons (handlers/elements.py, assign.py, activities.py).
"""

from __future__ import annotations

from aiogram import Router, html
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ActCb, ElCb, ReportCb
from bot.charts import chart_request, digest_charts, render_charts
from bot.fmt import fmt_day, fmt_money, fmt_when
from bot.labels import pipeline_name
from bot.notify import notify_user
from bot.reports import (
    csv_name,
    digest_csv,
    needs_file,
    nudge_text,
    period_text,
    render_digest,
    uncontacted_page,
    unplanned_page,
)
from bot.sender import Sender
from bot.uploads import read_csv
from crm.codes import PREFIXES
from crm.context import Crm
from crm.currencies import read_date, read_rate
from crm.errors import BadRow, CrmError, InvalidValue, NotFound, UnknownName
from crm.numbers import ascii_int
from crm.permissions import Actor
from crm.reports import Digest
from storage.models import User

FILE_LIMIT = 5000  # stalled deals / overdue activities in the attached file


def report_hint() -> str:
    return _(
        "Write it like this: /report week, /report month Anna, "
        "/report 2026-11-01..2026-11-30 Anna Sales — a period (today, week, month or a range "
        "of days), then a rep's name and/or a pipeline."
    )


async def send_report(
    message: Message, crm: Crm, actor: Actor, user: User, args: str, *, digest_title: bool
) -> None:
    try:
        period, filters = await crm.reports.request(actor, user, args)
    except (UnknownName, InvalidValue):
        await message.answer(report_hint())
        return
    digest = await crm.reports.digest(actor, period, filters)
    pipeline = None
    if filters.pipeline_id is not None:
        catalog = await crm.runtime.catalog.get(crm.repos)
        info = catalog.pipeline(filters.pipeline_id)
        pipeline = pipeline_name(info) if info is not None else None
    title = _("📊 <b>Digest: {period}</b>") if digest_title else None
    pages = render_digest(
        digest, pipeline, title=title.format(period=period_text(period)) if title else None
    )
    for page in pages:
        await message.answer(page.text, reply_markup=page.markup)
    if digest_title:
        await send_charts(message, crm, actor, digest)
    if needs_file(digest):
        full = await crm.reports.digest(actor, period, filters, limit=FILE_LIMIT)
        await message.answer_document(
            BufferedInputFile(digest_csv(full), filename=csv_name(full)),
            caption=_("The whole report, for a spreadsheet."),
        )


async def send_charts(message: Message, crm: Crm, actor: Actor, digest: Digest) -> None:
    """The digest's charts as photos: one photo, or an album of them."""
    charts = digest_charts(await crm.reports.charts(actor, digest))
    if not charts:
        return
    images = await render_charts(charts)  # in a worker thread: the loop goes on meanwhile
    request = chart_request(message.chat.id, images)
    bot = message.bot
    if request is not None and bot is not None:
        await bot(request)


async def digest_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor, crm_user: User
) -> None:
    await send_report(message, crm, actor, crm_user, command.args or "", digest_title=True)


async def report_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor, crm_user: User
) -> None:
    await send_report(message, crm, actor, crm_user, command.args or "", digest_title=False)


async def unplanned_command(message: Message, crm: Crm, actor: Actor) -> None:
    total, items = await crm.reports.unplanned(actor, limit=20)
    page = unplanned_page(items, total)
    await message.answer(page.text)


async def uncontacted_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor, crm_user: User
) -> None:
    args = (command.args or "").split()
    if len(args) == 2 and args[0].casefold() == "set":
        days = ascii_int(args[1])
        if days is None:
            raise InvalidValue("days", args[1][:10])
        await crm.reports.set_uncontacted_days(actor, days)
        await message.answer(
            _(
                "Clients not contacted for {n} day are listed from now on.",
                "Clients not contacted for {n} days are listed from now on.",
                days,
            ).format(n=days)
        )
        return
    days = ascii_int(args[0]) if args else None
    if args and days is None:
        await message.answer(
            _(
                "Write it like this: /uncontacted or /uncontacted 14 (days); "
                "admins: /uncontacted set 30"
            )
        )
        return
    days, total, items = await crm.reports.uncontacted(actor, days, limit=20)
    page = uncontacted_page(days, total, items, crm.users.timezone_of(crm_user))
    await message.answer(page.text)


# --- the buttons -------------------------------------------------------------------------------
async def report_pressed(
    query: CallbackQuery,
    callback_data: ReportCb,
    crm: Crm,
    actor: Actor,
    crm_user: User,
    sender: Sender,
    i18n: I18n,
) -> None:
    timezone = crm.users.timezone_of(crm_user)
    if callback_data.action == "snz":
        until = await crm.reports.snooze_stalled(actor, callback_data.id)
        await query.answer(
            _("D{id} is left out of the stalled deals until {when}.").format(
                id=callback_data.id, when=fmt_when(until, timezone)
            ),
            show_alert=True,
        )
        return
    if callback_data.action not in ("ndd", "nda"):
        raise NotFound("action", callback_data.action[:10])
    activity = callback_data.action == "nda"
    target, ref, title = await crm.reports.nudge_target(
        actor,
        deal_id=None if activity else callback_data.id,
        activity_id=callback_data.id if activity else None,
    )
    if target.id == actor.user_id:
        await query.answer(_("That is yours: nobody to nudge."), show_alert=True)
        return

    def render() -> tuple[str, InlineKeyboardMarkup | None]:
        kb = InlineKeyboardBuilder()
        if activity:
            kb.button(text=_("Open"), callback_data=ActCb(action="open", id=callback_data.id))
        elif ref is not None:
            kb.button(
                text=_("Open"),
                callback_data=ElCb(action="show", kind=PREFIXES[ref.entity], id=ref.id),
            )
        return nudge_text(crm_user.name, ref, title, activity), kb.as_markup()

    sent = await notify_user(sender, i18n, crm, target, render)
    if sent:
        await query.answer(_("Sent to {name}.").format(name=target.name[:60]))
    else:
        await query.answer(
            _("{name} cannot be reached in Telegram now.").format(name=target.name[:60]),
            show_alert=True,
        )


# --- currencies --------------------------------------------------------------------------------
def currency_usage() -> str:
    return _(
        "/currency — the currencies and their rates\n"
        "/currency add USD 4.02 [2026-12-01] — a rate (in the base currency for one unit), "
        "from a day (today by default)\n"
        "/currency report EUR — the currency of reports\n"
        "Send a CSV file with the caption /currency import (columns: currency, rate, date) "
        "to add many rates at once."
    )


async def currency_overview(crm: Crm) -> str:
    overview = await crm.currencies.overview()
    lines = [
        _("💱 Base currency: <b>{code}</b>").format(code=overview.base),
        _("Reports are in: <b>{code}</b>").format(code=overview.report),
    ]
    if overview.latest:
        lines += ["", _("Rates (for one unit):")]
        for rate in overview.latest:
            lines.append(
                _("{code}: {amount} from {date}").format(
                    code=rate.currency,
                    amount=fmt_money(rate.rate, overview.base),
                    date=fmt_day(rate.valid_from),
                )
            )
    else:
        lines.append(_("No other currencies yet."))
    return "\n".join([*lines, "", currency_usage()])


async def currency_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor, crm_user: User
) -> None:
    args = (command.args or "").split()
    action = args[0].casefold() if args else ""
    if not args:
        await message.answer(await currency_overview(crm))
        return
    if action == "add" and len(args) in (3, 4):
        try:
            rate = read_rate(args[2])
            day = read_date(args[3]) if len(args) == 4 else None
            row = await crm.currencies.add_rate(actor, args[1], rate, day)
        except InvalidValue as exc:
            await message.answer(currency_refusal(exc))
            return
        await message.answer(
            _("Saved: 1 {code} = {amount} from {date}.").format(
                code=row.currency,
                amount=fmt_money(row.rate, crm.currencies.base),
                date=fmt_day(row.valid_from),
            )
        )
        return
    if action == "report" and len(args) == 2:
        try:
            code = await crm.currencies.set_report_currency(actor, args[1])
        except InvalidValue as exc:
            await message.answer(currency_refusal(exc))
            return
        await message.answer(_("Reports are in {code} from now on.").format(code=code))
        return
    if action == "import":
        await import_rates(message, crm, actor)
        return
    await message.answer(currency_usage())


def currency_refusal(exc: CrmError) -> str:
    if isinstance(exc, BadRow):
        if exc.line == 0:
            return _("The file has no rates.")
        return _("Line {line}: “{value}” is not a valid {field}. Nothing was imported.").format(
            line=exc.line, value=html.quote(exc.value), field=field_name(exc.field)
        )
    if isinstance(exc, InvalidValue) and exc.field == "currency":
        return _(
            "“{value}” cannot be used here: give an ISO code such as USD or EUR, other than "
            "the base currency; a report currency needs a rate first."
        ).format(value=html.quote(exc.value))
    if isinstance(exc, InvalidValue) and exc.field == "rate":
        return _("“{value}” is not a rate: give a positive number such as 4.02.").format(
            value=html.quote(exc.value)
        )
    if isinstance(exc, InvalidValue) and exc.field == "date":
        return _("“{value}” is not a date: write it as 2026-12-01.").format(
            value=html.quote(exc.value)
        )
    return currency_usage()


def field_name(field: str) -> str:
    names = {
        "currency": _("currency"),
        "rate": _("rate"),
        "date": _("date"),
        "columns": _("line (currency, rate, date)"),
        "rows": _("file (too many lines)"),
    }
    return names.get(field, field)


async def import_rates(message: Message, crm: Crm, actor: Actor) -> None:
    if message.document is None:
        await message.answer(currency_usage())
        return
    text = await read_csv(message)
    if text is None:
        return
    try:
        count = await crm.currencies.import_csv(actor, text)
    except (BadRow, InvalidValue) as exc:
        await message.answer(currency_refusal(exc))
        return
    await message.answer(_("{n} rate imported.", "{n} rates imported.", count).format(n=count))


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(digest_command, Command("digest"))
    router.message.register(report_command, Command("report"))
    router.message.register(unplanned_command, Command("unplanned"))
    router.message.register(uncontacted_command, Command("uncontacted"))
    router.message.register(currency_command, Command("currency"))
    router.callback_query.register(report_pressed, ReportCb.filter())
    return router
