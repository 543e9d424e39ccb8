"""`POST /inbound/{token}` end to end: through the real aiohttp app (webhook mode) and the real
Bot over HTTP to the fake Bot API, in a triage group speaking Polish or Russian.

A good form (JSON, form-encoded, multipart) makes one lead and one request whose card is
posted in the group; every refusal (bad token, bad body, huge body, burst) answers 4xx JSON and
stores nothing, checked through a fresh session; a replay (same Idempotency-Key, or the same
body within a minute) is the first submission again. On PostgreSQL two identical posts at the
same moment make one lead."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from crm.context import Crm
from crm.elements import ElementInput
from crm.enums import EntityType, Role
from crm.permissions import Actor
from storage.models import Deal, InboundSubmission, Lead, TriageRequest, User
from tests.fakeapi import Call
from tests.harness import FakeClock, Harness, TgUser

pytestmark = pytest.mark.parametrize("delivery", ["webhook"], indirect=True)

Fresh = Callable[[], AbstractAsyncContextManager[Crm]]

FORMS: list[dict[str, Any]] = [  # realistic submissions: a Polish and a Russian client, extras
    {
        "name": "Jan Kowalski",
        "phone": "+48 600 100 200",
        "email": "Jan.Kowalski@Firma.pl",
        "message": "Dzień dobry, proszę o ofertę na 10 licencji.\nPozdrawiam",
        "budget": "5000 zł",
        "utm_source": "google",
    },
    {
        "fio": "Ольга Смирнова",
        "tel": "+7 912 345-67-89",
        "comment": "Здравствуйте! Нужен счёт на подписку, 3 пользователя.",
        "city": "Казань",
        "_token": "csrf-not-kept",
    },
]


def base_url(harness: Harness) -> str:
    assert harness.webhook_url is not None
    return harness.webhook_url.split("/telegram/", 1)[0]


async def post(
    harness: Harness,
    token: str,
    *,
    json_body: Any = None,
    data: Any = None,
    raw: bytes | None = None,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    all_headers = dict(headers or {})
    if content_type:
        all_headers["Content-Type"] = content_type
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{base_url(harness)}/inbound/{token}",
            json=json_body,
            data=raw if raw is not None else data,
            headers=all_headers,
        ) as response,
    ):
        body = await response.json(content_type=None)
        return response.status, body, dict(response.headers)


async def counts(fresh: Fresh) -> dict[str, int]:
    async with fresh() as crm:
        session = crm.repos.session
        return {
            name: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in (
                ("leads", Lead),
                ("deals", Deal),
                ("requests", TriageRequest),
                ("submissions", InboundSubmission),
            )
        }


def cards(calls: list[Call], chat_id: int) -> list[Call]:
    return [
        c for c in calls if c.method in ("sendMessage", "editMessageText") and c.chat_id == chat_id
    ]


async def bound_group(harness: Harness, locale: str) -> tuple[dict[str, Any], TgUser, TgUser]:
    """A group bound as a triage queue by a manager, speaking `locale`, with a rep in it."""
    group = harness.group("Zapytania" if locale == "pl" else "Заявки")
    boss = (await harness.member(Role.MANAGER, "Boss", language_code=locale)).in_chat(group)
    rep_name = "Ola" if locale == "pl" else "Оля"
    rep = (await harness.member(Role.REP, rep_name, language_code=locale)).in_chat(group)
    await boss.send(f"/lang {locale}")
    assert await boss.send("/triage on")
    return group, boss, rep


async def new_source(
    harness: Harness, chat_id: int | None, name: str = "Formularz", *, mode: str = "classic"
) -> str:
    """A source (and the CRM's mode: Classic makes leads, Simple deals with contacts)."""
    async with harness.crm() as crm:
        await crm.repos.pipelines.set_setting("crm_mode", mode)
        token = (await crm.inbound.add_source(name, chat_id=chat_id)).token
    harness.app.runtime.catalog.invalidate()
    return token


async def test_a_json_form_makes_a_lead_and_its_card_in_a_polish_group(
    harness: Harness, fresh: Fresh, clock: FakeClock
) -> None:
    group, _boss, rep = await bound_group(harness, "pl")
    token = await new_source(harness, group["id"], "Formularz kontaktowy")
    clock.advance(seconds=10)  # the group's send slot is free
    start = len(harness.tg.calls)

    status, body, _ = await post(harness, token, json_body=FORMS[0])

    assert status == 201, body
    assert body == {"ok": True, "request": body["request"], "lead": body["lead"]}
    assert body["lead"].startswith("L")
    card = cards(harness.tg.calls[start:], group["id"])
    assert len(card) == 1, harness.tg.calls[start:]
    text = card[0].text
    assert f"Zgłoszenie #{body['request']}" in text
    assert "formularz www · Formularz kontaktowy" in text
    assert "Jan Kowalski" in text and "+48600100200" in text and "jan.kowalski@firma.pl" in text
    assert "proszę o ofertę na 10 licencji" in text
    assert "budget: 5000 zł" in text and "utm_source: google" in text
    assert f"utworzono /{body['lead']}, naciśnij „Biorę”" in text
    labels = [b["text"] for b in card[0].buttons]
    assert "✋ Biorę" in labels and not any("Lead" in x for x in labels)

    async with fresh() as crm:
        lead = await crm.repos.session.get(Lead, int(body["lead"][1:]))
        assert lead is not None
        assert lead.source == "WEBFORM"
        assert lead.contact_name == "Jan Kowalski"
        assert lead.title == "Dzień dobry, proszę o ofertę na 10 licencji."
        assert lead.comment is not None and "budget: 5000 zł" in lead.comment
        request = await crm.repos.triage.request(body["request"])
        assert request is not None
        assert (request.element_entity, request.element_id) == ("lead", lead.id)
        assert request.origin == "web" and request.extra["utm_source"] == "google"
    assert await counts(fresh) == {"leads": 1, "deals": 0, "requests": 1, "submissions": 1}

    # Take: the rep gets the request and, with it, the lead (the card is edited).
    clock.advance(seconds=10)
    pressed = await rep.press("Biorę", card[0])
    edits = [c for c in pressed if c.method == "editMessageText"]
    assert edits and "Ola" in edits[-1].text, pressed
    async with fresh() as crm:
        lead = await crm.repos.session.get(Lead, int(body["lead"][1:]))
        ola = await crm.repos.session.scalar(select(User).where(User.name == "Ola"))
        assert lead is not None and ola is not None and lead.responsible_id == ola.id


async def test_a_form_encoded_form_of_a_known_client_in_a_russian_group(
    harness: Harness, fresh: Fresh, clock: FakeClock
) -> None:
    group, boss, _rep = await bound_group(harness, "ru")
    async with harness.crm() as crm:  # the client is already known by phone
        manager = await crm.repos.session.scalar(select(User).where(User.name == "Boss"))
        assert manager is not None
        known = await crm.elements.create(
            Actor(manager.id, Role.MANAGER),
            EntityType.CONTACT,
            ElementInput(name="Ольга Смирнова", phones=("+79123456789",)),
        )
    token = await new_source(harness, group["id"], "Сайт")
    clock.advance(seconds=10)
    start = len(harness.tg.calls)

    status, body, _ = await post(harness, token, data=FORMS[1])

    assert status == 201, body
    card = cards(harness.tg.calls[start:], group["id"])
    assert len(card) == 1
    text = card[0].text
    assert f"#{body['request']}" in text and "веб-форма · Сайт" in text
    assert "Ольга Смирнова" in text and "+79123456789" in text
    assert "Нужен счёт на подписку" in text and "city: Казань" in text
    assert "csrf" not in text and "_token" not in text
    # A duplicate does not block a web lead: it is made, and the card says so.
    assert f"⚠️ Похожий клиент уже есть в CRM: /{known.primary.code}" in text
    assert f"создан /{body['lead']}, нажмите «Беру»" in text
    assert await counts(fresh) == {"leads": 1, "deals": 0, "requests": 1, "submissions": 1}
    assert boss  # bound the group: its user owns the lead until someone takes it


async def test_a_multipart_form_and_an_unbound_source(
    harness: Harness, fresh: Fresh, clock: FakeClock
) -> None:
    # No group bound at all: the lead is still made, and a replay still finds it.
    token = await new_source(harness, None)
    await harness.member(Role.ADMIN, "Admin")
    form = aiohttp.FormData()
    form.add_field("name", "Zofia Nowak")
    form.add_field("email", "zofia@example.pl")
    form.add_field("interest", "CRM")
    form.add_field("interest", "szkolenie")
    status, body, _ = await post(harness, token, data=form)
    assert status == 201, body
    assert body["request"] is None and body["lead"].startswith("L")
    async with fresh() as crm:
        lead = await crm.repos.session.get(Lead, int(body["lead"][1:]))
        assert lead is not None and lead.comment == "interest: CRM, szkolenie"
    again = aiohttp.FormData()
    again.add_field("interest", "CRM")
    again.add_field("interest", "szkolenie")
    again.add_field("email", "zofia@example.pl")
    again.add_field("name", "Zofia Nowak")
    status, replayed, _ = await post(harness, token, data=again)
    assert (status, replayed) == (200, body)  # the same fields in another order: the same form
    assert await counts(fresh) == {"leads": 1, "deals": 0, "requests": 0, "submissions": 1}


def multipart_with_file() -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("name", "Jan")
    form.add_field("cv", b"%PDF-1.4 ...", filename="cv.pdf", content_type="application/pdf")
    return form


# (what is posted, the status it gets); every one of them stores nothing.
BAD_BODIES: list[tuple[dict[str, Any], int]] = [
    ({"raw": b"{", "content_type": "application/json"}, 400),
    ({"raw": b'{"name": "Jan", ', "content_type": "application/json"}, 400),
    ({"raw": b"\xff\xfe{}", "content_type": "application/json"}, 400),
    ({"raw": b"name=%FF%FE", "content_type": "application/x-www-form-urlencoded"}, 400),
    ({"raw": b"--x\r\nbroken", "content_type": "multipart/form-data; boundary=zzz"}, 400),
    ({"raw": b"name=Jan", "content_type": "text/plain"}, 415),
    ({"raw": b"<form><name>Jan</name></form>", "content_type": "application/xml"}, 415),
    ({"raw": b"name=Jan"}, 415),  # no content type at all
    ({"json_body": ["Jan", "+48600100200"]}, 422),
    ({"json_body": "Jan Kowalski"}, 422),
    ({"json_body": {}}, 422),
    ({"json_body": {"name": "  ", "phone": "", "message": "\n"}}, 422),
    ({"json_body": {"utm_source": "google", "budget": "5000"}}, 422),  # nothing useful
    ({"json_body": {"name": {"first": "Jan"}}}, 422),
    ({"json_body": {"name": ["Jan", "Jan"]}}, 422),
    ({"json_body": {"phone": True}}, 422),
    ({"json_body": {"name": "Jan", "extra": {"nested": 1}}}, 422),
    ({"json_body": {"name": "Jan", **{f"f{i}": "x" for i in range(60)}}}, 422),
    ({"data": multipart_with_file()}, 422),
    ({"json_body": {"name": "Jan"}, "headers": {"Idempotency-Key": "k" * 65}}, 400),
    ({"json_body": {"name": "Jan"}, "headers": {"Idempotency-Key": "zły klucz"}}, 400),
]


async def test_refusals_store_nothing_and_post_no_card(
    harness: Harness, fresh: Fresh, clock: FakeClock
) -> None:
    group, _boss, _rep = await bound_group(harness, "pl")
    token = await new_source(harness, group["id"])
    clock.advance(seconds=10)
    before = await counts(fresh)
    start = len(harness.tg.calls)

    for bad_token in ("", "x", "not-a-token", token[:-1], token + "x", token.upper(), "ż" * 20):
        if not bad_token:
            continue
        status, body, _ = await post(harness, bad_token, json_body=FORMS[0])
        assert (status, body) == (404, {"ok": False, "error": "unknown source"}), bad_token
    for kwargs, expected in BAD_BODIES:
        status, body, _ = await post(harness, token, **kwargs)
        assert status == expected, (kwargs, body)
        assert body["ok"] is False and body["error"], body
        assert await counts(fresh) == before, kwargs
    # A body over INBOUND_MAX_BODY_BYTES (64 KiB), declared or streamed without a length.
    huge = {"name": "Jan", "message": "x" * (70 * 1024)}
    status, body, _ = await post(harness, token, json_body=huge)
    assert (status, body["ok"]) == (413, False)

    async def stream() -> Any:
        for _ in range(80):
            yield b"a=" + b"x" * 1024 + b"&"

    status, body, _ = await post(
        harness, token, data=stream(), content_type="application/x-www-form-urlencoded"
    )
    assert (status, body["ok"]) == (413, False)
    # A revoked source's token is unknown from then on.
    async with harness.crm() as crm:
        await crm.inbound.revoke("Formularz")
    status, body, _ = await post(harness, token, json_body=FORMS[0])
    assert status == 404

    assert await counts(fresh) == before
    assert cards(harness.tg.calls[start:], group["id"]) == []


async def test_a_burst_from_one_address_is_429_and_stores_nothing(
    harness: Harness, fresh: Fresh, clock: FakeClock
) -> None:
    group, _boss, _rep = await bound_group(harness, "pl")
    token = await new_source(harness, group["id"])
    limit = harness.app.settings.inbound.inbound_rate_per_minute
    statuses = [
        (await post(harness, "guessed-token", json_body=FORMS[0]))[0] for _ in range(limit)
    ]
    assert statuses == [404] * limit  # token guessing counts like any post
    before = await counts(fresh)
    status, body, headers = await post(harness, token, json_body=FORMS[0])
    assert (status, body) == (429, {"ok": False, "error": "too many requests"})
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert await counts(fresh) == before == {
        "leads": 0, "deals": 0, "requests": 0, "submissions": 0
    }  # fmt: skip


async def test_a_replay_is_one_lead(harness: Harness, fresh: Fresh, clock: FakeClock) -> None:
    group, _boss, _rep = await bound_group(harness, "pl")
    token = await new_source(harness, group["id"])
    clock.advance(seconds=10)
    start = len(harness.tg.calls)
    key = {"Idempotency-Key": "order-2026-0001"}

    first = await post(harness, token, json_body=FORMS[0], headers=key)
    clock.advance(seconds=3600)  # a key is the same submission for good
    again = await post(harness, token, json_body=FORMS[0], headers=key)
    assert (first[0], again[0]) == (201, 200) and first[1] == again[1]
    assert await counts(fresh) == {"leads": 1, "deals": 0, "requests": 1, "submissions": 1}

    # No key: the same body within a minute is the same form — JSON or form-encoded alike.
    clock.advance(seconds=10)
    second = await post(harness, token, data=FORMS[1])
    clock.advance(seconds=59)
    same = await post(harness, token, json_body=FORMS[1])
    assert (second[0], same[0]) == (201, 200) and second[1] == same[1]
    assert second[1]["lead"] != first[1]["lead"]
    assert await counts(fresh) == {"leads": 2, "deals": 0, "requests": 2, "submissions": 2}
    # A minute after the first post it is a new submission (the client wrote again).
    clock.advance(seconds=2)
    later = await post(harness, token, data=FORMS[1])
    assert later[0] == 201 and later[1]["lead"] not in (first[1]["lead"], second[1]["lead"])
    assert await counts(fresh) == {"leads": 3, "deals": 0, "requests": 3, "submissions": 3}
    # One card per submission, none for a replay.
    posted = [c for c in harness.tg.calls[start:] if c.method == "sendMessage"]
    assert len([c for c in posted if c.chat_id == group["id"]]) == 3


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_two_identical_posts_at_once_make_one_lead(
    harness: Harness, fresh: Fresh, clock: FakeClock
) -> None:
    group, _boss, _rep = await bound_group(harness, "pl")
    token = await new_source(harness, group["id"])
    for round_ in range(5):
        clock.advance(seconds=120)
        body = {**FORMS[0], "message": f"Zamówienie nr {round_}"}
        keyed = {"Idempotency-Key": f"round-{round_}"}
        plain, keyed_pair = await asyncio.gather(
            asyncio.gather(post(harness, token, json_body=body), post(harness, token, data=body)),
            asyncio.gather(
                post(harness, token, json_body={**body, "k": 1}, headers=keyed),
                post(harness, token, json_body={**body, "k": 1}, headers=keyed),
            ),
        )
        for pair in (plain, keyed_pair):
            assert sorted(p[0] for p in pair) == [200, 201], pair
            assert pair[0][1] == pair[1][1]
    assert await counts(fresh) == {"leads": 10, "deals": 0, "requests": 10, "submissions": 10}


async def test_simple_mode_makes_a_deal_with_its_contact(
    harness: Harness, fresh: Fresh, clock: FakeClock
) -> None:
    admin = await harness.member(Role.ADMIN, "Admin")
    token = await new_source(harness, None, mode="simple")
    status, body, _ = await post(harness, token, json_body=FORMS[0])
    assert status == 201 and body["deal"].startswith("D") and "lead" not in body
    async with fresh() as crm:
        deal = await crm.repos.session.get(Deal, int(body["deal"][1:]))
        assert deal is not None and deal.contact_id is not None and deal.source == "WEBFORM"
    assert admin
