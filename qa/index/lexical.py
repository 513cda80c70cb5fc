"""Lexical search: Chinese-aware tokens and BM25 (bm25s).

Tokens: CJK character unigrams and bigrams, Latin words, and figures kept whole
with their unit (``11.9亿吨``, ``97.52%``, ``2021年``) plus the bare number, so a
question asking for ``11.9亿吨`` matches that figure and not every ``11`` and ``9``.

BM25 is computed here rather than by a library at query time: importing bm25s
(and the scipy it pulls in) costs 0.6 s per process, more than answering. The
scores are bm25s's "lucene" variant exactly (a test compares them with bm25s
itself)::

    idf(t)      = ln(1 + (N - df + 0.5) / (df + 0.5))
    score(t, d) = idf(t) * tf / (tf + k1 * (1 - b + b * len(d) / avglen))

summed over the question's tokens (a token the question repeats counts again).
The index is a compressed-column posting list (``indptr``, chunk ids, the
precomputed ``score(t, d)``) in three ``.npy`` files, memory-mapped on load, and
the vocabulary (token -> id, document frequency) lives in the index's SQLite
store, so opening an index reads neither in full.
"""
from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import numpy as np

#: Bump when tokenisation changes (the index manifest records it).
TOKENIZER_VERSION = 1
K1, B = 1.2, 0.75

_UNITS = (
    "亿千瓦时|万千瓦时|亿千瓦|万千瓦|千瓦时|亿吨|万吨|亿元|万元|亿人|万人|万户|万亩|万公顷|万辆|"
    "个百分点|百分点|平方公里|公里|千米|立方米|吨|元|人|户|起|次|个|项|家|座|条|件|处|名|所|亩|年|月|日|天|倍|成|"
    "%|％|‰|亿|万|千|百"
)
_TOKEN = re.compile(
    rf"(?P<num>\d+(?:[.,]\d+)*(?:{_UNITS})?)"
    r"|(?P<latin>[a-z][a-z0-9]*(?:[.\-][a-z0-9]+)*)"
    r"|(?P<cjk>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)"
)
_BARE_NUM = re.compile(r"\d+(?:[.,]\d+)*")


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def tokenize(text: str) -> list[str]:
    """Tokens for BM25: figures whole (and bare), Latin words, CJK unigrams + bigrams."""
    out: list[str] = []
    for m in _TOKEN.finditer(normalize(text)):
        if m.lastgroup == "num":
            tok = m.group()
            out.append(tok)
            bare = _BARE_NUM.match(tok).group()
            if bare != tok:
                out.append(bare)
        elif m.lastgroup == "latin":
            out.append(m.group())
        else:
            run = m.group()
            out.extend(run)
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def is_cjk_token(token: str) -> bool:
    """A CJK unigram or bigram token (as opposed to a Latin word or a figure)."""
    return "\u3400" <= token[0] <= "\ufaff"


_FIGURE = re.compile(rf"\d+(?:[.,]\d+)*(?:{_UNITS})?")


def figure_spans(text: str) -> list[tuple[int, int]]:
    """Where the figures of ``text`` lie, as ``[start, end)`` character offsets (``1234.7亿千瓦时`` whole)."""
    return [m.span() for m in _FIGURE.finditer(text)]


def figures(text: str) -> list[str]:
    """The figures of ``text`` as whole tokens (``2021年``, ``11.9亿吨``, ``97.52%``)."""
    return [m.group() for m in _TOKEN.finditer(normalize(text)) if m.lastgroup == "num"]


class BM25Stats:
    """Token statistics over the vocabulary, for the checks that weigh a question's tokens.

    One definition for every lexical side (this module's index and the Milvus store's), so the
    short-answer and no-answer checks see the same numbers whichever store holds the index. A
    subclass gives ``lookup(tokens) -> {token: (id, df)}`` and ``n_docs``.
    """

    n_docs: int

    def lookup(self, tokens: Iterable[str]) -> dict[str, tuple[int, int]]:
        raise NotImplementedError

    def has(self, token: str) -> bool:
        """Whether ``token`` occurs anywhere in the indexed text."""
        return token in self.lookup([token])

    def df(self, token: str) -> int:
        return self.lookup([token]).get(token, (0, 0))[1]

    def idf(self, token: str) -> float:
        """BM25-style idf of ``token`` (0 for tokens not in the index)."""
        n = self.df(token)
        if not n:
            return 0.0
        return float(np.log(1 + (self.n_docs - n + 0.5) / (n + 0.5)))

    def coverage(self, query: str) -> float:
        """Share of the question's tokens that occur anywhere in the indexed text."""
        toks = tokenize(query)
        if not toks:
            return 0.0
        found = self.lookup(toks)
        return sum(t in found for t in toks) / len(toks)


class LexicalIndex(BM25Stats):
    """BM25 over :func:`tokenize` tokens, one document per chunk.

    ``vocab``: a mapping-like lookup from token to ``(id, df)`` (a dict when built, the
    index's SQLite table when loaded); ``indptr``/``docs``/``scores``: the postings of token
    ``i`` are ``docs[indptr[i]:indptr[i + 1]]`` with their BM25 contributions.
    """

    def __init__(self, vocab, indptr: np.ndarray, docs: np.ndarray, scores: np.ndarray, n_docs: int,
                 avg_len: float):
        self._vocab = vocab
        self.indptr, self.docs, self.post_scores = indptr, docs, scores
        self.n_docs = int(n_docs)
        self.avg_len = float(avg_len)

    # -- building ------------------------------------------------------------------------
    @classmethod
    def build(cls, texts: Iterable[str], k1: float = K1, b: float = B) -> "LexicalIndex":
        vocab: dict[str, list[int]] = {}  # token -> [id, df]
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        tfs: list[np.ndarray] = []
        lengths: list[int] = []
        for d, text in enumerate(texts):
            toks = tokenize(text)
            lengths.append(len(toks) or 1)
            counts: dict[int, int] = {}
            for t in toks:
                e = vocab.get(t)
                if e is None:
                    e = vocab[t] = [len(vocab), 0]
                counts[e[0]] = counts.get(e[0], 0) + 1
            ids = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            rows.append(ids)
            cols.append(np.full(len(ids), d, dtype=np.int32))
            tfs.append(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
        n_docs = len(lengths)
        tok = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        doc = np.concatenate(cols) if cols else np.zeros(0, np.int32)
        tf = np.concatenate(tfs) if tfs else np.zeros(0, np.float32)
        order = np.lexsort((doc, tok))  # by token, then chunk
        tok, doc, tf = tok[order], doc[order], tf[order]
        df = np.bincount(tok, minlength=len(vocab)).astype(np.int64)
        for e in vocab.values():
            e[1] = int(df[e[0]])
        lens = np.asarray(lengths, dtype=np.float32)
        avg = float(lens.mean()) if n_docs else 1.0
        idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        tfc = tf / (tf + k1 * (1 - b + b * lens[doc] / avg))
        scores = (idf[tok] * tfc).astype(np.float32)
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        return cls({t: (i, dfv) for t, (i, dfv) in vocab.items()}, indptr, doc, scores, n_docs, avg)

    def save(self, folder: Path) -> dict:
        """Write the postings as .npy files into ``folder``; returns the vocabulary rows and stats
        for the store (``{"terms": [(token, id, df), ...], "n_docs": N, "avg_len": L}``)."""
        np.save(folder / "lex_indptr.npy", self.indptr)
        np.save(folder / "lex_docs.npy", self.docs)
        np.save(folder / "lex_scores.npy", self.post_scores)
        return {"terms": [(t, i, d) for t, (i, d) in self._vocab.items()], "n_docs": self.n_docs,
                "avg_len": self.avg_len}

    @classmethod
    def load(cls, folder: Path, vocab, n_docs: int, avg_len: float) -> "LexicalIndex":
        mm = dict(mmap_mode="r")
        return cls(vocab, np.load(folder / "lex_indptr.npy", **mm), np.load(folder / "lex_docs.npy", **mm),
                   np.load(folder / "lex_scores.npy", **mm), n_docs, avg_len)

    # -- vocabulary ----------------------------------------------------------------------
    def lookup_all(self) -> dict[str, tuple[int, int]]:
        """Every token with its (id, df), for an index built in this process."""
        return dict(self._vocab)

    def lookup(self, tokens: Iterable[str]) -> dict[str, tuple[int, int]]:
        """``{token: (id, df)}`` for the tokens that occur in the index."""
        get = getattr(self._vocab, "lookup", None)
        if get is not None:
            return get(tokens)
        return {t: self._vocab[t] for t in dict.fromkeys(tokens) if t in self._vocab}

    def with_prefix(self, prefix: str, limit: int = 64) -> list[tuple[int, int]]:
        """``(id, df)`` of up to ``limit`` vocabulary tokens that begin with ``prefix``."""
        get = getattr(self._vocab, "with_prefix", None)
        if get is not None:
            return get(prefix, limit)
        return [e for t, e in self._vocab.items() if t.startswith(prefix)][:limit]

    # -- scoring -------------------------------------------------------------------------
    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for ``query`` (0 where nothing matches)."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        toks = tokenize(query)
        found = self.lookup(toks)
        for t in toks:
            e = found.get(t)
            if e is not None:
                a, b = int(self.indptr[e[0]]), int(self.indptr[e[0] + 1])
                out[self.docs[a:b]] += self.post_scores[a:b]
        return out

    def candidates(self, query: str, n: int, max_df: float = 0.05) -> np.ndarray:
        """The ``n`` chunks with the highest BM25 score over the question's *selective* tokens.

        Tokens found in more than ``max_df`` of the chunks (common characters such as 的) carry
        little idf and very long postings; leaving them out of candidate generation keeps its cost
        to the postings of the rare tokens (bigrams, figures). Exact scores for the candidates,
        with every token, come from :meth:`scores_for`.
        """
        toks = tokenize(query)
        found = self.lookup(toks)
        entries = [found[t] for t in toks if t in found]
        if not entries:
            return np.zeros(0, dtype=np.int64)
        limit = max(1, int(max_df * self.n_docs))
        chosen = [e for e in entries if e[1] <= limit] or sorted(entries, key=lambda e: e[1])[:3]
        docs = [np.asarray(self.docs[int(self.indptr[i]):int(self.indptr[i + 1])]) for i, _ in chosen]
        vals = [np.asarray(self.post_scores[int(self.indptr[i]):int(self.indptr[i + 1])]) for i, _ in chosen]
        all_docs = np.concatenate(docs)
        uniq, inv = np.unique(all_docs, return_inverse=True)
        acc = np.bincount(inv, weights=np.concatenate(vals), minlength=len(uniq))
        if len(uniq) > n:
            top = np.argpartition(-acc, n - 1)[:n]
            uniq = uniq[top]
        return uniq.astype(np.int64)

    def scores_for(self, query: str, ids: np.ndarray) -> np.ndarray:
        """Exact BM25 scores of the chunks ``ids`` (every token of the question counts)."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.zeros(len(ids), dtype=np.float32)
        if not len(ids):
            return out
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        toks = tokenize(query)
        found = self.lookup(toks)
        for t in toks:
            e = found.get(t)
            if e is None:
                continue
            a, b = int(self.indptr[e[0]]), int(self.indptr[e[0] + 1])
            docs = self.docs[a:b]
            pos = np.searchsorted(docs, sorted_ids)
            pos_c = np.minimum(pos, b - a - 1)
            hit = (pos < b - a) & (np.asarray(docs[pos_c]) == sorted_ids)
            if hit.any():
                out[order[hit]] += np.asarray(self.post_scores[a:b][pos_c[hit]])
        return out


class SQLiteVocab:
    """The vocabulary of a stored index, read on demand from its SQLite ``terms`` table."""

    def __init__(self, connect, lock: threading.Lock | None = None):
        self._connect = connect  # () -> sqlite3.Connection
        self._lock = lock or threading.Lock()
        self._memo: dict[str, tuple[int, int] | None] = {}

    def lookup(self, tokens: Iterable[str]) -> dict[str, tuple[int, int]]:
        want = list(dict.fromkeys(tokens))
        todo = [t for t in want if t not in self._memo]
        if todo:
            if len(self._memo) > 100_000:
                self._memo.clear()
            db = self._connect()
            for i in range(0, len(todo), 900):
                part = todo[i:i + 900]
                with self._lock:
                    rows = db.execute(f"SELECT token, id, df FROM terms WHERE token IN "
                                      f"({','.join('?' * len(part))})", part).fetchall()
                got = {t: (i_, d) for t, i_, d in rows}
                for t in part:
                    self._memo[t] = got.get(t)
        return {t: self._memo[t] for t in want if self._memo.get(t) is not None}

    def with_prefix(self, prefix: str, limit: int = 64) -> list[tuple[int, int]]:
        with self._lock:
            rows = self._connect().execute(
                "SELECT id, df FROM terms WHERE token >= ? AND token < ? LIMIT ?",
                (prefix, prefix + "\U0010ffff", limit)).fetchall()
        return [(i, d) for i, d in rows]
