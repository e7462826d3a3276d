"""Every aggregation model, crowd-kit style: the shared interface, hand-worked cases, and
published figures on the public crowd sets.

The public sets live outside the repository (``../shared/data/crowd``). Without them a
test fails in CI (env ``CI`` set) with one line saying what is missing, and skips
locally.
"""

from __future__ import annotations

import math
import os
import random
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from bench import aggregate as bench
from bot.aggregation import (
    CATEGORICAL_METHODS,
    IBCC,
    MODELS,
    EncodedAnswers,
    MixedIBCC,
    aggregate,
    aggregate_texts,
    bayes,
    digamma,
    encode,
    encode_gold,
    gammaln,
    ibcc,
    majority_vote,
    make_model,
    read_answers,
    read_gold,
    resolve_method,
    rover,
    tokenize,
    word_error_rate,
    words,
)

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "crowd"
SETS = bench.CATEGORICAL_SETS
Rows = list[tuple[str, str, str]]


def shared(name: str, data: Path = DATA) -> Path:
    """The folder of public set ``name``; fails in CI, skips locally, when it is missing."""
    path = data / name
    if not path.is_dir():
        message = f"shared crowd data missing: {path} (see ../shared/data/README.md)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


@cache
def public(name: str, first_seen: bool = False) -> tuple[EncodedAnswers, np.ndarray]:
    """A public set, encoded, and its gold labels (label index per item, -1 if none)."""
    folder = shared(name)
    _, rows = read_answers(folder / "answers.csv")
    gold = read_gold(folder / "gold.csv")
    answered = {row[0] for row in rows}
    gold = {item: lab for item, lab in gold.items() if item in answered}
    order = list(dict.fromkeys(row[2] for row in rows)) if first_seen else None
    enc = encode(rows, order, extra_labels=list(gold.values()))
    return enc, encode_gold(enc, gold)


def accuracy_on(labels: np.ndarray, codes: np.ndarray) -> float:
    known = codes >= 0
    return float(np.mean(labels[known] == codes[known]))


def test_missing_shared_data_fails_in_ci_and_skips_locally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # BaseException: a skip must not slip through as a skipped (green) test here.
    monkeypatch.setenv("CI", "true")
    with pytest.raises(BaseException, match="shared crowd data missing") as in_ci:
        shared("d_sentiment", tmp_path)
    assert in_ci.type is pytest.fail.Exception
    monkeypatch.delenv("CI")
    with pytest.raises(BaseException, match="shared crowd data missing") as locally:
        shared("d_sentiment", tmp_path)
    assert locally.type is pytest.skip.Exception


# ----------------------------------------------------------------- the shared interface


def small_crowd(seed: int = 4) -> EncodedAnswers:
    """40 items, 6 workers of mixed skill, 3 labels, 4 answers per item."""
    rng = random.Random(seed)
    skill = [0.9, 0.85, 0.8, 0.7, 0.6, 0.5]
    item, worker, label = [], [], []
    for i in range(40):
        truth = i % 3
        for w in rng.sample(range(6), 4):
            item.append(i)
            worker.append(w)
            label.append(truth if rng.random() < skill[w] else rng.choice([0, 1, 2]))
    return EncodedAnswers.from_arrays(item, worker, label, n_labels=3)


@pytest.mark.parametrize("method", CATEGORICAL_METHODS)
def test_every_model_fits_predicts_and_is_registered(method: str) -> None:
    enc = small_crowd()
    gold = np.full(enc.n_items, -1, dtype=np.intp)
    gold[:4] = [0, 1, 2, 0]
    model = make_model(method)
    assert type(model) is MODELS[method] and model.name == method
    with pytest.raises(RuntimeError, match="not fitted"):
        model.predict_proba()
    assert model.fit(enc, gold) is model
    probas = model.predict_proba()
    assert probas.shape == (enc.n_items, enc.n_labels)
    assert np.allclose(probas.sum(axis=1), 1.0) and (probas >= 0).all()
    assert (model.predict() == probas.argmax(axis=1)).all()
    again = make_model(method)
    assert (again.fit_predict(enc, gold) == model.predict()).all()
    assert np.array_equal(again.fit_predict_proba(enc, gold), probas)
    if model.uses_gold:  # gold items come back with their gold label
        assert (model.predict()[:4] == gold[:4]).all()


def test_unknown_method_is_refused_everywhere() -> None:
    with pytest.raises(ValueError, match="unknown method"):
        make_model("glad")
    with pytest.raises(ValueError, match="unknown method"):
        resolve_method("glad", small_crowd(), None)
    assert tuple(MODELS) == CATEGORICAL_METHODS
    assert "ibcc" in CATEGORICAL_METHODS


# ------------------------------------------------------------------------ hand-worked


def test_digamma_against_closed_forms_and_lgamma() -> None:
    euler = 0.5772156649015329
    assert digamma(1.0) == pytest.approx(-euler, abs=1e-12)
    assert digamma(0.5) == pytest.approx(-euler - 2 * math.log(2), abs=1e-12)
    assert digamma(4.0) == pytest.approx(1 + 1 / 2 + 1 / 3 - euler, abs=1e-12)
    xs = np.array([0.01, 0.3, 1.7, 5.9, 6.0, 12.5, 1e4])
    assert np.allclose(digamma(xs + 1) - digamma(xs), 1 / xs, rtol=1e-10)
    h = 1e-5  # psi is the derivative of log Gamma
    slope = [(math.lgamma(x + h) - math.lgamma(x - h)) / (2 * h) for x in (0.7, 3.2, 40.0)]
    assert digamma(np.array([0.7, 3.2, 40.0])) == pytest.approx(slope, abs=1e-7)
    with pytest.raises(ValueError):
        digamma(np.array([1.0, 0.0]))


def test_ibcc_one_update_by_hand() -> None:
    """One worker answers "a" on one item; prior 3 right and 1 wrong per true label.

    From the majority-vote start (a: 1), the worker's Dirichlet rows are a: (3+1, 1) and
    b: (1, 3), and the class proportions Dirichlet(1+1, 1). Then
    E log p(a|a) = psi(4) - psi(5) = -1/4,  E log p(a|b) = psi(1) - psi(4) = -11/6,
    E log rho_a = psi(2) - psi(3) = -1/2,   E log rho_b = psi(1) - psi(3) = -3/2,
    so P(a) = 1 / (1 + exp((-11/6 - 3/2) - (-1/4 - 1/2))) = 1 / (1 + exp(-31/12)).
    """
    enc = EncodedAnswers.from_arrays([0], [0], [0], n_labels=2)
    fit = ibcc(enc, strength=4, accuracy=0.75, n_iter=1)
    assert fit.n_iter == 1
    assert fit.probas[0, 0] == pytest.approx(1 / (1 + math.exp(-31 / 12)), abs=1e-12)
    # Posterior parameters: prior plus the expected answers, (worker, answered, true).
    p = fit.probas[0, 0]
    assert np.allclose(fit.counts[0], [[3 + p, 1 + (1 - p)], [1, 3]])
    assert np.allclose(fit.errors[0].sum(axis=0), 1.0)


def test_ibcc_is_majority_vote_when_every_worker_answered_once() -> None:
    """Nobody has a record, so every vote weighs the prior's weight: majority vote."""
    rng = random.Random(7)
    item, worker, label = [], [], []
    for i in range(60):
        for _ in range(5):
            item.append(i)
            worker.append(len(worker))
            label.append(rng.choice([0, 0, 1, 2]))
    enc = EncodedAnswers.from_arrays(item, worker, label, n_labels=3)
    shares = majority_vote(enc)
    ordered = np.sort(shares, axis=1)
    clear = ordered[:, -1] > ordered[:, -2]  # no tie for first place
    assert clear.sum() >= 40
    predicted = IBCC().fit_predict(enc)
    assert (predicted[clear] == shares[clear].argmax(axis=1)).all()


def spammer_crowd() -> tuple[Rows, dict[str, str]]:
    """Three careful workers and four who always answer "pos" (majority vote: 50 %)."""
    rows: Rows = []
    truth: dict[str, str] = {}
    for i in range(40):
        item = f"i{i}"
        truth[item] = "pos" if i % 2 else "neg"
        rows += [(item, f"good{w}", truth[item]) for w in range(3)]
        rows += [(item, f"spam{w}", "pos") for w in range(4)]
    return rows, truth


def test_ibcc_is_dawid_skene_when_workers_are_busy() -> None:
    rows, truth = spammer_crowd()

    def accuracy(method: str) -> float:
        res = aggregate(rows, method)
        return sum(res[item].label == lab for item, lab in truth.items()) / len(truth)

    assert accuracy("mv") == 0.5
    assert accuracy("ds") == accuracy("ibcc") == accuracy("auto") == 1.0
    enc = encode(rows)
    model = IBCC().fit(enc)
    assert model.errors_ is not None and model.counts_ is not None
    spam, good = enc.workers.index("spam0"), enc.workers.index("good0")
    # Every item is settled, so each row of a worker's posterior holds the prior's 4
    # pseudo-answers (3.6 right, 0.4 wrong) plus that worker's 20 answers on the label.
    assert model.counts_[good].sum(axis=0) == pytest.approx([24.0, 24.0], abs=1e-6)
    # A spammer says "pos" (index 1) whatever the truth: (0.4 + 20) / 24 on "neg" items.
    assert model.errors_[spam, 1, :] == pytest.approx([20.4 / 24, 23.6 / 24], abs=1e-6)
    assert model.errors_[good, [0, 1], [0, 1]] == pytest.approx([23.6 / 24] * 2, abs=1e-6)


def test_ibcc_learns_from_gold_and_auto_uses_it() -> None:
    """Two workers who always disagree: only gold tells which one is right."""
    rng = random.Random(0)
    truth = {f"i{i}": rng.choice("ab") for i in range(20)}
    rows: Rows = []
    for item, lab in truth.items():
        rows += [(item, "right", lab), (item, "wrong", "b" if lab == "a" else "a")]
    gold = {item: truth[item] for item in list(truth)[:2]}
    for method, ran in (("ibcc", "ibcc"), ("ibcc-mix", "ibcc-mix"), ("auto", "ibcc-mix")):
        res = aggregate(rows, method, gold=gold)
        assert all(res[item].label == lab for item, lab in truth.items()), method
        assert {agg.method for agg in res.values()} == {ran}
    for method in ("ibcc", "ibcc-mix"):
        without = aggregate(rows, method)
        assert sum(without[item].label == lab for item, lab in truth.items()) < 15


def test_ibcc_prior_is_validated_and_shapes_hold_for_odd_input() -> None:
    enc = small_crowd()
    for bad in ({"accuracy": 1.0}, {"accuracy": 0.0}, {"strength": 0.0},
                {"class_prior": 0.0}):
        with pytest.raises(ValueError):
            ibcc(enc, **bad)  # type: ignore[arg-type]
    one = EncodedAnswers.from_arrays([0, 1], [0, 0], [0, 0])  # a single label
    assert np.array_equal(ibcc(one).probas, [[1.0], [1.0]])
    # A label nobody chose (listed in label_order) gets little but valid probability.
    res = aggregate([("x", "w", "b"), ("x", "v", "b")], "ibcc", label_order=["a", "b", "z"])
    assert res["x"].label == "b" and 0.5 < res["x"].confidence <= 1.0
    assert aggregate([], "ibcc") == {}


def test_auto_is_ibcc_mix_on_any_size() -> None:
    small = encode([("a", "w0", "x"), ("a", "w1", "y"), ("a", "w2", "x")])
    assert resolve_method("auto", small, None) == "ibcc-mix"
    res = aggregate([("a", "w0", "x"), ("a", "w1", "y"), ("a", "w2", "x")])
    assert res["a"].label == "x" and res["a"].method == "ibcc-mix"


def test_gammaln_against_math_lgamma() -> None:
    xs = np.array([0.01, 0.3, 1.0, 1.7, 5.9, 9.99, 10.0, 12.5, 1e4])
    assert gammaln(xs) == pytest.approx([math.lgamma(x) for x in xs], abs=1e-12)
    assert gammaln(5.0) == pytest.approx(math.log(24.0), abs=1e-13)  # 4!
    with pytest.raises(ValueError):
        gammaln(np.array([1.0, 0.0]))


def test_mixed_worker_evidence_by_hand() -> None:
    """One worker, two labels, prior 3 right and 1 wrong per true label (strength 4,
    accuracy 0.75). On "a" items they answered a 3 times and b once; on "b" items b twice.

    Full matrix: rows Dirichlet(3, 1) and (1, 3) become (6, 2) and (1, 5); the evidence is
    B(6,2)/B(3,1) x B(1,5)/B(1,3) = (1/42)/(1/3) x (1/5)/(1/3) = 3/70.
    One accuracy: Beta(6, 2) (the same 8 imaginary answers) becomes Beta(11, 3) with 5
    right and 1 wrong: B(11,3)/B(6,2) = (1/858)/(1/42) = 7/143.
    Even odds before, so P(full) = (3/70) / (3/70 + 7/143) = 429/919.
    """
    counts = np.zeros((2, 1, 2))  # (true, worker, answered)
    counts[0, 0] = [3, 1]
    counts[1, 0] = [0, 2]
    log_err, full_share = bayes.mixed_log_errors(counts, 4.0, 0.75)
    q = 429 / 919
    assert full_share == pytest.approx([q], abs=1e-12)
    # E log p(a | a): full psi(6) - psi(8); one accuracy psi(11) - psi(14).
    full_aa = -(1 / 6 + 1 / 7)
    coin_right = -(1 / 11 + 1 / 12 + 1 / 13)
    assert log_err[0, 0, 0] == pytest.approx(q * full_aa + (1 - q) * coin_right, abs=1e-12)
    # E log p(a | b): full psi(1) - psi(6); one accuracy psi(3) - psi(14) (one wrong label).
    full_ba = -(1 + 1 / 2 + 1 / 3 + 1 / 4 + 1 / 5)
    coin_wrong = -sum(1 / n for n in range(3, 14))
    assert log_err[1, 0, 0] == pytest.approx(q * full_ba + (1 - q) * coin_wrong, abs=1e-12)


def test_mixed_evidence_picks_the_matrix_only_for_label_dependent_errors() -> None:
    """A worker who answers "pos" whatever the truth needs a full matrix; one who is right
    9 times in 10 on both labels, or who answered four times, is one accuracy."""
    counts = np.zeros((2, 3, 2))
    counts[:, 0, 1] = 40  # spammer: "pos" on 40 neg and 40 pos items
    counts[0, 1] = [90, 10]  # careful, busy
    counts[1, 1] = [10, 90]
    counts[0, 2] = [2, 0]  # careful, new
    counts[1, 2] = [0, 2]
    _, full_share = bayes.mixed_log_errors(counts, bayes.STRENGTH, bayes.ACCURACY)
    assert full_share[0] > 0.999
    assert full_share[1] < 0.2 and full_share[2] < 0.5
    # With three labels, one accuracy spreads the wrong answers evenly: log(2) apart.
    counts3 = np.zeros((3, 1, 3))
    counts3[[0, 1, 2], 0, [0, 1, 2]] = 5
    log_err, share3 = bayes.mixed_log_errors(counts3, bayes.STRENGTH, bayes.ACCURACY)
    assert share3[0] < 0.5
    assert log_err[0, 0, 1] == pytest.approx(log_err[0, 0, 2], abs=1e-12)


def test_ibcc_mix_follows_careful_workers_past_spammers() -> None:
    rows, truth = spammer_crowd()
    enc = encode(rows)
    model = MixedIBCC().fit(enc)
    predicted = model.predict()
    assert all(enc.labels[int(predicted[enc.items.index(item)])] == lab
               for item, lab in truth.items())
    assert model.full_share_ is not None and model.errors_ is not None
    spam, good = enc.workers.index("spam0"), enc.workers.index("good0")
    # The spammer's errors depend on the truth: a full matrix. A careful worker right
    # every time fits one accuracy as well, with fewer parameters: mostly one accuracy.
    assert model.full_share_[spam] > 0.99 > 0.5 > model.full_share_[good]
    assert np.allclose(model.errors_.sum(axis=1), 1.0)
    # "pos" on "neg" items: the full matrix's (0.4 + 20) / 24, as in plain ibcc
    assert model.errors_[spam, 1, 0] == pytest.approx(20.4 / 24, abs=1e-3)


# ------------------------------------------------------------ published figures


#: crowd-kit's DS on weather_cf is one item (0.0033) off ours; every other figure within
#: 0.001 (the published figures are rounded to three decimals).
TOLERANCE = {("weather_cf", "ds"): 0.0035}


@pytest.mark.parametrize("method", ["mv", "wawa", "one-coin-ds", "ds"])
@pytest.mark.parametrize("name", SETS)
def test_crowdkit_methods_match_crowdkit_figures(name: str, method: str) -> None:
    enc, codes = public(name, first_seen=True)  # crowd-kit's tie order
    got = accuracy_on(make_model(method).fit_predict(enc), codes)
    expected = bench.CROWDKIT[name][method]
    assert got == pytest.approx(expected, abs=TOLERANCE.get((name, method), 0.001))


@pytest.mark.parametrize("name", sorted(bench.PUBLISHED))
def test_ibcc_with_the_published_prior_reproduces_published_ibcc(name: str) -> None:
    """Li et al.'s IBCC: 4 pseudo-answers on the diagonal, 1 on every other cell."""
    enc, codes = public(name)
    k = enc.n_labels
    strength = 4 + (k - 1)
    model = IBCC(strength=strength, accuracy=4 / strength, class_prior=1.0, tol=1e-3)
    got = accuracy_on(model.fit_predict(enc), codes)
    assert got == pytest.approx(bench.PUBLISHED[name]["IBCC"], abs=1e-6)


#: ibcc with the default prior, no gold (README, "Aggregation").
IBCC_FIGURES = {"d_sentiment": 0.9600, "s_relevance": 0.6139, "s_adult": 0.7748,
                "sp_rodrigues": 0.9144, "sp_amt": 0.9440, "weather_cf": 0.8933, "rte": 0.9300}


#: ibcc-mix (= auto), the same prior, no gold (README, "Aggregation").
MIX_FIGURES = {"d_sentiment": 0.9600, "s_relevance": 0.6152, "s_adult": 0.7748,
               "sp_rodrigues": 0.9156, "sp_amt": 0.9460, "weather_cf": 0.8867, "rte": 0.9300}


@pytest.mark.parametrize("method", ["ibcc", "ibcc-mix"])
@pytest.mark.parametrize("name", SETS)
def test_ibcc_never_falls_below_crowdkit_dawid_skene(name: str, method: str) -> None:
    enc, codes = public(name)
    got = accuracy_on(make_model(method).fit_predict(enc), codes)
    assert got >= bench.CROWDKIT[name]["ds"] - 0.005
    figures = IBCC_FIGURES if method == "ibcc" else MIX_FIGURES
    assert got == pytest.approx(figures[name], abs=1e-4)


def test_verdict_rounds_half_up_like_the_published_figures() -> None:
    assert bench.verdict(742 / 800, 0.928) == "tie"  # 0.9275
    assert bench.verdict(0.9265, 0.928) == "below"
    assert bench.verdict(0.9290, 0.928) == "above"
    published = {name: bench.verdict(figures["BWA"], max(bench.CROWDKIT[name].values()))
                 for name, figures in bench.PUBLISHED.items()}
    assert list(published.values()).count("below") == 2  # BWA: 4 of 6, as the README says


def test_ibcc_reaches_crowdkits_best_on_four_of_seven() -> None:
    """The issue asked for five; plain ibcc reaches four (README)."""
    verdicts = {name: bench.verdict(IBCC_FIGURES[name], max(bench.CROWDKIT[name].values()))
                for name in SETS}
    assert verdicts == {"d_sentiment": "tie", "s_relevance": "below", "s_adult": "above",
                        "sp_rodrigues": "below", "sp_amt": "below", "weather_cf": "above",
                        "rte": "above"}


def test_auto_reaches_crowdkits_best_on_five_of_seven() -> None:
    """ibcc-mix: two above, three tied (crowd-kit's figures have three decimals)."""
    assert resolve_method("auto", None, None) == "ibcc-mix"
    verdicts = {name: bench.verdict(MIX_FIGURES[name], max(bench.CROWDKIT[name].values()))
                for name in SETS}
    assert verdicts == {"d_sentiment": "tie", "s_relevance": "below", "s_adult": "above",
                        "sp_rodrigues": "below", "sp_amt": "tie", "weather_cf": "tie",
                        "rte": "above"}


@pytest.mark.parametrize("name", ["weather_cf", "rte"])
def test_gold_share_scoring_hides_the_gold_it_scores(name: str) -> None:
    enc, codes = public(name)
    shown = bench.visible_gold(codes, 0.1, seed=0)
    assert (shown >= 0).sum() == round(0.1 * (codes >= 0).sum())
    assert (shown[shown >= 0] == codes[shown >= 0]).all()
    scores = bench.gold_share_accuracy(enc, codes, "ibcc", seeds=2)
    assert len(scores) == 2 and all(0.85 < s < 0.95 for s in scores)
    # Given 10 % of the truth, ibcc beats gold-ds where workers answered little.
    if name == "weather_cf":
        assert np.mean(scores) > np.mean(bench.gold_share_accuracy(enc, codes, "gold-ds", 2))


# ---------------------------------------------------------------------- transcriptions


def test_words_keep_casing_and_inner_apostrophes() -> None:
    assert words("“Don’t,” she said — 'I'm here' (Mr. O'Brien).") == [
        "Don't", "she", "said", "I'm", "here", "Mr", "O'Brien"]
    assert tokenize("Don't STOP") == ["dont", "stop"]
    assert tokenize("Don't STOP", keep_apostrophes=True) == ["don't", "stop"]
    assert words("我'爱 Python") == ["我", "爱", "Python"]


def test_word_error_rate_with_apostrophes_kept_or_stripped() -> None:
    assert word_error_rate("I dont know", "i don't know") == 0.0
    assert word_error_rate("I dont know", "i don't know", keep_apostrophes=True) == \
        pytest.approx(1 / 3)
    assert word_error_rate("It's 'fine'", "it's fine", keep_apostrophes=True) == 0.0


def test_transcription_keeps_the_spelling_most_voters_used() -> None:
    rows = [
        ("c1", "w1", "Don't stop at London."),
        ("c1", "w2", "don't stop at london"),
        ("c1", "w3", "Don’t stop in London"),
        ("c1", "w4", "Dont stop at London!"),
        ("c2", "w1", "我爱你"),
        ("c2", "w2", "我爱你。"),
    ]
    res = aggregate_texts(rows)
    assert res["c1"].label == "Don't stop at London"  # 2 of 4 "Don't", 3 of 4 "London"
    assert res["c2"].label == "我爱你"
    assert aggregate_texts(rows, "medoid")["c1"].label in {
        "Don't stop at London", "don't stop at london"}
    tokens, _, _ = rover([["a", "b"]], written=[["A", "B"]])
    assert tokens == ["A", "B"]
    with pytest.raises(ValueError, match="one form per token"):
        rover([["a", "b"]], written=[["A"]])


def test_rover_on_crowdspeech_beats_crowdkit_with_apostrophes_kept_and_stripped() -> None:
    folder = shared("crowdspeech_dev_clean")
    _, rows = read_answers(folder / "answers.tsv")
    refs = read_gold(folder / "gold.tsv")
    result = aggregate_texts(rows)
    for keep in (False, True):
        wer = np.mean([word_error_rate(result[item].label, ref, keep_apostrophes=keep)
                       for item, ref in refs.items()])
        assert wer < bench.CROWDKIT_ROVER[0], keep
    # The output is written, not normalised: capitals and apostrophes survive.
    labels = [agg.label for agg in result.values()]
    assert sum(label[:1].isupper() for label in labels) > len(labels) / 2
    assert sum("'" in label for label in labels) > 100


# ------------------------------------------------------------------------- the bench


def test_bench_prints_the_table_and_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(1)
    folder = tmp_path / "rte"
    folder.mkdir()
    answers = ["item,worker,label"]
    gold = ["item,label"]
    for i in range(30):
        truth = rng.choice("01")
        gold.append(f"{i},{truth}")
        for w in range(5):
            right = rng.random() < 0.8
            answers.append(f"{i},w{w},{truth if right else '10'[int(truth)]}")
    (folder / "answers.csv").write_text("\n".join(answers) + "\n", encoding="utf-8")
    (folder / "gold.csv").write_text("\n".join(gold) + "\n", encoding="utf-8")
    assert bench.main(["--data", str(tmp_path), "--seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert "auto -> ibcc-mix" in out and "ibcc, 10 % gold" in out
    assert "ibcc-mix, 10 % gold" in out and "gold-ds, 10 % gold" in out
    assert "above the floor on" in out and "of 1" in out
    assert bench.main(["--data", str(tmp_path / "nowhere")]) == 2
