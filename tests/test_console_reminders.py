"""`crmbot console` runs the reminder engine: a rep sees a reminder arrive offline and presses
Done on it, in Polish and in Russian (a real console process, its stdin a pipe)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from storage.db import create_engine, create_sessionmaker
from storage.models import Activity, Reminder

CRMBOT = str(Path(sys.executable).parent / "crmbot")


class ConsoleProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.out = ""
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := await self.process.stdout.read(4096):
            self.out += chunk.decode()

    async def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((line + "\n").encode())
        await self.process.stdin.drain()

    async def wait_for(self, text: str, after: int = 0, timeout: float = 60) -> int:
        """Wait until `text` is printed after position `after`; return where it ends."""
        deadline = time.monotonic() + timeout
        while (found := self.out.find(text, after)) < 0:
            assert self.process.returncode is None, self.out
            assert time.monotonic() < deadline, f"{text!r} never printed:\n{self.out}"
            await asyncio.sleep(0.05)
        return found + len(text)

    async def quit(self) -> tuple[int, str]:
        assert self.process.stdin is not None
        assert self.process.stderr is not None
        self.process.stdin.close()
        await asyncio.wait_for(self._reader, 30)
        stderr = await asyncio.wait_for(self.process.stderr.read(), 30)
        return await asyncio.wait_for(self.process.wait(), 30), stderr.decode()


def environment(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}",
        "REMINDER_POLL_SECONDS": "0.2",
        # The code under test, also from a second work tree of an editable install.
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }


async def start_console(tmp_path: Path, lang: str, *args: str) -> ConsoleProcess:
    process = await asyncio.create_subprocess_exec(
        CRMBOT, "console", "--lang", lang, *args, env=environment(tmp_path), cwd=tmp_path,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    return ConsoleProcess(process)


async def make_due(tmp_path: Path, subject: str) -> int:
    """The activity's reminder falls due now, as if its deadline had come (no waiting)."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}")
    try:
        async with create_sessionmaker(engine)() as session:
            activity_id = await session.scalar(
                select(Activity.id).where(Activity.subject == subject)
            )
            assert activity_id is not None
            now = datetime.now(UTC)
            result = await session.execute(
                update(Reminder)
                .where(Reminder.activity_id == activity_id, Reminder.status == "pending")
                .values(due_at=now - timedelta(seconds=1))
            )
            assert result.rowcount == 1  # type: ignore[attr-defined]  # /reminders 0: one
            await session.commit()
    finally:
        await engine.dispose()
    return activity_id


async def completed(tmp_path: Path, activity_id: int) -> bool:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}")
    try:
        async with create_sessionmaker(engine)() as session:
            activity = await session.get(Activity, activity_id)
            assert activity is not None
            return activity.completed_at is not None
    finally:
        await engine.dispose()


CASES = {
    "pl": {
        "deal": "/deal Wdrożenie CRM 12 000 zł Jan Kowalski +48 600 100 200",
        "todo": "/todo D1 jutro 12 zadzwonić do klienta",
        "subject": "zadzwonić do klienta",
        "created": "Zadanie",
        "reminder": "⏰ Przypomnienie: zadzwonić do klienta",
        "button": "Zrobione",
        "done": "Zrobione",
    },
    "ru": {
        "deal": "/deal Внедрение CRM 200 тыс. руб Иван Петров +7 916 123-45-67",
        "todo": "/todo D1 завтра 12 позвонить клиенту",
        "subject": "позвонить клиенту",
        "created": "Задача",
        "reminder": "⏰ Напоминание: позвонить клиенту",
        "button": "Готово",
        "done": "Выполнено",
    },
}


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_a_reminder_arrives_in_the_console_and_done_works(tmp_path: Path, lang: str) -> None:
    case = CASES[lang]
    console = await start_console(tmp_path, lang)
    try:
        await console.type("/reminders 0")
        await console.type(case["deal"])
        await console.type(case["todo"])
        mark = await console.wait_for(case["subject"])
        activity_id = await make_due(tmp_path, case["subject"])
        mark = await console.wait_for(case["reminder"], mark)
        reminder = console.out[console.out.rfind("bot>", 0, mark) :]
        assert "D1" in reminder
        # The reminder's first button is Done.
        first_button = reminder[reminder.index("[1]") :].split("  ")[0]
        assert case["button"] in first_button, reminder
        await console.type("#1")
        await console.wait_for(f"bot (alert)> {case['done']}: {case['subject']}", mark)
        assert await completed(tmp_path, activity_id)
    finally:
        code, stderr = await console.quit()
    assert code == 0, stderr
    assert "Traceback" not in stderr and "ERROR" not in stderr, stderr
    # Printed once: the engine settled the reminder it delivered.
    assert console.out.count(case["reminder"]) == 1


def test_a_message_at_the_prompt_keeps_the_typed_line() -> None:
    """A reminder printed while the rep is typing: the prompt line is cleared, the message
    printed on lines of its own, and the prompt shown again with what was typed so far."""
    from io import StringIO

    from bot.console import ConsoleSession

    out = StringIO()
    session = ConsoleSession(out)
    session._print("bot> before the prompt")
    session.prompt = lambda: "you> /todo D1 jut"
    session._print("bot> ⏰ Reminder: call")
    session.prompt = None
    session._print("bot> after")
    assert out.getvalue() == (
        "bot> before the prompt\n\r\x1b[Kbot> ⏰ Reminder: call\nyou> /todo D1 jutbot> after\n"
    )
