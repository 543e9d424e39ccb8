"""Answering an update whatever its kind, and the wording of domain errors."""

from __future__ import annotations

from aiogram import Bot, html
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import Update
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.fmt import fmt_day
from bot.labels import field_label, stage_name
from crm.enums import Right
from crm.errors import (
    AccessDenied,
    AlreadyBound,
    AmountFromProducts,
    CannotMerge,
    CannotUndo,
    CrmError,
    FieldsRequired,
    InvalidInvite,
    InvalidValue,
    NoRate,
    NotFound,
    ProductInactive,
    RequestGone,
)


async def notify_event(bot: Bot, update: Update, text: str) -> None:
    """Reply in the chat of a message, or as an alert on a pressed button."""
    if update.callback_query is not None:
        try:
            await bot.answer_callback_query(
                update.callback_query.id, text=text[:200], show_alert=True
            )
            return
        except TelegramBadRequest:
            # Already answered (a handler failed after answering): say it in the chat instead.
            message = update.callback_query.message
            if message is not None:
                await bot.send_message(message.chat.id, text)
            return
    message = update.message or update.edited_message
    if message is not None:
        await bot.send_message(message.chat.id, text, message_thread_id=message.message_thread_id)


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, AccessDenied):
        if exc.right is Right.MERGE:
            return _(
                "Merging needs the right to edit and delete both elements, or the merge right "
                "of your role. Ask your admin."
            )
        return _("You don't have permission to do that.")
    if isinstance(exc, CannotMerge | CannotUndo):
        return describe_merge_error(exc)
    if isinstance(exc, NotFound):
        return _("Not found. It may have been deleted meanwhile.")
    if isinstance(exc, InvalidInvite):
        return _(
            "This invite is not valid: it may be used or expired. Ask your admin for a new one."
        )
    if isinstance(exc, AlreadyBound):
        return _("This Telegram account is already bound to a CRM user.")
    if isinstance(exc, InvalidValue):
        if not exc.value.strip():
            # Nothing to quote: say what was expected instead of "not valid: " and a blank.
            return str(_EXPECTED.get(exc.field, _MISSING))
        return _("That value is not valid here: {value}").format(value=_quote(exc.value))
    if isinstance(exc, ProductInactive | NoRate | AmountFromProducts):
        return describe_product_error(exc)
    if isinstance(exc, FieldsRequired):
        return describe_fields_required(exc)
    if isinstance(exc, RequestGone):
        return _("This request is not in a triage queue you work in (any more).")
    if isinstance(exc, CrmError):
        return _("That can't be done.")
    return _("Something went wrong on our side. Nothing was changed; please try again.")


def describe_fields_required(exc: FieldsRequired) -> str:
    """Why a move did not happen, for the paths that cannot ask for the values themselves."""
    names = ", ".join(html.quote(field_label(f)) for f in exc.fields)
    stage = html.quote(stage_name(exc.stage)) if exc.stage is not None else "…"
    return _(
        "{code} cannot move to “{stage}” until this field is filled: {fields}. Fill it in "
        "with /set {code} FIELD VALUE, then move it again.",
        "{code} cannot move to “{stage}” until these fields are filled: {fields}. Fill them "
        "in with /set {code} FIELD VALUE, then move it again.",
        len(exc.fields),
    ).format(code=exc.code or "…", stage=stage, fields=names)


def describe_merge_error(exc: CannotMerge | CannotUndo) -> str:
    if isinstance(exc, CannotMerge):
        if exc.why == "types":
            return _(
                "Only elements of one type can be merged: a contact with a contact, a company "
                "with a company, a deal with a deal."
            )
        if exc.why == "same":
            return _("That is the same element twice: give two different codes.")
        if exc.why == "currencies":
            return _(
                "These two deals have product rows in different currencies, and one deal's "
                "rows must be in one currency: change the rows of one of them first."
            )
        return _("Only leads, contacts, companies and deals can be merged.")
    code = html.quote(exc.code)
    if exc.why == "undone":
        return _("The merge of {code} was undone already.").format(code=code)
    if exc.why == "expired":
        return _(
            "The merge of {code} can no longer be undone: the time for it has passed. "
            "It stays recorded in the history."
        ).format(code=code)
    if exc.why == "gone":
        return _(
            "The merge of {code} cannot be undone: the element it was merged into is gone."
        ).format(code=code)
    return _("There is no merge of yours to undo.")


def describe_product_error(exc: ProductInactive | NoRate | AmountFromProducts) -> str:
    if isinstance(exc, AmountFromProducts):
        return _(
            "This deal's amount is the sum of its product rows, so it cannot be set directly: "
            "change the rows instead (the Products button on the card, or /deal_product)."
        )
    if isinstance(exc, NoRate):
        return _(
            "The product is priced in {source} and the deal is in {target}, but there is no "
            "rate for today to convert it: add one with /currency add, then try again."
        ).format(source=exc.source, target=exc.target)
    name = _quote(exc.name)
    start, end = exc.active_from, exc.active_to
    if start is not None and end is not None:
        return _("“{name}” cannot be added: it is on sale only from {start} to {end}.").format(
            name=name, start=fmt_day(start), end=fmt_day(end)
        )
    if start is not None:
        return _("“{name}” cannot be added: it is on sale only from {start}.").format(
            name=name, start=fmt_day(start)
        )
    if end is not None:
        return _("“{name}” cannot be added: it was on sale only until {end}.").format(
            name=name, end=fmt_day(end)
        )
    return _("“{name}” cannot be added: the product is switched off.").format(name=name)


# What an empty value of a field should have been (plain text: also shown in button alerts).
_EXPECTED = {
    "name": __("A name is needed here: send it in words."),
    "text": __("There is nothing to save: send some text."),
    "subject": __("What is to be done? Send it in words, for example “call the client”."),
    "amount": __("An amount is needed here, for example 5000 zł."),
    "reminders": __("Send the minutes before the deadline, for example 30,15,0."),
    "deadline": __("A date and time are needed here, for example “jutro 10:00”."),
    "timezone": __("A time zone is needed here, for example Europe/Warsaw."),
    "locale": __("A language is needed here: pl, ru or en."),
    "merge": __("Nothing new to add: the existing card has these details already."),
}
_MISSING = __("A value is missing here.")


def _quote(text: str) -> str:
    return html.quote(text[:100])
