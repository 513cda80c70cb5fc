"""Feedback from the chat page (👍/👎 and an optional comment), kept so the question set can learn from use.

Every rating is one row of an SQLite file beside the index (``<index>/feedback.sqlite``, or
``QA_FEEDBACK``): the time, the rating, what the user typed (the question and, for a 👎, an
optional comment), how the question was understood, the answer, the short answer, the cited
passages (document and offsets), the retrieval mode and the index generation. Nothing else
about the user is stored: no address, no session, no account.

SQLite in WAL mode with a busy timeout takes concurrent writes from the server's worker
threads (and from several server processes) without losing rows. ``qa feedback export``
writes the rated turns in the question-set format with the gold left to fill, which
``qa eval --set FILE.jsonl`` reads.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path

from .. import config

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    rating INTEGER NOT NULL,          -- 1 = 👍, -1 = 👎
    question TEXT NOT NULL,
    resolved TEXT,
    answer TEXT,
    short TEXT,
    confident INTEGER NOT NULL,
    passages TEXT NOT NULL,           -- JSON: [{"doc", "start", "end", "rank"}]
    mode TEXT NOT NULL,
    generation TEXT,
    comment TEXT
);
"""
#: The longest question or comment kept (a user can paste anything).
MAX_TEXT = 4000


def _text(text: str | None) -> str:
    """What is stored of a user's text: at most MAX_TEXT characters, valid UTF-8 (a lone surrogate,
    which SQLite cannot store, becomes '?'; the rest of the comment is kept)."""
    return (text or "")[:MAX_TEXT].encode("utf-8", "replace").decode("utf-8")


def default_path(index_dir: Path) -> Path:
    """``QA_FEEDBACK``, else ``feedback.sqlite`` in the index folder."""
    env = config.get("QA_FEEDBACK")
    return Path(env) if env else Path(index_dir) / "feedback.sqlite"


class FeedbackStore:
    """Append-only ratings in one SQLite file (safe for several threads and processes)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._db() as db:
            db.executescript(SCHEMA)

    def _db(self) -> sqlite3.Connection:
        # One connection per thread and per process: a connection inherited through fork() must never
        # be used (SQLite's locks are per process, so a child writing through it, or the parent closing
        # it afterwards, can lose the child's rows); the child opens its own and leaves that one alone.
        db = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "pid", None) != os.getpid():
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db, self._local.pid = db, os.getpid()
        return db

    def close(self) -> None:
        """Close this thread's connection (a later call opens a new one)."""
        db = getattr(self._local, "db", None)
        if db is not None and getattr(self._local, "pid", None) == os.getpid():
            db.close()
        self._local.db = None

    def add(self, rating: int, question: str, answer: dict, mode: str, generation: str | None = None,
            comment: str | None = None) -> int:
        """Store one rating of a reply; ``answer`` is ``Answer.to_dict()``. Returns the row id."""
        if rating not in (1, -1):
            raise ValueError("rating must be 1 (👍) or -1 (👎)")
        passages = [{"doc": p.get("doc"), "start": p.get("start"), "end": p.get("end"), "rank": p.get("rank")}
                    for p in answer.get("passages", [])]
        cur = self._db().execute(
            "INSERT INTO feedback (time, rating, question, resolved, answer, short, confident, passages, mode, "
            "generation, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), rating, _text(question),
             answer.get("resolved"), answer.get("answer"), answer.get("short"), int(bool(answer.get("confident"))),
             json.dumps(passages, ensure_ascii=False), mode, generation, _text(comment) or None))
        return int(cur.lastrowid)

    def comment(self, row: int, text: str) -> None:
        """Attach (or replace) the comment of a stored rating."""
        self._db().execute("UPDATE feedback SET comment = ? WHERE id = ?", (_text(text), int(row)))

    def rows(self) -> list[dict]:
        cur = self._db().execute("SELECT * FROM feedback ORDER BY id")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    def stats(self) -> dict:
        rows = self.rows()
        likes = sum(r["rating"] == 1 for r in rows)
        return {"total": len(rows), "likes": likes, "dislikes": len(rows) - likes,
                "with_comment": sum(bool(r["comment"]) for r in rows),
                "not_confident": sum(not r["confident"] for r in rows),
                "first": rows[0]["time"] if rows else None, "last": rows[-1]["time"] if rows else None}

    def export(self, out: Path, which: tuple[int, ...] = (-1, 1)) -> int:
        """Write the rated turns (disliked first) as question-set JSONL with empty golds; returns the count."""
        rows = sorted((r for r in self.rows() if r["rating"] in which), key=lambda r: (r["rating"], r["id"]))
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        with open(tmp, "w", encoding="utf-8") as f:
            for r in rows:
                passages = json.loads(r["passages"])
                f.write(json.dumps({
                    "id": f"fb{r['id']:05d}", "question": r["question"],
                    "kind": "feedback-dislike" if r["rating"] < 0 else "feedback-like",
                    "answers": [], "short": [],
                    "doc": passages[0]["doc"] if passages else "",
                    "split": "dev",
                    "resolved": r["resolved"],
                    "note": {"answer": r["answer"], "short": r["short"], "confident": bool(r["confident"]),
                             "comment": r["comment"], "mode": r["mode"], "time": r["time"],
                             "passages": passages,
                             "todo": "fill answers/short with exact substrings of the document, or keep [] "
                                     "if it does not answer; then set kind"},
                }, ensure_ascii=False) + "\n")
        os.replace(tmp, out)
        return len(rows)
