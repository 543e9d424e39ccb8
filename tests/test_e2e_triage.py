"""A triage group end to end: binding, messages that become cards, and the card's buttons,
in Polish and Russian, through the real dispatcher and Bot over HTTP to the fake Bot API."""

from __future__ import annotations

from typing import Any

import pytest

from crm.enums import Role
from tests.fakeapi import Call
from tests.harness import FakeClock, Harness, TgUser

pytestmark = pytest.mark.asyncio


def cards(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.method in ("sendMessage", "editMessageText") and "#" in (c.text or "")]


async def bound_group(
    harness: Harness, locale: str = "pl", forum_topic: int | None = None
) -> tuple[dict[str, Any], TgUser, TgUser]:
    group = harness.group("Zapytania" if locale == "pl" else "Заявки")
    boss = (await harness.member(Role.MANAGER, "Boss", language_code=locale)).in_chat(group)
    rep = (await harness.member(Role.REP, "Ola" if locale == "pl" else "Оля",
                                language_code=locale)).in_chat(group)  # fmt: skip
    await boss.send(f"/lang {locale}")
    extra = {"message_thread_id": forum_topic, "is_topic_message": True} if forum_topic else {}
    replies = await boss.send("/triage on", **extra)
    assert replies, replies
    return group, boss, rep


async def test_message_becomes_a_card_and_take_edits_it(harness: Harness, clock: FakeClock) -> None:
    group, boss, rep = await bound_group(harness)
    client = harness.user("Jan", language_code="pl").in_chat(group)
    calls = await client.send("Dzień dobry, proszę o ofertę na 10 licencji, tel. +48 600 100 200")
    card = cards(calls)
    assert card, calls
    print(card[0].text)
    assert "Take" not in card[0].text
    clock.advance(seconds=5)
    pressed = await rep.press("Biorę", card[0]) if False else None
