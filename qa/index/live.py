"""The index answering now, and noticing that another process built a new generation.

``qa docs add`` in one process while ``qa serve`` answers in another: the server looks at most every
``RELOAD_CHECK_S`` seconds whether the index's manifest (or Milvus's generation) changed, and swaps the
new generation in whole. A question in flight keeps the generation it started with (``pinned``), so
no answer mixes chunks of two generations.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .generations import Index

#: How often (at most) the folder is looked at for a new generation.
RELOAD_CHECK_S = 1.0


@dataclass
class _View:
    """One loaded index and what the query path derives from it, swapped as a whole."""

    index: Index
    _sent_chunk: np.ndarray | None = None

    @property
    def sent_chunk(self) -> np.ndarray:
        """Sentence -> chunk, for scoring every chunk (read on first use: a large store never needs it)."""
        if self._sent_chunk is None:
            self._sent_chunk = np.asarray(self.index.store.sent_spans[:, 0], dtype=np.int64)
        return self._sent_chunk


def _stat(path: Path):
    try:
        st = path.stat()
        return st.st_mtime_ns, st.st_size, st.st_ino
    except OSError:
        return None


class LiveIndex:
    """The index of a folder (or a Milvus store), reloaded when a new generation appears."""

    def __init__(self, index: Index, folder: Path, milvus=None, log=print):
        self.folder, self.milvus, self.log = Path(folder), milvus, log
        self._view = _View(index)
        self._local = threading.local()
        self._reload_lock = threading.Lock()
        self._checked = time.monotonic()
        self._generation = self._look()

    def _look(self):
        return self.milvus.generation() if self.milvus is not None else _stat(self.folder / "manifest.json")

    @property
    def _pinned(self) -> _View:
        return getattr(self._local, "view", None) or self._view

    @property
    def index(self) -> Index:
        """The index answering now (a question in flight keeps the one it started with)."""
        return self._pinned.index

    @property
    def sent_chunk(self) -> np.ndarray:
        return self._pinned.sent_chunk

    @contextmanager
    def pinned(self):
        """Answer one question from one generation: the newest, as of now."""
        self._local.view = self.current()
        try:
            yield self._local.view.index
        finally:
            self._local.view = None

    def current(self) -> _View:
        """The view to answer from: after a rebuild elsewhere, the new one (checked at most every
        ``RELOAD_CHECK_S`` seconds)."""
        now = time.monotonic()
        if now - self._checked >= RELOAD_CHECK_S:
            self._checked = now
            st = self._look()
            if st != self._generation:
                self._reload(st)
        return self._view

    def check_now(self) -> None:
        """Look for a new generation at the next question, however recently it was looked for."""
        self._checked = float("-inf")

    def _reload(self, st) -> None:
        from .generations import IndexError_, load_index

        with self._reload_lock:
            if st == self._generation:
                return
            try:
                index = self.milvus.open() if self.milvus is not None else load_index(self.folder)
            except (IndexError_, OSError) as exc:  # mid-build or damaged: keep answering from what we have
                self.log(f"qa: a new index generation could not be loaded yet ({exc}); still answering "
                         f"from {self._view.index.generation}")
                return
            self._generation = st
            if index.generation != self._view.index.generation:
                old = self._view.index.generation
                self._view = _View(index)
                self.log(f"qa: now answering from index generation {index.generation} (was {old})")
