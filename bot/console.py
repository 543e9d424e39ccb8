"""`crmbot console`: an offline chat with the same dispatcher and handlers, no Telegram needed.

The bot's requests go to `ConsoleSession` instead of the Bot API; typed lines become real
`Update` objects fed to the dispatcher. `#N` presses button N of the last message with buttons.
The reminder engine runs as in `crmbot run`: a reminder is printed like any message, between
prompts; at an interactive prompt the line being typed is cleared, the reminder printed, and
the prompt and the typed text shown again.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import re
import sys
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    GetMe,
    SendDocument,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import (
    CallbackQuery,
    Chat,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)

from bot.app import App
from bot.i18n import in_locale
from bot.labels import default_user_name
from crm.context import Crm
from crm.enums import Role

CONSOLE_TELEGRAM_ID = 1000
_TAG = re.compile(r"<[^>]+>")
_PRESS = re.compile(r"^#(\d+)$")
PROMPT = "you> "


def html_to_text(text: str) -> str:
    return html.unescape(_TAG.sub("", text))


class ConsoleSession(BaseSession):
    """Answers the Bot API methods the handlers use, printing what a person would see."""

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self.out = out
        self._message_ids = itertools.count(1)
        self.last_keyboard_message: Message | None = None
        # Set while an interactive prompt waits for input: what to show again after a message
        # printed meanwhile (the prompt and the text typed so far).
        self.prompt: Callable[[], str] | None = None

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        if isinstance(method, GetMe):
            return User(id=bot.id, is_bot=True, first_name="CRM", username="crm_console_bot")
        if isinstance(method, SendMessage | EditMessageText):
            return self._show(bot, method.chat_id, method.text, method.reply_markup)
        if isinstance(method, EditMessageReplyMarkup):
            return self._show(bot, method.chat_id, "", method.reply_markup)
        if isinstance(method, SendDocument | SendPhoto):
            file = method.document if isinstance(method, SendDocument) else method.photo
            name = getattr(file, "filename", None) or "file"
            caption = method.caption or ""
            return self._show(bot, method.chat_id, f"[file: {name}] {caption}".strip(), None)
        if isinstance(method, SendMediaGroup):
            shown = []
            for item in method.media:
                name = getattr(item.media, "filename", None) or "file"
                shown.append(self._show(bot, method.chat_id, f"[file: {name}]", None))
            return shown
        if isinstance(method, AnswerCallbackQuery):
            if method.text:
                self._print(f"bot (alert)> {method.text}")
            return True
        return True

    def _show(self, bot: Bot, chat_id: Any, text: str | None, markup: Any) -> Message:
        if text:
            self._print("bot> " + html_to_text(text).replace("\n", "\n     "))
        keyboard = markup if isinstance(markup, InlineKeyboardMarkup) else None
        if keyboard is not None:
            number = itertools.count(1)
            for row in keyboard.inline_keyboard:
                self._print("     " + "  ".join(f"[{next(number)}] {b.text}" for b in row))
        message = Message(
            message_id=next(self._message_ids),
            date=datetime.now(UTC),
            chat=Chat(id=int(chat_id), type="private"),
            text=text or None,
            reply_markup=keyboard,
        ).as_(bot)
        if keyboard is not None:
            self.last_keyboard_message = message
        return message

    def _print(self, line: str) -> None:
        try:
            if self.prompt is None:
                print(line, file=self.out, flush=True)
            else:
                # Back to the start of the prompt's line, erase it, print, show it again.
                self.out.write("\r\x1b[K" + line + "\n" + self.prompt())
                self.out.flush()
        except BrokenPipeError:
            raise SystemExit(0) from None  # the reader of our output has gone


class Console:
    def __init__(self, app: App, session: ConsoleSession, user: User) -> None:
        self.app = app
        self.session = session
        self.user = user
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1_000_000)

    async def handle_line(self, line: str) -> None:
        line = line.strip()
        if not line:
            return
        press = _PRESS.match(line)
        if press:
            update = self._press(int(press.group(1)))
            if update is None:
                return
        else:
            update = Update(update_id=next(self._update_ids), message=self._message(line))
        # The console's update ids restart at 1 every session: no "handled before" markers.
        await self.app.dp.feed_update(self.app.bot, update, remember_update=False)

    def _message(self, text: str) -> Message:
        return Message(
            message_id=next(self._message_ids),
            date=datetime.now(UTC),
            chat=Chat(id=self.user.id, type="private", first_name=self.user.first_name),
            from_user=self.user,
            text=text,
        )

    def _press(self, number: int) -> Update | None:
        message = self.session.last_keyboard_message
        buttons = (
            [b for row in message.reply_markup.inline_keyboard for b in row]
            if message is not None and message.reply_markup is not None
            else []
        )
        if not 1 <= number <= len(buttons):
            self.session._print(f"(no button {number} here)")
            return None
        button = buttons[number - 1]
        if button.callback_data is None:
            self.session._print(f"(that button opens {button.url or 'something else'})")
            return None
        return Update(
            update_id=next(self._update_ids),
            callback_query=CallbackQuery(
                id=str(next(self._update_ids)),
                from_user=self.user,
                chat_instance="console",
                message=message,
                data=button.callback_data,
            ),
        )


async def run_console(
    app: App,
    session: ConsoleSession,
    *,
    telegram_id: int = CONSOLE_TELEGRAM_ID,
    name: str | None = None,
    lang: str | None = None,
    stdin: TextIO = sys.stdin,
) -> None:
    if not name:
        name = in_locale(app.i18n, lang, lambda: default_user_name(Role.ADMIN))
    async with app.sessionmaker() as db:
        crm = Crm(db, app.runtime)
        user = await crm.users.by_telegram_id(telegram_id)
        if user is None and telegram_id == CONSOLE_TELEGRAM_ID:
            user = await crm.users.provision_local_admin(telegram_id, name)
        if user is not None and lang:
            await crm.users.set_locale(user, lang)
    tg_user = User(id=telegram_id, is_bot=False, first_name=name, language_code=lang)
    console = Console(app, session, tg_user)
    interactive = stdin.isatty()
    if interactive:
        session._print(
            "Offline console. Type commands such as /help; #N presses button N; Ctrl-D quits. "
            "Reminders arrive here too."
        )
    loop = asyncio.get_running_loop()
    read = _prompted_reader(session) if interactive and stdin is sys.stdin else stdin.readline
    while True:
        try:
            line = await loop.run_in_executor(None, read)
        finally:
            session.prompt = None
        if not line:
            break
        await console.handle_line(line)


def _prompted_reader(session: ConsoleSession) -> Callable[[], str]:
    """Read one line at the prompt; a message printed meanwhile shows the prompt again with
    the text typed so far (known through readline where there is one)."""
    try:
        import readline
    except ImportError:  # no readline (Windows): the typed text stays in the terminal only
        typed: Callable[[], str] = lambda: ""  # noqa: E731
    else:
        typed = readline.get_line_buffer

    def read() -> str:
        session.prompt = lambda: PROMPT + typed()
        try:
            return input(PROMPT) + "\n"
        except EOFError:
            return ""

    return read
