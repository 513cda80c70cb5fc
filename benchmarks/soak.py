"""Soak test of ``qa serve``: many clients for many minutes; throughput, latency, errors and memory.

    python benchmarks/soak.py [--clients 32] [--minutes 10] [--sample 5]

Starts ``qa serve`` on a free port, then ``--clients`` threads each ask questions over HTTP
(``/gradio_api/call/ask``, a follow-up with its history now and then) as fast as answers come,
for ``--minutes``. The server's resident memory is sampled every ``--sample`` seconds. Prints
throughput, p50/p95 latency, errors, RSS at start/end and its growth over the last half, and
writes ``benchmarks/results/soak.json`` and ``benchmarks/results/soak.png`` (RSS over time).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ["2021年山西煤炭产量是多少？", "去年汾河秋汛转移安置了多少群众？", "PM2.5平均浓度是多少？",
             "How much coal did Shanxi produce in 2021?", "山西怎样维护金融安全？", "2021年全国煤矿事故死了多少人？",
             "第一批重复信访事项化解率是多少？", "山西重点培育哪些产业链？", "北京冬奥会中国队获得了多少枚金牌？"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    import httpx

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--sample", type=float, default=5)
    args = ap.parse_args()
    port = free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", QA_FEEDBACK="/tmp/qa-soak-feedback.sqlite")
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/gradio_api/call/ask"
    for _ in range(240):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    stop = threading.Event()
    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(seed: int):
        rng = random.Random(seed)
        with httpx.Client(timeout=120) as c:
            while not stop.is_set():
                q = rng.choice(QUESTIONS)
                data = [q, 5, "hybrid"] + ([[rng.choice(QUESTIONS[:3])]] if rng.random() < 0.2 else [])
                if data[-1] == data[0]:
                    data = data[:3]
                t = time.perf_counter()
                try:
                    r = c.post(base, json={"data": data})
                    ev = r.json()["event_id"]
                    body = c.get(f"{base}/{ev}").text
                    ok = "event: complete" in body
                except Exception as exc:  # noqa: BLE001 - what we count
                    ok, body = False, repr(exc)
                with lock:
                    if ok:
                        lat.append(time.perf_counter() - t)
                    else:
                        errors.append(body[:200])

    samples: list[tuple[float, float]] = []
    t0 = time.monotonic()
    samples.append((0.0, rss_mb(proc.pid)))
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(args.clients)]
    for th in threads:
        th.start()
    end = t0 + args.minutes * 60
    while time.monotonic() < end:
        time.sleep(args.sample)
        samples.append((time.monotonic() - t0, rss_mb(proc.pid)))
        done = len(lat)
        print(f"\r{samples[-1][0]:6.0f} s  {done} answers  {len(errors)} errors  RSS {samples[-1][1]:.0f} MB",
              end="", flush=True)
    stop.set()
    for th in threads:
        th.join(120)
    elapsed = time.monotonic() - t0
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
    print()
    half = [r for t, r in samples if t >= elapsed / 2]
    result = {
        "clients": args.clients, "minutes": args.minutes, "answers": len(lat), "errors": len(errors),
        "throughput_per_s": round(len(lat) / elapsed, 2),
        "p50_s": round(statistics.median(lat), 3) if lat else None,
        "p95_s": round(statistics.quantiles(lat, n=20)[-1], 3) if len(lat) > 1 else None,
        "rss_start_mb": round(samples[0][1]), "rss_end_mb": round(samples[-1][1]),
        "rss_growth_last_half_mb": round(max(half) - half[0], 1) if half else None,
        "error_examples": errors[:5], "samples": samples,
    }
    print(f"{args.clients} clients x {args.minutes} min: {result['answers']} answers ({result['throughput_per_s']}/s), "
          f"p50 {result['p50_s']} s, p95 {result['p95_s']} s, {result['errors']} errors; RSS {result['rss_start_mb']} "
          f"-> {result['rss_end_mb']} MB, growth over the last half {result['rss_growth_last_half_mb']} MB")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "soak.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.plot([t / 60 for t, _ in samples], [r for _, r in samples], marker=".", ms=3)
    ax.set_xlabel("minutes")
    ax.set_ylabel("server RSS (MB)")
    ax.set_title(f"qa serve under {args.clients} clients: {result['throughput_per_s']} answers/s, "
                 f"{result['errors']} errors")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "soak.png", dpi=110)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
