"""The question's journey: resolve the follow-up, search, read the top passages, decide, answer.

One path serves the CLI, the web chat, the APIs and the evaluation. Each stage is a public call with
a typed result, so training, benchmarks and tests call the stages ``ask()`` calls:

* ``resolve``: a follow-up borrows its topic from the conversation (:mod:`qa.answer.followup`);
* ``search``: every chunk scored by dense, lexical and hybrid at once (:mod:`qa.index.search`);
* ``read``: the top passages, read by the span reader (:mod:`qa.answer.reading`) or, without it, by
  the phrase rules (:mod:`qa.answer.phrases`), leave :class:`~qa.answer.policy.Evidence`;
* ``decide``: answer or say there is none, with which span (:func:`qa.answer.policy.decide`).

Whether the documents answer is judged on the hybrid ranking whatever the mode, so every mode abstains
alike; the mode only orders the passages shown.
"""
from __future__ import annotations

import dataclasses
import os
import re
import sys
import threading
import unicodedata
from pathlib import Path

import numpy as np

from . import config
from .answer import followup, noanswer, spans
from .answer.passages import Answer, Passage, move_answer, promote, rank
from .answer.phrases import PhraseReader
from .answer.policy import Candidate, Evidence, Policy, decide
from .answer.query import Query, about_authorship, analyse
from .answer.reader import Reader, ReaderError, shared_reader
from .answer.reading import PROMOTE_DEPTH, PassageReader, context_window, reader_short
from .index.embedding import DEFAULT_MODEL, load_embedder, model_id, model_name
from .index.generations import Index, check_max_chars, default_index_dir, default_sources, open_index
from .index.live import LiveIndex
from .index.search import MODES, Ranking, search
from .text.once import Once

__all__ = ["Answer", "Passage", "Pipeline", "Ranking", "MODES", "MAX_K", "MAX_QUESTION_CHARS", "ask", "retrieve",
           "clean_question", "check_k", "check_mode", "format_answer", "default_retriever"]

MAX_K = 100
#: Longer questions are cut to this many characters (with a note), on every surface.
MAX_QUESTION_CHARS = 1000
STORES = ("faiss", "milvus")
#: The reply to a follow-up that the conversation cannot resolve.
ASK_AGAIN = ("这个问题像是接着上文问的，但前面的对话里找不到它说的是什么：请把问题写完整，例如“2021年山西煤炭产量是多少？”"
             "(this looks like a follow-up, but the conversation does not say what it is about: please ask a "
             "complete question)")


class Pipeline:
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
        if index_dir is None and config.get("QA_INDEX"):
            index_dir = config.get("QA_INDEX")  # as explicit as --index: keeps its own sources
        if index_dir is None and model_name(model) != DEFAULT_MODEL:
            # another model never overwrites the committed index: it gets its own folder
            index_dir = config.cache_dir() / ("index-" + re.sub(r"[^A-Za-z0-9._-]+", "_", str(model_name(model))))
        self.index_dir = Path(index_dir) if index_dir else default_index_dir()
        self.model_name, self.max_chars = model, max_chars
        log = self._log = log or (lambda m: print(m, file=sys.stderr, flush=True))
        self._embedder = None
        self._reader: Reader | None | bool = False  # False: not loaded yet
        self._reader_lock = threading.Lock()
        if sources is None and (index_dir is None or self.index_dir.parent == config.cache_dir()):
            sources = default_sources()
        self.store_kind = check_store(store or config.get("QA_STORE") or "faiss")
        milvus_store = None
        if self.store_kind == "milvus":
            from .index import milvus

            milvus_store = milvus.Milvus(milvus_uri, milvus_name)
            if index_dir is None and not config.get("QA_INDEX"):
                sources = sources if sources is not None else default_sources()
            index = milvus.open_index(milvus_store, [Path(s) for s in sources] if sources else None,
                                      self._get_embedder, max_chars, model_id(model), rebuild, log)
        else:
            index = open_index(self.index_dir, [Path(s) for s in sources] if sources else None,
                               self._get_embedder, max_chars, model_id(model), rebuild, log)
        if config.reader_on():
            # the reader loads while the model opens; not a daemon: a process leaving mid-load (ONNX Runtime
            # inside its C++) would abort, so exit waits for it (well under a second)
            threading.Thread(target=lambda: self.reader, name="qa-reader-load").start()
        self.embedder = self._get_embedder()
        self.policy = Policy.load()
        self._lock = threading.Lock()  # one inference at a time: on two cores, threads gain nothing
        self.live = LiveIndex(index, self.index_dir, milvus_store, log)

    @property
    def index(self) -> Index:
        """The index answering now (a question in flight keeps the one it started with)."""
        return self.live.index

    def _get_embedder(self):
        if self._embedder is None:
            self._embedder = load_embedder(self.model_name)
        return self._embedder

    @property
    def reader(self) -> Reader | None:
        """The span reader, or None where its weights are missing or ``QA_READER=0`` (one per process)."""
        with self._reader_lock:
            if self._reader is False:
                reader = None
                if config.reader_on():
                    try:
                        reader = shared_reader()
                    except ReaderError as exc:
                        self._log(f"qa: {exc}; short answers come from the phrase rules")
                self._reader = reader
        return self._reader

    def contains(self, phrase: str) -> bool:
        """Whether ``phrase`` (NFKC, lower case) occurs in some chunk of the documents."""
        return self.index.store.contains(phrase)

    # -- the public API -------------------------------------------------------------------------------
    def retrieve(self, question: str, k: int = 5, mode: str | None = None) -> list[Passage]:
        """The ``k`` passages that best answer ``question``, best first."""
        text, _ = clean_question(question)
        k, mode = check_k(k), check_mode(self.mode if mode is None else mode)
        with self.live.pinned():
            return self.passages(text, self.search(text), mode, k)[0]

    def ask(self, question: str, k: int = 5, mode: str | None = None, history=None) -> Answer:
        """Retrieve, pick the answer sentence and its short span, and say whether the documents answer.

        ``history``: the earlier turns of a conversation, oldest first (questions as strings, or chat
        messages ``{"role", "content"}``); ``Answer.resolved`` says how a follow-up was understood.
        """
        text, notes = clean_question(question)
        k, mode = check_k(k), check_mode(self.mode if mode is None else mode)
        followup.history_questions(history)
        with self.live.pinned():
            query = self.resolve(text, history)
            if query is None:
                return Answer(answer=None, confident=False, passages=self.passages(text, self.search(text), mode, k)[0],
                              notes=notes + [ASK_AGAIN])
            notes += self._length_notes(query.text)
            ranking = self.search(query.text)
            passages, chunks, evidence = self.read(query, ranking, k)
            decision = decide(evidence, self.policy)
            for span in decision.anchors:
                move_answer(passages[0], chunks[0], span)
            short = decision.short
            if mode != "hybrid":
                passages, chunks, short = self._in_mode(query, ranking, mode, k, chunks[0].id, short)
            if not decision.confident:
                notes.extend(decision.reasons)
            if decision.confident and short is not None and short.tied and short.crisp:
                move_answer(passages[0], chunks[0], short)
            else:
                short = None
            return Answer(answer=passages[0].answer if decision.confident and passages else None,
                          confident=decision.confident, passages=passages, notes=notes,
                          short=short.text if short else None, short_start=short.start if short else None,
                          short_end=short.end if short else None,
                          resolved=query.text if history is not None else None)

    # -- the stages -----------------------------------------------------------------------------------
    def resolve(self, text: str, history=None) -> Query | None:
        """The question as understood: with a ``history``, a follow-up completed from it (None when the
        conversation cannot say what it is about)."""
        if history is None:
            return analyse(text)
        turns = []
        for turn in followup.history_questions(history):
            try:
                turns.append(clean_question(turn)[0])
            except ValueError:
                continue  # an empty earlier turn says nothing
        res = followup.resolve(text, turns, self.contains)
        if res.text is None:
            return None
        return dataclasses.replace(analyse(res.text), incomplete=None)  # its topic came from the conversation

    def search(self, question: str, vector=None) -> Ranking:
        """Every chunk that may answer ``question``, scored by every mode."""
        if vector is None:
            with self._lock:
                vector = self.embedder.encode_queries([question])[0]
        return search(self.index, question, vector, lambda: self.live.sent_chunk)

    def passages(self, question: str, ranking: Ranking, mode: str, k: int) -> tuple[list[Passage], list]:
        """The top ``k`` passages by ``mode``, each with its answer sentence, and their chunks."""
        return rank(self.index, question, ranking, mode, k)

    def read(self, query: Query, ranking: Ranking, k: int) -> tuple[list[Passage], list, Evidence]:
        """Read the top passages (a passage may move to the top), and what the reading found in the top one."""
        index, text = self.index, query.text
        passages, chunks = self.passages(text, ranking, "hybrid", max(k, PROMOTE_DEPTH))
        rules = PhraseReader(index, self.embedder, self._lock)
        base = noanswer.measure(query, index.lexical, self.contains)
        if self.reader is None or query.want == "author":  # the phrase rules read, and choose the passage
            short = rules.choose(query, ranking, passages, chunks)
            passages, chunks = passages[:k], chunks[:k]
            on = _measure(base, query, chunks[0])
            return passages, chunks, Evidence(query, Candidate(short, None, on(short)), on(None), found=bool(passages))
        choice, j = PassageReader(self.reader, index.store, self._lock).top(
            text, query, [p.score for p in passages], chunks, self.policy.reader.swap_within)
        if j:
            promote(passages, chunks, j)
        passages, chunks = passages[:k], chunks[:k]
        top, on = chunks[0], _measure(base, query, chunks[0])
        rule = None
        if config.rules_on():
            rule = _not_byline(query, top, rules.short(query, top, passages[0].answer_start, ranking.vector))

        def candidate(span) -> Candidate:
            short = _not_byline(query, top, reader_short(top, span))
            if short is None:  # nothing left to answer with: the reader's span does not count
                span = None
            return Candidate(short, span.margin if span is not None else None, on(short))

        best = candidate(choice.best)
        return passages, chunks, Evidence(
            query, Candidate(rule, None, on(rule)), on(None), best=best,
            typed=candidate(choice.typed) if choice.typed is not None else None, fits=choice.fits,
            # check 3 asks whether a span of the asked kind is tied to the question: the rules' span where
            # they read that kind, else the reader's own
            typed_checks=tuple(noanswer.typed_checks_for(
                query, rule if config.rules_on() and query.want in spans.READS else best.short)),
            found=bool(passages), top_score=ranking.score_of(top.id, "dense"))

    def context(self, chunk, chars: int) -> tuple[str, int]:
        """``chunk`` inside up to ``chars`` characters of whole chunks of its own paragraph, as the reader reads
        the top one, and where the chunk starts in that text."""
        return context_window(self.index.store, chunk, chars)

    def evidence(self, question: str, history=None) -> Evidence | None:
        """What ``ask()`` reads for ``question``, for fitting the policy (None: an unresolved follow-up)."""
        text, _ = clean_question(question)
        with self.live.pinned():
            query = self.resolve(text, history)
            return None if query is None else self.read(query, self.search(query.text), 1)[2]

    def signals(self, question: str, history=None) -> noanswer.Signals:
        """The no-answer signals ``ask()`` decides on (used to fit the soft score)."""
        ev = self.evidence(question, history)
        return noanswer.Signals(0.0, [], [], incomplete="unresolved") if ev is None else \
            decide(ev, self.policy).signals

    def _in_mode(self, query: Query, ranking: Ranking, mode: str, k: int, hybrid_top: int, short):
        """The passages by ``mode``; where its top one is another chunk, the short answer read there."""
        passages, chunks = self.passages(query.text, ranking, mode, k)
        if chunks[0].id != hybrid_top and short is not None:
            if self.reader is not None and query.want != "author":
                short = reader_short(chunks[0], PassageReader(self.reader, self.index.store, self._lock)
                                     .best_span(query.text, chunks[0]))
                if short is not None:
                    move_answer(passages[0], chunks[0], short)
            else:
                short = PhraseReader(self.index, self.embedder, self._lock).short(
                    query, chunks[0], passages[0].answer_start, ranking.vector)
        return passages, chunks, short

    def _length_notes(self, text: str) -> list[str]:
        if len(text) > 200 and self.embedder.token_count(text) > self.embedder.max_tokens:
            return [f"The model reads {self.embedder.max_tokens} tokens at most; the rest of the "
                    f"question was not embedded (问题超出模型可读长度，后面部分未参与语义检索)."]
        return []


def _not_byline(query: Query, chunk, short):
    """``short``, unless it lies in a byline (（作者为…）) and the question does not ask who wrote the document:
    a byline answers that question only."""
    if short is None or query.want == "author" or about_authorship(query.text):
        return short
    for a, b in chunk.sentences:
        if a <= short.start < b and spans.byline(chunk.text[a - chunk.start:b - chunk.start]) is not None:
            return None
    return short


def _measure(base: noanswer.Signals, query: Query, chunk):
    """The signals of a span of ``chunk`` (or of none), on the question's own (``base``)."""
    passage = chunk.section + "\n" + chunk.text
    return lambda span: noanswer.on_span(base, query, passage, span)


# -- checking what callers pass -----------------------------------------------------------------------
_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\ufeff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SPACES = re.compile(r"\s+")


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


def check_store(store: object) -> str:
    if store not in STORES:
        raise ValueError(f"store must be one of {', '.join(STORES)}, not {store!r}.")
    return store  # type: ignore[return-value]


def check_mode(mode: object) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}.")
    return mode  # type: ignore[return-value]


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


_default: Once[Pipeline] = Once(Pipeline)


def default_retriever(make=None) -> Pipeline:
    """The process-wide retriever over the default index, made on first use (by ``make()``, else ``Pipeline()``,
    which builds the index when it is missing)."""
    return _default.get(make)


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
