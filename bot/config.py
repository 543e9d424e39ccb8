"""Configuration from the environment and `.env`, one settings class per section.

`load_settings()` is the only place the environment is read; nothing is configured at import
time. A bad value becomes a `ConfigError` whose message names the environment variable and
never echoes the value (it may be a secret).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from babel.numbers import list_currencies
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crm.locales import SUPPORTED_LOCALES
from crm.timezones import is_timezone

TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,}$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for a person."""


class _Section(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )


class TelegramSettings(_Section):
    bot_token: SecretStr | None = None
    telegram_api_url: str | None = None
    bot_username: str | None = None

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not TOKEN_RE.match(value.get_secret_value().strip()):
            raise ValueError("expected the form 123456:ABC... given by @BotFather")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        return _http_url(value)


class WebhookSettings(_Section):
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=8080, ge=1, le=65535)

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _http_url(value)

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        # Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and -.
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("use 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @model_validator(mode="after")
    def _secret_required(self) -> WebhookSettings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("WEBHOOK_SECRET is required when WEBHOOK_URL is set")
        return self

    @property
    def path(self) -> str:
        """The local route: the path of the public URL Telegram posts to."""
        return urlsplit(self.webhook_url or "").path or "/telegram/webhook"


class DatabaseSettings(_Section):
    database_url: str = "sqlite+aiosqlite:///crm.db"
    database_echo: bool = False

    @field_validator("database_url")
    @classmethod
    def _driver(cls, value: str) -> str:
        return normalize_database_url(value)


class RedisSettings(_Section):
    redis_url: str | None = None

    @field_validator("redis_url")
    @classmethod
    def _scheme(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected redis://host:port/db")
        return value


class LocaleSettings(_Section):
    default_locale: str = "pl"
    default_timezone: str = "Europe/Warsaw"
    base_currency: str = "PLN"
    locales_dir: Path = Path(__file__).resolve().parent.parent / "locales"

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        if not is_timezone(value):
            raise ValueError("not an IANA time zone such as Europe/Warsaw")
        return value

    @field_validator("base_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in list_currencies():
            raise ValueError("not an ISO 4217 currency code such as PLN")
        return value


class SchedulerSettings(_Section):
    run_scheduler: bool = True
    invite_ttl_hours: int = Field(default=72, ge=1, le=24 * 365)
    # How long a merge of duplicates can be undone (/merge_undo); 0: recorded, never undone.
    merge_undo_hours: int = Field(default=24, ge=0, le=24 * 365)
    # How often each instance looks for due reminders, and how many it claims at once.
    reminder_poll_seconds: float = Field(default=0.5, gt=0, le=300)
    reminder_batch: int = Field(default=500, ge=1, le=10_000)
    # A worker's hold on what it claimed, renewed every quarter of it while it works; a worker
    # that dies leaves its reminders to the others after at most this long.
    reminder_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    # How often each instance looks for untaken triage requests whose queue time ran out.
    triage_sla_poll_seconds: float = Field(default=1.0, gt=0, le=300)
    # How often each instance looks for scheduled digests that are due (users' own times).
    digest_poll_seconds: float = Field(default=30.0, gt=0, le=600)
    # How long SIGTERM waits for the reminders being sent before the process exits.
    shutdown_grace_seconds: float = Field(default=10.0, ge=0, le=600)


class SenderSettings(_Section):
    """Telegram's flood limits, per instance: with N instances give each 1/N of the global."""

    send_rate_per_second: float = Field(default=30.0, gt=0)
    send_chat_interval: float = Field(default=1.0, ge=0)
    send_group_per_minute: int = Field(default=20, ge=1)


class InboundSettings(_Section):
    """`POST /inbound/{token}`: web forms posting requests (see bot/inbound.py)."""

    # Posts a minute from one client address (every instance counts in Redis when it is
    # configured, else each in its own memory); a burst over it gets 429 with Retry-After.
    inbound_rate_per_minute: int = Field(default=30, ge=1, le=100_000)
    inbound_max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    # How many reverse proxies in front of the bot append to X-Forwarded-For: the client is
    # the address that many hops from its end. 0: the header is ignored (it can be forged).
    inbound_trusted_proxies: int = Field(default=0, ge=0, le=10)
    # With long polling there is no web server; `auto` starts one (LISTEN_HOST:LISTEN_PORT)
    # when an active inbound source exists at start-up, `on` always, `off` never. A webhook
    # server always has the route.
    inbound_server: Literal["auto", "on", "off"] = "auto"


@dataclass(frozen=True, slots=True)
class Settings:
    telegram: TelegramSettings
    webhook: WebhookSettings
    database: DatabaseSettings
    redis: RedisSettings
    locale: LocaleSettings
    scheduler: SchedulerSettings
    sender: SenderSettings
    inbound: InboundSettings


_SECTIONS: dict[str, type[_Section]] = {
    "telegram": TelegramSettings,
    "webhook": WebhookSettings,
    "database": DatabaseSettings,
    "redis": RedisSettings,
    "locale": LocaleSettings,
    "scheduler": SchedulerSettings,
    "sender": SenderSettings,
    "inbound": InboundSettings,
}


def load_settings(env_file: str | Path | None = ".env", **overrides: dict[str, Any]) -> Settings:
    """Read every section; `overrides` maps a section name to explicit field values."""
    sections: dict[str, _Section] = {}
    for name, cls in _SECTIONS.items():
        try:
            sections[name] = cls(_env_file=env_file, **overrides.get(name, {}))  # type: ignore[call-arg]  # pydantic-settings init kwarg
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from None
    return Settings(**sections)  # type: ignore[arg-type]  # each key gets its own section class


def _describe(exc: ValidationError) -> str:
    first = exc.errors(include_input=False, include_url=False)[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    if not first["loc"]:  # a rule across fields names its settings itself
        return f"bad settings: {message}"
    return f"bad setting {str(first['loc'][0]).upper()}: {message}"


def _http_url(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().rstrip("/")
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("expected an http:// or https:// URL")
    return value


def normalize_database_url(value: str) -> str:
    value = value.strip()
    for plain, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if value.startswith(plain):
            return driver + value.removeprefix(plain)
    if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        raise ValueError("use sqlite+aiosqlite:///file.db or postgresql+asyncpg://user@host/db")
    return value
