"""The CRM core end to end, in Polish and Russian, through the fake Bot API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.enums import Role
from storage.models import TimelineEntry
from tests.harness import Harness, texts


async def test_one_line_lead_in_simple_mode_polish(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    replies = await anna.send(
        "/lead Jan Kowalski +48 600 100 200 jan@firma.pl 5000 zł strona internetowa"
    )
    card = texts(replies)[0]
    assert card.startswith("Utworzono: deal D1 (także /C1)")
    assert "<b>D1</b> · deal · strona internetowa" in card
    assert "Etap: Nowy (1 z 5)" in card
    assert "Kwota: 5\xa0000,00\xa0zł" in card  # Babel: Polish grouping and currency
    assert "Kontakt: /C1 Jan Kowalski" in card
    assert "Odpowiedzialny: Anna" in card
    assert [b["text"] for b in replies[0].buttons] == [
        "Etap",
        "Notatka",
        "Źródło",
        "Odpowiedzialny",
        "✏️ Edytuj",
        "📦 Produkty",
        "Sprzedaż powtórna",
    ]


async def test_one_line_deal_in_russian(harness: Harness) -> None:
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    card = texts(
        await ivan.send("/deal Пётр Сидоров 8 (916) 123-45-67 10к руб поставка оборудования")
    )[0]
    assert card.startswith("Создано: сделка D1 (а также /C1)")
    assert "Стадия: Новая (1 из 5)" in card
    assert "Контакт: /C1 Пётр Сидоров" in card
    assert "10 000,00 ₽" in card.replace("\xa0", " ").replace("\u202f", " ")
    contact = texts(await ivan.send("/C1"))[0]
    assert "Телефон: +79161234567" in contact


async def test_duplicate_warning_then_open_or_create_anyway(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    await anna.send("/contact Jan Kowalski +48 600 100 200")
    replies = await anna.send("/contact Janek 600-100-200")
    warning = texts(replies)[0]
    assert warning.startswith("⚠️ To może być duplikat:")
    assert "/C1 Jan Kowalski — ten sam telefon" in warning
    assert [b["text"] for b in replies[0].buttons] == [
        "Otwórz C1",
        "Połącz z C1",
        "Utwórz mimo to",
    ]

    opened = texts(await anna.press("Otwórz C1"))
    assert any("<b>C1</b> · kontakt · Jan Kowalski" in t for t in opened)

    created = texts(await anna.press("Utwórz mimo to"))
    assert created[0].startswith("Utworzono: kontakt C2")
    # The pending request is used up: pressing again changes nothing.
    replies = await anna.press_data("dp:go")
    assert [c.method for c in replies] == ["answerCallbackQuery"]
    assert "wygasło" in replies[0].params["text"]


async def test_deal_through_stages_to_won_and_lost_russian(harness: Harness) -> None:
    ivan = await harness.member(Role.REP, "Иван", language_code="ru")
    await ivan.send("/deal Внедрение CRM 100000 руб")
    replies = await ivan.send("/stage D1")
    assert texts(replies) == ["D1: выберите новую стадию"]
    labels = [b["text"] for b in replies[0].buttons]
    assert (
        labels[0] == "• Новая"
        and "✅ Сделка успешна" in labels
        and "❌ Сделка провалена" in labels
    )

    card = texts(await ivan.press("Подготовка документов"))[0]
    assert "Стадия: Подготовка документов (2 из 5)" in card
    await ivan.send("/stage D1")
    card = texts(await ivan.press("Сделка успешна"))[0]
    assert "Стадия: ✅ Сделка успешна" in card

    await ivan.send("/deal Второй проект")
    await ivan.send("/stage D2")
    assert texts(await ivan.press("Сделка провалена")) == [
        "Почему сделка провалена? Отправьте причину. /cancel — отмена."
    ]
    card = texts(await ivan.send("дорого"))[0]
    assert "Стадия: ❌ Сделка провалена" in card
    assert "Причина: дорого" in card
    assert "стадия: Новая → Сделка провалена — дорого" in card


async def test_rep_is_refused_someone_elses_deal(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna", department="Sprzedaż")
    boris = await harness.member(Role.REP, "Boris", department="Sprzedaż")
    await anna.send("/deal Tajny projekt 5000 zł")
    # Anna's D1 answers exactly like a D99 that does not exist: nothing tells it is there.
    missing = "Nie znaleziono. Być może zostało w międzyczasie usunięte."
    for command in ("/D1", "/stage D1", "/note D1 hello", "/show D1", "/todo D1 jutro 10 x"):
        assert texts(await boris.send(command)) == [missing], command
        assert texts(await boris.send(command.replace("D1", "D99"))) == [missing], command
    # Forged buttons: a stage move and a reassignment for Anna's deal.
    stage_id = 2
    for data in (f"sg:D:1:{stage_id}", f"as:D:1:{boris.id}", "el:show:D:1:0", "el:tl:D:1:0"):
        replies = await boris.press_data(data)
        assert [c.method for c in replies] == ["answerCallbackQuery"], data
        assert replies[0].params["text"] == missing
    card = texts(await anna.send("/D1"))[0]
    assert "Etap: Nowy" in card and "Odpowiedzialny: Anna" in card
    assert texts(await boris.send("/deals")) == ["Na razie nic tu nie ma."]


async def test_classic_to_simple_converts_leads(harness: Harness) -> None:
    boss = await harness.member(Role.ADMIN, "Szef")
    rep = await harness.member(Role.REP, "Ola")
    assert texts(await rep.send("/mode classic")) == ["Nie masz uprawnień, aby to zrobić."]
    assert texts(await boss.send("/mode classic")) == ["Tryb CRM: Klasyczny."]
    for i in range(2):
        card = texts(await rep.send(f"/lead Klient{i} Nowak +48 60{i} 100 200 zapytanie {i}"))[0]
        assert card.startswith(f"Utworzono: lead L{i + 1}")
    replies = await boss.send("/mode simple")
    assert texts(replies) == ["Przejście na tryb Prosty skonwertuje 2 aktywne leady na deale."]
    await boss.press("Utwórz firmę")
    replies = await boss.press("Konwertuj i przełącz")
    assert texts(replies) == ["Tryb CRM: Prosty. Przekonwertowano 2 leady."]
    card = texts(await rep.send("/L1"))[0]
    assert "Status: ✅ Dobry lead" in card
    assert "Skonwertowano na: /D" in card
    my = texts(await rep.send("/my"))[0]
    assert "zapytanie 0" in my and "zapytanie 1" in my
    card = texts(await rep.send("/lead Nowy klient +48 609 000 000"))[0]
    assert card.startswith("Utworzono: deal")


async def test_convert_a_lead_from_its_card(harness: Harness) -> None:
    boss = await harness.member(Role.ADMIN, "Босс", language_code="ru")
    await boss.send("/mode classic")
    replies = await boss.send("/lead Иван Петров +7 916 000-11-22 50к руб аудит")
    assert "Конвертировать" in [b["text"] for b in replies[0].buttons]
    await boss.press("Конвертировать")
    replies = await boss.press("Конвертировать")
    assert texts(replies)[0] == "Лид L1 сконвертирован: /C1 /D1"
    assert "<b>D1</b> · сделка · аудит" in texts(replies)[1]


async def test_search_by_a_phone_written_differently(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    await anna.send("/lead Jan Kowalski +48 600 100 200 oferta")
    found = texts(await anna.send("/find 600-100-200"))[0]
    assert "/C1 Jan Kowalski" in found and "/D1 oferta" in found
    assert "/C1" in texts(await anna.send("/find 0048600100200"))[0]
    assert "/C1" in texts(await anna.send("/find kowalski"))[0]
    assert texts(await anna.send("/find zzzz")) == ["Nic nie znaleziono dla zzzz."]


async def test_notes_and_reassignment_with_notification(harness: Harness) -> None:
    head = await harness.member(Role.MANAGER, "Kierownik", department="Sprzedaż")
    ivan = await harness.member(Role.REP, "Иван", language_code="ru", department="Sprzedaż")
    await head.send("/company ACME Sp. z o.o. +48 22 100 20 30")
    assert texts(await head.send("/note CO1 Spotkanie w piątek")) == ["Dodano notatkę do CO1."]
    await head.send("/CO1")
    await head.press("Notatka")
    assert texts(await head.send("Druga notatka")) == ["Dodano notatkę do CO1."]
    card = texts(await head.send("/CO1"))[0]
    assert "💬 Druga notatka" in card and "💬 Spotkanie w piątek" in card

    await head.press("Odpowiedzialny")
    replies = await head.press("Иван")
    assert "CO1: odpowiedzialny to teraz Иван." in texts(replies)
    notice = [c for c in replies if c.chat_id == ivan.id]
    assert [c.text for c in notice] == ["Теперь вы отвечаете за: компания /CO1 ACME Sp. z o.o.."]
    assert "Odpowiedzialny: Иван" in texts(await head.send("/CO1"))[0]


async def test_lists_page_and_stay_under_the_limit(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    for i in range(23):
        await anna.send(f"/deal {'Projekt ' * 20}{i} 1000 zł")
    replies = await anna.send("/my")
    first = texts(replies)[0]
    assert first.startswith("<b>Moje otwarte deale</b> (1/3)")
    assert len(first) < 4096 and first.count("\n/D") == 10
    replies = await anna.press("▶")
    edits = [c for c in replies if c.method == "editMessageText"]
    assert edits and edits[0].text.startswith("<b>Moje otwarte deale</b> (2/3)")


async def test_bad_input_gets_clear_answers(harness: Harness) -> None:
    anna = await harness.member(Role.REP, "Anna")
    assert texts(await anna.send("/D999")) == [
        "Nie znaleziono. Być może zostało w międzyczasie usunięte."
    ]
    assert texts(await anna.send("/show XYZ")) == [
        "Nie znaleziono. Być może zostało w międzyczasie usunięte."
    ]
    assert texts(await anna.send("/stage")) == ["Który deal? Na przykład: /stage D7"]
    assert "w jednej linii" in texts(await anna.send("/deal"))[0]
    card = texts(
        await anna.send("<script>alert(1)</script> & co 500 zł")
    )  # plain text in the dialog
    assert card[0].startswith("Utworzono: deal D1")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in card[0]
    huge = texts(await anna.send("/deal " + "A" * 20_000))[0]
    assert huge.startswith("Utworzono: deal D2") and len(huge) < 4096
    await anna.send("/stage D1")
    replies = await anna.press_data("sg:D:1:999")  # a stage of no pipeline of this deal
    assert replies[0].params["text"] == "Tego nie można zrobić."


async def test_pipelines_stages_and_sources_configured_in_chat(harness: Harness) -> None:
    boss = await harness.member(Role.ADMIN, "Szef")
    rep = await harness.member(Role.REP, "Ola")
    assert texts(await rep.send("/pipeline_add Serwis")) == ["Nie masz uprawnień, aby to zrobić."]
    assert texts(await boss.send("/pipeline_add Serwis")) == ["Utworzono lejek 2: Serwis."]
    listing = texts(await boss.send("/pipelines"))[0]
    assert "<b>1. Ogólny</b> (domyślny)" in listing and "<b>2. Serwis</b>" in listing
    assert "✅ Deal wygrany" in listing and "❌ Lead bezwartościowy" in listing
    assert texts(await boss.send("/stage_add 2 Diagnoza")).pop().startswith("Dodano etap [")
    system_stage = next(s for s in await _stages(harness, 2) if s.code == "NEW")
    assert texts(await boss.send(f"/stage_delete {system_stage.id}")) == [
        "Etapu początkowego nie można usunąć (można zmienić jego nazwę)."
    ]
    assert texts(await boss.send("/stage_rename x y")) == [
        "Żaden etap nie nazywa się „x y” (ani nie ma takiego id). Zobacz /pipelines."
    ]

    await rep.send("/deal Naprawa serwera 900 zł")
    await rep.press("Lejek")
    card = texts(await rep.press("Serwis"))[0]
    assert "Lejek: Serwis" in card and "Etap: Nowy (1 z 2)" in card

    assert texts(await boss.send("/source_add Facebook")).pop().startswith("Dodano źródło [")
    await rep.send("/D1")
    await rep.press("Źródło")
    card = texts(await rep.press("Facebook"))[0]
    assert "Źródło: Facebook" in card and "zmieniono źródło" in card
    sources = texts(await rep.send("/sources"))[0]
    assert "Telefon" in sources and "Facebook (własne)" in sources


async def _stages(harness: Harness, pipeline_id: int):  # type: ignore[no-untyped-def]
    async with harness.crm() as crm:
        return list(await crm.stages.stages(pipeline_id))


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "pl",
            {
                "pipeline": "Lejek",
                "stage": "Etap",
                "moved": "lejek: Ogólny (Negocjacje) → Serwis (Nowy)",
                "staged": "etap: Nowy → Negocjacje",
            },
        ),
        (
            "ru",
            {
                "pipeline": "Воронка",
                "stage": "Стадия",
                "moved": "воронка: Общая (Negocjacje) → Serwis (Новая)",
                "staged": "стадия: Новая → Negocjacje",
            },
        ),
    ],
)
async def test_moving_to_another_pipeline_keeps_history_readable(
    harness: Harness, lang: str, words: dict[str, str]
) -> None:
    boss = await harness.member(Role.ADMIN, "Szef")
    rep = await harness.member(Role.REP, "Ola", language_code=lang)
    await boss.send("/pipeline_add Serwis")
    await boss.send("/stage_add 1 Negocjacje")
    await rep.send("/deal Naprawa serwera 900 zł")
    await rep.press(words["stage"])
    await rep.press("Negocjacje")
    await rep.press(words["pipeline"])
    card = texts(await rep.press("Serwis"))[0]
    assert words["moved"] in card and words["staged"] in card
    assert "?" not in card

    # The old stage deleted (no deal is in it now): the history still names it.
    assert texts(await boss.send("/stage_delete Negocjacje"))[0].startswith("Usunięto etap")
    card = texts(await rep.send("/D1"))[0]
    assert words["moved"] in card and words["staged"] in card
    assert "?" not in card

    # What the entry keeps: the names as they were (None: the default pipeline's own name).
    async with harness.crm() as crm:
        entry = await crm.repos.session.scalar(
            select(TimelineEntry).where(TimelineEntry.kind == "pipeline")
        )
    assert entry is not None
    assert entry.data["old_label"] == {"name": None}
    assert entry.data["new_label"] == {"name": "Serwis"}
    assert entry.data["old_stage_label"]["name"] == "Negocjacje"
    assert entry.data["stage_label"] == {"entity": "deal", "code": "NEW", "name": None}
