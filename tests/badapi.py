"""A Bot API on loopback that misbehaves the ways a real network does, for one method.

The other methods answer like Telegram (getMe the bot, getUpdates an empty list after a short
wait, everything else `true`), so a `crmbot` process gets as far as the misbehaving call.
What the faults echo back is what proxies and load balancers really echo: the request URL,
which carries the bot token.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from urllib.parse import quote

from aiohttp import web

BEHAVIOURS = ["redirect-loop", "html-200", "html-502", "status-500", "bad-json", "hang"]
# How long a hanging answer is held before the connection is dropped: the fault is bounded,
# so a test waits for the process instead of for a timeout.
HANG_SECONDS = 2.0
# aiohttp follows 10 redirects, so one call that meets the loop makes 11 requests.
REQUESTS_PER_REDIRECT_LOOP = 11


class BadTelegram:
    def __init__(self, token: str, method: str, behaviour: str) -> None:
        self.token = token
        self.method = method.lower()
        self.behaviour = behaviour
        self.calls: Counter[str] = Counter()  # method (lower case) -> how many requests
        self.faults = 0  # how many misbehaving answers were given
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    @property
    def failed_calls(self) -> int:
        """How many calls of the method met the fault (all its requests were answered)."""
        if self.behaviour == "redirect-loop":
            return self.faults // REQUESTS_PER_REDIRECT_LOOP
        return self.faults

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"].lower()
        self.calls[method] += 1
        body = (await request.read()).decode(errors="replace")
        if method == self.method:
            self.faults += 1
            return await self._misbehave(request, body)
        if method == "getme":
            bot = {"id": int(self.token.split(":")[0]), "is_bot": True, "first_name": "CRM",
                   "username": "crm_test_bot"}  # fmt: skip
            return web.json_response({"ok": True, "result": bot})
        if method == "getupdates":
            await asyncio.sleep(0.5)
            return web.json_response({"ok": True, "result": []})
        return web.json_response({"ok": True, "result": True})

    async def _misbehave(self, request: web.Request, body: str) -> web.StreamResponse:
        # Echo the URL (plain and encoded) and the form body, as debugging proxies do: the
        # token is in the URL, the webhook secret in setWebhook's body.
        url = str(request.url)
        echo = f"{url} {quote(url, safe='')} {request.path} {body[:2000]}"
        page = f"<html><head><title>Error</title></head><body><p>{echo}</p></body></html>"
        if self.behaviour == "redirect-loop":
            raise web.HTTPFound(location=url)
        if self.behaviour == "html-200":
            return web.Response(text=page, content_type="text/html")
        if self.behaviour == "html-502":
            return web.Response(status=502, text=page, content_type="text/html")
        if self.behaviour == "status-500":
            return web.Response(status=500, text=f"Internal Server Error: {echo}")
        if self.behaviour == "bad-json":
            cut_short = '{"ok": true, "result": {"url": "' + url + '"'
            return web.Response(text=cut_short, content_type="application/json")
        if self.behaviour == "hang":
            await asyncio.sleep(HANG_SECONDS)
            if request.transport is not None:
                request.transport.close()
            return web.Response()
        raise AssertionError(self.behaviour)
