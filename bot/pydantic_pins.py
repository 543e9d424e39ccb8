"""An aiohttp session that keeps aiogram's parametrized `Response[T]` models alive.

aiogram builds `Response[method.__returning__]` for every API answer, and pydantic caches
parametrized generics only in a WeakValueDictionary. Nothing else holds those classes, so a
garbage collection drops them and the next answer rebuilds one — about 9 ms of schema work
each time (a profile of one-line creation showed it taking a third of the CPU). Holding a
strong reference to each one the first time it is used makes every later lookup a cache hit.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import Response
from aiogram.methods.base import TelegramMethod, TelegramType

from bot.lazy_aiogram import prepare

_PINNED: dict[Any, type] = {}


def pin_response_model(returning: Any) -> None:
    if returning not in _PINNED:
        _PINNED[returning] = prepare(Response[returning])


class PinningAiohttpSession(AiohttpSession):
    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        pin_response_model(method.__returning__)
        return super().check_response(bot, method, status_code, content)
