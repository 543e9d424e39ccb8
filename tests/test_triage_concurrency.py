"""Two bot instances behind a load balancer, one PostgreSQL database and Redis: two people
pressing Take on the same card at the same moment, each on another instance — exactly one
wins, the other is told who did, in 100 trials of 100."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from bot.factory import create_storage
from crm.enums import Role
from storage.models import TriageRequest, User
from tests.conftest import RedisTarget, make_settings
from tests.fakeapi import Call, FakeTelegram
from tests.harness import TOKEN, FakeClock, TgUser, running_harness

TRIALS = 100
SCALED = {"sender": {"send_rate_per_second": 300.0, "send_chat_interval": 0.1,
                     "send_group_per_minute": 200}}  # fmt: skip


def press(who: TgUser, data: str, card: Call) -> dict[str, Any]:
    """The callback update Telegram sends when `who` presses a button (its id is known)."""
    query_id = str(who.h.tg.next_update_id())
    return {
        "update_id": who.h.tg.next_update_id(),
        "callback_query": {
            "id": query_id,
            "from": who.payload,
            "chat_instance": "test",
            "message": card.result,
            "data": data,
        },
    }


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_concurrent_takes_on_two_instances_have_exactly_one_winner(
    database_url: str, redis_target: RedisTarget, clock: FakeClock
) -> None:
    def settings_for(api_url: str) -> Any:
        return make_settings(database_url, api_url, redis_target.url, **SCALED)

    storage_a = create_storage(settings_for(""), prefix=redis_target.prefix)
    storage_b = create_storage(settings_for(""), prefix=redis_target.prefix)
    tg = FakeTelegram(TOKEN)  # one Telegram for both instances
    await tg.start()
    async with (
        running_harness(settings_for, "webhook", clock, tg=tg, storage=storage_a) as a,
        running_harness(settings_for, "webhook", clock, tg=tg, storage=storage_b) as b,
    ):
        group = a.group("Zapytania")
        boss = (await a.member(Role.MANAGER, "Szef")).in_chat(group)
        ola = (await a.member(Role.REP, "Ola")).in_chat(group)
        piotr = (await a.member(Role.REP, "Piotr")).in_chat(group)
        await boss.send("/triage on")
        await ola.send("/whoami")
        await piotr.send("/whoami")
        piotr.h = b  # the balancer sends Piotr's presses to instance B
        winners: dict[str, int] = {"Ola": 0, "Piotr": 0}
        for trial in range(TRIALS):
            clock.advance(seconds=1)
            client = a.user(f"Klient{trial}").in_chat(group)
            calls = await client.send(f"Zapytanie numer {trial}: proszę o ofertę")
            [card] = [c for c in calls if c.method == "sendMessage" and "Zgłoszenie #" in c.text]
            data = next(btn["callback_data"] for btn in card.buttons if "Biorę" in btn["text"])
            clock.advance(seconds=1)
            start = len(tg.calls)
            presses = {"Ola": press(ola, data, card), "Piotr": press(piotr, data, card)}
            await asyncio.gather(
                *(who.h.deliver(update) for who, update in
                  ((ola, presses["Ola"]), (piotr, presses["Piotr"])))
            )  # fmt: skip
            answered = {
                str(c.params["callback_query_id"]): str(c.params.get("text", ""))
                for c in tg.calls[start:]
                if c.method == "answerCallbackQuery"
            }
            answers = {
                name: answered.get(update["callback_query"]["id"], "")
                for name, update in presses.items()
            }
            won = [name for name, text in answers.items() if "jest Twoje" in text]
            lost = [name for name, text in answers.items() if "już podjął" in text]
            assert len(won) == 1 and len(lost) == 1, (trial, answers)
            assert won[0] in answers[lost[0]], "the loser is told who took it"
            winners[won[0]] += 1
        async with a.crm() as crm:
            users = {u.name: u.id for u in (await crm.repos.session.scalars(select(User))).all()}
            rows = (await crm.repos.session.scalars(select(TriageRequest))).all()
        assert len(rows) == TRIALS
        assert all(r.status == "taken" and r.assignee_id in (users["Ola"], users["Piotr"])
                   for r in rows)  # fmt: skip
        by_user = {name: sum(r.assignee_id == uid for r in rows) for name, uid in users.items()}
        assert by_user["Ola"] == winners["Ola"] and by_user["Piotr"] == winners["Piotr"]
        edits = [c for c in tg.calls if c.method == "editMessageText" and "Podjęte" in c.text]
        assert len(edits) == TRIALS, "each card edited once, to show its one winner"
    await tg.stop()
