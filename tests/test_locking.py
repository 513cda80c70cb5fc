"""One writer per folder: waiting, giving up with the holder's PID, and joining one's own lock."""
from __future__ import annotations

import os
import threading
import time

import pytest

from qa.index.locking import IndexLock, LockTimeout


def test_a_reentrant_lock_joins_its_own_threads_lock(tmp_path):
    with IndexLock(tmp_path):
        with IndexLock(tmp_path, timeout=0.2, reentrant=True):
            pass
        # still held after the inner one is left: another thread must wait
        got: list = []
        t = threading.Thread(target=lambda: got.append(_try(tmp_path)))
        t.start()
        t.join()
        assert isinstance(got[0], LockTimeout) and f"PID {os.getpid()}" in str(got[0])
    assert _try(tmp_path) is None  # released by the outer one


def test_another_thread_queues_and_is_told_who_holds_it(tmp_path):
    said, order = [], []
    outer = IndexLock(tmp_path)
    outer.__enter__()

    def second():
        with IndexLock(tmp_path, timeout=30, log=said.append, poll=0.02, what="changing", reentrant=True):
            order.append("second")

    t = threading.Thread(target=second)
    t.start()
    time.sleep(0.8)
    order.append("first done")
    outer.__exit__(None, None, None)
    t.join(10)
    assert order == ["first done", "second"]
    assert said and f"PID {os.getpid()}" in said[0] and "changing" in said[0]


def _try(folder):
    try:
        with IndexLock(folder, timeout=0.2):
            return None
    except LockTimeout as exc:
        return exc
