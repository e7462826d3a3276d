"""Every categorical method as a class, by name, and the row-level API with ``auto``.

The classes follow crowd-kit's ``crowdkit.aggregation`` shape, one method per class:
construct with the method's settings, ``fit(enc, gold=None)`` returns the fitted model,
``predict_proba()`` the per-item posteriors (n_items x n_labels) and ``predict()`` the
label index per item (first maximum, so label order breaks ties); ``fit_predict`` and
``fit_predict_proba`` do both. Fitted values end in ``_`` as in crowd-kit (``probas_``,
``priors_``, ``errors_``, ``skills_``). They work on :class:`EncodedAnswers`; the
functions at the bottom take ``(item, worker, label)`` rows and names.

:data:`MODELS` maps each method name (as projects, ``tapwork aggregate --method`` and
:func:`aggregate` spell it) to its class; adding a class there registers the method.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import NDArray

from . import bayes
from .categorical import (
    Aggregate,
    EncodedAnswers,
    _checked_gold,
    dawid_skene,
    encode,
    encode_gold,
    gold_dawid_skene,
    majority_vote,
    one_coin_dawid_skene,
    wawa,
)

__all__ = [
    "CATEGORICAL_METHODS",
    "IBCC",
    "MODELS",
    "Aggregator",
    "DawidSkene",
    "GoldDawidSkene",
    "MajorityVote",
    "MixedIBCC",
    "OneCoinDawidSkene",
    "Wawa",
    "aggregate",
    "gold_holdout_predictions",
    "make_model",
    "posteriors",
    "resolve_method",
]


class Aggregator:
    """What every method offers; subclasses set :attr:`name` and implement :meth:`fit`."""

    #: The method's name in :data:`MODELS`.
    name: ClassVar[str] = ""
    #: Whether :meth:`fit` learns from gold answers (then scoring it on those same gold
    #: items needs held-out gold: :func:`gold_holdout_predictions`).
    uses_gold: ClassVar[bool] = False

    probas_: NDArray[np.float64] | None = None

    def fit(self, enc: EncodedAnswers, gold: NDArray[np.intp] | None = None) -> Self:
        """Fit on ``enc``; ``gold`` holds a label index per item, -1 where unknown."""
        raise NotImplementedError

    def predict_proba(self) -> NDArray[np.float64]:
        """Posterior per item and label, shape (n_items, n_labels), rows summing to one."""
        if self.probas_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() first")
        return self.probas_

    def predict(self) -> NDArray[np.intp]:
        """The label index per item: the first maximum, so label order breaks ties."""
        return np.asarray(self.predict_proba().argmax(axis=1), dtype=np.intp)

    def fit_predict_proba(
        self, enc: EncodedAnswers, gold: NDArray[np.intp] | None = None
    ) -> NDArray[np.float64]:
        return self.fit(enc, gold).predict_proba()

    def fit_predict(
        self, enc: EncodedAnswers, gold: NDArray[np.intp] | None = None
    ) -> NDArray[np.intp]:
        return self.fit(enc, gold).predict()


class MajorityVote(Aggregator):
    """Vote shares; see :func:`~.categorical.majority_vote`."""

    name = "mv"

    def fit(self, enc: EncodedAnswers, gold: NDArray[np.intp] | None = None) -> Self:
        self.probas_ = majority_vote(enc)
        return self


class Wawa(Aggregator):
    """Worker Agreement With Aggregate; see :func:`~.categorical.wawa`."""

    name = "wawa"
    skills_: NDArray[np.float64] | None = None

    def fit(self, enc: EncodedAnswers, gold: NDArray[np.intp] | None = None) -> Self:
        self.probas_, self.skills_ = wawa(enc)
        return self


class _EM(Aggregator):
    """Shared settings and fitted values of the Dawid-Skene family (crowd-kit's defaults)."""

    priors_: NDArray[np.float64] | None = None
    errors_: NDArray[np.float64] | None = None
    loss_history_: tuple[float, ...] = ()

    def __init__(self, *, n_iter: int = 100, tol: float = 1e-5) -> None:
        self.n_iter = n_iter
        self.tol = tol

    def _keep(self, fit: Any) -> Self:
        self.probas_, self.priors_, self.errors_ = fit.probas, fit.priors, fit.errors
        self.loss_history_ = fit.loss_history
        return self


class DawidSkene(_EM):
    """Dawid & Skene (1979); see :func:`~.categorical.dawid_skene`. Ignores gold."""

    name = "ds"

    def fit(self, enc: EncodedAnswers, gold: NDArray[np.intp] | None = None) -> Self:
        return self._keep(dawid_skene(enc, n_iter=self.n_iter, tol=self.tol))


class OneCoinDawidSkene(_EM):
    """One accuracy per worker; see :func:`~.categorical.one_coin_dawid_skene`."""

    name = "one-coin-ds"

    def fit(self, enc: EncodedAnswers, gold: NDArray[np.intp] | None = None) -> Self:
        return self._keep(one_coin_dawid_skene(enc, n_iter=self.n_iter, tol=self.tol))


class GoldDawidSkene(_EM):
    """Dawid-Skene anchored on gold; see :func:`~.categorical.gold_dawid_skene`."""

    name = "gold-ds"
    uses_gold = True

    def fit(self, enc: EncodedAnswers, gold: NDArray[np.intp] | None = None) -> Self:
        if gold is None or not (np.asarray(gold) >= 0).any():
            raise ValueError("gold-ds needs gold answers for at least one answered item")
        return self._keep(gold_dawid_skene(enc, gold, n_iter=self.n_iter, tol=self.tol))


class IBCC(Aggregator):
    """Bayesian Dawid-Skene by variational Bayes; see :mod:`.bayes`.

    ``strength`` imaginary answers per worker and true class, a share ``accuracy`` of them
    right, make the prior; ``class_prior`` is the pseudo-count of each class (None: scaled
    to the data, :func:`.bayes.class_pseudocount`). Gold answers,
    when given, are clamped. ``counts_`` holds each worker's posterior Dirichlet parameters.
    """

    name = "ibcc"
    uses_gold = True

    priors_: NDArray[np.float64] | None = None
    errors_: NDArray[np.float64] | None = None
    counts_: NDArray[np.float64] | None = None
    full_share_: NDArray[np.float64] | None = None
    n_iter_: int = 0

    def __init__(
        self,
        *,
        strength: float = bayes.STRENGTH,
        accuracy: float = bayes.ACCURACY,
        class_prior: float | None = None,
        n_iter: int = 500,
        tol: float = 1e-4,
    ) -> None:
        self.strength = strength
        self.accuracy = accuracy
        self.class_prior = class_prior
        self.n_iter = n_iter
        self.tol = tol

    #: Whether each worker may be one accuracy instead of a full matrix (:class:`MixedIBCC`).
    mixed: ClassVar[bool] = False

    def fit(self, enc: EncodedAnswers, gold: NDArray[np.intp] | None = None) -> Self:
        fit = bayes.ibcc(enc, gold=gold, strength=self.strength, accuracy=self.accuracy,
                         class_prior=self.class_prior, n_iter=self.n_iter, tol=self.tol,
                         mixed=self.mixed)
        self.probas_, self.priors_, self.errors_ = fit.probas, fit.priors, fit.errors
        self.counts_, self.n_iter_ = fit.counts, fit.n_iter
        self.full_share_ = fit.full_share
        return self


class MixedIBCC(IBCC):
    """IBCC where each worker is either one accuracy or a full confusion matrix.

    Why: one-coin Dawid-Skene beats a confusion matrix per worker where workers err
    alike on every label (sp_amt, sp_rodrigues), and loses badly where a worker's errors
    depend on the truth (s_relevance: 0.258 against 0.617). Rather than choose for the
    whole crowd, every worker gets both models, under the same prior (``strength``
    imaginary answers per true label, a share ``accuracy`` of them right), with even
    odds; their evidence, the marginal likelihood of that worker's answers under each,
    decides how much each counts (:func:`.bayes.mixed_log_errors`). Few answers favour
    the one parameter; a record of label-dependent errors favours the matrix. Fitted by
    the same variational Bayes as :class:`IBCC`; ``full_share_[w]`` is the posterior
    probability of the full matrix for worker ``w`` (README, "Aggregation").
    """

    name = "ibcc-mix"
    mixed = True


#: Method name -> class. The order is the order methods are listed to users.
MODELS: dict[str, type[Aggregator]] = {
    cls.name: cls
    for cls in (MajorityVote, Wawa, DawidSkene, OneCoinDawidSkene, GoldDawidSkene, IBCC,
                MixedIBCC)
}

#: Method names :func:`aggregate` accepts besides ``"auto"``.
CATEGORICAL_METHODS: tuple[str, ...] = tuple(MODELS)


def make_model(method: str, *, n_iter: int | None = None, tol: float | None = None) -> Aggregator:
    """A fresh model for ``method``; ``n_iter``/``tol`` override the method's own defaults.

    The defaults differ on purpose: the Dawid-Skene family keeps crowd-kit's (100 rounds,
    ``tol`` on its bound) so figures compare; IBCC stops when no posterior moves by 1e-4.
    """
    if method not in MODELS:
        raise ValueError(
            f"unknown method {method!r}; choose from auto, {', '.join(CATEGORICAL_METHODS)}"
        )
    cls = MODELS[method]
    settings: dict[str, Any] = {}
    if issubclass(cls, _EM | IBCC):
        if n_iter is not None:
            settings["n_iter"] = n_iter
        if tol is not None:
            settings["tol"] = tol
    return cls(**settings)


def resolve_method(method: str, enc: EncodedAnswers | None,
                   gold: NDArray[np.intp] | None) -> str:
    """Turn ``"auto"`` into a concrete method; other names pass through (validated).

    ``auto`` is ``ibcc-mix``, with the gold answers when there are any. The Bayesian model
    needs no rule for when data is too thin for Dawid-Skene: each worker's prior carries
    them until their own answers take over, so one method serves a ten-item pilot and a
    crowd of thousands; nor one for when a worker needs a full confusion matrix rather
    than one accuracy: the evidence of their own answers weighs the two. The earlier rule
    (gold-ds whenever gold exists, majority vote below 20 items or K x K answers per
    worker, else ds) lost 0.059 against Dawid-Skene on one public set and let gold-ds
    over-fit pre-filtered crowds with few answers each; plain ``ibcc`` reached crowd-kit's
    best on 4 of the 7 public sets, ``ibcc-mix`` on 5 (README, "Aggregation"). ``enc``
    and ``gold`` are kept in the signature so a future rule may look at the data (None
    where the caller has none: the streaming model).
    """
    del enc, gold
    if method == "auto":
        return "ibcc-mix"
    if method not in MODELS:
        raise ValueError(
            f"unknown method {method!r}; choose from auto, {', '.join(CATEGORICAL_METHODS)}"
        )
    return method


def gold_holdout_predictions(
    enc: EncodedAnswers,
    gold: NDArray[np.intp],
    *,
    method: str = "gold-ds",
    folds: int = 5,
    seed: int = 0,
    n_iter: int | None = None,
    tol: float | None = None,
) -> NDArray[np.intp]:
    """Honest labels for the gold items themselves from a method that learns from gold.

    Such a method returns the gold label for every gold item, so measuring it on those
    items would always report 100 %. Here the gold items are split into ``folds`` random
    parts; each part is predicted by a model given the other parts' gold only. Returns a
    label index per item (-1 for items without gold). This estimates the accuracy an
    operator gets with all of their gold; to measure a realistic gold share on a set
    whose every item has gold, hide most of it instead (``bench/aggregate.py``).
    """
    gold = _checked_gold(enc, gold)
    known = np.flatnonzero(gold >= 0)
    out = np.full(enc.n_items, -1, dtype=np.intp)
    if known.size == 0:
        return out
    rng = np.random.default_rng(seed)
    parts = np.array_split(rng.permutation(known), min(folds, known.size))
    for part in parts:
        if part.size == 0:
            continue
        visible = gold.copy()
        visible[part] = -1
        # One fold holding all the gold leaves gold-ds none: plain DS is what it becomes.
        name = "ds" if method == "gold-ds" and not (visible >= 0).any() else method
        out[part] = make_model(name, n_iter=n_iter, tol=tol).fit_predict(enc, visible)[part]
    return out


# ------------------------------------------------------------------------ rows in, labels out


def _fit(
    answers: Sequence[tuple[str, str, str]],
    method: str,
    gold: Mapping[str, str] | None,
    label_order: Sequence[str] | None,
    n_iter: int | None,
    tol: float | None,
) -> tuple[str, EncodedAnswers, NDArray[np.float64]]:
    if method != "auto" and method not in MODELS:
        raise ValueError(
            f"unknown method {method!r}; choose from auto, {', '.join(CATEGORICAL_METHODS)}"
        )
    extra: list[str] = []
    if gold:
        answered = {row[0] for row in answers}
        extra = [lab for item, lab in gold.items() if item in answered]
    enc = encode(answers, label_order, extra_labels=extra)
    gold_codes = encode_gold(enc, gold) if gold else None
    chosen = resolve_method(method, enc, gold_codes)
    model = make_model(chosen, n_iter=n_iter, tol=tol)
    return chosen, enc, model.fit_predict_proba(enc, gold_codes)


def aggregate(
    answers: Sequence[tuple[str, str, str]],
    method: str = "auto",
    *,
    gold: Mapping[str, str] | None = None,
    label_order: Sequence[str] | None = None,
    n_iter: int | None = None,
    tol: float | None = None,
) -> dict[str, Aggregate]:
    """One :class:`Aggregate` per item of ``(item, worker, label)`` answers.

    ``method`` is ``auto`` or a name in :data:`MODELS` (``auto`` is explained in
    :func:`resolve_method`; the result records the method that actually ran). Gold answers
    are used by the methods that learn from them (``gold-ds``, ``ibcc``, ``ibcc-mix``).
    ``label_order`` decides ties: the earliest label wins. Items appear in order of their
    first answer. ``n_iter``/``tol`` override the method's own defaults. Raises
    ``ValueError`` for an unknown method or gold-ds without usable gold.
    """
    chosen, enc, probas = _fit(answers, method, gold, label_order, n_iter, tol)
    if enc.n_items == 0:
        return {}
    best = probas.argmax(axis=1)  # first maximum: label order breaks ties
    conf = np.clip(probas[np.arange(enc.n_items), best], 0.0, 1.0)
    labels = enc.labels
    return {
        name: Aggregate(labels[int(b)], float(c), chosen)
        for name, b, c in zip(enc.items, best.tolist(), conf.tolist(), strict=True)
    }


def posteriors(
    answers: Sequence[tuple[str, str, str]],
    method: str = "auto",
    *,
    gold: Mapping[str, str] | None = None,
    label_order: Sequence[str] | None = None,
    n_iter: int | None = None,
    tol: float | None = None,
) -> dict[str, dict[str, float]]:
    """Per item, the probability of every label (in label order) under ``method``."""
    _, enc, probas = _fit(answers, method, gold, label_order, n_iter, tol)
    labels = enc.labels
    return {
        name: dict(zip(labels, row, strict=True))
        for name, row in zip(enc.items, probas.tolist(), strict=True)
    }
