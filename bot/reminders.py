"""Delivering a due reminder: render it in the recipient's language, send through the Sender."""

from __future__ import annotations

from aiogram.utils.i18n import I18n

from bot.activities import reminder_message
from bot.sender import Blocked, NotSent, RetryLater, Sender, SendFailed
from crm.context import Runtime
from crm.reminders import Delivery, DueReminder, Outcome
from scheduler.reminders import Deliver, Gate


def make_deliver(
    sender: Sender, i18n: I18n, runtime: Runtime, *, max_wait: float | None = None
) -> Deliver:
    """`max_wait`: a 429 asking to wait longer hands the reminder back (`Outcome.DEFER`)."""

    async def deliver(due: DueReminder, gate: Gate) -> Delivery:
        user = due.user
        if user.telegram_id is None:
            return Delivery(Outcome.HELD, "unreachable")
        timezone = user.timezone or runtime.config.default_timezone
        with i18n.context(), i18n.use_locale(user.locale or i18n.default_locale):
            text, markup = reminder_message(due.activity, timezone, runtime.clock.now())
        try:
            await sender.send_message(
                user.telegram_id, text, reply_markup=markup, gate=gate, max_wait=max_wait
            )
        except NotSent:
            return Delivery(Outcome.LOST)
        except RetryLater as exc:
            return Delivery(Outcome.DEFER, exc.reason[:200], retry_after=exc.retry_after)
        except Blocked:
            return Delivery(Outcome.HELD, "blocked")
        except SendFailed as exc:
            # Retries inside the sender are spent; the engine tries again later, then gives up.
            return Delivery(Outcome.RETRY, exc.reason[:200])
        return Delivery(Outcome.SENT, at=runtime.clock.now())

    return deliver
