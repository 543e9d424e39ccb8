"""Clients writing to the bot in private, and the edits of either side (see `crm.relay`).

Thin: read the update, call `crm.relay`, then let the couriers show the card and send what
the relay queued (`deliver` right after the commit; their loops catch up on the rest).
A rep's answer is taken in `handlers/triage.py` (a reply under a card: `relay_answer`).
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message

from bot.middlewares.access import unbound_hint
from crm.context import Crm
from crm.triage import Origin
from handlers.triage import GROUPS, incoming_of
from scheduler.relay import RelayCourier
from scheduler.triage import TriageCourier
from storage.models import User

PRIVATE = F.chat.type == "private"


def stranger(_event: object, crm_user: User | None = None) -> bool:
    return crm_user is None


def member(_event: object, crm_user: User | None = None) -> bool:
    return crm_user is not None


async def client_message(
    message: Message, crm: Crm, courier: TriageCourier, relay: RelayCourier
) -> None:
    """A stranger's private message: a request in the relay queue (the gate let it through
    only while one takes private messages; turned off meanwhile, they get the usual hint)."""
    relayed = await crm.relay.from_client(incoming_of(message, member=False, origin=Origin.BOT))
    if relayed is None:
        await message.answer(unbound_hint())
        return
    await courier.deliver(relayed.request.id)
    await relay.deliver(relayed.request.id)


async def client_edited(
    message: Message, crm: Crm, courier: TriageCourier, relay: RelayCourier
) -> None:
    request_id = await crm.relay.client_edited(
        message.chat.id, message.message_id, message.text or message.caption or ""
    )
    if request_id is not None:
        await courier.deliver(request_id)
        await relay.deliver(request_id)


async def answer_edited(message: Message, crm: Crm, relay: RelayCourier) -> None:
    request_id = await crm.relay.answer_edited(
        message.chat.id, message.message_id, message.text or message.caption or ""
    )
    if request_id is not None:
        await relay.deliver(request_id)


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(client_message, PRIVATE, stranger, ~F.text.startswith("/"))
    router.edited_message.register(client_edited, PRIVATE, stranger)
    router.edited_message.register(answer_edited, GROUPS, member)
    return router
