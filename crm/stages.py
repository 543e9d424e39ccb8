"""Pipelines, deal stages and lead statuses, and moving elements through them.

Stage semantics follow Bitrix24: 'process' (in progress), 'success' (won / converted) and
'failure' (lost / junk). Reaching success or failure closes the element; a failure needs a
reason. The initial and the final stages are system stages: renamable, never deletable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from crm.codes import ElementRef
from crm.elements import ElementService
from crm.enums import EntityType, Operation, Right
from crm.errors import CannotDelete, InvalidValue, NotFound, ReasonRequired, StageMismatch
from crm.permissions import Actor
from storage.models import Deal, Lead, Pipeline, Stage
from storage.repositories import Repos

if TYPE_CHECKING:
    from crm.context import Runtime

PROCESS, SUCCESS, FAILURE = "process", "success", "failure"
SEMANTICS = (PROCESS, SUCCESS, FAILURE)
MAX_REASON = 1000


class StageService:
    def __init__(self, repos: Repos, runtime: Runtime, elements: ElementService) -> None:
        self.repos = repos
        self.runtime = runtime
        self.elements = elements

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
        now = self.runtime.clock.now()
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
        data = {"old": current, "new": stage.id, "semantic": stage.semantic}
        if reason:
            data["reason"] = reason
        await self.elements.record(actor, ref, "stage", **data)
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
        element.pipeline_id, element.pipeline = pipeline.id, pipeline
        element.stage_id, element.stage = first.id, first
        element.stage_changed_at = now
        element.closed_at = None
        element.failure_reason = None
        element.updated_at = now
        await self.elements.record(
            actor, ref, "pipeline", old=old[0], new=pipeline.id, old_stage=old[1], stage=first.id
        )
        await self.repos.commit()
        return element

    # --- configuration (admins) ----------------------------------------------------------------
    async def add_pipeline(self, actor: Actor, name: str) -> Pipeline:
        """A new pipeline with the system stages: new, won, lost (Bitrix24 does the same)."""
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        name = name.strip()[:120]
        if not name:
            raise InvalidValue("name", name)
        existing = await self.repos.pipelines.all()
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

    async def add_stage(self, actor: Actor, pipeline_id: int | None, name: str) -> Stage:
        """An in-progress stage placed before the final ones (or a lead status if no pipeline)."""
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        name = name.strip()[:120]
        if not name:
            raise InvalidValue("name", name)
        if pipeline_id is not None:
            if await self.repos.pipelines.get(pipeline_id) is None:
                raise NotFound("pipeline", pipeline_id)
            siblings = await self.repos.pipelines.stages(pipeline_id)
        else:
            siblings = await self.repos.pipelines.lead_statuses()
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

    async def rename_stage(self, actor: Actor, stage_id: int, name: str) -> Stage:
        self.runtime.policy.require_right(actor, Right.SETTINGS)
        stage = await self.repos.pipelines.stage(stage_id)
        if stage is None:
            raise NotFound("stage", stage_id)
        name = name.strip()[:120]
        if not name:
            raise InvalidValue("name", name)
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
            raise CannotDelete("system")
        if await self.repos.pipelines.stage_in_use(stage):
            raise CannotDelete("in_use")
        await self.repos.pipelines.delete_stage(stage)
        await self.repos.commit()
        self.runtime.catalog.invalidate()


def entity_for_stage(stage: Stage) -> EntityType:
    return EntityType.DEAL if stage.entity == "deal" else EntityType.LEAD
