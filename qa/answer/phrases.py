"""The phrase rules as a reader: the short answer they find in a chunk, and the passages they move up.

Where the span reader does not read (``QA_READER=0``, questions about who wrote a document) the
rules of :mod:`.spans` answer alone, and they judge the reader's top passage as well: their tied
span of the asked kind is a candidate that :func:`qa.answer.policy.decide` weighs against the
reader's. Without the reader the rules also choose the passage: one of the next two, scoring nearly
as high, that holds a tied span of the asked kind where the top one holds none moves up; for a
question about the author, the passage with the document's byline.
"""
from __future__ import annotations

import numpy as np

from . import noanswer, spans
from .passages import passage, promote, question_tokens
from .query import Query
from .reading import PROMOTE_DEPTH, PROMOTE_RATIO

#: An author question looks for a byline among this many chunks that use :data:`BYLINE_WORD`.
BYLINE_DEPTH = 50
BYLINE_WORD = "作者"


class PhraseReader:
    """The phrase rules over one index, for one question (``lock`` guards the embedder)."""

    def __init__(self, index, embedder, lock):
        self.index, self.embedder, self.lock = index, embedder, lock

    def short(self, query: Query, chunk, answer_start: int, q_vec: np.ndarray) -> spans.Short | None:
        """The short answer inside ``chunk``, preferring its answer sentence (starting at ``answer_start``)."""
        sents = [chunk.text[a - chunk.start:b - chunk.start] for a, b in chunk.sentences]
        offsets = [a for a, _ in chunk.sentences]
        first = next((i for i, (a, _) in enumerate(chunk.sentences) if a == answer_start), 0)
        clause_sim = None
        if query.english:  # its words cannot be matched: rank the candidates' clauses by meaning
            def clause_sim(texts: list[str]) -> list[float]:
                with self.lock:
                    return [float(x) for x in self.embedder.encode_documents(texts) @ q_vec]
        return spans.short_answer(query, sents, offsets, self.index.lexical, first, clause_sim)

    def choose(self, query: Query, ranking, passages: list, chunks: list) -> spans.Short | None:
        """The rules' short answer for the top passage, after moving up the passage that answers (see the
        module docstring)."""
        short = self.short(query, chunks[0], passages[0].answer_start, ranking.vector)

        def answers(sp, chunk) -> bool:  # a tied span whose clause has the question's qualifiers
            return sp is not None and sp.tied and not noanswer.missing_qualifiers(query, chunk.text, sp.context)

        def promote_first(ok, ratio: float | None):  # the first of the next passages whose span is ok
            for j in range(1, min(PROMOTE_DEPTH, len(passages))):
                if ratio is not None and passages[j].score < ratio * passages[0].score:
                    break
                other = self.short(query, chunks[j], passages[j].answer_start, ranking.vector)
                if ok(other, chunks[j]):
                    promote(passages, chunks, j)
                    return other
            return None

        if query.want == "author":
            if short is None:
                short = self.byline(query, ranking, passages, chunks)
        elif query.typed and not query.incomplete and not answers(short, chunks[0]):
            short = promote_first(answers, PROMOTE_RATIO) or short
        elif short is None and spans.asks_name(query) and not query.incomplete:
            # 那个行动叫什么: a quoted name of the kind asked (“…”行动) is as telling as a figure of the kind
            # asked, and a passage that has none does not answer however well it shares the words
            short = promote_first(lambda sp, _: sp is not None, None)
        return short

    def byline(self, query: Query, ranking, passages: list, chunks: list) -> spans.Short | None:
        """For a question about who wrote the document: move the passage with its byline to the top.

        A byline is the document's own word on who wrote it, so the passage that holds one answers
        however far down a question with few of the document's words ranks it: first among the
        ranked passages, then among the chunks that use the word 作者 at all (the top passage's
        document first)."""
        for j in range(1, len(passages)):  # the top one has none (the caller looked)
            got = self.short(query, chunks[j], passages[j].answer_start, ranking.vector)
            if got is not None:
                promote(passages, chunks, j)
                return got
        ix = self.index
        ids = [int(i) for i in ix.lexical.candidates(BYLINE_WORD, BYLINE_DEPTH, max_df=1.0)]
        found = [c for c in ix.store.get_chunks(sorted(ids)) if any(spans.byline(c.text[a - c.start:b - c.start])
                                                                   for a, b in c.sentences)]
        if not found:
            return None
        top_doc = chunks[0].doc if chunks else None
        c = min(found, key=lambda c: (c.doc != top_doc, c.id))
        passages.append(passage(ix, c, ranking.score_of(c.id), len(passages) + 1, ranking.vector,
                                question_tokens(query.text)))
        chunks.append(c)
        promote(passages, chunks, len(passages) - 1)
        return self.short(query, c, passages[0].answer_start, ranking.vector)
