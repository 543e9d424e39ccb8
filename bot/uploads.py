"""A CSV file sent to the bot (a document with a command as its caption), read once for every
importer: size, format and encoding are refused with a clear reply, never half-read."""

from __future__ import annotations

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

MAX_CSV_BYTES = 1_000_000  # what a chat import takes ("1 MB at most"); larger: the CLI


async def read_csv(message: Message) -> str | None:
    """The text of the CSV sent with `message`, or None once the person has been told why
    not (no file, too big, a spreadsheet format, not UTF-8)."""
    document = message.document
    if document is None:
        return None
    if (document.file_size or 0) > MAX_CSV_BYTES:
        await message.answer(_("The file is too big (1 MB at most)."))
        return None
    name = (document.file_name or "").casefold()
    if name.endswith((".xml", ".xlsx", ".xls", ".ods")):
        await message.answer(_("Only CSV files can be imported: save it as CSV first."))
        return None
    bot = message.bot
    if bot is None:  # only a Message built by hand, never one from the dispatcher
        raise RuntimeError("a message without its bot")
    data = await bot.download(document)
    raw = data.read() if data is not None else b""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        await message.answer(_("The file is not UTF-8 text: save it as CSV (UTF-8) first."))
        return None
