"""One line for a person when `crmbot` cannot start or stops: which setting, and why.

`describe_failure` finds which service an exception came from (the database, the Bot API,
Redis, the webhook's listening socket) by the exception's own library or, for a bare
`OSError`, by the library that raised it, and words the cause without echoing a URL, a
password or a token (the line is redacted again when printed).
"""

from __future__ import annotations

import errno
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from bot.config import Settings
from bot.logs import one_line

# Which service a module belongs to, by the first component(s) of its name.
_ORIGINS: tuple[tuple[str, str], ...] = (
    ("aiohttp.web", "listen"),
    ("aiogram", "telegram"),
    ("aiohttp", "telegram"),
    ("sqlalchemy", "database"),
    ("asyncpg", "database"),
    ("aiosqlite", "database"),
    ("sqlite3", "database"),
    ("alembic", "database"),
    ("storage", "database"),
    ("redis", "redis"),
)


def describe_failure(exc: BaseException, settings: Settings) -> str:
    try:
        return _describe(exc, settings)
    except Exception:  # the description must never be the next failure
        return f"stopped by an unexpected error: {one_line(exc)}"


def _describe(exc: BaseException, settings: Settings) -> str:
    origin = _origin(exc)
    if origin == "database":
        return _database(exc, settings)
    if origin == "telegram":
        return _telegram(exc, settings)
    if origin == "redis":
        where = _host_port(settings.redis.redis_url or "")
        return f"cannot reach Redis (REDIS_URL{where}): {_cause(exc)}"
    if origin == "listen":
        hook = settings.webhook
        return (
            f"cannot listen on {hook.listen_host}:{hook.listen_port} "
            f"(LISTEN_HOST, LISTEN_PORT): {_cause(exc)}"
        )
    return f"stopped by an unexpected error: {one_line(exc)} (--log-level DEBUG shows where)"


# --- where it came from -----------------------------------------------------------------------
def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _group(module: str) -> str | None:
    for prefix, origin in _ORIGINS:
        if module == prefix or module.startswith(prefix + "."):
            return origin
        if prefix == "aiohttp.web" and module.startswith(prefix):  # web_runner, web_server
            return origin
    return None


def _frames(tb: TracebackType | None) -> Iterator[str]:
    while tb is not None:
        yield str(tb.tb_frame.f_globals.get("__name__", ""))
        tb = tb.tb_next


def _origin(exc: BaseException) -> str | None:
    for link in _chain(exc):
        origin = _group(type(link).__module__)
        if origin is not None:
            return origin
    # A bare OSError (connection refused, a missing folder): the deepest library that raised.
    for link in _chain(exc):
        found = [o for o in map(_group, _frames(link.__traceback__)) if o is not None]
        if found:
            return found[-1]
    return None


# --- why --------------------------------------------------------------------------------------
def _cause(exc: BaseException) -> str:
    """The most telling reason in the chain, in a few words."""
    import aiohttp

    for link in _chain(exc):
        if isinstance(link, socket.gaierror):
            return "host not found"
        if isinstance(link, ConnectionRefusedError) or (
            isinstance(link, OSError) and link.errno == errno.ECONNREFUSED
        ):
            return "connection refused"
        if isinstance(link, OSError) and link.errno == errno.EADDRINUSE:
            return "address already in use"
        if isinstance(link, TimeoutError):
            return "no answer in time (timed out)"
        if isinstance(link, aiohttp.TooManyRedirects):
            return "too many redirects (a redirect loop)"
        if isinstance(link, aiohttp.ServerDisconnectedError):
            return "the server closed the connection without an answer"
        if isinstance(link, PermissionError):
            return "permission denied"
        if isinstance(link, aiohttp.InvalidURL):
            return "not a valid URL"
    for link in _chain(exc):
        if isinstance(link, OSError) and link.strerror:
            return link.strerror.lower()
    return one_line(exc)


def _database(exc: BaseException, settings: Settings) -> str:
    url = settings.database.database_url
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        where = f", {path}" if path else ""
        if path and not Path(path).parent.is_dir():
            return (
                f"cannot open the database (DATABASE_URL{where}): "
                f"the folder {Path(path).parent} does not exist"
            )
        return f"cannot open the database (DATABASE_URL{where}): {_database_cause(exc)}"
    where = _host_port(url)
    cause = _database_cause(exc)
    verb = "reach" if cause in _UNREACHABLE else "open"
    return f"cannot {verb} the database (DATABASE_URL{where}): {cause}"


_UNREACHABLE = {"connection refused", "host not found", "no answer in time (timed out)"}


def _database_cause(exc: BaseException) -> str:
    cause = _cause(exc)
    if cause != one_line(exc):
        return cause
    for link in _chain(exc):
        module = type(link).__module__
        if module.startswith("asyncpg") or isinstance(link, sqlite3.Error):
            return _first_line(link)
    # SQLAlchemy: "(sqlalchemy.dialects...Error) database "x" does not exist" + SQL lines.
    text = _first_line(exc)
    if text.startswith("(") and ") " in text:
        text = text.split(") ", 1)[1]
    return text or one_line(exc)


def _telegram(exc: BaseException, settings: Settings) -> str:
    from aiogram.exceptions import (
        ClientDecodeError,
        TelegramAPIError,
        TelegramNetworkError,
        TelegramUnauthorizedError,
    )

    api = settings.telegram.telegram_api_url
    setting = f"TELEGRAM_API_URL{_host_port(api)}" if api else "api.telegram.org"
    name = _api_method(exc)
    method = f" during {name}" if name else ""
    for link in _chain(exc):
        if isinstance(link, TelegramUnauthorizedError):
            return f"Telegram refused BOT_TOKEN{method}: check the token @BotFather gave you"
        if isinstance(link, ClientDecodeError):
            return (
                f"the Bot API ({setting}) answered{method} with something that is not its JSON "
                "(an HTML error page or a proxy in the way?)"
            )
        if isinstance(link, TelegramNetworkError):
            return f"cannot reach the Bot API ({setting}){method}: {_cause(link)}"
        if isinstance(link, TelegramAPIError):
            return f"the Bot API ({setting}) refused{method}: {_first_line(link.message)}"
    return f"cannot reach the Bot API ({setting}){method}: {_cause(exc)}"


def _api_method(exc: BaseException) -> str | None:
    """The Bot API method that failed: on aiogram's error, or in the frame that sent it."""
    for link in _chain(exc):
        name = getattr(getattr(link, "method", None), "__api_method__", None)
        if name:
            return str(name)
    for link in _chain(exc):
        tb = link.__traceback__
        while tb is not None:
            if str(tb.tb_frame.f_globals.get("__name__", "")).startswith("aiogram."):
                name = getattr(tb.tb_frame.f_locals.get("method"), "__api_method__", None)
                if name:
                    return str(name)
            tb = tb.tb_next
    return None


# --- small helpers ----------------------------------------------------------------------------
def _first_line(value: object) -> str:
    lines = str(value).strip().splitlines()
    return lines[0].strip() if lines else ""


def _host_port(url: str) -> str:
    """`, host:port` of a URL, never its user or password; empty when it cannot be read."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return ""
    if not host:
        return ""
    return f", {host}:{port}" if port else f", {host}"


def _sqlite_path(url: str) -> str | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        database = make_url(url).database
    except (ArgumentError, ValueError):
        return None
    if not database or database == ":memory:":
        return None
    return database
