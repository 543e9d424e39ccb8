"""Stored roles and departments: what an admin edits in chat, and the cache the policy reads.

A role is a matrix (element type x operation -> level) plus rights. The three built-in roles
are presets seeded by the migration under their `Role` key and edited like any other. A user
keeps `role` (the preset, or the preset a custom role was made from: it still says who is an
admin or a manager for notifications and escalations) and gets `role_id` for a custom role.
That keeps every existing user, query and the invite flow as they were.

The snapshot (`RoleBook`) is cached in the Runtime like the catalog: a change made here
invalidates it at once, another instance sees it within `ttl`. The bot refreshes the policy
from the cache once per update (`RoleService.refresh`), which costs no statement while the
snapshot is fresh.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from crm.enums import EntityType, Level, Operation, Right, Role
from crm.errors import InvalidValue, NameTaken, NotFound, UnknownName
from crm.permissions import DEFAULT_POLICIES, Actor, RoleBook, RolePolicy
from crm.snapshots import Snapshot
from storage.models import Department, RoleRecord, User
from storage.repositories import Repos

if TYPE_CHECKING:
    from crm.context import Runtime

A = TypeVar("A")
B = TypeVar("B")

# Rights an admin can switch on a role (Bitrix24 keeps them beside the matrix).
EDITABLE_RIGHTS = tuple(Right)
MAX_ROLES = 50
MAX_DEPARTMENTS = 200


def cell(entity: EntityType, op: Operation) -> str:
    return f"{entity.value}:{op.value}"


def policy_of_record(record: RoleRecord) -> RolePolicy:
    levels: dict[tuple[EntityType, Operation], Level] = {}
    for entity in EntityType:
        for op in Operation:
            raw = record.levels.get(cell(entity, op), 0)
            levels[(entity, op)] = Level(raw) if raw in Level._value2member_map_ else Level.NONE
    rights = frozenset(Right(r) for r in record.rights if r in Right._value2member_map_)
    return RolePolicy(levels=levels, rights=rights)


def record_levels(policy: RolePolicy) -> dict[str, int]:
    return {cell(e, op): int(policy.level(e, op)) for e in EntityType for op in Operation}


@dataclass(frozen=True, slots=True)
class RoleInfo:
    id: int
    key: Role | None  # a preset's key; None for a custom role
    name: str
    base: Role
    policy: RolePolicy


@dataclass(frozen=True, slots=True)
class DepartmentInfo:
    id: int
    name: str
    parent_id: int | None
    head_user_id: int | None


@dataclass(frozen=True, slots=True)
class Roles:
    """The cached snapshot: roles, departments, and the book the policy reads."""

    roles: tuple[RoleInfo, ...]
    departments: tuple[DepartmentInfo, ...]
    book: RoleBook

    def role(self, role_id: int) -> RoleInfo | None:
        return next((r for r in self.roles if r.id == role_id), None)

    def department(self, department_id: int) -> DepartmentInfo | None:
        return next((d for d in self.departments if d.id == department_id), None)


async def load_roles(repos: Repos) -> Roles:
    records = await repos.roles.all()
    roles = tuple(
        RoleInfo(
            r.id,
            Role(r.key) if r.key is not None and r.key in Role._value2member_map_ else None,
            r.name,
            r.base,
            policy_of_record(r),
        )
        for r in records
    )
    departments = tuple(
        DepartmentInfo(d.id, d.name, d.parent_id, d.head_user_id)
        for d in await repos.roles.departments()
    )
    by_key: dict[str, RolePolicy] = {role.value: p for role, p in DEFAULT_POLICIES.items()}
    by_key.update({r.key.value: r.policy for r in roles if r.key is not None})
    book = RoleBook(
        by_id={r.id: r.policy for r in roles},
        by_key=by_key,
        parents={d.id: d.parent_id for d in departments},
    )
    return Roles(roles, departments, book)


class RoleCache(Snapshot[Roles]):
    async def _fetch(self, repos: Repos) -> Roles:
        return await load_roles(repos)


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def split_names(
    text: str, first: Sequence[tuple[str, A]], second: Sequence[tuple[str, B]]
) -> tuple[A, B] | None:
    """Split "NAME OTHER" where both parts may hold spaces: the first split where the head
    names one of `first` and the tail one of `second` (case-insensitive) wins."""
    words = text.split()
    firsts = {_fold(name): value for name, value in first}
    seconds = {_fold(name): value for name, value in second}
    for at in range(1, len(words)):
        head, tail = _fold(" ".join(words[:at])), _fold(" ".join(words[at:]))
        if head in firsts and tail in seconds:
            return firsts[head], seconds[tail]
    return None


async def current_policy(repos: Repos, runtime: Runtime) -> Roles:
    """Bring the runtime's policy up to date with the stored roles (a statement only when the
    snapshot is stale). Every unit of work that decides access calls it first: the update
    middleware for chat, the background loops (digests) for what they compute on their own."""
    roles = await runtime.roles.get(repos)
    runtime.policy.use(roles.book)
    return roles


class RoleService:
    def __init__(self, repos: Repos, runtime: Runtime) -> None:
        self.repos = repos
        self.runtime = runtime

    # --- the cache ----------------------------------------------------------------------------
    async def refresh(self) -> Roles:
        """Bring the policy up to date from the cache (a statement only when it is stale)."""
        return await current_policy(self.repos, self.runtime)

    async def _changed(self) -> None:
        await self.repos.commit()
        self.runtime.roles.invalidate()
        await self.refresh()

    def _require_settings(self, actor: Actor) -> None:
        self.runtime.policy.require_right(actor, Right.SETTINGS)

    # --- reading ------------------------------------------------------------------------------
    async def list(self, actor: Actor) -> Roles:
        self._require_settings(actor)
        return await self.refresh()

    async def get(self, actor: Actor, role_id: int) -> RoleInfo:
        self._require_settings(actor)
        role = (await self.refresh()).role(role_id)
        if role is None:
            raise NotFound("role", role_id)
        return role

    async def find(self, actor: Actor, name: str, aliases: Mapping[Role, str]) -> RoleInfo:
        """A role by its name, or a preset by its localized name (`aliases`)."""
        self._require_settings(actor)
        wanted = _fold(name)
        for role in (await self.refresh()).roles:
            names = {_fold(role.name)}
            if role.key is not None and role.key in aliases:
                names.add(_fold(aliases[role.key]))
            if wanted in names:
                return role
        raise UnknownName("role", name)

    # --- editing a role -----------------------------------------------------------------------
    async def _record(self, role_id: int) -> RoleRecord:
        record = await self.repos.roles.get(role_id)
        if record is None:
            raise NotFound("role", role_id)
        return record

    async def cycle_level(
        self, actor: Actor, role_id: int, entity: EntityType, op: Operation
    ) -> RoleInfo:
        """none -> own -> own + department -> all -> none."""
        self._require_settings(actor)
        record = await self._record(role_id)
        levels = dict(record.levels)
        current = levels.get(cell(entity, op), 0)
        levels[cell(entity, op)] = (current + 1) % (max(Level) + 1)
        record.levels = levels  # a new dict: JSON columns see assignment, not mutation
        await self._changed()
        return await self.get(actor, role_id)

    async def toggle_right(self, actor: Actor, role_id: int, right: Right) -> RoleInfo:
        self._require_settings(actor)
        record = await self._record(role_id)
        rights = set(record.rights)
        if right.value in rights:
            if record.key == Role.ADMIN.value and right is Right.SETTINGS:
                # Nobody could ever edit roles again.
                raise InvalidValue("right", right.value)
            rights.discard(right.value)
        else:
            rights.add(right.value)
        record.rights = sorted(rights)
        await self._changed()
        return await self.get(actor, role_id)

    async def create(self, actor: Actor, name: str, preset_id: int) -> RoleInfo:
        """A new role with the matrix and rights of `preset_id` (any stored role)."""
        self._require_settings(actor)
        name = " ".join(name.split())[:120]
        roles = await self.refresh()
        if not name:
            raise InvalidValue("name", name)
        if any(_fold(r.name) == _fold(name) for r in roles.roles):
            raise NameTaken("role", name)
        if len(roles.roles) >= MAX_ROLES:
            raise InvalidValue("roles", str(len(roles.roles)))
        preset = roles.role(preset_id)
        if preset is None:
            raise NotFound("role", preset_id)
        record = await self.repos.roles.add(
            RoleRecord(
                key=None,
                name=name,
                base=preset.base,
                levels=record_levels(preset.policy),
                rights=sorted(r.value for r in preset.policy.rights),
            )
        )
        await self._changed()
        return await self.get(actor, record.id)

    # --- people -------------------------------------------------------------------------------
    async def users(self, actor: Actor) -> Sequence[User]:
        self.runtime.policy.require_right(actor, Right.INVITE)
        return await self.repos.users.list_active()

    async def assign_role(self, actor: Actor, user_id: int, role_id: int) -> tuple[User, RoleInfo]:
        self.runtime.policy.require_right(actor, Right.INVITE)
        user = await self.repos.users.get(user_id)
        role = (await self.refresh()).role(role_id)
        if user is None or not user.is_active:
            raise NotFound("user", user_id)
        if role is None:
            raise NotFound("role", role_id)
        if user.role is Role.ADMIN and role.base is not Role.ADMIN:
            if await self.repos.users.count_admins() <= 1:
                raise InvalidValue("last_admin", user.name)
        await self.repos.roles.set_user_role(
            user.id, role.base.value, None if role.key is not None else role.id
        )
        await self.repos.commit()
        await self.repos.session.refresh(user)
        return user, role

    async def assign_department(
        self, actor: Actor, user_id: int, department_id: int | None
    ) -> User:
        self.runtime.policy.require_right(actor, Right.INVITE)
        user = await self.repos.users.get(user_id)
        if user is None or not user.is_active:
            raise NotFound("user", user_id)
        if department_id is not None and await self.repos.roles.department(department_id) is None:
            raise NotFound("department", department_id)
        await self.repos.roles.set_user_department(user.id, department_id)
        await self.repos.commit()
        await self.repos.session.refresh(user)
        return user

    # --- departments --------------------------------------------------------------------------
    async def departments(self, actor: Actor) -> Roles:
        self.runtime.policy.require_right(actor, Right.INVITE)
        return await self.refresh()

    async def find_department(self, actor: Actor, name: str) -> DepartmentInfo:
        wanted = _fold(name)
        for dept in (await self.departments(actor)).departments:
            if _fold(dept.name) == wanted:
                return dept
        raise UnknownName("department", name)

    async def find_user(self, actor: Actor, name: str) -> User:
        wanted = _fold(name)
        for user in await self.users(actor):
            if _fold(user.name) == wanted:
                return user
        raise UnknownName("user", name)

    async def add_department(
        self, actor: Actor, name: str, parent_id: int | None = None
    ) -> DepartmentInfo:
        self._require_settings(actor)
        name = " ".join(name.split())[:120]
        roles = await self.refresh()
        if not name:
            raise InvalidValue("name", name)
        if any(_fold(d.name) == _fold(name) for d in roles.departments):
            raise NameTaken("department", name)
        if len(roles.departments) >= MAX_DEPARTMENTS:
            raise InvalidValue("departments", str(len(roles.departments)))
        if parent_id is not None and roles.department(parent_id) is None:
            raise NotFound("department", parent_id)
        dept = await self.repos.roles.add_department(Department(name=name, parent_id=parent_id))
        await self._changed()
        found = (await self.refresh()).department(dept.id)
        assert found is not None  # just committed
        return found

    async def set_parent(
        self, actor: Actor, department_id: int, parent_id: int | None
    ) -> DepartmentInfo:
        self._require_settings(actor)
        roles = await self.refresh()
        if parent_id is not None and parent_id in roles.book.subtree(department_id):
            raise InvalidValue("department_parent", str(parent_id))  # the tree stays acyclic
        dept = await self.repos.roles.department(department_id)
        if dept is None:
            raise NotFound("department", department_id)
        dept.parent_id = parent_id
        await self._changed()
        found = (await self.refresh()).department(department_id)
        assert found is not None
        return found

    async def set_head(self, actor: Actor, department_id: int, user_id: int) -> DepartmentInfo:
        """The head of a department; they also become its member if they were in none."""
        self._require_settings(actor)
        dept = await self.repos.roles.department(department_id)
        user = await self.repos.users.get(user_id)
        if dept is None:
            raise NotFound("department", department_id)
        if user is None or not user.is_active:
            raise NotFound("user", user_id)
        dept.head_user_id = user.id
        if user.department_id is None:
            user.department_id = dept.id
        await self._changed()
        found = (await self.refresh()).department(department_id)
        assert found is not None
        return found
