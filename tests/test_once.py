"""The process-wide value (qa.text.once): made once, under a lock, whatever the threads."""
from __future__ import annotations

import threading
import time

import pytest

from qa.text.once import Once


def test_concurrent_first_calls_make_the_value_once():
    made = []

    def make():
        time.sleep(0.05)  # long enough for every thread to arrive while it is being made
        made.append(object())
        return made[-1]

    once = Once(make)
    got = []
    threads = [threading.Thread(target=lambda: got.append(once.get())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and len(got) == 8 and all(x is made[0] for x in got)
    assert once.get() is made[0]


def test_a_make_that_raises_leaves_nothing_and_is_tried_again():
    calls = []

    def make():
        calls.append(1)
        if len(calls) == 1:
            raise OSError("not yet")
        return "value"

    once = Once(make)
    with pytest.raises(OSError):
        once.get()
    assert once.get() == "value" and once.get() == "value" and len(calls) == 2


def test_a_maker_given_to_get_stands_in_only_before_the_value_exists():
    once = Once(lambda: "default")
    assert once.get(lambda: "mine") == "mine"
    assert once.get() == "mine" and once.get(lambda: "other") == "mine"
