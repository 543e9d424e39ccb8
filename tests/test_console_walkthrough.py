"""A rep's first day in `crmbot console`, as one scripted session in Polish and in Russian:
redeem an invite, a client, a new deal for that existing client, `/todo … jutro 12`, the
reminder arriving offline in the console, Done on it — asserting what the rep reads."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import create_engine, create_sessionmaker
from storage.models import Activity, Deal, Reminder
from tests.test_console_reminders import CRMBOT, environment, start_console

REP_TELEGRAM_ID = 5_550_001


async def invite(tmp_path: Path, name: str) -> str:
    process = await asyncio.create_subprocess_exec(
        CRMBOT, "invite", "--role", "rep", "--name", name, env=environment(tmp_path),
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    return out.decode().strip().splitlines()[-1]


T = TypeVar("T")


async def in_db(tmp_path: Path, query: Callable[[AsyncSession], Awaitable[T]]) -> T:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}")
    try:
        async with create_sessionmaker(engine)() as session:
            result = await query(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


async def first_reminder_due_now(tmp_path: Path, subject: str) -> int:
    """The earliest pending reminder of the activity falls due now (15 min before the
    deadline, of the default two), as if tomorrow 11:45 had come: no waiting a day."""

    async def query(session: AsyncSession) -> int:
        activity_id = await session.scalar(select(Activity.id).where(Activity.subject == subject))
        assert activity_id is not None
        first = await session.scalar(
            select(Reminder)
            .where(Reminder.activity_id == activity_id, Reminder.status == "pending")
            .order_by(Reminder.due_at)
        )
        assert first is not None and first.offset_minutes == 15
        first.due_at = datetime.now(UTC) - timedelta(seconds=1)
        return activity_id

    return await in_db(tmp_path, query)


async def after_done(tmp_path: Path, activity_id: int) -> tuple[bool, list[str], int | None]:
    async def query(session: AsyncSession) -> tuple[bool, list[str], int | None]:
        activity = await session.get(Activity, activity_id)
        statuses = await session.scalars(
            select(Reminder.status).where(Reminder.activity_id == activity_id)
        )
        deal = await session.get(Deal, 1)
        assert activity is not None and deal is not None
        return activity.completed_at is not None, sorted(statuses), deal.contact_id

    return await in_db(tmp_path, query)


CASES = {
    "pl": {
        "name": "Ola Nowak",
        "contact": "/contact Jan Kowalski +48 600 100 200",
        "deal": "/deal C1 Drugie zamówienie 3000 zł",
        "todo": "/todo D1 jutro 12 zadzwonić",
        "subject": "zadzwonić",
        "steps": [
            "bot> Witaj, Ola Nowak! Masz dostęp do CRM jako handlowiec.",
            "bot> Utworzono: kontakt C1\n",
            "bot> Utworzono: deal D1\n",
            "D1 · deal · Drugie zamówienie\n",
            "Kwota: 3\u00a0000,00\u00a0zł\n",
            "Kontakt: /C1 Jan Kowalski\n",
            "bot> ✅ Utworzono działanie: zadzwonić\n",
            "12:00 (Warszawa)\n",
            "Dotyczy: /D1\n",
            "Przypomnienia: 15 minut przed, w chwili terminu\n",
        ],
        "reminder": "bot> ⏰ Przypomnienie: zadzwonić\n",
        "done_button": "[1] ✅ Zrobione",
        "done": "bot (alert)> Zrobione: zadzwonić",
    },
    "ru": {
        "name": "Ольга Новикова",
        "contact": "/contact Иван Петров +7 916 123-45-67",
        "deal": "/deal C1 Второй заказ 3000 руб",
        "todo": "/todo D1 завтра 12 позвонить",
        "subject": "позвонить",
        "steps": [
            "bot> Добро пожаловать, Ольга Новикова! Вы подключены к CRM, роль: менеджер по "
            "продажам.",
            "bot> Создано: контакт C1\n",
            "bot> Создано: сделка D1\n",
            "D1 · сделка · Второй заказ\n",
            "Сумма: 3\u00a0000,00\u00a0₽\n",
            "Контакт: /C1 Иван Петров\n",
            "bot> ✅ Дело создано: позвонить\n",
            "12:00 (Варшава)\n",
            "К: /D1\n",
            "Напоминания: за 15 минут, в момент срока\n",
        ],
        "reminder": "bot> ⏰ Напоминание: позвонить\n",
        "done_button": "[1] ✅ Готово",
        "done": "bot (alert)> Выполнено: позвонить",
    },
}


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_a_reps_first_day_in_the_console(tmp_path: Path, lang: str) -> None:
    case = CASES[lang]
    code = await invite(tmp_path, case["name"])
    console = await start_console(tmp_path, lang, "--telegram-id", str(REP_TELEGRAM_ID))
    try:
        for line in (f"/start {code}", case["contact"], case["deal"], case["todo"]):
            await console.type(line)
        mark = 0
        for text in case["steps"]:  # in this order, each after the one before
            mark = await console.wait_for(text, mark)
        # Nothing is due yet: tomorrow 11:45 comes (in the database), the console prints it.
        assert case["reminder"] not in console.out
        activity_id = await first_reminder_due_now(tmp_path, case["subject"])
        mark = await console.wait_for(case["reminder"], mark)
        reminder = console.out[mark - len(case["reminder"]) :]
        assert "/D1\n" in reminder.split("bot", 2)[1]
        assert case["done_button"] in reminder
        await console.type("#1")
        await console.wait_for(case["done"], mark)
    finally:
        exit_code, stderr = await console.quit()
    assert exit_code == 0, stderr
    assert "Traceback" not in stderr and "ERROR" not in stderr, stderr
    assert console.out.count(case["reminder"]) == 1
    done, statuses, contact_id = await after_done(tmp_path, activity_id)
    assert done
    assert contact_id == 1  # the deal is the existing client's
    # Done settled both reminders: the one delivered, and the at-deadline one never comes.
    assert statuses == ["sent"]
