"""Torch weights back from the shipped int8 graph, so a later stage can start from the reader we ship.

The main run's float checkpoint lives outside the repository (``~/.cache/qa/reader-train``); a clone
has only ``qa/data/reader/reader.onnx``. Its weights are int8 per output channel, which de-quantise to
within half a step of the float ones (``(q - zero_point) * scale``): as good as float32 for the
reader (EM 0.706 per channel against 0.703 float32, ``onnx_export.py``). The frozen parts (all
embeddings and the lowest ``freeze_layers`` layers) are not taken from the graph but from the base
model, exactly as training left them. Each matrix is found by the name of the node that uses it
(``/bert/encoder/layer.N/attention/self/query/MatMul``), never by position.

    .venv/bin/python training/recover.py        # writes ~/.cache/qa/reader-train/recovered.pt
    .venv/bin/python training/adapt.py --start ~/.cache/qa/reader-train/recovered.pt --context 150

It checks itself: quantised again, the recovered weights must give the shipped graph's logits back.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import train as T  # noqa: E402

GRAPH = HERE.parent / "qa" / "data" / "reader" / "reader.onnx"
_NODE = re.compile(r"^/(bert/encoder/layer\.\d+/.+|head)/MatMul")


def graph_weights(path: Path) -> dict[str, np.ndarray]:
    """Every float tensor of the graph under its torch name: biases and LayerNorms as stored, the
    int8 matrices de-quantised and transposed back to ``Linear.weight`` (out, in)."""
    import onnx
    from onnx import numpy_helper

    g = onnx.load(str(path)).graph
    init = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    out = {n: a for n, a in init.items() if a.dtype == np.float32 and (n.startswith("bert.") or n.startswith("head."))
           and not n.endswith(("_scale", "_zero_point"))}
    for name in init:  # tables quantised whole (position and type embeddings): uint8, one scale
        if name.startswith("bert.embeddings.") and name.endswith("_quantized"):
            base = name.removesuffix("_quantized")
            out[base] = (init[name].astype(np.float32) - init[base + "_zero_point"].astype(np.float32)) \
                * init[base + "_scale"].astype(np.float32)
    for node in g.node:
        if node.op_type != "MatMulInteger":
            continue
        m = _NODE.match(node.output[0])
        if not m:
            raise ValueError(f"a matrix product the recovery does not know: {node.output[0]}")
        w = node.input[1].removesuffix("_quantized")
        q = init[w + "_quantized"].astype(np.float32)
        zp = init[w + "_zero_point"].astype(np.float32)
        scale = init[w + "_scale"].astype(np.float32)
        name = m.group(1).replace("/", ".") + ".weight"
        out[name] = np.ascontiguousarray(((q - zp) * scale).T)
    return out


def graph_config(path: Path) -> dict:
    """What ``reader_config.json`` beside the graph says of it: where the folder ships an ensemble, the
    shared entries with the graph's own (``members``) over them; {} when there is no config."""
    f = Path(path).parent / "reader_config.json"
    if not f.exists():
        return {}
    conf = json.loads(f.read_text(encoding="utf-8"))
    return {**conf, **conf.get("members", {}).get(Path(path).name, {})}


def graph_record(path: Path) -> dict:
    """What the project knows of a graph: its ``reader_config.json`` entries (:func:`graph_config`), or for a
    snapshot of a run (``train.py --snapshot``) the run's settings, step and data from ``run.json``; {}
    when neither is there."""
    conf = graph_config(path)
    f = Path(path).parent / "run.json"
    if conf or not f.exists():
        return conf
    run = json.loads(f.read_text(encoding="utf-8"))
    args = run.get("args", {})
    return {"training": args, "global_step": run.get("global_step"),
            "data": T.data_description(args.get("corpus", "v1"))}


def frozen_in(path: Path) -> int:
    """How many lower layers (with all embeddings) the graph's training kept frozen at the base model's
    values: from ``reader_config.json`` or ``run.json`` beside the graph (0 when neither says)."""
    return int(graph_record(path).get("training", {}).get("freeze_layers", 0) or 0)


def recover(model: T.Reader, path: Path = GRAPH) -> list[str]:
    """Load the graph's weights into the trainable parameters of ``model``; returns their names.

    What the graph's own training kept frozen (``frozen_in``) stays as ``model`` has it, the base
    model's exact values, rather than their int8 copies."""
    w = graph_weights(path)
    frozen = frozen_in(path)
    kept = ("bert.embeddings.",) + tuple(f"bert.encoder.layer.{i}." for i in range(frozen)) if frozen else ()
    done = []
    for name, p in model.named_parameters():
        if not p.requires_grad or (kept and name.startswith(kept)):
            continue
        key = name.replace("qa_outputs.", "head.")
        if key not in w:
            raise KeyError(f"{name}: not in {path}")
        if tuple(w[key].shape) != tuple(p.shape):
            raise ValueError(f"{name}: {w[key].shape} in the graph, {tuple(p.shape)} in the model")
        with torch.no_grad():
            p.copy_(torch.from_numpy(np.ascontiguousarray(w[key])))
        done.append(name)
    return done


def check(model: T.Reader, enc, path: Path = GRAPH) -> dict:
    """Quantise the recovered model again as the export does and run both graphs on fixed windows: a
    faithful recovery gives the shipped graph back, logit for logit. (The float model itself differs
    from either by the int8 activations' noise, about one logit.)"""
    import tempfile

    import onnxruntime as ort

    from onnx_export import export_onnx

    pairs = [("山西的煤炭产量是多少？", "2023年山西煤炭产量达到13.78亿吨，占全国的近三成。"),
             ("成纪县今天所在的位置是哪里？", "成纪县是中国古代的一个县，位于今天的甘肃省天水市秦安县北部。"),
             ("比一号风球高一级的叫什么？", "一号戒备信号之上是三号强风信号，八号烈风或暴风信号再高一级。")]
    shipped = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with tempfile.TemporaryDirectory() as tmp:
        again = ort.InferenceSession(str(export_onnx(model.bert, model.qa_outputs, Path(tmp))),
                                     providers=["CPUExecutionProvider"])
        graph_diff = float_diff = 0.0
        for q, c in pairs:
            ids, _ = enc.build(enc.question(q), enc.context(c)[0], 0, 10**6)
            t = torch.tensor([ids])
            with torch.no_grad():
                feed = {"inputs_embeds": model.bert.embeddings.word_embeddings(t).numpy(),
                        "attention_mask": np.ones((1, len(ids)), dtype=np.int64)}
                st, en = model(t, torch.ones_like(t))
            a, b = shipped.run(None, feed), again.run(None, feed)
            graph_diff = max(graph_diff, *(float(np.abs(x - y).max()) for x, y in zip(a, b)))
            float_diff = max(float_diff, float(np.abs(a[0] - st.numpy()).max()), float(np.abs(a[1] - en.numpy()).max()))
    return {"windows": len(pairs), "requantised_vs_shipped_max_diff": graph_diff,
            "float_vs_shipped_max_diff": round(float_diff, 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--graph", type=Path, default=GRAPH)
    ap.add_argument("--work", type=Path, default=T.DEFAULT_WORK)
    args = ap.parse_args(argv)
    conf = graph_config(args.graph)
    if not conf:
        ap.error(f"no reader_config.json beside {args.graph}")
    targs = T.parse_args([])
    for k, v in conf["training"].items():
        if hasattr(targs, k) and k not in ("init",):
            setattr(targs, k, v)
    model, tok, _ = T.load_model_and_tokenizer(targs)
    names = recover(model, args.graph)
    model.eval()
    import data as D

    report = check(model, D.Encoder(tok, targs.max_len), args.graph)
    print(json.dumps({"recovered_tensors": len(names), **report}))
    if report["requantised_vs_shipped_max_diff"] > 1e-3:
        print("the recovered model does not read like the graph: not saved", file=sys.stderr)
        return 1
    args.work.mkdir(parents=True, exist_ok=True)
    out = args.work / "recovered.pt"
    T.save_ckpt(out, {"model": T.trainable_state(model), "args": vars(targs) | {"work": str(args.work)},
                      "state": {"val": conf.get("validation", {}), "global_step": conf.get("global_step")},
                      "recovered_from": str(args.graph), "adapted": conf.get("adapted")})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
