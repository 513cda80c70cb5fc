"""Answer-sentence scoring helpers and the no-answer checks and calibration, on hand-made inputs."""
import pytest

from qa.answer import (Calibration, Signals, absent_names, answer_type, content_tokens, failed_checks,
                       fit_calibration, type_match)

CORPUS = "山西煤炭产量11.9亿吨。pm2.5平均浓度39微克。（作者为中共山西省委书记）"


def test_answer_type_from_question_words():
    assert answer_type("2021年山西煤炭产量是多少？") == "number"
    assert answer_type("How many people were relocated?") == "number"
    assert answer_type("山西计划在哪一年实现碳达峰？") == "time"
    assert answer_type("实验室建在哪个城市？") == "place"
    assert answer_type("这篇文章的作者叫什么名字？") == "person"
    assert answer_type("山西要健全哪几个环节？") is None  # a list, not a count
    assert answer_type("山西怎样维护金融安全？") is None


def test_type_match_needs_something_new_of_that_kind():
    assert type_match("2021年产量是多少？", "2021年，煤炭产量11.9亿吨。") == 1.0
    assert type_match("2021年产量是多少？", "2021年，煤炭稳产保供。") == 0.0  # only the question's own figure
    assert type_match("哪一年实现碳达峰？", "有序实施碳达峰行动。") == 0.0
    assert type_match("哪一年实现碳达峰？", "力争2030年前实现碳达峰。") == 1.0
    assert type_match("作者叫什么名字？", "（作者为中共山西省委书记）") == 0.0
    assert type_match("山西怎样维护金融安全？", "任何句子。") == 0.5


def test_absent_names_and_content_tokens():
    assert absent_names("2021年陕西省煤炭产量是多少？", CORPUS) == ["陕西省"]
    assert absent_names("山西省2021年的GDP是多少？", CORPUS) == ["GDP"]
    assert absent_names("山西PM2.5浓度是多少？", CORPUS) == []
    assert absent_names("What was the GDP of Shanxi?", CORPUS) == []  # English questions: not a signal
    toks = content_tokens("2021年山西煤炭产量是多少？")
    assert "多少" not in toks and "是" not in toks and "煤炭" in toks and "2021年" in toks


def _sig(cov=0.8, names=(), figs=(), tm=0.5):
    return Signals(content_coverage=cov, absent_names=list(names), missing_figures=list(figs), type_match=tm)


def test_failed_checks_name_the_reason():
    assert failed_checks(_sig()) == []
    why = failed_checks(_sig(names=["陕西省"], figs=["2019年"], tm=0.0))
    assert len(why) == 3 and "2019年" in why[0] and "陕西省" in why[1]


def test_probability_puts_failed_checks_below_half():
    cal = Calibration([2.0], 0.0, [0.5], [0.1], 0.5, {})
    assert cal.probability(_sig(names=["陕西省"])) < 0.5 <= cal.probability(_sig(cov=0.2))
    assert cal.probability(_sig(cov=0.9)) > cal.probability(_sig(cov=0.6))


def test_fit_calibration_keeps_the_answerable():
    # answerable: pass the checks, high coverage; unanswerable: two fail a check, two have low coverage
    signals = [_sig(cov=c) for c in (0.7, 0.8, 0.85, 0.9, 0.95, 0.75, 0.88, 0.92, 0.81, 0.86)]
    signals += [_sig(names=["陕西省"]), _sig(figs=["2019年"]), _sig(cov=0.2), _sig(cov=0.3)]
    answerable = [True] * 10 + [False] * 4
    cal = fit_calibration(signals, answerable, min_kept=0.9)
    assert cal.weights[0] > 0  # more coverage, more answerable
    kept = sum(cal.probability(s) >= cal.threshold for s in signals[:10]) / 10
    flagged = sum(cal.probability(s) < cal.threshold for s in signals[10:]) / 4
    assert kept >= 0.9 and flagged == 1.0
    assert cal.info["dev_answerable_kept"] == kept and cal.info["dev_unanswerable_flagged"] == flagged
    with pytest.raises(ValueError, match="both"):
        fit_calibration(signals[:3], [True] * 3)


def test_calibration_json_round_trip(tmp_path):
    cal = Calibration([0.3], 0.1, [0.6], [0.2], 0.55, {"fitted": True})
    p = tmp_path / "c.json"
    p.write_text(cal.to_json(), encoding="utf-8")
    assert Calibration.load(p) == cal
    p.write_text("{broken", encoding="utf-8")
    assert Calibration.load(p) == Calibration.fallback()
