"""Time zone names people type, checked against the IANA database."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# Offered as buttons in /settings; anything else can be typed.
COMMON_TIMEZONES: tuple[str, ...] = (
    "Europe/Warsaw",
    "Europe/Moscow",
    "Europe/Kyiv",
    "Europe/Minsk",
    "Europe/Berlin",
    "Europe/London",
    "Asia/Almaty",
    "Asia/Yekaterinburg",
)


def is_timezone(value: str) -> bool:
    if not value or len(value) > 64 or value != value.strip():
        return False
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def resolve_timezone(text: str) -> str | None:
    """Accept `europe/warsaw` or `Warsaw` as well as the exact name."""
    text = text.strip().replace(" ", "_")
    if is_timezone(text):
        return text
    lowered = text.lower()
    for name in available_timezones():
        if name.lower() == lowered or name.lower().endswith("/" + lowered):
            return name
    return None
