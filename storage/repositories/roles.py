"""Stored roles and the department tree (read whole: both are small and cached by the domain)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Department, RoleRecord, User


class RoleRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> Sequence[RoleRecord]:
        return (await self.session.scalars(select(RoleRecord).order_by(RoleRecord.id))).all()

    async def get(self, role_id: int) -> RoleRecord | None:
        return await self.session.get(RoleRecord, role_id)

    async def add(self, role: RoleRecord) -> RoleRecord:
        self.session.add(role)
        await self.session.flush()
        return role

    async def departments(self) -> Sequence[Department]:
        return (await self.session.scalars(select(Department).order_by(Department.name))).all()

    async def department(self, department_id: int) -> Department | None:
        return await self.session.get(Department, department_id)

    async def add_department(self, department: Department) -> Department:
        self.session.add(department)
        await self.session.flush()
        return department

    async def set_user_role(self, user_id: int, role: str, role_id: int | None) -> None:
        await self.session.execute(
            update(User).where(User.id == user_id).values(role=role, role_id=role_id)
        )

    async def set_user_department(self, user_id: int, department_id: int | None) -> None:
        await self.session.execute(
            update(User).where(User.id == user_id).values(department_id=department_id)
        )
