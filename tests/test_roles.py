"""Stored roles and departments in the domain, checked through a fresh session: the seeded
presets are today's defaults, edits and assignments are committed, the admin cannot lock
everyone out, the department tree stays a tree and "own + department" reaches its subtree."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest

from crm.context import Crm
from crm.enums import EntityType, Level, Operation, Right, Role
from crm.errors import AccessDenied, InvalidValue, NameTaken, UnknownName
from crm.permissions import DEFAULT_POLICIES, AccessPolicy, Actor, Owner, RoleBook, reaches
from crm.roles import load_roles, split_names
from crm.users import actor_of
from storage.models import User

Fresh = Callable[[], AbstractAsyncContextManager[Crm]]


async def admin_of(crm: Crm) -> Actor:
    issued = await crm.users.create_invite(Role.ADMIN, "Szef")
    return actor_of(issued.user)


async def test_the_migration_seeds_the_three_presets_with_the_default_matrix(crm: Crm) -> None:
    roles = await load_roles(crm.repos)
    assert [r.key for r in roles.roles] == [Role.ADMIN, Role.MANAGER, Role.REP]
    for role in roles.roles:
        assert role.key is not None
        default = DEFAULT_POLICIES[role.key]
        for entity in EntityType:
            for op in Operation:
                assert role.policy.level(entity, op) is default.level(entity, op), (role, entity)
        assert role.policy.rights == default.rights
    rep = roles.role(3)
    assert rep is not None and roles.book.by_key[Role.REP.value] == rep.policy


async def test_edits_are_committed_and_reach_the_policy(crm: Crm, fresh: Fresh) -> None:
    boss = await admin_of(crm)
    rep = actor_of((await crm.users.create_invite(Role.REP, "Ola")).user)
    role = await crm.roles.create(boss, "  Czytelnik   deali ", 3)
    assert role.name == "Czytelnik deali" and role.base is Role.REP and role.key is None
    for _n in range(2):
        role = await crm.roles.cycle_level(boss, role.id, EntityType.DEAL, Operation.READ)
    assert role.policy.level(EntityType.DEAL, Operation.READ) is Level.ALL
    role = await crm.roles.toggle_right(boss, role.id, Right.MERGE)
    user, given = await crm.roles.assign_role(boss, rep.user_id, role.id)
    assert (user.role, user.role_id, given.id) == (Role.REP, role.id, role.id)
    async with fresh() as crm2:
        stored = await crm2.repos.roles.get(role.id)
        assert stored is not None
        assert stored.levels["deal:read"] == 3 and stored.levels["deal:update"] == 1
        assert stored.rights == ["merge"]
        fresh_user = await crm2.repos.users.get(rep.user_id)
        assert fresh_user is not None and fresh_user.role_id == role.id
        # A fresh runtime loads the stored roles and applies them to the re-read user.
        await crm2.roles.refresh()
        actor = actor_of(fresh_user)
        policy = crm2.runtime.policy
        assert policy.level(actor, EntityType.DEAL, Operation.READ) is Level.ALL
        assert policy.level(actor, EntityType.DEAL, Operation.UPDATE) is Level.OWN
        assert policy.has_right(actor, Right.MERGE)
        assert not policy.allows(actor, EntityType.DEAL, Operation.UPDATE, Owner(999))
    # Back to a preset: role_id is cleared, the preset's key is the role.
    manager = (await load_roles(crm.repos)).role(2)
    assert manager is not None
    await crm.roles.assign_role(boss, rep.user_id, manager.id)
    async with fresh() as crm2:
        again = await crm2.repos.users.get(rep.user_id)
        assert again is not None and (again.role, again.role_id) == (Role.MANAGER, None)


async def test_who_may_edit_and_what_is_refused(crm: Crm) -> None:
    boss = await admin_of(crm)
    rep = actor_of((await crm.users.create_invite(Role.REP, "Ola")).user)
    for attempt in (
        crm.roles.list(rep),
        crm.roles.cycle_level(rep, 3, EntityType.LEAD, Operation.READ),
        crm.roles.toggle_right(rep, 3, Right.SETTINGS),
        crm.roles.create(rep, "Moja", 3),
        crm.roles.assign_role(rep, rep.user_id, 1),
        crm.roles.add_department(rep, "Moja"),
    ):
        with pytest.raises(AccessDenied):
            await attempt
    with pytest.raises(InvalidValue):  # nobody could edit roles again
        await crm.roles.toggle_right(boss, 1, Right.SETTINGS)
    with pytest.raises(InvalidValue):  # the last admin keeps the admin role
        await crm.roles.assign_role(boss, boss.user_id, 3)
    with pytest.raises(NameTaken):
        await crm.roles.create(boss, "Czytelnik", 3)
        await crm.roles.create(boss, "CZYTELNIK", 2)
    with pytest.raises(UnknownName):
        await crm.roles.find(boss, "Nie ma takiej", {})
    found = await crm.roles.find(boss, "  handlowiec ", {Role.REP: "Handlowiec"})
    assert found.key is Role.REP


async def test_the_department_tree_heads_and_subtree(crm: Crm, fresh: Fresh) -> None:
    boss = await admin_of(crm)
    sales = await crm.roles.add_department(boss, "Sprzedaż")
    branch = await crm.roles.add_department(boss, "Sprzedaż Warszawa", sales.id)
    team = await crm.roles.add_department(boss, "Zespół A", branch.id)
    other = await crm.roles.add_department(boss, "Serwis")
    head = (await crm.users.create_invite(Role.MANAGER, "Ola")).user
    await crm.roles.set_head(boss, sales.id, head.id)
    with pytest.raises(InvalidValue):  # under its own subdepartment: a cycle
        await crm.roles.set_parent(boss, sales.id, team.id)
    with pytest.raises(NameTaken):
        await crm.roles.add_department(boss, "sprzedaż  warszawa")
    async with fresh() as crm2:
        roles = await load_roles(crm2.repos)
        stored = roles.department(sales.id)
        assert stored is not None and stored.head_user_id == head.id
        stored_team = roles.department(team.id)
        assert stored_team is not None and stored_team.parent_id == branch.id
        assert roles.book.subtree(sales.id) == {sales.id, branch.id, team.id}
        assert roles.book.subtree(branch.id) == {branch.id, team.id}
        assert roles.book.subtree(other.id) == {other.id}
        member = await crm2.repos.users.get(head.id)
        assert member is not None and member.department_id == sales.id  # the head joined it
    policy = AccessPolicy()
    policy.use(roles.book)
    manager = Actor(user_id=head.id, role=Role.MANAGER, department_id=sales.id)
    for dept, seen in ((sales.id, True), (branch.id, True), (team.id, True), (other.id, False)):
        owner = Owner(user_id=12345, department_id=dept)
        assert policy.allows(manager, EntityType.DEAL, Operation.READ, owner) is seen, dept
    low = Actor(user_id=77, role=Role.MANAGER, department_id=team.id)
    assert not policy.allows(low, EntityType.DEAL, Operation.READ, Owner(1, sales.id))
    scope = policy.scope(manager, EntityType.DEAL, Operation.READ)
    assert scope.department_ids == {sales.id, branch.id, team.id}


def test_reaches_without_a_book_keeps_the_department_alone() -> None:
    actor = Actor(user_id=1, role=Role.MANAGER, department_id=10)
    assert reaches(Level.DEPARTMENT, actor, Owner(2, 10))
    assert not reaches(Level.DEPARTMENT, actor, Owner(2, 11))
    assert reaches(Level.DEPARTMENT, actor, Owner(2, 11), frozenset({10, 11}))
    book = RoleBook(by_id={}, by_key={}, parents={10: None, 11: 10, 12: 11, 13: None})
    assert book.subtree(10) == {10, 11, 12} and book.subtree(None) == frozenset()
    assert book.subtree(99) == {99}  # a department the snapshot has not seen yet


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Anna Nowak Kierownik", ("anna", "mgr")),
        ("anna   nowak   starszy handlowiec", ("anna", "senior")),
        ("ANNA NOWAK STARSZY HANDLOWIEC", ("anna", "senior")),
        ("Anna Kierownik", ("short", "mgr")),
        ("Anna Nowak", None),
        ("Kierownik", None),
        ("Jan Kierownik", None),
    ],
)
def test_split_names_takes_names_with_spaces_in_any_case(
    text: str, expected: tuple[str, str] | None
) -> None:
    people = [("Anna Nowak", "anna"), ("Anna", "short")]
    roles = [("Kierownik", "mgr"), ("Starszy handlowiec", "senior")]
    assert split_names(text, people, roles) == expected


def test_user_role_id_is_optional_so_old_users_map() -> None:
    assert User.__table__.c.role_id.nullable


async def test_the_crm_acting_by_its_own_rules_keeps_full_rights(crm: Crm) -> None:
    """An admin may narrow the stored admin preset; a triage hand-over or an inbound
    submission (a system actor) still acts with the built-in admin's matrix."""
    boss = await admin_of(crm)
    await crm.roles.cycle_level(boss, 1, EntityType.LEAD, Operation.ADD)  # all -> none
    policy = crm.runtime.policy
    assert policy.level(boss, EntityType.LEAD, Operation.ADD) is Level.NONE
    system = Actor(user_id=boss.user_id, role=Role.ADMIN, system=True)
    assert policy.level(system, EntityType.LEAD, Operation.ADD) is Level.ALL
    assert policy.has_right(system, Right.SETTINGS)
