"""Admin configuration in chat: pipelines and stages; picking a pipeline or a dictionary's
value on a card.

`/pipelines` lists pipelines with their stages and ids; `/pipeline_add NAME`,
`/stage_add PIPELINE NAME`, `/stage_rename STAGE NAME`, `/stage_delete STAGE`. A pipeline or
stage is named by its id or its name. Without arguments a command shows its usage; a refusal
says why. Every change is checked by the domain (settings right). Sources and the other
dictionaries are handlers/dictionaries.py's (with the usage and refusals of this module).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiogram import F, Router, html
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ElCb, PickCb
from bot.cards import fit, render_card
from bot.labels import dictionary_name, kind_title, pipeline_name, stage_name
from crm.context import Crm
from crm.editing import CHOICES
from crm.enums import Right
from crm.errors import (
    AmbiguousName,
    CannotDelete,
    CrmError,
    InvalidValue,
    NameTaken,
    UnknownName,
)
from crm.numbers import ascii_int
from crm.permissions import Actor
from handlers.elements import ref_from
from storage.models import Stage, User

MARKS = {"process": "", "success": "✅ ", "failure": "❌ "}
EDITED = frozenset(field.value for field in CHOICES)  # dictionaries the ✏️ Edit menu picks


def split_id(args: str | None) -> tuple[int, str]:
    head, _sep, rest = (args or "").strip().partition(" ")
    number = ascii_int(head)
    if number is None:
        raise InvalidValue("id", head[:20])
    return number, rest.strip()


def stage_lines(stages: Sequence[Stage]) -> list[str]:
    return [f"  [{s.id}] {MARKS.get(s.semantic, '')}{html.quote(stage_name(s))}" for s in stages]


def usage(command: str) -> str:
    """How to call an admin command, shown when it comes without arguments."""
    texts = {
        "pipeline_add": _("Usage: /pipeline_add NAME, for example /pipeline_add Service"),
        "stage_add": _(
            "Usage: /stage_add PIPELINE NAME (the pipeline by name or id), "
            "for example /stage_add 1 Negotiation"
        ),
        "stage_rename": _(
            "Usage: /stage_rename STAGE NEW NAME (the stage by name or id), "
            "for example /stage_rename 3 Offer sent"
        ),
        "stage_delete": _(
            "Usage: /stage_delete STAGE (by name or id), for example /stage_delete 3"
        ),
        "source_add": _("Usage: /source_add NAME, for example /source_add Facebook"),
        "source_rename": _(
            "Usage: /source_rename SOURCE NEW NAME (the source by name or id), "
            "for example /source_rename 5 Phone call"
        ),
        "source_delete": _(
            "Usage: /source_delete SOURCE (by name or id), for example /source_delete 12"
        ),
        "dictionary": _(
            "Usage: /dictionary DICTIONARY (by name), for example /dictionary contact type"
        ),
        "dictionary_add": _(
            "Usage: /dictionary_add DICTIONARY NAME, for example /dictionary_add industry "
            "Logistics"
        ),
        "dictionary_rename": _(
            "Usage: /dictionary_rename DICTIONARY VALUE NEW NAME (the value by name or id), "
            "for example /dictionary_rename salutation Dr. Doctor"
        ),
        "dictionary_delete": _(
            "Usage: /dictionary_delete DICTIONARY VALUE (by name or id), "
            "for example /dictionary_delete industry Logistics"
        ),
    }
    listing = (
        "/sources"
        if command.startswith("source")
        else "/dictionaries"
        if command.startswith("dictionary")
        else "/pipelines"
    )
    return (
        texts[command] + "\n" + _("{command} lists them with their ids.").format(command=listing)
    )


def refusal(exc: CrmError) -> str | None:
    """Why a configuration change was refused, in words; None for other errors."""
    if isinstance(exc, CannotDelete):
        if exc.why == "system" and exc.entity == "lead" and exc.part == "initial":
            return _("The initial status cannot be deleted (it can be renamed).")
        if exc.why == "system" and exc.entity == "lead" and exc.part == "final":
            return _("A final status (converted or junk) cannot be deleted (it can be renamed).")
        if exc.why == "system" and exc.part == "initial":
            return _("The initial stage cannot be deleted (it can be renamed).")
        if exc.why == "system" and exc.part == "final":
            return _("A final stage (won or lost) cannot be deleted (it can be renamed).")
        if exc.why == "system":
            return _("A built-in entry cannot be deleted (it can be renamed).")
        return in_use(exc)
    if isinstance(exc, NameTaken):
        return _("“{name}” is taken: names in a list must differ.").format(
            name=html.quote(exc.name)
        )
    if isinstance(exc, AmbiguousName):
        return _("Several entries are called “{name}”; name one by its id: {ids}.").format(
            name=html.quote(exc.name), ids=", ".join(str(i) for i in exc.ids)
        )
    if isinstance(exc, UnknownName):
        what = {
            "pipeline": _("No pipeline is called “{text}” (or has this id). See /pipelines."),
            "stage": _("No stage is called “{text}” (or has this id). See /pipelines."),
            "source": _("No source is called “{text}” (or has this id). See /sources."),
            "dictionary": _("No dictionary is called “{text}”. See /dictionaries."),
        }.get(exc.what, _("The list “{dictionary}” has no value “{text}” (nor one with this id)."))
        return what.format(text=html.quote(exc.text), dictionary=kind_title(exc.what))
    return None


def in_use(exc: CannotDelete) -> str:
    """How many elements hold what was to be deleted: a stage, a status, a dictionary value."""
    n = exc.count
    if exc.part == "source" or (exc.part == "" and exc.entity == "element"):
        return _(
            "{n} client or deal has this source: change it first.",
            "{n} clients and deals have this source: change them first.",
            n,
        ).format(n=n)
    if exc.part:  # a dictionary's value
        texts = {
            "contact": _(
                "{n} contact has this value: change it first.",
                "{n} contacts have this value: change them first.",
                n,
            ),
            "company": _(
                "{n} company has this value: change it first.",
                "{n} companies have this value: change them first.",
                n,
            ),
            "deal": _(
                "{n} deal has this value: change it first.",
                "{n} deals have this value: change them first.",
                n,
            ),
        }
        return texts.get(
            exc.entity,
            _(
                "{n} card has this value: change it first.",
                "{n} cards have this value: change them first.",
                n,
            ),
        ).format(n=n)
    if exc.entity == "lead":
        return _(
            "{n} lead has this status: change it first.",
            "{n} leads have this status: change them first.",
            n,
        ).format(n=n)
    return _(
        "{n} deal is in this stage: move it first.",
        "{n} deals are in this stage: move them first.",
        n,
    ).format(n=n)


def configures(
    name: str,
) -> Callable[[Callable[..., Awaitable[None]]], Callable[..., Awaitable[None]]]:
    """An admin command: its usage without arguments, its refusals said in words."""

    def wrap(handler: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        @functools.wraps(handler)
        async def run(message: Message, command: CommandObject, **data: Any) -> None:
            crm: Crm = data["crm"]
            crm.runtime.policy.require_right(data["actor"], Right.SETTINGS)
            args = " ".join((command.args or "").split())
            if not args:
                await message.answer(usage(name))
                return
            try:
                await handler(message, args, **data)
            except CrmError as exc:
                text = refusal(exc)
                if text is None:
                    raise
                await message.answer(text)

        return run

    return wrap


async def pipelines_command(message: Message, crm: Crm, actor: Actor) -> None:
    crm.runtime.policy.require_right(actor, Right.SETTINGS)
    lines = [_("<b>Pipelines</b> (stage ids in brackets)")]
    for pipeline in await crm.stages.pipelines():
        stages = await crm.stages.stages(pipeline.id)
        default = " " + _("(default)") if pipeline.is_default else ""
        lines.append(f"\n<b>{pipeline.id}. {html.quote(pipeline_name(pipeline))}</b>{default}")
        lines += stage_lines(stages)
    lines.append("\n" + _("<b>Lead statuses</b>"))
    lines += stage_lines(await crm.stages.lead_statuses())
    await message.answer(fit("\n".join(lines)))


@configures("pipeline_add")
async def pipeline_add(message: Message, args: str, crm: Crm, actor: Actor, **_data: Any) -> None:
    pipeline = await crm.stages.add_pipeline(actor, args, label=pipeline_name)
    await message.answer(
        _("Pipeline {id} created: {name}.").format(
            id=pipeline.id, name=html.quote(pipeline_name(pipeline))
        )
    )


@configures("stage_add")
async def stage_add(message: Message, args: str, crm: Crm, actor: Actor, **_data: Any) -> None:
    pipeline, name = await crm.stages.pipeline_named(args, label=pipeline_name)
    if not name:
        await message.answer(usage("stage_add"))
        return
    stage = await crm.stages.add_stage(actor, pipeline.id, name, label=stage_name)
    await message.answer(
        _("Stage [{id}] added: {name}.").format(id=stage.id, name=html.quote(stage_name(stage)))
    )


@configures("stage_rename")
async def stage_rename(message: Message, args: str, crm: Crm, actor: Actor, **_data: Any) -> None:
    stage, name = await crm.stages.stage_named(args, label=stage_name)
    if not name:
        await message.answer(usage("stage_rename"))
        return
    stage = await crm.stages.rename_stage(actor, stage.id, name, label=stage_name)
    await message.answer(
        _("Stage [{id}] is now called {name}.").format(
            id=stage.id, name=html.quote(stage_name(stage))
        )
    )


@configures("stage_delete")
async def stage_delete(message: Message, args: str, crm: Crm, actor: Actor, **_data: Any) -> None:
    stage, _rest = await crm.stages.stage_named(args, label=stage_name)
    name = stage_name(stage)
    await crm.stages.delete_stage(actor, stage.id)
    await message.answer(
        _("Stage [{id}] deleted: {name}.").format(id=stage.id, name=html.quote(name))
    )


async def pick_pressed(query: CallbackQuery, callback_data: ElCb, crm: Crm, actor: Actor) -> None:
    """Offer the pipelines (for a deal) or the sources (for any element) as buttons."""
    ref = ref_from(callback_data.kind, callback_data.id)
    await crm.elements.load(actor, ref)
    kb = InlineKeyboardBuilder()
    if callback_data.action == "pipe":
        title = _("{code}: move to which pipeline?").format(code=ref.code)
        for pipeline in await crm.stages.pipelines():
            kb.button(
                text=pipeline_name(pipeline),
                callback_data=PickCb(
                    what="pipe", kind=callback_data.kind, id=ref.id, value=pipeline.id
                ),
            )
    else:
        title = _("{code}: where did the client come from?").format(code=ref.code)
        for item in await crm.dictionaries.items("source"):
            kb.button(
                text=dictionary_name(item),
                callback_data=PickCb(
                    what="src", kind=callback_data.kind, id=ref.id, value=item.id
                ),
            )
    kb.adjust(2)
    await query.answer()
    if query.message is not None:
        await query.message.answer(title, reply_markup=kb.as_markup())


async def picked(
    query: CallbackQuery, callback_data: PickCb, crm: Crm, actor: Actor, crm_user: User
) -> None:
    """A pipeline for a deal, or a dictionary's value (a source, a contact type, …)."""
    ref = ref_from(callback_data.kind, callback_data.id)
    what = callback_data.what
    if what == "pipe":
        await crm.stages.move_to_pipeline(actor, ref, callback_data.value)
    else:  # a dictionary: the service refuses one this element does not hold
        kind = "source" if what == "src" else what
        await crm.dictionaries.set_value(actor, ref, kind, callback_data.value)
    card = await crm.elements.card(actor, ref)
    text, markup = render_card(card, crm.users.timezone_of(crm_user))
    if what in EDITED:  # picked from the card's ✏️ Edit menu, answered like a typed edit
        text = _("✏️ Saved.") + "\n\n" + text
    await query.answer()
    if query.message is not None:
        await query.message.answer(text, reply_markup=markup)


def setup() -> Router:
    router = Router(name=__name__)
    router.message.register(pipelines_command, Command("pipelines"))
    router.message.register(pipeline_add, Command("pipeline_add"))
    router.message.register(stage_add, Command("stage_add"))
    router.message.register(stage_rename, Command("stage_rename"))
    router.message.register(stage_delete, Command("stage_delete"))
    router.callback_query.register(pick_pressed, ElCb.filter(F.action.in_({"pipe", "src"})))
    router.callback_query.register(picked, PickCb.filter())
    return router
