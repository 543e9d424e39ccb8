"""People and invites in the domain services, on both databases."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.context import Crm, Runtime
from crm.enums import Role
from crm.errors import AccessDenied, AlreadyBound, InvalidInvite, InvalidValue
from crm.maintenance import purge_expired_invites
from crm.users import actor_of
from storage.models import Invite
from tests.harness import FakeClock


async def test_invite_stores_only_a_hash(crm: Crm) -> None:
    issued = await crm.users.create_invite(Role.REP, "Anna", "Sprzedaż")
    stored = (await crm.repos.session.scalars(select(Invite))).one()
    assert issued.code not in stored.code_hash
    assert len(stored.code_hash) == 64
    assert issued.user.department is not None
    assert issued.user.department.name == "Sprzedaż"


async def test_redeem_binds_language_and_refuses_reuse(crm: Crm) -> None:
    issued = await crm.users.create_invite(Role.MANAGER, "Иван", "Продажи")
    user = await crm.users.redeem(issued.code, 777, "ru-RU")
    assert (user.telegram_id, user.locale, user.role) == (777, "ru", Role.MANAGER)
    assert (await crm.users.by_telegram_id(777)).id == user.id  # type: ignore[union-attr]
    with pytest.raises(AlreadyBound):
        await crm.users.redeem(issued.code, 777, None)
    with pytest.raises(InvalidInvite):
        await crm.users.redeem(issued.code, 778, None)
    with pytest.raises(InvalidInvite):
        await crm.users.redeem("x" * 500, 779, None)


async def test_unsupported_telegram_language_leaves_locale_unset(crm: Crm) -> None:
    issued = await crm.users.create_invite(Role.REP, "Hans")
    user = await crm.users.redeem(issued.code, 1, "de")
    assert user.locale is None


async def test_only_admins_invite_from_the_bot(crm: Crm) -> None:
    rep = (await crm.users.create_invite(Role.REP, "Rep")).user
    with pytest.raises(AccessDenied):
        await crm.users.create_invite(Role.ADMIN, "Evil", issued_by=actor_of(rep))
    admin = (await crm.users.create_invite(Role.ADMIN, "Boss")).user
    issued = await crm.users.create_invite(Role.REP, "New", issued_by=actor_of(admin))
    assert issued.user.role is Role.REP


async def test_settings_are_validated(crm: Crm) -> None:
    user = (await crm.users.create_invite(Role.REP, "Anna")).user
    with pytest.raises(InvalidValue):
        await crm.users.set_locale(user, "de")
    with pytest.raises(InvalidValue):
        await crm.users.set_timezone(user, "Europe/Atlantis")
    await crm.users.set_timezone(user, "Europe/Moscow")
    assert crm.users.timezone_of(user) == "Europe/Moscow"


async def test_expired_invites_are_purged(crm: Crm, clock: FakeClock) -> None:
    await crm.users.create_invite(Role.REP, "Old")
    clock.advance(hours=80)
    fresh = await crm.users.create_invite(Role.REP, "Fresh")
    assert await purge_expired_invites(crm) == 1
    assert (await crm.users.redeem(fresh.code, 5, None)).name == "Fresh"


async def test_two_simultaneous_redemptions_one_wins(
    sessionmaker: async_sessionmaker[AsyncSession], runtime: Runtime
) -> None:
    async with sessionmaker() as session:
        code = (await Crm(session, runtime).users.create_invite(Role.REP, "Race")).code

    async def redeem(telegram_id: int) -> str:
        async with sessionmaker() as session:
            try:
                await Crm(session, runtime).users.redeem(code, telegram_id, None)
            except InvalidInvite:
                return "refused"
            return "bound"

    results = await asyncio.gather(*(redeem(100 + i) for i in range(5)))
    assert sorted(results) == ["bound", "refused", "refused", "refused", "refused"]


async def test_a_person_needs_a_name(crm: Crm) -> None:
    """The domain makes up no English name ("Rep"): the front end passes a localized one."""
    with pytest.raises(InvalidValue):
        await crm.users.create_invite(Role.REP, "   ")
