"""qa/pipeline.py with the real model and the committed index: retrieve(), ask(), answers, bad input.

These twelve questions are the engine's own and are kept out of qa/data/questions.jsonl.
"""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from qa import Answer, Passage, ask, retrieve
from qa.retriever import MAX_K, MAX_QUESTION_CHARS, Retriever

pytestmark = pytest.mark.slow  # the real model and the committed index

# (question, a gold substring of the answer passage)
OWN_QUESTIONS = [
    ("山西2021年的煤炭产量有多少亿吨？", "11.9亿吨"),
    ("净输出电量是多少亿千瓦时？", "1234.7亿千瓦时"),
    ("第一批重复信访事项的化解率是多少", "97.52%"),
    ("汾河秋汛时转移安置了多少群众", "16.34万人"),
    ("2021年全省煤矿死亡事故有几起？", "死亡事故8起"),
    ("去年大气优良天数比例达到多少？", "72.1%"),
    ("生态环保督察问题整改的办结率", "办结率达99%"),
    ("习近平总书记五年来第几次到山西考察？", "第三次到山西考察"),
    ("山西为什么说要当好首都护城河？", "毗邻京畿"),
    ("What was the coal output of Shanxi province in the year 2021?", "11.9亿吨"),
    ("What was the average PM2.5 concentration in Shanxi last year?", "39微克"),
    ("How many people were relocated during the autumn floods of the Fen River?", "16.34万人"),
]


def test_own_questions_are_not_in_the_evaluation_set():
    from importlib import resources

    shipped = {json.loads(line)["question"] for line in
               resources.files("qa").joinpath("data/questions.jsonl").read_text("utf-8").splitlines() if line}
    assert not shipped & {q for q, _ in OWN_QUESTIONS}


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_gold_passage_rank_by_mode(retriever, mode):
    ranks = []
    for q, gold in OWN_QUESTIONS:
        passages = retriever.retrieve(q, k=5, mode=mode)
        ranks.append(next((p.rank for p in passages if gold in p.text), None))
    hit1 = sum(r == 1 for r in ranks) / len(ranks)
    hit5 = sum(r is not None for r in ranks) / len(ranks)
    print(f"{mode}: hit@1={hit1:.2f} hit@5={hit5:.2f} ranks={ranks}")
    # measured 2026-11-29: hybrid 0.83/1.00, dense 0.83/1.00, lexical 0.83/0.92 (hit@1/hit@5)
    floors = {"hybrid": (0.75, 1.0), "dense": (0.75, 0.9), "lexical": (0.75, 0.8)}[mode]
    assert hit1 >= floors[0] and hit5 >= floors[1]


def test_hybrid_answers_chinese_first_and_english_near_the_top(retriever):
    for q, gold in OWN_QUESTIONS:
        english = q.isascii()
        passages = retriever.retrieve(q, k=3 if english else 1)
        assert any(gold in p.text for p in passages), (q, [p.text[:30] for p in passages])


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


@pytest.mark.parametrize("question", ["2019年陕西省的煤炭产量是多少？", "这篇文章的作者叫什么名字？"])
def test_unanswerable_questions_are_flagged_with_nearest_passages(question):
    a = ask(question)
    assert a.confident is False and a.answer is None
    assert len(a.passages) == 5


@pytest.mark.parametrize("mode", ["dense", "lexical"])
def test_modes_score_scales(retriever, mode):
    ps = retriever.retrieve("空气质量优良天数比例", k=3, mode=mode)
    if mode == "dense":
        assert all(-1 <= p.score <= 1 for p in ps)
    else:
        assert all(p.score >= 0 for p in ps)


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


def test_large_k_returns_every_chunk(retriever):
    assert len(retrieve("煤炭", k=MAX_K)) == len(retriever.index.chunks)


def test_huge_question_is_cut_with_a_note():
    q = "2021年山西煤炭产量是多少？" + "啊" * 100_000
    a = ask(q)
    assert a.notes and str(MAX_QUESTION_CHARS) in a.notes[0].replace(",", "")
    assert "11.9亿吨" in a.passages[0].text


@pytest.mark.parametrize("q", [
    "２０２１年山西煤炭产量是多少？",          # full-width digits
    "2021年山西煤炭产量是多少？😀🔥",         # emoji
    "2021年\x00山西\x07煤炭产量\u200b是多少？",  # control and zero-width characters
    "Shanxi 2021年 coal 煤炭产量 how much?",  # mixed scripts
    "<script>alert(1)</script>2021年山西煤炭产量",  # markup is just text here
])
def test_odd_unicode_is_fine(q):
    assert "11.9亿吨" in retrieve(q, k=3)[0].text


def test_no_answer_says_why():
    a = ask("2019年陕西省的煤炭产量是多少？")
    assert not a.confident
    why = " ".join(a.notes)
    assert "陕西省" in why and "2019年" in why
    b = ask("这篇文章的作者叫什么名字？")
    assert any("tied to what is asked" in n for n in b.notes)


# -- short answers, near misses and follow-ups (the engine's own questions, not in the shipped set) ------
SHORT_QUESTIONS = [
    ("山西2021年的净输出电量有多少亿千瓦时？", "1234.7亿千瓦时"),
    ("2021年全省煤矿死亡事故导致多少人死亡？", "11人"),
    ("第一批重复信访事项的化解率达到多少？", "97.52%"),
    ("山西重点培育了几条产业链？", "10条"),
]
NEAR_MISSES = [
    "秋汛期间一共有多少人受伤？",                # injuries: the article counts the evacuated
    "全省重点培育的产业链有多少家龙头企业？",      # companies (家): the article counts chains (条)
    "2021年全国煤矿事故死了多少人？",            # national: the article gives the province's figure
    "去年山西PM2.5日均浓度最高达到多少？",        # the article gives the yearly average only
    "2021年河北煤炭产量是多少？",                # another province: a name the article never uses
    "太行钢铁集团去年的产量是多少？",              # a company the article never names
]
#: The reason each near miss is given, where it is a name (a sure reader never overrules one).
NEAR_MISS_NAMES = {"2021年河北煤炭产量是多少？": "河北", "太行钢铁集团去年的产量是多少？": "太行"}


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


@pytest.mark.parametrize("question", NEAR_MISSES)
def test_near_miss_questions_get_no_answer_and_say_what_is_missing(retriever, question):
    a = retriever.ask(question)
    assert not a.confident and a.answer is None and a.short is None, a.short
    assert a.notes and len(a.passages) == 5
    if question in NEAR_MISS_NAMES:
        assert NEAR_MISS_NAMES[question] in a.notes[0], a.notes


#: Off-topic English: nothing in the article answers them (the question set's English questions keep
#: their answers: qa eval's test split).
OFF_TOPIC_ENGLISH = ["What is the capital of France?", "What is Python?", "Tell me a joke", "What is the speed of light?"]


@pytest.mark.parametrize("question", OFF_TOPIC_ENGLISH)
def test_off_topic_english_gets_no_answer(retriever, question):
    a = retriever.ask(question)
    assert not a.confident and a.short is None and a.notes, (a.short, a.answer)


def test_the_byline_answers_only_questions_about_who_wrote(retriever):
    assert retriever.ask("Who wrote this?").short == "中共山西省委书记"
    assert retriever.ask("What position does the author of the article hold?").short == "中共山西省委书记"
    assert "作者" not in (retriever.ask("What is the speed of light?").answer or "")


def test_why_questions_have_no_short_answer(retriever):
    a = retriever.ask("山西为什么要当好首都护城河？")
    assert a.confident and a.short is None and "京畿" in a.passages[0].text


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


# -- every input path is total; a rebuilt index is picked up ------------------------------------
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


def test_a_running_retriever_answers_from_a_rebuilt_index(tmp_path, monkeypatch):
    import qa.retriever as rmod
    from qa.index import live
    from qa.index.generations import build_index

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "n.txt").write_text("本市的吉祥物是一只熊猫，名叫阿福。", encoding="utf-8")
    r = rmod.Retriever(index_dir=tmp_path / "ix", sources=[docs], log=lambda m: None)
    assert "阿福" in r.ask("吉祥物叫什么？").passages[0].text
    monkeypatch.setattr(live, "RELOAD_CHECK_S", 0.0)
    (docs / "n.txt").write_text("本市的吉祥物是一只老虎，名叫大福。", encoding="utf-8")
    build_index([docs], tmp_path / "ix", r.embedder, progress=False)  # as another process would
    assert "大福" in r.ask("吉祥物叫什么？").passages[0].text


def test_a_large_index_takes_candidates_and_agrees_with_exact_search(tmp_path, monkeypatch, seed_text, retriever):
    """Above the size threshold, dense candidates come from an IVF index and lexical ones from the rare
    tokens' postings; with every list probed, the answers are the exact ones."""
    from qa.index import ann
    from qa.index.generations import build_index

    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(6):  # six variants of the article: a few hundred chunks
        (docs / f"v{i}.txt").write_text(seed_text.replace("山西", ["山西", "河北", "河南", "陕西", "甘肃", "湖南"][i]),
                                        encoding="utf-8")
    monkeypatch.setattr(ann, "EXACT_MAX_CHUNKS", 100)
    monkeypatch.setattr(ann, "DEFAULT_NPROBE", 10_000)  # probe every list: the candidates are exact
    index = build_index([docs], tmp_path / "big", retriever.embedder, progress=False)
    assert index.manifest["search"]["dense"] == "ivf-pq-fastscan" and index.store.ann is not None
    big = Retriever(index_dir=tmp_path / "big", log=lambda m: None)
    rows = [0, 1, 2, 7, 40, 41]  # read with pread in runs of consecutive rows, equal to the memory map's
    for arr in (big.index.chunk_vectors, big.index.sentence_vectors):
        assert np.array_equal(big.index.store.take(arr, rows), np.asarray(arr[rows]))
    monkeypatch.setattr(ann, "EXACT_MAX_CHUNKS", 10**9)
    exact = Retriever(index_dir=tmp_path / "exact", sources=[docs], log=lambda m: None)
    assert exact.index.store.ann is None
    for q in ("河北2021年煤炭产量是多少？", "陕西去年PM2.5平均浓度是多少？", "湖南紧急转移安置群众多少人"):
        a, b = big.retrieve(q, k=3), exact.retrieve(q, k=3)
        assert a[0].text == b[0].text and a[0].doc == b[0].doc, q
        assert big.ask(q).short == exact.ask(q).short


def test_a_question_about_the_author_is_answered_by_the_byline_however_low_it_ranks(retriever):
    question = "这篇讲国家安全的文章是哪位领导写的？"
    ranked = retriever.retrieve(question, k=MAX_K)
    byline = next(p for p in ranked if "（作者为" in p.text)
    assert byline.rank > 5  # its words are not the question's: ranking alone does not find it
    a = retriever.ask(question)
    assert a.confident and a.short == "中共山西省委书记"
    doc = retriever.index.documents[a.passages[0].doc]
    assert doc[a.short_start:a.short_end] == a.short and "（作者为" in a.passages[0].text
    assert [p.rank for p in a.passages] == list(range(1, len(a.passages) + 1))
    # the byline gives a title, not a name: asked for the name, the documents have no answer
    assert not retriever.ask("这篇文章的作者叫什么名字？").confident


def test_the_rules_alone_move_up_the_passage_that_names_what_is_asked(monkeypatch):
    # the phrase rules' own passage choice, as when the reader is switched off (QA_READER=0)
    monkeypatch.setenv("QA_READER", "0")
    retriever = Retriever(log=lambda m: None)
    assert retriever.reader is None
    question = "治理污染方面，山西持续开展的行动叫什么？"
    ranked = retriever.retrieve(question)
    assert "“利剑斩污”行动" not in ranked[0].answer  # ranking alone puts another passage first
    a = retriever.ask(question)
    assert a.confident and a.short == "利剑斩污" and "“利剑斩污”行动" in a.passages[0].answer
    assert [p.rank for p in a.passages] == list(range(1, len(a.passages) + 1))


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
