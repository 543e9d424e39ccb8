"""Role-based access: per element type and operation a level (none / own / department / all).

Every service asks here before it reads or changes an element; nothing the client sends
(callback data, a code in a command) is trusted. The policy is data, so custom roles can be
loaded from the database later without touching the services.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from crm.enums import EntityType, Level, Operation, Right, Role
from crm.errors import AccessDenied


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: the CRM user, never the Telegram account as such."""

    user_id: int
    role: Role
    department_id: int | None = None


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose element it is: the responsible user and that user's department."""

    user_id: int | None
    department_id: int | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """What a list query may return; storage turns it into a WHERE clause."""

    level: Level
    user_id: int
    department_id: int | None


@dataclass(frozen=True, slots=True)
class RolePolicy:
    levels: Mapping[tuple[EntityType, Operation], Level]
    rights: frozenset[Right] = field(default_factory=frozenset)

    def level(self, entity: EntityType, op: Operation) -> Level:
        return self.levels.get((entity, op), Level.NONE)


def _uniform(levels: Mapping[Operation, Level]) -> dict[tuple[EntityType, Operation], Level]:
    return {(entity, op): level for entity in EntityType for op, level in levels.items()}


DEFAULT_POLICIES: Mapping[Role, RolePolicy] = {
    Role.ADMIN: RolePolicy(
        levels=_uniform({op: Level.ALL for op in Operation}),
        rights=frozenset(Right),
    ),
    Role.MANAGER: RolePolicy(
        levels=_uniform(
            {
                Operation.READ: Level.DEPARTMENT,
                Operation.ADD: Level.DEPARTMENT,
                Operation.UPDATE: Level.DEPARTMENT,
                Operation.DELETE: Level.DEPARTMENT,
                Operation.EXPORT: Level.DEPARTMENT,
                Operation.IMPORT: Level.DEPARTMENT,
            }
        ),
        rights=frozenset({Right.MERGE, Right.TEAM_REPORTS, Right.GROUP_SETTINGS}),
    ),
    Role.REP: RolePolicy(
        levels=_uniform(
            {
                Operation.READ: Level.OWN,
                Operation.ADD: Level.OWN,
                Operation.UPDATE: Level.OWN,
                Operation.DELETE: Level.OWN,
                Operation.EXPORT: Level.NONE,
                Operation.IMPORT: Level.NONE,
            }
        ),
    ),
}


class AccessPolicy:
    def __init__(self, policies: Mapping[Role, RolePolicy] = DEFAULT_POLICIES) -> None:
        self._policies = policies

    def level(self, actor: Actor, entity: EntityType, op: Operation) -> Level:
        return self._policies[actor.role].level(entity, op)

    def has_right(self, actor: Actor, right: Right) -> bool:
        return right in self._policies[actor.role].rights

    def allows(self, actor: Actor, entity: EntityType, op: Operation, owner: Owner) -> bool:
        return reaches(self.level(actor, entity, op), actor, owner)

    def scope(self, actor: Actor, entity: EntityType, op: Operation) -> Scope:
        return Scope(self.level(actor, entity, op), actor.user_id, actor.department_id)

    def require(self, actor: Actor, entity: EntityType, op: Operation, owner: Owner) -> None:
        if not self.allows(actor, entity, op, owner):
            raise AccessDenied(entity=entity, operation=op)

    def require_right(self, actor: Actor, right: Right) -> None:
        if not self.has_right(actor, right):
            raise AccessDenied(right=right)


def reaches(level: Level, actor: Actor, owner: Owner) -> bool:
    if level is Level.ALL:
        return True
    if level is Level.NONE:
        return False
    if owner.user_id is not None and owner.user_id == actor.user_id:
        return True
    return (
        level is Level.DEPARTMENT
        and actor.department_id is not None
        and owner.department_id == actor.department_id
    )
