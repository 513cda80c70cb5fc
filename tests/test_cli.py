"""The qa command end to end, in subprocesses."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, qa_command, subprocess_env

pytestmark = pytest.mark.slow  # every test runs the qa command


def run(*args: str, timeout: int = 300, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(qa_command() + list(args), capture_output=True, text=True, encoding="utf-8",
                          env=subprocess_env(**env), timeout=timeout, cwd=ROOT)


def test_help_is_clear():
    out = run("--help")
    assert out.returncode == 0
    for word in ("build", "ask", "serve", "eval", "QA_MODEL", "QA_CACHE_DIR", "examples"):
        assert word in out.stdout
    for sub in ("build", "ask", "serve", "eval"):
        h = run(sub, "--help")
        assert h.returncode == 0 and "--model" in h.stdout and "--index" in h.stdout, sub
    assert "--json" in run("ask", "--help").stdout
    assert run().returncode == 2


def test_ask_human_output_leads_with_the_answer():
    out = run("ask", "2021年山西煤炭产量是多少？", "--k", "3")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "答案 Answer: 11.9亿吨"  # the short answer first, then the sentence as evidence
    assert lines[1].startswith("依据 Evidence:") and "煤炭产量11.9亿吨" in lines[1]
    assert any(line.startswith("[1] ") for line in lines) and any(line.startswith("[3] ") for line in lines)
    assert "字符" in out.stdout and "score" in out.stdout


def test_ask_json_is_exact_and_unescaped():
    out = run("ask", "How much coal did Shanxi produce in 2021?", "--json", "--k", "2")
    assert out.returncode == 0, out.stderr
    assert "\\u" not in out.stdout and "山西" in out.stdout
    data = json.loads(out.stdout)
    assert set(data) == {"answer", "confident", "short", "short_start", "short_end", "resolved", "passages"}
    assert len(data["passages"]) == 2
    assert set(data["passages"][0]) == {"text", "score", "rank", "doc", "section", "start", "end", "answer",
                                        "answer_start", "answer_end", "page"}


def test_ask_says_when_there_is_no_answer():
    out = run("ask", "2019年陕西省GDP是多少？", "--k", "2")
    assert out.returncode == 0
    assert out.stdout.startswith("文中似乎没有回答这个问题")
    assert "[1] " in out.stdout


@pytest.mark.parametrize("args,message", [
    (("ask", ""), "empty"),
    (("ask", "   "), "empty"),
    (("ask", "煤炭", "--k", "0"), "k must"),
    (("ask", "煤炭", "--k", "1000"), "k must"),
])
def test_bad_input_exits_2_with_a_message(args, message):
    out = run(*args, timeout=60)
    assert out.returncode == 2
    assert message in out.stderr and out.stdout == ""


def test_bad_mode_is_refused_by_argparse():
    out = run("ask", "煤炭", "--mode", "fuzzy", timeout=60)
    assert out.returncode == 2 and "invalid choice" in out.stderr


def test_build_into_another_folder_and_ask_it(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.md").write_text("# 说明\n\n本项目的吉祥物是一只名叫阿福的熊猫。它住在太原。", encoding="utf-8")
    index = tmp_path / "index"
    out = run("build", str(docs), "--index", str(index))
    assert out.returncode == 0, out.stderr
    assert "indexed 1 document(s)" in out.stderr and (index / "manifest.json").exists()
    ans = run("ask", "吉祥物叫什么名字？", "--index", str(index), "--json", "--k", "1")
    assert ans.returncode == 0, ans.stderr
    assert json.loads(ans.stdout)["passages"][0]["doc"] == "note.md"


def test_build_reports_missing_documents(tmp_path):
    out = run("build", str(tmp_path / "nowhere"), "--index", str(tmp_path / "i"))
    assert out.returncode == 1 and "No such document" in out.stderr


def test_corrupt_index_is_rebuilt_with_a_message(tmp_path):
    index = tmp_path / "index"
    shutil.copytree(ROOT / "embeddings", index)
    # the copy's manifest points at ../seeds relative to embeddings/; give it the same layout
    (tmp_path / "seeds").mkdir()
    shutil.copy(ROOT / "seeds" / "000_d45281373ae632ae.txt", tmp_path / "seeds")
    gen = json.loads((index / "manifest.json").read_text(encoding="utf-8"))["generation"]
    (index / gen / "chunk_vecs.npy").write_bytes(b"broken")
    out = run("ask", "2021年山西煤炭产量是多少？", "--index", str(index), "--k", "1")
    assert out.returncode == 0, out.stderr
    assert "rebuilding the index" in out.stderr and "damaged" in out.stderr
    assert "11.9亿吨" in out.stdout


def test_missing_model_is_a_clear_error(tmp_path):
    out = run("ask", "煤炭", "--model", str(tmp_path / "no-model-here"), timeout=120)
    assert out.returncode == 1
    assert "model" in out.stderr.lower() and "Traceback" not in out.stderr


# -- hardening (issue 9) ----------------------------------------------------------------------------------
def test_ask_with_a_sentence_transformers_folder(tmp_path):
    """--model takes any sentence-transformers folder (here the default weights converted to one): the
    index is built for it with sentence-transformers, in its own folder, and answers like the default."""
    from qa.index.embedding import default_model_dir, resolve_model

    resolve_model()  # the converted folder exists (converted once)
    folder = default_model_dir()
    out = run("ask", "2021年山西煤炭产量是多少？", "--model", str(folder), "--json", timeout=600,
              QA_CACHE_DIR=str(tmp_path / "cache"))
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["confident"] and result["short"] == "11.9亿吨"
    assert "11.9亿吨" in result["passages"][0]["text"]
    built = list((tmp_path / "cache").glob("index-*/manifest.json"))
    assert len(built) == 1  # its own index, never the committed embeddings/
    manifest = json.loads(built[0].read_text("utf-8"))
    assert manifest["model"]["engine"] == "sentence-transformers" and manifest["model"]["id"] == folder.name


def test_invalid_utf8_in_argv_is_answered_without_a_traceback():
    out = subprocess.run([*qa_command(), "ask", b"\xff\xfe\xe7\x85\xa4\xe7\x82\xad", "--k", "1"], capture_output=True,
                         env=subprocess_env(), timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in out.stderr


def test_a_question_may_start_with_a_dash():
    out = run("ask", "-2021年山西煤炭产量是多少？", "--k", "1")
    assert out.returncode == 0 and "11.9亿吨" in out.stdout, out.stderr


def test_a_mistyped_index_folder_is_a_clear_error(tmp_path):
    out = run("ask", "煤炭", "--index", str(tmp_path / "idnex"), timeout=120)
    assert out.returncode == 1 and "not a qa index" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "idnex").exists()


@pytest.mark.parametrize("order", ["question first", "library first"])
def test_a_missing_or_empty_library_says_how_to_add_documents(tmp_path, order):
    missing = tmp_path / "no" / "such" / "dir"
    args = ["ask", "合同金额是多少？", "--library", str(missing)]
    out = run(*(args if order == "question first" else ["ask", "--library", str(missing), "合同金额是多少？"]),
              timeout=120)
    assert out.returncode == 1 and f"no library at {missing}" in out.stderr, out.stderr
    assert f"qa docs add FILE --library {missing}" in out.stderr and not missing.exists()
    (tmp_path / "empty").mkdir()
    out = run("ask", "合同金额是多少？", "--library", str(tmp_path / "empty"), timeout=120)
    assert out.returncode == 1 and "has no documents yet" in out.stderr and "qa docs add" in out.stderr
    assert "qa build" not in out.stderr


def test_ask_follow_up_with_history():
    out = run("ask", "同比增长了多少？", "--history", "2021年山西煤炭产量是多少？", "--json", "--k", "1")
    data = json.loads(out.stdout)
    assert data["short"] == "10.5%" and "煤炭产量" in data["resolved"]


def test_serve_beyond_loopback_needs_logins(tmp_path):
    out = run("serve", "--host", "0.0.0.0", "--port", "0", timeout=120, QA_AUTH="", QA_AUTH_FILE="")
    assert out.returncode == 2 and "--auth-file" in out.stderr and "refusing" in out.stderr
    (tmp_path / "logins").write_text("ana:short\n", encoding="utf-8")
    out = run("serve", "--host", "0.0.0.0", "--auth-file", str(tmp_path / "logins"), timeout=120)
    assert out.returncode == 2 and "8 characters" in out.stderr


def test_feedback_commands(tmp_path):
    from qa.serve.feedback import FeedbackStore

    store = FeedbackStore(tmp_path / "f.sqlite")
    store.add(-1, "问题", {"answer": None, "confident": False, "passages": []}, "hybrid")
    out = run("feedback", "stats", "--feedback", str(tmp_path / "f.sqlite"), timeout=60)
    assert out.returncode == 0 and "1 ratings" in out.stdout and "1 👎" in out.stdout
    out = run("feedback", "export", "--feedback", str(tmp_path / "f.sqlite"), "--out", str(tmp_path / "x.jsonl"),
              timeout=60)
    assert out.returncode == 0 and json.loads((tmp_path / "x.jsonl").read_text(encoding="utf-8"))["kind"] == \
        "feedback-dislike"
