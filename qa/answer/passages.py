"""Passages: the ranked chunks a user sees, each with the sentence that answers best, and the answer.

``Passage`` and ``Answer`` are the public contract (``qa.retriever``): offsets are character positions
in the source document, so ``document[start:end] == text`` and ``document[short_start:short_end] ==
short`` always hold. A stage may move a passage to the top (``promote``) or point its answer
sentence at the sentence a short answer sits in (``move_answer``); nothing else changes a passage.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..index import fusion
from . import sentences


@dataclass
class Passage:
    """A retrieved chunk. Offsets are character positions in the source document."""

    text: str
    score: float
    rank: int
    doc: str
    section: str
    start: int
    end: int
    answer: str
    answer_start: int
    answer_end: int
    page: int | None = None  # 1-based page of the passage's start, for paged documents (PDF)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Answer:
    """The answer sentence (None when the documents do not seem to answer), its short span, and the passages.

    ``short`` is None when no crisp span fits (why/how questions: the sentence is the answer) and
    whenever ``confident`` is False.
    """

    answer: str | None
    confident: bool
    passages: list[Passage]
    notes: list[str] = field(default_factory=list)  # e.g. "question was cut"; not part of to_dict()
    short: str | None = None  # the crisp answer (11.9亿吨) inside the answer sentence, when one fits
    short_start: int | None = None  # document offsets: document[short_start:short_end] == short
    short_end: int | None = None
    resolved: str | None = None  # the question as understood from the conversation (None without a history)

    def to_dict(self) -> dict:
        return {"answer": self.answer, "confident": self.confident, "short": self.short,
                "short_start": self.short_start, "short_end": self.short_end, "resolved": self.resolved,
                "passages": [p.to_dict() for p in self.passages]}


def question_tokens(question: str) -> list[str]:
    return sentences.content_tokens(question) or sentences.lexical.tokenize(question)


def passage(index, chunk, score: float, rank: int, q_vec: np.ndarray, q_tokens: list[str]) -> Passage:
    """``chunk`` as a passage, with the sentence of it that answers best."""
    lo, hi = (int(x) for x in index.store.chunk_sents[chunk.id])
    texts = [chunk.text[a - chunk.start:b - chunk.start] for a, b in chunk.sentences]
    vecs = index.store.take(index.sentence_vectors, np.arange(lo, hi))
    best, _ = sentences.best_sentence(q_vec, vecs, texts, q_tokens, index.lexical,
                                      headings=sentences.heading_sentences(chunk.section, texts))
    a, b = chunk.sentences[best]
    return Passage(text=chunk.text, score=round(score, 6), rank=rank, doc=chunk.doc, section=chunk.section,
                   start=chunk.start, end=chunk.end, answer=texts[best], answer_start=a, answer_end=b, page=chunk.page)


def rank(index, question: str, ranking, mode: str, k: int) -> tuple[list[Passage], list]:
    """The top ``k`` passages of ``ranking`` by ``mode``, each with its answer sentence, and their chunks. A
    chunk that is only its heading follows the passages near the top that say something."""
    ids, scores = ranking.top(mode, max(k, fusion.HEADING_DEPTH))
    chunks = index.store.get_chunks(ids)
    perm = fusion.headings_last([sentences.heading_only(c.section, c.text) for c in chunks], question)[:k]
    chunks, scores = [chunks[i] for i in perm], scores[perm]
    q_tokens = question_tokens(question)
    out = [passage(index, c, float(s), r, ranking.vector, q_tokens) for r, (c, s) in enumerate(zip(chunks, scores), 1)]
    return out, chunks


def promote(passages: list[Passage], chunks: list, j: int) -> None:
    """Move passage ``j`` (and its chunk) to the top, renumbering the ranks."""
    passages.insert(0, passages.pop(j))
    chunks.insert(0, chunks.pop(j))
    for r, p in enumerate(passages, 1):
        p.rank = r


def move_answer(p: Passage, chunk, short) -> None:
    """Make the sentence that holds the short answer the passage's answer sentence (the sentences from the
    one it starts in to the one it ends in, for a span that runs over a sentence end)."""
    first = next((i for i, (a, b) in enumerate(chunk.sentences) if a <= short.start < b), None)
    last = next((i for i, (a, b) in enumerate(chunk.sentences) if a < short.end <= b), None)
    if first is None or last is None or last < first:
        return
    a, b = chunk.sentences[first][0], chunk.sentences[last][1]
    p.answer, p.answer_start, p.answer_end = chunk.text[a - chunk.start:b - chunk.start], a, b
