"""A fake Telegram Bot API server on loopback, spoken to over real HTTP by the real `Bot`.

It records every method call, answers like Telegram does (JSON `{"ok": ..., "result": ...}`),
hands updates out through long-polling `getUpdates` or POSTs them to a webhook, and can be
told to fail a method (429 with `retry_after`, 403 blocked) to test the sender.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, web

# Fields Telegram takes as plain strings even when they look like numbers or JSON.
_STRING_FIELDS = {
    "text", "caption", "parse_mode", "callback_query_id", "url", "secret_token",
    "description", "short_description", "name", "language_code", "inline_message_id",
}  # fmt: skip


# What Telegram enforces (https://core.telegram.org/bots/api): a bot that breaks a rule gets 400
# there, so it gets 400 here — and the harness fails the test (`FakeTelegram.violations`).
MAX_TEXT = 4096  # characters of a message text after entities parsing (UTF-16 code units)
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
MAX_ALERT = 200  # answerCallbackQuery text
MAX_BOT_DOWNLOAD = 20 * 1024 * 1024  # getFile: a bot downloads files of 20 MB at most
HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip
HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>")
_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


# One sequence for every fake in the process: Telegram never gives two updates of a bot the same
# id, and two instances behind a balancer (two fakes in one test) share one database of
# processed update ids.
_UPDATE_IDS = itertools.count(1)


class BadRequest(Exception):
    """A rule of Telegram's broken: answered 400 with Telegram's own description."""


class NotModified(BadRequest):
    """An edit to what the message already shows."""


def parse_html(text: str) -> str:
    """The plain text of a `parse_mode=HTML` message, or BadRequest as Telegram words it."""
    plain: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<":
            match = _TAG.match(text, i)
            offset = len(text[:i].encode())
            if match is None:
                raise BadRequest(
                    f"can't parse entities: Unclosed start tag at byte offset {offset}"
                )
            closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
            if name not in HTML_TAGS:
                raise BadRequest(
                    f'can\'t parse entities: Unsupported start tag "{name}" at byte offset {offset}'
                )
            if closing:
                if not stack or stack[-1] != name:
                    raise BadRequest(
                        f"can't parse entities: Unexpected end tag at byte offset {offset}"
                    )
                stack.pop()
            else:
                if name == "span" and "tg-spoiler" not in attrs:
                    raise BadRequest(
                        'can\'t parse entities: Tag "span" must have class "tg-spoiler" '
                        f"at byte offset {offset}"
                    )
                stack.append(name)
            i = match.end()
        elif char == "&":
            match = _ENTITY.match(text, i)
            if match is None:
                plain.append("&")  # Telegram leaves a lone ampersand as it is
                i += 1
                continue
            body = match.group(1)
            if body.startswith("#x"):
                plain.append(chr(int(body[2:], 16)))
            elif body.startswith("#"):
                plain.append(chr(int(body[1:])))
            elif body in HTML_ENTITIES:
                plain.append(HTML_ENTITIES[body])
            else:
                offset = len(text[:i].encode())
                raise BadRequest(
                    f'can\'t parse entities: Unsupported HTML entity "&{body};" at byte offset '
                    f"{offset}"
                )
            i = match.end()
        else:
            plain.append(char)
            i += 1
    if stack:
        raise BadRequest(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\""
        )
    return "".join(plain)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_text(params: dict[str, Any], key: str = "text") -> None:
    """Raise BadRequest where Telegram would refuse the text or caption of a message."""
    if key not in params:
        return
    raw = str(params[key])
    plain = parse_html(raw) if str(params.get("parse_mode") or "").upper() == "HTML" else raw
    limit = MAX_TEXT if key == "text" else MAX_CAPTION
    if key == "text" and not plain.strip():
        raise BadRequest("message text is empty")
    if utf16_len(plain) > limit:
        raise BadRequest("message is too long" if key == "text" else "message caption is too long")


MAX_PHOTO_BYTES = 10 * 1024 * 1024  # sendPhoto: at most 10 MB, width + height at most 10000,
MAX_PHOTO_SIDES = 10_000  # a ratio of the sides at most 20
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(content: bytes) -> tuple[int, int] | None:
    """The width and height of a PNG (from its IHDR chunk), None if it is not one."""
    if not content.startswith(PNG_MAGIC) or content[12:16] != b"IHDR":
        return None
    return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")


def check_photo(ref: Any, files: dict[str, tuple[str, bytes]]) -> None:
    """Raise BadRequest where Telegram would refuse an uploaded photo (a file_id or a URL is
    taken as it is)."""
    if not files:
        return
    ((_name, content),) = files.values()
    if len(content) > MAX_PHOTO_BYTES:
        raise BadRequest("PHOTO_SAVE_FILE_INVALID")
    size = png_size(content)
    if size is None and not content.startswith(b"\xff\xd8"):  # PNG or JPEG
        raise BadRequest("IMAGE_PROCESS_FAILED")
    if size is not None:
        width, height = size
        if width + height > MAX_PHOTO_SIDES or max(size) > 20 * max(1, min(size)):
            raise BadRequest("PHOTO_INVALID_DIMENSIONS")


def check_markup(params: dict[str, Any]) -> None:
    markup = params.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not str(button.get("text") or "").strip():
                raise BadRequest("inline keyboard button text is empty")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise BadRequest("BUTTON_DATA_INVALID")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    result: Any = None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class Failure:
    method: str
    error_code: int
    description: str
    chat_id: int | None = None
    retry_after: int | None = None
    times: int = 1


class FakeTelegram:
    def __init__(self, token: str, bot_id: int | None = None, username: str = "crm_test_bot"):
        self.token = token
        self.bot_user = {
            "id": bot_id or int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "CRM",
            "username": username,
        }
        self.calls: list[Call] = []
        self.failures: list[Failure] = []
        # Calls Telegram would have refused (400): a test that expects one clears the list.
        self.violations: list[tuple[str, str]] = []
        self.not_modified = 0  # edits refused as changing nothing (the bot must take it calmly)
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self.webhook: dict[str, Any] | None = None
        self._pending: list[dict[str, Any]] = []
        self._confirmed = 0  # every update_id below this was handed out and acknowledged
        self._changed = asyncio.Condition()
        self._update_ids = _UPDATE_IDS
        self._message_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.on_call: Callable[[Call], None] | None = None
        self.polling = asyncio.Event()  # set by the first getUpdates
        # Files users sent (`upload`): file_id → (file_path, content), for getFile and the
        # download route, as Telegram keeps them for a bot.
        self.files: dict[str, tuple[str, bytes]] = {}
        self._file_ids = itertools.count(1)
        self._closing = False

    # --- server life ---------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def release_pollers(self) -> None:
        """Answer a waiting getUpdates at once, so that polling can stop without a delay."""
        async with self._changed:
            self._closing = True
            self._changed.notify_all()

    async def stop(self) -> None:
        # A long poll still waiting (its bot process gone or stopped) would hold the server's
        # shutdown for its whole timeout: answer it first.
        await self.release_pollers()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- files users send ------------------------------------------------------------------
    def upload(self, file_name: str, content: bytes) -> dict[str, Any]:
        """A document as a user's message carries it; the bot fetches it with getFile."""
        number = next(self._file_ids)
        file_id = f"doc-{number}"
        self.files[file_id] = (f"documents/file_{number}{_suffix(file_name)}", content)
        return {
            "file_id": file_id,
            "file_unique_id": f"udoc{number}",
            "file_name": file_name,
            "file_size": len(content),
        }

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        path = request.match_info["path"]
        for file_path, content in self.files.values():
            if file_path == path:
                return web.Response(body=content)
        return _error(404, "Not Found")

    # --- updates ---------------------------------------------------------------------------
    def next_update_id(self) -> int:
        return next(self._update_ids)

    async def push_update(self, update: dict[str, Any], timeout: float = 15) -> None:
        """Queue an update for getUpdates and wait until the bot has handled it.

        The bot polls with `handle_as_tasks=False`, so it asks for the next offset only after
        the previous update went through every handler: that is our signal.
        """
        self._remember_chat(update)
        async with self._changed:
            self._pending.append(update)
            self._changed.notify_all()
            await asyncio.wait_for(
                self._changed.wait_for(lambda: self._confirmed > update["update_id"]), timeout
            )

    async def post_update(
        self, url: str, update: dict[str, Any], secret: str | None, timeout: float = 15
    ) -> int:
        """Deliver an update the way Telegram calls a webhook; return the HTTP status."""
        self._remember_chat(update)
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with ClientSession() as http:
            async with http.post(url, json=update, headers=headers, timeout=timeout) as response:
                await response.read()
                return response.status

    async def post_raw(
        self, url: str, body: bytes, headers: dict[str, str] | list[tuple[str, bytes]]
    ) -> int:
        """POST any bytes with any headers (a hostile or broken caller); return the status."""
        async with ClientSession() as http:
            async with http.post(url, data=body, headers=headers, timeout=15) as response:
                await response.read()
                return response.status

    def _remember_chat(self, update: dict[str, Any]) -> None:
        for key in ("message", "edited_message"):
            if key in update:
                chat = update[key]["chat"]
                self.chats[chat["id"]] = chat
                if "message_id" in update[key]:  # what copyMessage copies, as last edited
                    self.messages[(chat["id"], update[key]["message_id"])] = dict(update[key])
        if "callback_query" in update and "message" in update["callback_query"]:
            chat = update["callback_query"]["message"]["chat"]
            self.chats[chat["id"]] = chat

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self.polling.set()
        wait = min(float(params.get("timeout") or 0), 30.0)
        async with self._changed:
            if offset:
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
                self._confirmed = max(self._confirmed, offset)
                self._changed.notify_all()
            if not self._pending and wait and not self._closing:
                try:
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(self._pending) or self._closing), wait
                    )
                except TimeoutError:
                    return []
            return list(self._pending)

    # --- methods ---------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params, files = await _read_params(request)
        call = Call(method=method, params=params, files=files)
        failure = self._take_failure(call)
        if failure is not None:
            self.calls.append(call)
            extra = {"retry_after": failure.retry_after} if failure.retry_after else None
            return _error(failure.error_code, failure.description, extra)
        if method.lower() != "getupdates":
            self.calls.append(call)
        try:
            call.result = await self._result(method.lower(), params, files)
        except KeyError as exc:
            return _error(400, f"Bad Request: {exc.args[0]}")
        except NotModified as exc:  # a race the bot cannot avoid: not a violation
            self.not_modified += 1
            return _error(400, f"Bad Request: {exc}")
        except BadRequest as exc:
            self.violations.append((method, str(exc)))
            return _error(400, f"Bad Request: {exc}")
        if self.on_call is not None:
            self.on_call(call)
        return web.json_response({"ok": True, "result": call.result})

    def _take_failure(self, call: Call) -> Failure | None:
        for failure in self.failures:
            if failure.method.lower() != call.method.lower():
                continue
            if failure.chat_id is not None and failure.chat_id != call.chat_id:
                continue
            failure.times -= 1
            if failure.times <= 0:
                self.failures.remove(failure)
            return failure
        return None

    def fail(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        chat_id: int | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        self.failures.append(Failure(method, error_code, description, chat_id, retry_after, times))

    async def _result(
        self, method: str, params: dict[str, Any], files: dict[str, tuple[str, bytes]]
    ) -> Any:
        if method == "getupdates":
            return await self._get_updates(params)
        if method == "getme":
            return self.bot_user
        if method in ("sendmessage", "senddocument", "sendphoto", "editmessagetext"):
            check_text(
                params, "text" if method in ("sendmessage", "editmessagetext") else "caption"
            )
        if method in ("sendmessage", "senddocument", "sendphoto", "editmessagetext",
                      "editmessagereplymarkup"):  # fmt: skip
            check_markup(params)
        if (
            method == "answercallbackquery"
            and utf16_len(str(params.get("text") or "")) > MAX_ALERT
        ):
            raise BadRequest("MESSAGE_TOO_LONG")
        if method == "sendphoto":
            check_photo(params.get("photo"), files)
            return self._new_message(params, files, photo=True)
        if method == "sendmediagroup":
            return self._media_group(params, files)
        if method in ("sendmessage", "senddocument"):
            return self._new_message(params, files)
        if method == "copymessage":
            source = self.messages[(int(params["from_chat_id"]), int(params["message_id"]))]
            copied = {k: source[k] for k in ("text", "caption") if k in source}
            return {"message_id": self._new_message({**params, **copied}, {})["message_id"]}
        if method in ("editmessagetext", "editmessagereplymarkup"):
            key = (int(params["chat_id"]), int(params["message_id"]))
            message = self.messages[key]
            same_text = "text" not in params or params["text"] == message.get("text")
            if same_text and params.get("reply_markup") == message.get("reply_markup"):
                raise NotModified(
                    "message is not modified: specified new message content and reply markup "
                    "are exactly the same as a content and reply markup of the current message"
                )
            if "text" in params:
                message["text"] = params["text"]
            if "reply_markup" in params:
                message["reply_markup"] = params["reply_markup"]
            else:
                message.pop("reply_markup", None)
            return message
        if method == "getfile":
            file_id = str(params.get("file_id") or "")
            if file_id not in self.files:
                raise BadRequest("invalid file_id")
            file_path, content = self.files[file_id]
            if len(content) > MAX_BOT_DOWNLOAD:
                raise BadRequest("file is too big")
            return {
                "file_id": file_id,
                "file_unique_id": "u" + file_id,
                "file_size": len(content),
                "file_path": file_path,
            }
        if method == "setwebhook":
            self.webhook = {"url": params.get("url"), "secret_token": params.get("secret_token")}
            return True
        if method == "deletewebhook":
            self.webhook = None
            return True
        if method == "getwebhookinfo":
            return {
                "url": (self.webhook or {}).get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self._pending),
            }
        return True

    def _new_message(
        self, params: dict[str, Any], files: dict[str, tuple[str, bytes]], *, photo: bool = False
    ) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat = self.chats.get(chat_id) or {"id": chat_id, "type": "private", "first_name": "?"}
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.bot_user,
        }
        if "text" in params:
            message["text"] = params["text"]
        if "caption" in params:
            message["caption"] = params["caption"]
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        for field_name, (filename, content) in files.items():
            size = png_size(content) if photo else None
            if size is not None:  # an uploaded picture sent as a photo comes back as one
                message["photo"] = [
                    {
                        "file_id": f"photo-{message['message_id']}",
                        "file_unique_id": f"p{message['message_id']}",
                        "width": size[0],
                        "height": size[1],
                        "file_size": len(content),
                    }
                ]
                message["_field"] = field_name
                continue
            message["document"] = {
                "file_id": f"file-{message['message_id']}",
                "file_unique_id": f"u{message['message_id']}",
                "file_name": filename,
                "file_size": len(content),
            }
            message["_field"] = field_name
        self.messages[(chat_id, message["message_id"])] = message
        return {k: v for k, v in message.items() if not k.startswith("_")}

    def _media_group(
        self, params: dict[str, Any], files: dict[str, tuple[str, bytes]]
    ) -> list[dict[str, Any]]:
        """An album: 2–10 photos (here), each uploaded as `attach://<field>`; one message each,
        sharing a media_group_id, as Telegram answers."""
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise BadRequest("wrong number of media in the album: 2 to 10 allowed")
        group = f"album{next(self._message_ids)}"
        sent = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") != "photo":
                raise BadRequest("unsupported media type in the album")
            check_text(item, "caption")
            ref = str(item.get("media") or "")
            field_name = ref.removeprefix("attach://") if ref.startswith("attach://") else None
            if field_name is None or field_name not in files:
                raise BadRequest("wrong file identifier/HTTP URL specified")
            check_photo(ref, {field_name: files[field_name]})
            message = self._new_message(
                {"chat_id": params["chat_id"], **({"caption": item["caption"]}
                                                  if "caption" in item else {})},
                {field_name: files[field_name]},
                photo=True,
            )  # fmt: skip
            message["media_group_id"] = group
            self.messages[(int(params["chat_id"]), message["message_id"])]["media_group_id"] = (
                group
            )
            sent.append(message)
        return sent

    # --- looking at what the bot did -------------------------------------------------------
    def sent(self, chat_id: int | None = None, method: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if (chat_id is None or c.chat_id == chat_id)
            and (method is None or c.method.lower() == method.lower())
        ]


def _suffix(file_name: str) -> str:
    dot = file_name.rfind(".")
    return file_name[dot:] if dot > 0 else ""


async def _read_params(
    request: web.Request,
) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    params: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if request.content_type == "application/json":
        body = await request.json()
        return dict(body), files
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            if part.filename:  # type: ignore[union-attr]
                files[part.name or "file"] = (part.filename, await part.read())  # type: ignore[union-attr]
            else:
                params[part.name or ""] = _decode(part.name or "", await part.text())  # type: ignore[union-attr]
        return params, files
    form = await request.post()
    for key, value in form.items():
        params[key] = _decode(key, str(value))
    for key, value in request.query.items():
        params.setdefault(key, _decode(key, value))
    return params, files


def _decode(key: str, value: str) -> Any:
    if key in _STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)
