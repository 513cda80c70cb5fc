"""Where the library setting loses to the reader given its paragraph: retrieval, or the 150-character chunk.

For each answerable question it retrieves as ``ask()`` does (hybrid) and reads the top chunk four ways
with the shipped reader: alone, inside up to ``--context`` characters of its own paragraph with the span
kept in the chunk, in that context with the span anywhere, and both views' logits averaged (``--weight``
of the context's; what ``ask()`` does, with ``qa.answer.reading.CONTEXT_WEIGHT``); and, for a DRCD range, the
question's whole paragraph (the oracle). It prints the share of questions whose top chunk
(and top three) holds a gold answer and the exact match of each reading. No policy, rules or "no answer":
the reader's best span only.

    .venv/bin/python training/context_probe.py --drcd 0:104     # the DRCD fit half as a library
    .venv/bin/python training/context_probe.py --split dev      # the article's dev split
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from qa.answer.reader import Span  # noqa: E402
from qa.eval import squad  # noqa: E402
from qa.eval.metrics import exact_match  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def best_within(reading, lo: int, hi: int) -> Span | None:
    """The reading's best span whose tokens all lie in ``[lo, hi)``, at offsets of the whole text."""
    cut = reading.within(lo, hi)
    best = cut.best() if cut is not None else None
    return best and Span(best.start + lo, best.end + lo, best.score, best.null)


def probe(retriever, items, chars: int, weight: float) -> dict:
    from qa.retriever import clean_question

    def em(text, span, golds):
        return bool(span) and bool(exact_match(text[span.start:span.end].strip(squad.SPAN_STRIP), golds))

    n = {"questions": 0, "top_chunk_holds_gold": 0, "top3_hold_gold": 0, "alone": 0,
         "context_span_in_chunk": 0, "context_span_anywhere": 0, "both_averaged": 0, "own_paragraph": 0}
    for question, golds, paragraph in items:
        text, _ = clean_question(question)
        _, chunks = retriever.passages(text, retriever.search(text), "hybrid", 3)
        top = chunks[0]
        window, lo = retriever.context(top, chars)  # as ask() reads it
        texts = [top.text, window] + ([paragraph] if paragraph else [])
        readings = retriever.reader.readings(text, texts)
        n["questions"] += 1
        n["top_chunk_holds_gold"] += any(g in top.text for g in golds)
        n["top3_hold_gold"] += any(g in c.text for c in chunks for g in golds)
        n["alone"] += em(top.text, readings[0] and readings[0].best(), golds)
        n["context_span_in_chunk"] += em(window, readings[1] and best_within(readings[1], lo, lo + len(top.text)), golds)
        n["context_span_anywhere"] += em(window, readings[1] and readings[1].best(), golds)
        if readings[0] is not None:
            cut = readings[1] and readings[1].within(lo, lo + len(top.text))
            n["both_averaged"] += em(top.text, readings[0].blend(cut, weight).best(), golds)
        if paragraph:
            n["own_paragraph"] += em(paragraph, readings[2] and readings[2].best(), golds)
    q = n.pop("questions")
    out = {"questions": q, **{k: round(v / q, 3) for k, v in n.items()}}
    if not any(p for _, _, p in items):
        out.pop("own_paragraph")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--drcd", metavar="A:B", help="paragraphs of training/validation_drcd_simplified.json as a library")
    g.add_argument("--split", choices=("dev", "test"), help="the article's question set split")
    ap.add_argument("--context", type=int, default=150, help="characters of the paragraph on each side (150)")
    ap.add_argument("--weight", type=float, default=None,
                    help="share of the context view in the average (default qa.answer.reading.CONTEXT_WEIGHT)")
    args = ap.parse_args()
    from qa.index.embedding import load_embedder
    from qa.answer.reading import CONTEXT_WEIGHT
    from qa.retriever import Retriever, default_retriever

    weight = CONTEXT_WEIGHT if args.weight is None else args.weight
    work = None
    if args.drcd:
        contexts, questions = squad.load(ROOT / "training/validation_drcd_simplified.json")
        sel = squad.select(contexts, questions, squad.paragraph_range(args.drcd, len(contexts)))
        work = Path(tempfile.mkdtemp(prefix="qa-probe-"))
        squad.build_library(sel.library, work / "library", load_embedder(None), progress=False)
        retriever = Retriever(index_dir=str(work / "library"))
        items = [(q.question, q.answers, sel.library[q.paragraph]) for q in sel.asked]
    else:
        retriever = default_retriever()
        rows = [json.loads(line) for line in (ROOT / "qa/data/questions.jsonl").open(encoding="utf-8")]
        items = [(r["question"], tuple(r["short"]), None) for r in rows if r["split"] == args.split and r.get("short")]
    try:
        print(json.dumps({"set": args.drcd and f"drcd {args.drcd}" or f"article {args.split}",
                          "context": args.context,
                          "weight": weight, **probe(retriever, items, args.context, weight)}, ensure_ascii=False))
    finally:
        if work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
