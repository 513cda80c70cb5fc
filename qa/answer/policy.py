"""Deciding: the one place where a question's journey turns into an answer or an honest "no answer".

Reading leaves :class:`Evidence`: the spans that may answer (the reader's best, the best of the asked
kind, the phrase rules' span), each with the no-answer signals measured on it (:mod:`.noanswer`).
:func:`decide` turns it into a :class:`Decision` under a :class:`Policy`, the thresholds fitted on dev
questions (``training/calibrate.py``, which calls this same function):

* with the reader, the span of the asked kind replaces the reader's best when it scores within
  ``swap_within`` of it; the rules' tied span replaces the reader's while the reader is unsure
  (``rules_below``); then the reader's margin must reach ``min_margin`` and each check counts while the
  margin is below its own bar (:meth:`ReaderPolicy.verdict`);
* without it (``QA_READER=0``, questions about who wrote a document), the checks and a soft score of
  content coverage decide (:class:`Calibration`).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from importlib import resources

import numpy as np

from .noanswer import SOFT_FEATURES, Signals, checks_by_kind, failed_checks
from .query import FIGURES_AND_TIMES, SCOPES, Query
from .spans import Short


@dataclass(frozen=True)
class Candidate:
    """A span that may answer (None: none), the reader's margin for it, and the signals measured on it."""

    short: Short | None
    margin: float | None
    signals: Signals


@dataclass(frozen=True)
class Evidence:
    """What reading the top passage left for :func:`decide`.

    ``rule``: the phrase rules' span and its signals (the answer where the reader does not read);
    ``best``/``typed``: the reader's best span and the best-scored span of the asked kind, where the
    best is not one (None where the reader did not read); ``fits``: the best is of the asked kind;
    ``none``: the signals with no span at all; ``typed_checks``: check 3 judged on the rules' span."""

    query: Query
    rule: Candidate
    none: Signals
    best: Candidate | None = None
    typed: Candidate | None = None
    fits: bool = True
    typed_checks: tuple[str, ...] = ()
    found: bool = True  # the index had passages to read
    top_score: float | None = None  # the dense similarity of the question to the top passage

    @property
    def read(self) -> bool:
        return self.best is not None


@dataclass(frozen=True)
class Decision:
    """The span chosen (``short``; shown only when ``shown``), whether to answer, the reasons when not, and
    the spans whose sentences became the top passage's answer sentence, in order (``anchors``)."""

    short: Short | None
    confident: bool
    reasons: tuple[str, ...] = ()
    anchors: tuple[Short, ...] = ()
    signals: Signals | None = None  # what the verdict was reached on

    @property
    def shown(self) -> Short | None:
        """The short answer as shown: confident, tied to the question and crisp, else None."""
        s = self.short
        return s if self.confident and s is not None and s.tied and s.crisp else None


def decide(ev: Evidence, policy: "Policy") -> Decision:
    """Answer or not, and with which span (see the module docstring)."""
    if not ev.read:  # the phrase rules alone
        sig = ev.rule.signals
        ok = ev.found and policy.calibration.probability(sig) >= policy.calibration.threshold
        return Decision(ev.rule.short, ok, () if ok else tuple(failed_checks(sig)), signals=sig)
    pick, fits = ev.best, ev.fits
    if not ev.fits and ev.best.margin is not None and ev.typed is not None \
            and ev.best.margin - ev.typed.margin <= policy.reader.swap_within:
        pick, fits = ev.typed, True  # the span of the asked kind, which the reader nearly prefers
    margin, short, sig = pick.margin, pick.short, pick.signals
    anchors = [short] if short is not None else []  # the span says which sentence answers
    if short is not None and ev.query.want == "how":
        short, sig = None, ev.none  # why, how: that sentence is the answer
    rule = ev.rule.short
    ruled = rule is not None and rule.tied and rule.crisp and (margin is None or margin < policy.reader.rules_below)
    if ruled:
        short, sig, fits = rule, ev.rule.signals, True  # a span of the asked kind, tied to the question
        anchors.append(rule)
    sig = replace(sig, reader_margin=margin, typed_checks=list(ev.typed_checks), english=ev.query.english,
                  wrong_kind=not fits, ruled=ruled, top_score=ev.top_score)
    ok, reasons = policy.reader.verdict(sig)
    ok = ok and ev.found
    return Decision(short, ok, () if ok else tuple(reasons), tuple(anchors), sig)


#: The note when the reader finds no answer in the passage.
READER_NO = "最相关的段落里找不到这个问题的答案 (the best passage does not answer the question)"
#: The note when an English question is far from everything the documents say.
FAR_OFF = "问题与文中所有段落都相去甚远 (the question is far from everything the documents say)"


@dataclass
class ReaderPolicy:
    """How the reader's no-answer margin combines with the checks; fitted on dev by ``training/calibrate.py``.

    * ``min_margin``: below it the reader says the passage does not answer (a Chinese question);
    * a name of the question that the documents never use (nor a variant of it: 隋朝 for 隋国) always
      counts: a sure reader answers 青松项目's sum from 银杏项目's note, word for word alike;
    * each other check counts only while the reader's margin is below its own bar: ``figures_below``,
      ``qualifiers_below`` (checks 1, 4, on the reader's clause; qualifiers only of a figure or a
      time, ``FIGURES_AND_TIMES``: in a question for a name the qualifier is part of the
      description, which the reader matches itself) and ``checks_below`` (the typed check,
      3, judged on the rules' span). A reader sure of its span overrules a check; an unsure one does not;
    * ``rules_below``: while the margin is below it, a span of the asked kind that the rules tie to the
      question replaces the reader's span;
    * ``ruled_min``: the ``min_margin`` that holds where the rules' span answers (None: the same);
    * ``swap_within``, ``kinds_below``: a reader's span that is not of the figure or time asked for gives
      way to the best span that is, when the reader scores it within ``swap_within`` of its own; else it
      counts as the wrong kind (a check) while the margin is below ``kinds_below`` (:mod:`.reading`).

    A question without a topic of its own (5) is never answered. A question in English needs the reader
    to find a span (for why and how too, though the sentence answers those) and a top passage within
    reach: a dense similarity of at least ``english_min_score``, which ``training/calibrate.py`` sets far
    below the lowest that an answerable English dev question scores. Where the rules give the span it is
    judged by the checks, not by the margin (the reader learned Chinese questions only: its margins for
    English run low even where it is right); a span of the reader's alone must clear ``min_margin``, as
    for a Chinese question.
    """

    min_margin: float = -8.0
    checks_below: float = 6.0
    rules_below: float = 6.0
    info: dict = field(default_factory=dict)
    figures_below: float = 99.0
    qualifiers_below: float = 99.0
    kinds_below: float = 6.0
    swap_within: float = 5.0
    ruled_min: float | None = None
    english_min_score: float = -1.0

    FIELDS = ("min_margin", "checks_below", "rules_below", "figures_below", "qualifiers_below",
              "kinds_below", "swap_within", "ruled_min", "english_min_score")

    def verdict(self, s: Signals) -> tuple[bool, list[str]]:
        """Whether to answer on the reader's signals, and the reasons when not."""
        if s.want not in FIGURES_AND_TIMES and not s.english and s.missing_qualifiers:
            s = replace(s, missing_qualifiers=[w for w in s.missing_qualifiers if w in SCOPES])
        checks = checks_by_kind(s)
        if checks["topic"]:
            return False, checks["topic"]
        if s.english:
            failed = [note for notes in checks.values() for note in notes] + list(s.typed_checks)
            if not failed and s.reader_margin is None:
                failed = [READER_NO]
            if not failed and not s.ruled and s.want != "how" and s.reader_margin < self.min_margin:
                failed = [READER_NO]
            if not failed and s.top_score is not None and s.top_score < self.english_min_score:
                failed = [FAR_OFF]
            return not failed, failed
        m = s.reader_margin
        bars = {"figures": self.figures_below, "qualifiers": self.qualifiers_below, "kinds": self.kinds_below}
        if checks["names"]:  # never overruled; the other checks that fail are named beside it
            return False, [note for name, notes in checks.items() if name == "names" or (
                name in bars and (m is None or m < bars[name])) for note in notes]
        if m is None:
            return False, [READER_NO]
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


@dataclass
class Policy:
    """The fitted thresholds: the reader's (:class:`ReaderPolicy`) and, without it, the soft score's."""

    reader: ReaderPolicy
    calibration: Calibration

    @classmethod
    def load(cls, path=None) -> "Policy":
        """The policy in ``path``, by default the one shipped in ``qa/data/calibration.json``."""
        return cls(ReaderPolicy.load(path), Calibration.load(path))
