"""How fields look in a chat: values on a card and in history, the /fields list, a field's menu."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import FieldCb, FieldStageCb, RequiredCb
from bot.fmt import fmt_day, fmt_money, fmt_number
from bot.labels import entity_name, field_label, kind_name, pipeline_name, stage_name
from crm.catalog import Catalog, StageInfo
from crm.enums import EntityType, FieldKind
from crm.errors import (
    AmbiguousName,
    CannotDelete,
    CrmError,
    InvalidValue,
    NameTaken,
    UnknownName,
)
from crm.field_book import HEADLINE, FieldInfo, Shown
from crm.fields import MAX_AUDIENCE, REQUIRABLE_SYSTEM, Audience
from storage.models import Stage

MAX_VALUE = 300


def fmt_value(kind: FieldKind | str, value: Any, label: str | None = None) -> str:
    """A stored value (crm.field_book.read_value) in the reader's language, HTML-escaped."""
    return html.quote(plain_value(kind, value, label))


def plain_value(kind: FieldKind | str, value: Any, label: str | None = None) -> str:
    """A stored value in the reader's language, as plain text (a button, a CSV cell)."""
    if value is None or value == "":
        return "—"
    try:
        kind = FieldKind(kind)
    except ValueError:
        return str(value)[:MAX_VALUE]
    try:
        if kind is FieldKind.NUMBER:
            return fmt_number(Decimal(str(value)))
        if kind is FieldKind.DATE:
            return fmt_day(date.fromisoformat(str(value)))
        if kind is FieldKind.BOOL:
            return _("yes") if value is True else _("no")
        if kind is FieldKind.MONEY and isinstance(value, dict):
            return fmt_money(Decimal(str(value["amount"])), str(value["currency"]))
        if kind is FieldKind.LINK:
            code = "/" + str(value)
            return f"{code} {label[:80]}" if label else code
    except (ValueError, KeyError, InvalidOperation):
        pass  # a value written by another version: shown as stored
    text = str(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def field_lines(fields: Sequence[Shown]) -> list[str]:
    """`Termin dostawy: 15 sty 2027` for every field with a value (empty ones are left out)."""
    return [
        f"{html.quote(field_label(s.field))}: {fmt_value(s.field.kind, s.value, s.label)}"
        for s in fields
        if s.value is not None and s.value != ""
    ]


def field_marks(info: FieldInfo, catalog: Catalog) -> str:
    """What a field is: its type, list options, required stages, restriction, hidden."""
    parts = [kind_name(info.kind)]
    if info.kind is FieldKind.LIST and info.options:
        parts.append(", ".join(html.quote(o) for o in info.options[:10]))
    if info.kind is FieldKind.LINK and info.options:
        parts.append(", ".join(entity_name(EntityType(o)) for o in info.link_targets))
    if info.required_always:
        parts.append(_("required at every stage"))
    elif info.required_at:
        stages = [catalog.stage(s) for s in sorted(info.required_at)]
        names = ", ".join(html.quote(stage_name(s)) for s in stages if s is not None)
        parts.append(_("required at: {stages}").format(stages=names))
    if info.restricted:
        parts.append("🔒 " + _("restricted visibility"))
    if info.hidden:
        parts.append(_("hidden"))
    return " · ".join(parts)


def render_fields(
    entity: EntityType, fields: Sequence[FieldInfo], catalog: Catalog, *, can_configure: bool
) -> tuple[str, InlineKeyboardMarkup | None]:
    lines = [_("<b>Fields: {entity}</b>").format(entity=entity_name(entity))]
    system = [f for f in fields if f.is_system]
    custom = [f for f in fields if not f.is_system]
    lines.append(_("System:"))
    lines += [f"• {html.quote(field_label(f))} — {field_marks(f, catalog)}" for f in system]
    lines.append(_("Custom:"))
    if custom:
        lines += [f"• {html.quote(field_label(f))} — {field_marks(f, catalog)}" for f in custom]
    else:
        lines.append(_("none yet"))
    if can_configure:
        lines.append("")
        lines.append(
            _("Add one: /field_add {entity} date Delivery date").format(entity=entity.value)
        )
    if not can_configure:
        return "\n".join(lines), None
    kb = InlineKeyboardBuilder()
    for info in fields:
        kb.button(text=field_label(info)[:40], callback_data=FieldCb(action="open", id=info.id))
    kb.adjust(2)
    return "\n".join(lines), kb.as_markup()


def audience_names(audience: Audience) -> str:
    """`🏢 Sprzedaż, Anna Nowak`: departments first, then people."""
    names = [f"🏢 {html.quote(name)}" for _id, name in audience.departments]
    return ", ".join(names + [html.quote(name) for _id, name in audience.users])


def audience_line(info: FieldInfo, audience: Audience) -> str:
    """Who sees a field, for its menu."""
    if info.is_system:
        return _("Visible to everybody (a system field cannot be restricted).")
    if audience.everybody:
        text = _("Visible to everybody.")
    else:
        text = _("Visible only to: {names} (and whoever may change settings).").format(
            names=audience_names(audience)
        )
    hint = _("Change it: /field_visible {field} to Sales, Anna Nowak — or to all.").format(
        field=html.quote(field_label(info))
    )
    return text + "\n" + hint


def visibility_saved(info: FieldInfo, audience: Audience) -> str:
    """The answer to /field_visible."""
    name, entity = html.quote(field_label(info)), entity_name(info.entity)
    if audience.everybody:
        return _("“{field}” ({entity}) is shown to everybody again.").format(
            field=name, entity=entity
        )
    return _(
        "“{field}” ({entity}) is now shown only to: {names}. Whoever may change settings "
        "sees it too; for everyone else it is gone from cards, search, history and exports."
    ).format(field=name, entity=entity, names=audience_names(audience))


def field_visible_usage() -> str:
    return _(
        "Usage: /field_visible FIELD to PEOPLE OR DEPARTMENTS, for example "
        "/field_visible Margin to Sales, Anna Nowak; /field_visible Margin to all shows it "
        "to everybody again."
    )


def render_field_menu(
    info: FieldInfo,
    catalog: Catalog,
    audience: Audience | None = None,
    section: str | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    text = f"<b>{html.quote(field_label(info))}</b> — {field_marks(info, catalog)}"
    if section is not None:
        text += "\n" + _("Section: {name}").format(name=html.quote(section))
    if audience is not None:
        text += "\n" + audience_line(info, audience)
    kb = InlineKeyboardBuilder()
    if not info.is_system:
        kb.button(text=_("Rename"), callback_data=FieldCb(action="rename", id=info.id))
    if info.hidden:
        kb.button(text=_("Show on cards"), callback_data=FieldCb(action="show", id=info.id))
    else:
        kb.button(text=_("Hide"), callback_data=FieldCb(action="hide", id=info.id))
    if requirable(info):
        kb.button(text=_("Required at…"), callback_data=FieldStageCb(action="open", id=info.id))
    if not info.is_system:
        kb.button(text=_("Delete"), callback_data=FieldCb(action="delete", id=info.id))
    if info.code != HEADLINE[info.entity] or not info.is_system:  # the headline stays on top
        kb.button(text=_("Section"), callback_data=FieldCb(action="sect", id=info.id))
        if not info.hidden:  # ▲ ▼: its place in the common view, among what cards show
            kb.button(text="▲", callback_data=FieldCb(action="up", id=info.id))
            kb.button(text="▼", callback_data=FieldCb(action="dn", id=info.id))
    kb.button(text=_("« Fields"), callback_data=FieldCb(action="list", id=info.id))
    kb.adjust(2)
    return text, kb.as_markup()


def render_delete_question(info: FieldInfo, count: int) -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "Delete the field “{name}”? Its value on {n} element will be deleted too; "
        "this cannot be undone.",
        "Delete the field “{name}”? Its values on {n} elements will be deleted too; "
        "this cannot be undone.",
        count,
    ).format(name=html.quote(field_label(info)), n=count)
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Yes, delete"), callback_data=FieldCb(action="drop", id=info.id))
    kb.button(text=_("Cancel"), callback_data=FieldCb(action="open", id=info.id))
    return text, kb.as_markup()


def field_refusal(exc: CrmError, info: FieldInfo | None = None) -> str | None:
    """Why a field or a value was refused, in words (nothing was saved); None: not ours."""
    if isinstance(exc, InvalidValue):
        value = html.quote(exc.value[:100])
        if exc.field == "system_field" and info is not None:
            return _("“{field}” is set from the card's own button or ✏️ Edit.").format(
                field=html.quote(field_label(info))
            )
        if exc.field == "restrict_system":
            return _(
                "Only a custom field's visibility can be restricted; a system field can be "
                "hidden instead."
            )
        if exc.field == "field_visible":
            return field_visible_usage()
        if exc.field == "field_require":
            return field_require_usage()
        if exc.field == "require_system":
            return _(
                "Of the system fields, only the ones typed in (title, name, phone, e-mail, "
                "amount) can be required at a stage."
            )
        if exc.field == "stage" and exc.value in {e.value for e in EntityType}:
            return _("Only the fields of deals and leads can be required at a stage.")
        if exc.field == "audience":
            return _(
                "A field can be shown to at most {n} person or department.",
                "A field can be shown to at most {n} people and departments.",
                MAX_AUDIENCE,
            ).format(n=MAX_AUDIENCE)
        if exc.field == "options":
            return _("Options go after a colon: /field_add deal list Delivery: courier, pickup")
        texts = {
            FieldKind.STRING: _("A text is needed here."),
            FieldKind.NUMBER: _("“{value}” is not a number: send one such as 12 or 1 250,5."),
            FieldKind.DATE: _(
                "“{value}” is not a date: send one such as 15.01.2027 or 2027-01-15."
            ),
            FieldKind.BOOL: _("“{value}” is neither yes nor no: send yes or no."),
            FieldKind.MONEY: _("“{value}” is not an amount: send one such as 1200 or 99,90 EUR."),
            FieldKind.LINK: _("“{value}” is not an element code: send one such as C3 or CO2."),
        }
        if exc.field == FieldKind.LIST.value:
            options = ", ".join(html.quote(o) for o in (info.options if info else ()))
            return _("“{value}” is not one of the options: {options}.").format(
                value=value, options=options
            )
        try:
            kind = FieldKind(exc.field)
        except ValueError:
            return None
        return texts[kind].format(value=value)
    if isinstance(exc, UnknownName) and exc.what == "field":
        return _("No field is called so: “{text}”. /fields lists them.").format(
            text=html.quote(exc.text)
        )
    if isinstance(exc, UnknownName) and exc.what == "stage":
        return _("No stage is called “{text}” (or has this id). See /pipelines.").format(
            text=html.quote(exc.text)
        )
    if isinstance(exc, UnknownName) and exc.what == "audience":
        return _("Nobody and no department is called “{text}”. See /departments.").format(
            text=html.quote(exc.text)
        )
    if isinstance(exc, AmbiguousName) and exc.what == "audience":
        return _(
            "“{name}” is more than one person or department: write “department {name}” for "
            "the department, or rename one of them."
        ).format(name=html.quote(exc.name))
    if isinstance(exc, AmbiguousName) and exc.what == "field":
        return _(
            "Several element types have a field called “{name}”: name the type first, for "
            "example /field_visible deal {name} to …"
        ).format(name=html.quote(exc.name))
    if isinstance(exc, NameTaken) and exc.what == "field":
        return _("A field called “{name}” exists already.").format(name=html.quote(exc.name))
    if isinstance(exc, CannotDelete) and exc.why == "system":
        return _("A system field cannot be deleted or renamed; it can be hidden.")
    return None


def value_hint(info: FieldInfo) -> str | None:
    """What a field's value looks like, for the question asking it."""
    if info.kind is FieldKind.LIST:
        return _("One of: {options}").format(
            options=", ".join(html.quote(o) for o in info.options)
        )
    hints = {
        FieldKind.NUMBER: _("A number, for example 12 or 1 250,5."),
        FieldKind.DATE: _("A date, for example 15.01.2027 or “jutro”."),
        FieldKind.BOOL: _("Yes or no."),
        FieldKind.MONEY: _("An amount, for example 1200 or 99,90 EUR."),
        FieldKind.LINK: _("An element code, for example C3 or CO2."),
    }
    return hints.get(info.kind)


def ask_value(info: FieldInfo, code: str) -> str:
    """The question for a field's value, with what it expects."""
    text = _("Send the value of “{field}” for {code}. /cancel to stop.").format(
        field=html.quote(field_label(info)), code=code
    )
    hint = value_hint(info)
    return text + ("\n" + hint if hint else "")


def ask_required(
    info: FieldInfo, code: str, stage: Stage | StageInfo
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The stage dialog's question: the value of a field required at the stage, a list's
    options and yes/no as buttons."""
    text = _(
        "To move {code} to “{stage}”, fill in “{field}”: send its value. "
        "/cancel to stop (the stage stays as it is)."
    ).format(code=code, stage=html.quote(stage_name(stage)), field=html.quote(field_label(info)))
    hint = value_hint(info)
    if hint and info.kind is not FieldKind.LIST:
        text += "\n" + hint
    kb = InlineKeyboardBuilder()
    options = (
        [_("yes"), _("no")]
        if info.kind is FieldKind.BOOL
        else list(info.options)
        if info.kind is FieldKind.LIST
        else []
    )
    for index, option in enumerate(options):
        kb.button(text=option[:60], callback_data=RequiredCb(field=info.id, option=index))
    kb.adjust(2)
    return text, kb.as_markup() if options else None


def required_option(info: FieldInfo, index: int) -> str | None:
    """The value a button of `ask_required` gives, as typed text (None: not an option)."""
    if info.kind is FieldKind.BOOL:
        return {0: "yes", 1: "no"}.get(index)
    if info.kind is FieldKind.LIST and 0 <= index < len(info.options):
        return info.options[index]
    return None


def stage_names(stages: Sequence[Stage | StageInfo]) -> str:
    return ", ".join(html.quote(stage_name(s)) for s in stages)


def requirement_saved(info: FieldInfo, stages: Sequence[StageInfo] | None) -> str:
    """The answer to /field_require and to the "Required at…" buttons."""
    name, entity = html.quote(field_label(info)), entity_name(info.entity)
    if stages is None:
        return _(
            "“{field}” ({entity}) is now required at every stage: nothing moves to another "
            "stage until it is filled."
        ).format(field=name, entity=entity)
    if not stages:
        return _("“{field}” ({entity}) is optional again.").format(field=name, entity=entity)
    return _(
        "“{field}” ({entity}) is now required at: {stages}. Nothing moves into them until it "
        "is filled."
    ).format(field=name, entity=entity, stages=stage_names(stages))


def field_require_usage() -> str:
    return _(
        "Usage: /field_require FIELD at STAGES, for example /field_require Delivery date at "
        "Negotiation, Invoice; “at all” requires it at every stage, “at none” makes it "
        "optional again."
    )


def requirable(info: FieldInfo) -> bool:
    """Whether a field may be required at a stage (deal and lead fields, some system ones)."""
    if info.entity not in REQUIRABLE_SYSTEM:
        return False
    return not info.is_system or info.code in REQUIRABLE_SYSTEM[info.entity]


def stages_of(info: FieldInfo, catalog: Catalog) -> list[StageInfo]:
    """The stages a field can be required at: a deal's of every pipeline, a lead's statuses."""
    if info.entity is EntityType.LEAD:
        return list(catalog.lead_statuses)
    return [s for p in catalog.pipelines for s in catalog.stages.get(p.id, ())]


def render_required_menu(info: FieldInfo, catalog: Catalog) -> tuple[str, InlineKeyboardMarkup]:
    """ "Required at…": a button per stage (✅ where required), every stage, none."""
    text = f"<b>{html.quote(field_label(info))}</b> — {field_marks(info, catalog)}\n" + _(
        "Press the stages at which it must be filled."
    )
    several = len(catalog.pipelines) > 1 and info.entity is EntityType.DEAL
    kb = InlineKeyboardBuilder()
    for stage in stages_of(info, catalog):
        mark = "✅ " if info.required_for(stage.id) else ""
        pipeline = catalog.pipeline(stage.pipeline_id) if stage.pipeline_id else None
        prefix = f"{pipeline_name(pipeline)}: " if several and pipeline is not None else ""
        kb.button(
            text=(mark + prefix + stage_name(stage))[:60],
            callback_data=FieldStageCb(action="t", id=info.id, stage=stage.id),
        )
    kb.button(text=_("Every stage"), callback_data=FieldStageCb(action="all", id=info.id))
    kb.button(text=_("Not required"), callback_data=FieldStageCb(action="none", id=info.id))
    kb.button(text=_("« Field"), callback_data=FieldCb(action="open", id=info.id))
    kb.adjust(2)
    return text, kb.as_markup()
