"""One reader from two: the weights of two graphs fine-tuned from the same start, interpolated.

Averaging two readers' logits (an ensemble) gains on both public sets, but every window then runs
through two graphs, twice the time. When one reader was fine-tuned from the other, their weights lie
in one basin and a point on the line between them reads about as well as the ensemble, at the cost
of one graph (Wortsman et al. 2022, "Robust fine-tuning of zero-shot models", WiSE-FT). ``--share``
is the fine-tuned graph's weight: 0 gives ``--base`` back, 1 gives ``--tuned``.

    .venv/bin/python training/soup.py training/checkpoint --base training/reader-v1 --share 0.5 --out /tmp/soup50
    .venv/bin/python training/candidate.py /tmp/soup50 --work /tmp/cand-soup50

The shipped reader is that soup: ``training/reader-v1`` (the first reader, adapted to the article's
dev split) and ``training/checkpoint`` (the retrained reader, started from it) at 0.5 each.

Both graphs' weights come back from their int8 matrices (``recover.py``), so a clone needs nothing
but the committed graphs. What a graph's training kept frozen stays at the base model's values.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

import recover as R  # noqa: E402
import train as T  # noqa: E402
from onnx_export import QUANTIZATION, export_onnx  # noqa: E402


def graph_of(folder_or_file: Path) -> Path:
    p = Path(folder_or_file)
    return p / "reader.onnx" if p.is_dir() else p


def _shown(path: Path) -> str:
    """``path`` relative to the project where it lies inside it."""
    try:
        return str(Path(path).resolve().relative_to(HERE.parent))
    except ValueError:
        return str(path)


def _parent(graph: Path, conf: dict) -> dict:
    """What the soup's config says of one of the two graphs it mixes."""
    drop = ("work", "out", "data", "committed", "export", "validate", "best", "snapshot")
    return {"graph": _shown(graph), "data": conf.get("data"), "global_step": conf.get("global_step"),
            "adapted": conf.get("adapted"),
            "training": {k: v for k, v in (conf.get("training") or {}).items() if k not in drop}}


def load(graph: Path) -> T.Reader:
    """A float reader holding ``graph``'s weights; every parameter trainable, so all are mixed."""
    model, _, _ = T.load_model_and_tokenizer(T.parse_args(["--freeze-layers", "0"]))
    R.recover(model, graph)
    return model.eval()


def mix(base: T.Reader, tuned: T.Reader, share: float) -> T.Reader:
    """``(1 - share) * base + share * tuned``, parameter by parameter (buffers as ``base`` has them),
    written ``base + share * (tuned - base)`` so that what the two share comes back bit for bit."""
    out = copy.deepcopy(base)
    theirs = dict(tuned.named_parameters())
    with torch.no_grad():
        for name, p in out.named_parameters():
            p.add_(theirs[name] - p, alpha=share)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tuned", type=Path, help="the fine-tuned graph, or a folder holding reader.onnx")
    ap.add_argument("--base", type=Path, default=R.GRAPH, help="the graph it was fine-tuned from (default: shipped)")
    ap.add_argument("--share", type=float, default=0.5, help="the tuned graph's weight, in [0, 1] (default 0.5)")
    ap.add_argument("--out", type=Path, required=True, help="folder for reader.onnx and reader_config.json")
    args = ap.parse_args(argv)
    if not 0.0 <= args.share <= 1.0:
        ap.error(f"--share must lie in [0, 1], not {args.share}")
    base_graph, tuned_graph = graph_of(args.base), graph_of(args.tuned)
    for g in (base_graph, tuned_graph):
        if not g.is_file():
            ap.error(f"no graph at {g}")
    if args.out.resolve() in (base_graph.parent.resolve(), tuned_graph.parent.resolve()):
        ap.error("--out must be a new folder, not one of the two graphs' own")

    soup = mix(load(base_graph), load(tuned_graph), args.share)
    export_onnx(soup.bert, soup.qa_outputs, args.out)
    base_conf = R.graph_record(base_graph)
    parents = {"base": _parent(base_graph, base_conf), "tuned": _parent(tuned_graph, R.graph_record(tuned_graph))}
    conf = {k: v for k, v in base_conf.items() if k not in
            ("ensemble", "ensemble_weights", "members", "training", "validation", "global_step", "adapted", "data")}
    conf["graph"] = f"reader.onnx: {QUANTIZATION}"
    conf["data"] = " + ".join(dict.fromkeys(p["data"] for p in parents.values() if p["data"]))
    conf["training"] = {"freeze_layers": 0}  # every parameter is mixed: none keeps the base model's value
    conf["soup"] = {"method": "weights interpolated, (1 - share) * base + share * tuned, every parameter (WiSE-FT)",
                    "share": args.share, **parents}
    tmp = args.out / "reader_config.json.tmp"
    tmp.write_text(json.dumps(conf, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, args.out / "reader_config.json")
    print(f"wrote {args.out / 'reader.onnx'} ({args.share:.2f} of {tuned_graph}, "
          f"{1 - args.share:.2f} of {base_graph})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
