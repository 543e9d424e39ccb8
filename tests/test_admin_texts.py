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
