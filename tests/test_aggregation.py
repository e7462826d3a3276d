"""Label aggregation: hand-made cases with known answers, file handling, the command."""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
import pytest

from bot.aggregation import (
    Aggregate,
    EncodedAnswers,
    aggregate,
    aggregate_texts,
    cli,
    dawid_skene,
    detokenize,
    edit_distance,
    encode,
    encode_gold,
    gold_holdout_predictions,
    majority_vote,
    medoid,
    normalize,
    posteriors,
    read_answers,
    read_gold,
    resolve_method,
    rover,
    tokenize,
    wawa,
    word_error_rate,
    write_aggregates,
)
from tests.test_aggregation_models import shared

ALL_METHODS = ("mv", "wawa", "ds", "one-coin-ds", "ibcc", "ibcc-mix")

Rows = list[tuple[str, str, str]]


def votes(item: str, *labels: str, prefix: str = "w") -> Rows:
    return [(item, f"{prefix}{n}", lab) for n, lab in enumerate(labels)]


def spammer_crowd() -> tuple[Rows, dict[str, str]]:
    """Three careful workers and four who always answer "pos".

    On a "neg" item the careful three say neg and the four spammers outvote them, so
    majority vote (and Wawa, which starts from it) is wrong on every "neg" item;
    Dawid-Skene sees that a spammer's answer does not depend on the truth and ignores them.
    """
    rows: Rows = []
    truth: dict[str, str] = {}
    for i in range(40):
        item = f"i{i}"
        truth[item] = "pos" if i % 2 else "neg"
        rows += [(item, f"good{w}", truth[item]) for w in range(3)]
        rows += [(item, f"spam{w}", "pos") for w in range(4)]
    return rows, truth


def accuracy(result: dict[str, Aggregate], truth: dict[str, str]) -> float:
    return sum(result[item].label == lab for item, lab in truth.items()) / len(truth)


# ------------------------------------------------------------------------ categorical


def test_majority_vote_plain_and_ties_follow_label_order() -> None:
    rows = votes("a", "x", "x", "y") + votes("t", "y", "x")
    res = aggregate(rows, "mv")
    assert res["a"] == Aggregate("x", pytest.approx(2 / 3), "mv")
    assert res["t"].label == "x" and res["t"].confidence == 0.5  # sorted: x before y
    flipped = aggregate(rows, "mv", label_order=["y", "x"])
    assert flipped["t"].label == "y"
    assert flipped["a"].label == "x"  # order only breaks ties
    assert aggregate(votes("n", "10", "2"), "mv")["n"].label == "2"  # integers: numerically


def test_label_order_may_name_unused_labels_and_unlisted_ones_follow() -> None:
    enc = encode(votes("a", "b", "c"), label_order=["z", "c"])
    assert enc.labels == ("z", "c", "b")
    with pytest.raises(ValueError, match="twice"):
        encode(votes("a", "b"), label_order=["b", "b"])


def test_wawa_weights_workers_by_agreement_with_majority() -> None:
    # w0..w2 agree on everything; w3 disagrees with them on 3 of 4 items. On item "q" the
    # raw vote is a 2-2 tie, Wawa trusts the reliable pair.
    rows: Rows = []
    for item, lab in (("p1", "a"), ("p2", "b"), ("p3", "a"), ("p4", "b")):
        rows += [(item, "w0", lab), (item, "w1", lab), (item, "w2", lab)]
        rows.append((item, "w3", lab if item == "p1" else ("b" if lab == "a" else "a")))
    rows += [("q", "w0", "b"), ("q", "w1", "b"), ("q", "w3", "a"), ("q", "w4", "a")]
    assert aggregate(rows, "mv")["q"].label == "a"  # tie -> first label
    res = aggregate(rows, "wawa")
    assert res["q"].label == "b"
    probas, skills = wawa(encode(rows))
    # w0, w1 lost the tie on "q" (4 of 5 agree); w3 agrees on p1 and q only.
    assert skills.tolist()[:4] == pytest.approx([0.8, 0.8, 1.0, 0.4])
    assert np.allclose(probas.sum(axis=1), 1.0)


def test_dawid_skene_ignores_spammers_that_fool_majority_vote() -> None:
    rows, truth = spammer_crowd()
    assert accuracy(aggregate(rows, "mv"), truth) == 0.5
    assert accuracy(aggregate(rows, "wawa"), truth) == 0.5
    ds = aggregate(rows, "ds")
    assert accuracy(ds, truth) == 1.0
    fit = dawid_skene(encode(rows))
    spam = encode(rows).workers.index("spam0")
    # A spammer's answer does not depend on the truth: both columns say "pos" (index 1).
    assert fit.errors[spam, 1, :] == pytest.approx([1.0, 1.0], abs=1e-6)
    assert 1 <= fit.n_iter <= 100


def test_gold_dawid_skene_learns_from_gold() -> None:
    # Two workers who always disagree, one always right, one always wrong: without gold the
    # data cannot tell them apart (majority vote and DS fall back on the tie-break); two
    # gold answers show who is right, and every other item follows.
    rng = random.Random(0)
    truth = {f"i{i}": rng.choice("ab") for i in range(20)}
    rows: Rows = []
    for item, lab in truth.items():
        rows += [(item, "right", lab), (item, "wrong", "b" if lab == "a" else "a")]
    gold = {item: truth[item] for item in list(truth)[:2]}
    assert accuracy(aggregate(rows, "mv"), truth) < 0.7
    assert accuracy(aggregate(rows, "ds"), truth) < 0.7
    res = aggregate(rows, "gold-ds", gold=gold)
    assert accuracy(res, truth) == 1.0
    assert all(res[item].confidence > 0.99 for item in truth)
    assert {agg.method for agg in res.values()} == {"gold-ds"}
    # Held-out predictions on the gold items use the other gold items only.
    enc = encode(rows)
    codes = encode_gold(enc, {item: truth[item] for item in list(truth)[:6]})
    held = gold_holdout_predictions(enc, codes, folds=3)
    assert (held[codes >= 0] == codes[codes >= 0]).all()
    assert (held[codes < 0] == -1).all()


def test_gold_ds_needs_gold_and_unknown_method_is_refused() -> None:
    rows = votes("a", "x", "y")
    with pytest.raises(ValueError, match="gold"):
        aggregate(rows, "gold-ds")
    with pytest.raises(ValueError, match="gold"):
        aggregate(rows, "gold-ds", gold={"elsewhere": "x"})
    with pytest.raises(ValueError, match="unknown method"):
        aggregate(rows, "glad")


def test_gold_label_nobody_voted_for_is_admitted() -> None:
    rows = votes("a", "x", "x") + votes("b", "x", "x")
    res = aggregate(rows, "gold-ds", gold={"a": "y"})
    assert res["a"] == Aggregate("y", 1.0, "gold-ds")
    assert res["b"].label in {"x", "y"} and 0.0 <= res["b"].confidence <= 1.0


def noisy_crowd(seed: int = 1) -> Rows:
    """Five workers, each right 80 % of the time, on 60 binary items."""
    rng = random.Random(seed)
    rows: Rows = []
    for i in range(60):
        truth = rng.choice(("neg", "pos"))
        for w in range(5):
            right = rng.random() < 0.8
            wrong = "pos" if truth == "neg" else "neg"
            rows.append((f"i{i}", f"w{w}", truth if right else wrong))
    return rows


def test_confidence_is_bounded_and_ordered_for_every_method() -> None:
    rows = noisy_crowd()
    # A unanimous item and a contested one (3 against 2) among the same workers.
    rows += [("sure", f"w{w}", "pos") for w in range(5)]
    rows += [("split", f"w{w}", lab) for w, lab in enumerate(("pos", "neg", "pos", "neg", "pos"))]
    for method in ALL_METHODS:
        res = aggregate(rows, method)
        assert all(0.0 <= agg.confidence <= 1.0 for agg in res.values()), method
        assert res["sure"].confidence > res["split"].confidence, method
        assert res["sure"].method == method
    for method in ALL_METHODS:
        post = posteriors(rows, method)
        for item, dist in post.items():
            assert sum(dist.values()) == pytest.approx(1.0)
            assert aggregate(rows, method)[item].confidence == pytest.approx(max(dist.values()))


def test_auto_rule() -> None:
    """``auto`` is the mixed Bayesian model, with or without gold, on small data or large."""
    rows, truth = spammer_crowd()
    enc = encode(rows)
    assert resolve_method("auto", enc, None) == "ibcc-mix"
    assert resolve_method("auto", enc, encode_gold(enc, {"i0": "neg"})) == "ibcc-mix"
    small = encode(votes("a", "x", "y", "x"))
    assert resolve_method("auto", small, None) == "ibcc-mix"
    assert {a.method for a in aggregate(rows, "auto").values()} == {"ibcc-mix"}
    assert {a.method for a in aggregate(rows, gold={"i0": "neg"}).values()} == {"ibcc-mix"}
    assert accuracy(aggregate(rows), truth) == 1.0
    assert aggregate(votes("a", "x", "y", "x"))["a"].label == "x"


def test_array_level_api_on_encoded_arrays() -> None:
    enc = EncodedAnswers.from_arrays([0, 0, 0, 1, 1], [0, 1, 2, 0, 1], [1, 1, 0, 0, 0])
    assert enc.n_items == 2 and enc.n_workers == 3 and enc.n_labels == 2
    assert np.allclose(majority_vote(enc), [[1 / 3, 2 / 3], [1.0, 0.0]])
    fit = dawid_skene(enc)
    assert fit.probas.shape == (2, 2) and fit.errors.shape == (3, 2, 2)
    assert np.allclose(fit.errors.sum(axis=1), 1.0)
    with pytest.raises(ValueError):
        EncodedAnswers.from_arrays([0], [0], [2], n_labels=2)


def test_empty_input() -> None:
    assert aggregate([], "ds") == {}
    assert aggregate_texts([]) == {}


# ----------------------------------------------------------------------------- text


def test_normalize_latin() -> None:
    assert normalize("  Hello,   World!  It's  well-known… ") == "hello world its well known"
    assert normalize("ÉCOLE «Test»") == "école test"
    assert normalize("") == ""


def test_normalize_splits_cjk_into_characters() -> None:
    assert normalize("你好，世界！") == "你 好 世 界"
    assert normalize("안녕하세요, 세계!") == "안 녕 하 세 요 세 계"
    assert normalize("こんにちは、世界。") == "こ ん に ち は 世 界"
    assert normalize("我爱Python 3。") == "我 爱 python 3"
    assert tokenize("「東京」タワー") == ["東", "京", "タ", "ワ", "ー"]
    assert detokenize(["我", "爱", "python", "3"]) == "我爱 python 3"


def test_word_error_rate_values() -> None:
    assert word_error_rate("the cat sat", "the cat sat") == 0.0
    assert word_error_rate("the bat sat", "the cat sat") == pytest.approx(1 / 3)
    assert word_error_rate("the cat", "the cat sat down") == pytest.approx(2 / 4)
    assert word_error_rate("a the cat sat", "the cat sat") == pytest.approx(1 / 3)
    assert word_error_rate("The, CAT sat!", "the cat sat") == 0.0
    assert word_error_rate("", "") == 0.0
    assert word_error_rate("extra words", "") == 2.0
    assert word_error_rate("我爱你", "我恨你") == pytest.approx(1 / 3)  # per character
    assert edit_distance(list("kitten"), list("sitting")) == 3


def test_edit_distance_matches_plain_dynamic_programming() -> None:
    def reference(a: list[str], b: list[str]) -> int:
        prev = list(range(len(b) + 1))
        for i, x in enumerate(a, 1):
            cur = [i]
            for j, y in enumerate(b, 1):
                cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
            prev = cur
        return prev[-1]

    rng = random.Random(3)
    for _ in range(300):
        a = [rng.choice("abc") for _ in range(rng.randint(0, 70))]
        b = [rng.choice("abc") for _ in range(rng.randint(0, 70))]
        assert edit_distance(a, b) == reference(a, b)


def test_rover_fixes_one_error_per_position() -> None:
    truth = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]
    hyps = []
    for pos in range(len(truth)):  # each transcript gets exactly one word wrong
        hyp = list(truth)
        if pos % 3 == 0:
            hyp[pos] = "uh"
        elif pos % 3 == 1:
            del hyp[pos]
        else:
            hyp.insert(pos, "um")
        hyps.append(hyp)
    assert all(h != truth for h in hyps)
    tokens, confidence, used_medoid = rover(hyps)
    assert tokens == truth and not used_medoid
    assert 0.8 < confidence <= 1.0
    med, _ = medoid(hyps)
    assert med != truth  # no single answer was right


def test_rover_falls_back_to_medoid_and_handles_degenerate_input() -> None:
    assert rover([]) == ([], 0.0, False)
    assert rover([["hello", "world"]])[:2] == (["hello", "world"], 1.0)
    tokens, confidence, used_medoid = rover([[], [], ["noise"]])
    assert tokens == [] and used_medoid  # empty vote -> medoid (also empty here)
    assert 0.0 <= confidence <= 1.0


def test_aggregate_texts() -> None:
    rows = [
        ("c1", "w1", "The cat sat on the mat."),
        ("c1", "w2", "the cat sat on a mat"),
        ("c1", "w3", "the bat sat on the mat"),
        ("c2", "w1", "我爱你"),
        ("c2", "w2", "我爱你。"),
        ("c2", "w3", "我恨你"),
    ]
    res = aggregate_texts(rows)
    assert res["c1"].label == "the cat sat on the mat"
    assert res["c2"].label == "我爱你"
    assert all(0.5 < agg.confidence <= 1.0 and agg.method == "rover" for agg in res.values())
    assert aggregate_texts(rows, "medoid")["c1"].method == "medoid"
    with pytest.raises(ValueError):
        aggregate_texts(rows, "mv")


# ------------------------------------------------------------------------------- io


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_read_csv_answers_ignores_extra_columns(tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", "worker,item,label,seconds\nw1,i1,cat,3\n\nw2,i1,dog,4\n")
    assert read_answers(f) == ("csv", [("i1", "w1", "cat"), ("i1", "w2", "dog")])


def test_read_tsv_answers_with_and_without_header(tmp_path: Path) -> None:
    body = 'i1\tw1\thello there\ni1\tw2\t"hello\r\nthere"\ni2\tw1\t\n'
    plain = write(tmp_path / "plain.tsv", body)
    headed = write(tmp_path / "headed.tsv", "item\tworker\ttext\n" + body)
    expected = [("i1", "w1", "hello there"), ("i1", "w2", "hello\r\nthere"), ("i2", "w1", "")]
    assert read_answers(plain) == ("tsv", expected)
    assert read_answers(headed) == ("tsv", expected)
    sniffed = write(tmp_path / "answers.txt", body)
    assert read_answers(sniffed)[0] == "tsv"


def test_malformed_lines_name_file_and_line(tmp_path: Path) -> None:
    short = write(tmp_path / "short.csv", "item,worker,label\ni1,w1,a\ni2,w2\n")
    with pytest.raises(ValueError, match=r"short\.csv:3:"):
        read_answers(short)
    header = write(tmp_path / "header.csv", "id,who,label\n1,2,3\n")
    with pytest.raises(ValueError, match=r"header\.csv:1: .*missing item, worker"):
        read_answers(header)
    # A quoted record spanning lines 2-3 shifts the count; the bad record is on line 4.
    tsv = write(tmp_path / "bad.tsv", 'i1\tw1\tok\ni1\tw2\t"two\nlines"\ni2\tw3\n')
    with pytest.raises(ValueError, match=r"bad\.tsv:4: expected 3 tab-separated"):
        read_answers(tsv)
    empty_label = write(tmp_path / "empty.csv", "item,worker,label\ni1,w1,\n")
    with pytest.raises(ValueError, match=r"empty\.csv:2: empty label"):
        read_answers(empty_label)
    gold = write(tmp_path / "gold.csv", "item,label\ni1,a\ni2,b\ni1,b\n")
    with pytest.raises(ValueError, match=r"gold\.csv:4: .*line 2"):
        read_gold(gold)


def test_read_gold_layouts(tmp_path: Path) -> None:
    assert read_gold(write(tmp_path / "g.csv", "item,label\ni1,a\ni2,b\n")) == {
        "i1": "a", "i2": "b"}
    assert read_gold(write(tmp_path / "g.tsv", "item\ttext\ni1\thello world\n")) == {
        "i1": "hello world"}
    assert read_gold(write(tmp_path / "h.tsv", "i1\thello\n")) == {"i1": "hello"}


def test_write_aggregates(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    write_aggregates({"i1": Aggregate("a,b", 0.5, "mv"), "i2": Aggregate("c", 1.0, "mv")}, out)
    assert out.read_text(encoding="utf-8") == (
        'item,label,confidence\ni1,"a,b",0.5000\ni2,c,1.0000\n')


# ------------------------------------------------------------------------------ cli


def test_cli_writes_csv_and_scores_gold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows, truth = spammer_crowd()
    answers = write(tmp_path / "a.csv", "item,worker,label\n" + "".join(
        f"{i},{w},{lab}\n" for i, w, lab in rows))
    gold = write(tmp_path / "g.csv", "item,label\n" + "".join(
        f"{i},{lab}\n" for i, lab in truth.items()))
    assert cli.run(str(answers), "ds", str(gold)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "item,label,confidence"
    assert len(lines) == 1 + 40 + 1
    assert lines[-1] == "accuracy 1.0000 on 40 gold items"
    out = tmp_path / "out.csv"
    assert cli.run(str(answers), "mv", str(gold), str(out)) == 0
    assert capsys.readouterr().out == "accuracy 0.5000 on 40 gold items\n"
    assert out.read_text(encoding="utf-8").startswith("item,label,confidence\ni0,")


def test_cli_text_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = write(tmp_path / "a.tsv", "c1\tw1\tthe cat sat\nc1\tw2\tthe cat sat\n"
                    "c1\tw3\tthe bat sat\n")
    gold = write(tmp_path / "g.tsv", "c1\tthe cat sat\n")
    assert cli.run(str(answers), "auto", str(gold)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("c1,the cat sat,")
    assert out[-1] == "wer 0.0000 on 1 gold items"


def test_cli_bad_input_is_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path / "bad.csv", "item,worker,label\ni1\n")
    good = write(tmp_path / "good.csv", "item,worker,label\ni1,w1,a\n")
    unrelated = write(tmp_path / "gold.csv", "item,label\nzzz,a\n")
    cases = [
        (str(bad), "auto", None, "bad.csv:2"),
        (str(tmp_path / "missing.csv"), "auto", None, "missing.csv"),
        (str(good), "glad", None, "unknown method"),
        (str(good), "gold-ds", None, "needs --gold"),
        (str(good), "auto", str(unrelated), "no item of the gold file"),
    ]
    for answers, method, gold, message in cases:
        assert cli.run(answers, method, gold) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert len(captured.err.strip().splitlines()) == 1 and message in captured.err


def test_cli_add_parser_wires_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="tapwork")
    cli.add_parser(parser.add_subparsers(dest="command"))
    answers = write(tmp_path / "a.csv", "item,worker,label\ni1,w1,a\ni1,w2,a\n")
    args = parser.parse_args(["aggregate", str(answers), "--method", "mv"])
    assert args.func(args) == 0
    assert capsys.readouterr().out == "item,label,confidence\ni1,a,1.0000\n"
    with pytest.raises(SystemExit):
        parser.parse_args(["aggregate", str(answers), "--method", "glad"])


def test_cli_on_public_dataset_beats_majority_vote(capsys: pytest.CaptureFixture[str]) -> None:
    folder = shared("d_sentiment")  # fails in CI, skips locally, when the data is missing
    answers = str(folder / "answers.csv")
    gold = str(folder / "gold.csv")

    def score(method: str) -> float:
        assert cli.run(answers, method, gold, None) == 0
        last = capsys.readouterr().out.splitlines()[-1].split()
        assert last[0] == "accuracy" and last[2:] == ["on", "1000", "gold", "items"]
        return float(last[1])

    mv = score("mv")
    assert mv == pytest.approx(0.932, abs=0.001)  # crowd-kit's figure
    assert score("ds") >= mv
    with_gold = score("ibcc")  # learns from the gold, so scored by 5-fold cross-validation
    assert with_gold >= mv
    assert score("auto") == with_gold
