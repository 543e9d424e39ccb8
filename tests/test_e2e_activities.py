"""Activities and reminders end to end: /todo, /today, reminders with buttons, in pl and ru."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar

from crm.enums import Role
from tests.fakeapi import Call
from tests.harness import FakeClock, Harness, texts


async def test_todo_in_one_line_polish(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    await anna.send("/deal Jan Kowalski +48 600 100 200 wdrożenie")
    replies = await anna.send("/todo D1 jutro 10:00 zadzwonić do Jana")
    assert texts(replies) == [
        "✅ Utworzono działanie: zadzwonić do Jana\n"
        "Termin: śr., 25 lis 2026, 10:00 (Warszawa)\n"
        "Dotyczy: /D1\n"
        "Przypomnienia: 15 minut przed, w chwili terminu"
    ]
    assert [b["text"] for b in replies[0].buttons] == [
        "✅ Zrobione",
        "✏️ Edytuj",
        "🕒 Przełóż",
        "🗑 Usuń",
    ]
    card = texts(await anna.send("/D1"))[0]
    assert "<b>Otwarte działania</b>\n• śr., 25 lis 2026, 10:00 zadzwonić do Jana" in card
    contact = texts(await anna.send("/C1"))[0]
    assert "zadzwonić do Jana" in contact  # bound to the deal's contact too


async def test_todo_dialog_and_bad_dates_russian(harness: Harness) -> None:
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    await ivan.send("/deal Поставка")
    assert texts(await ivan.send("/todo")) == [
        "Для какой сделки, лида, контакта или компании? Отправьте код, например D7."
    ]
    assert texts(await ivan.send("XYZ")) == [
        "Это не код. Отправьте, например, D7, L3, C12 или CO2, или /cancel."
    ]
    assert texts(await ivan.send("D1")) == [
        "Когда? Например: завтра в 10, в пятницу в 15, через 2 часа."
    ]
    assert texts(await ivan.send("когда-нибудь")) == [
        "Не удалось распознать дату. Попробуйте: <code>завтра в 10</code>, <code>в пятницу в 15</code>, "
        "<code>через 2 часа</code>, <code>25.12 в 10</code>."
    ]
    assert texts(await ivan.send("через 2 часа")) == ["Что нужно сделать?"]
    created = texts(await ivan.send("отправить договор"))[0]
    # 09:00 UTC + 2 h = 11:00 UTC = 12:00 in Warsaw (his time zone is the default one).
    assert "Срок: вт, 24 нояб. 2026\u202fг., 12:00 (Варшава)" in created
    assert "Напоминания: за 15 минут, в момент срока" in created


async def test_today_and_done_button(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    await anna.send("/deal oferta")
    assert texts(await anna.send("/today")) == ["Na dziś nic nie zostało. 🎉"]
    await anna.send("/todo D1 za 2 godziny wysłać ofertę")
    await anna.send("/todo D1 jutro 10:00 telefon")
    replies = await anna.send("/today")
    assert texts(replies) == [
        "<b>Dziś i po terminie</b>\n1. wt., 24 lis 2026, 12:00 wysłać ofertę — /D1"
    ]
    replies = await anna.press("✅ 1")
    assert replies[0].params["text"] == "Zrobione: wysłać ofertę"
    assert texts(await anna.send("/today")) == ["Na dziś nic nie zostało. 🎉"]


async def test_reminder_arrives_with_buttons_and_snoozes(
    harness: Harness, clock: FakeClock
) -> None:
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    await ivan.send("/timezone")  # unknown command: a pointer to /help, nothing breaks
    await ivan.send("/deal Поставка")
    await ivan.send("/todo D1 завтра в 10 позвонить клиенту")
    engine = harness.app.reminder_engine()
    clock.set(datetime(2026, 11, 25, 8, 45, tzinfo=UTC))  # 09:45 Warsaw: 15 minutes before
    start = len(harness.tg.calls)
    assert await engine.tick() == 1
    reminder = [c for c in harness.tg.calls[start:] if c.method == "sendMessage"]
    assert [c.chat_id for c in reminder] == [ivan.id]
    assert reminder[0].text == (
        "⏰ Напоминание: позвонить клиенту\nСрок: ср, 25 нояб. 2026\u202fг., 10:00\nК: /D1"
    )
    assert [b["text"] for b in reminder[0].buttons] == [
        "✅ Готово",
        "+15 мин",
        "+1 ч",
        "Завтра",
        "Открыть",
    ]
    ivan.inbox.append(reminder[0])

    replies = await ivan.press("+15 мин")
    assert replies[0].params["text"] == "Напомню снова: ср, 25 нояб. 2026\u202fг., 10:00"
    clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    start = len(harness.tg.calls)
    # The snooze landed on the deadline itself: one reminder then, not two.
    assert await engine.tick() == 1
    again = [c for c in harness.tg.calls[start:] if c.method == "sendMessage"]
    assert [c.chat_id for c in again] == [ivan.id]
    ivan.inbox.extend(again)

    # "Open" shows the activity itself, with its element's code to tap.
    opened = await ivan.press("Открыть")
    assert texts(opened) == [
        "📌 Дело: позвонить клиенту\nСрок: ср, 25 нояб. 2026\u202fг., 10:00 (Варшава)\nК: /D1"
    ]
    (view,) = [c for c in opened if c.method == "sendMessage"]
    assert [b["text"] for b in view.buttons] == [
        "✅ Готово",
        "✏️ Изменить",
        "🕒 Перенести",
        "🗑 Удалить",
    ]
    replies = await ivan.press("✅ Готово")
    assert replies[0].params["text"] == "Выполнено: позвонить клиенту"
    clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    assert await engine.tick() == 0


async def test_done_needs_rights_on_every_bound_element(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna", department="Sprzedaż")
    boss = await harness.member(Role.ADMIN, "Szef")
    boris = await harness.member(Role.REP, "Boris", department="Serwis")
    await anna.send("/deal Jan Kowalski wdrożenie")
    created = await anna.send("/todo D1 jutro 10:00 spotkanie")
    await boss.send("/C1")
    await boss.press("Odpowiedzialny")
    await boss.press("Boris")  # the contact is Boris's now, the activity bound to it before
    replies = await anna.press("✅ Zrobione", created[0])
    assert replies[0].params["text"] == "Nie masz uprawnień, aby to zrobić."
    forged = await boris.press_data("ac:done:1")  # he sees it on his contact, may not close it
    assert forged[0].params["text"] == "Nie masz uprawnień, aby to zrobić."
    assert "spotkanie" in texts(await anna.send("/D1"))[0]  # still open


async def test_reminder_settings(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    assert texts(await anna.send("/reminders")) == [
        "Twoje przypomnienia: 15 minut przed, w chwili terminu. Zmień je tak: /reminders 30,15,0 (minuty przed)."
    ]
    assert texts(await anna.send("/reminders 60, 21")) == [
        "Ustawiono przypomnienia: 1 godzinę przed, 21 minut przed."
    ]
    assert texts(await anna.send("/reminders abc")) == ["Ta wartość jest tu niepoprawna: abc"]


def ics_events(replies: list[Call]) -> list[icalendar.Event]:
    """The one .ics file among the replies, parsed back with the icalendar library."""
    documents = [c for c in replies if c.method == "sendDocument"]
    assert len(documents) == 1
    ((filename, content),) = documents[0].files.values()
    assert filename == "crm-activities.ics"
    return list(icalendar.Calendar.from_ical(bytes(content)).walk("VEVENT"))


def alarms_of(event: icalendar.Event) -> list[timedelta]:
    return sorted(a.decoded("TRIGGER") for a in event.walk("VALARM"))


async def test_calendar_file(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    await anna.send("/deal oferta")
    await anna.send("/todo D1 jutro 10:00 spotkanie; biuro, Warszawa")
    replies = await anna.send("/calendar")
    documents = [c for c in replies if c.method == "sendDocument"]
    assert len(documents) == 1
    assert (
        documents[0].params["caption"]
        == "Twoje otwarte działania. Otwórz plik, aby dodać je do kalendarza."
    )
    ((filename, content),) = documents[0].files.values()
    assert filename == "crm-activities.ics"
    text = content.decode()
    assert "BEGIN:VCALENDAR\r\n" in text and "X-WR-CALNAME:Działania CRM\r\n" in text
    assert "DTSTART:20261125T090000Z\r\n" in text  # 10:00 in Warsaw
    assert "SUMMARY:spotkanie\\; biuro\\, Warszawa\r\n" in text


async def test_calendar_names_client_element_and_phone_with_an_alarm_per_reminder(
    harness: Harness,
) -> None:
    anna = await harness.member(Role.REP, "Anna")
    await anna.send("/deal Wdrożenie CRM 12 000 zł Jan Kowalski +48 600 100 200")
    await anna.send("/todo D1 jutro 10:00 zadzwonić")
    await anna.send("/deal Abonament 900 zł")  # no client, no phone
    await anna.send("/todo D2 w piątek 15 wysłać fakturę")
    call, invoice = ics_events(await anna.send("/calendar"))
    assert str(call["SUMMARY"]) == "zadzwonić"
    assert str(call["DESCRIPTION"]) == (
        "Klient: Jan Kowalski\nDotyczy: D1 — Wdrożenie CRM\nTelefon: +48600100200"
    )
    assert str(invoice["DESCRIPTION"]) == "Dotyczy: D2 — Abonament"
    # The default reminders: 15 minutes before and at the deadline, one VALARM each.
    assert alarms_of(call) == [timedelta(minutes=-15), timedelta(0)]
    assert all(a["ACTION"] == "DISPLAY" for a in call.walk("VALARM"))

    # UIDs are unique per installation: a random id kept in crm_settings, the same each time.
    async with harness.crm() as crm:
        installation = await crm.repos.pipelines.setting("installation_id")
    assert installation and len(installation) >= 32
    assert str(call["UID"]) == f"activity-1@{installation}"
    assert str(invoice["UID"]) == f"activity-2@{installation}"

    await anna.send("/reminders 60,30,5")
    again, _ = ics_events(await anna.send("/calendar"))
    assert str(again["UID"]) == str(call["UID"])
    assert alarms_of(again) == [
        timedelta(minutes=-60),
        timedelta(minutes=-30),
        timedelta(minutes=-5),
    ]


async def test_calendar_russian_description(harness: Harness) -> None:
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    await ivan.send("/deal Сделка с Иваном Петровым 200 тыс. руб +7 916 123-45-67")
    await ivan.send("/todo D1 завтра 12 позвонить")
    (event,) = ics_events(await ivan.send("/calendar"))
    assert str(event["DESCRIPTION"]) == (
        "Клиент: Иван Петров\nК: D1 — Сделка\nТелефон: +79161234567"
    )


async def test_calendar_with_nothing_to_send_sends_no_file(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    replies = await anna.send("/calendar")
    assert [c.method for c in replies] == ["sendMessage"]
    assert texts(replies) == [
        "Nie masz otwartych działań, więc nie ma czego dodać do kalendarza. "
        "Zaplanuj je przez /todo."
    ]
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    replies = await ivan.send("/calendar")
    assert [c.method for c in replies] == ["sendMessage"]
    assert texts(replies) == [
        "У вас нет открытых дел, поэтому добавлять в календарь нечего. "
        "Запланируйте дело через /todo."
    ]
