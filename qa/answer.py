"""Choosing the answer sentence and deciding whether the documents answer at all.

Answer sentence: every sentence of a retrieved passage is scored by a blend of
its own dense cosine with the question and the idf-weighted share of the
question's tokens it contains (figures count whole); the best one is the answer.

Confidence ("no answer"): a logistic model over signals that separate answerable
from unanswerable questions — how much of the question's content (characters,
words, figures, names) occurs in the documents at all, whether its figures
occur, the best sentence cosine, the dense margin and whether the dense and
lexical rankings agree. Its weights and threshold are fitted on the dev part of
the question set by ``qa eval --fit`` and stored in ``qa/data/calibration.json``.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from importlib import resources

import numpy as np

from . import lexical

#: Weight of the dense cosine against lexical overlap when scoring sentences.
SENTENCE_DENSE_WEIGHT = 0.5

# Function words and question words: they say nothing about the topic.
_STOP = set("的了是在吗呢吧啊么嘛呀哪谁几怎何为与和及或也都就还又被把对从到向给让于以其这那些个有没无不请问说下多少什么怎么样哪些哪里如何为什么是否能否可以一个我们你们他们它们这个那个文章文中提到里面")
_STOP_WORDS = {"什么", "多少", "怎么", "怎样", "哪些", "哪里", "如何", "为什么", "是否", "能否", "可以", "一下",
               "文章", "文中", "提到", "里面", "这篇", "作者", "请问", "有没", "没有", "有哪", "是多", "是什",
               "是怎", "了多", "有多"}
_EN_STOP = set("the a an of in on at to for from by with and or is are was were be been what which who whom "
               "how many much did does do when where why this that these those it its as about article "
               "text say says said according".split())


def content_tokens(question: str) -> list[str]:
    """The question's lexical tokens without function and question words."""
    out = []
    for t in lexical.tokenize(question):
        if len(t) == 1 and t in _STOP:
            continue
        if t in _STOP_WORDS or t in _EN_STOP:
            continue
        if len(t) == 2 and t[0] in _STOP and t[1] in _STOP:
            continue
        out.append(t)
    return out


def overlap(q_tokens: list[str], text: str, lex: lexical.LexicalIndex) -> float:
    """Idf-weighted share of the question's tokens that occur in ``text`` (0..1)."""
    if not q_tokens:
        return 0.0
    have = set(lexical.tokenize(text))
    weights = [(lex.idf(t) or 0.0, t in have) for t in dict.fromkeys(q_tokens)]
    total = sum(w for w, _ in weights)
    return sum(w for w, hit in weights if hit) / total if total > 0 else 0.0


def best_sentence(q_vec: np.ndarray, sent_vecs: np.ndarray, sent_texts: list[str],
                  q_tokens: list[str], lex: lexical.LexicalIndex,
                  dense_weight: float = SENTENCE_DENSE_WEIGHT) -> tuple[int, np.ndarray]:
    """Index of the sentence that best answers, and every sentence's score."""
    cos = sent_vecs @ q_vec
    lexs = np.array([overlap(q_tokens, t, lex) for t in sent_texts], dtype=np.float32)
    scores = dense_weight * cos + (1 - dense_weight) * lexs
    return int(np.argmax(scores)), scores


# ----------------------------------------------------------------------------
# confidence
# ----------------------------------------------------------------------------
FEATURES = ("coverage", "content_coverage", "missing_figures", "top_sentence_cos", "dense_margin",
            "agreement")


@dataclass
class Signals:
    """What ``ask()`` measures to decide whether the documents answer."""

    coverage: float  # share of all question tokens found in the index
    content_coverage: float  # share of content tokens (no question words) found, idf-free
    missing_figures: float  # 1 if a figure of the question is absent from the documents
    top_sentence_cos: float  # best sentence cosine in the documents
    dense_margin: float  # top-1 minus top-2 chunk cosine
    agreement: float  # 1 if dense and lexical top-1 chunks agree, 0.5 if in each other's top 3

    def vector(self) -> np.ndarray:
        return np.array([getattr(self, f) for f in FEATURES], dtype=np.float64)


def signals(question: str, lex: lexical.LexicalIndex, dense: np.ndarray, lex_scores: np.ndarray,
            sent_cos: np.ndarray) -> Signals:
    toks = lexical.tokenize(question)
    content = content_tokens(question)
    cov = sum(t in lex.vocab for t in toks) / len(toks) if toks else 0.0
    ccov = sum(t in lex.vocab for t in content) / len(content) if content else 0.0
    figs = lexical.figures(question)
    missing = float(any(f not in lex.vocab for f in figs))
    order = np.argsort(-dense)
    margin = float(dense[order[0]] - dense[order[1]]) if len(order) > 1 else 0.0
    if lex_scores.max() <= 0:
        agree = 0.0
    else:
        lorder = np.argsort(-lex_scores)
        agree = 1.0 if order[0] == lorder[0] else 0.5 if (order[0] in lorder[:3] or lorder[0] in order[:3]) else 0.0
    top_s = float(sent_cos.max()) if sent_cos.size else float(dense.max())
    return Signals(cov, ccov, missing, top_s, margin, agree)


@dataclass
class Calibration:
    """Logistic model ``p = sigmoid(w . (x - mean) / scale + b)``; confident when p >= threshold."""

    weights: list[float]
    bias: float
    mean: list[float]
    scale: list[float]
    threshold: float
    info: dict

    def probability(self, s: Signals) -> float:
        x = (s.vector() - np.array(self.mean)) / np.array(self.scale)
        z = float(np.dot(self.weights, x) + self.bias)
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    @classmethod
    def load(cls) -> "Calibration":
        try:
            data = json.loads(resources.files("qa").joinpath("data/calibration.json").read_text("utf-8"))
            if data.get("features") == list(FEATURES):
                return cls(data["weights"], data["bias"], data["mean"], data["scale"], data["threshold"],
                           data.get("info", {}))
        except (FileNotFoundError, ValueError, KeyError):
            pass
        return cls.fallback()

    @classmethod
    def fallback(cls) -> "Calibration":
        """A conservative hand rule used before any fit: content mostly found, no missing figure."""
        return cls([4.0, 4.0, -4.0, 2.0, 0.0, 1.0], -4.0, [0.0] * 6, [1.0] * 6, 0.5, {"fitted": False})

    def to_json(self) -> str:
        return json.dumps({"features": list(FEATURES), "weights": self.weights, "bias": self.bias,
                           "mean": self.mean, "scale": self.scale, "threshold": self.threshold,
                           "info": self.info}, indent=1, ensure_ascii=False)


_WS = re.compile(r"\s+")
