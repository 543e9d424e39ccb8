"""How elements look in a chat: cards, list lines, duplicate warnings (HTML, localized).

Every piece of user text is escaped; every message stays under Telegram's 4096 characters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from aiogram import html
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ConvCb, DupCb, ElCb, ListCb, RowCb
from bot.fields import field_lines, fmt_value
from bot.fmt import fmt_datetime, fmt_money, fmt_number, fmt_when
from bot.labels import (
    dictionary_name,
    entity_name,
    field_name,
    pipeline_name,
    recorded_pipeline_name,
    recorded_stage_name,
    stage_name,
)
from crm.catalog import StageInfo
from crm.codes import PREFIXES, ElementRef
from crm.dictionary_kinds import KINDS
from crm.editing import CHOICES, Field
from crm.elements import Card, DuplicateHit, Link, label_of, ref_of
from crm.enums import EntityType, LinkKind, TimelineKind
from crm.field_book import Block
from crm.money import from_minor
from crm.products import row_total
from crm.search import Page
from storage.models import Activity, Contact, Deal, DealProduct, Lead, TimelineEntry
from storage.repositories.elements import Element

MAX_MESSAGE = 4096
TITLE_IN_LIST = 60


def code_link(ref: ElementRef) -> str:
    """`/D7`: Telegram makes it tappable, and tapping opens the card."""
    return f"/{ref.code}"


def short(text: str | None, limit: int) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def money_of(element: Deal | Lead) -> str | None:
    amount = from_minor(element.amount_minor)
    if amount is None or not element.currency:
        return None
    return fmt_money(amount, element.currency)


def stage_line(stage: StageInfo, stages: Sequence[StageInfo]) -> str:
    in_progress = [s.id for s in stages if s.semantic == "process"]
    if stage.semantic == "process" and stage.id in in_progress:
        return _("{stage} ({n} of {total})").format(
            stage=html.quote(stage_name(stage)),
            n=in_progress.index(stage.id) + 1,
            total=len(in_progress),
        )
    mark = "✅" if stage.semantic == "success" else "❌"
    return f"{mark} {html.quote(stage_name(stage))}"


def _stage_status(card: Card) -> list[str]:
    if card.stage is None or not isinstance(card.element, Deal | Lead):
        return []
    template = _("Stage: {stage}") if isinstance(card.element, Deal) else _("Status: {stage}")
    return [template.format(stage=stage_line(card.stage, card.stages))]


def _pipeline_line(card: Card) -> list[str]:
    if not isinstance(card.element, Deal) or card.pipeline is None or card.pipeline.is_default:
        return []
    return [_("Pipeline: {name}").format(name=html.quote(pipeline_name(card.pipeline)))]


def _reason(card: Card) -> list[str]:
    element = card.element
    if not isinstance(element, Deal) or not element.failure_reason:
        return []
    return [_("Reason: {reason}").format(reason=html.quote(short(element.failure_reason, 300)))]


def _converted_line(card: Card) -> list[str]:
    element = card.element
    if not isinstance(element, Lead) or not element.deal_id:
        return []
    code = code_link(ElementRef(EntityType.DEAL, element.deal_id))
    return [_("Converted into: {code}").format(code=code)]


def _responsible(card: Card) -> list[str]:
    name = card.names.get(card.element.responsible_id or 0, _("nobody"))
    return [_("Responsible: {name}").format(name=html.quote(name))]


def _person(card: Card) -> list[str]:
    element = card.element
    if not isinstance(element, Lead) or not element.contact_name:
        return []
    return [_("Person: {name}").format(name=html.quote(element.contact_name))]


def _amount(card: Card) -> list[str]:
    element = card.element
    if not isinstance(element, Deal | Lead) or not (money := money_of(element)):
        return []
    if card.product_rows:
        return [
            _(
                "Amount: {amount} (the sum of {n} product row)",
                "Amount: {amount} (the sum of {n} product rows)",
                len(card.product_rows),
            ).format(amount=money, n=len(card.product_rows))
        ]
    return [_("Amount: {amount}").format(amount=money)]


def _contact(card: Card) -> list[str]:
    element = card.element
    if not isinstance(element, Deal) or element.contact is None:
        return []
    contact = element.contact
    return [client_line(_("Contact: {code} {name}"), card, ref_of(contact), contact.name)]


def _company(card: Card) -> list[str]:
    element = card.element
    if not isinstance(element, Deal | Contact) or element.company is None:
        return []
    company = element.company
    return [client_line(_("Company: {code} {name}"), card, ref_of(company), company.title)]


# Telegram makes phones and e-mails in a message tappable: call or mail from the card.
def _phones(card: Card) -> list[str]:
    return [_("Phone: {phone}").format(phone=html.quote(p)) for p in card.phones]


def _emails(card: Card) -> list[str]:
    return [_("E-mail: {email}").format(email=html.quote(e)) for e in card.emails]


def _client_reach(card: Card) -> list[str]:
    """A deal's client's phones and e-mails (its contact's, else its company's)."""
    return [_("Phone: {phone}").format(phone=html.quote(p)) for p in card.client_phones] + [
        _("E-mail: {email}").format(email=html.quote(e)) for e in card.client_emails
    ]


def _source(card: Card) -> list[str]:
    if card.source is None:
        return []
    return [_("Source: {source}").format(source=html.quote(dictionary_name(card.source)))]


def _choices(card: Card, kinds: frozenset[str] | None = None) -> list[str]:
    """Contact type, salutation, industry, … (`kinds` None: all the card holds)."""
    return [
        _("{field}: {value}").format(
            field=field_name(Field(choice.kind)).capitalize(),
            value=html.quote(dictionary_name(choice.item) if choice.item else choice.code),
        )
        for choice in card.values
        if kinds is None or choice.kind in kinds
    ]


def _comment(card: Card) -> list[str]:
    if not card.element.comment:
        return []
    return [_("Comment: {text}").format(text=html.quote(short(card.element.comment, 500)))]


CHOICE_KINDS = tuple(k for k in KINDS if k != "source")
Lines = Callable[[Card], list[str]]
# The fixed lines under a card's headline, in order: no section or view moves them.
SYSTEM_LINES: tuple[tuple[str, Lines], ...] = (
    ("stage", _stage_status),
    ("pipeline", _pipeline_line),
    ("reason", _reason),
    ("converted", _converted_line),
    ("responsible", _responsible),
)
# A system field's lines (crm.field_book.CARD_ORDER names them), the headline's excepted.
FIELD_LINES: dict[str, Lines] = {
    "name": _person,
    "amount": _amount,
    "contact": _contact,
    "company": _company,
    "phone": _phones,
    "email": _emails,
    "source": _source,
    "comment": _comment,
    **{kind: partial(_choices, kinds=frozenset({kind})) for kind in CHOICE_KINDS},
}
_PINNED = dict(SYSTEM_LINES)
# The card before sections and views existed, as it stays while a type has neither: (kind,
# key) with kind "pin" (SYSTEM_LINES), "field" (FIELD_LINES, unless hidden) or "reach".
CLASSIC: tuple[tuple[str, str], ...] = (
    ("pin", "stage"),
    ("pin", "pipeline"),
    ("pin", "reason"),
    ("field", "name"),
    ("field", "amount"),
    ("field", "contact"),
    ("field", "company"),
    ("pin", "converted"),
    ("field", "phone"),
    ("reach", "phone"),
    ("field", "email"),
    ("reach", "email"),
    ("field", "source"),
    ("field", "choices"),
    ("pin", "responsible"),
    ("field", "comment"),
)


def _classic_lines(card: Card) -> list[str]:
    lines: list[str] = []
    for kind, key in CLASSIC:
        if kind == "pin":
            lines += _PINNED[key](card)
        elif kind == "reach":
            template = _("Phone: {phone}") if key == "phone" else _("E-mail: {email}")
            values = card.client_phones if key == "phone" else card.client_emails
            lines += [template.format(**{key: html.quote(v)}) for v in values]
        elif key == "choices":
            shown = frozenset(c.kind for c in card.values) - card.hidden_system
            lines += _choices(card, shown)
        elif key not in card.hidden_system:
            lines += FIELD_LINES[key](card)
    return lines + field_lines(card.fields)


def _arranged_lines(card: Card, blocks: Sequence[Block]) -> list[str]:
    """The fixed lines, then each block: its section's title and its fields' lines."""
    lines = [line for _key, render in SYSTEM_LINES for line in render(card)]
    custom = {s.field.id: s for s in card.fields}
    codes = {f.code for b in blocks for f in b.fields if f.is_system}
    reach_after = "contact" if "contact" in codes else "company"
    for block in blocks:
        body: list[str] = []
        for info in block.fields:
            if not info.is_system:
                shown = custom.get(info.id)
                body += field_lines([shown]) if shown is not None else []
                continue
            body += FIELD_LINES[info.code](card) if info.code in FIELD_LINES else []
            if info.code == reach_after and isinstance(card.element, Deal):
                body += _client_reach(card)
        if block.section is not None and body:
            body = ["", f"<b>{html.quote(block.section.name)}</b>", *body]
        lines += body
    return lines


def render_card(card: Card, timezone: str) -> tuple[str, InlineKeyboardMarkup]:
    title = html.quote(short(label_of(card.element), 200)) or "—"
    lines = [f"<b>{card.ref.code}</b> · {entity_name(card.ref.entity)} · {title}"]
    if card.layout is None:
        lines += _classic_lines(card)
    else:
        lines += _arranged_lines(card, card.layout)
    if card.product_rows:
        lines += ["", _("<b>Products</b>")] + [product_row_line(r) for r in card.product_rows]
    if card.links:
        lines += ["", _("<b>Links</b>")] + [link_line(link) for link in card.links]
    if card.deals:
        lines += ["", _("<b>Deals</b>")] + [list_line(deal) for deal in card.deals]
    lines += element_activities(card.activities, timezone, card.now)
    if card.timeline:
        lines.append("")
        lines.append(
            _("<b>History</b> ({shown} of {total})").format(
                shown=len(card.timeline), total=card.timeline_total
            )
        )
        lines += [timeline_line(entry, card, timezone) for entry in card.timeline]
    return fit("\n".join(lines)), card_keyboard(card)


def product_row_line(row: DealProduct) -> str:
    """`• Licencja CRM — 3 × 1 000,00 zł −10% = 2 700,00 zł`"""
    price = fmt_money(from_minor(row.price_minor) or 0, row.currency)
    line = f"• {html.quote(short(row.product_name, 80))} — {fmt_number(row.quantity)} × {price}"
    if row.discount_percent is not None:
        line += f" −{fmt_number(row.discount_percent)}%"
    elif row.discount_minor is not None:
        line += " −" + fmt_money(from_minor(row.discount_minor) or 0, row.currency)
    return line + " = " + fmt_money(from_minor(row_total(row)) or 0, row.currency)


def link_line(link: Link) -> str:
    code = code_link(link.other)
    if link.kind is LinkKind.DEAL_FROM_LEAD:
        if link.outgoing:
            return _("• deal {code} created from this lead").format(code=code)
        return _("• created from lead {code}").format(code=code)
    if link.outgoing:
        return _("• repeat sale {code}").format(code=code)
    return _("• repeat sale of deal {code}").format(code=code)


def client_line(template: str, card: Card, ref: ElementRef, name: str | None) -> str:
    """`Contact: /C1 Jan Kowalski`; without the code when the reader may not open that card."""
    readable = card.client_readable.get(ref, True)
    line = template.format(
        code=code_link(ref) if readable else "", name=html.quote(short(name, 80))
    )
    return line if readable else line.replace("  ", " ", 1)  # the empty code's space


def timeline_line(entry: TimelineEntry, card: Card, timezone: str) -> str:
    when = fmt_datetime(entry.created_at, timezone, "short")
    who = html.quote(card.names.get(entry.author_id or 0, _("system")))
    try:
        render = _TIMELINE[TimelineKind(entry.kind)]
    except ValueError:
        what = html.quote(entry.kind)  # a kind this version does not know (a newer one's)
    else:
        what = render(_Entry(entry.data or {}, card))
    return f"• {when} {who}: {what}"


@dataclass(frozen=True, slots=True)
class _Entry:
    data: dict[str, Any]
    card: Card

    @property
    def stages(self) -> dict[int, StageInfo]:
        return {s.id: s for s in self.card.stages}

    def text(self, key: str, limit: int = 200) -> str:
        return html.quote(short(str(self.data.get(key, "")), limit))


def _created(e: _Entry) -> str:
    if e.data.get("from_deal"):
        return _("created as a repeat sale of {code}").format(
            code=code_link_text(e.data["from_deal"])
        )
    if e.data.get("from_lead"):
        return _("created from lead {code}").format(code=code_link_text(e.data["from_lead"]))
    return _("created")


def _stage(e: _Entry) -> str:
    what = _("stage: {old} → {new}").format(
        old=html.quote(_entry_stage(e.data, "old_label", "old", e.stages)),
        new=html.quote(_entry_stage(e.data, "new_label", "new", e.stages)),
    )
    if e.data.get("reason"):
        what += " — " + e.text("reason")
    return what


def _assigned(e: _Entry) -> str:
    return _("responsible: {old} → {new}").format(
        old=html.quote(e.card.names.get(e.data.get("old") or 0, "—")),
        new=html.quote(e.card.names.get(e.data.get("new") or 0, "—")),
    )


def _pipeline(e: _Entry) -> str:
    card, data = e.card, e.data
    pipelines = {card.pipeline.id: card.pipeline} if card.pipeline else {}
    old, new = pipelines.get(data.get("old", 0)), pipelines.get(data.get("new", 0))
    return _("pipeline: {old} ({old_stage}) → {new} ({new_stage})").format(
        old=html.quote(
            recorded_pipeline_name(data.get("old_label")) or (pipeline_name(old) if old else "?")
        ),
        new=html.quote(
            recorded_pipeline_name(data.get("new_label")) or (pipeline_name(new) if new else "?")
        ),
        old_stage=html.quote(_entry_stage(data, "old_stage_label", "old_stage", e.stages)),
        new_stage=html.quote(_entry_stage(data, "stage_label", "stage", e.stages)),
    )


def _changed(e: _Entry) -> str:
    field = e.data.get("field")
    if field == "source":
        return _("source changed")
    if field == "custom":  # crm.fields.set_value; unseen fields never reach here (crm.elements)
        kind = str(e.data.get("type") or "")
        return _("{field}: {old} → {new}").format(
            field=e.text("name", 80),
            old=fmt_value(kind, e.data.get("old")),
            new=fmt_value(kind, e.data.get("new")),
        )
    if field in CHOICES:  # codes of a dictionary, named as the dictionary names them today
        return _("{field}: {old} → {new}").format(
            field=field_name(Field(str(field))),
            old=html.quote(_value_name(e.card, str(field), e.data.get("old"))),
            new=html.quote(_value_name(e.card, str(field), e.data.get("new"))),
        )
    if field in set(Field):
        return _("{field}: {old} → {new}").format(
            field=field_name(Field(str(field))),
            old=html.quote(short(str(e.data.get("old") or "—"), 100)),
            new=html.quote(short(str(e.data.get("new") or "—"), 100)),
        )
    return _("changed")


def _value_name(card: Card, kind: str, code: object) -> str:
    if not code:
        return "—"
    item = card.dictionary.get((kind, str(code)))
    return short(dictionary_name(item) if item else str(code), 100)


def _converted(e: _Entry) -> str:
    codes = " ".join(code_link_text(c) for c in e.data.get("created", []))
    return _("converted into {codes}").format(codes=codes)


def _product(e: _Entry) -> str:
    total = e.data.get("total")
    money = ""
    if total is not None and e.data.get("currency"):
        money = fmt_money(Decimal(str(total)), str(e.data["currency"]))
    return _("product added: {name} × {quantity} = {total}").format(
        name=e.text("name", 80),
        quantity=fmt_number(Decimal(str(e.data.get("quantity") or 0))),
        total=money,
    )


def _linked(e: _Entry) -> str:
    code = code_link_text(str(e.data.get("code")))
    if e.data.get("link") == LinkKind.REPEAT_SALE:
        return _("repeat sale created: {code}").format(code=code)
    return _("deal created from this lead: {code}").format(code=code)


def _triage(e: _Entry) -> str:
    what = _("from request #{id} in {group}").format(
        id=e.data.get("request", "?"), group=html.quote(str(e.data.get("group") or "—"))
    )
    if e.data.get("repeat"):
        what += " · " + _("repeat: a returning client")
    return what


def _merged(e: _Entry) -> str:
    if e.data.get("typed"):  # "Merge into" on a duplicate warning: a typed line added here
        added = [str(v) for v in (*e.data.get("phones", []), *e.data.get("emails", []))]
        if e.data.get("comment"):
            added.append(str(e.data["comment"]))
        return _("added from a duplicate: {what}").format(
            what=html.quote(short(", ".join(added), 200)) or "—"
        )
    return _("merged {code} {name} into this").format(
        code=code_link_text(str(e.data.get("merged"))), name=e.text("label", 80)
    )


def _unmerged(e: _Entry) -> str:
    if e.data.get("survivor"):
        return _("restored: the merge into {code} was undone").format(
            code=code_link_text(str(e.data["survivor"]))
        )
    return _("merge undone: {code} restored").format(
        code=code_link_text(str(e.data.get("merged")))
    )


_TIMELINE: dict[TimelineKind, Callable[[_Entry], str]] = {
    TimelineKind.CREATED: _created,
    TimelineKind.COMMENT: lambda e: "💬 " + e.text("text", 300),
    TimelineKind.STAGE: _stage,
    TimelineKind.ASSIGNED: _assigned,
    TimelineKind.ACTIVITY: lambda e: _("activity: {subject}").format(subject=e.text("subject")),
    TimelineKind.ACTIVITY_DONE: lambda e: _("done: {subject}").format(subject=e.text("subject")),
    TimelineKind.ACTIVITY_DELETED: lambda e: _("activity deleted: {subject}").format(
        subject=e.text("subject")
    ),
    TimelineKind.PIPELINE: _pipeline,
    TimelineKind.CHANGED: _changed,
    TimelineKind.CONVERTED: _converted,
    TimelineKind.TRIAGE: _triage,
    TimelineKind.PRODUCT_ADDED: _product,
    TimelineKind.PRODUCT_REMOVED: lambda e: _("product removed: {name}").format(
        name=e.text("name", 80)
    ),
    TimelineKind.LINKED: _linked,
    TimelineKind.REPEAT: lambda e: _("repeat lead of {code}").format(
        code=code_link_text(str(e.data.get("client")))
    ),
    TimelineKind.MERGED: _merged,
    TimelineKind.UNMERGED: _unmerged,
}


def _entry_stage(
    data: dict[str, object], label_key: str, id_key: str, stages: dict[int, StageInfo]
) -> str:
    """A stage named by a timeline entry: as recorded then, else by id among today's stages."""
    if (recorded := recorded_stage_name(data.get(label_key))) is not None:
        return recorded
    stage_id = data.get(id_key)
    stage = stages.get(stage_id) if isinstance(stage_id, int) else None
    return stage_name(stage) if stage else "?"


def code_link_text(code: str) -> str:
    return "/" + html.quote(str(code))


def card_keyboard(card: Card) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    ref, kind = card.ref, PREFIXES[card.ref.entity]
    element = card.element
    if card.can_update:
        if (isinstance(element, Deal | Lead) and element.closed_at is None) or isinstance(
            element, Deal
        ):
            label = _("Stage") if isinstance(element, Deal) else _("Status")
            kb.button(text=label, callback_data=ElCb(action="stage", kind=kind, id=ref.id))
        if isinstance(element, Lead) and element.closed_at is None:
            kb.button(text=_("Convert"), callback_data=ConvCb(lead=ref.id, flags=5))
        kb.button(text=_("Note"), callback_data=ElCb(action="note", kind=kind, id=ref.id))
        if isinstance(element, Deal) and card.pipelines > 1:
            kb.button(text=_("Pipeline"), callback_data=ElCb(action="pipe", kind=kind, id=ref.id))
        kb.button(text=_("Source"), callback_data=ElCb(action="src", kind=kind, id=ref.id))
        kb.button(text=_("Responsible"), callback_data=ElCb(action="assign", kind=kind, id=ref.id))
        kb.button(text=_("✏️ Edit"), callback_data=ElCb(action="edit", kind=kind, id=ref.id))
        if isinstance(element, Contact):  # Bitrix24's "included in export"
            kb.button(
                text=_("📤 In exports: yes") if element.export_allowed else _("📤 In exports: no"),
                callback_data=ElCb(action="xflag", kind=kind, id=ref.id),
            )
    if isinstance(element, Deal):  # the rows are read by any reader, changed with update
        kb.button(text=_("📦 Products"), callback_data=RowCb(action="show", deal=ref.id))
    if isinstance(element, Lead | Deal) and card.can_create_deal:
        label = _("Deal from lead") if isinstance(element, Lead) else _("Repeat sale")
        kb.button(text=label, callback_data=ElCb(action="derive", kind=kind, id=ref.id))
    if card.can_add_deal:
        kb.button(text=_("New deal"), callback_data=ElCb(action="newdeal", kind=kind, id=ref.id))
    per_page = 5
    if card.timeline_total > per_page:
        kb.button(
            text=_("Older history"), callback_data=ElCb(action="tl", kind=kind, id=ref.id, page=1)
        )
    kb.adjust(2)
    return kb.as_markup()


def timeline_page(card: Card, page: int, timezone: str) -> tuple[str, InlineKeyboardMarkup]:
    kind = PREFIXES[card.ref.entity]
    head = _("<b>{code}</b> · history, page {page}").format(code=card.ref.code, page=page + 1)
    lines = [head] + [timeline_line(e, card, timezone) for e in card.timeline]
    kb = InlineKeyboardBuilder()
    if page > 0:
        kb.button(
            text="◀", callback_data=ElCb(action="tl", kind=kind, id=card.ref.id, page=page - 1)
        )
    if (page + 1) * 5 < card.timeline_total:
        kb.button(
            text="▶", callback_data=ElCb(action="tl", kind=kind, id=card.ref.id, page=page + 1)
        )
    kb.button(text=_("Card"), callback_data=ElCb(action="show", kind=kind, id=card.ref.id))
    return fit("\n".join(lines)), kb.as_markup()


def list_line(element: Element) -> str:
    ref = ref_of(element)
    parts = [code_link(ref), html.quote(short(label_of(element), TITLE_IN_LIST)) or "—"]
    if isinstance(element, Deal):
        parts.append("· " + html.quote(stage_name(element.stage)))
    if isinstance(element, Lead):
        parts.append("· " + html.quote(stage_name(element.status)))
    if isinstance(element, Deal | Lead) and (money := money_of(element)):
        parts.append("· " + money)
    if isinstance(element, Contact) and element.company:
        parts.append("· " + html.quote(short(element.company.title, 30)))
    return " ".join(parts)


def render_page(title: str, page: Page, what: str) -> tuple[str, InlineKeyboardMarkup | None]:
    if not page.items:
        return _("Nothing here yet."), None
    lines = [f"<b>{title}</b> ({page.page + 1}/{page.pages})"]
    lines += [list_line(e) for e in page.items]
    kb = InlineKeyboardBuilder()
    if page.page > 0:
        kb.button(text="◀", callback_data=ListCb(what=what, page=page.page - 1))
    if page.page + 1 < page.pages:
        kb.button(text="▶", callback_data=ListCb(what=what, page=page.page + 1))
    return fit("\n".join(lines)), kb.as_markup() if (
        page.page > 0 or page.page + 1 < page.pages
    ) else None


def render_duplicates(
    hits: Sequence[DuplicateHit],
    *,
    offer_use: bool = False,
    use: Callable[[ElementRef], CallbackData] | None = None,
    anyway: CallbackData | None = None,
    merge_into: EntityType | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """`offer_use`: a new deal may go to a client found (Use this contact) instead; `use` and
    `anyway` give those buttons' data when the warning is about something else than the
    pending one-line creation (a triage request). `merge_into`: what is being created, when
    what was typed may go to an existing element of that type instead (Merge into C3)."""
    reasons = {"phone": _("same phone"), "email": _("same e-mail"), "name": _("similar name")}
    lines = [_("⚠️ This may be a duplicate:")]
    kb = InlineKeyboardBuilder()
    for hit in hits:
        if hit.visible:
            lines.append(
                f"{code_link(hit.ref)} {html.quote(short(hit.label, 60))} — {reasons[hit.reason]}"
            )
            kb.button(
                text=_("Open {code}").format(code=hit.ref.code),
                callback_data=ElCb(action="show", kind=PREFIXES[hit.ref.entity], id=hit.ref.id),
            )
            if (offer_use or use) and hit.ref.entity in (EntityType.CONTACT, EntityType.COMPANY):
                label = (
                    _("Use this contact {code}")
                    if hit.ref.entity is EntityType.CONTACT
                    else _("Use this company {code}")
                )
                kb.button(
                    text=label.format(code=hit.ref.code),
                    callback_data=use(hit.ref)
                    if use
                    else ElCb(action="use", kind=PREFIXES[hit.ref.entity], id=hit.ref.id),
                )
            if merge_into is not None and hit.ref.entity is merge_into:
                kb.button(
                    text=_("Merge into {code}").format(code=hit.ref.code),
                    callback_data=ElCb(
                        action="absorb", kind=PREFIXES[hit.ref.entity], id=hit.ref.id
                    ),
                )
        else:
            lines.append(
                _("an element you cannot see ({reason}), responsible: {name}").format(
                    reason=reasons[hit.reason], name=html.quote(hit.responsible or "—")
                )
            )
    kb.button(text=_("Create anyway"), callback_data=anyway or DupCb(action="go"))
    kb.adjust(1)
    return fit("\n".join(lines)), kb.as_markup()


def fit(text: str) -> str:
    """Cut at a line boundary below Telegram's limit (tags are per line, so they stay whole)."""
    if len(text) <= MAX_MESSAGE:
        return text
    cut = text[: MAX_MESSAGE - 2].rsplit("\n", 1)[0]
    return cut + "\n…"


def element_activities(activities: Sequence[Activity], timezone: str, now: datetime) -> list[str]:
    if not activities:
        return []
    lines = ["", _("<b>Open activities</b>")]
    for activity in activities:
        mark = "⚠️ " if activity.deadline < now else ""
        when = fmt_when(activity.deadline, timezone)  # the one deadline style (bot/fmt.py)
        lines.append(f"• {mark}{when} {html.quote(short(activity.subject, 80))}")
    return lines
