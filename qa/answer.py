"""Choosing the answer sentence and deciding whether the documents answer at all.

Answer sentence: every sentence of a retrieved passage is scored by a blend of
its own dense cosine with the question and the idf-weighted share of the
question's tokens it contains (figures count whole); the best one is the answer.

Confidence ("no answer"): three hard checks, each a sign that the documents lack
what the question asks about — a figure of the question never occurs in them, a
name (place, person, organisation, or a foreign-script term in a Chinese
question) never occurs in them, or the best sentence holds nothing of the kind
the question wants (a number for 多少, a time for 哪一年, ...) — plus a soft
score (a logistic fit of content coverage) that orders the rest. The soft
weights and the threshold are fitted on the dev part of the question set by
``qa eval --fit`` and stored in ``qa/data/calibration.json``.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources

import numpy as np

from . import lexical, words

#: Weight of the dense cosine against lexical overlap when scoring sentences.
SENTENCE_DENSE_WEIGHT = 0.7

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
def _words(text: str) -> list[tuple[str, str]]:
    """Words with part-of-speech flags (jieba's, from the prepared cache in :mod:`qa.words`)."""
    return words.cut(text)


def absent_names(question: str, contains) -> list[str]:
    """Names the documents never use: places, people and organisations, and, in a Chinese
    question, foreign-script terms such as ``GDP``.

    ``contains``: a callable telling whether a phrase occurs in the documents (or their text).
    """
    if isinstance(contains, str):
        corpus = lexical.normalize(contains)
        contains = corpus.__contains__
    chinese = cjk_share(question) >= 0.5
    out = []
    for w, flag in _words(unicodedata.normalize("NFKC", question)):
        if len(w) < 2 or w in out:
            continue
        if (flag[:2] in ("ns", "nr", "nt") or (chinese and flag == "eng" and w not in _EN_STOP)) \
                and not contains(lexical.normalize(w)):
            out.append(w)
    return out


# What kind of answer a question wants, from its question words (Chinese and English).
_WANTS = [
    ("number", re.compile(r"多少|(?<!哪)几[个条项起次年人名家座件种成倍万亿]?|比例|占比|百分之|how (many|much)|"
                          r"what (share|proportion|percentage|number|rate)|\bnumber of\b", re.I)),
    ("time", re.compile(r"哪一?年|何时|什么时候|哪天|哪一天|几月|when\b|which year|what year|what date", re.I)),
    ("place", re.compile(r"哪个(城市|地方|省|市|县)|在哪[里儿]?|哪座城市|where\b|which (city|province|county)", re.I)),
    ("person", re.compile(r"谁|叫什么名字|姓名|名字|\bwho\b|\bname\b", re.I)),
]
_TIME_WORDS = re.compile(r"\d{4}年|\d+月|\d+日|[今去前明]年|春节|前夕|以来|期间|年底|年初|上半年|下半年")


def answer_type(question: str) -> str | None:
    """The kind of answer the question asks for: number, time, place, person, or None."""
    for kind, pattern in _WANTS:
        if pattern.search(question):
            return kind
    return None


def type_match(question: str, sentence: str) -> float:
    """1 if ``sentence`` holds something of the kind the question wants (and not only what the
    question already says), 0 if it does not, 0.5 if the question wants no particular kind."""
    kind = answer_type(question)
    if kind is None:
        return 0.5
    q = lexical.normalize(question)
    sent = lexical.normalize(sentence)
    if kind == "number":
        return float(any(f not in q for f in lexical.figures(sent)) or bool(re.search(r"[一二两三四五六七八九十百千万亿]+[个条项起次人名家座件种倍]", sent)))
    if kind == "time":
        return float(any(m.group() not in q for m in _TIME_WORDS.finditer(sent)))
    flags = ("ns",) if kind == "place" else ("nr",)
    return float(any(f[:2] in flags and w not in q and len(w) >= 2 for w, f in _words(sent)))


def cjk_share(question: str) -> float:
    """Share of the question's letters that are Chinese characters."""
    letters = [c for c in question if c.isalpha()]
    return sum("\u3400" <= c <= "\u9fff" for c in letters) / len(letters) if letters else 0.0


@dataclass
class Signals:
    """What ``ask()`` measures to decide whether the documents answer."""

    content_coverage: float  # share of the question's content tokens found anywhere in the documents
    absent_names: list[str]  # names of the question the documents never use (陕西省, GDP)
    missing_figures: list[str]  # figures of the question the documents never use (2019年)
    type_match: float  # 1 if the answer sentence holds the kind of thing asked for, 0 if not, 0.5 no kind


def signals(question: str, lex: lexical.LexicalIndex, contains, answer_sentence: str) -> Signals:
    """Measure the no-answer signals for one question.

    ``contains``: tells whether a phrase occurs in the documents; ``answer_sentence``: the
    sentence ``ask()`` would answer with.
    """
    content = content_tokens(question)
    figures = list(dict.fromkeys(lexical.figures(question)))
    known = lex.lookup(content + figures)
    return Signals(
        content_coverage=sum(t in known for t in content) / len(content) if content else 0.0,
        absent_names=absent_names(question, contains),
        missing_figures=[f for f in figures if f not in known],
        type_match=type_match(question, answer_sentence),
    )


#: The soft score reads these; the hard checks are missing_figures, absent_names and type_match == 0.
SOFT_FEATURES = ("content_coverage",)


def failed_checks(s: Signals) -> list[str]:
    """The hard checks a question fails, as reasons: each means the documents lack what it asks about."""
    out = []
    if s.missing_figures:
        out.append(f"文中没有出现问题里的数字 {'、'.join(s.missing_figures)} "
                   f"(the document never mentions {', '.join(s.missing_figures)})")
    if s.absent_names:
        out.append(f"文中没有出现问题里的名称 {'、'.join(s.absent_names)} "
                   f"(the document never mentions {', '.join(s.absent_names)})")
    if s.type_match == 0:
        out.append("最相关的句子里没有问题所问的那类信息 (the best sentence holds nothing of the kind asked for)")
    return out


@dataclass
class Calibration:
    """Answerability score in [0, 1]; ``confident`` when the score >= ``threshold``.

    ``score = 0.5 * (no hard check fails) + 0.5 * sigmoid(w . (x - mean) / scale + b)``, where
    ``x`` are the :data:`SOFT_FEATURES`. A failed hard check puts the score below 0.5; the soft
    part orders the rest. Weights and threshold come from :func:`fit_calibration` on the dev part.
    """

    weights: list[float]
    bias: float
    mean: list[float]
    scale: list[float]
    threshold: float
    info: dict

    def soft(self, s: Signals) -> float:
        x = (np.array([getattr(s, f) for f in SOFT_FEATURES]) - np.array(self.mean)) / np.array(self.scale)
        z = float(np.dot(self.weights, x) + self.bias)
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def probability(self, s: Signals) -> float:
        """The answerability score of a question's signals, in [0, 1]."""
        return 0.5 * (not failed_checks(s)) + 0.5 * self.soft(s)

    @classmethod
    def load(cls, path=None) -> "Calibration":
        """The fitted calibration at ``path``, by default the one shipped in ``qa/data/calibration.json``
        (or the unfitted default when there is none)."""
        try:
            src = path if path is not None else resources.files("qa").joinpath("data/calibration.json")
            data = json.loads(src.read_text("utf-8"))
            if data.get("features") == list(SOFT_FEATURES):
                return cls(data["weights"], data["bias"], data["mean"], data["scale"], data["threshold"],
                           data.get("info", {}))
        except (FileNotFoundError, ValueError, KeyError):
            pass
        return cls.fallback()

    @classmethod
    def fallback(cls) -> "Calibration":
        """Before any fit: the hard checks alone decide."""
        n = len(SOFT_FEATURES)
        return cls([0.0] * n, 0.0, [0.0] * n, [1.0] * n, 0.5, {"fitted": False})

    def to_json(self) -> str:
        return json.dumps({"features": list(SOFT_FEATURES), "weights": self.weights, "bias": self.bias,
                           "mean": self.mean, "scale": self.scale, "threshold": self.threshold,
                           "info": self.info}, indent=1, ensure_ascii=False) + "\n"


def fit_calibration(signals_list: list[Signals], answerable: list[bool], min_kept: float = 0.97,
                    l2: float = 10.0, steps: int = 3000) -> Calibration:
    """Fit the soft score on (dev) questions that pass the hard checks, then pick the threshold.

    The threshold is the highest score cut that still keeps ``min_kept`` of the answerable
    questions confident: almost no answerable question is flagged, as many unanswerable
    ones as possible are.
    """
    y_all = np.array(answerable, dtype=bool)
    if y_all.all() or not y_all.any():
        raise ValueError("fitting the calibration needs both answerable and unanswerable questions")
    passing = [i for i, s in enumerate(signals_list) if not failed_checks(s)]
    X = np.array([[getattr(signals_list[i], f) for f in SOFT_FEATURES] for i in passing], dtype=np.float64)
    y = y_all[passing].astype(np.float64)
    n = len(SOFT_FEATURES)
    mean, scale = X.mean(0), X.std(0)
    scale[scale < 1e-9] = 1.0
    w, b = np.zeros(n), 0.0
    if 0 < y.sum() < len(y):
        Z = (X - mean) / scale
        cw = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))  # class-balanced
        for _ in range(steps):  # gradient descent on the weighted, L2-regularised log loss
            p = 1 / (1 + np.exp(-np.clip(Z @ w + b, -50, 50)))
            g = cw * (p - y)
            w -= 0.1 * (Z.T @ g / len(y) + l2 * w / len(y))
            b -= 0.1 * g.mean()
    cal = Calibration([round(float(v), 6) for v in w], round(float(b), 6), [round(float(v), 6) for v in mean],
                      [round(float(v), 6) for v in scale], 0.5, {})
    scores = np.array([cal.probability(s) for s in signals_list])
    best = 0.5
    for t in sorted(set(np.round(scores, 6))):
        if t >= 0.5 and (scores[y_all] >= t).mean() >= min_kept:
            best = float(t)
    cal.threshold = round(best, 6)
    cal.info = {"fitted": True, "n": int(len(y_all)), "n_unanswerable": int((~y_all).sum()),
                "min_kept": min_kept, "l2": l2,
                "dev_answerable_kept": round(float((scores[y_all] >= best).mean()), 4),
                "dev_unanswerable_flagged": round(float((scores[~y_all] < best).mean()), 4)}
    return cal
