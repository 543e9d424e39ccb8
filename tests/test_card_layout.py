"""Which view a reader's card follows and what its blocks hold (crm.field_book, no database)."""

from __future__ import annotations

from crm.enums import EntityType, FieldKind
from crm.field_book import (
    FieldBook,
    FieldInfo,
    SectionInfo,
    ViewInfo,
    card_layout,
    department_chain,
    view_for,
)

DEAL = EntityType.DEAL


def info(id: int, code: str, *, system: bool = False, section: int | None = None,
         hidden: bool = False) -> FieldInfo:  # fmt: skip
    return FieldInfo(id, DEAL, code, None if system else code, FieldKind.STRING, system, hidden,
                     section, id * 10)  # fmt: skip


FIELDS = (
    info(1, "title", system=True),
    info(2, "amount", system=True),
    info(3, "comment", system=True),
    info(4, "UF_CRM_4", section=100),
    info(5, "UF_CRM_5", section=100),
    info(6, "UF_CRM_6"),
    info(7, "UF_CRM_7", hidden=True),
)
SECTIONS = (SectionInfo(100, DEAL, "Dostawa", 10),)
PARENTS = {10: None, 11: 10, 12: 11}  # Sales > Sales North > Sales North B2B


def test_the_nearest_department_view_wins_and_my_view_needs_the_right() -> None:
    common = ViewInfo(1, DEAL, None, None, (6, 2))
    sales = ViewInfo(2, DEAL, None, 10, (2, 6))
    mine = ViewInfo(3, DEAL, 42, None, (3,))
    book = FieldBook(FIELDS, SECTIONS, (common, sales, mine))
    assert department_chain(PARENTS, 12) == [12, 11, 10]
    assert view_for(book, DEAL, 42, department_chain(PARENTS, 12), own=True) == mine
    assert view_for(book, DEAL, 42, department_chain(PARENTS, 12), own=False) == sales
    assert view_for(book, DEAL, 7, [20], own=True) == common
    assert view_for(book, EntityType.LEAD, 42, [10], own=True) is None


def test_blocks_follow_the_view_and_never_show_hidden_or_unseen_fields() -> None:
    view = ViewInfo(1, DEAL, None, None, (5, -2, 7, 4))
    book = FieldBook(FIELDS, SECTIONS, (view,))
    blocks = card_layout(book, DEAL, view, lambda f: f.id != 6)
    assert blocks is not None
    assert [(b.section.name if b.section else None, [f.id for f in b.fields]) for b in blocks] == [
        (None, [3]),  # amount left out by the view, 6 unseen, 7 hidden; the title is on top
        ("Dostawa", [5, 4]),
    ]
    assert card_layout(FieldBook(FIELDS), DEAL, None, lambda f: True) is None  # the classic card
