"""Activities as an RFC 5545 iCalendar file, so that a rep can "add to calendar".

Pure: no Telegram, no database. Written by hand rather than with the `icalendar` package
because what we emit is small and fixed — one VCALENDAR of UTC VEVENTs — and the parts that
matter (escaping, CRLF, folding at 75 octets without splitting a UTF-8 character) fit in a
page that the tests pin down exactly.

Everything user-typed goes through `_text` (RFC 5545 §3.3.11): backslash, semicolon, comma
and every line break are escaped, other control characters are dropped, so hostile text like
"x\\r\\nBEGIN:VEVENT" stays inside its own property. URLs are percent-encoded instead, because
a URI value is not TEXT and takes no backslash escapes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

PRODID = "-//Telegram CRM//Calendar export//EN"
CRLF = "\r\n"
MAX_LINE_OCTETS = 75  # RFC 5545 §3.1, not counting the CRLF

# Line breaks of every kind, so that no reader splitting on any of them (Python's
# str.splitlines, for one, also splits on U+2028/U+2029/U+0085) sees a new line.
_LINE_BREAK = re.compile("\r\n|[\r\n\u0085\u2028\u2029]")
# CONTROL in RFC 5545's grammar (except HTAB): not allowed in a TEXT value at all.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
# Characters a URI may keep as they are; anything else (spaces, quotes, CR/LF, non-ASCII) is
# percent-encoded. "%" stays, so an already encoded URL is not encoded twice.
_URI_SAFE = ":/?#[]@!$&'()*+,;=%~-._"


@dataclass(frozen=True)
class CalendarEvent:
    uid: str  # stable, e.g. "activity-12@telegram-crm": a calendar updates rather than duplicates
    summary: str
    start: datetime  # aware; written in UTC
    duration_minutes: int = 30
    description: str = ""
    location: str = ""
    url: str | None = None


def build_calendar(events: Sequence[CalendarEvent], *, name: str, now: datetime) -> bytes:
    """The calendar as UTF-8 bytes with CRLF line endings, ready to send as `crm.ics`."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_text(name)}",
    ]
    stamp = _utc(now, "now")
    seen: set[str] = set()
    for event in events:
        if event.uid in seen:
            # Two VEVENTs with one UID read as one event revised: one would vanish.
            raise ValueError(f"duplicate event uid {event.uid!r}")
        seen.add(event.uid)
        lines.extend(_event(event, stamp))
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + CRLF for line in lines).encode("utf-8")


def _event(event: CalendarEvent, stamp: str) -> list[str]:
    if event.duration_minutes < 0:
        raise ValueError(f"event {event.uid!r} has a negative duration")
    start = _as_utc(event.start, f"start of {event.uid!r}")
    end = start + timedelta(minutes=event.duration_minutes)
    lines = [
        "BEGIN:VEVENT",
        f"UID:{_text(event.uid)}",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{_format(start)}",
        f"DTEND:{_format(end)}",  # DTEND rather than DURATION: every client reads it
        f"SUMMARY:{_text(event.summary)}",
    ]
    if event.description:
        lines.append(f"DESCRIPTION:{_text(event.description)}")
    if event.location:
        lines.append(f"LOCATION:{_text(event.location)}")
    if event.url:
        lines.append(f"URL:{quote(event.url, safe=_URI_SAFE)}")
    lines.append("END:VEVENT")
    return lines


def _as_utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A naive time would be read as "floating" local time by every client: wrong for
        # reps in different zones.
        raise ValueError(f"{what} must be timezone-aware")
    return moment.astimezone(UTC)


def _format(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _utc(moment: datetime, what: str) -> str:
    return _format(_as_utc(moment, what))


def _text(value: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11): escaped, on one logical line."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = _LINE_BREAK.sub("\\\\n", value)
    return _CONTROL.sub("", value)


def _fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 §3.1) without splitting a UTF-8 character.

    Continuation lines start with one space, which counts toward their 75 octets.
    """
    if len(line.encode("utf-8")) <= MAX_LINE_OCTETS:
        return line
    parts: list[str] = []
    current: list[str] = []
    size = 0
    limit = MAX_LINE_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, MAX_LINE_OCTETS - 1
        current.append(char)
        size += width
    parts.append("".join(current))
    return (CRLF + " ").join(parts)
