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
import signal
from collections import Counter

from aiohttp import web

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
    runner = web.AppRunner(FastFake().app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
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


if __name__ == "__main__":
    asyncio.run(serve())
