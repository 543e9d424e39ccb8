"""The iCalendar export: exact output, folding, escaping, and hostile text kept in its place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import icalendar
import pytest

from crm.ical import CalendarEvent, build_calendar

NOW = datetime(2026, 11, 20, 8, 30, 15, tzinfo=UTC)
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def parse(data: bytes) -> list[tuple[str, str]]:
    """A minimal reader: unfold, split into lines, split name from value, unescape TEXT."""
    text = data.decode("utf-8")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")  # no bare LF
    assert "\r" not in text.replace("\r\n", "")  # no bare CR
    unfolded = text.replace("\r\n ", "")
    result = []
    for line in unfolded.split("\r\n")[:-1]:
        name, _, value = line.partition(":")
        result.append((name, unescape(value)))
    return result


def unescape(value: str) -> str:
    out, chars = [], iter(value)
    for char in chars:
        if char == "\\":
            nxt = next(chars)
            out.append("\n" if nxt in "nN" else nxt)
        else:
            out.append(char)
    return "".join(out)


def events_of(data: bytes) -> list[dict[str, str]]:
    events: list[dict[str, str]] = []
    for name, value in parse(data):
        if (name, value) == ("BEGIN", "VEVENT"):
            events.append({})
        elif (name, value) == ("END", "VEVENT"):
            continue
        elif events and name not in ("BEGIN", "END"):
            events[-1][name] = value
    return events


def physical_lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    return data[:-2].split(b"\r\n")


def test_one_event_exactly() -> None:
    event = CalendarEvent(
        uid="activity-12@telegram-crm",
        summary="Call Jan Kowalski",
        start=START,
        duration_minutes=45,
        description="Deal D7: offer, 10% discount; ask about delivery",
        location="Warszawa, ul. Prosta 1",
        url="https://crm.example.test/deals/7",
    )
    data = build_calendar([event], name="CRM — Anna", now=NOW)
    assert data == (
        b"BEGIN:VCALENDAR\r\n"
        b"VERSION:2.0\r\n"
        b"PRODID:-//Telegram CRM//Calendar export//EN\r\n"
        b"CALSCALE:GREGORIAN\r\n"
        b"METHOD:PUBLISH\r\n"
        b"X-WR-CALNAME:CRM \xe2\x80\x94 Anna\r\n"
        b"BEGIN:VEVENT\r\n"
        b"UID:activity-12@telegram-crm\r\n"
        b"DTSTAMP:20261120T083015Z\r\n"
        b"DTSTART:20261124T090000Z\r\n"
        b"DTEND:20261124T094500Z\r\n"
        b"SUMMARY:Call Jan Kowalski\r\n"
        b"DESCRIPTION:Deal D7: offer\\, 10% discount\\; ask about delivery\r\n"
        b"LOCATION:Warszawa\\, ul. Prosta 1\r\n"
        b"URL:https://crm.example.test/deals/7\r\n"
        b"END:VEVENT\r\n"
        b"END:VCALENDAR\r\n"
    )


def test_empty_optional_fields_are_left_out_and_default_duration_is_30_minutes() -> None:
    data = build_calendar([CalendarEvent("a-1@crm", "Meet", START)], name="CRM", now=NOW)
    (event,) = events_of(data)
    assert event == {
        "UID": "a-1@crm",
        "DTSTAMP": "20261120T083015Z",
        "DTSTART": "20261124T090000Z",
        "DTEND": "20261124T093000Z",
        "SUMMARY": "Meet",
    }


def test_empty_calendar_is_valid() -> None:
    assert parse(build_calendar([], name="CRM", now=NOW)) == [
        ("BEGIN", "VCALENDAR"),
        ("VERSION", "2.0"),
        ("PRODID", "-//Telegram CRM//Calendar export//EN"),
        ("CALSCALE", "GREGORIAN"),
        ("METHOD", "PUBLISH"),
        ("X-WR-CALNAME", "CRM"),
        ("END", "VCALENDAR"),
    ]


@pytest.mark.parametrize(
    "summary",
    [
        "Zadzwonić do pana Grzegorza Brzęczyszczykiewicza w sprawie żółtej łódźki "
        "i faktury źródłowej — pilne, ąęśćżźńół ĄĘŚĆŻŹŃÓŁ",
        "Позвонить Александру Сергеевичу по поводу счёта, согласовать объём поставки; "
        "встреча в четверг — обязательно!",
        "Emoji 📞📅✅ " * 12,
        "x" * 74 + "ż" + "y" * 73 + "ё",  # multi-byte characters right at the fold
    ],
)
def test_long_lines_fold_at_75_octets_without_splitting_characters(summary: str) -> None:
    event = CalendarEvent("a-2@crm", summary, START, description=summary * 3)
    data = build_calendar([event], name="Pipeline", now=NOW)

    lines = physical_lines(data)
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines)  # it did fold
    for line in lines:
        line.decode("utf-8")  # every physical line is valid UTF-8: no character was split
    (parsed,) = events_of(data)
    assert parsed["SUMMARY"] == summary
    assert parsed["DESCRIPTION"] == summary * 3


def test_folding_fills_lines_to_the_limit() -> None:
    event = CalendarEvent("a-3@crm", "ś" * 100, START)
    lines = physical_lines(build_calendar([event], name="CRM", now=NOW))
    summary = next(i for i, line in enumerate(lines) if line.startswith(b"SUMMARY:"))
    assert len(lines[summary]) == 75 - 1  # "SUMMARY:" is 8 octets, then 33 two-octet "ś"
    assert len(lines[summary + 1]) == 75  # " " + 37 × "ś"


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a,b", "a\\,b"),
        ("a;b", "a\\;b"),
        ("C:\\temp\\new", "C:\\\\temp\\\\new"),
        ("line1\nline2", "line1\\nline2"),
        ("line1\r\nline2", "line1\\nline2"),
        ("line1\rline2", "line1\\nline2"),
        ("tab\tkept", "tab\tkept"),
        ("bell\x07 gone\x00", "bell gone"),
        ("para\u2028sep", "para\\nsep"),
        ("\\n literal", "\\\\n literal"),
    ],
)
def test_text_escaping(raw: str, escaped: str) -> None:
    event = CalendarEvent("a-4@crm", raw, START, location=raw)
    data = build_calendar([event], name=raw, now=NOW)
    text = data.decode("utf-8")
    assert f"SUMMARY:{escaped}\r\n" in text
    assert f"LOCATION:{escaped}\r\n" in text
    assert f"X-WR-CALNAME:{escaped}\r\n" in text
    (parsed,) = events_of(data)
    expected = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    expected = expected.replace("\x07", "").replace("\x00", "")
    assert parsed["SUMMARY"] == expected


def test_crlf_injection_stays_inside_its_property() -> None:
    hostile = (
        "x\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil\r\nSUMMARY:pwned\nDTSTART:19700101T000000Z"
    )
    event = CalendarEvent(
        "a-5@crm\r\nUID:evil",
        hostile,
        START,
        description=hostile,
        location=hostile,
        url="https://x.test/\r\nBEGIN:VEVENT\r\nSUMMARY:evil",
    )
    data = build_calendar([event], name=hostile, now=NOW)

    names = [name for name, _ in parse(data)]
    assert names.count("BEGIN") == 2 and names.count("END") == 2  # one calendar, one event
    assert names.count("UID") == 1 and names.count("DTSTART") == 1
    (parsed,) = events_of(data)
    assert parsed["SUMMARY"] == hostile.replace("\r\n", "\n")
    assert parsed["DESCRIPTION"] == hostile.replace("\r\n", "\n")
    assert parsed["UID"] == "a-5@crm\nUID:evil"
    assert parsed["DTSTART"] == "20261124T090000Z"
    assert parsed["URL"] == "https://x.test/%0D%0ABEGIN:VEVENT%0D%0ASUMMARY:evil"
    # Every physical line is either a continuation (leading space) or one of ours, in order.
    starts = [line.split(b":", 1)[0].decode() for line in physical_lines(data) if line[:1] != b" "]
    assert starts == [
        "BEGIN", "VERSION", "PRODID", "CALSCALE", "METHOD", "X-WR-CALNAME",
        "BEGIN", "UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "DESCRIPTION", "LOCATION",
        "URL", "END", "END",
    ]  # fmt: skip


def test_url_is_percent_encoded_not_backslash_escaped() -> None:
    url = "https://crm.example.test/deals?id=7&tab=notes,files#ż 1"
    event = CalendarEvent("a-6@crm", "Deal", START, url=url)
    (parsed,) = events_of(build_calendar([event], name="CRM", now=NOW))
    assert parsed["URL"] == "https://crm.example.test/deals?id=7&tab=notes,files#%C5%BC%201"


def test_times_are_converted_to_utc_with_z() -> None:
    warsaw = timezone(timedelta(hours=1))
    event = CalendarEvent("a-7@crm", "Call", datetime(2026, 11, 24, 10, 0, 59, 999, tzinfo=warsaw))
    now = datetime(2026, 11, 20, 9, 30, tzinfo=warsaw)
    (parsed,) = events_of(build_calendar([event], name="CRM", now=now))
    assert parsed["DTSTART"] == "20261124T090059Z"
    assert parsed["DTEND"] == "20261124T093059Z"
    assert parsed["DTSTAMP"] == "20261120T083000Z"


def test_several_events_each_in_their_own_vevent() -> None:
    events = [
        CalendarEvent(f"activity-{i}@telegram-crm", f"Task {i}", START + timedelta(days=i))
        for i in range(3)
    ]
    parsed = events_of(build_calendar(events, name="CRM", now=NOW))
    assert [e["UID"] for e in parsed] == [f"activity-{i}@telegram-crm" for i in range(3)]
    assert [e["DTSTART"] for e in parsed] == [
        "20261124T090000Z",
        "20261125T090000Z",
        "20261126T090000Z",
    ]


def test_invalid_input_is_refused() -> None:
    naive = datetime(2026, 11, 24, 9, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        build_calendar([CalendarEvent("a@crm", "x", naive)], name="CRM", now=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        build_calendar([], name="CRM", now=naive)
    with pytest.raises(ValueError, match="negative"):
        build_calendar([CalendarEvent("a@crm", "x", START, -5)], name="CRM", now=NOW)
    with pytest.raises(ValueError, match="duplicate"):
        build_calendar(
            [CalendarEvent("a@crm", "x", START), CalendarEvent("a@crm", "y", START)],
            name="CRM",
            now=NOW,
        )


def test_an_alarm_per_reminder_offset_read_back_by_icalendar() -> None:
    event = CalendarEvent("activity-3@abc.telegram-crm", "Call; Jan", START, alarms=(0, 60, 15))
    data = build_calendar([event], name="CRM", now=NOW)
    (parsed,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    alarms = parsed.walk("VALARM")
    assert [a.decoded("TRIGGER") for a in alarms] == [
        timedelta(minutes=-60),
        timedelta(minutes=-15),
        timedelta(0),
    ]  # largest first, relative to the start
    assert {str(a["ACTION"]) for a in alarms} == {"DISPLAY"}
    assert {str(a["DESCRIPTION"]) for a in alarms} == {"Call; Jan"}
    assert parsed.decoded("DTSTART") == START
    with pytest.raises(ValueError, match="after its start"):
        build_calendar([CalendarEvent("a@crm", "x", START, alarms=(-5,))], name="CRM", now=NOW)


def test_no_alarms_no_valarm() -> None:
    data = build_calendar([CalendarEvent("a@crm", "x", START)], name="CRM", now=NOW)
    assert b"VALARM" not in data
