from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from crm.enums import Role
from storage.models import Department, Invite, User


class UserRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def by_telegram_id(self, telegram_id: int) -> User | None:
        return await self.session.scalar(select(User).where(User.telegram_id == telegram_id))

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user

    async def list_active(self) -> Sequence[User]:
        result = await self.session.scalars(
            select(User).where(User.is_active.is_(True)).order_by(User.id)
        )
        return result.all()

    async def by_ids(self, user_ids: set[int]) -> dict[int, User]:
        query = select(User).where(User.id.in_(user_ids)).options(raiseload(User.department))
        return {u.id: u for u in (await self.session.scalars(query)).unique().all()}

    async def names(self, user_ids: set[int]) -> dict[int, str]:
        if not user_ids:
            return {}
        rows = await self.session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))
        return {row[0]: row[1] for row in rows.all()}

    async def count_admins(self) -> int:
        return (
            await self.session.scalar(
                select(func.count()).select_from(User).where(User.role == Role.ADMIN)
            )
            or 0
        )

    async def first_admin(self) -> User | None:
        """The longest-standing active admin (who owns what no person created)."""
        return await self.session.scalar(
            select(User)
            .where(User.role == Role.ADMIN, User.is_active.is_(True))
            .order_by(User.id)
            .limit(1)
        )

    async def set_reachable(self, user_id: int, reachable: bool) -> None:
        await self.session.execute(
            update(User).where(User.id == user_id).values(is_reachable=reachable)
        )


class DepartmentRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_or_create(self, name: str) -> Department:
        found = await self.session.scalar(select(Department).where(Department.name == name))
        if found is not None:
            return found
        department = Department(name=name)
        self.session.add(department)
        await self.session.flush()
        return department


class InviteRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, invite: Invite) -> Invite:
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def consume(self, code_hash: str, now: datetime) -> int | None:
        """Mark a valid invite used in one statement; return its user id, or None.

        A single conditional UPDATE makes two simultaneous redemptions of one code safe on
        both backends: only one of them matches `used_at IS NULL`.
        """
        return await self.session.scalar(
            update(Invite)
            .where(
                Invite.code_hash == code_hash,
                Invite.used_at.is_(None),
                Invite.expires_at > now,
            )
            .values(used_at=now)
            .returning(Invite.user_id)
        )

    async def delete_expired(self, now: datetime) -> int:
        result = await self.session.execute(
            delete(Invite).where(Invite.used_at.is_(None), Invite.expires_at <= now)
        )
        return int(getattr(result, "rowcount", 0) or 0)
