"""How cards arrange their fields (Bitrix24's card settings): sections and card views.

- A **section** is a titled group of fields of one element type; sections are made, renamed,
  moved up and down and deleted by whoever holds `Right.SETTINGS`. Deleting one never deletes
  a field: its fields lose the section and are hidden (their values stay), to be shown again
  or put into another section (which shows it) from the field's menu.
- A **view** says which fields a card shows and in which order (`crm.field_book.view_order`):
  the *common view* (the admin's, for everybody), a *department's view* (for its people and
  the departments below it, unless a nearer one has its own), and *my view* — a user's own,
  for those holding `Right.MY_VIEW`. A card follows the user's own view, else the nearest
  department's, else the common one, else the default order (`view_for`). A view orders
  fields within their sections; it never shows a hidden field nor one the reader may not see.
- A view starts as a copy of what its people saw until then; resetting deletes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crm.enums import EntityType, Right
from crm.errors import AccessDenied, InvalidValue, NotFound
from crm.field_book import (
    ELEMENT_TYPES,
    MAX_SECTIONS,
    FieldBook,
    FieldInfo,
    SectionInfo,
    ViewInfo,
    ViewScope,
    department_chain,
    sections_of,
    sees,
    view_for,
    view_order,
)
from crm.permissions import Actor
from crm.stages import clean_name, require_unique
from storage.models import CardView, FieldSection
from storage.repositories import Repos

if TYPE_CHECKING:
    from crm.context import Runtime


@dataclass(frozen=True, slots=True)
class ViewLine:
    """A field on a view's screen: whether the view shows it, and its section."""

    field: FieldInfo
    shown: bool
    section: SectionInfo | None


@dataclass(frozen=True, slots=True)
class ViewScreen:
    entity: EntityType
    scope: ViewScope
    stored: bool  # False: nothing saved yet (the screen shows what its people see now)
    lines: tuple[ViewLine, ...]  # in card order: the fields without a section, then sections


class LayoutService:
    def __init__(self, repos: Repos, runtime: Runtime) -> None:
        self.repos = repos
        self.runtime = runtime

    async def book(self) -> FieldBook:
        return await self.runtime.fields.get(self.repos)

    def _changed(self) -> None:
        self.runtime.fields.invalidate()

    def _settings(self, actor: Actor) -> None:
        self.runtime.policy.require_right(actor, Right.SETTINGS)

    @staticmethod
    def _entity(entity: EntityType) -> None:
        if entity not in ELEMENT_TYPES:
            raise InvalidValue("entity", entity.value)

    # --- what a reader's cards follow ----------------------------------------------------------
    def chain(self, actor: Actor) -> list[int]:
        return department_chain(self.runtime.policy.book.parents, actor.department_id)

    # --- sections -----------------------------------------------------------------------------
    async def sections(self, actor: Actor, entity: EntityType) -> tuple[SectionInfo, ...]:
        self._settings(actor)
        self._entity(entity)
        return sections_of(await self.book(), entity)

    async def section(self, actor: Actor, section_id: int) -> SectionInfo:
        self._settings(actor)
        found = next((s for s in (await self.book()).sections if s.id == section_id), None)
        if found is None:
            raise NotFound("section", section_id)
        return found

    async def add_section(self, actor: Actor, entity: EntityType, name: str) -> SectionInfo:
        siblings = await self.sections(actor, entity)
        name = clean_name(name)
        require_unique("section", name, siblings, lambda s: s.name)
        if len(siblings) >= MAX_SECTIONS:
            raise InvalidValue("sections", str(len(siblings)))
        row = FieldSection(
            entity=entity.value,
            name=name,
            sort=max((s.sort for s in siblings), default=0) + 10,
        )
        await self.repos.fields.add(row)
        await self.repos.commit()
        self._changed()
        return await self.section(actor, row.id)

    async def _row(self, actor: Actor, section_id: int) -> FieldSection:
        await self.section(actor, section_id)
        row = await self.repos.fields.section(section_id)
        if row is None:
            raise NotFound("section", section_id)
        return row

    async def rename_section(self, actor: Actor, section_id: int, name: str) -> SectionInfo:
        row = await self._row(actor, section_id)
        name = clean_name(name)
        siblings = sections_of(await self.book(), EntityType(row.entity))
        require_unique("section", name, siblings, lambda s: s.name, own_id=row.id)
        row.name = name
        await self.repos.commit()
        self._changed()
        return await self.section(actor, section_id)

    async def move_section(self, actor: Actor, section_id: int, delta: int) -> SectionInfo:
        """One place up (`delta` -1) or down (+1); at an end it stays."""
        info = await self.section(actor, section_id)
        order = list(sections_of(await self.book(), info.entity))
        at = next(i for i, s in enumerate(order) if s.id == section_id)
        to = at + (1 if delta > 0 else -1)
        if 0 <= to < len(order):
            order[at], order[to] = order[to], order[at]
            for i, section in enumerate(order):  # renumbered: equal sorts cannot swap
                row = await self.repos.fields.section(section.id)
                if row is not None:
                    row.sort = 10 * (i + 1)
            await self.repos.commit()
            self._changed()
        return await self.section(actor, section_id)

    async def delete_section(self, actor: Actor, section_id: int) -> tuple[SectionInfo, int]:
        """Delete a section; its fields stay, hidden and without a section (returns how many)."""
        info = await self.section(actor, section_id)
        row = await self._row(actor, section_id)
        fields = await self.repos.fields.in_section(section_id)
        for field in fields:
            field.section_id, field.hidden = None, True
        await self.repos.fields.delete(row)
        await self.repos.commit()
        self._changed()
        return info, len(fields)

    async def set_section(self, actor: Actor, field_id: int, section_id: int | None) -> FieldInfo:
        """Put a field into a section of its type (None: out of any). A hidden field put into
        a section is shown again there (how the fields of a deleted section come back)."""
        self._settings(actor)
        book = await self.book()
        info = book.get(field_id)
        if info is None or not sees(self.runtime.policy, actor, info):
            raise NotFound("field", field_id)
        if section_id is not None:
            section = await self.section(actor, section_id)
            if section.entity is not info.entity:
                raise NotFound("section", section_id)
        row = await self.repos.fields.field(field_id)
        if row is None:
            raise NotFound("field", field_id)
        row.section_id = section_id
        if section_id is not None:
            row.hidden = False
        await self.repos.commit()
        self._changed()
        found = (await self.book()).get(field_id)
        assert found is not None
        return found

    # --- views --------------------------------------------------------------------------------
    def authorize(self, actor: Actor, scope: ViewScope) -> None:
        """The common and departments' views are the admin's; one's own needs MY_VIEW."""
        if scope.user_id is None:
            self._settings(actor)
        elif scope.user_id != actor.user_id:
            raise AccessDenied(right=Right.SETTINGS)
        else:
            self.runtime.policy.require_right(actor, Right.MY_VIEW)

    async def department(self, actor: Actor, department_id: int) -> None:
        self._settings(actor)
        if (await self.runtime.roles.get(self.repos)).department(department_id) is None:
            raise NotFound("department", department_id)

    def _stored(self, book: FieldBook, entity: EntityType, scope: ViewScope) -> ViewInfo | None:
        return next((v for v in book.views if v.entity is entity and scope.holds(v)), None)

    def _start(self, book: FieldBook, entity: EntityType, scope: ViewScope) -> ViewInfo | None:
        """What a department's (or everybody's) people see while it has no view of its own."""
        if scope.common:
            return None
        chain = department_chain(self.runtime.policy.book.parents, scope.department_id)
        return view_for(book, entity, None, chain[1:], own=False)  # the parents', the common

    async def screen(self, actor: Actor, entity: EntityType, scope: ViewScope) -> ViewScreen:
        self._entity(entity)
        self.authorize(actor, scope)
        book = await self.book()
        return self._screen(book, actor, entity, scope)

    def _current(
        self, book: FieldBook, actor: Actor, entity: EntityType, scope: ViewScope
    ) -> ViewInfo | None:
        stored = self._stored(book, entity, scope)
        if stored is not None:
            return stored
        if scope.user_id is not None:  # what the user sees without a view of their own
            return view_for(book, entity, actor.user_id, self.chain(actor), own=False)
        return self._start(book, entity, scope)

    def _screen(
        self, book: FieldBook, actor: Actor, entity: EntityType, scope: ViewScope
    ) -> ViewScreen:
        sections = sections_of(book, entity)
        by_id = {s.id: s for s in sections}
        order = [
            (f, on)
            for f, on in view_order(book, entity, self._current(book, actor, entity, scope))
            if not f.hidden and sees(self.runtime.policy, actor, f)
        ]
        lines = [ViewLine(f, on, None) for f, on in order if f.section_id not in by_id]
        for section in sections:
            lines += [ViewLine(f, on, section) for f, on in order if f.section_id == section.id]
        stored = self._stored(book, entity, scope) is not None
        return ViewScreen(entity, scope, stored, tuple(lines))

    async def _save(
        self,
        actor: Actor,
        entity: EntityType,
        scope: ViewScope,
        layout: Sequence[int],
    ) -> ViewScreen:
        row = await self.repos.fields.view(entity.value, scope.user_id, scope.department_id)
        if row is None:
            row = CardView(
                entity=entity.value,
                user_id=scope.user_id,
                department_id=scope.department_id,
                layout=list(layout),
            )
            await self.repos.fields.add(row)
        else:
            row.layout = list(layout)
        await self.repos.commit()
        self._changed()
        return self._screen(await self.book(), actor, entity, scope)

    async def move(
        self, actor: Actor, entity: EntityType, scope: ViewScope, field_id: int, delta: int
    ) -> ViewScreen:
        """Move a field one place up or down among the fields of its section the editor sees
        (the others keep their places); at an end it stays."""
        screen = await self.screen(actor, entity, scope)
        book = await self.book()
        lines = list(screen.lines)
        at = next((i for i, line in enumerate(lines) if line.field.id == field_id), None)
        if at is None:
            raise NotFound("field", field_id)
        to = at + (1 if delta > 0 else -1)
        if not (0 <= to < len(lines)) or lines[to].section != lines[at].section:
            return screen
        order = view_order(book, entity, self._current(book, actor, entity, scope))
        ids = [f.id for f, _on in order]
        i, j = ids.index(lines[at].field.id), ids.index(lines[to].field.id)
        order[i], order[j] = order[j], order[i]
        return await self._save(actor, entity, scope, [f.id if on else -f.id for f, on in order])

    async def toggle(
        self, actor: Actor, entity: EntityType, scope: ViewScope, field_id: int
    ) -> ViewScreen:
        """Show a field the view leaves out, or leave out one it shows."""
        screen = await self.screen(actor, entity, scope)
        if not any(line.field.id == field_id for line in screen.lines):
            raise NotFound("field", field_id)
        book = await self.book()
        order = view_order(book, entity, self._current(book, actor, entity, scope))
        flipped = [(f, on != (f.id == field_id)) for f, on in order]
        layout = [f.id if on else -f.id for f, on in flipped]
        return await self._save(actor, entity, scope, layout)

    async def reset(self, actor: Actor, entity: EntityType, scope: ViewScope) -> ViewScreen:
        """Delete the scope's view: its people see the next view up (or the default) again."""
        await self.screen(actor, entity, scope)
        row = await self.repos.fields.view(entity.value, scope.user_id, scope.department_id)
        if row is not None:
            await self.repos.fields.delete(row)
            await self.repos.commit()
            self._changed()
        return self._screen(await self.book(), actor, entity, scope)


__all__ = ["LayoutService", "ViewLine", "ViewScreen"]
