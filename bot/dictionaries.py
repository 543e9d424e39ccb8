"""How /dictionaries looks in a chat: the dictionaries, a dictionary's values, one value.

A system value carries 🔒 (renamable, never deletable); a custom one says "(custom)". Lead
statuses add the mark of their semantic (✅ converted, ❌ junk).
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.support import LazyProxy

from bot.callbacks import DictCb, PickCb
from bot.cards import fit, short
from bot.labels import dictionary_name, entry_name, kind_title
from crm.dictionaries import Entry
from crm.dictionary_kinds import LEAD_STATUS
from storage.models import DictionaryItem, Stage

SYSTEM = "🔒 "
SEMANTIC = {"process": "", "success": "✅ ", "failure": "❌ "}

# What a change says, per dictionary where it has its own words (the /source_* commands
# answer as they always did); {dictionary} is the dictionary's title.
_ADDED: dict[str, LazyProxy] = {"source": __("Source [{id}] added: {name}.")}
_RENAMED: dict[str, LazyProxy] = {"source": __("Source [{id}] is now called {name}.")}
_DELETED: dict[str, LazyProxy] = {"source": __("Source [{id}] deleted: {name}.")}
_ADDED_ANY = __("{dictionary}: [{id}] {name} added.")
_RENAMED_ANY = __("{dictionary}: [{id}] is now called {name}.")
_DELETED_ANY = __("{dictionary}: [{id}] {name} deleted.")


def _said(texts: dict[str, LazyProxy], default: LazyProxy, kind: str, entry: Entry) -> str:
    return str(texts.get(kind, default)).format(
        dictionary=kind_title(kind), id=entry.id, name=html.quote(entry_name(entry))
    )


def added(kind: str, entry: Entry) -> str:
    return _said(_ADDED, _ADDED_ANY, kind, entry)


def renamed(kind: str, entry: Entry) -> str:
    return _said(_RENAMED, _RENAMED_ANY, kind, entry)


def deleted(kind: str, entry: Entry) -> str:
    return _said(_DELETED, _DELETED_ANY, kind, entry)


def marked(entry: Entry) -> str:
    """`🔒 Call`, `✅ 🔒 Good lead`, `Trade fair (custom)`."""
    semantic = SEMANTIC.get(entry.semantic, "") if isinstance(entry, Stage) else ""
    name = short(entry_name(entry), 60)
    if entry.is_system:
        return f"{semantic}{SYSTEM}{name}"
    return f"{semantic}{name} " + _("(custom)")


def menu(kinds: Sequence[str]) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    for kind in kinds:
        kb.button(text=kind_title(kind), callback_data=DictCb(action="k", kind=kind))
    kb.adjust(2)
    text = _(
        "<b>Dictionaries</b>\n"
        "The lists whose values are picked on cards. Pick one to add, rename or delete "
        "its values."
    )
    return text, kb.as_markup()


def listing(
    kind: str, entries: Sequence[Entry], *, buttons: bool
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A dictionary's values with their ids; with buttons for whoever may change them."""
    lines = [f"<b>{html.quote(kind_title(kind))}</b>"]
    lines += [f"  [{e.id}] {html.quote(marked(e))}" for e in entries]
    if kind == LEAD_STATUS:
        lines.append(_("🔒 The initial and the final statuses can be renamed, not deleted."))
    else:
        lines.append(
            _("🔒 Built-in values can be renamed, not deleted; custom ones can be deleted.")
        )
    if not buttons:
        return fit("\n".join(lines)), None
    kb = InlineKeyboardBuilder()
    for entry in entries:
        kb.button(text=marked(entry), callback_data=DictCb(action="v", kind=kind, id=entry.id))
    kb.button(text=_("➕ Add"), callback_data=DictCb(action="add", kind=kind))
    kb.button(text=_("◀ Dictionaries"), callback_data=DictCb(action="menu"))
    kb.adjust(2)
    return fit("\n".join(lines)), kb.as_markup()


def value(kind: str, entry: Entry) -> tuple[str, InlineKeyboardMarkup]:
    """One value: rename it or delete it (a refusal says why)."""
    if entry.is_system:
        what = (
            _("The initial or a final status: it can be renamed, not deleted.")
            if kind == LEAD_STATUS
            else _("Built-in: it can be renamed, not deleted.")
        )
    else:
        what = _("Custom: it can be renamed, and deleted while nothing holds it.")
    text = f"<b>{html.quote(kind_title(kind))}</b> · [{entry.id}] " + html.quote(entry_name(entry))
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✏️ Rename"), callback_data=DictCb(action="rn", kind=kind, id=entry.id))
    kb.button(text=_("🗑 Delete"), callback_data=DictCb(action="rm", kind=kind, id=entry.id))
    kb.button(text=_("◀ Back"), callback_data=DictCb(action="k", kind=kind))
    kb.adjust(2)
    return text + "\n" + what, kb.as_markup()


def choices(
    kind_letters: str, element_id: int, kind: str, current: str | None,
    items: Sequence[DictionaryItem],
) -> InlineKeyboardMarkup:  # fmt: skip
    """A dictionary's values to pick for an element (the card's ✏️ Edit); ✅ marks its own."""
    kb = InlineKeyboardBuilder()
    for item in items:
        mark = "✅ " if item.code == current else ""
        kb.button(
            text=mark + short(dictionary_name(item), 60),
            callback_data=PickCb(what=kind, kind=kind_letters, id=element_id, value=item.id),
        )
    kb.adjust(2)
    return kb.as_markup()
