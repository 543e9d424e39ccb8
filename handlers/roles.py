"""Roles and departments in chat (admins): `/roles`, a role's matrix with buttons,
`/role_add NAME` (then the role to start from), `/user_role NAME [ROLE]`, `/departments`,
`/department_add NAME [under PARENT]`, `/department_head DEPT USER`.

Names are matched case-insensitively and may hold spaces. Every change is checked by the
domain (crm.roles: the settings right for roles and departments, invite for people).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Router, html
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import PersonCb, RoleCb
from bot.cards import fit
from bot.labels import default_user_name
from bot.pressed import pressed
from bot.roles import cell_of, departments_tree, right_of, role_label, role_screen, roles_list
from crm.context import Crm
from crm.enums import Role
from crm.errors import CrmError, InvalidValue, NameTaken, UnknownName
from crm.permissions import Actor
from crm.roles import RoleInfo, split_names

NEW_ROLE_NAME = "role_add_name"  # FSM data: the name /role_add was given
# "under" in the languages we speak: /department_add Sales Warsaw under Sales
UNDER = re.compile(r"\s+(?:under|pod|под)\s+", re.IGNORECASE)


def aliases() -> dict[Role, str]:
    """The presets' names in the reader's language, accepted wherever a role is named."""
    return {role: default_user_name(role) for role in Role}


def usage(command: str) -> str:
    texts = {
        "role_add": _("Usage: /role_add NAME, for example /role_add Senior rep"),
        "user_role": _(
            "Usage: /user_role NAME [ROLE], for example /user_role Anna Nowak Manager; "
            "without a role you get buttons."
        ),
        "department_add": _(
            "Usage: /department_add NAME [under PARENT], for example "
            "/department_add Sales Warsaw under Sales"
        ),
        "department_head": _(
            "Usage: /department_head DEPARTMENT PERSON, for example "
            "/department_head Sales Anna Nowak"
        ),
    }
    return texts[command]


def refusal(exc: CrmError) -> str | None:
    if isinstance(exc, NameTaken):
        return _("“{name}” is taken: names in a list must differ.").format(
            name=html.quote(exc.name)
        )
    if isinstance(exc, UnknownName):
        text = html.quote(exc.text[:100])
        if exc.what == "role":
            return _("No role is called “{text}”. See /roles.").format(text=text)
        if exc.what == "department":
            return _("No department is called “{text}”. See /departments.").format(text=text)
        return _("Nobody in the CRM is called “{text}”.").format(text=text)
    if isinstance(exc, InvalidValue) and exc.field == "last_admin":
        return _("{name} is the last administrator: give someone else that role first.").format(
            name=html.quote(exc.value)
        )
    if isinstance(exc, InvalidValue) and exc.field == "right":
        return _("The administrator role keeps the settings right, or nobody could edit roles.")
    if isinstance(exc, InvalidValue) and exc.field == "department_parent":
        return _("A department cannot be put under itself or under its own subdepartment.")
    return None


def unknown_part(args: str, heads: list[str], what: str) -> tuple[str, str]:
    """Which part of "HEAD TAIL" is unknown: the tail when the text starts with a known head
    (then it names a person for a department, a role for a person), else the head."""
    folded = args.casefold()
    for head in sorted(heads, key=len, reverse=True):
        name = " ".join(head.casefold().split())
        if folded.startswith(name + " "):
            return ("user" if what == "department" else "role"), args[len(name) + 1 :]
    return what, args


Handler = Callable[..., Awaitable[None]]


def admin_command(name: str) -> Callable[[Handler], Handler]:
    """A command with arguments: its usage without them, its refusals said in words."""

    def wrap(handler: Handler) -> Handler:
        async def run(message: Message, command: CommandObject, **data: Any) -> None:
            args = " ".join((command.args or "").split())
            if not args:
                await data["crm"].roles.list(data["actor"])  # who may not gets the refusal
                await message.answer(usage(name))
                return
            try:
                await handler(message, args, **data)
            except CrmError as exc:
                text = refusal(exc)
                if text is None:
                    raise
                await message.answer(text)

        run.__name__ = handler.__name__
        return run

    return wrap


async def roles_command(message: Message, crm: Crm, actor: Actor) -> None:
    text, markup = roles_list(await crm.roles.list(actor))
    await message.answer(text, reply_markup=markup)


async def role_pressed(
    query: CallbackQuery, callback_data: RoleCb, crm: Crm, actor: Actor, state: FSMContext
) -> None:
    action, role_id = callback_data.action, callback_data.id
    if action == "v":
        role = await crm.roles.get(actor, role_id)
    elif action == "c":
        cell = cell_of(callback_data.arg)
        if cell is None:
            raise InvalidValue("cell", str(callback_data.arg))
        role = await crm.roles.cycle_level(actor, role_id, *cell)
    elif action == "r":
        right = right_of(callback_data.arg)
        if right is None:
            raise InvalidValue("right", str(callback_data.arg))
        try:
            role = await crm.roles.toggle_right(actor, role_id, right)
        except InvalidValue as exc:
            await query.answer((refusal(exc) or "")[:200], show_alert=True)
            return
    elif action == "cp":
        await crm.roles.get(actor, role_id)  # who may not is refused before anything is said
        name = (await state.get_data()).get(NEW_ROLE_NAME)
        if not isinstance(name, str) or not name:
            await query.answer(usage("role_add")[:200], show_alert=True)
            return
        try:
            role = await crm.roles.create(actor, name, role_id)
        except NameTaken as exc:
            await query.answer((refusal(exc) or "")[:200], show_alert=True)
            return
        await state.update_data({NEW_ROLE_NAME: None})
        await query.answer()
        text, markup = role_screen(role)
        await pressed(query).answer(
            _("Role created: {name}.").format(name=html.quote(role.name)) + "\n\n" + text,
            reply_markup=markup,
        )
        return
    else:
        raise InvalidValue("action", action[:10])
    await query.answer()
    text, markup = role_screen(role)
    await pressed(query).edit(text, reply_markup=markup)


@admin_command("role_add")
async def role_add(
    message: Message, args: str, crm: Crm, actor: Actor, state: FSMContext, **_data: Any
) -> None:
    roles = await crm.roles.list(actor)
    if any(" ".join(r.name.casefold().split()) == args.casefold() for r in roles.roles):
        raise NameTaken("role", args)
    await state.update_data({NEW_ROLE_NAME: args[:120]})
    kb = InlineKeyboardBuilder()
    for role in roles.roles:
        kb.button(text=role_label(role)[:40], callback_data=RoleCb(action="cp", id=role.id))
    kb.adjust(2)
    await message.answer(
        _("New role “{name}”: which role should it start from?").format(name=html.quote(args)),
        reply_markup=kb.as_markup(),
    )


@admin_command("user_role")
async def user_role(message: Message, args: str, crm: Crm, actor: Actor, **_data: Any) -> None:
    users = await crm.roles.users(actor)
    roles = await crm.roles.list(actor)
    role_names: list[tuple[str, RoleInfo]] = []
    for role in roles.roles:
        role_names.append((role.name, role))
        role_names.append((role_label(role), role))
    found = split_names(args, [(u.name, u.id) for u in users], role_names)
    if found is not None:
        user_id, role = found
        changed, given = await crm.roles.assign_role(actor, user_id, role.id)
        await message.answer(
            _("{name} now has the role {role}.").format(
                name=html.quote(changed.name), role=html.quote(role_label(given))
            )
        )
        return
    if len(args.split()) > 1 and not any(
        " ".join(u.name.casefold().split()) == args.casefold() for u in users
    ):
        names = [u.name for u in users]
        what, text = unknown_part(args, names, "user")
        if what != "user":  # the person was found: it is the role that is unknown
            raise UnknownName("role", text)
    person = await crm.roles.find_user(actor, args)
    kb = InlineKeyboardBuilder()
    for role in roles.roles:
        kb.button(
            text=role_label(role)[:40],
            callback_data=PersonCb(action="r", id=person.id, arg_id=role.id),
        )
    for dept in roles.departments:
        kb.button(
            text="🏢 " + dept.name[:36],
            callback_data=PersonCb(action="d", id=person.id, arg_id=dept.id),
        )
    kb.adjust(2)
    await message.answer(
        _("{name}: choose a role or a department.").format(name=html.quote(person.name)),
        reply_markup=kb.as_markup(),
    )


async def person_pressed(
    query: CallbackQuery, callback_data: PersonCb, crm: Crm, actor: Actor
) -> None:
    try:
        if callback_data.action == "r":
            user, role = await crm.roles.assign_role(actor, callback_data.id, callback_data.arg_id)
            text = _("{name} now has the role {role}.").format(
                name=html.quote(user.name), role=html.quote(role_label(role))
            )
        elif callback_data.action == "d":
            user = await crm.roles.assign_department(actor, callback_data.id, callback_data.arg_id)
            dept = (await crm.roles.departments(actor)).department(callback_data.arg_id)
            text = _("{name} is now in the department {department}.").format(
                name=html.quote(user.name), department=html.quote(dept.name if dept else "")
            )
        else:
            raise InvalidValue("action", callback_data.action[:10])
    except InvalidValue as exc:
        reason = refusal(exc)
        if reason is None:
            raise
        await query.answer(reason[:200], show_alert=True)
        return
    await query.answer()
    await pressed(query).answer(text)


async def departments_command(message: Message, crm: Crm, actor: Actor) -> None:
    roles = await crm.roles.departments(actor)
    heads = {u.id: u.name for u in await crm.roles.users(actor)}
    await message.answer(fit(departments_tree(roles, heads)))


@admin_command("department_add")
async def department_add(
    message: Message, args: str, crm: Crm, actor: Actor, **_data: Any
) -> None:
    parts = UNDER.split(args, maxsplit=1)
    name = parts[0]
    parent_id = None
    if len(parts) == 2:
        try:
            parent_id = (await crm.roles.find_department(actor, parts[1])).id
        except UnknownName:
            # "Pod" may belong to the name itself (there is no such parent): keep it whole.
            name = args
    dept = await crm.roles.add_department(actor, name, parent_id)
    parent = (await crm.roles.departments(actor)).department(dept.parent_id or 0)
    if parent is not None:
        text = _("Department {name} added under {parent}.").format(
            name=html.quote(dept.name), parent=html.quote(parent.name)
        )
    else:
        text = _("Department {name} added.").format(name=html.quote(dept.name))
    await message.answer(text)


@admin_command("department_head")
async def department_head(
    message: Message, args: str, crm: Crm, actor: Actor, **_data: Any
) -> None:
    roles = await crm.roles.departments(actor)
    users = await crm.roles.users(actor)
    found = split_names(
        args, [(d.name, d.id) for d in roles.departments], [(u.name, u.id) for u in users]
    )
    if found is None:
        raise UnknownName(*unknown_part(args, [d.name for d in roles.departments], "department"))
    dept_id, user_id = found
    dept = await crm.roles.set_head(actor, dept_id, user_id)
    head = next(u.name for u in users if u.id == user_id)
    await message.answer(
        _("{name} now heads the department {department}.").format(
            name=html.quote(head), department=html.quote(dept.name)
        )
    )


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(roles_command, Command("roles"))
    router.message.register(role_add, Command("role_add"))
    router.message.register(user_role, Command("user_role"))
    router.message.register(departments_command, Command("departments"))
    router.message.register(department_add, Command("department_add"))
    router.message.register(department_head, Command("department_head"))
    router.callback_query.register(role_pressed, RoleCb.filter())
    router.callback_query.register(person_pressed, PersonCb.filter())
    return router
