"""The document library: adding, listing and removing documents, incrementally and atomically."""
from __future__ import annotations

import json
import subprocess

import pytest

from conftest import ROOT, qa_command, subprocess_env
from qa import library
from qa.index.generations import EmptyLibrary, IndexError_, load_index, open_index
from test_formats import SAMPLES, make_pdf, make_samples

pytestmark = pytest.mark.slow  # every test loads the model or runs the qa command


@pytest.fixture()
def files(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    make_samples(d)
    (d / "empty.txt").write_bytes(b"")
    (d / "scan.pdf").write_bytes(make_pdf(tmp_path / "s.pdf", text=False).read_bytes())
    return d


def test_add_list_ask_remove(tmp_path, files, embedder):
    lib = tmp_path / "lib"
    change = library.add(lib, sorted(files.iterdir()), embedder, progress=False)
    assert sorted(n for n, _ in change.added) == ["guide.md", "notice.html", "parks.txt", "rules.docx", "water.pdf"]
    reasons = dict(change.refused)
    assert "empty" in reasons["empty.txt"] and "OCR" in reasons["scan.pdf"]
    rows = {d["name"]: d for d in library.listing(lib)}
    assert rows["water.pdf"]["pages"] == 2 and rows["parks.txt"]["encoding"] == "gb18030"
    assert rows["rules.docx"]["chunks"] >= 3 and rows["notice.html"]["format"] == "html"
    assert rows["guide.md"]["format"] == "md"
    from qa.retriever import Retriever

    r = Retriever(index_dir=lib)
    for fmt, name, question, fact, section, page in SAMPLES:
        a = r.ask(question)
        top = a.passages[0]
        assert a.confident, (fmt, question, a)
        assert fact in (a.short or a.answer) and fact in a.answer, (fmt, a.short, a.answer)
        assert top.doc == name, (fmt, [(p.doc, p.text) for p in a.passages])
        assert top.page == page, (fmt, top)
        if section is not None:  # the heading the format marks: Markdown #, HTML h1, Word heading style
            assert top.section == section, (fmt, top.section)
        if a.short:
            assert r.index.documents[name][a.short_start:a.short_end] == a.short
        for p in a.passages:
            assert r.index.documents[p.doc][p.start:p.end] == p.text
            assert p.text[p.answer_start - p.start:p.answer_end - p.start] == p.answer
    assert "alert" not in r.index.documents["notice.html"]
    library.remove(lib, ["water.pdf"], embedder, progress=False)
    assert "water.pdf" not in [d["name"] for d in library.listing(lib)]
    after = Retriever(index_dir=lib)  # the library as it is now
    assert "water.pdf" not in after.index.documents
    assert all(p.doc != "water.pdf" for p in after.ask("居民生活用水价格是多少？").passages)


def test_adding_encodes_only_the_new_document(tmp_path, files, embedder):
    calls = []

    class Counting:
        def __init__(self, inner):
            self.inner, self.model_id, self.dim, self.engine = inner, inner.model_id, inner.dim, inner.engine

        def encode_documents(self, texts):
            calls.append(len(texts))
            return self.inner.encode_documents(texts)

    lib = tmp_path / "lib"
    counting = Counting(embedder)
    library.add(lib, [files / "water.pdf", files / "parks.txt"], counting, progress=False)
    first = sum(calls)
    calls.clear()
    library.add(lib, [files / "notice.html"], counting, progress=False)
    added = sum(calls)
    assert 0 < added < first  # only notice.html's chunks and sentences
    calls.clear()
    renamed = tmp_path / "renamed.pdf"
    renamed.write_bytes((files / "water.pdf").read_bytes())
    change = library.add(lib, [renamed], counting, progress=False)
    assert change.duplicates == [("renamed.pdf", "water.pdf")] and sum(calls) == 0  # already there: nothing new
    library.remove(lib, ["parks.txt"], counting, progress=False)
    assert sum(calls) == 0  # removing encodes nothing


def test_names_are_sanitised_and_never_overwrite(tmp_path, files, embedder):
    lib = tmp_path / "lib"
    other = tmp_path / "other"
    other.mkdir()
    (other / "parks.txt").write_text("本市另有广场五个。", encoding="utf-8")
    library.add(lib, [files / "parks.txt"], embedder, progress=False)
    change = library.add(lib, [other / "parks.txt", other / "parks.txt"], embedder, progress=False,
                         names=["../../etc/parks.txt", "..\\..\\parks.txt"])
    assert [n for n, _ in change.added] == ["parks (2).txt"]  # a new document never replaces another
    assert library.safe_name("../../etc/passwd") == "passwd"
    assert library.safe_name(".hidden\x00.TXT") == "hidden_.txt"
    assert library.safe_name("") == "document"


def test_empty_library_and_wrong_folders(tmp_path, files, embedder):
    lib = tmp_path / "lib"
    library.add(lib, [files / "parks.txt"], embedder, progress=False)
    library.remove(lib, ["parks.txt"], embedder, progress=False)
    assert library.listing(lib) == []
    with pytest.raises(EmptyLibrary, match="no documents yet"):
        open_index(lib, None, lambda: embedder, None, embedder.model_id)
    with pytest.raises(ValueError, match="not a qa library|not empty"):
        library.add(ROOT / "seeds", [files / "parks.txt"], embedder, progress=False)
    with pytest.raises(ValueError, match="not a library"):
        library.add(ROOT / "embeddings", [files / "parks.txt"], embedder, progress=False)


def test_a_damaged_library_is_never_rebuilt_from_elsewhere(tmp_path, files, embedder):
    lib = tmp_path / "lib"
    library.add(lib, [files / "parks.txt"], embedder, progress=False)
    gen = json.loads((lib / "manifest.json").read_text(encoding="utf-8"))["generation"]
    (lib / gen / "chunk_vecs.npy").write_bytes(b"junk")
    with pytest.raises(IndexError_, match="cannot be rebuilt"):
        open_index(lib, None, lambda: embedder, None, embedder.model_id)


def test_qa_docs_commands(tmp_path, files):
    lib = tmp_path / "lib"

    def run(*args):
        return subprocess.run(qa_command() + list(args), capture_output=True, text=True, encoding="utf-8",
                              env=subprocess_env(QA_LIBRARY=str(lib)), timeout=300, cwd=ROOT)

    out = run("docs", "add", str(files))
    assert out.returncode == 3, out.stderr  # added, but some files were refused: the status says so
    assert "added water.pdf (PDF, 2 pages)" in out.stdout and "refused empty.txt: is empty" in out.stderr
    listing = json.loads(run("docs", "list", "--json").stdout)
    assert {d["name"] for d in listing} == {"water.pdf", "rules.docx", "parks.txt", "notice.html", "guide.md"}
    ans = run("ask", "居民生活用水价格是多少？", "--library", "--json", "--k", "1")
    data = json.loads(ans.stdout)
    assert data["passages"][0]["doc"] == "water.pdf" and data["passages"][0]["page"] == 2
    human = run("ask", "居民生活用水价格是多少？", "--library", "--k", "1")
    assert "第2页" in human.stdout
    assert run("docs", "remove", "water.pdf").returncode == 0
    assert "water.pdf" not in run("docs", "list").stdout
    # options may come before the files, as people type them
    other = tmp_path / "other"
    out = run("docs", "add", "--library", str(other), str(files / "parks.txt"), str(files / "rules.docx"))
    assert out.returncode == 0, out.stderr
    assert {d["name"] for d in json.loads(run("docs", "list", "--library", str(other), "--json").stdout)} == {
        "parks.txt", "rules.docx"}
    assert run("docs", "add", "--bogus", str(files / "parks.txt")).returncode == 2


# -- nothing lost, nothing garbled (issue 17) --------------------------------------------------------------
FRUITS = {("甲", 0): "苹果", ("甲", 1): "香蕉", ("乙", 0): "橘子", ("乙", 1): "葡萄", ("丙", 0): "西瓜", ("丙", 1): "草莓"}


def _note(folder, i: int, tag: str):
    p = folder / f"{tag}{i}.txt"
    p.write_text(f"{FRUITS[tag, i]}采购合同：签约金额为{i * 13 + len(tag) + 1}万元，由{tag}方供货。", encoding="utf-8")
    return p


def test_concurrent_adds_from_processes_keep_every_document(tmp_path):
    """Three `qa docs add` runs queue on the library's lock (held here first, so that all three wait)
    and each sees the others' documents: every document added is listed and answerable."""
    import time

    from qa.index.locking import IndexLock

    lib, src = tmp_path / "lib", tmp_path / "src"
    src.mkdir()
    groups = {tag: [_note(src, i, tag) for i in range(2)] for tag in ("甲", "乙", "丙")}
    env = subprocess_env(QA_LIBRARY=str(lib))
    with IndexLock(lib):
        procs = [subprocess.Popen(qa_command() + ["docs", "add", *map(str, files)], env=env, cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
                 for files in groups.values()]
        time.sleep(3)  # they start, read their files, and wait for the lock
        assert all(p.poll() is None for p in procs)
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in outs]
    assert all("2 added" in err for _, err in outs) and any("waiting for PID" in err for _, err in outs)
    names = {d["name"] for d in library.listing(lib)}
    assert names == {p.name for files in groups.values() for p in files}
    from qa.retriever import Retriever

    r = Retriever(index_dir=str(lib))
    assert r.ask("葡萄采购合同的签约金额是多少？", k=1).passages[0].doc == "乙1.txt"


def test_a_folder_with_an_unreadable_name_adds_its_good_files(tmp_path, embedder):
    import os

    from qa.index.generations import collect_documents

    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.txt").write_text("本市共有公园十二座。", encoding="utf-8")
    bad = os.path.join(os.fsencode(src), b"bad-\xff\xfe.txt")
    with open(bad, "wb") as f:
        f.write("坏名字的文件。".encode("utf-8"))
    skipped: list = []
    found = collect_documents([src], skipped)
    assert list(found) == ["ok.txt"] and "not valid UTF-8" in skipped[0][1]
    out = subprocess.run(qa_command() + ["docs", "add", str(src)], capture_output=True, text=True, encoding="utf-8",
                         env=subprocess_env(QA_LIBRARY=str(tmp_path / "lib")), timeout=300, cwd=ROOT)
    assert out.returncode == 3, out.stderr  # the good file added, one skipped: the status says so
    assert "added ok.txt" in out.stdout and "not valid UTF-8" in out.stderr and "Traceback" not in out.stderr
    assert [d["name"] for d in library.listing(tmp_path / "lib")] == ["ok.txt"]
    built = subprocess.run(qa_command() + ["build", str(src), "--index", str(tmp_path / "idx")], capture_output=True,
                           text=True, encoding="utf-8", env=subprocess_env(), timeout=300, cwd=ROOT)
    assert built.returncode == 0 and "not valid UTF-8" in built.stderr, built.stderr


def test_a_degenerate_text_makes_a_small_index(tmp_path, embedder):
    """586 KB of 300,000 one-letter lines: short lines are packed into chunks, each one sentence."""
    p = tmp_path / "lines.txt"
    p.write_text("\n".join("x" for _ in range(300_000)), encoding="utf-8")
    lib = tmp_path / "lib"
    change = library.add(lib, [p], embedder, progress=False)
    assert [n for n, _ in change.added] == ["lines.txt"]
    size = sum(f.stat().st_size for f in lib.rglob("*") if f.is_file())
    row = library.listing(lib)[0]
    assert size < 20 << 20 and row["chunks"] <= 5000, (size, row)


def test_a_document_over_the_chunk_cap_is_refused_with_the_limit(tmp_path, embedder, monkeypatch):
    p = tmp_path / "long.txt"
    p.write_text("\n".join(f"第{i}条：本条规定了第{i}项事务的办理时限和办理部门。" for i in range(200)), encoding="utf-8")
    ok = tmp_path / "ok.txt"
    ok.write_text("本市共有公园十二座。", encoding="utf-8")
    change = library.add(tmp_path / "lib", [p, ok], embedder, progress=False, chunk_cap=50)
    assert [n for n, _ in change.added] == ["ok.txt"]
    assert "over the limit of 50" in dict(change.refused)["long.txt"]
    monkeypatch.setenv("QA_MAX_CHUNKS", "0")
    with pytest.raises(ValueError, match="chunk limit"):
        library.add(tmp_path / "lib", [p], embedder, progress=False)
