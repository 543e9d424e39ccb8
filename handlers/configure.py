"""Admin configuration in chat: pipelines and stages, sources; and picking them on a card.

`/pipelines` lists pipelines with their stages and ids; `/pipeline_add NAME`,
`/stage_add PIPELINE NAME`, `/stage_rename ID NAME`, `/stage_delete ID`; `/sources`,
`/source_add NAME`, `/source_delete ID`. Every change is checked by the domain (settings right).
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import F, Router, html
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ElCb, PickCb
from bot.cards import fit, render_card
from bot.labels import dictionary_name, pipeline_name, stage_name
from crm.context import Crm
from crm.enums import Right
from crm.errors import InvalidValue
from crm.numbers import ascii_int
from crm.permissions import Actor
from handlers.elements import ref_from
from storage.models import Stage, User

MARKS = {"process": "", "success": "✅ ", "failure": "❌ "}


def split_id(args: str | None) -> tuple[int, str]:
    head, _sep, rest = (args or "").strip().partition(" ")
    number = ascii_int(head)
    if number is None:
        raise InvalidValue("id", head[:20])
    return number, rest.strip()


def stage_lines(stages: Sequence[Stage]) -> list[str]:
    return [f"  [{s.id}] {MARKS.get(s.semantic, '')}{html.quote(stage_name(s))}" for s in stages]


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


async def pipeline_add(message: Message, command: CommandObject, crm: Crm, actor: Actor) -> None:
    pipeline = await crm.stages.add_pipeline(actor, command.args or "")
    await message.answer(
        _("Pipeline {id} created: {name}.").format(
            id=pipeline.id, name=html.quote(pipeline_name(pipeline))
        )
    )


async def stage_add(message: Message, command: CommandObject, crm: Crm, actor: Actor) -> None:
    pipeline_id, name = split_id(command.args)
    stage = await crm.stages.add_stage(actor, pipeline_id, name)
    await message.answer(
        _("Stage [{id}] added: {name}.").format(id=stage.id, name=html.quote(stage_name(stage)))
    )


async def stage_rename(message: Message, command: CommandObject, crm: Crm, actor: Actor) -> None:
    stage_id, name = split_id(command.args)
    stage = await crm.stages.rename_stage(actor, stage_id, name)
    await message.answer(
        _("Stage [{id}] is now called {name}.").format(
            id=stage.id, name=html.quote(stage_name(stage))
        )
    )


async def stage_delete(message: Message, command: CommandObject, crm: Crm, actor: Actor) -> None:
    stage_id, _rest = split_id(command.args)
    await crm.stages.delete_stage(actor, stage_id)
    await message.answer(_("Stage [{id}] deleted.").format(id=stage_id))


async def sources_command(message: Message, crm: Crm) -> None:
    lines = [_("<b>Sources</b>")]
    for item in await crm.dictionaries.items("source"):
        custom = "" if item.is_system else " " + _("(custom)")
        lines.append(f"  [{item.id}] {html.quote(dictionary_name(item))}{custom}")
    await message.answer(fit("\n".join(lines)))


async def source_add(message: Message, command: CommandObject, crm: Crm, actor: Actor) -> None:
    item = await crm.dictionaries.add(actor, "source", command.args or "")
    await message.answer(
        _("Source [{id}] added: {name}.").format(
            id=item.id, name=html.quote(dictionary_name(item))
        )
    )


async def source_delete(message: Message, command: CommandObject, crm: Crm, actor: Actor) -> None:
    item_id, _rest = split_id(command.args)
    await crm.dictionaries.delete(actor, item_id)
    await message.answer(_("Source [{id}] deleted.").format(id=item_id))


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
    ref = ref_from(callback_data.kind, callback_data.id)
    if callback_data.what == "pipe":
        await crm.stages.move_to_pipeline(actor, ref, callback_data.value)
    elif callback_data.what == "src":
        await crm.dictionaries.set_source(actor, ref, callback_data.value)
    else:
        raise InvalidValue("choice", callback_data.what[:10])
    card = await crm.elements.card(actor, ref)
    text, markup = render_card(card, crm.users.timezone_of(crm_user))
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
    router.message.register(sources_command, Command("sources"))
    router.message.register(source_add, Command("source_add"))
    router.message.register(source_delete, Command("source_delete"))
    router.callback_query.register(pick_pressed, ElCb.filter(F.action.in_({"pipe", "src"})))
    router.callback_query.register(picked, PickCb.filter())
    return router
