"""One router per feature, built fresh by each module's `setup()` so that several dispatchers
(instances in one process, tests) never share a router."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    from handlers import (
        activities,
        assign,
        cancel,
        configure,
        create,
        dictionaries,
        editing,
        elements,
        exchange,
        fallback,
        fields,
        help,
        layouts,
        lists,
        merge,
        mode,
        products,
        relay,
        reports,
        roles,
        settings,
        shared_contact,
        stages,
        start,
        triage,
        triage_sla,
        whoami,
    )

    # cancel first: it must win over any dialog state.
    features = (
        cancel,
        start,
        help,
        settings,
        whoami,
        triage,  # before create: `/lead` as a reply in a triage group is its own
        triage_sla,
        relay,  # strangers' private messages, and edits on either side of the relay
        shared_contact,  # a contact card shared by a CRM user, whatever dialog is open
        create,
        elements,
        editing,
        stages,
        assign,
        lists,
        mode,
        activities,
        reports,
        products,
        merge,
        exchange,
        configure,
        fields,
        layouts,
        dictionaries,
        roles,
        fallback,  # last: whatever nobody else took
    )
    return [m.setup() for m in features]
