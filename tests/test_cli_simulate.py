"""``tapwork simulate``: a tiny hand-made crowd replayed against a project's settings."""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import pytest

from bot.cli import main

PROJECT = """\
name = "pets"
kind = "classification"
title = "Cat or dog?"
labels = ["cat", "dog"]
reward = "0.05"
currency = "USD"
overlap = 3
max_overlap = 5
gold_rate = 0.1
[quiz]
questions = 3
pass = 0.6
"""


def crowd(tmp_path: Path, items: int = 30) -> tuple[Path, Path, Path]:
    """Six careful workers (right 9 times in 10) and two who always say "cat"."""
    rng = random.Random(5)
    truth = {f"i{n}": rng.choice(["cat", "dog"]) for n in range(items)}
    lines = ["item,worker,label"]
    for worker in range(8):
        for item, label in truth.items():
            if worker >= 6:
                answer = "cat"
            else:
                answer = label if rng.random() < 0.9 else ("dog" if label == "cat" else "cat")
            lines.append(f"{item},w{worker},{answer}")
    project, answers, gold = (tmp_path / "pets.toml", tmp_path / "answers.csv",
                              tmp_path / "gold.csv")
    project.write_text(PROJECT, encoding="utf-8")
    answers.write_text("\n".join(lines) + "\n", encoding="utf-8")
    gold.write_text("item,label\n" + "".join(f"{i},{g}\n" for i, g in truth.items()),
                    encoding="utf-8")
    return project, answers, gold


def test_simulate_prints_accuracy_answers_cost_and_hourly_rate_per_setting(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project, answers, gold = crowd(tmp_path)
    assert main(["simulate", str(project), str(answers), "--gold", str(gold),
                 "--seconds-per-answer", "12"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("replayed 19 items of ")  # 30 less 6 quiz questions, 5 checks
    assert "reward $0.05 an answer, 12 s an answer" in out[0]
    assert out[1].split()[:2] == ["setting", "keys"]
    rows = {line.split("  ")[0]: line for line in out[2:]}
    assert list(rows) == ["this project", "overlap 3, no quiz, no gold",
                          "overlap 5, no quiz, no gold"]
    money = re.compile(r"\$\d+\.\d{2}\b")
    for name, line in rows.items():
        cells = [c for c in re.split(r"\s{2,}", line) if c]
        labelled, per_label, cost, hourly = cells[3:]
        assert labelled == "19/19", line
        assert money.fullmatch(cost) and money.fullmatch(hourly), line
        spent = float(per_label)
        # cost per label is the paid answers at $0.05, each unit judged wrong paid half
        # (``discount`` 0.5): between half and all of answers x reward; quiz answers are
        # counted in the answers but never paid, so only the plain settings have the floor
        assert float(cost[1:]) <= spent * 0.05 + 0.005, line
        if "no quiz" in name:
            assert spent * 0.025 - 0.005 <= float(cost[1:]), line
        assert spent >= (5 if "overlap 5" in name else 3), line
    own = re.split(r"\s{2,}", rows["this project"])
    assert own[1] == "overlap 3-5 at 0.9, gold 0.1, quiz 3"
    assert float(own[2]) >= 0.9  # the quiz keeps the two who always say "cat" out
    # quiz answers are unpaid time: the project's hourly rate is below the plain one's
    # at most $0.05 x 300 answers an hour = $15.00 (each answer takes 12 s +-25 %), less
    # the half of the units judged wrong
    plain = re.split(r"\s{2,}", rows["overlap 3, no quiz, no gold"])
    assert 7.0 <= float(plain[6][1:]) <= 16.5
    assert float(own[6][1:]) < float(plain[6][1:])


@pytest.mark.parametrize(("line", "expected"), [
    ("i1,w9", "answers.csv:3: expected 3 comma-separated fields"),
    ("i1,w9,", "answers.csv:3: empty label"),
    ("i1,w9,horse", "answers.csv: label 'horse' is not one of the project's labels (cat, dog)"),
])
def test_a_bad_crowd_file_is_one_line_with_its_line_number(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, expected: str) -> None:
    project, answers, gold = crowd(tmp_path, items=12)
    lines = answers.read_text("utf-8").splitlines()
    lines.insert(2, line)
    answers.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["simulate", str(project), str(answers), "--gold", str(gold)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tapwork: ") and expected in err and err.count("\n") == 1, err


SPEECH = """\
name = "speech"
kind = "transcription"
title = "Type what you hear"
reward = "0.05"
currency = "USD"
overlap = 3
max_overlap = 5
gold_rate = 0.1
"""
WORDS = ["the", "cat", "sat", "on", "a", "warm", "mat", "while", "rain", "fell", "over",
         "quiet", "town", "and", "children", "sang", "near", "old", "river", "bridge"]


def speech_crowd(tmp_path: Path, items: int = 30) -> tuple[Path, Path, Path]:
    """Six careful transcribers (a word wrong 1 time in 20) and two who type only the
    first three words, in crowd-kit's ``item,worker,text`` CSV, commas quoted."""
    rng = random.Random(7)
    truth = {f"a{n}": " ".join(rng.choice(WORDS) for _ in range(8)) for n in range(items)}
    rows = []
    for worker in range(8):
        for item, text in truth.items():
            words = text.split()
            if worker >= 6:
                typed = " ".join(words[:3])
            else:
                typed = " ".join(w if rng.random() < 0.95 else rng.choice(WORDS)
                                 for w in words)
            rows.append([item, f"w{worker}", typed.capitalize() + ", ok."])
    project, answers, gold = (tmp_path / "speech.toml", tmp_path / "answers.csv",
                              tmp_path / "gold.csv")
    project.write_text(SPEECH, encoding="utf-8")
    with answers.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([["item", "worker", "text"], *rows])
    gold.write_text("item,text\n" + "".join(f"{i},{t} ok\n" for i, t in truth.items()),
                    encoding="utf-8")
    return project, answers, gold


def test_simulate_a_transcription_project_prints_the_word_error_rate_per_setting(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project, answers, gold = speech_crowd(tmp_path)
    assert main(["simulate", str(project), str(answers), "--gold", str(gold)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("replayed 25 items of ")  # 30 less 5 gold checks, no quiz
    assert out[1].split()[:3] == ["setting", "keys", "WER"]
    rows = {line.split("  ")[0]: re.split(r"\s{2,}", line) for line in out[2:]}
    assert list(rows) == ["this project", "overlap 3, no quiz, no gold",
                          "overlap 5, no quiz, no gold"]
    for cells in rows.values():
        assert cells[3] == "25/25", cells
    # one careful transcriber errs on about 1 word in 20 and a sloppy one on 5 in 9;
    # three to five of them voted word by word do better than the careful one alone
    assert float(rows["this project"][2]) <= 0.05, rows
    assert float(rows["overlap 5, no quiz, no gold"][2]) <= 0.05, rows


def test_a_bad_transcription_crowd_file_is_one_line_with_its_line_number(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project, answers, gold = speech_crowd(tmp_path, items=12)
    lines = answers.read_text("utf-8").splitlines()
    lines.insert(4, "a1,w9")
    answers.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["simulate", str(project), str(answers), "--gold", str(gold)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tapwork: ") and err.count("\n") == 1, err
    assert "answers.csv:5: expected 3 comma-separated fields" in err, err


def test_simulate_says_it_does_not_replay_drawings(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _project, answers, gold = crowd(tmp_path, items=12)
    boxes = tmp_path / "boxes.toml"
    boxes.write_text('name = "people"\nkind = "boxes"\ntitle = "Boxes"\ncurrency = "USD"\n'
                     'labels = ["person"]\n', encoding="utf-8")
    assert main(["simulate", str(boxes), str(answers), "--gold", str(gold)]) == 2
    err = capsys.readouterr().err
    assert "simulate replays labels and transcriptions; people is a boxes project" in err
    assert err.count("\n") == 1
