"""Simple vs Classic CRM mode (Bitrix24)."""

from __future__ import annotations

from enum import StrEnum


class CrmMode(StrEnum):
    SIMPLE = "simple"  # no leads: every inquiry becomes a deal + contact/company
    CLASSIC = "classic"  # leads exist and are converted

    @classmethod
    def parse(cls, value: str | None) -> CrmMode:
        try:
            return cls(value or cls.SIMPLE)
        except ValueError:
            return cls.SIMPLE
