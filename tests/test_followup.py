"""Follow-ups resolved from the conversation: never rewriting a complete question, borrowing the topic,
asking again when there is none. The documents here are a few made-up sentences."""
import pytest

from qa.followup import history_questions, is_followup, resolve

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
