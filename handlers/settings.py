from __future__ import annotations

from aiogram import F, Router, html
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Chat, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import DigestCb, LangCb, SettingsCb, TzCb
from bot.digests import bad_time, digest_settings, next_text, time_hint, time_set
from bot.keyboards import languages_kb, settings_kb, timezones_kb
from crm.context import Crm
from crm.digests import DigestPlan, LastDay, parse_time
from crm.errors import InvalidValue
from crm.locales import LOCALE_NAMES, SUPPORTED_LOCALES
from crm.permissions import Actor
from crm.timezones import COMMON_TIMEZONES, resolve_timezone
from storage.models import User


class SettingsForm(StatesGroup):
    timezone = State()
    digest_time = State()


async def show_settings(message: Message, crm: Crm, crm_user: User) -> None:
    await message.answer(_settings_text(crm, crm_user), reply_markup=settings_kb())


async def set_language(
    message: Message, command: CommandObject, crm: Crm, crm_user: User, actor: Actor, i18n: I18n
) -> None:
    code = (command.args or "").strip().lower()
    if not code:
        await message.answer(_("Choose a language:"), reply_markup=languages_kb())
        return
    if code not in SUPPORTED_LOCALES:
        raise InvalidValue("locale", code)
    await _apply_language(crm, crm_user, actor, message.chat, code)
    with i18n.use_locale(code):
        await message.answer(_language_changed(message.chat, code))


async def language_chosen(
    query: CallbackQuery, callback_data: LangCb, crm: Crm, crm_user: User, actor: Actor, i18n: I18n
) -> None:
    if callback_data.code not in SUPPORTED_LOCALES or query.message is None:
        raise InvalidValue("locale", callback_data.code)
    await _apply_language(crm, crm_user, actor, query.message.chat, callback_data.code)
    with i18n.use_locale(callback_data.code):
        await query.answer()
        await query.bot.send_message(  # type: ignore[union-attr]  # a dispatched query has a bot
            query.message.chat.id, _language_changed(query.message.chat, callback_data.code)
        )


async def settings_language(query: CallbackQuery) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(_("Choose a language:"), reply_markup=languages_kb())


async def settings_timezone(query: CallbackQuery) -> None:
    await query.answer()
    if query.message is not None:
        await query.message.answer(_("Choose your time zone:"), reply_markup=timezones_kb())


async def timezone_chosen(
    query: CallbackQuery, callback_data: TzCb, crm: Crm, crm_user: User, state: FSMContext
) -> None:
    if query.message is None:
        return
    if callback_data.index == -1:
        await state.set_state(SettingsForm.timezone)
        await query.answer()
        await query.message.answer(
            _("Type your time zone, for example Europe/Warsaw or Moscow. /cancel to stop.")
        )
        return
    if not 0 <= callback_data.index < len(COMMON_TIMEZONES):
        raise InvalidValue("timezone", str(callback_data.index))
    await crm.users.set_timezone(crm_user, COMMON_TIMEZONES[callback_data.index])
    await query.answer()
    await query.message.answer(_timezone_changed(crm_user))


async def timezone_typed(message: Message, crm: Crm, crm_user: User, state: FSMContext) -> None:
    name = resolve_timezone((message.text or "")[:64])
    if name is None:
        await message.answer(
            _("I don't know the time zone {name}. Try Europe/Warsaw, or /cancel.").format(
                name=html.quote((message.text or "")[:64])
            )
        )
        return
    await crm.users.set_timezone(crm_user, name)
    await state.clear()
    await message.answer(_timezone_changed(crm_user))


# --- the scheduled digest ------------------------------------------------------------------------
def _digest_screen(crm: Crm, user: User, plan: DigestPlan) -> tuple[str, InlineKeyboardMarkup]:
    timezone = crm.users.timezone_of(user)
    page = digest_settings(plan, timezone, next_text(plan, crm, timezone))
    assert page.markup is not None
    return page.text, page.markup


async def settings_digest(query: CallbackQuery, crm: Crm, crm_user: User) -> None:
    await query.answer()
    if query.message is not None:
        text, markup = _digest_screen(crm, crm_user, await crm.digests.plan(crm_user))
        await query.message.answer(text, reply_markup=markup)


async def digest_pressed(
    query: CallbackQuery, callback_data: DigestCb, crm: Crm, crm_user: User, state: FSMContext
) -> None:
    action, value = callback_data.action, callback_data.value
    if action == "typ":
        await state.set_state(SettingsForm.digest_time)
        await query.answer()
        if query.message is not None:
            await query.message.answer(time_hint())
        return
    if action in ("on", "off"):
        plan = await crm.digests.set_enabled(crm_user, action == "on")
    elif action == "t":
        plan = await crm.digests.set_time(crm_user, value)
    elif action == "d":
        try:
            plan = await crm.digests.toggle_day(crm_user, value)
        except LastDay:
            await query.answer(
                _("Keep at least one day. To stop the digest, turn it off."), show_alert=True
            )
            return
    else:
        raise InvalidValue("action", action[:10])
    await query.answer()
    text, markup = _digest_screen(crm, crm_user, plan)
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)
    elif query.message is not None:
        await query.bot.send_message(query.message.chat.id, text, reply_markup=markup)  # type: ignore[union-attr]  # a dispatched query has a bot


async def digest_time_typed(message: Message, crm: Crm, crm_user: User, state: FSMContext) -> None:
    typed = (message.text or "")[:20]
    try:
        minute = parse_time(typed)
    except InvalidValue:
        await message.answer(bad_time(html.quote(typed)))
        return
    plan = await crm.digests.set_time(crm_user, minute)
    await state.clear()
    text, markup = _digest_screen(crm, crm_user, plan)
    await message.answer(time_set(plan))
    await message.answer(text, reply_markup=markup)


async def _apply_language(crm: Crm, user: User, actor: Actor, chat: Chat, code: str) -> None:
    if chat.type == "private":
        await crm.users.set_locale(user, code)
    else:
        await crm.chats.set_locale(actor, chat.id, chat.type, chat.title, code)


def _language_changed(chat: Chat, code: str) -> str:
    if chat.type == "private":
        return _("Language set: {language}.").format(language=LOCALE_NAMES[code])
    return _("This group's language is now {language}.").format(language=LOCALE_NAMES[code])


def _timezone_changed(user: User) -> str:
    return _("Time zone set: {timezone}.").format(timezone=user.timezone)


def _settings_text(crm: Crm, user: User) -> str:
    language = LOCALE_NAMES.get(user.locale or "", _("from Telegram"))
    return "\n".join(
        [
            _("<b>Settings</b>"),
            _("Language: {language}").format(language=language),
            _("Time zone: {timezone}").format(timezone=crm.users.timezone_of(user)),
        ]
    )


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(show_settings, Command("settings"))
    router.message.register(set_language, Command("lang"))
    router.callback_query.register(language_chosen, LangCb.filter())
    router.callback_query.register(settings_language, SettingsCb.filter(F.action == "lang"))
    router.callback_query.register(settings_timezone, SettingsCb.filter(F.action == "tz"))
    router.callback_query.register(timezone_chosen, TzCb.filter())
    router.callback_query.register(settings_digest, SettingsCb.filter(F.action == "dg"))
    router.callback_query.register(digest_pressed, DigestCb.filter())
    router.message.register(
        digest_time_typed, SettingsForm.digest_time, F.text, ~F.text.startswith("/")
    )
    router.message.register(timezone_typed, SettingsForm.timezone, F.text, ~F.text.startswith("/"))
    return router
