"""Label aggregation: many workers' answers in, one label and a confidence per item out.

Pure domain code on NumPy (it never imports ``telegram``), usable from the bot, the
``tapwork aggregate`` command and the benchmarks alike.

Categorical answers (:mod:`.categorical`)::

    aggregate(answers, method="auto", *, gold=None, label_order=None) -> dict[str, Aggregate]
    posteriors(answers, method="auto", *, gold=None, label_order=None)
        -> dict[str, dict[str, float]]

with methods ``mv`` (majority vote), ``wawa`` (Worker Agreement With Aggregate, from
crowd-kit), ``ds`` (Dawid & Skene 1979), ``one-coin-ds``, ``gold-ds`` (Dawid-Skene anchored
on known answers) and ``auto`` (see :func:`resolve_method`). The array-level functions
(:func:`majority_vote`, :func:`wawa`, :func:`dawid_skene`, ...) work on
:class:`EncodedAnswers`.

Transcriptions (:mod:`.text`)::

    aggregate_texts(rows, method="rover") -> dict[str, Aggregate]

ROVER (Fiscus 1997) with a medoid fallback, plus :func:`normalize` and
:func:`word_error_rate`. Files: :mod:`.io`; the command: :mod:`.cli`. Exports, which must
not hold a project's answers in memory, fit and label page by page with :mod:`.stream`
(the same labels).
"""

from .categorical import (
    CATEGORICAL_METHODS,
    Aggregate,
    DawidSkeneResult,
    EncodedAnswers,
    aggregate,
    dawid_skene,
    encode,
    encode_gold,
    gold_dawid_skene,
    gold_holdout_predictions,
    majority_vote,
    one_coin_dawid_skene,
    posteriors,
    resolve_method,
    wawa,
)
from .io import detect_layout, read_answers, read_gold, write_aggregates
from .text import (
    TEXT_METHODS,
    aggregate_texts,
    detokenize,
    edit_distance,
    medoid,
    normalize,
    rover,
    tokenize,
    word_error_rate,
)

__all__ = [
    "CATEGORICAL_METHODS",
    "TEXT_METHODS",
    "Aggregate",
    "DawidSkeneResult",
    "EncodedAnswers",
    "aggregate",
    "aggregate_texts",
    "dawid_skene",
    "detect_layout",
    "detokenize",
    "edit_distance",
    "encode",
    "encode_gold",
    "gold_dawid_skene",
    "gold_holdout_predictions",
    "majority_vote",
    "medoid",
    "normalize",
    "one_coin_dawid_skene",
    "posteriors",
    "read_answers",
    "read_gold",
    "resolve_method",
    "rover",
    "tokenize",
    "wawa",
    "word_error_rate",
    "write_aggregates",
]
