"""The translations: complete, not fuzzy, placeholders intact, in step with the source code."""

from __future__ import annotations

import re
import shutil
from gettext import c2py
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import create_i18n, ensure_compiled

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
REQUIRED = ["pl", "ru"]
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def load(locale: str) -> Catalog:
    with (LOCALES / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=locale)


def source_msgids() -> set[str]:
    found: set[str] = set()
    for package in ("bot", "handlers", "crm", "scheduler"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / package, method_map=[("**.py", "python")], keywords=_babel_keywords()
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def _babel_keywords() -> dict[str, object]:
    # The first argument of `_("one")` and of `_("one", "many", n)` alike is the msgid.
    return {"_": None, "__": None}


@pytest.mark.parametrize("locale", REQUIRED)
def test_every_message_is_translated_and_not_fuzzy(locale: str) -> None:
    catalog = load(locale)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(message.id)
    assert problems == [], f"{locale}: untranslated or fuzzy: {problems}"


@pytest.mark.parametrize("locale", REQUIRED)
def test_placeholders_match_the_source(locale: str) -> None:
    catalog = load(locale)
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        expected = set(PLACEHOLDER.findall(ids[-1]))
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == expected, (locale, message.id, string)
        html_tags = sorted(re.findall(r"</?\w+>", ids[0]))
        for string in strings:
            assert sorted(re.findall(r"</?\w+>", string)) == html_tags, (locale, message.id)


@pytest.mark.parametrize("locale", [*REQUIRED, "en"])
def test_catalogs_cover_every_message_in_the_code(locale: str) -> None:
    in_catalog = {m.id if isinstance(m.id, str) else m.id[0] for m in load(locale) if m.id}
    missing = source_msgids() - in_catalog
    assert not missing, f"run `make texts-update` and translate: {sorted(missing)}"


def test_plural_forms_of_polish_and_russian_differ_at_21() -> None:
    pl, ru = load("pl"), load("ru")
    assert pl.num_plurals == 3 and ru.num_plurals == 3
    pl_form, ru_form = c2py(pl.plural_expr), c2py(ru.plural_expr)
    # Russian: 21 takes the "one" form (index 0); Polish: the "many" form (index 2).
    assert ru_form(21) == 0
    assert pl_form(21) == 2
    assert ru_form(5) == pl_form(5) == 2
    assert ru_form(2) == pl_form(2) == 1
    assert ru_form(1) == pl_form(1) == 0


def test_catalogs_compile_on_a_fresh_checkout(tmp_path: Path) -> None:
    copy = tmp_path / "locales"
    shutil.copytree(LOCALES, copy, ignore=shutil.ignore_patterns("*.mo"))
    written = ensure_compiled(copy)
    assert {p.parts[-3] for p in written} == {"pl", "ru", "en"}
    assert ensure_compiled(copy) == []  # up to date: nothing rewritten
    i18n = create_i18n(copy, "pl")
    assert i18n.gettext("Cancelled.", locale="ru") == "Отменено."
    assert i18n.gettext("Cancelled.", locale="pl") == "Anulowano."
    assert i18n.gettext("Cancelled.", locale="en") == "Cancelled."
    assert i18n.gettext("Cancelled.", locale="de") == "Cancelled."  # unknown: the source text
