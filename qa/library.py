"""The document library: the user's own documents, added and removed one at a time.

A library is an index folder (:mod:`qa.index.generations`) whose documents live in the index itself, not
in a source folder: ``qa docs add`` reads files (any format of :mod:`qa.ingest.formats`) into it,
``qa docs remove`` takes them out, ``qa docs list`` shows them. It lives in the user's data
folder (``$QA_LIBRARY``, else ``$XDG_DATA_HOME/qa/library``, else
``~/.local/share/qa/library``), apart from the demo's committed ``embeddings/`` and
``seeds/``, which stay read-only.

Every change writes a new generation and swaps it in atomically, so a crash mid-add leaves
the library as it was, and a running ``qa serve`` picks the change up by itself. Adding a
document encodes only its own chunks: vectors are reused by the hash of the text, so
re-adding or renaming a file encodes nothing, and removing one encodes nothing either.

Names: a document keeps its file name, made safe (no folders, no control characters); a
different document with a name already taken gets ``name (2).ext``; a file whose content is
already in the library is not added twice.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from . import config
from .ingest import chunking, formats
from .index.generations import (IndexError_, MANIFEST, build_from_documents, check_max_chars, load_index,
                                read_documents, read_manifest, write_empty)
from .index.locking import IndexLock


def safe_name(name: str) -> str:
    """A document name from an uploaded or given file name: its last path part, without control or
    path characters, never empty, never hidden."""
    name = unicodedata.normalize("NFC", str(name)).replace("\\", "/").split("/")[-1]
    name = name.encode("utf-8", "replace").decode("utf-8")  # undecodable bytes of a file name
    # invisible characters go (format marks such as U+202E that reverse the text shown, line and
    # paragraph separators, unassigned and private-use code points); control characters become '_'
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
    name = re.sub(r"[\x00-\x1f\x7f-\x9f<>:\"|?*]", "_", name).strip().lstrip(".")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = stem[:120] or "document"
    return f"{stem}.{ext.lower()}" if ext else stem


def _free_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    n = 2
    while True:
        cand = f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})"
        if cand not in taken:
            return cand
        n += 1


@dataclass
class Change:
    """What a library operation did: documents added (with how they were read), skipped as already
    there, refused (with the reason), removed."""

    added: list[tuple[str, str]] = field(default_factory=list)  # (name, "PDF, 3 pages")
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (file, name already in the library)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def is_library(folder: Path) -> bool:
    try:
        return bool(read_manifest(folder).get("library"))
    except IndexError_:
        return False


def _is_milvus(target) -> bool:
    return not isinstance(target, (str, os.PathLike))


def ensure(target, embedder) -> None:
    """Make ``target`` (a folder, or a Milvus store) an empty library unless it is one already."""
    if _is_milvus(target):
        with _lock(target):
            m = target.manifest()
            if m is None:
                target.write_empty(embedder)
            elif not m.get("library"):
                raise ValueError(f"the index {target.name!r} in {target.uri} is not a library")
        return
    folder = Path(target)
    if (folder / MANIFEST).exists():
        return
    _current(folder)  # refuses a folder that holds other files, before the lock file is made in it
    with _lock(folder):
        if not (folder / MANIFEST).exists():
            write_empty(folder, embedder)


def _current(folder) -> dict[str, dict]:
    """The library's documents as records (empty for a new library)."""
    if _is_milvus(folder):
        m = folder.manifest()
        if m is None or m.get("empty"):
            return {}
        if not m.get("library"):
            raise ValueError(f"the index {folder.name!r} in {folder.uri} is not a library")
        return folder.open().store.records()
    folder = Path(folder)
    if not (folder / MANIFEST).exists():
        if folder.exists() and any(p for p in folder.iterdir() if not p.name.startswith(".")):
            raise ValueError(f"{folder} is not empty and is not a qa library: choose a new or empty folder")
        return {}
    manifest = read_manifest(folder)
    if manifest.get("empty"):
        return {}
    if not manifest.get("library"):
        raise ValueError(f"{folder} is an index built from source files, not a library: use `qa build` for it, "
                         "or give another folder as the library")
    index = load_index(folder)
    try:
        return index.store.records()
    finally:
        index.close()


def _max_chars(folder) -> int:
    try:
        m = folder.manifest() if _is_milvus(folder) else read_manifest(folder)
        return m["settings"]["max_chars"]
    except (IndexError_, KeyError, TypeError):
        return chunking.DEFAULT_MAX_CHARS


#: How long a change waits for another writer of the same library (``QA_LOCK_TIMEOUT``, seconds).
LOCK_TIMEOUT = 600.0


def _lock(target, log=None) -> IndexLock:
    """The library's writer lock: one change at a time, across threads and processes; the others
    queue (with a message) and give up after ``QA_LOCK_TIMEOUT`` seconds, naming the holder."""
    timeout = config.number("QA_LOCK_TIMEOUT") or LOCK_TIMEOUT
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    if _is_milvus(target):  # a Milvus library is locked beside its database, per index name
        return IndexLock(target.folder, timeout, log, what="changing", name=f".{target.name}.lock")
    return IndexLock(Path(target), timeout, log, what="changing")


def add(folder: Path, paths: list[Path], embedder, names: list[str] | None = None,
        max_bytes: int = formats.MAX_FILE_BYTES, progress: bool = True, log=None,
        chunk_cap: int | None = None) -> Change:
    """Add the files ``paths`` (shown as ``names``, e.g. the original names of uploads) to the library.

    The files are read first; then, holding the library's lock, the current documents are read,
    names and duplicates settled against them, and the new generation written, so that two adds at
    once both land (the second one sees the first one's documents)."""
    t0 = time.perf_counter()
    folder = folder if _is_milvus(folder) else Path(folder)
    if isinstance(paths, (str, os.PathLike)):
        raise ValueError("paths must be a list of files")
    change = Change()
    read: list[tuple[str, str, dict]] = []  # (shown name, safe name, record)
    max_chars = _max_chars(folder)
    for i, p in enumerate(map(Path, paths)):
        shown = names[i] if names else p.name
        got = _read_one(p, shown, max_bytes, change, max_chars, chunk_cap)
        if got is not None:
            read.append((shown, safe_name(shown), got))
    if not read:
        change.seconds = time.perf_counter() - t0
        return change
    with _lock(folder, log):
        docs = _current(folder)
        by_sha = {d["sha256"]: n for n, d in docs.items()}
        new: dict[str, dict] = {}
        for shown, name, d in read:
            if d["sha256"] in by_sha:
                change.duplicates.append((shown, by_sha[d["sha256"]]))
                continue
            name = _free_name(name, set(docs) | set(new))
            by_sha[d["sha256"]] = name
            new[name] = d
            change.added.append((name, d.get("read_as", "")))
        if new:
            docs.update(new)
            _write(folder, docs, embedder, progress, log)
    change.seconds = time.perf_counter() - t0
    return change


def _read_one(p: Path, shown: str, max_bytes: int, change: Change, max_chars: int,
              chunk_cap: int | None) -> dict | None:
    """The record of one file (see :func:`qa.index.generations.read_documents`), or None with the reason in ``change``."""
    try:
        shown.encode("utf-8")
    except UnicodeEncodeError:
        change.refused.append((shown.encode("utf-8", "replace").decode("utf-8"),
                               "its file name is not valid UTF-8: rename it and add it again"))
        return None
    if not p.is_file():
        change.refused.append((shown, "no such file"))
        return None
    if not formats.supported(p) and not formats.supported(Path(shown)):
        change.refused.append((shown, f"{Path(shown).suffix or 'no suffix'}: not a supported format "
                                      f"({', '.join(sorted(set(formats.SUFFIXES)))})"))
        return None
    name = safe_name(shown)
    src = p
    if not formats.supported(p):  # an upload's temporary name may lack the suffix: read it by the shown name's
        src = p.with_name(p.name + Path(name).suffix)
        shutil.copyfile(p, src)
    try:
        got, refused = read_documents({name: src}, max_bytes, max_chars=max_chars, chunk_cap=chunk_cap)
    finally:
        if src != p:
            src.unlink(missing_ok=True)
    if refused:
        change.refused.append((shown, refused[0][1]))
        return None
    d = got[name]
    d["path"] = None  # a library keeps the text; where the file was does not matter
    return d


def remove(folder: Path, names: list[str], embedder, progress: bool = True, log=None) -> Change:
    """Remove documents by name (encodes nothing: every vector is already there)."""
    t0 = time.perf_counter()
    change = Change()
    folder = folder if _is_milvus(folder) else Path(folder)
    with _lock(folder, log):
        docs = _current(folder)
        for n in names:
            if n in docs:
                del docs[n]
                change.removed.append(n)
            else:
                change.refused.append((n, "not in the library"))
        if change.removed:
            _write(folder, docs, embedder, progress, log)
    change.seconds = time.perf_counter() - t0
    return change


def _write(folder, docs: dict[str, dict], embedder, progress: bool, log) -> None:
    if not docs:  # an empty library: no generation to answer from
        folder.write_empty(embedder) if _is_milvus(folder) else write_empty(folder, embedder)
        return
    extra = {"library": True, "sources": None,
             "documents": [{"name": n, "sha256": d["sha256"], "chars": len(d["text"])} for n, d in docs.items()]}
    build_from_documents(docs, folder, embedder, check_max_chars(_max_chars(folder)), extra, progress, log).close()


def listing(folder) -> list[dict]:
    """Name, format, size, chunks, pages, added and encoding of each document of the library."""
    if _is_milvus(folder):
        manifest = folder.manifest()
        if manifest is None or manifest.get("empty"):
            return []
        index = folder.open()
    else:
        folder = Path(folder)
        if not (folder / MANIFEST).exists():
            return []
        manifest = read_manifest(folder)
        if manifest.get("empty"):
            return []
        index = load_index(folder)
    try:
        counts: dict[str, int] = {}
        for c in index.chunks:
            counts[c.doc] = counts.get(c.doc, 0) + 1
        out = []
        for d in index.store.document_info():
            out.append({"name": d["name"], "format": d.get("format"), "size": d.get("size"),
                        "chars": d.get("chars"), "chunks": counts.get(d["name"], 0),
                        "pages": len(d["pages"]) if d.get("pages") else None,
                        "added": d.get("added"), "encoding": d.get("encoding")})
        return out
    finally:
        index.close()
