"""The fastest fake Bot API we can make with aiohttp, for the reminder benchmark.

`python -m bench.reminder_fakeapi` listens on a free loopback port, prints one JSON line
(`{"port": ...}`) when ready, and stops on SIGTERM/SIGINT. `sendMessage` reads the request
body (so the client's upload is complete) and answers a fixed, valid `Message`, serialized once;
any other method answers `true`. It counts calls per method; `GET /stats` returns the counts.
It keeps no history and parses nothing, so it stays far from being the bottleneck: the
benchmark records its CPU time to show that.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter

from aiohttp import web

from bench.fakeapi import serve_app

_MESSAGE = json.dumps(
    {
        "ok": True,
        "result": {
            "message_id": 1,
            "date": 1_790_000_000,
            "chat": {"id": 1, "type": "private", "first_name": "Bench"},
            "text": "ok",
        },
    }
).encode()
_TRUE = b'{"ok":true,"result":true}'


class FastFake:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_get("/stats", self.stats)
        app.router.add_route("*", "/bot{token}/{method}", self.handle)
        return app

    async def stats(self, _: web.Request) -> web.Response:
        return web.json_response(dict(self.calls))

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        await request.read()
        self.calls[method] += 1
        body = _MESSAGE if method == "sendmessage" else _TRUE
        return web.Response(body=body, content_type="application/json")


async def serve() -> None:
    await serve_app(FastFake().app(), backlog=1024)


if __name__ == "__main__":
    asyncio.run(serve())
