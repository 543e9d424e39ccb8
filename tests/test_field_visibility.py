"""The export hook of restricted fields (crm.fields.FieldService.values_for_export): a restricted
field is neither a column nor a value for whoever may not see it; values come in bulk."""

from __future__ import annotations

from crm.context import Crm
from crm.elements import ElementInput
from crm.enums import EntityType, FieldKind, Role
from crm.field_book import Reading
from crm.users import actor_of


async def test_values_for_export_leave_out_a_restricted_field(crm: Crm) -> None:
    boss = actor_of((await crm.users.create_invite(Role.ADMIN, "Szef")).user)
    rep = actor_of((await crm.users.create_invite(Role.REP, "Piotr", "Serwis")).user)
    sales = actor_of((await crm.users.create_invite(Role.REP, "Ola", "Sprzedaż")).user)
    open_ = await crm.fields.add(boss, EntityType.DEAL, FieldKind.STRING, "Umowa")
    secret = await crm.fields.add(boss, EntityType.DEAL, FieldKind.STRING, "Marża")
    reading = Reading("pl", "Europe/Warsaw", "PLN", crm.runtime.clock.now())
    ids = []
    for n in range(3):
        created = await crm.elements.create(boss, EntityType.DEAL, ElementInput(title=f"Deal {n}"))
        ref = created.primary
        ids.append(ref.id)
        await crm.fields.set_value(boss, ref, open_.id, f"U-{n}", reading)
        await crm.fields.set_value(boss, ref, secret.id, f"{n}0%", reading)
    dept = sales.department_id
    assert dept is not None
    await crm.fields.restrict(boss, secret.id, [], [dept])
    for actor in (boss, sales):
        seen = await crm.fields.values_for_export(actor, EntityType.DEAL, ids)
        assert [f.name for f in seen.fields] == ["Umowa", "Marża"]
        assert [seen.value(i, secret.id) for i in ids] == ["00%", "10%", "20%"]
    hidden = await crm.fields.values_for_export(rep, EntityType.DEAL, ids)
    assert [f.name for f in hidden.fields] == ["Umowa"]
    assert [hidden.value(i, open_.id) for i in ids] == ["U-0", "U-1", "U-2"]
    assert all(secret.id not in hidden.values.get(i, {}) for i in ids)
