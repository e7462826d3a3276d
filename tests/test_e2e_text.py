"""End to end: text that reaches Telegram (issue 11). Operator and worker text with "<",
"&" and ">" in it is escaped exactly once in every kind of message, and nothing is
longer than Telegram takes."""

from __future__ import annotations

import json
from pathlib import Path

from bot.projects import parse_project
from bot.sim.crowd import answer_tasks, join, task_id
from bot.sim.phone import JSON, Phone
from tests.conftest import OPERATOR_ID, Running

#: HTML-looking text: a tag, an entity, a bare "<", ">" and "&", and a tag Telegram
#: refuses. Shown verbatim on the phone it proves one escape: none, and Telegram refuses
#: the message (or eats the tags); two, and the phone shows "&amp;lt;b&amp;gt;".
H = "<b>&amp; 1 < 2 > 0 & <script>"
YES, NO = f"Y {H}", f"N {H}"


def hostile_doc(**extra: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "name": "hostile", "kind": "classification", "title": {"en": f"T {H}"},
        "instructions": f"I {H}", "reward": "0.02", "currency": "USD",
        "labels": [{"value": "yes", "names": {"en": YES}},
                   {"value": "no", "names": {"en": NO}}],
        "overlap": 1, "gold_rate": 1.0, "min_gold": 5, "settle_unit": 4,
        "unit_accuracy": 1.0, "discount": 0.5,
        "quiz": {"questions": 2, "pass": 0.5, "training": True}}
    doc.update(extra)
    return {key: value for key, value in doc.items() if value is not None}


async def load_hostile(bot: Running, tmp_path: Path, work: int = 6, name: str = "hostile",
                       **extra: object) -> int:
    project, _ = await bot.services.catalog.save(parse_project(hostile_doc(name=name,
                                                                           **extra)))
    items: list[dict[str, object]] = [
        {"id": f"q{i}", "text": f"Q{i} {H}", "gold": "yes", "quiz": True,
         "explain": f"E{i} {H}"} for i in (1, 2)]
    items.append({"id": "g1", "text": f"G {H}", "gold": "yes", "explain": f"EG {H}"})
    items += [{"id": f"w{i}", "text": f"W{i} {H}"} for i in range(work)]
    file = tmp_path / f"{name}.jsonl"
    file.write_text("".join(json.dumps(i) + "\n" for i in items))
    result = await bot.services.catalog.import_file(name, file)
    assert result.ok, result.errors
    await bot.services.broadcasts.notify_events()
    return project.id


def texts(phone: Phone) -> list[str]:
    return [phone.text(m) or "" for m in phone.messages]


def shown_with(phone: Phone, *pieces: str) -> str:
    """The one message holding every piece; fails with the chat when there is none."""
    for text in texts(phone):
        if all(piece in text for piece in pieces):
            return text
    raise AssertionError(f"no message holds {pieces!r}:\n{phone.transcript(20)}")


async def wait_new(phone: Phone, substring: str, after: int, timeout: float = 10.0) -> JSON:
    """The first message after the ``after`` first ones that contains ``substring``."""
    def find(p: Phone) -> JSON | None:
        return next((m for m in p.messages[after:] if substring in (p.text(m) or "")), None)
    return await phone.wait_for(find, timeout)


async def tap_label(phone: Phone, label: str) -> None:
    message = phone.last
    assert message is not None and label in sum(phone.buttons(message), [])
    shown = phone.text(message)
    await phone.tap(label, message)
    await phone.wait_for(lambda p: p.last is not message and p.text() != shown
                         or p.last is not None and p.last.get("edit_date"))


async def test_every_message_kind_shows_hostile_text_as_written(bot: Running,
                                                                tmp_path: Path) -> None:
    await load_hostile(bot, tmp_path)
    server = bot.server
    worker = server.phone(900, f"Ann {H}")
    gate = await join(worker, "hostile")
    assert "practice round" in (worker.text(gate) or "")

    # practice: the item, its label names, and the explanation after each answer
    await worker.tap("▶️ Start practice", gate)
    question = await worker.wait_text("Practice 1 of 2")
    assert f"I {H}" in (worker.text(question) or "")
    assert f"Q1 {H}" in (worker.text(question) or "") or f"Q2 {H}" in (worker.text(question)
                                                                      or "")
    await worker.tap(NO, question)
    second = await worker.wait_text("Practice 2 of 2")
    assert f"The right answer is: {YES}" in (worker.text(second) or "")
    assert f" {H}\n" in (worker.text(second) or "")  # an explanation E1/E2, whole
    await worker.tap(NO, second)
    done = await worker.wait_text("Practice finished")
    assert f"The right answer is: {YES}" in (worker.text(done) or "")

    # the exam, one missed: the result lists it with its right answer and explanation
    await worker.tap("▶️ Start the exam", done)
    first = await worker.wait_text("Exam question 1 of 2")
    await worker.tap(NO, first)
    second = await worker.wait_text("Exam question 2 of 2")
    await worker.tap(YES, second)
    result = await worker.wait_text("Exam finished")
    assert "You passed" in (worker.text(result) or "")
    missed = shown_with(worker, "What you missed", f"→ {YES}")
    assert f" {H} → {YES} (E" in missed and missed.rstrip().endswith(f"{H})")

    # work: a gold check answered wrong brings its explanation with the next task
    await worker.tap("▶️ Start working", result)
    task = await worker.wait_for(lambda p: p.last if task_id(p.last) else None)
    assert f"G {H}" in (worker.text(task) or "")
    await worker.tap(NO, task)
    feedback = await worker.wait_text(f"EG {H}")
    assert f"The right answer is: {YES}" in (worker.text(feedback) or "")
    assert await answer_tasks(worker, lambda text, buttons: YES, limit=3) == 3
    await worker.tap("⏹ Stop")
    await worker.wait_text("Stopped")

    # the unit is settled with one miss: the notice names the item and both labels
    judged = await wait_new(worker, "Judged wrong", 0)
    assert f"G {H} — you said {NO}; accepted: {YES}" in (worker.text(judged) or "")
    assert f"T {H}" in (worker.text(judged) or "")

    # the worker's name on /top, an operator's bonus and payout refusal with reasons
    seen = len(worker.messages)
    await worker.send("/top")
    board = await wait_new(worker, "This week", seen)
    await worker.tap("🙋 Show my name", board)
    await worker.wait_alert()
    seen = len(worker.messages)
    await worker.send("/top")
    top = await wait_new(worker, "This week", seen)
    assert f"1. Ann {H}"[:35] in (worker.text(top) or "")
    assert f"T {H} · This week" in (worker.text(top) or "")
    await bot.services.payroll.bonus(900, 100_000, "USD", f"B {H}", "hostile-1")
    await worker.wait_text(f"You got a bonus of $0.10: B {H}")
    await worker.send("/payout")
    confirm = await worker.wait_text("Request a payout")
    await worker.tap("✅ Yes, pay me out", confirm)
    await worker.wait_text("Payout requested")
    [payout] = await bot.services.payroll.payouts("requested")

    operator = server.phone(OPERATOR_ID, f"Op {H}")
    await operator.send("/payouts")
    await operator.wait_text("Payout requests waiting")
    await operator.send(f"/reject {payout.id} R {H}")
    await operator.wait_text(f"Payout #{payout.id} rejected")
    await worker.wait_text(f"Reason: R {H}")
    seen = len(worker.messages)
    await worker.send("/history")
    history = await wait_new(worker, "Latest changes", seen)
    assert f"payout refused (R {H})" in (worker.text(history) or "")
    assert f"bonus: B {H}" in (worker.text(history) or "")
    await worker.send("/wallet")
    await worker.wait_text("Your wallet")

    # operator views: the worker's name, the project's title, every project
    await operator.send("/worker 900")
    await wait_new(operator, f"Worker 900 (Ann {H})", 0)
    await operator.send("/project hostile")
    await wait_new(operator, f"T {H} (hostile", 0)
    await operator.send("/projects")
    await wait_new(operator, "hostile · open", 0)

    # an import whose report quotes the bad values it found
    bad = "".join(json.dumps(line) + "\n" for line in [
        {"id": "x1", "text": f"X {H}", "gold": H}, {"id": H, "text": "fine"}])
    await operator.send_document(bad.encode(), "bad.jsonl", caption="/import hostile")
    report = await wait_new(operator, "unknown label", 0)
    assert H in (operator.text(report) or "")

    # a broadcast in the operator's own words reaches a worker who has not started yet
    newcomer = server.phone(901, f"Bo {H}")
    await join(newcomer, "hostile")
    await operator.send(f"/broadcast hostile Hello {H}")
    await operator.wait_text("finished", timeout=10)
    await newcomer.wait_text(f"Hello {H}")

    # large print: the card's caption carries the same words
    await load_hostile(bot, tmp_path, name="noquiz", quiz=None)
    senior = server.phone(902, f"Cy {H}")
    await join(senior, "hostile")
    await bot.services.workers.update(902, senior=1)
    await senior.send("/start noquiz")
    card = await senior.wait_for(lambda p: p.last if p.last and p.last.get("photo") else None)
    assert f"T {H}" in (senior.text(card) or "") and f"G {H}" in (senior.text(card) or "")

    assert server.refusals() == []
    for phone in (worker, operator, newcomer, senior):
        assert not any("&amp;amp;" in t or "&lt;b&gt;" in t for t in texts(phone)), \
            phone.transcript(30)
