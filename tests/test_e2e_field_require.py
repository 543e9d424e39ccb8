"""Fields required at a stage end to end, in Polish and Russian: an admin requires fields with
/field_require (multi-word names, several stages, all, none, wrong names), a rep without the
settings right cannot; a rep presses a stage, is asked for each missing field in the same chat
(a bad value is refused and asked again, a list field is answered by its button), and the deal
moves once all are given; /cancel keeps the given values and the stage; a lead's status works
alike; creating in one line never asks. Every stored result is read back through a fresh
session."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.i18n import create_i18n
from bot.replies import describe_error
from crm.context import Crm
from crm.enums import EntityType, FieldKind, Role
from crm.errors import FieldsRequired
from crm.field_book import FieldInfo
from storage.models import CustomField, Deal, FieldRequirement, FieldValue, Lead, Stage
from tests.harness import Harness, texts

Fresh = Callable[[], AbstractAsyncContextManager[Crm]]

WORDS = {
    "pl": {
        "add_date": "/field_add deal data Termin dostawy",
        "add_list": "/field_add deal lista Sposób dostawy: kurier, odbiór osobisty",
        "add_lead": "/field_add lead liczba Liczba stanowisk",
        # "W toku" holds "w", the Polish "at": the field decides the reading.
        "require_two": "/field_require termin dostawy na w toku, Faktura zaliczkowa",
        "required_two": (
            "Pole „Termin dostawy” (deal) jest teraz wymagane na etapach: Faktura zaliczkowa, "
            "W toku. Nic na nie nie przejdzie, dopóki nie zostanie wypełnione."
        ),
        "require_list": "/field_require Sposób dostawy w W TOKU",
        "required_list": "Pole „Sposób dostawy” (deal) jest teraz wymagane na etapach: W toku.",
        "require_all": "/field_require Termin dostawy na wszystkie",
        "required_all": "Pole „Termin dostawy” (deal) jest teraz wymagane na każdym etapie",
        "require_none": "/field_require Termin dostawy na żadne",
        "required_none": "Pole „Termin dostawy” (deal) znów jest nieobowiązkowe.",
        "require_unknown_field": "/field_require Kolor auta na W toku",
        "unknown_field": "Nie ma takiego pola: „Kolor auta”. Listę pokazuje /fields.",
        "require_unknown_stage": "/field_require Termin dostawy na Negocjacje",
        "unknown_stage": "„Negocjacje”",
        "require_system": "/field_require źródło na W toku",
        "system": "Spośród pól systemowych",
        "require_lead": "/field_require lead Liczba stanowisk w Przetworzony",
        "add_lead_as_deal": "/field_add deal liczba Liczba stanowisk",
        "require_ambiguous": "/field_require Liczba stanowisk na Przetworzony",
        "ambiguous": "Pole „Liczba stanowisk” istnieje w kilku typach elementów",
        "require_no_stage": "/field_require lead Liczba stanowisk",
        "usage": "Użycie: /field_require POLE na ETAPY",
        "required_lead": "Pole „Liczba stanowisk” (lead) jest teraz wymagane na etapach: ",
        "no_right": "Nie masz uprawnień, aby to zrobić.",
        "listing": "wymagane na etapach: Faktura zaliczkowa, W toku",
        "deal": "/deal Wdrożenie CRM 5000 zł",
        "deal2": "/deal Drugi projekt",
        "created": "Utworzono: deal D1",
        "stage": "W toku",
        "ask_date": (
            "Aby przenieść D1 na etap „W toku”, wypełnij pole „Termin dostawy”: wyślij jego "
            "wartość. /cancel, aby przerwać (etap się nie zmieni).\n"
            "Data, np. 15.01.2027 albo „jutro”."
        ),
        "ask_list": "Aby przenieść D1 na etap „W toku”, wypełnij pole „Sposób dostawy”",
        "bad_date": "„kiedyś” to nie data: wyślij np. 15.01.2027 albo 2027-01-15.",
        "moved": "Etap: W toku",
        "cancelled": "Przerwano: D2 zostaje na swoim etapie; podane wartości są zapisane.",
        "lead": "/lead Jan Nowak +48 600 100 200",
        "lead_stage": "Przetworzony",
        "ask_lead": "Aby przenieść L1 na etap „Przetworzony”, wypełnij pole „Liczba stanowisk”",
        "bad_number": "„dużo” to nie liczba",
        "lead_moved": "Status: Przetworzony",
        "require_amount": "/field_require lead kwota w Przetworzony",
        "required_amount": "Pole „kwota” (lead) jest teraz wymagane na etapach: Przetworzony.",
        "ask_amount": "Aby przenieść L1 na etap „Przetworzony”, wypełnij pole „kwota”",
    },
    "ru": {
        "add_date": "/field_add сделка дата Срок поставки",
        "add_list": "/field_add сделка список Способ доставки: курьер, самовывоз",
        "add_lead": "/field_add лид число Количество мест",
        "require_two": "/field_require срок поставки на в работе, Счёт на предоплату",
        "required_two": (
            "Поле «Срок поставки» (сделка) теперь обязательно на стадиях: Счёт на предоплату, "
            "В работе. Ничто не перейдёт на них, пока оно не заполнено."
        ),
        "require_list": "/field_require Способ доставки в В РАБОТЕ",
        "required_list": "Поле «Способ доставки» (сделка) теперь обязательно на стадиях: В работе.",
        "require_all": "/field_require Срок поставки все",
        "required_all": "Поле «Срок поставки» (сделка) теперь обязательно на всех стадиях",
        "require_none": "/field_require Срок поставки на нет",
        "required_none": "Поле «Срок поставки» (сделка) снова необязательно.",
        "require_unknown_field": "/field_require Цвет машины на В работе",
        "unknown_field": "Такого поля нет: «Цвет машины». Список — /fields.",
        "require_unknown_stage": "/field_require Срок поставки на Переговоры",
        "unknown_stage": "Нет стадии с названием «Переговоры»",
        "require_system": "/field_require источник на В работе",
        "system": "Из системных полей",
        "require_lead": "/field_require лид Количество мест на Обработан",
        "add_lead_as_deal": "/field_add сделка число Количество мест",
        "require_ambiguous": "/field_require количество мест на Обработан",
        "ambiguous": "Поле «количество мест» есть у нескольких типов элементов",
        "require_no_stage": "/field_require лид Количество мест",
        "usage": "Использование: /field_require ПОЛЕ на СТАДИИ",
        "required_lead": "Поле «Количество мест» (лид) теперь обязательно на стадиях: ",
        "no_right": "У вас нет прав на это действие.",
        "listing": "обязательно на стадиях: Счёт на предоплату, В работе",
        "deal": "/deal Внедрение CRM 5000 руб",
        "deal2": "/deal Второй проект",
        "created": "Создано: сделка D1",
        "stage": "В работе",
        "ask_date": (
            "Чтобы перевести D1 на стадию «В работе», заполните поле «Срок поставки»: "
            "отправьте его значение. /cancel — отменить (стадия не изменится).\n"
            "Дата, например 15.01.2027 или «завтра»."
        ),
        "ask_list": "Чтобы перевести D1 на стадию «В работе», заполните поле «Способ доставки»",
        "bad_date": "«когда-нибудь» — не дата: отправьте, например, 15.01.2027 или 2027-01-15.",
        "moved": "Стадия: В работе",
        "cancelled": "Остановлено: D2 остаётся на своей стадии; введённые значения сохранены.",
        "lead": "/lead Иван Петров +7 916 100 20 30",
        "lead_stage": "Обработан",
        "ask_lead": "Чтобы перевести L1 на стадию «Обработан», заполните поле «Количество мест»",
        "bad_number": "«много» — не число",
        "lead_moved": "Статус: Обработан",
        "require_amount": "/field_require лид сумма на обработан",
        "required_amount": "Поле «сумма» (лид) теперь обязательно на стадиях: Обработан.",
        "ask_amount": "Чтобы перевести L1 на стадию «Обработан», заполните поле «сумма»",
    },
}
BAD = {"pl": ("kiedyś", "dużo"), "ru": ("когда-нибудь", "много")}
OPTION = {"pl": "odbiór osobisty", "ru": "самовывоз"}


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_required_at_stage_blocks_the_move_and_the_dialog_completes_it(
    harness: Harness, lang: str, fresh: Fresh
) -> None:
    w = WORDS[lang]
    admin = await harness.member(Role.ADMIN, "Admin", language_code=lang)
    rep = await harness.member(Role.REP, "Anna", language_code=lang)
    await admin.send(w["add_date"])
    await admin.send(w["add_list"])

    # Only whoever may change settings requires fields; wrong names are refused, nothing kept.
    assert texts(await rep.send(w["require_two"])) == [w["no_right"]]
    assert texts(await admin.send(w["require_unknown_field"])) == [w["unknown_field"]]
    (unknown,) = texts(await admin.send(w["require_unknown_stage"]))
    assert w["unknown_stage"] in unknown and "/pipelines" in unknown
    (system,) = texts(await admin.send(w["require_system"]))
    assert system.startswith(w["system"])
    # Every stage, then none, then two stages named in the user's language.
    assert texts(await admin.send(w["require_all"]))[0].startswith(w["required_all"])
    # Creation in one line never asks, even with a field required at every stage.
    (created,) = texts(await rep.send(w["deal"]))
    assert created.startswith(w["created"])
    assert texts(await admin.send(w["require_none"])) == [w["required_none"]]
    assert texts(await admin.send(w["require_two"])) == [w["required_two"]]
    (required,) = texts(await admin.send(w["require_list"]))
    assert required.startswith(w["required_list"])
    assert w["listing"] in texts(await admin.send("/fields deal"))[0]

    # The rep presses the stage: asked for the date, a bad one is refused and asked again.
    await rep.send("/stage D1")
    assert texts(await rep.press(w["stage"])) == [w["ask_date"]]
    (refused,) = texts(await rep.send(BAD[lang][0]))
    assert refused.startswith(w["bad_date"]) and w["ask_date"] in refused
    (asked,) = texts(await rep.send("15.01.2027"))
    assert asked.startswith(w["ask_list"])
    (card,) = texts(await rep.press(OPTION[lang]))
    assert w["moved"] in card

    async with fresh() as crm2:
        session = crm2.repos.session
        deal = await session.scalar(select(Deal).where(Deal.id == 1))
        assert deal is not None
        stage = await session.get(Stage, deal.stage_id)
        assert stage is not None and stage.code == "EXECUTING"
        values = sorted(str(v) for v in (await session.scalars(select(FieldValue.value))).all())
        assert values == sorted(["2027-01-15", OPTION[lang]])
        required = (await session.scalars(select(FieldRequirement.stage_id))).all()
        assert None not in required and len(required) == 3  # two stages + one

    # /cancel mid-dialog: the value given stays, the stage does not change.
    await rep.send(w["deal2"])
    await rep.send("/stage D2")
    await rep.press(w["stage"])
    (asked,) = texts(await rep.send("20.01.2027"))
    assert asked.startswith(w["ask_list"].replace("D1", "D2"))
    assert texts(await rep.send("/cancel")) == [w["cancelled"]]
    async with fresh() as crm2:
        session = crm2.repos.session
        deal = await session.scalar(select(Deal).where(Deal.id == 2))
        assert deal is not None
        stage = await session.get(Stage, deal.stage_id)
        assert stage is not None and stage.code == "NEW"
        value = await session.scalar(select(FieldValue.value).where(FieldValue.entity_id == 2))
        assert value == "2027-01-20"


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_lead_status_asks_for_its_required_field(
    harness: Harness, lang: str, fresh: Fresh
) -> None:
    w = WORDS[lang]
    admin = await harness.member(Role.ADMIN, "Admin", language_code=lang)
    rep = await harness.member(Role.REP, "Anna", language_code=lang)
    await admin.send(w["add_lead"])
    # The same name on deals too: the type settles it; without stages the usage is shown.
    await admin.send(w["add_lead_as_deal"])
    (ambiguous,) = texts(await admin.send(w["require_ambiguous"]))
    assert ambiguous.startswith(w["ambiguous"])
    (usage,) = texts(await admin.send(w["require_no_stage"]))
    assert usage.startswith(w["usage"])
    assert texts(await admin.send(w["require_lead"]))[0].startswith(w["required_lead"])
    # A system field the rep types in (the amount) may be required too; it is asked first.
    (required,) = texts(await admin.send(w["require_amount"]))
    assert required.startswith(w["required_amount"])
    await admin.send("/mode classic")
    await rep.send(w["lead"])
    await rep.send("/stage L1")
    (asked,) = texts(await rep.press(w["lead_stage"]))
    assert asked.startswith(w["ask_amount"])
    (asked,) = texts(await rep.send("1200"))
    assert asked.startswith(w["ask_lead"])
    (refused,) = texts(await rep.send(BAD[lang][1]))
    assert refused.startswith(w["bad_number"])
    (card,) = texts(await rep.send("12"))
    assert w["lead_moved"] in card
    async with fresh() as crm2:
        session = crm2.repos.session
        lead = await session.scalar(select(Lead).where(Lead.id == 1))
        assert lead is not None
        status = await session.get(Stage, lead.status_id)
        assert status is not None and status.code == "PROCESSED"
        field = await session.scalar(
            select(CustomField).where(CustomField.name.is_not(None), CustomField.entity == "lead")
        )
        assert field is not None
        value = await session.scalar(
            select(FieldValue.value).where(FieldValue.field_id == field.id)
        )
        assert value == "12"
        assert lead.amount_minor == 120000


MENU = {
    "pl": {
        "add_bool": "/field_add deal tak/nie Faktura VAT",
        "field": "Faktura VAT",
        "required_at": "Wymagane na…",
        "lost": "Deal przegrany",
        "every": "Każdy etap",
        "not_required": "Niewymagane",
        "deal": "/deal Wdrożenie CRM 5000 zł",
        "ask": "Aby przenieść D1 na etap „Deal przegrany”, wypełnij pole „Faktura VAT”",
        "no": "nie",
        "reason": "za drogo",
        "moved": "Etap: ❌ Deal przegrany",
    },
    "ru": {
        "add_bool": "/field_add сделка да/нет Нужен НДС",
        "field": "Нужен НДС",
        "required_at": "Обязательно на…",
        "lost": "Сделка провалена",
        "every": "Все стадии",
        "not_required": "Необязательно",
        "deal": "/deal Внедрение CRM 5000 руб",
        "ask": "Чтобы перевести D1 на стадию «Сделка провалена», заполните поле «Нужен НДС»",
        "no": "нет",
        "reason": "дорого",
        "moved": "Стадия: ❌ Сделка провалена",
    },
}


async def requirements(fresh: Fresh) -> list[str | None]:
    """The codes of the stages the custom field is required at (None: every stage)."""
    async with fresh() as crm2:
        rows = (
            await crm2.repos.session.execute(
                select(Stage.code)
                .select_from(FieldRequirement)
                .outerjoin(Stage, Stage.id == FieldRequirement.stage_id)
            )
        ).all()
    return sorted((code for (code,) in rows), key=str)


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_field_menu_toggles_stages_and_a_lost_deal_asks_after_its_reason(
    harness: Harness, lang: str, fresh: Fresh
) -> None:
    m = MENU[lang]
    admin = await harness.member(Role.ADMIN, "Admin", language_code=lang)
    rep = await harness.member(Role.REP, "Anna", language_code=lang)
    await admin.send(m["add_bool"])
    await admin.send("/fields deal")
    await admin.press(m["field"])
    (screen,) = texts(await admin.press(m["required_at"]))
    assert screen.startswith(f"<b>{m['field']}</b>")
    await admin.press(m["lost"])
    assert await requirements(fresh) == ["LOSE"]
    assert any("✅" in b["text"] and m["lost"] in b["text"] for b in admin.inbox[-1].buttons)
    await admin.press(m["every"])
    assert await requirements(fresh) == [None]
    await admin.press(m["not_required"])
    assert await requirements(fresh) == []
    await admin.press(m["lost"])
    assert await requirements(fresh) == ["LOSE"]

    # Lost asks for the reason first, then for the field (a yes/no answered by its button).
    await rep.send(m["deal"])
    await rep.send("/stage D1")
    await rep.press(m["lost"])
    (asked,) = texts(await rep.send(m["reason"]))
    assert asked.startswith(m["ask"])
    question = rep.inbox[-1]
    (card,) = texts(await rep.press(m["no"]))
    assert m["moved"] in card and m["reason"] in card
    # The question's button again, the dialog over: refused, nothing changes.
    again = await rep.press(m["no"], question)
    assert [c.method for c in again] == ["answerCallbackQuery"]
    assert again[0].params.get("show_alert") is True
    async with fresh() as crm2:
        session = crm2.repos.session
        deal = await session.scalar(select(Deal).where(Deal.id == 1))
        assert deal is not None and deal.failure_reason == m["reason"]
        stage = await session.get(Stage, deal.stage_id)
        assert stage is not None and stage.code == "LOSE"
        assert await session.scalar(select(FieldValue.value)) is False


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "pl",
            "D7 nie może przejść na etap „W toku”, dopóki nie zostaną wypełnione pola: kwota, "
            "Termin dostawy. Wypełnij je poleceniem /set D7 POLE WARTOŚĆ i przenieś ponownie.",
        ),
        (
            "ru",
            "D7 нельзя перевести на стадию «В работе», пока не заполнены поля: сумма, "
            "Termin dostawy. Заполните их командой /set D7 ПОЛЕ ЗНАЧЕНИЕ и переведите снова.",
        ),
    ],
)
def test_a_move_that_cannot_ask_names_the_missing_fields(lang: str, expected: str) -> None:
    """The one rendering of FieldsRequired, for a path without the dialog."""

    def info(id_: int, code: str, name: str | None, kind: FieldKind) -> FieldInfo:
        return FieldInfo(id_, EntityType.DEAL, code, name, kind, name is None, False, None, id_)

    missing = (
        info(2, "amount", None, FieldKind.MONEY),
        info(9, "UF_CRM_9", "Termin dostawy", FieldKind.DATE),
    )
    stage = Stage(entity="deal", code="EXECUTING", name=None)
    error = FieldsRequired(4, (2, 9), code="D7", stage=stage, fields=missing)
    i18n = create_i18n(Path(__file__).resolve().parent.parent / "locales", lang)
    with i18n.context(), i18n.use_locale(lang):
        assert describe_error(error) == expected


CONVERSION = {
    "pl": {
        "require": "/field_require lead Liczba stanowisk na wszystkie",
        "convert": "Konwertuj",
        "refused": "L1 nie może przejść na etap „",
        "set": "/set L1 Liczba stanowisk 12",
        "converted": "Lead L1 skonwertowany: /C1 /D1",
    },
    "ru": {
        "require": "/field_require лид Количество мест все",
        "convert": "Конвертировать",
        "refused": "L1 нельзя перевести на стадию «",
        "set": "/set L1 Количество мест 12",
        "converted": "Лид L1 сконвертирован: /C1 /D1",
    },
}


@pytest.mark.parametrize("lang", ["pl", "ru"])
async def test_converting_a_lead_asks_first_for_its_required_fields(
    harness: Harness, lang: str, fresh: Fresh
) -> None:
    """Conversion moves a lead to its success status: a field required there (here: at every
    status) is named, with how to fill it, and nothing is converted until it is filled."""
    w, c = WORDS[lang], CONVERSION[lang]
    admin = await harness.member(Role.ADMIN, "Admin", language_code=lang)
    await admin.send("/mode classic")
    await admin.send(w["lead"])  # before the rule: created, as one-line creation never asks
    await admin.send(w["add_lead"])
    await admin.send(c["require"])
    await admin.send("/L1")
    await admin.press(c["convert"])
    (refused,) = texts(await admin.press(c["convert"]))
    assert refused.startswith(c["refused"]) and "/set L1" in refused, refused
    assert w["add_lead"].split(maxsplit=3)[3] in refused
    async with fresh() as crm2:
        lead = await crm2.repos.session.get(Lead, 1)
        assert lead is not None and lead.closed_at is None and lead.deal_id is None
        assert (await crm2.repos.session.scalars(select(Deal))).unique().all() == []
    await admin.send(c["set"])
    await admin.send("/L1")
    await admin.press(c["convert"])
    replies = texts(await admin.press(c["convert"]))
    assert replies[0] == c["converted"]
    async with fresh() as crm2:
        lead = await crm2.repos.session.get(Lead, 1)
        assert lead is not None and lead.closed_at is not None and lead.deal_id == 1
