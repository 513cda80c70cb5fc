"""``qa eval --squad``: a SQuAD-format file becomes a temporary library and every question is asked."""
from __future__ import annotations

import json
import subprocess

import pytest

from conftest import ROOT, qa_command, subprocess_env
from qa.eval import squad

PARK = ("本市共有公园十二座，其中今年新建公园三座。公园每天早上六点开门，晚上十点关门。"
        "全市公园绿地面积达到一千二百公顷，人均公园绿地面积十五平方米。")
SET = {"version": "v2.0", "data": [
    {"title": "公园", "paragraphs": [
        {"context": PARK,
         "qas": [{"id": "a1", "question": "本市共有几座公园？", "answers": [{"text": "十二座", "answer_start": 4}]},
                 {"id": "a2", "question": "公园晚上几点关门？", "answers": [{"text": "十点", "answer_start": 31}]},
                 {"id": "a3", "question": "公园的门票多少钱？", "answers": [], "is_impossible": True},
                 {"id": "a4", "question": "今年新建了几座公园？", "answers": [{"text": "三座", "answer_start": 17}]}]}]},
    {"title": "供水", "paragraphs": [
        {"context": "居民生活用水价格为每立方米3.5元，非居民用水价格为每立方米5.8元。",
         "qas": [{"id": "b1", "question": "居民生活用水价格是多少？", "answers": [{"text": "每立方米3.5元", "answer_start": 8}]}]},
        {"context": "停车场对大型客车每小时收费15元，小型汽车每小时收费6元。",
         "qas": [{"id": "c1", "question": "大型客车停车每小时收费多少？", "answers": [{"text": "15元", "answer_start": 13}]}]}]},
]}
HAS_READER = (ROOT / "qa" / "data" / "reader" / "reader.onnx").is_file()


@pytest.fixture
def tiny(tmp_path):
    p = tmp_path / "tiny.json"
    p.write_text(json.dumps(SET, ensure_ascii=False), encoding="utf-8")
    return p


def test_load_reads_contexts_questions_and_impossible_ones(tiny):
    contexts, questions = squad.load(tiny)
    assert len(contexts) == 3 and [q.id for q in questions] == ["a1", "a2", "a3", "a4", "b1", "c1"]
    assert questions[2].answers == () and questions[5].paragraph == 2


@pytest.mark.parametrize("content,message", [("{", "not JSON"), ('{"data": 3}', "SQuAD-format"),
                                             ('{"data": []}', "no questions")])
def test_bad_files_are_clear_errors(tmp_path, content, message):
    p = tmp_path / "s.json"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        squad.load(p)


@pytest.mark.parametrize("value,span", [(None, (0, 5)), ("2", (0, 2)), ("5", (0, 5)), ("1:3", (1, 3)),
                                        ("0:5", (0, 5))])
def test_paragraph_range(value, span):
    assert squad.paragraph_range(value, 5) == span


@pytest.mark.parametrize("value", ["0", "6", "-1", "3:3", "4:2", "0:6", "-1:2", "1:", ":2", "1:2:3", "x"])
def test_bad_paragraph_ranges_are_clear_errors(value):
    with pytest.raises(ValueError, match=r"--paragraphs must be P or A:B with 0 <= A < B <= 5 .*not '"):
        squad.paragraph_range(value, 5)


def test_cut_answer_drops_the_sentence_that_holds_the_gold():
    first, second, third = "本市共有公园十二座，分布在六个城区。", "其中今年新建公园三座。", "公园每天早上六点开门，晚上十点关门！"
    cut = squad.cut_answer(first + second + third, ["三座"])
    assert cut == first + third and "三座" not in cut
    assert squad.cut_answer(first + second + third, ["一百座"]) is None  # no sentence holds it: nothing to cut
    assert squad.cut_answer(first + second, ["三座"]) is None  # under 30 characters would be left


def test_cut_answer_cuts_every_occurrence_and_closing_quotes():
    text = "他说：“公园有三座。”后来又陆续建了一些小型的社区公园，数量还在不断增加之中，市民都很满意。规划里写着三座，另有两座在建，年底之前完工。"
    cut = squad.cut_answer(text, ["三座"])
    assert cut == "后来又陆续建了一些小型的社区公园，数量还在不断增加之中，市民都很满意。"  # both sentences go, the quote with the first


def test_select_near_miss_and_left_out(tiny):
    contexts, questions = squad.load(tiny)
    sel = squad.select(contexts, questions, (0, 2), near_miss=1, unanswerable=1)
    assert [q.id for q in sel.near_miss] == ["a1"]  # the water paragraph is one sentence: it cannot be cut
    assert "十二座" not in sel.library[0] and "十点" in sel.library[0] and sel.library[1] == contexts[1]
    assert [q.id for q in sel.asked] == ["a2", "a3", "b1"]  # a4's gold went with a1's sentence: not asked
    assert [q.id for q in sel.left_out] == ["c1"]
    rows = {q.id: sel.row(q) for q in sel.questions}
    assert rows["a1"]["near_miss"] and not rows["a1"]["answerable"] and not rows["a1"]["left_out"]
    assert rows["a2"]["answerable"] and not rows["c1"]["answerable"] and rows["c1"]["left_out"]


def test_select_takes_the_range_and_leaves_out_around_it(tiny):
    contexts, questions = squad.load(tiny)
    sel = squad.select(contexts, questions, (1, 2), unanswerable=4, limit=5)
    assert list(sel.library) == [1] and [q.id for q in sel.asked] == ["b1"]
    assert sorted(q.id for q in sel.left_out) == ["a1", "a2", "a4", "c1"]  # before A and from B on; answerable ones
    with pytest.raises(ValueError, match="--unanswerable 5: only 4 answerable questions lie outside paragraphs 1:2"):
        squad.select(contexts, questions, (1, 2), unanswerable=5)
    with pytest.raises(ValueError, match="--near-miss must be 0 or more"):
        squad.select(contexts, questions, (1, 2), near_miss=-1)


@pytest.mark.slow
def test_qa_eval_squad_end_to_end(tiny, tmp_path):
    out = subprocess.run(qa_command() + ["eval", "--squad", str(tiny), "--paragraphs", "2", "--unanswerable", "1",
                                         "--out", str(tmp_path / "r")], capture_output=True, text=True,
                         encoding="utf-8", env=subprocess_env(), timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "| 4 answerable |" in out.stdout and "1 about paragraphs left out" in out.stdout
    report = json.loads((tmp_path / "r" / "squad-tiny.json").read_text(encoding="utf-8"))
    t = report["totals"]
    assert (t["answerable"], t["left_out"], t["impossible"], t["near_miss"]) == (4, 1, 1, 0)
    assert t["hit1"] == 1.0  # three paragraphs of different things: each question finds its own
    rows = {r["id"]: r for r in report["rows"]}
    assert rows["c1"]["left_out"] and rows["a3"]["answerable"] is False
    assert all(0.0 <= r["f1"] <= 1.0 for r in report["rows"] if r["answerable"])
    assert report["meta"]["paragraphs"] == 2 and report["meta"]["paragraph_range"] == [0, 2]
    assert (tmp_path / "r" / "squad-tiny.md").exists()


@pytest.mark.slow
@pytest.mark.skipif(not HAS_READER, reason="the reader's weights (qa/data/reader/reader.onnx) are not here")
def test_qa_eval_squad_oracle_end_to_end(tiny, tmp_path):
    # --model names no model: the oracle run must neither load the embedder nor build a library
    out = subprocess.run(qa_command() + ["eval", "--squad", str(tiny), "--paragraphs", "0:2", "--near-miss", "1",
                                         "--oracle", "--model", str(tmp_path / "no-model"), "--out",
                                         str(tmp_path / "r")], capture_output=True, text=True,
                         encoding="utf-8", env=subprocess_env(), timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "| 2 answerable |" in out.stdout and "| 1 near misses (answer sentence cut) |" in out.stdout
    assert not (tmp_path / "r" / "squad-tiny.json").exists()
    report = json.loads((tmp_path / "r" / "squad-tiny-oracle.json").read_text(encoding="utf-8"))
    assert report["meta"]["mode"] == "oracle" and report["meta"]["paragraphs"] == "0:2"
    t = report["totals"]
    assert (t["answerable"], t["near_miss"], t["left_out"], t["impossible"]) == (2, 1, 0, 1)
    assert 0.0 <= t["em"] <= t["f1"] <= 1.0 and t["hit1"] is None and t["hit5"] is None
    assert t["near_miss_flagged"] in (0.0, 1.0) and t["reader_no_answer"] in (0.0, 0.5, 1.0)
    rows = {r["id"]: r for r in report["rows"]}
    assert set(rows) == {"a1", "a2", "a3", "b1"}  # a4 dropped: its gold was cut with a1's sentence
    assert rows["a1"]["near_miss"] and rows["a1"]["answerable"] is False and rows["a1"]["em"] is None
    assert rows["a2"]["f1"] > 0 and "十点" in rows["a2"]["prediction"]  # the reader finds a plain answer
    assert (tmp_path / "r" / "squad-tiny-oracle.md").exists()
