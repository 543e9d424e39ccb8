"""The `crmbot` command: run, console, migrate, invite, scheduler, source, currency, product,
import, export."""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import importlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence

from bot.config import ConfigError, Settings, load_settings
from crm.enums import Role
from crm.exchange.columns import Kind
from crm.locales import SUPPORTED_LOCALES

# Each command imports what it needs, in its function: `crmbot migrate`, `source`, `currency`
# and `product` neither aiogram nor the handlers (bot.runtime, not bot.factory), and `--help`
# or a mistyped argument nothing of the CRM; a `crmbot` process started in a test or a script
# pays seconds less of imports.
log = logging.getLogger("crmbot")
DUPLICATES_METAVAR = "{skip,create}"  # crm.imports.Duplicates (tests/test_cli.py checks)


class _DuplicatesChoices:
    """`--duplicates`'s choices, from crm.imports only when argparse checks a value given or
    lists them in an error."""

    def __contains__(self, value: object) -> bool:
        return value in list(self)

    def __iter__(self) -> Iterator[str]:
        from crm.imports import Duplicates

        return iter([d.value for d in Duplicates])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crmbot", description="A Telegram-native CRM.")
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="DEBUG, INFO, WARNING, ERROR (default INFO)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser(
        "run",
        help="run the bot: long polling, or a webhook server when WEBHOOK_URL is set; "
        "the offline console when BOT_TOKEN is not set",
    )
    console = sub.add_parser("console", help="chat with the bot offline, no Telegram needed")
    _console_options(console)
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("scheduler", help="run only the scheduler worker (no Telegram updates)")

    invite = sub.add_parser("invite", help="create a CRM user and print a one-time invite")
    invite.add_argument("--role", required=True, choices=[r.value for r in Role])
    invite.add_argument("--name", default="", help="the person's name")
    invite.add_argument("--department", default=None, help="department name (created if new)")

    source = sub.add_parser("source", help="web forms posting to POST /inbound/{token}")
    actions = source.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a source and print its token (shown only once)")
    add.add_argument("name", help="the form's name, e.g. 'Contact form'")
    add.add_argument(
        "--source", default="WEBFORM", help="dictionary source code of its leads (WEBFORM)"
    )
    add.add_argument(
        "--group",
        type=int,
        default=None,
        metavar="CHAT_ID",
        help="the triage group its cards go to (default: the only bound group, if one)",
    )
    actions.add_parser("list", help="list the sources")
    revoke = actions.add_parser("revoke", help="stop accepting a source's token")
    revoke.add_argument("name")
    currency = sub.add_parser(
        "currency", help="currencies: list, add a rate, import rates, report"
    )
    actions = currency.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="the base and report currencies and the latest rates")
    add = actions.add_parser("add", help="a rate: base-currency units for one unit, from a day")
    add.add_argument("code", help="ISO 4217 code, e.g. USD")
    add.add_argument("rate", help="e.g. 4.02")
    add.add_argument("date", nargs="?", default=None, help="YYYY-MM-DD (default: today)")
    imp = actions.add_parser("import", help="rates from a CSV file: currency,rate,date")
    imp.add_argument("file", help="path of the CSV file (UTF-8)")
    report = actions.add_parser("report", help="set the currency of reports")
    report.add_argument("code")
    product = sub.add_parser("product", help="the product catalog: list, import")
    actions = product.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="the products with their prices and dates")
    imp = actions.add_parser(
        "import", help="products from a CSV file: name,price,currency,active_from,active_to"
    )
    imp.add_argument("file", help="path of the CSV file (UTF-8)")
    kinds = [k.value for k in Kind]
    imp = sub.add_parser(
        "import",
        help="import a CSV file (Bitrix24's export or import template): creates, never updates",
    )
    imp.add_argument("--type", required=True, choices=kinds, dest="kind")
    imp.add_argument("file", help="the CSV file (UTF-8 with or without BOM, or windows-1251)")
    imp.add_argument(
        "--duplicates",
        choices=_DuplicatesChoices(),
        metavar=DUPLICATES_METAVAR,
        default="skip",
        help="a row like an existing element (name, phone, e-mail): skip it (default) or "
        "create it and report it",
    )
    imp.add_argument(
        "--rejected",
        default=None,
        metavar="FILE",
        help="write the rejected rows with their reasons here (default: FILE.rejected.csv)",
    )
    exp = sub.add_parser("export", help="export a list as CSV (Bitrix24's columns)")
    exp.add_argument("--type", required=True, choices=kinds, dest="kind")
    exp.add_argument("--out", required=True, help="the file to write")
    exp.add_argument("--lang", choices=SUPPORTED_LOCALES, default=None, help="column language")
    exp.add_argument("--codes", action="store_true", help="Bitrix24's codes as column names")
    exp.add_argument("filters", nargs="*", help="stage=… responsible=… source=… closed=Y|N")
    return parser


def _console_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=SUPPORTED_LOCALES, help="your language in the console")
    parser.add_argument(
        "--user",
        default=None,
        help="name of the local admin to create (default: 'Administrator' in your language)",
    )
    parser.add_argument(
        "--telegram-id",
        type=int,
        default=None,
        help="act as this Telegram account (e.g. to redeem an invite); "
        "the default account is provisioned as a local admin",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"crmbot: {exc}", file=sys.stderr)
        return 2
    except (OSError, UnicodeError) as exc:  # an unreadable .env; its content is never echoed
        print(f"crmbot: cannot read the settings (.env): {type(exc).__name__}", file=sys.stderr)
        return 2
    from bot.logs import settings_secrets, setup_logging

    # From here on everything written to stderr (log lines, uncaught errors, warnings) is
    # redacted: the token, its secret part, the webhook secret, database and Redis passwords.
    redact = setup_logging(
        "WARNING"
        if args.command
        in ("console", "invite", "source", "currency", "product", "import", "export")
        else args.log_level,
        settings_secrets(settings),
    )
    try:
        return asyncio.run(_main(args, settings))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `crmbot console | head`: the reader left; say nothing more, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (Exception, asyncio.CancelledError) as exc:
        # One line naming the setting and the cause; the traceback only with DEBUG.
        from bot.failures import describe_failure

        log.debug("details of the failure", exc_info=exc)
        print(redact(f"crmbot: {describe_failure(exc, settings)}"), file=sys.stderr)
        return 1


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    from bot.logs import install_asyncio_handler

    install_asyncio_handler()
    _preload(args.command, settings)
    return await _dispatch(args, settings)


def _preload(command: str, settings: Settings) -> None:
    """Import what the command will, with the garbage collector paused, then freeze it all.

    Start-up allocates some 300,000 objects and keeps nearly all of them (classes, tables,
    pydantic models): the collections during the imports find nothing to free, and once done
    they would keep walking them. Paused and frozen, `crmbot run` starts about 0.5 s of CPU
    sooner (of 2.4 s of imports), and later collections walk only what the work allocates.
    The lists need not be exact: what is left out is imported by the command as usual."""
    if command in ("run", "console") or (command == "scheduler" and settings.telegram.bot_token):
        modules = ["bot.app", "bot.runner", "bot.console"]
    elif command in ("import", "export"):
        modules = ["bot.exchange", "crm.context", "storage.migrate"]
    elif command == "migrate":
        modules = ["storage.migrate"]
    elif command == "scheduler":  # without a token: it says so and stops
        modules = []
    else:
        modules = ["crm.context", "storage.migrate"]
    gc.disable()
    try:
        for name in modules:
            importlib.import_module(name)
        gc.freeze()
    finally:
        gc.enable()


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "migrate":
        return await _migrate(settings)
    if args.command == "invite":
        return await _invite(settings, Role(args.role), args.name, args.department)
    if args.command == "scheduler":
        return await _scheduler(settings)
    if args.command == "source":
        return await _source(settings, args)
    if args.command == "currency":
        return await _currency(settings, args)
    if args.command == "product":
        return await _product(settings, args)
    if args.command == "import":
        return await _import(settings, args)
    if args.command == "export":
        return await _export(settings, args)
    if args.command == "console" or settings.telegram.bot_token is None:
        if args.command == "run":
            print("crmbot: BOT_TOKEN is not set, starting the offline console.", file=sys.stderr)
        return await _console(
            settings,
            lang=getattr(args, "lang", None),
            name=getattr(args, "user", None),
            telegram_id=getattr(args, "telegram_id", None),
        )
    from bot.app import open_app
    from bot.runner import run

    async with open_app(settings) as app:
        await run(app)
    return 0


async def _migrate(settings: Settings) -> int:
    from storage import migrate
    from storage.db import create_engine

    engine = create_engine(settings.database.database_url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    print("database is up to date")
    return 0


async def _console(
    settings: Settings, *, lang: str | None, name: str | None, telegram_id: int | None
) -> int:
    from bot.app import open_app
    from bot.console import CONSOLE_TELEGRAM_ID, ConsoleSession, run_console

    session = ConsoleSession(sys.stdout)
    async with open_app(settings, bot_session=session) as app:
        # The same reminder engine as `crmbot run`: a reminder arrives in the console too.
        background = app.background()
        background.start()
        try:
            await run_console(
                app, session, telegram_id=telegram_id or CONSOLE_TELEGRAM_ID, name=name, lang=lang
            )
        finally:
            await background.stop()
    return 0


async def _invite(settings: Settings, role: Role, name: str, department: str | None) -> int:
    from bot.runtime import create_runtime
    from crm.context import Crm
    from storage import migrate
    from storage.db import create_engine, create_sessionmaker

    engine = create_engine(settings.database.database_url)
    try:
        await migrate.upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            crm = Crm(session, create_runtime(settings))
            if not name.strip():
                # No name given: called by their role in the CRM's language until they write.
                from bot.i18n import create_i18n, in_locale
                from bot.labels import default_user_name

                i18n = create_i18n(settings.locale.locales_dir, settings.locale.default_locale)
                name = in_locale(i18n, None, lambda: default_user_name(role))
            issued = await crm.users.create_invite(role, name, department)
    finally:
        await engine.dispose()
    username = settings.telegram.bot_username or await _bot_username(settings)
    print(
        f"Invite for {issued.user.name} ({role.value}"
        + (f", {department}" if department else "")
        + f"), valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC, usable once."
    )
    if username:
        print(f"Link: https://t.me/{username.lstrip('@')}?start={issued.code}")
    print(f"Or send the bot: /start {issued.code}")
    print(issued.code)
    return 0


async def _currency(settings: Settings, args: argparse.Namespace) -> int:
    """`crmbot currency …`: what `/currency` does, for an admin at the command line."""
    from pathlib import Path

    from bot.runtime import create_runtime
    from crm.context import Crm
    from crm.currencies import read_date, read_rate
    from crm.errors import BadRow, InvalidValue
    from storage import migrate
    from storage.db import create_engine, create_sessionmaker

    engine = create_engine(settings.database.database_url)
    try:
        await migrate.upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            currencies = Crm(session, create_runtime(settings)).currencies
            try:
                if args.action == "add":
                    day = read_date(args.date) if args.date else None
                    row = await currencies.add_rate(None, args.code, read_rate(args.rate), day)
                    print(f"1 {row.currency} = {row.rate} {currencies.base} from {row.valid_from}")
                elif args.action == "import":
                    text = await asyncio.to_thread(Path(args.file).read_text, "utf-8-sig")
                    count = await currencies.import_csv(None, text)
                    print(f"{count} rate(s) imported")
                elif args.action == "report":
                    print(
                        f"reports are in {await currencies.set_report_currency(None, args.code)}"
                    )
                overview = await currencies.overview()
                if args.action == "list":
                    print(f"base currency: {overview.base}")
                    print(f"report currency: {overview.report}")
                    for rate in overview.latest:
                        print(f"{rate.currency} {rate.rate} from {rate.valid_from}")
            except BadRow as exc:
                print(f"crmbot: line {exc.line}: invalid {exc.field} {exc.value!r}; "
                      "nothing was imported", file=sys.stderr)  # fmt: skip
                return 2
            except InvalidValue as exc:
                print(f"crmbot: invalid {exc.field}: {exc.value!r}", file=sys.stderr)
                return 2
            except (OSError, UnicodeError) as exc:
                print(f"crmbot: cannot read {args.file}: {type(exc).__name__}", file=sys.stderr)
                return 2
    finally:
        await engine.dispose()
    return 0


async def _product(settings: Settings, args: argparse.Namespace) -> int:
    """`crmbot product …`: the catalog for an admin at the command line."""
    from pathlib import Path

    from bot.runtime import create_runtime
    from crm.context import Crm
    from crm.errors import BadRow
    from crm.money import from_minor
    from storage import migrate
    from storage.db import create_engine, create_sessionmaker

    engine = create_engine(settings.database.database_url)
    try:
        await migrate.upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            products = Crm(session, create_runtime(settings)).products
            if args.action == "import":
                try:
                    text = await asyncio.to_thread(Path(args.file).read_text, "utf-8-sig")
                    result = await products.import_csv(None, text)
                except BadRow as exc:
                    print(f"crmbot: line {exc.line}: invalid {exc.field} {exc.value!r}; "
                          "nothing was imported", file=sys.stderr)  # fmt: skip
                    return 2
                except (OSError, UnicodeError) as exc:
                    print(
                        f"crmbot: cannot read {args.file}: {type(exc).__name__}", file=sys.stderr
                    )
                    return 2
                print(f"{result.added} product(s) added, {result.updated} updated")
                return 0
            page = 0
            while True:
                rows, total = await products.repos.products.page(page * 100, 100)
                for p in rows:
                    window = f" {p.active_from or '…'}..{p.active_to or '…'}"
                    off = " off" if p.deactivated else ""
                    print(f"{p.name}\t{from_minor(p.price_minor)} {p.currency}{window}{off}")
                page += 1
                if page * 100 >= total:
                    break
    finally:
        await engine.dispose()
    return 0


async def _import(settings: Settings, args: argparse.Namespace) -> int:
    """`crmbot import --type contacts FILE`: as the first admin (the responsible of rows that
    name nobody); prints the report, and exits 2 when the file is refused."""
    from pathlib import Path

    from bot.exchange import BotLabels, refusal, rejected_csv, report_for_cli
    from bot.i18n import create_i18n, in_locale
    from bot.runtime import create_runtime
    from crm.context import Crm
    from crm.errors import FileRefused
    from crm.imports import Duplicates
    from crm.users import actor_of
    from storage import migrate
    from storage.db import create_engine, create_sessionmaker

    kind = Kind(args.kind)
    i18n = create_i18n(settings.locale.locales_dir, settings.locale.default_locale)
    engine = create_engine(settings.database.database_url)
    try:
        await migrate.upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            crm = Crm(session, create_runtime(settings))
            admin = await crm.repos.users.first_admin()
            if admin is None:
                print("crmbot: no admin yet: create one with crmbot invite --role admin",
                      file=sys.stderr)  # fmt: skip
                return 2
            try:
                with open(args.file, "rb") as stream:  # noqa: ASYNC230 - read row by row
                    plan = await crm.imports.open(None, kind, stream, Path(args.file).name)
                    report = await crm.imports.run(
                        actor_of(admin),
                        plan,
                        Duplicates(args.duplicates),
                        labels=BotLabels(i18n, None),
                    )
            except FileRefused as exc:
                message = in_locale(i18n, "en", functools.partial(refusal, exc))
                print(f"crmbot: {args.file}: {message}", file=sys.stderr)
                return 2
            except OSError as exc:
                print(f"crmbot: cannot read {args.file}: {type(exc).__name__}", file=sys.stderr)
                return 2
    finally:
        await engine.dispose()
    print(report_for_cli(report))
    if report.rejected:
        target = Path(args.rejected or f"{args.file}.rejected.csv")
        with i18n.context(), i18n.use_locale("en"):
            data = rejected_csv(report)
        await asyncio.to_thread(target.write_bytes, data)
        print(f"rejected rows with their reasons: {target}")
    return 0


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    """`crmbot export --type deals --out deals.csv`: everything (the command line holds the
    database), contacts with the export flag off left out."""
    from bot.exchange import BotLabels
    from bot.i18n import create_i18n
    from bot.runtime import create_runtime
    from crm.context import Crm
    from crm.errors import InvalidValue
    from crm.exports import parse_filters
    from storage import migrate
    from storage.db import create_engine, create_sessionmaker

    locale = args.lang or settings.locale.default_locale
    i18n = create_i18n(settings.locale.locales_dir, settings.locale.default_locale)
    engine = create_engine(settings.database.database_url)
    try:
        await migrate.upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            crm = Crm(session, create_runtime(settings))
            try:
                with open(args.out, "wb") as stream:  # noqa: ASYNC230 - written page by page
                    done = await crm.exports.export(
                        None,
                        Kind(args.kind),
                        stream,
                        locale=locale,
                        codes=args.codes,
                        filters=parse_filters(args.filters),
                        labels=BotLabels(i18n, locale),
                    )
            except InvalidValue as exc:
                print(f"crmbot: invalid {exc.field}: {exc.value!r}", file=sys.stderr)
                return 2
            except OSError as exc:
                print(f"crmbot: cannot write {args.out}: {type(exc).__name__}", file=sys.stderr)
                return 2
    finally:
        await engine.dispose()
    print(f"{done.elements} {args.kind} exported ({done.rows} lines) to {args.out}")
    return 0


async def _source(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runtime import create_runtime
    from crm.context import Crm
    from crm.errors import NameTaken, NotFound
    from storage import migrate
    from storage.db import create_engine, create_sessionmaker

    engine = create_engine(settings.database.database_url)
    try:
        await migrate.upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            inbound = Crm(session, create_runtime(settings)).inbound
            try:
                if args.action == "add":
                    issued = await inbound.add_source(
                        args.name, source=args.source, chat_id=args.group
                    )
                    print(
                        f"Source {issued.source.name!r} added (leads' source "
                        f"{issued.source.source}). Its token, shown only this once:"
                    )
                    print(f"POST /inbound/{issued.token}")
                    print(issued.token)
                elif args.action == "list":
                    found = await inbound.sources()
                    if not found:
                        print("No inbound sources. Add one: crmbot source add NAME")
                    for info in found:
                        group = (
                            f"group {info.queue.chat_id}"
                            if info.queue
                            else "unbound (the only group, if one)"
                        )
                        state = "active" if info.source.active else "revoked"
                        print(f"{info.source.name}\t{info.source.source}\t{group}\t{state}")
                else:
                    revoked = await inbound.revoke(args.name)
                    print(f"Source {revoked.name!r} revoked: its token is refused from now on.")
            except NameTaken:
                print(f"crmbot: a source named {args.name!r} exists already", file=sys.stderr)
                return 2
            except NotFound as exc:
                what = {"source": "source", "group": "bound triage group"}.get(exc.what, exc.what)
                print(f"crmbot: no such {what}: {exc.key}", file=sys.stderr)
                return 2
    finally:
        await engine.dispose()
    return 0


async def _bot_username(settings: Settings) -> str | None:
    if settings.telegram.bot_token is None:
        return None
    from bot.factory import create_bot

    bot = create_bot(settings)
    try:
        me = await bot.get_me(request_timeout=5)
        return me.username
    except Exception:  # an invite must not fail because Telegram is out of reach
        log.warning("could not ask Telegram for the bot's username; printing the code only")
        return None
    finally:
        await bot.session.close()


async def _scheduler(settings: Settings) -> int:
    if settings.telegram.bot_token is None:
        print(
            "crmbot: BOT_TOKEN is not set: the scheduler sends reminders through Telegram "
            "and needs the bot's token",
            file=sys.stderr,
        )
        return 2
    from bot.app import open_app
    from bot.runner import wait_for_stop_signal

    async with open_app(settings) as app:
        background = app.background()
        background.start()
        log.info("scheduler worker started")
        try:
            await wait_for_stop_signal()
        finally:
            await background.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
