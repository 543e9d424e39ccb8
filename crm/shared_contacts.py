"""A Telegram contact card shared (or forwarded) to the bot by a CRM user becomes a contact.

The card gives a name, a phone and sometimes the person's Telegram user id; it goes through
the duplicate check of one-line creation, and "Create anyway" makes it regardless. The
Telegram id is kept in the contact's comment as a `tg://user?id=…` link (the models hold
phones and e-mails only as communications), so whoever opens the contact can write to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crm.elements import Creation, DuplicateHit, ElementInput, ElementService
from crm.enums import EntityType
from crm.errors import InvalidValue
from crm.parsing import normalize_phone
from crm.permissions import Actor
from storage.repositories import Repos

if TYPE_CHECKING:
    from crm.context import Runtime

MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class SharedContact:
    """What a Telegram contact card says."""

    phone: str
    first_name: str = ""
    last_name: str | None = None
    user_id: int | None = None  # the person's Telegram id, when they are on Telegram

    @property
    def name(self) -> str:
        return " ".join(p.strip() for p in (self.first_name, self.last_name or "") if p.strip())

    def to_data(self) -> dict[str, Any]:
        """For a dialog's storage (FSM data is JSON)."""
        return {
            "phone": self.phone,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "user_id": self.user_id,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> SharedContact:
        user_id = data.get("user_id")
        return cls(
            phone=str(data.get("phone") or ""),
            first_name=str(data.get("first_name") or ""),
            last_name=str(data["last_name"]) if data.get("last_name") else None,
            user_id=int(user_id) if isinstance(user_id, int) else None,
        )


def shared_phone(raw: str, region: str) -> str | None:
    """Telegram gives an international number without its `+` (`48600100200`); a card from
    the phone book may hold a national one (`600 100 200`)."""
    raw = raw.strip()
    digits = "".join(c for c in raw if c.isdigit())
    if digits and not raw.startswith("+"):
        found = normalize_phone(f"+{digits}", region)
        if found:
            return found
    return normalize_phone(raw, region)


class SharedContactService:
    def __init__(self, repos: Repos, runtime: Runtime, elements: ElementService) -> None:
        self.repos = repos
        self.runtime = runtime
        self.elements = elements

    def input_of(self, shared: SharedContact, region: str = "PL") -> ElementInput:
        phone = shared_phone(shared.phone, region)
        name = shared.name[:MAX_NAME] or None
        if name is None and phone is None:
            raise InvalidValue("contact", shared.phone)
        comment = f"Telegram: tg://user?id={shared.user_id}" if shared.user_id else None
        return ElementInput(
            title=name or phone or "",
            name=name,
            phones=(phone,) if phone else (),
            comment=comment,
            source="TELEGRAM",  # the source dictionary's code
            first_name=shared.first_name.strip()[:120] or None if name else None,
            last_name=(shared.last_name or "").strip()[:120] or None if name else None,
        )

    async def duplicates(
        self, actor: Actor, shared: SharedContact, region: str = "PL"
    ) -> list[DuplicateHit]:
        return await self.elements.find_duplicates(
            actor, EntityType.CONTACT, self.input_of(shared, region)
        )

    async def create(self, actor: Actor, shared: SharedContact, region: str = "PL") -> Creation:
        return await self.elements.create(actor, EntityType.CONTACT, self.input_of(shared, region))
