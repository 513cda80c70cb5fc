"""Fuzz the question paths: the Python API and the HTTP API of a running ``qa serve``.

Over HTTP, about a quarter of the inputs go to the routes the page itself uses, by event number
(``/queue/join`` then its event stream, ``/run/predict``, ``/api/predict``): valid and unknown
``fn_index`` values, missing ones, inputs of the wrong number and type, lone surrogates; and
about one in seven to the OpenAI-compatible ``/v1/chat/completions`` (odd Unicode, wrong types,
unknown models, 2 MB bodies, streamed or not), where a refusal must be OpenAI's error JSON. One in
ten are the hostile cases: bodies nested 50 to 100,000 deep on every JSON route (a 400 past 64),
two ``Authorization`` headers (a 401 whichever key comes first), and any route of the app with
any method and an odd body.

    python benchmarks/fuzz.py [--n 10000] [--http-share 0.3] [--seed 7]

Inputs mix random Unicode (lone surrogates, controls, emoji, every plane), HTML and script
payloads, very long and empty strings, odd ``k``/``mode``/``history`` values, and malformed
HTTP bodies. A *crash* is anything but an answer or a clear refusal: in Python an exception
other than ``ValueError``; over HTTP a 5xx, a body that is not JSON or SSE, or an error event
that exposes internals (a traceback, an object repr, pydantic text). Prints the counts and
writes ``benchmarks/results/fuzz.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAYLOADS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "'; DROP TABLE x; --", "{{7*7}}",
            "${jndi:ldap://x}", "../../etc/passwd", "\u202e\u2066煤炭", "％ＳＳ", "　　", "\ufeff煤炭"]
SEEDS = ["2021年山西煤炭产量是多少？", "那去年呢？", "How much coal?", "PM2.5平均浓度", "它增长了多少？"]
INTERNALS = ("Traceback", "object at 0x", "pydantic", "errors.pydantic.dev", "File \"/", "Wanted inputs")


def random_text(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.2:
        return rng.choice(PAYLOADS) + rng.choice(SEEDS)
    if kind < 0.3:
        return rng.choice(SEEDS) * rng.randint(1, 400)
    if kind < 0.35:
        return ""
    n = rng.randint(1, 40)
    chars = []
    for _ in range(n):
        r = rng.random()
        if r < 0.3:
            chars.append(chr(rng.randint(0x4E00, 0x9FFF)))
        elif r < 0.45:
            chars.append(chr(rng.randint(0xD800, 0xDFFF)))  # lone surrogates
        elif r < 0.55:
            chars.append(chr(rng.randint(0, 0x1F)))
        elif r < 0.7:
            chars.append(chr(rng.randint(0x1F300, 0x1FAFF)))
        else:
            chars.append(chr(rng.randint(0, 0x10FFFF)))
    return "".join(chars)


def random_args(rng: random.Random):
    if rng.random() < 0.7:  # mostly well-formed, so that the answering path itself is fuzzed
        return rng.choice([1, 3, 5, 10]), rng.choice(["hybrid", "dense", "lexical"]), \
            rng.choice([None, None, [random_text(rng)], [rng.choice(SEEDS)]])
    k = rng.choice([5, 1, 100, 0, -1, 101, 5.0, 2.5, "5", None, True, [], 10**9])
    mode = rng.choice(["hybrid", "dense", "lexical", "", "HYBRID", None, 3, ["hybrid"]])
    history = rng.choice([None, [], [random_text(rng)], [random_text(rng), random_text(rng)], "not a list",
                          [{"role": "user", "content": random_text(rng)}], [{"role": "x"}], [1, 2]])
    return k, mode, history


def fuzz_api(n: int, rng: random.Random) -> dict:
    from qa.retriever import Retriever

    r = Retriever()
    ok = refused = 0
    crashes: list[str] = []
    for _ in range(n):
        q = random_text(rng) if rng.random() < 0.97 else rng.choice([None, 3, b"bytes", ["list"]])
        k, mode, history = random_args(rng)
        try:
            a = r.ask(q, k=k, mode=mode, history=history)
            json.dumps(a.to_dict(), ensure_ascii=False).encode("utf-8")
            ok += 1
        except ValueError:
            refused += 1
        except Exception as exc:  # noqa: BLE001 - this is what we count
            crashes.append(f"{type(exc).__name__}: {exc!s:.120} <- {q!r:.60} k={k!r} mode={mode!r}")
    return {"inputs": n, "answered": ok, "refused": refused, "crashes": len(crashes), "examples": crashes[:10]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def random_value(rng: random.Random):
    return rng.choice([random_text(rng), rng.randint(-5, 200), None, [], {}, [random_text(rng)], {"a": 1}, 1.5,
                       True, [{"role": "user", "content": [{"type": "text", "text": rng.choice([5, None, {}])}]}]])


def event_call(c, base: str, deps: list[dict], rng: random.Random) -> tuple[str, str]:
    """One call by event number; ("answered" | "refused_4xx" | "error_event" | "crash", detail)."""
    dep = rng.choice(deps)
    fn_index = rng.choice([dep["id"], dep["id"], dep["id"], 10_000 + rng.randrange(100), -1, "0", None])
    n = len(dep["inputs"]) + rng.choice([0, 0, 0, -1, 1])
    data = [random_value(rng) for _ in range(max(0, n))]
    if dep.get("api_name") == "answer" and rng.random() < 0.5:  # the page's own shape, odd question
        data = [random_text(rng), [], rng.choice([5, "5", None]), rng.choice(["hybrid", "x"]), [], {}]
    session = f"fuzz{rng.randrange(10**9)}"
    body = {"data": data, "session_hash": session}
    if fn_index is not None:
        body["fn_index"] = fn_index
    route = rng.choice(["queue/join", "queue/join", "run/predict", "api/predict"])
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    r = c.post(f"{base}/{route}", content=raw, headers={"content-type": "application/json"})
    if r.status_code >= 500 or any(s in r.text for s in INTERNALS):
        return "crash", f"{route} {r.status_code} {r.text[:150]!r}"
    if 400 <= r.status_code < 500:
        return "refused_4xx", ""
    if route != "queue/join":
        return "answered", ""
    with c.stream("GET", f"{base}/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if '"process_completed"' in line:
                if any(s in line for s in INTERNALS):
                    return "crash", f"queue stream {line[:150]!r}"
                return ("answered" if json.loads(line[5:]).get("success") else "error_event"), ""
    return "crash", "queue stream ended without process_completed"


def openai_call(c, root: str, rng: random.Random) -> tuple[str, str]:
    """One call of the OpenAI-compatible API: odd Unicode, wrong types, huge bodies, streamed or not."""
    def message():
        content = rng.choice([random_text(rng), random_text(rng), random_value(rng),
                              [{"type": "text", "text": random_value(rng)}], [{"type": "image_url"}]])
        return rng.choice([{"role": rng.choice(["user", "user", "assistant", "system", 5]), "content": content},
                           "hi", None, {"content": "x"}])
    shape = rng.random()
    if shape < 0.05:
        raw = b'{"model": "qa", "messages": [{"role": "user", "content": "' + b"x" * (2 << 20) + b'"}]}'
    elif shape < 0.12:
        raw = rng.choice([b"{", b"[]", b"null", "煤炭".encode(), b'{"messages": 3}', b"\xff\xfe"])
    else:
        body = {"model": rng.choice(["qa", "qa", "qa", "gpt-4o", 5, None]),
                "messages": [message() for _ in range(rng.randint(0, 4))] or rng.choice([[], None, "x"]),
                "stream": rng.choice([False, True, "yes", None])}
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    r = c.post(f"{root}/v1/chat/completions", content=raw, headers={"content-type": "application/json"})
    text = r.text
    if r.status_code >= 500 or any(s in text for s in INTERNALS):
        return "crash", f"v1 {r.status_code} {text[:150]!r}"
    if 400 <= r.status_code < 500:
        try:
            ok = {"message", "type", "code"} <= set(r.json()["error"])
        except (ValueError, KeyError, TypeError):
            ok = False
        return ("refused_4xx", "") if ok else ("crash", f"v1 {r.status_code} not an OpenAI error: {text[:100]!r}")
    if r.headers.get("content-type", "").startswith("text/event-stream"):
        return ("answered", "") if text.rstrip().endswith("data: [DONE]") else ("crash", "v1 stream without [DONE]")
    try:
        r.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return "crash", f"v1 200 not a chat completion: {text[:100]!r}"
    return "answered", ""


KEY = "sk-qa-fuzz-0123456789abcdef"
DEEP_ROUTES = ["/v1/chat/completions", "/gradio_api/call/ask", "/call/ask", "/gradio_api/run/predict",
               "/run/predict", "/gradio_api/queue/join", "/queue/join", "/gradio_api/reset"]


def deep_call(c, root: str, rng: random.Random) -> tuple[str, str]:
    """A body nested 50 to 100,000 deep on a JSON route: the client's 400, never a 5xx."""
    depth = rng.choice([50, 65, 100, 990, 1000, 5000, 100_000])
    route = rng.choice(DEEP_ROUTES)
    inner = "[" * depth + "]" * depth
    raw = rng.choice(['{"model": "qa", "messages": %s}', '{"data": ["煤炭", 5, "hybrid", %s]}',
                      '{"fn_index": 0, "data": %s, "session_hash": "s"}']) % inner
    r = c.post(root + route, content=raw.encode(), headers={"content-type": "application/json",
                                                           "authorization": f"Bearer {KEY}"})
    if r.status_code >= 500 or any(s in r.text for s in INTERNALS):
        return "crash", f"deep {depth} {route} {r.status_code} {r.text[:120]!r}"
    if depth > 64 and r.status_code != 400:
        return "crash", f"deep {depth} {route} answered {r.status_code}, not 400"
    return ("refused_4xx" if 400 <= r.status_code < 500 else "answered"), ""


def header_call(c, root: str, rng: random.Random) -> tuple[str, str]:
    """Two Authorization headers, the good key first or last: 401 alike."""
    pair = [("authorization", f"Bearer {KEY}"), ("authorization", "Bearer sk-qa-wrong-0000000000000")]
    if rng.random() < 0.5:
        pair.reverse()
    r = c.get(root + "/v1/models", headers=pair)
    return ("refused_4xx", "") if r.status_code == 401 else ("crash", f"two keys got {r.status_code}")


def walk_call(c, root: str, paths: list[str], rng: random.Random) -> tuple[str, str]:
    """Any route of the app, any method, an odd body: never a 5xx."""
    path = re.sub(r"\{[^}]+\}", rng.choice(["x", "0", "..%2f", "煤炭"]), rng.choice(paths))
    method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH"])
    body = rng.choice([None, b"{", b"[]", json.dumps({"data": [random_value(rng)]}).encode(), b"\xff"])
    r = c.request(method, root + path, content=body if method != "GET" else None)
    if r.status_code >= 500 or any(s in r.text for s in INTERNALS):
        return "crash", f"walk {method} {path} {r.status_code} {r.text[:120]!r}"
    return ("refused_4xx" if 400 <= r.status_code < 500 else "answered"), ""


def fuzz_http(n: int, rng: random.Random) -> dict:
    import httpx

    port = free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", QA_FEEDBACK="/tmp/qa-fuzz-feedback.sqlite",
               QA_API_KEYS=KEY)
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/gradio_api"
    try:
        for _ in range(240):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        counts = {"answered": 0, "refused_4xx": 0, "error_event": 0, "crashes": 0, "event_routes": 0, "openai": 0,
                  "deep": 0, "two_keys": 0, "walk": 0}
        crashes: list[str] = []
        root = f"http://127.0.0.1:{port}"
        deps = httpx.get(f"{root}/config", timeout=30).json()["dependencies"]
        paths = sorted(httpx.get(f"{root}/openapi.json", timeout=30).json().get("paths", {})) + \
            ["/v1/models", "/v1/chat/completions", "/gradio_api/upload", "/login", "/gradio_api/file=x"]
        with httpx.Client(timeout=60, headers={"authorization": f"Bearer {KEY}"}) as c:
            for _ in range(n):
                k, mode, history = random_args(rng)
                shape = rng.random()
                if shape > 0.9:
                    which = rng.choice(["deep", "deep", "two_keys", "walk", "walk"])
                    counts[which] += 1
                    kind, detail = (deep_call(c, root, rng) if which == "deep" else
                                    header_call(c, root, rng) if which == "two_keys" else walk_call(c, root, paths, rng))
                    counts["crashes" if kind == "crash" else kind] += 1
                    if detail:
                        crashes.append(detail)
                    continue
                if shape > 0.6:
                    openai = shape < 0.75
                    counts["openai" if openai else "event_routes"] += 1
                    kind, detail = (openai_call(c, base.removesuffix("/gradio_api"), rng) if openai
                                    else event_call(c, base, deps, rng))
                    counts["crashes" if kind == "crash" else kind] += 1
                    if detail:
                        crashes.append(detail)
                    continue
                if shape < 0.05:
                    body = rng.choice([b"{", b"[]", b"null", b'{"data": 3}', b'{"data": []}', "煤炭".encode(),
                                       b'{"data": ["x"], "fn_index": "a"}'])
                    r = c.post(f"{base}/call/ask", content=body, headers={"content-type": "application/json"})
                elif shape < 0.08:
                    r = c.post(f"{base}/call/{rng.choice(['nope', 'predict', '../ask', 'ask/x'])}",
                               json={"data": ["煤炭"]})
                else:
                    data = [random_text(rng), k, mode, history][:rng.randint(1, 4)]
                    body = json.dumps({"data": data}, ensure_ascii=False).encode("utf-8", "surrogatepass")
                    r = c.post(f"{base}/call/ask", content=body, headers={"content-type": "application/json"})
                text = r.text
                if r.status_code >= 500 or any(s in text for s in INTERNALS):
                    counts["crashes"] += 1
                    crashes.append(f"{r.status_code} {text[:150]!r}")
                    continue
                if 400 <= r.status_code < 500:
                    counts["refused_4xx"] += 1
                    continue
                try:
                    event = r.json()["event_id"]
                except (ValueError, KeyError):
                    counts["crashes"] += 1
                    crashes.append(f"{r.status_code} not JSON: {text[:100]!r}")
                    continue
                stream = c.get(f"{base}/call/ask/{event}").text
                if any(s in stream for s in INTERNALS) or "event: complete" not in stream and "event: error" not in stream:
                    counts["crashes"] += 1
                    crashes.append(f"stream {stream[:150]!r}")
                elif "event: error" in stream:
                    counts["error_event"] += 1
                else:
                    counts["answered"] += 1
        return {"inputs": n, **counts, "examples": crashes[:10]}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000, help="inputs in all (default 10000)")
    ap.add_argument("--http-share", type=float, default=0.3, help="share sent over HTTP (default 0.3)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    n_http = int(args.n * args.http_share)
    t = time.perf_counter()
    api = fuzz_api(args.n - n_http, rng)
    print(f"Python API: {api['inputs']} inputs: {api['answered']} answered, {api['refused']} refused with "
          f"ValueError, {api['crashes']} crashes ({time.perf_counter() - t:.0f} s)", flush=True)
    for e in api["examples"]:
        print("  crash:", e)
    t = time.perf_counter()
    http = fuzz_http(n_http, rng)
    print(f"HTTP API: {http['inputs']} inputs: {http['answered']} answered, {http['refused_4xx']} refused with 4xx, "
          f"{http['error_event']} refused as an error event, {http['crashes']} crashes; "
          f"{http['event_routes']} of them by event number (queue, run/predict, api/predict), "
          f"{http['openai']} to /v1/chat/completions, {http['deep']} nested 50 to 100,000 deep, "
          f"{http['two_keys']} with two Authorization headers, {http['walk']} to any route with any method "
          f"({time.perf_counter() - t:.0f} s)")
    for e in http["examples"]:
        print("  crash:", e)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "fuzz.json").write_text(json.dumps({"api": api, "http": http}, ensure_ascii=False, indent=1) + "\n",
                                   encoding="utf-8")
    return 1 if api["crashes"] or http["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
