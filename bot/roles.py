"""Rendering of roles and departments: a role's matrix compactly, with buttons to change it."""

from __future__ import annotations

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import RoleCb
from bot.labels import default_user_name
from crm.enums import EntityType, Level, Operation, Right
from crm.roles import DepartmentInfo, RoleInfo, Roles

ENTITIES = tuple(EntityType)
OPERATIONS = tuple(Operation)
RIGHTS = tuple(Right)
SYMBOLS = {Level.NONE: "✖️", Level.OWN: "👤", Level.DEPARTMENT: "👥", Level.ALL: "🌐"}

_PLURALS = {
    EntityType.LEAD: __("Leads"),
    EntityType.CONTACT: __("Contacts"),
    EntityType.COMPANY: __("Companies"),
    EntityType.DEAL: __("Deals"),
    EntityType.ACTIVITY: __("Activities"),
}
_OPERATIONS = {
    Operation.READ: __("read"),
    Operation.ADD: __("add"),
    Operation.UPDATE: __("update"),
    Operation.DELETE: __("delete"),
    Operation.EXPORT: __("export"),
    Operation.IMPORT: __("import"),
}
_RIGHTS = {
    Right.SETTINGS: __("settings"),
    Right.INVITE: __("invite people, give roles"),
    Right.MERGE: __("merge duplicates"),
    Right.TEAM_REPORTS: __("team reports"),
    Right.GROUP_SETTINGS: __("group chat settings"),
    Right.MY_VIEW: __("my card view"),
}


def role_label(role: RoleInfo) -> str:
    """A preset by its localized name; a custom role by the name it was given."""
    return default_user_name(role.key) if role.key is not None else role.name


def cell_arg(entity: EntityType, op: Operation) -> int:
    return ENTITIES.index(entity) * 8 + OPERATIONS.index(op)


def cell_of(arg: int) -> tuple[EntityType, Operation] | None:
    row, column = divmod(arg, 8)
    if row >= len(ENTITIES) or column >= len(OPERATIONS):
        return None
    return ENTITIES[row], OPERATIONS[column]


def right_of(arg: int) -> Right | None:
    return RIGHTS[arg] if arg < len(RIGHTS) else None


def roles_list(roles: Roles) -> tuple[str, InlineKeyboardMarkup]:
    lines = [_("<b>Roles</b>")]
    kb = InlineKeyboardBuilder()
    for role in roles.roles:
        preset = " " + _("(preset)") if role.key is not None else ""
        lines.append(f"• {html.quote(role_label(role))}{preset}")
        kb.button(text=role_label(role)[:40], callback_data=RoleCb(action="v", id=role.id))
    kb.adjust(2)
    lines.append(
        "\n"
        + _(
            "Tap a role to edit it. /role_add NAME makes a new role from one of them; "
            "/user_role NAME ROLE gives a person a role; /departments shows the departments."
        )
    )
    return "\n".join(lines), kb.as_markup()


def role_screen(role: RoleInfo) -> tuple[str, InlineKeyboardMarkup]:
    policy = role.policy
    lines = [_("<b>Role: {name}</b>").format(name=html.quote(role_label(role)))]
    lines.append(
        _("Columns: {operations}").format(
            operations=" · ".join(str(_OPERATIONS[op]) for op in OPERATIONS)
        )
    )
    lines.append(
        _("{none} none, {own} own, {dept} own + department, {all} all").format(
            none=SYMBOLS[Level.NONE],
            own=SYMBOLS[Level.OWN],
            dept=SYMBOLS[Level.DEPARTMENT],
            all=SYMBOLS[Level.ALL],
        )
    )
    kb = InlineKeyboardBuilder()
    sizes: list[int] = []
    for entity in ENTITIES:
        symbols = "".join(SYMBOLS[policy.level(entity, op)] for op in OPERATIONS)
        lines.append(f"{html.quote(str(_PLURALS[entity]))}: {symbols}")
        kb.button(text=str(_PLURALS[entity])[:12], callback_data=RoleCb(action="v", id=role.id))
        for op in OPERATIONS:
            kb.button(
                text=SYMBOLS[policy.level(entity, op)],
                callback_data=RoleCb(action="c", id=role.id, arg=cell_arg(entity, op)),
            )
        sizes.append(1 + len(OPERATIONS))
    lines.append(_("<b>Rights</b>"))
    for index, right in enumerate(RIGHTS):
        mark = "✅" if right in policy.rights else "▫️"
        lines.append(f"{mark} {_RIGHTS[right]}")
        kb.button(
            text=f"{mark} {_RIGHTS[right]}"[:40],
            callback_data=RoleCb(action="r", id=role.id, arg=index),
        )
    sizes += [2] * ((len(RIGHTS) + 1) // 2)
    kb.adjust(*sizes)
    lines.append(_("Tap a level to change it: none → own → own + department → all."))
    return "\n".join(lines), kb.as_markup()


def departments_tree(roles: Roles, heads: dict[int, str]) -> str:
    """The departments as an indented tree, each with its head."""
    if not roles.departments:
        return _("No departments yet. /department_add NAME [under PARENT] adds one.")
    children: dict[int | None, list[DepartmentInfo]] = {}
    for dept in roles.departments:
        parent = dept.parent_id if roles.department(dept.parent_id or 0) else None
        children.setdefault(parent, []).append(dept)
    lines = [_("<b>Departments</b>")]

    def walk(parent: int | None, depth: int, seen: set[int]) -> None:
        for dept in children.get(parent, []):
            if dept.id in seen:
                continue
            seen.add(dept.id)
            head = heads.get(dept.head_user_id or 0)
            suffix = " — " + _("head: {name}").format(name=html.quote(head)) if head else ""
            lines.append("    " * depth + f"• {html.quote(dept.name)}{suffix}")
            walk(dept.id, depth + 1, seen)

    walk(None, 0, set())
    return "\n".join(lines)
