"""qa/pipeline.py with the real model and the committed index: retrieve() and ask() end to end, the answer's
fields and offsets, follow-ups, and bad input. The stages have their own tests (test_search, test_reading,
test_phrases, test_policy, test_live); the questions are the engine's own (own_questions.py)."""
from __future__ import annotations

import json

import pytest

from own_questions import NEAR_MISSES, OWN_QUESTIONS, SHORT_QUESTIONS
from qa import Answer, Passage, ask, retrieve
from qa.retriever import MAX_K, MAX_QUESTION_CHARS

pytestmark = pytest.mark.slow  # the real model and the committed index


def test_own_questions_are_not_in_the_evaluation_set():
    from importlib import resources

    shipped = {json.loads(line)["question"] for line in
               resources.files("qa").joinpath("data/questions.jsonl").read_text("utf-8").splitlines() if line}
    assert not shipped & {q for q, _ in OWN_QUESTIONS}


def test_passage_fields_and_offsets(retriever):
    passages = retrieve("2021年山西煤炭产量是多少？", k=5)
    assert [p.rank for p in passages] == [1, 2, 3, 4, 5]
    assert all(isinstance(p, Passage) for p in passages)
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True) and 0 <= scores[-1] <= scores[0] <= 1
    for p in passages:
        doc = retriever.index.documents[p.doc]
        assert doc[p.start:p.end] == p.text
        assert doc[p.answer_start:p.answer_end] == p.answer
        assert p.start <= p.answer_start < p.answer_end <= p.end
        assert p.section
    assert "11.9亿吨" in passages[0].answer


def test_answer_sentence_is_chosen_by_content_not_position(retriever):
    # the gold sentence is the last of its passage, not the first
    a = ask("高等级生物安全实验室在建设吗")
    assert a.confident and "加紧建设全省首个高等级生物安全实验室" in a.answer
    top = a.passages[0]
    assert top.answer_start > top.start


def test_ask_and_json_shape(retriever):
    a = ask("去年汾河秋汛中转移安置了多少群众？", k=3)
    assert isinstance(a, Answer) and a.confident and "16.34万人" in a.answer
    d = a.to_dict()
    assert set(d) == {"answer", "confident", "short", "short_start", "short_end", "resolved", "passages"}
    assert d["short"] == "16.34万人" and d["resolved"] is None
    assert set(d["passages"][0]) == {"text", "score", "rank", "doc", "section", "start", "end", "answer",
                                     "answer_start", "answer_end", "page"}
    json.dumps(d, ensure_ascii=False)


@pytest.mark.parametrize("bad", ["", "   ", "\n\t", "？？！", "\u200b\u200b", None, 42, ["问题"]])
def test_empty_or_non_text_questions_raise_value_error(bad):
    with pytest.raises(ValueError):
        retrieve(bad)
    with pytest.raises(ValueError):
        ask(bad)


@pytest.mark.parametrize("k", [0, -1, MAX_K + 1, 10**9, 2.5, "5", True, None])
def test_bad_k_raises_value_error(k):
    with pytest.raises(ValueError, match="k must"):
        retrieve("煤炭产量", k=k)


def test_bad_mode_raises_value_error():
    with pytest.raises(ValueError, match="mode must be one of"):
        retrieve("煤炭产量", mode="semantic")


def test_huge_question_is_cut_with_a_note():
    q = "2021年山西煤炭产量是多少？" + "啊" * 100_000
    a = ask(q)
    assert a.notes and str(MAX_QUESTION_CHARS) in a.notes[0].replace(",", "")
    assert "11.9亿吨" in a.passages[0].text


# -- short answers and follow-ups (the engine's own questions, not in the shipped set) --------------------


def test_short_answers_and_near_misses_are_not_in_the_evaluation_set():
    from importlib import resources

    shipped = {json.loads(line)["question"] for line in
               resources.files("qa").joinpath("data/questions.jsonl").read_text("utf-8").splitlines() if line}
    assert not shipped & ({q for q, _ in SHORT_QUESTIONS} | set(NEAR_MISSES))


@pytest.mark.parametrize("question,short", SHORT_QUESTIONS)
def test_the_short_answer_has_exact_offsets_inside_the_answer_sentence(retriever, question, short):
    a = retriever.ask(question)
    assert a.confident and a.short == short, (a.short, a.notes)
    doc = retriever.index.documents[a.passages[0].doc]
    assert doc[a.short_start:a.short_end] == a.short
    assert a.passages[0].answer_start <= a.short_start < a.short_end <= a.passages[0].answer_end
    assert a.short in a.answer


def test_follow_up_without_context_is_not_answered_blind(retriever):
    for q in ("那去年呢？", "它增长了多少？"):
        a = retriever.ask(q)
        assert not a.confident and any("请把问题写完整" in n for n in a.notes)


def test_follow_up_with_history_is_resolved(retriever):
    a = retriever.ask("同比增长了多少？", history=["2021年山西煤炭产量是多少？"])
    assert a.resolved and a.resolved != "同比增长了多少？" and "煤炭产量" in a.resolved
    assert a.confident and a.short == "10.5%"
    msgs = [{"role": "user", "content": "2021年山西煤炭产量是多少？"}, {"role": "assistant", "content": "11.9亿吨"}]
    assert retriever.ask("同比增长了多少？", history=msgs).short == "10.5%"
    complete = retriever.ask("去年汾河秋汛转移安置了多少群众？", history=["2021年山西煤炭产量是多少？"])
    assert complete.resolved == "去年汾河秋汛转移安置了多少群众？" and complete.short == "16.34万人"
    with pytest.raises(ValueError, match="history"):
        retriever.ask("同比增长了多少？", history="2021年山西煤炭产量是多少？")


# -- every input path is total -------------------------------------------------------------------------
@pytest.mark.parametrize("q", ["煤炭\udcff", "\ud800煤炭产量", "\udfff", "a\x00b", "煤" * 50_000])
def test_lone_surrogates_and_odd_text_are_answered_or_refused(q):
    try:
        a = ask(q)
    except ValueError:
        return
    assert isinstance(a, Answer)
    json.dumps(a.to_dict(), ensure_ascii=False).encode("utf-8")  # any lone surrogate left would fail here
    for note in a.notes:
        note.encode("utf-8")


def test_bad_arguments_raise_value_error_alike(retriever):
    from qa import Retriever

    with pytest.raises(ValueError, match="mode"):
        retriever.ask("煤炭", mode="")
    with pytest.raises(ValueError, match="mode"):
        ask("煤炭", mode="")
    with pytest.raises(ValueError, match="k must"):
        retriever.ask("煤炭", k=5.0)
    with pytest.raises(ValueError, match="max_chars"):
        Retriever(max_chars=0)
    with pytest.raises(ValueError, match="sources"):
        Retriever(index_dir="x", sources="some/dir")


def test_fuzzed_questions_get_an_answer_or_a_value_error(retriever):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    alphabet = st.characters(codec=None, categories=None)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.text(alphabet=alphabet, max_size=60), st.integers(min_value=-3, max_value=120),
           st.sampled_from(["hybrid", "dense", "lexical", "", "HYBRID", None]),
           st.one_of(st.none(), st.lists(st.text(max_size=20), max_size=3)))
    def check(q, k, mode, history):
        try:
            a = retriever.ask(q, k=k, mode=mode, history=history)
        except ValueError:
            return
        json.dumps(a.to_dict(), ensure_ascii=False).encode("utf-8")  # every string can be sent
        assert len(a.passages) == min(k, len(retriever.index.chunks))

    check()




def test_without_the_rules_the_reader_answers_alone(retriever, monkeypatch):
    """QA_RULES=0 measures what the reader carries: no rule span is weighed, and the short answer is the
    reader's own (here the same figure, which the rules would otherwise have given)."""
    from qa.answer.policy import decide

    q = SHORT_QUESTIONS[0][0]
    ev = retriever.evidence(q)
    assert ev.rule.short is not None and ev.rule.short.text == SHORT_QUESTIONS[0][1]  # the rules find it too
    monkeypatch.setenv("QA_RULES", "0")
    ev = retriever.evidence(q)
    assert ev.rule.short is None and not decide(ev, retriever.policy).signals.ruled
    a = retriever.ask(q)
    assert a.confident and a.short == ev.best.short.text == SHORT_QUESTIONS[0][1]
