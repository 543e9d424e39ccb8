"""Localized names of domain values: roles, stages, statuses, dictionaries, element kinds.

Seeded entries keep `name` NULL in the database and are shown by their code's localized
name here; once someone renames one, their name is shown as typed.
"""

from __future__ import annotations

from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from babel.support import LazyProxy

from crm.catalog import PipelineInfo, StageInfo
from crm.dictionary_kinds import LEAD_STATUS
from crm.editing import Field
from crm.enums import EntityType, FieldKind, Role
from crm.field_book import FieldInfo
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
# The seeded values of the other dictionaries (migrations 0002 and 0013), Bitrix24's.
_VALUES: dict[str, dict[str, LazyProxy]] = {
    "source": SOURCES,
    "contact_type": {
        "CLIENT": __("Client"),
        "SUPPLIER": __("Supplier"),
        "PARTNER": __("Partner"),
        "OTHER": __("Other"),
    },
    "company_type": {
        "CUSTOMER": __("Client"),
        "SUPPLIER": __("Supplier"),
        "COMPETITOR": __("Competitor"),
        "PARTNER": __("Partner"),
        "OTHER": __("Other"),
    },
    "industry": {
        "IT": __("Information technology"),
        "TELECOM": __("Telecommunications"),
        "MANUFACTURING": __("Manufacturing"),
        "BANKING": __("Banking"),
        "CONSULTING": __("Consulting"),
        "FINANCE": __("Finance"),
        "GOVERNMENT": __("Government"),
        "DELIVERY": __("Delivery"),
        "ENTERTAINMENT": __("Entertainment"),
        "NOTPROFIT": __("Non-profit"),
        "OTHER": __("Other"),
    },
    "deal_type": {
        "SALE": __("Sale"),
        "COMPLEX": __("Complex sale"),
        "GOODS": __("Sale of goods"),
        "SERVICES": __("Sale of services"),
        "SERVICE": __("After-sales service"),
    },
    "employees": {
        "EMPLOYEES_1": __("fewer than 50"),
        "EMPLOYEES_2": __("50–250"),
        "EMPLOYEES_3": __("250–500"),
        "EMPLOYEES_4": __("over 500"),
    },
    "salutation": {
        "MR": __("Mr."),
        "MRS": __("Mrs."),
        "MS": __("Ms."),
        "DR": __("Dr."),
    },
}
# The dictionaries as /dictionaries lists them, and every name an admin may call one by in
# /dictionary_add and friends (the localized ones and the English ones are both accepted).
_DICTIONARIES: dict[str, LazyProxy] = {
    "source": __("Sources"),
    "contact_type": __("Contact types"),
    "salutation": __("Salutations"),
    "company_type": __("Company types"),
    "industry": __("Industries"),
    "employees": __("Employee counts"),
    "deal_type": __("Deal types"),
    LEAD_STATUS: __("Lead statuses"),
}
_ALIASES: dict[str, LazyProxy] = {
    # TRANSLATORS: names an admin may type for this dictionary, separated by commas.
    "source": __("source, sources"),
    # TRANSLATORS: names an admin may type for this dictionary, separated by commas.
    "contact_type": __("contact type, contact types, type of contact"),
    # TRANSLATORS: names an admin may type for this dictionary, separated by commas.
    "salutation": __("salutation, salutations, honorific, title of address"),
    # TRANSLATORS: names an admin may type for this dictionary, separated by commas.
    "company_type": __("company type, company types, type of company"),
    # TRANSLATORS: names an admin may type for this dictionary, separated by commas.
    "industry": __("industry, industries"),
    # TRANSLATORS: names an admin may type for this dictionary, separated by commas.
    "employees": __("employee count, employee counts, employees, number of employees"),
    # TRANSLATORS: names an admin may type for this dictionary, separated by commas.
    "deal_type": __("deal type, deal types, type of deal"),
    # TRANSLATORS: names an admin may type for this dictionary, separated by commas.
    LEAD_STATUS: __("lead status, lead statuses, statuses"),
}


def kind_title(kind: str) -> str:
    """A dictionary as /dictionaries names it: "Contact types"."""
    return str(_DICTIONARIES[kind]) if kind in _DICTIONARIES else kind


def kind_names() -> dict[str, list[str]]:
    """Every name of every dictionary an admin may type: in their language and in English,
    with the code ("contact_type", "contact type") too."""
    names = {kind: [kind, kind.replace("_", " ")] for kind in _DICTIONARIES}
    i18n = get_i18n()
    for locale in {i18n.current_locale, "en"}:
        with i18n.use_locale(locale):
            for kind, title in _DICTIONARIES.items():
                names[kind].append(str(title))
                names[kind] += [name.strip() for name in str(_ALIASES[kind]).split(",")]
    return names


_FIELDS = {
    Field.TITLE: __("title"),
    Field.NAME: __("name"),
    Field.PHONE: __("phone"),
    Field.EMAIL: __("e-mail"),
    Field.AMOUNT: __("amount"),
    Field.CONTACT_TYPE: __("contact type"),
    Field.SALUTATION: __("salutation"),
    Field.COMPANY_TYPE: __("company type"),
    Field.INDUSTRY: __("industry"),
    Field.EMPLOYEES: __("employee count"),
    Field.DEAL_TYPE: __("deal type"),
}


# System fields by their key (crm.field_book.SYSTEM_FIELDS), as /fields and /set name them.
_SYSTEM_FIELDS = {
    **{field.value: name for field, name in _FIELDS.items()},
    "source": __("source"),
    "comment": __("comment"),
    "company": __("company"),
    "contact": __("contact"),
    "contact_type": __("contact type"),
    "company_type": __("company type"),
    "industry": __("industry"),
    "deal_type": __("deal type"),
}
_KINDS = {
    FieldKind.STRING: __("text"),
    FieldKind.NUMBER: __("number"),
    FieldKind.DATE: __("date"),
    FieldKind.BOOL: __("yes/no"),
    FieldKind.LIST: __("list"),
    FieldKind.MONEY: __("money"),
    FieldKind.LINK: __("link to an element"),
}


def field_label(info: FieldInfo) -> str:
    """A field as a person calls it: a custom one by its name, a system one in their language."""
    if info.name:
        return info.name
    return str(_SYSTEM_FIELDS.get(info.code, info.code))


def kind_name(kind: FieldKind) -> str:
    return str(_KINDS[kind])


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
    default = _VALUES.get(item.kind, {}).get(item.code)
    return str(default) if default is not None else item.code


def entry_name(entry: DictionaryItem | Stage) -> str:
    """A value in /dictionaries: a dictionary's entry or a lead status."""
    return stage_name(entry) if isinstance(entry, Stage) else dictionary_name(entry)


def code_label(what: str, code: str, name: str | None) -> str:
    """The shown name of a stage ("deal_stage", "lead_status"), a pipeline or a dictionary
    entry given by its code and stored name: what the CSV export writes and import reads."""
    if what in ("deal_stage", "lead_status"):
        return _stage_text("deal" if what == "deal_stage" else "lead", code, name)
    if name:
        return name
    if what == "pipeline":
        return _("General")
    default = _VALUES.get(what, {}).get(code)  # a dictionary's seeded entry
    return str(default) if default is not None else code
