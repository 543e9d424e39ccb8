"""Writing a CSV file as Bitrix24 does, and safe to open in a spreadsheet.

Every field is quoted (a `"` inside is doubled) and ends with the separator, so every line
has a trailing one; lines end with LF. The file is UTF-8 with a BOM (Excel reads UTF-8
only with it). The separator is `;` for Polish and Russian readers (their Excel uses the
comma as the decimal mark and expects `;`), `,` for English ones. Values are neutralized
against formula injection by the caller's cell writers (crm/exchange/values.py).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Sequence
from typing import IO


def separator_for(locale: str) -> str:
    return "," if locale == "en" else ";"


def _field(value: str, separator: str) -> str:
    return '"' + value.replace('"', '""') + '"' + separator


class CsvWriter:
    def __init__(self, stream: IO[bytes], separator: str = ";") -> None:
        self._stream = stream
        self._separator = separator
        stream.write(codecs.BOM_UTF8)

    def row(self, cells: Sequence[str]) -> None:
        line = "".join(_field(c, self._separator) for c in cells) + "\n"
        self._stream.write(line.encode("utf-8"))

    def rows(self, rows: Iterable[Sequence[str]]) -> None:
        for cells in rows:
            self.row(cells)
