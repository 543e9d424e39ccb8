"""What reaches the webhook that is not an update from Telegram: a wrong or undecodable secret
gets 401, a body that is not an update gets 400 — each without a traceback and without the
bot doing anything."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from tests.harness import WEBHOOK_SECRET, Harness

pytestmark = pytest.mark.parametrize("delivery", ["webhook"], indirect=True)

GOOD = {
    "update_id": 7,
    "message": {
        "message_id": 1,
        "date": 0,
        "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": False, "first_name": "X", "language_code": "pl"},
        "text": "/help",
    },
}

WRONG_SECRETS: list[bytes] = [
    "test-secret_123ż".encode(),  # the right one plus a Polish letter
    "секрет".encode(),
    "zażółć-gęślą".encode(),
    b"\xff\xfe\xfa",  # not UTF-8 at all
    b"test-secret_12",
    b"TEST-SECRET_123",
    b"test-secret_123 extra",
    b"",
]

NOT_UPDATES: list[bytes] = [
    b"",
    b"{",
    b'{"update_id": 1, "message": ',
    b"not json at all",
    b"\xff\xfe\x00garbage",
    '{"update_id": 1, "message": "zażółć"'.encode(),
    b"[]",
    b"[1, 2, 3]",
    b'"a string"',
    b"42",
    b"null",
    b"{}",  # no update_id
    b'{"update_id": "abc"}',
    b'{"update_id": 1, "message": {"message_id": "x"}}',
    b'{"update_id": 1, "message": {"message_id": 1, "date": 0}}',  # no chat
    b'{"update_id": 1, "callback_query": {"id": 5}}',
    json.dumps({**GOOD, "update_id": None}).encode(),
]


async def raw_post(url: str, body: bytes, secret: bytes | None) -> int:
    """HTTP/1.1 by hand: a client library refuses to send a non-ASCII header, Telegram's
    impostors do not."""
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    path = "/" + url.split("//", 1)[1].split("/", 1)[1]
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host_port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
    ).encode()
    if secret is not None:
        head += b"X-Telegram-Bot-Api-Secret-Token: " + secret + b"\r\n"
    writer.write(head + b"\r\n" + body)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


async def test_wrong_or_undecodable_secret_is_401_without_traceback(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    assert harness.webhook_url is not None
    caplog.set_level(logging.DEBUG)
    body = json.dumps(GOOD).encode()
    statuses = [await raw_post(harness.webhook_url, body, s) for s in WRONG_SECRETS]
    assert statuses == [401] * len(WRONG_SECRETS)
    assert await raw_post(harness.webhook_url, body, None) == 401
    assert harness.tg.calls == []
    assert [r for r in caplog.records if r.exc_info] == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    # The right secret still works after all that.
    assert await raw_post(harness.webhook_url, body, WEBHOOK_SECRET.encode()) == 200
    assert [c.method for c in harness.tg.calls] == ["sendMessage"]


async def test_a_body_that_is_not_an_update_is_400_without_traceback(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    assert harness.webhook_url is not None
    caplog.set_level(logging.DEBUG)
    secret = WEBHOOK_SECRET.encode()
    statuses = [await raw_post(harness.webhook_url, body, secret) for body in NOT_UPDATES]
    assert statuses == [400] * len(NOT_UPDATES)
    assert harness.tg.calls == []
    assert [r for r in caplog.records if r.exc_info] == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    # A wrong secret is refused before the body is even read.
    assert await raw_post(harness.webhook_url, b"{", b"wrong") == 401
    # Rejections are logged, but not once per request.
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert 1 <= len(warnings) <= 2, [r.getMessage() for r in warnings]
