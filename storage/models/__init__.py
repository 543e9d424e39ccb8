"""Every ORM model, importable from one place (Alembic's env imports this package)."""

from storage.models.elements import Communication, Company, Contact, Deal, Lead, TimelineEntry
from storage.models.people import Chat, Department, Invite, User
from storage.models.pipeline import CrmSetting, DictionaryItem, Pipeline, Stage

__all__ = [
    "Chat",
    "Communication",
    "Company",
    "Contact",
    "CrmSetting",
    "Deal",
    "Department",
    "DictionaryItem",
    "Invite",
    "Lead",
    "Pipeline",
    "Stage",
    "TimelineEntry",
    "User",
]
