"""qa.config: every QA_ variable is read there, named in its table, and listed by ``qa --help``."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, subprocess_env
from qa import config

READ = re.compile(r"\b(?:environ|getenv)\b[^\n]*\bQA_[A-Z_]+")
NAMED = re.compile(r"\bQA_[A-Z_]*[A-Z]\b")


def test_no_module_but_config_reads_a_qa_variable():
    readers = [f"{p.relative_to(ROOT)}:{n}" for p in sorted((ROOT / "qa").rglob("*.py")) if p.name != "config.py"
               for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if READ.search(line)]
    assert readers == []


def test_every_variable_the_code_names_is_in_the_table():
    named = {m for p in (ROOT / "qa").rglob("*.py") for m in NAMED.findall(p.read_text(encoding="utf-8"))}
    assert named - set(config.VARIABLES) == set()


def test_an_unknown_name_is_refused():
    with pytest.raises(KeyError, match="QA_NOPE is not one of qa's settings"):
        config.get("QA_NOPE")


def test_empty_counts_as_unset_and_numbers_are_checked(monkeypatch):
    monkeypatch.setenv("QA_INDEX", "")
    assert config.get("QA_INDEX") is None
    monkeypatch.setenv("QA_LOCK_TIMEOUT", "2.5")
    assert config.number("QA_LOCK_TIMEOUT") == 2.5
    monkeypatch.setenv("QA_LOCK_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="QA_LOCK_TIMEOUT must be a number, not 'soon'"):
        config.number("QA_LOCK_TIMEOUT")
    monkeypatch.setenv("QA_API_KEYS", " a-key-of-sixteen-chars , ,b ")
    assert config.listed("QA_API_KEYS") == ["a-key-of-sixteen-chars", "b"]


def test_switches(monkeypatch):
    monkeypatch.delenv("QA_RULES", raising=False)
    monkeypatch.setenv("QA_READER", "0")
    assert (config.reader_on(), config.rules_on()) == (False, True)
    monkeypatch.setenv("QA_RULES", "0")
    monkeypatch.setenv("QA_READER", "1")
    assert (config.reader_on(), config.rules_on()) == (True, False)


def test_folders(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "c"))
    assert config.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("QA_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert config.cache_dir() == tmp_path / "xdg" / "qa"
    monkeypatch.delenv("QA_LIBRARY", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert config.library_home() == tmp_path / "data" / "qa" / "library"
    monkeypatch.setenv("QA_DOCS", f"{tmp_path / 'a.txt'}{__import__('os').pathsep}{tmp_path / 'b'}")
    assert config.docs() == [tmp_path / "a.txt", tmp_path / "b"]


@pytest.mark.slow  # a subprocess
def test_qa_help_lists_every_variable():
    out = subprocess.run([sys.executable, "-m", "qa.cli", "--help"], capture_output=True, text=True,
                         env=subprocess_env(), cwd=ROOT, timeout=120).stdout
    listed = out[out.index("environment:"):]
    assert [line.split()[0] for line in listed.splitlines()[1:] if line.strip()] == list(config.VARIABLES)


def test_config_imports_nothing_of_qa():
    source = Path(config.__file__).read_text(encoding="utf-8")
    assert not re.search(r"^\s*(from \.|from qa|import qa)", source, re.M)
