"""One router per feature, built fresh by each module's `setup()` so that several dispatchers
(instances in one process, tests) never share a router."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    from handlers import (
        activities,
        assign,
        cancel,
        configure,
        create,
        elements,
        fallback,
        help,
        lists,
        mode,
        reports,
        settings,
        stages,
        start,
        whoami,
    )

    # cancel first: it must win over any dialog state.
    features = (
        cancel,
        start,
        help,
        settings,
        whoami,
        create,
        elements,
        stages,
        assign,
        lists,
        mode,
        activities,
        reports,
        configure,
        fallback,  # last: whatever nobody else took
    )
    return [m.setup() for m in features]
