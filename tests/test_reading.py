"""Reading (qa.answer.reading): typed reading, the reader's span as a short answer, the context window."""
import threading

import numpy as np
import pytest

from qa.answer import reading as typed
from qa.answer.noanswer import Signals
from qa.answer.policy import ReaderPolicy
from qa.answer.query import analyse
from qa.answer.reader import Reading, Span

TEXT = "全省受损农房57974户，已竣工57463户，其余511户异地重建。五年来总书记第三次到山西考察。"


def _reading(text: str, start: int, end: int, bonus: dict | None = None) -> Reading:
    """Logits over one character per token that make ``text[start:end]`` the best span (score 10 over a
    no-answer of 0); ``bonus`` adds to the start and end logits of other spans, {(a, b): score}."""
    m = len(text)
    offs = np.array([(i, i + 1) for i in range(m)], dtype=np.int64)
    st, en = np.full(m, -20.0, dtype=np.float32), np.full(m, -20.0, dtype=np.float32)
    st[start], en[end - 1] = 5.0, 5.0
    for (a, b), score in (bonus or {}).items():
        st[a], en[b - 1] = score / 2, score / 2
    return Reading(((offs, st, en, 0.0),))


def _sentences(text):
    ends = [i + 1 for i, c in enumerate(text) if c == "。"]
    return list(zip([0] + ends[:-1], ends))


def test_a_span_of_the_asked_kind_is_kept():
    q = analyse("已竣工的农房有多少户？")
    a = TEXT.index("57463户")
    choice = typed.typed_read(q, _reading(TEXT, a, a + 6), TEXT, _sentences(TEXT))
    assert choice.fits and choice.typed is None and TEXT[choice.best.start:choice.best.end] == "57463户"


def test_a_span_of_another_kind_gives_way_to_the_nearly_preferred_span_of_the_asked_kind():
    q = analyse("总书记这是第几次来山西？")
    five, third = TEXT.index("五年"), TEXT.index("第三次")
    reading = _reading(TEXT, five, five + 2, {(third, third + 3): 8.0})
    choice = typed.typed_read(q, reading, TEXT, _sentences(TEXT))
    assert not choice.fits and TEXT[choice.typed.start:choice.typed.end] == "第三次"
    assert choice.best.margin == pytest.approx(10.0) and choice.typed.margin == pytest.approx(8.0)
    span, fits = typed.choose(choice, swap_within=5.0)
    assert fits and (span.start, span.end) == (third, third + 3)
    span, fits = typed.choose(choice, swap_within=1.0)  # the reader prefers its own span by more than that
    assert not fits and (span.start, span.end) == (five, five + 2)


def test_a_run_of_figures_read_for_one_figure_narrows_to_the_best_scored_one_of_the_asked_kind():
    text = "煤炭产量11.9亿吨、增长10.5%，外送电量1234.7亿千瓦时。"
    tons, grow = text.index("11.9亿吨"), text.index("10.5%")
    run = (tons, grow + 5)  # 11.9亿吨、增长10.5%: the reader's best, start 6 + end 6

    def reading(tons_end: float) -> Reading:
        m = len(text)
        st, en = np.full(m, -20.0, dtype=np.float32), np.full(m, -20.0, dtype=np.float32)
        st[tons], en[grow + 4], st[grow], en[tons + 5] = 6.0, 6.0, 3.0, tons_end
        return Reading(((np.array([(i, i + 1) for i in range(m)], dtype=np.int64), st, en, 0.0),))

    choice = typed.typed_read(analyse("煤炭产量同比增长了多少？"), reading(1.0), text, _sentences(text))
    assert choice.fits and text[choice.best.start:choice.best.end] == "10.5%"
    assert choice.best.margin == pytest.approx(9.0)  # the reader's own score of the narrower span
    choice = typed.typed_read(analyse("煤炭产量是多少？"), reading(4.0), text, _sentences(text))
    assert text[choice.best.start:choice.best.end] == "11.9亿吨"  # the reader's choice: 10 over 9
    # 分别 asks for the run: it is kept whole
    choice = typed.typed_read(analyse("煤炭产量和增幅分别是多少？"), reading(1.0), text, _sentences(text))
    assert (choice.best.start, choice.best.end) == run
    one = text.index("1234.7")  # one figure read with its words: kept as read
    choice = typed.typed_read(analyse("外送电量是多少？"), _reading(text, one - 4, one + 10), text, _sentences(text))
    assert (choice.best.start, choice.best.end) == (one - 4, one + 10)


def test_a_figure_the_question_states_is_not_its_answer():
    text = "去年排查风险隐患29.6万件，整改销号28.1万件。"
    q = analyse("去年排查出的29.6万件风险隐患中已经整改销号了多少件？")
    kinds = typed.kind_spans(q, text, _sentences(text))
    assert [text[a:b] for a, b in kinds] == ["28.1万件"]
    a = text.index("29.6万件")
    choice = typed.typed_read(q, _reading(text, a, a + 6), text, _sentences(text))
    assert not choice.fits and text[choice.typed.start:choice.typed.end] == "28.1万件"


def test_questions_of_other_kinds_and_english_ones_are_read_as_they_are():
    for question in ("山西的文化和旅游是怎么结合起来的？", "How many households were rebuilt?"):
        q = analyse(question)
        assert not typed.applies(q)
        choice = typed.typed_read(q, _reading(TEXT, 0, 2), TEXT, _sentences(TEXT))
        assert choice == (Span(0, 2, 10.0, 0.0), None, True)


def test_a_span_of_the_wrong_kind_counts_as_a_check_only_below_its_bar():
    pol = ReaderPolicy(min_margin=-5.0, kinds_below=6.0)
    s = Signals(0.9, [], [], want="count", reader_margin=4.0, wrong_kind=True)
    ok, why = pol.verdict(s)
    assert not ok and "不是所问的数目" in why[0]
    s.reader_margin = 7.0  # a sure reader: the grammar does not know every figure (八百余年)
    assert pol.verdict(s) == (True, [])


@pytest.mark.slow
def test_the_shipped_reader_scores_its_own_best_span_alike(shipped_reader):
    question = "2021年山西煤炭产量是多少？"
    text = "2021年，在确保安全生产的基础上满产增产，煤炭产量11.9亿吨、增长10.5%，为国家能源安全作出贡献。"
    reading = shipped_reader.readings(question, [text])[0]
    best = reading.best()
    assert best == shipped_reader.read(question, [text])[0]
    again = reading.span(best.start, best.end)
    assert again.score == pytest.approx(best.score) and again.null == best.null
    assert reading.span(0, len(text)) is None  # longer than a span may be


@pytest.fixture(scope="module")
def shipped_reader():
    from qa.answer.reader import shared_reader

    return shared_reader()


# -- with the real reader over the committed index -----------------------------------------------------
@pytest.mark.slow
def test_a_passage_the_reader_is_far_surer_of_moves_to_the_top(retriever, monkeypatch):
    """Retrieval ranks; among passages it scores nearly alike, one whose span the reader is surer of by
    more than PROMOTE_GAP moves up (the readings here are made up: what is tested is the choice)."""
    from qa.answer import reading
    from qa.answer.query import analyse
    from qa.answer.reader import Span

    q = "2021年山西煤炭产量是多少？"
    ranking = retriever.search(q)
    margins = {}

    def choice(self, question, query, chunk, in_context=False):
        return reading.Choice(Span(0, 2, margins[chunk.id], 0.0), None, True)

    monkeypatch.setattr(reading.PassageReader, "choice", choice)
    for second, third, moved in ((reading.PROMOTE_GAP + 1.5, 50.0, 1), (reading.PROMOTE_GAP - 0.5, 50.0, 0)):
        passages, chunks = retriever.passages(q, ranking, "hybrid", 3)
        ids = [c.id for c in chunks]
        scores = [p.score for p in passages]
        scores[1] = 0.9 * scores[0]  # within PROMOTE_RATIO
        scores[2] = 0.5 * scores[0]  # too far down, however sure the reader
        margins.update({ids[0]: 1.0, ids[1]: 1.0 + second, ids[2]: 1.0 + third})
        got, j = reading.PassageReader(retriever.reader, retriever.index.store, threading.Lock()).top(
            q, analyse(q), scores, chunks, swap_within=5.0)
        assert j == moved and got.best.score == margins[ids[moved]]


@pytest.mark.slow
def test_a_chunk_is_read_inside_whole_chunks_of_its_own_paragraph(retriever):
    from qa.answer.reading import CONTEXT_CHARS

    chunks = retriever.index.chunks
    grown = 0
    for c in chunks:
        text, lo = retriever.context(c, CONTEXT_CHARS)
        doc = retriever.index.store.documents[c.doc]
        assert text[lo:lo + len(c.text)] == c.text  # the chunk itself, where it says
        a = c.start - lo
        assert doc[a:a + len(text)] == text  # a piece of its own document
        assert "\n" not in doc[a:c.start] and "\n" not in doc[c.end:a + len(text)]  # inside its paragraph
        assert lo <= CONTEXT_CHARS and len(text) - lo - len(c.text) <= CONTEXT_CHARS
        starts = {n.start for n in chunks if n.doc == c.doc}
        assert a in starts  # whole chunks only
        grown += len(text) > len(c.text)
    assert grown > len(chunks) // 3  # most of the article's chunks have a neighbour in their paragraph

