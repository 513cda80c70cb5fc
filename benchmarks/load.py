"""Load test of the web chat's API: N concurrent clients, each asking M questions, over HTTP.

Starts ``qa serve`` on a free loopback port (or uses a server already running, --url), then:

1. baseline: one client asks all N x M questions one after another;
2. load: N threads, each with its own ``gradio_client.Client``, ask M questions each at once.

For both it prints throughput (requests/s), p50/p95/max latency and the error count. The exit
status is 1 when any request failed or returned malformed JSON, else 0.

    python benchmarks/load.py                      # 16 clients x 5 questions, own server
    python benchmarks/load.py --clients 16 --questions 3
    python benchmarks/load.py --url http://127.0.0.1:7860/
"""
from __future__ import annotations

import argparse
import ipaddress
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "2021年山西煤炭产量是多少？",
    "去年汾河流域秋汛中紧急转移安置了多少群众？",
    "What was the PM2.5 average concentration last year?",
    "PM2.5平均浓度是多少？",
    "How much coal did Shanxi produce in 2021?",
    "去年全省煤矿发生生产安全死亡事故多少起？",
    "山西净输出电量是多少？",
    "What share of days had good air quality last year?",
    "北京冬奥会中国队获得了多少枚金牌？",
    "如何维护生态安全？",
]
KEYS = {"answer", "confident", "passages"}
MAX_CLIENTS, MAX_QUESTIONS = 64, 50


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python benchmarks/load.py",
        description="Load-test the qa web chat's /ask API: N concurrent clients each ask M questions "
                    "(rotating through %d Chinese and English questions); prints throughput, p50/p95/max "
                    "latency and errors, next to a sequential one-client baseline of the same questions. "
                    "Exit status 1 if any request failed." % len(QUESTIONS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n" + __doc__.split("\n\n")[-1])
    p.add_argument("--url", help="a running server on this machine "
                   "(default: start `qa serve` on a free port)")
    p.add_argument("--clients", type=int, default=16,
                   help=f"concurrent clients, 1..{MAX_CLIENTS} (default: %(default)s)")
    p.add_argument("--questions", type=int, default=5,
                   help=f"questions per client, 1..{MAX_QUESTIONS} (default: %(default)s)")
    p.add_argument("--k", type=int, default=5, help="passages per answer (default: %(default)s)")
    p.add_argument("--mode", default="hybrid", choices=["hybrid", "dense", "lexical"],
                   help="ranking mode (default: %(default)s)")
    p.add_argument("--concurrency", type=int, default=None,
                   help="--concurrency for the server this script starts (default: the server's own)")
    p.add_argument("--timeout", type=float, default=300,
                   help="give up after this many seconds in all (default: %(default)s)")
    p.add_argument("--no-baseline", action="store_true", help="skip the sequential baseline")
    args = p.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS:
        p.error(f"--clients must be from 1 to {MAX_CLIENTS}")
    if not 1 <= args.questions <= MAX_QUESTIONS:
        p.error(f"--questions must be from 1 to {MAX_QUESTIONS}")
    if args.url and not _is_loopback(args.url):
        p.error("--url must point at this machine (127.0.0.1, ::1 or localhost): this is a load test")
    return args


def _is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def start_server(concurrency: int | None, timeout: float) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "qa.cli", "serve", "--port", "0"]
    if concurrency:
        cmd += ["--concurrency", str(concurrency)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8", env=dict(os.environ, PYTHONUNBUFFERED="1"))
    found: dict[str, str] = {}
    err_lines: list[str] = []

    def read_stdout():
        for line in proc.stdout:
            m = re.search(r"running on (http://\S+)", line)
            if m:
                found["url"] = m.group(1)

    def read_stderr():
        for line in proc.stderr:
            err_lines.append(line)
            if "loaded in" in line:
                print(line.rstrip(), flush=True)

    threading.Thread(target=read_stdout, daemon=True).start()
    threading.Thread(target=read_stderr, daemon=True).start()
    deadline = time.monotonic() + min(timeout, 180)
    while "url" not in found:
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(proc)
            sys.exit("qa serve did not start:\n" + "".join(err_lines[-30:]))
        time.sleep(0.2)
    return proc, found["url"]


def stop_server(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def _check(result) -> str | None:
    if not isinstance(result, dict) or set(result) != KEYS:
        return f"unexpected result {str(result)[:200]}"
    if not isinstance(result["passages"], list) or not result["passages"]:
        return "no passages"
    return None


def _client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


def run_round(url: str, clients: int, questions: list[list[str]], k: int, mode: str, deadline: float):
    """Each of ``clients`` threads asks its own list of questions; returns (latencies, errors, wall)."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    handles = [None] * clients

    def connect(i):
        try:
            handles[i] = _client(url)
        except Exception as exc:  # noqa: BLE001 - counted and reported
            with lock:
                errors.append(f"client {i}: connect: {exc!r}")

    threads = [threading.Thread(target=connect, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    barrier = threading.Barrier(clients + 1)

    def work(i):
        barrier.wait()
        c = handles[i]
        if c is None:
            return
        for q in questions[i]:
            if time.monotonic() > deadline:
                with lock:
                    errors.append(f"client {i}: out of time")
                return
            t0 = time.perf_counter()
            try:
                result = c.predict(q, k, mode, api_name="/ask")
                problem = _check(result)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                problem = repr(exc)
            dt = time.perf_counter() - t0
            with lock:
                if problem:
                    errors.append(f"client {i}: {q!r}: {problem}")
                else:
                    latencies.append(dt)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + 5)
    wall = time.perf_counter() - t0
    for h in handles:
        if h is not None:
            try:
                h.close()
            except Exception:  # noqa: BLE001
                pass
    return latencies, errors, wall


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))]  # nearest rank


def report(name: str, clients: int, latencies: list[float], errors: list[str], wall: float) -> None:
    n = len(latencies) + len(errors)
    ms = [x * 1000 for x in latencies]
    print(f"{name:<28} {clients:>7} {n:>8} {len(latencies) / wall if wall else 0:>9.1f} "
          f"{pct(ms, 50):>8.0f} {pct(ms, 95):>8.0f} {max(ms, default=float('nan')):>8.0f} "
          f"{statistics.fmean(ms) if ms else float('nan'):>8.0f} {len(errors):>7}")


def main(argv=None) -> int:
    args = parse_args(argv)
    deadline = time.monotonic() + args.timeout
    proc = None
    url = args.url
    if not url:
        print("starting qa serve ...", flush=True)
        proc, url = start_server(args.concurrency, args.timeout)
    try:
        total = args.clients * args.questions
        per_client = [[QUESTIONS[(i * args.questions + j) % len(QUESTIONS)] for j in range(args.questions)]
                      for i in range(args.clients)]
        print(f"server {url}; {args.clients} clients x {args.questions} questions = {total} requests "
              f"(k={args.k}, mode={args.mode})", flush=True)
        try:  # warm-up: one request so neither round pays a first-call cost
            problem = _check(_client(url).predict(QUESTIONS[0], args.k, args.mode, api_name="/ask"))
        except Exception as exc:  # noqa: BLE001
            problem = repr(exc)
        if problem:
            print(f"load: the server at {url} does not answer /ask: {problem}", file=sys.stderr)
            return 1
        results = []
        if not args.no_baseline:
            flat = [q for qs in per_client for q in qs]
            results.append(("sequential (1 client)", 1,
                            *run_round(url, 1, [flat], args.k, args.mode, deadline)))
        results.append((f"concurrent ({args.clients} clients)", args.clients,
                        *run_round(url, args.clients, per_client, args.k, args.mode, deadline)))
        print(f"\n{'round':<28} {'clients':>7} {'requests':>8} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'max ms':>8} {'mean ms':>8} {'errors':>7}")
        errors = 0
        for name, clients, lat, errs, wall in results:
            report(name, clients, lat, errs, wall)
            errors += len(errs)
        for name, _, _, errs, _ in results:
            for e in errs[:10]:
                print(f"  error ({name}): {e}", file=sys.stderr)
        print(f"\n{'OK' if errors == 0 else 'FAILED'}: {errors} error(s)")
        return 0 if errors == 0 else 1
    finally:
        if proc is not None:
            rc = stop_server(proc)
            print(f"qa serve stopped (exit status {rc})")


if __name__ == "__main__":
    sys.exit(main())
