"""Search: every chunk that may answer a question, scored by every mode at once.

Scores (higher is better) by mode:

* ``hybrid`` (default): in [0, 1], the coverage-gated blend of min-max normalised dense cosine and
  BM25 described in :mod:`qa.index.fusion`; 1 = best chunk on both.
* ``dense``: the chunk's dense score, a cosine in [-1, 1] (about 0.75 to 0.9 for this model).
* ``lexical``: the raw BM25 score, >= 0 (0 = no token in common).

A small index is scored whole; a large one (with an ANN store) on the union of its dense and its
lexical candidates, so a question costs the same whatever the size of the library.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import fusion

MODES = ("hybrid", "dense", "lexical")
#: Candidates taken from each of the dense and the lexical side of a large index.
CANDIDATES = 200


@dataclass(frozen=True)
class Ranking:
    """The scores of one question: ``ids`` are the chunks scored (None: every chunk, in order)."""

    vector: np.ndarray  # the question's embedding
    ids: np.ndarray | None
    dense: np.ndarray
    lexical: np.ndarray
    hybrid: np.ndarray

    def scores(self, mode: str) -> np.ndarray:
        return {"dense": self.dense, "lexical": self.lexical, "hybrid": self.hybrid}[mode]

    def top(self, mode: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` best chunk ids by ``mode``, best first (ties in index order), and their scores."""
        scores = self.scores(mode)
        order = np.argsort(-scores, kind="stable")[:n]
        return (order if self.ids is None else self.ids[order]), scores[order]

    def score_of(self, chunk_id: int, mode: str = "hybrid") -> float:
        """The score of one chunk (0 when it was not among the candidates)."""
        scores = self.scores(mode)
        if self.ids is None:
            return float(scores[chunk_id])
        at = np.flatnonzero(np.asarray(self.ids) == chunk_id)
        return float(scores[at[0]]) if len(at) else 0.0


def search(index, question: str, vector: np.ndarray, sent_chunk) -> Ranking:
    """Score the chunks of ``index`` for ``question`` (embedded as ``vector``). ``sent_chunk()`` gives
    sentence -> chunk for scoring every chunk (read only when the index is scored whole)."""
    if index.store.ann is None:
        ids = None
        chunk_cos = np.asarray(index.chunk_vectors @ vector, dtype=np.float32)
        sent_cos = index.sentence_vectors @ vector if len(index.sentence_vectors) else np.zeros(0, np.float32)
        dense = fusion.dense_scores(chunk_cos, sent_cos, sent_chunk())
        lex = index.lexical.scores(question)
    else:
        store = index.store
        ids = np.union1d(store.dense_candidates(vector, CANDIDATES), index.lexical.candidates(question, CANDIDATES))
        chunk_cos = np.asarray(store.take(index.chunk_vectors, ids) @ vector, dtype=np.float32)
        bounds = np.asarray(store.chunk_sents[ids])
        sent_ids = np.concatenate([np.arange(a, b) for a, b in bounds]) if len(ids) else np.zeros(0, np.int64)
        owner = np.repeat(np.arange(len(ids)), bounds[:, 1] - bounds[:, 0]) if len(ids) else sent_ids
        sent_cos = store.take(index.sentence_vectors, sent_ids) @ vector if len(sent_ids) else np.zeros(0, np.float32)
        dense = fusion.dense_scores(chunk_cos, sent_cos.astype(np.float32), owner)
        lex = index.lexical.scores_for(question, ids)
    return Ranking(vector, ids, dense, lex, fusion.hybrid(dense, lex, index.lexical.coverage(question)))
