"""Stored roles end to end, in Polish and Russian: a custom role made from a preset in chat and
edited with its buttons, given with /user_role; what it allows (read all, update own), types
without read rights hidden from /leads, /find and /help, edits taking effect on the very next
update, and "own + department" reaching the department's subtree."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from crm.enums import Role
from storage.models import Deal
from tests.fakeapi import Call
from tests.harness import Harness, TgUser, texts

# Presets seeded by the migration, in this order: admin 1, manager 2, rep 3.
REP_PRESET = 3
DEAL_READ = 3 * 8 + 0  # RoleCb's cell: entity index * 8 + operation index
LEAD_READ = 0 * 8 + 0

LANGS: dict[str, dict[str, Any]] = {
    "pl": {
        "boss": "Szef",
        "anna": "Anna",
        "ola": "Ola Nowak",
        "role": "Czytelnik deali",
        "role_typed": "czytelnik   DEALI",
        "given": "Ola Nowak ma teraz rolę Czytelnik deali.",
        "denied": "Nie masz uprawnień, aby to zrobić.",
        "deals_row": "Deale: ",
        "leads_row": "Leady: ",
        "not_understood": "Nie rozumiem. /help pokaże, co potrafię.",
        "nothing": "Nic nie znaleziono dla",
        "open_leads": "Otwarte leady",
        "note": "/note D1 dzwoniłam",
        "lead": "/lead Jan Kowalski +48 601 234 567",
        "find": "/find Kowalski",
        "sales": "Sprzedaż",
        "branch": "Sprzedaż Warszawa",
        "under": "pod",
        "added_under": "Dodano dział Sprzedaż Warszawa w dziale Sprzedaż.",
        "head_set": "Ola Nowak kieruje teraz działem Sprzedaż.",
        "manager": "Kierownik",
        "no_person": "Nikt w CRM nie nazywa się „Nieznany Ktoś”.",
        "no_role": "Nie ma roli o nazwie „Nieznana”. Zobacz /roles.",
        "no_dept": "Nie ma działu o nazwie „Magazyn Anna”. Zobacz /departments.",
    },
    "ru": {
        "boss": "Босс",
        "anna": "Анна",
        "ola": "Ольга Петрова",
        "role": "Читатель сделок",
        "role_typed": "читатель   СДЕЛОК",
        "given": "У сотрудника Ольга Петрова теперь роль Читатель сделок.",
        "denied": "У вас нет прав на это действие.",
        "deals_row": "Сделки: ",
        "leads_row": "Лиды: ",
        "not_understood": "Не понял. /help покажет, что я умею.",
        "nothing": "По запросу",
        "open_leads": "Открытые лиды",
        "note": "/note D1 позвонила",
        "lead": "/lead Иван Петров +48 601 234 567",
        "find": "/find Петров",
        "sales": "Продажи",
        "branch": "Продажи Москва",
        "under": "под",
        "added_under": "Отдел Продажи Москва добавлен в отдел Продажи.",
        "head_set": "Ольга Петрова теперь руководит отделом Продажи.",
        "manager": "Руководитель",
        "no_person": "В CRM нет никого с именем «Nieznany Ktoś».",
        "no_role": "Нет роли «Nieznana». Смотрите /roles.",
        "no_dept": "Нет отдела «Magazyn Anna». Смотрите /departments.",
    },
}


def line_of(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(start))


async def new_role(boss: TgUser, name: str, preset: int = REP_PRESET) -> tuple[int, Call]:
    """/role_add NAME, then the preset's button: the new role's screen (and its id)."""
    (question,) = [c for c in await boss.send(f"/role_add {name}") if c.text]
    assert name in question.text and question.buttons
    screen = next(c for c in await boss.press_data(f"rl:cp:{preset}:0", question) if c.text)
    role_id = int(screen.buttons[1]["callback_data"].split(":")[2])  # a cell of the new role
    return role_id, screen


async def cycle(boss: TgUser, role_id: int, arg: int, screen: Call, times: int) -> str:
    text = ""
    for _n in range(times):
        edited = [c for c in await boss.press_data(f"rl:c:{role_id}:{arg}", screen) if c.text]
        assert [c.method for c in edited] == ["editMessageText"], edited
        text = edited[0].text
    return text


def stage_ids(call: Call) -> list[int]:
    return [int(b["callback_data"].split(":")[3]) for b in call.buttons if "callback_data" in b]


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_a_role_reading_all_deals_and_updating_its_own(
    harness: Harness, fresh: Any, lang: str
) -> None:
    t = LANGS[lang]
    boss = await harness.member(Role.ADMIN, t["boss"], language_code=lang)
    anna = await harness.member(Role.REP, t["anna"], language_code=lang)
    ola = await harness.member(Role.REP, t["ola"], language_code=lang)
    role_id, screen = await new_role(boss, t["role"])
    assert line_of(screen.text, t["deals_row"]) == t["deals_row"] + "👤👤👤👤✖️✖️"
    # Deals, read: own -> own + department -> all.
    text = await cycle(boss, role_id, DEAL_READ, screen, 2)
    assert line_of(text, t["deals_row"]) == t["deals_row"] + "🌐👤👤👤✖️✖️"
    assert texts(await boss.send(f"/user_role {t['ola'].upper()} {t['role_typed']}")) == [
        t["given"]
    ]
    async with fresh() as crm:
        stored = await crm.repos.roles.get(role_id)
        assert stored is not None and stored.levels["deal:read"] == 3
        assert stored.levels["deal:update"] == 1 and stored.name == t["role"]
        user = next(u for u in await crm.repos.users.list_active() if u.name == t["ola"])
        assert (user.role, user.role_id) == (Role.REP, role_id)

    await anna.send("/deal Wdrożenie 5000 zł")  # D1, Anna's
    await ola.send("/deal Moje 100 zł")  # D2, Ola's
    # Reads another's deal: the card, and in /deals.
    card = texts(await ola.send("/D1"))[0]
    assert "Wdrożenie" in card and t["anna"] in card
    assert "D1" in texts(await ola.send("/deals"))[0]
    # Cannot move its stage, edit it or write on it; a forged stage press changes nothing.
    assert texts(await ola.send("/stage D1")) == [t["denied"]]
    own_stages = next(c for c in await ola.send("/stage D2") if c.buttons)
    target = stage_ids(own_stages)[1]
    forged = await ola.press_data(f"sg:D:1:{target}")
    assert any(t["denied"] in (c.params.get("text") or c.text or "") for c in forged), forged
    edit = await ola.press_data("ed:D:1:title")
    assert any(t["denied"] in (c.params.get("text") or c.text or "") for c in edit), edit
    assert texts(await ola.send(t["note"])) == [t["denied"]]
    # Moves their own.
    moved = texts(await ola.press_data(f"sg:D:2:{target}", own_stages))
    assert moved and "(2" in moved[-1], moved
    async with fresh() as crm:
        theirs, mine = await crm.repos.elements.get(Deal, 1), await crm.repos.elements.get(Deal, 2)
        assert theirs is not None and mine is not None
        assert theirs.title == "Wdrożenie" and theirs.stage_id != target
        assert mine.stage_id == target


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_without_lead_read_leads_vanish_from_lists_search_and_help_at_once(
    harness: Harness, lang: str
) -> None:
    t = LANGS[lang]
    boss = await harness.member(Role.ADMIN, t["boss"], language_code=lang)
    ola = await harness.member(Role.REP, t["ola"], language_code=lang)
    await boss.send("/mode classic")  # leads exist in the classic mode
    role_id, screen = await new_role(boss, t["role"])  # the rep preset's matrix, for now
    assert texts(await boss.send(f"/user_role {t['ola']} {t['role']}")) == [t["given"]]
    await ola.send(t["lead"])
    surname = t["find"].split()[1]
    assert surname in texts(await ola.send("/leads"))[0]
    assert surname in texts(await ola.send(t["find"]))[0]
    assert "/leads" in texts(await ola.send("/help"))[0]
    # Leads, read: own -> own + department -> all -> none. The next update sees it.
    text = await cycle(boss, role_id, LEAD_READ, screen, 3)
    assert line_of(text, t["leads_row"]) == t["leads_row"] + "✖️👤👤👤✖️✖️"
    assert texts(await ola.send("/leads")) == [t["not_understood"]]
    (found,) = texts(await ola.send(t["find"]))
    assert found.startswith(t["nothing"]) and "L1" not in found
    help_text = texts(await ola.send("/help"))[0]
    assert "/leads " not in help_text and "/lead " not in help_text
    assert "/deals " in help_text and "/find " in help_text  # the rest stays
    assert texts(await ola.send("/L1")) != [] and "Kowalski" not in texts(await ola.send("/L1"))[0]
    # A page button of the old list shows nothing either.
    paged = await ola.press_data("ls:leads:0")
    assert all(surname not in (c.text or "") for c in paged)
    # Back to own: visible again on the next update.
    await cycle(boss, role_id, LEAD_READ, screen, 1)
    assert surname in texts(await ola.send("/leads"))[0]
    # The boss (admin preset) saw the leads throughout.
    assert t["open_leads"] in texts(await boss.send("/leads"))[0]


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_own_and_department_reaches_the_department_subtree(
    harness: Harness, lang: str
) -> None:
    t = LANGS[lang]
    boss = await harness.member(Role.ADMIN, t["boss"], language_code=lang)
    head = await harness.member(Role.MANAGER, t["ola"], language_code=lang)
    rep = await harness.member(Role.REP, t["anna"], language_code=lang)
    other = await harness.member(Role.MANAGER, "Marek", language_code=lang)
    assert texts(await boss.send(f"/department_add {t['sales']}"))[0].endswith(".")
    added = texts(await boss.send(f"/department_add {t['branch']} {t['under']} {t['sales']}"))
    assert added == [t["added_under"]]
    assert texts(await boss.send(f"/department_head {t['sales'].lower()} {t['ola']}")) == [
        t["head_set"]
    ]
    # A wrong name is told precisely: the person, the role or the department.
    assert texts(await boss.send(f"/department_head {t['sales']} Nieznany Ktoś")) == [
        t["no_person"]
    ]
    assert texts(await boss.send(f"/user_role {t['anna']} Nieznana")) == [t["no_role"]]
    assert texts(await boss.send("/department_head Magazyn Anna")) == [t["no_dept"]]
    assert texts(await boss.send("/user_role Nieznany Ktoś")) == [t["no_person"]]
    tree = texts(await boss.send("/departments"))[0]
    assert f"    • {t['branch']}" in tree and t["ola"] in tree
    # The rep into the branch, Marek (a manager) too, through the buttons of /user_role.
    for name in (t["anna"], "Marek"):
        asked = next(c for c in await boss.send(f"/user_role {name}") if c.buttons)
        await boss.press("🏢 " + t["branch"], asked)
    await rep.send("/deal Filia 700 zł")  # D1, in the branch
    await head.send("/deal Centrala 900 zł")  # D2, in the parent department
    assert "D1" in texts(await head.send("/deals"))[0]  # the head of Sales sees the branch
    assert "Filia" in texts(await head.send("/D1"))[0]
    branch_list = texts(await other.send("/deals"))[0]
    assert "D1" in branch_list and "D2" not in branch_list  # the branch does not see upwards
    assert "Centrala" not in texts(await other.send("/D2"))[0]
    assert "D2" not in texts(await rep.send("/deals"))[0]


async def test_the_policy_costs_no_statement_until_a_role_changes(harness: Harness) -> None:
    """The stored roles are read once and cached: an update reads no role or department row;
    an edit invalidates the cache and reloads it in its own update."""
    boss = await harness.member(Role.ADMIN, "Szef")
    ola = await harness.member(Role.REP, "Ola")
    role_id, screen = await new_role(boss, "Próbna")
    await boss.send("/user_role Ola Próbna")
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.lower().split()))

    def role_reads() -> int:
        return sum(
            1
            for s in statements
            if "from roles" in s or (s.startswith("select") and "from departments" in s)
        )

    engine = harness.app.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        await ola.send("/deals")
        await ola.send("/whoami")
        await ola.send("/help")
        assert statements, "the listener saw nothing"
        assert role_reads() == 0, [s for s in statements if "roles" in s or "departments" in s]
        statements.clear()
        await cycle(boss, role_id, DEAL_READ, screen, 1)
        assert role_reads() >= 1  # the edit reloads the snapshot it invalidated...
        statements.clear()
        await ola.send("/deals")
        await ola.send("/help")
        assert role_reads() == 0  # ...so the next updates pay nothing for it either
    finally:
        event.remove(engine, "before_cursor_execute", seen)


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_forged_role_buttons_change_nothing(harness: Harness, fresh: Any, lang: str) -> None:
    t = LANGS[lang]
    boss = await harness.member(Role.ADMIN, t["boss"], language_code=lang)
    ola = await harness.member(Role.REP, t["ola"], language_code=lang)
    for data in ("rl:c:3:0", "rl:r:3:0", "rl:cp:1:0", "rl:v:1:0", "ps:r:2:1", "ps:d:2:1"):
        replies = await ola.press_data(data)
        said = [c.params.get("text") or c.text for c in replies]
        assert any(t["denied"] in (s or "") for s in said), (data, said)
    for command in ("/roles", "/role_add Moja", "/user_role Ola Administrator", "/departments"):
        assert texts(await ola.send(command)) == [t["denied"]], command
    # An admin's forged cell beyond the matrix, a role that does not exist: refused, no crash.
    for data in ("rl:c:3:200", "rl:c:999:0", "rl:zz:3:0"):
        replies = await boss.press_data(data)
        assert any(c.method == "answerCallbackQuery" for c in replies), data
    async with fresh() as crm:
        rep = await crm.repos.roles.get(3)
        assert rep is not None and rep.levels["lead:read"] == 1 and rep.rights == []
        assert [r.id for r in await crm.repos.roles.all()] == [1, 2, 3]
        users = await crm.repos.users.list_active()
        assert sorted((u.role, u.role_id) for u in users) == [(Role.ADMIN, None), (Role.REP, None)]
    # The last admin cannot give away the admin role, by command or by button.
    (refused,) = texts(await boss.send(f"/user_role {t['boss']} {t['manager']}"))
    assert t["boss"] in refused and "/" not in refused
    pressed = await boss.press_data("ps:r:1:2")  # the boss (user 1) to the manager preset
    alerts = [c.params.get("text") or "" for c in pressed if c.method == "answerCallbackQuery"]
    assert alerts == [refused]
    async with fresh() as crm:
        still = await crm.repos.users.get(1)
        assert still is not None and still.role is Role.ADMIN
