"""Feedback rows survive restarts and concurrent writers, and export in the question-set format."""
import json
import multiprocessing
import threading

import pytest

from qa.eval.evaluate import load_set
from qa.serve.feedback import FeedbackStore

ANSWER = {"answer": "煤炭产量11.9亿吨。", "short": "11.9亿吨", "confident": True, "resolved": None,
          "passages": [{"doc": "a.txt", "start": 0, "end": 10, "rank": 1, "text": "…"}]}


def test_add_comment_stats_and_reopen(tmp_path):
    path = tmp_path / "feedback.sqlite"
    store = FeedbackStore(path)
    row = store.add(-1, "煤炭产量是多少？", ANSWER, "hybrid", "g-1")
    store.comment(row, "答案应该是……")
    store.add(1, "另一个问题", ANSWER, "dense")
    again = FeedbackStore(path)  # as after a server restart
    st = again.stats()
    assert (st["total"], st["likes"], st["dislikes"], st["with_comment"]) == (2, 1, 1, 1)
    rows = again.rows()
    assert rows[0]["question"] == "煤炭产量是多少？" and rows[0]["comment"] == "答案应该是……"
    assert json.loads(rows[0]["passages"]) == [{"doc": "a.txt", "start": 0, "end": 10, "rank": 1}]


def test_concurrent_writers_lose_no_rows(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite")

    def click(n):
        for i in range(25):
            store.add(1 if i % 2 else -1, f"q{n}-{i}", ANSWER, "hybrid")

    threads = [threading.Thread(target=click, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.stats()["total"] == 16 * 25
    assert len({r["question"] for r in store.rows()}) == 16 * 25


def _worker(path: str, n: int, start) -> None:
    """One server worker process: its own store on the shared file, 25 clicks."""
    store = FeedbackStore(path)
    start.wait(30)
    for i in range(25):
        store.add(1 if i % 2 else -1, f"p{n}-{i}", ANSWER, "hybrid")


@pytest.mark.slow
def test_concurrent_processes_lose_no_rows(tmp_path):
    # 16 separate processes, as 16 server workers would be, each opening its own store on the same file.
    # This process opens none before they start: an SQLite connection must not be inherited across fork
    # (the child would share its lock bookkeeping, and rows can be lost when the parent closes it).
    path = str(tmp_path / "f.sqlite")
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_worker, args=(path, n, start)) for n in range(16)]
    for p in procs:
        p.start()
    start.set()  # all click at once
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 16
    fresh = FeedbackStore(path)  # as after a restart
    assert fresh.stats()["total"] == 16 * 25
    assert {r["question"] for r in fresh.rows()} == {f"p{n}-{i}" for n in range(16) for i in range(25)}


def _inherited_worker(store, n: int) -> None:
    for i in range(25):
        store.add(1, f"f{n}-{i}", ANSWER, "hybrid")


@pytest.mark.slow
def test_a_store_inherited_across_fork_loses_no_rows(tmp_path):
    # A server that opened its store and then forks workers: each child must open a connection of its own
    # instead of writing through the parent's (which lost rows: the children's writes vanished).
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return
    store = FeedbackStore(tmp_path / "f.sqlite")
    store.add(1, "before", ANSWER, "hybrid")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_inherited_worker, args=(store, n)) for n in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 8
    store.add(1, "after", ANSWER, "hybrid")
    store.close()  # the parent closes its connection, as at shutdown
    assert FeedbackStore(tmp_path / "f.sqlite").stats()["total"] == 8 * 25 + 2


def test_export_reads_back_as_a_question_set(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite")
    store.add(1, "喜欢的问题", ANSWER, "hybrid")
    store.add(-1, "不喜欢的问题", ANSWER, "hybrid")
    out = tmp_path / "fb.jsonl"
    assert store.export(out) == 2
    items = load_set(out, {"a.txt": "煤炭产量11.9亿吨。"})
    assert [i.kind for i in items] == ["feedback-dislike", "feedback-like"]  # dislikes first
    assert store.export(tmp_path / "d.jsonl", (-1,)) == 1


def test_a_comment_with_a_lone_surrogate_is_kept(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite")
    row = store.add(-1, "问题\ud800", {"answer": "a", "passages": []}, "hybrid")
    store.comment(row, "答案不对\udcff，应该是11.9亿吨")
    got = store.rows()[0]
    assert got["comment"] == "答案不对?，应该是11.9亿吨" and got["question"] == "问题?"
