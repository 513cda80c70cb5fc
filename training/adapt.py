"""Adapt the trained reader to the product's own answers: a short second stage on the dev split.

Wikipedia questions (DRCD, CMRC) teach the reader to find answers; the product's question set
teaches what its short answers look like (``11.9亿吨``, a list kept whole, a phrase without the
clause around it) and that the reader reads retrieved chunks, not whole paragraphs. Only the
**dev** split is used (the test split and ``tests/holdout`` stay held out):

* each answerable dev question with a short gold, on the retrieved chunk (of the top three)
  that holds that gold: the target is the gold's span;
* the other top chunks, and the top two chunks of each unanswerable dev question: "no answer";
* mixed with ``--replay`` times as many windows of the main training data (drawn with the seed),
  so the reader keeps what it learned there.

    .venv/bin/python training/adapt.py            # from the main run's checkpoint; exports to training/out/

It starts from ``checkpoint.pt`` in ``--work`` (the end of ``train.py``), writes ``adapted.pt``
there, and exports like ``train.py --export``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

import data as D  # noqa: E402
import train as T  # noqa: E402


def article_examples(enc: D.Encoder, depth: int = 3, chars: int = 0) -> tuple[list[D.Example], dict]:
    """Reader windows from the dev split of the shipped question set, on the chunks retrieval returns
    (each inside up to ``chars`` characters of its own paragraph, as ``ask()`` reads them)."""
    from qa.eval import evaluate as E
    from qa.retriever import Retriever, clean_question

    r = Retriever()
    items = [it for it in E.load_set(E.default_set_path()) if it.split == "dev"]
    out, stats = [], {"pos": 0, "null_other_chunk": 0, "null_unanswerable": 0, "skipped": 0}
    seen: dict[int, tuple[str, int]] = {}

    def wide(chunk) -> tuple[str, int]:
        """The chunk inside its context (``Pipeline.context``, as ``ask()`` reads it), once per chunk."""
        if chunk.id not in seen:
            seen[chunk.id] = r.context(chunk, chars) if chars else (chunk.text, 0)
        return seen[chunk.id]

    for it in items:
        question = it.resolved or it.question
        text, _ = clean_question(question)
        _, passages = r.passages(text, r.search(text), "hybrid", depth)
        q_ids = enc.question(question)
        room = enc.room(q_ids)

        def window(chunk, s: int | None = None, e: int | None = None) -> D.Example | None:
            """The chunk read as ``ask()`` reads it; where its context runs past one window, the window
            that centres the chunk (or the span)."""
            text, lo = wide(chunk)
            c_ids, offs = enc.context(text)
            a_ch, b_ch = (lo + s, lo + e) if s is not None else (lo, lo + len(chunk.text))
            toks = enc.char_to_tokens(offs, a_ch, b_ch) or (0, 0)
            mid = (toks[0] + toks[1]) // 2
            a = max(0, min(mid - room // 2, len(c_ids) - room))
            ids, off = enc.build(q_ids, c_ids, a, a + room)
            if s is None:
                return D.Example(ids, 0, 0, "article_null", "article")
            span = enc.char_to_tokens(offs, a_ch, b_ch)
            if span is None or span[0] < a or span[1] >= a + room:
                return None
            return D.Example(ids, off + span[0] - a, off + span[1] - a, "article_pos", "article")

        def holds(chunk, strings) -> bool:
            return any(g in wide(chunk)[0] for g in strings)

        if it.answerable and it.short:
            holders = [p for p in passages if any(g in p.text for g in it.short)]
            if not holders:
                stats["skipped"] += 1
                continue
            p = holders[0]
            gold = next(g for g in it.short if g in p.text)
            s = p.text.find(gold)
            for a in it.answers:  # the occurrence inside the gold answer sentence, when the chunk has it
                at = p.text.find(a)
                if at >= 0 and gold in a:
                    s = at + a.find(gold)
                    break
            ex = window(p, s, s + len(gold))
            if ex is None:
                stats["skipped"] += 1
                continue
            out.append(ex)
            stats["pos"] += 1
            for o in passages:
                if not holds(o, it.short) and not holds(o, it.answers):
                    out.append(window(o))
                    stats["null_other_chunk"] += 1
        elif not it.answerable:
            for o in passages[:2]:
                out.append(window(o))
                stats["null_unanswerable"] += 1
    return out, stats


def export_info(ck: dict, stats: dict, n_art: int, n_replay: int, epochs: int, lr: float, chars: int = 0) -> dict:
    """What ``reader_config.json`` says of the main run (from its checkpoint) and of this stage (and of
    the stage before it, where it started from a recovered, already adapted reader)."""
    info = {"validation": ck["state"]["val"], "global_step": ck["state"]["global_step"],
            "adapted": {"article_windows": n_art, **stats, "replay": n_replay, "epochs": epochs, "lr": lr,
                        "context_chars": chars, "data": "qa/data/questions.jsonl, dev split only"}}
    if ck.get("recovered_from"):
        info["adapted"]["started_from"] = {"recovered_from": "the shipped int8 graph (training/recover.py)",
                                           "its_adaptation": ck.get("adapted")}
    return info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=T.DEFAULT_WORK)
    ap.add_argument("--out", type=Path, default=T.OUT_DIR)
    ap.add_argument("--epochs", type=int, default=3, help="passes over the article windows")
    ap.add_argument("--replay", type=float, default=2.0, help="main-data windows per article window")
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", type=Path, default=None,
                    help="weights to start from (default: --work/checkpoint.pt, the main run's end; or the "
                         "shipped reader's, recovered by recover.py)")
    ap.add_argument("--context", type=int, default=0,
                    help="read each article chunk inside up to this many characters of its own paragraph "
                         "(0: the chunk alone)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--export-only", action="store_true",
                    help="only export the adapted weights of --work (adapted.pt) again, e.g. after a change to the export")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    log = T.Log(args.work / "adapt.log")

    targs = T.parse_args([])  # the main run's defaults (the checkpoint's own args are checked below)
    ck = torch.load(args.start or args.work / "checkpoint.pt", map_location="cpu", weights_only=False)
    for k, v in ck["args"].items():  # the run's own data settings, so the replayed windows are its windows
        if hasattr(targs, k) and k not in ("work", "out", "data", "committed", "init", "export", "validate",
                                            "snapshot"):
            setattr(targs, k, v)
    model, tok, folder = T.load_model_and_tokenizer(targs)
    model.load_state_dict(ck["model"], strict=False)
    model.bf16 = T.cpu_has_bf16()
    enc = D.Encoder(tok, targs.max_len)
    targs.out = args.out
    if args.export_only:
        ad = torch.load(args.work / "adapted.pt", map_location="cpu", weights_only=False)
        model.load_state_dict(ad["model"], strict=False)
        model.eval()
        n_art = sum(ad["stats"][k] for k in ("pos", "null_other_chunk", "null_unanswerable"))
        T.export(model, targs, folder, export_info(ck, ad["stats"], n_art, int(float(ad["adapt"]["replay"]) * n_art),
                                                   int(ad["adapt"]["epochs"]), float(ad["adapt"]["lr"]),
                                                   int(ad["adapt"].get("context", 0))), log)
        return

    art, stats = article_examples(enc, chars=args.context)
    main_ex, _ = T.load_data(targs, enc, {})
    rng = random.Random(args.seed)
    replay = rng.sample(main_ex, int(args.replay * len(art)))
    log(f"adapt: {len(art)} article windows {json.dumps(stats)}, {len(replay)} replayed main windows, "
        f"{args.epochs} epochs, lr {args.lr}")

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    examples = art + replay
    steps = args.epochs * math.ceil(len(examples) / args.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1 - s / steps))
    model.train()
    step, t0 = 0, time.time()
    for ep in range(args.epochs):
        for b in T.epoch_batches(examples, args.batch, args.seed, 100 + ep):
            loss, _ = T.train_step(model, [examples[i] for i in b], enc.pad, params, opt, sched)
            step += 1
            if step % 10 == 0 or step == steps:
                log(f"adapt step {step}/{steps} loss {loss.item():.4f} ({(time.time() - t0) / step:.2f} s/step)")
    model.eval()
    T.save_ckpt(args.work / "adapted.pt", {"model": T.trainable_state(model), "args": vars(targs),
                                           "adapt": {k: str(v) for k, v in vars(args).items()}, "stats": stats})
    T.export(model, targs, folder, export_info(ck, stats, len(art), len(replay), args.epochs, args.lr, args.context), log)
    log("adapt: done")


if __name__ == "__main__":
    main()
