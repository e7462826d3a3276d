"""Aggregation in bounded memory: fit over answers fed page by page, then label page by page.

Why: an export labels every item of a project, and holding every answer as Python
tuples took 1.54 GB at a million items. Here answers are read in pages (all of one
item's answers in the same page), kept only as two small integers each in an anonymous
temporary file, and every pass over them reads one chunk at a time. What stays in memory
is per worker and per label (Dawid-Skene's confusion matrices), never per item.

The results are those of :func:`bot.aggregation.aggregate` and
:func:`bot.aggregation.aggregate_texts` on the same answers (up to the last bits of
floating-point sums, which are added in another order), so an export labels items
exactly as before:

* majority vote is per item: no fitting pass, each page is labelled as it is read;
* Wawa needs each worker's agreement with the majority: one pass, then label;
* the Dawid-Skene family is EM. One pass over the answers does one E-step and the
  sums of the next M-step, so an EM iteration is one pass over the spill file; the
  evidence bound crowd-kit's stopping rule needs is computed from the same sums. The
  final posteriors of an item come from the parameters of the last iteration, applied to
  that item's answers when its page is labelled.

An item's answers must come in the same order to :meth:`add` and :meth:`label` (by
assignment id: the order :func:`bot.aggregation.aggregate` saw them in), and
:meth:`label` must see the answers :meth:`add` saw (the export reads the database once
and labels the pages it put aside).
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import numpy as np
from numpy.typing import NDArray

from . import bayes
from .categorical import _EPS, Aggregate, label_list, vote_shares
from .models import CATEGORICAL_METHODS, resolve_method
from .text import aggregate_texts

#: one item's answers: its gold label (or None) and (worker, answer) in assignment order
ItemVotes = tuple[str | None, Sequence[tuple[str, str]]]

#: answers per chunk read back from the spill file in a fitting pass
CHUNK_ANSWERS = 1 << 17


class PageLabeler(Protocol):
    """What an export needs from an aggregation method."""

    #: False when :meth:`label` needs no :meth:`add` / :meth:`fit` first
    needs_fit: bool

    def add(self, items: Sequence[ItemVotes]) -> None: ...

    def fit(self) -> None: ...

    def label(self, items: Sequence[ItemVotes]) -> list[Aggregate | None]: ...

    def close(self) -> None: ...


class StreamingTexts:
    """ROVER (or the medoid) per item: each item stands alone, so nothing is fitted."""

    needs_fit = False

    def __init__(self, method: str = "rover") -> None:
        self.method = method

    def add(self, items: Sequence[ItemVotes]) -> None:
        """Nothing to learn across items."""

    def fit(self) -> None:
        """Nothing to learn across items."""

    def label(self, items: Sequence[ItemVotes]) -> list[Aggregate | None]:
        return [aggregate_texts([("", w, t) for w, t in answers], self.method)[""]
                if answers else None for _gold, answers in items]

    def close(self) -> None:
        """No resources."""


@dataclass(slots=True)
class _Chunk:
    """Answers of consecutive items: ``item`` counts from 0 within the chunk."""

    item: NDArray[np.intp]
    worker: NDArray[np.intp]
    label: NDArray[np.intp]
    gold: NDArray[np.intp]  # per item, -1 when unknown
    per_item: NDArray[np.float64]  # answers per item

    @property
    def n_items(self) -> int:
        return int(self.gold.shape[0])


@dataclass(slots=True)
class _Sums:
    """What one pass adds up: the next priors, M-step and evidence bound."""

    prior: NDArray[np.float64]  # (K,) posterior mass per label
    counts: NDArray[np.float64]  # (K, workers*K): [true, worker*K + answered]
    skill: NDArray[np.float64]  # (workers,) posterior of the label given (one-coin)
    weighted: NDArray[np.float64]  # (K,) sum over items of posterior x answers
    entropy: float  # sum of p log p


class StreamingCategorical:
    """One categorical method, fitted over pages of answers and applied page by page."""

    def __init__(self, method: str = "auto", label_order: Sequence[str] | None = None, *,
                 n_iter: int = 100, tol: float = 1e-5, chunk_answers: int | None = None
                 ) -> None:
        if method != "auto" and method not in CATEGORICAL_METHODS:
            raise ValueError(f"unknown method {method!r}; choose from auto, "
                             f"{', '.join(CATEGORICAL_METHODS)}")
        self.method = method
        self.label_order = label_order
        self.n_iter = n_iter
        self.tol = tol
        self.chunk_answers = chunk_answers or CHUNK_ANSWERS
        #: every method but majority vote learns something about workers first
        self.needs_fit = method != "mv"
        self.chosen: str | None = None if self.needs_fit else "mv"
        self._workers: dict[str, int] = {}
        self._seen: dict[str, int] = {}  # label -> code in order of first appearance
        self._answers_per_worker = np.zeros(0)
        self._n_items = 0
        self._n_answers = 0
        self._has_gold = False
        # per answer: worker, label (int32 pairs); per answered item: answers, gold
        # anonymous files (the OS removes them even if this process is killed), open for
        # the life of this object: close() closes them
        self._answers: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115
        self._items: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115
        #: (items, answers) counts at which a chunk may start: item boundaries
        self._bounds: list[tuple[int, int]] = [(0, 0)]
        self._labels: tuple[str, ...] = ()
        self._final: NDArray[np.intp] = np.zeros(0, dtype=np.intp)  # first-seen -> final
        self._skills: NDArray[np.float64] | None = None
        #: the parameters the final posteriors come from: log errors as
        #: [true, worker*K + answered] and log priors; None: majority-vote start
        self._log_err: NDArray[np.float64] | None = None
        self._log_priors: NDArray[np.float64] | None = None

    # ------------------------------------------------------------------ feeding answers

    def add(self, items: Sequence[ItemVotes]) -> None:
        """Append answered items (items without answers are skipped, as in ``aggregate``)."""
        workers, seen = self._workers, self._seen
        pairs: list[int] = []
        heads: list[int] = []
        for gold, answers in items:
            if not answers:
                continue
            for worker, label in answers:
                pairs.append(workers.setdefault(worker, len(workers)))
                pairs.append(seen.setdefault(label, len(seen)))
            if gold is not None:
                self._has_gold = True
            heads.append(len(answers))
            heads.append(-1 if gold is None else seen.setdefault(gold, len(seen)))
        if not heads:
            return
        self._answers.write(np.asarray(pairs, dtype=np.int32).tobytes())
        self._items.write(np.asarray(heads, dtype=np.int32).tobytes())
        n_answers = len(pairs) // 2
        per_worker = np.bincount(np.asarray(pairs[0::2], dtype=np.intp),
                                 minlength=len(workers)).astype(np.float64)
        per_worker[:self._answers_per_worker.shape[0]] += self._answers_per_worker
        self._answers_per_worker = per_worker
        self._n_items += len(heads) // 2
        self._n_answers += n_answers
        _, last_answers = self._bounds[-1]
        if self._n_answers - last_answers >= self.chunk_answers:
            self._bounds.append((self._n_items, self._n_answers))

    def _chunks(self) -> Iterator[_Chunk]:
        """The spilled answers again, a chunk at a time (labels in final codes)."""
        bounds = self._bounds if self._bounds[-1] == (self._n_items, self._n_answers) \
            else [*self._bounds, (self._n_items, self._n_answers)]
        self._answers.flush()
        self._items.flush()
        for (i0, a0), (i1, a1) in itertools.pairwise(bounds):
            if i1 == i0:
                continue
            self._items.seek(i0 * 8)
            heads = np.fromfile(self._items, dtype=np.int32, count=(i1 - i0) * 2)
            self._answers.seek(a0 * 8)
            pairs = np.fromfile(self._answers, dtype=np.int32, count=(a1 - a0) * 2)
            counts = heads[0::2].astype(np.intp)
            gold = heads[1::2].astype(np.intp)
            known = gold >= 0
            gold[known] = self._final[gold[known]]
            yield _Chunk(np.repeat(np.arange(i1 - i0, dtype=np.intp), counts),
                         pairs[0::2].astype(np.intp), self._final[pairs[1::2]], gold,
                         counts.astype(np.float64))

    def _page(self, items: Sequence[ItemVotes], labels: Sequence[str]
              ) -> tuple[_Chunk, list[int]]:
        """A page to label as a chunk, and the positions of its answered items (workers
        are numbered as fitted; majority vote, which fits nothing, numbers none)."""
        workers, codes = self._workers, {lab: n for n, lab in enumerate(labels)}
        fitted = self.needs_fit
        item: list[int] = []
        worker: list[int] = []
        label: list[int] = []
        gold: list[int] = []
        counts: list[int] = []
        where: list[int] = []
        for position, (gold_label, answers) in enumerate(items):
            if not answers:
                continue
            n = len(where)
            where.append(position)
            for who, lab in answers:
                item.append(n)
                worker.append(workers[who] if fitted else 0)
                label.append(codes[lab])
            counts.append(len(answers))
            gold.append(-1 if gold_label is None else codes[gold_label])
        return _Chunk(np.asarray(item, dtype=np.intp), np.asarray(worker, dtype=np.intp),
                      np.asarray(label, dtype=np.intp), np.asarray(gold, dtype=np.intp),
                      np.asarray(counts, dtype=np.float64)), where

    # ------------------------------------------------------------------------- fitting

    def fit(self) -> None:
        """Settle the labels and the method, then learn what the method needs."""
        self._labels = tuple(label_list(self._seen, self.label_order))
        index = {lab: n for n, lab in enumerate(self._labels)}
        self._final = np.asarray([index[lab] for lab in self._seen], dtype=np.intp)
        self.chosen = resolve_method(self.method, None, None)
        if self._n_items == 0 or not self._labels:
            return
        if self.chosen == "gold-ds" and not self._has_gold:
            raise ValueError("gold-ds needs gold answers for at least one answered item")
        if self.chosen == "wawa":
            self._fit_wawa()
        elif self.chosen in ("ds", "one-coin-ds", "gold-ds"):
            self._fit_em(one_coin=self.chosen == "one-coin-ds")
        elif self.chosen in ("ibcc", "ibcc-mix"):
            self._fit_ibcc(mixed=self.chosen == "ibcc-mix")

    def _fit_ibcc(self, mixed: bool) -> None:
        """``bayes.ibcc`` with each update summed over chunks. Its stopping rule (no item
        posterior moved by more than ``tol``) needs the previous round's posteriors, which
        are per item: each pass recomputes them from the previous parameters beside the
        new ones, chunk by chunk, instead of keeping them. ``mixed``: ``ibcc-mix``, whose
        parameters come from the same sums (:func:`.bayes.mixed_log_errors`)."""
        k, n_w = len(self._labels), len(self._workers)
        prior = bayes.prior_matrix(max(k, 1), bayes.STRENGTH, bayes.ACCURACY)
        clamp = self._has_gold
        tol, n_iter = 1e-4, 500
        pseudo = bayes.class_pseudocount(self._n_items, k, None)

        def parameters(sums: _Sums) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
            counts = sums.counts.reshape(k, n_w, k)
            if mixed:
                log_err = bayes.mixed_log_errors(counts, bayes.STRENGTH,
                                                 bayes.ACCURACY)[0].reshape(k, -1)
            else:
                alpha = counts + prior[:, None, :]
                log_err = (bayes.digamma(alpha)
                           - bayes.digamma(alpha.sum(axis=2, keepdims=True))).reshape(k, -1)
            rho = sums.prior + pseudo
            return log_err, bayes.digamma(rho) - bayes.digamma(rho.sum())

        def run(new: tuple[NDArray[np.float64], NDArray[np.float64]] | None,
                old: tuple[NDArray[np.float64], NDArray[np.float64]] | None
                ) -> tuple[_Sums, float]:
            """One pass: posteriors from ``new`` (majority vote when None) summed into the
            next parameters, and how far they moved from those of ``old``."""
            sums = _Sums(np.zeros(k), np.zeros((k, n_w * k)), np.zeros(n_w), np.zeros(k), 0.0)
            change = 0.0
            new_err, new_priors = new if new is not None else (None, None)
            old_err, old_priors = old if old is not None else (None, None)
            for ch in self._chunks():
                probas = self._posteriors(ch, new_err, new_priors, clamp)
                before = self._posteriors(ch, old_err, old_priors, clamp)
                change = max(change, float(np.abs(probas - before).max(initial=0.0)))
                wl = ch.worker * k + ch.label
                sums.prior += probas.sum(axis=1)
                for c in range(k):
                    sums.counts[c] += np.bincount(wl, weights=probas[c].take(ch.item),
                                                  minlength=n_w * k)
            return sums, change

        with np.errstate(divide="ignore", invalid="ignore"):
            sums, _ = run(None, None)
            old: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
            for _round in range(n_iter):
                new = parameters(sums)
                sums, change = run(new, old)
                old = new
                if change < tol:
                    break
            # the labels come from the posteriors of the last round, as in bayes.ibcc
            assert old is not None  # n_iter > 0: at least one round ran
            self._log_err, self._log_priors = old

    def _fit_wawa(self) -> None:
        """A worker's skill: the share of their answers that agree with majority vote."""
        k, n_w = len(self._labels), len(self._workers)
        agree = np.zeros(n_w)
        for ch in self._chunks():
            mv_label = vote_shares(ch.item, ch.label, ch.n_items, k).argmax(axis=1)
            agree += np.bincount(ch.worker, weights=(ch.label == mv_label[ch.item]),
                                 minlength=n_w)
        answered = self._answers_per_worker
        self._skills = np.divide(agree, answered, out=np.zeros_like(agree),
                                 where=answered > 0)

    def _fit_em(self, one_coin: bool) -> None:
        """``categorical._em`` with each of its steps summed over chunks."""
        k, n_w, n_i = len(self._labels), len(self._workers), self._n_items
        clamp = self.chosen == "gold-ds"
        n_answers = max(self._n_answers, 1)
        per_worker = self._answers_per_worker
        diagonal = np.eye(k, dtype=bool)

        def m_step(sums: _Sums) -> NDArray[np.float64]:
            """Error matrices, shape (worker, answered, true)."""
            if one_coin:
                skill = np.divide(sums.skill, per_worker, out=np.zeros(n_w),
                                  where=per_worker > 0)
                miss = (1.0 - skill) / (k - 1) if k > 1 else np.zeros(n_w)
                errors = np.where(diagonal, skill[:, None, None], miss[:, None, None])
                return np.clip(errors, _EPS, 1.0 - _EPS)
            errors = sums.counts.reshape(k, n_w, k).transpose(1, 2, 0).copy()
            np.maximum(errors, _EPS, out=errors)
            errors /= errors.sum(axis=1, keepdims=True)
            return errors

        def run(log_err: NDArray[np.float64] | None,
                log_priors: NDArray[np.float64] | None) -> _Sums:
            """One pass: posteriors from the given parameters (majority vote when None),
            summed into what the next M-step and bound need."""
            sums = _Sums(np.zeros(k), np.zeros((k, n_w * k)), np.zeros(n_w), np.zeros(k), 0.0)
            for ch in self._chunks():
                probas = self._posteriors(ch, log_err, log_priors, clamp)
                n = ch.n_items
                wl = ch.worker * k + ch.label
                sums.prior += probas.sum(axis=1)
                for c in range(k):
                    sums.counts[c] += np.bincount(wl, weights=probas[c].take(ch.item),
                                                  minlength=n_w * k)
                if one_coin:
                    hit = probas.ravel()[ch.label * n + ch.item]
                    sums.skill += np.bincount(ch.worker, weights=hit, minlength=n_w)
                sums.weighted += probas @ ch.per_item
                p = probas[probas > 0]
                sums.entropy += float(np.dot(p, np.log(p)))
            return sums

        with np.errstate(divide="ignore", invalid="ignore"):
            start = run(None, None)
            log_priors = np.log(start.prior / n_i)
            log_err = _label_major(np.log(m_step(start)), n_w, k)
            loss = -np.inf
            for _ in range(self.n_iter):
                sums = run(log_err, log_priors)
                self._log_err, self._log_priors = log_err, log_priors
                priors = sums.prior / n_i
                log_priors = np.log(priors)
                log_err = _label_major(np.log(m_step(sums)), n_w, k)
                # the evidence bound of categorical._em, from the pass's sums: a posterior
                # times the log error of each answer is a count times a log error
                mass = sums.weighted > 0
                new_loss = (float(np.sum(sums.counts * log_err))
                            + float(np.dot(log_priors[mass], sums.weighted[mass]))
                            - sums.entropy) / n_answers
                if new_loss - loss < self.tol:
                    break
                loss = new_loss

    def _posteriors(self, ch: _Chunk, log_err: NDArray[np.float64] | None,
                    log_priors: NDArray[np.float64] | None, clamp: bool
                    ) -> NDArray[np.float64]:
        """Label-major (K, items) posteriors of one chunk: the E-step."""
        k, n = len(self._labels), ch.n_items
        if log_err is None or log_priors is None:
            probas = vote_shares(ch.item, ch.label, n, k).T.copy()
        else:
            wl = ch.worker * k + ch.label
            log_post = np.empty((k, n))
            for c in range(k):
                log_post[c] = np.bincount(ch.item, weights=log_err[c].take(wl), minlength=n)
            log_post += log_priors[:, None]
            log_post -= log_post.max(axis=0)
            probas = np.exp(log_post)
            probas /= probas.sum(axis=0)
        if clamp:
            known = np.flatnonzero(ch.gold >= 0)
            if known.size:
                probas[:, known] = 0.0
                probas[ch.gold[known], known] = 1.0
        return probas

    # ------------------------------------------------------------------------ labelling

    def label(self, items: Sequence[ItemVotes]) -> list[Aggregate | None]:
        """The label of each item of a page; None for an item without answers."""
        if self.chosen is None:
            raise RuntimeError("add() every page and fit() before labelling")
        out: list[Aggregate | None] = [None] * len(items)
        labels = self._labels
        if not self.needs_fit:
            # majority vote fits nothing, so it orders the labels this page has; the same
            # order as over all answers, unless labels outside ``label_order`` mix
            # numbers and words across pages (only ties between two such labels differ)
            seen = {lab: None for _gold, answers in items for _w, lab in answers}
            seen.update((gold, None) for gold, answers in items
                        if gold is not None and answers)
            labels = tuple(label_list(seen, self.label_order))
        if not labels:
            return out
        ch, where = self._page(items, labels)
        if not where:
            return out
        k = len(labels)
        if self.chosen == "mv":
            probas = vote_shares(ch.item, ch.label, ch.n_items, k)
        elif self.chosen == "wawa":
            assert self._skills is not None
            mv = vote_shares(ch.item, ch.label, ch.n_items, k)
            weights = self._skills[ch.worker]
            totals = np.bincount(ch.item, weights=weights, minlength=ch.n_items)
            probas = vote_shares(ch.item, ch.label, ch.n_items, k, weights)
            dead = totals <= 0
            if dead.any():
                probas[dead] = mv[dead]
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                clamp = self.chosen == "gold-ds" or (self.chosen in ("ibcc", "ibcc-mix")
                                                     and self._has_gold)
                probas = self._posteriors(ch, self._log_err, self._log_priors, clamp).T
        best = probas.argmax(axis=1)
        conf = np.clip(probas[np.arange(ch.n_items), best], 0.0, 1.0)
        chosen = self.chosen
        assert chosen is not None
        for position, b, c in zip(where, best.tolist(), conf.tolist(), strict=True):
            out[position] = Aggregate(labels[b], float(c), chosen)
        return out

    def close(self) -> None:
        self._answers.close()
        self._items.close()

    def __enter__(self) -> StreamingCategorical:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _label_major(log_errors: NDArray[np.float64], n_w: int, k: int) -> NDArray[np.float64]:
    """(worker, answered, true) -> [true, worker*K + answered], as ``_em`` gathers them."""
    return log_errors.reshape(n_w * k, k).T.copy()
