"""`crmbot run` and `crmbot scheduler` as processes against a Bot API that misbehaves, and with
a database that cannot be reached: one line naming the setting and the cause, never a
traceback, never a secret (the token, its part after the bot id, the webhook secret, the
database password)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.badapi import BEHAVIOURS, BadTelegram

CRMBOT = str(Path(sys.executable).parent / "crmbot")
TOKEN = "987654321:AAH-startup-secret-Token_value-0123456789"
WEBHOOK_SECRET = "Webhook-Secret_0123456789abcdef"
DB_PASSWORD = "Db-Passw0rd-never-printed"
SECRETS = [TOKEN, TOKEN.split(":")[1], quote(TOKEN, safe=""), WEBHOOK_SECRET, DB_PASSWORD]
# The methods `crmbot run` calls before it serves: each must fail the start-up with one line.
START_UP = [("polling", "setMyCommands"), ("polling", "deleteWebhook"),
            ("polling", "getMe"), ("webhook", "setWebhook")]  # fmt: skip
CAUSES = {
    "redirect-loop": "too many redirects (a redirect loop)",
    "html-200": "with something that is not its JSON (an HTML error page or a proxy in the way?)",
    "html-502": "with something that is not its JSON",
    "status-500": "with something that is not its JSON",
    "bad-json": "with something that is not its JSON",
    "hang": "the server closed the connection without an answer",
}
BOUND = 60  # seconds a process may take to start, fail or stop: the test's bound, not a timing


@dataclass
class Outcome:
    returncode: int | None
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stderr.strip().splitlines()

    def assert_discreet(self) -> None:
        """No secret anywhere, no traceback, a short stderr."""
        output = self.stdout + self.stderr
        leaked = [s for s in SECRETS if s in output]
        assert not leaked, f"secrets {leaked} printed:\n{self.stderr}"
        assert "Traceback" not in self.stderr, self.stderr
        assert len(self.lines) <= 30, self.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(tmp_path: Path, **env: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        # The code under test, also when the installed `crmbot` is another checkout's.
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        "BOT_TOKEN": TOKEN,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}",
        **env,
    }


async def crmbot(cwd: Path, env: dict[str, str], *args: str, stop_when: object = None) -> Outcome:
    """Run `crmbot *args`; with `stop_when` (a callable), SIGTERM it once that holds."""
    process = await asyncio.create_subprocess_exec(
        CRMBOT, *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    outputs = asyncio.ensure_future(process.communicate())
    try:
        if stop_when is not None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + BOUND
            while not stop_when() and not outputs.done():  # type: ignore[operator]
                assert loop.time() < deadline, "the fault was never reached"
                await asyncio.sleep(0.05)
            if not outputs.done():
                process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(outputs, BOUND)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return Outcome(process.returncode, stdout.decode(), stderr.decode())


async def run_against(
    tmp_path: Path, template: Path, mode: str, method: str, behaviour: str
) -> Outcome:
    api = BadTelegram(TOKEN, method, behaviour)
    await api.start()
    folder = tmp_path / f"{mode}-{method}-{behaviour}"
    folder.mkdir()
    shutil.copy(template, folder / "crm.db")  # migrated already: the process only checks
    env = environment(folder, TELEGRAM_API_URL=api.base_url)
    if mode == "webhook":
        env.update(
            WEBHOOK_URL="https://crm.example.test/tg/hook",
            WEBHOOK_SECRET=WEBHOOK_SECRET,
            LISTEN_HOST="127.0.0.1",
            LISTEN_PORT=str(free_port()),
        )
    try:
        if method == "getUpdates":
            # aiogram keeps polling through errors (a new try every few seconds): once a
            # second call is under way the first one's failure is logged; stop it then, as
            # a deploy would.
            outcome = await crmbot(folder, env, "run", stop_when=lambda: api.failed_calls > 1)
        else:
            outcome = await crmbot(folder, env, "run")
        assert api.faults >= 1, f"{method} was never called: {dict(api.calls)}"
        return outcome
    finally:
        await api.stop()


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
async def test_a_misbehaving_bot_api_never_prints_a_secret(
    tmp_path: Path, sqlite_template: Path, behaviour: str
) -> None:
    """Each start-up call, and polling, meets a redirect loop, an HTML error page (200 and
    502), a 500, JSON cut short, or an answer that hangs and is dropped."""
    b, cases = behaviour, [*START_UP, ("polling", "getUpdates")]
    outcomes = await asyncio.gather(
        *(run_against(tmp_path, sqlite_template, mode, method, b) for mode, method in cases)
    )
    for (mode, method), outcome in zip(cases, outcomes, strict=True):
        context = f"{mode}/{method}/{behaviour}:\n{outcome.stderr}"
        outcome.assert_discreet()
        if method == "getUpdates":
            assert outcome.returncode == 0, context  # stopped by SIGTERM, cleanly
            assert "Failed to fetch updates" in outcome.stderr, context
            if behaviour != "hang":  # the other faults quote the URL: it is shown redacted
                assert "/bot***/getUpdates" in outcome.stderr, context
            continue
        assert outcome.returncode == 1, context
        last = outcome.lines[-1]
        assert last.startswith("crmbot: "), context
        assert "the Bot API (TELEGRAM_API_URL, 127.0.0.1:" in last, context
        assert f"during {method}" in last, context
        assert CAUSES[behaviour] in last, context
        assert not [line for line in outcome.lines if line.startswith("crmbot:")][:-1], context


async def test_bot_api_unreachable_is_one_line(tmp_path: Path, sqlite_template: Path) -> None:
    shutil.copy(sqlite_template, tmp_path / "crm.db")
    port = free_port()  # nothing listens there
    outcome = await crmbot(
        tmp_path, environment(tmp_path, TELEGRAM_API_URL=f"http://127.0.0.1:{port}"), "run"
    )
    outcome.assert_discreet()
    assert outcome.returncode == 1
    assert outcome.lines[-1] == (
        f"crmbot: cannot reach the Bot API (TELEGRAM_API_URL, 127.0.0.1:{port}) "
        "during setMyCommands: connection refused"
    )


async def test_a_bad_token_is_named(tmp_path: Path, sqlite_template: Path) -> None:
    """Telegram's 401 for a revoked token: the line names BOT_TOKEN, not the token."""
    shutil.copy(sqlite_template, tmp_path / "crm.db")
    from tests.fakeapi import FakeTelegram

    tg = FakeTelegram("111:not-this-bot-but-another-one-xyz")  # answers 401 to our token
    await tg.start()
    try:
        outcome = await crmbot(
            tmp_path, environment(tmp_path, TELEGRAM_API_URL=tg.base_url), "run"
        )
    finally:
        await tg.stop()
    outcome.assert_discreet()
    assert outcome.returncode == 1
    assert outcome.lines[-1] == (
        "crmbot: Telegram refused BOT_TOKEN during setMyCommands: "
        "check the token @BotFather gave you"
    )


async def test_webhook_port_in_use_is_named(tmp_path: Path, sqlite_template: Path) -> None:
    from tests.fakeapi import FakeTelegram

    shutil.copy(sqlite_template, tmp_path / "crm.db")
    tg = FakeTelegram(TOKEN)
    await tg.start()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = environment(
            tmp_path, TELEGRAM_API_URL=tg.base_url, WEBHOOK_URL="https://crm.example.test/hook",
            WEBHOOK_SECRET=WEBHOOK_SECRET, LISTEN_HOST="127.0.0.1", LISTEN_PORT=str(port),
        )  # fmt: skip
        try:
            outcome = await crmbot(tmp_path, env, "run")
        finally:
            await tg.stop()
    outcome.assert_discreet()
    assert outcome.returncode == 1
    assert outcome.lines == [
        f"crmbot: cannot listen on 127.0.0.1:{port} (LISTEN_HOST, LISTEN_PORT): "
        "address already in use"
    ]


# --- the scheduler: reminders meet the faults -------------------------------------------------
async def _seed_due_reminder(url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.factory import create_runtime
    from crm.context import Crm
    from crm.elements import ElementInput
    from crm.enums import EntityType, Role
    from crm.users import actor_of
    from storage import migrate
    from storage.db import create_engine, create_sessionmaker
    from tests.conftest import make_settings

    engine = create_engine(url)
    await migrate.upgrade(engine)
    async with create_sessionmaker(engine)() as session:
        crm = Crm(session, create_runtime(make_settings(url)))
        issued = await crm.users.create_invite(Role.REP, "Anna")
        await crm.users.redeem(issued.code, 4321, "pl")
        actor = actor_of(issued.user)
        deal = await crm.elements.create(actor, EntityType.DEAL, ElementInput(title="oferta"))
        soon = datetime.now(UTC) + timedelta(seconds=1)
        await crm.activities.create(actor, deal.primary, "Zadzwonić", soon, offsets=[0])
    await engine.dispose()


async def _scheduler_against(tmp_path: Path, template: Path, behaviour: str) -> Outcome:
    folder = tmp_path / behaviour
    folder.mkdir()
    shutil.copy(template, folder / "crm.db")
    api = BadTelegram(TOKEN, "sendMessage", behaviour)
    await api.start()
    # SIGTERM comes as the first faulty send starts; hang and redirect-loop keep retrying, so
    # the worker stops when the shutdown grace runs out (the default 10 s was most of this
    # test's time). 3 s still ends the grace mid-retry, with a request in flight for "hang".
    env = environment(
        folder,
        TELEGRAM_API_URL=api.base_url,
        REMINDER_POLL_SECONDS="0.2",
        SHUTDOWN_GRACE_SECONDS="3",
    )
    try:
        outcome = await crmbot(folder, env, "scheduler", stop_when=lambda: api.failed_calls > 0)
    finally:
        await api.stop()
    return outcome


async def test_scheduler_sending_into_a_misbehaving_bot_api_never_prints_a_secret(
    tmp_path: Path,
) -> None:
    """A due reminder's sendMessage meets each fault; the worker logs it redacted, in a line or
    two, and stops cleanly on SIGTERM."""
    template = tmp_path / "template.db"
    await _seed_due_reminder(f"sqlite+aiosqlite:///{template}")
    outcomes = await asyncio.gather(
        *(_scheduler_against(tmp_path, template, b) for b in BEHAVIOURS)
    )
    for behaviour, outcome in zip(BEHAVIOURS, outcomes, strict=True):
        outcome.assert_discreet()
        assert outcome.returncode == 0, f"{behaviour}:\n{outcome.stderr}"


# --- the database -----------------------------------------------------------------------------
@pytest.fixture
def pg_server() -> tuple[str, int]:
    """Host and port of the machine's PostgreSQL (the test skips without it)."""
    from sqlalchemy.engine import make_url

    from tests.conftest import _pg_admin_url, run_blocking, service_missing

    url, why = run_blocking(_pg_admin_url())
    if url is None:
        service_missing("PostgreSQL", why)
    parsed = make_url(url)  # type: ignore[arg-type]
    return f"{parsed.username}@{parsed.host}", int(parsed.port or 5432)


COMMANDS = ("run", "scheduler", "migrate")


async def _each(
    tmp_path: Path, url: str, commands: tuple[str, ...] = COMMANDS
) -> list[tuple[str, Outcome]]:
    async def one(command: str) -> tuple[str, Outcome]:
        folder = tmp_path / f"{command.split()[0]}-{uuid.uuid4().hex[:6]}"
        folder.mkdir()
        env = environment(folder, DATABASE_URL=url, TELEGRAM_API_URL="http://127.0.0.1:9")
        return command, await crmbot(folder, env, *command.split())

    return list(await asyncio.gather(*(one(c) for c in commands)))


async def test_postgresql_on_a_closed_port(tmp_path: Path, pg_server: tuple[str, int]) -> None:
    user_host, _ = pg_server
    user, host = user_host.split("@")
    port = free_port()
    url = f"postgresql+asyncpg://{user}:{DB_PASSWORD}@{host}:{port}/crm"
    for command, outcome in await _each(tmp_path, url):
        outcome.assert_discreet()
        assert outcome.returncode == 1, (command, outcome.stderr)
        assert outcome.lines == [
            f"crmbot: cannot reach the database (DATABASE_URL, {host}:{port}): connection refused"
        ], (command, outcome.stderr)


async def test_postgresql_database_that_does_not_exist(
    tmp_path: Path, pg_server: tuple[str, int]
) -> None:
    user_host, port = pg_server
    user, host = user_host.split("@")
    name = f"crm_missing_{uuid.uuid4().hex[:8]}"
    url = f"postgresql+asyncpg://{user}:{DB_PASSWORD}@{host}:{port}/{name}"
    for command, outcome in await _each(tmp_path, url):
        outcome.assert_discreet()
        assert outcome.returncode == 1, (command, outcome.stderr)
        assert outcome.lines == [
            f"crmbot: cannot open the database (DATABASE_URL, {host}:{port}): "
            f'database "{name}" does not exist'
        ], (command, outcome.stderr)


async def test_sqlite_folder_that_does_not_exist(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "folder" / "crm.db"
    commands = (*COMMANDS, "invite --role rep")
    for command, outcome in await _each(tmp_path, f"sqlite+aiosqlite:///{path}", commands):
        outcome.assert_discreet()
        assert outcome.returncode == 1, (command, outcome.stderr)
        assert outcome.lines == [
            f"crmbot: cannot open the database (DATABASE_URL, {path}): "
            f"the folder {path.parent} does not exist"
        ], (command, outcome.stderr)
        assert not path.parent.exists()


async def test_debug_level_adds_the_redacted_traceback(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """`--log-level DEBUG` is where the traceback goes — redacted like everything else."""
    shutil.copy(sqlite_template, tmp_path / "crm.db")
    api = BadTelegram(TOKEN, "setMyCommands", "html-200")
    await api.start()
    try:
        env = environment(tmp_path, TELEGRAM_API_URL=api.base_url)
        outcome = await crmbot(tmp_path, env, "--log-level", "DEBUG", "run")
    finally:
        await api.stop()
    assert outcome.returncode == 1
    assert "Traceback" in outcome.stderr and "ClientDecodeError" in outcome.stderr
    assert "/bot***/setMyCommands" in outcome.stderr
    assert not [s for s in SECRETS if s in outcome.stderr + outcome.stdout]
    assert outcome.lines[-1].startswith("crmbot: the Bot API (TELEGRAM_API_URL")
