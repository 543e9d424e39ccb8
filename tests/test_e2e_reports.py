"""Digests and reports end to end, in Polish and Russian: figures in two currencies converted
to the report currency at the rate of each deal's day, checked against sums made by hand here;
the one-tap actions on stalled deals and overdue activities; /currency; long reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from crm.codes import ElementRef
from crm.elements import ElementInput
from crm.enums import EntityType, Role
from crm.triage import Incoming, Origin
from crm.users import actor_of
from storage.models import Stage
from tests.fakeapi import Call
from tests.harness import FakeClock, Harness, TgUser, texts

EARLIER = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # the week before
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday of the reported week 23–29.11
LATER = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # Wednesday: the reader asks


def alert(calls: list[Call]) -> str:
    (answer,) = [c for c in calls if c.method == "answerCallbackQuery"]
    return str(answer.params.get("text", ""))


def latest(user: TgUser, prefix: str) -> Call:
    return next(c for c in reversed(user.inbox) if (c.text or "").startswith(prefix))


async def move(
    h: Harness, tg: TgUser, code: int, semantic: str, reason: str | None = None
) -> None:
    async with h.crm() as crm:
        user = await crm.users.by_telegram_id(tg.id)
        assert user is not None
        stage = await crm.repos.session.scalar(
            select(Stage.id).where(Stage.pipeline_id == 1, Stage.semantic == semantic)
        )
        assert stage is not None
        await crm.stages.move(actor_of(user), ElementRef(EntityType.DEAL, code), stage, reason)


async def team(h: Harness, clock: FakeClock) -> dict[str, TgUser]:
    """Marta manages Sprzedaż (Anna, Иван); Olga is in another department. By hand, in EUR
    (rates 4.20 from 1.11, 4.30 from 25.11; PLN is the base):

    - Иван, D1 840 zł, open since 16.11 (the rate of its creation: 4.20) = 200.00 €, stalled;
      D5 4300 zł lost on 25.11 (4.30) = 1000.00 €.
    - Anna: D2 1000 € won on 24.11 = 1000.00 €; D3 2100 zł won on 24.11 (4.20) = 500.00 €;
      D4 2150 zł won on 25.11 (4.30) = 500.00 €.

    Totals: 5 deals in the period, 3200.00 €; 3 won, 2000.00 €; 1 lost, 1000.00 €;
    conversion 3 / 5 = 60 %; 4 new deals (D1 is older); 4 stage moves; 1 overdue activity.
    """
    clock.set(EARLIER)
    admin = await h.member(Role.ADMIN, "Admin")
    marta = await h.member(Role.MANAGER, "Marta", department="Sprzedaż")
    anna = await h.member(Role.REP, "Anna", department="Sprzedaż")
    ivan = await h.member(Role.REP, "Иван", language_code="ru", department="Sprzedaż")
    olga = await h.member(Role.REP, "Olga", department="Serwis")
    await ivan.send("/deal Старый клиент 840 zł")  # D1
    clock.set(T0)
    assert texts(await admin.send("/currency add EUR 4,20 2026-11-01")) == [
        "Zapisano: 1 EUR = 4,20\xa0zł od 1 lis 2026."
    ]
    await admin.send("/currency add EUR 4.30 2026-11-25")
    assert texts(await admin.send("/currency report eur")) == ["Raporty są od teraz w EUR."]
    await anna.send("/deal Wdrożenie 1000 EUR")  # D2
    await anna.send("/deal Serwis 2100 zł")  # D3
    await anna.send("/deal Licencje 2150 zł")  # D4
    await ivan.send("/deal Поставка 4300 zł")  # D5
    await olga.send("/deal Olgi 999 zł")  # D6: another department
    await ivan.send("/todo D1 через 2 часа позвонить клиенту")  # overdue tomorrow
    await move(h, anna, 2, "success")
    await move(h, anna, 3, "success")
    clock.set(LATER)
    await move(h, anna, 4, "success")
    await move(h, ivan, 5, "failure", "дорого")
    return {"admin": admin, "marta": marta, "anna": anna, "ivan": ivan, "olga": olga}


POLISH_SUMMARY = (
    "📊 <b>Raport: 23–29 lis 2026</b>\n"
    "\n"
    "🆕 0 nowych leadów · 4 nowe deale\n"
    "🔀 4 zmiany etapów\n"
    "✅ 3 deale wygrane: 2\xa0000,00\xa0€\n"
    "❌ 1 deal przegrany: 1\xa0000,00\xa0€\n"
    "📁 5 deali w okresie: 3\xa0200,00\xa0€, konwersja 60%\n"
    "⏰ 1 działanie po terminie · 💤 1 wstrzymany deal\n"
    "\n"
    "<b>Według handlowców</b>\n"
    "1. <b>Anna</b>: leady 0 · deale 3 (2\xa0000,00\xa0€) · przegrane 0 · wygrane 3 "
    "(2\xa0000,00\xa0€) · konwersja 100%\n"
    "2. <b>Иван</b>: leady 0 · deale 2 (1\xa0200,00\xa0€) · przegrane 1 · wygrane 0 "
    "(0,00\xa0€) · konwersja 0%\n"
    "3. <b>Marta</b>: leady 0 · deale 0 (0,00\xa0€) · przegrane 0 · wygrane 0 (0,00\xa0€) · "
    "konwersja —"
)


async def test_weekly_report_in_polish_and_russian(harness: Harness, clock: FakeClock) -> None:
    people = await team(harness, clock)
    marta, ivan = people["marta"], people["ivan"]
    summary, stalled, overdue = texts(await marta.send("/report tydzień"))
    assert summary == POLISH_SUMMARY
    assert stalled == (
        "💤 <b>1 wstrzymany deal</b> (bez pracy w okresie)\n"
        "1. /D1 Старый клиент — Иван — 9 dni bez pracy — 840,00\xa0zł\n"
        "\n"
        "🔍 otwórz · 💤 odłóż · 👤 przekaż · 📣 ponagl handlowca"
    )
    assert overdue.startswith("⏰ <b>1 działanie po terminie</b>\n1. позвонить клиенту (/D1)")
    assert "wt., 24 lis 2026, 12:00, mniej niż dzień po terminie" in overdue
    # The same figures in Russian, also from the range typed as dates.
    await marta.send("/lang ru")
    summary, stalled, overdue = texts(await marta.send("/report 2026-11-23..2026-11-29"))
    assert summary.startswith("📊 <b>Отчёт: 23—29 нояб. 2026\u202fг.</b>\n\n")
    for line in (
        "🆕 0 новых лидов · 4 новые сделки",
        "🔀 4 смены стадий",
        "✅ 3 сделки выиграны: 2\xa0000,00\xa0€",
        "❌ 1 сделка проиграна: 1\xa0000,00\xa0€",
        "📁 5 сделок за период: 3\xa0200,00\xa0€, конверсия 60\xa0%",
        "⏰ 1 просроченное дело · 💤 1 забытая сделка",
        "2. <b>Иван</b>: лиды 0 · сделки 2 (1\xa0200,00\xa0€) · проиграно 1 · выиграно 0 "
        "(0,00\xa0€) · конверсия 0\xa0%",
    ):
        assert line in summary.split("\n"), line
    assert "1. /D1 Старый клиент — Иван — 9 дней без работы — 840,00\xa0PLN" in stalled
    # Filtered by a rep: only Иван's figures, no per-rep table.
    only = texts(await marta.send("/report неделя Иван"))[0]
    assert "Менеджер: Иван" in only and "📁 2 сделки за период: 1\xa0200,00\xa0€" in only
    assert "По менеджерам" not in only

    # Nudge the rep about the stalled deal: Иван gets it in Russian, with a button to open it.
    start = len(harness.tg.calls)
    replies = await marta.press("📣 1", latest(marta, "💤"))
    assert alert(replies) == "Отправлено: Иван."
    (nudge,) = [c for c in harness.tg.calls[start:] if c.chat_id == ivan.id]
    assert nudge.text == (
        "📣 Marta просит заняться сделкой /D1 «Старый клиент»: по ней давно ничего не происходило."
    )
    ivan.inbox.append(nudge)
    card = texts(await ivan.press("Открыть"))[0]
    assert "Старый клиент" in card
    # Snooze it: it leaves the stalled list for a week.
    replies = await marta.press("💤 1", latest(marta, "💤"))
    assert alert(replies).startswith("D1 не попадёт в список забытых сделок до ")
    after = texts(await marta.send("/report неделя"))
    assert "💤 0 забытых сделок" in after[0] and len(after) == 2  # no stalled message now
    # Open the overdue activity from the digest; nudge its rep.
    opened = texts(await marta.press("🔍 1", latest(marta, "⏰")))
    assert opened[0].startswith("📌 Дело: позвонить клиенту")
    replies = await marta.press("📣 1", latest(marta, "⏰"))
    assert alert(replies) == "Отправлено: Иван."
    (nudge,) = [c for c in replies if c.chat_id == ivan.id]
    assert nudge.text == "📣 Marta просит заняться просроченным делом «позвонить клиенту» (/D1)."


async def test_a_rep_sees_only_themselves(harness: Harness, clock: FakeClock) -> None:
    people = await team(harness, clock)
    anna = people["anna"]
    (summary,) = texts(await anna.send("/digest"))  # today, 25.11: D4 won, nothing stalled
    assert summary.startswith("📊 <b>Podsumowanie: śr., 25 lis 2026</b>")
    assert "✅ 1 deal wygrany: 500,00\xa0€" in summary  # D4, 2150 zł at 4.30
    week = texts(await anna.send("/report tydzień"))[0]
    assert "📁 3 deale w okresie: 2\xa0000,00\xa0€, konwersja 100%" in week
    assert "Według handlowców" not in week
    # Another rep's name is not even recognized as a name: the hint comes, nothing leaks.
    hint = texts(await anna.send("/report tydzień Иван"))
    assert hint[0].startswith("Napisz tak: /report tydzień")
    # A rep cannot nudge: the right is the manager's.
    replies = await anna.press_data("rp:ndd:1")
    assert alert(replies) == "Nie masz uprawnień, aby to zrobić."


async def test_currency_command(harness: Harness) -> None:
    admin = await harness.member(Role.ADMIN, "Admin")
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    assert texts(await admin.send("/currency add XYZ 4")) == [
        "„XYZ” nie może być tu użyte: podaj kod ISO, np. USD lub EUR, inny niż waluta bazowa; "
        "waluta raportów musi najpierw mieć kurs."
    ]
    assert texts(await admin.send("/currency add USD abc")) == [
        "„abc” to nie kurs: podaj liczbę dodatnią, np. 4.02."
    ]
    assert texts(await admin.send("/currency add USD 4.02 01.12.2026")) == [
        "„01.12.2026” to nie data: napisz ją jako 2026-12-01."
    ]
    await admin.send("/currency add usd 3,98")
    overview = texts(await admin.send("/currency"))[0]
    assert overview.startswith(
        "💱 Waluta bazowa: <b>PLN</b>\nWaluta raportów: <b>PLN</b>\n\n"
        "Kursy (za jedną jednostkę):\nUSD: 3,98\xa0zł od 24 lis 2026\n"
    )
    assert texts(await ivan.send("/currency add EUR 4.3")) == ["У вас нет прав на это действие."]
    ru = texts(await ivan.send("/currency"))[0]
    assert ru.startswith("💱 Базовая валюта: <b>PLN</b>\nВалюта отчётов: <b>PLN</b>")


async def test_a_big_department_fits_telegram_and_comes_with_a_file(
    harness: Harness, clock: FakeClock
) -> None:
    """30 reps and 21 stalled deals: the messages stay under 4096 characters, the table shows
    25 reps and the lists 10 items, the CSV has everything; 21 takes Polish "many" and
    Russian "one" forms."""
    clock.set(EARLIER)
    marta = await harness.member(Role.MANAGER, "Marta", department="Duży")
    async with harness.crm() as crm:
        first = None
        for number in range(30):
            issued = await crm.users.create_invite(
                Role.REP, f"Handlowiec {number:02d} " + "x" * 60, "Duży"
            )
            first = first or actor_of(issued.user)
        assert first is not None
        for number in range(21):
            title = f"Zapomniany {number} " + "=" * 80  # long
            if number == 0:
                title = "=HYPERLINK(1)"  # a formula in a spreadsheet unless escaped
            await crm.elements.create(
                first,
                EntityType.DEAL,
                ElementInput(title=title, amount=Decimal(100), currency="PLN"),
            )
    clock.set(LATER)
    replies = await marta.send("/report tydzień")
    messages = [c for c in replies if c.method == "sendMessage"]
    assert all(len(c.text or "") <= 4096 for c in messages)
    summary, stalled = messages[0].text or "", messages[1].text or ""
    assert "…i jeszcze 6 handlowców: zobacz załączony plik." in summary  # 31 people, 25 shown
    assert stalled.startswith("💤 <b>21 wstrzymanych deali</b>")
    assert stalled.count(" dni bez pracy") == 10 and "…reszta w załączonym pliku." in stalled
    assert len(messages[1].buttons) == 40
    (document,) = [c for c in replies if c.method == "sendDocument"]
    ((filename, content),) = document.files.values()
    assert filename == "report-2026-11-23-2026-11-29.csv"
    sheet = content.decode("utf-8-sig")
    assert sheet.count("\nHandlowiec ") == 30 and sheet.count("\r\nD") == 22  # + a header
    assert "Zapomniany 20 ====" in sheet
    assert "D1,'=HYPERLINK(1)," in sheet and ",=HYPERLINK" not in sheet
    await marta.send("/lang ru")
    stalled_ru = texts(await marta.send("/report неделя"))[1]
    assert stalled_ru.startswith("💤 <b>21 забытая сделка</b>")


def album(calls: list[Call]) -> list[tuple[str, bytes]]:
    """The photos of the one album among `calls`, as uploaded (name, PNG)."""
    (sent,) = [c for c in calls if c.method == "sendMediaGroup"]
    media = sent.params["media"]
    return [sent.files[item["media"].removeprefix("attach://")] for item in media]


async def test_digest_sends_its_charts_in_polish_and_russian(
    harness: Harness, clock: FakeClock, tmp_path: Path
) -> None:
    """/digest for the week: the text, then one album of three PNG charts (funnel, won/lost
    per rep, the trend), 1080 px wide; the same in Russian with other pixels (the labels)."""
    people = await team(harness, clock)
    marta = people["marta"]
    calls = await marta.send("/digest tydzień")
    assert texts(calls)[0].startswith("📊 <b>Podsumowanie: 23–29 lis 2026</b>")
    polish = album(calls)
    assert [name for name, _png in polish] == ["funnel.png", "reps.png", "trend.png"]
    for name, png in polish:
        (tmp_path / f"pl-{name}").write_bytes(png)  # to look at: pytest --basetemp=DIR
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(png[16:20], "big") == 1080
    (sent,) = [c for c in calls if c.method == "sendMediaGroup"]
    assert all("photo" in m for m in sent.result)  # the fake answered with photo messages
    assert not harness.tg.violations
    await marta.send("/lang ru")
    calls = await marta.send("/digest неделя")
    assert texts(calls)[0].startswith("📊 <b>Сводка: 23—29 нояб. 2026\u202fг.</b>")
    russian = album(calls)
    assert [name for name, _png in russian] == ["funnel.png", "reps.png", "trend.png"]
    assert all(p != r for (_a, p), (_b, r) in zip(polish, russian, strict=True))
    # Olga has one open deal and closed nothing: the funnel alone, as one photo.
    calls = await people["olga"].send("/digest tydzień")
    assert not [c for c in calls if c.method == "sendMediaGroup"]
    (photo,) = [c for c in calls if c.method == "sendPhoto"]
    ((name, png),) = photo.files.values()
    assert name == "funnel.png" and png[:8] == b"\x89PNG\r\n\x1a\n"
    assert photo.result["photo"][0]["width"] == 1080
    # /report is the text alone: no charts.
    assert not [c for c in await marta.send("/report неделя") if c.method == "sendMediaGroup"]


async def test_digest_counts_unclaimed_triage_requests(harness: Harness, clock: FakeClock) -> None:
    """A queue of no department with two new requests (the oldest 3 hours old) and a taken
    one: the manager's digest says two wait, in Polish and in Russian; a rep who works in no
    queue hears nothing of triage."""
    people = await team(harness, clock)
    marta, anna = people["marta"], people["anna"]
    async with harness.crm() as crm:
        admin = await crm.users.by_telegram_id(people["admin"].id)
        assert admin is not None
        boss = actor_of(admin)
        await crm.triage.bind(boss, -100_555, None, "Zapytania")
        queue = await crm.triage.queue_by_chat(-100_555)
        assert queue is not None
        requests = []
        for n, (minutes, text) in enumerate([(0, "Cena licencji?"), (60, "Оферта, пожалуйста"),
                                             (120, "Demo?")], start=1):  # fmt: skip
            clock.set(LATER - timedelta(hours=3) + timedelta(minutes=minutes))
            incoming = Incoming(origin=Origin.GROUP, text=text, chat_id=-100_555,
                                message_id=n, author_tg_id=9000 + n, author_name=f"Klient {n}")  # fmt: skip
            requests.append((await crm.triage.receive(queue, incoming)).request.id)
        await crm.triage.take(boss, requests[2])
    clock.set(LATER)
    summary = texts(await marta.send("/digest tydzień"))[0]
    assert "📥 2 nieprzejęte zgłoszenia w kolejce, najstarsze czeka 3 godziny" in summary.split(
        "\n"
    )
    await marta.send("/lang ru")
    summary = texts(await marta.send("/digest неделя"))[0]
    assert "📥 2 невзятых обращения в очереди, самое старое ждёт 3 часа" in summary.split("\n")
    assert "📥" not in texts(await anna.send("/digest"))[0]
