"""Replaying a transcription crowd (``item<TAB>worker<TAB>text``) through the real bot.

The recordings of a public transcription set are not at hand (CrowdSpeech ships only the
texts), and a transcription item must be audio or an image (``bot/intake/checks.py``), so
each item becomes a tiny silent WAV written with the standard library, one per item and
unlike every other (files with the same bytes would be stored once). The phone finds the
item again by the file's name, which the bot sends with the recording.

A replayed worker types their own recorded transcription when the bot serves them an item
they transcribed. Otherwise they type the transcription of that item by the worker whose
quality is nearest their own, quality being the mean word error rate on the gold items
(``bot.aggregation.text.word_error_rate``), so a careless worker stays careless and a
careful one careful; a worker with no gold answer counts as the crowd's median. Drawing
from real transcriptions of the same item keeps the errors real: the same hard word is
misheard by many, unlike the independent draws of a categorical replay.

Each recorded transcription is typed at most once per item while any is left untyped (a
worker whose own text was already drawn for someone else draws too): two phones typing
the same recorded text would be two votes for one person's slips, which ROVER would
then believe. Only when every recorded text of an item is used does a text come twice.
"""

from __future__ import annotations

import io
import random
import statistics
import wave
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.aggregation.text import word_error_rate

#: each item's stand-in recording: a tenth of a second of 8 kHz 16-bit mono
RATE = 8000
FRAMES = 800


def silent_wav(n: int) -> bytes:
    """A valid, nearly silent WAV whose first samples spell ``n``, so no two are alike."""
    frames = bytearray(FRAMES * 2)
    frames[:8] = n.to_bytes(8, "little")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))
    return out.getvalue()


def media_name(n: int) -> str:
    """The item's recording inside the replay's folder; the bot sends it as ``{n}.wav``."""
    return f"audio/{n}.wav"


@dataclass(frozen=True)
class Transcriber:
    """One recorded worker of a transcription crowd."""

    name: str
    recorded: dict[str, str]
    #: how many work items of the replay they answered in the file: they stop there
    cap: int
    #: mean word error rate on the gold items they transcribed
    quality: float
    #: per item of the replay, every author's (quality, author, text), best first
    pool: Mapping[str, Sequence[tuple[float, str, str]]]
    #: per item, the authors whose text a phone has typed (shared by the whole crowd)
    typed: dict[str, set[str]]

    def answer(self, item: str, truth: str | None, labels: Sequence[str],
               rng: random.Random) -> str:
        """Their own text, else the untyped text of the nearest worker in quality."""
        taken = self.typed.setdefault(item, set())
        if item in self.recorded and self.name not in taken:
            taken.add(self.name)
            return self.recorded[item]
        entries = self.pool[item]
        others = [e for e in entries if e[1] not in taken and e[1] != self.name] \
            or [e for e in entries if e[1] != self.name] or list(entries)
        gap = min(abs(q - self.quality) for q, _, _ in others)
        _, author, text = rng.choice([e for e in others if abs(e[0] - self.quality) == gap])
        taken.add(author)
        return text


def transcribers(rows: Iterable[tuple[str, str, str]], gold: Mapping[str, str],
                 items: Sequence[str], work: Sequence[str]) -> list[Transcriber]:
    """Every worker with a work item of the replay, in file order; ``items`` are all the
    items the phones may be served (work, gold checks, quiz questions)."""
    recorded: dict[str, dict[str, str]] = {}
    for item, worker, text in rows:
        recorded.setdefault(worker, {}).setdefault(item, text)  # a repeat: the first
    wanted = set(items)
    work_set = set(work)
    # quality only for the workers a phone can meet: the authors of the replay's items
    authors = [w for w, answers in recorded.items() if wanted.intersection(answers)]
    quality: dict[str, float] = {}
    for worker in authors:
        errors = [word_error_rate(text, gold[item])
                  for item, text in recorded[worker].items() if item in gold]
        if errors:
            quality[worker] = statistics.fmean(errors)
    median = statistics.median(quality.values()) if quality else 0.0
    pool: dict[str, list[tuple[float, str, str]]] = {item: [] for item in wanted}
    for worker in authors:
        q = quality.setdefault(worker, median)
        for item, text in recorded[worker].items():
            if item in wanted:
                pool[item].append((q, worker, text))
    for entries in pool.values():
        entries.sort()
    typed: dict[str, set[str]] = {}
    result = []
    for worker in authors:
        cap = sum(1 for item in recorded[worker] if item in work_set)
        if cap:
            result.append(Transcriber(worker, recorded[worker], cap, quality[worker], pool,
                                      typed))
    return result


def wer(labels: Mapping[str, str], gold: Mapping[str, str], scored: Sequence[str], *,
        keep_apostrophes: bool = False) -> float:
    """Mean word error rate of ``labels`` on ``scored`` items (a missing label is all
    wrong), apostrophes stripped as crowd-kit does or kept as the workers wrote them."""
    if not scored:
        return 0.0
    return statistics.fmean(
        word_error_rate(labels.get(item, ""), gold[item], keep_apostrophes=keep_apostrophes)
        for item in scored)


def single_worker_wer(rows: Iterable[tuple[str, str, str]], gold: Mapping[str, str],
                      scored: Sequence[str]) -> float:
    """What one transcription per item scores: the mean over every recorded answer of the
    scored items, each item weighted alike."""
    per_item: dict[str, list[float]] = {}
    wanted = set(scored)
    for item, _, text in rows:
        if item in wanted:
            per_item.setdefault(item, []).append(word_error_rate(text, gold[item]))
    return statistics.fmean(statistics.fmean(v) for v in per_item.values())
