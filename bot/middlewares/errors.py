from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import TelegramObject, Update
from aiogram.utils.i18n import gettext as _

from bot.middlewares.database import is_concurrent_delivery, outcome_of
from bot.middlewares.outages import outage_cause
from bot.replies import describe_error, notify_event
from crm.codes import ElementRef
from crm.effects import Effect
from crm.enums import EntityType
from crm.errors import CrmError

log = logging.getLogger(__name__)


class ErrorReplyMiddleware(BaseMiddleware):
    """Turn a domain error into a localized reply, and anything else into an apology.

    Nothing a person sends may crash the bot or leave them without an answer; the traceback
    goes to the log with the update id (never the token or the message text). Once the update's
    effect is committed the answer says what was done, whatever failed after it; an unreachable
    database or Redis before the commit is left to the dispatcher (503, Telegram retries).
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        outcome = outcome_of(data, event)
        if outcome.repeated is not None:
            # Telegram delivered it again: the first answer may never have reached them.
            if isinstance(event, Update):
                await tell(data["bot"], event, describe_effects(outcome.repeated))
            return None
        try:
            return await handler(event, data)
        except CrmError as exc:
            if isinstance(event, Update):
                text = describe_effects(outcome.effects) if outcome.committed else None
                await tell(data["bot"], event, text or describe_error(exc))
        except Exception as exc:
            update_id = event.update_id if isinstance(event, Update) else None
            if is_concurrent_delivery(exc):
                log.info("update %s is being handled by another instance", update_id)
                return None
            if outcome.committed:
                log_after_commit(update_id, exc)
                if isinstance(event, Update):
                    await tell(data["bot"], event, describe_effects(outcome.effects))
                return None
            if outage_cause(exc) is not None:
                raise
            log.exception("update %s failed: %s", update_id, type(exc).__name__)
            if isinstance(event, Update):
                await tell(data["bot"], event, describe_error(exc))
        return None


def log_after_commit(update_id: int | None, exc: BaseException) -> None:
    if isinstance(exc, TelegramAPIError) or outage_cause(exc) is not None:
        log.warning(
            "update %s: committed, but its reply failed: %s: %s",
            update_id,
            type(exc).__name__,
            " ".join(str(exc).split())[:200],
        )
    else:
        log.exception("update %s: committed, then failed: %s", update_id, type(exc).__name__)


async def tell(bot: Bot, update: Update, text: str) -> None:
    """The error reply; its own failure is logged, never raised (the webhook still answers)."""
    try:
        await notify_event(bot, update, text)
    except Exception as exc:
        log.warning(
            "could not deliver the error reply for update %s: %s", update.update_id, type(exc)
        )


_ACTIVITIES = frozenset({"activity", "activity_done", "activity_rescheduled", "activity_snoozed"})


def describe_effects(effects: Sequence[Effect]) -> str:
    """What a committed update did, for when its own reply could not be shown."""
    # A deal before the contact made with it: the element the person asked for comes first.
    created = sorted(
        _refs(effects, lambda kind: kind == "created"),
        key=lambda ref: _CREATED_ORDER.index(ref.entity),
    )
    # Everything else the timeline records of an element: stage, note, responsible, source, …
    changed = [
        ref
        for ref in _refs(
            effects, lambda kind: kind != "created" and not kind.startswith("activity")
        )
        if ref not in created
    ]
    activities = _refs(effects, _ACTIVITIES.__contains__)
    lines = []
    if created:
        text = _("Created {codes}; the card could not be shown.")
        lines.append(text.format(codes=_codes(created)))
    if changed:
        text = _("Saved the change to {codes}; the card could not be shown.")
        lines.append(text.format(codes=_codes(changed)))
    if activities:
        text = _("Saved the activity of {codes}; the reply could not be shown.")
        lines.append(text.format(codes=_codes(activities)))
    if not lines and any(e.kind == "activity_deleted" for e in effects):
        lines.append(_("The activity was deleted; the reply could not be shown."))
    return "\n".join(lines) or _("Your change was saved, but the reply could not be shown.")


_CREATED_ORDER = [EntityType.DEAL, EntityType.LEAD, EntityType.COMPANY, EntityType.CONTACT]


def _refs(effects: Sequence[Effect], kind_matches: Callable[[str], bool]) -> list[ElementRef]:
    refs: list[ElementRef] = []
    for effect in effects:
        if kind_matches(effect.kind) and effect.ref is not None and effect.ref not in refs:
            refs.append(effect.ref)
    return refs


def _codes(refs: list[ElementRef]) -> str:
    return ", ".join(f"/{ref.code}" for ref in refs)
