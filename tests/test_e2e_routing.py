"""End to end: answers go where they change a label (issue 13). The same small synthetic
crowd of phones labels the same items twice, once at a fixed overlap of 3 and once with
``min_overlap = 2``: the second buys fewer answers for the same labels."""

from __future__ import annotations

import io
import json
from pathlib import Path

from bot.domain.projects import parse_project
from bot.sim.crowd import answer_tasks, join
from tests.conftest import Running, sentiment_doc
from tests.state import with_items

BUTTON = {"positive": "😊 Positive", "neutral": "😐 Neutral", "negative": "🙁 Negative"}
WRONG = {"positive": "🙁 Negative", "neutral": "😊 Positive", "negative": "😐 Neutral"}
TRUTH = ("positive", "neutral", "negative")
ITEMS = 12


def truth(text: str) -> str:
    """Item ``review 7`` is TRUTH[7 % 3]."""
    number = int(text.rsplit("review ", 1)[1].split()[0])
    return TRUTH[number % 3]


async def label_with_the_crowd(bot: Running, tmp_path: Path, name: str, first_phone: int,
                               **keys: object) -> tuple[float, float]:
    """Four phones, one after the other: the first is wrong on every third item, the others
    always right. Returns (answers per item, accuracy of the export)."""
    project, _ = await bot.services.catalog.save(parse_project(sentiment_doc(
        name, gold_rate=0, **keys)))
    file = tmp_path / f"{name}.jsonl"
    file.write_text("".join(json.dumps({"id": f"r{i}", "text": f"review {i}"}) + "\n"
                            for i in range(ITEMS)))
    assert (await bot.services.catalog.import_file(name, file)).ok
    await bot.services.broadcasts.notify_events()
    for n in range(4):
        phone = bot.server.phone(first_phone + n, f"P{n}")
        await join(phone, name)

        def choose(text: str, buttons: list[str], careless: bool = n == 0) -> str:
            right = truth(text)
            number = int(text.rsplit("review ", 1)[1].split()[0])
            return WRONG[right] if careless and number % 3 == 0 else BUTTON[right]

        await answer_tasks(phone, choose)
    answers = [a for a, item in with_items(bot.services.db)
               if item.project_id == project.id and a.status == "answered"]
    out = io.StringIO()
    await bot.services.reports.export(name, out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == ITEMS
    right = sum(row["label"] == TRUTH[int(row["id"][1:]) % 3] for row in rows)
    return len(answers) / ITEMS, right / ITEMS


async def test_min_overlap_buys_fewer_answers_for_the_same_labels(bot: Running,
                                                                  tmp_path: Path) -> None:
    fixed = await label_with_the_crowd(bot, tmp_path, "fixed", 500, overlap=3)
    adaptive = await label_with_the_crowd(bot, tmp_path, "adaptive", 600, overlap=3,
                                          min_overlap=2, max_overlap=5)
    assert fixed == (3.0, 1.0)
    # agreeing pairs stop at two answers; the four items the careless phone got wrong
    # are split after two and take two more each (2-1 is not yet 0.9 sure)
    assert adaptive == ((8 * 2 + 4 * 4) / ITEMS, 1.0)
