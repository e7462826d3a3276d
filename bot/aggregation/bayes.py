"""Bayesian Dawid-Skene (IBCC): per-worker confusion matrices with a Dirichlet prior.

Dawid-Skene estimates one confusion matrix per worker by maximum likelihood. With a few
answers per worker that estimate is noise: a worker seen twice, right both times, gets a
perfect matrix and outvotes everyone; which is why Dawid-Skene loses to majority vote on
sparse data (weather_cf: 3.7 answers per worker, DS 0.83 against majority vote's 0.90).
Independent Bayesian Classifier Combination (Kim & Ghahramani 2012, "Bayesian classifier
combination", AISTATS; Simpson et al. 2013) puts a Dirichlet prior on each row of each
confusion matrix and on the class proportions, and fits the posterior by mean-field
variational Bayes. The prior is worth a fixed number of imaginary answers, so:

* a worker with few answers is described mostly by the prior, the same for everyone: every
  such worker's vote weighs the same, which is majority vote;
* a busy worker's own record outweighs the prior: that is Dawid-Skene, biases and all.

No size rule decides between the two; each worker sits where their own answer count puts
them. The default prior (:data:`STRENGTH` imaginary answers per true class, a share
:data:`ACCURACY` of them right and the rest spread evenly over the wrong labels) is
explained in the README ("Aggregation").

Variational Bayes rather than a point estimate (MAP-EM) because the E-step then uses
E[log p] under each worker's posterior, which discounts a worker whose skill is uncertain,
and the fitted posterior (:attr:`IBCCResult.counts`) keeps how sure we are of each worker,
which routing and stopping can use. With ``strength`` and ``accuracy`` set to the
published prior (4 on the diagonal, 1 elsewhere) this reproduces the IBCC figures of Li,
Rubinstein & Cohn's reference code exactly (tests/test_aggregation_models.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .categorical import EncodedAnswers, _check_gold, _clamp, _shares

__all__ = ["ACCURACY", "CLASS_SHARE", "STRENGTH", "IBCCResult", "class_pseudocount", "digamma",
           "gammaln", "ibcc", "mixed_log_errors", "prior_matrix"]

#: Default prior strength: imaginary answers per worker and true class.
STRENGTH = 4.0
#: Default prior accuracy: the share of those imaginary answers that are right.
ACCURACY = 0.9
#: Default class prior: imaginary items, as a share of the real ones, spread evenly over
#: the labels. Why scaled to the data: a fixed pseudo-count of 1 lets the class
#: proportions run to a single label when a few prolific workers are biased (one always
#: answers "positive", one guesses), and the model then explains every other worker as
#: wrong; a prior worth a quarter of the items keeps "every item is the same label" from
#: being cheap, yet real imbalance (3:1) still shows (README, "Aggregation").
CLASS_SHARE = 0.25


def digamma(x: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """The digamma function psi(x) = d/dx log Gamma(x), elementwise, for x > 0.

    NumPy has none and SciPy is a large dependency for one function. The recurrence
    psi(x) = psi(x + 1) - 1/x lifts every argument to at least 10, where the asymptotic
    series (Abramowitz & Stegun 6.3.18, five Bernoulli terms) is accurate to about 1e-14.
    """
    x = np.array(x, dtype=np.float64)  # a copy: shifted in place below
    if np.any(x <= 0):
        raise ValueError("digamma is only defined here for positive arguments")
    out = np.zeros_like(x)
    small = x < 10.0
    while small.any():
        out[small] -= 1.0 / x[small]
        x[small] += 1.0
        small = x < 10.0
    inv2 = 1.0 / (x * x)
    series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 / 132))))
    return out + np.log(x) - 0.5 / x - series


def gammaln(x: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """log Gamma(x), elementwise, for x > 0 (NumPy has none; see :func:`digamma`).

    log Gamma(x) = log Gamma(x + 1) - log x lifts every argument to at least 10, where
    Stirling's series (five correction terms) is accurate to about 1e-13.
    """
    x = np.asarray(x, dtype=np.float64)
    if np.any(x <= 0):
        raise ValueError("gammaln is only defined here for positive arguments")
    # x (x + 1) ... up to the first of them at least 10, in one log: at most 10 factors
    # below 20 each, so the product stays far from overflow
    product = np.ones_like(x)
    small = x < 10.0
    while small.any():
        product = np.where(small, product * x, product)
        x = np.where(small, x + 1.0, x)
        small = x < 10.0
    out = -np.log(product)
    inv = 1.0 / x
    inv2 = inv * inv
    series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680
                                                                   - inv2 / 1188))))
    result: NDArray[np.float64] = out + (x - 0.5) * np.log(x) - x + 0.5 * np.log(2 * np.pi)
    return result + series


def _log_beta(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """log of the multivariate Beta function along the last axis."""
    return np.asarray(gammaln(a).sum(axis=-1) - gammaln(a.sum(axis=-1)), dtype=np.float64)


def mixed_log_errors(
    counts: NDArray[np.float64], strength: float, accuracy: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """E[log p(answered | true)] per worker when each worker is, with a posterior
    probability, described either by a full confusion matrix or by one accuracy.

    ``counts[c, w, k]``: worker ``w``'s expected answers ``k`` on items whose truth is
    ``c`` (the current item posteriors summed, no prior). The full model puts
    :func:`prior_matrix` on each row; the one-coin model (right with probability ``a``,
    wrong answers spread evenly) puts on ``a`` a Beta prior worth the same imaginary
    answers, ``strength`` per true label, a share ``accuracy`` of them right. Each
    worker's two models are weighed by their evidence, the Dirichlet-multinomial
    (``B(prior + counts) / B(prior)``, row by row) against the Beta-binomial, with even
    odds before the data: that is the variational posterior of a per-worker model
    indicator, and the mean-field E-step then averages the two models' E[log p] with
    those weights. Returns the averaged log errors, shape (true, worker, answered), and
    each worker's posterior probability of the full matrix.
    """
    k, n_w = counts.shape[0], counts.shape[1]
    prior = prior_matrix(k, strength, accuracy)
    alpha = counts + prior[:, None, :]
    full = digamma(alpha) - digamma(alpha.sum(axis=2, keepdims=True))
    if k < 2:
        return full, np.ones(n_w)
    right = np.einsum("cwc->w", counts)
    wrong = np.maximum(counts.sum(axis=(0, 2)) - right, 0.0)
    a0, b0 = strength * k * accuracy, strength * k * (1.0 - accuracy)
    a, b = a0 + right, b0 + wrong
    log_right = digamma(a) - digamma(a + b)
    log_wrong = digamma(b) - digamma(a + b) - np.log(k - 1)
    evidence_full = (_log_beta(alpha) - _log_beta(prior)[:, None]).sum(axis=0)
    evidence_coin = (gammaln(a) + gammaln(b) - gammaln(a + b)
                     - float(_log_beta(np.array([a0, b0]))) - wrong * np.log(k - 1))
    full_share = 1.0 / (1.0 + np.exp(np.clip(evidence_coin - evidence_full, -500.0, 500.0)))
    coin = np.broadcast_to(log_wrong[None, :, None], full.shape).copy()
    for c in range(k):
        coin[c, :, c] = log_right
    mixed = full_share[None, :, None] * full + (1.0 - full_share)[None, :, None] * coin
    return mixed, full_share


def prior_matrix(n_labels: int, strength: float, accuracy: float) -> NDArray[np.float64]:
    """Dirichlet parameters of one worker's confusion matrix, shape (true, answered).

    Row ``c`` holds ``strength`` imaginary answers to items whose truth is ``c``:
    ``strength * accuracy`` of them ``c`` and the rest shared evenly by the other labels.
    """
    if not strength > 0:
        raise ValueError("prior strength must be positive")
    if n_labels == 1:
        return np.full((1, 1), float(strength))
    if not 0 < accuracy < 1:
        raise ValueError("prior accuracy must be strictly between 0 and 1")
    off = strength * (1.0 - accuracy) / (n_labels - 1)
    prior = np.full((n_labels, n_labels), off)
    np.fill_diagonal(prior, strength * accuracy)
    return prior


def class_pseudocount(n_items: int, n_labels: int, class_prior: float | None) -> float:
    """Dirichlet pseudo-count of each class: ``class_prior``, or by default
    :data:`CLASS_SHARE` of the items spread over the labels (at least 1)."""
    if class_prior is None:
        return max(1.0, CLASS_SHARE * n_items / max(n_labels, 1))
    if not class_prior > 0:
        raise ValueError("class_prior must be positive")
    return float(class_prior)


@dataclass(frozen=True, slots=True, eq=False)
class IBCCResult:
    """A fitted IBCC posterior.

    ``probas[i, c]``: posterior that item ``i`` has label ``c``. ``priors[c]``: posterior
    mean class proportion. ``errors[w, k, c]``: posterior mean probability that worker
    ``w`` answers ``k`` when the truth is ``c`` (crowd-kit's ``errors_`` layout).
    ``counts[w, k, c]``: the Dirichlet parameters behind ``errors`` (prior pseudo-answers
    plus the worker's expected answers), so ``counts[w, :, c].sum()`` says how much
    evidence there is about worker ``w`` on items of label ``c``. ``n_iter``: updates run.
    ``full_share[w]`` (the mixed model only, else None): the posterior probability that a
    full confusion matrix rather than one accuracy describes worker ``w``; ``errors`` then
    averages the two models' posterior means with these weights.
    """

    probas: NDArray[np.float64]
    priors: NDArray[np.float64]
    errors: NDArray[np.float64]
    counts: NDArray[np.float64]
    n_iter: int
    full_share: NDArray[np.float64] | None = None


def ibcc(
    enc: EncodedAnswers,
    *,
    gold: NDArray[np.intp] | None = None,
    strength: float = STRENGTH,
    accuracy: float = ACCURACY,
    class_prior: float | None = None,
    n_iter: int = 500,
    tol: float = 1e-4,
    mixed: bool = False,
) -> IBCCResult:
    """Fit IBCC by mean-field variational Bayes, starting from majority vote.

    Each round updates the workers' Dirichlet posteriors and the class proportions from the
    current item posteriors, then the item posteriors from E[log confusion] and E[log class
    proportion]; it stops when no item posterior moves by more than ``tol`` (or after
    ``n_iter`` rounds). ``gold`` (a label index per item, -1 where unknown) clamps those
    items to their gold label throughout, so workers are judged against the truth where it
    is known and by the crowd elsewhere. ``class_prior`` is the Dirichlet pseudo-count of
    each class in the class proportions (None: :func:`class_pseudocount`'s default).
    ``mixed``: each worker is a full confusion matrix or a single accuracy, weighed by
    evidence (:func:`mixed_log_errors`), instead of always a full matrix.
    """
    n_i, n_w, k = enc.n_items, enc.n_workers, enc.n_labels
    gold = _check_gold(enc, gold)
    prior = prior_matrix(max(k, 1), strength, accuracy)
    class_prior = class_pseudocount(n_i, k, class_prior)
    if n_i == 0 or k == 0:
        empty = np.zeros((n_w, k, k))
        return IBCCResult(np.zeros((n_i, k)), np.zeros(k), empty, empty, 0)

    item, worker, label = enc.item, enc.worker, enc.label
    wl = worker * k + label  # flat (worker, answered label) cell of each answer

    def expected_counts(probas: NDArray[np.float64]) -> NDArray[np.float64]:
        """Expected answers, shape (true, worker, answered), from posteriors (K, n_i)."""
        counts = np.empty((k, n_w * k))
        for c in range(k):
            counts[c] = np.bincount(wl, weights=probas[c].take(item), minlength=n_w * k)
        return counts.reshape(k, n_w, k)

    def posterior_counts(probas: NDArray[np.float64]) -> NDArray[np.float64]:
        """Dirichlet parameters, shape (true, worker, answered), from posteriors (K, n_i)."""
        return expected_counts(probas) + prior[:, None, :]

    probas = _shares(enc).T.copy()  # label-major: (K, n_items)
    _clamp(probas, gold)
    rounds = 0
    for rounds in range(1, n_iter + 1):  # noqa: B007 (the count is reported)
        if mixed:
            log_err = mixed_log_errors(expected_counts(probas), strength, accuracy)[0]
            log_err = log_err.reshape(k, -1)
        else:
            alpha = posterior_counts(probas)
            log_err = (digamma(alpha) - digamma(alpha.sum(axis=2, keepdims=True))).reshape(k, -1)
        rho = probas.sum(axis=1) + class_prior
        log_prior = digamma(rho) - digamma(rho.sum())
        log_post = np.empty((k, n_i))
        for c in range(k):
            log_post[c] = np.bincount(item, weights=log_err[c].take(wl), minlength=n_i)
        log_post += log_prior[:, None]
        log_post -= log_post.max(axis=0)
        new = np.exp(log_post)
        new /= new.sum(axis=0)
        _clamp(new, gold)
        change = float(np.abs(new - probas).max())
        probas = new
        if change < tol:
            break
    alpha = posterior_counts(probas)
    rho = probas.sum(axis=1) + class_prior
    counts = alpha.transpose(1, 2, 0).copy()  # (worker, answered, true)
    errors = counts / counts.sum(axis=1, keepdims=True)
    full_share = None
    if mixed:
        full_share = _coin_mixture(expected_counts(probas), errors, strength, accuracy)
    return IBCCResult(probas.T.copy(), rho / rho.sum(), errors, counts, rounds, full_share)


def _coin_mixture(counts: NDArray[np.float64], errors: NDArray[np.float64], strength: float,
                  accuracy: float) -> NDArray[np.float64]:
    """Turn the full model's posterior mean ``errors`` (worker, answered, true), in place,
    into the mixed model's: averaged with the one-coin posterior mean by each worker's
    posterior share of the full model, which is returned."""
    k = counts.shape[0]
    full_share = mixed_log_errors(counts, strength, accuracy)[1]
    if k < 2:
        return full_share
    right = np.einsum("cwc->w", counts)
    total = counts.sum(axis=(0, 2))
    hit = (strength * k * accuracy + right) / (strength * k + total)
    coin = np.broadcast_to(((1.0 - hit) / (k - 1))[:, None, None], errors.shape).copy()
    coin[:, np.arange(k), np.arange(k)] = hit[:, None]
    errors *= full_share[:, None, None]
    errors += (1.0 - full_share)[:, None, None] * coin
    return full_share
