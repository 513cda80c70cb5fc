"""Crash safety of index builds: ``kill -9`` at random moments, and concurrent builders with a reader.

    python benchmarks/crash.py [--trials 50] [--add-trials 10] [--copies 8] [--rounds 6] [--only add]

1. ``--trials`` times: start ``qa build`` of a folder of documents into one index folder (a document
   edited each time, so that every build really rebuilds), kill it with SIGKILL at a random moment
   of its run, then check that the index still opens and answers. A last, uninterrupted build must
   leave no ``.tmp-*`` folders and no generation but the current one and the one it replaced.
2. ``--add-trials`` times: start ``qa docs add`` of a new document into a library of ``--copies``
   documents, kill it with SIGKILL at a random moment, then check that the library opens, lists its
   documents and answers; the document either is wholly in it or not at all.
3. Two builder processes rebuild the same folder ``--rounds`` times each while a thread of this
   process opens the index in a loop: every build must succeed and every open must too.
4. ``--add-rounds`` times: 2 to 4 ``qa docs add`` processes started together on one library, each
   adding ``--add-docs`` documents of its own: every document must then be listed, and a question
   about its own fact must rank it first (writers queue on the library's lock; none is lost).

Prints the counts and writes ``benchmarks/results/crash.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_docs(folder: Path, copies: int) -> None:
    text = next((ROOT / "seeds").glob("*.txt")).read_text(encoding="utf-8")
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(copies):
        (folder / f"copy{i:02d}.txt").write_text(f"第{i}份。\n" + text, encoding="utf-8")


def build_cmd(docs: Path, index: Path) -> list[str]:
    return [sys.executable, "-m", "qa.cli", "build", str(docs), "--index", str(index)]


def kill_trials(trials: int, copies: int, rng: random.Random) -> dict:
    from qa.index.generations import load_index

    work = Path(tempfile.mkdtemp(prefix="qa-crash-"))
    docs, index = work / "docs", work / "index"
    make_docs(docs, copies)
    t = time.perf_counter()
    subprocess.run(build_cmd(docs, index), check=True, capture_output=True, cwd=ROOT)
    full = time.perf_counter() - t
    opened = failed = 0
    problems = []
    for trial in range(trials):
        # edit one document (a new sentence, so some of its chunks must be encoded again)
        victim = docs / f"copy{trial % copies:02d}.txt"
        victim.write_text(victim.read_text(encoding="utf-8") + f"\n补充第{trial}句。", encoding="utf-8")
        proc = subprocess.Popen(build_cmd(docs, index), cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, full))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        try:
            ix = load_index(index)
            assert len(ix.chunks) > 0 and "11.9亿吨" in ix.documents["copy00.txt"]
            ix.close()
            opened += 1
        except Exception as exc:  # noqa: BLE001 - what we count
            failed += 1
            problems.append(f"trial {trial}: {type(exc).__name__}: {exc!s:.200}")
    leftovers_before = sorted(p.name for p in index.iterdir() if p.name.startswith((".tmp-", "g-")))
    subprocess.run(build_cmd(docs, index), check=True, capture_output=True, cwd=ROOT)
    after = sorted(p.name for p in index.iterdir())
    orphans = [n for n in after if n.startswith(".tmp-") or ".tmp-" in n]
    generations = [n for n in after if n.startswith("g-")]
    shutil.rmtree(work, ignore_errors=True)
    return {"trials": trials, "full_build_s": round(full, 2), "opened_after_kill": opened, "failed_to_open": failed,
            "problems": problems[:5], "leftovers_before_last_build": len(leftovers_before),
            "orphans_after_last_build": len(orphans), "generations_after_last_build": len(generations)}


def add_trials(trials: int, copies: int, rng: random.Random) -> dict:
    from qa.index.generations import load_index
    from qa.library import listing

    work = Path(tempfile.mkdtemp(prefix="qa-crash-add-"))
    docs, lib = work / "docs", work / "library"
    make_docs(docs, copies)
    add = [sys.executable, "-m", "qa.cli", "docs", "add", "--library", str(lib)]
    subprocess.run(add + [str(docs)], check=True, capture_output=True, cwd=ROOT)
    text = next((ROOT / "seeds").glob("*.txt")).read_text(encoding="utf-8")
    opened = failed = whole = 0
    problems = []
    times = []
    for trial in range(trials):
        new = work / f"new{trial:02d}.txt"
        # a document of its own (new sentences, so its chunks must be encoded)
        new.write_text(f"新增文件第{trial}号。\n" + text.replace("。", f"（{trial}）。"), encoding="utf-8")
        if not times:  # how long one add takes, uninterrupted, to pick kill moments inside it
            t = time.perf_counter()
            probe = work / "probe.txt"
            probe.write_text("探针文件。\n" + text.replace("。", "（探）。"), encoding="utf-8")
            subprocess.run(add + [str(probe)], check=True, capture_output=True, cwd=ROOT)
            times.append(time.perf_counter() - t)
        proc = subprocess.Popen(add + [str(new)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, times[0]))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        try:
            names = {d["name"] for d in listing(lib)}
            ix = load_index(lib)
            assert "11.9亿吨" in ix.documents["copy00.txt"]
            assert all(f"copy{i:02d}.txt" in names for i in range(copies))
            if new.name in names:  # then it must be there whole
                assert ix.documents[new.name] == new.read_text(encoding="utf-8")
                assert any(c.doc == new.name for c in ix.chunks)
            ix.close()
            r = subprocess.run([sys.executable, "-m", "qa.cli", "ask", "煤炭产量是多少", "--library", str(lib),
                                "--json"], capture_output=True, text=True, cwd=ROOT)
            assert r.returncode == 0, r.stderr[-300:]
            assert "亿吨" in json.loads(r.stdout)["passages"][0]["text"]
            opened += 1
            whole += new.name in names
        except Exception as exc:  # noqa: BLE001 - what we count
            failed += 1
            problems.append(f"trial {trial}: {type(exc).__name__}: {exc!s:.200}")
    shutil.rmtree(work, ignore_errors=True)
    return {"trials": trials, "one_add_s": round(times[0], 2), "opened_after_kill": opened,
            "failed_to_open": failed, "added_whole": whole, "problems": problems[:5]}


def concurrent(rounds: int, copies: int) -> dict:
    from qa.index.generations import load_index

    work = Path(tempfile.mkdtemp(prefix="qa-concurrent-"))
    docs_a, docs_b, index = work / "a", work / "b", work / "index"
    make_docs(docs_a, copies)
    make_docs(docs_b, copies)
    subprocess.run(build_cmd(docs_a, index), check=True, capture_output=True, cwd=ROOT)
    stop = threading.Event()
    loads, errors = 0, []

    def reader():
        nonlocal loads
        while not stop.is_set():
            try:
                load_index(index).close()
                loads += 1
            except Exception as exc:  # noqa: BLE001 - what we count
                errors.append(f"{type(exc).__name__}: {exc!s:.200}")

    def builder(docs: Path, tag: str, results: list):
        for i in range(rounds):
            f = docs / "copy00.txt"
            f.write_text(f.read_text(encoding="utf-8") + f"\n{tag}{i}。", encoding="utf-8")
            r = subprocess.run(build_cmd(docs, index), capture_output=True, text=True, cwd=ROOT)
            results.append(r.returncode if r.returncode == 0 else f"rc {r.returncode}: {r.stderr[-300:]}")

    t = threading.Thread(target=reader)
    t.start()
    results: list = []
    builders = [threading.Thread(target=builder, args=(d, tag, results)) for d, tag in ((docs_a, "甲"), (docs_b, "乙"))]
    for b in builders:
        b.start()
    for b in builders:
        b.join()
    stop.set()
    t.join()
    shutil.rmtree(work, ignore_errors=True)
    failed = [r for r in results if r != 0]
    return {"builds": len(results), "failed_builds": len(failed), "reader_opens": loads, "reader_errors": len(errors),
            "examples": (failed + errors)[:5]}


NAMES = "张伟 王芳 李娜 刘洋 陈静 杨帆 赵磊 黄敏 周杰 吴昊 徐丽 孙强 马超 朱琳 胡斌 郭涛".split()


def concurrent_adds(rounds: int, per_writer: int, rng: random.Random) -> dict:
    from qa.library import listing
    from qa.retriever import Retriever

    work = Path(tempfile.mkdtemp(prefix="qa-concurrent-add-"))
    lib = work / "library"
    expected: dict[str, tuple[str, str]] = {}  # name -> (question, fact)
    lost, unanswered, failed_runs, writers_total = [], [], [], 0
    t0 = time.perf_counter()
    for rnd in range(rounds):
        writers = rng.randint(2, 4)
        writers_total += writers
        batches = []
        for w in range(writers):
            files = []
            for m in range(per_writer):
                code = f"QX{rnd:02d}{w}{m}{rng.randrange(1000, 9999)}"
                who = rng.choice(NAMES)
                f = work / f"r{rnd:02d}-w{w}-{m}.txt"
                f.write_text(f"项目{code}的负责人是{who}，验收日期为{rng.randint(1, 28)}日。", encoding="utf-8")
                expected[f.name] = (f"项目{code}的负责人是谁？", who)
                files.append(str(f))
            batches.append(files)
        procs = [subprocess.Popen([sys.executable, "-m", "qa.cli", "docs", "add", "--library", str(lib), *files],
                                  cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for files in batches]
        for p in procs:
            out, err = p.communicate()
            if p.returncode != 0:
                failed_runs.append(f"round {rnd}: rc {p.returncode}: {err[-200:]}")
        names = {d["name"] for d in listing(lib)}
        lost += [n for n in expected if n not in names]
    r = Retriever(index_dir=str(lib))
    for name, (question, who) in expected.items():
        top = r.ask(question, k=1).passages
        if not top or top[0].doc != name or who not in top[0].text:
            unanswered.append(name)
    shutil.rmtree(work, ignore_errors=True)
    return {"rounds": rounds, "writers": writers_total, "documents": len(expected), "failed_runs": len(failed_runs),
            "lost": len(set(lost)), "not_answered_first": len(unanswered), "seconds": round(time.perf_counter() - t0, 1),
            "examples": (failed_runs + sorted(set(lost)) + unanswered)[:5]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--add-trials", type=int, default=10, help="kill -9 during `qa docs add`")
    ap.add_argument("--only", choices=["build", "add", "concurrent", "concurrent-add"],
                    help="run one part (merged into crash.json)")
    ap.add_argument("--add-rounds", type=int, default=10, help="rounds of 2-4 concurrent `qa docs add` runs")
    ap.add_argument("--add-docs", type=int, default=3, help="documents each concurrent `qa docs add` adds")
    ap.add_argument("--copies", type=int, default=8, help="copies of the article in the documents folder")
    ap.add_argument("--rounds", type=int, default=6, help="builds per concurrent builder")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    results = json.loads((out / "crash.json").read_text(encoding="utf-8")) if args.only and (
        out / "crash.json").exists() else {}
    bad = 0
    if args.only in (None, "build"):
        k = results["kill"] = kill_trials(args.trials, args.copies, rng)
        bad += k["failed_to_open"] + k["orphans_after_last_build"]
        print(f"kill -9 during build: {k['trials']} trials (a full build takes {k['full_build_s']} s): index opened "
              f"and answered after {k['opened_after_kill']}, failed after {k['failed_to_open']}; "
              f"{k['leftovers_before_last_build']} leftovers before the next build, "
              f"{k['orphans_after_last_build']} orphans and {k['generations_after_last_build']} generations after it",
              flush=True)
        for p in k["problems"]:
            print("  ", p)
    if args.only in (None, "add"):
        a = results["docs_add"] = add_trials(args.add_trials, args.copies, rng)
        bad += a["failed_to_open"]
        print(f"kill -9 during `qa docs add`: {a['trials']} trials (one add takes {a['one_add_s']} s): library "
              f"opened, listed and answered after {a['opened_after_kill']}, failed after {a['failed_to_open']}; "
              f"the new document was in it, whole, after {a['added_whole']}", flush=True)
        for p in a["problems"]:
            print("  ", p)
    if args.only in (None, "concurrent"):
        c = results["concurrent"] = concurrent(args.rounds, args.copies)
        bad += c["failed_builds"] + c["reader_errors"]
        print(f"two concurrent builders + a reader: {c['builds']} builds, {c['failed_builds']} failed; "
              f"{c['reader_opens']} opens, {c['reader_errors']} reader errors")
        for e in c["examples"]:
            print("  ", e)
    if args.only in (None, "concurrent-add"):
        c = results["concurrent_add"] = concurrent_adds(args.add_rounds, args.add_docs, rng)
        bad += c["failed_runs"] + c["lost"] + c["not_answered_first"]
        print(f"concurrent `qa docs add`: {c['rounds']} rounds of 2-4 writers ({c['writers']} runs, {c['documents']} "
              f"documents, {c['seconds']} s): {c['failed_runs']} runs failed, {c['lost']} documents lost, "
              f"{c['not_answered_first']} not ranked first for their own question")
        for e in c["examples"]:
            print("  ", e)
    (out / "crash.json").write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
