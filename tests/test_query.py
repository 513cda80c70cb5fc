"""Reading a question: the kind of answer, its unit, its focus, qualifiers and follow-ups without a topic."""
import pytest

from qa.answer.query import analyse, incomplete_reason


@pytest.mark.parametrize("question,want,unit", [
    ("去年全省一共建了几座水库？", "count", "座"),
    ("这个县去年收了多少万吨粮食？", "amount", "吨"),
    ("城镇化率是多少？", "percent", None),
    ("新建住房占了多大比例？", "percent", None),
    ("这是他第几次来这里？", "ordinal", None),
    ("大桥是哪一年通车的？", "time", None),
    ("博物馆建在哪里？", "place", None),
    ("这项工程由谁负责？", "person", None),
    ("那位院士叫什么名字？", "name", None),
    ("当地有哪些特产？", "list", None),
    ("为什么要修这条路？", "how", None),
    ("学校把安全作为什么工作？", "phrase", None),  # 作为什么 is not 为什么
    ("这几年城市发生了怎样的变化？", "phrase", None),  # 怎样的 + noun asks what kind of
    ("修这座桥花了多少钱？", "amount", "元"),
    ("How many bridges were built last year?", "count", "座"),
    ("What percentage of roads are paved?", "percent", None),
    ("When did the bridge open?", "time", None),
    ("Who designed the museum?", "person", None),
    ("Why did the city grow?", "how", None),
])
def test_what_the_question_wants(question, want, unit):
    q = analyse(question)
    assert (q.want, q.unit) == (want, unit), question


def test_several_items_and_how_many_of_them():
    q = analyse("全省要打好哪三场攻坚战？")
    assert q.want == "list" and q.n_items == 3
    assert analyse("事故起数和死亡人数分别下降了多少？").several
    assert analyse("这几年全市来过几位专家？").unit == "位"  # 这几年 is not the question word


def test_focus_is_what_is_counted_not_the_topic():
    q = analyse("2020年全市发生了几起交通事故？")
    assert "交通事故" in q.focus and "2020" not in " ".join(q.focus)
    assert q.left.endswith("发生了") and q.right.startswith("起")


def test_qualifiers_change_what_is_measured():
    assert "最高" in analyse("去年气温最高是多少度？").qualifiers
    assert "人均" in analyse("人均收入是多少元？").qualifiers
    assert "第二批" in analyse("第二批项目有多少个？").qualifiers
    assert "非公" in analyse("非公企业有多少家？").qualifiers
    assert "非煤" in analyse("2021年山西非煤矿山发生了几起死亡事故？").qualifiers
    assert analyse("德国自哪一年开始对东非施行殖民统治?").qualifiers == []  # 非 ends the word 东非
    assert "各行业" in analyse("各行业一共招了多少人？").qualifiers
    assert "最严重" in analyse("最严重的一起事故死了几人？").qualifiers  # the whole word, not 最严
    assert analyse("学校把什么放在最重要的位置？").qualifiers == []  # a superlative of a phrase question


@pytest.mark.parametrize("question", ["那去年呢？", "它增长了多少？", "为什么？", "比例呢？", "具体有哪些？",
                                      "这些项目怎么样了？"])
def test_follow_ups_without_a_topic(question):
    assert incomplete_reason(question), question
    assert analyse(question).incomplete


@pytest.mark.parametrize("question", ["去年全市粮食产量是多少？", "这篇文章的作者是谁？", "为什么要修这条路？",
                                      "How many bridges were built?"])
def test_complete_questions_are_complete(question):
    assert incomplete_reason(question) is None


@pytest.mark.parametrize("question,want", [("这篇文章是谁写的？", "author"), ("写这篇文章的人是干啥的", "author"),
                                           ("作者是什么职务？", "author"), ("作者叫什么名字？", "author"),
                                           ("Who wrote this article?", "author"),
                                           ("作者的观点是什么？", "phrase"), ("作者提到了哪些领域？", "list"),
                                           ("What does the author say about coal?", "phrase")])
def test_questions_about_who_wrote_the_document(question, want):
    assert analyse(question).want == want


def test_a_comparison_with_the_year_before_is_a_frame_not_a_focus_or_qualifier():
    q = analyse("跟上一年比，全市粮食产量涨了多少？")
    assert "上年" not in q.qualifiers and not any("跟上" in f or "上一年" in f for f in q.focus)
    assert any("粮食" in f for f in q.focus)
    assert "上年" in analyse("上年粮食产量是多少？").qualifiers  # last year's figure itself is asked
    assert analyse("事故起数减少了百分之多少？").want == "percent"


@pytest.mark.parametrize("question", ["修路一共投入了多少资金？", "全市地区生产总值是多少？", "直接经济损失是多少？",
                                      "花了多少钱？"])
def test_what_is_measured_in_money_asks_for_yuan(question):
    q = analyse(question)
    assert (q.want, q.unit) == ("amount", "元")


@pytest.mark.parametrize("question,unit", [("死亡人数是多少？", "人"), ("事故起数是多少？", "起"), ("受灾户数是多少？", "户"),
                                           ("全市人口是多少？", "人")])
def test_a_count_noun_before_the_question_word_gives_the_unit(question, unit):
    q = analyse(question)
    assert (q.want, q.unit) == ("count", unit)
