"""Progress for long work: a bar on a terminal, a few plain lines in a log.

A bar redraws itself with ``\\r`` many times a second. On a terminal that is what people expect; in a
file or a CI log every redraw stays, and a two-minute evaluation leaves a hundred kilobytes of bar
fragments around its result table. So, as pip and tqdm's ``disable=None`` do, the bar shows only when
its stream is a terminal; elsewhere a plain line is printed at each tenth of the work, at most one
every ``LINE_EVERY`` seconds, and one at the end.
"""
from __future__ import annotations

import sys
import time

#: Least seconds between two plain progress lines (when the output is not a terminal).
LINE_EVERY = 30.0


def is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class _Lines:
    """tqdm's small interface (``update``, ``close``, iteration, context manager) as plain lines."""

    def __init__(self, iterable=None, total: int | None = None, desc: str = "", unit: str = "it",
                 file=None, every: float = LINE_EVERY):
        self.iterable, self.desc, self.unit, self.file, self.every = iterable, desc, unit, file, every
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.n, self.t0, self.last_line, self.tenth, self.closed = 0, time.monotonic(), time.monotonic(), 0, False

    def _say(self, final: bool = False) -> None:
        took = time.monotonic() - self.t0
        of = f"/{self.total}" if self.total else ""
        pct = f" ({100 * self.n // self.total}%)" if self.total else ""
        print(f"{self.desc}: {self.n}{of} {self.unit}{pct}, {took:.0f} s" + (" – done" if final else ""),
              file=self.file, flush=True)
        self.last_line = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.total:
            tenth = 10 * self.n // self.total
            if tenth > self.tenth and self.n < self.total and time.monotonic() - self.last_line >= self.every:
                self.tenth = tenth
                self._say()

    def set_postfix_str(self, *args, **kwargs) -> None:
        pass

    def close(self) -> None:
        if not self.closed and self.n:
            self._say(final=True)
        self.closed = True

    def __iter__(self):
        for x in self.iterable:
            yield x
            self.update()
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def progress(iterable=None, total: int | None = None, desc: str = "", unit: str = "it", enabled: bool = True,
             file=None, **bar):
    """A tqdm bar over ``iterable`` (or ``total`` steps) on a terminal; plain lines elsewhere; nothing
    when not ``enabled``. ``bar`` passes further tqdm options (``delay``, …)."""
    file = file if file is not None else sys.stderr
    if enabled and not is_terminal(file):
        return _Lines(iterable, total, desc, unit, file)
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, file=file, disable=not enabled, dynamic_ncols=True,
                **bar)
