"""The Milvus store (Milvus Lite here) passes the retrieval contract of the local store."""
from __future__ import annotations

import pytest

from conftest import ROOT
from test_pipeline import NEAR_MISSES, OWN_QUESTIONS, SHORT_QUESTIONS

pytest.importorskip("pymilvus")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def milvus_retriever(tmp_path_factory, retriever):
    from qa.index import milvus
    from qa.index.generations import build_from_documents, collect_documents, read_documents
    from qa.retriever import Retriever
    from qa.index.store import vector_cache

    uri = str(tmp_path_factory.mktemp("milvus") / "qa.db")
    seeds = [ROOT / "seeds"]
    docs, _ = read_documents(collect_documents(seeds))
    extra = {"sources": [{"path": str(seeds[0]), "abs": str(seeds[0])}],
             "documents": [{"name": n, "path": str(ROOT / "seeds" / n), "sha256": d["sha256"], "chars": len(d["text"])}
                           for n, d in docs.items()]}
    # the same vectors as the local index: the comparison is about the store, not the encoder
    build_from_documents(docs, milvus.Milvus(uri), retriever.embedder, 150, extra, progress=False,
                         vectors=vector_cache(retriever.index.store))
    return Retriever(store="milvus", milvus_uri=uri, sources=seeds, rebuild=False)


def test_passages_have_the_same_fields_offsets_and_sections(milvus_retriever, retriever):
    for q, gold in OWN_QUESTIONS[:6]:
        got = milvus_retriever.retrieve(q, k=3)
        assert [p.rank for p in got] == [1, 2, 3]
        for p in got:
            doc = milvus_retriever.index.documents[p.doc]
            assert doc[p.start:p.end] == p.text and doc[p.answer_start:p.answer_end] == p.answer
            assert p.section
        ref = retriever.retrieve(q, k=3)
        assert got[0].section == ref[0].section or gold in got[0].text


def test_own_questions_hit_at_5(milvus_retriever):
    ranks = []
    for q, gold in OWN_QUESTIONS:
        ps = milvus_retriever.retrieve(q, k=5)
        ranks.append(next((p.rank for p in ps if gold in p.text), None))
    assert sum(r is not None for r in ranks) / len(ranks) >= 0.9, ranks


@pytest.mark.parametrize("question,short", SHORT_QUESTIONS)
def test_short_answers(milvus_retriever, question, short):
    a = milvus_retriever.ask(question)
    assert a.confident and a.short == short
    assert milvus_retriever.index.documents[a.passages[0].doc][a.short_start:a.short_end] == short


@pytest.mark.parametrize("question", NEAR_MISSES)
def test_near_misses(milvus_retriever, question):
    assert not milvus_retriever.ask(question).confident


def test_test_split_hit_at_1_within_two_points_of_faiss(milvus_retriever, retriever):
    from qa.eval import evaluate

    items = [i for i in evaluate.load_set(evaluate.default_set_path(), retriever.index.documents)
             if i.split == "test" and i.id.startswith("q")]
    got = {}
    for name, r in (("faiss", retriever), ("milvus", milvus_retriever)):
        got[name] = evaluate.evaluate(r, items, modes=("hybrid",), progress=False)["modes"]["hybrid"]["overall"]
    print({n: (round(o["hit@1"], 3), round(o["mrr@10"], 3), round(o["accuracy"], 3)) for n, o in got.items()})
    # at most two questions of the 63 apart: with the reader, ask() keeps the hybrid ranking's top passage (the
    # rules no longer promote one among the top three), so a near tie in the last digits of the scores, which
    # Milvus computes apart from FAISS, can decide it (measured: 2 questions, 0.905 vs 0.873)
    answerable = sum(1 for i in items if i.answerable)  # hit@1 is over these
    assert abs(got["faiss"]["hit@1"] - got["milvus"]["hit@1"]) <= 2 / answerable + 1e-9


def test_library_in_milvus(tmp_path, retriever):
    from qa import library
    from qa.index import milvus
    from test_formats import make_pdf

    m = milvus.Milvus(str(tmp_path / "lib.db"), "qa_library")
    library.ensure(m, retriever.embedder)
    assert library.listing(m) == []
    change = library.add(m, [make_pdf(tmp_path / "water.pdf")], retriever.embedder, progress=False)
    assert change.added == [("water.pdf", "PDF, 2 pages")]
    from qa.retriever import Retriever

    r = Retriever(store="milvus", milvus_uri=str(tmp_path / "lib.db"), milvus_name="qa_library")
    a = r.ask("居民生活用水价格是多少？")
    assert a.short and "3.5元" in a.short and a.passages[0].page == 2
    library.remove(m, ["water.pdf"], retriever.embedder, progress=False)
    assert library.listing(m) == []
