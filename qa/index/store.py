"""One generation of an index on disk, read by id: SQLite for text, ``.npy`` for numbers.

A generation folder holds::

    store.sqlite        documents (name, full text, hash, format, ...), chunks (text, section,
                        offsets, page, content hash), sentence hashes, the BM25 vocabulary
    chunk_vecs.npy      (chunks, dim) float32, L2-normalised passage vectors
    sent_vecs.npy       (sentences, dim) float32, one per sentence of every chunk
    chunk_sents.npy     (chunks, 2) int64: the sentence rows [lo, hi) of each chunk
    sent_spans.npy      (sentences, 3) int64: chunk id, start, end (document offsets)
    lex_*.npy           BM25 postings (see :mod:`qa.index.lexical`)

Why this split: a question needs the vectors of every chunk (or of an ANN index) and
the text of only the handful it returns. Arrays are memory-mapped, so opening reads
almost nothing and the operating system pages in what a query touches; chunk and
document text stay in SQLite until asked for, by id. The same layout serves the
47 chunks of the article and a library of a million (where ``dense.faiss`` adds an
approximate index over ``chunk_vecs.npy``).

Every row of ``chunks`` and ``sentences`` carries the SHA-1 of the text the model
encoded, so a rebuild re-encodes only text it has not seen (:func:`vector_cache`).
"""
from __future__ import annotations

import hashlib
import json
import mmap
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..ingest.chunking import Chunk
from .lexical import LexicalIndex, SQLiteVocab, is_cjk_token, normalize, tokenize

STORE_DB = "store.sqlite"
ANN_FILE = "dense.faiss"
#: Up to this many chunks, :meth:`Store.contains` scans the text instead of using postings.
SCAN_CHUNKS = 5000

SCHEMA = """
CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE documents (
    name TEXT PRIMARY KEY, text TEXT NOT NULL, sha256 TEXT NOT NULL, chars INTEGER NOT NULL,
    info TEXT NOT NULL DEFAULT '{}');
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY, doc TEXT NOT NULL, section TEXT NOT NULL, text TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, page INTEGER, hash TEXT NOT NULL);
CREATE TABLE sentences (id INTEGER PRIMARY KEY, hash TEXT NOT NULL);
CREATE TABLE terms (token TEXT PRIMARY KEY, id INTEGER NOT NULL, df INTEGER NOT NULL) WITHOUT ROWID;
"""


def text_hash(text: str) -> str:
    """Key of an encoded text in the vector cache."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def write_generation(folder: Path, documents: dict[str, dict], chunks: Sequence[Chunk],
                     chunk_vecs: np.ndarray, sent_vecs: np.ndarray, sent_hashes: Sequence[str],
                     chunk_hashes: Sequence[str], lexical: LexicalIndex, meta: dict) -> None:
    """Write one generation into the (new, empty) ``folder``.

    ``documents``: name -> {"text", "sha256", **info}; sentence rows follow the chunks'
    ``sentences`` in order.
    """
    lex = lexical.save(folder)
    np.save(folder / "chunk_vecs.npy", np.ascontiguousarray(chunk_vecs, dtype=np.float32))
    np.save(folder / "sent_vecs.npy", np.ascontiguousarray(sent_vecs, dtype=np.float32))
    lo = 0
    bounds = np.zeros((len(chunks), 2), dtype=np.int64)
    spans = np.zeros((sum(len(c.sentences) for c in chunks), 3), dtype=np.int64)
    for c in chunks:
        n = len(c.sentences)
        bounds[c.id] = (lo, lo + n)
        spans[lo:lo + n, 0] = c.id
        if n:
            spans[lo:lo + n, 1:] = np.asarray(c.sentences, dtype=np.int64)
        lo += n
    np.save(folder / "chunk_sents.npy", bounds)
    np.save(folder / "sent_spans.npy", spans)
    db = sqlite3.connect(folder / STORE_DB)
    try:
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO meta VALUES (?, ?)",
                       ((k, json.dumps(v, ensure_ascii=False)) for k, v in
                        {**meta, "n_docs": lex["n_docs"], "avg_len": lex["avg_len"]}.items()))
        db.executemany("INSERT INTO documents VALUES (?, ?, ?, ?, ?)", (
            (name, d["text"], d["sha256"], len(d["text"]),
             json.dumps({k: v for k, v in d.items() if k not in ("text", "sha256")}, ensure_ascii=False))
            for name, d in documents.items()))
        db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       ((c.id, c.doc, c.section, c.text, c.start, c.end, c.page, h)
                        for c, h in zip(chunks, chunk_hashes)))
        db.executemany("INSERT INTO sentences VALUES (?, ?)", enumerate(sent_hashes))
        db.executemany("INSERT INTO terms VALUES (?, ?, ?)", lex["terms"])
        db.commit()
    finally:
        db.close()


class Documents(Mapping):
    """Document name -> full text, read from the store when asked for (and kept)."""

    def __init__(self, store: "Store"):
        self._store = store
        self._text: dict[str, str] = {}
        self._names: list[str] | None = None

    def _all_names(self) -> list[str]:
        if self._names is None:
            self._names = [r[0] for r in self._store.query("SELECT name FROM documents ORDER BY rowid")]
        return self._names

    def __getitem__(self, name: str) -> str:
        if name not in self._text:
            rows = self._store.query("SELECT text FROM documents WHERE name = ?", (name,))
            if not rows:
                raise KeyError(name)
            self._text[name] = rows[0][0]
        return self._text[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all_names())

    def __len__(self) -> int:
        return len(self._all_names())

    def __contains__(self, name: object) -> bool:
        return name in set(self._all_names())


def random_access(arr: np.ndarray) -> None:
    """Tell the kernel a memory-mapped array is read at random (no read-ahead around each page fault)."""
    mm = getattr(arr, "_mmap", None)
    if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_RANDOM"):
        mm.madvise(mmap.MADV_RANDOM)


class Store:
    """A generation opened for reading. Arrays are memory-mapped; text is read by id."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        # immutable=1: a generation never changes once written, and may sit on a read-only disk
        uri = f"file:{(self.folder / STORE_DB).resolve()}?mode=ro&immutable=1"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self.meta = {k: json.loads(v) for k, v in self.query("SELECT k, v FROM meta")}
        mm = dict(mmap_mode="r")
        self.chunk_vectors = np.load(self.folder / "chunk_vecs.npy", **mm)
        self.sentence_vectors = np.load(self.folder / "sent_vecs.npy", **mm)
        self.chunk_sents = np.load(self.folder / "chunk_sents.npy", **mm)
        self.sent_spans = np.load(self.folder / "sent_spans.npy", **mm)
        self.lexical = LexicalIndex.load(self.folder, SQLiteVocab(lambda: self._db, self._lock),
                                         self.meta["n_docs"], self.meta["avg_len"])
        self.documents = Documents(self)
        self.ann = None  # the approximate dense index of a large store (see qa.index.ann)
        if (self.folder / ANN_FILE).exists():
            from . import ann

            self.ann = ann.load(self.folder / ANN_FILE, self.meta.get("search", {}))
            # a question reads a few hundred scattered postings: no read-ahead around each page fault
            for arr in (self.lexical.docs, self.lexical.post_scores):
                random_access(arr)
        self._fds: dict[str, int] = {}  # vector files read with pread (see take())
        self._chunks: dict[int, Chunk] = {}
        self._all: list[Chunk] | None = None
        self._corpus: str | None = None

    def take(self, arr: np.ndarray, ids) -> np.ndarray:
        """Rows ``ids`` (sorted) of the vector array ``arr``, as an array in memory.

        A large store reads them with ``pread``: a question needs a few hundred rows scattered over a
        file of gigabytes, and reading them through the memory map would leave whole page-cache folios
        (up to megabytes each on current kernels) mapped into the process, until the files were
        resident in full. A small store slices the map (it is read whole anyway).
        """
        ids = np.asarray(ids, dtype=np.int64)
        if self.ann is None or not isinstance(arr, np.memmap) or arr.ndim != 2 or not len(ids):
            return np.asarray(arr[ids])
        fd = self._fds.get(arr.filename)
        if fd is None:
            with self._lock:
                fd = self._fds.get(arr.filename)
                if fd is None:
                    fd = self._fds[arr.filename] = os.open(arr.filename, os.O_RDONLY)
        row = arr.shape[1] * arr.itemsize
        out = np.empty((len(ids), arr.shape[1]), dtype=arr.dtype)
        buf = memoryview(out).cast("B")
        breaks = np.flatnonzero(np.diff(ids) != 1) + 1  # runs of consecutive rows are read at once
        for a, b in zip(np.r_[0, breaks], np.r_[breaks, len(ids)]):
            a, b = int(a), int(b)
            if os.preadv(fd, [buf[a * row:b * row]], arr.offset + row * int(ids[a])) != (b - a) * row:
                raise OSError(f"{arr.filename}: short read (the file is damaged)")
        return out

    def dense_candidates(self, q: np.ndarray, n: int) -> np.ndarray:
        """The ``n`` chunks nearest ``q`` by the approximate index (every chunk when there is none)."""
        if self.ann is None:
            return np.arange(self.n_chunks, dtype=np.int64)
        return self.ann.search(q, n)

    def query(self, sql: str, params: Iterable = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    @property
    def n_chunks(self) -> int:
        return int(self.chunk_vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.chunk_vectors.shape[1])

    def _make(self, row) -> Chunk:
        cid, doc, section, text, start, end, page = row
        lo, hi = self.chunk_sents[cid]
        sents = tuple((int(a), int(b)) for _, a, b in self.sent_spans[lo:hi])
        return Chunk(id=cid, doc=doc, section=section, text=text, start=start, end=end, sentences=sents,
                     page=page)

    def get_chunks(self, ids: Iterable[int]) -> list[Chunk]:
        """Chunks by id, in the order asked."""
        ids = [int(i) for i in ids]
        todo = [i for i in dict.fromkeys(ids) if i not in self._chunks]
        for i in range(0, len(todo), 900):
            part = todo[i:i + 900]
            for row in self.query('SELECT id, doc, section, text, start, "end", page FROM chunks '
                                  f"WHERE id IN ({','.join('?' * len(part))})", part):
                self._chunks[row[0]] = self._make(row)
        if len(self._chunks) > 50_000 and self._all is None:
            keep = {i: self._chunks[i] for i in ids}
            self._chunks = keep
        return [self._chunks[i] for i in ids]

    @property
    def chunks(self) -> list[Chunk]:
        """Every chunk (read once; meant for small indexes, reports and the article view)."""
        if self._all is None:
            self._all = [self._make(r) for r in self.query(
                'SELECT id, doc, section, text, start, "end", page FROM chunks ORDER BY id')]
            self._chunks = {c.id: c for c in self._all}
        return self._all

    def contains(self, phrase: str) -> bool:
        """Whether ``phrase`` occurs (after NFKC and lower-casing) inside some chunk.

        A small index is scanned. In a large one, postings narrow the chunks to read, so this
        costs a few row reads however large the index is (a phrase whose characters only occur
        glued to a figure, such as ``亿吨`` in ``11.9亿吨``, is not found that way): the phrase's rarest CJK tokens (every CJK unigram and bigram of a substring is
        a token of the chunk), or, for a Latin or numeric phrase such as ``pm2``, the vocabulary
        tokens it begins (``pm2.5``).
        """
        norm = normalize(phrase).strip()
        if not norm:
            return False
        if self.n_chunks <= SCAN_CHUNKS:  # small: read it all once, exact substring semantics
            if self._corpus is None:
                self._corpus = normalize("\n".join(c.text for c in self.chunks))
            return norm in self._corpus
        toks = tokenize(norm)
        if not toks:
            return False
        lex = self.lexical
        cjk = [t for t in toks if is_cjk_token(t)]
        if cjk:
            found = lex.lookup(cjk)
            if len(found) < len(set(cjk)):
                return False
            groups = [[e] for e in sorted(set(found.values()), key=lambda e: e[1])[:3]]
        else:
            groups = [lex.with_prefix(t) for t in dict.fromkeys(toks)]
            if not all(groups):
                return False
            groups = sorted(groups, key=lambda g: sum(e[1] for e in g))[:2]
        cand = None
        for group in groups:
            docs = np.unique(np.concatenate([
                np.asarray(lex.docs[int(lex.indptr[tid]):int(lex.indptr[tid + 1])]) for tid, _ in group]))
            cand = docs if cand is None else np.intersect1d(cand, docs, assume_unique=True)
            if not len(cand):
                return False
        for i in range(0, len(cand), 256):
            if any(norm in normalize(c.text) for c in self.get_chunks(cand[i:i + 256])):
                return True
        return False

    def document_info(self) -> list[dict]:
        """Name, size in characters and the recorded extras (format, pages, encoding, ...) per document."""
        out = []
        for name, sha, chars, info in self.query("SELECT name, sha256, chars, info FROM documents ORDER BY rowid"):
            out.append({"name": name, "sha256": sha, "chars": chars, **json.loads(info)})
        return out

    def records(self) -> dict[str, dict]:
        """Every document as the record it was indexed from (text and how it was read), to index again."""
        out = {}
        for name, text, sha, info in self.query("SELECT name, text, sha256, info FROM documents ORDER BY rowid"):
            out[name] = {"text": text, "sha256": sha, **json.loads(info)}
        return out

    def hashes(self) -> tuple[list[str], list[str]]:
        """Content hashes of every chunk and sentence row (for reusing their vectors)."""
        return ([r[0] for r in self.query("SELECT hash FROM chunks ORDER BY id")],
                [r[0] for r in self.query("SELECT hash FROM sentences ORDER BY id")])

    def close(self) -> None:
        with self._lock:
            self._db.close()
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()


def vector_cache(store: Store | None) -> dict[str, np.ndarray]:
    """text hash -> vector for everything ``store`` has encoded (empty without a store)."""
    if store is None:
        return {}
    ch, sh = store.hashes()
    cache = {h: store.sentence_vectors[i] for i, h in enumerate(sh)}
    cache.update({h: store.chunk_vectors[i] for i, h in enumerate(ch)})
    return cache
