"""The approximate dense index of a large collection: FAISS IVF with fast-scan PQ codes.

An index of the article (or of a few hundred documents) is searched exactly: every chunk
vector is compared with the question, which costs a few milliseconds. From
:data:`EXACT_MAX_CHUNKS` chunks on, a flat scan grows too slow (14 ms at 200,000 vectors, 70 ms
at a million on two cores), and the dense side takes its candidates from an inverted-file
index instead:

* **IVF**: the vectors are clustered into ``nlist`` ≈ 4·√N lists by k-means (trained on a
  sample); a question scans the ``nprobe`` lists nearest to it, a few percent of the vectors.
* **PQ fast-scan**: the lists hold product-quantised codes, 4 bits for every two dimensions (96
  bytes a chunk, an eighth of the float vectors), scanned with FAISS's SIMD "fast-scan" kernels:
  at a million chunks, 128 of 4,000 lists are 32,000 codes, searched in 1.9 ms where 8-bit
  scalar codes (``ivf-sq8``, the kind before, still read) took 11 ms. The codes are read into
  memory (96 MB at a million chunks); SQ8 indexes are memory-mapped.
* The candidates are then scored exactly from the float vectors (``chunk_vecs.npy``,
  memory-mapped too), so the codes only choose *which* chunks to look at.

``nprobe`` 128 was chosen on real encodings (``benchmarks/scale.py``: 50,000 chunks of real Chinese
prose, 1,000 other chunks asked as questions, 200 candidates re-scored exactly): recall@10 against
exact search is 0.799 / 0.882 / 0.931 / 0.958 / 0.966 at ``nprobe`` 16 / 32 / 64 / 128 / 192 of 894
lists (8-bit scalar codes: 0.802 / 0.891 / 0.946 / 0.979 / 0.990, at three to four times the scan
time). This model's cosines are flat (a question's 1st and 10th neighbours differ by about 0.015),
so the neighbours are spread over more lists than with most embeddings and 64 probes were not
enough. k-means runs 10 iterations instead of FAISS's 25: the same recall (0.953 against 0.947
with SQ8 at 64 probes) in half the training time.

HNSW was measured against it: its recall is as good, but its graph and vectors live in memory
(about 1.8 GB at a million chunks), it cannot be memory-mapped, and it builds several times
slower on two cores. ``nprobe`` is recorded in the manifest.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

#: Up to this many chunks, dense search is exact.
EXACT_MAX_CHUNKS = 50_000
#: Lists scanned per question (of about 4·√N).
DEFAULT_NPROBE = 128


def params_for(n: int, d: int = 384) -> dict:
    """The index kind and parameters for ``n`` chunks of dimension ``d`` (recorded in the manifest)."""
    if n <= EXACT_MAX_CHUNKS:
        return {"dense": "exact"}
    nlist = int(4 * math.sqrt(n))
    common = {"nlist": nlist, "nprobe": min(DEFAULT_NPROBE, nlist), "metric": "inner product"}
    if d % 2:
        return {"dense": "ivf-sq8", **common}
    return {"dense": "ivf-pq-fastscan", "pq": f"{d // 2}x4", **common}


def build(vectors: np.ndarray, path: Path, params: dict, seed: int = 7) -> None:
    """Train and fill the IVF index of ``vectors`` (L2-normalised float32) and write it to ``path``."""
    import faiss

    d = vectors.shape[1]
    quantizer = faiss.IndexFlatIP(d)
    if params["dense"] == "ivf-sq8":
        index = faiss.IndexIVFScalarQuantizer(quantizer, d, params["nlist"], faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
    else:
        m, bits = (int(x) for x in params["pq"].split("x"))
        index = faiss.IndexIVFPQFastScan(quantizer, d, params["nlist"], m, bits, faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = 10  # as good as 25 here (see above), in half the time
    rng = np.random.default_rng(seed)
    n_train = min(len(vectors), max(40 * params["nlist"], 10_000))
    sample = np.ascontiguousarray(vectors[np.sort(rng.choice(len(vectors), n_train, replace=False))])
    index.train(sample)
    for i in range(0, len(vectors), 100_000):  # add in slices: a memory-mapped array is not copied whole
        index.add(np.ascontiguousarray(vectors[i:i + 100_000], dtype=np.float32))
    faiss.write_index(index, str(path))


class Ann:
    """A loaded IVF index: ``search(q, n)`` gives the ids of ``n`` candidate chunks."""

    def __init__(self, index, nprobe: int):
        self.index = index
        self.index.nprobe = nprobe

    def search(self, q: np.ndarray, n: int) -> np.ndarray:
        _, ids = self.index.search(np.ascontiguousarray(q[None, :], dtype=np.float32), n)
        ids = ids[0]
        return ids[ids >= 0].astype(np.int64)


def load(path: Path, params: dict) -> Ann:
    import faiss

    # SQ8 lists (a byte a dimension, a quarter of the floats) are memory-mapped; fast-scan PQ codes are
    # an eighth of the floats' size (96 MB at a million chunks) and are read into memory
    flags = faiss.IO_FLAG_MMAP if params.get("dense") == "ivf-sq8" else 0
    index = faiss.read_index(str(path), flags)
    return Ann(index, int(params.get("nprobe", DEFAULT_NPROBE)))
