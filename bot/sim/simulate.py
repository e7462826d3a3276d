"""``tapwork simulate``: before launching a project, replay a past crowd against its settings.

The operator gives the project's file, a crowd file of an earlier, similar job
(``item,worker,label``, crowd-kit's layout, which ``tapwork export --format csv`` writes
too; ``item,worker,text`` for a transcription project) and its known answers. The crowd
is replayed through the real bot (``bot/sim/replay.py``) with the project's quality
settings and with a few alternatives, and each line says what that choice would buy:
accuracy on the gold items (for transcriptions the word error rate of the exported
texts, apostrophes stripped), answers per label (quiz and gold checks included), cost per
label in the project's currency, and what the workers would earn an hour, counting the
unpaid quiz time too.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.aggregation.io import read_answers, read_gold
from bot.domain.errors import TapworkError
from bot.domain.money import format_money, format_rate
from bot.domain.project_spec import ProjectSpec
from bot.domain.projects import load_project_file
from bot.sim.recorded import Crowd, split
from bot.sim.replay import Outcome, Setting, replay

#: what one answer takes a worker when nobody has measured it yet: reading a short text
#: and tapping a button (a photo or a long text takes longer: say so with the option)
SECONDS_PER_ANSWER = 10.0


def settings_for(spec: ProjectSpec) -> list[Setting]:
    """The project's own settings first, then plain overlap 3 and plain overlap 5."""
    quiz = spec.quiz
    own = Setting("this project", overlap=spec.overlap, max_overlap=spec.max_overlap,
                  confidence=spec.confidence, gold_rate=spec.gold_rate,
                  quiz_questions=quiz.questions if quiz else None,
                  training=quiz.training if quiz else True,
                  min_overlap=spec.min_overlap or None,
                  paid_exam=quiz.paid if quiz else False)
    plain = [Setting(f"overlap {n}, no quiz, no gold", overlap=n, max_overlap=n)
             for n in (3, 5)]
    def keys(s: Setting) -> tuple[object, ...]:
        return s.overlap, s.floor, s.max_overlap, s.gold_rate, s.quiz_questions

    return [own] + [s for s in plain if keys(s) != keys(own)]


def _crowd(spec: ProjectSpec, answers: str, gold: str) -> Crowd:
    if spec.spatial:
        raise TapworkError(f"simulate replays labels and transcriptions; {spec.name} is a "
                           f"{spec.kind} project (bench.boxes measures merging drawings)")
    try:
        layout, rows = read_answers(answers)
        known = read_gold(gold)
    except ValueError as exc:  # "FILE:LINE: what is wrong", as the importer says it
        raise TapworkError(str(exc)) from None
    except OSError as exc:
        raise TapworkError(f"cannot read {exc.filename or answers}: "
                           f"{exc.strerror or exc}") from None
    if not rows:
        raise TapworkError(f"{answers}: no answers")
    if not spec.categorical:
        return Crowd.of(rows, known, text=True)
    if layout != "csv":
        raise TapworkError(f"{answers}: simulate replays item,worker,label CSV for a "
                           f"{spec.kind} project (tab-separated texts are transcriptions)")
    allowed = spec.label_values
    for what, values in ((answers, [label for _, _, label in rows]),
                         (gold, list(known.values()))):
        stray = sorted(set(values) - set(allowed))
        if stray:
            raise TapworkError(f"{what}: label {stray[0]!r} is not one of the project's "
                               f"labels ({', '.join(allowed)})")
    return Crowd.of(rows, known)


def _line(setting: Setting, o: Outcome) -> tuple[str, ...]:
    spent = o.work_answers + o.gold_answers + o.quiz_answers
    per_label = spent / o.labelled if o.labelled else 0.0
    cost = (o.paid + o.labelled // 2) // o.labelled if o.labelled else 0  # half up
    hourly = o.hourly
    score = o.accuracy if o.wer is None else o.wer
    return (setting.name, describe(setting), f"{score:.3f}",
            f"{o.labelled}/{o.work_items}", f"{per_label:.2f}", format_rate(cost, o.currency),
            "-" if hourly is None else format_rate(hourly, o.currency))


def describe(s: Setting) -> str:
    overlap = (f"overlap {s.overlap}" if s.max_overlap == s.overlap == s.floor
               else f"overlap {s.floor}-{s.max_overlap} at {s.confidence:g}")
    quiz = f", quiz {s.quiz_questions}" if s.quiz_questions is not None else ""
    quiz += ", paid exam" if quiz and s.paid_exam else ""
    gold = f", gold {s.gold_rate:g}" if s.gold_rate else ""
    return overlap + gold + quiz


HEADER = ("setting", "keys", "accuracy", "labelled", "answers / label", "cost / label",
          "hourly")


async def simulate(project: str | Path, answers: str, gold: str, *,
                   seconds: float = SECONDS_PER_ANSWER, seed: int = 0) -> list[str]:
    """The forecast's lines: what was replayed, then one row per setting."""
    spec = load_project_file(project)
    if not 0 < seconds <= 3600:
        raise TapworkError(f"--seconds-per-answer must be from 0 to 3600, not {seconds:g}")
    crowd = _crowd(spec, answers, gold)
    settings = settings_for(spec)
    questions = max((s.quiz_questions or 0) for s in settings)
    golden = sum(1 for item in crowd.items if item in crowd.gold)
    checks = max(5, golden // 20) if any(s.gold_rate for s in settings) else 0
    try:  # quiz questions need a spare round for retries and practice
        parts = split(crowd, quiz=2 * questions, checks=checks, gold_only=False)
    except ValueError as exc:
        raise TapworkError(f"{gold}: {exc}") from None
    if not parts.work:
        raise TapworkError(f"{answers}: no items left to label once the quiz and gold "
                           "checks are taken from the gold items")
    # labels by value (display names do not change quality), items in English so the
    # replayed phones read them; every other key is the project's own
    base: dict[str, Any] = {**spec.raw, "language": "en"}
    if spec.categorical:
        base.update(kind="classification", labels=list(spec.label_values))
    header = HEADER if spec.categorical else ("setting", "keys", "WER", *HEADER[3:])
    rows: list[tuple[str, ...]] = [header]
    for setting in settings:
        outcome = await replay(crowd, parts, setting, base, seed=seed, seconds=seconds)
        rows.append(_line(setting, outcome))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    scored = sum(1 for item in parts.work if item in crowd.gold)
    lines = [f"replayed {len(parts.work)} items of {answers} ({scored} with gold, scored), "
             f"{len(crowd.rows)} answers by {len({w for _, w, _ in crowd.rows})} workers; "
             f"{len(parts.quiz)} gold items as quiz questions and {len(parts.checks)} as "
             f"gold checks; reward {format_money(spec.reward_micros, spec.currency)} an "
             f"answer, {seconds:g} s an answer, seed {seed}"]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
              for r in rows]
    return lines


def run_simulate(project: str, answers: str, gold: str, seconds: float, seed: int) -> int:
    for line in asyncio.run(simulate(project, answers, gold, seconds=seconds, seed=seed)):
        print(line)
    return 0
