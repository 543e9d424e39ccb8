"""Secrets never reach the log, whatever library logs them."""

from __future__ import annotations

import io
import logging

from bot.logs import RedactSecrets

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
