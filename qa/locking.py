"""One writer per index folder.

Builds of one folder take an exclusive ``flock`` on ``<folder>/.lock`` and write
their PID into it, so a second builder can say who holds the folder and wait for
it (or give up after ``timeout`` seconds with "index is being built by PID n").
The kernel releases the lock when its holder dies, ``kill -9`` included, so a
crashed build never leaves the folder locked.

Readers take no lock: a build never changes a generation once written and swaps
``manifest.json`` atomically (see :mod:`qa.index`).
"""
from __future__ import annotations

import errno
import fcntl
import os
import time
from pathlib import Path

LOCK_NAME = ".lock"


class LockTimeout(RuntimeError):
    """Another process holds the index folder for longer than we were willing to wait."""


class IndexLock:
    """``with IndexLock(folder, timeout=None, log=print):`` -- exclusive, waits (``timeout=None``: forever)."""

    def __init__(self, folder: Path, timeout: float | None = None, log=None, poll: float = 0.1):
        self.path = Path(folder) / LOCK_NAME
        self.timeout, self.log, self.poll = timeout, log, poll
        self._fd: int | None = None

    def holder(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").strip() or "unknown"
        except OSError:
            return "unknown"

    def __enter__(self) -> "IndexLock":
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
                raise LockTimeout(f"index {self.path.parent} is being built by PID {self.holder()}; "
                                  f"gave up after {waited:.0f} s")
            if not told and self.log and waited >= 0.5:
                self.log(f"qa: waiting for PID {self.holder()}, which is building {self.path.parent} ...")
                told = True
            time.sleep(self.poll)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
                self._fd = None
