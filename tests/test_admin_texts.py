"""Texts an admin meets: plurals right for every count (21 in Russian), gender-neutral words."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.i18n import create_i18n

LOCALES = Path(__file__).resolve().parent.parent / "locales"
SWITCH = (
    "Switching to Simple mode converts {n} active lead into a deal.",
    "Switching to Simple mode converts {n} active leads into deals.",
)


@pytest.mark.parametrize("n", [1, 2, 5, 11, 21, 22, 25, 101, 111])
def test_switch_to_simple_reads_right_for_every_count_in_russian(n: int) -> None:
    i18n = create_i18n(LOCALES, "ru")
    text = i18n.gettext(*SWITCH, n=n, locale="ru").format(n=n)
    # 21 leads make 21 deals: no "… 21 активный лид в сделку" (one deal), for any count.
    assert text == (
        f"Переход в простой режим превратит каждый активный лид в сделку. Активных лидов: {n}."
    )


def test_responsible_is_said_without_assuming_a_gender() -> None:
    i18n = create_i18n(LOCALES, "pl")
    for locale, gendered in (("pl", "odpowiedzialny"), ("ru", "ответственный")):
        for msgid in ("You are now responsible for the {what} {code} {title}.",
                      "Who will be responsible for {code}?"):  # fmt: skip
            assert gendered not in i18n.gettext(msgid, locale=locale)


@pytest.mark.parametrize("locale", ["pl", "ru", "en"])
@pytest.mark.parametrize(
    "field",
    ["name", "text", "subject", "amount", "reminders", "deadline", "timezone", "locale", "other"],
)
@pytest.mark.parametrize("empty", ["", "   ", "\n"])
def test_an_empty_invalid_value_is_never_quoted(locale: str, field: str, empty: str) -> None:
    """ "niepoprawna: " with nothing after it tells nothing: say what was expected."""
    from bot.replies import describe_error
    from crm.errors import InvalidValue

    i18n = create_i18n(LOCALES, "pl")
    with i18n.context(), i18n.use_locale(locale):
        text = describe_error(InvalidValue(field, empty))
        quoted = describe_error(InvalidValue(field, "abc"))
    assert text.strip() and not text.rstrip().endswith(":")
    for invalid in ("niepoprawna", "недопустимо", "not valid"):
        assert invalid not in text
    assert quoted.endswith(": abc")  # a real value is still quoted
    if field == "other":
        assert (
            text
            == {
                "pl": "Brakuje tu wartości.",
                "ru": "Здесь не хватает значения.",
                "en": "A value is missing here.",
            }[locale]
        )
