"""Localized names of domain values: roles, stages, statuses, dictionaries, element kinds.

Seeded entries keep `name` NULL in the database and are shown by their code's localized
name here; once someone renames one, their name is shown as typed.
"""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from crm.catalog import PipelineInfo, StageInfo
from crm.enums import EntityType, Role
from storage.models import DictionaryItem, Pipeline, Stage

_ROLES = {Role.ADMIN: __("administrator"), Role.MANAGER: __("manager"), Role.REP: __("sales rep")}

_DEAL_STAGES = {
    "NEW": __("New"),
    "PREPARATION": __("Preparing documents"),
    "PREPAYMENT_INVOICE": __("Prepayment invoice"),
    "EXECUTING": __("In progress"),
    "FINAL_INVOICE": __("Final invoice"),
    "WON": __("Deal won"),
    "LOSE": __("Deal lost"),
}
_LEAD_STATUSES = {
    "NEW": __("Unprocessed"),
    "IN_PROCESS": __("In progress"),
    "PROCESSED": __("Processed"),
    "CONVERTED": __("Good lead"),
    "JUNK": __("Junk lead"),
}
_ENTITIES = {
    EntityType.LEAD: __("lead"),
    EntityType.CONTACT: __("contact"),
    EntityType.COMPANY: __("company"),
    EntityType.DEAL: __("deal"),
    EntityType.ACTIVITY: __("activity"),
}
SOURCES = {
    "CALL": __("Call"),
    "EMAIL": __("E-mail"),
    "WEB": __("Website"),
    "WEBFORM": __("Web form"),
    "TELEGRAM": __("Telegram"),
    "ADVERTISING": __("Advertising"),
    "PARTNER": __("Partner"),
    "RECOMMENDATION": __("Recommendation"),
    "TRADE_SHOW": __("Trade show"),
    "CALLBACK": __("Callback"),
    "OTHER": __("Other"),
}


def role_name(role: Role) -> str:
    return str(_ROLES[role])


def stage_name(stage: Stage | StageInfo) -> str:
    if stage.name:
        return stage.name
    names = _DEAL_STAGES if stage.entity == "deal" else _LEAD_STATUSES
    return str(names[stage.code]) if stage.code in names else stage.code


def pipeline_name(pipeline: Pipeline | PipelineInfo) -> str:
    return pipeline.name or _("General")


def entity_name(entity: EntityType) -> str:
    return str(_ENTITIES[entity])


def dictionary_name(item: DictionaryItem) -> str:
    """A renamed or custom entry shows its own name; a seeded one its localized default."""
    if item.name:
        return item.name
    return str(SOURCES[item.code]) if item.kind == "source" and item.code in SOURCES else item.code
