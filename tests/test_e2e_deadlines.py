"""Deadlines and activity changes end to end, in Polish and Russian, on the harness's clock.

The clock starts at Tuesday 2026-11-24 09:00 UTC (10:00 in Warsaw, 12:00 in Moscow); tests
that need "the evening" or odd seconds move it. Replies are compared whole where the wording
is the point.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from crm.enums import Role
from storage.models import Activity, Reminder
from tests.fakeapi import Call
from tests.harness import FakeClock, Harness, TgUser, texts

EVENING = datetime(2026, 11, 24, 19, 30, tzinfo=UTC)  # 20:30 in Warsaw, 22:30 in Moscow


def sent(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.method == "sendMessage"]


def labels(call: Call) -> list[str]:
    return [b["text"] for b in call.buttons]


async def activities(harness: Harness) -> list[Activity]:
    async with harness.crm() as crm:
        rows = await crm.repos.session.execute(select(Activity).order_by(Activity.id))
        return list(rows.scalars())


async def pending_reminders(harness: Harness, activity_id: int) -> list[datetime]:
    async with harness.crm() as crm:
        rows = await crm.repos.session.execute(
            select(Reminder.due_at)
            .where(Reminder.activity_id == activity_id, Reminder.status == "pending")
            .order_by(Reminder.due_at)
        )
        return [due.replace(tzinfo=UTC) if due.tzinfo is None else due for due in rows.scalars()]


async def moscow(user: TgUser) -> None:
    await user.send("/settings")
    await user.press("Часовой пояс")
    await user.press("Europe/Moscow")


# --- a bare number after a day is the hour; parts of day; the zone as the reader knows it


async def test_bare_hour_after_a_day_polish(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    await anna.send("/deal oferta")
    created = texts(await anna.send("/todo D1 jutro 12 zadzwonić"))
    assert created == [
        "✅ Utworzono działanie: zadzwonić\n"
        "Termin: śr., 25 lis 2026, 12:00 (Warszawa)\n"
        "Dotyczy: /D1\n"
        "Przypomnienia: 15 minut przed, w chwili terminu"
    ]
    created = texts(await anna.send("/todo D1 w czwartek 14 prezentacja"))[0]
    assert created.startswith(
        "✅ Utworzono działanie: prezentacja\nTermin: czw., 26 lis 2026, 14:00"
    )
    created = texts(await anna.send("/todo D1 12 w piątek demo"))[0]
    assert created.startswith("✅ Utworzono działanie: demo\nTermin: pt., 27 lis 2026, 12:00")
    created = texts(await anna.send("/todo D1 pojutrze rano wysłać umowę"))[0]
    assert "wysłać umowę\nTermin: czw., 26 lis 2026, 09:00 (Warszawa)" in created
    created = texts(await anna.send("/todo D1 jutro po południu oddzwonić"))[0]
    assert "oddzwonić\nTermin: śr., 25 lis 2026, 15:00 (Warszawa)" in created
    subjects = [(a.subject, a.deadline.replace(tzinfo=UTC)) for a in await activities(harness)]
    assert subjects == [
        ("zadzwonić", datetime(2026, 11, 25, 11, 0, tzinfo=UTC)),
        ("prezentacja", datetime(2026, 11, 26, 13, 0, tzinfo=UTC)),
        ("demo", datetime(2026, 11, 27, 11, 0, tzinfo=UTC)),
        ("wysłać umowę", datetime(2026, 11, 26, 8, 0, tzinfo=UTC)),
        ("oddzwonić", datetime(2026, 11, 25, 14, 0, tzinfo=UTC)),
    ]


async def test_bare_hour_after_a_day_russian_in_moscow(harness: Harness) -> None:
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    await moscow(ivan)
    await ivan.send("/deal Поставка")
    created = texts(await ivan.send("/todo D1 завтра 12 позвонить"))
    assert created == [
        "✅ Дело создано: позвонить\n"
        "Срок: ср, 25 нояб. 2026\u202fг., 12:00 (Москва)\n"
        "К: /D1\n"
        "Напоминания: за 15 минут, в момент срока"
    ]
    created = texts(await ivan.send("/todo D1 в четверг 14 презентация"))[0]
    assert "презентация\nСрок: чт, 26 нояб. 2026\u202fг., 14:00 (Москва)" in created
    created = texts(await ivan.send("/todo D1 завтра днём встреча"))[0]
    assert "встреча\nСрок: ср, 25 нояб. 2026\u202fг., 13:00 (Москва)" in created
    created = texts(await ivan.send("/todo D1 до пятницы подготовить договор"))[0]
    assert "подготовить договор\nСрок: пт, 27 нояб. 2026\u202fг., 09:00 (Москва)" in created
    deadlines = [a.deadline.replace(tzinfo=UTC) for a in await activities(harness)]
    assert deadlines == [
        datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        datetime(2026, 11, 26, 11, 0, tzinfo=UTC),
        datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
        datetime(2026, 11, 27, 6, 0, tzinfo=UTC),
    ]


async def test_relative_deadlines_drop_seconds(harness: Harness, clock: FakeClock) -> None:
    anna = await harness.member(Role.REP, "Anna")
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    await anna.send("/deal oferta")
    clock.set(datetime(2026, 11, 24, 9, 17, 43, 512_000, tzinfo=UTC))  # 10:17:43 in Warsaw
    created = texts(await anna.send("/todo D1 za 2 godziny telefon"))[0]
    assert "Termin: wt., 24 lis 2026, 12:17 (Warszawa)" in created
    await ivan.send("/deal Поставка")
    created = texts(await ivan.send("/todo D2 через 2 часа позвонить"))[0]
    assert "Срок: вт, 24 нояб. 2026\u202fг., 12:17 (Варшава)" in created
    deadlines = [a.deadline.replace(tzinfo=UTC) for a in await activities(harness)]
    assert deadlines == [datetime(2026, 11, 24, 11, 17, tzinfo=UTC)] * 2
    assert await pending_reminders(harness, 1) == [
        datetime(2026, 11, 24, 11, 2, tzinfo=UTC),
        datetime(2026, 11, 24, 11, 17, tzinfo=UTC),
    ]


# --- the dialog asks for the subject when only a deadline came


async def test_dialog_asks_what_when_only_a_deadline_came_polish(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    await anna.send("/deal oferta")
    await anna.send("/todo")
    await anna.send("D1")
    assert texts(await anna.send("jutro 10")) == ["Co trzeba zrobić?"]
    assert texts(await anna.send("10")) == ["Co trzeba zrobić?"]  # a number is not a task
    created = texts(await anna.send("zadzwonić do klienta"))[0]
    assert created.startswith(
        "✅ Utworzono działanie: zadzwonić do klienta\nTermin: śr., 25 lis 2026, 10:00 (Warszawa)"
    )
    assert texts(await anna.send("/todo D1 w piątek o 15")) == ["Co trzeba zrobić?"]
    assert "demo\nTermin: pt., 27 lis 2026, 15:00" in texts(await anna.send("demo"))[0]
    assert [a.subject for a in await activities(harness)] == ["zadzwonić do klienta", "demo"]


async def test_dialog_asks_what_when_only_a_deadline_came_russian(harness: Harness) -> None:
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    await ivan.send("/deal Поставка")
    await ivan.send("/todo D1")
    assert texts(await ivan.send("завтра 10")) == ["Что нужно сделать?"]
    created = texts(await ivan.send("отправить счёт"))[0]
    assert "отправить счёт\nСрок: ср, 25 нояб. 2026\u202fг., 10:00 (Варшава)" in created
    assert [a.subject for a in await activities(harness)] == ["отправить счёт"]


# --- a deadline already past: ask about tomorrow, or refuse with a hint


async def test_past_today_asks_about_tomorrow_polish(harness: Harness, clock: FakeClock) -> None:
    anna = await harness.member(Role.REP, "Anna")
    await anna.send("/deal oferta")
    clock.set(EVENING)
    replies = await anna.send("/todo D1 dziś o 18 podsumowanie")
    assert texts(replies) == ["Dziś 18:00 już minęła. Chodziło o jutro?"]
    assert labels(replies[0]) == ["Jutro 18:00", "Zostaw dziś", "Anuluj"]
    assert await activities(harness) == []  # nothing created silently overdue
    replies = await anna.press("Jutro 18:00")
    created = texts(sent(replies))
    assert created == [
        "✅ Utworzono działanie: podsumowanie\n"
        "Termin: śr., 25 lis 2026, 18:00 (Warszawa)\n"
        "Dotyczy: /D1\n"
        "Przypomnienia: 15 minut przed, w chwili terminu"
    ]
    assert await pending_reminders(harness, 1) == [
        datetime(2026, 11, 25, 16, 45, tzinfo=UTC),
        datetime(2026, 11, 25, 17, 0, tzinfo=UTC),
    ]
    # The same question again, answered "keep today": created overdue, and it says so.
    await anna.send("/todo D1 dziś o 18 raport")
    created = texts(sent(await anna.press("Zostaw dziś")))
    assert created == [
        "✅ Utworzono działanie: raport\n"
        "Termin: wt., 24 lis 2026, 18:00 (po terminie) (Warszawa)\n"
        "Dotyczy: /D1\n"
        "Bez przypomnień: ich czas już minął."
    ]
    # ...and cancelled: nothing is created; a second press finds the question closed.
    await anna.send("/todo D1 dziś o 18 notatka")
    assert texts(sent(await anna.press("Anuluj"))) == ["Anulowano. Nic nie zostało zmienione."]
    late = await anna.press_data("td:tmr")
    assert late[0].params["text"] == "To pytanie jest już nieaktualne."
    assert [a.subject for a in await activities(harness)] == ["podsumowanie", "raport"]


async def test_past_today_asks_about_tomorrow_russian(harness: Harness, clock: FakeClock) -> None:
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    await moscow(ivan)
    await ivan.send("/deal Поставка")
    clock.set(EVENING)  # 22:30 in Moscow
    await ivan.send("/todo D1")
    replies = await ivan.send("сегодня в 18")
    assert texts(replies) == ["Сегодня 18:00 уже прошло. Вы имели в виду завтра?"]
    assert labels(replies[0]) == ["Завтра в 18:00", "Оставить на сегодня", "Отмена"]
    # Only a deadline came: after the answer the dialog asks for the subject.
    assert texts(sent(await ivan.press("Завтра в 18:00"))) == ["Что нужно сделать?"]
    created = texts(await ivan.send("отчёт"))[0]
    assert "отчёт\nСрок: ср, 25 нояб. 2026\u202fг., 18:00 (Москва)" in created
    # Typing a new date instead of pressing a button is an answer too.
    await ivan.send("/todo D1 сегодня в 20 звонок")
    created = texts(await ivan.send("завтра в 11"))[0]
    assert "звонок\nСрок: ср, 25 нояб. 2026\u202fг., 11:00 (Москва)" in created
    deadlines = [(a.subject, a.deadline.replace(tzinfo=UTC)) for a in await activities(harness)]
    assert deadlines == [
        ("отчёт", datetime(2026, 11, 25, 15, 0, tzinfo=UTC)),
        ("звонок", datetime(2026, 11, 25, 8, 0, tzinfo=UTC)),
    ]


async def test_an_earlier_day_is_refused_and_the_subject_kept_polish(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    await anna.send("/deal oferta")
    assert texts(await anna.send("/todo D1 wczoraj 10:00 zadzwonić")) == [
        "Ta data już minęła: pon., 23 lis 2026, 10:00. Wyślij późniejszą, na przykład "
        "<code>jutro 10:00</code> albo <code>w piątek o 15</code>."
    ]
    assert await activities(harness) == []
    created = texts(await anna.send("jutro 11"))[0]
    assert created.startswith("✅ Utworzono działanie: zadzwonić\nTermin: śr., 25 lis 2026, 11:00")


async def test_an_earlier_day_is_refused_and_the_subject_kept_russian(harness: Harness) -> None:
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    await ivan.send("/deal Поставка")
    assert texts(await ivan.send("/todo D1 вчера в 10 позвонить")) == [
        "Эта дата уже прошла: пн, 23 нояб. 2026\u202fг., 10:00. Отправьте более позднюю, "
        "например <code>завтра в 10</code> или <code>в пятницу в 15</code>."
    ]
    created = texts(await ivan.send("послезавтра 9"))[0]
    assert created.startswith("✅ Дело создано: позвонить\nСрок: чт, 26 нояб. 2026\u202fг., 09:00")
    assert [a.subject for a in await activities(harness)] == ["позвонить"]


# --- Edit, Reschedule, Delete; Open on a reminder


async def test_edit_reschedule_delete_polish(harness: Harness, clock: FakeClock) -> None:
    anna = await harness.member(Role.REP, "Anna")
    await anna.send("/deal Jan Kowalski wdrożenie")
    card = (await anna.send("/todo D1 jutro 10 zadzwonić"))[0]

    assert texts(await anna.press("Edytuj", card)) == [
        "Wyślij nową treść zamiast „zadzwonić” albo /cancel."
    ]
    edited = await anna.send("zadzwonić do Jana w sprawie umowy")
    assert texts(edited) == [
        "✏️ Zmieniono treść: zadzwonić do Jana w sprawie umowy\n"
        "Termin: śr., 25 lis 2026, 10:00 (Warszawa)\n"
        "Dotyczy: /D1\n"
        "Klient: /C1"
    ]

    assert texts(await anna.press("Przełóż", card)) == [
        "Na kiedy przełożyć „zadzwonić do Jana w sprawie umowy”? Na przykład: jutro 10:00, "
        "w piątek o 15, za 2 godziny. Albo /cancel."
    ]
    assert texts(await anna.send("kiedyś")) == [
        "Nie rozpoznałem daty. Spróbuj: <code>jutro 10:00</code>, <code>w piątek o 15</code>, "
        "<code>za 2 godziny</code>, <code>25.12 o 10</code>."
    ]
    moved = texts(await anna.send("pojutrze 14"))[0]
    assert moved.startswith(
        "🕒 Przełożono: zadzwonić do Jana w sprawie umowy\nTermin: czw., 26 lis 2026, 14:00 (Warszawa)"
    )
    assert await pending_reminders(harness, 1) == [
        datetime(2026, 11, 26, 12, 45, tzinfo=UTC),
        datetime(2026, 11, 26, 13, 0, tzinfo=UTC),
    ]

    question = await anna.press("Usuń", card)
    assert texts(question) == [
        "Usunąć działanie „zadzwonić do Jana w sprawie umowy”? "
        "Jego przypomnienia też zostaną usunięte."
    ]
    assert texts(await anna.press("Zostaw", question[-1])) == ["Nic nie zostało usunięte."]
    assert len(await activities(harness)) == 1
    replies = await anna.press("Tak, usuń", question[-1])
    edits = [c for c in replies if c.method == "editMessageText"]
    assert [c.text for c in edits] == ["Usunięto: zadzwonić do Jana w sprawie umowy"]
    assert await activities(harness) == []
    async with harness.crm() as crm:
        left = await crm.repos.session.scalar(select(func.count()).select_from(Reminder))
    assert left == 0
    deal = texts(await anna.send("/D1"))[0]
    assert "Otwarte działania" not in deal
    assert "usunięto działanie: zadzwonić do Jana w sprawie umowy" in deal


async def test_edit_reschedule_delete_russian(harness: Harness, clock: FakeClock) -> None:
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    await moscow(ivan)
    await ivan.send("/deal Поставка")
    card = (await ivan.send("/todo D1 завтра 12 позвонить"))[0]
    await ivan.press("Изменить", card)
    edited = texts(await ivan.send("позвонить Петрову"))[0]
    assert edited.startswith("✏️ Текст изменён: позвонить Петрову\nСрок: ср, 25 нояб.")
    # Rescheduled to an hour already past today: asked, kept today on purpose.
    clock.set(EVENING)  # 22:30 in Moscow
    assert texts(await ivan.press("Перенести", card)) == [
        "На когда перенести «позвонить Петрову»? Например: завтра в 10, в пятницу в 15, "
        "через 2 часа. Или /cancel."
    ]
    assert texts(await ivan.send("сегодня в 21")) == [
        "Сегодня 21:00 уже прошло. Вы имели в виду завтра?"
    ]
    moved = texts(sent(await ivan.press("Завтра в 21:00")))[0]
    assert moved.startswith(
        "🕒 Перенесено: позвонить Петрову\nСрок: ср, 25 нояб. 2026\u202fг., 21:00 (Москва)"
    )
    (activity,) = await activities(harness)
    assert activity.deadline.replace(tzinfo=UTC) == datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
    await ivan.press("Перенести", card)
    assert texts(await ivan.send("вчера")) == [
        "Эта дата уже прошла: пн, 23 нояб. 2026\u202fг., 09:00. Отправьте более позднюю, "
        "например <code>завтра в 10</code> или <code>в пятницу в 15</code>."
    ]
    await ivan.send("/cancel")
    question = await ivan.press("Удалить", card)
    assert texts(question) == [
        "Удалить дело «позвонить Петрову»? Его напоминания тоже будут удалены."
    ]
    replies = await ivan.press("Да, удалить", question[-1])
    assert [c.text for c in replies if c.method == "editMessageText"] == [
        "Удалено: позвонить Петрову"
    ]
    assert await activities(harness) == []


async def test_changes_need_edit_rights_on_every_bound_element(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna", department="Sprzedaż")
    boss = await harness.member(Role.ADMIN, "Szef")
    boris = await harness.member(Role.REP, "Boris", department="Serwis")
    await anna.send("/deal Jan Kowalski wdrożenie")
    card = (await anna.send("/todo D1 jutro 10 spotkanie"))[0]
    denied = "Nie masz uprawnień, aby to zrobić."
    missing = "Nie znaleziono. Być może zostało w międzyczasie usunięte."
    for data in ("ac:edit:1", "ac:move:1", "ac:del:1", "ac:delok:1", "ac:open:1"):
        replies = await boris.press_data(data)  # another department's rep, a forged button
        assert replies[0].params["text"] == missing, data
        assert (await boris.press_data(data.replace(":1", ":99")))[0].params["text"] == missing
    await boss.send("/C1")
    await boss.press("Odpowiedzialny")
    await boss.press("Boris")  # the contact is Boris's now; the deal stays Anna's
    for label in ("Edytuj", "Przełóż", "Usuń"):
        replies = await anna.press(label, card)
        assert replies[0].params["text"] == denied, label
    assert (await anna.press_data("ac:delok:1"))[0].params["text"] == denied
    assert [a.subject for a in await activities(harness)] == ["spotkanie"]


async def test_open_on_a_reminder_shows_the_activity_polish(
    harness: Harness, clock: FakeClock
) -> None:
    anna = await harness.member(Role.REP, "Anna")
    await anna.send("/deal Jan Kowalski wdrożenie")
    await anna.send("/todo D1 jutro 12 zadzwonić do Jana")
    clock.set(datetime(2026, 11, 25, 10, 45, tzinfo=UTC))  # 11:45 in Warsaw
    start = len(harness.tg.calls)
    assert await harness.app.reminder_engine().tick() == 1
    (reminder,) = sent(harness.tg.calls[start:])
    assert reminder.text == (
        "⏰ Przypomnienie: zadzwonić do Jana\nTermin: śr., 25 lis 2026, 12:00\nDotyczy: /D1"
    )
    anna.inbox.append(reminder)
    (view,) = sent(await anna.press("Otwórz"))
    assert view.text == (
        "📌 Działanie: zadzwonić do Jana\n"
        "Termin: śr., 25 lis 2026, 12:00 (Warszawa)\n"
        "Dotyczy: /D1\n"
        "Klient: /C1"
    )
    assert labels(view) == ["✅ Zrobione", "✏️ Edytuj", "🕒 Przełóż", "🗑 Usuń"]
    # From the opened activity it can be moved: the reminders follow the new deadline.
    await anna.press("Przełóż", view)
    await anna.send("jutro 9")
    assert await pending_reminders(harness, 1) == [
        datetime(2026, 11, 26, 7, 45, tzinfo=UTC),
        datetime(2026, 11, 26, 8, 0, tzinfo=UTC),
    ]
