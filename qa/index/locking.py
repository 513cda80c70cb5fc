"""One writer per index folder.

Builds of one folder take an exclusive ``flock`` on ``<folder>/.lock`` and write
their PID into it, so a second builder can say who holds the folder and wait for
it (or give up after ``timeout`` seconds, saying which PID holds it).
The kernel releases the lock when its holder dies, ``kill -9`` included, so a
crashed build never leaves the folder locked.

A lock taken with ``reentrant=True`` joins one its own thread already holds: a library
change holds the folder for its whole read-modify-write (:mod:`qa.library`), and the
build it calls takes it that way. Other threads and processes queue.

Readers take no lock: a build never changes a generation once written and swaps
``manifest.json`` atomically (see :mod:`qa.index.generations`).
"""
from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from pathlib import Path

LOCK_NAME = ".lock"


class LockTimeout(RuntimeError):
    """Another process holds the index folder for longer than we were willing to wait."""


#: (lock file, thread id) -> [fd, depth] of the locks this process holds, for re-entry.
_HELD: dict[tuple[str, int], list[int]] = {}


class IndexLock:
    """``with IndexLock(folder, timeout=None, log=print):`` -- exclusive, waits (``timeout=None``: forever).

    ``what`` names the work in messages (``building``, ``changing``); ``name`` the lock file;
    ``reentrant``: join the lock when this thread holds it already, instead of waiting for it."""

    def __init__(self, folder: Path, timeout: float | None = None, log=None, poll: float = 0.1,
                 what: str = "building", name: str = LOCK_NAME, reentrant: bool = False):
        self.path = Path(folder) / name
        self.timeout, self.log, self.poll, self.what, self.reentrant = timeout, log, poll, what, reentrant
        self._fd: int | None = None
        self._joined = False
        self._key = (os.path.abspath(self.path), threading.get_ident())

    def holder(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").strip() or "unknown"
        except OSError:
            return "unknown"

    def __enter__(self) -> "IndexLock":
        held = _HELD.get(self._key)
        if held is not None and self.reentrant:  # this thread holds it already
            held[1] += 1
            self._joined = True
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        start, told = time.monotonic(), False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
            waited = time.monotonic() - start
            if self.timeout is not None and waited >= self.timeout:
                os.close(fd)
                raise LockTimeout(f"{self.path.parent} is being changed by PID {self.holder()} "
                                  f"(another qa build or qa docs run, or a qa serve upload); "
                                  f"gave up after {waited:.0f} s")
            if not told and self.log and waited >= 0.5:
                self.log(f"qa: waiting for PID {self.holder()}, which is {self.what} {self.path.parent} ...")
                told = True
            time.sleep(self.poll)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        _HELD.setdefault(self._key, [fd, 1])
        return self

    def __exit__(self, *exc) -> None:
        if self._joined:
            self._joined = False
            _HELD[self._key][1] -= 1
            return
        if _HELD.get(self._key, [None])[0] == self._fd:
            _HELD.pop(self._key, None)
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
                self._fd = None
