"""Which languages the CRM speaks and how a client's language tag maps onto them."""

from __future__ import annotations

SOURCE_LOCALE = "en"
SUPPORTED_LOCALES: tuple[str, ...] = ("pl", "ru", "en")
LOCALE_NAMES: dict[str, str] = {"pl": "Polski", "ru": "Русский", "en": "English"}


def match_locale(language_code: str | None) -> str | None:
    """Map a tag such as `pl-PL` or `ru` to a supported locale, or None."""
    if not language_code:
        return None
    base = language_code.replace("_", "-").split("-", 1)[0].strip().lower()
    return base if base in SUPPORTED_LOCALES else None
