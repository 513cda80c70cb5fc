"""The word cut (qa.text.words): jieba's POS cut, word for word, from the SQLite cache."""
from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import threading

import pytest

from conftest import ROOT, subprocess_env
from qa.text import words


def _seed_sentences() -> list[str]:
    out = []
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        article = path.read_text(encoding="utf-8")
        out += [article, *(t for t in re.split(r"(?<=[。！？；])|\n+", article) if t and t.strip())]
    return out


@pytest.fixture(scope="module")
def jieba_cut():
    pytest.importorskip("jieba")
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return lambda text: [(p.word, p.flag) for p in jieba.posseg.cut(text)]


def test_the_cut_is_jiebas_word_for_word(jieba_cut):
    questions = [json.loads(line)["question"]
                 for line in (ROOT / "qa" / "data" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    texts = _seed_sentences() + questions + ["2021年山西煤炭产量11.9亿吨，同比增长10.5%。", "PM2.5 浓度\r\n下降 3.2%",
                                             "Milvus Lite 与 jieba 分词", ""]
    assert len(texts) > 100
    for text in texts:
        assert words.cut(text) == jieba_cut(text), text


def test_names_carry_their_tags():
    cut = dict(words.cut("山西省太原市的煤炭产量"))
    assert cut["山西省"] == "ns" and cut["太原市"] == "ns"
    lex = words.lexicon()
    assert lex.entry("山西")[1] == "ns" and lex.entry("山西")[0] > 0
    assert lex.entry("不是词的一串字") is None and lex.tag("不是词的一串字") == "x"


def test_the_lexicon_is_made_once_and_shared_by_threads():
    got = []
    threads = [threading.Thread(target=lambda: got.append(words.lexicon())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and all(x is words.lexicon() for x in got)


def test_the_cache_is_written_once_whole_and_read_as_jiebas(tmp_path):
    dest = tmp_path / "words.sqlite"
    assert words.prepare(dest) == dest and dest.is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["words.sqlite"]  # written aside, renamed into place
    stamp = dest.stat().st_mtime_ns
    assert words.prepare(dest) == dest and dest.stat().st_mtime_ns == stamp
    text = "2021年，在确保安全生产的基础上满产增产，煤炭产量11.9亿吨。"
    assert words.Lexicon(dest).cut(text) == words.cut(text)


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "qa-cache"))
    assert words.cache_path().parent == tmp_path / "qa-cache"
    monkeypatch.delenv("QA_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert words.cache_path().parent == tmp_path / "xdg" / "qa"
    assert words.cache_path().name.startswith("words-jieba-")


@pytest.mark.slow
def test_cutting_never_imports_jieba():
    code = ("import sys\nfrom qa.text import words\nassert words.cut('山西煤炭产量')\n"
            "assert not [m for m in sys.modules if m.startswith('jieba')], sorted(sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=subprocess_env())
    assert run.returncode == 0, run.stderr
