"""Settings: defaults, normalization, and one-line errors that name the setting."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.config import ConfigError, load_settings

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678"


def test_defaults_are_the_embedded_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BOT_TOKEN", "DATABASE_URL", "REDIS_URL", "WEBHOOK_URL", "DEFAULT_LOCALE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(env_file=None)
    assert settings.database.database_url == "sqlite+aiosqlite:///crm.db"
    assert settings.redis.redis_url is None
    assert settings.telegram.bot_token is None
    assert settings.locale.default_locale == "pl"
    assert settings.locale.default_timezone == "Europe/Warsaw"
    assert settings.locale.base_currency == "PLN"
    assert settings.webhook.webhook_url is None


def test_environment_and_normalization(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("DATABASE_URL", "postgresql://crm@db:5432/crm")
    monkeypatch.setenv("DEFAULT_LOCALE", "RU")
    monkeypatch.setenv("BASE_CURRENCY", "eur")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    settings = load_settings(env_file=None)
    assert settings.telegram.bot_token is not None
    assert settings.telegram.bot_token.get_secret_value() == TOKEN
    assert settings.database.database_url == "postgresql+asyncpg://crm@db:5432/crm"
    assert settings.locale.default_locale == "ru"
    assert settings.locale.base_currency == "EUR"
    assert settings.telegram.telegram_api_url == "http://127.0.0.1:8081"


def test_dotenv_file_is_read(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEFAULT_TIMEZONE", raising=False)
    env = tmp_path / ".env"
    env.write_text("DEFAULT_TIMEZONE=Europe/Moscow\n")
    assert load_settings(env_file=env).locale.default_timezone == "Europe/Moscow"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DEFAULT_LOCALE", "de", "bad setting DEFAULT_LOCALE: must be one of pl, ru, en"),
        (
            "DEFAULT_TIMEZONE",
            "Mars/Olympus",
            "bad setting DEFAULT_TIMEZONE: not an IANA time zone",
        ),
        ("BASE_CURRENCY", "XYZ1", "bad setting BASE_CURRENCY: not an ISO 4217 currency code"),
        ("DATABASE_URL", "mysql://x", "bad setting DATABASE_URL: use sqlite+aiosqlite"),
        ("BOT_TOKEN", "not-a-token", "bad setting BOT_TOKEN: expected the form"),
        ("LISTEN_PORT", "99999", "bad setting LISTEN_PORT:"),
        ("REDIS_URL", "localhost:6379", "bad setting REDIS_URL: expected redis://"),
        ("WEBHOOK_URL", "ftp://x", "bad setting WEBHOOK_URL: expected an http"),
    ],
)
def test_bad_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings(env_file=None)
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)


def test_webhook_needs_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_URL", "https://crm.example.com/tg/hook")
    monkeypatch.delenv("WEBHOOK_SECRET", raising=False)
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET is required"):
        load_settings(env_file=None)
    monkeypatch.setenv("WEBHOOK_SECRET", "s3cret-value")
    assert load_settings(env_file=None).webhook.path == "/tg/hook"


def test_a_bad_token_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:short-but-secret")
    with pytest.raises(ConfigError) as info:
        load_settings(env_file=None)
    assert "short-but-secret" not in str(info.value)


def test_cli_prints_one_line_and_exits_2(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "migrate"],
        env={"PATH": "/usr/bin:/bin", "DEFAULT_LOCALE": "de", "HOME": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "crmbot: bad setting DEFAULT_LOCALE: must be one of pl, ru, en"
    assert "Traceback" not in result.stderr
