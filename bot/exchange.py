"""CSV import and export as the bot and the command line show them: localized names of
stages and dictionaries (`BotLabels`), the report, the rejected rows' CSV with the reason of
each, and the refusal of a file that is not a CSV."""

from __future__ import annotations

import io
from collections.abc import Sequence

from aiogram import html
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.i18n import in_locale
from bot.labels import code_label
from crm.errors import FileRefused
from crm.exchange.columns import Column, ColumnMap, Kind
from crm.exchange.values import neutralize
from crm.exchange.writing import CsvWriter
from crm.field_columns import LinkName
from crm.imports import ImportReport, ReadRow, Rejected
from crm.locales import SUPPORTED_LOCALES


class BotLabels:
    """crm.exchange.columns.Labels in the bot's languages (cached: a 100,000-row import asks
    for the same few names again and again)."""

    def __init__(self, i18n: I18n, locale: str | None) -> None:
        self.i18n = i18n
        self.locale = locale or i18n.default_locale
        self._shown: dict[tuple[str, str, str | None], str] = {}
        self._known: dict[tuple[str, str, str | None], list[str]] = {}

    def shown(self, what: str, code: str, name: str | None) -> str:
        key = (what, code, name)
        if key not in self._shown:
            self._shown[key] = in_locale(
                self.i18n, self.locale, lambda: code_label(what, code, name)
            )
        return self._shown[key]

    def known(self, what: str, code: str, name: str | None) -> Sequence[str]:
        key = (what, code, name)
        if key not in self._known:
            self._known[key] = list(
                dict.fromkeys(
                    [code]
                    + [
                        in_locale(self.i18n, locale, lambda: code_label(what, code, name))
                        for locale in SUPPORTED_LOCALES
                    ]
                )
            )
        return self._known[key]


KIND_NAMES = {
    Kind.CONTACTS: __("contacts"),
    Kind.COMPANIES: __("companies"),
    Kind.LEADS: __("leads"),
    Kind.DEALS: __("deals"),
    Kind.PRODUCTS: __("products"),
}

_FIELDS = {
    "id": __("ID"),
    "first_name": __("first name"),
    "last_name": __("last name"),
    "name": __("full name"),
    "title": __("title"),
    "company": __("company"),
    "company_title": __("company"),
    "contact": __("contact"),
    "contact_name": __("full name"),
    "contact_type": __("contact type"),
    "company_type": __("company type"),
    "industry": __("industry"),
    "responsible": __("responsible"),
    "phones": __("phone"),
    "emails": __("e-mail"),
    "telegram": __("Telegram account"),
    "address": __("address"),
    "comment": __("comment"),
    "source": __("source"),
    "export_allowed": __("included in export"),
    "created_at": __("created"),
    "stage": __("stage"),
    "status": __("status"),
    "pipeline": __("pipeline"),
    "amount": __("amount"),
    "currency": __("currency"),
    "deal_type": __("deal type"),
    "closed": __("closed"),
    "product": __("product"),
    "price": __("price"),
    "quantity": __("quantity"),
    "sku": __("SKU"),
    "description": __("description"),
    "active_from": __("on sale from"),
    "active_to": __("on sale until"),
    "columns": __("columns"),
}


def field_label(name: str) -> str:
    label = _FIELDS.get(name)
    return str(label) if label is not None else name


def column_label(column: Column | None) -> str:
    return field_label(column.field) if column is not None else _("not imported")


def refusal(exc: FileRefused) -> str:
    if exc.why == "not_csv":
        # The seeds' answer: Bitrix24 imports CSV only.
        return _("Only CSV files can be imported. If your file is XML or a spreadsheet, "
                 "convert it to CSV first.")  # fmt: skip
    if exc.why == "empty":
        return _("The file is empty.")
    return _(
        "No column of this file is one I know: the first line must hold the column names, "
        "such as Bitrix24's (First Name, Last Name, Work Phone…) or its codes (NAME, "
        "LAST_NAME, PHONE_WORK…)."
    )


def reason(rejected: Rejected) -> str:
    field = field_label(rejected.field)
    value = rejected.value
    if rejected.why == "required":
        return _("{field} is required").format(field=field)
    if rejected.why == "ambiguous":
        return _("several elements are called “{value}” ({field}): not guessed").format(
            value=value, field=field
        )
    if rejected.why == "unknown":
        return _("no {field} “{value}”").format(field=field, value=value)
    if rejected.why == "not_allowed":
        return _("you may not import elements for {value}").format(value=value)
    if rejected.why == "broken":
        return _("the line does not fit the header (a quote or separator is off)")
    if rejected.why == "duplicate":
        return _("“{value}” exists already").format(value=value)
    if value:
        return _("{field}: “{value}” is not valid").format(field=field, value=value)
    return _("a value is not valid")


def render_report(report: ImportReport) -> str:
    lines = [
        _("Import of {kind} finished.").format(kind=KIND_NAMES[report.kind]),
        _("Created: {n}").format(n=report.created),
    ]
    if report.product_rows:
        lines.append(_("Product rows: {n}").format(n=report.product_rows))
    if report.skipped:
        lines.append(_("Skipped as duplicates: {n}").format(n=report.skipped))
    elif report.duplicates:
        lines.append(
            _("Created although similar ones exist: {n}").format(n=len(report.duplicates))
        )
    lines.append(_("Rejected: {n}").format(n=len(report.rejected)))
    for rejected in report.rejected[:5]:
        lines.append(
            _("line {line}: {reason}").format(
                line=rejected.line, reason=html.quote(reason(rejected))
            )
        )
    if len(report.rejected) > 5:
        lines.append(_("… the rest in the attached file."))
    if report.unknown:
        lines.append(
            _("Columns not imported: {names}").format(
                names=html.quote(", ".join(report.unknown[:20]))
            )
        )
    return "\n".join(lines)


def rejected_csv(report: ImportReport) -> bytes:
    """The rejected rows as they were (the file's separator), the line and reason in front."""
    out = io.BytesIO()
    writer = CsvWriter(out, report.separator if report.separator != " " else ";")
    writer.row([_("Line"), _("Reason"), *report.header])
    for rejected in report.rejected:
        writer.row(
            [str(rejected.line), reason(rejected), *(neutralize(c) for c in rejected.cells)]
        )
    return out.getvalue()


def render_preview(
    kind: Kind, mapping: ColumnMap, rows: Sequence[ReadRow | Rejected], file_name: str
) -> str:
    lines = [
        _("<b>Import of {kind}</b> from {file}").format(
            kind=KIND_NAMES[kind], file=html.quote(file_name or "CSV")
        ),
        "",
        _("Columns:"),
    ]
    names = {f.code: f.name for f in mapping.custom.values()}
    for i, (header, column) in enumerate(zip(mapping.header, mapping.fields, strict=True)):
        custom = mapping.custom.get(i)
        label = custom.name if column is None and custom is not None else column_label(column)
        lines.append(f"• {html.quote(header)} → {html.quote(label)}")
    lines += ["", _("The first rows as they will be read:")]
    for row in rows:
        if isinstance(row, Rejected):
            lines.append(
                _("line {line}: {reason}").format(line=row.line, reason=html.quote(reason(row)))
            )
            continue
        shown = "; ".join(
            [
                f"{field_label(k)}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                for k, v in row.values.items()
            ]
            + [f"{names.get(k, k)}: {_custom_shown(v)}" for k, v in row.custom.items()]
        )
        lines.append(
            _("line {line}: {values}").format(line=row.line, values=html.quote(shown[:300]))
        )
    lines += [
        "",
        _("Duplicates (same name, phone or e-mail) are skipped unless you choose to create them."),
    ]
    return "\n".join(lines)


def _custom_shown(value: object) -> str:
    """A custom field's value as the preview shows it (before the database is asked)."""
    if isinstance(value, LinkName):
        return value.name
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dict):
        return f"{value.get('amount', '')} {value.get('currency', '')}"
    return str(value)


def report_for_cli(report: ImportReport) -> str:
    """The report as the command line prints it (English, as every `crmbot` output)."""
    lines = [
        f"{report.created} created, {report.skipped} skipped as duplicates, "
        f"{len(report.rejected)} rejected"
        + (f", {report.product_rows} product rows" if report.product_rows else ""),
    ]
    for line, code in report.duplicates if not report.skipped else ():
        lines.append(f"line {line}: created although {code or 'a similar element'} exists")
    if report.unknown:
        lines.append("columns not imported: " + ", ".join(report.unknown))
    return "\n".join(lines)
