"""Delivering a due reminder: render it in the recipient's language, send through the Sender."""

from __future__ import annotations

from aiogram.utils.i18n import I18n

from bot.activities import reminder_message
from bot.sender import Blocked, Sender, SendFailed
from crm.context import Runtime
from crm.reminders import DueReminder, Outcome
from scheduler.reminders import Deliver


def make_deliver(sender: Sender, i18n: I18n, runtime: Runtime) -> Deliver:
    async def deliver(due: DueReminder) -> tuple[Outcome, str]:
        user = due.user
        if user.telegram_id is None:
            return Outcome.SKIPPED, ""
        timezone = runtime.config.timezone_of(user)
        with i18n.context(), i18n.use_locale(user.locale or i18n.default_locale):
            text, markup = reminder_message(due.activity, timezone, runtime.clock.now())
        try:
            await sender.send_message(user.telegram_id, text, reply_markup=markup)
        except Blocked:
            return Outcome.UNREACHABLE, "blocked"
        except SendFailed as exc:
            # Retries inside the sender are spent; the engine tries again later, then gives up.
            return Outcome.RETRY, exc.reason[:200]
        return Outcome.SENT, ""

    return deliver
