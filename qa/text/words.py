"""Chinese words with part-of-speech tags, without paying for jieba's start-up.

The no-answer checks need to know which words of a question are names (places
``ns``, people ``nr``, organisations ``nt``) and to split a sentence into
words. jieba does this well, but importing ``jieba.posseg`` and loading its
349,000-word dictionary costs about 1.9 s and 140 MB in every process, which is
more than a whole warm question.

This module gives the same answer as ``jieba.posseg.cut`` (the test suite checks
it word for word) from a *prepared cache*: on first use, jieba's own
``dict.txt`` and its POS hidden-Markov-model tables are read once (jieba is
never imported) and written into one SQLite file in the qa cache folder. After
that, cutting a sentence opens the file (about a millisecond) and looks up only
the substrings of that sentence, so a process that asks one question reads a
few hundred rows instead of the whole dictionary.

The algorithm is jieba's: a DAG of the dictionary words found in each run of
Chinese letters and digits, the maximum-probability route through it, and, for
runs of single characters that are no word, the POS-tagging Viterbi decoder.
"""
from __future__ import annotations

import json
import math
import os
import pickle
import re
import sqlite3
import threading
import time
from importlib import util as import_util
from pathlib import Path

from .. import config
from .once import Once

#: Bump when the cache layout changes (the file name carries it).
CACHE_VERSION = 1
#: Longest dictionary word considered (jieba's longest entries are a few characters more, all idioms).
MAX_WORD = 16

_HAN_INTERNAL = re.compile(r"([\u4E00-\u9FD5a-zA-Z0-9+#&\._]+)")
_SKIP_INTERNAL = re.compile(r"(\r\n|\s)")
_HAN_DETAIL = re.compile(r"([\u4E00-\u9FD5]+)")
_SKIP_DETAIL = re.compile(r"([\.0-9]+|[a-zA-Z0-9]+)")
_ENG = re.compile(r"[a-zA-Z0-9]+")
_NUM = re.compile(r"[\.0-9]+")
_MIN_FLOAT = -3.14e100


class WordsError(RuntimeError):
    """jieba's dictionary cannot be found or read."""


def _jieba_dir() -> Path:
    spec = import_util.find_spec("jieba")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise WordsError("The word dictionary comes from the PyPI package 'jieba', which is not installed "
                         "(pip install jieba).")
    return Path(list(spec.submodule_search_locations)[0])


def _jieba_version(folder: Path) -> str:
    for dist in folder.parent.glob("jieba-*.dist-info"):
        return dist.name[len("jieba-"):-len(".dist-info")]
    return "unknown"


def cache_path() -> Path:
    folder = _jieba_dir()
    return config.cache_dir() / f"words-jieba-{_jieba_version(folder)}-v{CACHE_VERSION}.sqlite"


def prepare(dest: Path | None = None) -> Path:
    """Write the SQLite cache of jieba's dictionary and HMM tables (once; about 3 s).

    Written beside ``dest`` and renamed into place, so a crash never leaves half a file.
    """
    dest = Path(dest) if dest else cache_path()
    if dest.exists():
        return dest
    src = _jieba_dir()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    tmp.unlink(missing_ok=True)
    try:
        words: dict[str, tuple[int, str]] = {}
        total = 0
        with open(src / "dict.txt", encoding="utf-8") as f:
            for line in f:
                parts = line.strip().split(" ")
                if len(parts) < 2:
                    continue
                word, freq = parts[0], int(parts[1])
                words[word] = (freq, parts[2] if len(parts) > 2 else "x")
                total += freq
        hmm = {}
        for name in ("prob_start", "prob_trans", "prob_emit", "char_state_tab"):
            with open(src / "posseg" / f"{name}.p", "rb") as f:
                hmm[name] = pickle.load(f)  # noqa: S301 - jieba's own data files, shipped in its wheel
        states = sorted(hmm["prob_start"])
        sid = {s: i for i, s in enumerate(states)}
        db = sqlite3.connect(tmp)
        db.executescript("""
            CREATE TABLE words (w TEXT PRIMARY KEY, freq INTEGER NOT NULL, tag TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE emit (c TEXT NOT NULL, s INTEGER NOT NULL, p REAL NOT NULL, PRIMARY KEY (c, s))
                WITHOUT ROWID;
            CREATE TABLE char_states (c TEXT PRIMARY KEY, states TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
        """)
        db.executemany("INSERT INTO words VALUES (?, ?, ?)", ((w, fr, t) for w, (fr, t) in words.items()))
        db.executemany("INSERT INTO emit VALUES (?, ?, ?)",
                       ((c, sid[s], p) for s, row in hmm["prob_emit"].items() for c, p in row.items()))
        db.executemany("INSERT INTO char_states VALUES (?, ?)",
                       ((c, json.dumps([sid[s] for s in st])) for c, st in hmm["char_state_tab"].items()))
        meta = {
            "total": total,
            "states": [list(s) for s in states],
            "start": [hmm["prob_start"][s] for s in states],
            "trans": [{str(sid[t]): p for t, p in hmm["prob_trans"][s].items()} for s in states],
            "source": str(src), "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        db.executemany("INSERT INTO meta VALUES (?, ?)", ((k, json.dumps(v)) for k, v in meta.items()))
        db.commit()
        db.close()
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


class Lexicon:
    """jieba's dictionary and POS model, read on demand from the prepared SQLite cache."""

    def __init__(self, path: Path | None = None):
        path = prepare(path)
        # check_same_thread=False: reads only, guarded by a lock (the web server asks from several threads)
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        meta = {k: json.loads(v) for k, v in self._db.execute("SELECT k, v FROM meta")}
        self._logtotal = math.log(meta["total"])
        self._states = [tuple(s) for s in meta["states"]]
        self._start = meta["start"]
        self._trans = [{int(t): p for t, p in row.items()} for row in meta["trans"]]
        self._cache: dict[str, tuple[int, str] | None] = {}

    # -- lookups -------------------------------------------------------------------------
    def _lookup(self, texts: set[str]) -> None:
        todo = [t for t in texts if t not in self._cache]
        for i in range(0, len(todo), 900):
            part = todo[i:i + 900]
            with self._lock:
                rows = self._db.execute(
                    f"SELECT w, freq, tag FROM words WHERE w IN ({','.join('?' * len(part))})", part).fetchall()
            found = {w: (f, t) for w, f, t in rows}
            for t in part:
                self._cache[t] = found.get(t)
        if len(self._cache) > 200_000:  # a long-running server: keep the memo bounded
            self._cache.clear()

    def entry(self, word: str) -> tuple[int, str] | None:
        """(frequency, POS tag) of a dictionary word, or None."""
        self._lookup({word})
        return self._cache[word]

    def tag(self, word: str) -> str:
        e = self.entry(word)
        return e[1] if e else "x"

    # -- jieba's algorithm -----------------------------------------------------------------
    def _route(self, s: str) -> list[int]:
        n = len(s)
        self._lookup({s[k:j] for k in range(n) for j in range(k + 1, min(n, k + MAX_WORD) + 1)})
        dag = []
        for k in range(n):
            ends = [j - 1 for j in range(k + 1, min(n, k + MAX_WORD) + 1)
                    if (e := self._cache.get(s[k:j])) and e[0]]
            dag.append(ends or [k])
        best = [(0.0, 0)] * (n + 1)
        for i in range(n - 1, -1, -1):
            best[i] = max(((math.log((self._cache.get(s[i:x + 1]) or (1, ""))[0] or 1) - self._logtotal
                            + best[x + 1][0]), x) for x in dag[i])
        return [b[1] for b in best[:n]]

    def _viterbi(self, obs: str) -> list[tuple[str, str]]:
        chars = sorted(set(obs))
        with self._lock:
            cs = dict(self._db.execute(
                f"SELECT c, states FROM char_states WHERE c IN ({','.join('?' * len(chars))})", chars).fetchall())
            emit: dict[tuple[int, str], float] = {
                (s, c): p for c, s, p in self._db.execute(
                    f"SELECT c, s, p FROM emit WHERE c IN ({','.join('?' * len(chars))})", chars)}
        all_states = range(len(self._states))
        char_states = {c: json.loads(v) for c, v in cs.items()}
        v = [{y: self._start[y] + emit.get((y, obs[0]), _MIN_FLOAT) for y in char_states.get(obs[0], all_states)}]
        path = [{y: -1 for y in v[0]}]
        for t in range(1, len(obs)):
            prev = [x for x in path[t - 1] if self._trans[x]]
            expect = {y for x in prev for y in self._trans[x]}
            states = set(char_states.get(obs[t], all_states)) & expect
            if not states:
                states = expect if expect else set(all_states)
            v.append({})
            path.append({})
            for y in states:
                # jieba's tie-break: max over (probability, state tuple)
                prob, _, y_best = max((v[t - 1][y0] + self._trans[y0].get(y, -math.inf)
                                       + emit.get((y, obs[t]), _MIN_FLOAT), self._states[y0], y0)
                                      for y0 in prev)
                v[t][y] = prob
                path[t][y] = y_best
        _, _, state = max((v[-1][y], self._states[y], y) for y in path[-1])
        route = [0] * len(obs)
        for i in range(len(obs) - 1, -1, -1):
            route[i] = state
            state = path[i][state]
        return [self._states[s] for s in route]

    def _hmm_cut(self, s: str):
        for blk in _HAN_DETAIL.split(s):
            if not blk:
                continue
            if _HAN_DETAIL.fullmatch(blk):
                tags = self._viterbi(blk)
                begin = nexti = 0
                for i, ch in enumerate(blk):
                    pos, flag = tags[i]
                    if pos == "B":
                        begin = i
                    elif pos == "E":
                        yield blk[begin:i + 1], flag
                        nexti = i + 1
                    elif pos == "S":
                        yield ch, flag
                        nexti = i + 1
                if nexti < len(blk):
                    yield blk[nexti:], tags[nexti][1]
            else:
                for x in _SKIP_DETAIL.split(blk):
                    if x:
                        yield x, "m" if _NUM.match(x) else "eng" if _ENG.match(x) else "x"

    def _flush(self, buf: str):
        if len(buf) == 1:
            yield buf, self.tag(buf)
        elif not (self.entry(buf) or (0, ""))[0]:
            yield from self._hmm_cut(buf)
        else:
            for ch in buf:
                yield ch, self.tag(ch)

    def _cut_block(self, s: str):
        route = self._route(s)
        x, buf = 0, ""
        while x < len(s):
            y = route[x] + 1
            word = s[x:y]
            if y - x == 1:
                buf += word
            else:
                if buf:
                    yield from self._flush(buf)
                    buf = ""
                yield word, self.tag(word)
            x = y
        if buf:
            yield from self._flush(buf)

    def cut(self, text: str) -> list[tuple[str, str]]:
        """``[(word, POS tag), ...]``, as ``jieba.posseg.cut(text)`` gives them."""
        out: list[tuple[str, str]] = []
        for blk in _HAN_INTERNAL.split(text):
            if not blk:
                continue
            if _HAN_INTERNAL.fullmatch(blk):
                out.extend(self._cut_block(blk))
                continue
            for x in _SKIP_INTERNAL.split(blk):
                if not x:
                    continue
                if _SKIP_INTERNAL.fullmatch(x):
                    out.append((x, "x"))
                    continue
                for ch in x:
                    out.append((ch, "m" if _NUM.match(ch) else "eng" if _ENG.match(x) else "x"))
        return out


_lexicon: Once[Lexicon] = Once(Lexicon)


def lexicon() -> Lexicon:
    """The process-wide lexicon (the cache is prepared on first use)."""
    return _lexicon.get()


def cut(text: str) -> list[tuple[str, str]]:
    """Words of ``text`` with their jieba POS tags (``ns`` place, ``nr`` person, ``nt`` organisation, ...)."""
    return lexicon().cut(text)
