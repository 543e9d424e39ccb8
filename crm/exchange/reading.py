"""Reading a CSV file as Bitrix24's importer does: the encoding (UTF-8 with or without a BOM,
else windows-1251) and the separator (`;`, `,`, tab or space) are detected from the file's
first bytes, and the rows are read one by one from the stream (a file of 100,000 rows is
never held in memory). XML, spreadsheets and anything binary are refused with the reason
(`FileRefused`): Bitrix24 imports CSV only."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from crm.errors import FileRefused

SNIFF_BYTES = 64 * 1024
SEPARATORS = (";", ",", "\t", " ")
MAX_FIELD = 1_000_000  # a cell larger than this is a broken file, not data

csv.field_size_limit(MAX_FIELD)

_ZIP = b"PK\x03\x04"  # XLSX, ODS, DOCX: zip archives
_OLE = b"\xd0\xcf\x11\xe0"  # XLS and other old Office files


@dataclass(frozen=True, slots=True)
class Dialect:
    encoding: str  # a Python codec name: "utf-8-sig", "utf-8" or "cp1251"
    separator: str


def detect_encoding(head: bytes) -> str:
    """UTF-8 (with the BOM skipped) when the first bytes decode as UTF-8, else windows-1251,
    the encoding of old Russian on-premise Bitrix24 exports."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)  # a character cut at the end of the sample is fine
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8"


def _first_line(text: str) -> str:
    """The header line, a quoted field may hold a line break."""
    inside = False
    for i, char in enumerate(text):
        if char == '"':
            inside = not inside
        elif char in "\r\n" and not inside:
            return text[:i]
    return text


def _count_outside_quotes(line: str, separator: str) -> int:
    inside = False
    count = 0
    for char in line:
        if char == '"':
            inside = not inside
        elif char == separator and not inside:
            count += 1
    return count


def detect_separator(header: str) -> str:
    """The separator the header line uses most (a space only when no other is there)."""
    counts = {s: _count_outside_quotes(header, s) for s in SEPARATORS}
    best = max(SEPARATORS[:3], key=lambda s: counts[s])
    if counts[best]:
        return best
    return " " if counts[" "] else ";"


def refuse_non_csv(head: bytes, file_name: str = "") -> None:
    """XML (also HTML), spreadsheets and binary files are refused before anything is read."""
    name = file_name.casefold()
    if name.endswith((".xml", ".xlsx", ".xls", ".ods", ".xlsm")):
        raise FileRefused("not_csv")
    if head.startswith((_ZIP, _OLE)):
        raise FileRefused("not_csv")
    text = head.lstrip(codecs.BOM_UTF8).lstrip()
    if text.startswith(b"<"):
        raise FileRefused("not_csv")
    if b"\x00" in head:  # UTF-16 or a binary file
        raise FileRefused("not_csv")
    if not text.strip():
        raise FileRefused("empty")


def sniff(head: bytes, file_name: str = "") -> Dialect:
    refuse_non_csv(head, file_name)
    encoding = detect_encoding(head)
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return Dialect(encoding, detect_separator(_first_line(decoder.decode(head, final=False))))


@dataclass(slots=True)
class Row:
    line: int  # the file's line where the row starts (1: the header)
    cells: list[str]


class CsvFile:
    """The rows of a CSV stream: `header` first, then `rows()` (each row once, streamed).

    Bitrix24 ends every field with the separator, so a header ending with an empty cell has
    that cell dropped, and the rows' matching empty last cells with it."""

    def __init__(self, stream: IO[bytes], file_name: str = "") -> None:
        head = stream.read(SNIFF_BYTES)
        self.dialect = sniff(head, file_name)
        rest = io.BufferedReader(_Prefixed(head, stream))
        self._text = io.TextIOWrapper(
            rest, encoding=self.dialect.encoding, errors="replace", newline=""
        )
        self._reader = csv.reader(
            self._text,
            delimiter=self.dialect.separator,
            quotechar='"',
            doublequote=True,
            skipinitialspace=self.dialect.separator == " ",
            strict=False,
        )
        self.header = self._read_header()

    def _read_header(self) -> list[str]:
        for cells in self._reader:
            if any(c.strip() for c in cells):
                while cells and not cells[-1].strip():
                    cells.pop()
                return [c.strip().lstrip("\ufeff") for c in cells]
        raise FileRefused("empty")

    def rows(self) -> Iterator[Row]:
        width = len(self.header)
        while True:
            line = self._reader.line_num + 1
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error:
                yield Row(line, ["\x00broken"])  # told as a broken row, the file goes on
                continue
            if not any(c.strip() for c in cells):
                continue
            if len(cells) == width + 1 and not cells[-1].strip():
                cells.pop()  # Bitrix24's trailing separator
            yield Row(line, cells)


class _Prefixed(io.RawIOBase):
    """The sniffed bytes, then the rest of the stream: nothing is read twice or held."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    # RawIOBase types its argument as a WriteableBuffer; a memoryview is what it gets.
    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        target = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(target), len(self._head))
            target[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(target))
        target[: len(data)] = data
        return len(data)
