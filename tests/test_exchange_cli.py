"""`crmbot import` and `crmbot export` as an admin runs them on files in Bitrix24's format:
the report printed, the rejected rows written with their reasons, a refused file's exit
status, duplicates skipped or created, and the export read back."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import crmbot
from tests.test_imports import CONTACTS_RU, DEALS_RU, bitrix


def test_import_then_export_on_the_command_line(tmp_path: Path) -> None:
    assert crmbot(tmp_path, "invite", "--role", "admin", "--name", "Boss").returncode == 0
    contacts = tmp_path / "kontakty.csv"
    contacts.write_bytes(bitrix(CONTACTS_RU).encode("cp1251"))
    out = crmbot(tmp_path, "import", "--type", "contacts", str(contacts))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "3 created, 1 skipped as duplicates, 0 rejected",
        "columns not imported: Обращение, Должность",
    ]

    broken = [*DEALS_RU[:2], ["777", "", "WON"] + [""] * 12]
    deals = tmp_path / "deals.csv"
    deals.write_bytes(b"\xef\xbb\xbf" + bitrix(broken).encode())
    out = crmbot(tmp_path, "import", "--type", "deals", str(deals))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == (
        "1 created, 0 skipped as duplicates, 1 rejected, 1 product rows"
    )
    assert "Вероятность, %" in out.stdout
    rejected = (tmp_path / "deals.csv.rejected.csv").read_bytes().decode("utf-8-sig")
    header, line = rejected.splitlines()
    assert header.startswith('"Line";"Reason";"ID";"Название сделки";')
    assert line.startswith('"3";"title is required";"777";"";"WON";')

    export = tmp_path / "out.csv"
    done = crmbot(tmp_path, "export", "--type", "deals", "--out", str(export), "--lang", "ru")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"1 deals exported (1 lines) to {export}"
    text = export.read_bytes().decode("utf-8-sig")
    assert text.startswith('"ID";"Название сделки";"Стадия сделки";"Направление";"Сумма";')
    assert '"[CO]ООО Ромашка";"[C]Иван Петров";' in text
    assert '"Подготовка документов"' in text or '"PREPARATION"' in text
    filtered = crmbot(tmp_path, "export", "--type", "deals", "--out", str(export), "stage=WON")
    assert filtered.stdout.startswith("0 deals exported")

    again = crmbot(tmp_path, "import", "--type", "contacts", str(contacts), "--duplicates",
                   "create")  # fmt: skip
    assert again.stdout.splitlines()[0] == "4 created, 0 skipped as duplicates, 0 rejected"
    assert "line 2: created although C1 exists" in again.stdout
    # Two Ivan Petrovs now: a deal naming him is rejected as ambiguous, not guessed.
    out = crmbot(tmp_path, "import", "--type", "deals", str(deals))
    assert out.stdout.splitlines()[0] == "0 created, 0 skipped as duplicates, 2 rejected"
    rejected = (tmp_path / "deals.csv.rejected.csv").read_bytes().decode("utf-8-sig")
    assert "several elements are called “Иван Петров” (contact): not guessed" in rejected


def test_refused_files_exit_non_zero(tmp_path: Path) -> None:
    assert crmbot(tmp_path, "invite", "--role", "admin", "--name", "Boss").returncode == 0
    xml = tmp_path / "export.xml"
    xml.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<deals><deal id="1"/></deals>\n')
    out = crmbot(tmp_path, "import", "--type", "deals", str(xml))
    assert out.returncode == 2
    assert out.stderr.strip() == (
        f"crmbot: {xml}: Only CSV files can be imported. If your file is XML or a "
        "spreadsheet, convert it to CSV first."
    )
    unknown = tmp_path / "plik.csv"
    unknown.write_text("kolor;wzrost\nniebieski;180\n")
    out = crmbot(tmp_path, "import", "--type", "contacts", str(unknown))
    assert out.returncode == 2 and "No column of this file is one I know" in out.stderr
    missing = crmbot(tmp_path, "import", "--type", "contacts", str(tmp_path / "nie.csv"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
