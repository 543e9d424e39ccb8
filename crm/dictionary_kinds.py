"""Which dictionaries exist and which element columns hold their codes.

One registry for the configuration screens (/dictionaries), the in-use rule of a delete, the
card's Edit menu and the card itself. Each dictionary's column on an element is named as the
dictionary (`contacts.contact_type`, `companies.employees`, …); sources are on every element.
Lead statuses are in the same menu but are stages (crm/stages.py), not dictionary entries.
"""

from __future__ import annotations

from storage.models import Company, Contact, Deal, Lead

LEAD_STATUS = "lead_status"

Model = type[Lead] | type[Contact] | type[Company] | type[Deal]

COLUMNS: dict[str, tuple[Model, ...]] = {
    "source": (Lead, Contact, Company, Deal),
    "contact_type": (Contact,),
    "salutation": (Contact,),
    "company_type": (Company,),
    "industry": (Company,),
    "employees": (Company,),
    "deal_type": (Deal,),
}
KINDS = tuple(COLUMNS)
# What /dictionaries offers, in this order (a button's data holds the index: append only).
MENU = (*KINDS, LEAD_STATUS)


def kinds_of(model: type[object]) -> tuple[str, ...]:
    """The dictionaries whose values an element of this model holds."""
    return tuple(kind for kind, models in COLUMNS.items() if model in models)
