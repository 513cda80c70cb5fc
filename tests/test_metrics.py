"""Each metric on tiny examples worked out by hand (the arithmetic is in the comments)."""
from __future__ import annotations

import math

import pytest

from qa.eval import metrics
from qa.eval.metrics import (abstention_pr, answer_correct, char_f1, cmrc_tokens, hit_at_k, mrr_at_k, ndcg_at_k,
                             tradeoff_curve, tradeoff_rates)


# -- hit@k --------------------------------------------------------------------
def test_hit_at_k():
    ranked = [False, True, False]  # the first relevant passage is at rank 2
    assert hit_at_k(ranked, 1) == 0.0
    assert hit_at_k(ranked, 2) == 1.0
    assert hit_at_k(ranked, 5) == 1.0  # shorter list than k: counts what is there
    assert hit_at_k([], 3) == 0.0
    assert hit_at_k([False] * 10, 10) == 0.0
    with pytest.raises(ValueError):
        hit_at_k(ranked, 0)


# -- MRR ------------------------------------------------------------------------
def test_mrr_at_k():
    assert mrr_at_k([True, False]) == 1.0  # rank 1 -> 1/1
    assert mrr_at_k([False, False, True]) == pytest.approx(1 / 3)  # rank 3 -> 1/3
    assert mrr_at_k([False, True, True]) == 0.5  # only the first relevant counts: rank 2 -> 1/2
    assert mrr_at_k([False, False, True], k=2) == 0.0  # rank 3 is beyond k=2
    assert mrr_at_k([False] * 11 + [True]) == 0.0  # default k=10
    assert mrr_at_k([]) == 0.0


# -- nDCG -----------------------------------------------------------------------
def test_ndcg_against_whole_index_ideal():
    # gains at ranks 1..4 = 0, 1, 1, 0; three chunks in the index are relevant.
    # DCG  = 1/log2(3) + 1/log2(4)          = 0.630930 + 0.5          = 1.130930
    # IDCG = 1/log2(2) + 1/log2(3) + 1/log2(4) = 1 + 0.630930 + 0.5    = 2.130930
    # nDCG = 1.130930 / 2.130930 = 0.530721
    assert ndcg_at_k([0, 1, 1, 0], 10, n_relevant=3) == pytest.approx(0.530721, abs=1e-6)
    # An ideal built only from the retrieved relevant passages (two) would give
    # 1.130930 / 1.630930 = 0.693426: a different number, so that mistake fails here.
    assert ndcg_at_k([0, 1, 1, 0], 10, n_relevant=3) != pytest.approx(0.693426, abs=1e-3)


def test_ndcg_ideal_capped_at_k():
    # k=2, 5 relevant chunks in the index: IDCG uses min(5, 2) = 2 of them.
    # DCG = 1/log2(2) = 1; IDCG = 1 + 1/log2(3) = 1.630930; nDCG = 0.613147
    assert ndcg_at_k([1, 0, 1], 2, n_relevant=5) == pytest.approx(0.613147, abs=1e-6)


def test_ndcg_edges():
    assert ndcg_at_k([1], 10, n_relevant=1) == 1.0  # the only relevant chunk at rank 1
    assert ndcg_at_k([1, 1], 10, n_relevant=2) == pytest.approx(1.0)
    assert ndcg_at_k([0, 0, 0], 10, n_relevant=2) == 0.0
    assert ndcg_at_k([0, 0], 10, n_relevant=0) == 0.0  # undefined; documented as 0
    # relevant at rank 2 only, one relevant chunk: 1/log2(3) / 1 = 0.630930
    assert ndcg_at_k([0, 1], n_relevant=1) == pytest.approx(1 / math.log2(3))


# -- answer accuracy -----------------------------------------------------------
def test_answer_correct_nfkc():
    # full-width digits and point become 12.6 under NFKC
    assert answer_correct("２０２１年全省煤炭产量达１２．６亿吨。", ["12.6亿吨"])
    assert answer_correct("2021年全省煤炭产量达12.6亿吨。", ["13亿吨", "12.6亿吨"])  # any gold
    assert not answer_correct("2021年全省煤炭产量达12.6亿吨。", ["12.7亿吨"])
    assert not answer_correct(None, ["12.6亿吨"])
    assert not answer_correct("2021年全省煤炭产量达12.6亿吨。", [])  # unanswerable: never correct


# -- CMRC 2018 F1 ----------------------------------------------------------------
def test_cmrc_tokens():
    # CJK characters one by one; "PM2.5" one token, lower-cased; punctuation and spaces dropped;
    # full-width forms normalised; "11.9" kept whole; "_" splits.
    assert cmrc_tokens("ＰＭ２．５浓度，下降！ OK, 11.9亿吨 in 2021. e5_small") == [
        "pm2.5", "浓", "度", "下", "降", "ok", "11.9", "亿", "吨", "in", "2021", "e5", "small"]


def test_char_f1_chinese_with_punctuation_and_mixed_token():
    pred = "空气质量优良天数达到280天，PM2.5浓度下降。"
    # prediction tokens: 空 气 质 量 优 良 天 数 达 到 | 280 | 天 | pm2.5 | 浓 度 下 降  -> 17 (，and 。 dropped)
    assert len(cmrc_tokens(pred)) == 17
    # gold 1 "PM2.5浓度下降" -> pm2.5 浓 度 下 降 = 5 tokens, all contiguous in the prediction: LCS = 5
    # P = 5/17, R = 5/5 = 1, F1 = 2PR/(P+R) = (10/17)/(22/17) = 10/22 = 0.454545
    assert char_f1(pred, ["PM2.5浓度下降"]) == pytest.approx(10 / 22)
    # gold 2 "天数280天" -> 天 数 280 天 = 4 tokens; longest *contiguous* common run: "天 数" (or "280 天") = 2
    # P = 2/17, R = 2/4, F1 = 2*(2/17)(1/2)/((2/17)+(1/2)) = (2/17)/(21/34) = 4/21 = 0.190476
    # (a bag-of-tokens overlap would count 4 and give 8/21 = 0.381: the CMRC LCS rule differs)
    assert char_f1(pred, ["天数280天"]) == pytest.approx(4 / 21)
    # best over golds
    assert char_f1(pred, ["天数280天", "PM2.5浓度下降"]) == pytest.approx(10 / 22)


def test_char_f1_edges():
    assert char_f1("“煤炭产量”", ["煤炭产量"]) == 1.0  # quotes dropped, identical tokens
    assert char_f1("Coal OUTPUT", ["coal output"]) == 1.0  # lower case; one token per word
    assert char_f1("完全无关", ["煤炭产量"]) == 0.0
    assert char_f1(None, ["煤炭"]) == 0.0
    assert char_f1("煤炭", []) == 0.0
    # prediction 煤 炭 产 量 (4), gold 产 量 增 长 (4): LCS "产量" = 2, P = R = 1/2, F1 = 0.5
    assert char_f1("煤炭产量", ["产量增长"]) == 0.5


# -- abstention -------------------------------------------------------------------
def test_abstention_pr():
    abstain = [True, True, False, False, True]
    unans = [True, False, True, False, False]
    # abstained: items 0, 1, 4 (3); of them unanswerable: item 0 (1) -> P = 1/3
    # unanswerable: items 0, 2 (2); abstained on: item 0 (1)        -> R = 1/2
    p, r = abstention_pr(abstain, unans)
    assert p == pytest.approx(1 / 3)
    assert r == 0.5


def test_abstention_pr_zero_denominators():
    # never abstained: precision 0/0 -> None; recall 0/2 = 0
    assert abstention_pr([False, False], [True, True]) == (None, 0.0)
    # no unanswerable question: recall 0/0 -> None; precision 0/1 = 0
    assert abstention_pr([True, False], [False, False]) == (0.0, None)
    assert abstention_pr([], []) == (None, None)
    with pytest.raises(ValueError):
        abstention_pr([True], [True, False])


# -- trade-off curve ----------------------------------------------------------------
def test_tradeoff_curve():
    probs = [0.9, 0.4, 0.7, 0.2]
    answerable = [True, True, False, False]
    # answered when p >= t.  answerable p: 0.9, 0.4; unanswerable p: 0.7, 0.2
    # t=0.0: kept 2/2, flagged 0/2;  t=0.2: kept 2/2, flagged 0/2 (0.2 is not < 0.2)
    # t=0.4: kept 2/2, flagged 1/2;  t=0.7: kept 1/2, flagged 1/2
    # t=0.9: kept 1/2, flagged 2/2;  t just above 1: kept 0, flagged 2/2
    curve = tradeoff_curve(probs, answerable)
    assert [(t, a, u) for t, a, u in curve[:-1]] == [
        (0.0, 1.0, 0.0), (0.2, 1.0, 0.0), (0.4, 1.0, 0.5), (0.7, 0.5, 0.5), (0.9, 0.5, 1.0)]
    t_last, a_last, u_last = curve[-1]
    assert t_last > 1.0 and (a_last, u_last) == (0.0, 1.0)
    assert tradeoff_rates(probs, answerable, 0.5) == (0.5, 0.5)


def test_tradeoff_one_class_only():
    assert tradeoff_rates([0.3, 0.8], [True, True], 0.5) == (0.5, None)
    curve = tradeoff_curve([0.3, 0.8], [True, True])
    assert all(u is None for _, _, u in curve)
    assert metrics.tradeoff_curve([], [])[0][0] == 0.0
