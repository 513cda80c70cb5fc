"""Milvus as the store: the same retrieval from a laptop (Milvus Lite) to a cluster.

``--store milvus`` (or ``QA_STORE=milvus``) keeps an index in Milvus instead of an index folder:
``QA_MILVUS_URI`` names it: a Milvus Lite file such as ``./qa-milvus.db`` (what the tests and CI
use), or ``http://host:19530`` for a standalone or distributed Milvus, or a Zilliz Cloud URI
with ``QA_MILVUS_TOKEN``. The client code is pymilvus's ``MilvusClient`` either way.

One generation of an index is four collections, ``<name>_<generation>_{chunks,sents,docs,terms}``:

* chunks: text with Milvus's own BM25 (a ``{"tokenizer": "jieba"}`` analyzer and a BM25
  function into a sparse field), the passage vector (FLAT, inner product), section, offsets,
  page, content hash and the rows of its sentences;
* sents: each sentence's offsets and vector (answer-sentence scoring);
* docs: each document's text, in parts (a VARCHAR holds 65,535 characters), and how it was read;
* terms: the document vocabulary of :mod:`qa.index.lexical` (token, document frequency), which the
  short-answer and no-answer checks read by token.

The collection ``<name>_meta`` holds the manifest; writing it is the atomic switch to a new
generation (the one it replaces is kept until the next build, older ones are dropped).

Search goes through the same ``Retriever`` as the local store: dense candidates from Milvus's
vector search, lexical candidates from its BM25 search (scores come back negated: they are
ranked by order and their magnitude is used after a sign flip), then our fusion, answer
sentences, short answers and no-answer checks over the union. What was found with Milvus Lite
3.2 here: ``flush()`` after inserting (or searches are 50 times slower); ``{"type": "chinese"}``
is refused, the jieba tokenizer works; ``text_match`` ignores the Chinese analyzer, so phrase
lookups use ``like``. Only Milvus Lite was tested; the standalone/cluster recipe is in the README.
"""
from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from .. import config
from ..ingest.chunking import Chunk
from .lexical import BM25Stats, normalize

DEFAULT_URI = "./qa-milvus.db"
PART = 60_000
BATCH = 500


def uri_from_env(uri: str | None = None) -> str:
    return uri or config.get("QA_MILVUS_URI") or DEFAULT_URI


def client(uri: str | None = None, token: str | None = None):
    """A pymilvus ``MilvusClient`` (Milvus Lite for a local path)."""
    import logging

    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise RuntimeError("the Milvus store needs pymilvus (pip install pymilvus 'milvus-lite[chinese]')") from exc
    uri = uri_from_env(uri)
    token = token or config.get("QA_MILVUS_TOKEN") or ""
    if "://" not in uri:
        Path(uri).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    return MilvusClient(uri, token=token) if token else MilvusClient(uri)


def _ids_filter(ids) -> str:
    return "id in [" + ",".join(str(int(i)) for i in ids) + "]"


def _quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


class MilvusVocab:
    def __init__(self, store: "MilvusStore"):
        self.s = store
        self._memo: dict[str, tuple[int, int] | None] = {}

    def lookup(self, tokens):
        want = list(dict.fromkeys(tokens))
        todo = [t for t in want if t not in self._memo]
        for i in range(0, len(todo), 200):
            part = todo[i:i + 200]
            rows = self.s.q("terms", "token in [" + ",".join(_quote(t) for t in part) + "]",
                            ["token", "tid", "df"], limit=len(part))
            got = {r["token"]: (int(r["tid"]), int(r["df"])) for r in rows}
            for t in part:
                self._memo[t] = got.get(t)
        if len(self._memo) > 100_000:
            self._memo = {t: self._memo[t] for t in want}
        return {t: self._memo[t] for t in want if self._memo.get(t) is not None}


class MilvusLexical(BM25Stats):
    """The lexical side over Milvus: its BM25 for candidates and their scores; our vocabulary for
    the checks that read token statistics."""

    def __init__(self, store: "MilvusStore"):
        self.s = store
        self.vocab = MilvusVocab(store)
        self.n_docs = store.n_chunks
        self._last: tuple[str, dict[int, float]] | None = None
        self._lock = threading.Lock()

    def lookup(self, tokens):
        return self.vocab.lookup(tokens)

    def with_prefix(self, prefix: str, limit: int = 64):
        rows = self.s.q("terms", f"token like {_quote(prefix.replace('%', '') + '%')}", ["tid", "df"], limit=limit)
        return [(int(r["tid"]), int(r["df"])) for r in rows]

    def _bm25(self, query: str, n: int) -> dict[int, float]:
        with self._lock:
            if self._last is not None and self._last[0] == query and len(self._last[1]) >= min(n, self.n_docs):
                return self._last[1]
        hits = self.s.client.search(self.s.name("chunks"), data=[query], anns_field="sparse", limit=n,
                                    output_fields=["id"])[0]
        # Milvus Lite returns BM25 negated: rank by order, use the magnitude
        scores = {int(h["id"]): abs(float(h["distance"])) for h in hits}
        with self._lock:
            self._last = (query, scores)
        return scores

    def candidates(self, query: str, n: int, max_df: float = 0.05) -> np.ndarray:
        return np.fromiter(self._bm25(query, n).keys(), dtype=np.int64)

    def scores_for(self, query: str, ids: np.ndarray) -> np.ndarray:
        got = self._bm25(query, max(200, len(ids)))
        return np.asarray([got.get(int(i), 0.0) for i in ids], dtype=np.float32)

    def scores(self, query: str) -> np.ndarray:
        got = self._bm25(query, self.n_docs)
        out = np.zeros(self.n_docs, dtype=np.float32)
        for i, v in got.items():
            out[i] = v
        return out


class _Rows:
    """``store.chunk_vectors[ids]`` and friends, read from Milvus by id."""

    def __init__(self, store: "MilvusStore", kind: str, n: int):
        self.s, self.kind, self.n = store, kind, n

    def __len__(self) -> int:
        return self.n

    @property
    def shape(self):
        return (self.n, self.s.dim)

    def __getitem__(self, ids):
        if isinstance(ids, slice):
            ids = np.arange(*ids.indices(self.n))
        single = np.ndim(ids) == 0
        ids = np.atleast_1d(np.asarray(ids, dtype=np.int64))
        if self.kind == "bounds":
            chunks = {c.id: c for c in self.s.get_chunks(ids)}
            out = np.asarray([self.s._bounds[int(i)] for i in ids], dtype=np.int64).reshape(-1, 2)
            del chunks
            return out[0] if single else out
        if not len(ids):
            return np.zeros((0, self.s.dim), np.float32)
        rows = []
        for i in range(0, len(ids), 1000):
            part = ids[i:i + 1000]
            rows += self.s.q(self.kind, _ids_filter(np.unique(part)), ["id", "vec"], limit=len(np.unique(part)))
        by_id = {int(r["id"]): r["vec"] for r in rows}
        out = np.asarray([by_id[int(i)] for i in ids], dtype=np.float32)
        return out[0] if single else out


class _Documents(Mapping):
    def __init__(self, store: "MilvusStore"):
        self.s = store
        self._text: dict[str, str] = {}
        self._names: list[str] | None = None

    def _all(self) -> list[str]:
        if self._names is None:
            rows = self.s.q("docs", "part == 0", ["name", "ord"], limit=16384)
            self._names = [r["name"] for r in sorted(rows, key=lambda r: r["ord"])]
        return self._names

    def __getitem__(self, name: str) -> str:
        if name not in self._text:
            rows = self.s.q("docs", f"name == {_quote(name)}", ["part", "text"], limit=10_000)
            if not rows:
                raise KeyError(name)
            self._text[name] = "".join(r["text"] for r in sorted(rows, key=lambda r: r["part"]))
        return self._text[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __contains__(self, name) -> bool:
        return name in set(self._all())


class MilvusStore:
    """One generation in Milvus, with the read interface of :class:`qa.index.store.Store`."""

    def __init__(self, cli, base: str, manifest: dict):
        self.client, self.base, self.manifest = cli, base, manifest
        self.gen = manifest["generation"]
        self.meta = {"search": manifest.get("search", {}), "model": manifest["model"]}
        self._lock = threading.Lock()
        for kind in ("chunks", "sents", "docs", "terms"):
            self.client.load_collection(self.name(kind))
        counts = manifest["counts"]
        self._n, self._m = int(counts["chunks"]), int(counts["sentences"])
        self.dim = int(manifest["model"]["dim"])
        self.chunk_vectors = _Rows(self, "chunks", self._n)
        self.sentence_vectors = _Rows(self, "sents", self._m)
        self.chunk_sents = _Rows(self, "bounds", self._n)
        self.lexical = MilvusLexical(self)
        self.documents = _Documents(self)
        self.ann = self  # always the candidate path: Milvus searches, we fuse
        self._chunks: dict[int, Chunk] = {}
        self._bounds: dict[int, tuple[int, int]] = {}
        self._all: list[Chunk] | None = None

    def name(self, kind: str) -> str:
        return f"{self.base}_{self.gen}_{kind}"

    @property
    def n_chunks(self) -> int:
        return self._n

    @property
    def sent_spans(self):  # only the full-scan path reads it, which Milvus never takes
        raise AttributeError("sent_spans")

    def q(self, kind: str, flt: str, fields: list[str], limit: int):
        with self._lock:
            return self.client.query(self.name(kind), filter=flt, output_fields=fields, limit=max(1, limit))

    # -- the candidate path ------------------------------------------------------------
    def search(self, q: np.ndarray, n: int) -> np.ndarray:
        with self._lock:
            hits = self.client.search(self.name("chunks"), data=[q.astype(float).tolist()], anns_field="vec",
                                      limit=n, output_fields=["id"])[0]
        return np.asarray([int(h["id"]) for h in hits], dtype=np.int64)

    def take(self, arr, ids) -> np.ndarray:
        """Rows ``ids`` of ``chunk_vectors`` or ``sentence_vectors`` (read from Milvus by id)."""
        return np.asarray(arr[np.asarray(ids, dtype=np.int64)])

    def dense_candidates(self, q: np.ndarray, n: int) -> np.ndarray:
        return self.search(q, n)

    # -- rows ---------------------------------------------------------------------------
    _FIELDS = ["id", "doc", "section", "text", "start", "end", "page", "s_lo", "s_hi", "sentences"]

    def _make(self, r) -> Chunk:
        cid = int(r["id"])
        self._bounds[cid] = (int(r["s_lo"]), int(r["s_hi"]))
        return Chunk(id=cid, doc=r["doc"], section=r["section"], text=r["text"], start=int(r["start"]),
                     end=int(r["end"]), sentences=tuple(tuple(s) for s in json.loads(r["sentences"])),
                     page=int(r["page"]) if int(r["page"]) >= 0 else None)

    def get_chunks(self, ids) -> list[Chunk]:
        ids = [int(i) for i in ids]
        todo = [i for i in dict.fromkeys(ids) if i not in self._chunks]
        for i in range(0, len(todo), 1000):
            for r in self.q("chunks", _ids_filter(todo[i:i + 1000]), self._FIELDS, len(todo[i:i + 1000])):
                self._chunks[int(r["id"])] = self._make(r)
        if len(self._chunks) > 50_000 and self._all is None:
            self._chunks = {i: self._chunks[i] for i in ids}
        return [self._chunks[i] for i in ids]

    @property
    def chunks(self) -> list[Chunk]:
        if self._all is None:
            rows = []
            for i in range(0, self._n, 16384):
                rows += self.q("chunks", f"id >= {i} and id < {i + 16384}", self._FIELDS, 16384)
            self._all = sorted((self._make(r) for r in rows), key=lambda c: c.id)
            self._chunks = {c.id: c for c in self._all}
        return self._all

    def contains(self, phrase: str) -> bool:
        norm = normalize(phrase).strip()
        if not norm or '"' in norm or "\\" in norm:
            return False
        for variant in dict.fromkeys([phrase.strip(), norm]):
            if self.q("chunks", f"text like {_quote('%' + variant.replace('%', '') + '%')}", ["id"], 1):
                return True
        return False

    def document_info(self) -> list[dict]:
        rows = self.q("docs", "part == 0", ["name", "ord", "info"], limit=16384)
        out = []
        for r in sorted(rows, key=lambda r: r["ord"]):
            info = json.loads(r["info"])
            out.append({"name": r["name"], **info})
        return out

    def records(self) -> dict[str, dict]:
        out = {}
        for d in self.document_info():
            info = {k: v for k, v in d.items() if k != "name"}
            out[d["name"]] = {"text": self.documents[d["name"]], **info}
        return out

    def hashes(self) -> tuple[list[str], list[str]]:
        return [], []

    def vectors_by_hash(self, hashes: list[str]) -> dict[str, np.ndarray]:
        """Vectors this generation already has for the given text hashes (chunks and sentences)."""
        out: dict[str, np.ndarray] = {}
        for kind in ("chunks", "sents"):
            for i in range(0, len(hashes), 500):
                part = [h for h in hashes[i:i + 500] if h not in out]
                if part:
                    flt = "hash in [" + ",".join(_quote(h) for h in part) + "]"
                    for r in self.q(kind, flt, ["hash", "vec"], 16384):
                        out[r["hash"]] = np.asarray(r["vec"], dtype=np.float32)
        return out

    def close(self) -> None:
        pass


class MilvusIndex:
    """An index in Milvus, with the interface of :class:`qa.index.generations.Index`."""

    def __init__(self, cli, base: str, manifest: dict, folder: Path):
        self.client, self.base, self.manifest, self.folder = cli, base, manifest, folder
        self.store = MilvusStore(cli, base, manifest)

    model_id = property(lambda self: self.manifest["model"]["id"])
    generation = property(lambda self: self.manifest["generation"])
    chunks = property(lambda self: self.store.chunks)
    documents = property(lambda self: self.store.documents)
    chunk_vectors = property(lambda self: self.store.chunk_vectors)
    sentence_vectors = property(lambda self: self.store.sentence_vectors)
    lexical = property(lambda self: self.store.lexical)

    def close(self) -> None:
        pass


class Milvus:
    """An index named ``name`` in the Milvus at ``uri``: read its manifest, build and open generations."""

    def __str__(self) -> str:
        return f"Milvus {self.uri} ({self.name})"

    def __init__(self, uri: str | None = None, name: str = "qa", token: str | None = None):
        self.uri = uri_from_env(uri)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,40}", name):
            raise ValueError("a Milvus index name is letters, digits and _ (at most 41)")
        self.name = name
        self.client = client(self.uri, token)
        local = "://" not in self.uri
        self.folder = Path(self.uri).expanduser().resolve().parent if local else config.cache_dir() / f"milvus-{name}"
        self.meta = f"{name}_meta"

    # -- the manifest ---------------------------------------------------------------------
    def manifest(self) -> dict | None:
        if not self.client.has_collection(self.meta):
            return None
        self.client.load_collection(self.meta)
        rows = self.client.query(self.meta, filter='key == "manifest"', output_fields=["value"], limit=1)
        return json.loads(rows[0]["value"]) if rows else None

    def generation(self) -> str | None:
        m = self.manifest()
        return m.get("generation") if m else None

    def open(self) -> MilvusIndex:
        from .generations import IndexError_, check_not_empty

        m = self.manifest()
        if m is None:
            raise IndexError_([f"no index named {self.name!r} in the Milvus at {self.uri}"])
        check_not_empty(Path(self.uri), m)
        return MilvusIndex(self.client, self.name, m, self.folder)

    # -- building -----------------------------------------------------------------------
    def _schema(self, kind: str, dim: int):
        from pymilvus import DataType, Function, FunctionType

        c = self.client
        s = c.create_schema(auto_id=False)
        ip = c.prepare_index_params()
        if kind == "terms":
            s.add_field("token", DataType.VARCHAR, is_primary=True, max_length=512)
            s.add_field("tid", DataType.INT64)
            s.add_field("df", DataType.INT64)
            s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector in every collection
            ip.add_index("vec", index_type="FLAT", metric_type="L2")
            return s, ip
        s.add_field("id", DataType.INT64, is_primary=True)
        if kind == "docs":
            s.add_field("name", DataType.VARCHAR, max_length=1024)
            s.add_field("ord", DataType.INT64)
            s.add_field("part", DataType.INT64)
            s.add_field("text", DataType.VARCHAR, max_length=65535)
            s.add_field("info", DataType.VARCHAR, max_length=65535)
            s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
            ip.add_index("vec", index_type="FLAT", metric_type="L2")
            return s, ip
        s.add_field("hash", DataType.VARCHAR, max_length=64)
        s.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
        ip.add_index("vec", index_type="FLAT", metric_type="IP")
        if kind == "chunks":
            s.add_field("doc", DataType.VARCHAR, max_length=1024)
            s.add_field("section", DataType.VARCHAR, max_length=4096)
            s.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                        analyzer_params={"tokenizer": "jieba"})
            s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            s.add_function(Function(name=f"bm25_{kind}", function_type=FunctionType.BM25,
                                    input_field_names=["text"], output_field_names=["sparse"]))
            for f in ("start", "end", "page", "s_lo", "s_hi"):
                s.add_field(f, DataType.INT64)
            s.add_field("sentences", DataType.VARCHAR, max_length=65535)
            ip.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        return s, ip

    def _insert(self, coll: str, rows: list[dict]) -> None:
        for i in range(0, len(rows), BATCH):
            self.client.insert(coll, rows[i:i + BATCH])
        self.client.flush(coll)  # without it, searches in Milvus Lite are 50 times slower

    def write(self, docs: dict[str, dict], chunks: list[Chunk], chunk_vecs, sent_vecs, chunk_h, sent_h, df,
              manifest: dict) -> str:
        """Write one generation and switch the manifest to it; returns its name."""
        import hashlib

        gen = "g" + hashlib.sha256(json.dumps([list(chunk_h), list(sent_h), sorted(docs)]).encode()).hexdigest()[:12]
        dim = int(manifest["model"]["dim"])
        for kind in ("chunks", "sents", "docs", "terms"):
            coll = f"{self.name}_{gen}_{kind}"
            if self.client.has_collection(coll):
                self.client.drop_collection(coll)
            schema, ip = self._schema(kind, dim)
            self.client.create_collection(coll, schema=schema, index_params=ip)
        rows, lo = [], 0
        for c, h in zip(chunks, chunk_h):
            n = len(c.sentences)
            rows.append({"id": c.id, "hash": h, "vec": chunk_vecs[c.id].tolist(), "doc": c.doc, "section": c.section[:4000],
                         "text": c.text, "start": c.start, "end": c.end, "page": c.page if c.page else -1,
                         "s_lo": lo, "s_hi": lo + n, "sentences": json.dumps([list(s) for s in c.sentences])})
            lo += n
        self._insert(f"{self.name}_{gen}_chunks", rows)
        self._insert(f"{self.name}_{gen}_sents", [{"id": i, "hash": h, "vec": v.tolist()}
                                                  for i, (h, v) in enumerate(zip(sent_h, sent_vecs))])
        drows, rid = [], 0
        for ordinal, (name, d) in enumerate(docs.items()):
            info = json.dumps({k: v for k, v in d.items() if k != "text"}, ensure_ascii=False)[:65000]
            text = d["text"]
            for part, a in enumerate(range(0, max(len(text), 1), PART)):
                drows.append({"id": rid, "name": name, "ord": ordinal, "part": part, "text": text[a:a + PART],
                              "info": info if part == 0 else "{}", "vec": [0.0, 0.0]})
                rid += 1
        self._insert(f"{self.name}_{gen}_docs", drows)
        self._insert(f"{self.name}_{gen}_terms", [{"token": t, "tid": i, "df": d, "vec": [0.0, 0.0]}
                                                  for t, (i, d) in df.items() if len(t.encode("utf-8")) < 500])
        old = self.manifest()
        manifest = {**manifest, "generation": gen, "previous": (old or {}).get("generation"),
                    "store": {"kind": "milvus", "uri": self.uri, "name": self.name}}
        if gen == manifest["previous"]:
            manifest["previous"] = None
        self._set_manifest(manifest)
        keep = {gen, manifest.get("previous")}
        for coll in self.client.list_collections():
            m = re.fullmatch(rf"{self.name}_(g[0-9a-f]{{12}})_(chunks|sents|docs|terms)", coll)
            if m and m.group(1) not in keep:
                self.client.drop_collection(coll)
        return gen

    def _set_manifest(self, manifest: dict) -> None:
        from pymilvus import DataType

        if not self.client.has_collection(self.meta):
            s = self.client.create_schema(auto_id=False)
            s.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
            s.add_field("value", DataType.VARCHAR, max_length=65535)
            s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
            ip = self.client.prepare_index_params()
            ip.add_index("vec", index_type="FLAT", metric_type="L2")
            self.client.create_collection(self.meta, schema=s, index_params=ip)
        slim = {k: v for k, v in manifest.items() if k != "documents"} if len(json.dumps(manifest)) > 60000 \
            else manifest
        self.client.upsert(self.meta, [{"key": "manifest", "value": json.dumps(slim, ensure_ascii=False),
                                        "vec": [0.0, 0.0]}])
        self.client.flush(self.meta)

    def write_empty(self, embedder) -> None:
        from .generations import FORMAT_VERSION, expected_settings

        from ..ingest import chunking

        self._set_manifest({"format_version": FORMAT_VERSION, "generation": None, "library": True, "empty": True,
                            "files": {}, "settings": expected_settings(chunking.DEFAULT_MAX_CHARS),
                            "model": {"id": embedder.model_id, "dim": int(embedder.dim), "engine": embedder.engine},
                            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})


def open_index(m: Milvus, sources, embedder_factory, max_chars, model_id, rebuild: bool = True, log=print):
    """Open the index in Milvus; build it from ``sources`` when it is missing or they changed (the
    default index); a library is never rebuilt from anything."""
    from pathlib import Path as _P

    from .generations import IndexError_, build_index, staleness

    manifest = m.manifest()
    if manifest is not None and manifest.get("library"):
        return m.open()
    reasons = []
    if manifest is None:
        reasons = [f"no index named {m.name!r} in the Milvus at {m.uri}"]
    else:
        reasons = staleness(manifest, m.folder, [_P(x) for x in sources] if sources else None, model_id, max_chars)
        if not reasons:
            return m.open()
    if not sources or not rebuild:
        raise IndexError_(reasons + ([] if sources else [f"build it with `qa build PATHS --store milvus "
                                                         f"--milvus-uri {m.uri}`"]))
    log("qa: building the Milvus index: " + "; ".join(reasons))
    return build_index(sources, m, embedder_factory(), max_chars or 150, log=log)
