"""Activities as an RFC 5545 iCalendar file, so that a rep can "add to calendar".

Pure: no Telegram, no database. The `icalendar` library writes the file (escaping of TEXT
values, CRLF, folding at 75 octets without splitting a UTF-8 character, VALARM components);
what it leaves to the caller is done here before a value reaches it:

- line breaks of every kind become one "\\n" and other control characters are dropped, so
  hostile text like "x\\r\\nBEGIN:VEVENT" stays inside its own property and no NUL or bell
  reaches a calendar client (the library escapes CR/LF but passes U+2028 and controls through);
- URLs are percent-encoded, because a URI value is not TEXT and takes no backslash escapes
  (the library refuses a URI with CR/LF rather than encoding it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from icalendar import Event

PRODID = "-//Telegram CRM//Calendar export//EN"

# Line breaks of every kind, so that no reader splitting on any of them (Python's
# str.splitlines, for one, also splits on U+2028/U+2029/U+0085) sees a new line.
_LINE_BREAK = re.compile("\r\n|[\r\n\u0085\u2028\u2029]")
# CONTROL in RFC 5545's grammar (except HTAB and the LF kept for line breaks): not allowed in
# a TEXT value at all.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
# Characters a URI may keep as they are; anything else (spaces, quotes, CR/LF, non-ASCII) is
# percent-encoded. "%" stays, so an already encoded URL is not encoded twice.
_URI_SAFE = ":/?#[]@!$&'()*+,;=%~-._"


@dataclass(frozen=True)
class CalendarEvent:
    uid: str  # stable and unique per installation: a calendar updates rather than duplicates
    summary: str
    start: datetime  # aware; written in UTC
    duration_minutes: int = 30
    description: str = ""
    location: str = ""
    url: str | None = None
    # One VALARM per entry, in minutes before the start (0 = at the start).
    alarms: tuple[int, ...] = ()


def build_calendar(events: Sequence[CalendarEvent], *, name: str, now: datetime) -> bytes:
    """The calendar as UTF-8 bytes with CRLF line endings, ready to send as `crm.ics`."""
    # Imported here: icalendar takes 0.08 s to import alone (0.15 s within `crmbot run`'s
    # start-up), paid by every process that imports the CRM, for a file asked for rarely.
    from icalendar import Calendar, vText

    calendar = Calendar()
    calendar.add("version", "2.0")
    calendar.add("prodid", PRODID)
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", vText(_text(name)))
    stamp = _as_utc(now, "now")
    seen: set[str] = set()
    for event in events:
        if event.uid in seen:
            # Two VEVENTs with one UID read as one event revised: one would vanish.
            raise ValueError(f"duplicate event uid {event.uid!r}")
        seen.add(event.uid)
        calendar.add_component(_event(event, stamp))
    data: bytes = calendar.to_ical(sorted=False)
    return data


def _event(event: CalendarEvent, stamp: datetime) -> Event:
    from icalendar import Alarm, Event, vUri

    if event.duration_minutes < 0:
        raise ValueError(f"event {event.uid!r} has a negative duration")
    if any(minutes < 0 for minutes in event.alarms):
        raise ValueError(f"event {event.uid!r} has an alarm after its start")
    start = _as_utc(event.start, f"start of {event.uid!r}").replace(microsecond=0)
    vevent = Event()
    vevent.add("uid", _text(event.uid))
    vevent.add("dtstamp", stamp.replace(microsecond=0))
    vevent.add("dtstart", start)
    # DTEND rather than DURATION: every client reads it.
    vevent.add("dtend", start + timedelta(minutes=event.duration_minutes))
    summary = _text(event.summary)
    vevent.add("summary", summary)
    if event.description:
        vevent.add("description", _text(event.description))
    if event.location:
        vevent.add("location", _text(event.location))
    if event.url:
        vevent.add("url", vUri(quote(event.url, safe=_URI_SAFE)))
    for minutes in sorted(set(event.alarms), reverse=True):
        alarm = Alarm()
        alarm.add("action", "DISPLAY")  # DISPLAY needs a DESCRIPTION: the event's summary
        alarm.add("description", summary)
        alarm.add("trigger", timedelta(minutes=-minutes))  # relative to DTSTART
        vevent.add_component(alarm)
    return vevent


def _as_utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A naive time would be read as "floating" local time by every client: wrong for
        # reps in different zones.
        raise ValueError(f"{what} must be timezone-aware")
    return moment.astimezone(UTC)


def _text(value: str) -> str:
    """A TEXT value on one logical line: line breaks as "\\n", no control characters."""
    return _CONTROL.sub("", _LINE_BREAK.sub("\n", value))
