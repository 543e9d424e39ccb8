"""`POST /inbound/{token}`: web forms posting requests (the HTTP side of `crm/inbound.py`).

What is checked, in order, and what each refusal answers — always JSON
`{"ok": false, "error": "..."}`, and nothing is stored:
1. the client address's rate (`INBOUND_RATE_PER_MINUTE`): 429 with Retry-After — first, so
   that guessing tokens is as slow as any other burst;
2. the body's size, enforced while reading (`INBOUND_MAX_BODY_BYTES`): 413;
3. its type: JSON, `application/x-www-form-urlencoded` or `multipart/form-data`, else 415;
   a body that does not decode as its type says: 400; a field of the wrong type (an object,
   a file), too many fields, or nothing useful (no name, phone, e-mail nor message): 422;
4. the token: an unknown or revoked one gets 404;
5. the `Idempotency-Key` header, when given: at most 64 printable ASCII characters, else 400.

A new submission answers 201 `{"ok": true, "request": 12, "lead": "L5"}` (`"deal": "D3"` in
Simple mode; `"request": null` when no group is bound); a replay answers 200 with the same
body. Whether the client is already known is never told: that is for the group's card.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import InboundSettings
from bot.middlewares.outages import Throttle, outage_cause
from crm.context import Crm, Runtime
from crm.enums import EntityType
from crm.errors import InvalidValue
from crm.inbound import ALIASES, EmptyForm, NoOwner, Submitted, UnknownSource, WebForm

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from bot.app import App

log = logging.getLogger(__name__)

ROUTE = "/inbound/{token}"
WINDOW = 60  # seconds: the rate limit counts posts per client address per minute
IDEMPOTENCY_HEADER = "Idempotency-Key"
JSON_TYPES = ("application/json",)
FORM_TYPE = "application/x-www-form-urlencoded"
MULTIPART_TYPE = "multipart/form-data"


class Refusal(Exception):
    """A request answered with a 4xx: the status and a short error for the integrator."""

    def __init__(self, status: int, error: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.headers = headers or {}


# --- the rate limit ---------------------------------------------------------------------------
class RateLimiter(Protocol):
    async def hit(self, client: str) -> int:
        """Count a post from `client`; 0 when allowed, else the seconds until it is again."""
        ...


class MemoryRateLimiter:
    """A fixed one-minute window per client address, in this process (one instance)."""

    MAX_CLIENTS = 10_000  # past this many addresses, windows that ended are dropped

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    async def hit(self, client: str) -> int:
        now = self.clock()
        start, count = self._windows.get(client, (now, 0))
        if now - start >= WINDOW:
            start, count = now, 0
        self._windows[client] = (start, count + 1)
        if len(self._windows) > self.MAX_CLIENTS:
            self._windows = {
                k: v for k, v in self._windows.items() if now - v[0] < WINDOW or k == client
            }
        if count + 1 <= self.per_minute:
            return 0
        return max(1, int(WINDOW - (now - start) + 0.999))


class RedisRateLimiter:
    """The same window in Redis, shared by every instance: `SET NX EX` opens it, `INCR`
    counts, in one round trip. Redis out of reach lets the post through (a form is not lost
    to the limiter) and says so in the log once a minute."""

    def __init__(self, redis: Redis, prefix: str, per_minute: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.per_minute = per_minute
        self._warned = Throttle()

    async def hit(self, client: str) -> int:
        key = f"{self.prefix}:{client}"
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(key, 0, ex=WINDOW, nx=True)
                pipe.incr(key)
                pipe.ttl(key)
                _, count, ttl = await pipe.execute()
        except Exception as exc:
            if outage_cause(exc) is None:
                raise
            if self._warned.allow("redis"):
                log.warning("inbound rate limit not counted: Redis unreachable")
            return 0
        if int(count) <= self.per_minute:
            return 0
        return max(1, int(ttl))


def create_limiter(app: App) -> RateLimiter:
    """In Redis when the bot uses Redis (several instances count together), else in memory."""
    per_minute = app.settings.inbound.inbound_rate_per_minute
    redis = getattr(app.storage, "redis", None)
    if app.settings.redis.redis_url and redis is not None:
        prefix = getattr(getattr(app.storage, "key_builder", None), "prefix", "crm")
        return RedisRateLimiter(redis, f"{prefix}:inbound-rate", per_minute)
    return MemoryRateLimiter(per_minute)


def client_address(request: web.Request, trusted_proxies: int) -> str:
    """The poster's address: the peer's, or — behind `trusted_proxies` proxies — the one
    that many entries from the end of X-Forwarded-For (the proxies append; a client can
    only prepend, so entries further left prove nothing)."""
    if trusted_proxies:
        hops = [
            part.strip()
            for value in request.headers.getall("X-Forwarded-For", [])
            for part in value.split(",")
            if part.strip()
        ]
        if len(hops) >= trusted_proxies:
            return hops[-trusted_proxies][:64]
    return request.remote or "unknown"


# --- reading the body -------------------------------------------------------------------------
async def read_capped(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise Refusal(413, "body too large")
    body = bytearray()
    async for chunk in request.content.iter_chunked(16 * 1024):
        body.extend(chunk)
        if len(body) > limit:
            raise Refusal(413, "body too large")
    return bytes(body)


def _text(value: Any, name: str) -> str | None:
    """A JSON value as a form's text: strings and numbers; a list of them joined (checkboxes);
    null is no value. Anything else (an object, a nested list) is not a form's field."""
    if value is None:
        return None
    if isinstance(value, bool):
        if ALIASES.get(name.strip().lower()):
            raise Refusal(422, f"invalid type of field {name[:64]!r}")
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and not ALIASES.get(name.strip().lower()):
        parts = [_text(item, name) for item in value]
        if all(isinstance(item, str | int | float) for item in value):
            return ", ".join(p for p in parts if p)
    raise Refusal(422, f"invalid type of field {name[:64]!r}")


def _decode(raw: bytes, charset: str | None) -> str:
    try:
        return raw.decode(charset or "utf-8")
    except (UnicodeDecodeError, LookupError):
        raise Refusal(400, "body is not valid text in its charset") from None


def _add(fields: dict[str, str], name: str, value: str) -> None:
    if name in fields:  # a repeated field (checkboxes): all its values
        fields[name] = f"{fields[name]}, {value}" if value else fields[name]
    else:
        fields[name] = value
    if len(fields) > 200:
        raise Refusal(422, "too many fields")


async def read_fields(request: web.Request, limit: int) -> dict[str, str]:
    """The posted fields as text, whatever the content type; refusals as `Refusal`."""
    kind = request.content_type
    fields: dict[str, str] = {}
    if kind in JSON_TYPES or (kind.startswith("application/") and kind.endswith("+json")):
        raw = await read_capped(request, limit)
        try:
            data = json.loads(_decode(raw, request.charset))
        except ValueError:
            raise Refusal(400, "malformed JSON") from None
        if not isinstance(data, dict):
            raise Refusal(422, "expected a JSON object of fields")
        for name, value in data.items():
            text = _text(value, name)
            if text is not None:
                _add(fields, name, text)
        return fields
    if kind == FORM_TYPE:
        raw = await read_capped(request, limit)
        try:
            pairs = parse_qsl(
                _decode(raw, request.charset), keep_blank_values=True, strict_parsing=False,
                errors="strict", max_num_fields=200,
            )  # fmt: skip
        except (ValueError, UnicodeDecodeError):
            raise Refusal(400, "malformed form body") from None
        for name, value in pairs:
            _add(fields, name, value)
        return fields
    if kind == MULTIPART_TYPE:
        return await _read_multipart(request, limit)
    raise Refusal(415, "use application/json, application/x-www-form-urlencoded or "
                       "multipart/form-data")  # fmt: skip


async def _read_multipart(request: web.Request, limit: int) -> dict[str, str]:
    if request.content_length is not None and request.content_length > limit:
        raise Refusal(413, "body too large")
    fields: dict[str, str] = {}
    used = 0
    try:
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader) or not part.name:
                raise Refusal(422, "expected named form fields")
            if part.filename is not None:
                raise Refusal(422, f"files are not accepted (field {part.name[:64]!r})")
            data = bytearray()
            while chunk := await part.read_chunk(8 * 1024):
                used += len(chunk)
                if used > limit:
                    raise Refusal(413, "body too large")
                data.extend(chunk)
            value = _decode(bytes(part.decode(bytes(data))), part.get_charset("utf-8"))
            _add(fields, part.name, value)
    except (ValueError, AssertionError, RuntimeError):
        # aiohttp's reader refuses a broken boundary or header with one of these.
        raise Refusal(400, "malformed multipart body") from None
    return fields


# --- the route ----------------------------------------------------------------------------------
def answer(submitted: Submitted) -> web.Response:
    body: dict[str, Any] = {"ok": True, "request": submitted.request_id}
    if submitted.element is not None:
        key = "deal" if submitted.element.entity is EntityType.DEAL else "lead"
        body[key] = submitted.element.code
    return web.json_response(body, status=200 if submitted.replay else 201)


def refusal(status: int, error: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status, headers=headers)


class InboundHandler:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        runtime: Runtime,
        settings: InboundSettings,
        limiter: RateLimiter,
        on_request: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.runtime = runtime
        self.settings = settings
        self.limiter = limiter
        self.on_request = on_request  # a new request's id: wake whoever posts its card
        self.rejections = Throttle()

    async def handle(self, request: web.Request) -> web.Response:
        try:
            return await self._handle(request)
        except Refusal as exc:
            if self.rejections.allow(str(exc.status)):
                log.info("inbound post refused (%s): %s", exc.status, exc.error)
            return refusal(exc.status, exc.error, exc.headers)

    async def _handle(self, request: web.Request) -> web.Response:
        client = client_address(request, self.settings.inbound_trusted_proxies)
        wait = await self.limiter.hit(client)
        if wait:
            raise Refusal(429, "too many requests", {"Retry-After": str(wait)})
        fields = await read_fields(request, self.settings.inbound_max_body_bytes)
        try:
            form = WebForm.of(fields)
        except InvalidValue:
            raise Refusal(422, "too many fields") from None
        if not form.useful:
            raise Refusal(422, "nothing to make a lead of: give a name, phone, email or message")
        key = request.headers.get(IDEMPOTENCY_HEADER)
        try:
            async with self.sessionmaker() as session:
                crm = Crm(session, self.runtime)
                try:
                    source = await crm.inbound.source_of(request.match_info.get("token", ""))
                    submitted = await crm.inbound.submit(source, form, key)
                except UnknownSource:
                    raise Refusal(404, "unknown source") from None
                except EmptyForm:
                    raise Refusal(422, "nothing to make a lead of") from None
                except InvalidValue as exc:
                    if exc.field == "idempotency_key":
                        raise Refusal(400, "Idempotency-Key: at most 64 printable ASCII "
                                           "characters") from None  # fmt: skip
                    raise Refusal(422, f"invalid {exc.field}") from None
        except NoOwner:
            log.warning("inbound post refused: no active admin to own the lead")
            return refusal(503, "not ready", {"Retry-After": "60"})
        except Refusal:
            raise
        except Exception as exc:
            if outage_cause(exc) is None:
                raise
            if self.rejections.allow("outage"):
                log.warning("inbound post refused: %s unreachable", outage_cause(exc))
            return refusal(503, "temporarily unavailable", {"Retry-After": "30"})
        if not submitted.replay and submitted.request_id is not None and self.on_request:
            # The card now when the group's send slot is free (the courier's loop catches up
            # otherwise, and after a crash): committed first, so it is never lost.
            await self.on_request(submitted.request_id)
        return answer(submitted)


def add_inbound_route(web_app: web.Application, app: App) -> None:
    handler = InboundHandler(
        app.sessionmaker,
        app.runtime,
        app.settings.inbound,
        create_limiter(app),
        on_request=app.courier.deliver,
    )
    web_app.router.add_post(ROUTE, handler.handle)
