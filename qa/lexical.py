"""Lexical search: Chinese-aware tokens and BM25 (bm25s).

Tokens: CJK character unigrams and bigrams, Latin words, and figures kept whole
with their unit (``11.9亿吨``, ``97.52%``, ``2021年``) plus the bare number, so a
question asking for ``11.9亿吨`` matches that figure and not every ``11`` and ``9``.
"""
from __future__ import annotations

import json
import re
import unicodedata
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


def figures(text: str) -> list[str]:
    """The figures of ``text`` as whole tokens (``2021年``, ``11.9亿吨``, ``97.52%``)."""
    return [m.group() for m in _TOKEN.finditer(normalize(text)) if m.lastgroup == "num"]


class LexicalIndex:
    """BM25 over :func:`tokenize` tokens, one document per chunk."""

    def __init__(self, bm25, df: dict[str, int]):
        self.bm25 = bm25
        self.df = df  # token -> number of chunks containing it
        self.vocab = df.keys()
        self.n_docs = int(bm25.scores["num_docs"])

    @classmethod
    def build(cls, texts: list[str]) -> "LexicalIndex":
        import bm25s

        corpus = [tokenize(t) or ["\u0000"] for t in texts]
        bm25 = bm25s.BM25(k1=K1, b=B)
        bm25.index(corpus, show_progress=False)
        df: dict[str, int] = {}
        for doc in corpus:
            for t in set(doc):
                df[t] = df.get(t, 0) + 1
        return cls(bm25, df)

    def idf(self, token: str) -> float:
        """BM25-style idf of ``token`` (0 for tokens not in the index)."""
        n = self.df.get(token, 0)
        if not n:
            return 0.0
        return float(np.log(1 + (self.n_docs - n + 0.5) / (n + 0.5)))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for ``query`` (0 where nothing matches)."""
        toks = [t for t in tokenize(query) if t in self.vocab]
        if not toks:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(toks), dtype=np.float32)

    def coverage(self, query: str) -> float:
        """Share of the question's tokens that occur anywhere in the indexed text."""
        toks = tokenize(query)
        if not toks:
            return 0.0
        return sum(t in self.vocab for t in toks) / len(toks)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.bm25.save(str(folder), show_progress=False)
        (folder / "df.json").write_text(json.dumps(dict(sorted(self.df.items())), ensure_ascii=False),
                                        encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        import bm25s

        bm25 = bm25s.BM25.load(str(folder), show_progress=False)
        df = json.loads((folder / "df.json").read_text(encoding="utf-8"))
        return cls(bm25, df)
