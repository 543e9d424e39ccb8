"""A triage group: `/triage on|off|mode|time`, messages that become request cards, `/lead` as a
reply, and the card's buttons (Take, Assign…, Lead, Junk, Close).

Thin: read the update, call `crm.triage`, answer the presser. The card itself is shown by the
courier from the database (`courier.deliver` right after the commit), so whichever instance
handled the press, the group sees the request's final state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters import (
    IS_MEMBER,
    IS_NOT_MEMBER,
    ChatMemberUpdatedFilter,
    Command,
    CommandObject,
    StateFilter,
)
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
)
from aiogram.utils.i18n import gettext as _

from bot.callbacks import TriageCb
from bot.cards import render_duplicates
from bot.labels import entity_name
from bot.pressed import pressed
from bot.relay import answer_blocked, relay_line, relay_moved, relay_usage
from bot.triage import Act, members_keyboard, request_keyboard
from crm.codes import ElementRef
from crm.context import Crm
from crm.enums import EntityType
from crm.permissions import Actor
from crm.relay import Answered
from crm.triage import Claim, Incoming, Origin, QueueMode, RequestStatus
from handlers.triage_sla import SLA_VERBS, escalate_usage, hours_usage, sla_command
from scheduler.relay import RelayCourier
from scheduler.triage import TriageCourier
from storage.models import TriageQueue, User

GROUPS = F.chat.type.in_({"group", "supergroup"})
MODES = {mode.value for mode in QueueMode}
SWITCH = {"on", "off"}


class JunkForm(StatesGroup):
    reason = State()  # data: request


class JunkReason:
    """Quick reasons offered under Junk (the `user` field of the button holds the index)."""

    CODES = ("spam", "duplicate", "not_client", "wrong_contact")

    @staticmethod
    def name(code: str) -> str:
        return {
            "spam": _("Spam"),
            "duplicate": _("Duplicate"),
            "not_client": _("Not a client"),
            "wrong_contact": _("Wrong contact"),
        }[code]


# --- binding -------------------------------------------------------------------------------------
async def triage_command(
    message: Message, command: CommandObject, crm: Crm, actor: Actor, queue: TriageQueue | None
) -> None:
    words = (command.args or "").split()
    verb = words[0].lower() if words else ""
    if verb == "on":
        thread = message.message_thread_id if message.is_topic_message else None
        queue = await crm.triage.bind(actor, message.chat.id, thread, message.chat.title)
        await message.answer(bound_text(queue))
    elif verb == "off":
        await crm.triage.unbind(actor, message.chat.id)
        await message.answer(_("This group is no longer a triage queue. Cards stay as they are."))
    elif verb == "mode" and queue is not None and len(words) == 2 and words[1] in MODES:
        await crm.triage.set_mode(actor, queue, QueueMode(words[1].lower()))
        await message.answer(mode_line(queue))
    elif verb == "time" and queue is not None and len(words) == 2 and words[1].isdecimal():
        await crm.triage.configure(actor, queue, queue_seconds=min(int(words[1]), 86_400))
        await message.answer(time_line(queue))
    elif verb in SLA_VERBS and queue is not None:
        await sla_command(message, words, crm, actor, queue)
    elif verb == "relay" and queue is not None and len(words) == 2 and words[1].lower() in SWITCH:
        others = await crm.relay.set(actor, queue, words[1].lower() == "on")
        await message.answer(
            "\n".join([relay_line(queue)] + ([relay_moved(others)] if others else []))
        )
    else:
        await message.answer((bound_text(queue) + "\n\n" if queue else "") + usage())


def bound_text(queue: TriageQueue) -> str:
    if queue.thread_id is None:
        head = _(
            "This group is a triage queue: what is written or forwarded here becomes a request."
        )
    else:
        head = _(
            "This topic is a triage queue: what is written or forwarded here becomes a request."
        )
    lines = [head, mode_line(queue), time_line(queue)]
    if queue.relay_private:
        lines.append(relay_line(queue))
    return "\n".join(lines)


def mode_line(queue: TriageQueue) -> str:
    names = {
        QueueMode.EVERYBODY: _("to everybody (the first to take it keeps it)"),
        QueueMode.EVENLY: _("evenly (to the member who waited longest)"),
        QueueMode.STRICTLY: _("strictly in order"),
    }
    return _("Distribution: {mode}.").format(mode=names[QueueMode(queue.mode)])


def time_line(queue: TriageQueue) -> str:
    return _(
        "Queue time: {seconds} s; an untaken request is passed on and announced again."
    ).format(seconds=queue.queue_seconds)


def usage() -> str:
    return (
        _(
            "Usage: <code>/triage on</code> or <code>/triage off</code>; "
            "<code>/triage mode everybody|evenly|strictly</code>; "
            "<code>/triage time 60</code> (seconds before an untaken request passes on)."
        )
        + "\n"
        + relay_usage()
        + "\n"
        + hours_usage()
        + "\n"
        + escalate_usage()
    )


# --- intake --------------------------------------------------------------------------------------
def incoming_of(message: Message, *, member: bool, origin: Origin = Origin.GROUP) -> Incoming:
    """What a message says, as the domain needs it: its author, a forward's origin (a hidden
    forward only names someone), a shared contact, an album."""
    forwarded_id: int | None = None
    forwarded_name: str | None = None
    source = message.forward_origin
    if isinstance(source, MessageOriginUser):
        forwarded_id, forwarded_name = source.sender_user.id, source.sender_user.full_name
    elif isinstance(source, MessageOriginHiddenUser):
        forwarded_name = source.sender_user_name
    elif isinstance(source, MessageOriginChat):
        forwarded_name = source.sender_chat.title
    elif isinstance(source, MessageOriginChannel):
        forwarded_name = source.chat.title
    phone = contact_name = None
    if message.contact is not None:
        phone = message.contact.phone_number
        contact_name = " ".join(
            p for p in (message.contact.first_name, message.contact.last_name) if p
        )
    author = message.from_user
    return Incoming(
        origin=origin,
        text=message.text or message.caption or "",
        chat_id=message.chat.id,
        message_id=message.message_id,
        author_tg_id=author.id if author else None,
        author_name=author.full_name if author else None,
        author_is_member=member,
        forwarded_from_id=forwarded_id,
        forwarded_name=forwarded_name,
        phone=phone,
        contact_name=contact_name or None,
        media_group_id=message.media_group_id,
        locale=author.language_code if author else None,
    )


def in_queue(message: Message, queue: TriageQueue | None) -> bool:
    """A filter: a message of a queue's chat, and of its topic when the queue is one topic."""
    if queue is None:
        return False
    return queue.thread_id is None or message.message_thread_id == queue.thread_id


async def group_message(
    message: Message,
    crm: Crm,
    crm_user: User | None,
    actor: Actor | None,
    courier: TriageCourier,
    relay: RelayCourier,
    queue: TriageQueue | None,
) -> None:
    assert queue is not None  # the filter
    reply = message.reply_to_message
    under = await crm.triage.request_at(message.chat.id, reply.message_id) if reply else None
    if under is not None:
        # Talk under a card is not a new request; a CRM user's may be an answer to the client.
        if actor is not None:
            await relay_answer(message, crm, actor, relay, under.id)
        return
    received = await crm.triage.receive(queue, incoming_of(message, member=crm_user is not None))
    await courier.deliver(received.request.id)


async def relay_answer(
    message: Message, crm: Crm, actor: Actor, relay: RelayCourier, request_id: int
) -> None:
    """A CRM user's reply under a request's card (or under one of its messages): copied to
    the client when the request came through the bot (`crm.relay`)."""
    author = message.from_user
    outcome = await crm.relay.answer(
        actor,
        request_id,
        chat_id=message.chat.id,
        message_id=message.message_id,
        text=message.text or message.caption or "",
        author_tg_id=author.id if author else None,
    )
    if outcome is Answered.QUEUED:
        await relay.deliver(request_id)
    elif outcome is Answered.BLOCKED:
        await message.reply(answer_blocked())


async def lead_reply(
    message: Message,
    bot: Bot,
    crm: Crm,
    actor: Actor,
    crm_user: User,
    courier: TriageCourier,
    queue: TriageQueue | None,
) -> None:
    """`/lead` (or `/deal`) as a reply: that message becomes a lead whose source is the group."""
    replied = message.reply_to_message
    assert replied is not None  # the filter
    if queue is None:
        await message.answer(
            _("This group is not a triage queue. An admin can bind it: /triage on")
        )
        return
    author = replied.from_user
    is_member = author is not None and await crm.users.by_telegram_id(author.id) is not None
    request = await crm.triage.from_message(queue, incoming_of(replied, member=is_member))
    claim = await crm.triage.convert(actor, request.id)
    await answer_conversion(message.answer, claim, crm, bot, crm_user.telegram_id or 0)
    await courier.deliver(request.id)


# --- buttons -------------------------------------------------------------------------------------
async def take_pressed(
    query: CallbackQuery, callback_data: TriageCb, crm: Crm, actor: Actor, courier: TriageCourier
) -> None:
    claim = await crm.triage.take(actor, callback_data.id)
    if claim.won:
        await query.answer(_("Request #{id} is yours.").format(id=claim.request.id))
    else:
        await query.answer(
            lost_text(claim, await crm.triage.names(claim.request)), show_alert=True
        )
    await courier.deliver(callback_data.id)


async def assign_pressed(
    query: CallbackQuery, callback_data: TriageCb, crm: Crm, actor: Actor
) -> None:
    users = await crm.triage.assignable(actor, callback_data.id)
    if not users:
        await query.answer(_("Nobody works this queue yet."), show_alert=True)
        return
    await query.answer()
    await pressed(query).edit_markup(
        members_keyboard(callback_data.id, [(u.id, u.name) for u in users])
    )


async def assign_chosen(
    query: CallbackQuery, callback_data: TriageCb, crm: Crm, actor: Actor, courier: TriageCourier
) -> None:
    claim = await crm.triage.assign(actor, callback_data.id, callback_data.user)
    names = await crm.triage.names(claim.request)
    if claim.won:
        await query.answer(
            _("Assigned to {name}.").format(name=names.get(callback_data.user, "?"))
        )
    else:
        await query.answer(lost_text(claim, names), show_alert=True)
    await courier.deliver(callback_data.id)


async def back_pressed(
    query: CallbackQuery, callback_data: TriageCb, crm: Crm, actor: Actor
) -> None:
    request = await crm.triage.request_for(actor, callback_data.id)
    await query.answer()
    await pressed(query).edit_markup(request_keyboard(request))


async def lead_pressed(
    query: CallbackQuery,
    callback_data: TriageCb,
    bot: Bot,
    crm: Crm,
    actor: Actor,
    courier: TriageCourier,
) -> None:
    client = None
    if callback_data.action in (Act.LEAD_FOR, Act.LEAD_FOR_CO) and callback_data.user:
        kind = EntityType.CONTACT if callback_data.action == Act.LEAD_FOR else EntityType.COMPANY
        client = ElementRef(kind, callback_data.user)
    claim = await crm.triage.convert(
        actor, callback_data.id, force=callback_data.action != Act.LEAD, client=client
    )
    await query.answer()
    await answer_conversion(pressed(query).answer, claim, crm, bot, query.from_user.id)
    await courier.deliver(callback_data.id)


async def junk_pressed(
    query: CallbackQuery, callback_data: TriageCb, crm: Crm, actor: Actor
) -> None:
    """Junk asks why: quick reasons, or Other… to type one."""
    request = await crm.triage.request_for(actor, callback_data.id)
    if not RequestStatus(request.status).is_open:
        await query.answer(lost_text_of(request, await crm.triage.names(request)), show_alert=True)
        return
    await query.answer(_("Why is it junk?"))
    await pressed(query).edit_markup(junk_keyboard(callback_data.id))


async def junk_reason_chosen(
    query: CallbackQuery,
    callback_data: TriageCb,
    crm: Crm,
    actor: Actor,
    courier: TriageCourier,
    state: FSMContext,
) -> None:
    index = callback_data.user
    if index >= len(JunkReason.CODES):  # Other…: the next message of this person is the reason
        await crm.triage.request_for(actor, callback_data.id)
        await state.set_state(JunkForm.reason)
        await state.update_data(request=callback_data.id)
        await query.answer()
        await pressed(query).answer(
            _("Why is request #{id} junk? Type the reason; /cancel to keep it.").format(
                id=callback_data.id
            )
        )
        return
    await junk_with(query.answer, crm, actor, courier, callback_data.id,
                    JunkReason.name(JunkReason.CODES[index]))  # fmt: skip


async def junk_reason_typed(
    message: Message, crm: Crm, actor: Actor, courier: TriageCourier, state: FSMContext
) -> None:
    request_id = (await state.get_data()).get("request")
    await state.clear()
    if not isinstance(request_id, int):
        return
    await junk_with(message.answer, crm, actor, courier, request_id, (message.text or "")[:1000])


async def junk_with(
    answer: Callable[..., Awaitable[Any]],
    crm: Crm,
    actor: Actor,
    courier: TriageCourier,
    request_id: int,
    reason: str,
) -> None:
    claim = await crm.triage.junk(actor, request_id, reason)
    if claim.won:
        await answer(_("Request #{id} marked as junk.").format(id=request_id))
    else:
        await answer(lost_text(claim, await crm.triage.names(claim.request)))
    await courier.deliver(request_id)


async def close_pressed(
    query: CallbackQuery,
    callback_data: TriageCb,
    crm: Crm,
    actor: Actor,
    courier: TriageCourier,
    relay: RelayCourier,
) -> None:
    claim = await crm.triage.close(actor, callback_data.id)
    if claim.won:
        await query.answer(_("Request #{id} closed.").format(id=callback_data.id))
    else:
        await query.answer(
            lost_text(claim, await crm.triage.names(claim.request)), show_alert=True
        )
    await courier.deliver(callback_data.id)
    if claim.tell_client:
        await relay.deliver(callback_data.id)


# --- answers -------------------------------------------------------------------------------------
async def answer_conversion(
    answer: Callable[..., Awaitable[Any]], claim: Claim, crm: Crm, bot: Bot, presser: int
) -> None:
    """The result in the group; a duplicate warning only to the presser, in private (it names
    clients, and the group may hold people who are not CRM users)."""
    if claim.duplicates:
        request_id = claim.request.id

        def use(ref: ElementRef) -> TriageCb:
            action = Act.LEAD_FOR if ref.entity is EntityType.CONTACT else Act.LEAD_FOR_CO
            return TriageCb(action=action, id=request_id, user=ref.id)

        text, markup = render_duplicates(
            claim.duplicates, use=use, anyway=TriageCb(action=Act.LEAD_ANYWAY, id=request_id)
        )
        head = _("Request #{id}:").format(id=request_id)
        try:
            await bot.send_message(presser, f"{head} {text}", reply_markup=markup)
        except TelegramForbiddenError:
            text = _(
                "Request #{id} may be a duplicate. Open a private chat with me (/start) to see "
                "which clients match."
            )
            await answer(text.format(id=request_id))
            return
        await answer(
            _("Request #{id} may be a duplicate: I sent you the matches in private.").format(
                id=request_id
            )
        )
    elif claim.creation is not None:
        primary = claim.creation.primary
        await answer(
            _("Request #{id}: {what} /{code} created.").format(
                id=claim.request.id, what=entity_name(primary.entity), code=primary.code
            )
        )
    else:
        await answer(lost_text(claim, await crm.triage.names(claim.request)))


def junk_keyboard(request_id: int) -> InlineKeyboardMarkup:
    def button(text: str, index: int) -> InlineKeyboardButton:
        data = TriageCb(action=Act.JUNK_REASON, id=request_id, user=index).pack()
        return InlineKeyboardButton(text=text, callback_data=data)

    rows = [
        [button(JunkReason.name(code), i) for i, code in enumerate(JunkReason.CODES[:2])],
        [button(JunkReason.name(code), i + 2) for i, code in enumerate(JunkReason.CODES[2:])],
        [button(_("Other reason…"), len(JunkReason.CODES))],
        [
            InlineKeyboardButton(
                text=_("« Back"), callback_data=TriageCb(action=Act.BACK, id=request_id).pack()
            )
        ],
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def lost_text(claim: Claim, names: dict[int, str]) -> str:
    return lost_text_of(claim.request, names)


def lost_text_of(request: Any, names: dict[int, str]) -> str:
    """Why the press changed nothing: who has it, or what became of it."""
    status = RequestStatus(request.status)
    who = names.get(request.acted_by_id or request.assignee_id or 0, "?")
    if status is RequestStatus.TAKEN:
        return _("Request #{id} is already taken by {name}.").format(id=request.id, name=who)
    if status is RequestStatus.CONVERTED:
        return _("{name} has already made a lead of request #{id}.").format(
            id=request.id, name=who
        )
    if status is RequestStatus.JUNK:
        return _("{name} has already marked request #{id} as junk.").format(
            id=request.id, name=who
        )
    if status is RequestStatus.CLOSED:
        return _("Request #{id} is already closed ({name}).").format(id=request.id, name=who)
    return _("Request #{id} is new: take it first.").format(id=request.id)


async def group_moved(message: Message, crm: Crm) -> None:
    if message.migrate_to_chat_id is not None:
        await crm.triage.moved(message.chat.id, message.migrate_to_chat_id)


async def bot_left(event: ChatMemberUpdated, crm: Crm) -> None:
    """Removed from a group: its queue stops (nothing could be posted there any more)."""
    queue = await crm.triage.queue_by_chat(event.chat.id)
    if queue is not None:
        await crm.triage.lost_group(queue.id)


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(group_moved, F.migrate_to_chat_id)
    router.my_chat_member.register(
        bot_left, ChatMemberUpdatedFilter(member_status_changed=IS_MEMBER >> IS_NOT_MEMBER)
    )
    router.message.register(triage_command, GROUPS, Command("triage", ignore_case=True))
    router.message.register(
        lead_reply, GROUPS, Command("lead", "deal", ignore_case=True), F.reply_to_message
    )
    router.message.register(junk_reason_typed, GROUPS, JunkForm.reason, F.text,
                            ~F.text.startswith("/"))  # fmt: skip
    # A member in a dialog of their own (a typed reason, /note…) is not writing a request.
    router.message.register(
        group_message, GROUPS, in_queue, StateFilter(None), ~F.text.startswith("/")
    )
    cb = TriageCb.filter
    router.callback_query.register(take_pressed, cb(F.action == Act.TAKE))
    router.callback_query.register(assign_pressed, cb(F.action == Act.ASSIGN))
    router.callback_query.register(assign_chosen, cb(F.action == Act.ASSIGN_TO))
    router.callback_query.register(back_pressed, cb(F.action == Act.BACK))
    router.callback_query.register(
        lead_pressed,
        cb(F.action.in_({Act.LEAD, Act.LEAD_ANYWAY, Act.LEAD_FOR, Act.LEAD_FOR_CO})),
    )
    router.callback_query.register(junk_pressed, cb(F.action == Act.JUNK))
    router.callback_query.register(junk_reason_chosen, cb(F.action == Act.JUNK_REASON))
    router.callback_query.register(close_pressed, cb(F.action == Act.CLOSE))
    return router
