"""Messages to a CRM user outside the update that caused them, in that user's language."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.sender import Blocked, Sender, SendFailed
from crm.context import Crm
from storage.models import User

log = logging.getLogger(__name__)


async def notify_user(
    sender: Sender,
    i18n: I18n,
    crm: Crm,
    user: User,
    render: Callable[[], tuple[str, InlineKeyboardMarkup | None]],
) -> bool:
    """Send `render()` (called in the user's locale) to the user's private chat.

    A user who blocked the bot (403) is marked unreachable rather than retried.
    """
    if user.telegram_id is None or not user.is_reachable:
        return False
    with i18n.use_locale(user.locale or i18n.default_locale):
        text, markup = render()
    try:
        await sender.send_message(user.telegram_id, text, reply_markup=markup)
    except Blocked:
        await crm.users.mark_unreachable(user)
        return False
    except SendFailed as exc:
        log.warning("could not notify user %s: %s", user.id, exc.reason)
        return False
    return True
