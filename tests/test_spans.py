"""Short answers: candidates by kind, the one tied to the question's focus, lists and phrases laid over
the sentence. Sentences are made up here (none is from the shipped question set)."""
import pytest

from qa import spans
from qa.lexical import LexicalIndex
from qa.query import analyse

ACCIDENTS = "2020年，全市发生交通事故12起，造成5人死亡，直接经济损失300万元，事故率0.02，同比分别下降20%、10%。"
ENERGY = "全省重点发展光伏、风电、氢能等新能源，装机容量达到1500万千瓦，占比35%。"
SCHOOL = "学校始终把安全作为头等大事，把质量作为生命线。"
CORPUS = [ACCIDENTS, ENERGY, SCHOOL, "打好防疫和复工两场硬仗。", "落实《安全生产法》《消防法》的规定。",
          "创新是引领发展的第一动力。", "全市有博物馆3座。"]


@pytest.fixture(scope="module")
def lex():
    return LexicalIndex.build(CORPUS)


def short(question, sentence, lex):
    got = spans.short_answer(analyse(question), [sentence], [0], lex)
    return got.text if got is not None and got.tied else None


def test_figures_keep_their_units_and_skip_years_and_latin_tokens():
    found = {c.text: c.kind for c in spans.figures(ACCIDENTS)}
    assert found["12起"] == "count" and found["5人"] == "count" and found["300万元"] == "amount"
    assert found["0.02"] == "percent" and found["20%"] == "percent"  # a bare rate after 率
    assert "2020年" not in found
    assert [c.text for c in spans.figures("SO2年均浓度下降")] == []  # the 2 of SO2 is no figure
    assert spans.figures("第三次来到这里")[0].kind == "ordinal"


@pytest.mark.parametrize("question,answer", [
    ("去年全市死了几个人？", "5人"),
    ("2020年全市发生了多少起交通事故？", "12起"),
    ("交通事故的直接经济损失是多少？", "300万元"),
    ("全市交通事故率是多少？", "0.02"),
    ("新能源装机容量是多少？", "1500万千瓦"),
    ("新能源装机占比是多少？", "35%"),
])
def test_the_span_tied_to_the_focus_in_the_asked_unit(lex, question, answer):
    sentence = ACCIDENTS if "事故" in question or "死" in question else ENERGY
    assert short(question, sentence, lex) == answer


def test_no_span_of_the_asked_kind_means_none(lex):
    assert short("全市有多少家企业？", ACCIDENTS, lex) is None  # 家 is nowhere in the sentence
    assert short("受伤了多少人？", ACCIDENTS, lex) is None  # 5人 are the dead, not the injured
    assert short("事故起数增长了多少？", ENERGY, lex) is None  # a rise is not a share (占比)
    assert short("为什么要发展新能源？", ENERGY, lex) is None  # why: the sentence is the answer


def test_lists_from_first_to_last_item(lex):
    assert short("全省重点发展哪些新能源？", ENERGY, lex) == "光伏、风电、氢能"
    assert short("全省重点发展哪两种新能源？", ENERGY, lex) is None  # three items do not answer "which two"
    assert short("要打好哪两场硬仗？", "打好防疫和复工两场硬仗。", lex) == "防疫和复工"
    assert short("要落实哪两部法律？", "落实《安全生产法》《消防法》的规定。", lex) == "《安全生产法》《消防法》"


def test_phrases_fill_the_gap(lex):
    assert short("学校把安全作为什么大事？", SCHOOL, lex) == "头等大事"
    assert short("学校把质量作为什么？", SCHOOL, lex) == "生命线"
    assert short("引领发展的第一动力是什么？", "创新是引领发展的第一动力。", lex) == "创新"
    assert short("学校把什么作为头等大事？", "今天天气很好。", lex) is None  # nothing lines up


def test_offsets_are_exact(lex):
    sentence = ACCIDENTS
    got = spans.short_answer(analyse("死了多少人？"), [sentence], [100], lex)
    assert got is not None and sentence[got.start - 100:got.end - 100] == got.text == "5人"
