"""A value made once per process, on first use, and shared by every thread.

The word lexicon, the reader and the default retriever are costly to make and read-only once
made, so a process keeps one of each. The lock makes concurrent first calls (a web server's
threads) wait for the one load instead of each starting their own; a load that raises leaves
nothing behind, and the next call tries again.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Once(Generic[T]):
    """``Once(make).get()``: ``make()``'s result, made on the first call and returned to every later one."""

    def __init__(self, make: Callable[[], T]):
        self._make = make
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self, make: Callable[[], T] | None = None) -> T:
        """The value; ``make``, where given, makes it in place of the maker given at construction if it
        does not exist yet (a test suite loading the shared value its own way)."""
        with self._lock:
            if self._value is None:
                self._value = (make or self._make)()
            return self._value
