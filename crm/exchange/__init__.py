"""Moving data in and out as CSV files the way Bitrix24 writes and reads them.

Telegram-free and database-free: `reading` turns a byte stream into rows (encoding and
separator detected, spreadsheets and XML refused, never loading the whole file), `columns`
is the one registry per element type of the columns Bitrix24 knows (headers in Russian,
English and Polish and the import template's codes), `values` reads and writes one cell
(dates in the portal's language, link fields `[C]Name`, yes/no words, multi-value cells),
and `writing` writes a file a spreadsheet opens safely. The services that use them are
crm/imports.py and crm/exports.py.
"""
