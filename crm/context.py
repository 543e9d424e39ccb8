"""The domain's own configuration and the per-unit-of-work entry point used by front ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession

from crm.catalog import CatalogCache
from crm.clock import Clock, SystemClock
from crm.effects import Journal, journal_of
from crm.field_book import FieldCache
from crm.permissions import AccessPolicy
from crm.roles import RoleCache, RoleService
from storage.models import User
from storage.repositories import Repos


@dataclass(frozen=True, slots=True)
class CrmConfig:
    default_locale: str = "pl"
    default_timezone: str = "Europe/Warsaw"
    base_currency: str = "PLN"
    invite_ttl: timedelta = timedelta(hours=72)
    merge_undo_window: timedelta = timedelta(hours=24)  # 0: merges are recorded, not undone

    def timezone_of(self, user: User) -> str:
        return user.timezone or self.default_timezone

    def locale_of(self, user: User) -> str:
        return user.locale or self.default_locale


@dataclass(slots=True)
class Runtime:
    """Long-lived collaborators shared by every unit of work."""

    config: CrmConfig = field(default_factory=CrmConfig)
    clock: Clock = field(default_factory=SystemClock)
    policy: AccessPolicy = field(default_factory=AccessPolicy)
    catalog: CatalogCache = field(default_factory=CatalogCache)
    roles: RoleCache = field(default_factory=RoleCache)
    fields: FieldCache = field(default_factory=FieldCache)


class Crm:
    """The services over one database session: what a handler (or a REST view) talks to."""

    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.repos = Repos(session)
        self.runtime = runtime

    @property
    def journal(self) -> Journal:
        """What this unit of work did (`crm.effects`): noted by the services, kept on commit."""
        return journal_of(self.repos.session)

    @cached_property
    def users(self) -> UserService:
        return UserService(self.repos, self.runtime)

    @cached_property
    def chats(self) -> ChatService:
        return ChatService(self.repos, self.runtime)

    @cached_property
    def elements(self) -> ElementService:
        return ElementService(self.repos, self.runtime)

    @cached_property
    def edits(self) -> EditService:
        return EditService(self.repos, self.runtime, self.elements)

    @cached_property
    def stages(self) -> StageService:
        return StageService(self.repos, self.runtime, self.elements, self.fields)

    @cached_property
    def fields(self) -> FieldService:
        return FieldService(self.repos, self.runtime, self.elements)

    @cached_property
    def layouts(self) -> LayoutService:
        return LayoutService(self.repos, self.runtime)

    @cached_property
    def conversion(self) -> ConversionService:
        return ConversionService(self.repos, self.runtime, self.elements, self.fields)

    @cached_property
    def activities(self) -> ActivityService:
        return ActivityService(self.repos, self.runtime, self.elements)

    @cached_property
    def reminders(self) -> ReminderService:
        return ReminderService(self.repos, self.runtime)

    @cached_property
    def dictionaries(self) -> DictionaryService:
        return DictionaryService(self.repos, self.runtime, self.elements, self.stages)

    @cached_property
    def triage(self) -> TriageService:
        return TriageService(self.repos, self.runtime, self.elements)

    @cached_property
    def triage_sla(self) -> SlaService:
        return SlaService(self.repos, self.runtime, self.triage)

    @cached_property
    def relay(self) -> RelayService:
        return RelayService(self.repos, self.runtime, self.triage)

    @cached_property
    def shared_contacts(self) -> SharedContactService:
        return SharedContactService(self.repos, self.runtime, self.elements)

    @cached_property
    def courier(self) -> Courier:
        return Courier(self.repos, self.runtime)

    @cached_property
    def inbound(self) -> InboundService:
        return InboundService(self.repos, self.runtime, self.elements, self.triage)

    @cached_property
    def currencies(self) -> CurrencyService:
        return CurrencyService(self.repos, self.runtime)

    @cached_property
    def reports(self) -> ReportService:
        return ReportService(self.repos, self.runtime, self.elements, self.currencies)

    @cached_property
    def digests(self) -> DigestService:
        return DigestService(self.repos, self.runtime, self.reports, self.activities)

    @cached_property
    def products(self) -> ProductService:
        return ProductService(self.repos, self.runtime, self.elements, self.currencies)

    @cached_property
    def imports(self) -> ImportService:
        return ImportService(self.repos, self.runtime, self.elements, self.products)

    @cached_property
    def exports(self) -> ExportService:
        return ExportService(self.repos, self.runtime, self.elements)

    @cached_property
    def roles(self) -> RoleService:
        return RoleService(self.repos, self.runtime)

    @cached_property
    def merge(self) -> MergeService:
        return MergeService(self.repos, self.runtime, self.elements)

    @cached_property
    def search(self) -> SearchService:
        return SearchService(self.repos, self.runtime)


from crm.activities import ActivityService  # noqa: E402 - the services import Runtime from here
from crm.chats import ChatService  # noqa: E402
from crm.conversion import ConversionService  # noqa: E402
from crm.currencies import CurrencyService  # noqa: E402
from crm.dictionaries import DictionaryService  # noqa: E402
from crm.digests import DigestService  # noqa: E402
from crm.editing import EditService  # noqa: E402
from crm.elements import ElementService  # noqa: E402
from crm.exports import ExportService  # noqa: E402
from crm.fields import FieldService  # noqa: E402
from crm.imports import ImportService  # noqa: E402
from crm.inbound import InboundService  # noqa: E402
from crm.layouts import LayoutService  # noqa: E402
from crm.merge import MergeService  # noqa: E402
from crm.products import ProductService  # noqa: E402
from crm.relay import RelayService  # noqa: E402
from crm.reminders import ReminderService  # noqa: E402
from crm.reports import ReportService  # noqa: E402
from crm.search import SearchService  # noqa: E402
from crm.shared_contacts import SharedContactService  # noqa: E402
from crm.stages import StageService  # noqa: E402
from crm.triage import Courier, TriageService  # noqa: E402
from crm.triage_sla import SlaService  # noqa: E402
from crm.users import UserService  # noqa: E402
