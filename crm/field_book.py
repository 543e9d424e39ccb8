"""The definitions of fields (`FieldBook`, a snapshot kept in memory), who sees them, and how a
typed value is read. The service that changes fields and values is crm/fields.py; this module
sits below crm/elements.py, so that a card gathers its fields under the card's own access check.
How a card arranges its fields (sections, the view a reader follows: `view_for`, `card_layout`)
is decided here too, from the same snapshot; crm/layouts.py changes sections and views.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from crm.codes import parse_code
from crm.dates import parse_when
from crm.enums import EntityType, FieldKind, Right
from crm.errors import InvalidValue
from crm.parsing import parse_money
from crm.permissions import AccessPolicy, Actor
from crm.snapshots import Snapshot
from storage.repositories import Repos


def fold(text: str) -> str:
    return " ".join(text.casefold().split())


# The system fields of each element type, in their default order (seeded as rows by migration
# 0012). The responsible person is not among them: every element has one, always shown.
SYSTEM_FIELDS: dict[EntityType, tuple[tuple[str, FieldKind], ...]] = {
    EntityType.LEAD: (
        ("title", FieldKind.STRING),
        ("name", FieldKind.STRING),
        ("phone", FieldKind.STRING),
        ("email", FieldKind.STRING),
        ("amount", FieldKind.MONEY),
        ("source", FieldKind.LIST),
        ("comment", FieldKind.STRING),
    ),
    EntityType.CONTACT: (
        ("name", FieldKind.STRING),
        ("phone", FieldKind.STRING),
        ("email", FieldKind.STRING),
        ("company", FieldKind.LINK),
        ("contact_type", FieldKind.LIST),
        ("salutation", FieldKind.LIST),
        ("source", FieldKind.LIST),
        ("comment", FieldKind.STRING),
    ),
    EntityType.COMPANY: (
        ("title", FieldKind.STRING),
        ("phone", FieldKind.STRING),
        ("email", FieldKind.STRING),
        ("company_type", FieldKind.LIST),
        ("industry", FieldKind.LIST),
        ("employees", FieldKind.LIST),
        ("source", FieldKind.LIST),
        ("comment", FieldKind.STRING),
    ),
    EntityType.DEAL: (
        ("title", FieldKind.STRING),
        ("amount", FieldKind.MONEY),
        ("contact", FieldKind.LINK),
        ("company", FieldKind.LINK),
        ("deal_type", FieldKind.LIST),
        ("source", FieldKind.LIST),
        ("comment", FieldKind.STRING),
    ),
}
ELEMENT_TYPES = tuple(SYSTEM_FIELDS)
CODE_PREFIX = "UF_CRM_"
MAX_TEXT = 1000
MAX_OPTIONS = 50
MAX_NUMBER = Decimal("1e15")
FIELD_YEARS = range(1800, 2201)  # a date field's year: birthdays and contracts long past too
# Field types as `/field_add` reads them, in the three languages.
KIND_WORDS: dict[str, FieldKind] = {
    word: kind
    for kind, words in {
        FieldKind.STRING: "string text tekst napis строка текст",
        FieldKind.NUMBER: "number liczba число",
        FieldKind.DATE: "date data дата",
        FieldKind.BOOL: "bool boolean yes/no tak/nie да/нет logiczne флаг",
        FieldKind.LIST: "list lista список",
        FieldKind.MONEY: "money kwota pieniądze деньги сумма",
        FieldKind.LINK: "link powiązanie привязка ссылка",
    }.items()
    for word in words.split()
}
TRUE_WORDS = frozenset({"yes", "y", "true", "1", "tak", "t", "да", "д", "+", "✅"})
FALSE_WORDS = frozenset({"no", "n", "false", "0", "nie", "нет", "н", "-", "❌"})


@dataclass(frozen=True, slots=True)
class FieldInfo:
    id: int
    entity: EntityType
    code: str
    name: str | None  # None: a system field, named by the front end
    kind: FieldKind
    is_system: bool
    hidden: bool
    section_id: int | None
    sort: int
    options: tuple[str, ...] = ()  # a list's choices; a link's element types
    required_at: frozenset[int] = frozenset()  # stage / lead status ids
    required_always: bool = False
    users: frozenset[int] = frozenset()  # visibility restricted to these users…
    departments: frozenset[int] = frozenset()  # …and these departments (with sub-departments)

    @property
    def restricted(self) -> bool:
        return bool(self.users or self.departments)

    @property
    def required(self) -> bool:
        return self.required_always or bool(self.required_at)

    def required_for(self, stage_id: int) -> bool:
        return self.required_always or stage_id in self.required_at

    @property
    def link_targets(self) -> tuple[EntityType, ...]:
        if self.kind is not FieldKind.LINK:
            return ()
        return tuple(EntityType(o) for o in self.options if o in set(ELEMENT_TYPES)) or (
            ELEMENT_TYPES
        )


@dataclass(frozen=True, slots=True)
class SectionInfo:
    id: int
    entity: EntityType
    name: str
    sort: int


@dataclass(frozen=True, slots=True)
class ViewInfo:
    id: int
    entity: EntityType
    user_id: int | None
    department_id: int | None
    layout: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FieldBook:
    fields: tuple[FieldInfo, ...]
    sections: tuple[SectionInfo, ...] = ()
    views: tuple[ViewInfo, ...] = ()
    _by_id: dict[int, FieldInfo] = field(default_factory=dict, init=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update({f.id: f for f in self.fields})

    def of(self, entity: EntityType) -> tuple[FieldInfo, ...]:
        return tuple(f for f in self.fields if f.entity is entity)

    def get(self, field_id: int) -> FieldInfo | None:
        return self._by_id.get(field_id)

    def system(self, entity: EntityType, code: str) -> FieldInfo | None:
        return next((f for f in self.of(entity) if f.is_system and f.code == code), None)


async def load_fields(repos: Repos) -> FieldBook:
    required: dict[int, set[int]] = {}
    always: set[int] = set()
    for requirement in await repos.fields.requirements():
        if requirement.stage_id is None:
            always.add(requirement.field_id)
        else:
            required.setdefault(requirement.field_id, set()).add(requirement.stage_id)
    users: dict[int, set[int]] = {}
    departments: dict[int, set[int]] = {}
    for access in await repos.fields.access():
        if access.user_id is not None:
            users.setdefault(access.field_id, set()).add(access.user_id)
        if access.department_id is not None:
            departments.setdefault(access.field_id, set()).add(access.department_id)
    fields = tuple(
        FieldInfo(
            id=f.id,
            entity=EntityType(f.entity),
            code=f.code,
            name=f.name,
            kind=FieldKind(f.kind),
            is_system=f.is_system,
            hidden=f.hidden,
            section_id=f.section_id,
            sort=f.sort,
            options=tuple(f.options or ()),
            required_at=frozenset(required.get(f.id, ())),
            required_always=f.id in always,
            users=frozenset(users.get(f.id, ())),
            departments=frozenset(departments.get(f.id, ())),
        )
        for f in await repos.fields.fields()
        if f.entity in set(ELEMENT_TYPES)
    )
    sections = tuple(
        SectionInfo(s.id, EntityType(s.entity), s.name, s.sort)
        for s in await repos.fields.sections()
    )
    views = tuple(
        ViewInfo(v.id, EntityType(v.entity), v.user_id, v.department_id, tuple(v.layout or ()))
        for v in await repos.fields.views()
    )
    return FieldBook(fields, sections, views)


class FieldCache(Snapshot[FieldBook]):
    async def _fetch(self, repos: Repos) -> FieldBook:
        return await load_fields(repos)


@dataclass(frozen=True, slots=True)
class Reading:
    """How typed text is read: dates in the user's language and zone, money in a currency."""

    locale: str
    timezone: str
    currency: str
    now: datetime


@dataclass(frozen=True, slots=True)
class Shown:
    """A field with its value on a card, as its reader may see it."""

    field: FieldInfo
    value: Any  # the stored value (see `read_value`); None when empty
    label: str | None = None  # a link's element name, when the reader may read that element


def read_value(info: FieldInfo, text: str, reading: Reading) -> Any:
    """The stored form of typed text: str, a decimal string, an ISO date, bool, an option,
    {"amount": "12.50", "currency": "PLN"}, or an element code. InvalidValue if it does not
    read (its `field` is the kind, so the reply can say what was expected)."""
    text = " ".join(text.split())
    kind = info.kind
    if not text:
        raise InvalidValue(kind.value, "")
    if kind is FieldKind.STRING:
        return text[:MAX_TEXT]
    if kind is FieldKind.NUMBER:
        return format(_number(text), "f")  # 1000000, never 1E+6
    if kind is FieldKind.DATE:
        return _day(text, reading).isoformat()
    if kind is FieldKind.BOOL:
        word = text.casefold()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise InvalidValue(kind.value, text[:64])
    if kind is FieldKind.LIST:
        wanted = fold(text)
        for option in info.options:
            if fold(option) == wanted:
                return option
        matches = [o for o in info.options if fold(o).startswith(wanted)]
        if len(matches) == 1:
            return matches[0]
        raise InvalidValue(kind.value, text[:64])
    if kind is FieldKind.MONEY:
        money = parse_money(text, reading.currency) or parse_money(
            f"{text} {reading.currency}", reading.currency
        )
        if money is None or money.amount < 0 or money.amount > MAX_NUMBER:
            raise InvalidValue(kind.value, text[:64])
        return {"amount": str(money.amount), "currency": money.currency}
    ref = parse_code(text.lstrip("/"))
    if ref is None or ref.entity not in info.link_targets:
        raise InvalidValue(kind.value, text[:64])
    return ref.code


def search_text(info: FieldInfo, value: Any) -> str:
    """What search matches a value by (numbers, dates and codes as stored)."""
    if isinstance(value, dict):
        return fold(str(value.get("amount", "")))
    if isinstance(value, bool):
        return ""
    return fold(str(value))[:600]


def _number(text: str) -> Decimal:
    cleaned = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidValue(FieldKind.NUMBER.value, text[:64]) from None
    if not number.is_finite() or abs(number) > MAX_NUMBER:
        raise InvalidValue(FieldKind.NUMBER.value, text[:64])
    return number.normalize() if number == number.to_integral() else number


def _day(text: str, reading: Reading) -> date:
    """`2027-01-15`, `15.01.2027`, `15.01`, `jutro`, `15 stycznia`, `15 января`."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    at = parse_when(
        text,
        now=reading.now,
        timezone=reading.timezone,
        locale=reading.locale,
        years=FIELD_YEARS,
    )
    if at is None:
        raise InvalidValue(FieldKind.DATE.value, text[:64])
    return at.astimezone(ZoneInfo(reading.timezone)).date()


def sees(policy: AccessPolicy, actor: Actor, info: FieldInfo) -> bool:
    """Whether `actor` may see `info` at all (a restricted field is absent for the others)."""
    if not info.restricted or actor.system or actor.user_id in info.users:
        return True
    if actor.department_id is not None and any(
        actor.department_id in policy.book.subtree(d) for d in info.departments
    ):
        return True
    return policy.has_right(actor, Right.SETTINGS)


# --- sections and card views -----------------------------------------------------------------
# The system field each card shows as its headline (not arranged by sections or views).
HEADLINE: dict[EntityType, str] = {
    EntityType.LEAD: "title",
    EntityType.CONTACT: "name",
    EntityType.COMPANY: "title",
    EntityType.DEAL: "title",
}
# The system fields in the order cards have always shown them: every card's default order
# (custom fields follow in the order they were made).
CARD_ORDER: dict[EntityType, tuple[str, ...]] = {
    EntityType.LEAD: ("name", "amount", "phone", "email", "source", "comment"),
    EntityType.CONTACT: (
        "company",
        "phone",
        "email",
        "source",
        "contact_type",
        "salutation",
        "comment",
    ),
    EntityType.COMPANY: (
        "phone",
        "email",
        "source",
        "company_type",
        "industry",
        "employees",
        "comment",
    ),
    EntityType.DEAL: ("amount", "contact", "company", "source", "deal_type", "comment"),
}
MAX_SECTIONS = 20  # four buttons each on /sections: within Telegram's 100


@dataclass(frozen=True, slots=True)
class ViewScope:
    """Whose card view: everybody's (the common view), a department's, or one user's."""

    user_id: int | None = None
    department_id: int | None = None

    @property
    def common(self) -> bool:
        return self.user_id is None and self.department_id is None

    def holds(self, view: ViewInfo) -> bool:
        return view.user_id == self.user_id and view.department_id == self.department_id


@dataclass(frozen=True, slots=True)
class Block:
    """A part of a card: a section's fields in order (`section` None: the fields without one,
    shown first, untitled)."""

    section: SectionInfo | None
    fields: tuple[FieldInfo, ...]


def sections_of(book: FieldBook, entity: EntityType) -> tuple[SectionInfo, ...]:
    return tuple(
        sorted((s for s in book.sections if s.entity is entity), key=lambda s: (s.sort, s.id))
    )


def arrangeable(book: FieldBook, entity: EntityType) -> tuple[FieldInfo, ...]:
    """The fields a card of this type arranges, in the default order: the system ones as cards
    always showed them, then the custom ones (the headline is not among them)."""
    rank = {code: i for i, code in enumerate(CARD_ORDER[entity])}
    system = sorted(
        (f for f in book.of(entity) if f.is_system and f.code in rank), key=lambda f: rank[f.code]
    )
    custom = sorted((f for f in book.of(entity) if not f.is_system), key=lambda f: (f.sort, f.id))
    return (*system, *custom)


def department_chain(parents: Mapping[int, int | None], department_id: int | None) -> list[int]:
    """A department, its parent, the parent's parent… (nearest first)."""
    chain: list[int] = []
    while department_id is not None and department_id not in chain:
        chain.append(department_id)
        department_id = parents.get(department_id)
    return chain


def view_for(
    book: FieldBook,
    entity: EntityType,
    user_id: int | None,
    department_chain: Sequence[int],
    *,
    own: bool,
) -> ViewInfo | None:
    """The view a reader's cards follow: their own (`own`: they hold Right.MY_VIEW), else the
    nearest of their departments', else the common one; None: the default."""
    views = [v for v in book.views if v.entity is entity]
    if own and user_id is not None:
        mine = next((v for v in views if v.user_id == user_id), None)
        if mine is not None:
            return mine
    for department_id in department_chain:
        found = next((v for v in views if v.department_id == department_id), None)
        if found is not None:
            return found
    return next((v for v in views if v.user_id is None and v.department_id is None), None)


def view_order(
    book: FieldBook, entity: EntityType, view: ViewInfo | None
) -> list[tuple[FieldInfo, bool]]:
    """Every arrangeable field with whether the view shows it, in the view's order: a layout
    lists field ids (a negative id: left out); fields it does not name (newer ones) follow in
    the default order, shown."""
    fields = arrangeable(book, entity)
    by_id = {f.id: f for f in fields}
    order: list[tuple[FieldInfo, bool]] = []
    seen: set[int] = set()
    for entry in view.layout if view is not None else ():
        info = by_id.get(abs(entry))
        if info is not None and info.id not in seen:
            seen.add(info.id)
            order.append((info, entry > 0))
    order += [(f, True) for f in fields if f.id not in seen]
    return order


def card_layout(
    book: FieldBook,
    entity: EntityType,
    view: ViewInfo | None,
    visible: Callable[[FieldInfo], bool],
) -> tuple[Block, ...] | None:
    """The blocks of a card: the fields without a section, then each section in order, each
    with the fields the view shows, in its order; never a hidden field nor one `visible`
    refuses. None when the type has neither sections nor a view: the card keeps the default
    layout it has always had."""
    sections = sections_of(book, entity)
    if view is None and not sections:
        return None
    known = {s.id for s in sections}
    shown = [f for f, on in view_order(book, entity, view) if on and not f.hidden and visible(f)]
    blocks = [Block(None, tuple(f for f in shown if f.section_id not in known))]
    blocks += [Block(s, tuple(f for f in shown if f.section_id == s.id)) for s in sections]
    return tuple(b for b in blocks if b.fields)
