"""Language detection on short texts: lingua-language-detector beside py3langid.

    python -m bench.languages [--repeat N] [--json]

Two labelled sets: ``bench/data/languages.tsv`` (``lang<TAB>text``: 376 short review- and
tweet-like texts in English, Korean and Chinese written for this benchmark, mixed-script
ones included: Korean with an English brand, Chinese with Latin letters and digits, English
with an emoji or a Korean dish, one-word and one-character texts) and the bundled sample
items (``bot/sample/reviews.jsonl``, whose ids carry the language: ``ko-03``, ``g-zh-1``).

Every detector is restricted to English, Korean and Chinese, and measured twice: on the
raw text, and after tapwork's two rules (``bot.domain.item_language.reading_part``: a text with no
letters has no language; Latin names inside a Korean or Chinese sentence are left out).
"lingua, rules" is what the bot ships (``bot.domain.item_language.detect``). For each: accuracy
per language and overall, and time per text (the mean over ``--repeat`` passes, after a
warm-up). Then, per library, its install size and a cold start in a fresh process
(import, build, first text) with the memory it added.

py3langid is not a dependency of tapwork: ``pip install -e ".[bench]"`` brings it.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import util
from pathlib import Path

from bot.domain.item_language import CANDIDATES, detect, reading_part

ROOT = Path(__file__).resolve().parent.parent

LABELLED = ROOT / "bench" / "data" / "languages.tsv"
SAMPLE = ROOT / "bot" / "sample" / "reviews.jsonl"
_ID_LANGUAGE = re.compile(r"(?:^|-)(en|ko|zh)-")

Detect = Callable[[str], str | None]


def load_labelled(path: Path = LABELLED) -> list[tuple[str, str]]:
    """``(language, text)`` pairs; ``#`` lines are comments."""
    rows = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        language, sep, text = line.partition("\t")
        if not sep or language not in CANDIDATES or not text.strip():
            raise ValueError(f"{path.name} line {number}: expected lang<TAB>text")
        rows.append((language, text))
    return rows


def load_sample(path: Path = SAMPLE) -> list[tuple[str, str]]:
    """The bundled sample's texts, each with the language its id names."""
    rows = []
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            match = _ID_LANGUAGE.search(item["id"] + "-")
            if match is None:
                raise ValueError(f"sample id {item['id']!r} names no language")
            rows.append((match.group(1), item["text"]))
    return rows


@dataclass
class Score:
    per_language: dict[str, float]
    overall: float
    wrong: list[tuple[str, str, str | None]]


def score(detector: Detect, rows: list[tuple[str, str]]) -> Score:
    """Accuracy per language and overall; ``wrong`` lists (truth, text, answer)."""
    right: dict[str, int] = {}
    total: dict[str, int] = {}
    wrong = []
    for language, text in rows:
        answer = detector(text)
        total[language] = total.get(language, 0) + 1
        if answer == language:
            right[language] = right.get(language, 0) + 1
        else:
            wrong.append((language, text, answer))
    per_language = {lang: right.get(lang, 0) / total[lang] for lang in sorted(total)}
    return Score(per_language, sum(right.values()) / len(rows), wrong)


def per_text_us(detector: Detect, rows: list[tuple[str, str]], repeat: int) -> float:
    texts = [text for _, text in rows]
    for text in texts:  # warm-up: lazy models load here, not in the timing
        detector(text)
    start = time.perf_counter()
    for _ in range(repeat):
        for text in texts:
            detector(text)
    return (time.perf_counter() - start) / (repeat * len(texts)) * 1e6


# --------------------------------------------------------------------------- detectors


def lingua_detector(low_accuracy: bool = False) -> Detect:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_languages(
        *(Language.from_iso_code_639_1(IsoCode639_1.from_str(c)) for c in CANDIDATES))
    built = (builder.with_low_accuracy_mode() if low_accuracy else builder).build()

    def run(text: str) -> str | None:
        found = built.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found is not None else None

    return run


def py3langid_detector() -> Detect:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    identifier.set_languages(list(CANDIDATES))

    def run(text: str) -> str | None:
        return str(identifier.classify(text)[0])

    return run


def with_rules(detector: Detect) -> Detect:
    """tapwork's rules first: no letters, no language; Latin names in CJK text left out."""
    def run(text: str) -> str | None:
        part = reading_part(text)
        return None if part is None else detector(part)

    return run


#: what a fresh process runs to time a library's cold start: import, build, and the
#: labelled set's texts once each (models that load lazily load here)
_TEXTS = ("texts = [line.split('\\t', 1)[1] for line in open(sys.argv[2], encoding='utf-8')"
          " if '\\t' in line and not line.startswith('#')]\n")
_COLD = {
    "lingua-language-detector": (
        "from lingua import Language, LanguageDetectorBuilder\n"
        "d = LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.KOREAN,"
        " Language.CHINESE).build()\n" + _TEXTS
        + "for text in texts: d.detect_language_of(text)\n"),
    "py3langid": (
        "from py3langid.langid import MODEL_FILE, LanguageIdentifier\n"
        "i = LanguageIdentifier.from_model_file(MODEL_FILE)\n"
        "i.set_languages(['en', 'ko', 'zh'])\n" + _TEXTS
        + "for text in texts: i.classify(text)\n"),
}
_MODULES = {"lingua-language-detector": "lingua", "py3langid": "py3langid"}
_TIMER = (
    "import re, sys, time\n"
    "def peak():  # VmHWM starts afresh at exec; ru_maxrss would carry the parent's peak\n"
    "    status = open('/proc/self/status').read()\n"
    "    return int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1)) / 1024\n"
    "before = peak()\n"
    "start = time.perf_counter()\n"
    "exec(sys.argv[1])\n"
    "print(time.perf_counter() - start, peak() - before)\n")


def install_mb(library: str) -> float | None:
    spec = util.find_spec(_MODULES[library])
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def cold_start(library: str) -> tuple[float, float]:
    """Seconds and MB (peak RSS added) to import, build and detect the labelled set once,
    in a new process so nothing is cached: what the first import after a start costs."""
    out = subprocess.run([sys.executable, "-c", _TIMER, _COLD[library], str(LABELLED)],
                         check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def available(library: str) -> bool:
    return util.find_spec(_MODULES[library]) is not None


# --------------------------------------------------------------------------- report


def run(repeat: int) -> dict[str, object]:
    sets = {"labelled": load_labelled(), "sample": load_sample()}
    detectors: dict[str, Detect] = {}
    lingua_high = lingua_detector()
    detectors["lingua (high accuracy)"] = lingua_high
    detectors["lingua (low accuracy)"] = lingua_detector(low_accuracy=True)
    missing = []
    if available("py3langid"):
        langid = py3langid_detector()
        detectors["py3langid"] = langid
    else:
        missing.append("py3langid")
    detectors["lingua, rules (shipped)"] = detect
    if "py3langid" in detectors:
        detectors["py3langid, rules"] = with_rules(langid)
    rows = []
    for name, detector in detectors.items():
        entry: dict[str, object] = {"detector": name}
        for set_name, data in sets.items():
            result = score(detector, data)
            entry[set_name] = {"overall": result.overall, **result.per_language,
                               "wrong": result.wrong}
        entry["us_per_text"] = per_text_us(detector, sets["labelled"], repeat)
        rows.append(entry)
    libraries = []
    for library in _COLD:
        if not available(library):
            continue
        seconds, mb = cold_start(library)
        libraries.append({"library": library, "install_mb": install_mb(library),
                          "cold_start_s": seconds, "cold_start_mb": mb})
    return {"sizes": {name: len(data) for name, data in sets.items()}, "rows": rows,
            "libraries": libraries, "missing": missing}


def format_table(result: dict[str, object]) -> str:
    sizes = result["sizes"]
    assert isinstance(sizes, dict)
    lines = [f"labelled set: {sizes['labelled']} texts; sample: {sizes['sample']} items", ""]
    header = ("detector", "set", "en", "ko", "zh", "overall", "µs/text")
    table = [header]
    for row in result["rows"]:  # type: ignore[attr-defined]
        for set_name in ("labelled", "sample"):
            scores = row[set_name]
            table.append((row["detector"], set_name,
                          *(f"{100 * scores.get(lang, 0):.1f}%" for lang in CANDIDATES),
                          f"{100 * scores['overall']:.1f}%",
                          f"{row['us_per_text']:.1f}" if set_name == "labelled" else ""))
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
              for r in table]
    lines.append("")
    for library in result["libraries"]:  # type: ignore[attr-defined]
        lines.append(f"{library['library']}: installed {library['install_mb']:.1f} MB; "
                     "cold start (import, build, the labelled set once) "
                     f"{library['cold_start_s']:.3f} s, +{library['cold_start_mb']:.0f} MB")
    for name in result["missing"]:  # type: ignore[attr-defined]
        lines.append(f"{name} is not installed: pip install -e \".[bench]\" to compare it")
    lines.append("")
    for row in result["rows"]:  # type: ignore[attr-defined]
        misses = row["labelled"]["wrong"] + row["sample"]["wrong"]
        if misses:
            shown = "; ".join(f"{truth}->{answer} {text!r}" for truth, text, answer in misses)
            lines.append(f"{row['detector']} missed: {shown}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20,
                        help="timed passes over the labelled set (default 20)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    result = run(args.repeat)
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json
          else format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
