from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CrmSetting, Deal, DictionaryItem, Lead, Pipeline, Stage


class PipelineRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def default(self) -> Pipeline:
        pipeline = await self.session.scalar(
            select(Pipeline).order_by(Pipeline.is_default.desc(), Pipeline.sort, Pipeline.id)
        )
        if pipeline is None:
            raise LookupError("no pipeline: the database is not migrated")
        return pipeline

    async def get(self, pipeline_id: int) -> Pipeline | None:
        return await self.session.get(Pipeline, pipeline_id)

    async def all(self) -> Sequence[Pipeline]:
        query = select(Pipeline).order_by(Pipeline.sort, Pipeline.id)
        return (await self.session.scalars(query)).all()

    async def add(self, pipeline: Pipeline) -> Pipeline:
        self.session.add(pipeline)
        await self.session.flush()
        return pipeline

    async def stage(self, stage_id: int) -> Stage | None:
        return await self.session.get(Stage, stage_id)

    async def stages(self, pipeline_id: int) -> Sequence[Stage]:
        query = (
            select(Stage)
            .where(Stage.entity == "deal", Stage.pipeline_id == pipeline_id)
            .order_by(Stage.sort, Stage.id)
        )
        return (await self.session.scalars(query)).all()

    async def all_stages(self) -> Sequence[Stage]:
        query = select(Stage).order_by(Stage.entity, Stage.pipeline_id, Stage.sort, Stage.id)
        return (await self.session.scalars(query)).all()

    async def lead_statuses(self) -> Sequence[Stage]:
        query = select(Stage).where(Stage.entity == "lead").order_by(Stage.sort, Stage.id)
        return (await self.session.scalars(query)).all()

    async def add_stage(self, stage: Stage) -> Stage:
        self.session.add(stage)
        await self.session.flush()
        return stage

    async def delete_stage(self, stage: Stage) -> None:
        await self.session.delete(stage)
        await self.session.flush()

    async def stage_in_use(self, stage: Stage) -> bool:
        model = Lead if stage.entity == "lead" else Deal
        column = Lead.status_id if stage.entity == "lead" else Deal.stage_id
        count = await self.session.scalar(
            select(func.count()).select_from(model).where(column == stage.id)
        )
        return bool(count)

    async def setting(self, key: str) -> str | None:
        row = await self.session.get(CrmSetting, key)
        return row.value if row is not None else None

    async def set_setting(self, key: str, value: str) -> None:
        row = await self.session.get(CrmSetting, key)
        if row is None:
            self.session.add(CrmSetting(key=key, value=value))
        else:
            row.value = value
        await self.session.flush()

    async def dictionary_item(self, kind: str, code: str | None) -> DictionaryItem | None:
        if code is None:
            return None
        return await self.session.scalar(
            select(DictionaryItem).where(DictionaryItem.kind == kind, DictionaryItem.code == code)
        )

    async def dictionary(self, kind: str) -> Sequence[DictionaryItem]:
        query = (
            select(DictionaryItem)
            .where(DictionaryItem.kind == kind)
            .order_by(DictionaryItem.sort, DictionaryItem.id)
        )
        return (await self.session.scalars(query)).all()
