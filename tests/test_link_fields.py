"""Custom fields that link to other elements, as a card shows them: the linked element's name
when the reader may read it, the bare code when not (nobody learns a stranger's client's
name through a link), and the names of any number of links read in one query a type."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.codes import ElementRef
from crm.context import Crm
from crm.elements import ElementInput
from crm.enums import EntityType, FieldKind, Role
from crm.field_book import Reading
from crm.permissions import Actor
from crm.users import actor_of

Fresh = Callable[[], AbstractAsyncContextManager[Crm]]
READING = Reading("pl", "Europe/Warsaw", "PLN", datetime(2026, 12, 3, tzinfo=UTC))


async def person(crm: Crm, role: Role, name: str, department: str) -> Actor:
    return actor_of((await crm.users.create_invite(role, name, department)).user)


async def _card_statements(
    fresh: Fresh, engine: AsyncEngine, actor: Actor, ref: ElementRef
) -> Any:
    """The card as `actor` reads it through a new session, and how many statements it took."""
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with fresh() as crm:
            card = await crm.elements.card(actor, ref)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    return card, len(statements)


async def test_a_card_names_the_linked_elements_its_reader_may_read(
    crm: Crm, fresh: Fresh, engine: AsyncEngine
) -> None:
    admin = await person(crm, Role.ADMIN, "Admin", "Zarząd")
    anna = await person(crm, Role.REP, "Anna", "Sprzedaż")
    boris = await person(crm, Role.REP, "Boris", "Serwis")
    referrers = [
        await crm.fields.add(
            admin, EntityType.DEAL, FieldKind.LINK, f"Polecający {n}", ["contact"]
        )
        for n in range(1, 5)
    ]
    partner = await crm.fields.add(admin, EntityType.DEAL, FieldKind.LINK, "Partner", ["company"])
    mine = (
        await crm.elements.create(anna, EntityType.CONTACT, ElementInput(name="Jan Kowalski"))
    ).primary
    also_mine = (
        await crm.elements.create(anna, EntityType.CONTACT, ElementInput(name="Ewa Lis"))
    ).primary
    theirs = (
        await crm.elements.create(boris, EntityType.CONTACT, ElementInput(name="Olga Tajna"))
    ).primary
    firm = (
        await crm.elements.create(anna, EntityType.COMPANY, ElementInput(company="Budmax"))
    ).primary
    deal = (await crm.elements.create(anna, EntityType.DEAL, ElementInput(title="Okna"))).primary

    await crm.fields.set_value(anna, deal, referrers[0].id, mine.code, READING)
    await crm.elements.card(anna, deal)  # the runtime's caches (fields, catalog) filled
    _card, one_link = await _card_statements(fresh, engine, anna, deal)
    # Boris's contact was linked by the admin, who may read it; Anna may not.
    for field, target in zip(referrers[1:], (also_mine, theirs, mine), strict=True):
        await crm.fields.set_value(admin, deal, field.id, target.code, READING)
    _card, four_links = await _card_statements(fresh, engine, anna, deal)
    assert four_links == one_link  # one query for all the contacts, however many links

    await crm.fields.set_value(anna, deal, partner.id, firm.code, READING)
    card, statements = await _card_statements(fresh, engine, anna, deal)
    assert statements == one_link + 1  # and one for the companies
    shown = {s.field.name: (s.value, s.label) for s in card.fields}
    assert shown == {
        "Polecający 1": (mine.code, "Jan Kowalski"),
        "Polecający 2": (also_mine.code, "Ewa Lis"),
        "Polecający 3": (theirs.code, None),  # only the code: not Anna's to read
        "Polecający 4": (mine.code, "Jan Kowalski"),
        "Partner": (firm.code, "Budmax"),
    }
    admins, _ = await _card_statements(fresh, engine, admin, deal)
    by_admin = {s.field.name: s.label for s in admins.fields}
    assert by_admin["Polecający 3"] == "Olga Tajna"
