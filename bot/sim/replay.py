"""Replaying a recorded crowd through the real bot, to measure what its quality rules buy.

A public crowd file holds who answered what; a replay turns each of its workers into a
simulated phone and lets the running bot decide everything a real run would decide:
who is quizzed, which tasks are gold checks, who is paused, how many answers an item
gets (dynamic overlap), and the final labels (the operator's export). The phones only
answer. When the bot serves a worker an item they answered in the file, they tap that
recorded answer; otherwise they draw from their own confusion matrix, estimated on the
gold items of the file. That is what lets a replay show the same crowd under different
settings: the answers the bot did not buy are simply never seen.

A transcription crowd (``Crowd.of(..., text=True)``) is replayed the same way with typed
texts: its items are silent recordings and its phones type recorded transcriptions
(``bot/sim/replay_text.py``); the export is scored by word error rate.

Shared by ``bench/replay.py`` (the figures in the README), ``tapwork simulate`` (an
operator's forecast before launch) and ``tests/test_replay.py`` (the CI slice).
"""

from __future__ import annotations

import io
import json
import random
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.app import running
from bot.clock import FakeClock
from bot.config import Config, StorageConfig, TelegramConfig, WorkConfig
from bot.domain.project_spec import ProjectSpec
from bot.domain.projects import parse_project
from bot.domain.quality import is_correct
from bot.sim.crowd import join, task_id
from bot.sim.phone import JSON, Phone
from bot.sim.recorded import Crowd, Split, Worker, draw, workers
from bot.sim.replay_text import media_name, silent_wav, wer
from bot.sim.standin import BotApiStandIn

#: what each item says on the phone; the phone finds the item again by it
ITEM_TEXT = "replay item {id}"
_ITEM = re.compile(r"replay item (\S+)")
#: Telegram user ids of the replayed workers start here
FIRST_USER = 500_000
#: a phone waits this long for the bot's reply to one tap
TIMEOUT = 30.0


@dataclass(frozen=True)
class Setting:
    """The quality keys a replay runs the project with (``None``: no quiz)."""

    name: str
    overlap: int = 3
    max_overlap: int = 3
    confidence: float = 0.9
    gold_rate: float = 0.0
    quiz_questions: int | None = None
    training: bool = True
    #: the fewest answers a settled item may stop at (None: ``overlap``)
    min_overlap: int | None = None
    #: ``quiz.paid``: a passed exam's questions are paid at the task price (False: as
    #: the base document says)
    paid_exam: bool = False

    @property
    def floor(self) -> int:
        return self.min_overlap or self.overlap

    def document(self, base: dict[str, Any]) -> dict[str, Any]:
        """A project file's keys: ``base`` (name, kind, labels, reward…) with these."""
        doc = {k: v for k, v in base.items() if k != "quiz"}
        doc.update(overlap=self.overlap, max_overlap=self.max_overlap,
                   confidence=self.confidence, gold_rate=self.gold_rate)
        if self.min_overlap is not None:
            doc["min_overlap"] = self.min_overlap
        if self.quiz_questions is not None:
            quiz = dict(base.get("quiz") or {})
            quiz.update(questions=self.quiz_questions, training=self.training)
            if self.paid_exam:
                quiz["paid"] = True
            doc["quiz"] = quiz
        return doc


#: the project's recommended quality settings (README, "Quality while working")
QUALITY = Setting("quality", overlap=3, max_overlap=5, confidence=0.9, gold_rate=0.1,
                  quiz_questions=6, training=True, min_overlap=2)
#: the quality settings with a paid exam (``quiz.paid``): the same bot decisions, but a
#: qualified worker's passed exam is paid work, not unpaid
PAID_EXAM = replace(QUALITY, name="quality, paid exam", paid_exam=True)
#: the plain baseline: three answers per item, nothing else
PLAIN = Setting("plain overlap 3")
#: dynamic overlap and gold checks without the quiz: a transcription crowd's quiz, graded
#: by the project's word error rate rule (within 0.1 of the gold text), turns most
#: workers of CrowdSpeech away (fewer than half their transcriptions are that close)
CHECKS = Setting("gold checks, no quiz", overlap=3, max_overlap=5, confidence=0.9,
                 gold_rate=0.1)


@dataclass
class Outcome:
    """What one replay bought and what it got, from the bot's own export and ledger."""

    setting: str
    work_items: int
    labelled: int
    #: items of the work with gold, and how many of them the export labels right (a
    #: transcription: within the project's word error rate tolerance of the gold text)
    scored: int
    correct: int
    work_answers: int
    gold_answers: int
    quiz_answers: int
    workers: int
    qualified: int
    #: every amount the ledger holds for the replay's workers, in micros
    paid: int
    reward: int
    currency: str
    #: seconds the workers spent on every answer they gave, quiz answers included
    seconds: float
    #: work taps (gold checks included) that were the worker's own recorded answer
    recorded: int
    #: the exported (item, worker, label) answers of the work items, for offline baselines
    answers: list[tuple[str, str, str]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    #: transcriptions: mean word error rate of the exported texts on the scored items,
    #: apostrophes stripped (crowd-kit's convention) and kept
    wer: float | None = None
    wer_kept: float | None = None
    #: of ``quiz_answers``, those of passed exams the ledger paid (``quiz.paid``), as the
    #: bot's own report counts them
    paid_quiz_answers: int = 0

    @property
    def unpaid_quiz_answers(self) -> int:
        """Practice, failed exams, and passed exams a project did not pay for."""
        return self.quiz_answers - self.paid_quiz_answers

    @property
    def accuracy(self) -> float:
        return self.correct / self.scored if self.scored else 0.0

    @property
    def hourly(self) -> int | None:
        """Micros an hour for all the time spent, quiz included (unpaid time counts)."""
        if self.seconds <= 0:
            return None
        return round(self.paid * 3600 / self.seconds)


@dataclass
class _Tally:
    work: int = 0
    quiz: int = 0
    qualified: int = 0
    #: workers who answered at least one task
    working: int = 0
    #: work taps that were the worker's own recorded answer (the rest were drawn)
    recorded: int = 0
    seconds: float = 0.0


def _config(server: BotApiStandIn, db: Path) -> Config:
    """Built as the end-to-end tests build theirs (the replay settles once, at its end)."""
    return Config(
        telegram=TelegramConfig(token=server.token, api_base_url=server.api_base_url,
                                file_base_url=server.file_base_url, max_rate=0,
                                max_retries=3),
        storage=StorageConfig(path=str(db)),
        work=WorkConfig(lease_check_seconds=0.1, settle_check_seconds=3600),
        source="<replay>")


def _items_file(path: Path, crowd: Crowd, parts: Split) -> dict[str, str]:
    """Writes the items (and, for transcription, a recording each beside them); returns
    the name each recording is sent under, by item."""
    names: dict[str, str] = {}
    with path.open("w", encoding="utf-8") as out:
        for n, (item, role) in enumerate([(i, "work") for i in parts.work]
                                         + [(i, "check") for i in parts.checks]
                                         + [(i, "quiz") for i in parts.quiz]):
            line: dict[str, Any] = {"id": item}
            if crowd.text:
                ref = media_name(n)
                (path.parent / ref).parent.mkdir(exist_ok=True)
                (path.parent / ref).write_bytes(silent_wav(n))
                names[Path(ref).name] = item
                line["audio"] = ref
            else:
                line["text"] = ITEM_TEXT.format(id=item)
            if role != "work":
                line["gold"] = crowd.gold[item]
            if role == "quiz":
                line["quiz"] = True
            out.write(json.dumps(line) + "\n")
    return names


def _item(phone: Phone, message: JSON, names: dict[str, str]) -> str:
    """The item a task or quiz question shows: by its recording's name, else its text."""
    recording = message.get("audio") or {}
    if recording.get("file_name") in names:
        return names[recording["file_name"]]
    found = _ITEM.findall(phone.text(message) or "")
    assert found, f"no item in {phone.text(message)!r}"
    return str(found[-1])


def _signature(message: JSON | None) -> tuple[Any, ...]:
    if not message:
        return ()
    data = tuple(b.get("callback_data") for row in
                 (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row)
    return message["message_id"], message.get("text") or message.get("caption"), data


def _data(message: JSON | None, prefix: str) -> str | None:
    """The first button whose callback data starts with ``prefix``."""
    for row in ((message or {}).get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if str(button.get("callback_data", "")).startswith(prefix):
                return str(button["callback_data"])
    return None


async def _work(phone: Phone, person: Worker, crowd: Crowd, project: str, clock: FakeClock,
                seconds: float, seed: int, tally: _Tally,
                names: dict[str, str]) -> None:
    """One worker's visit: join, quiz if asked, answer until capped or nothing is left."""
    message: JSON | None = await join(phone, project, TIMEOUT)
    done = 0
    seen: Counter[str] = Counter()
    while message is not None:
        is_task = task_id(message) is not None
        question = _data(message, "q:")
        if is_task and done >= person.cap:
            stop = _data(message, "x:")
            assert stop is not None
            # the bot answers the tap ("Stopped…") whatever became of the task; a task
            # no longer open keeps its buttons, so the message alone would never say
            def stopped(p: Phone, seen: int = len(phone.alerts)) -> bool:
                return task_id(p.last) is None or len(p.alerts) > seen

            await phone.tap_data(message, stop)
            await phone.wait_for(stopped, TIMEOUT)
            return
        before = _signature(message)
        if is_task or question is not None:
            item = _item(phone, message, names)
            rng = draw(seed, person, item, seen)
            took = seconds * rng.uniform(0.75, 1.25)
            clock.advance(seconds=took)
            tally.seconds += took
            said = person.answer(item, crowd.gold.get(item), crowd.labels, rng)
            if not crowd.text:
                await phone.tap(said, message)
            elif said.strip():
                await phone.send(said)
            else:  # an empty transcription: "I can't make it out", the first button
                await phone.tap(phone.buttons(message)[0][0], message)
            if is_task:
                tally.working += done == 0
                tally.recorded += item in person.recorded
                done += 1
                tally.work += 1
            else:
                tally.quiz += 1
        elif (start := _data(message, "qs:")) is not None:
            await phone.tap_data(message, start)
        elif (begin := _data(message, "p:")) is not None:
            tally.qualified += 1
            await phone.tap_data(message, begin)
        else:
            return  # nothing for them: no work left, suspended, or the exam failed

        def moved_on(p: Phone, shown: tuple[Any, ...] = before) -> JSON | None:
            return p.last if _signature(p.last) != shown else None

        message = await phone.wait_for(moved_on, TIMEOUT)


async def replay(crowd: Crowd, parts: Split, setting: Setting, base: dict[str, Any], *,
                 seed: int = 0, seconds: float = 10.0) -> Outcome:
    """Run the real bot on ``parts`` with ``setting`` and the crowd as its workers.

    ``base`` holds the project file's other keys (name, kind, labels, reward, currency);
    ``seconds`` is the mean time a worker takes per answer (the fake clock moves by it).
    """
    rng = random.Random(seed)
    spec: ProjectSpec = parse_project(setting.document(base))
    if setting.quiz_questions is None:
        parts = Split(parts.work, () if setting.gold_rate == 0 else parts.checks, ())
    elif setting.gold_rate == 0:
        parts = Split(parts.work, (), parts.quiz)
    crowd_people = workers(crowd, parts)
    rng.shuffle(crowd_people)  # workers arrive in random order
    clock = FakeClock()
    tally = _Tally()
    with tempfile.TemporaryDirectory(prefix="tapwork-replay-") as tmp:
        items_path = Path(tmp) / "items.jsonl"
        names = _items_file(items_path, crowd, parts)
        async with BotApiStandIn() as server, \
                running(_config(server, Path(tmp) / "replay.db"), clock,
                        poll_timeout=1) as (app, services):
            # settlement runs once, after the last answer, so what the ledger holds does
            # not depend on when the job happened to wake (it judges units on the labels
            # final at that moment)
            assert app.job_queue is not None
            for job in app.job_queue.get_jobs_by_name("settle-units"):
                job.schedule_removal()
            services.work.rng = random.Random(seed)  # the same gold checks for a seed
            await services.catalog.save(spec)
            imported = await services.catalog.import_file(spec.name, items_path)
            assert imported.ok, imported.errors
            for n, person in enumerate(crowd_people):
                phone = server.phone(FIRST_USER + n, f"W{n}", language_code="en")
                await _work(phone, person, crowd, spec.name, clock, seconds, seed, tally,
                            names)
            clock.advance(hours=spec.auto_approve_hours + 1)
            await services.payroll.settle_due()
            out = io.StringIO()
            await services.reports.export(spec.name, out)
            balances = await services.payroll.balances()
            stats = next(s for s in await services.reports.stats() if s.name == spec.name)
    paid = sum(b.pending + b.available + b.reserved + b.paid
               for bs in balances.values() for b in bs if b.currency == spec.currency)
    outcome = _outcome(setting, crowd, parts, out.getvalue(), tally, len(crowd_people), paid,
                       spec)
    outcome.paid_quiz_answers = stats.paid_exam_answers
    return outcome


def _outcome(setting: Setting, crowd: Crowd, parts: Split, export: str, tally: _Tally,
             workers: int, paid: int, spec: ProjectSpec) -> Outcome:
    rows = {row["id"]: row for row in map(json.loads, export.splitlines())}
    work_answers = Counter[str]()
    answers: list[tuple[str, str, str]] = []
    labels: dict[str, str] = {}
    for item in parts.work:
        row = rows[item]
        for answer in row["answers"]:
            answers.append((item, str(answer["worker"]), str(answer["value"])))
            work_answers[item] += 1
        if row["label"]:
            labels[item] = str(row["label"])
    scored = [i for i in parts.work if i in crowd.gold]
    if crowd.text:
        correct = sum(is_correct(spec, labels.get(i, ""), crowd.gold[i]) for i in scored)
    else:
        correct = sum(labels.get(i) == crowd.gold[i] for i in scored)
    return Outcome(
        setting=setting.name, work_items=len(parts.work), labelled=len(labels),
        scored=len(scored), correct=correct,
        work_answers=sum(work_answers.values()),
        gold_answers=sum(len(rows[i]["answers"]) for i in parts.checks),
        quiz_answers=tally.quiz, workers=workers,
        qualified=(tally.qualified if setting.quiz_questions is not None
                   else tally.working),
        paid=paid, reward=spec.reward_micros, currency=spec.currency,
        seconds=tally.seconds, recorded=tally.recorded, answers=answers, labels=labels,
        wer=wer(labels, crowd.gold, scored) if crowd.text else None,
        wer_kept=(wer(labels, crowd.gold, scored, keep_apostrophes=True) if crowd.text
                  else None))
