"""The access policy in the domain, without Telegram or a database."""

from __future__ import annotations

import pytest

from crm.enums import EntityType, Level, Operation, Right, Role
from crm.errors import AccessDenied
from crm.permissions import AccessPolicy, Actor, Owner

policy = AccessPolicy()
REP = Actor(user_id=1, role=Role.REP, department_id=10)
REP_SAME_DEPT = Actor(user_id=2, role=Role.REP, department_id=10)
MANAGER = Actor(user_id=3, role=Role.MANAGER, department_id=10)
OTHER_MANAGER = Actor(user_id=4, role=Role.MANAGER, department_id=20)
ADMIN = Actor(user_id=5, role=Role.ADMIN)
NO_DEPT_MANAGER = Actor(user_id=6, role=Role.MANAGER, department_id=None)

OWN_DEAL = Owner(user_id=1, department_id=10)
COLLEAGUE_DEAL = Owner(user_id=2, department_id=10)
FOREIGN_DEAL = Owner(user_id=9, department_id=20)
UNASSIGNED = Owner(user_id=None, department_id=None)


@pytest.mark.parametrize(
    ("actor", "owner", "expected"),
    [
        (REP, OWN_DEAL, True),
        (REP, COLLEAGUE_DEAL, False),
        (REP, FOREIGN_DEAL, False),
        (REP, UNASSIGNED, False),
        (MANAGER, OWN_DEAL, True),
        (MANAGER, COLLEAGUE_DEAL, True),
        (MANAGER, FOREIGN_DEAL, False),
        (OTHER_MANAGER, FOREIGN_DEAL, True),
        (OTHER_MANAGER, OWN_DEAL, False),
        (NO_DEPT_MANAGER, UNASSIGNED, False),  # no department is not "the same department"
        (ADMIN, FOREIGN_DEAL, True),
        (ADMIN, UNASSIGNED, True),
    ],
)
@pytest.mark.parametrize("op", [Operation.READ, Operation.UPDATE, Operation.DELETE])
def test_levels_own_department_all(actor: Actor, owner: Owner, expected: bool, op) -> None:
    for entity in EntityType:
        assert policy.allows(actor, entity, op, owner) is expected


def test_reps_cannot_export_or_import() -> None:
    assert policy.level(REP, EntityType.CONTACT, Operation.EXPORT) is Level.NONE
    assert policy.level(REP, EntityType.DEAL, Operation.IMPORT) is Level.NONE
    assert not policy.allows(REP, EntityType.DEAL, Operation.EXPORT, OWN_DEAL)
    assert policy.level(MANAGER, EntityType.DEAL, Operation.EXPORT) is Level.DEPARTMENT


def test_require_raises_with_what_was_refused() -> None:
    with pytest.raises(AccessDenied) as info:
        policy.require(REP, EntityType.DEAL, Operation.UPDATE, FOREIGN_DEAL)
    assert info.value.entity is EntityType.DEAL
    assert info.value.operation is Operation.UPDATE
    policy.require(REP, EntityType.DEAL, Operation.UPDATE, OWN_DEAL)  # no exception


def test_rights_by_role() -> None:
    assert all(policy.has_right(ADMIN, right) for right in Right)
    assert policy.has_right(MANAGER, Right.MERGE)
    assert policy.has_right(MANAGER, Right.GROUP_SETTINGS)
    assert not policy.has_right(MANAGER, Right.SETTINGS)
    assert not policy.has_right(MANAGER, Right.INVITE)
    assert not any(policy.has_right(REP, right) for right in Right)
    with pytest.raises(AccessDenied) as info:
        policy.require_right(REP, Right.SETTINGS)
    assert info.value.right is Right.SETTINGS


def test_scope_for_list_queries() -> None:
    scope = policy.scope(MANAGER, EntityType.LEAD, Operation.READ)
    assert (scope.level, scope.user_id, scope.department_id) == (Level.DEPARTMENT, 3, 10)
    assert policy.scope(ADMIN, EntityType.LEAD, Operation.READ).level is Level.ALL
