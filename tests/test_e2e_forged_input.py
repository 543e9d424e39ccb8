"""Forged buttons and odd digits, end to end on SQLite and PostgreSQL, in Polish and Russian:
a number no database column holds never reaches SQL, a digit that is not 0-9 is no number;
the user gets a localized answer and nothing is logged as a failure."""

from __future__ import annotations

import logging

import pytest

from crm.enums import Role
from tests.harness import Harness, texts

STALE = {
    "pl": "Ten przycisk już nie działa. Otwórz kartę ponownie.",
    "ru": "Эта кнопка больше не работает. Откройте карточку заново.",
}
INVALID = {"pl": "Ta wartość jest tu niepoprawna: {}", "ru": "Это значение здесь недопустимо: {}"}
NOT_FOUND = {
    "pl": "Nie znaleziono. Być może zostało w międzyczasie usunięte.",
    "ru": "Не найдено. Возможно, это уже удалили.",
}

# Numbers beyond what an id column holds (INTEGER: int32 on PostgreSQL, int64 on SQLite),
# zero and negatives, and digits that are not ASCII (superscript, Arabic-Indic, fullwidth).
HUGE = ["2147483648", "9223372036854775807", "9223372036854775808", "18446744073709551616",
        "9" * 40, "0", "-1", "-9223372036854775809"]  # fmt: skip
ODD_DIGITS = ["²", "٣", "１", "߁", "𝟗", "¹²", "١٢"]
# Every button with a number in it, the number forged in each field in turn: ids (where 0
# and negatives are forged too), then pages, bit sets and list indexes (where 0 is real).
IDS = [
    "el:show:D:{}:0", "el:stage:D:{}:0", "el:note:C:{}:0", "el:assign:D:{}:0",
    "el:pipe:D:{}:0", "el:src:L:{}:0", "sg:D:{}:1", "sg:D:1:{}", "as:D:{}:1", "as:D:1:{}",
    "cv:{}:5:0", "md:1:{}:1", "ac:done:{}", "ac:s15:{}", "ac:open:{}", "pk:pipe:D:{}:1",
    "pk:src:D:1:{}",
]  # fmt: skip
SMALL = ["el:tl:D:1:{}", "ls:deals:{}", "cv:1:{}:1", "md:{}:1:0", "tz:{}"]
FORGED = [t.format(n) for t in IDS for n in HUGE + ODD_DIGITS] + [
    t.format(n) for t in SMALL for n in HUGE + ODD_DIGITS if n not in ("0", "-1")
]


@pytest.fixture
def failures(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING)
    return caplog


def assert_nothing_failed(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [f"{r.name}: {r.getMessage()}" for r in bad]


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_forged_callback_numbers_get_the_stale_button_alert(
    harness: Harness, failures: pytest.LogCaptureFixture, lang: str
) -> None:
    admin = await harness.member(Role.ADMIN, "Ala", language_code=lang)
    await admin.send("/deal oferta 100 zł")  # D1 exists: a forged field beside it is real
    for data in FORGED:
        calls = await admin.press_data(data)
        answers = [c for c in calls if c.method == "answerCallbackQuery"]
        assert [a.params.get("text") for a in answers] == [STALE[lang]], (data, calls)
        assert answers[0].params.get("show_alert") is True, data
        assert not [c for c in calls if c.method == "sendMessage"], (data, texts(calls))
    assert_nothing_failed(failures)
    assert "oferta" in texts(await admin.send("/D1"))[0]  # the deal is untouched


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_odd_digits_in_reminders_get_a_hint(
    harness: Harness, failures: pytest.LogCaptureFixture, lang: str
) -> None:
    anna = await harness.member(Role.REP, "Anna", language_code=lang)
    before = texts(await anna.send("/reminders"))
    for value in [*ODD_DIGITS, "15,²", "٣٠,0", "15, ١٥", "+15", "-5", "1_5", " 15 ,  ２"]:
        assert texts(await anna.send(f"/reminders {value}")) == [
            INVALID[lang].format(value.strip())
        ], value
    assert texts(await anna.send("/reminders")) == before  # nothing was changed
    assert_nothing_failed(failures)


async def test_odd_digits_in_admin_ids_get_a_hint(
    harness: Harness, failures: pytest.LogCaptureFixture
) -> None:
    """`/stage_delete ²`: an id must be ASCII digits, so odd digits (and numbers bigger than an
    id column holds) are read as a stage's name, which no stage has: one localized answer."""
    admin = await harness.member(Role.ADMIN, "Ala", language_code="pl")
    for value in [*ODD_DIGITS, *HUGE[:5]]:
        replies = texts(await admin.send(f"/stage_delete {value}"))
        assert len(replies) == 1 and replies[0].startswith("Żaden etap nie nazywa się „"), (
            value,
            replies,
        )
    replies = texts(await admin.send("/stage_delete 2147483647"))
    assert len(replies) == 1 and "2147483647" in replies[0], replies
    assert_nothing_failed(failures)


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_codes_with_huge_or_odd_numbers_are_not_found(
    harness: Harness, failures: pytest.LogCaptureFixture, lang: str
) -> None:
    anna = await harness.member(Role.REP, "Anna", language_code=lang)
    for number in HUGE[:5] + ODD_DIGITS:
        for command in (f"/show D{number}", f"/todo D{number} jutro 10 telefon"):
            replies = texts(await anna.send(command))
            assert replies, command
            assert "Traceback" not in replies[0]
    assert_nothing_failed(failures)
