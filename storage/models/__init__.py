"""Every ORM model, importable from one place (Alembic's env imports this package)."""

from storage.models.activities import Activity, ActivityBinding, ActivityParticipant, Reminder
from storage.models.currencies import CurrencyRate
from storage.models.digests import DigestDelivery, DigestSchedule
from storage.models.elements import Communication, Company, Contact, Deal, Lead, TimelineEntry
from storage.models.fields import (
    CardView,
    CustomField,
    FieldAccess,
    FieldRequirement,
    FieldSection,
    FieldValue,
)
from storage.models.merges import MergeRecord
from storage.models.people import Chat, Department, Invite, RoleRecord, User
from storage.models.pipeline import CrmSetting, DictionaryItem, Pipeline, Stage
from storage.models.products import DealProduct, ElementLink, Product
from storage.models.triage import (
    InboundSource,
    InboundSubmission,
    TriageMember,
    TriageMessage,
    TriageQueue,
    TriageRequest,
)
from storage.models.updates import ProcessedUpdate

__all__ = [
    "Activity",
    "ActivityBinding",
    "ActivityParticipant",
    "CardView",
    "Chat",
    "Communication",
    "Company",
    "Contact",
    "CrmSetting",
    "CurrencyRate",
    "CustomField",
    "Deal",
    "DealProduct",
    "Department",
    "DictionaryItem",
    "DigestDelivery",
    "DigestSchedule",
    "ElementLink",
    "FieldAccess",
    "FieldRequirement",
    "FieldSection",
    "FieldValue",
    "InboundSource",
    "InboundSubmission",
    "Invite",
    "Lead",
    "MergeRecord",
    "Pipeline",
    "ProcessedUpdate",
    "Product",
    "Reminder",
    "RoleRecord",
    "Stage",
    "TimelineEntry",
    "TriageMember",
    "TriageMessage",
    "TriageQueue",
    "TriageRequest",
    "User",
]
