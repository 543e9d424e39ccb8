"""A button press ends a typed dialog it does not answer.

A dialog waits for text in an FSM state (the reason a deal was lost, a note, a deadline). A
press on any other button — Won after Lost, another deal's stage, any card button — starts
something else, so the waiting dialog is ended first: the next text must not complete a
question the person has moved away from (pressing Lost, then Won, then typing turned the won
deal lost). Only the buttons a dialog itself offers (`answered_by`) leave it open.

One place for every callback handler: registered as the callback-query outer middleware.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, TelegramObject

_ANSWERS: dict[str, set[str]] = {}  # FSM state → callback-data prefixes that answer it


def answered_by(state: State, *buttons: type[CallbackData]) -> None:
    """Declare that presses of these buttons answer `state` (its dialog stays open)."""
    assert state.state is not None
    _ANSWERS.setdefault(state.state, set()).update(b.__prefix__ for b in buttons)


def answers(state: str, data: str | None) -> bool:
    prefix = (data or "").split(":", 1)[0]
    return prefix in _ANSWERS.get(state, ())


class StaleDialogMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        context: FSMContext | None = data.get("state")
        if isinstance(event, CallbackQuery) and context is not None:
            current = await context.get_state()
            if current is not None and not answers(current, event.data):
                # The state only: data kept aside (a duplicate warning's input) survives.
                await context.set_state(None)
        return await handler(event, data)
