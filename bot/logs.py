"""Logging set-up that never lets a secret through.

Every way Python writes to stderr goes through one `Redactor`: the log handler's formatter
(so records from aiogram, aiohttp, asyncio, SQLAlchemy... are covered, tracebacks included),
the hooks for uncaught exceptions (`sys.excepthook`, `threading.excepthook`,
`sys.unraisablehook`, the asyncio loop's exception handler), `warnings`, and as a last line of
defence `sys.stderr` itself, wrapped so that even a library's bare `print(file=sys.stderr)`
is redacted. The hooks print one line; the traceback is logged only at DEBUG.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote

if TYPE_CHECKING:
    from bot.config import Settings

REDACTED = "***"
# A shorter "secret" cannot be replaced everywhere without garbling every line (and is no
# secret anyway); a bot token's secret part alone has at least 20 characters.
MIN_SECRET_LENGTH = 4

log = logging.getLogger("crmbot")


class Redactor:
    """Replaces each secret, and its URL-encoded forms, by `***`."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        variants: set[str] = set()
        for secret in secrets:
            if not secret or len(secret) < MIN_SECRET_LENGTH:
                continue
            variants.update({secret, quote(secret, safe=""), quote(secret)})
        # Longest first: the token is replaced whole before its secret part is looked for.
        self.secrets = sorted(variants, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def __bool__(self) -> bool:
        return bool(self.secrets)


def settings_secrets(settings: Settings) -> list[str]:
    """Everything in the settings that must never be printed."""
    secrets: list[str] = []
    token = settings.telegram.bot_token
    if token is not None:
        value = token.get_secret_value()
        # The part after the bot's numeric id is the secret; it may be quoted on its own.
        secrets += [value, value.partition(":")[2]]
    if settings.webhook.webhook_secret is not None:
        secrets.append(settings.webhook.webhook_secret.get_secret_value())
    for url in (settings.database.database_url, settings.redis.redis_url):
        password = url_password(url)
        if password:
            secrets.append(password)
    return secrets


def url_password(url: str | None) -> str | None:
    if not url:
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        return None
    return str(password) if password else None


class RedactSecrets(logging.Filter):
    """Replace every known secret (bot token, webhook secret) in a record by `***`.

    The token is part of every Bot API URL, so a network error that quotes a URL would leak
    it; the filter sits on the handler, so it sees records from every library.
    """

    def __init__(self, secrets: Iterable[str | None] | Redactor) -> None:
        super().__init__()
        self.redact = secrets if isinstance(secrets, Redactor) else Redactor(secrets)

    @property
    def secrets(self) -> list[str]:
        return self.redact.secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.redact:
            return True
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text, record.exc_info = self.redact(text), None
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class QuietCancellation(logging.Filter):
    """A task cancelled while the process stops (a scheduler job mid-query) is no failure:
    one line, the traceback only at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, asyncio.CancelledError) and not log.isEnabledFor(logging.DEBUG):
            record.msg, record.args = f"{record.getMessage()}: cancelled at shutdown", None
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


class RedactingFormatter(logging.Formatter):
    """Redacts the finished line: whatever a record carries, the secret never leaves."""

    def __init__(self, redact: Redactor, fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class RedactingStream:
    """A text stream that redacts what is written to it, delegating everything else."""

    def __init__(self, stream: TextIO, redact: Redactor) -> None:
        self._stream = stream
        self._redact = redact

    def write(self, text: str) -> int:
        self._stream.write(self._redact(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def one_line(exc: BaseException | None) -> str:
    """`TypeName: first line of the message`, for a log line that must stay short."""
    if exc is None:
        return "unknown error"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


_redactor = Redactor()


def redact(text: str) -> str:
    """Redact with the secrets `setup_logging` was given."""
    return _redactor(text)


def setup_logging(level: str = "INFO", secrets: Iterable[str | None] | None = None) -> Redactor:
    global _redactor
    _redactor = redactor = Redactor(secrets or [])
    if not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr, redactor)
    else:
        sys.stderr._redact = redactor
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter(redactor, "%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(QuietCancellation())
    handler.addFilter(RedactSecrets(redactor))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # One line per webhook request costs CPU and says nothing the balancer's log doesn't.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # aiosqlite's DEBUG lines quote every statement with its bound values (phones, names).
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    sys.unraisablehook = _unraisablehook
    return redactor


def _details(exc: BaseException | None) -> Any:
    """The traceback for a log record, but only when someone asked for DEBUG."""
    if exc is not None and log.isEnabledFor(logging.DEBUG):
        return (type(exc), exc, exc.__traceback__)
    return None


def _excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        return
    log.critical("stopped by an uncaught error: %s", one_line(exc), exc_info=_details(exc))


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    log.error(
        "uncaught error in thread %s: %s", name, one_line(args.exc_value),
        exc_info=_details(args.exc_value),
    )  # fmt: skip


def _unraisablehook(args: Any) -> None:
    message = args.err_msg or "Exception ignored in"
    log.warning(
        "%s %s: %s", message, _short_repr(args.object), one_line(args.exc_value),
        exc_info=_details(args.exc_value),
    )  # fmt: skip


def _short_repr(value: object) -> str:
    try:
        text = repr(value)
    except Exception:
        text = object.__repr__(value)
    return text if len(text) <= 120 else text[:117] + "..."


def asyncio_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The loop's handler: one redacted line (a task that failed unseen, a callback)."""
    exc = context.get("exception")
    message = context.get("message") or "error in the event loop"
    logging.getLogger("asyncio").error(
        "%s: %s", message, one_line(exc) if exc is not None else "", exc_info=_details(exc)
    )


def install_asyncio_handler() -> None:
    asyncio.get_running_loop().set_exception_handler(asyncio_exception_handler)
