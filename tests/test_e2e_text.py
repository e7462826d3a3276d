"""End to end: text that reaches Telegram (issue 11). Operator and worker text with "<",
"&" and ">" in it is escaped exactly once in every kind of message, and nothing is
longer than Telegram takes."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from bot.domain.projects import parse_project
from bot.sim.crowd import answer_tasks, join, task_id
from bot.sim.phone import JSON, Phone
from handlers.callbacks import PayoutsPage
from tests.conftest import OPERATOR_ID, Running
from tests.state import answered_count, broadcast_count

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


async def test_every_message_kind_shows_hostile_text_as_written(bot: Running,
                                                                tmp_path: Path) -> None:
    await load_hostile(bot, tmp_path)
    server = bot.server
    worker = server.phone(900, f"Ann {H}")
    gate = await join(worker, "hostile")
    assert "practice round" in (worker.text(gate) or "")

    # the exam's first question missed starts practice: the item, its label names, and
    # the explanation after each answer
    await worker.tap("▶️ Start the exam", gate)
    question = await worker.wait_text("Exam question 1 of at most 2")
    assert f"I {H}" in (worker.text(question) or "")
    assert f"Q1 {H}" in (worker.text(question) or "") or f"Q2 {H}" in (worker.text(question)
                                                                      or "")
    await worker.tap(NO, question)
    second = await worker.wait_text("Practice 2 of at most 2")
    assert f"The right answer is: {YES}" in (worker.text(second) or "")
    assert f" {H}\n" in (worker.text(second) or "")  # an explanation E1/E2, whole
    await worker.tap(NO, second)
    done = await worker.wait_text("Practice finished")
    assert f"The right answer is: {YES}" in (worker.text(done) or "")

    # the exam, one missed: the result lists it with its right answer and explanation
    await worker.tap("▶️ Start the exam", done)
    first = await worker.wait_text("Exam question 1 of at most 2")
    await worker.tap(NO, first)
    second = await worker.wait_text("Exam question 2 of at most 2")
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
    shown = await wait_new(operator, f"T {H} (hostile", 0)
    # Ann's two practice questions and two exam questions qualified one worker
    assert "Quiz: 4 answers, 1 workers passed; 4 answers per qualified worker." in (
        operator.text(shown) or "")
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


# -- long content -----------------------------------------------------------------------


async def test_a_long_exam_result_arrives_in_parts_with_every_explanation(
        bot: Running, tmp_path: Path) -> None:
    """Three missed questions of 3,000 characters with explanations of 3,000 made one
    refused message of over 9,000 characters; the worker never saw the result."""
    await bot.services.catalog.save(parse_project(hostile_doc(
        # one right of three passes: three misses run the exam to its end (a higher
        # mark would end it, impossible to pass, before the third)
        name="long", quiz={"questions": 3, "pass": 0.3, "training": False})))
    explains = [f"Why {i}: " + " ".join(f"reason{i}-{n}" for n in range(250))
                for i in range(3)]
    items = [{"id": f"q{i}", "text": f"Q{i} " + "word " * 600, "gold": "yes", "quiz": True,
              "explain": explains[i]} for i in range(3)]
    items.append({"id": "w", "text": "work"})
    file = tmp_path / "long.jsonl"
    file.write_text("".join(json.dumps(i) + "\n" for i in items))
    assert (await bot.services.catalog.import_file("long", file)).ok
    phone = bot.server.phone(910, "Ann")
    gate = await join(phone, "long")
    await phone.tap("▶️ Start the exam", gate)
    for n in (1, 2, 3):
        question = await phone.wait_text(f"Exam question {n} of at most 3")
        await phone.tap(NO, question)
    await phone.wait_for(lambda p: p.last is not None and "Other projects" in str(
        p.last.get("reply_markup")) and "Exam question" not in (p.text() or ""))
    result = texts(phone)[texts(phone).index(shown_with(phone, "Exam finished")):]
    assert len(result) >= 3, phone.transcript(6)
    assert "0 of 3 right (1 needed)" in result[0] and "What you missed" in result[0]
    whole = "\n".join(result)
    for explain in explains:
        assert explain in whole.replace("\n", " ")
    assert whole.count("word word") < 3 * 60  # each question recalled by its first words
    assert all(len(part) <= 4096 for part in result)
    assert bot.server.refusals() == []


async def test_payouts_come_ten_at_a_time_with_buttons_to_turn_pages(
        bot: Running, tmp_path: Path) -> None:
    """130 waiting requests made one message of 5,148 characters: refused."""
    payroll = bot.services.payroll
    for worker in range(2000, 2130):
        await bot.services.workers.seen(worker, f"W{worker}", "en")
        await payroll.bonus(worker, 60_000, "USD", "thanks", f"b{worker}")
        await payroll.request_payout(worker, f"r{worker}")
    waiting = await payroll.payouts("requested")
    assert len(waiting) == 130
    operator = bot.server.phone(OPERATOR_ID, "Op")
    await operator.send("/payouts")
    first = await operator.wait_text("Payout requests waiting")
    assert "Page 1 of 13, 130 requests in all" in (operator.text(first) or "")
    buttons = operator.buttons(first)
    assert len(buttons) == 11 and buttons[-1] == ["Next 10 ▶️"]
    assert f"#{waiting[9].id} " in (operator.text(first) or "")
    assert f"#{waiting[10].id} " not in (operator.text(first) or "")

    await operator.tap("Next 10 ▶️", first)
    second = await operator.wait_text("Page 2 of 13")
    assert second["message_id"] == first["message_id"]  # turned in place
    assert operator.buttons(second)[-1] == ["◀️ Previous 10", "Next 10 ▶️"]
    assert f"#{waiting[10].id} " in (operator.text(second) or "")
    alerts = len(operator.alerts)
    await operator.tap(f"✅ Approve #{waiting[12].id} ($0.06)", second)
    assert "approved" in await operator.wait_alert(alerts + 1)
    assert (await payroll.payouts("approved"))[0].id == waiting[12].id

    # forged and stale page numbers: refused, or the last page
    for forged in ("pp:99999999999999999999999", "pp:²", "pp:-1", "pp:"):
        alerts = len(operator.alerts)
        await operator.tap_data(second, forged)
        assert "does not work any more" in await operator.wait_alert(alerts + 1)
    await operator.tap_data(second, PayoutsPage(500).pack())
    last = await operator.wait_text("Page 13 of 13")
    assert operator.buttons(last)[-1] == ["◀️ Previous 10"]
    assert bot.server.refusals() == []


async def test_a_broadcast_text_that_cannot_fit_a_message_is_refused_when_written(
        bot: Running, tmp_path: Path) -> None:
    """A 5,000-character broadcast was queued and refused for every worker."""
    from bot.domain.errors import TextTooLong

    await load_hostile(bot, tmp_path, name="reviews", quiz=None)
    phone = bot.server.phone(920, "Ann")
    await join(phone, "reviews")
    await phone.tap("⏹ Stop")
    await phone.wait_text("Stopped")
    for text in ("x" * 5000, "😀" * 2049):  # an emoji is two of Telegram's characters
        with pytest.raises(TextTooLong, match=r"one Telegram message holds 4096"):
            await bot.services.broadcasts.start("reviews", text)
    assert broadcast_count(bot.services.db) == 0  # nothing queued
    longest = f"{H} " + "y" * (4096 - len(H) - 1)
    started, audience = await bot.services.broadcasts.start("reviews", longest)
    assert audience.total == 1
    bot.app.bot_data["broadcasts"].launch(started)
    received = await phone.wait_text("yyyy", timeout=10)
    assert phone.text(received) == longest
    assert bot.server.refusals() == []


def test_tapwork_broadcast_refuses_a_text_too_long_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "tapwork.db"\n')
    toml = tmp_path / "reviews.toml"
    toml.write_text('name = "reviews"\nkind = "sentiment"\ntitle = "Reviews"\n'
                    'reward = "0.02"\ncurrency = "USD"\n')
    assert main(["project", "-c", str(config), str(toml)]) == 0
    capsys.readouterr()
    assert main(["broadcast", "-c", str(config), "reviews", "--text", "x" * 5000]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "the broadcast text is 5000 characters long; one Telegram message holds 4096, " \
           "so shorten it by 904" in err
    assert broadcast_count(tmp_path / "tapwork.db") == 0


async def test_a_broadcast_in_chat_over_the_limit_is_refused(bot: Running,
                                                             tmp_path: Path) -> None:
    """In chat the text comes inside one message, so it fits today; the check is the
    same one, and the operator is told in their language if it ever does not."""
    from bot.services import broadcast

    await load_hostile(bot, tmp_path, name="reviews", quiz=None)
    operator = bot.server.phone(OPERATOR_ID, "Op")
    limit = broadcast.MAX_TEXT
    broadcast.MAX_TEXT = 100
    try:
        await operator.send("/broadcast reviews " + "z" * 101)
        refused = await operator.wait_text("characters long")
    finally:
        broadcast.MAX_TEXT = limit
    assert "101 characters long, and a message holds at most 100" in (operator.text(refused)
                                                                     or "")
    assert broadcast_count(bot.services.db) == 0


async def test_a_large_print_task_too_long_for_a_caption_comes_as_text(
        bot: Running, tmp_path: Path) -> None:
    await bot.services.catalog.save(parse_project(hostile_doc(name="big", quiz=None,
                                                              gold_rate=0.0)))
    text = "Long " + "sentence " * 200
    file = tmp_path / "big.jsonl"
    file.write_text(json.dumps({"id": "a", "text": text}) + "\n"
                    + json.dumps({"id": "b", "text": "short one"}) + "\n")
    assert (await bot.services.catalog.import_file("big", file)).ok
    phone = bot.server.phone(930, "Sun")
    await bot.services.workers.seen(930, "Sun", "en")
    await bot.services.workers.consent(930)
    await bot.services.workers.update(930, senior=1)
    await phone.send("/start big")
    task = await phone.wait_for(lambda p: p.last if task_id(p.last) else None)
    shown = phone.text(task) or ""
    if "short one" in shown:  # the short item came first, as a card; the long one next
        assert task.get("photo")
        await phone.tap(YES, task)
        task = await phone.wait_for(lambda p: p.last if task_id(p.last)
                                    and "sentence" in (p.text() or "") else None)
    assert not task.get("photo") and text.strip() in (phone.text(task) or "")
    assert bot.server.refusals() == []


def png() -> bytes:
    image = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 10)).save(image, "PNG")
    return image.getvalue()


async def import_zip(bot: Running, tmp_path: Path, name: str,
                     items: list[dict[str, object]]) -> None:
    archive = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("items.jsonl", "".join(json.dumps(i) + "\n" for i in items))
        for item in items:
            zipped.writestr(str(item["image"]), png())
    result = await bot.services.catalog.import_file(name, archive)
    assert result.ok, result.errors


async def test_an_explanation_too_long_for_a_caption_comes_whole_before_the_next_photo(
        bot: Running, tmp_path: Path) -> None:
    await bot.services.catalog.save(parse_project(hostile_doc(name="pics", quiz=None)))
    explain = f"{H} " + " ".join(f"because{n}" for n in range(150))
    await import_zip(bot, tmp_path, "pics", [
        {"id": "g", "image": "g.png", "gold": "yes", "explain": explain},
        {"id": "p", "image": "p.png"}])
    phone = bot.server.phone(940, "Ann")
    task = await join(phone, "pics")
    assert task.get("photo") and phone.text(task) == f"T {H} · $0.02 per task\nI {H}"
    await phone.tap(NO, task)
    nxt = await phone.wait_for(lambda p: p.last if task_id(p.last) and p.last is not task
                               and p.last["message_id"] != task["message_id"] else None)
    assert nxt.get("photo") and "because" not in (phone.text(nxt) or "")
    note = phone.messages[phone.messages.index(nxt) - 1]
    assert explain in (phone.text(note) or "") and not note.get("reply_markup")
    assert not task.get("reply_markup")  # the answered photo lost its buttons
    assert bot.server.refusals() == []


# -- typed answers over the limit ------------------------------------------------------


async def test_a_typed_answer_over_the_limit_is_told_the_limit(bot: Running,
                                                               tmp_path: Path) -> None:
    for name, quiz in (("typed", None), ("typedquiz", {"questions": 1, "pass": 1.0,
                                                        "training": False})):
        spec = {"name": name, "kind": "transcription", "title": "Type it",
                "reward": "0.02", "currency": "USD"}
        if quiz:
            spec["quiz"] = quiz
        await bot.services.catalog.save(parse_project(spec))
        await import_zip(bot, tmp_path, name, [
            {"id": "t", "image": "t.png"},
            {"id": "q", "image": "q.png", "gold": "hi", "quiz": True}])
    phone = bot.server.phone(950, "Ann")
    task = await join(phone, "typed")
    assert task_id(task) is not None
    await phone.send("a " * 1001)  # 2,001 characters once spaces are collapsed
    told = await phone.wait_text("too long")
    assert "at most 2000 characters" in (phone.text(told) or "")
    assert "buttons" not in (phone.text(told) or "")
    assert answered_count(bot.services.db) == 0  # nothing was saved: the task waits
    await phone.send("hello")
    await phone.wait_for(lambda p: any("✓ Saved" in t for t in texts(p)) or
                         any("every task" in t for t in texts(p)))

    seen = len(phone.messages)
    await phone.send("/start typedquiz")
    await wait_new(phone, "The exam has up to 1 questions", seen)
    await phone.tap("▶️ Start the exam")
    await phone.wait_text("Exam question 1 of at most 1")
    seen = len(phone.messages)
    await phone.send("b " * 1500)
    told = await wait_new(phone, "too long", seen)
    assert "at most 2000 characters" in (phone.text(told) or "")
    await phone.send("hi")
    await wait_new(phone, "You passed", seen)
    assert bot.server.refusals() == []
