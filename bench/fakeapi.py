"""A minimal, fast fake Telegram Bot API for the benchmark, run as its own process.

`python -m bench.fakeapi` listens on a free loopback port and prints one JSON line
(`{"port": ...}`) when ready. Every method answers `{"ok": true, ...}` at once; `sendMessage`
returns a proper Message. Calls are counted per bot token, and the replies' first lines are
tallied by shape (digits folded to `#`), so the benchmark can check that every update got its
one reply and see which replies they were. `GET /stats` returns the counters.

Unlike `tests/fakeapi.py` it keeps no history, so its cost stays flat over a long run.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import signal
import sys
import time
from collections import Counter, defaultdict
from typing import Any

from aiohttp import web

_DIGITS = re.compile(r"\d+")
_TAGS = re.compile(r"<[^>]+>")


class FakeBotApi:
    def __init__(self) -> None:
        self.calls: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.replies: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._message_ids = itertools.count(1)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self.handle)
        app.router.add_get("/stats", self.stats)
        return app

    async def stats(self, _: web.Request) -> web.Response:
        return web.json_response({"calls": self.calls, "replies": self.replies})

    async def handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"].lower()
        params = await _read_params(request)
        self.calls[token][method] += 1
        if method == "getme":
            bot_id = int(token.split(":", 1)[0])
            result: Any = {"id": bot_id, "is_bot": True, "first_name": "CRM", "username": "b"}
        elif method == "sendmessage":
            result = self._message(params)
            first_line = _TAGS.sub("", str(params.get("text", ""))).split("\n", 1)[0]
            self.replies[token][_DIGITS.sub("#", first_line)[:80]] += 1
        else:
            result = True
        return web.json_response({"ok": True, "result": result})

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "text": str(params.get("text", "")),
        }
        if "reply_markup" in params:
            markup = params["reply_markup"]
            message["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
        return message


async def _read_params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        return dict(await request.json())
    params: dict[str, Any] = dict(request.query)
    params.update({key: str(value) for key, value in (await request.post()).items()})
    return params


async def serve_app(app: web.Application, backlog: int = 128) -> None:
    """Serve `app` on a free loopback port, print `{"port": N}`, stop on SIGINT/SIGTERM."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=backlog)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(json.dumps({"port": port}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


async def serve() -> None:
    await serve_app(FakeBotApi().app())


if __name__ == "__main__":
    asyncio.run(serve())
    sys.exit(0)
