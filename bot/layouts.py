"""How sections and card views look in a chat: /sections, a field's section choice, /view."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import FieldCb, FieldSectionCb, SectionCb, ViewCb
from bot.labels import entity_name, field_label
from crm.enums import EntityType, Right
from crm.errors import AccessDenied, CrmError, InvalidValue, NameTaken, UnknownName
from crm.field_book import MAX_SECTIONS, FieldInfo, SectionInfo
from crm.layouts import ViewScreen

PER_PAGE = 10


def render_sections(
    entity: EntityType, sections: Sequence[SectionInfo], fields: Sequence[FieldInfo]
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The type's sections in card order, each with its fields; a row of buttons each."""
    lines = [_("<b>Sections: {entity}</b>").format(entity=entity_name(entity))]
    if not sections:
        lines.append(_("none yet"))
    for n, section in enumerate(sections, 1):
        inside = [html.quote(field_label(f)) for f in fields if f.section_id == section.id]
        lines.append(
            f"{n}. <b>{html.quote(section.name)}</b> — "
            + (", ".join(inside) if inside else _("no fields"))
        )
    lines += [
        "",
        _(
            "Add one: /section_add {entity} Delivery. Put a field into a section from its menu in "
            "/fields {entity}."
        ).format(entity=entity.value),
    ]
    if not sections:
        return "\n".join(lines), None
    kb = InlineKeyboardBuilder()
    for section in sections:
        kb.button(
            text=f"✏️ {section.name[:30]}", callback_data=SectionCb(action="ren", id=section.id)
        )
        kb.button(text="▲", callback_data=SectionCb(action="up", id=section.id))
        kb.button(text="▼", callback_data=SectionCb(action="dn", id=section.id))
        kb.button(text="🗑", callback_data=SectionCb(action="del", id=section.id))
    kb.adjust(4)
    return "\n".join(lines), kb.as_markup()


def render_section_delete(section: SectionInfo, count: int) -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "Delete the section “{name}”? Its {n} field will be hidden from cards, not deleted: "
        "its values stay, and it can be shown again or put into another section.",
        "Delete the section “{name}”? Its {n} fields will be hidden from cards, not deleted: "
        "their values stay, and they can be shown again or put into another section.",
        count,
    ).format(name=html.quote(section.name), n=count)
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Yes, delete"), callback_data=SectionCb(action="drop", id=section.id))
    kb.button(text=_("Cancel"), callback_data=SectionCb(action="list", id=section.id))
    return text, kb.as_markup()


def section_deleted(section: SectionInfo, count: int) -> str:
    return _(
        "Section “{name}” deleted; its {n} field is hidden, with its values kept.",
        "Section “{name}” deleted; its {n} fields are hidden, with their values kept.",
        count,
    ).format(name=html.quote(section.name), n=count)


def render_section_choice(
    info: FieldInfo, sections: Sequence[SectionInfo]
) -> tuple[str, InlineKeyboardMarkup]:
    """Which section a field goes into (or none)."""
    current = next((s for s in sections if s.id == info.section_id), None)
    text = _("Which section does “{field}” go into? Now: {section}.").format(
        field=html.quote(field_label(info)),
        section=html.quote(current.name) if current else _("none"),
    )
    if not sections:
        text += "\n" + _("There are no sections yet: /section_add {entity} Delivery").format(
            entity=info.entity.value
        )
    kb = InlineKeyboardBuilder()
    for section in sections:
        mark = "• " if section.id == info.section_id else ""
        kb.button(
            text=f"{mark}{section.name[:40]}",
            callback_data=FieldSectionCb(id=info.id, section=section.id),
        )
    kb.button(text=_("No section"), callback_data=FieldSectionCb(id=info.id, section=0))
    kb.button(text=_("« Field"), callback_data=FieldCb(action="open", id=info.id))
    kb.adjust(2)
    return text, kb.as_markup()


def view_title(screen: ViewScreen, department: str | None) -> str:
    entity = entity_name(screen.entity)
    if screen.scope.user_id is not None:
        return _("<b>My card view: {entity}</b>").format(entity=entity)
    if department is not None:
        return _("<b>Card view of {department}: {entity}</b>").format(
            department=html.quote(department), entity=entity
        )
    return _("<b>Common card view: {entity}</b> (for everybody)").format(entity=entity)


def render_view(
    screen: ViewScreen, department: str | None, page: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    """The fields in the view's order (by section) with ✅ shown / ➖ left out; per field ▲,
    its name (tap: show or hide) and ▼, a page of them at a time."""
    lines = [view_title(screen, department)]
    if not screen.stored:
        lines.append(_("Not set yet: this is what the cards show now."))
    section_id: int | None = -1
    for line in screen.lines:
        current = line.section.id if line.section else None
        if current != section_id:
            section_id = current
            if line.section is not None:
                lines.append(f"<b>{html.quote(line.section.name)}</b>")
        mark = "✅" if line.shown else "➖"
        lines.append(f"{mark} {html.quote(_capital(field_label(line.field)))}")
    lines += [
        "",
        _(
            "Tap a field to show or hide it; ▲ ▼ move it within its section. The title, stage, "
            "pipeline and responsible always stay on top."
        ),
    ]
    pages = max(1, -(-len(screen.lines) // PER_PAGE))
    page = min(max(page, 0), pages - 1)

    def cb(action: str, field: int = 0, to: int = page) -> ViewCb:
        return ViewCb(
            action=action,
            entity=screen.entity.value,
            dept=screen.scope.department_id or 0,
            mine=screen.scope.user_id is not None,
            field=field,
            page=to,
        )

    kb = InlineKeyboardBuilder()
    sizes: list[int] = []
    for line in screen.lines[page * PER_PAGE : (page + 1) * PER_PAGE]:
        fid = line.field.id
        mark = "✅" if line.shown else "➖"
        kb.button(text="▲", callback_data=cb("up", fid))
        kb.button(
            text=f"{mark} {_capital(field_label(line.field))[:30]}",
            callback_data=cb("tog", fid),
        )
        kb.button(text="▼", callback_data=cb("dn", fid))
        sizes.append(3)
    nav = 0
    if page > 0:
        kb.button(text="◀", callback_data=cb("pg", to=page - 1))
        nav += 1
    if page + 1 < pages:
        kb.button(text="▶", callback_data=cb("pg", to=page + 1))
        nav += 1
    if nav:
        sizes.append(nav)
    if screen.stored:
        kb.button(text=_("↺ Reset"), callback_data=cb("rst"))
        sizes.append(1)
    kb.adjust(*sizes)
    return "\n".join(lines), kb.as_markup()


def _capital(label: str) -> str:
    """`kwota` → `Kwota`: a system field's name starts a line here."""
    return label[:1].upper() + label[1:]


def view_usage() -> str:
    return _(
        "Usage: /view TYPE [DEPARTMENT], for example /view deal or /view deal Sales; "
        "/my_view deal arranges your own."
    )


def layout_refusal(exc: CrmError) -> str | None:
    """Why a section or a view was refused, in words; None: not ours."""
    if isinstance(exc, NameTaken) and exc.what == "section":
        return _("A section called “{name}” exists already.").format(name=html.quote(exc.name))
    if isinstance(exc, InvalidValue) and exc.field == "sections":
        return _(
            "A card can have at most {n} section.", "A card can have at most {n} sections.",
            MAX_SECTIONS,
        ).format(n=MAX_SECTIONS)  # fmt: skip
    if isinstance(exc, UnknownName) and exc.what == "department":
        return _("No department is called “{name}”. See /departments.").format(
            name=html.quote(exc.text)
        )
    if isinstance(exc, AccessDenied) and exc.right is Right.MY_VIEW:
        return _(
            "Your role does not allow arranging your own card view. Ask your admin for the "
            "“my card view” right."
        )
    return None
