"""The one retrieval path: ``retrieve()`` and ``ask()`` for the CLI, the web chat and the evaluation.

Scores (``Passage.score``, higher is better) by mode:

* ``hybrid`` (default): in [0, 1], the coverage-gated blend of min-max normalised
  dense cosine and BM25 described in :mod:`qa.index.fusion`; 1 = best chunk on both.
* ``dense``: the chunk's dense score, a cosine in [-1, 1] (about 0.75 to 0.9 for this model).
* ``lexical``: the raw BM25 score, >= 0 (0 = no token in common).
"""
from __future__ import annotations

import os
import re
import sys
import threading
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .answer import followup, noanswer, spans, typed
from .answer import sentences as answer_mod
from .answer.query import Query, analyse
from .answer.reader import Reader, ReaderError, Span, shared_reader
from .index import fusion, lexical
from .index.embedding import DEFAULT_MODEL, load_embedder, model_id
from .index.generations import Index, check_max_chars, default_index_dir, default_sources, open_index
from .text.words import cache_dir

MODES = ("hybrid", "dense", "lexical")
MAX_K = 100
#: Longer questions are cut to this many characters (with a note); e5 reads 512 tokens at most.
MAX_QUESTION_CHARS = 1000
#: A passage this far down, scoring at least this share of the top one's, may move to the top when only
#: it holds the kind of answer the question wants (see Retriever._assess).
PROMOTE_DEPTH = 3
PROMOTE_RATIO = 0.85
#: With the reader: how much surer of its span in such a passage than in the top one it must be for
#: that passage to move up (chosen on the article's dev split and the DRCD fit half, end to end:
#: gaps of 2, 5, 8 and 10 flagged fewer DRCD near misses, 16 answered fewer right).
PROMOTE_GAP = 12.0
#: The reader reads the top chunk alone and inside up to CONTEXT_CHARS characters of its own paragraph;
#: the two views' logits, averaged (CONTEXT_WEIGHT of the second), choose the span. Trained on paragraphs,
#: then adapted to the article's chunks alone, it reads Wikipedia better in context and the article
#: worse; end to end the average gains on both. How sure it is stays the chunk-alone reading's: scored in
#: context, near misses drew surer spans (chosen on the dev sets: training/README.md).
CONTEXT_CHARS = 150
CONTEXT_WEIGHT = 0.5
#: An author question looks for a byline among this many chunks that use :data:`BYLINE_WORD`.
BYLINE_DEPTH = 50
BYLINE_WORD = "作者"
#: A reader span longer than this (characters) is not shown as the short answer: the sentence is.
SHORT_MAX_CHARS = 40
#: Candidates taken from each of the dense and the lexical side of a large index.
CANDIDATES = 200
#: How often (at most) a retriever looks whether its index folder has a new generation.
RELOAD_CHECK_S = 1.0
#: The reply to a follow-up that the conversation cannot resolve.
ASK_AGAIN = ("这个问题像是接着上文问的，但前面的对话里找不到它说的是什么：请把问题写完整，例如“2021年山西煤炭产量是多少？”"
             "(this looks like a follow-up, but the conversation does not say what it is about: please ask a "
             "complete question)")


@dataclass
class Passage:
    """A retrieved chunk. Offsets are character positions in the source document."""

    text: str
    score: float
    rank: int
    doc: str
    section: str
    start: int
    end: int
    answer: str
    answer_start: int
    answer_end: int
    page: int | None = None  # 1-based page of the passage's start, for paged documents (PDF)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Answer:
    """The answer sentence (None when the documents do not seem to answer), its short span, and the passages.

    ``short`` is None when no crisp span fits (why/how questions: the sentence is the answer) and
    whenever ``confident`` is False.
    """

    answer: str | None
    confident: bool
    passages: list[Passage]
    notes: list[str] = field(default_factory=list)  # e.g. "question was cut"; not part of to_dict()
    short: str | None = None  # the crisp answer (11.9亿吨) inside the answer sentence, when one fits
    short_start: int | None = None  # document offsets: document[short_start:short_end] == short
    short_end: int | None = None
    resolved: str | None = None  # the question as understood from the conversation (None without a history)

    def to_dict(self) -> dict:
        return {"answer": self.answer, "confident": self.confident, "short": self.short,
                "short_start": self.short_start, "short_end": self.short_end, "resolved": self.resolved,
                "passages": [p.to_dict() for p in self.passages]}


_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\ufeff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SPACES = re.compile(r"\s+")


def format_answer(result) -> str:
    """Human-readable answer: the short answer (or the answer sentence) first, then its evidence and the
    numbered passages."""
    lines = []
    if result.resolved is not None and result.resolved:
        lines.append(f"理解为 Understood as: {result.resolved}")
    if result.confident and result.short:
        lines += [f"答案 Answer: {result.short}", f"依据 Evidence: {result.answer}"]
    elif result.confident:
        lines.append(f"答案 Answer: {result.answer}")
    else:
        lines.append("文中似乎没有回答这个问题。The document does not seem to answer this question.")
    lines += [f"note: {note}" for note in result.notes]
    if not result.confident:
        lines.append("最接近的段落 Nearest passages:")
    lines.append("")
    for p in result.passages:
        page = f", 第{p.page}页" if p.page else ""
        lines.append(f"[{p.rank}] {p.section or p.doc}  ({p.doc}{page}, 字符 {p.start}–{p.end}, score {p.score:.3f})")
        lines.append(f"    {p.text}")
        lines.append(f"    → {p.answer}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def clean_question(question: object) -> tuple[str, list[str]]:
    """Validate and tidy a question; returns (text, notes). Raises ValueError when unusable."""
    if not isinstance(question, str):
        raise ValueError(f"The question must be text, not {type(question).__name__}.")
    notes = []
    # a lone surrogate (from a broken UTF-16 pair or undecodable bytes) is not text: replace it
    text = _SURROGATE.sub("\ufffd", question)
    text = _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()
    if not any(unicodedata.category(c)[0] in "LN" for c in text):
        raise ValueError("The question is empty: type a question about the document (问题不能为空).")
    if len(text) > MAX_QUESTION_CHARS:
        notes.append(f"The question was {len(text):,} characters long; only its first "
                     f"{MAX_QUESTION_CHARS:,} were used (问题过长，只使用了前{MAX_QUESTION_CHARS}个字符).")
        text = text[:MAX_QUESTION_CHARS]
    return text, notes


def check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k must be a whole number from 1 to {MAX_K}, not {k!r}.")
    if not 1 <= int(k) <= MAX_K:
        raise ValueError(f"k must be from 1 to {MAX_K}, got {k}.")
    return int(k)


STORES = ("faiss", "milvus")


def check_store(store: object) -> str:
    if store not in STORES:
        raise ValueError(f"store must be one of {', '.join(STORES)}, not {store!r}.")
    return store  # type: ignore[return-value]


def check_mode(mode: object) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}.")
    return mode  # type: ignore[return-value]


class Retriever:
    """Explicit control over the index folder, the documents, the model and the mode."""

    def __init__(self, index_dir: str | Path | None = None, model: str | None = None,
                 mode: str = "hybrid", sources: list[str | Path] | None = None,
                 max_chars: int | None = None, rebuild: bool = True, log=None, store: str | None = None,
                 milvus_uri: str | None = None, milvus_name: str = "qa"):
        """Open (building or rebuilding when needed) the index in ``index_dir``.

        ``sources``: documents the index must reflect (default: seeds/ for the default index,
        else those recorded in its manifest). ``max_chars``: chunk size (default: as built,
        150 for a new index). ``rebuild=False`` raises :class:`IndexError_` instead of rebuilding.
        """
        self.mode = check_mode(mode)
        if max_chars is not None:
            max_chars = check_max_chars(max_chars)
        if sources is not None and (isinstance(sources, (str, os.PathLike)) or not all(
                isinstance(x, (str, os.PathLike)) for x in sources)):
            raise ValueError(f"sources must be a list of paths, not {sources!r:.80}")
        if index_dir is None and os.environ.get("QA_INDEX"):
            index_dir = os.environ["QA_INDEX"]  # as explicit as --index: keeps its own sources
        if index_dir is None and (model or os.environ.get("QA_MODEL")) not in (None, DEFAULT_MODEL):
            # another model never overwrites the committed index: it gets its own folder
            index_dir = cache_dir() / ("index-" + re.sub(r"[^A-Za-z0-9._-]+", "_", str(model or os.environ["QA_MODEL"])))
        self.index_dir = Path(index_dir) if index_dir else default_index_dir()
        self.model_name = model
        self.max_chars = max_chars
        log = self._log = log or (lambda m: print(m, file=sys.stderr, flush=True))
        self._embedder = None
        self._reader: Reader | None | bool = False  # False: not loaded yet
        self._reader_lock = threading.Lock()
        if sources is None and (index_dir is None or self.index_dir.parent == cache_dir()):
            sources = default_sources()
        self.store_kind = check_store(store or os.environ.get("QA_STORE") or "faiss")
        self._milvus = None
        if self.store_kind == "milvus":
            from .index import milvus

            self._milvus = milvus.Milvus(milvus_uri, milvus_name)
            if index_dir is None and not os.environ.get("QA_INDEX"):
                sources = sources if sources is not None else default_sources()
            index = milvus.open_index(self._milvus, [Path(s) for s in sources] if sources else None,
                                      self._get_embedder, max_chars, model_id(model), rebuild, log)
        else:
            index = open_index(self.index_dir, [Path(s) for s in sources] if sources else None,
                               self._get_embedder, max_chars, model_id(model), rebuild, log)
        if os.environ.get("QA_READER", "1") != "0":
            # the reader loads while the model opens; not a daemon: a process leaving mid-load (ONNX Runtime
            # inside its C++) would abort, so exit waits for it (well under a second)
            threading.Thread(target=lambda: self.reader, name="qa-reader-load").start()
        self.embedder = self._get_embedder()
        self.calibration = noanswer.Calibration.load()
        self.policy = noanswer.ReaderPolicy.load()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._view = _View(index)
        self._checked = time.monotonic()
        self._manifest_stat = self._milvus.generation() if self._milvus is not None else \
            _stat(self.index_dir / "manifest.json")

    # -- the index in use, and noticing a rebuilt one -----------------------------
    @property
    def index(self) -> Index:
        """The index answering now (a request in flight keeps the one it started with)."""
        view = getattr(self._local, "view", None)
        return (view or self._view).index

    def _current(self) -> "_View":
        """The view to answer from: after another process rebuilt the index (a new generation named by
        manifest.json, checked at most every RELOAD_CHECK_S seconds), the new one, swapped in whole."""
        now = time.monotonic()
        if now - self._checked >= RELOAD_CHECK_S:
            self._checked = now
            st = self._milvus.generation() if self._milvus is not None else _stat(self.index_dir / "manifest.json")
            if st != self._manifest_stat:
                self._reload(st)
        return self._view

    def _reload(self, st) -> None:
        from .index.generations import IndexError_, load_index

        with self._reload_lock:
            if st == self._manifest_stat:
                return
            try:
                index = self._milvus.open() if self._milvus is not None else load_index(self.index_dir)
            except (IndexError_, OSError) as exc:  # mid-build or damaged: keep answering from what we have
                self._log(f"qa: a new index generation could not be loaded yet ({exc}); still answering "
                          f"from {self._view.index.generation}")
                return
            self._manifest_stat = st
            if index.generation != self._view.index.generation:
                old = self._view.index.generation
                self._view = _View(index)
                self._log(f"qa: now answering from index generation {index.generation} (was {old})")

    _reload_lock = threading.Lock()

    def _enter(self) -> None:
        self._local.view = self._current()

    def _leave(self) -> None:
        self._local.view = None

    @property
    def _sent_chunk(self) -> np.ndarray:
        return (getattr(self._local, "view", None) or self._view).sent_chunk

    def _get_embedder(self):
        if self._embedder is None:
            self._embedder = load_embedder(self.model_name)
        return self._embedder

    def contains(self, phrase: str) -> bool:
        """Whether ``phrase`` (NFKC, lower case) occurs in some chunk of the documents."""
        return self.index.store.contains(phrase)

    # -- scoring -------------------------------------------------------------
    def _score(self, question: str, mode: str, q: np.ndarray | None = None) -> dict:
        """Scores of the chunks that may answer, by every mode: all chunks of a small index, the union of
        dense and lexical candidates of a large one (``ids``; ``None`` means every chunk, in order)."""
        ix = self.index
        if q is None:
            with self._lock:  # inference from several threads at once gains nothing on 2 cores
                q = self.embedder.encode_queries([question])[0]
        if ix.store.ann is None:
            ids = None
            chunk_cos = np.asarray(ix.chunk_vectors @ q, dtype=np.float32)
            sent_cos = ix.sentence_vectors @ q if len(ix.sentence_vectors) else np.zeros(0, np.float32)
            dense = fusion.dense_scores(chunk_cos, sent_cos, self._sent_chunk)
            lex = ix.lexical.scores(question)
        else:
            n = CANDIDATES
            ids = np.union1d(ix.store.dense_candidates(q, n), ix.lexical.candidates(question, n))
            chunk_cos = np.asarray(ix.store.take(ix.chunk_vectors, ids) @ q, dtype=np.float32)
            bounds = np.asarray(ix.store.chunk_sents[ids])
            sent_ids = np.concatenate([np.arange(a, b) for a, b in bounds]) if len(ids) else np.zeros(0, np.int64)
            owner = np.repeat(np.arange(len(ids)), bounds[:, 1] - bounds[:, 0]) if len(ids) else sent_ids
            sent_cos = ix.store.take(ix.sentence_vectors, sent_ids) @ q if len(sent_ids) else np.zeros(0, np.float32)
            dense = fusion.dense_scores(chunk_cos, sent_cos.astype(np.float32), owner)
            lex = ix.lexical.scores_for(question, ids)
        hyb = fusion.hybrid(dense, lex, ix.lexical.coverage(question))
        scores = {"dense": dense, "lexical": lex, "hybrid": hyb}[mode]
        return {"q": q, "ids": ids, "scores": scores, "dense": dense, "lex": lex, "hybrid": hyb}

    def _passages(self, question: str, s: dict, k: int) -> tuple[list[Passage], list]:
        """The top ``k`` passages by ``s["scores"]``, each with its answer sentence, and their chunks."""
        ix = self.index
        order = np.argsort(-s["scores"], kind="stable")[:max(k, fusion.HEADING_DEPTH)]
        ranked_scores = s["scores"][order]
        if s.get("ids") is not None:
            order = s["ids"][order]
        q_tokens = answer_mod.content_tokens(question) or answer_mod.lexical.tokenize(question)
        chunks = ix.store.get_chunks(order)
        # a chunk that is only its heading follows the passages near the top that say something
        perm = fusion.headings_last([answer_mod.heading_only(c.section, c.text) for c in chunks], question)[:k]
        chunks, ranked_scores = [chunks[i] for i in perm], ranked_scores[perm]
        out = [self._passage(c, float(score), rank, s["q"], q_tokens)
               for rank, (c, score) in enumerate(zip(chunks, ranked_scores), 1)]
        return out, chunks

    def _passage(self, c, score: float, rank: int, q_vec: np.ndarray, q_tokens: list[str]) -> Passage:
        """``c`` as a passage, with its answer sentence."""
        ix = self.index
        lo, hi = (int(x) for x in ix.store.chunk_sents[c.id])
        texts = [c.text[a - c.start:b - c.start] for a, b in c.sentences]
        vecs = ix.store.take(ix.sentence_vectors, np.arange(lo, hi))
        best, _ = answer_mod.best_sentence(q_vec, vecs, texts, q_tokens, ix.lexical,
                                           headings=answer_mod.heading_sentences(c.section, texts))
        a, b = c.sentences[best]
        return Passage(text=c.text, score=round(score, 6), rank=rank, doc=c.doc, section=c.section, start=c.start,
                       end=c.end, answer=texts[best], answer_start=a, answer_end=b, page=c.page)

    def _byline(self, query: Query, s: dict, passages: list[Passage], chunks: list) -> spans.Short | None:
        """For a question about who wrote the document: move the passage with its byline to the top.

        A byline is the document's own word on who wrote it, so the passage that holds one answers
        however far down a question with few of the document's words ranks it: first among the
        ranked passages, then among the chunks that use the word 作者 at all (the top passage's
        document first)."""
        text = query.text
        for j in range(1, len(passages)):  # the top one has none (the caller looked)
            got = self._short(query, chunks[j], passages[j].answer_start, s["q"])
            if got is not None:
                self._promote(passages, chunks, j)
                return got
        ix = self.index
        ids = [int(i) for i in ix.lexical.candidates(BYLINE_WORD, BYLINE_DEPTH, max_df=1.0)]
        found = [c for c in ix.store.get_chunks(sorted(ids)) if any(spans.byline(c.text[a - c.start:b - c.start])
                                                                   for a, b in c.sentences)]
        if not found:
            return None
        top_doc = chunks[0].doc if chunks else None
        c = min(found, key=lambda c: (c.doc != top_doc, c.id))
        if s.get("ids") is None:
            score = float(s["hybrid"][c.id])
        else:
            at = np.flatnonzero(np.asarray(s["ids"]) == c.id)
            score = float(s["hybrid"][at[0]]) if len(at) else 0.0
        q_tokens = answer_mod.content_tokens(text) or answer_mod.lexical.tokenize(text)
        passages.append(self._passage(c, score, len(passages) + 1, s["q"], q_tokens))
        chunks.append(c)
        self._promote(passages, chunks, len(passages) - 1)
        return self._short(query, c, passages[0].answer_start, s["q"])

    def _short(self, query: Query, chunk, answer_start: int, q_vec: np.ndarray) -> spans.Short | None:
        """The short answer inside ``chunk``, preferring its answer sentence (starting at ``answer_start``)."""
        sents = [chunk.text[a - chunk.start:b - chunk.start] for a, b in chunk.sentences]
        offsets = [a for a, _ in chunk.sentences]
        first = next((i for i, (a, _) in enumerate(chunk.sentences) if a == answer_start), 0)
        clause_sim = None
        if query.english:  # its words cannot be matched: rank the candidates' clauses by meaning
            def clause_sim(texts: list[str]) -> list[float]:
                with self._lock:
                    return [float(x) for x in self.embedder.encode_documents(texts) @ q_vec]
        return spans.short_answer(query, sents, offsets, self.index.lexical, first, clause_sim)

    def _assess(self, text: str, query: Query, s: dict, k: int):
        """Rank by the hybrid score and judge the top passage: (passages, chunks, short, signals).

        For a question that wants a checkable kind of answer (a figure, a time, a name, a list), a
        passage among the next two whose score is close to the top one's and which holds a span of
        that kind tied to the question's focus (with the question's qualifiers in its clause), where
        the top one holds none, moves to the top. For a question about what something is called, a
        passage among the next two whose answer sentence gives the quoted name (of the kind the
        question names) moves up when the top one gives none; for one about who wrote the document,
        the passage with its byline.
        """
        if self._reads(query):
            return self._assess_read(text, query, s, k)
        passages, chunks = self._passages(text, {**s, "scores": s["hybrid"]}, max(k, PROMOTE_DEPTH))
        short = self._short(query, chunks[0], passages[0].answer_start, s["q"])

        def answers(sp, chunk) -> bool:  # a tied span whose clause has the question's qualifiers
            return sp is not None and sp.tied and not noanswer.missing_qualifiers(query, chunk.text, sp.context)

        def promote_first(ok, ratio: float | None):  # the first of the next passages whose span is ok
            for j in range(1, min(PROMOTE_DEPTH, len(passages))):
                if ratio is not None and passages[j].score < ratio * passages[0].score:
                    break
                other = self._short(query, chunks[j], passages[j].answer_start, s["q"])
                if ok(other, chunks[j]):
                    self._promote(passages, chunks, j)
                    return other
            return None

        if query.want == "author":
            if short is None:
                short = self._byline(query, s, passages, chunks)
        elif query.typed and not query.incomplete and not answers(short, chunks[0]):
            short = promote_first(answers, PROMOTE_RATIO) or short
        elif short is None and spans.asks_name(query) and not query.incomplete:
            # 那个行动叫什么: a quoted name of the kind asked (“…”行动) is as telling as a figure of the kind
            # asked, and a passage that has none does not answer however well it shares the words
            short = promote_first(lambda sp, _: sp is not None, None)
        sig = noanswer.signals(query, self.index.lexical, self.contains, chunks[0].section + "\n" + chunks[0].text,
                               short)
        return passages[:k], chunks[:k], short, sig

    # -- the reader -----------------------------------------------------------
    @property
    def reader(self) -> Reader | None:
        """The span reader, or None where its weights are missing or ``QA_READER=0``. It starts loading in
        the background when the retriever is made (one reader per process, shared by all retrievers)."""
        with self._reader_lock:
            if self._reader is False:
                reader = None
                if os.environ.get("QA_READER", "1") != "0":
                    try:
                        reader = shared_reader()
                    except ReaderError as exc:
                        self._log(f"qa: {exc}; short answers come from the phrase rules")
                self._reader = reader
        return self._reader

    def _reads(self, query: Query) -> bool:
        """Whether the reader answers ``query`` (questions about the author go to the byline rules)."""
        return self.reader is not None and query.want != "author"

    def _read(self, question: str, chunks: list) -> list[Span | None]:
        """The reader's best span in each chunk (character offsets into the chunk's text)."""
        with self._lock:
            return self.reader.read(question, [c.text for c in chunks])

    def _context(self, chunk, chars: int) -> tuple[str, int]:
        """``chunk`` with the whole chunks of its own paragraph, up to ``chars`` characters on each side,
        and where the chunk starts in that text: the reader reads a chunk inside what surrounds it."""
        store = self.index.store
        try:
            doc = store.documents[chunk.doc]
            near = {c.id: c for c in store.get_chunks(
                i for i in range(chunk.id - 3, chunk.id + 4) if 0 <= i < store.n_chunks and i != chunk.id)}
        except (KeyError, OSError):
            return chunk.text, 0
        a, b = chunk.start, chunk.end
        for step in (-1, 1):
            j, room = chunk.id + step, chars
            while (n := near.get(j)) is not None and n.doc == chunk.doc and len(n.text) <= room:
                if "\n" in (doc[n.end:a] if step < 0 else doc[b:n.start]):
                    break
                a, b = (n.start, b) if step < 0 else (a, n.end)
                room, j = room - len(n.text), j + step
        return doc[a:b], chunk.start - a

    def _typed_read(self, text: str, query: Query, chunk, in_context: bool = False,
                    memo: dict | None = None) -> typed.Choice:
        """The reader's best span in ``chunk`` and, when it is not of the kind ``query`` asks for, the
        best one that is (:mod:`qa.answer.typed`). ``in_context``: the chunk is also read inside its own
        paragraph (``CONTEXT_CHARS`` each side) and the two readings' averaged logits
        (``CONTEXT_WEIGHT``) choose the span, which stays in the chunk; its margin is still the
        chunk-alone reading's. ``memo`` keeps the chunk-alone readings of one question."""
        memo = {} if memo is None else memo
        if chunk.id not in memo:
            with self._lock:
                memo[chunk.id] = self.reader.readings(text, [chunk.text])[0]
        alone = reading = memo[chunk.id]
        if alone is None:
            return typed.Choice(None, None, True)
        window, lo = self._context(chunk, CONTEXT_CHARS) if in_context else (chunk.text, 0)
        if len(window) > len(chunk.text):
            with self._lock:
                wide = self.reader.readings(text, [window])[0]
            if wide is not None:
                reading = alone.blend(wide.within(lo, lo + len(chunk.text)), CONTEXT_WEIGHT)
        choice = typed.read(query, reading, chunk.text, [(a - chunk.start, b - chunk.start) for a, b in chunk.sentences])
        if reading is alone:
            return choice

        def sure(span):  # how sure the reader is of that span: as scored on the chunk alone
            return span and (alone.span(span.start, span.end) or span)

        return typed.Choice(sure(choice.best), sure(choice.typed), choice.fits)

    def _read_top(self, text: str, query: Query, passages: list[Passage], chunks: list) -> typed.Choice:
        """Read the top passage, and the next ones retrieval scores nearly as high (``PROMOTE_RATIO``);
        one whose span the reader is far surer of (by more than ``PROMOTE_GAP``) moves to the top.
        Returns the reading of the passage now on top, whose span is then chosen in its context."""
        swap, memo = self.policy.swap_within, {}
        top = self._typed_read(text, query, chunks[0], memo=memo)
        found, fits = typed.choose(top, swap)
        best_j, best, best_margin = 0, top, found.margin if found is not None else None
        for j in range(1, min(PROMOTE_DEPTH, len(passages)) if found is not None else 0):
            if passages[j].score < PROMOTE_RATIO * passages[0].score:
                break
            other = self._typed_read(text, query, chunks[j], memo=memo)
            f, ok = typed.choose(other, swap)
            if f is not None and (ok or not fits) and f.margin - found.margin > PROMOTE_GAP and f.margin > best_margin:
                best_j, best, best_margin = j, other, f.margin
        if best_j:
            self._promote(passages, chunks, best_j)
        if best.best is not None and CONTEXT_WEIGHT > 0:
            best = self._typed_read(text, query, chunks[0], in_context=True, memo=memo)
        return best

    def _assess_read(self, text: str, query: Query, s: dict, k: int):
        """``_assess`` with the reader, which reads the top passage (by the hybrid score).

        Its span, of the kind asked for where it is a figure or a time (:mod:`qa.answer.typed`), is the
        short answer, unless the reader is unsure (margin below the policy's ``rules_below``) and the
        phrase rules tie a span of the asked kind to the question: then theirs. The rules' checks (kind
        and qualifiers) go into the signals for :class:`noanswer.ReaderPolicy`.
        """
        passages, chunks = self._passages(text, {**s, "scores": s["hybrid"]}, max(k, PROMOTE_DEPTH))
        found, fits = typed.choose(self._read_top(text, query, passages, chunks), self.policy.swap_within)
        passages, chunks = passages[:k], chunks[:k]
        margin = found.margin if found is not None else None
        short = _reader_short(chunks[0], found)
        rule = self._short(query, chunks[0], passages[0].answer_start, s["q"])
        passage = chunks[0].section + "\n" + chunks[0].text
        type_notes = noanswer.typed_checks_for(query, rule)
        if short is not None:
            self._move_answer(passages[0], chunks[0], short)  # the span says which sentence answers
            if query.want == "how":
                short = None  # why, how: that sentence is the answer
        if rule is not None and rule.tied and rule.crisp and (margin is None or margin < self.policy.rules_below):
            short, fits = rule, True  # a span of the asked kind
            self._move_answer(passages[0], chunks[0], short)
        sig = noanswer.signals(query, self.index.lexical, self.contains, passage, short, reader_margin=margin)
        sig.typed_checks, sig.english, sig.wrong_kind = type_notes, query.english, not fits
        sig.ruled = short is not None and short is rule
        return passages, chunks, short, sig

    @staticmethod
    def _promote(passages: list[Passage], chunks: list, j: int) -> None:
        """Move passage ``j`` (and its chunk) to the top, renumbering the ranks."""
        passages.insert(0, passages.pop(j))
        chunks.insert(0, chunks.pop(j))
        for rank, p in enumerate(passages, 1):
            p.rank = rank

    @staticmethod
    def _move_answer(p: Passage, chunk, short: spans.Short) -> None:
        """Make the sentence that holds the short answer the passage's answer sentence (the sentences
        from the one it starts in to the one it ends in, for a span that runs over a sentence end)."""
        first = next((i for i, (a, b) in enumerate(chunk.sentences) if a <= short.start < b), None)
        last = next((i for i, (a, b) in enumerate(chunk.sentences) if a < short.end <= b), None)
        if first is None or last is None or last < first:
            return
        a, b = chunk.sentences[first][0], chunk.sentences[last][1]
        p.answer, p.answer_start, p.answer_end = chunk.text[a - chunk.start:b - chunk.start], a, b

    # -- public API ----------------------------------------------------------
    def retrieve(self, question: str, k: int = 5, mode: str | None = None) -> list[Passage]:
        """The ``k`` passages that best answer ``question``, best first."""
        text, _ = clean_question(question)
        k, mode = check_k(k), check_mode(self.mode if mode is None else mode)
        self._enter()
        try:
            return self._passages(text, self._score(text, mode), k)[0]
        finally:
            self._leave()

    def ask(self, question: str, k: int = 5, mode: str | None = None, history=None) -> Answer:
        """Retrieve, pick the answer sentence and its short span, and say whether the documents answer.

        ``history``: the earlier turns of a conversation, oldest first (questions as strings, or
        chat messages ``{"role", "content"}``); a follow-up borrows its topic from them
        (:mod:`qa.answer.followup`) and ``Answer.resolved`` says how it was understood. Whether the
        documents answer is judged on the hybrid ranking whatever the mode, so every mode
        abstains alike.
        """
        text, notes = clean_question(question)
        k, mode = check_k(k), check_mode(self.mode if mode is None else mode)
        followup.history_questions(history)
        self._enter()
        try:
            return self._ask(text, notes, k, mode, history)
        finally:
            self._leave()

    def _ask(self, text: str, notes: list[str], k: int, mode: str, history) -> Answer:
        resolved = None
        if history is not None:
            res = self._resolve(text, history)
            if res.text is None:
                passages = self._passages(text, self._score(text, mode), k)[0]
                return Answer(answer=None, confident=False, passages=passages, notes=notes + [ASK_AGAIN])
            resolved = text = res.text
        if len(text) > 200 and self.embedder.token_count(text) > self.embedder.max_tokens:
            notes.append(f"The model reads {self.embedder.max_tokens} tokens at most; the rest of the "
                         f"question was not embedded (问题超出模型可读长度，后面部分未参与语义检索).")
        query = analyse(text)
        if resolved is not None:
            query.incomplete = None  # its topic came from the conversation
        s = self._score(text, mode)
        hybrid, hchunks, short, sig = self._assess(text, query, s, k)
        if mode == "hybrid":
            passages, chunks = hybrid, hchunks
        else:
            passages, chunks = self._passages(text, s, k)
            read = self._reads(query)
            if chunks[0].id != hchunks[0].id and short is not None:
                short = _reader_short(chunks[0], self._read(text, chunks[:1])[0]) if read else \
                    self._short(query, chunks[0], passages[0].answer_start, s["q"])
                if short is not None and read:
                    self._move_answer(passages[0], chunks[0], short)
        if self._reads(query):
            confident, reasons = self.policy.decide(sig)
            confident = confident and bool(passages)
        else:
            confident = bool(passages) and self.calibration.probability(sig) >= self.calibration.threshold
            reasons = noanswer.failed_checks(sig)
        if not confident:
            notes.extend(reasons)
        if confident and short is not None and short.tied and short.crisp:
            self._move_answer(passages[0], chunks[0], short)
        else:
            short = None
        return Answer(answer=passages[0].answer if confident and passages else None,
                      confident=confident, passages=passages, notes=notes,
                      short=short.text if short else None, short_start=short.start if short else None,
                      short_end=short.end if short else None, resolved=resolved)

    def _resolve(self, text: str, history) -> followup.Resolution:
        turns = []
        for turn in followup.history_questions(history):
            try:
                turns.append(clean_question(turn)[0])
            except ValueError:
                continue  # an empty earlier turn says nothing
        return followup.resolve(text, turns, self.contains)

    def signals(self, question: str, history=None) -> noanswer.Signals:
        """The no-answer signals for ``question`` (used to fit the calibration)."""
        text, _ = clean_question(question)
        self._enter()
        try:
            return self._signals(text, history)
        finally:
            self._leave()

    def _signals(self, text: str, history) -> noanswer.Signals:
        if history is not None:
            res = self._resolve(text, history)
            if res.text is None:
                return noanswer.Signals(0.0, [], [], incomplete="unresolved")
            text = res.text
            query = analyse(text)
            query.incomplete = None
        else:
            query = analyse(text)
        return self._assess(text, query, self._score(text, "hybrid"), 1)[3]


#: Characters trimmed from the ends of a reader span: spaces and punctuation that only separate.
_TRIM = " \t\r\n\u3000，,。．.；;：:、！!？?"
_PAIRS = {"“": "”", "「": "」", "『": "』", "《": "》", "（": "）", "(": ")", "【": "】", "‘": "’", "\"": "\""}
_CLOSERS = {v: k for k, v in _PAIRS.items()}


def _reader_short(chunk, span: Span | None) -> spans.Short | None:
    """The reader's span as a short answer at document offsets: separators trimmed from its ends, and an
    opening or closing mark whose partner lies outside the span dropped."""
    if span is None:
        return None
    text = chunk.text
    a, b = span.start, span.end
    while True:
        a0, b0 = a, b
        while a < b and text[a] in _TRIM:
            a += 1
        while b > a and text[b - 1] in _TRIM:
            b -= 1
        if a < b and text[a] in _PAIRS and _PAIRS[text[a]] not in text[a + 1:b]:
            a += 1
        if a < b and text[b - 1] in _CLOSERS and _CLOSERS[text[b - 1]] not in text[a:b - 1]:
            b -= 1
        if (a, b) == (a0, b0):
            break
    if a >= b:
        return None
    for fa, fb in lexical.figure_spans(text):  # a figure stays whole with its unit: 1234.7亿千瓦时, not 亿千瓦
        if fa < a < fb:
            a = fa
        if fa < b < fb:
            b = fb
    lo = max(text.rfind(m, 0, a) for m in "，,。；;！？?!：:") + 1
    ends = [i for i in (text.find(m, b) for m in "，,。；;！？?!：:") if i >= 0]
    sentence = next((i for i, (x, y) in enumerate(chunk.sentences) if x <= chunk.start + a < y), 0)
    return spans.Short(text[a:b], chunk.start + a, chunk.start + b, "reader", True, sentence, round(span.margin, 4),
                       text[lo:min(ends) if ends else len(text)], crisp=(b - a) <= SHORT_MAX_CHARS)


@dataclass
class _View:
    """One loaded index and what the query path derives from it, swapped as a whole."""

    index: Index
    _sent_chunk: np.ndarray | None = None

    @property
    def sent_chunk(self) -> np.ndarray:
        """Sentence -> chunk, for scoring every chunk (read on first use: a large store never needs it)."""
        if self._sent_chunk is None:
            self._sent_chunk = np.asarray(self.index.store.sent_spans[:, 0], dtype=np.int64)
        return self._sent_chunk


def _stat(path: Path):
    try:
        st = path.stat()
        return st.st_mtime_ns, st.st_size, st.st_ino
    except OSError:
        return None


_default: Retriever | None = None
_default_lock = threading.Lock()


def default_retriever() -> Retriever:
    """The process-wide retriever over the default index (loaded, or built, on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Retriever()
        return _default


def _validate(question: object, k: object, mode: object) -> None:
    clean_question(question)
    check_k(k)
    check_mode(mode)


def retrieve(question: str, k: int = 5, mode: str = "hybrid") -> list[Passage]:
    """Passages that best answer ``question`` from the default index, best first.

    Raises ValueError for an empty question or a bad ``k``/``mode`` (before loading anything).
    """
    _validate(question, k, mode)
    return default_retriever().retrieve(question, k=k, mode=mode)


def ask(question: str, k: int = 5, mode: str = "hybrid", history=None) -> Answer:
    """The answer sentence, whether it is trustworthy, and the passages, from the default index.

    ``answer`` is None and ``confident`` False when the documents do not seem to answer;
    the nearest passages are returned all the same.
    """
    _validate(question, k, mode)
    followup.history_questions(history)
    return default_retriever().ask(question, k=k, mode=mode, history=history)
