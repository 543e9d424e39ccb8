"""A Telegram contact card shared or forwarded to the bot in private by a CRM user: a contact,
with the duplicate check of one-line creation (`crm.shared_contacts`).

The warning offers Open / Use this contact (the existing one: nothing is created) and Create
anyway; the card waits in the dialog's data, so "Create anyway" needs nothing from the button.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Contact, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ElCb, ShareCb
from bot.cards import render_duplicates
from bot.pressed import Replier, pressed
from crm.codes import PREFIXES, ElementRef
from crm.context import Crm
from crm.enums import EntityType
from crm.parsing import region_for_locale
from crm.permissions import Actor
from crm.shared_contacts import SharedContact
from handlers.create import send_created
from storage.models import User

PENDING = "shared_contact"


def shared_of(contact: Contact) -> SharedContact:
    return SharedContact(
        phone=contact.phone_number,
        first_name=contact.first_name,
        last_name=contact.last_name,
        user_id=contact.user_id,
    )


async def contact_shared(
    message: Message, state: FSMContext, crm: Crm, actor: Actor, crm_user: User
) -> None:
    assert message.contact is not None  # the filter
    await make(message, state, crm, actor, crm_user, shared_of(message.contact))


async def create_anyway(
    query: CallbackQuery, state: FSMContext, crm: Crm, actor: Actor, crm_user: User
) -> None:
    pending = (await state.get_data()).get(PENDING)
    if not isinstance(pending, dict):
        await query.answer(
            _("This request has expired. Share the contact again."), show_alert=True
        )
        return
    await state.update_data({PENDING: None})
    await query.answer()
    await make(
        pressed(query), state, crm, actor, crm_user, SharedContact.from_data(pending), force=True
    )


async def make(
    message: Replier,
    state: FSMContext,
    crm: Crm,
    actor: Actor,
    user: User,
    shared: SharedContact,
    *,
    force: bool = False,
) -> None:
    region = region_for_locale(crm.users.locale_of(user))
    if not force:
        hits = await crm.shared_contacts.duplicates(actor, shared, region)
        if hits:
            await state.update_data({PENDING: shared.to_data()})

            def use(ref: ElementRef) -> ElCb:  # the one found is the contact: open it
                return ElCb(action="show", kind=PREFIXES[ref.entity], id=ref.id)

            warning, markup = render_duplicates(hits, use=use, anyway=ShareCb(action="go"))
            await message.answer(warning, reply_markup=markup)
            return
    creation = await crm.shared_contacts.create(actor, shared, region)
    await send_created(message, crm, actor, user, EntityType.CONTACT, creation)


def member(_event: object, crm_user: User | None = None) -> bool:
    return crm_user is not None


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(contact_shared, F.chat.type == "private", F.contact, member)
    router.callback_query.register(create_anyway, ShareCb.filter(F.action == "go"))
    return router
