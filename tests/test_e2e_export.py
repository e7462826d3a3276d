"""End to end: /export never stalls the workers, and fits Telegram's upload limit."""

from __future__ import annotations

import asyncio
import gzip
import json
import random
import threading
from pathlib import Path

from bot.domain.projects import parse_project
from bot.services import reports
from bot.sim.crowd import answer_tasks, join
from bot.sim.phone import Phone
from tests.conftest import OPERATOR_ID, Running, sentiment_doc


async def load(bot: Running, tmp_path: Path, name: str, ids: list[str]) -> None:
    await bot.services.catalog.save(parse_project(sentiment_doc(name)))
    file = tmp_path / f"{name}.jsonl"
    file.write_text("".join(json.dumps({"id": i, "text": f"review {n}"}) + "\n"
                            for n, i in enumerate(ids)))
    assert (await bot.services.catalog.import_file(name, file)).ok
    await bot.services.broadcasts.notify_events()


def document(phone: Phone) -> dict[str, object] | None:
    return next((m for m in phone.messages if m.get("document")), None)


async def test_workers_are_answered_between_the_pages_of_an_export(
        bot: Running, tmp_path: Path) -> None:
    """Each page of the export waits, on the export's thread, until some worker's answer
    has been acknowledged after it. Were the export on the event loop, that wait would
    hold the loop, no answer could be acknowledged, and the wait would run out."""
    await load(bot, tmp_path, "reviews", [f"r{i}" for i in range(5 * reports.EXPORT_PAGE)])
    events: list[str] = []
    stalled: list[int] = []
    acked = 0
    turn = threading.Condition()

    def answer_acknowledged(phone: Phone, task: object) -> None:  # on the event loop
        nonlocal acked
        with turn:
            acked += 1
            events.append("ack")
            turn.notify_all()

    def page_written(rows: int) -> None:  # on the export's thread
        with turn:
            events.append("page")
            before = acked
            if not turn.wait_for(lambda: acked > before, timeout=20):
                stalled.append(rows)

    bot.services.reports.on_page.append(page_written)
    phones = [bot.server.phone(100 + i, f"W{i}") for i in range(3)]
    for phone in phones:
        await join(phone, "reviews")
    op = bot.server.phone(OPERATOR_ID, "Op")
    exported = asyncio.Event()

    async def keep_answering(phone: Phone) -> None:
        while not exported.is_set():
            if not await answer_tasks(phone, lambda text, buttons: buttons[0], limit=1,
                                      on_answer=answer_acknowledged):
                return

    workers = [asyncio.create_task(keep_answering(p)) for p in phones]
    await op.send("/export reviews")
    sent = await op.wait_for(document, timeout=120)
    exported.set()
    await asyncio.gather(*workers)
    assert stalled == []
    assert events.count("page") == 5
    pages = "".join("p" if e == "page" else "a" for e in events)
    first, last = pages.index("p"), pages.rindex("p")
    assert "pp" not in pages[first:last + 1], pages  # an answer between every two pages
    data = bot.server.file_bytes(sent["document"]["file_id"])  # type: ignore[index]
    assert len(data.decode().splitlines()) == 5 * reports.EXPORT_PAGE


async def test_an_export_over_the_upload_limit_is_gzipped_or_refused(
        bot: Running, tmp_path: Path) -> None:
    limit = 20_000  # Telegram's is 50 MB; the stand-in refuses above it like Telegram
    bot.server.max_upload = limit
    bot.services.reports.upload_limit = limit
    await load(bot, tmp_path, "small", [f"s{i}" for i in range(20)])
    await load(bot, tmp_path, "plain", [f"p{i}" for i in range(400)])
    rng = random.Random(1)  # ids no compressor can shrink much
    await load(bot, tmp_path, "noise", [f"{rng.getrandbits(256):064x}" for _ in range(600)])
    op = bot.server.phone(OPERATOR_ID, "Op")

    await op.send("/export small")
    sent = await op.wait_for(document, timeout=30)
    assert sent["document"]["file_name"] == "small.jsonl"  # type: ignore[index]
    assert op.text(sent) == "20 items"

    await op.send("/export plain")
    await op.wait_for(lambda p: len([m for m in p.messages if m.get("document")]) == 2,
                      timeout=30)
    sent = [m for m in op.messages if m.get("document")][-1]
    assert sent["document"]["file_name"] == "plain.jsonl.gz"
    assert op.text(sent) == ("400 items, compressed with gzip to fit Telegram's 50 MB "
                             "limit")
    data = bot.server.file_bytes(sent["document"]["file_id"])
    assert len(data) <= limit
    lines = gzip.decompress(data).decode().splitlines()
    assert len(lines) == 400 and len("\n".join(lines)) > limit  # really over the limit
    assert json.loads(lines[0])["id"] == "p0"

    await op.send("/export noise")
    refusal = await op.wait_text("even compressed", timeout=30)
    assert op.text(refusal) == ("The export of noise is over Telegram's 50 MB limit even "
                                "compressed: run tapwork export --project noise on the "
                                "server instead.")
    assert len([m for m in op.messages if m.get("document")]) == 2  # nothing more sent
    assert not [c for c in bot.server.calls if c.status == 413]  # none tried and refused
