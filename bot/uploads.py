"""A small CSV file sent to the bot (a document with a command as its caption) read whole, for
the all-or-nothing imports of products and rates: size and format are refused with a clear
reply, never half-read; the encoding is detected as for the CSV import (crm/exchange: UTF-8
with or without a BOM, else windows-1251)."""

from __future__ import annotations

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from crm.errors import FileRefused
from crm.exchange.reading import SNIFF_BYTES, detect_encoding, refuse_non_csv

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
    bot = message.bot
    if bot is None:  # only a Message built by hand, never one from the dispatcher
        raise RuntimeError("a message without its bot")
    data = await bot.download(document)
    raw = data.read() if data is not None else b""
    try:
        refuse_non_csv(raw[:SNIFF_BYTES], document.file_name or "")
    except FileRefused as exc:
        if exc.why == "not_csv":
            await message.answer(_("Only CSV files can be imported: save it as CSV first."))
            return None  # an empty file goes on, to be told it has no rows
    return raw.decode(detect_encoding(raw[:SNIFF_BYTES]), errors="replace")
