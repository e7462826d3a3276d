"""``tapwork demo``: the real bot, offline, with a simulated crowd on the sample project.

Everything a real run does happens here too (HTTP calls to a Bot API, SQLite, leases,
export), only Telegram is the local stand-in and the people are simulated phones, some
reading English, some Korean, some Chinese.
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

from bot.app import running
from bot.config import Config, StorageConfig, TelegramConfig
from bot.domain.projects import load_project_file
from bot.sim.crowd import answer_tasks, join
from bot.sim.standin import BotApiStandIn

SAMPLE = Path(__file__).resolve().parents[1] / "sample"
LANGUAGES = ("en", "ko", "zh")
NAMES = ("Ann", "Min-jun", "Li Wei", "Sam", "Ji-woo", "Fang", "Tom", "Seo-yeon", "Hao")


async def run_demo(workers: int = 5, db_path: str | None = None, seed: int = 7) -> int:
    """Run the sample project to completion and print what happened. Returns 0."""
    if workers < 1:
        print("demo: --workers must be at least 1")
        return 2
    rng = random.Random(seed)
    spec = load_project_file(SAMPLE / "reviews.toml")
    # what the simulated people "know": the right answer to every sample text
    gold = json.loads((SAMPLE / "reviews_truth.json").read_text("utf-8"))
    sample = [json.loads(line)
              for line in (SAMPLE / "reviews.jsonl").read_text("utf-8").splitlines()]
    gold_by_id = {item["id"]: gold[item["text"]] for item in sample if "gold" not in item}
    with tempfile.TemporaryDirectory(prefix="tapwork-demo-") as tmp:
        db = Path(db_path) if db_path else Path(tmp) / "demo.db"
        async with BotApiStandIn() as server:
            config = Config(
                telegram=TelegramConfig(token=server.token, api_base_url=server.api_base_url,
                                        file_base_url=server.file_base_url, max_rate=0),
                storage=StorageConfig(path=str(db)), source="<demo>")
            started = time.perf_counter()
            async with running(config, poll_timeout=1) as (_app, services):
                services.work.rng = random.Random(seed)  # the same gold checks every run
                await services.catalog.save(spec)
                imported = await services.catalog.import_file(spec.name,
                                                              SAMPLE / "reviews.jsonl")
                await services.broadcasts.notify_events()  # nobody to tell yet
                counts = imported.summary.counts
                checks = counts.gold + counts.quiz
                print(f"project {spec.name!r}: {counts.total - checks} items in "
                      f"English, Korean and Chinese plus {checks} gold checks, overlap "
                      f"{spec.overlap}; {workers} simulated workers on the local Telegram "
                      "stand-in")

                def choose(text: str, buttons: list[str], skill: float) -> str:
                    truth = next((gold[line] for line in text.splitlines() if line in gold),
                                 None)
                    labels = list(spec.label_values)
                    buttons = buttons[:len(labels)]
                    pick = truth if truth and rng.random() < skill else rng.choice(labels)
                    return buttons[labels.index(pick)]

                async def worker(i: int) -> tuple[str, int]:
                    lang = LANGUAGES[i % len(LANGUAGES)]
                    name = f"{NAMES[i % len(NAMES)]} ({lang})"
                    phone = server.phone(1000 + i, name, language_code=lang)
                    # a crowd that reads all three languages, so a handful of workers
                    # label every item (each is served only what they read)
                    await services.workers.seen(phone.id, name, lang)
                    await services.workers.update(phone.id, reads="en,ko,zh")
                    skill = 0.75 + 0.2 * rng.random()
                    await join(phone, spec.name)
                    done = await answer_tasks(
                        phone, lambda text, buttons: choose(text, buttons, skill),
                        think=lambda: rng.uniform(0.02, 0.08))  # people read first
                    return name, done

                results = await asyncio.gather(*[worker(i) for i in range(workers)])
                elapsed = time.perf_counter() - started
                out = io.StringIO()
                await services.reports.export(spec.name, out)
                stats = {s.name: s for s in await services.reports.stats()}[spec.name]
        rows = [json.loads(line) for line in out.getvalue().splitlines()]
    rows = [row for row in rows if row["id"] in gold_by_id]  # work items, not gold checks
    _print_summary(rows, results, stats.done, elapsed, gold_by_id, server.count())
    return 0


def _print_summary(rows: list[dict[str, object]], results: list[tuple[str, int]], done: int,
                   elapsed: float, gold: dict[str, str], calls: int) -> None:
    answers = sum(n for _, n in results)
    print(f"\nitems labelled: {done} of {len(rows)}")
    print(f"answers: {answers}  ({answers / max(elapsed, 1e-9):.0f} per second)")
    print("answers per worker:")
    for name, count in results:
        print(f"  {name:<18} {count}")
    labels = Counter(str(row["label"]) for row in rows if row["label"])
    print("labels: " + ", ".join(f"{k} {v}" for k, v in sorted(labels.items())))
    agree = sum(1 for row in rows if row["label"] == gold.get(str(row["id"])))
    print(f"majority label matches the known answer on {agree} of {len(rows)} items")
    print(f"Bot API calls: {calls}")
    print(f"time taken: {elapsed:.1f} s")
