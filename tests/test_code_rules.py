"""Rules about the code itself: how CI runs the checks, and `type: ignore` only with a reason.

mypy itself runs as its own step of the README's test command (before pytest), not from here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "crm", "storage", "scheduler")

_IGNORE = re.compile(r"#\s*type:\s*ignore(?P<codes>\[[^\]]*\])?(?P<rest>.*)$")


def _test_command_in_readme() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.DOTALL)
    commands = [line for block in blocks for line in block.splitlines() if "pytest" in line]
    assert len(commands) == 1, commands
    return commands[0].strip()


def test_ci_runs_exactly_the_readme_test_command_with_mypy_before_pytest() -> None:
    command = _test_command_in_readme()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in [line.strip() for line in ci]
    assert "python -m mypy && .venv/bin/python -m pytest" in command


def test_mypy_is_strict_over_every_package_and_installed_by_the_test_extra() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mypy = config["tool"]["mypy"]
    assert mypy["strict"] is True
    assert sorted(mypy["files"]) == sorted(PACKAGES)
    assert "ignore-without-code" in mypy["enable_error_code"]
    for override in mypy.get("overrides", []):
        # Overrides only tolerate untyped third-party imports; none relaxes a check of ours.
        assert set(override) == {"module", "ignore_missing_imports"}, override
        assert not any(m.split(".")[0] in PACKAGES for m in override["module"]), override
    extras = " ".join(config["project"]["optional-dependencies"]["test"])
    assert "mypy" in extras


def _ignores_without_reason(text: str) -> list[tuple[int, str]]:
    lines = text.splitlines()
    found = []
    for number, line in enumerate(lines, 1):
        match = _IGNORE.search(line)
        if match is None:
            continue
        reason_here = re.match(r"\s+#\s*\S", match["rest"]) is not None
        above = lines[number - 2].strip() if number >= 2 else ""
        if match["codes"] is None or not (reason_here or above.startswith("#")):
            found.append((number, line.strip()))
    return found


def test_every_type_ignore_names_its_code_and_gives_a_reason() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for number, line in _ignores_without_reason(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_reason_rule_itself() -> None:
    text = (
        "a = 1  # type: ignore\n"
        "b = 1  # type: ignore[assignment]\n"
        "c = 1  # type: ignore[assignment]  # aiogram types it as str\n"
        "# the stub forgets the default\n"
        "d = 1  # type: ignore[call-arg]\n"
        "e = 1  # type: ignore[misc]  #\n"
    )
    assert [n for n, _ in _ignores_without_reason(text)] == [1, 2, 6]


def test_every_timeline_kind_has_a_line() -> None:
    """A kind recorded by the domain but unknown to the card would show as a raw word."""
    from bot.cards import _TIMELINE
    from crm.enums import TimelineKind

    assert set(_TIMELINE) == set(TimelineKind)


def test_callback_prefixes_are_unique() -> None:
    """Two callback types with one prefix would send one's presses to the other's handler."""
    from aiogram.filters.callback_data import CallbackData

    import bot.callbacks as callbacks

    kinds = [
        value
        for value in vars(callbacks).values()
        if isinstance(value, type)
        and issubclass(value, CallbackData)
        and value is not CallbackData
    ]
    prefixes = [kind.__prefix__ for kind in kinds]
    assert len(prefixes) == len(set(prefixes)), sorted(prefixes)
