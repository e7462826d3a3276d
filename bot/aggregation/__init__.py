"""Label aggregation: many workers' answers in, one label and a confidence per item out.

Pure domain code on NumPy (it never imports ``telegram``), usable from the bot, the
``tapwork aggregate`` command and the benchmarks alike.

Categorical answers (:mod:`.models`)::

    aggregate(answers, method="auto", *, gold=None, label_order=None) -> dict[str, Aggregate]
    posteriors(answers, method="auto", *, gold=None, label_order=None)
        -> dict[str, dict[str, float]]

with methods ``mv`` (majority vote), ``wawa`` (Worker Agreement With Aggregate, from
crowd-kit), ``ds`` (Dawid & Skene 1979), ``one-coin-ds``, ``gold-ds`` (Dawid-Skene anchored
on known answers), ``ibcc`` (Bayesian Dawid-Skene, :mod:`.bayes`), ``ibcc-mix`` (the same,
each worker either one accuracy or a full confusion matrix) and ``auto`` (see
:func:`resolve_method`). Each method is also a class in crowd-kit's style
(``IBCC().fit(enc).predict()``, registered in :data:`MODELS`), and the array-level
functions (:func:`majority_vote`, :func:`wawa`, :func:`dawid_skene`, :func:`ibcc`, ...)
work on :class:`EncodedAnswers`.

Transcriptions (:mod:`.text`)::

    aggregate_texts(rows, method="rover") -> dict[str, Aggregate]

ROVER (Fiscus 1997) with a medoid fallback, plus :func:`normalize` and
:func:`word_error_rate`. Files: :mod:`.io`; the command: :mod:`.cli`. Exports, which must
not hold a project's answers in memory, fit and label page by page with :mod:`.stream`
(the same labels).
"""

from .bayes import IBCCResult, digamma, gammaln, ibcc
from .categorical import (
    Aggregate,
    DawidSkeneResult,
    EncodedAnswers,
    dawid_skene,
    encode,
    encode_gold,
    gold_dawid_skene,
    majority_vote,
    one_coin_dawid_skene,
    wawa,
)
from .io import detect_layout, read_answers, read_gold, write_aggregates
from .models import (
    CATEGORICAL_METHODS,
    IBCC,
    MODELS,
    Aggregator,
    DawidSkene,
    GoldDawidSkene,
    MajorityVote,
    MixedIBCC,
    OneCoinDawidSkene,
    Wawa,
    aggregate,
    gold_holdout_predictions,
    make_model,
    posteriors,
    resolve_method,
)
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
    words,
)

__all__ = [
    "CATEGORICAL_METHODS",
    "IBCC",
    "MODELS",
    "TEXT_METHODS",
    "Aggregate",
    "Aggregator",
    "DawidSkene",
    "DawidSkeneResult",
    "EncodedAnswers",
    "GoldDawidSkene",
    "IBCCResult",
    "MajorityVote",
    "MixedIBCC",
    "OneCoinDawidSkene",
    "Wawa",
    "aggregate",
    "aggregate_texts",
    "dawid_skene",
    "detect_layout",
    "detokenize",
    "digamma",
    "edit_distance",
    "encode",
    "encode_gold",
    "gammaln",
    "gold_dawid_skene",
    "gold_holdout_predictions",
    "ibcc",
    "majority_vote",
    "make_model",
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
    "words",
    "write_aggregates",
]
