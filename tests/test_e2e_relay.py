"""Clients writing to the bot in private, answered from the triage group, end to end: through
the real dispatcher and Bot over HTTP to the fake Bot API, with Polish and Russian groups and
clients speaking their own language; what is stored is read back through a fresh session.

The group's send slot (Telegram's ~20 messages a minute) is shared by cards and copies; where a
test needs the next slot it moves the clock and runs one courier round, as the scheduler's
wake-up would.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from sqlalchemy import select

from crm.context import Crm
from crm.conversion import ConversionOptions
from crm.enums import Role
from crm.modes import CrmMode
from crm.users import actor_of
from storage.models import Communication, Contact, Deal, Lead, TriageMessage, TriageRequest
from tests.fakeapi import Call
from tests.harness import FakeClock, Harness, TgUser

pytestmark = pytest.mark.asyncio

Fresh = Callable[[], AbstractAsyncContextManager[Crm]]

ACK = {
    "pl": "Dziękujemy! Otrzymaliśmy Twoją wiadomość i wkrótce odpowiemy tutaj.",
    "ru": "Спасибо! Мы получили ваше сообщение и скоро ответим здесь.",
    "en": "Thank you! We have your message and will answer here soon.",
}
CLOSED = {
    "pl": "Twoje zgłoszenie #{id} zostało zamknięte.",
    "ru": "Ваше обращение #{id} закрыто.",
    "en": "Your request #{id} is closed.",
}
GREETING = {
    "pl": "Dzień dobry! Proszę napisać tutaj swoje pytanie",
    "ru": "Здравствуйте! Напишите здесь свой вопрос",
}
INVALID_INVITE = {"pl": "To zaproszenie jest nieważne", "ru": "Это приглашение недействительно"}
NOT_A_MEMBER = {"pl": "Nie jesteś", "ru": "Вы ещё не"}
BLOCKED_CARD = {"pl": "⛔ Klient zablokował bota", "ru": "⛔ Клиент заблокировал бота"}
RELAY_ON = {"pl": "Wiadomości prywatne: gdy ktoś spoza CRM", "ru": "Личные сообщения: если боту"}
RETURNING = {"pl": "Powracający klient (zgłoszenie #{id})", "ru": "Повторное обращение"}
TAKE = {"pl": "Biorę", "ru": "Беру"}
CLOSE = {"pl": "Zamknij", "ru": "Закрыть"}
LEAD = {"pl": "Lead", "ru": "Лид"}

# (group language, client's Telegram language, what the client knows as their language)
LANGUAGES = [("pl", "ru", "ru"), ("ru", "pl", "pl"), ("pl", "de", "en"), ("ru", "ru-RU", "ru")]
# What clients write: a first message, a follow-up, and an edit of the follow-up.
CORPUS = {
    "pl": (
        "Dzień dobry, proszę o ofertę na 10 licencji CRM dla naszego biura.",
        "Czy wdrożenie jest w cenie? Potrzebujemy go do końca miesiąca.",
        "Czy wdrożenie i szkolenie są w cenie? Potrzebujemy ich do 30 listopada.",
    ),
    "ru": (
        "Здравствуйте! Сколько стоит подписка на 5 пользователей?",
        "И можно ли платить раз в год — со скидкой?",
        "И можно ли платить раз в год со скидкой 10 %?",
    ),
}


def in_chat(calls: list[Call], chat_id: int, *methods: str) -> list[Call]:
    wanted = {m.lower() for m in methods}
    return [
        c for c in calls if c.chat_id == chat_id and (not wanted or c.method.lower() in wanted)
    ]


def card_of(calls: list[Call], group: dict[str, Any]) -> Call:
    posted = [c for c in in_chat(calls, group["id"], "sendMessage") if "#" in c.text and c.buttons]
    assert len(posted) == 1, calls
    return posted[0]


async def relay_group(harness: Harness, locale: str) -> tuple[dict[str, Any], TgUser, TgUser]:
    group = harness.group("Zapytania" if locale == "pl" else "Заявки")
    boss = (await harness.member(Role.MANAGER, "Boss", language_code=locale)).in_chat(group)
    name = "Ola" if locale == "pl" else "Оля"
    rep = (await harness.member(Role.REP, name, language_code=locale)).in_chat(group)
    await boss.send(f"/lang {locale}")
    assert await boss.send("/triage on")
    replies = await boss.send("/triage relay on")
    assert RELAY_ON[locale] in replies[-1].text, replies
    return group, boss, rep


async def catch_up(harness: Harness, clock: FakeClock) -> list[Call]:
    """The next group slot: what the scheduler's wake-up of both couriers would send."""
    start = len(harness.tg.calls)
    clock.advance(seconds=5)
    await harness.app.relay.round()
    clock.advance(seconds=5)
    await harness.app.courier.round()
    clock.advance(seconds=5)
    await harness.app.relay.round()
    return harness.tg.calls[start:]


async def press(harness: Harness, user: TgUser, label: str, card: Call) -> list[Call]:
    """Press a button the card shows now (the courier edits its buttons as it changes)."""
    key = (card.chat_id or 0, card.result["message_id"])
    markup = harness.tg.messages[key].get("reply_markup") or {}
    now = Call("sendMessage", {"chat_id": key[0], "reply_markup": markup}, result=card.result)
    return await user.press(label, now)


def copy_text(harness: Harness, chat_id: int, call: Call) -> str:
    """What a copyMessage made appear in the chat (the fake keeps the copy)."""
    assert call.result is not None
    return str(harness.tg.messages[(chat_id, call.result["message_id"])].get("text"))


@pytest.mark.parametrize(("group_lang", "client_code", "client_lang"), LANGUAGES)
async def test_a_stranger_writes_the_rep_answers_and_both_sides_edit(
    harness: Harness,
    clock: FakeClock,
    fresh: Fresh,
    group_lang: str,
    client_code: str,
    client_lang: str,
) -> None:
    group, _boss, rep = await relay_group(harness, group_lang)
    client = harness.user("Jan" if client_lang == "pl" else "Иван", language_code=client_code)
    first, follow_up, edited_follow_up = CORPUS[client_lang if client_lang != "en" else "pl"]

    # The first message: a card in the group, one acknowledgement in the client's language.
    first_message, calls = await client.say(first)
    card = card_of(calls, group)
    assert first in card.text
    to_client = in_chat(calls, client.id)
    assert [c.text for c in to_client] == [ACK[client_lang]], to_client

    # The rep replies under the card: the client gets the answer (a copy, no "forwarded").
    answer_text = (
        "Dzień dobry! Oferta: 10 × 99 zł/mies."
        if group_lang == "pl"
        else ("Здравствуйте! 5 пользователей — 2 500 ₽ в месяц.")
    )
    answer, calls = await rep.say(answer_text, reply_to_message=card.result)
    copies = in_chat(calls, client.id, "copyMessage")
    assert len(copies) == 1, calls
    assert copies[0].params["from_chat_id"] == group["id"]
    assert copy_text(harness, client.id, copies[0]) == answer_text
    assert not in_chat(calls, group["id"], "sendMessage"), "an answer is not a new request"

    # The client answers: the same request; the group sees the message under the card.
    follow, calls = await client.say(follow_up)
    assert not in_chat(calls, client.id), "one acknowledgement per request"
    calls += await catch_up(harness, clock)
    under_card = in_chat(calls, group["id"], "copyMessage")
    assert len(under_card) == 1, calls
    assert under_card[0].params["reply_parameters"]["message_id"] == card.result["message_id"]
    assert copy_text(harness, group["id"], under_card[0]) == follow_up
    card_edits = in_chat(calls, group["id"], "editMessageText")
    assert card_edits and follow_up in card_edits[-1].text

    # The rep edits the answer: the client's copy is edited.
    calls = await rep.edit(answer, answer_text + " + wdrożenie 0 zł")
    edits = in_chat(calls, client.id, "editMessageText")
    assert len(edits) == 1, calls
    assert edits[0].params["message_id"] == copies[0].result["message_id"]
    assert harness.tg.messages[(client.id, edits[0].params["message_id"])]["text"] == (
        answer_text + " + wdrożenie 0 zł"
    )

    # The client edits the follow-up: its copy in the group and the card follow.
    calls = await client.edit(follow, edited_follow_up)
    calls += await catch_up(harness, clock)
    copy_edits = [
        c
        for c in in_chat(calls, group["id"], "editMessageText")
        if c.params["message_id"] == under_card[0].result["message_id"]
    ]
    assert [c.text for c in copy_edits] == [edited_follow_up], calls
    shown = harness.tg.messages[(group["id"], card.result["message_id"])]["text"]
    assert edited_follow_up in shown and follow_up not in shown

    # …and an edit of the first message changes the card only.
    calls = await client.edit(first_message, first + " (pilne)")
    calls += await catch_up(harness, clock)
    assert not in_chat(calls, client.id)
    assert (first + " (pilne)") in harness.tg.messages[(group["id"], card.result["message_id"])][
        "text"
    ]

    async with fresh() as crm:
        request = (await crm.repos.session.scalars(select(TriageRequest))).one()
        assert request.origin == "bot" and request.client_tg_id == client.id
        assert request.client_locale == client_lang
        assert request.text == f"{first} (pilne)\n{edited_follow_up}"
        rows = (
            await crm.repos.session.scalars(
                select(TriageMessage).where(TriageMessage.request_id == request.id)
            )
        ).all()
        answers = [r for r in rows if r.kind == "answer"]
        assert len(answers) == 1
        assert (answers[0].direction, answers[0].status) == ("out", "done")
        assert (answers[0].chat_id, answers[0].message_id) == (group["id"], answer["message_id"])
        assert answers[0].peer_chat_id == client.id
        assert answers[0].peer_message_id == copies[0].result["message_id"]
        assert {r.status for r in rows} == {"done"}, [(r.kind, r.status) for r in rows]
        # A reply to the client's copy in the group maps back to the request too.
        mapped = await crm.triage.request_at(group["id"], under_card[0].result["message_id"])
        assert mapped is not None and mapped.id == request.id


@pytest.mark.parametrize(("group_lang", "client_lang"), [("pl", "ru"), ("ru", "pl")])
async def test_close_tells_the_client_and_a_returning_client_gets_a_repeat_deal(
    harness: Harness, clock: FakeClock, fresh: Fresh, group_lang: str, client_lang: str
) -> None:
    """Simple mode (the default): Lead makes a deal with its contact; after a close the same
    client's new message is a new request linked to the old one, and its Lead a *repeat* deal
    of the contact they already are."""
    group, _boss, rep = await relay_group(harness, group_lang)
    client = harness.user("Marek" if client_lang == "pl" else "Пётр", language_code=client_lang)
    calls = await client.send(CORPUS[client_lang][0])
    card = card_of(calls, group)
    clock.advance(seconds=5)
    await press(harness, rep, TAKE[group_lang], card)
    clock.advance(seconds=5)
    await press(harness, rep, LEAD[group_lang], card)
    clock.advance(seconds=5)
    calls = await press(harness, rep, CLOSE[group_lang], card)
    async with fresh() as crm:
        first = (await crm.repos.session.scalars(select(TriageRequest))).one()
        assert first.status == "closed" and first.element_entity == "deal"
        first_deal = await crm.repos.session.get(Deal, first.element_id)
        assert first_deal is not None and first_deal.contact_id is not None
    notices = in_chat(calls, client.id, "sendMessage")
    assert len(notices) == 1, calls
    assert notices[0].text.startswith(CLOSED[client_lang].format(id=first.id))

    clock.advance(hours=2)  # within the reopen window
    calls = await client.send(CORPUS[client_lang][1])
    card2 = card_of(calls, group)
    assert RETURNING[group_lang].format(id=first.id) in card2.text
    assert [c.text for c in in_chat(calls, client.id)] == [ACK[client_lang]]
    clock.advance(seconds=5)
    await press(harness, rep, LEAD[group_lang], card2)
    async with fresh() as crm:
        second = (
            await crm.repos.session.scalars(
                select(TriageRequest).where(TriageRequest.id > first.id)
            )
        ).one()
        assert second.previous_id == first.id and second.client_tg_id == client.id
        assert second.element_entity == "deal" and second.element_id != first.element_id
        repeat = await crm.repos.session.get(Deal, second.element_id)
        assert repeat is not None and repeat.contact_id == first_deal.contact_id
        assert len((await crm.repos.session.scalars(select(Contact))).all()) == 1


async def test_classic_mode_returning_client_gets_a_repeat_lead_of_their_contact(
    harness: Harness, clock: FakeClock, fresh: Fresh
) -> None:
    group, _boss, rep = await relay_group(harness, "pl")
    admin_tg = await harness.member(Role.ADMIN, "Admin")
    async with harness.crm() as crm:
        admin = await crm.users.by_telegram_id(admin_tg.id)
        assert admin is not None
        await crm.conversion.set_mode(actor_of(admin), CrmMode.CLASSIC)
    client = harness.user("Zofia", language_code="pl")
    card = card_of(await client.send("Proszę o kontakt w sprawie abonamentu."), group)
    clock.advance(seconds=5)
    await press(harness, rep, LEAD["pl"], card)
    clock.advance(seconds=5)
    await press(harness, rep, CLOSE["pl"], card)
    async with harness.crm() as crm:  # the lead is qualified: a contact of it
        first = (await crm.repos.session.scalars(select(TriageRequest))).one()
        assert first.element_entity == "lead"
        await crm.conversion.convert(
            actor_of(admin), first.element_id or 0, ConversionOptions(deal=False)
        )
    clock.advance(days=1)
    card2 = card_of(await client.send("Chcę jeszcze dokupić 3 konta."), group)
    clock.advance(seconds=5)
    await press(harness, rep, LEAD["pl"], card2)
    async with fresh() as crm:
        first_lead = await crm.repos.session.get(Lead, first.element_id)
        assert first_lead is not None and first_lead.contact_id is not None
        second = (
            await crm.repos.session.scalars(
                select(TriageRequest).where(TriageRequest.id > first.id)
            )
        ).one()
        assert second.previous_id == first.id and second.element_entity == "lead"
        repeat = await crm.repos.session.get(Lead, second.element_id)
        assert repeat is not None and repeat.contact_id == first_lead.contact_id


@pytest.mark.parametrize("locale", ["pl", "ru"])
async def test_a_client_who_blocked_the_bot_is_marked_and_not_retried(
    harness: Harness, clock: FakeClock, fresh: Fresh, locale: str
) -> None:
    group, _boss, rep = await relay_group(harness, locale)
    client = harness.user("Kasia", language_code=locale)
    card = card_of(await client.send(CORPUS[locale][0]), group)
    harness.tg.fail(
        "copyMessage", 403, "Forbidden: bot was blocked by the user", chat_id=client.id
    )
    calls = await rep.send("Dzień dobry, już odpowiadam.", reply_to_message=card.result)
    assert len(in_chat(calls, client.id, "copyMessage")) == 1  # tried once, refused
    calls = await catch_up(harness, clock)
    assert not in_chat(calls, client.id), "nothing is retried for a client who blocked the bot"
    shown = harness.tg.messages[(group["id"], card.result["message_id"])]["text"]
    assert BLOCKED_CARD[locale] in shown

    # A second answer is kept but not sent, and the rep is told why.
    calls = await rep.send("Halo?", reply_to_message=card.result)
    assert not in_chat(calls, client.id)
    assert BLOCKED_CARD[locale] in in_chat(calls, group["id"], "sendMessage")[-1].text
    clock.advance(seconds=5)
    await press(harness, rep, TAKE[locale], card)
    clock.advance(seconds=5)
    calls = await press(harness, rep, CLOSE[locale], card)
    calls += await catch_up(harness, clock)
    assert not in_chat(calls, client.id), "no close notice to a client who blocked the bot"
    async with fresh() as crm:
        request = (await crm.repos.session.scalars(select(TriageRequest))).one()
        assert request.client_blocked
        rows = (await crm.repos.session.scalars(select(TriageMessage))).all()
        assert sorted(r.status for r in rows if r.kind == "answer") == ["failed", "failed"]
        assert {r.status for r in rows if r.direction == "out"} <= {"failed", "done"}

    # Writing again means the bot is unblocked: their requests are no longer marked.
    clock.advance(hours=1)
    calls = await client.send("Przepraszam, odblokowałam bota.")
    assert [c.text for c in in_chat(calls, client.id)] == [ACK[locale]]
    async with fresh() as crm:
        marks = (await crm.repos.session.scalars(select(TriageRequest.client_blocked))).all()
        assert marks == [False, False]


@pytest.mark.parametrize("locale", ["pl", "ru"])
async def test_strangers_see_nothing_of_the_crm(
    harness: Harness, fresh: Fresh, locale: str
) -> None:
    stranger = harness.user("Obcy", language_code=locale)
    # No queue takes private messages: today's hint, and nothing is stored.
    calls = await stranger.send("Dzień dobry, czy mogę zamówić?")
    assert [c.text[: len(NOT_A_MEMBER[locale])] for c in calls] == [NOT_A_MEMBER[locale]]
    _group, _boss, _rep = await relay_group(harness, locale)
    # With relay on, commands get a client's greeting — never a list, a card, or a code.
    for command in ("/start", "/help", "/leads", "/contacts", "/whoami", "/start nonsense1"):
        calls = await stranger.send(command)
        texts = [c.text for c in calls]
        expected = INVALID_INVITE[locale] if " " in command else GREETING[locale]
        assert len(texts) == 1 and texts[0].startswith(expected), (command, texts)
    async with fresh() as crm:
        assert (await crm.repos.session.scalars(select(TriageRequest))).all() == []


@pytest.mark.parametrize("locale", ["pl", "ru"])
async def test_relay_is_one_queue_at_a_time(harness: Harness, locale: str) -> None:
    group_a, boss, _rep = await relay_group(harness, locale)
    group_b = harness.group("Sprzedaż" if locale == "pl" else "Продажи")
    boss_b = boss.in_chat(group_b)
    await boss_b.send(f"/lang {locale}")
    await boss_b.send("/triage on")
    replies = await boss_b.send("/triage relay on")
    assert group_a["title"] in replies[-1].text
    client = harness.user("Ewa", language_code=locale)
    calls = await client.send(CORPUS[locale][0])
    assert card_of(calls, group_b) and not in_chat(calls, group_a["id"])
    replies = await boss_b.send("/triage relay off")
    assert replies and RELAY_ON[locale] not in replies[-1].text
    calls = await client.send("Halo?")
    assert [c.text[: len(NOT_A_MEMBER[locale])] for c in calls] == [NOT_A_MEMBER[locale]]


# --- contacts shared into the chat ---------------------------------------------------------------
SHARED = {
    "pl": [
        ({"phone_number": "48600100200", "first_name": "Jan", "last_name": "Kowalski",
          "user_id": 5550001}, "+48600100200", "Jan Kowalski"),
        ({"phone_number": "+48 601 200 300", "first_name": "Anna"}, "+48601200300", "Anna"),
        ({"phone_number": "602 300 400", "first_name": "Piotr", "last_name": "Wiśniewski"},
         "+48602300400", "Piotr Wiśniewski"),
    ],
    "ru": [
        ({"phone_number": "79123456789", "first_name": "Иван", "last_name": "Петров",
          "user_id": 5550002}, "+79123456789", "Иван Петров"),
        ({"phone_number": "+7 (916) 123-45-67", "first_name": "Мария"}, "+79161234567", "Мария"),
    ],
}  # fmt: skip


@pytest.mark.parametrize("locale", ["pl", "ru"])
async def test_a_shared_contact_becomes_a_contact_with_the_duplicate_check(
    harness: Harness, fresh: Fresh, locale: str
) -> None:
    rep = await harness.member(Role.REP, "Ola", language_code=locale)
    created = {"pl": "Utworzono", "ru": "Создан"}[locale]
    anyway = {"pl": "Utwórz mimo to", "ru": "Всё равно создать"}[locale]
    for contact, _phone, name in SHARED[locale]:
        calls = await rep.share_contact(contact)
        assert calls and calls[-1].text.startswith(created), calls
        assert name in calls[-1].text
    async with fresh() as crm:
        contacts = (await crm.repos.session.scalars(select(Contact).order_by(Contact.id))).all()
        assert [c.name for c in contacts] == [name for _c, _p, name in SHARED[locale]]
        phones = (
            await crm.repos.session.scalars(
                select(Communication.value).where(Communication.kind == "phone")
            )
        ).all()
        assert sorted(phones) == sorted(p for _c, p, _n in SHARED[locale])
        first = contacts[0]
        assert first.comment and f"tg://user?id={SHARED[locale][0][0]['user_id']}" in first.comment

    # The same person again, forwarded this time: the duplicate warning, then Create anyway.
    hidden = {"type": "hidden_user", "sender_user_name": "Someone", "date": 0}
    calls = await rep.share_contact(SHARED[locale][0][0], forward_origin=hidden)
    warning = calls[-1]
    assert "⚠️" in warning.text and any(anyway in b["text"] for b in warning.buttons)
    assert any(f"C{first.id}" in b["text"] for b in warning.buttons)
    async with fresh() as crm:
        assert len((await crm.repos.session.scalars(select(Contact))).all()) == len(SHARED[locale])
    calls = await rep.press(anyway, warning)
    assert any(c.text.startswith(created) for c in calls), calls
    async with fresh() as crm:
        assert len((await crm.repos.session.scalars(select(Contact))).all()) == (
            len(SHARED[locale]) + 1
        )
