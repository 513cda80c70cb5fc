"""Deciding that the documents do not answer: checks that each name what is missing.

A confident wrong answer is the worst thing this bot can do, and the embedding model
cannot tell on its own: an unanswerable Chinese question scores a cosine of 0.82 to
0.87 with its nearest passage, inside the range of answerable ones. So the decision
rests on checks that each say the documents lack what the question asks about, and
each becomes the reason shown to the user:

1. **A figure of the question never occurs in the documents** (``2019年``): the
   question is about a year or amount the documents do not cover.
2. **A name never occurs in them**: a place, person or organisation (``陕西省``), or
   a foreign-script term in a Chinese question (``GDP``).
3. **Nothing of the kind asked for is tied to what is asked about.** A question that
   wants a figure, a time, a name or a list (:mod:`qa.answer.query`) is answered only by a
   span of that kind, in the asked unit, in a clause that carries the question's focus
   (:mod:`qa.answer.spans`). This is what catches near misses, the questions that share the
   article's words but ask for a fact it never states: a count of companies (家) where
   the sentence counts industrial chains (条), people affected where it counts people
   evacuated, a number of cases where it gives a resolution rate.
4. **A qualifier of the question is missing from the answer**: the question asks for
   the highest (最高), the per-capita (人均) or a national (全国) figure and the clause
   gives the average, the total, the province's. A scope the documents never use at all
   (全国, in documents that speak of 全省 and 我省 throughout) is missing too.
5. **The question has no topic of its own** (那去年呢？, 它增长了多少？, 为什么？): a
   follow-up asked without its conversation is not answered blind (:mod:`qa.answer.followup`
   resolves it when the conversation is given).

A question that fails a check is not answered. The rest are ordered by a soft score
(a logistic fit of content coverage), whose threshold ``qa eval --fit`` sets on the dev
split so that almost every answerable dev question stays answered; the fit lives in
``qa/data/calibration.json``.
"""
from __future__ import annotations

import json
import math
import unicodedata
from dataclasses import dataclass, field, replace
from importlib import resources

import numpy as np

from ..index import lexical
from ..text import words
from .sentences import content_tokens
from .query import FIGURES_AND_TIMES, SCOPES, Query, cjk_share

_EN_STOP = set("the a an of in on at to for from by with and or is are was were be been what which who whom "
               "how many much did does do when where why this that these those it its as about article "
               "text say says said according".split())
_WANT_LABEL = {"amount": ("数量", "an amount"), "count": ("数目", "a count"), "percent": ("比例", "a percentage"),
               "ordinal": ("次序", "an ordinal"), "time": ("时间", "a time"), "place": ("地点", "a place"),
               "person": ("人名或职务", "a person"), "org": ("机构名称", "an organisation"),
               "list": ("列举的各项", "a list of items"), "author": ("作者署名", "a byline naming the author")}


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
    for w, flag in words.cut(unicodedata.normalize("NFKC", question)):
        if len(w) < 2 or w in out:
            continue
        if (flag[:2] in ("ns", "nr", "nt") or (chinese and flag == "eng" and w.lower() not in _EN_STOP)) \
                and not contains(lexical.normalize(w)):
            if len(w) >= 4 and flag != "eng" and contains(w[:2]) and contains(w[2:]):
                continue  # a compound of words the documents use (重大 + 意义) tagged as a name by mistake
            out.append(w)
    return out


#: One qualifier, several spellings: 年均 is 年平均 written short, and an average per year or day is an average.
_SAME_QUALIFIER = {"平均": ("平均", "年均", "日均", "月均", "均值"), "年均": ("年均", "年平均"), "日均": ("日均", "日平均"),
                   "月均": ("月均", "月平均")}


def missing_qualifiers(query: Query, passage: str, clause: str | None = None) -> list[str]:
    """Qualifiers of the question (最高, 人均, 第一批, 全国 …) that the answer lacks: the clause of the
    short answer when there is one (``年均`` elsewhere in the sentence qualifies another figure),
    else the passage.

    A scope word (全国, 全省 …) counts as missing only when the passage speaks of another
    scope: most passages about the province never say 全省.
    """
    text = lexical.normalize(clause if clause else passage)
    whole = lexical.normalize(passage)
    out = [w for w in query.qualifiers if not any(v in text for v in _SAME_QUALIFIER.get(w, (w,)))]
    for w in SCOPES:
        if w in query.text and w not in whole and any(o in whole for o in other_scopes(w)):
            out.append(w)
    return out


#: Words that name the same scope as a scope word (全省 and 我省 are one province).
_SAME_SCOPE = {"全省": ("我省", "本省"), "全国": ("我国",), "全市": ("我市", "本市")}


def other_scopes(w: str) -> list[str]:
    """The scope words that speak of a scope other than ``w``'s (for 全国: 全省, 我省, 全市 …)."""
    return [o for o in SCOPES + ("我省", "本省", "我市", "本市", "我国") if o != w and o not in _SAME_SCOPE.get(w, ())]


def absent_scopes(query: Query, contains) -> list[str]:
    """Scope words of the question (全国) that the documents never use while they use another (全省, 我省):
    the documents speak of another scope throughout, so a figure of theirs answers something else.
    ``contains`` as in :func:`absent_names`."""
    asked = [w for w in SCOPES if w in query.text]
    if not asked:
        return []
    if isinstance(contains, str):
        contains = lexical.normalize(contains).__contains__
    return [w for w in asked if not contains(w) and any(contains(o) for o in other_scopes(w))]


@dataclass
class Signals:
    """What ``ask()`` measures to decide whether the documents answer."""

    content_coverage: float  # share of the question's content tokens found anywhere in the documents
    absent_names: list[str]  # names of the question the documents never use (陕西省, GDP)
    missing_figures: list[str]  # figures of the question the documents never use (2019年)
    want: str | None = None  # the kind of answer asked for (qa.answer.query)
    span: str | None = None  # the short answer found, when one of the wanted kind is tied to the focus
    untied: bool = False  # the question wants a checkable kind and no span of it is tied to its focus
    focus: list[str] = field(default_factory=list)
    missing_qualifiers: list[str] = field(default_factory=list)  # 最高, 人均, 全国 … absent from the passage
    incomplete: str | None = None  # the question has no topic of its own (a follow-up)
    reader_margin: float | None = None  # how far the reader's span beats its "no answer" (None: no reader)
    typed_checks: list[str] = field(default_factory=list)  # with the reader: checks 3-4 failed by the rules' span
    english: bool = False  # the question is not Chinese (the reader was trained on Chinese questions)
    wrong_kind: bool = False  # the reader's span is not of the kind asked for (qa.answer.typed)
    ruled: bool = False  # the short answer is the rules' span, not the reader's


def signals(query: Query, lex: lexical.LexicalIndex, contains, passage: str, span,
            reader_margin: float | None = None) -> Signals:
    """Measure the no-answer signals for one question.

    ``contains``: tells whether a phrase occurs in the documents; ``passage``: the top passage's
    text; ``span``: the :class:`qa.answer.spans.Short` found in it (or None).
    """
    question = query.text
    content = content_tokens(question)
    figures = list(dict.fromkeys(lexical.figures(question)))
    known = lex.lookup(content + figures)
    return Signals(
        content_coverage=sum(t in known for t in content) / len(content) if content else 0.0,
        absent_names=absent_names(question, contains),
        missing_figures=[f for f in figures if f not in known],
        want=query.want,
        span=span.text if span is not None and span.tied else None,
        untied=untied(query, span),
        focus=list(query.focus),
        missing_qualifiers=list(dict.fromkeys(missing_qualifiers(query, passage, span.context if span is not None and
                                                                 span.tied else None) + absent_scopes(query, contains))),
        incomplete=query.incomplete,
        reader_margin=reader_margin,
    )


#: What the soft score reads; the hard checks are the rest (see :func:`failed_checks`). It orders questions
#: only where the reader is not in use (``QA_READER=0``, questions about the author): see :class:`ReaderPolicy`.
SOFT_FEATURES = ("content_coverage",)


def failed_checks(s: Signals) -> list[str]:
    """The checks a question fails, as reasons: each means the documents lack what it asks about."""
    return hard_checks(s) + typed_checks(s)


def hard_checks(s: Signals) -> list[str]:
    """Checks 1, 2, 4 and 5: the documents never use a figure or a name of the question, the answer lacks a
    qualifier it asks for (最高, 全国), or it has no topic."""
    return [note for notes in _checks(s).values() for note in notes]


def _checks(s: Signals) -> dict[str, list[str]]:
    """The hard checks' notes by check: topic, figures, names, qualifiers, kinds (empty: passed)."""
    out = {"topic": [], "figures": [], "names": [], "qualifiers": [], "kinds": []}
    if s.incomplete:
        out["topic"].append("这个问题缺少主题，像是接着上文问的：请把问题写完整，例如“2021年山西煤炭产量是多少？”"
                            "(the question has no topic of its own; ask a complete question)")
    if s.missing_figures:
        out["figures"].append(f"文中没有出现问题里的数字 {'、'.join(s.missing_figures)} "
                              f"(the document never mentions {', '.join(s.missing_figures)})")
    if s.absent_names:
        out["names"].append(f"文中没有出现问题里的名称 {'、'.join(s.absent_names)} "
                            f"(the document never mentions {', '.join(s.absent_names)})")
    if s.missing_qualifiers:
        q = "”“".join(s.missing_qualifiers)
        out["qualifiers"].append(f"文中没有提到“{q}”(the passage does not give the {', '.join(s.missing_qualifiers)} "
                                 f"figure)")
    if s.wrong_kind:
        cn, en = _WANT_LABEL.get(s.want or "", ("所问的信息", "what is asked"))
        out["kinds"].append(f"最相关的段落里读到的答案不是所问的{cn} (the span read in the passage is not {en})")
    return out


def untied(query: Query, span) -> bool:
    """Whether the question wants a checkable kind and ``span`` is not one tied to its focus."""
    return bool(query.typed and (span is None or not span.tied))


def typed_checks(s: Signals) -> list[str]:
    """Check 3: nothing of the kind asked is tied to the question."""
    return _typed_note(s.untied and not s.incomplete, s.want, s.focus)


def typed_checks_for(query: Query, span) -> list[str]:
    """Check 3 judged on ``span`` (the rules' short answer), without measuring the other signals."""
    return _typed_note(untied(query, span) and not query.incomplete, query.want, query.focus)


def _typed_note(failed: bool, want: str | None, focus) -> list[str]:
    if not failed:
        return []
    cn, en = _WANT_LABEL.get(want or "", ("所问的信息", "what is asked"))
    about = f"与“{'、'.join(focus[:2])}”相关的" if focus else ""
    return [f"最相关的段落里没有{about}{cn} (the passage holds no {en} tied to what is asked)"]


#: What a qualifier (最高, 平均, 第一次, 累计) qualifies when the reader answers: a figure or a time. In a
#: question for a name or a phrase (最后签订条约的代表是谁) it is part of the description, which the
#: reader itself matches against the passage.
QUALIFIED = FIGURES_AND_TIMES

#: The note when the reader finds no answer in the passage.
READER_NO = "最相关的段落里找不到这个问题的答案 (the best passage does not answer the question)"


@dataclass
class ReaderPolicy:
    """How the reader's no-answer margin combines with the checks; fitted on dev by ``training/calibrate.py``.

    * ``min_margin``: below it the reader says the passage does not answer (a Chinese question);
    * each check counts only while the reader's margin is below its own bar: ``names_below`` (a name of
      the question the documents never use: often a variant, 隋国 for 隋朝), ``figures_below``,
      ``qualifiers_below`` (checks 1, 2, 4, on the reader's clause; qualifiers only of a figure or a
      time, :data:`QUALIFIED`) and ``checks_below`` (the typed check,
      3, judged on the rules' span). A reader sure of its span overrules a check; an unsure one does not;
    * ``rules_below``: while the margin is below it, a span of the asked kind that the rules tie to the
      question replaces the reader's span;
    * ``ruled_min``: the ``min_margin`` that holds where the rules' span answers (None: the same);
    * ``swap_within``, ``kinds_below``: a reader's span that is not of the figure or time asked for gives
      way to the best span that is, when the reader scores it within ``swap_within`` of its own; else it
      counts as the wrong kind (a check) while the margin is below ``kinds_below`` (:mod:`.typed`).

    A question without a topic of its own (5) is never answered. A question in English is judged by the
    checks alone: the reader learned Chinese questions only, and its margin says nothing about others.
    """

    min_margin: float = -8.0
    checks_below: float = 6.0
    rules_below: float = 6.0
    info: dict = field(default_factory=dict)
    names_below: float = 99.0
    figures_below: float = 99.0
    qualifiers_below: float = 99.0
    kinds_below: float = 6.0
    swap_within: float = 5.0
    ruled_min: float | None = None

    FIELDS = ("min_margin", "checks_below", "rules_below", "names_below", "figures_below", "qualifiers_below",
              "kinds_below", "swap_within", "ruled_min")

    def decide(self, s: Signals) -> tuple[bool, list[str]]:
        """Whether to answer, and the reasons when not."""
        if s.want not in QUALIFIED and not s.english and s.missing_qualifiers:
            s = replace(s, missing_qualifiers=[w for w in s.missing_qualifiers if w in SCOPES])
        checks = _checks(s)
        if checks["topic"]:
            return False, checks["topic"]
        if s.english:
            failed = [note for notes in checks.values() for note in notes] + list(s.typed_checks)
            return not failed, failed
        m = s.reader_margin
        if m is None:
            return False, [READER_NO]
        bars = {"figures": self.figures_below, "names": self.names_below, "qualifiers": self.qualifiers_below,
                "kinds": self.kinds_below}
        failed = [note for name, notes in checks.items() if name in bars and m < bars[name] for note in notes]
        if failed:
            return False, failed
        if m < (self.ruled_min if s.ruled and self.ruled_min is not None else self.min_margin):
            return False, [READER_NO]
        if s.typed_checks and m < self.checks_below:
            return False, list(s.typed_checks)
        return True, []

    @classmethod
    def load(cls, path=None) -> "ReaderPolicy":
        """The fitted policy in ``qa/data/calibration.json`` (its ``reader`` entry), or the defaults."""
        try:
            src = path if path is not None else resources.files("qa").joinpath("data/calibration.json")
            data = json.loads(src.read_text("utf-8")).get("reader") or {}
            return cls(**{k: data[k] for k in cls.FIELDS + ("info",) if k in data})
        except (FileNotFoundError, ValueError, TypeError):
            return cls()

    def to_dict(self) -> dict:
        return {**{k: getattr(self, k) for k in self.FIELDS}, "info": self.info}


@dataclass
class Calibration:
    """Answerability score in [0, 1]; ``confident`` when the score >= ``threshold``.

    ``score = 0.5 * (no check fails) + 0.5 * sigmoid(w . (x - mean) / scale + b)``, where
    ``x`` are the :data:`SOFT_FEATURES`. A failed check puts the score below 0.5; the soft
    part orders the rest. Weights and threshold come from :func:`fit_calibration` on the dev part.
    """

    weights: list[float]
    bias: float
    mean: list[float]
    scale: list[float]
    threshold: float
    info: dict
    features: tuple[str, ...] = ("content_coverage",)
    reader: dict = field(default_factory=dict)  # the ReaderPolicy stored beside it, carried through refits

    def soft(self, s: Signals) -> float:
        x = (np.array([getattr(s, f) or 0.0 for f in self.features]) - np.array(self.mean)) / np.array(self.scale)
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
            feats = data.get("features")
            if feats and set(feats) <= set(SOFT_FEATURES) and len(data["weights"]) == len(feats):
                return cls(data["weights"], data["bias"], data["mean"], data["scale"], data["threshold"],
                           data.get("info", {}), tuple(feats), data.get("reader") or {})
        except (FileNotFoundError, ValueError, KeyError):
            pass
        return cls.fallback()

    @classmethod
    def fallback(cls) -> "Calibration":
        """Before any fit: the checks alone decide."""
        return cls([0.0], 0.0, [0.0], [1.0], 0.5, {"fitted": False})

    def to_json(self) -> str:
        return json.dumps({"features": list(self.features), "weights": self.weights, "bias": self.bias,
                           "mean": self.mean, "scale": self.scale, "threshold": self.threshold,
                           "info": self.info, **({"reader": self.reader} if self.reader else {})},
                          indent=1, ensure_ascii=False) + "\n"


def fit_calibration(signals_list: list[Signals], answerable: list[bool], min_kept: float = 0.97,
                    l2: float = 10.0, steps: int = 3000, features: tuple[str, ...] | None = None) -> Calibration:
    """Fit the soft score on (dev) questions that pass the checks, then pick the threshold.

    The threshold is the highest score cut that still keeps ``min_kept`` of the answerable
    questions confident: almost no answerable question is flagged, as many unanswerable
    ones as possible are.
    """
    y_all = np.array(answerable, dtype=bool)
    if y_all.all() or not y_all.any():
        raise ValueError("fitting the calibration needs both answerable and unanswerable questions")
    features = features or SOFT_FEATURES
    passing = [i for i, s in enumerate(signals_list) if not failed_checks(s)]
    X = np.array([[getattr(signals_list[i], f) or 0.0 for f in features] for i in passing], dtype=np.float64)
    X = X.reshape(len(passing), len(features))
    y = y_all[passing].astype(np.float64)
    n = len(features)
    mean = X.mean(0) if len(X) else np.zeros(n)
    scale = X.std(0) if len(X) else np.ones(n)
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
                      [round(float(v), 6) for v in scale], 0.5, {}, tuple(features))
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
