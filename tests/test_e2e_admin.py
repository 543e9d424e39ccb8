"""Admin commands end to end, in Polish and Russian: usage without arguments, pipelines, stages
and sources named by name or id, refusals that say why, unique names, ids never reused."""

from __future__ import annotations

import pytest

from crm.enums import Role
from tests.harness import Harness, texts

COMMANDS = [
    "/pipeline_add",
    "/stage_add",
    "/stage_rename",
    "/stage_delete",
    "/source_add",
    "/source_rename",
    "/source_delete",
]


@pytest.mark.parametrize(("lang", "word"), [("pl", "Użycie: "), ("ru", "Как вызвать: ")])
async def test_every_admin_command_without_arguments_shows_its_usage(
    harness: Harness, lang: str, word: str
) -> None:
    boss = await harness.member(Role.ADMIN, "Szef", language_code=lang)
    for command in COMMANDS:
        for typed in (command, command + "   "):
            (reply,) = texts(await boss.send(typed))
            assert reply.startswith(word + command + " "), (typed, reply)
            assert ("/sources" if "source" in command else "/pipelines") in reply
    # A name alone where a new name must follow: the usage again, never an empty value.
    for typed in ("/stage_add 1", "/stage_rename 1", "/source_rename 1"):
        (reply,) = texts(await boss.send(typed))
        assert reply.startswith(word), reply
        assert not reply.rstrip().endswith(":")
    rep = await harness.member(Role.REP, "Ola", language_code=lang)
    for command in COMMANDS:
        (reply,) = texts(await rep.send(command))
        assert "/" not in reply  # no usage for who may not: the refusal, as with arguments


async def test_names_or_ids_refusals_and_unique_names_polish(harness: Harness) -> None:
    boss = await harness.member(Role.ADMIN, "Szef")
    rep = await harness.member(Role.REP, "Ola")
    assert texts(await boss.send("/pipeline_add Sprzedaż B2B")) == [
        "Utworzono lejek 2: Sprzedaż B2B."
    ]
    for taken in ("/pipeline_add sprzedaż  b2b", "/pipeline_add OGÓLNY"):
        assert texts(await boss.send(taken))[0].startswith("Nazwa „"), taken
    # Punctuation alone is no name: nobody could tell such entries apart in a list.
    for mark in (";", "—", "...", "- -"):
        for command in ("/pipeline_add", "/source_add", "/stage_add 2"):
            assert texts(await boss.send(f"{command} {mark}")) == [
                f"Ta wartość jest tu niepoprawna: {mark}"
            ], (command, mark)
    assert "<b>2. Sprzedaż B2B</b>" in texts(await boss.send("/pipelines"))[0]
    # The pipeline by its (multi-word, any-case) name; the rest is the stage's name.
    (added,) = texts(await boss.send("/stage_add sprzedaż b2b Negocjacje"))
    assert added.startswith("Dodano etap [") and added.endswith("Negocjacje.")
    assert texts(await boss.send("/stage_add 2 negocjacje")) == [
        "Nazwa „negocjacje” jest zajęta: nazwy na liście muszą się różnić."
    ]
    # Another pipeline may have a stage of the same name; naming it then needs the id.
    (other,) = texts(await boss.send("/stage_add Ogólny Negocjacje"))
    assert other.startswith("Dodano etap [")
    ambiguous = texts(await boss.send("/stage_rename Negocjacje Rozmowy"))[0]
    assert ambiguous.startswith("Kilka pozycji nazywa się „Negocjacje”; wskaż jedną po id: ")
    stage_id = int(other.split("[")[1].split("]")[0])
    assert texts(await boss.send(f"/stage_rename {stage_id} Rozmowy")) == [
        f"Etap [{stage_id}] nazywa się teraz Rozmowy."
    ]
    # Refusals say why: the initial stage, a final stage, a stage in use (with how many).
    assert texts(await boss.send("/stage_delete Nowy")) == [
        "Kilka pozycji nazywa się „Nowy”; wskaż jedną po id: 1, "
        + ambiguous_ids_of(texts(await boss.send("/pipelines"))[0], "Nowy")[1]
        + "."
    ]
    assert texts(await boss.send("/stage_delete 1")) == [
        "Etapu początkowego nie można usunąć (można zmienić jego nazwę)."
    ]
    assert texts(await boss.send("/stage_delete deal wygrany")) == [
        "Kilka pozycji nazywa się „deal wygrany”; wskaż jedną po id: "
        + ", ".join(ambiguous_ids_of(texts(await boss.send("/pipelines"))[0], "Deal wygrany"))
        + "."
    ]
    won = ambiguous_ids_of(texts(await boss.send("/pipelines"))[0], "Deal wygrany")[0]
    assert texts(await boss.send(f"/stage_delete {won}")) == [
        "Etapu końcowego (wygrana lub przegrana) nie można usunąć (można zmienić jego nazwę)."
    ]
    for i in range(3):
        await rep.send(f"/deal Wdrożenie {i} 1000 zł")
    for i in range(1, 4):
        await rep.send(f"/stage D{i}")
        await rep.press("Rozmowy")
    assert texts(await boss.send("/stage_delete rozmowy")) == [
        "3 deale są na tym etapie: najpierw je przenieś."
    ]
    await rep.send("/stage D3")
    await rep.press("Nowy")
    await rep.send("/stage D2")
    await rep.press("Nowy")
    assert texts(await boss.send("/stage_delete Rozmowy")) == [
        "1 deal jest na tym etapie: najpierw go przenieś."
    ]
    assert texts(await boss.send("/stage_delete Nieistniejący")) == [
        "Żaden etap nie nazywa się „Nieistniejący” (ani nie ma takiego id). Zobacz /pipelines."
    ]
    assert texts(await boss.send("/stage_add Serwis Diagnoza")) == [
        "Żaden lejek nie nazywa się „Serwis Diagnoza” (ani nie ma takiego id). Zobacz /pipelines."
    ]


def ambiguous_ids_of(listing: str, name: str) -> list[str]:
    """The ids shown in /pipelines for every stage called `name`."""
    ids = []
    for line in listing.splitlines():
        if line.strip().startswith("[") and line.rstrip().endswith(name):
            ids.append(line.split("[")[1].split("]")[0])
    return ids


async def test_sources_by_name_rename_delete_and_ids_never_reused_russian(
    harness: Harness,
) -> None:
    boss = await harness.member(Role.ADMIN, "Шеф", language_code="ru")
    rep = await harness.member(Role.REP, "Оля", language_code="ru")
    (added,) = texts(await boss.send("/source_add Выставка в Казани"))
    assert added.startswith("Источник [") and added.endswith("добавлен: Выставка в Казани.")
    first_id = int(added.split("[")[1].split("]")[0])
    assert texts(await boss.send("/source_add выставка  в казани")) == [
        "Название «выставка в казани» уже занято: названия в списке должны различаться."
    ]
    assert texts(await boss.send("/source_add звонок"))[0].startswith("Название «звонок»")
    assert texts(await boss.send("/source_rename выставка в казани Выставка 2027")) == [
        f"Источник [{first_id}] теперь называется Выставка 2027."
    ]
    assert texts(await boss.send("/source_rename Звонок Входящий звонок"))[0].endswith(
        "теперь называется Входящий звонок."
    )
    assert texts(await boss.send("/source_delete Входящий звонок")) == [
        "Встроенную запись нельзя удалить (её можно переименовать)."
    ]
    await rep.send("/deal Поставка 900 руб")
    await rep.press("Источник")
    await rep.press("Выставка 2027")
    assert texts(await boss.send("/source_delete Выставка 2027")) == [
        "1 клиент или сделка с этим источником: сначала смените его."
    ]
    await rep.press("Источник")
    await rep.press("Входящий звонок")
    assert texts(await boss.send(f"/source_delete {first_id}")) == [
        f"Источник [{first_id}] удалён: Выставка 2027."
    ]
    # The newest entry was deleted: a new one does not take its id (SQLite and PostgreSQL).
    (again,) = texts(await boss.send("/source_add Выставка 2028"))
    assert int(again.split("[")[1].split("]")[0]) > first_id
    assert texts(await boss.send("/source_delete 99999")) == [
        "Нет источника с названием «99999» (или с таким id). См. /sources."
    ]
    # Stages too: the newest stage deleted, the next one gets a new id.
    (stage,) = texts(await boss.send("/stage_add 1 Переговоры"))
    stage_id = int(stage.split("[")[1].split("]")[0])
    assert texts(await boss.send("/stage_delete переговоры")) == [
        f"Стадия [{stage_id}] удалена: Переговоры."
    ]
    (stage,) = texts(await boss.send("/stage_add 1 Переговоры"))
    assert int(stage.split("[")[1].split("]")[0]) > stage_id
    assert texts(await boss.send("/stage_delete Новая")) == [
        "Начальную стадию нельзя удалить (её можно переименовать)."
    ]
