"""The relay's Telegram side: what the bot says to clients in private (in their language), the
`/triage relay` lines, and how the relay courier sends a row (copyMessage, or an edit).

Answers and clients' messages are copied with copyMessage: text, photos, documents and voice
alike, with their formatting, and without a "forwarded from" line. Edits are plain text
(editMessageText, or editMessageCaption for a copied photo or document).
"""

from __future__ import annotations

import logging

from aiogram import html
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import CopyMessage, EditMessageCaption, EditMessageText, SendMessage
from aiogram.types import ReplyParameters
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.sender import Blocked, RetryLater, Sender, SendFailed
from bot.triage_sla import auto_reply_text
from crm.locales import match_locale
from crm.relay import RelayView
from crm.triage import MessageKind
from scheduler.relay import Send, Sent
from storage.models import TriageQueue

log = logging.getLogger(__name__)

NO_TEXT = "no text in the message to edit"


# --- what the bot itself tells a client ----------------------------------------------------------
def client_notice(kind: MessageKind, request_id: int) -> str:
    if kind is MessageKind.ACKNOWLEDGED:
        return _("Thank you! We have your message and will answer here soon.")
    if kind is MessageKind.NOTICE_CLOSED:
        return _(
            "Your request #{id} is closed. If you need anything else, just write here."
        ).format(id=request_id)
    if kind is MessageKind.AUTO_REPLY:
        return _("We are away now and will answer here as soon as we are back.")
    raise ValueError(kind)


def client_greeting() -> str:
    """A stranger's /start or command while private messages are taken: nothing of the CRM."""
    return _("Hello! Write your question here and we will answer you in this chat.")


# --- the group's side ----------------------------------------------------------------------------
def relay_line(queue: TriageQueue) -> str:
    if queue.relay_private:
        return _(
            "Private messages: whoever is not a CRM user and writes to the bot in private "
            "becomes a request here. Reply to the card to answer them."
        )
    return _("Private messages to the bot are not taken into this queue.")


def relay_moved(others: list[TriageQueue]) -> str:
    titles = ", ".join(html.quote(q.title or str(q.chat_id)) for q in others)
    return _("They no longer go to: {groups}.").format(groups=titles)


def relay_usage() -> str:
    return _(
        "<code>/triage relay on|off</code>: take private messages of people who are not CRM "
        "users into this queue (one queue at a time)."
    )


def answer_blocked() -> str:
    return _("⛔ The client has blocked the bot: this answer will not reach them.")


def card_blocked_line() -> str:
    return _("⛔ The client has blocked the bot: answers do not reach them.")


# --- the courier's hands -------------------------------------------------------------------------
def make_send(sender: Sender, i18n: I18n) -> Send:
    async def send(view: RelayView) -> Sent:
        row, chat = view.row, view.target_chat
        try:
            if view.kind in (
                MessageKind.ACKNOWLEDGED,
                MessageKind.NOTICE_CLOSED,
                MessageKind.AUTO_REPLY,
            ):
                locale = match_locale(view.locale) or i18n.default_locale
                with i18n.context(), i18n.use_locale(locale):
                    if view.kind is MessageKind.AUTO_REPLY and view.schedule is not None:
                        text = auto_reply_text(view.schedule, locale)
                    else:
                        text = client_notice(view.kind, view.request.id)
                sent = await sender.call(chat, SendMessage(chat_id=chat, text=text))
                return Sent(copy_id=sent.message_id)
            if view.edit_message_id is not None:
                await edit(sender, chat, view.edit_message_id, row.text)
                return Sent()
            reply = None
            if view.reply_to is not None:
                reply = ReplyParameters(message_id=view.reply_to, allow_sending_without_reply=True)
            copied = await sender.call(
                chat,
                CopyMessage(
                    chat_id=chat,
                    from_chat_id=row.chat_id,
                    message_id=row.message_id,
                    message_thread_id=view.thread_id,
                    reply_parameters=reply,
                ),
            )
            return Sent(copy_id=copied.message_id)
        except Blocked:
            return Sent(sent=False, blocked=True)
        except RetryLater as exc:
            return Sent(sent=False, retry_after=exc.retry_after)
        except (SendFailed, TelegramBadRequest) as exc:
            reason = str(exc)
            if "gave up after" in reason:  # the network or Telegram's 5xx: later
                return Sent(sent=False, retry_after=5.0)
            # A message gone (deleted by the client, or too old to edit), refused content:
            # the same request would fail again.
            log.warning("relay row %s refused: %s", row.id, reason[:200])
            return Sent(sent=False, refused=True)

    return send


async def edit(sender: Sender, chat: int, message_id: int, text: str) -> None:
    """Edit a copy to the new text: a text message's text, or a media message's caption."""
    if not text.strip():
        return  # a caption removed: Telegram refuses an empty text, the copy keeps its own
    try:
        await sender.call(
            chat,
            EditMessageText(chat_id=chat, message_id=message_id, text=text, parse_mode=None),
        )
    except SendFailed as exc:
        if NO_TEXT not in str(exc):
            raise
        await sender.call(
            chat,
            EditMessageCaption(
                chat_id=chat, message_id=message_id, caption=text[:1024], parse_mode=None
            ),
        )
