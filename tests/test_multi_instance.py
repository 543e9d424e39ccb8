"""Two bot instances behind a load balancer: one PostgreSQL database, FSM state in Redis."""

from __future__ import annotations

import pytest

from bot.factory import create_storage
from crm.enums import Role
from tests.conftest import RedisTarget, make_settings
from tests.harness import FakeClock, running_harness, texts


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_dialog_started_on_one_instance_finishes_on_another(
    database_url: str, redis_target: RedisTarget, clock: FakeClock
) -> None:
    def settings_for(api_url: str):
        return make_settings(database_url, api_url, redis_target.url)

    storage_a = create_storage(settings_for(""), prefix=redis_target.prefix)
    storage_b = create_storage(settings_for(""), prefix=redis_target.prefix)
    async with (
        running_harness(settings_for, "webhook", clock, storage=storage_a) as a,
        running_harness(settings_for, "webhook", clock, storage=storage_b) as b,
    ):
        anna = await a.member(Role.REP, "Anna")
        await anna.send("/settings")
        await anna.press("Strefa czasowa")
        await anna.press("Inna")  # instance A puts Anna into the "type a time zone" state

        anna.h = b  # the balancer sends her next message to instance B
        assert texts(await anna.send("Moscow")) == ["Ustawiono strefę czasową: Europe/Moscow."]
        assert texts(await anna.send("/cancel")) == ["Nie ma czego anulować."]

        anna.h = a  # and A sees what B changed, in the shared database
        assert "Strefa czasowa: Europe/Moscow" in texts(await anna.send("/whoami"))[0]
