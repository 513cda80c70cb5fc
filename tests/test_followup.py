"""Follow-ups resolved from the conversation: never rewriting a complete question, borrowing the topic,
asking again when there is none. The documents here are a few made-up sentences."""
import pytest

from qa.answer.followup import history_questions, is_followup, resolve

DOC = ("2021年，全市粮食产量120万吨，同比增长5%。全市共有博物馆3座，其中新建1座。"
       "去年，全市空气优良天数比例达80%，PM2.5平均浓度35微克/立方米。全市重点发展光伏、风电等新能源。")


def contains(phrase: str) -> bool:
    return phrase in DOC


def test_history_formats():
    assert history_questions(["a", "b"]) == ["a", "b"]
    msgs = [{"role": "user", "content": "问1"}, {"role": "assistant", "content": "答"},
            {"role": "user", "content": [{"type": "text", "text": "问2"}]}]
    assert history_questions(msgs) == ["问1", "问2"]
    assert history_questions(None) == []
    for bad in ("一个字符串", [1, 2], [{"role": "system", "content": "x"}], {"a": 1}):
        with pytest.raises(ValueError):
            history_questions(bad)


@pytest.mark.parametrize("question,follow", [
    ("那去年呢？", True), ("它增长了多少？", True), ("为什么？", True), ("同比涨了多少？", True),
    ("PM2.5平均浓度又是多少？", True), ("全市有几座博物馆？", False), ("2021年全市粮食产量是多少？", False),
])
def test_is_followup(question, follow):
    assert is_followup(question, contains) is follow


def test_complete_questions_are_never_rewritten():
    res = resolve("全市有几座博物馆？", ["2021年全市粮食产量是多少？"], contains)
    assert res.text == "全市有几座博物馆？" and not res.rewritten


def test_borrowing_the_topic():
    res = resolve("同比涨了多少？", ["2021年全市粮食产量是多少？"], contains)
    assert res.rewritten and res.text.startswith("2021年全市粮食产量") and res.text.endswith("同比涨了多少？")
    res = resolve("它增长了多少？", ["2021年全市粮食产量是多少？"], contains)
    assert "粮食产量" in res.text and "它" not in res.text
    res = resolve("为什么？", ["全市重点发展哪些新能源？"], contains)
    assert "新能源" in res.text and res.text.endswith("为什么？")


def test_elliptic_follow_ups_replace_what_they_change():
    assert resolve("那2020年呢？", ["2021年全市粮食产量是多少？"], contains).text == "2020年全市粮食产量是多少？"
    res = resolve("比例呢？", ["去年全市空气优良天数有多少？"], contains)
    assert res.text.startswith("去年") and "比例" in res.text and res.text.endswith("是多少？")


def test_follow_ups_chain_through_the_conversation():
    res = resolve("那2020年呢？", ["2021年全市粮食产量是多少？", "同比涨了多少？"], contains)
    assert res.text.startswith("2020年全市粮食产量")


def test_nothing_to_borrow_means_ask_again():
    assert resolve("它增长了多少？", ["今天天气真不错啊"], contains).text is None
    assert resolve("那去年呢？", [], contains).text is None


def test_colloquial_question_words_are_not_elliptic_nouns():
    # 咋 (怎么) asks; 咋还没完工呢 must not replace the earlier question's noun
    res = resolve("咋还没建成呢？", ["全市有几座博物馆？"], contains)
    assert "博物馆" in res.text and res.text.endswith("咋还没建成？")


def test_context_drops_the_whole_question_word_and_keeps_qizhong():
    res = resolve("其中有多少座是新建的？", ["全市有多少座博物馆？"], contains)
    assert res.text == "全市博物馆，其中有多少座是新建的？"


def test_a_new_aspect_with_its_question_keeps_the_scope():
    res = resolve("光伏这块呢，发展了多少？", ["全市粮食产量是多少？"], contains)
    assert res.text == "全市光伏这块，发展了多少？"


def test_enumeration_drops_the_earlier_circumstance():
    res = resolve("都包括哪几种？", ["全市在能源方面发展新能源吗？"], contains)
    assert res.text == "全市发展新能源，都包括哪几种？"
    # any other follow-up keeps it
    assert "能源方面" in resolve("同比涨了多少？", ["全市在能源方面发展新能源吗？"], contains).text


def test_a_subjectless_question_borrows_the_topic_only_in_a_conversation():
    q = "发展光伏的目的是什么？"  # names a document phrase, but opens with its verb
    assert not is_followup(q, contains)
    res = resolve(q, ["全市重点发展哪些新能源？"], contains)
    assert res.rewritten and res.text.startswith("全市") and res.text.endswith(q)
    alone = resolve(q, [], contains)
    assert alone.text == q and not alone.rewritten
    # a question with its own scope is still complete
    res = resolve("全市空气优良天数比例是多少？", ["全市重点发展哪些新能源？"], contains)
    assert not res.rewritten


def test_a_frame_goes_with_its_question_word():
    res = resolve("同比涨了多少？", ["全市发展以什么为重点？"], contains)
    assert "以为" not in res.text and res.text.startswith("全市发展")


def test_pointing_phrases_with_a_count_are_pronouns():
    res = resolve("这两个数同比降了多少？", ["全市有几座博物馆？"], contains)
    assert "这两个数" not in res.text and res.text.endswith("同比降了多少？")


def test_a_parallel_predicate_replaces_the_earlier_one():
    res = resolve("那要发展哪些新能源？", ["全市要保障哪些粮食安全？"], contains)
    assert res.text == "全市要发展哪些新能源？"


def test_a_question_about_the_document_itself_is_no_follow_up():
    from qa.answer.followup import is_followup
    for question in ("这篇文章是谁写的？", "本文讲了什么？", "Who wrote this article?"):
        assert not is_followup(question, lambda phrase: False), question
