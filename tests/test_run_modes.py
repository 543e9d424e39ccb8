"""`crmbot run` as a process against a Bot API server at TELEGRAM_API_URL: long polling and
webhook mode, and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

from crm.enums import Role
from tests.fakeapi import FakeTelegram
from tests.harness import TOKEN

CRMBOT = str(Path(sys.executable).parent / "crmbot")
ROOT = str(Path(__file__).resolve().parent.parent)  # the checkout under test


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start(tmp_path: Path, tg: FakeTelegram, **env: str) -> asyncio.subprocess.Process:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        # The code under test, also when the installed `crmbot` is another checkout's.
        "PYTHONPATH": ROOT,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": tg.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}",
        **env,
    }
    return await asyncio.create_subprocess_exec(
        CRMBOT, "run", env=environment, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def wait_for(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def stop(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, stderr.decode()
    return stderr.decode()


async def test_long_polling_against_the_api_url(tmp_path: Path) -> None:
    tg = FakeTelegram(TOKEN)
    await tg.start()
    process = await start(tmp_path, tg)
    try:
        await asyncio.wait_for(tg.polling.wait(), 60)
        assert {"deleteWebhook", "setMyCommands"} <= {c.method for c in tg.calls}
        ru_menu = [
            c
            for c in tg.calls
            if c.method == "setMyCommands" and c.params.get("language_code") == "ru"
        ]
        assert (
            ru_menu
            and {"command": "help", "description": "что я умею"} in ru_menu[0].params["commands"]
        )

        user = {"id": 77, "is_bot": False, "first_name": "Eve", "language_code": "ru"}
        update = {
            "update_id": tg.next_update_id(),
            "message": {"message_id": 1, "date": 0, "chat": {"id": 77, "type": "private"},
                        "from": user, "text": "/help"},
        }  # fmt: skip
        await tg.push_update(update)
        # Production polling handles updates as tasks: the reply may trail the next poll.
        await wait_for(lambda: tg.sent(77, "sendMessage"))
        replies = tg.sent(77, "sendMessage")
        assert [r.text for r in replies] == [
            "Вы ещё не подключены к этой CRM. Попросите приглашение у администратора."
        ]
        logs = await stop(process)
        assert TOKEN.split(":")[1] not in logs
    finally:
        if process.returncode is None:
            process.kill()
        await tg.stop()


async def test_webhook_mode_registers_and_serves(tmp_path: Path) -> None:
    from aiohttp import ClientSession

    tg = FakeTelegram(TOKEN)
    await tg.start()
    port = free_port()
    process = await start(
        tmp_path, tg,
        WEBHOOK_URL="https://crm.example.test/tg/hook", WEBHOOK_SECRET="s3cret",
        LISTEN_HOST="127.0.0.1", LISTEN_PORT=str(port),
    )  # fmt: skip
    try:
        await wait_for(lambda: tg.webhook is not None, 60)
        assert tg.webhook == {"url": "https://crm.example.test/tg/hook", "secret_token": "s3cret"}
        sender = {"id": 5, "is_bot": False, "first_name": "X", "language_code": "pl"}
        update = {
            "update_id": 1,
            "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
                        "from": sender, "text": "/help"},
        }  # fmt: skip
        url = f"http://127.0.0.1:{port}/tg/hook"
        async with ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as health:
                assert health.status == 200
            async with http.post(url, json=update) as refused:
                assert refused.status == 401
            assert tg.sent(5) == []
            headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
            async with http.post(url, json=update, headers=headers) as accepted:
                assert accepted.status == 200
        assert [c.text for c in tg.sent(5, "sendMessage")] == [
            "Nie jesteś jeszcze użytkownikiem tego CRM. Poproś administratora o zaproszenie."
        ]
        await stop(process)
    finally:
        if process.returncode is None:
            process.kill()
        await tg.stop()


def test_role_enum_matches_cli_choices() -> None:
    from bot.cli import build_parser

    invite = build_parser()._subparsers._group_actions[0].choices["invite"]  # type: ignore[union-attr]
    role_action = next(a for a in invite._actions if a.dest == "role")
    assert role_action.choices == [r.value for r in Role]


async def test_scheduler_worker_sends_due_reminders(tmp_path: Path) -> None:
    """`crmbot scheduler` alone: claims a due reminder from the database and sends it."""
    from datetime import UTC, datetime, timedelta

    from bot.factory import create_runtime
    from crm.context import Crm
    from crm.elements import ElementInput
    from crm.enums import EntityType
    from crm.users import actor_of
    from storage import migrate
    from storage.db import create_engine, create_sessionmaker
    from tests.conftest import make_settings

    url = f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}"
    engine = create_engine(url)
    await migrate.upgrade(engine)
    async with create_sessionmaker(engine)() as session:
        crm = Crm(session, create_runtime(make_settings(url)))
        issued = await crm.users.create_invite(Role.REP, "Anna")
        await crm.users.redeem(issued.code, 4321, "pl")
        actor = actor_of(issued.user)
        deal = await crm.elements.create(actor, EntityType.DEAL, ElementInput(title="oferta"))
        soon = datetime.now(UTC) + timedelta(seconds=2)
        await crm.activities.create(actor, deal.primary, "Zadzwonić", soon, offsets=[0])
    await engine.dispose()

    tg = FakeTelegram(TOKEN)
    await tg.start()
    process = await asyncio.create_subprocess_exec(
        CRMBOT, "scheduler",
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "BOT_TOKEN": TOKEN,
             "TELEGRAM_API_URL": tg.base_url, "DATABASE_URL": url, "REMINDER_POLL_SECONDS": "0.2",
             "PYTHONPATH": ROOT},
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await wait_for(lambda: tg.sent(4321, "sendMessage"), 60)
        reminder = tg.sent(4321, "sendMessage")[0]
        assert reminder.text.startswith("⏰ Przypomnienie: Zadzwonić")
        assert [b["text"] for b in reminder.buttons][:2] == ["✅ Zrobione", "+15 min"]
        await stop(process)
        assert len(tg.sent(4321, "sendMessage")) == 1
    finally:
        if process.returncode is None:
            process.kill()
        await tg.stop()
