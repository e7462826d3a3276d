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
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.config import TOKEN_ENV, Config, load_config
from bot.errors import TapworkError
from bot.projects import load_project_file

DEFAULT_CONFIG = "config.toml"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False)
                        else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        result = args.func(args)
        return int(result or 0)
    except TapworkError as exc:
        print(f"tapwork: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


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

    command("run", f"run the bot (long polling); the token comes from the config or "
                   f"{TOKEN_ENV}", _run)
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
    p.add_argument("--format", choices=["jsonl", "csv"], default="jsonl",
                   help="jsonl: one object per item; csv: one row per answer")
    p.add_argument("-o", "--output", help="output file (default: standard output)")
    p = command("worker", "suspend a worker from a project, or reinstate them", _worker)
    p.add_argument("worker", type=int, help="the worker's Telegram user id")
    action = p.add_mutually_exclusive_group(required=True)
    action.add_argument("--suspend", metavar="PROJECT", help="stop them working on PROJECT")
    action.add_argument("--reinstate", metavar="PROJECT", help="let them work on PROJECT again")
    p = command("stats", "progress of every project", _stats)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    with contextlib.suppress(ImportError):
        from bot.aggregation.cli import add_parser

        add_parser(sub)
    return parser


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config)


def _with_services(args: argparse.Namespace,
                   work: Callable[[Any], Awaitable[int | None]]) -> int:
    from bot.services import Services

    async def go() -> int | None:
        services = await Services.open(_config(args))
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
    asyncio.run(run_forever(config))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from bot.sim.demo import run_demo

    return asyncio.run(run_demo(workers=args.workers, db_path=args.db))


def _project(args: argparse.Namespace) -> int:
    spec = load_project_file(args.file)

    async def work(services: Any) -> int:
        _project, created = await services.catalog.save(spec)
        verb = "created" if created else "updated"
        print(f"project {spec.name} {verb} ({spec.kind}, {len(spec.labels)} labels)")
        return 0

    return _with_services(args, work)


def _import(args: argparse.Namespace) -> int:
    from bot.importer import format_report

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
            partial = target.with_name(target.name + ".partial")
            try:
                with partial.open("w", encoding="utf-8", newline="") as out:
                    count = await services.reports.export(args.project, out, args.format)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            partial.replace(target)  # a crash never leaves half an export under the name
            print(f"wrote {count} {'answers' if args.format == 'csv' else 'items'} to "
                  f"{target}", file=sys.stderr)
        else:
            await services.reports.export(args.project, sys.stdout, args.format)
        return 0

    return _with_services(args, work)


def _worker(args: argparse.Namespace) -> int:
    from bot.qualify import OPERATOR

    async def work(services: Any) -> int:
        if await services.workers.get(args.worker) is None:
            raise TapworkError("no worker with id {id}", id=args.worker)
        name = args.suspend or args.reinstate
        project = await services.catalog.get(name)
        changed = await services.loop.set_suspended(args.worker, project, bool(args.suspend),
                                                    OPERATOR)
        state = "suspended from" if args.suspend else "reinstated in"
        print(f"worker {args.worker} {state} {name}" if changed
              else f"worker {args.worker} was already {state} {name}; nothing changed")
        return 0

    return _with_services(args, work)


def _stats(args: argparse.Namespace) -> int:
    async def work(services: Any) -> int:
        stats = await services.reports.stats()
        if args.json:
            print(json.dumps([s.__dict__ for s in stats], indent=2))
            return 0
        if not stats:
            print("no projects yet: create one with `tapwork project -c CONFIG FILE.toml`")
            return 0
        header = ("project", "kind", "status", "items", "done", "in progress", "answers",
                  "active workers")
        rows = [header] + [(s.name, s.kind, s.status, str(s.items), str(s.done),
                            str(s.in_progress), str(s.answers), str(s.active_workers))
                           for s in stats]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        for row in rows:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        return 0

    return _with_services(args, work)
