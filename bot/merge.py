"""How a merge of duplicates looks: the two side by side with a button per value to keep, the
merge report with its Undo button, the undo report (HTML, escaped, within 4096).

The rows come from the domain's field registry (crm/merge.py) in its order; a field is named
here by its key, a custom field by its own name, and its value shown by its `ValueKind`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiogram import html
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import MAX_PICK_BITS, MergeCb, MergeUndoCb
from bot.cards import code_link, fit, short
from bot.fields import plain_value
from bot.fmt import fmt_datetime, fmt_money
from bot.labels import dictionary_name, entity_name, stage_name
from crm.codes import PREFIXES
from crm.enums import EntityType
from crm.merge import (
    Absorbed,
    CompareRow,
    FieldValue,
    MergeOutcome,
    MergePlan,
    UndoOutcome,
    ValueKind,
)
from crm.money import from_minor

BUTTON_VALUE = 28  # characters of a value on a button
# Fields with buttons at most: two buttons each stay under Telegram's 100 per message, and
# their bits fit MergeCb.picks; a field past them keeps its default value.
MAX_CHOICES = 40

_NAMES = {
    "title": __("Title"),
    "name": __("Name"),
    "person": __("Person"),
    "company_name": __("Company name"),
    "stage": __("Stage"),
    "amount": __("Amount"),
    "phones": __("Phones"),
    "emails": __("E-mails"),
    "contact": __("Contact"),
    "company": __("Company"),
    "responsible": __("Responsible"),
    "source": __("Source"),
    "contact_type": __("Contact type"),
    "company_type": __("Company type"),
    "industry": __("Industry"),
    "deal_type": __("Deal type"),
    "comment": __("Comment"),
}


def field_label(row: CompareRow) -> str:
    if row.field.name:
        return row.field.name
    name = _NAMES.get(row.field.key)
    return str(name) if name is not None else row.field.key


def _plain_text(value: FieldValue, _detail: Any = None) -> str:
    return value.text


def _items(value: FieldValue, _detail: Any = None) -> str:
    return ", ".join(value.items)


def _element(value: FieldValue, _detail: Any = None) -> str:
    return f"{value.ref.code} {value.text}" if value.ref else value.text


def _dictionary(value: FieldValue, _detail: Any = None) -> str:
    return dictionary_name(value.item) if value.item is not None else value.text


def _money(value: FieldValue, _detail: Any = None) -> str:
    data = value.value or {}
    amount = from_minor(data.get("amount_minor"))
    if amount is None or not data.get("currency"):
        return ""
    return fmt_money(amount, str(data["currency"]))


def _stage(value: FieldValue, _detail: Any = None) -> str:
    return stage_name(value.stage) if value.stage is not None else "?"


def _custom(value: FieldValue, kind: Any = None) -> str:
    return plain_value(str(kind), value.value, value.text or None)


# Plain text of a value, per kind (with the field's `detail`): a new kind adds its entry here.
_SHOWN: dict[ValueKind, Callable[[FieldValue, Any], str]] = {
    ValueKind.TEXT: _plain_text,
    ValueKind.LIST: _items,
    ValueKind.USER: _plain_text,
    ValueKind.ELEMENT: _element,
    ValueKind.DICTIONARY: _dictionary,
    ValueKind.MONEY: _money,
    ValueKind.STAGE: _stage,
    ValueKind.CUSTOM: _custom,
}


def shown(row: CompareRow, value: FieldValue) -> str:
    return _SHOWN.get(row.field.kind, _plain_text)(value, row.field.detail)


def _html(row: CompareRow, value: FieldValue, limit: int = 120) -> str:
    if row.field.kind is ValueKind.ELEMENT and value.ref is not None:
        return f"{code_link(value.ref)} {html.quote(short(value.text, 60))}"
    return html.quote(short(shown(row, value), limit)) or "—"


def render_compare(plan: MergePlan, picks: int) -> tuple[str, InlineKeyboardMarkup]:
    keep, gone = plan.survivor, plan.merged
    lines = [
        _("<b>Merge {merged} into {survivor}</b> · {what}").format(
            merged=gone.code, survivor=keep.code, what=entity_name(keep.entity)
        ),
        f"{code_link(keep)} {html.quote(short(plan.survivor_label, 80))} ⬅ "
        f"{code_link(gone)} {html.quote(short(plan.merged_label, 80))}",
        (
            _(
                "{survivor} stays; {merged} is deleted, and its activities, product rows and "
                "history move to {survivor}."
            )
            if keep.entity is EntityType.DEAL
            else _(
                "{survivor} stays; {merged} is deleted, and its deals, activities and history "
                "move to {survivor}."
            )
        ).format(survivor=keep.code, merged=gone.code),
        "",
    ]
    sides = plan.sides(picks)
    kb = InlineKeyboardBuilder()
    widths: list[int] = []
    for index, row in enumerate(plan.rows):
        label = html.quote(field_label(row))
        if row.survivor.empty and row.merged.empty:
            continue
        if row.field.united:
            both = ", ".join(html.quote(v) for v in row.united_items())
            lines.append(_("<b>{field}</b>: {values} (all kept)").format(field=label, values=both))
            continue
        if not row.choosable:
            value, source = (row.merged, gone) if row.survivor.empty else (row.survivor, keep)
            where = f" ({source.code})" if row.survivor.empty or row.merged.empty else ""
            lines.append(f"<b>{label}</b>: {_html(row, value)}{where}")
            continue
        merged_wins = sides[row.field.key].value == "merged"
        lines.append(f"<b>{label}</b>")
        lines.append(f"{'▫️' if merged_wins else '✅'} {keep.code}: {_html(row, row.survivor)}")
        lines.append(f"{'✅' if merged_wins else '▫️'} {gone.code}: {_html(row, row.merged)}")
        if len(widths) >= MAX_CHOICES or index >= MAX_PICK_BITS:
            continue
        for value, take_merged in ((row.survivor, False), (row.merged, True)):
            mark = "✅ " if take_merged == merged_wins else ""
            bits = picks | (1 << index) if take_merged else picks & ~(1 << index)
            kb.button(
                text=mark + short(shown(row, value), BUTTON_VALUE),
                callback_data=_cb("pick", plan, bits),
            )
        widths.append(2)
    if widths:
        lines += ["", _("Tap the value that should stay.")]
    kb.button(
        text=_("⇄ Keep {code} instead").format(code=gone.code),
        callback_data=MergeCb(
            action="swap", kind=PREFIXES[gone.entity], a=gone.id, b=keep.id, picks=0
        ),
    )
    kb.button(text=_("✅ Merge"), callback_data=_cb("go", plan, picks))
    kb.button(text=_("Cancel"), callback_data=_cb("no", plan, picks))
    kb.adjust(*widths, 1, 2)
    return fit("\n".join(lines)), kb.as_markup()


def _cb(action: str, plan: MergePlan, picks: int) -> MergeCb:
    return MergeCb(
        action=action,
        kind=PREFIXES[plan.survivor.entity],
        a=plan.survivor.id,
        b=plan.merged.id,
        picks=picks,
    )


def merge_report(outcome: MergeOutcome, timezone: str) -> str:
    counts = (
        (outcome.deals, _("{n} deal", "{n} deals", outcome.deals)),
        (outcome.activities, _("{n} activity", "{n} activities", outcome.activities)),
        (outcome.contacts, _("{n} contact", "{n} contacts", outcome.contacts)),
        (outcome.leads, _("{n} lead", "{n} leads", outcome.leads)),
        (outcome.entries, _("{n} history entry", "{n} history entries", outcome.entries)),
    )
    moved = [text.format(n=n) for n, text in counts if n]
    lines = [
        _("Merged {merged} into {survivor}.").format(
            merged=outcome.merged.code, survivor=code_link(outcome.survivor)
        )
    ]
    if moved:
        lines.append(
            _("Moved to {survivor}: {what}.").format(
                survivor=outcome.survivor.code, what=", ".join(moved)
            )
        )
    if outcome.undo_until is not None:
        lines.append(
            _("You can undo it until {when}: the button below or /merge_undo.").format(
                when=_when(outcome.undo_until, timezone)
            )
        )
    return "\n".join(lines)


def _when(moment: datetime, timezone: str) -> str:
    return fmt_datetime(moment, timezone, "short")


def with_undo(markup: InlineKeyboardMarkup, merge_id: int) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        text=_("↩️ Undo merge"), callback_data=MergeUndoCb(id=merge_id).pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button], *markup.inline_keyboard])


def undo_report(outcome: UndoOutcome, names: dict[str, str]) -> str:
    lines = [
        _("Merge undone: {code} is back, with what had moved to {survivor}.").format(
            code=code_link(outcome.restored), survivor=code_link(outcome.survivor)
        )
    ]
    if not outcome.same_id:
        lines.append(
            _("Its old number was taken meanwhile, so it is {code} now.").format(
                code=outcome.restored.code
            )
        )
    if outcome.kept_fields:
        lines.append(
            _("Changed on {survivor} since the merge, so left as it is now: {fields}.").format(
                survivor=outcome.survivor.code,
                fields=", ".join(html.quote(names.get(k, k)) for k in outcome.kept_fields),
            )
        )
    if outcome.missing:
        lines.append(
            _(
                "{n} item that had moved is gone since.",
                "{n} items that had moved are gone since.",
                outcome.missing,
            ).format(n=outcome.missing)
        )
    return "\n".join(lines)


def field_names(keys: tuple[str, ...]) -> dict[str, str]:
    """Names of built-in fields by key (an undo report names the fields it left)."""
    return {k: str(_NAMES[k]) for k in keys if k in _NAMES}


def absorbed_report(done: Absorbed) -> str:
    added = [*done.phones, *done.emails]
    if done.comment:
        added.append(_("a comment"))
    return _("Added to {code}: {what}. Nothing new was created.").format(
        code=code_link(done.ref), what=html.quote(", ".join(added))
    )
