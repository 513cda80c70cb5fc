"""Reading the top passages with the span reader: which span answers, and how sure the reader is.

Three ideas, in the order a question meets them:

* **Promotion by margin.** Retrieval ranks chunks by how much they share with the question; the
  reader knows whether one answers it. The next passages that retrieval scores nearly as high as the
  top one (``PROMOTE_RATIO``) are read too, and one whose span the reader is far surer of
  (``PROMOTE_GAP``) moves to the top.
* **Two views of the top chunk.** It is read alone and inside up to ``CONTEXT_CHARS`` characters of
  whole chunks of its own paragraph; the two readings' logits, averaged (``CONTEXT_WEIGHT``), choose
  the span, which stays in the chunk. How sure the reader is stays the chunk-alone reading's score of
  that span: scored in context, a chunk whose answer sentence is cut borrows surer spans from its
  neighbours.
* **Typed reading.** A question that asks for a figure or a time is answered with a span of that kind.
  The grammar of figures and times (:mod:`.spans`) says which spans of the passage are of the asked
  kind (多少户 a count of 户, 占多大比例 a percent) and which the question itself states. When the
  reader's best span holds none of them it is guessing: the best-scored span of the asked kind takes
  its place when the reader nearly prefers it (``ReaderPolicy.swap_within``, applied in
  :func:`qa.answer.policy.decide`), otherwise the span counts as the wrong kind, a check that a sure
  reader overrules (the grammar misses spans it does not know, 八百余年, and a sure reader is right).
"""
from __future__ import annotations

from typing import NamedTuple

from ..index import lexical
from . import spans
from .query import FIGURES_AND_TIMES, Query, clause_bounds
from .reader import Reading, Span

#: A passage this far down, scoring at least this share of the top one's, may move to the top.
PROMOTE_DEPTH = 3
PROMOTE_RATIO = 0.85
#: How much surer of its span in such a passage than in the top one the reader must be for it to move up
#: (chosen end to end on the article's dev split and the DRCD fit half: 2, 5, 8 and 10 flagged fewer
#: near misses, 16 answered fewer right).
PROMOTE_GAP = 12.0
#: The context each side of the top chunk, and the context view's share of the averaged logits (chosen on
#: the dev sets: training/README.md).
CONTEXT_CHARS = 150
CONTEXT_WEIGHT = 0.5
#: A reader span longer than this (characters) is not shown as the short answer: the sentence is.
SHORT_MAX_CHARS = 40


class Choice(NamedTuple):
    best: Span | None  # the reader's best span
    typed: Span | None  # the best-scored span of the asked kind, where ``best`` is not one
    fits: bool  # ``best`` is of the asked kind, or the question asks for no kind the grammar knows


def applies(query: Query) -> bool:
    """Whether ``query`` is read for a span of its kind (a Chinese question asking for a figure or a time)."""
    return not query.english and query.want in FIGURES_AND_TIMES


def kind_spans(query: Query, text: str, sentences: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans of ``text`` of the kind ``query`` asks for, as ``[a, b)`` offsets into ``text``, not the
    ones the question states (``sentences``: the sentences' offsets into ``text``)."""
    out = []
    for s0, s1 in sentences:
        out += [(s0 + c.start, s0 + c.end) for c in spans.candidates(query, text[s0:s1])]
    return out


def typed_read(query: Query, reading: Reading, text: str, sentences: list[tuple[int, int]]) -> Choice:
    """The reader's best span of ``text`` and, where it holds no span of the kind ``query`` asks for,
    the best-scored span that is one."""
    best = reading.best()
    if best is None or not applies(query):
        return Choice(best, None, True)
    kind = kind_spans(query, text, sentences)
    inside = [(a, b) for a, b in kind if best.start <= a and b <= best.end]
    if inside and not query.several and len(spans.figures(text[best.start:best.end])) > 1:
        # one figure asked, a run of figures read (11.9亿吨、增长10.5%): the asked kind's best-scored one
        narrowed = max((s for s in (reading.span(a, b) for a, b in inside) if s is not None),
                       key=lambda s: s.margin, default=None)
        return Choice(narrowed or best, None, True)
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


def context_window(store, chunk, chars: int) -> tuple[str, int]:
    """``chunk`` with the whole chunks of its own paragraph, up to ``chars`` characters on each side,
    and where the chunk starts in that text."""
    try:
        doc = store.documents[chunk.doc]
        near = {c.id: c for c in store.get_chunks(
            i for i in range(chunk.id - 3, chunk.id + 4) if 0 <= i < store.n_chunks and i != chunk.id)}
    except (KeyError, OSError):
        return chunk.text, 0
    a, b = chunk.start, chunk.end
    for step in (-1, 1):
        j, room = chunk.id + step, chars
        while (n := near.get(j)) is not None and n.doc == chunk.doc and len(n.text) <= room:
            if "\n" in (doc[n.end:a] if step < 0 else doc[b:n.start]):
                break
            a, b = (n.start, b) if step < 0 else (a, n.end)
            room, j = room - len(n.text), j + step
    return doc[a:b], chunk.start - a


class PassageReader:
    """The span reader over the chunks of one index, for one question at a time (``lock``: one inference
    at a time, which on two cores loses nothing)."""

    def __init__(self, reader, store, lock):
        self.reader, self.store, self.lock = reader, store, lock
        self._alone: dict[int, Reading | None] = {}

    def alone(self, question: str, chunk) -> Reading | None:
        """The reading of ``chunk`` alone (kept: a chunk is read alone once per question)."""
        if chunk.id not in self._alone:
            with self.lock:
                self._alone[chunk.id] = self.reader.readings(question, [chunk.text])[0]
        return self._alone[chunk.id]

    def best_span(self, question: str, chunk) -> Span | None:
        """The reader's best span in ``chunk`` alone, without the kind swap or the context."""
        with self.lock:
            return self.reader.read(question, [chunk.text])[0]

    def choice(self, question: str, query: Query, chunk, in_context: bool = False) -> Choice:
        """The reader's best span in ``chunk`` and, when it is not of the asked kind, the best one that is.
        ``in_context``: the chunk is also read inside its paragraph and the averaged logits choose."""
        alone = reading = self.alone(question, chunk)
        if alone is None:
            return Choice(None, None, True)
        window, lo = context_window(self.store, chunk, CONTEXT_CHARS) if in_context else (chunk.text, 0)
        if len(window) > len(chunk.text):
            with self.lock:
                wide = self.reader.readings(question, [window])[0]
            if wide is not None:
                reading = alone.blend(wide.within(lo, lo + len(chunk.text)), CONTEXT_WEIGHT)
        choice = typed_read(query, reading, chunk.text,
                            [(a - chunk.start, b - chunk.start) for a, b in chunk.sentences])
        if reading is alone:
            return choice

        def sure(span):  # how sure the reader is of that span: as scored on the chunk alone
            return span and (alone.span(span.start, span.end) or span)

        return Choice(sure(choice.best), sure(choice.typed), choice.fits)

    def top(self, question: str, query: Query, scores: list[float], chunks: list,
            swap_within: float) -> tuple[Choice, int]:
        """Read the top chunk and the next ones retrieval scores nearly as high; returns the reading of the
        chunk to put on top (read in its context) and its place in ``chunks`` (0: the top one stays)."""
        top = self.choice(question, query, chunks[0])
        found, fits = choose(top, swap_within)
        best_j, best, best_margin = 0, top, found.margin if found is not None else None
        for j in range(1, min(PROMOTE_DEPTH, len(chunks)) if found is not None else 0):
            if scores[j] < PROMOTE_RATIO * scores[0]:
                break
            other = self.choice(question, query, chunks[j])
            f, ok = choose(other, swap_within)
            if f is not None and (ok or not fits) and f.margin - found.margin > PROMOTE_GAP and f.margin > best_margin:
                best_j, best, best_margin = j, other, f.margin
        if best.best is not None and CONTEXT_WEIGHT > 0:
            best = self.choice(question, query, chunks[best_j], in_context=True)
        return best, best_j


#: Characters trimmed from the ends of a reader span: spaces and punctuation that only separate.
_TRIM = " \t\r\n\u3000，,。．.；;：:、！!？?"
_PAIRS = {"“": "”", "「": "」", "『": "』", "《": "》", "（": "）", "(": ")", "【": "】", "‘": "’", "\"": "\""}
_CLOSERS = {v: k for k, v in _PAIRS.items()}


def reader_short(chunk, span: Span | None) -> spans.Short | None:
    """The reader's span as a short answer at document offsets: separators trimmed from its ends, an
    opening or closing mark whose partner lies outside the span dropped, and a figure kept whole."""
    if span is None:
        return None
    text = chunk.text
    a, b = span.start, span.end
    while True:
        a0, b0 = a, b
        while a < b and text[a] in _TRIM:
            a += 1
        while b > a and text[b - 1] in _TRIM:
            b -= 1
        if a < b and text[a] in _PAIRS and _PAIRS[text[a]] not in text[a + 1:b]:
            a += 1
        if a < b and text[b - 1] in _CLOSERS and _CLOSERS[text[b - 1]] not in text[a:b - 1]:
            b -= 1
        if (a, b) == (a0, b0):
            break
    if a >= b:
        return None
    for fa, fb in lexical.figure_spans(text):  # a figure stays whole with its unit: 1234.7亿千瓦时, not 亿千瓦
        if fa < a < fb:
            a = fa
        if fa < b < fb:
            b = fb
    lo, hi = clause_bounds(text, a, b)
    sentence = next((i for i, (x, y) in enumerate(chunk.sentences) if x <= chunk.start + a < y), 0)
    return spans.Short(text[a:b], chunk.start + a, chunk.start + b, "reader", True, sentence, round(span.margin, 4),
                       text[lo:hi], crisp=(b - a) <= SHORT_MAX_CHARS)
