"""Localized names of domain values: roles, stages, statuses, dictionaries, element kinds.

Seeded entries keep `name` NULL in the database and are shown by their code's localized
name here; once someone renames one, their name is shown as typed.
"""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from crm.catalog import PipelineInfo, StageInfo
from crm.editing import Field
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


_FIELDS = {
    Field.TITLE: __("title"),
    Field.NAME: __("name"),
    Field.PHONE: __("phone"),
    Field.EMAIL: __("e-mail"),
    Field.AMOUNT: __("amount"),
}


def field_name(field: Field) -> str:
    """A field of an element as the Edit button and the history name it."""
    return str(_FIELDS[field])


def role_name(role: Role) -> str:
    return str(_ROLES[role])


def default_user_name(role: Role) -> str:
    """What a person created without a name is called: their role, in the creator's language
    ("Administrator", "Handlowiec", "Менеджер по продажам")."""
    name = role_name(role)
    return name[:1].upper() + name[1:]


def stage_name(stage: Stage | StageInfo) -> str:
    return _stage_text(stage.entity, stage.code, stage.name)


def _stage_text(entity: str, code: str, name: str | None) -> str:
    if name:
        return name
    names = _DEAL_STAGES if entity == "deal" else _LEAD_STATUSES
    return str(names[code]) if code in names else code


def recorded_stage_name(label: object) -> str | None:
    """A stage as a timeline entry recorded it (crm.stages.stage_label), in today's language;
    None for an entry written before names were recorded."""
    if not isinstance(label, dict) or not isinstance(label.get("code"), str):
        return None
    name = label.get("name")
    return _stage_text(
        str(label.get("entity") or "deal"), label["code"], name if isinstance(name, str) else None
    )


def recorded_pipeline_name(label: object) -> str | None:
    """A pipeline as a timeline entry recorded it (crm.stages.pipeline_label)."""
    if not isinstance(label, dict):
        return None
    name = label.get("name")
    return name if isinstance(name, str) and name else _("General")


def pipeline_name(pipeline: Pipeline | PipelineInfo) -> str:
    return pipeline.name or _("General")


def entity_name(entity: EntityType) -> str:
    return str(_ENTITIES[entity])


def dictionary_name(item: DictionaryItem) -> str:
    """A renamed or custom entry shows its own name; a seeded one its localized default."""
    if item.name:
        return item.name
    return str(SOURCES[item.code]) if item.kind == "source" and item.code in SOURCES else item.code


def code_label(what: str, code: str, name: str | None) -> str:
    """The shown name of a stage ("deal_stage", "lead_status"), a pipeline or a dictionary
    entry given by its code and stored name: what the CSV export writes and import reads."""
    if what in ("deal_stage", "lead_status"):
        return _stage_text("deal" if what == "deal_stage" else "lead", code, name)
    if name:
        return name
    if what == "pipeline":
        return _("General")
    if what == "source" and code in SOURCES:
        return str(SOURCES[code])
    return code
