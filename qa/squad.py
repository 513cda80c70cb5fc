"""``qa eval --squad FILE``: the product on public reading-comprehension data it has never seen.

A SQuAD-format file (SQuAD, CMRC 2018, DRCD: ``data[].paragraphs[].context`` with
``qas[].question``, ``answers[].text`` and, SQuAD 2.0 style, ``is_impossible``) is turned
into what a user would do with it: every paragraph becomes one document of a fresh,
temporary library (``qa docs add``'s own path), and every question is asked of the whole
library with ``Retriever.ask()``, as on the page. So the figures include retrieval (the
right paragraph must be found among all of them) and the "no answer" decision.

* Answerable questions: EM and F1 by CMRC 2018's definitions (:mod:`qa.metrics`) of the
  short answer, or of the answer sentence when there is no short answer; a reply that says
  "no answer" scores 0. Paragraph hit@1 and hit@5; the share told "no answer".
* Unanswerable questions: those marked ``is_impossible``, and with ``--unanswerable N`` N
  questions about paragraphs left out of the library (the library holds the same kind of
  text, but not theirs). The share told "no answer" is what counts.

``--paragraphs P`` keeps the first P paragraphs (file order) as the library; ``--limit N``
asks the first N of their questions.
"""
from __future__ import annotations

import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .metrics import char_f1, exact_match


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]  # empty: unanswerable
    paragraph: int  # index of its paragraph in the file


def load(path: str | Path) -> tuple[list[str], list[Question]]:
    """The paragraphs (contexts) of a SQuAD-format file and its questions, in file order."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ValueError(f"{path}: not a SQuAD-format file (expected {{\"data\": [{{\"paragraphs\": [...]}}]}})")
    contexts: list[str] = []
    questions: list[Question] = []
    for article in data["data"]:
        for para in article.get("paragraphs", []) if isinstance(article, dict) else []:
            context = para.get("context") if isinstance(para, dict) else None
            if not isinstance(context, str) or not context.strip():
                continue
            contexts.append(context)
            for qa in para.get("qas", []):
                q = qa.get("question")
                if not isinstance(q, str) or not q.strip():
                    continue
                golds = () if qa.get("is_impossible") else tuple(
                    a["text"] for a in qa.get("answers", []) if isinstance(a, dict) and str(a.get("text", "")).strip())
                if not golds and not qa.get("is_impossible"):
                    continue  # no gold and not marked impossible: cannot be scored
                questions.append(Question(str(qa.get("id", len(questions))), q.strip(), golds, len(contexts) - 1))
    if not questions:
        raise ValueError(f"{path}: no questions with answers found")
    return contexts, questions


def doc_name(i: int) -> str:
    return f"p{i:05d}.txt"


def build_library(contexts: dict[int, str], folder: Path, embedder, progress: bool = True) -> None:
    """One document per paragraph, through the library's own add path."""
    from . import library

    src = folder.parent / (folder.name + "-src")
    src.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, text in contexts.items():
        p = src / doc_name(i)
        p.write_text(text, encoding="utf-8")
        paths.append(p)
    change = library.add(folder, paths, embedder, progress=progress, log=lambda m: None)
    shutil.rmtree(src, ignore_errors=True)
    if change.refused:
        print(f"qa eval: {len(change.refused)} paragraph(s) could not be added: {change.refused[:3]}",
              file=sys.stderr)


def prediction(result) -> str | None:
    """What the user is told as the answer: the short answer, else the sentence; None for "no answer"."""
    if not result.confident:
        return None
    return result.short or result.answer


def evaluate(retriever, questions: list[Question], unanswerable_ids: set[str], progress: bool = True) -> dict:
    """Ask every question; the per-question rows and the totals."""
    from tqdm import tqdm

    rows = []
    for q in tqdm(questions, desc="asking", unit="q", file=sys.stderr, disable=not progress, dynamic_ncols=True):
        t0 = time.perf_counter()
        r = retriever.ask(q.question, k=5)
        ms = (time.perf_counter() - t0) * 1000
        pred = prediction(r)
        docs = [p.doc for p in r.passages]
        answerable = bool(q.answers) and q.id not in unanswerable_ids
        rows.append({"id": q.id, "question": q.question, "golds": list(q.answers), "answerable": answerable,
                     "left_out": q.id in unanswerable_ids, "prediction": pred, "short": r.short,
                     "confident": r.confident, "em": exact_match(pred, q.answers) if answerable else None,
                     "f1": char_f1(pred, q.answers) if answerable else None,
                     "hit1": docs[:1] == [doc_name(q.paragraph)] if answerable else None,
                     "hit5": doc_name(q.paragraph) in docs[:5] if answerable else None, "ms": round(ms, 1)})
    return {"totals": totals(rows), "rows": rows}


def _share(values) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def totals(rows: list[dict]) -> dict:
    ans = [r for r in rows if r["answerable"]]
    left = [r for r in rows if r["left_out"]]
    impossible = [r for r in rows if not r["answerable"] and not r["left_out"]]
    ms = sorted(r["ms"] for r in rows)
    return {
        "answerable": len(ans), "em": _share(r["em"] for r in ans), "f1": _share(r["f1"] for r in ans),
        "hit1": _share(r["hit1"] for r in ans), "hit5": _share(r["hit5"] for r in ans),
        "told_no_answer": _share(not r["confident"] for r in ans),
        "left_out": len(left), "left_out_flagged": _share(not r["confident"] for r in left),
        "impossible": len(impossible), "impossible_flagged": _share(not r["confident"] for r in impossible),
        "ask_ms_p50": ms[len(ms) // 2] if ms else None,
    }


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def format_table(t: dict) -> str:
    lines = ["| questions | EM | F1 | hit@1 | hit@5 | told no answer |", "|---|---|---|---|---|---|",
             f"| {t['answerable']} answerable | {_fmt(t['em'])} | {_fmt(t['f1'])} | {_fmt(t['hit1'])} | "
             f"{_fmt(t['hit5'])} | {_fmt(t['told_no_answer'])} |"]
    if t["left_out"]:
        lines.append(f"| {t['left_out']} about paragraphs left out | | | | | {_fmt(t['left_out_flagged'])} |")
    if t["impossible"]:
        lines.append(f"| {t['impossible']} marked impossible | | | | | {_fmt(t['impossible_flagged'])} |")
    return "\n".join(lines) + "\n"


def add_arguments(parser) -> None:
    g = parser.add_argument_group("SQuAD-format sets (qa eval --squad FILE)")
    g.add_argument("--squad", metavar="FILE", default=None,
                   help="evaluate on a SQuAD-format file (SQuAD, CMRC 2018, DRCD) instead of the question set: "
                        "its paragraphs become a temporary library, one document each, and every question is asked")
    g.add_argument("--paragraphs", type=int, default=None, metavar="P",
                   help="--squad: the library holds the first P paragraphs (default: all)")
    g.add_argument("--limit", type=int, default=None, metavar="N",
                   help="--squad: ask only the first N questions of those paragraphs")
    g.add_argument("--unanswerable", type=int, default=0, metavar="N",
                   help="--squad: also ask N questions about paragraphs left out of the library (they should be "
                        "told 'no answer'); drawn at random (--seed) from the paragraphs after the first P")
    g.add_argument("--seed", type=int, default=0, help="--squad: seed for --unanswerable (default: 0)")


def run(args) -> int:
    from .embedding import load_embedder
    from .retriever import Retriever

    path = Path(args.squad)
    contexts, questions = load(path)
    n_par = len(contexts) if args.paragraphs is None else args.paragraphs
    if not 1 <= n_par <= len(contexts):
        raise ValueError(f"--paragraphs must be from 1 to {len(contexts)} for {path.name}")
    if args.limit is not None and args.limit < 1:
        raise ValueError("--limit must be at least 1")
    asked = [q for q in questions if q.paragraph < n_par][:args.limit]
    pool = [q for q in questions if q.paragraph >= n_par and q.answers]
    if args.unanswerable > len(pool):
        raise ValueError(f"--unanswerable {args.unanswerable}: only {len(pool)} questions lie outside the first "
                         f"{n_par} paragraphs; give fewer, or a smaller --paragraphs")
    left_out = random.Random(args.seed).sample(pool, args.unanswerable) if args.unanswerable else []
    work = Path(tempfile.mkdtemp(prefix="qa-squad-"))
    try:
        embedder = load_embedder(args.model)
        used = {i: contexts[i] for i in range(n_par)}
        print(f"qa eval: {path.name}: a library of {len(used)} paragraphs; {len(asked)} questions"
              + (f" and {len(left_out)} about paragraphs left out" if left_out else ""), file=sys.stderr)
        build_library(used, work / "library", embedder)
        retriever = Retriever(index_dir=str(work / "library"), model=args.model)
        result = evaluate(retriever, asked + left_out, {q.id for q in left_out})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    meta = {"squad": str(path), "paragraphs": n_par, "questions": len(asked), "left_out": len(left_out),
            "seed": args.seed, "model_id": retriever.index.model_id,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "squad-" + path.stem
    (out / f"{stem}.json").write_text(json.dumps({"meta": meta, **result}, ensure_ascii=False, indent=1) + "\n",
                                      encoding="utf-8")
    table = format_table(result["totals"])
    (out / f"{stem}.md").write_text(f"# qa eval --squad {path.name}\n\n" + "\n".join(
        f"- {k}: {v}" for k, v in meta.items()) + "\n\n" + table, encoding="utf-8")
    print(f"qa eval --squad {path.name}: {n_par} paragraphs in the library, model {meta['model_id']}")
    print()
    sys.stdout.write(table)
    print(f"\nwrote {out / (stem + '.json')}, {out / (stem + '.md')}")
    return 0
