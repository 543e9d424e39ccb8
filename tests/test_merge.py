"""Merging duplicates in the domain (crm/merge.py), on SQLite and PostgreSQL, checked through a
fresh session: what moves (deals, activities, timeline, a company's contacts, product rows,
links), which values win, who may merge, the audit record, and the undo within its window."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.codes import ElementRef
from crm.context import Crm
from crm.editing import Field
from crm.elements import ElementInput
from crm.enums import EntityType, FieldKind, Level, Operation, Right, Role
from crm.errors import AccessDenied, CannotMerge, CannotUndo, NotFound
from crm.field_book import Reading
from crm.merge import FIELDS, FieldValue, MergeContext, MergeField, Side, ValueKind
from crm.permissions import DEFAULT_POLICIES, Actor, RoleBook, RolePolicy
from crm.users import actor_of
from storage.base import Base
from storage.models import (
    Activity,
    ActivityBinding,
    Communication,
    Company,
    Contact,
    Deal,
    DealProduct,
    ElementLink,
    MergeRecord,
    TimelineEntry,
)
from storage.repositories.merges import POINTERS
from tests.harness import FakeClock

Fresh = Callable[[], AbstractAsyncContextManager[Crm]]
C = EntityType.CONTACT
NO_DELETE_ROLE = 99


def ref(entity: EntityType, element_id: int) -> ElementRef:
    return ElementRef(entity, element_id)


async def person(crm: Crm, role: Role, name: str) -> Actor:
    return actor_of((await crm.users.create_invite(role, name, None)).user)


async def two_contacts(crm: Crm, actor: Actor) -> None:
    """C1 Jan Kowalski and its duplicate C2, which has a deal, activities and a company."""
    await crm.elements.create(
        actor,
        C,
        ElementInput(name="Jan Kowalski", phones=("+48601234567",), emails=("jan@firma.pl",)),
    )
    await crm.elements.create(
        actor,
        C,
        ElementInput(
            name="Jan Kowalski-Nowak",
            company="Budmax Sp. z o.o.",
            phones=("+48501000200",),
            emails=("JAN@firma.pl".lower(), "jan.k@budmax.pl"),
            comment="Woli kontakt mailowy",
        ),
    )  # C2 and CO1
    await crm.elements.create_deal_for(
        actor, ref(C, 2), ElementInput(title="Okna PCV", amount=Decimal(8000), currency="PLN")
    )  # D1: contact C2, company CO1
    await crm.elements.create_deal_for(
        actor, ref(C, 1), ElementInput(title="Drzwi", amount=Decimal(2000), currency="PLN")
    )  # D2: contact C1
    deadline = crm.runtime.clock.now() + timedelta(days=1)
    await crm.activities.create(actor, ref(C, 2), "Oddzwonić w sprawie okien", deadline)
    await crm.activities.create(actor, ref(EntityType.DEAL, 1), "Wysłać ofertę", deadline)
    await crm.elements.add_note(actor, ref(C, 2), "Rozmawiałem, jest zainteresowany")


async def test_merging_contacts_moves_deals_activities_and_history(crm: Crm, fresh: Fresh) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    await two_contacts(crm, admin)
    plan = await crm.merge.compare(admin, ref(C, 1), ref(C, 2))
    rows = {row.field.key: row for row in plan.rows}
    assert rows["name"].choosable and rows["name"].default is Side.SURVIVOR
    assert not rows["company"].choosable and rows["company"].default is Side.MERGED
    assert not rows["phones"].choosable and rows["phones"].united_items() == (
        "+48601234567",
        "+48501000200",
    )
    assert rows["comment"].default is Side.MERGED  # the survivor has none
    outcome = await crm.merge.merge(admin, ref(C, 1), ref(C, 2), {"name": Side.MERGED})
    assert (outcome.deals, outcome.activities) == (1, 2)
    async with fresh() as crm2:
        session = crm2.repos.session
        assert await session.get(Contact, 2) is None
        survivor = await session.get(Contact, 1)
        assert survivor is not None
        assert survivor.name == "Jan Kowalski-Nowak" and survivor.last_name == "Kowalski-Nowak"
        assert survivor.company_id == 1 and survivor.comment == "Woli kontakt mailowy"
        assert "nowak" in survivor.search_text
        deal = await session.get(Deal, 1)
        assert deal is not None and deal.contact_id == 1
        phones, emails = await crm2.elements.communications(ref(C, 1))
        assert phones == ["+48601234567", "+48501000200"]
        assert emails == ["jan@firma.pl", "jan.k@budmax.pl"]  # the shared one once
        left = await session.scalars(
            select(Communication).where(
                Communication.entity == "contact", Communication.entity_id == 2
            )
        )
        assert left.all() == []
        bindings = (await session.scalars(select(ActivityBinding))).all()
        assert sorted((b.activity_id, b.entity, b.entity_id) for b in bindings) == [
            (1, "contact", 1),
            (2, "company", 1),
            (2, "contact", 1),
            (2, "deal", 1),
        ]
        activity = await session.get(Activity, 1)
        assert activity is not None and (activity.client_entity, activity.client_id) == (
            "contact",
            1,
        )
        entries = (
            await session.scalars(
                select(TimelineEntry)
                .where(TimelineEntry.entity == "contact")
                .order_by(TimelineEntry.id)
            )
        ).all()
        assert {e.entity_id for e in entries} == {1}
        kinds = [e.kind for e in entries]
        assert kinds.count("created") == 2 and "comment" in kinds
        merged_entry = entries[-1]
        assert merged_entry.kind == "merged" and merged_entry.data["merged"] == "C2"
        assert merged_entry.data["label"] == "Jan Kowalski-Nowak"
        assert merged_entry.author_id == admin.user_id
        record = (await session.scalars(select(MergeRecord))).one()
        assert (record.entity, record.survivor_id, record.merged_id) == ("contact", 1, 2)
        assert record.merged_code == "C2" and record.actor_id == admin.user_id
        assert record.snapshot["element"]["name"] == "Jan Kowalski-Nowak"
        assert record.snapshot["phones"] == ["+48501000200"]
        assert record.moved["deal_contact"] == [1]
        assert record.moved["before"]["name"] == "Jan Kowalski"


async def test_undo_brings_the_contact_back_with_what_moved(crm: Crm, fresh: Fresh) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    await two_contacts(crm, admin)
    await crm.merge.merge(admin, ref(C, 1), ref(C, 2), {"name": Side.MERGED})
    undone = await crm.merge.undo(admin)
    assert undone.restored == ref(C, 2) and undone.same_id and undone.kept_fields == ()
    async with fresh() as crm2:
        session = crm2.repos.session
        back = await session.get(Contact, 2)
        survivor = await session.get(Contact, 1)
        assert back is not None and survivor is not None
        assert back.name == "Jan Kowalski-Nowak" and back.company_id == 1
        assert survivor.name == "Jan Kowalski" and survivor.company_id is None
        assert survivor.comment is None
        assert (await crm2.elements.communications(ref(C, 1))) == (
            ["+48601234567"],
            ["jan@firma.pl"],
        )
        assert (await crm2.elements.communications(ref(C, 2))) == (
            ["+48501000200"],
            ["jan@firma.pl", "jan.k@budmax.pl"],
        )
        deal = await session.get(Deal, 1)
        assert deal is not None and deal.contact_id == 2
        bound = (
            await session.scalars(  # order: sorted below
                select(ActivityBinding.entity_id).where(ActivityBinding.entity == "contact")
            )
        ).all()
        assert sorted(bound) == [2, 2]
        history = await crm2.elements.timeline(admin, ref(C, 2), per_page=20)
        assert [e.kind for e in history[0]] == ["unmerged", "comment", "activity", "created"]
        record = (await session.scalars(select(MergeRecord))).one()
        assert record.undone_at is not None and record.restored_id == 2
    with pytest.raises(CannotUndo) as again:
        await crm.merge.undo(admin)
    assert again.value.why == "none"  # the newest one not undone: there is none


async def test_undo_keeps_what_changed_since_and_refuses_after_the_window(
    crm: Crm, fresh: Fresh, clock: FakeClock
) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    await two_contacts(crm, admin)
    outcome = await crm.merge.merge(admin, ref(C, 1), ref(C, 2), {"name": Side.MERGED})
    await crm.elements.add_note(admin, ref(C, 1), "po scaleniu")
    await crm.edits.edit(admin, ref(C, 1), Field.NAME, "Jan Kowalski (Budmax)", region="PL")
    undone = await crm.merge.undo(admin, outcome.merge_id)
    assert undone.kept_fields == ("name",)
    async with fresh() as crm2:
        survivor = await crm2.repos.session.get(Contact, 1)
        assert survivor is not None and survivor.name == "Jan Kowalski (Budmax)"
        notes = await crm2.elements.timeline(admin, ref(C, 1), per_page=20)
        assert "comment" in [e.kind for e in notes[0]]  # written after the merge: stays
    # A second merge, undone too late.
    await crm.merge.merge(admin, ref(C, 1), ref(C, 2))
    clock.advance(hours=24, seconds=1)
    with pytest.raises(CannotUndo) as late:
        await crm.merge.undo(admin)
    assert (late.value.why, late.value.code) == ("expired", "C2")
    async with fresh() as crm2:
        assert await crm2.repos.session.get(Contact, 2) is None


async def test_merging_companies_moves_their_contacts_and_deals(crm: Crm, fresh: Fresh) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    co = EntityType.COMPANY
    await crm.elements.create(
        admin, co, ElementInput(company="Budmax Sp. z o.o.", phones=("+48221002030",))
    )
    await crm.elements.create(
        admin, C, ElementInput(name="Ewa Lis", company="BUDMAX spółka z o.o.")
    )  # C1 and CO2
    await crm.elements.create_deal_for(admin, ref(co, 2), ElementInput(title="Dach"))
    outcome = await crm.merge.merge(admin, ref(co, 1), ref(co, 2))
    assert (outcome.contacts, outcome.deals) == (1, 1)
    async with fresh() as crm2:
        session = crm2.repos.session
        assert await session.get(Company, 2) is None
        contact = await session.get(Contact, 1)
        deal = await session.get(Deal, 1)
        assert contact is not None and contact.company_id == 1
        assert deal is not None and deal.company_id == 1


async def test_merging_deals_moves_product_rows_and_links(crm: Crm, fresh: Fresh) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    d = EntityType.DEAL
    await crm.elements.create(admin, d, ElementInput(title="Okna", name="Jan Kowalski"))
    await crm.elements.create(
        admin, d, ElementInput(title="Okna PCV", amount=Decimal(100), currency="PLN")
    )
    product = await crm.products.add(admin, "Okno dwuskrzydłowe", Decimal(1500), "PLN")
    await crm.products.add_row(admin, 2, product.id, Decimal(2))
    repeat = await crm.products.create_from(admin, ref(d, 2))  # D3, a repeat sale of D2
    outcome = await crm.merge.merge(admin, ref(d, 1), ref(d, 2), {"title": Side.MERGED})
    assert outcome.merged == ref(d, 2)
    async with fresh() as crm2:
        session = crm2.repos.session
        assert await session.get(Deal, 2) is None
        survivor = await session.get(Deal, 1)
        assert survivor is not None and survivor.title == "Okna PCV"
        assert survivor.contact_id == 1  # the survivor's own contact stays
        assert survivor.amount_minor == 300_000  # the sum of the rows it has now
        rows = (await session.scalars(select(DealProduct))).all()
        assert [r.deal_id for r in rows] == [1]
        link = (await session.scalars(select(ElementLink))).one()
        assert (link.source_entity, link.source_id, link.target_id) == ("deal", 1, repeat.id)
    undone = await crm.merge.undo(admin)
    assert undone.restored == ref(d, 2)
    async with fresh() as crm2:
        session = crm2.repos.session
        rows = (await session.scalars(select(DealProduct))).all()
        assert [r.deal_id for r in rows] == [2]
        survivor = await session.get(Deal, 1)
        assert survivor is not None and survivor.title == "Okna" and survivor.amount_minor is None
        link = (await session.scalars(select(ElementLink))).one()
        assert link.source_id == 2


def _with_role(crm: Crm, policy: RolePolicy) -> None:
    crm.runtime.policy.use(
        RoleBook(
            by_id={NO_DELETE_ROLE: policy},
            by_key={r.value: p for r, p in DEFAULT_POLICIES.items()},
        )
    )


async def test_who_may_merge(crm: Crm, fresh: Fresh) -> None:
    admin = await person(crm, Role.ADMIN, "Admin")
    anna = await person(crm, Role.REP, "Anna")
    marek = await person(crm, Role.REP, "Marek")
    await crm.elements.create(anna, C, ElementInput(name="Jan Kowalski"))
    await crm.elements.create(anna, C, ElementInput(name="Jan Kowalsky"))
    await crm.elements.create(marek, C, ElementInput(name="Jan Kowalski"))  # C3, Marek's
    await crm.elements.create(anna, EntityType.COMPANY, ElementInput(company="Kowalski S.A."))
    # Someone else's element: refused as if it did not exist, whichever side it is on.
    for pair in ((ref(C, 1), ref(C, 3)), (ref(C, 3), ref(C, 1))):
        with pytest.raises(NotFound) as hidden:
            await crm.merge.compare(anna, *pair)
        assert hidden.value.key == "C3"
    with pytest.raises(NotFound):
        await crm.merge.merge(anna, ref(C, 1), ref(C, 999))
    with pytest.raises(CannotMerge) as kinds:
        await crm.merge.compare(anna, ref(C, 1), ref(EntityType.COMPANY, 1))
    assert kinds.value.why == "types"
    with pytest.raises(CannotMerge) as same:
        await crm.merge.compare(anna, ref(C, 1), ref(C, 1))
    assert same.value.why == "same"
    # A role that edits but does not delete its contacts, without the merge right.
    rep = DEFAULT_POLICIES[Role.REP]
    levels = dict(rep.levels)
    levels[(C, Operation.DELETE)] = Level.NONE
    _with_role(crm, RolePolicy(levels=levels))
    limited = Actor(anna.user_id, Role.REP, role_id=NO_DELETE_ROLE)
    with pytest.raises(AccessDenied) as denied:
        await crm.merge.merge(limited, ref(C, 1), ref(C, 2))
    assert (denied.value.operation, denied.value.right) == (Operation.DELETE, Right.MERGE)
    # The merge right stands in for the delete rights.
    _with_role(crm, RolePolicy(levels=levels, rights=frozenset({Right.MERGE})))
    await crm.merge.merge(limited, ref(C, 1), ref(C, 2))
    # The default rep may merge two of their own; the admin anyone's.
    await crm.merge.merge(admin, ref(C, 1), ref(C, 3))
    async with fresh() as crm2:
        stored = (await crm2.repos.session.scalars(select(Contact))).all()
        assert [c.id for c in stored] == [1]
        records = (
            await crm2.repos.session.scalars(select(MergeRecord).order_by(MergeRecord.id))
        ).all()
        assert [(r.merged_code, r.actor_id) for r in records] == [
            ("C2", anna.user_id),
            ("C3", admin.user_id),
        ]
    # Another rep cannot undo Anna's merge.
    with pytest.raises(CannotUndo):
        await crm.merge.undo(marek, records[0].id)


async def test_a_custom_field_provider_is_compared_and_merged(crm: Crm, fresh: Fresh) -> None:
    """The registry's extension point: fields known at run time are compared and merged."""
    admin = await person(crm, Role.ADMIN, "Admin")
    await crm.elements.create(admin, C, ElementInput(name="Jan Kowalski"))
    await crm.elements.create(
        admin, C, ElementInput(name="Jan Kowalski", comment="NIP 5251234567")
    )
    store: dict[int, str] = {1: "VIP", 2: "Hurt"}

    async def read(_ctx: MergeContext, element: object) -> FieldValue:
        value = store.get(getattr(element, "id", 0))
        return FieldValue(value, text=value or "")

    async def write(_ctx: MergeContext, element: object, value: object) -> None:
        store[getattr(element, "id", 0)] = str(value)

    async def provider(_ctx: MergeContext, entity: EntityType) -> list[MergeField]:
        return [MergeField("cf:7", ValueKind.TEXT, frozenset({C}), read, write, name="Segment")]

    FIELDS.provide(provider)
    try:
        plan = await crm.merge.compare(admin, ref(C, 1), ref(C, 2))
        row = next(r for r in plan.rows if r.field.key == "cf:7")
        assert row.choosable and (row.survivor.text, row.merged.text) == ("VIP", "Hurt")
        await crm.merge.merge(admin, ref(C, 1), ref(C, 2), {"cf:7": Side.MERGED})
        assert store[1] == "Hurt"
    finally:
        FIELDS.withdraw(provider)


async def test_custom_field_values_are_chosen_merged_and_undone(crm: Crm, fresh: Fresh) -> None:
    """Custom fields are rows of the comparison: the merged one's value fills an empty field,
    a differing one is chosen, a restricted field is not offered to who may not see it (the
    survivor's value stays, the merged one's is kept for the undo), and the undo gives every
    value back to its element."""
    admin = await person(crm, Role.ADMIN, "Admin")
    anna = actor_of((await crm.users.create_invite(Role.REP, "Anna", "Sprzedaż")).user)
    reading = Reading("pl", "Europe/Warsaw", "PLN", crm.runtime.clock.now())
    segment = await crm.fields.add(admin, C, FieldKind.LIST, "Segment", ["VIP", "Hurt", "Detal"])
    since = await crm.fields.add(admin, C, FieldKind.DATE, "Klient od")
    margin = await crm.fields.add(admin, C, FieldKind.STRING, "Marża")
    await crm.elements.create(anna, C, ElementInput(name="Jan Kowalski"))
    await crm.elements.create(anna, C, ElementInput(name="Jan Kowalski"))
    for element, field_id, text in (
        (1, segment.id, "VIP"),
        (2, segment.id, "Hurt"),
        (2, since.id, "2026-03-01"),
        (1, margin.id, "12%"),
        (2, margin.id, "30%"),
    ):
        await crm.fields.set_value(admin, ref(C, element), field_id, text, reading)
    await crm.fields.restrict(admin, margin.id, [admin.user_id], [])
    admin_rows = {r.field.key for r in (await crm.merge.compare(admin, ref(C, 1), ref(C, 2))).rows}
    assert f"field:{margin.id}" in admin_rows
    plan = await crm.merge.compare(anna, ref(C, 1), ref(C, 2))
    rows = {row.field.key: row for row in plan.rows}
    assert f"field:{margin.id}" not in rows  # Anna does not see it
    chosen, filled = rows[f"field:{segment.id}"], rows[f"field:{since.id}"]
    assert chosen.field.name == "Segment" and chosen.choosable
    assert (chosen.survivor.value, chosen.merged.value) == ("VIP", "Hurt")
    assert not filled.choosable and filled.default is Side.MERGED
    picks = {f"field:{segment.id}": Side.MERGED}
    outcome = await crm.merge.merge(anna, ref(C, 1), ref(C, 2), picks)
    async with fresh() as crm2:
        kept = await crm2.repos.fields.values_of("contact", 1)
        assert kept == {segment.id: "Hurt", since.id: "2026-03-01", margin.id: "12%"}
        assert await crm2.repos.fields.values_of("contact", 2) == {}
    await crm.merge.undo(anna, outcome.merge_id)
    async with fresh() as crm2:
        assert await crm2.repos.fields.values_of("contact", 1) == {
            segment.id: "VIP",
            margin.id: "12%",
        }
        assert await crm2.repos.fields.values_of("contact", 2) == {
            segment.id: "Hurt",
            since.id: "2026-03-01",
            margin.id: "30%",
        }


def test_every_column_referring_to_an_element_is_moved_by_a_merge() -> None:
    """A table added later that points at leads, contacts, companies or deals must join
    storage.repositories.merges.POINTERS, or a merge would leave its rows behind."""
    covered = {(p.column.class_.__tablename__, p.column.key) for p in POINTERS}
    covered |= {("communications", "entity_id"), ("merges", "survivor_id")}
    covered |= {("merges", "merged_id"), ("merges", "restored_id")}
    elements = {"leads", "contacts", "companies", "deals"}
    polymorphic = ("entity_id", "element_id", "client_id", "source_id", "target_id", "deal_id")
    missing = []
    for table in Base.metadata.tables.values():
        for column in table.columns:
            keys = list(column.foreign_keys)
            # A foreign key to an element, or an id with no foreign key beside an entity column.
            refers = any(fk.column.table.name in elements for fk in keys) or (
                not keys and column.key in polymorphic and column.key != "id"
            )
            if refers and (table.name, column.key) not in covered:
                missing.append(f"{table.name}.{column.key}")
    assert missing == [], f"not moved by a merge: {missing}"
