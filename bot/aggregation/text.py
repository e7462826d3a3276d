"""Aggregating free-text answers (transcriptions) into one text per item.

Several workers transcribe the same audio clip; each makes different small mistakes.
ROVER (Fiscus 1997, "A post-processing system to yield reduced word error rates:
Recognizer Output Voting Error Reduction", IEEE ASRU, doi:10.1109/ASRU.1997.659110)
aligns all transcriptions into a word transition network, one slot per aligned position,
and takes a vote in every slot, so one worker's slip is outvoted by the others at that
position even when no single answer is entirely right.

Texts are compared after :func:`normalize`: lower case, punctuation and symbols gone,
apostrophes dropped ("don't" and "dont" are one word), spaces collapsed, and Chinese,
Japanese and Korean split into characters (these scripts either do not separate words by
spaces or, for Korean, inconsistently, so the character is the unit that can be voted on
and counted in an error rate). The output is written the way the workers wrote it: each
word of the result takes the spelling most of the workers who voted for it used, casing
and apostrophes included ("I'm", "don't", "London"), without the punctuation around it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from .categorical import Aggregate

__all__ = [
    "TEXT_METHODS",
    "aggregate_texts",
    "detokenize",
    "edit_distance",
    "medoid",
    "normalize",
    "rover",
    "tokenize",
    "word_error_rate",
    "words",
]

#: Method names :func:`aggregate_texts` accepts.
TEXT_METHODS: tuple[str, ...] = ("rover", "medoid")

# Apostrophes stay inside a word, as "'" ("don't", "o'clock"), so contractions stay one
# word; at a word's edge they are quotation marks and go. Every other punctuation mark or
# symbol becomes a space ("well-known" -> "well known").
_APOSTROPHES = frozenset("'`´ʼʹ‘’′＇")


class _WordTable(dict[int, str]):
    """``str.translate`` table deciding each code point once, on first sight."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        if ch in _APOSTROPHES:
            value = "'"
        elif unicodedata.category(ch)[0] in "PSZC":  # punctuation, symbols, spaces, controls
            value = " "
        else:
            value = ch
        self[code] = value
        return value


_WORDS = _WordTable()

# Scripts written without (reliable) spaces between words: Han, Hiragana, Katakana,
# Hangul (syllables and jamo), CJK compatibility ideographs and the supplementary Han planes.
_CJK = (
    "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff\uf900-\ufaff\U00020000-\U0003134f"
)
_CJK_CHAR = re.compile(f"[{_CJK}]")


def words(text: str) -> list[str]:
    """The words of ``text`` as written: casing kept, apostrophes inside a word as "'".

    Punctuation and symbols separate words and are dropped, as are apostrophes at a word's
    edge (quotation marks far more often than elisions); CJK characters are words of their
    own. ``[w.lower().replace("'", "") for w in words(t)]`` is :func:`tokenize`.
    """
    cleaned = unicodedata.normalize("NFKC", text).translate(_WORDS)
    if _CJK_CHAR.search(cleaned):
        cleaned = _CJK_CHAR.sub(r" \g<0> ", cleaned)
    out = []
    for word in cleaned.split():
        word = word.strip("'")
        if word:
            out.append(word)
    return out


def _key(word: str) -> str:
    """The form a word is compared in: lower case, apostrophes gone ("Don't" -> "dont")."""
    return word.lower().replace("'", "")


def tokenize(text: str, *, keep_apostrophes: bool = False) -> list[str]:
    """The comparison units of ``text``: words, or single characters for CJK scripts.

    Each text is checked for CJK characters; if it has any, every CJK character becomes its
    own token while runs of other letters or digits (e.g. Latin words inside Chinese) stay
    whole. Apostrophes are dropped ("don't" -> "dont"), unless ``keep_apostrophes``, which
    keeps them inside words ("don't" and "dont" then differ).
    """
    if keep_apostrophes:
        return [w.lower() for w in words(text)]
    return [k for k in map(_key, words(text)) if k]


def normalize(text: str) -> str:
    """Lower-case, drop punctuation (CJK punctuation too), collapse spaces.

    Chinese, Japanese and Korean come out as space-separated characters, so
    ``normalize(t).split()`` gives the units word error rate and ROVER work on.
    """
    return " ".join(tokenize(text))


def detokenize(tokens: Sequence[str]) -> str:
    """Join tokens with spaces, except between two CJK characters (written solid)."""
    out: list[str] = []
    prev_cjk = False
    for tok in tokens:
        cjk = len(tok) == 1 and _CJK_CHAR.match(tok) is not None
        if out and not (cjk and prev_cjk):
            out.append(" ")
        out.append(tok)
        prev_cjk = cjk
    return "".join(out)


# ------------------------------------------------------------------- edit distance


class _Pattern:
    """A token sequence prepared for bit-parallel edit distance against many others."""

    __slots__ = ("full", "high", "length", "peq", "tokens")

    def __init__(self, tokens: Sequence[Hashable]) -> None:
        peq: dict[Hashable, int] = {}
        for i, tok in enumerate(tokens):
            peq[tok] = peq.get(tok, 0) | (1 << i)
        self.tokens = tokens
        self.peq = peq
        self.length = len(tokens)
        self.full = (1 << self.length) - 1
        self.high = 1 << (self.length - 1) if self.length else 0

    def distance(self, other: Sequence[Hashable]) -> int:
        """Levenshtein distance (unit costs) between this pattern and ``other``.

        Myers' bit-vector algorithm (J. ACM 1999) in Hyyrö's formulation for global edit
        distance: one DP column is held in two bit vectors and advanced with a handful of
        integer operations per token of ``other``, instead of one Python step per cell.
        Python's unbounded integers make it work for any pattern length.
        """
        m = self.length
        if m == 0:
            return len(other)
        peq, full, high = self.peq, self.full, self.high
        vp, vn, score = full, 0, m
        for tok in other:
            eq = peq.get(tok, 0)
            xv = eq | vn
            xh = (((eq & vp) + vp) ^ vp) | eq
            hp = vn | ~(xh | vp)
            hn = vp & xh
            if hp & high:
                score += 1
            elif hn & high:
                score -= 1
            hp = ((hp << 1) | 1) & full
            hn = (hn << 1) & full
            vp = (hn | ~(xv | hp)) & full
            vn = hp & xv
        return score


def edit_distance(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Levenshtein distance between two token sequences (insert, delete, substitute = 1)."""
    if len(a) < len(b):
        a, b = b, a
    return _Pattern(b).distance(a) if b else len(a)


def word_error_rate(
    hyp: str | Sequence[str], ref: str | Sequence[str], *, keep_apostrophes: bool = False
) -> float:
    """Word error rate of ``hyp`` against ``ref``: edit distance / reference length.

    Strings are normalised and tokenised first (so CJK text is scored per character, a
    character error rate; ``keep_apostrophes`` as in :func:`tokenize`); token sequences
    are used as given. An empty reference gives 0.0 for an empty hypothesis and the number
    of inserted words otherwise (the denominator is taken as 1), so the value stays finite.
    """
    h = tokenize(hyp, keep_apostrophes=keep_apostrophes) if isinstance(hyp, str) else hyp
    r = tokenize(ref, keep_apostrophes=keep_apostrophes) if isinstance(ref, str) else ref
    return edit_distance(h, r) / max(len(r), 1)


# ---------------------------------------------------------------------------- ROVER


def _distance_matrix(hyps: Sequence[Sequence[str]]) -> list[list[int]]:
    n = len(hyps)
    dist = [[0] * n for _ in range(n)]
    patterns = [_Pattern(h) for h in hyps]
    for i in range(n):
        pat = patterns[i]
        row = dist[i]
        for j in range(i + 1, n):
            d = pat.distance(hyps[j])
            row[j] = d
            dist[j][i] = d
    return dist


def _medoid_index(dist: list[list[int]]) -> int:
    """The answer with the lowest total distance to all others (earliest on ties)."""
    totals = [sum(row) for row in dist]
    return totals.index(min(totals))


def _similarity(tokens: Sequence[str], others: Sequence[Sequence[str]]) -> float:
    """Mean of 1 - d / max(len) between ``tokens`` and each other answer, in [0, 1]."""
    if not others:
        return 1.0
    pat = _Pattern(tokens)
    total = 0.0
    for other in others:
        longest = max(len(tokens), len(other))
        total += 1.0 - (pat.distance(other) / longest if longest else 0.0)
    return total / len(others)


def _medoid_pick(hypotheses: Sequence[Sequence[str]]) -> tuple[int, float]:
    """Index of the medoid answer and its mean similarity to the others."""
    dist = _distance_matrix(hypotheses)
    best = _medoid_index(dist)
    others = [h for n, h in enumerate(hypotheses) if n != best]
    return best, _similarity(hypotheses[best], others)


def medoid(hypotheses: Sequence[Sequence[str]]) -> tuple[list[str], float]:
    """The answer closest to all others, and its mean similarity to them.

    A strong baseline for free text: it never invents a word sequence nobody wrote.
    Confidence is the mean of ``1 - distance / longer length`` over the other answers
    (1.0 when there is only one answer).
    """
    if not hypotheses:
        return [], 0.0
    best, confidence = _medoid_pick(hypotheses)
    return list(hypotheses[best]), confidence


@dataclass(slots=True)
class _Slot:
    """One position of the word transition network: word -> votes (null implicit).

    ``forms`` counts, per word, how the voters for it wrote it ("I'm" 3, "im" 1); it is
    left empty when no written forms are given.
    """

    votes: dict[str, int]
    words: int  # votes for real words; null votes = hypotheses aligned - words
    forms: dict[str, dict[str, int]] = field(default_factory=dict)


def _align(
    network: list[_Slot], hyp: Sequence[str], aligned: int, written: Sequence[str] | None = None
) -> list[_Slot]:
    """Add one hypothesis to the network by minimum-cost alignment (Fiscus 1997, sec. 2.1).

    Matching a word already voted for in a slot costs 0, any other word 1; leaving a slot
    out (a null arc for this hypothesis) costs 0 if the slot already has null votes, else
    1; a word in no slot costs 1 and opens a new slot that all ``aligned`` earlier
    hypotheses vote null in. Ties prefer a match or substitution, then a null arc, then a
    new slot, which keeps the network short. ``written`` (the hypothesis as written, one
    entry per token) adds each token's written form to its slot's ``forms``.
    """
    m, n = len(network), len(hyp)
    votes = [slot.votes for slot in network]
    skip = [0 if slot.words < aligned else 1 for slot in network]  # cost of a null arc
    # rows[i][j]: least cost aligning hyp[:i] with network[:j]. Only costs are kept; the
    # trace-back re-derives each step with the same preference order as the forward pass.
    first = [0]
    for cost in skip:
        first.append(first[-1] + cost)
    rows = [first]
    subs: list[list[bool]] = []
    prev = first
    for word in hyp:
        sub = [word not in v for v in votes]  # True (1) unless the slot has this word
        subs.append(sub)
        c = prev[0] + 1
        cur = [c]
        for diag, up, sc, kc in zip(prev, prev[1:], sub, skip, strict=False):  # prev: m + 1
            best = diag + sc
            if c + kc < best:
                best = c + kc
            if up + 1 < best:
                best = up + 1
            cur.append(best)
            c = best
        rows.append(cur)
        prev = cur
    # Trace back and build the merged network.
    merged: list[_Slot] = []
    i, j = n, m
    while i > 0 or j > 0:
        here = rows[i][j]
        if i > 0 and j > 0 and here == rows[i - 1][j - 1] + subs[i - 1][j - 1]:
            slot = network[j - 1]
            word = hyp[i - 1]
            new_votes = dict(slot.votes)
            new_votes[word] = new_votes.get(word, 0) + 1
            forms = slot.forms
            if written is not None:
                forms = dict(forms)
                spelled = dict(forms.get(word, {}))
                spelled[written[i - 1]] = spelled.get(written[i - 1], 0) + 1
                forms[word] = spelled
            merged.append(_Slot(new_votes, slot.words + 1, forms))
            i -= 1
            j -= 1
        elif j > 0 and here == rows[i][j - 1] + skip[j - 1]:
            merged.append(network[j - 1])  # this hypothesis votes null here
            j -= 1
        else:
            word = hyp[i - 1]
            forms = {} if written is None else {word: {written[i - 1]: 1}}
            merged.append(_Slot({word: 1}, 1, forms))
            i -= 1
    merged.reverse()
    return merged


def _vote(
    network: list[_Slot], total: int, first_seen: dict[str, int]
) -> tuple[list[str], list[_Slot], float]:
    """Winning word per slot (or nothing when null wins), their slots, the mean share.

    A word beats null on a tie (an answer rarely contains a word by accident); between
    words a tie goes to the one seen first in the ordered hypotheses, i.e. the medoid's.
    The confidence averages the vote share over slots that produced a word.
    """
    words: list[str] = []
    won: list[_Slot] = []
    shares: list[float] = []
    for slot in network:
        word, count = max(slot.votes.items(), key=lambda wc: (wc[1], -first_seen[wc[0]]))
        if count >= total - slot.words:
            words.append(word)
            won.append(slot)
            shares.append(count / total)
    return words, won, (sum(shares) / len(shares) if shares else 0.0)


def _spelling(slot: _Slot, word: str) -> str:
    """How most of a word's voters wrote it; a tie goes to the form aligned first."""
    forms = slot.forms.get(word)
    if not forms:
        return word
    return max(forms.items(), key=lambda fc: fc[1])[0]  # max keeps the first of equals


def rover(
    hypotheses: Sequence[Sequence[str]],
    *,
    medoid_fallback: bool = True,
    written: Sequence[Sequence[str]] | None = None,
) -> tuple[list[str], float, bool]:
    """Combine tokenised answers by ROVER; returns ``(tokens, confidence, used_medoid)``.

    ``written``, when given, holds each hypothesis as written (one entry per token, e.g.
    from :func:`words`); the returned tokens are then written forms, each word spelled as
    most of its voters spelled it (the medoid's own words when it is the fallback).
    Voting, alignment and the fallback test always use the ``hypotheses`` tokens.

    Hypotheses are aligned progressively, starting from the medoid and continuing in
    order of increasing total distance to the others, so the network's backbone is the
    most typical answer and outliers are aligned last. Each slot then takes a vote
    (see :func:`_vote`). On crowdspeech_dev_clean this order gives a mean WER of 0.0641
    against 0.0657 for aligning in file order (crowd-kit's way), and letting a word win
    a tie against null beats the reverse (0.0663).

    Fallback rule (``medoid_fallback``): the medoid is returned instead when the voted
    output is empty, or when its total edit distance to all answers is larger than the
    medoid's. ROVER can stitch words from answers that disagree on how many words there
    are into a sequence nobody would write; the total-distance test catches those cases
    with the same yardstick the medoid is chosen by. The medoid's confidence is its mean
    similarity to the other answers (see :func:`medoid`).
    """
    if not hypotheses:
        return [], 0.0, False
    dist = _distance_matrix(hypotheses)
    totals = [sum(row) for row in dist]
    order = sorted(range(len(hypotheses)), key=lambda n: (totals[n], n))
    first_seen: dict[str, int] = {}
    for n in order:
        for tok in hypotheses[n]:
            first_seen.setdefault(tok, len(first_seen))
    if written is not None and (
        len(written) != len(hypotheses)
        or any(len(w) != len(h) for w, h in zip(written, hypotheses, strict=True))
    ):
        raise ValueError("written must hold one form per token of every hypothesis")
    head = order[0]
    network = [
        _Slot({tok: 1}, 1, {} if written is None else {tok: {written[head][n]: 1}})
        for n, tok in enumerate(hypotheses[head])
    ]
    for aligned, n in enumerate(order[1:], start=1):
        network = _align(network, hypotheses[n], aligned,
                         None if written is None else written[n])
    tokens, won, confidence = _vote(network, len(hypotheses), first_seen)
    voted = tokens if written is None else [
        _spelling(slot, tok) for tok, slot in zip(tokens, won, strict=True)]
    if not medoid_fallback:
        return voted, confidence, False
    if tokens:
        pattern = _Pattern(tokens)
        own = sum(pattern.distance(h) for h in hypotheses)
        if own <= totals[head]:
            return voted, confidence, False
    others = [h for n, h in enumerate(hypotheses) if n != head]
    fallback = hypotheses[head] if written is None else written[head]
    return list(fallback), _similarity(hypotheses[head], others), True


def aggregate_texts(
    rows: Sequence[tuple[str, str, str]], method: str = "rover"
) -> dict[str, Aggregate]:
    """One aggregated text per item of ``(item, worker, text)`` rows.

    ``method`` is ``"rover"`` (with the medoid fallback described in :func:`rover`) or
    ``"medoid"``. Answers are compared and voted on normalised (see :func:`normalize`);
    the text returned is written as the workers wrote it, word by word the spelling most
    of that word's voters used (casing and apostrophes kept, surrounding punctuation
    not). Items appear in order of their first answer; repeated rows are separate
    hypotheses.
    """
    if method not in TEXT_METHODS:
        raise ValueError(f"unknown text method {method!r}; choose from {', '.join(TEXT_METHODS)}")
    grouped: dict[str, tuple[list[list[str]], list[list[str]]]] = {}
    for item, _worker, text in rows:
        keyed = [(k, w) for w in words(text) if (k := _key(w))]
        hyps, written = grouped.setdefault(item, ([], []))
        hyps.append([k for k, _ in keyed])
        written.append([w for _, w in keyed])
    result: dict[str, Aggregate] = {}
    for item, (hyps, written) in grouped.items():
        if method == "rover":
            tokens, confidence, _ = rover(hyps, written=written)
        else:
            best, confidence = _medoid_pick(hyps)
            tokens = written[best]
        result[item] = Aggregate(detokenize(tokens), min(max(confidence, 0.0), 1.0), method)
    return result
