from __future__ import annotations

from collections.abc import Sequence
from uuid import uuid4

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as lite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Company,
    Contact,
    CrmSetting,
    Deal,
    DictionaryItem,
    Lead,
    Pipeline,
    Stage,
)

_Configured = Pipeline | Stage | DictionaryItem
INSTALLATION_KEY = "installation_id"


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
        await self._fresh_id(pipeline)
        self.session.add(pipeline)
        await self.session.flush()
        return pipeline

    # Ids of pipelines, stages and dictionary entries are never given out again: an admin's
    # "/stage_delete 12" must not later reach a newer stage that took the number 12. PostgreSQL
    # sequences never go back; SQLite (no AUTOINCREMENT on these tables) gives a new row
    # max(id) + 1, so deleting the newest row would free its id. The highest id ever deleted
    # is kept in crm_settings and a new row starts above it.
    async def _fresh_id(self, row: _Configured) -> None:
        if self.session.get_bind().dialect.name != "sqlite":
            return
        table = type(row).__table__
        deleted = await self.setting(f"deleted_id.{type(row).__tablename__}")
        if deleted is None:
            return
        newest = await self.session.scalar(select(func.max(table.c.id)))
        if newest is None or newest <= int(deleted):
            row.id = int(deleted) + 1

    async def _forget_id(self, row: _Configured) -> None:
        if self.session.get_bind().dialect.name != "sqlite":
            return
        key = f"deleted_id.{type(row).__tablename__}"
        deleted = await self.setting(key)
        if deleted is None or int(deleted) < row.id:
            await self.set_setting(key, str(row.id))

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
        await self._fresh_id(stage)
        self.session.add(stage)
        await self.session.flush()
        return stage

    async def delete_stage(self, stage: Stage) -> None:
        await self._forget_id(stage)
        await self.session.delete(stage)
        await self.session.flush()

    async def stage_in_use(self, stage: Stage) -> bool:
        return bool(await self.stage_use_count(stage))

    async def stage_use_count(self, stage: Stage) -> int:
        """How many deals are in this stage (or leads have this status)."""
        model = Lead if stage.entity == "lead" else Deal
        column = Lead.status_id if stage.entity == "lead" else Deal.stage_id
        count = await self.session.scalar(
            select(func.count()).select_from(model).where(column == stage.id)
        )
        return int(count or 0)

    async def dictionary_item_by_id(self, item_id: int) -> DictionaryItem | None:
        return await self.session.get(DictionaryItem, item_id)

    async def add_dictionary_item(self, item: DictionaryItem) -> DictionaryItem:
        await self._fresh_id(item)
        self.session.add(item)
        await self.session.flush()
        return item

    async def delete_dictionary_item(self, item: DictionaryItem) -> None:
        await self._forget_id(item)
        await self.session.delete(item)
        await self.session.flush()

    async def dictionary_use_count(
        self, kind: str, code: str, models: Sequence[type[Lead | Contact | Company | Deal]]
    ) -> int:
        """How many elements of `models` hold this code in their column named `kind` (a
        source: leads, contacts, companies and deals; an industry: companies; …)."""
        total = 0
        for model in models:
            column = getattr(model, kind)
            count = await self.session.scalar(
                select(func.count()).select_from(model).where(column == code)
            )
            total += int(count or 0)
        return total

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

    async def installation_id(self) -> str:
        """A random id made once per installation (the domain of calendar UIDs), kept for good.

        Inserted with ON CONFLICT DO NOTHING and read back, so two instances asking at once
        agree on one value.
        """
        insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else lite_insert
        await self.session.execute(
            insert(CrmSetting)
            .values(key=INSTALLATION_KEY, value=f"{uuid4().hex}.telegram-crm")
            .on_conflict_do_nothing(index_elements=[CrmSetting.key])
        )
        value = await self.session.scalar(
            select(CrmSetting.value).where(CrmSetting.key == INSTALLATION_KEY)
        )
        if value is None:
            raise LookupError("the installation id was inserted and is not there")
        return value

    async def dictionary_item(self, kind: str, code: str | None) -> DictionaryItem | None:
        if code is None:
            return None
        return await self.session.scalar(
            select(DictionaryItem).where(DictionaryItem.kind == kind, DictionaryItem.code == code)
        )

    async def dictionaries(self, kinds: Sequence[str]) -> Sequence[DictionaryItem]:
        """The entries of several dictionaries at once (a card names its values with them)."""
        if not kinds:
            return ()
        query = (
            select(DictionaryItem)
            .where(DictionaryItem.kind.in_(kinds))
            .order_by(DictionaryItem.kind, DictionaryItem.sort, DictionaryItem.id)
        )
        return (await self.session.scalars(query)).all()

    async def dictionary(self, kind: str) -> Sequence[DictionaryItem]:
        query = (
            select(DictionaryItem)
            .where(DictionaryItem.kind == kind)
            .order_by(DictionaryItem.sort, DictionaryItem.id)
        )
        return (await self.session.scalars(query)).all()
