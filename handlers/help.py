from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import BotCommand, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from crm.context import Crm
from crm.enums import EntityType
from crm.permissions import Actor

# The command menu and /help read from this one list; later features add their lines.
COMMANDS: list[tuple[str, object]] = [
    ("lead", __("new lead in one line: name, phone, e-mail, amount, title")),
    ("deal", __("new deal in one line")),
    ("contact", __("new contact in one line")),
    ("company", __("new company in one line")),
    ("my", __("my open deals")),
    ("deals", __("open deals")),
    ("leads", __("open leads")),
    ("find", __("search by name, phone or e-mail")),
    ("show", __("open a card: /show D7 (or just tap /D7)")),
    ("stage", __("move a deal: /stage D7")),
    ("note", __("add a note: /note D7 text")),
    ("merge", __("merge duplicates: /merge C3 C7 keeps C3, C7 goes into it")),
    ("merge_undo", __("undo my last merge")),
    ("todo", __("an activity with a deadline: /todo D7 jutro 10:00 call Jan")),
    ("today", __("my activities for today and overdue ones")),
    ("reminders", __("when to remind me: /reminders 15,0")),
    ("calendar", __("my open activities as a calendar file")),
    ("digest", __("the digest of today: figures per rep, stalled deals, overdue activities")),
    ("report", __("a report: /report week, /report month Anna, /report 2026-11-01..2026-11-30")),
    ("unplanned", __("open deals with no next activity")),
    ("uncontacted", __("clients nobody contacted lately: /uncontacted 14")),
    ("currency", __("currencies and rates; /currency add USD 4.02 (admins)")),
    ("products", __("the product catalog; /product_add, /product_import (admins)")),
    ("deal_product", __("put a product on a deal: /deal_product D7 Licencja 3 10%")),
    ("import", __("import a CSV file (Bitrix24's too): /import contacts with the file")),
    ("export", __("export a list as CSV: /export deals, /export contacts")),
    ("my_view", __("arrange my own card: /my_view deal (with the “my card view” right)")),
    ("mode", __("CRM mode: simple or classic (admins)")),
    ("pipelines", __("pipelines and stages (admins: /pipeline_add, /stage_add, …)")),
    ("roles", __("roles and their rights; /user_role, /department_add (admins)")),
    ("sources", __("client sources; /source_add, /source_delete (admins)")),
    ("view", __("card views and sections: /view deal, /sections deal (admins)")),
    (
        "dictionaries",
        __("lists of values: contact and company types, industries, lead statuses… (admins)"),
    ),
    ("help", __("what I can do")),
    ("whoami", __("who I am in the CRM")),
    ("settings", __("language and time zone")),
    ("lang", __("change the language: /lang pl, /lang ru, /lang en")),
    ("cancel", __("leave the current dialog")),
]


# Commands about one element type: /help leaves them out for whoever cannot read that type
# (the command menu is one per language and lists them all; the lists answer as if unknown).
COMMAND_ENTITIES: dict[str, EntityType] = {
    "lead": EntityType.LEAD,
    "leads": EntityType.LEAD,
    "deal": EntityType.DEAL,
    "my": EntityType.DEAL,
    "deals": EntityType.DEAL,
    "stage": EntityType.DEAL,
    "unplanned": EntityType.DEAL,
    "contact": EntityType.CONTACT,
    "company": EntityType.COMPANY,
    "uncontacted": EntityType.CONTACT,
    "todo": EntityType.ACTIVITY,
    "today": EntityType.ACTIVITY,
    "calendar": EntityType.ACTIVITY,
}


def bot_commands(i18n: I18n, locale: str) -> list[BotCommand]:
    with i18n.context(), i18n.use_locale(locale):
        return [BotCommand(command=name, description=str(text)) for name, text in COMMANDS]


async def help_(message: Message, crm: Crm, actor: Actor) -> None:
    readable = crm.search.readable(actor)
    lines = [_("<b>CRM commands</b>")]
    lines += [
        f"/{name} — {text}"
        for name, text in COMMANDS
        if name not in COMMAND_ENTITIES or COMMAND_ENTITIES[name] in readable
    ]
    await message.answer("\n".join(lines))


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(help_, Command("help"))
    return router
