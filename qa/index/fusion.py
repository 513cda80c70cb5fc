"""Combining the dense and lexical rankings.

Plain reciprocal-rank fusion of dense and character BM25 does not beat BM25
alone on this article, and a question in English has (almost) no characters in
common with a Chinese text, so the lexical side must stand back for it. The
hybrid score is therefore a *coverage-gated convex blend* of the two
normalised score vectors::

    dense_n  = (cos - min cos) / (max cos - min cos)       over all chunks, in [0, 1]
    lex_n    = bm25 / max bm25                              in [0, 1] (0 if nothing matches)
    w        = LEX_WEIGHT * coverage(question)              coverage: share of the question's
                                                            lexical tokens found in the index
    hybrid   = (1 - w) * dense_n + w * lex_n                in [0, 1], 1 = best on both

A chunk's dense score blends its own cosine with its best sentence's cosine
(:func:`dense_scores`), so a chunk whose one sentence answers is not drowned by
the rest. ``LEX_WEIGHT`` and ``SENTENCE_MIX`` were chosen on the dev part of the
question set (README, "Retrieval quality"); gating by coverage beat the ungated
blend at every weight tried, and plain RRF trailed both.

A chunk that is only a heading (a title, ``三、统筹…`` on a line of its own) shares every topic word
of a question about its section, so it often scores highest, yet it says nothing about the topic:
:func:`headings_last` puts it after the passages among the first few that say something, unless the
question asks about a heading itself (标题, 第一部分, title).
"""
from __future__ import annotations

import re

import numpy as np

LEX_WEIGHT = 0.6
SENTENCE_MIX = 0.5


def minmax(x: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] (all zeros when the values are all equal)."""
    if x.size == 0:
        return x
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def dense_scores(chunk_cos: np.ndarray, sent_cos: np.ndarray, sent_chunk: np.ndarray,
                 mix: float = SENTENCE_MIX) -> np.ndarray:
    """Per-chunk dense score: blend of the chunk cosine and its best sentence's cosine."""
    best = np.full_like(chunk_cos, -1.0)
    np.maximum.at(best, sent_chunk, sent_cos)
    best = np.where(best < -0.5, chunk_cos, best)
    return (1 - mix) * chunk_cos + mix * best


def hybrid(dense: np.ndarray, lex: np.ndarray, coverage: float, lex_weight: float = LEX_WEIGHT) -> np.ndarray:
    """Coverage-gated convex blend of normalised dense and BM25 scores, in [0, 1]."""
    w = lex_weight * coverage
    lx = lex / lex.max() if lex.size and lex.max() > 0 else np.zeros_like(dense)
    return (1 - w) * minmax(dense) + w * lx


#: How many of the best chunks a standalone heading is looked past.
HEADING_DEPTH = 3
#: Questions about a heading itself: the heading is their answer.
_ASKS_HEADING = re.compile(r"标题|题目|题为|章节|第[一二三四五六七八九十\d]+(?:部分|章|节)|\b(?:heading|title|section)s?\b",
                           re.I)


def headings_last(headings: list[bool], question: str, depth: int = HEADING_DEPTH) -> list[int]:
    """The ranked positions in a new order: among the first ``depth``, chunks that are only a heading
    (``headings``, best first) follow the ones that say something; the rest keep their places. The
    order is unchanged when the question asks about a heading or no chunk in reach says anything."""
    n = len(headings)
    top = list(range(min(depth, n)))
    if _ASKS_HEADING.search(question) or all(headings[i] for i in top) or not any(headings[i] for i in top):
        return list(range(n))
    return [i for i in top if not headings[i]] + [i for i in top if headings[i]] + list(range(len(top), n))
