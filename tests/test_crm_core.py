"""The CRM core in the domain, without Telegram, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal

import pytest

from crm.codes import ElementRef, parse_code
from crm.context import Crm
from crm.conversion import ConversionOptions
from crm.editing import Field
from crm.elements import ElementInput
from crm.enums import EntityType, Role
from crm.errors import (
    AccessDenied,
    AlreadyConverted,
    CannotDelete,
    InvalidValue,
    NameTaken,
    NotFound,
    ReasonRequired,
    StageMismatch,
)
from crm.modes import CrmMode
from crm.money import from_minor
from crm.parsing import parse_line
from crm.permissions import Actor
from crm.users import actor_of
from storage.models import Company, Contact, Deal, Lead

Fresh = Callable[[], AbstractAsyncContextManager[Crm]]


async def person(crm: Crm, role: Role, name: str, department: str | None = None) -> Actor:
    return actor_of((await crm.users.create_invite(role, name, department)).user)


def line(text: str) -> ElementInput:
    return ElementInput.from_parsed(parse_line(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("D7", ElementRef(EntityType.DEAL, 7)),
        ("/d7", ElementRef(EntityType.DEAL, 7)),
        ("CO2", ElementRef(EntityType.COMPANY, 2)),
        ("c3", ElementRef(EntityType.CONTACT, 3)),
        ("L12", ElementRef(EntityType.LEAD, 12)),
        ("Д7", ElementRef(EntityType.DEAL, 7)),  # Cyrillic look-alikes
        ("СО2", ElementRef(EntityType.COMPANY, 2)),
        ("/D7@crm_bot", ElementRef(EntityType.DEAL, 7)),
        ("D0", None),
        ("D", None),
        ("X7", None),
        ("D7x", None),
        ("D99999999999999999999", None),
    ],
)
def test_codes(text: str, expected: ElementRef | None) -> None:
    assert parse_code(text) == expected
    if expected is not None:
        assert parse_code(expected.code) == expected


async def test_simple_mode_lead_is_a_deal_with_a_contact(crm: Crm, fresh: Fresh) -> None:
    rep = await person(crm, Role.REP, "Anna")
    data = line("Jan Kowalski +48 600 100 200 jan@firma.pl 5000 zł strona internetowa")
    created = await crm.elements.intake(rep, data)
    assert [r.entity for r in created.created] == [EntityType.DEAL, EntityType.CONTACT]
    async with fresh() as crm2:
        await _check_simple_intake(crm2, rep, created.primary, created.created[1])


async def _check_simple_intake(
    crm: Crm, rep: Actor, deal_ref: ElementRef, contact_ref: ElementRef
) -> None:
    deal = await crm.elements.load(rep, deal_ref)
    assert isinstance(deal, Deal)
    assert (deal.title, deal.amount_minor, deal.currency) == ("strona internetowa", 500000, "PLN")
    assert deal.stage.code == "NEW" and deal.closed_at is None
    contact = await crm.elements.load(rep, contact_ref)
    assert isinstance(contact, Contact)
    assert (contact.name, contact.first_name, contact.last_name) == (
        "Jan Kowalski",
        "Jan",
        "Kowalski",
    )
    assert deal.contact_id == contact.id
    phones, emails = await crm.elements.communications(contact_ref)
    assert (phones, emails) == (["+48600100200"], ["jan@firma.pl"])


async def test_classic_mode_lead_is_a_lead(crm: Crm) -> None:
    admin = await person(crm, Role.ADMIN, "Boss")
    await crm.conversion.set_mode(admin, CrmMode.CLASSIC)
    created = await crm.elements.intake(
        admin, line("Иван Петров +7 916 123-45-67 10к руб поставка")
    )
    lead = await crm.elements.load(admin, created.primary)
    assert isinstance(lead, Lead)
    assert (lead.title, lead.contact_name, lead.amount_minor, lead.currency) == (
        "поставка", "Иван Петров", 1_000_000, "RUB"
    )  # fmt: skip
    assert lead.status.code == "NEW"


async def test_empty_input_is_refused(crm: Crm) -> None:
    rep = await person(crm, Role.REP, "Anna")
    with pytest.raises(InvalidValue):
        await crm.elements.create(rep, EntityType.DEAL, line("   "))


async def test_duplicates_by_phone_email_and_name(crm: Crm) -> None:
    anna = await person(crm, Role.REP, "Anna", "Sprzedaż")
    boris = await person(crm, Role.REP, "Boris", "Sprzedaż")
    created = await crm.elements.create(
        anna, EntityType.CONTACT, line("Jan Kowalski +48 600 100 200 jan@firma.pl")
    )
    contact = created.primary

    by_phone = await crm.elements.find_duplicates(
        anna, EntityType.CONTACT, line("Piotr 0048 600-100-200")
    )
    assert [(h.ref, h.reason, h.visible) for h in by_phone] == [(contact, "phone", True)]
    assert by_phone[0].label == "Jan Kowalski"

    by_email = await crm.elements.find_duplicates(
        anna, EntityType.LEAD, line("JAN@FIRMA.PL oferta")
    )
    assert [(h.ref, h.reason) for h in by_email] == [(contact, "email")]

    by_name = await crm.elements.find_duplicates(anna, EntityType.CONTACT, line("Jan Kowalsky"))
    assert [(h.ref, h.reason) for h in by_name] == [(contact, "name")]

    # Boris may not read Anna's contact: he learns only whose it is.
    hidden = await crm.elements.find_duplicates(boris, EntityType.CONTACT, line("+48600100200"))
    assert [(h.ref, h.visible, h.label, h.responsible) for h in hidden] == [
        (contact, False, "", "Anna")
    ]

    assert (
        await crm.elements.find_duplicates(
            anna, EntityType.CONTACT, line("Zofia Nowak +48 601 000 000")
        )
        == []
    )


async def test_stage_moves_to_won_and_lost(crm: Crm) -> None:
    rep = await person(crm, Role.REP, "Anna")
    deal_ref = (
        await crm.elements.create(rep, EntityType.DEAL, line("Wdrożenie 10 000 zł"))
    ).primary
    _deal, stages = await crm.stages.targets(rep, deal_ref)
    by_code = {s.code: s for s in stages}
    moved = await crm.stages.move(rep, deal_ref, by_code["PREPARATION"].id)
    assert moved.closed_at is None
    won = await crm.stages.move(rep, deal_ref, by_code["WON"].id)
    assert won.closed_at is not None and won.stage.semantic == "success"

    other = (await crm.elements.create(rep, EntityType.DEAL, line("Second"))).primary
    with pytest.raises(ReasonRequired):
        await crm.stages.move(rep, other, by_code["LOSE"].id)
    lost = await crm.stages.move(rep, other, by_code["LOSE"].id, reason="too expensive")
    assert isinstance(lost, Deal)
    assert (lost.failure_reason, lost.stage.semantic) == ("too expensive", "failure")
    entries, total = await crm.elements.timeline(rep, other)
    assert total == 2
    assert entries[0].kind == "stage" and entries[0].data["reason"] == "too expensive"
    # Reopening is allowed and clears the closing.
    reopened = await crm.stages.move(rep, other, by_code["NEW"].id)
    assert reopened.closed_at is None and reopened.failure_reason is None


async def test_stage_of_another_pipeline_is_refused(crm: Crm) -> None:
    admin = await person(crm, Role.ADMIN, "Boss")
    second = await crm.stages.add_pipeline(admin, "Serwis")
    foreign_stage = (await crm.stages.stages(second.id))[0]
    deal_ref = (await crm.elements.create(admin, EntityType.DEAL, line("Deal"))).primary
    with pytest.raises(StageMismatch):
        await crm.stages.move(admin, deal_ref, foreign_stage.id)
    lead_status = (await crm.stages.lead_statuses())[1]
    with pytest.raises(StageMismatch):
        await crm.stages.move(admin, deal_ref, lead_status.id)


async def test_pipeline_and_stage_configuration(crm: Crm) -> None:
    admin = await person(crm, Role.ADMIN, "Boss")
    rep = await person(crm, Role.REP, "Anna")
    with pytest.raises(AccessDenied):
        await crm.stages.add_pipeline(rep, "Mine")
    pipeline = await crm.stages.add_pipeline(admin, "Serwis")
    assert [s.code for s in await crm.stages.stages(pipeline.id)] == ["NEW", "WON", "LOSE"]
    stage = await crm.stages.add_stage(admin, pipeline.id, "Diagnoza")
    assert [s.name or s.code for s in await crm.stages.stages(pipeline.id)] == [
        "NEW",
        "Diagnoza",
        "WON",
        "LOSE",
    ]
    for system in await crm.stages.stages(pipeline.id):
        if system.is_system:
            with pytest.raises(CannotDelete) as info:
                await crm.stages.delete_stage(admin, system.id)
            assert info.value.why == "system"
    renamed = await crm.stages.rename_stage(
        admin, (await crm.stages.stages(pipeline.id))[0].id, "Zgłoszenie"
    )
    assert renamed.name == "Zgłoszenie"
    deal_ref = (await crm.elements.create(admin, EntityType.DEAL, line("X"))).primary
    default_new = (await crm.stages.stages(1))[0]
    extra = await crm.stages.add_stage(admin, 1, "Negocjacje")
    await crm.stages.move(admin, deal_ref, extra.id)
    with pytest.raises(CannotDelete) as info:
        await crm.stages.delete_stage(admin, extra.id)
    assert info.value.why == "in_use"
    await crm.stages.move(admin, deal_ref, default_new.id)
    await crm.stages.delete_stage(admin, extra.id)
    await crm.stages.delete_stage(admin, stage.id)


async def test_lead_conversion(crm: Crm, fresh: Fresh) -> None:
    admin = await person(crm, Role.ADMIN, "Boss")
    await crm.conversion.set_mode(admin, CrmMode.CLASSIC)
    lead_ref = (
        await crm.elements.intake(admin, line("Jan Kowalski +48 600 100 200 1500 EUR audyt"))
    ).primary
    result = await crm.conversion.convert(
        admin, lead_ref.id, ConversionOptions(contact=True, deal=True)
    )
    assert [r.entity for r in result.created] == [EntityType.CONTACT, EntityType.DEAL]
    async with fresh() as crm2:
        await _check_conversion(crm2, admin, lead_ref, result.created)
    with pytest.raises(AlreadyConverted):
        await crm.conversion.convert(admin, lead_ref.id, ConversionOptions())
    with pytest.raises(InvalidValue):
        ConversionOptions(contact=False, company=False, deal=False)


async def _check_conversion(
    crm: Crm, admin: Actor, lead_ref: ElementRef, created: tuple[ElementRef, ...]
) -> None:
    deal = await crm.elements.load(admin, created[1])
    assert isinstance(deal, Deal)
    assert (deal.title, deal.amount_minor, deal.currency, deal.lead_id) == (
        "audyt",
        150000,
        "EUR",
        lead_ref.id,
    )
    lead = await crm.elements.load(admin, lead_ref)
    assert (
        isinstance(lead, Lead) and lead.closed_at is not None and lead.status.code == "CONVERTED"
    )
    phones, _ = await crm.elements.communications(created[0])
    assert phones == ["+48600100200"]
    assert deal.contact_id == created[0].id


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("Jan Kowalski +48 600 100 200 audyt", "Jan", "Kowalski"),
        ("jan kowalski oferta", "Jan", "Kowalski"),
        ("Иван Петров +7 916 123-45-67 поставка", "Иван", "Петров"),
        ("Katarzyna Wiśniewska wdrożenie 2000 zł", "Katarzyna", "Wiśniewska"),
    ],
)
async def test_a_converted_contact_is_built_like_a_created_one(
    crm: Crm, fresh: Fresh, text: str, first: str, last: str
) -> None:
    """Conversion goes through creation's factories: the contact has its first and last
    name, the name search key (found as a duplicate, however the name is written) and a
    timeline entry saying which lead it came from; read back through a new session."""
    admin = await person(crm, Role.ADMIN, "Boss")
    rep = await person(crm, Role.REP, "Anna")
    await crm.conversion.set_mode(admin, CrmMode.CLASSIC)
    lead_ref = (await crm.elements.intake(rep, line(text))).primary
    result = await crm.conversion.convert(rep, lead_ref.id, ConversionOptions())
    contact_ref = result.created[0]
    async with fresh() as crm2:
        contact = await crm2.elements.load(rep, contact_ref)
        assert isinstance(contact, Contact)
        assert (contact.first_name, contact.last_name) == (first, last)
        assert contact.responsible_id == rep.user_id
        for written in (f"{first} {last}", f"{last} {first}", f"{first} {last}".lower()):
            hits = await crm2.elements.find_duplicates(rep, EntityType.CONTACT, line(written))
            assert (contact_ref, "name") in [(h.ref, h.reason) for h in hits], written
        entries, _ = await crm2.elements.timeline(rep, contact_ref)
        assert [(e.kind, e.data) for e in entries] == [("created", {"from_lead": lead_ref.code})]


async def test_a_converted_company_and_its_contact(crm: Crm, fresh: Fresh) -> None:
    admin = await person(crm, Role.ADMIN, "Boss")
    await crm.conversion.set_mode(admin, CrmMode.CLASSIC)
    lead_ref = (
        await crm.elements.intake(admin, line("Jan Kowalski ACME Sp. z o.o. +48 600 100 200"))
    ).primary
    options = ConversionOptions(contact=True, company=True, deal=True)
    result = await crm.conversion.convert(admin, lead_ref.id, options)
    assert [r.entity for r in result.created] == [
        EntityType.COMPANY,
        EntityType.CONTACT,
        EntityType.DEAL,
    ]
    async with fresh() as crm2:
        company, contact, deal = [await crm2.elements.load(admin, r) for r in result.created]
        assert isinstance(company, Company) and isinstance(contact, Contact)
        assert isinstance(deal, Deal)
        assert company.title == "ACME Sp. z o.o."
        assert (contact.first_name, contact.last_name, contact.company_id) == (
            "Jan",
            "Kowalski",
            company.id,
        )
        assert (deal.contact_id, deal.company_id, deal.lead_id) == (
            contact.id,
            company.id,
            lead_ref.id,
        )
        hits = await crm2.elements.find_duplicates(
            admin, EntityType.COMPANY, ElementInput(title="ACME sp. z o.o.")
        )
        assert company.id in [h.ref.id for h in hits if h.ref.entity is EntityType.COMPANY]


async def test_switching_classic_to_simple_converts_active_leads(crm: Crm) -> None:
    admin = await person(crm, Role.ADMIN, "Boss")
    rep = await person(crm, Role.REP, "Anna")
    await crm.conversion.set_mode(admin, CrmMode.CLASSIC)
    second = await crm.stages.add_pipeline(admin, "Serwis")
    refs = [
        (await crm.elements.intake(rep, line(f"Klient {i} Sp. z o.o. +48 60{i} 100 200"))).primary
        for i in range(3)
    ]
    junk = (await crm.stages.lead_statuses())[-1]
    await crm.stages.move(rep, refs[2], junk.id, reason="spam")  # closed: not converted
    with pytest.raises(AccessDenied):
        await crm.conversion.set_mode(rep, CrmMode.SIMPLE)
    options = ConversionOptions(contact=False, company=True, deal=True, pipeline_id=second.id)
    conversions = await crm.conversion.set_mode(admin, CrmMode.SIMPLE, options)
    assert [c.lead for c in conversions] == refs[:2]
    assert await crm.elements.mode() is CrmMode.SIMPLE
    for conversion in conversions:
        company, deal = [await crm.elements.load(admin, r) for r in conversion.created]
        assert isinstance(company, Company) and isinstance(deal, Deal)
        assert deal.pipeline_id == second.id and deal.company_id == company.id
        assert deal.responsible_id == rep.user_id  # the lead's responsible keeps the work
    assert await crm.conversion.open_lead_count() == 0


async def test_access_to_elements(crm: Crm) -> None:
    anna = await person(crm, Role.REP, "Anna", "Sprzedaż")
    boris = await person(crm, Role.REP, "Boris", "Sprzedaż")
    head = await person(crm, Role.MANAGER, "Head", "Sprzedaż")
    other_head = await person(crm, Role.MANAGER, "Other", "Serwis")
    ref = (await crm.elements.create(anna, EntityType.DEAL, line("wdrożenie systemu"))).primary
    # Unreadable is told as missing (NotFound), so nobody learns that someone's D1 exists.
    with pytest.raises(NotFound):
        await crm.elements.load(boris, ref)
    with pytest.raises(NotFound):
        await crm.elements.add_note(boris, ref, "hi")
    await crm.elements.load(head, ref)
    with pytest.raises(NotFound):
        await crm.elements.load(other_head, ref)
    with pytest.raises(NotFound):
        await crm.elements.load(anna, ElementRef(EntityType.DEAL, 999))
    # Lists and search are scoped the same way.
    assert (await crm.search.page(boris, EntityType.DEAL, mine=False)).total == 0
    assert (await crm.search.page(head, EntityType.DEAL, mine=False)).total == 1
    assert await crm.search.find(boris, "wdrożenie") == []
    assert [(type(e), e.id) for e in await crm.search.find(head, "WDROŻENIE")] == [(Deal, ref.id)]


async def test_responsible_is_per_element(crm: Crm) -> None:
    head = await person(crm, Role.MANAGER, "Head", "Sprzedaż")
    anna = await person(crm, Role.REP, "Anna", "Sprzedaż")
    stranger = await person(crm, Role.REP, "Zed", "Serwis")
    company = (
        await crm.elements.create(head, EntityType.COMPANY, line("ACME Sp. z o.o."))
    ).primary
    contact = (await crm.elements.create(head, EntityType.CONTACT, line("Jan Kowalski"))).primary
    element, user = await crm.elements.set_responsible(head, company, anna.user_id)
    assert element.responsible_id == anna.user_id and user.name == "Anna"
    assert (await crm.elements.load(head, contact)).responsible_id == head.user_id
    with pytest.raises(AccessDenied):  # outside the manager's department
        await crm.elements.set_responsible(head, contact, stranger.user_id)
    with pytest.raises(AccessDenied):  # a rep cannot hand their element to someone else
        await crm.elements.set_responsible(anna, company, head.user_id)
    assignable = {u.name for u in await crm.elements.assignable_users(head, contact)}
    assert assignable == set()  # nobody has bound Telegram yet
    entries, _ = await crm.elements.timeline(head, company)
    assert entries[0].kind == "assigned" and entries[0].data == {
        "old": head.user_id,
        "new": anna.user_id,
    }


async def test_find_by_phone_written_differently(crm: Crm) -> None:
    rep = await person(crm, Role.REP, "Anna")
    created = await crm.elements.intake(rep, line("Jan Kowalski +48 600 100 200 oferta"))
    hits = await crm.search.find(rep, "600-100-200")
    assert {(type(h).__name__, h.id) for h in hits} == {
        ("Contact", created.created[1].id),
        ("Deal", created.primary.id),
    }
    assert await crm.search.find(rep, "0048 600 100 200") != []
    assert await crm.search.find(rep, "x") == []


async def test_notes_and_timeline_paging(crm: Crm) -> None:
    rep = await person(crm, Role.REP, "Anna")
    ref = (await crm.elements.create(rep, EntityType.CONTACT, line("Jan Kowalski"))).primary
    for i in range(7):
        await crm.elements.add_note(rep, ref, f"note {i}")
    first, total = await crm.elements.timeline(rep, ref, page=0, per_page=5)
    second, _ = await crm.elements.timeline(rep, ref, page=1, per_page=5)
    assert total == 8
    assert [e.data.get("text") for e in first] == [
        "note 6",
        "note 5",
        "note 4",
        "note 3",
        "note 2",
    ]
    assert [e.kind for e in second] == ["comment", "comment", "created"]
    with pytest.raises(InvalidValue):
        await crm.elements.add_note(rep, ref, "   ")


async def test_money_rounding(crm: Crm) -> None:
    rep = await person(crm, Role.REP, "Anna")
    ref = (await crm.elements.create(rep, EntityType.DEAL, line("Projekt 1 500,555 zł"))).primary
    deal = await crm.elements.load(rep, ref)
    assert isinstance(deal, Deal)
    assert deal.amount_minor == 150056  # half up, to the cent
    assert from_minor(deal.amount_minor) == Decimal("1500.56")


async def test_dictionaries_system_entries_stay(crm: Crm) -> None:
    admin = await person(crm, Role.ADMIN, "Boss")
    rep = await person(crm, Role.REP, "Anna")
    sources = await crm.dictionaries.items("source")
    assert [s.code for s in sources][:3] == ["CALL", "EMAIL", "WEB"]
    with pytest.raises(CannotDelete):
        await crm.dictionaries.delete(admin, sources[0].id)
    renamed = await crm.dictionaries.rename(admin, sources[0].id, "Telefon przychodzący")
    assert renamed.name == "Telefon przychodzący" and renamed.code == "CALL"
    with pytest.raises(AccessDenied):
        await crm.dictionaries.add(rep, "source", "Facebook")
    first = await crm.dictionaries.add(admin, "source", "Facebook")
    with pytest.raises(NameTaken):  # names are unique per list, case-insensitively
        await crm.dictionaries.add(admin, "source", " facebook ")
    second = await crm.dictionaries.add(admin, "source", "Facebook!")
    assert first.code == "C_FACEBOOK" and second.code != first.code
    ref = (await crm.elements.create(rep, EntityType.DEAL, line("Naprawa"))).primary
    element = await crm.dictionaries.set_source(rep, ref, first.id)
    assert element.source == "C_FACEBOOK"
    with pytest.raises(CannotDelete) as info:  # in use: said with how many use it
        await crm.dictionaries.delete(admin, first.id)
    assert (info.value.why, info.value.count) == ("in_use", 1)
    await crm.dictionaries.set_source(rep, ref, second.id)
    await crm.dictionaries.delete(admin, first.id)
    with pytest.raises(InvalidValue):
        await crm.dictionaries.items("nonsense")


async def test_move_deal_to_another_pipeline(crm: Crm) -> None:
    admin = await person(crm, Role.ADMIN, "Boss")
    service = await crm.stages.add_pipeline(admin, "Serwis")
    ref = (await crm.elements.create(admin, EntityType.DEAL, line("Naprawa"))).primary
    won = next(s for s in await crm.stages.stages(1) if s.code == "WON")
    await crm.stages.move(admin, ref, won.id)
    moved = await crm.stages.move_to_pipeline(admin, ref, service.id)
    assert (
        moved.pipeline_id == service.id and moved.stage.code == "NEW" and moved.closed_at is None
    )
    with pytest.raises(NotFound):
        await crm.stages.move_to_pipeline(admin, ref, 999)


async def test_an_old_exact_duplicate_is_found_among_many_similar(crm: Crm) -> None:
    rep = await person(crm, Role.REP, "Anna")
    original = (await crm.elements.create(rep, EntityType.CONTACT, line("Jan Nowak"))).primary
    for i in range(220):  # many newer contacts sharing the surname, none the whole name
        await crm.elements.create(rep, EntityType.CONTACT, ElementInput(name=f"Adam{i} Nowak"))
    hits = await crm.elements.find_duplicates(rep, EntityType.CONTACT, line("Jan Nowak"))
    assert original in [h.ref for h in hits]


async def test_a_deal_is_found_by_its_client_and_company_after_every_edit(
    crm: Crm, fresh: Callable[[], AbstractAsyncContextManager[Crm]]
) -> None:
    """One rule for a deal's search text (title, client, company) at creation and after a
    title or client rename: editing the title does not lose the company."""
    rep = await person(crm, Role.REP, "Anna")
    data = ElementInput(title="Okna PCV", name="Jan Kowalski", company="Budmax")
    ref = (await crm.elements.create(rep, EntityType.DEAL, data)).primary
    await crm.edits.edit(rep, ref, Field.TITLE, "Drzwi antywłamaniowe", region="PL")
    contact = ElementRef(EntityType.CONTACT, 1)
    await crm.edits.edit(rep, contact, Field.NAME, "Jan Nowak", region="PL")
    async with fresh() as crm2:
        deal = await crm2.repos.session.get(Deal, ref.id)
        assert deal is not None and deal.search_text == "drzwi antywłamaniowe jan nowak budmax"
        for query in ("budmax", "Nowak", "drzwi"):
            found = await crm2.search.find(rep, query)
            assert ref in [ElementRef(EntityType.DEAL, e.id) for e in found if isinstance(e, Deal)]


async def test_a_deal_made_from_a_client_card_is_found_by_the_client_and_its_company(
    crm: Crm, fresh: Callable[[], AbstractAsyncContextManager[Crm]]
) -> None:
    """`/deal C1 …` (a deal of an existing contact): its search text holds the contact's
    name and the contact's company, as a deal created in one line does."""
    rep = await person(crm, Role.REP, "Anna")
    data = ElementInput(title="Okna PCV", name="Jan Kowalski", company="Budmax")
    await crm.elements.create(rep, EntityType.DEAL, data)
    contact = ElementRef(EntityType.CONTACT, 1)
    ref = (await crm.elements.create_deal_for(rep, contact, ElementInput(title="Rolety"))).primary
    async with fresh() as crm2:
        deal = await crm2.repos.session.get(Deal, ref.id)
        assert deal is not None and deal.search_text == "rolety jan kowalski budmax"
        for query in ("budmax", "Kowalski", "rolety"):
            found = await crm2.search.find(rep, query)
            assert ref in [ElementRef(EntityType.DEAL, e.id) for e in found if isinstance(e, Deal)]
