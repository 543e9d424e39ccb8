"""Request cards in a triage group: what they say, their buttons, and how the courier posts them.

A card is rendered from the database each time it is shown (in the group's language), so an
edit always shows the request's latest state, whoever changed it and on whichever instance.
"""

from __future__ import annotations

import logging

from aiogram import html
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import EditMessageText, SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import TriageCb
from bot.cards import short
from bot.relay import card_blocked_line
from bot.sender import Blocked, RetryLater, Sender, SendFailed
from crm.inbound import FORM, SIMILAR
from crm.triage import CardView, Origin, RequestStatus
from scheduler.triage import Post, Posted
from storage.models import TriageRequest

log = logging.getLogger(__name__)

CARD_TEXT = 1500  # of the client's words on a card; the rest is in the lead's comment


class Act:
    """Button actions on a card (the `action` of `TriageCb`)."""

    TAKE = "take"
    ASSIGN = "assign"  # opens the member list
    ASSIGN_TO = "to"  # a member chosen (`user`)
    LEAD = "lead"
    LEAD_ANYWAY = "leadgo"  # past the duplicate warning
    LEAD_FOR = "leadfor"  # a deal/lead for the duplicate contact (`user` holds its id)
    LEAD_FOR_CO = "leadco"  # … for the duplicate company
    JUNK = "junk"
    JUNK_REASON = "jr"  # a reason chosen (`user`: its index; past the list: type one)
    CLOSE = "close"
    BACK = "back"


def origin_name(origin: str) -> str:
    return {
        Origin.GROUP.value: _("group"),
        Origin.BOT.value: _("private chat with the bot"),
        Origin.WEB.value: _("web form"),
    }.get(origin, origin)


def status_line(request: TriageRequest, names: dict[int, str], code: str | None) -> str:
    status = RequestStatus(request.status)

    def who(user_id: int | None) -> str:
        return html.quote(names.get(user_id or 0, "?"))

    if status is RequestStatus.NEW:
        if code and request.offered_to_id:
            return _("🆕 New — {code} made, offered to {name}").format(
                code=f"/{code}", name=who(request.offered_to_id)
            )
        if code:
            return _("🆕 New — {code} made, press Take to handle it").format(code=f"/{code}")
        if request.offered_to_id:
            return _("🆕 New — offered to {name}").format(name=who(request.offered_to_id))
        return _("🆕 New — press Take to handle it")
    if status is RequestStatus.TAKEN:
        if request.acted_by_id and request.acted_by_id != request.assignee_id:
            return _("👤 Assigned to {name} by {by}").format(
                name=who(request.assignee_id), by=who(request.acted_by_id)
            )
        return _("👤 Taken by {name}").format(name=who(request.assignee_id))
    if status is RequestStatus.CONVERTED:
        return _("✅ {code} created by {name}").format(
            code=f"/{code}" if code else "", name=who(request.acted_by_id)
        )
    if status is RequestStatus.JUNK:
        return _("🗑 Junk ({reason}) — {name}").format(
            reason=html.quote(short(request.junk_reason or "", 200)), name=who(request.acted_by_id)
        )
    return _("☑️ Closed by {name}").format(name=who(request.acted_by_id))


def render_request(view: CardView) -> tuple[str, InlineKeyboardMarkup | None]:
    request = view.request
    extra = request.extra or {}
    origin = origin_name(request.origin)
    if extra.get(FORM):
        origin += " · " + html.quote(short(str(extra[FORM]), 60))
    lines = [_("<b>Request #{id}</b> · {origin}").format(id=request.id, origin=origin)]
    who = [html.quote(request.client_name)] if request.client_name else []
    if request.phone:
        who.append(html.quote(request.phone))
    if request.email:
        who.append(html.quote(request.email))
    if who:
        lines.append(_("From: {client}").format(client=" · ".join(who)))
    if request.forwarded_from and request.forwarded_from != request.client_name:
        lines.append(_("Forwarded from: {name}").format(name=html.quote(request.forwarded_from)))
    if request.previous_id:
        lines.append(_("↩️ Returning client (request #{id})").format(id=request.previous_id))
    if request.client_blocked:
        lines.append(card_blocked_line())
    if request.text:
        lines.append("")
        lines.append(html.quote(short(request.text, CARD_TEXT)))
    if request.messages > 1:
        count = request.messages
        lines.append(_("({count} message)", "({count} messages)", count).format(count=count))
    own = [(k, v) for k, v in extra.items() if not str(k).startswith("_")]
    if own:
        fields = ", ".join(
            f"{html.quote(str(k))}: {html.quote(short(str(v), 100))}" for k, v in own[:10]
        )
        lines.append(fields)
    similar = [str(code) for code in extra.get(SIMILAR) or []][:5]
    if similar:
        lines.append(
            _("⚠️ A similar client is already in the CRM: {codes}").format(
                codes=" ".join("/" + html.quote(code) for code in similar)
            )
        )
    lines.append("")
    lines.append(status_line(request, view.names, view.element_code))
    return "\n".join(lines), request_keyboard(request)


def request_keyboard(request: TriageRequest) -> InlineKeyboardMarkup | None:
    status = RequestStatus(request.status)

    def button(text: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=text, callback_data=TriageCb(action=action, id=request.id).pack()
        )

    made = request.element_id is not None  # a web form's request is a lead from the start
    if status is RequestStatus.NEW:
        rows = [
            [button(_("✋ Take"), Act.TAKE), button(_("👥 Assign…"), Act.ASSIGN)],
            [button(_("🗑 Junk"), Act.JUNK)]
            if made
            else [button(_("➕ Lead"), Act.LEAD), button(_("🗑 Junk"), Act.JUNK)],
        ]
    elif status is RequestStatus.TAKEN:
        rows = [
            [button(_("👥 Assign…"), Act.ASSIGN)]
            if made
            else [button(_("➕ Lead"), Act.LEAD), button(_("👥 Assign…"), Act.ASSIGN)],
            [button(_("🗑 Junk"), Act.JUNK), button(_("☑️ Close"), Act.CLOSE)],
        ]
    elif status is RequestStatus.CONVERTED:
        rows = [[button(_("☑️ Close"), Act.CLOSE)]]
    else:
        return None
    return InlineKeyboardMarkup(inline_keyboard=rows)


def members_keyboard(request_id: int, members: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                text=short(name, 40),
                callback_data=TriageCb(action=Act.ASSIGN_TO, id=request_id, user=user_id).pack(),
            )
        ]
        for user_id, name in members[:30]
    ]
    rows.append(
        [
            InlineKeyboardButton(
                text=_("« Back"), callback_data=TriageCb(action=Act.BACK, id=request_id).pack()
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def announcement(view: CardView) -> str:
    request = view.request
    if request.offered_to_id:
        return _("⏰ Request #{id} is still waiting. {name}, it is yours to take.").format(
            id=request.id, name=html.quote(view.names.get(request.offered_to_id, "?"))
        )
    return _("⏰ Request #{id} is still waiting: nobody has taken it.").format(id=request.id)


def make_post(sender: Sender, i18n: I18n) -> Post:
    """The courier's hands: render in the group's language, then edit the card (or post it,
    as a reply to the client's message when it was written in the group)."""

    async def post(view: CardView) -> Posted:
        queue, request = view.queue, view.request
        with i18n.context(), i18n.use_locale(view.locale or i18n.default_locale):
            text, markup = render_request(view)
            # A request taken since it fell due is not announced (the flag is cleared anyway).
            waiting = request.announce_pending and request.status == RequestStatus.NEW.value
            notice = announcement(view) if waiting else None
        try:
            message_id = request.card_message_id
            if message_id is None:
                reply = None
                if view.first_message is not None:
                    reply = ReplyParameters(
                        message_id=view.first_message.message_id,
                        allow_sending_without_reply=True,
                    )
                sent = await sender.call(
                    queue.chat_id,
                    SendMessage(
                        chat_id=queue.chat_id,
                        message_thread_id=queue.thread_id,
                        text=text,
                        reply_markup=markup,
                        reply_parameters=reply,
                    ),
                )
                message_id = sent.message_id
            elif request.card_shown < request.card_version:
                await sender.call(
                    queue.chat_id,
                    EditMessageText(
                        chat_id=queue.chat_id,
                        message_id=message_id,
                        text=text,
                        reply_markup=markup,
                    ),
                )
            if notice is not None:
                await sender.call(
                    queue.chat_id,
                    SendMessage(
                        chat_id=queue.chat_id,
                        message_thread_id=queue.thread_id,
                        text=notice,
                        reply_parameters=ReplyParameters(
                            message_id=message_id, allow_sending_without_reply=True
                        ),
                    ),
                )
        except RetryLater as exc:
            return Posted(shown=False, retry_after=exc.retry_after)
        except Blocked:
            log.warning("the bot can no longer post in triage group %s", queue.chat_id)
            return Posted(shown=False, lost=True)
        except (SendFailed, TelegramBadRequest) as exc:
            reason = str(exc)
            if "message to edit not found" in reason or "MESSAGE_ID_INVALID" in reason:
                return Posted(shown=False, gone=True)
            if "chat not found" in reason:
                return Posted(shown=False, lost=True)
            log.warning("card of request %s not shown: %s", request.id, reason[:200])
            return Posted(shown=False, retry_after=5.0)
        return Posted(message_id=message_id)

    return post
