"""Chinese-aware splitting: paragraphs, sentences, sections and chunks with exact offsets.

Every span carries ``start``/``end`` character offsets into its document so that
``source[start:end] == text`` always holds.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

#: Target chunk size in characters (chosen by measurement; see README "Chunking").
DEFAULT_MAX_CHARS = 150
#: Bump when splitting changes: the index manifest records it, so old indexes count as stale.
CHUNKER_VERSION = 1

# A sentence ends at 。！？； (or their ASCII forms !?;) plus any closing quotes/brackets.
_SENT_END = re.compile(r"[。！？；!?;…]+[”’」』）)\]】》]*")
# Paragraph breaks: newlines or runs of two or more ideographic spaces.
_PARA_BREAK = re.compile(r"(?:[ \t]*\r?\n[ \t\u3000]*)+|\u3000{2,}")
# Headings that open a section: 一、  （一）  第一部分  1.  一是
_NUM = "[一二三四五六七八九十百零〇]+"
_HEADING = re.compile(rf"^(?:{_NUM}、|（{_NUM}）|第{_NUM}[章节部分]|\d+[、.．]\s*|#+\s)")
_RUN_IN = re.compile(rf"^{_NUM}是")
#: A run-in head: a short first sentence of a paragraph such as 统筹疫情防控。
_RUN_IN_MAX = 14
#: Lines shorter than this and without a sentence end, MIN_RUN or more in a row, are packed into
#: chunks together (a list of words, an address block, a file of one letter per line): a chunk per
#: line would make a tiny chunk, and a vector, each. A chunk of more than RUN_SENTENCES such lines
#: is one sentence, not a sentence a line.
SHORT_LINE = 25
MIN_RUN = 3
RUN_SENTENCES = 12
_ENDS_SENTENCE = re.compile(r"[。！？；!?;…][”’」』）)\]】》]*$")


@dataclass(frozen=True)
class Span:
    """A stretch of a document: ``source[start:end] == text``."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage with where it came from."""

    id: int
    doc: str
    section: str
    text: str
    start: int
    end: int
    sentences: tuple[tuple[int, int], ...]  # sentence (start, end) offsets inside the document
    page: int | None = None  # 1-based page of the chunk's start, for paged formats (PDF)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sentences"] = [list(s) for s in self.sentences]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Chunk":
        return cls(**{**d, "sentences": tuple(tuple(s) for s in d["sentences"])})


def paragraphs(text: str) -> list[Span]:
    """Split on newlines or runs of ideographic spaces; trims each paragraph."""
    out, pos = [], 0
    for m in list(_PARA_BREAK.finditer(text)) + [None]:
        end = m.start() if m else len(text)
        seg = text[pos:end]
        lead = len(seg) - len(seg.lstrip())
        body = seg.strip()
        if body:
            s = pos + lead
            out.append(Span(body, s, s + len(body)))
        if m:
            pos = m.end()
    return out


def sentences(text: str, offset: int = 0) -> list[Span]:
    """Split one paragraph into sentences at 。！？； and their closing quotes."""
    out, pos = [], 0
    for m in _SENT_END.finditer(text):
        end = m.end()
        if text[pos:end].strip():
            out.append(_trimmed(text, pos, end, offset))
        pos = end
    if text[pos:].strip():
        out.append(_trimmed(text, pos, len(text), offset))
    return out


def _trimmed(text: str, a: int, b: int, offset: int) -> Span:
    seg = text[a:b]
    a += len(seg) - len(seg.lstrip())
    b -= len(seg) - len(seg.rstrip())
    return Span(text[a:b], a + offset, b + offset)


def is_heading(para: str) -> bool:
    """A paragraph that names a section: numbered, short and without a full stop."""
    return bool(_HEADING.match(para)) and len(para) <= 60 and not _SENT_END.search(para[:-1] or " ")


def run_in_head(para: str) -> str | None:
    """The run-in head opening a paragraph (``一是牢固树立大局意识。``, ``统筹疫情防控。``)."""
    first = sentences(para)
    if not first:
        return None
    s = first[0].text
    if _RUN_IN.match(s) and len(s) <= 40:
        return s.rstrip("。；;：:")
    if len(s) <= _RUN_IN_MAX and s.endswith("。") and len(first) > 1 and "，" not in s:
        return s.rstrip("。")
    return None


_CLAUSE_END = re.compile(r"[，,：:][”’」』）)]*")
_LIST_SEP = re.compile(r"[、][”’」』）)]*")


def _split_long(s: Span, max_chars: int) -> list[Span]:
    """Cut one over-long sentence at clause marks (，：、), hard-cutting only as a last resort."""
    cuts = [m.end() for m in _CLAUSE_END.finditer(s.text)] + [len(s.text)]
    minor = [m.end() for m in _LIST_SEP.finditer(s.text)]
    out, a = [], 0
    while a < len(s.text):
        fits = [c for c in cuts if a + max_chars // 3 <= c <= a + max_chars] or [
            c for c in sorted(cuts + minor) if a < c <= a + max_chars]
        b = fits[-1] if fits else min(a + max_chars, len(s.text))
        if fits and b < len(s.text) and b - a < max_chars // 3:  # avoid a tiny piece
            b = min(a + max_chars, len(s.text))
        out.append(Span(s.text[a:b], s.start + a, s.start + b))
        a = b
    return out


def _merge_short_lead(sents: list[Span], max_chars: int) -> list[Span]:
    """Keep a short lead sentence (a run-in head) with an over-long one that follows it."""
    if len(sents) >= 2 and len(sents[0].text) < max_chars // 4 and len(sents[1].text) > max_chars:
        a, b = sents[0], sents[1]
        joined = a.text + " " * (b.start - a.end) + b.text  # offsets stay exact below
        return [Span(joined, a.start, b.end)] + sents[2:]
    return sents


def _pack(sents: list[Span], max_chars: int) -> list[list[Span]]:
    """Group consecutive sentences into balanced groups of at most ``max_chars``.

    A sentence is never cut unless it alone exceeds ``max_chars``.
    """
    sents = _merge_short_lead(sents, max_chars)
    pieces: list[Span] = []
    for s in sents:
        if len(s.text) <= max_chars:
            pieces.append(s)
            continue
        pieces.extend(_split_long(s, max_chars))
    total = pieces[-1].end - pieces[0].start if pieces else 0
    n_groups = max(1, -(-total // max_chars))
    target = total / n_groups
    groups: list[list[Span]] = [[]]
    for p in pieces:
        g = groups[-1]
        size = p.end - g[0].start if g else 0
        if g and (size > max_chars or (g[-1].end - g[0].start) >= target):
            groups.append([p])
        else:
            g.append(p)
    return groups


def chunk_document(text: str, doc: str, max_chars: int = DEFAULT_MAX_CHARS,
                   first_id: int = 0, headings: list[tuple[int, int]] | None = None,
                   page_of=None) -> list[Chunk]:
    """Chunks of whole sentences (never across paragraphs), each with its section.

    ``headings``: (start, end) offsets of heading lines a document format marked as such
    (Markdown ``#``, HTML ``h1``–``h6``, Word heading styles); they become the sections and
    are not chunks of their own (a bare heading would outrank the text under it). Without
    them, plain text headings are recognised by their form (``一、``, ``（一）``, ``1.``).
    ``page_of``: offset -> page number, for paged formats (PDF).
    """
    chunks: list[Chunk] = []
    paras = paragraphs(text)
    marked = {a for a, _ in headings or []}

    def heading(para: Span) -> bool:
        if marked:
            return para.start in marked or any(a <= para.start < b for a, b in headings)
        return is_heading(para.text)

    title = paras[0].text if paras and len(paras[0].text) <= 60 and not _SENT_END.search(paras[0].text) else ""
    section = title
    for unit in _short_runs(paras, heading):
        para = unit[0]
        if len(unit) > 1:  # a run of short lines: packed like the sentences of one paragraph, and each
            label = section  # chunk is one sentence (a sentence a line would be a vector a line)
            sents = list(unit)
        else:
            if marked and heading(para):
                section = para.text
                continue
            if not marked and heading(para):
                section = para.text
                sub = ""
            else:
                head = run_in_head(para.text)
                sub = head or ""
            label = " › ".join(x for x in (section, sub) if x)
            sents = sentences(para.text, para.start)
        for group in _pack(sents, max_chars):
            a, b = group[0].start, group[-1].end
            if len(unit) > 1:  # the group's pieces are the run's lines themselves
                inside = tuple((s.start, s.end) for s in group) if len(group) <= RUN_SENTENCES else ((a, b),)
            else:
                inside = tuple((max(s.start, a), min(s.end, b)) for s in sents if s.end > a and s.start < b)
            chunks.append(Chunk(
                id=first_id + len(chunks), doc=doc, section=label,
                text=text[a:b], start=a, end=b, sentences=inside,
                page=page_of(a) if page_of is not None else None,
            ))
    return chunks


def _short_runs(paras: list[Span], heading) -> list[list[Span]]:
    """The paragraphs one by one, except runs of MIN_RUN or more short non-heading lines, kept together."""
    out: list[list[Span]] = []
    i = 0
    while i < len(paras):
        j = i
        while (j < len(paras) and len(paras[j].text) < SHORT_LINE and not heading(paras[j])
               and not _ENDS_SENTENCE.search(paras[j].text)):
            j += 1
        if j - i >= MIN_RUN:
            out.append(paras[i:j])
            i = j
        else:
            out.append([paras[i]])
            i += 1
    return out


def read_document(path: Path) -> str:
    """The indexed text of a document file in any supported format (see :mod:`qa.ingest.formats`)."""
    from . import formats

    try:
        return formats.read(Path(path)).text
    except formats.Refused as exc:
        raise ValueError(f"{path}: {exc}") from None
