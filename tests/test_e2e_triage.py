"""A triage group end to end, in Polish and Russian: binding, messages that become cards, the
card's buttons, strangers' presses, forum topics, bursts and returning clients — through the
real dispatcher and Bot over HTTP to the fake Bot API; the database read back fresh."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.factory import create_storage
from crm.context import Crm
from crm.enums import Role
from storage.models import Deal, Lead, TimelineEntry, TriageRequest
from tests.conftest import make_settings
from tests.fakeapi import Call
from tests.harness import FakeClock, Harness, TgUser, running_harness

Fresh = Callable[[], AbstractAsyncContextManager[Crm]]

# The default limits scaled ×10 together (300/s, 0.1 s per chat, 200 a minute in a group):
# the courier's group slot (60 s / per-minute) shrinks with them, nothing is lifted alone.
SCALED = {"sender": {"send_rate_per_second": 300.0, "send_chat_interval": 0.1,
                     "send_group_per_minute": 200}}  # fmt: skip
SLOT = 60 / 200 + 0.01  # seconds of the fake clock between two cards in one group

TEXT = {
    "pl": {
        "request": "Zgłoszenie #", "take": "Biorę", "taken": "Podjęte — ", "yours": "jest Twoje",
        "already": "już podjął(-ęła)", "assign": "Przydziel", "assigned": "Przydzielone: ",
        "lead": "Lead", "created": "Utworzono L", "junk": "Śmieci", "spam": "Spam",
        "junked": "Śmieci (Spam)", "close": "Zamknij", "closed": "Zamknięte — ",
        "returning": "Powracający klient (zgłoszenie #", "messages": "(3 wiadomości)",
        "forwarded": "Przekazane od: ", "new": "Nowe", "bound": "kolejką zgłoszeń",
        "stranger": "Nie jesteś jeszcze", "other": "Inny powód", "why": "Dlaczego zgłoszenie",
        "typed": "Śmieci (konkurencja sprawdza ceny)",
        "ask": "Dzień dobry, proszę o ofertę na 10 licencji, tel. 600 100 200",
        "phone": "+48600100200",
    },
    "ru": {
        "request": "Обращение #", "take": "Беру", "taken": "Взято — ", "yours": "ваше",
        "already": "уже взято", "assign": "Назначить", "assigned": "Назначено: ",
        "lead": "Лид", "created": "Создан L", "junk": "Мусор", "spam": "Спам",
        "junked": "Мусор (Спам)", "close": "Закрыть", "closed": "Закрыто — ",
        "returning": "Повторное обращение клиента (обращение #", "messages": "(3 сообщения)",
        "forwarded": "Переслано от: ", "new": "Новое", "bound": "очередь обращений",
        "stranger": "Вы ещё не", "other": "Другая причина", "why": "Почему обращение",
        "typed": "Мусор (конкурент проверяет цены)",
        "ask": "Здравствуйте, пришлите счёт на 10 лицензий, тел. 8 (916) 123-45-67",
        "phone": "+79161234567",
    },
}  # fmt: skip
NAMES = {"pl": ("Szef", "Ola", "Piotr"), "ru": ("Шеф", "Оля", "Пётр")}
LOCALES = pytest.mark.parametrize("locale", ["pl", "ru"])


@pytest.fixture
async def harness(
    database_url: str, backend: str, clock: FakeClock, request: pytest.FixtureRequest
) -> AsyncIterator[Harness]:
    redis = request.getfixturevalue("redis_target") if backend == "postgres" else None

    def settings_for(api_url: str) -> Any:
        return make_settings(database_url, api_url, redis.url if redis else None, **SCALED)

    storage = create_storage(settings_for(""), prefix=redis.prefix) if redis else None
    async with running_harness(settings_for, "polling", clock, storage=storage) as h:
        yield h


class Group:
    """A bound triage group with a manager, two reps, and clients writing into it."""

    def __init__(self, h: Harness, clock: FakeClock, locale: str, chat: dict[str, Any]) -> None:
        self.h, self.clock, self.locale, self.chat = h, clock, locale, chat
        self.t = TEXT[locale]
        self.people: dict[str, TgUser] = {}
        self._ids = itertools.count(500)

    async def setup(self, *, thread: int | None = None) -> None:
        boss_name, rep_name, rep2_name = NAMES[self.locale]
        for name, role in ((boss_name, Role.MANAGER), (rep_name, Role.REP), (rep2_name, Role.REP)):
            member = await self.h.member(role, name, language_code=self.locale)
            self.people[name] = member.in_chat(self.chat)
        boss = self.people[boss_name]
        topic = {"message_thread_id": thread, "is_topic_message": True} if thread else {}
        await boss.send(f"/lang {self.locale}", **topic)
        replies = await boss.send("/triage on", **topic)
        assert any(self.t["bound"] in (c.text or "") for c in replies), replies
        self.tick()

    @property
    def boss(self) -> TgUser:
        return self.people[NAMES[self.locale][0]]

    @property
    def rep(self) -> TgUser:
        return self.people[NAMES[self.locale][1]]

    @property
    def rep2(self) -> TgUser:
        return self.people[NAMES[self.locale][2]]

    def client(self, name: str = "Jan") -> TgUser:
        return self.h.user(name, language_code=self.locale).in_chat(self.chat)

    def tick(self) -> None:
        """The group's send slot is free again (the fake clock moves past it)."""
        self.clock.advance(seconds=SLOT)

    async def write(self, who: TgUser, text: str, **extra: Any) -> list[Call]:
        self.tick()
        return await who.send(text, **extra)

    async def press(self, who: TgUser, label: str, on: Call) -> list[Call]:
        self.tick()
        return await who.press(label, on)


def card_calls(calls: list[Call], t: dict[str, str]) -> list[Call]:
    return [
        c for c in calls
        if c.method in ("sendMessage", "editMessageText") and t["request"] in (c.text or "")
    ]  # fmt: skip


def alerts(calls: list[Call]) -> list[str]:
    return [str(c.params.get("text", "")) for c in calls if c.method == "answerCallbackQuery"]


async def new_group(harness: Harness, clock: FakeClock, locale: str, **kw: Any) -> Group:
    group = Group(
        harness, clock, locale, harness.group("Zapytania" if locale == "pl" else "Заявки")
    )
    await group.setup(**kw)
    return group


async def requests(fresh: Fresh) -> list[TriageRequest]:
    async with fresh() as crm:
        rows = await crm.repos.session.scalars(select(TriageRequest).order_by(TriageRequest.id))
        return list(rows.all())


@LOCALES
async def test_a_message_becomes_a_card_and_exactly_one_take_wins(
    harness: Harness, clock: FakeClock, fresh: Fresh, locale: str
) -> None:
    g = await new_group(harness, clock, locale)
    t = g.t
    calls = await g.write(g.client(), t["ask"])
    [card] = card_calls(calls, t)
    assert card.method == "sendMessage" and t["new"] in card.text and t["phone"] in card.text
    assert card.params.get("reply_parameters"), "the card answers the client's message"

    took = await g.press(g.rep, t["take"], card)
    assert any(t["yours"] in a for a in alerts(took)), took
    [edited] = card_calls(took, t)
    assert edited.method == "editMessageText" and t["taken"] + g.rep.first_name in edited.text

    late = await g.press(g.rep2, t["take"], card)  # the old card still shows Take
    assert any(t["already"] in a and g.rep.first_name in a for a in alerts(late)), late
    assert not card_calls(late, t), "a lost press changes nothing on the card"
    [request] = await requests(fresh)
    assert request.status == "taken" and request.card_shown == request.card_version
    async with fresh() as crm:
        rep_user = await crm.users.by_telegram_id(g.rep.id)
    assert rep_user is not None and request.assignee_id == rep_user.id


@LOCALES
async def test_assign_lead_junk_and_close_edit_the_card(
    harness: Harness, clock: FakeClock, fresh: Fresh, locale: str
) -> None:
    g = await new_group(harness, clock, locale)
    t = g.t
    await g.rep2.send("/whoami")  # seen in the group: a member the queue can assign to
    [card] = card_calls(
        await g.write(g.client("Jan"), "Jan Kowalski, 5000 zł, +48 601 200 300"), t
    )

    menu = await g.press(g.boss, t["assign"], card)
    [markup] = [c for c in menu if c.method == "editMessageReplyMarkup"]
    chosen = await g.press(g.boss, g.rep2.first_name, markup)
    [edited] = card_calls(chosen, t)
    assert t["assigned"] + g.rep2.first_name in edited.text

    made = await g.press(g.rep2, t["lead"], edited)  # Simple mode (the default): a deal
    assert any("/D1" in (c.text or "") for c in made), made
    [edited] = [c for c in card_calls(made, t) if c.method == "editMessageText"]
    assert "D1" in edited.text and g.rep2.first_name in edited.text
    async with fresh() as crm:
        deal = await crm.repos.session.scalar(select(Deal))
        assert deal is not None and deal.source == "TELEGRAM"
        assert deal.contact is not None and deal.contact.name == "Jan Kowalski"
        assert deal.amount_minor == 500_000
        entries = (await crm.repos.session.scalars(
            select(TimelineEntry).where(TimelineEntry.entity == "deal")
        )).all()  # fmt: skip
        assert any(e.kind == "triage" and e.data.get("request") == 1 for e in entries)

    closed = await g.press(g.rep2, t["close"], edited)
    [edited] = card_calls(closed, t)
    assert t["closed"] + g.rep2.first_name in edited.text and not edited.buttons

    [card2] = card_calls(await g.write(g.client("Eve"), "Kup tanie zegarki!!! http://spam"), t)
    asked = await g.press(g.rep, t["junk"], card2)
    [reasons] = [c for c in asked if c.method == "editMessageReplyMarkup"]
    junked = await g.press(g.rep, t["spam"], reasons)
    [edited] = card_calls(junked, t)
    assert t["junked"] in edited.text
    [card3] = card_calls(await g.write(g.client("Max"), "Ile kosztuje wersja PRO?"), t)
    asked = await g.press(g.rep, t["junk"], card3)
    [reasons] = [c for c in asked if c.method == "editMessageReplyMarkup"]
    prompt = await g.press(g.rep, t["other"], reasons)
    assert any(t["why"] in (c.text or "") for c in prompt), prompt
    g.tick()
    typed = "konkurencja sprawdza ceny" if locale == "pl" else "конкурент проверяет цены"
    [edited] = [c for c in card_calls(await g.write(g.rep, typed), t) if c.method != "sendMessage"]
    assert t["typed"] in edited.text
    statuses = [r.status for r in await requests(fresh)]
    assert statuses == ["closed", "junk", "junk"], "the typed reason made no new request"


@LOCALES
async def test_a_stranger_pressing_a_button_changes_nothing(
    harness: Harness, clock: FakeClock, fresh: Fresh, locale: str
) -> None:
    g = await new_group(harness, clock, locale)
    [card] = card_calls(await g.write(g.client(), "Potrzebuję wyceny"), g.t)
    before = await requests(fresh)
    stranger = harness.user("Mallory", language_code=locale).in_chat(g.chat)
    for label in (g.t["take"], g.t["lead"], g.t["junk"], g.t["assign"]):
        calls = await g.press(stranger, label, card)
        assert any(g.t["stranger"] in a for a in alerts(calls)), calls
        assert not card_calls(calls, g.t)
    after = await requests(fresh)
    assert [(r.status, r.card_version, r.assignee_id) for r in after] == [
        (r.status, r.card_version, r.assignee_id) for r in before
    ]


async def test_forum_topic_ids_are_kept_and_other_topics_ignored(
    harness: Harness, clock: FakeClock, fresh: Fresh
) -> None:
    g = await new_group(harness, clock, "pl", thread=77)
    client = g.client()
    other = await g.write(
        client, "Pogadajmy o pogodzie", message_thread_id=5, is_topic_message=True
    )
    assert not card_calls(other, g.t), "another topic of the forum is not the queue"
    calls = await g.write(
        client, "Chcę kupić 3 licencje", message_thread_id=77, is_topic_message=True
    )
    [card] = card_calls(calls, g.t)
    assert card.params.get("message_thread_id") == 77
    took = await g.press(g.rep, g.t["take"], card)
    assert card_calls(took, g.t)
    assert len(await requests(fresh)) == 1


async def test_a_burst_and_an_album_are_one_request_each(
    harness: Harness, clock: FakeClock, fresh: Fresh
) -> None:
    g = await new_group(harness, clock, "pl")
    client = g.client("Jan")
    [card] = card_calls(await g.write(client, "Dzień dobry"), g.t)
    for text in ("chciałbym zamówić", "10 sztuk, tel. 600 100 200"):
        g.tick()
        calls = await client.send(text)
        assert all(c.method != "sendMessage" for c in card_calls(calls, g.t)), "no second card"
    [request] = await requests(fresh)
    assert request.messages == 3 and "10 sztuk" in request.text
    g.tick()
    await g.press(g.rep, g.t["take"], card)
    album = g.client("Ewa")
    for n in range(3):
        g.tick()
        await album.send("", caption=f"zdjęcie {n}" if n == 0 else None, media_group_id="alb1",
                         photo=[{"file_id": f"p{n}", "file_unique_id": f"u{n}", "width": 1,
                                 "height": 1}])  # fmt: skip
    rows = await requests(fresh)
    assert len(rows) == 2 and rows[1].messages == 3


async def test_a_hidden_forward_and_a_returning_client(
    harness: Harness, clock: FakeClock, fresh: Fresh
) -> None:
    g = await new_group(harness, clock, "pl")
    hidden = {"type": "hidden_user", "date": 1, "sender_user_name": "Karol Nowak"}
    [card] = card_calls(await g.write(g.rep, "Proszę o kontakt w sprawie oferty",
                                         forward_origin=hidden), g.t)  # fmt: skip
    assert g.t["forwarded"] + "Karol Nowak" in card.text or "Karol Nowak" in card.text
    took = await g.press(g.rep, g.t["take"], card)
    [card] = card_calls(took, g.t)
    closed = await g.press(g.rep, g.t["close"], card)
    assert card_calls(closed, g.t)
    g.tick()
    again = await g.write(g.rep2, "Jeszcze jedno pytanie o cenę", forward_origin=hidden)
    [card2] = card_calls(again, g.t)
    assert g.t["returning"] + "1)" in card2.text
    rows = await requests(fresh)
    assert [r.previous_id for r in rows] == [None, rows[0].id]
    assert rows[1].offered_to_id == rows[0].assignee_id, "back to whoever served them"


async def test_lead_as_a_reply_makes_that_message_a_lead(
    harness: Harness, clock: FakeClock, fresh: Fresh
) -> None:
    g = await new_group(harness, clock, "pl")
    calls = await g.write(g.client("Anna"), "Anna Nowak, proszę o demo, anna@firma.pl")
    original = next(c for c in calls if c.method == "sendMessage")
    message_id = original.params["reply_parameters"]["message_id"]
    g.tick()
    replied = {"message_id": message_id, "date": 1, "chat": g.chat, "text": "x",
               "from": {"id": 1, "is_bot": False, "first_name": "Anna"}}  # fmt: skip
    admin = await harness.member(Role.ADMIN, "Admin")
    await admin.send("/mode classic")  # leads, as a Classic-mode team has them
    g.tick()
    made = await g.rep.send("/lead", reply_to_message=replied)
    assert any("Utworzono" in (c.text or "") and "/L1" in (c.text or "") for c in made), made
    async with fresh() as crm:
        count = await crm.repos.session.scalar(select(func.count()).select_from(Lead))
        lead = await crm.repos.session.scalar(select(Lead))
    assert count == 1 and lead is not None and lead.source == "TELEGRAM"
    assert lead.contact_name == "Anna Nowak"
    [request] = await requests(fresh)
    assert request.status == "lead" and request.element_id == lead.id


async def test_edits_within_one_slot_coalesce_into_the_final_state(
    harness: Harness, clock: FakeClock, fresh: Fresh
) -> None:
    """Telegram allows a group ~20 messages a minute: changes faster than the group's send
    slot become one edit, and the last state is the one shown."""
    g = await new_group(harness, clock, "pl")
    await g.rep2.send("/whoami")
    [card] = card_calls(await g.write(g.client(), "Proszę o ofertę"), g.t)
    g.tick()
    took = await g.rep.press(g.t["take"], card)  # slot free: shown at once
    assert card_calls(took, g.t)
    # Three changes inside one slot (the clock stands still): none can be shown yet.
    menu = await g.boss.press(g.t["assign"], card)
    [markup] = [c for c in menu if c.method == "editMessageReplyMarkup"]
    first = await g.boss.press(g.rep2.first_name, markup)
    second = await g.boss.press(g.rep.first_name, markup)
    assert not card_calls(first + second, g.t), "inside the slot nothing is edited"
    [request] = await requests(fresh)
    assert request.card_shown < request.card_version
    start = len(harness.tg.calls)
    g.tick()
    assert await harness.app.courier.round() == 1
    edits = card_calls(harness.tg.calls[start:], g.t)
    assert len(edits) == 1 and g.rep.first_name in edits[0].text  # the final state, once
    assert await harness.app.courier.round() == 0
    [request] = await requests(fresh)
    assert request.card_shown == request.card_version


async def test_unbinding_moving_and_removal_of_the_group(
    harness: Harness, clock: FakeClock, fresh: Fresh
) -> None:
    g = await new_group(harness, clock, "pl")
    [card] = card_calls(await g.write(g.client(), "Proszę o ofertę"), g.t)
    await g.boss.send("/triage off")
    calls = await g.press(g.rep, g.t["take"], card)
    assert any("kolejce zgłoszeń" in a for a in alerts(calls)), calls
    assert [r.status for r in await requests(fresh)] == ["new"], "nothing changed"
    assert not card_calls(await g.write(g.client("Ewa"), "Kolejne pytanie"), g.t)

    await g.boss.send("/triage on")
    new_id = g.chat["id"] - 1
    await g.boss.send("", migrate_to_chat_id=new_id)  # upgraded to a supergroup: a new id
    moved = dict(g.chat, id=new_id)
    client = harness.user("Max", language_code="pl").in_chat(moved)
    g.tick()
    assert card_calls(await client.send("Ile kosztuje?"), g.t), "the queue followed the group"

    left = {
        "update_id": harness.tg.next_update_id(),
        "my_chat_member": {
            "chat": moved, "from": g.boss.payload, "date": 1,
            "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True,
                                                           "first_name": "bot"}},
            "new_chat_member": {"status": "kicked", "until_date": 0,
                                "user": {"id": 1, "is_bot": True, "first_name": "bot"}},
        },
    }  # fmt: skip
    await harness.deliver(left)
    async with fresh() as crm:
        assert await crm.triage.queue_of(new_id) is None, "removed from the group: unbound"
