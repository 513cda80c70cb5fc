"""The live index (qa.index.live): a running pipeline answers from the generation another process builds."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow  # the real model


def test_a_running_retriever_answers_from_a_rebuilt_index(tmp_path, monkeypatch):
    import qa.retriever as rmod
    from qa.index import live
    from qa.index.generations import build_index

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "n.txt").write_text("本市的吉祥物是一只熊猫，名叫阿福。", encoding="utf-8")
    r = rmod.Retriever(index_dir=tmp_path / "ix", sources=[docs], log=lambda m: None)
    assert "阿福" in r.ask("吉祥物叫什么？").passages[0].text
    monkeypatch.setattr(live, "RELOAD_CHECK_S", 0.0)
    (docs / "n.txt").write_text("本市的吉祥物是一只老虎，名叫大福。", encoding="utf-8")
    build_index([docs], tmp_path / "ix", r.embedder, progress=False)  # as another process would
    assert "大福" in r.ask("吉祥物叫什么？").passages[0].text

