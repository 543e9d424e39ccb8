"""The CRM's configuration that nearly every update reads and almost nobody changes: the mode,
pipelines, stages and lead statuses — kept as immutable snapshots for a few seconds.

A change made here invalidates it at once; another instance sees a change within `ttl`.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.modes import CrmMode
from crm.snapshots import Snapshot
from storage.repositories import Repos


@dataclass(frozen=True, slots=True)
class StageInfo:
    id: int
    entity: str
    pipeline_id: int | None
    code: str
    name: str | None
    color: str
    sort: int
    semantic: str
    is_system: bool


@dataclass(frozen=True, slots=True)
class PipelineInfo:
    id: int
    name: str | None
    sort: int
    is_default: bool


@dataclass(frozen=True, slots=True)
class Catalog:
    mode: CrmMode
    pipelines: tuple[PipelineInfo, ...]
    stages: dict[int, tuple[StageInfo, ...]]  # deal stages by pipeline id, in order
    lead_statuses: tuple[StageInfo, ...]

    @property
    def default_pipeline(self) -> PipelineInfo:
        return next((p for p in self.pipelines if p.is_default), self.pipelines[0])

    def pipeline(self, pipeline_id: int) -> PipelineInfo | None:
        return next((p for p in self.pipelines if p.id == pipeline_id), None)

    def stage(self, stage_id: int) -> StageInfo | None:
        for stage in self.lead_statuses:
            if stage.id == stage_id:
                return stage
        for stages in self.stages.values():
            for stage in stages:
                if stage.id == stage_id:
                    return stage
        return None


class CatalogCache(Snapshot[Catalog]):
    async def _fetch(self, repos: Repos) -> Catalog:
        return await _load(repos)


async def _load(repos: Repos) -> Catalog:
    mode = CrmMode.parse(await repos.pipelines.setting("crm_mode"))
    pipelines = tuple(
        PipelineInfo(p.id, p.name, p.sort, p.is_default) for p in await repos.pipelines.all()
    )
    stages: dict[int, list[StageInfo]] = {p.id: [] for p in pipelines}
    statuses: list[StageInfo] = []
    for s in await repos.pipelines.all_stages():
        info = StageInfo(
            s.id, s.entity, s.pipeline_id, s.code, s.name, s.color, s.sort, s.semantic, s.is_system
        )
        if s.entity == "lead":
            statuses.append(info)
        elif s.pipeline_id in stages:
            stages[s.pipeline_id].append(info)
    return Catalog(mode, pipelines, {k: tuple(v) for k, v in stages.items()}, tuple(statuses))
