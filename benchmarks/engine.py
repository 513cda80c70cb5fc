"""Engine benchmark: cold start, index build and warm retrieval, each next to its floor.

    python benchmarks/engine.py [--runs 200] [--cold 3]

Figures (all measured in this run, on this machine):

* cold start of ``qa ask`` in a fresh process (model already cached), against the floor:
  a fresh process that only imports sentence-transformers, loads the same model and
  encodes one query;
* index build for the article (``build_index``, model already loaded), against the floor:
  the same model encoding the same chunk and sentence texts;
* warm ``retrieve()`` latency p50/p95 at k=5, against the floor: the same model's bare
  ``encode_query`` plus a FAISS search over the same chunks;
* peak resident memory of this process.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    "2021年山西煤炭产量是多少？", "去年汾河秋汛转移安置了多少群众？", "空气质量改善得怎么样？",
    "How much coal did Shanxi produce in 2021?", "山西怎样维护金融安全？", "第一批重复信访事项化解率是多少？",
    "山西去年挖了多少煤啊", "What was the PM2.5 concentration last year?", "2021年陕西省GDP是多少？",
    "全省煤矿发生了几起死亡事故？",
]

FLOOR_COLD = """
import time, sys
t = time.perf_counter()
from sentence_transformers import SentenceTransformer
m = SentenceTransformer(sys.argv[1], device="cpu", local_files_only=True)
m.encode_query(["2021年山西煤炭产量是多少？"], normalize_embeddings=True)
"""


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def timed_process(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200, help="warm queries to time (default 200)")
    ap.add_argument("--cold", type=int, default=3, help="fresh processes per cold-start figure (default 3)")
    args = ap.parse_args()

    import faiss
    import numpy as np

    from qa.embedding import Embedder, resolve_model
    from qa.index import build_index, default_sources
    from qa.retriever import Retriever

    _, model_dir = resolve_model(None)  # converts once if needed, so cold starts below are "cached"
    print(f"model: {model_dir}")

    # -- cold start ----------------------------------------------------------
    ask = [sys.executable, "-m", "qa.cli", "ask", QUESTIONS[0], "--k", "5"]
    floor = [sys.executable, "-c", FLOOR_COLD, str(model_dir)]
    cold = [timed_process(ask) for _ in range(args.cold)]
    cold_floor = [timed_process(floor) for _ in range(args.cold)]
    print(f"cold start  qa ask (fresh process)      median {statistics.median(cold):6.2f} s   "
          f"floor (import + load + 1 query) {statistics.median(cold_floor):6.2f} s   "
          f"overhead {statistics.median(cold) - statistics.median(cold_floor):+.2f} s")

    # -- index build ---------------------------------------------------------
    emb = Embedder()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        index = build_index(default_sources(), Path(tmp) / "ix", emb, progress=False)
        build_s = time.perf_counter() - t
    texts = [c.text for c in index.chunks]
    sents = [index.documents[index.chunks[c].doc][a:b] for c, a, b in index.sentence_spans]
    t = time.perf_counter()
    emb.encode_documents(texts)
    emb.encode_documents(sents)
    encode_s = time.perf_counter() - t
    print(f"index build {len(texts)} chunks + {len(sents)} sentences  {build_s:6.2f} s   "
          f"floor (encode the same texts) {encode_s:6.2f} s   overhead {build_s - encode_s:+.2f} s")

    # -- warm retrieval ------------------------------------------------------
    r = Retriever()
    for q in QUESTIONS:  # warm up
        r.retrieve(q, k=5)
    lat, base = [], []
    flat = faiss.IndexFlatIP(index.chunk_vectors.shape[1])
    flat.add(np.ascontiguousarray(r.index.chunk_vectors))
    for i in range(args.runs):
        q = QUESTIONS[i % len(QUESTIONS)]
        t = time.perf_counter()
        r.retrieve(q, k=5)
        lat.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        v = emb.model.encode_query([q], normalize_embeddings=True, convert_to_numpy=True)
        flat.search(v.astype(np.float32), 5)
        base.append((time.perf_counter() - t) * 1000)
    print(f"warm retrieve(k=5) x{args.runs}          p50 {pct(lat, 50):6.1f} ms  p95 {pct(lat, 95):6.1f} ms   "
          f"floor encode_query+FAISS p50 {pct(base, 50):6.1f} ms  p95 {pct(base, 95):6.1f} ms   "
          f"overhead p50 {pct(lat, 50) - pct(base, 50):+.1f} ms")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
