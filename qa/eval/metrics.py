"""Evaluation metrics: retrieval (hit@k, MRR, nDCG), answers (accuracy, CMRC F1), abstention.

Every function is pure and works on plain lists, so each can be checked on a
tiny hand-worked example. Conventions used throughout:

* Ranks are 1-based: ``ranked_hits[0]`` is the passage at rank 1.
* Relevance is binary: a passage is relevant when its text contains one of the
  question's gold strings (gold strings are exact substrings of the document,
  so the metrics do not depend on how the document was chunked).
* A ratio whose denominator is zero (0/0) is *undefined* and returned as
  ``None``; reports print it as "–". It is never silently turned into 0 or 1.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

__all__ = ["hit_at_k", "mrr_at_k", "ndcg_at_k", "normalize", "answer_correct", "exact_match", "cmrc_tokens", "char_f1",
           "abstention_pr", "tradeoff_rates", "tradeoff_curve"]


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a whole number >= 1, not {k!r}")
    return k


# ----------------------------------------------------------------------------
# retrieval
# ----------------------------------------------------------------------------
def hit_at_k(ranked_hits: Sequence[bool], k: int) -> float:
    """hit@k: 1.0 if any of the first ``k`` ranked passages is relevant, else 0.0.

    ``ranked_hits[i]`` says whether the passage at rank ``i + 1`` is relevant.
    A list shorter than ``k`` counts only what is there.
    """
    _check_k(k)
    return 1.0 if any(ranked_hits[:k]) else 0.0


def mrr_at_k(ranked_hits: Sequence[bool], k: int = 10) -> float:
    """Reciprocal rank at k: ``1 / r`` where ``r`` is the rank (1-based) of the first
    relevant passage among the first ``k``, and 0.0 when none of them is relevant.

    MRR@k is the mean of this over questions.
    """
    _check_k(k)
    for rank, hit in enumerate(ranked_hits[:k], 1):
        if hit:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked_gains: Sequence[float], k: int = 10, *, n_relevant: int) -> float:
    """nDCG@k with the standard log2 discount::

        DCG@k  = sum_{i=1..k} gain_i / log2(i + 1)
        IDCG@k = sum_{i=1..min(n_relevant, k)} 1 / log2(i + 1)
        nDCG@k = DCG@k / IDCG@k

    ``ranked_gains[i]`` is the gain of the passage at rank ``i + 1``; with binary
    relevance it is 1.0 when the passage contains a gold string, else 0.0.

    The ideal ranking is built from ``n_relevant``, the number of relevant
    chunks in the *whole index* (not just among those retrieved), capped at
    ``k``: a system that finds one of three relevant chunks at rank 1 scores
    less than one that finds all three at ranks 1-3. With ``n_relevant == 0``
    (no chunk contains a gold string, e.g. an unanswerable question) nDCG is
    undefined; this returns 0.0 and callers score nDCG on answerable items only.
    """
    _check_k(k)
    if n_relevant < 0:
        raise ValueError(f"n_relevant must be >= 0, not {n_relevant}")
    if n_relevant == 0:
        return 0.0
    dcg = sum(float(g) / math.log2(i + 1) for i, g in enumerate(ranked_gains[:k], 1))
    idcg = sum(1.0 / math.log2(i + 1) for i in range(1, min(n_relevant, k) + 1))
    return dcg / idcg


# ----------------------------------------------------------------------------
# answers
# ----------------------------------------------------------------------------
def normalize(text: str) -> str:
    """NFKC: full-width digits, letters and punctuation become their ASCII forms."""
    return unicodedata.normalize("NFKC", text)


def answer_correct(answer_sentence: str | None, golds: Sequence[str]) -> bool:
    """True when the answer sentence contains one of the gold strings, both NFKC-normalised.

    No answer (``None``) or no gold strings (an unanswerable question) is never correct.
    """
    if not answer_sentence:
        return False
    sentence = normalize(answer_sentence)
    return any(g and normalize(g) in sentence for g in golds)


_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
# One CJK character, or a run of other letters/digits; a decimal point between
# digits stays inside the run ("11.9", "pm2.5"), as nltk keeps it in CMRC's script.
_CMRC_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+(?:\.[0-9]+)*")


def cmrc_tokens(text: str) -> list[str]:
    """Tokens for CMRC 2018 F1: NFKC, lower case; every CJK character is one token,
    every run of Latin letters/digits is one token (``PM2.5`` -> ``pm2.5``,
    ``11.9亿吨`` -> ``11.9``, ``亿``, ``吨``); punctuation, symbols and whitespace are dropped.
    """
    return _CMRC_TOKEN.findall(normalize(text).lower())


def _longest_common_substring(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest *contiguous* run of tokens shared by ``a`` and ``b``."""
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


_EM_STRIP = re.compile(r"[\s\W_]+")


def exact_match(prediction: str | None, golds: Sequence[str]) -> float:
    """1.0 when the prediction equals one of the golds after NFKC, lower case and dropping
    whitespace and punctuation (quotes, brackets, 、), else 0.0. No prediction or no gold: 0.0."""
    if not prediction or not golds:
        return 0.0
    p = _EM_STRIP.sub("", normalize(prediction).lower())
    return 1.0 if any(p and p == _EM_STRIP.sub("", normalize(g).lower()) for g in golds) else 0.0


def char_f1(prediction: str | None, golds: Sequence[str]) -> float:
    """Character-level F1 in the CMRC 2018 way, best over the gold strings.

    Both strings are tokenised by :func:`cmrc_tokens`. As in CMRC 2018's official
    script, the overlap is the longest common *contiguous* token sequence (LCS)::

        precision = LCS / len(prediction tokens)
        recall    = LCS / len(gold tokens)
        F1        = 2 * precision * recall / (precision + recall)   (0 when LCS = 0)

    and the score is the maximum over golds. No prediction or no golds gives 0.0.
    """
    if not prediction or not golds:
        return 0.0
    pred = cmrc_tokens(prediction)
    best = 0.0
    for gold in golds:
        g = cmrc_tokens(gold)
        lcs = _longest_common_substring(g, pred)
        if lcs == 0:
            continue
        p, r = lcs / len(pred), lcs / len(g)
        best = max(best, 2 * p * r / (p + r))
    return best


# ----------------------------------------------------------------------------
# abstention ("no answer")
# ----------------------------------------------------------------------------
def abstention_pr(pred_abstain: Sequence[bool], is_unanswerable: Sequence[bool]) -> tuple[float | None, float | None]:
    """Precision and recall of abstaining, with unanswerable questions as the positives::

        precision = #(abstained and unanswerable) / #abstained
        recall    = #(abstained and unanswerable) / #unanswerable

    0/0 is undefined and returned as ``None``: precision when nothing was
    abstained on, recall when there is no unanswerable question (e.g. in the
    row of an answerable kind).
    """
    if len(pred_abstain) != len(is_unanswerable):
        raise ValueError("pred_abstain and is_unanswerable differ in length")
    tp = sum(1 for a, u in zip(pred_abstain, is_unanswerable) if a and u)
    n_abstain = sum(1 for a in pred_abstain if a)
    n_unans = sum(1 for u in is_unanswerable if u)
    return (tp / n_abstain if n_abstain else None, tp / n_unans if n_unans else None)


def tradeoff_rates(probabilities: Sequence[float], is_answerable: Sequence[bool],
                   threshold: float) -> tuple[float | None, float | None]:
    """At one threshold (answer when ``p >= threshold``): the share of answerable
    questions kept (answered) and the share of unanswerable questions flagged
    (``p < threshold``). ``None`` where a class is empty."""
    if len(probabilities) != len(is_answerable):
        raise ValueError("probabilities and is_answerable differ in length")
    ans = [p for p, a in zip(probabilities, is_answerable) if a]
    una = [p for p, a in zip(probabilities, is_answerable) if not a]
    kept = sum(p >= threshold for p in ans) / len(ans) if ans else None
    flagged = sum(p < threshold for p in una) / len(una) if una else None
    return kept, flagged


def tradeoff_curve(probabilities: Sequence[float],
                   is_answerable: Sequence[bool]) -> list[tuple[float, float | None, float | None]]:
    """The abstention trade-off as the threshold varies: a list of
    ``(threshold, answerable_kept_rate, unanswerable_flagged_rate)``, thresholds ascending.

    A question is answered when its probability ``p >= threshold``. The
    thresholds are 0.0 (answer everything: kept 1, flagged 0), every distinct
    probability (the only places the rates change), and one value just above
    the largest probability (abstain on everything: kept 0, flagged 1).
    Rates are ``None`` where a class has no question (see :func:`tradeoff_rates`).
    """
    ps = [float(p) for p in probabilities]
    top = max(ps, default=1.0)
    thresholds = sorted({0.0, *ps, math.nextafter(max(top, 1.0), math.inf)})
    return [(t, *tradeoff_rates(ps, is_answerable, t)) for t in thresholds]
