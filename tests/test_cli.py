"""The `crmbot` command as a newcomer runs it: invite, console, run without a token."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

CRMBOT = str(Path(sys.executable).parent / "crmbot")


def crmbot(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}",
        # The code under test, also when the installed `crmbot` is another checkout's.
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        **env,
    }
    return subprocess.run(
        [CRMBOT, *args],
        input=stdin,
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_console_help_in_russian_and_polish(tmp_path: Path) -> None:
    ru = crmbot(tmp_path, "console", "--lang", "ru", stdin="/help\n")
    assert ru.returncode == 0, ru.stderr
    assert ru.stdout.startswith("bot> Команды CRM\n")
    assert "/whoami — кто я в CRM" in ru.stdout

    pl = crmbot(tmp_path, "console", "--lang", "pl", stdin="/help\n")
    assert pl.stdout.startswith("bot> Polecenia CRM\n")
    assert "/whoami — kim jestem w CRM" in pl.stdout


def test_console_provisions_an_admin_and_presses_buttons(tmp_path: Path) -> None:
    out = crmbot(tmp_path, "console", "--lang", "pl", stdin="/whoami\n/lang\n#2\n/help\n#9\n")
    assert out.returncode == 0, out.stderr
    assert "Rola: administrator" in out.stdout
    assert "[1] Polski  [2] Русский  [3] English" in out.stdout
    assert "bot> Язык установлен: Русский." in out.stdout
    assert "bot> Команды CRM" in out.stdout
    assert "(no button 9 here)" in out.stdout


def test_run_without_token_falls_back_to_the_console(tmp_path: Path) -> None:
    out = crmbot(tmp_path, "run", stdin="/help\n")
    assert out.returncode == 0, out.stderr
    assert "BOT_TOKEN is not set, starting the offline console" in out.stderr
    assert "bot> Polecenia CRM" in out.stdout  # DEFAULT_LOCALE is pl


def test_invite_then_redeem_in_the_console(tmp_path: Path) -> None:
    invite = crmbot(
        tmp_path, "invite", "--role", "rep", "--name", "Anna Nowak", "--department", "Sprzedaż"
    )
    assert invite.returncode == 0, invite.stderr
    lines = invite.stdout.strip().splitlines()
    code = lines[-1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", code), lines
    assert f"/start {code}" in invite.stdout

    session = crmbot(
        tmp_path, "console", "--telegram-id", "4242", stdin=f"/help\n/start {code}\n/whoami\n"
    )
    assert session.returncode == 0, session.stderr
    out = session.stdout
    assert "Nie jesteś jeszcze użytkownikiem tego CRM" in out  # before the invite
    assert "Witaj, Anna Nowak! Masz dostęp do CRM jako handlowiec." in out
    assert "Dział: Sprzedaż" in out

    again = crmbot(tmp_path, "console", "--telegram-id", "4343", stdin=f"/start {code}\n")
    assert "To zaproszenie jest nieważne" in again.stdout


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    for _ in range(2):
        out = crmbot(tmp_path, "migrate")
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "database is up to date"


@pytest.mark.parametrize(
    ("role", "locale", "name"),
    [
        ("admin", "pl", "Administrator"),
        ("manager", "pl", "Kierownik"),
        ("rep", "pl", "Handlowiec"),
        ("admin", "ru", "Администратор"),
        ("rep", "ru", "Менеджер по продажам"),
    ],
)
def test_invite_roles_and_a_localized_default_name(
    tmp_path: Path, role: str, locale: str, name: str
) -> None:
    """Invited without --name: called by their role in the CRM's language, not "Rep"."""
    out = crmbot(tmp_path, "invite", "--role", role, DEFAULT_LOCALE=locale)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"Invite for {name} ({role}")


@pytest.mark.parametrize(
    ("lang", "name"), [("pl", "Administrator"), ("ru", "Администратор"), ("en", "Administrator")]
)
def test_console_admin_is_named_in_the_console_language(
    tmp_path: Path, lang: str, name: str
) -> None:
    out = crmbot(tmp_path, "console", "--lang", lang, stdin="/whoami\n")
    assert out.returncode == 0, out.stderr
    assert f"bot> {name}\n" in out.stdout
    assert "Admin\n" not in out.stdout
    (tmp_path / "other").mkdir()
    named = crmbot(tmp_path / "other", "console", "--user", "Ewa", stdin="/whoami\n")
    assert "bot> Ewa\n" in named.stdout


def test_scheduler_without_a_token_says_so(tmp_path: Path) -> None:
    out = crmbot(tmp_path, "scheduler")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "crmbot: BOT_TOKEN is not set: the scheduler sends reminders through Telegram "
        "and needs the bot's token"
    ]
    assert not (tmp_path / "crm.db").exists()  # it stopped before opening anything


def test_a_bad_log_level_is_refused_by_name(tmp_path: Path) -> None:
    out = crmbot(tmp_path, "--log-level", "LOUD", "migrate")
    assert out.returncode == 2
    assert "argument --log-level: invalid choice: 'LOUD'" in out.stderr
    assert crmbot(tmp_path, "--log-level", "debug", "migrate").returncode == 0


def test_database_only_commands_import_neither_aiogram_nor_the_handlers(tmp_path: Path) -> None:
    """What `crmbot migrate`, `source`, `currency` and `product` import (bot/cli.py): a
    second and more of every such process's start-up, in the tests too."""
    probe = (
        "import sys; import bot.cli, bot.runtime, crm.context, storage.migrate; "
        "print(sorted({'aiogram', 'handlers'} & set(sys.modules)))"
    )
    root = str(Path(__file__).resolve().parent.parent)
    out = subprocess.run(
        [sys.executable, "-c", probe], env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": root},
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_duplicates_metavar_lists_every_choice() -> None:
    from bot.cli import DUPLICATES_METAVAR, build_parser
    from crm.imports import Duplicates

    assert DUPLICATES_METAVAR == "{" + ",".join(d.value for d in Duplicates) + "}"
    parser = build_parser()
    args = parser.parse_args(["import", "--type", "contacts", "f.csv"])
    assert Duplicates(args.duplicates) is Duplicates.SKIP
    args = parser.parse_args(["import", "--type", "deals", "f.csv", "--duplicates", "create"])
    assert Duplicates(args.duplicates) is Duplicates.CREATE
    with pytest.raises(SystemExit):
        parser.parse_args(["import", "--type", "deals", "f.csv", "--duplicates", "merge"])


PERSONAL = ["601234567", "601 234 567", "Kowalski", "jan.k@example.com"]


async def test_debug_and_sql_echo_never_log_bound_values(
    tmp_path: Path, database_url: str
) -> None:
    """`--log-level DEBUG` with DATABASE_ECHO: statements are logged, people's data is not."""
    out = crmbot(
        tmp_path, "--log-level", "DEBUG", "run",
        stdin="/lead Jan Kowalski +48 601 234 567 jan.k@example.com\n/find Kowalski\n",
        DATABASE_URL=database_url, DATABASE_ECHO="true",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Jan Kowalski" in out.stdout  # the lead was created and found
    assert "INSERT INTO contacts" in out.stderr  # the SQL log is on...
    assert "[SQL parameters hidden due to hide_parameters=True]" in out.stderr
    leaked = [value for value in PERSONAL if value in out.stderr]
    assert not leaked, leaked  # ...without the values


async def test_database_errors_do_not_quote_bound_values(engine: AsyncEngine) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError) as failure:
        async with engine.connect() as connection:
            await connection.execute(
                text("SELECT * FROM no_such_table WHERE phone = :phone"), {"phone": "+48601234567"}
            )
    assert "no_such_table" in str(failure.value)
    assert "601234567" not in str(failure.value)


def crmbot_here(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """`crmbot` of this checkout (the installed script may import another checkout's)."""
    root = str(Path(__file__).resolve().parent.parent)
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PYTHONPATH": root,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_inbound_sources_add_list_revoke(tmp_path: Path) -> None:
    """`crmbot source add` prints the token once; only its sha256 is stored."""
    import hashlib
    import sqlite3

    crmbot = crmbot_here

    added = crmbot(tmp_path, "source", "add", "Formularz kontaktowy")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token), added.stdout
    assert f"POST /inbound/{token}" in added.stdout and "WEBFORM" in added.stdout
    with sqlite3.connect(tmp_path / "crm.db") as db:
        stored = db.execute("SELECT token_hash, source, active FROM inbound_sources").fetchall()
    assert stored == [(hashlib.sha256(token.encode()).hexdigest(), "WEBFORM", 1)]

    again = crmbot(tmp_path, "source", "add", "formularz  KONTAKTOWY")
    assert again.returncode == 2 and "exists already" in again.stderr
    unknown_code = crmbot(tmp_path, "source", "add", "Ads", "--source", "NO_SUCH")
    assert unknown_code.returncode == 2 and "no such source: NO_SUCH" in unknown_code.stderr
    no_group = crmbot(tmp_path, "source", "add", "Ads", "--group", "-100123")
    assert no_group.returncode == 2 and "no such bound triage group" in no_group.stderr
    other = crmbot(tmp_path, "source", "add", "Partner", "--source", "partner")
    assert other.returncode == 0, other.stderr

    listed = crmbot(tmp_path, "source", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "Formularz kontaktowy\tWEBFORM\tunbound (the only group, if one)\tactive",
        "Partner\tPARTNER\tunbound (the only group, if one)\tactive",
    ]
    assert token not in listed.stdout

    revoked = crmbot(tmp_path, "source", "revoke", "Formularz kontaktowy")
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in crmbot(tmp_path, "source", "list").stdout.splitlines()[0]
    missing = crmbot(tmp_path, "source", "revoke", "Nope")
    assert missing.returncode == 2 and "no such source: Nope" in missing.stderr


def test_currency_rates_from_the_command_line(tmp_path: Path) -> None:
    added = crmbot(tmp_path, "currency", "add", "usd", "4,02", "2026-11-01")
    assert added.returncode == 0, added.stderr
    assert added.stdout == "1 USD = 4.02 PLN from 2026-11-01\n"
    (tmp_path / "rates.csv").write_text(
        "currency;rate;date\nEUR;4,31;2026-11-01\nUSD;4.05;2026-11-20\n", encoding="utf-8"
    )
    imported = crmbot(tmp_path, "currency", "import", "rates.csv")
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout == "2 rate(s) imported\n"
    (tmp_path / "bad.csv").write_text("EUR,4.40,2026-12-01\nGBP,x\n", encoding="utf-8")
    bad = crmbot(tmp_path, "currency", "import", "bad.csv")
    assert bad.returncode == 2
    assert bad.stderr == "crmbot: line 2: invalid rate 'x'; nothing was imported\n"
    assert crmbot(tmp_path, "currency", "add", "PLN", "1").returncode == 2  # the base itself
    assert crmbot(tmp_path, "currency", "report", "EUR").stdout == "reports are in EUR\n"
    listed = crmbot(tmp_path, "currency", "list")
    assert listed.stdout == (
        "base currency: PLN\nreport currency: EUR\nEUR 4.31 from 2026-11-01\n"
        "USD 4.05 from 2026-11-20\n"
    )
