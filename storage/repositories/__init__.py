"""Repositories: SQL for one aggregate each. They flush, never commit — services commit."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories.activities import ActivityRepo, ReminderRepo
from storage.repositories.chats import ChatRepo
from storage.repositories.currencies import CurrencyRepo
from storage.repositories.digests import DigestRepo
from storage.repositories.elements import ElementRepo
from storage.repositories.exchange import ExchangeRepo
from storage.repositories.fields import FieldRepo
from storage.repositories.merges import MergeRepo
from storage.repositories.pipelines import PipelineRepo
from storage.repositories.products import ProductRepo
from storage.repositories.relay import RelayRepo
from storage.repositories.reports import ReportRepo
from storage.repositories.roles import RoleRepo
from storage.repositories.triage import TriageRepo
from storage.repositories.updates import ProcessedUpdateRepo
from storage.repositories.users import DepartmentRepo, InviteRepo, UserRepo


class Repos:
    """Every repository over one session (one unit of work)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.users = UserRepo(session)
        self.departments = DepartmentRepo(session)
        self.invites = InviteRepo(session)
        self.chats = ChatRepo(session)
        self.elements = ElementRepo(session)
        self.pipelines = PipelineRepo(session)
        self.activities = ActivityRepo(session)
        self.reminders = ReminderRepo(session)
        self.processed_updates = ProcessedUpdateRepo(session)
        self.triage = TriageRepo(session)
        self.relay = RelayRepo(session)
        self.reports = ReportRepo(session)
        self.currencies = CurrencyRepo(session)
        self.digests = DigestRepo(session)
        self.products = ProductRepo(session)
        self.roles = RoleRepo(session)
        self.fields = FieldRepo(session)
        self.merges = MergeRepo(session)
        self.exchange = ExchangeRepo(session)

    async def commit(self) -> None:
        await self.session.commit()


__all__ = [
    "ActivityRepo",
    "ChatRepo",
    "CurrencyRepo",
    "DepartmentRepo",
    "DigestRepo",
    "ElementRepo",
    "ExchangeRepo",
    "FieldRepo",
    "InviteRepo",
    "MergeRepo",
    "PipelineRepo",
    "ProcessedUpdateRepo",
    "ProductRepo",
    "RelayRepo",
    "ReminderRepo",
    "ReportRepo",
    "Repos",
    "RoleRepo",
    "TriageRepo",
    "UserRepo",
]
