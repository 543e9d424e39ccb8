"""Numbers typed by people: ASCII digits only, and never more than a database column holds.

`str.isdigit()` is true for "²", "٣" or "１", and `int()` then fails on some of them ("²")
and reads others as numbers ("٣" is 3): a check and a conversion that disagree. Every number
a person types (an id, reminder minutes) goes through `ascii_int` instead.
"""

from __future__ import annotations

import re

# Ids are INTEGER columns: 32-bit on PostgreSQL. A larger id cannot exist; asking the database
# for one fails in the driver ("value out of int32 range"), so it is refused before.
MAX_ID = 2**31 - 1

_ASCII_DIGITS = re.compile(r"[0-9]+")


def ascii_int(text: str | None, maximum: int = MAX_ID) -> int | None:
    """`"42"` → 42; `None` for anything but ASCII digits (no sign, no spaces) or above `maximum`.

    >>> ascii_int("15"), ascii_int("²"), ascii_int("٣"), ascii_int("-1"), ascii_int("9" * 30)
    (15, None, None, None, None)
    """
    if not text or len(text) > len(str(maximum)) or not _ASCII_DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if value <= maximum else None
