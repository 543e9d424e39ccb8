from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

_FAREWELLS: dict[str, Callable[[dict[str, Any]], str]] = {}  # FSM state → what /cancel says


def cancelled_with(state: State, farewell: Callable[[dict[str, Any]], str]) -> None:
    """Declare what /cancel says when it ends `state` (from the dialog's data), instead of
    the bare "Cancelled.": a dialog that kept something says what."""
    assert state.state is not None
    _FAREWELLS[state.state] = farewell


async def cancel(message: Message, state: FSMContext) -> None:
    current = await state.get_state()
    if current is None:
        await message.answer(_("Nothing to cancel."))
        return
    farewell = _FAREWELLS.get(current)
    text = farewell(await state.get_data()) if farewell is not None else _("Cancelled.")
    await state.clear()
    await message.answer(text)


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(cancel, Command("cancel"))
    return router
