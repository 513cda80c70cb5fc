"""Typed reading: a question that asks for a figure or a time is answered with a span of that kind.

The reader scores spans; the grammar of figures and times (:mod:`.spans`) says which spans of a
passage are of the kind the question asks for (多少户 a count of 户, 占多大比例 a percent, 第几次 an
ordinal) and which the question itself states. When the reader's best span holds none of them (五年
for 第几回, 99% for 多少项) it is guessing: the best-scored span of the asked kind takes its place
when the reader nearly prefers it (:attr:`ReaderPolicy.swap_within`), and otherwise the span counts
as the wrong kind, a check that a sure reader overrules (:attr:`ReaderPolicy.kinds_below`: the
grammar misses spans it does not know, 八百余年, 2000余辆, and a sure reader is right about them).
"""
from __future__ import annotations

from typing import NamedTuple

from . import spans
from .query import FIGURES_AND_TIMES, Query
from .reader import Reading, Span

#: The kinds whose spans the grammar finds reliably: figures and times.
KINDS = FIGURES_AND_TIMES


class Choice(NamedTuple):
    best: Span | None  # the reader's best span
    typed: Span | None  # the best-scored span of the asked kind, where ``best`` is not one
    fits: bool  # ``best`` is of the asked kind, or the question asks for no kind the grammar knows


def applies(query: Query) -> bool:
    """Whether ``query`` is read for a span of its kind (a Chinese question asking for a figure or a time)."""
    return not query.english and query.want in KINDS


def kind_spans(query: Query, text: str, sentences: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans of ``text`` of the kind ``query`` asks for, as ``[a, b)`` offsets into ``text``, not the
    ones the question states (``sentences``: the sentences' offsets into ``text``)."""
    out = []
    for s0, s1 in sentences:
        out += [(s0 + c.start, s0 + c.end) for c in spans.candidates(query, text[s0:s1])]
    return out


def read(query: Query, reading: Reading, text: str, sentences: list[tuple[int, int]]) -> Choice:
    """The reader's best span of ``text`` and, where it holds no span of the kind ``query`` asks for,
    the best-scored span that is one."""
    best = reading.best()
    if best is None or not applies(query):
        return Choice(best, None, True)
    kind = kind_spans(query, text, sentences)
    if any(a < best.end and best.start < b for a, b in kind):
        return Choice(best, None, True)
    scored = [s for s in (reading.span(a, b) for a, b in kind) if s is not None]
    return Choice(best, max(scored, key=lambda s: s.margin, default=None), False)


def choose(choice: Choice, swap_within: float) -> tuple[Span | None, bool]:
    """The span to answer with, and whether it is of the asked kind: the span of that kind when the
    reader scores it within ``swap_within`` of its best."""
    if choice.fits or choice.best is None:
        return choice.best, True
    if choice.typed is not None and choice.best.margin - choice.typed.margin <= swap_within:
        return choice.typed, True
    return choice.best, False
