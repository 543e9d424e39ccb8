"""CRM users: invites, binding a Telegram account, personal settings."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from crm.enums import Right, Role
from crm.errors import AlreadyBound, InvalidInvite, InvalidValue, NotFound
from crm.locales import SUPPORTED_LOCALES, match_locale
from crm.permissions import Actor
from crm.timezones import is_timezone
from storage.models import Invite, User
from storage.repositories import Repos

if TYPE_CHECKING:
    from crm.context import Runtime

INVITE_CODE_BYTES = 12  # 16 URL-safe characters: fits a t.me deep link, unguessable


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    user: User
    code: str
    expires_at: datetime


def actor_of(user: User) -> Actor:
    return Actor(
        user_id=user.id, role=user.role, department_id=user.department_id, role_id=user.role_id
    )


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


class UserService:
    def __init__(self, repos: Repos, runtime: Runtime) -> None:
        self.repos = repos
        self.runtime = runtime

    async def by_telegram_id(self, telegram_id: int) -> User | None:
        user = await self.repos.users.by_telegram_id(telegram_id)
        return user if user is not None and user.is_active else None

    async def create_invite(
        self,
        role: Role,
        name: str,
        department: str | None = None,
        *,
        issued_by: Actor | None = None,
    ) -> IssuedInvite:
        """Create a CRM user and a one-time invite for it.

        `issued_by` is None only for the command line, which already holds the database.
        """
        if issued_by is not None:
            self.runtime.policy.require_right(issued_by, Right.INVITE)
        # The front end names a person typed without a name (by role, in its language).
        name = name.strip()[:120]
        if not name:
            raise InvalidValue("name", "")
        dept = None
        if department and department.strip():
            dept = await self.repos.departments.get_or_create(department.strip()[:120])
        user = await self.repos.users.add(User(name=name, role=role, department=dept))
        issued = await self._new_invite(user, issued_by)
        await self.repos.commit()
        return issued

    async def reinvite(self, user_id: int, *, issued_by: Actor | None = None) -> IssuedInvite:
        """A fresh invite for an existing user, e.g. after they changed their phone."""
        if issued_by is not None:
            self.runtime.policy.require_right(issued_by, Right.INVITE)
        user = await self.repos.users.get(user_id)
        if user is None:
            raise NotFound("user", user_id)
        issued = await self._new_invite(user, issued_by)
        await self.repos.commit()
        return issued

    async def _new_invite(self, user: User, issued_by: Actor | None) -> IssuedInvite:
        code = secrets.token_urlsafe(INVITE_CODE_BYTES)
        expires_at = self.runtime.clock.now() + self.runtime.config.invite_ttl
        await self.repos.invites.add(
            Invite(
                code_hash=hash_code(code),
                user_id=user.id,
                created_by_id=issued_by.user_id if issued_by else None,
                expires_at=expires_at,
            )
        )
        return IssuedInvite(user=user, code=code, expires_at=expires_at)

    async def redeem(self, code: str, telegram_id: int, language_code: str | None) -> User:
        """Bind `telegram_id` to the invite's user; the code works once, before it expires."""
        if not code or len(code) > 64:
            raise InvalidInvite()
        existing = await self.repos.users.by_telegram_id(telegram_id)
        if existing is not None:
            raise AlreadyBound()
        user_id = await self.repos.invites.consume(hash_code(code), self.runtime.clock.now())
        if user_id is None:
            raise InvalidInvite()
        user = await self.repos.users.get(user_id)
        if user is None or not user.is_active:
            raise InvalidInvite()
        user.telegram_id = telegram_id
        user.is_reachable = True
        if user.locale is None:
            user.locale = match_locale(language_code)
        await self.repos.commit()
        return user

    async def set_locale(self, user: User, locale: str) -> User:
        if locale not in SUPPORTED_LOCALES:
            raise InvalidValue("locale", locale)
        user.locale = locale
        await self.repos.commit()
        return user

    async def set_timezone(self, user: User, timezone: str) -> User:
        timezone = timezone.strip()
        if not is_timezone(timezone):
            raise InvalidValue("timezone", timezone[:64])
        user.timezone = timezone
        await self.repos.commit()
        return user

    async def mark_unreachable(self, user: User) -> None:
        await self.repos.users.set_reachable(user.id, False)
        await self.repos.commit()

    async def mark_reachable(self, user: User) -> int:
        """The user wrote to us again: they can be reached, and what was held for them while
        they could not is released to the reminder queue. Returns how many were released."""
        user.is_reachable = True
        await self.repos.users.set_reachable(user.id, True)
        released = await self.repos.reminders.release_held(user.id)
        await self.repos.commit()
        return released

    async def names(self, user_ids: set[int]) -> dict[int, str]:
        return await self.repos.users.names(user_ids)

    def locale_of(self, user: User) -> str:
        return self.runtime.config.locale_of(user)

    def timezone_of(self, user: User) -> str:
        return self.runtime.config.timezone_of(user)

    async def provision_local_admin(self, telegram_id: int, name: str) -> User:
        """The offline console's user: bound at once, admin, since it already owns the database."""
        user = await self.repos.users.by_telegram_id(telegram_id)
        if user is None:
            user = await self.repos.users.add(
                User(name=name, role=Role.ADMIN, telegram_id=telegram_id)
            )
            await self.repos.commit()
        return user
