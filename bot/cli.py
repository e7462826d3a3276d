"""The ``tapwork`` command: run the bot, try it offline, and the operator tools.

Every failure a person can fix ends as one line on stderr and exit code 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import sys
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bot.clock import Clock
from bot.config import TOKEN_ENV, Config, load_config
from bot.domain.errors import DatabaseBusy, MissingDatabase, NotFound, TapworkError
from bot.domain.projects import load_project_file
from bot.redact import Redactor, install

DEFAULT_CONFIG = "config.toml"


#: libraries whose INFO lines are one per request or per scheduled run: noise a
#: running bot should not print unless asked (``--verbose``)
CHATTY = ("httpx", "handlers.http", "apscheduler")


def main(argv: list[str] | None = None, clock: Clock | None = None) -> int:
    """``clock``: what every command reads the time from (tests pass a fixed one)."""
    parser = _parser()
    args = parser.parse_args(argv)
    args.clock = clock or Clock()
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False)
                        else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # the token may be in the environment before any config is read; _config adds the
    # config file's own
    args.redactor = Redactor([os.environ.get(TOKEN_ENV, "")])
    install(args.redactor)
    try:
        result = args.func(args)
        return int(result or 0)
    except TapworkError as exc:
        print(f"tapwork: {args.redactor.redact(str(exc))}", file=sys.stderr)
        return 2
    except DatabaseBusy as exc:  # another program kept the write lock: nothing changed
        print(f"tapwork: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception:  # a bug: keep the traceback for the report, but never the token
        sys.stderr.write(args.redactor.redact(traceback.format_exc()))
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tapwork", description="Labelled data and fairly paid micro-work on Telegram.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, func: Callable[[argparse.Namespace], Any],
                config: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if config:
            p.add_argument("-c", "--config", default=DEFAULT_CONFIG,
                           help=f"config file (default: {DEFAULT_CONFIG})")
        p.add_argument("-v", "--verbose", action="store_true", help="log more")
        p.set_defaults(func=func)
        return p

    p = command("run", f"run the bot (long polling, or webhook posts when [webhook] url is "
                       f"set); the token comes from the config or {TOKEN_ENV}", _run)
    p.add_argument("--no-set-webhook", dest="set_webhook", action="store_false",
                   help="webhook mode: leave Telegram's webhook as it is instead of "
                        "setting it to webhook.url at start")
    demo = command("demo", "run the real bot offline against a local Telegram stand-in "
                           "with a simulated crowd", _demo, config=False)
    demo.add_argument("--workers", type=int, default=5, help="simulated workers (default 5)")
    demo.add_argument("--db", help="keep the demo database at this path")
    p = command("project", "create or update a project from its TOML file", _project)
    p.add_argument("file", help="project file, e.g. project.toml")
    p = command("import", "add items from JSONL, CSV or a ZIP with media (all or nothing)",
                _import)
    p.add_argument("--project", required=True, help="project name")
    p.add_argument("file", help="items file")
    p = command("export", "write answers and labels of a project", _export)
    p.add_argument("--project", required=True, help="project name")
    p.add_argument("--format", choices=["jsonl", "csv", "coco"], default="jsonl",
                   help="jsonl: one object per item; csv: one row per answer; coco: COCO "
                   "JSON of the merged boxes or points (boxes and points projects)")
    p.add_argument("-o", "--output", help="output file (default: standard output)")
    p = command("worker", "suspend a worker from a project, or reinstate them", _worker)
    p.add_argument("worker", type=int, help="the worker's Telegram user id")
    action = p.add_mutually_exclusive_group(required=True)
    action.add_argument("--suspend", metavar="PROJECT", help="stop them working on PROJECT")
    action.add_argument("--reinstate", metavar="PROJECT", help="let them work on PROJECT again")
    p = command("bonus", "pay a worker a bonus; the reason reaches them", _bonus)
    p.add_argument("worker", type=int, help="the worker's Telegram user id")
    p.add_argument("amount", help='a decimal amount, e.g. "0.50"')
    p.add_argument("--reason", required=True, help="told to the worker")
    p.add_argument("--currency", help="ISO 4217 code (default: the worker's main currency)")
    p.add_argument("--key", help="idempotency key (default: worker, amount, currency, reason "
                                 "and today's date, so a repeated command pays once)")
    p = command("payouts", "list, approve, reject or export payout requests", _payouts)
    p.add_argument("action", choices=["list", "approve", "reject", "export"])
    p.add_argument("id", nargs="?", type=int, help="payout id (approve, reject)")
    p.add_argument("--reason", default="", help="why a payout is rejected (told to the worker)")
    p.add_argument("--status", default="requested",
                   choices=["requested", "approved", "rejected", "all"],
                   help="which requests to list or export (default: requested)")
    p.add_argument("-o", "--output", help="CSV file for export (default: standard output)")
    p = command("ledger", "balances per worker and currency", _ledger)
    p.add_argument("--worker", type=int, help="one worker only")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = command("broadcast", "tell workers who can take a project that tasks wait; the "
                             "running bot sends it", _broadcast)
    p.add_argument("project", help="project name")
    p.add_argument("--text", help="your own words (default: a message in each worker's "
                                  "language)")
    p.add_argument("--paid", action="store_true",
                   help="use Telegram's paid broadcast (needs broadcast.allow_paid_broadcast)")
    p = command("simulate", "before launch: replay a past crowd (item,worker,label CSV; "
                            "item,worker,text for transcription) "
                            "against a project's quality settings and a few alternatives",
                _simulate, config=False)
    p.add_argument("-c", "--config", help="accepted like every command's; the simulation "
                                          "runs on its own and never opens the database")
    p.add_argument("project_file", metavar="PROJECT.toml", help="the project's file")
    p.add_argument("answers", metavar="ANSWERS.csv",
                   help="past answers: item,worker,label (item,worker,text)")
    p.add_argument("--gold", required=True, metavar="GOLD.csv",
                   help="known answers: item,label (item,text)")
    p.add_argument("--seconds-per-answer", type=float, default=10.0,
                   help="time a worker takes per answer, for the hourly rate (default 10)")
    p.add_argument("--seed", type=int, default=0, help="worker order and draws (default 0)")
    p = command("db", "database tools: `db copy --to postgresql://…` copies the SQLite "
                      "database into an empty PostgreSQL one and checks the copy", _db)
    p.add_argument("action", choices=["copy"])
    p.add_argument("--to", required=True, metavar="URL",
                   help="the PostgreSQL database, postgresql://USER:PASSWORD@HOST:5432/NAME")
    p = command("stats", "progress of every project", _stats)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    with contextlib.suppress(ImportError):
        from bot.aggregation.cli import add_parser

        add_parser(sub)
    return parser


def _config(args: argparse.Namespace) -> Config:
    from urllib.parse import urlsplit

    config = load_config(args.config)
    args.redactor.add(config.telegram.token)
    args.redactor.add(urlsplit(config.storage.url).password)  # PostgreSQL's, if any
    return config


def _with_services(args: argparse.Namespace,
                   work: Callable[[Any], Awaitable[int | None]], *,
                   create: bool = False) -> int:
    """Open the database and run ``work`` on the services.

    Only a command that creates something (``project``) may create the database file:
    any other command on a missing one (a first-day typo in ``-c`` or ``storage.path``,
    an unknown project) says so and leaves no empty ``tapwork.db`` behind.
    """
    from bot.wiring import Services

    config = _config(args)

    async def go() -> int | None:
        try:
            services = await Services.open(config, args.clock, create=create)
        except MissingDatabase as exc:
            project = next((getattr(args, key) for key in ("project", "suspend", "reinstate")
                            if getattr(args, key, None)), None)
            if project is None:
                raise
            raise NotFound("no project named {name}: {why}", name=project,
                           why=str(exc)) from None
        except sqlite3.Error as exc:
            raise TapworkError("cannot open the database {path}: {why}",
                               path=config.storage.path, why=str(exc)) from None
        try:
            return await work(services)
        finally:
            await services.close()

    return int(asyncio.run(go()) or 0)


def _run(args: argparse.Namespace) -> int:
    config = _config(args)
    if not config.telegram.token:
        raise TapworkError("no Telegram token: set {env} or telegram.token in {where}",
                           env=TOKEN_ENV, where=config.source)
    from bot.app import run_forever

    logging.getLogger().setLevel(logging.INFO)
    # the HTTP client logs every Bot API call and APScheduler every run of a job (several a
    # minute), both at INFO: noise unless asked for, and httpx's line cost 0.1-0.4 ms
    # an answer (measured with bench/loop.py)
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.NOTSET if args.verbose else logging.WARNING)
    asyncio.run(run_forever(config, args.clock, set_webhook=args.set_webhook))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from bot.sim.demo import run_demo

    return asyncio.run(run_demo(workers=args.workers, db_path=args.db))


def _simulate(args: argparse.Namespace) -> int:
    from bot.sim.simulate import run_simulate

    return run_simulate(args.project_file, args.answers, args.gold,
                        args.seconds_per_answer, args.seed)


def _project(args: argparse.Namespace) -> int:
    spec = load_project_file(args.file)

    async def work(services: Any) -> int:
        _project, created = await services.catalog.save(spec)
        verb = "created" if created else "updated"
        print(f"project {spec.name} {verb} ({spec.kind}, {len(spec.labels)} labels)")
        return 0

    return _with_services(args, work, create=True)


def _import(args: argparse.Namespace) -> int:
    from bot.intake.importer import format_report

    async def work(services: Any) -> int:
        result = await services.catalog.import_file(args.project, args.file)
        report = format_report(result)
        print(report, file=sys.stdout if result.ok else sys.stderr)
        return 0 if result.ok else 1

    return _with_services(args, work)


def _export(args: argparse.Namespace) -> int:
    async def work(services: Any) -> int:
        if args.output:
            target = Path(args.output)
            await services.catalog.get(args.project)  # an unknown name makes no file
            try:  # by way of FILE.partial: a failure never leaves half an export
                count = await services.reports.export_file(args.project, target,
                                                           args.format)
            except OSError as exc:
                raise _cannot_write(target, exc) from None
            print(f"wrote {count} {'answers' if args.format == 'csv' else 'items'} to "
                  f"{target}", file=sys.stderr)
        else:
            await services.reports.export(args.project, sys.stdout, args.format)
        return 0

    return _with_services(args, work)


def _cannot_write(target: Path, exc: OSError) -> TapworkError:
    return TapworkError("cannot write {file}: {why}", file=str(target),
                        why=exc.strerror or str(exc))


def _worker(args: argparse.Namespace) -> int:
    from bot.domain.qualify import OPERATOR

    async def work(services: Any) -> int:
        if await services.workers.get(args.worker) is None:
            raise TapworkError("no worker with id {id}", id=args.worker)
        name = args.suspend or args.reinstate
        project = await services.catalog.get(name)
        changed = await services.work.set_suspended(args.worker, project, bool(args.suspend),
                                                    OPERATOR)
        state = "suspended from" if args.suspend else "reinstated in"
        print(f"worker {args.worker} {state} {name}" if changed
              else f"worker {args.worker} was already {state} {name}; nothing changed")
        return 0

    return _with_services(args, work)


def _bonus(args: argparse.Namespace) -> int:
    import hashlib

    from bot.domain.money import format_money, is_currency, parse_amount

    try:
        amount = parse_amount(args.amount)
    except ValueError as exc:
        raise TapworkError(str(exc)) from None

    async def work(services: Any) -> int:
        if await services.workers.get(args.worker) is None:
            raise TapworkError("no worker with id {id}", id=args.worker)
        currency = args.currency
        if currency is None:
            balances = (await services.payroll.balances(args.worker)).get(args.worker, [])
            if not balances:
                raise TapworkError("worker {id} has earned nothing yet: give --currency",
                                   id=args.worker)
            currency = max(balances, key=lambda b: b.available + b.pending + b.paid).currency
        if not is_currency(currency):
            raise TapworkError("{code} is not an ISO 4217 currency code", code=currency)
        key = args.key or hashlib.sha256(
            f"{args.worker}|{amount}|{currency}|{args.reason}|"
            f"{services.clock.now().date()}".encode()).hexdigest()[:24]
        created = await services.payroll.bonus(args.worker, amount, currency, args.reason,
                                               key)
        shown = format_money(amount, currency)
        print(f"bonus of {shown} for worker {args.worker} recorded" if created
              else f"bonus with key {key} was already recorded; nothing changed")
        return 0

    return _with_services(args, work)


def _payouts(args: argparse.Namespace) -> int:
    from bot.domain.money import MICROS
    from bot.domain.payout_sheet import payouts_csv
    from bot.files import written_atomically

    if args.action in ("approve", "reject") and args.id is None:
        raise TapworkError("give the payout id: tapwork payouts {action} ID",
                           action=args.action)

    async def work(services: Any) -> int:
        payroll = services.payroll
        if args.action in ("approve", "reject"):
            payout = await payroll.decide_payout(args.id, args.action == "approve",
                                                 args.reason)
            print(f"payout {payout.id} {payout.status}")
            return 0
        status = None if args.status == "all" else args.status
        rows = await payroll.payouts(status)
        if args.action == "list":
            if not rows:
                print(f"no {args.status} payout requests")
            for p in rows:
                print(f"#{p.id}  worker {p.worker_id}  {_decimal(p.amount, MICROS)} "
                      f"{p.currency}  {p.status}  requested {p.requested_at[:16]}")
            return 0
        sheet = payouts_csv(rows)
        if args.output:
            def write() -> None:
                with written_atomically(Path(args.output)) as out:
                    out.write(sheet)

            try:  # by way of FILE.partial, like exports
                await asyncio.to_thread(write)
            except OSError as exc:
                raise _cannot_write(Path(args.output), exc) from None
            print(f"wrote {len(rows)} payout requests to {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(sheet)
        return 0

    return _with_services(args, work)


def _decimal(micros: int, unit: int) -> str:
    """Exact decimal text of an amount: 20000 micros -> "0.020000"."""
    from bot.domain.payout_sheet import decimal_text

    assert unit == 1_000_000
    return decimal_text(micros)


def _ledger(args: argparse.Namespace) -> int:
    from bot.domain.money import MICROS

    async def work(services: Any) -> int:
        per_worker = await services.payroll.balances(args.worker)
        if args.json:
            print(json.dumps({str(w): [b.__dict__ for b in bs]
                              for w, bs in per_worker.items()}, indent=2))
            return 0
        if not per_worker:
            print("no money recorded yet")
        for worker, balances in per_worker.items():
            for b in balances:
                print(f"worker {worker}  {b.currency}  pending {_decimal(b.pending, MICROS)}  "
                      f"available {_decimal(b.available, MICROS)}  "
                      f"reserved {_decimal(b.reserved, MICROS)}  "
                      f"paid out {_decimal(b.paid, MICROS)}")
        return 0

    return _with_services(args, work)


def _broadcast(args: argparse.Namespace) -> int:
    async def work(services: Any) -> int:
        started, audience = await services.broadcasts.start(args.project, args.text,
                                                            paid=args.paid)
        by_language = ", ".join(f"{lang} {n}" for lang, n in audience.by_language.items())
        print(f"broadcast #{started.id} to {audience.total} workers"
              f"{f' (reading {by_language})' if by_language else ''} queued at "
              f"{started.rate:g} messages a second; the running bot sends it and resumes it "
              f"after a restart")
        return 0

    return _with_services(args, work)


def _db(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from bot.dbcopy import copy_to_postgres

    config = _config(args)
    with contextlib.suppress(ValueError):
        args.redactor.add(urlsplit(args.to).password or "")
    copy_to_postgres(config, args.to, print)
    return 0


def _stats(args: argparse.Namespace) -> int:
    async def work(services: Any) -> int:
        stats = await services.reports.stats()
        if args.json:
            print(json.dumps([asdict(s) for s in stats], indent=2, ensure_ascii=False))
            return 0
        if not stats:
            print("no projects yet: create one with `tapwork project -c CONFIG FILE.toml`")
            return 0
        from bot.domain.inventory import languages_text
        from bot.domain.money import format_money, format_rate

        def cash(micros: int | None, currency: str) -> str:
            return "-" if micros is None else format_money(micros, currency)

        def rate(micros: int | None, currency: str) -> str:
            """A computed figure (per answer, per hour) in the currency's minor unit."""
            return "-" if micros is None else format_rate(micros, currency)

        def quiz_cost(s: Any) -> str:
            """Quiz answers per worker who passed, with the counts it comes from, and
            how many of them were paid (passed exams, ``quiz.paid``)."""
            paid = f", {s.paid_exam_answers} paid" if s.paid_exam_answers else ""
            if s.quiz_per_qualified is None:
                return f"- ({s.quiz_answers}/0){paid}" if s.quiz_answers else "-"
            return f"{s.quiz_per_qualified:g} ({s.quiz_answers}/{s.qualified}){paid}"

        header = ("project", "kind", "status", "items", "done", "in progress", "answers",
                  "active workers", "spent", "committed", "per answer", "median hourly",
                  "quiz per qualified", "left by language")
        rows = [header] + [(s.name, s.kind, s.status, str(s.items), str(s.done),
                            str(s.in_progress), str(s.answers), str(s.active_workers),
                            cash(s.spent, s.currency), cash(s.committed, s.currency),
                            rate(s.per_answer, s.currency),
                            rate(s.median_hourly, s.currency), quiz_cost(s),
                            languages_text(s.left_by_language) or "-")
                           for s in stats]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        for row in rows:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                  .rstrip())
        for s in stats:
            if s.below_min_hourly:
                print(f"warning: {s.name}: the median worker earns "
                      f"{rate(s.median_hourly, s.currency)} an hour, below the project's "
                      f"min_hourly; raise the reward or make tasks quicker", file=sys.stderr)
        return 0

    return _with_services(args, work)
