"""Secrets never reach the log, whatever library logs them."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote

from bot.logs import Redactor, RedactSecrets

TOKEN = "123456789:AAE-very-secret-token-value-0123456789"


def capture(*secrets: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets(list(secrets)))
    logger = logging.getLogger(f"test.redact.{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    return logger, stream


def test_token_in_message_and_args_is_redacted() -> None:
    logger, stream = capture(TOKEN, "hook-secret")
    logger.error("request to https://api.telegram.org/bot%s/getMe failed", TOKEN)
    logger.warning("secret was hook-secret")
    output = stream.getvalue()
    assert TOKEN not in output and "hook-secret" not in output
    assert "https://api.telegram.org/bot***/getMe failed" in output
    assert "secret was ***" in output


def test_token_in_a_traceback_is_redacted() -> None:
    logger, stream = capture(TOKEN)
    try:
        raise RuntimeError(f"cannot reach /bot{TOKEN}/sendMessage")
    except RuntimeError:
        logger.exception("send failed")
    output = stream.getvalue()
    assert TOKEN not in output
    assert "RuntimeError: cannot reach /bot***/sendMessage" in output


# --- the whole set-up, in a fresh interpreter (it installs process-wide hooks) ----------------
WEBHOOK = "Hook-secret_0123456789"
DB_PASSWORD = "Db-Passw0rd-xyz"


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` after `setup_logging(INFO, secrets)`, as `crmbot` sets it up."""
    prelude = (
        "import logging, sys\n"
        "from bot.logs import setup_logging\n"
        f"setup_logging('INFO', [{TOKEN!r}, {TOKEN.split(':')[1]!r}, {WEBHOOK!r}, "
        f"{DB_PASSWORD!r}])\n"
        f"TOKEN, WEBHOOK, PASSWORD = {TOKEN!r}, {WEBHOOK!r}, {DB_PASSWORD!r}\n"
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).parent.parent,
    )  # fmt: skip


def assert_clean(result: subprocess.CompletedProcess[str], traceback: bool = False) -> str:
    output = result.stdout + result.stderr
    for secret in (TOKEN, TOKEN.split(":")[1], quote(TOKEN, safe=""), WEBHOOK, DB_PASSWORD):
        assert secret not in output, output
    assert ("Traceback" in output) == traceback, output
    return result.stderr


def test_an_uncaught_exception_is_one_redacted_line() -> None:
    stderr = assert_clean(run_python("raise RuntimeError(f'GET /bot{TOKEN}/getMe failed')"))
    assert stderr.strip().splitlines() == [
        stderr.strip().splitlines()[0].split(" CRITICAL ")[0]
        + " CRITICAL crmbot: stopped by an uncaught error: RuntimeError: GET /bot***/getMe failed"
    ]


def test_an_exception_in_a_thread_is_one_redacted_line() -> None:
    stderr = assert_clean(
        run_python(
            """
            import threading
            def work():
                raise ValueError("secret " + WEBHOOK)
            t = threading.Thread(target=work, name="worker"); t.start(); t.join()
            """
        )
    )
    assert "uncaught error in thread worker: ValueError: secret ***" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_a_failed_asyncio_task_is_one_redacted_line() -> None:
    stderr = assert_clean(
        run_python(
            """
            import asyncio, gc
            from bot.logs import install_asyncio_handler
            async def fail():
                raise ConnectionError(f"postgresql://u:{PASSWORD}@db/crm unreachable")
            async def main():
                install_asyncio_handler()
                asyncio.get_running_loop().create_task(fail())
                await asyncio.sleep(0.01)
                gc.collect()  # the task is dropped unseen: the loop reports it
            asyncio.run(main())
            gc.collect()
            """
        )
    )
    assert "Task exception was never retrieved: ConnectionError: postgresql://u:***@db" in stderr


def test_warnings_unraisable_errors_and_library_loggers_are_redacted() -> None:
    stderr = assert_clean(
        run_python(
            """
            import warnings
            warnings.warn(f"deprecated URL /bot{TOKEN}/x")
            class Leaky:
                def __del__(self):
                    raise OSError("closing " + TOKEN)
            Leaky()
            logging.getLogger("aiohttp.client").warning("GET http://h/bot%s/getMe", TOKEN)
            logging.getLogger("aiogram.dispatcher").error("Failed - %s", TOKEN.split(":")[1])
            try:
                raise KeyError(WEBHOOK)
            except KeyError:
                logging.getLogger("aiogram.event").exception("update failed")
            """
        ),
        traceback=True,  # a failed update keeps its traceback in the log, redacted
    )
    assert "UserWarning: deprecated URL /bot***/x" in stderr
    assert "OSError: closing ***" in stderr
    assert "aiohttp.client: GET http://h/bot***/getMe" in stderr
    assert "aiogram.dispatcher: Failed - ***" in stderr
    assert "KeyError: '***'" in stderr


def test_a_bare_print_to_stderr_and_url_encoded_token_are_redacted() -> None:
    stderr = assert_clean(
        run_python(
            """
            from urllib.parse import quote
            print("token", TOKEN, file=sys.stderr)
            sys.stderr.write("encoded " + quote(TOKEN, safe="") + "\\n")
            print("only the secret part", TOKEN.split(":")[1], file=sys.stderr)
            """
        )
    )
    assert stderr.splitlines() == ["token ***", "encoded ***", "only the secret part ***"]


def test_secrets_of_the_settings() -> None:
    from bot.config import load_settings
    from bot.logs import settings_secrets

    settings = load_settings(
        env_file=None,
        telegram={"bot_token": TOKEN},
        webhook={"webhook_url": "https://x.test/hook", "webhook_secret": WEBHOOK},
        database={"database_url": f"postgresql://crm:{DB_PASSWORD}@db:5432/crm"},
        redis={"redis_url": "redis://:Redis-Pass-123@cache:6379/0"},
    )
    assert set(settings_secrets(settings)) == {
        TOKEN, TOKEN.split(":")[1], WEBHOOK, DB_PASSWORD, "Redis-Pass-123",
    }  # fmt: skip


def test_a_short_secret_is_not_replaced_everywhere() -> None:
    redact = Redactor(["abc", TOKEN])
    assert redact(f"abc {TOKEN}") == "abc ***"
