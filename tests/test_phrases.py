"""The phrase rules as a reader (qa.answer.phrases): the passage they move up, and the byline for questions
about who wrote the document, with the real model and the committed index."""
from __future__ import annotations

import pytest

from qa.retriever import MAX_K, Retriever

pytestmark = pytest.mark.slow  # the real model and the committed index


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

