"""Pipelines, deal stages and lead statuses, and moving elements through them.

Stage semantics follow Bitrix24: 'process' (in progress), 'success' (won / converted) and
'failure' (lost / junk). Reaching success or failure closes the element; a failure needs a
reason. The initial and the final stages are system stages: renamable, never deletable.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from crm.codes import ElementRef
from crm.elements import ElementService
from crm.enums import EntityType, Operation, Right, TimelineKind
from crm.errors import (
    AmbiguousName,
    CannotDelete,
    FieldsRequired,
    InvalidValue,
    NameTaken,
    NotFound,
    ReasonRequired,
    StageMismatch,
    UnknownName,
)
from crm.numbers import ascii_int
from crm.permissions import Actor
from storage.models import Deal, Lead, Pipeline, Stage
from storage.repositories import Repos

if TYPE_CHECKING:
    from crm.context import Runtime
    from crm.fields import FieldService

PROCESS, SUCCESS, FAILURE = "process", "success", "failure"
SEMANTICS = (PROCESS, SUCCESS, FAILURE)
MAX_REASON = 1000
MAX_NAME = 120


class _Named(Protocol):
    @property
    def id(self) -> int: ...


T = TypeVar("T", bound=_Named)
Label = Callable[[T], str]


def fold(name: str) -> str:
    """A name as compared for sameness: case-insensitive, spaces collapsed."""
    return " ".join(name.casefold().split())


def clean_name(name: str) -> str:
    """A name as typed, spaces collapsed; refused when empty or punctuation only (`;`, `—`),
    which nobody could tell apart in a list (an emoji alone is a name)."""
    name = " ".join(name.split())[:MAX_NAME]
    if not name:
        raise InvalidValue("name", "")
    if all(unicodedata.category(c).startswith(("P", "Z")) for c in name):
        raise InvalidValue("name", name)
    return name


def pick(what: str, text: str, items: Sequence[T], label: Callable[[T], str]) -> tuple[T, str]:
    """The entry `text` starts with, by id or by name, and the rest of `text`.

    A name is matched case-insensitively, the longest first, so "/stage_add Sprzedaż B2B Demo"
    finds the pipeline "Sprzedaż B2B" and leaves "Demo". A name shared by several entries
    (stages of different pipelines) is refused with their ids.
    """
    words = text.split()
    if not words:
        raise UnknownName(what, "")
    number = ascii_int(words[0])
    if number is not None and words[0].isdigit():
        item = next((i for i in items if i.id == number), None)
        if item is None:
            raise UnknownName(what, words[0])
        return item, " ".join(words[1:])
    for n in range(len(words), 0, -1):
        name = " ".join(words[:n])
        found = [i for i in items if fold(label(i)) == fold(name)]
        if len(found) > 1:
            raise AmbiguousName(what, name, [i.id for i in found])
        if found:
            return found[0], " ".join(words[n:])
    raise UnknownName(what, " ".join(words)[:60])


def require_unique(what: str, name: str, siblings: Sequence[T], label: Callable[[T], str],
                   own_id: int | None = None) -> None:  # fmt: skip
    if any(fold(label(s)) == fold(name) for s in siblings if s.id != own_id):
        raise NameTaken(what, name)


def _stage_label(stage: Stage) -> str:
    return stage.name or stage.code


def stage_label(stage: Stage) -> dict[str, str | None]:
    """What a timeline entry keeps of a stage to name it later, in the reader's language: its
    own name, or for a system stage never renamed its code (the front end localizes it)."""
    return {"entity": stage.entity, "code": stage.code, "name": stage.name}


def pipeline_label(pipeline: Pipeline) -> dict[str, str | None]:
    """What a timeline entry keeps of a pipeline (None: the default one, never renamed)."""
    return {"name": pipeline.name}


def _pipeline_label(pipeline: Pipeline) -> str:
    return pipeline.name or ""


class StageService:
    def __init__(
        self, repos: Repos, runtime: Runtime, elements: ElementService, fields: FieldService
    ) -> None:
        self.repos = repos
        self.runtime = runtime
        self.elements = elements
        self.fields = fields

    async def pipelines(self) -> Sequence[Pipeline]:
        return await self.repos.pipelines.all()

    async def stages(self, pipeline_id: int) -> Sequence[Stage]:
        return await self.repos.pipelines.stages(pipeline_id)

    async def lead_statuses(self) -> Sequence[Stage]:
        return await self.repos.pipelines.lead_statuses()

    async def targets(self, actor: Actor, ref: ElementRef) -> tuple[Deal | Lead, Sequence[Stage]]:
        """The element (checked for update rights) and the stages it can move to."""
        element = await self.elements.load(actor, ref, Operation.UPDATE)
        if isinstance(element, Deal):
            return element, await self.repos.pipelines.stages(element.pipeline_id)
        if isinstance(element, Lead):
            return element, await self.repos.pipelines.lead_statuses()
        raise InvalidValue("element", ref.code)

    async def move(
        self, actor: Actor, ref: ElementRef, stage_id: int, reason: str | None = None
    ) -> Deal | Lead:
        """Move a deal to a stage of its own pipeline, or a lead to a status."""
        element, allowed = await self.targets(actor, ref)
        stage = next((s for s in allowed if s.id == stage_id), None)
        if stage is None:
            raise StageMismatch()
        current = element.stage_id if isinstance(element, Deal) else element.status_id
        if current == stage.id:
            return element
        reason = (reason or "").strip()[:MAX_REASON] or None
        if stage.semantic == FAILURE and reason is None:
            raise ReasonRequired()
        if isinstance(element, Lead) and stage.semantic == SUCCESS:
            raise InvalidValue("status", "converted")  # a lead reaches success by conversion
        if missing := await self.fields.missing(actor, element, stage.id):
            raise FieldsRequired(
                stage.id,
                tuple(f.id for f in missing),
                code=ref.code,
                stage=stage,
                fields=tuple(missing),
            )
        now = self.runtime.clock.now()
        before = element.stage if isinstance(element, Deal) else element.status
        if isinstance(element, Deal):
            element.stage_id = stage.id
            element.stage = stage
            element.stage_changed_at = now
            element.failure_reason = reason if stage.semantic == FAILURE else None
        else:
            element.status_id = stage.id
            element.status = stage
        element.closed_at = now if stage.semantic in (SUCCESS, FAILURE) else None
        element.updated_at = now
        data: dict[str, Any] = {
            "old": current,
            "new": stage.id,
            "semantic": stage.semantic,
            # Names as they were, so the entry stays readable after a rename or a delete.
            "old_label": stage_label(before),
            "new_label": stage_label(stage),
        }
        if reason:
            data["reason"] = reason
        await self.elements.record(actor, ref, TimelineKind.STAGE, **data)
        await self.repos.commit()
        return element

    async def move_to_pipeline(self, actor: Actor, ref: ElementRef, pipeline_id: int) -> Deal:
        """Move a deal to another pipeline, at that pipeline's first stage (Bitrix24 does so)."""
        element = await self.elements.load(actor, ref, Operation.UPDATE)
        if not isinstance(element, Deal):
            raise InvalidValue("element", ref.code)
        pipeline = await self.repos.pipelines.get(pipeline_id)
        if pipeline is None:
            raise NotFound("pipeline", pipeline_id)
        if pipeline.id == element.pipeline_id:
            return element
        first = (await self.repos.pipelines.stages(pipeline.id))[0]
        now = self.runtime.clock.now()
        old = (element.pipeline_id, element.stage_id)
        labels = {
            "old_label": pipeline_label(element.pipeline),
            "new_label": pipeline_label(pipeline),
            "old_stage_label": stage_label(element.stage),
            "stage_label": stage_label(first),
        }
        element.pipeline_id, element.pipeline = pipeline.id, pipeline
        element.stage_id, element.stage = first.id, first
        element.stage_changed_at = now
        element.closed_at = None
        element.failure_reason = None
        element.updated_at = now
        await self.elements.record(
            actor,
            ref,
            TimelineKind.PIPELINE,
            old=old[0],
            new=pipeline.id,
            old_stage=old[1],
            stage=first.id,
            **labels,
        )
        await self.repos.commit()
        return element

    # --- configuration (admins) ----------------------------------------------------------------
    async def add_pipeline(
        self, actor: Actor, name: str, label: Callable[[Pipeline], str] = _pipeline_label
    ) -> Pipeline:
        """A new pipeline with the system stages: new, won, lost (Bitrix24 does the same).

        `label` gives an entry's name as the admin sees it (a seeded one has a localized
        default): names are unique among pipelines, case-insensitively."""
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        name = clean_name(name)
        existing = await self.repos.pipelines.all()
        require_unique("pipeline", name, existing, label)
        pipeline = await self.repos.pipelines.add(
            Pipeline(name=name, sort=max((p.sort for p in existing), default=0) + 10)
        )
        for sort, (code, color, semantic) in enumerate(
            (
                ("NEW", "#39A8EF", PROCESS),
                ("WON", "#7BD500", SUCCESS),
                ("LOSE", "#FF5752", FAILURE),
            )
        ):
            await self.repos.pipelines.add_stage(
                Stage(entity="deal", pipeline_id=pipeline.id, code=code, color=color,
                      sort=(sort + 1) * 10, semantic=semantic, is_system=True)
            )  # fmt: skip
        await self.repos.commit()
        self.runtime.catalog.invalidate()
        return pipeline

    async def add_stage(
        self,
        actor: Actor,
        pipeline_id: int | None,
        name: str,
        label: Callable[[Stage], str] = _stage_label,
    ) -> Stage:
        """An in-progress stage placed before the final ones (or a lead status if no pipeline).
        Names are unique within a pipeline (and among lead statuses), case-insensitively."""
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        name = clean_name(name)
        if pipeline_id is not None:
            if await self.repos.pipelines.get(pipeline_id) is None:
                raise NotFound("pipeline", pipeline_id)
            siblings = await self.repos.pipelines.stages(pipeline_id)
        else:
            siblings = await self.repos.pipelines.lead_statuses()
        require_unique("stage", name, siblings, label)
        in_progress = [s for s in siblings if s.semantic == PROCESS]
        finals = [s for s in siblings if s.semantic != PROCESS]
        sort = (in_progress[-1].sort if in_progress else 0) + 1
        if finals and sort >= finals[0].sort:  # make room before the final stages
            for final in finals:
                final.sort += 10
        stage = await self.repos.pipelines.add_stage(
            Stage(entity="deal" if pipeline_id is not None else "lead", pipeline_id=pipeline_id,
                  code=f"C{len(siblings) + 1}_{self.runtime.clock.now():%H%M%S%f}"[:32], name=name,
                  sort=sort, semantic=PROCESS, is_system=False)
        )  # fmt: skip
        await self.repos.commit()
        self.runtime.catalog.invalidate()
        return stage

    async def rename_stage(
        self, actor: Actor, stage_id: int, name: str, label: Callable[[Stage], str] = _stage_label
    ) -> Stage:
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        stage = await self.repos.pipelines.stage(stage_id)
        if stage is None:
            raise NotFound("stage", stage_id)
        name = clean_name(name)
        siblings = (
            await self.repos.pipelines.stages(stage.pipeline_id)
            if stage.pipeline_id is not None
            else await self.repos.pipelines.lead_statuses()
        )
        require_unique("stage", name, siblings, label, own_id=stage.id)
        stage.name = name
        await self.repos.commit()
        self.runtime.catalog.invalidate()
        return stage

    async def delete_stage(self, actor: Actor, stage_id: int) -> None:
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        stage = await self.repos.pipelines.stage(stage_id)
        if stage is None:
            raise NotFound("stage", stage_id)
        if stage.is_system:
            raise CannotDelete(
                "system",
                part="initial" if stage.semantic == PROCESS else "final",
                entity=stage.entity,
            )
        count = await self.repos.pipelines.stage_use_count(stage)
        if count:
            raise CannotDelete("in_use", count=count, entity=stage.entity)
        await self.repos.pipelines.delete_stage(stage)
        await self.repos.commit()
        self.runtime.catalog.invalidate()

    async def pipeline_named(
        self, text: str, label: Callable[[Pipeline], str] = _pipeline_label
    ) -> tuple[Pipeline, str]:
        """The pipeline `text` starts with (id or name) and the rest of `text`."""
        return pick("pipeline", text, await self.repos.pipelines.all(), label)

    async def stage_named(
        self, text: str, label: Callable[[Stage], str] = _stage_label
    ) -> tuple[Stage, str]:
        """The stage or lead status `text` starts with (id or name) and the rest of `text`."""
        return pick("stage", text, await self.repos.pipelines.all_stages(), label)


def entity_for_stage(stage: Stage) -> EntityType:
    return EntityType.DEAL if stage.entity == "deal" else EntityType.LEAD
