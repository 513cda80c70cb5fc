"""qa.options: where the index, library, store and Milvus name are, from flags, else the QA_ variables."""
from __future__ import annotations

from argparse import Namespace
from pathlib import Path

import pytest

from qa import options


def args(**kw) -> Namespace:
    base = dict(index=None, library=None, model=None, store=None, milvus_uri=None)
    return Namespace(**{**base, **kw})


def test_store_from_flag_then_environment(monkeypatch):
    monkeypatch.delenv("QA_STORE", raising=False)
    assert options.store(args()) == "faiss"
    monkeypatch.setenv("QA_STORE", "milvus")
    assert options.store(args()) == "milvus"
    assert options.store(args(store="faiss")) == "faiss"
    assert options.store(Namespace()) == "milvus"  # a command without --store


def test_library_and_index_folders(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_LIBRARY", str(tmp_path / "lib"))
    assert options.library_dir(None) == tmp_path / "lib"
    assert options.library_dir("") == tmp_path / "lib"
    assert options.library_dir(str(tmp_path / "other")) == tmp_path / "other"
    assert options.index_dir(args()) is None  # the Retriever's default: QA_INDEX or embeddings/
    assert options.index_dir(args(index="ix")) == "ix"
    assert options.index_dir(args(library="")) == str(tmp_path / "lib")
    with pytest.raises(ValueError, match="either --index or --library"):
        options.index_dir(args(index="ix", library=""))


def test_milvus_name_and_target(tmp_path):
    assert options.milvus_name(args()) == "qa"
    assert options.milvus_name(args(library="")) == "qa_library"
    assert options.target(args(store="faiss"), tmp_path) == Path(tmp_path)
