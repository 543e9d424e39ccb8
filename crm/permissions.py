"""Role-based access: per element type and operation a level (none / own / department / all).

Every service asks here before it reads or changes an element; nothing the client sends
(callback data, a code in a command) is trusted. The policy is data: the roles an admin keeps
in the database (`crm.roles`) reach it as a `RoleBook` snapshot, refreshed from the Runtime's
cache once per update, so a check never costs a database round trip. `DEFAULT_POLICIES` are
the built-in presets (what the migration seeds, and the fallback before anything is loaded).

"Own + department" (`Level.DEPARTMENT`) reaches the elements of the actor's department and
of every department below it in the tree: the seeds name one department level only, and a
head of a division that could not see its teams' deals would make the tree pointless.
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
    role_id: int | None = None  # a stored custom role; None: the preset of `role`
    # The CRM acting by its own rules (a triage hand-over, an inbound submission): it has the
    # built-in admin's full matrix whatever an admin made of the stored admin preset.
    system: bool = False


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
    # The actor's department and every department below it ("own + department" reaches them).
    department_ids: frozenset[int] = frozenset()


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


@dataclass(frozen=True, slots=True)
class RoleBook:
    """A snapshot of the stored roles and of the department tree (immutable, swapped whole)."""

    by_id: Mapping[int, RolePolicy]
    by_key: Mapping[str, RolePolicy]
    parents: Mapping[int, int | None] = field(default_factory=dict)
    _subtrees: dict[int, frozenset[int]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        children: dict[int, list[int]] = {}
        for dept, parent in self.parents.items():
            if parent is not None:
                children.setdefault(parent, []).append(dept)
        for dept in self.parents:
            seen: set[int] = set()
            todo = [dept]
            while todo:  # the tree is kept acyclic on change; `seen` guards anyway
                current = todo.pop()
                if current not in seen:
                    seen.add(current)
                    todo.extend(children.get(current, ()))
            self._subtrees[dept] = frozenset(seen)

    def subtree(self, department_id: int | None) -> frozenset[int]:
        if department_id is None:
            return frozenset()
        return self._subtrees.get(department_id, frozenset({department_id}))


class AccessPolicy:
    def __init__(self, policies: Mapping[Role, RolePolicy] = DEFAULT_POLICIES) -> None:
        self._policies = policies
        self.book = RoleBook(by_id={}, by_key={r.value: p for r, p in policies.items()})

    def use(self, book: RoleBook) -> None:
        """Adopt a fresh snapshot of the stored roles (the caller caches it)."""
        self.book = book

    def policy_of(self, actor: Actor) -> RolePolicy:
        if actor.system:
            return DEFAULT_POLICIES[Role.ADMIN]
        if actor.role_id is not None:
            stored = self.book.by_id.get(actor.role_id)
            if stored is not None:
                return stored
        return self.book.by_key.get(actor.role.value) or self._policies[actor.role]

    def level(self, actor: Actor, entity: EntityType, op: Operation) -> Level:
        return self.policy_of(actor).level(entity, op)

    def has_right(self, actor: Actor, right: Right) -> bool:
        return right in self.policy_of(actor).rights

    def readable(self, actor: Actor) -> frozenset[EntityType]:
        """The element types the actor sees at all (the others are hidden everywhere)."""
        policy = self.policy_of(actor)
        return frozenset(e for e in EntityType if policy.level(e, Operation.READ) > Level.NONE)

    def departments(self, actor: Actor) -> frozenset[int]:
        return self.book.subtree(actor.department_id)

    def allows(self, actor: Actor, entity: EntityType, op: Operation, owner: Owner) -> bool:
        return reaches(self.level(actor, entity, op), actor, owner, self.departments(actor))

    def scope(self, actor: Actor, entity: EntityType, op: Operation) -> Scope:
        return Scope(
            self.level(actor, entity, op),
            actor.user_id,
            actor.department_id,
            self.departments(actor),
        )

    def require(self, actor: Actor, entity: EntityType, op: Operation, owner: Owner) -> None:
        if not self.allows(actor, entity, op, owner):
            raise AccessDenied(entity=entity, operation=op)

    def require_right(self, actor: Actor, right: Right) -> None:
        if not self.has_right(actor, right):
            raise AccessDenied(right=right)


def reaches(
    level: Level, actor: Actor, owner: Owner, departments: frozenset[int] | None = None
) -> bool:
    """Whether `level` reaches `owner`'s element; `departments`: the actor's subtree."""
    if level is Level.ALL:
        return True
    if level is Level.NONE:
        return False
    if owner.user_id is not None and owner.user_id == actor.user_id:
        return True
    if level is not Level.DEPARTMENT or actor.department_id is None:
        return False
    reach = departments if departments is not None else frozenset({actor.department_id})
    return owner.department_id is not None and owner.department_id in reach
