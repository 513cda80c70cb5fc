"""``qa eval --squad``: a SQuAD-format file becomes a temporary library and every question is asked."""
from __future__ import annotations

import json
import subprocess

import pytest

from conftest import ROOT, qa_command, subprocess_env
from qa import squad

SET = {"version": "v2.0", "data": [
    {"title": "公园", "paragraphs": [
        {"context": "本市共有公园十二座，其中今年新建公园三座。公园每天早上六点开门，晚上十点关门。",
         "qas": [{"id": "a1", "question": "本市共有几座公园？", "answers": [{"text": "十二座", "answer_start": 4}]},
                 {"id": "a2", "question": "公园晚上几点关门？", "answers": [{"text": "十点", "answer_start": 31}]},
                 {"id": "a3", "question": "公园的门票多少钱？", "answers": [], "is_impossible": True}]}]},
    {"title": "供水", "paragraphs": [
        {"context": "居民生活用水价格为每立方米3.5元，非居民用水价格为每立方米5.8元。",
         "qas": [{"id": "b1", "question": "居民生活用水价格是多少？", "answers": [{"text": "每立方米3.5元", "answer_start": 8}]}]},
        {"context": "停车场对大型客车每小时收费15元，小型汽车每小时收费6元。",
         "qas": [{"id": "c1", "question": "大型客车停车每小时收费多少？", "answers": [{"text": "15元", "answer_start": 13}]}]}]},
]}


def test_load_reads_contexts_questions_and_impossible_ones(tmp_path):
    p = tmp_path / "s.json"
    p.write_text(json.dumps(SET, ensure_ascii=False), encoding="utf-8")
    contexts, questions = squad.load(p)
    assert len(contexts) == 3 and [q.id for q in questions] == ["a1", "a2", "a3", "b1", "c1"]
    assert questions[2].answers == () and questions[4].paragraph == 2


@pytest.mark.parametrize("content,message", [("{", "not JSON"), ('{"data": 3}', "SQuAD-format"),
                                             ('{"data": []}', "no questions")])
def test_bad_files_are_clear_errors(tmp_path, content, message):
    p = tmp_path / "s.json"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        squad.load(p)


@pytest.mark.slow
def test_qa_eval_squad_end_to_end(tmp_path):
    p = tmp_path / "tiny.json"
    p.write_text(json.dumps(SET, ensure_ascii=False), encoding="utf-8")
    out = subprocess.run(qa_command() + ["eval", "--squad", str(p), "--paragraphs", "2", "--unanswerable", "1",
                                         "--out", str(tmp_path / "r")], capture_output=True, text=True,
                         encoding="utf-8", env=subprocess_env(), timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "| 3 answerable |" in out.stdout and "1 about paragraphs left out" in out.stdout
    report = json.loads((tmp_path / "r" / "squad-tiny.json").read_text(encoding="utf-8"))
    t = report["totals"]
    assert (t["answerable"], t["left_out"], t["impossible"]) == (3, 1, 1)
    assert t["hit1"] == 1.0  # three paragraphs of different things: each question finds its own
    rows = {r["id"]: r for r in report["rows"]}
    assert rows["c1"]["left_out"] and rows["a3"]["answerable"] is False
    assert all(0.0 <= r["f1"] <= 1.0 for r in report["rows"] if r["answerable"])
    assert (tmp_path / "r" / "squad-tiny.md").exists()
