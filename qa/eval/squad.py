"""``qa eval --squad FILE``: the product on public reading-comprehension data it has never seen.

A SQuAD-format file (SQuAD, CMRC 2018, DRCD: ``data[].paragraphs[].context`` with
``qas[].question``, ``answers[].text`` and, SQuAD 2.0 style, ``is_impossible``) is turned
into what a user would do with it: every paragraph becomes one document of a fresh,
temporary library (``qa docs add``'s own path), and every question is asked of the whole
library with ``Retriever.ask()``, as on the page. So the figures include retrieval (the
right paragraph must be found among all of them) and the "no answer" decision.

* Answerable questions: EM and F1 by CMRC 2018's definitions (:mod:`qa.eval.metrics`) of the
  short answer, or of the answer sentence when there is no short answer; a reply that says
  "no answer" scores 0. Paragraph hit@1 and hit@5; the share told "no answer".
* Unanswerable questions: those marked ``is_impossible``, and with ``--unanswerable N`` N
  questions about paragraphs left out of the library (the library holds the same kind of
  text, but not theirs). The share told "no answer" is what counts.
* ``--near-miss N``: N questions whose answer sentence is cut from their paragraph in the
  library: the topic is still there, the answer is not (the hardest "no answer").
* ``--oracle``: the span reader alone on each question's own paragraph, no library and no
  retrieval, scored as published readers are (EM/F1 of its span whatever its "no answer"
  margin), so the reader can be compared with them and the gap to the product measured.

``--paragraphs P`` (or ``A:B``) takes paragraphs 0..P-1 (A..B-1) in file order as the
library; ``--limit N`` asks the first N of their questions.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..ingest.chunking import sentences
from .metrics import char_f1, exact_match

#: A near miss's paragraph keeps at least this many characters once cut: its topic stays in the library.
MIN_CUT_CHARS = 30
#: Stripped from the ends of the reader's span, as the answer shown would be.
SPAN_STRIP = " \t\r\n\u3000，。；：、,.;:"


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


def paragraph_range(value: str | None, count: int) -> tuple[int, int]:
    """``--paragraphs``: ``P`` is paragraphs 0..P-1, ``A:B`` is A..B-1 (file order), None all ``count``.
    A range in the middle lets a run take a slice no other run used, with paragraphs on both sides left out."""
    if value is None:
        return 0, count
    try:
        a, b = (0, int(value)) if ":" not in value else map(int, value.split(":"))
    except ValueError:
        a = b = -1
    if not 0 <= a < b <= count:
        raise ValueError(f"--paragraphs must be P or A:B with 0 <= A < B <= {count} (the file's paragraphs), "
                         f"not {value!r}")
    return a, b


def cut_answer(context: str, golds: Sequence[str]) -> str | None:
    """``context`` without every sentence that holds (part of) an occurrence of a gold answer: a near miss,
    where the paragraph's topic stays but its answer is gone. None when no sentence holds one, a gold still
    occurs in what is left, or fewer than :data:`MIN_CUT_CHARS` characters remain."""
    hits = [(m.start(), m.start() + len(g)) for g in golds for m in re.finditer(f"(?={re.escape(g)})", context)]
    cut = [s for s in sentences(context) if any(a < s.end and s.start < b for a, b in hits)]
    if not cut:
        return None
    kept, pos = [], 0
    for s in cut:
        kept.append(context[pos:s.start])
        pos = s.end
    rest = ("".join(kept) + context[pos:]).strip()
    if len(rest) < MIN_CUT_CHARS or any(g in rest for g in golds):
        return None
    return rest


@dataclass
class Selection:
    """What one run holds and asks: the library's text of each paragraph (a near miss's cut) and the questions."""

    library: dict[int, str]
    asked: list[Question]  # the range's own questions, in file order
    near_miss: list[Question]
    left_out: list[Question]

    @property
    def questions(self) -> list[Question]:
        return self.asked + self.near_miss + self.left_out

    def row(self, q: Question) -> dict:
        """The fields of a report row that say what kind of question ``q`` is."""
        left = q in self.left_out
        near = q in self.near_miss
        return {"id": q.id, "question": q.question, "golds": list(q.answers),
                "answerable": bool(q.answers) and not left and not near, "left_out": left, "near_miss": near}


def select(contexts: list[str], questions: list[Question], span: tuple[int, int], *, limit: int | None = None,
           unanswerable: int = 0, near_miss: int = 0, seed: int = 0) -> Selection:
    """The library of paragraphs ``span`` and the questions to ask of it.

    Near misses: paragraphs of the library in a seeded shuffled order, up to ``near_miss`` of them, each
    losing the answer sentence(s) of its first question (file order) for which :func:`cut_answer` works.
    That paragraph's other questions stay answerable only where a gold still occurs in the cut text; the
    rest are dropped (they are no longer answerable, and not the near miss measured either).
    ``unanswerable`` questions are drawn (seeded) from answerable ones of paragraphs outside ``span``.
    """
    if limit is not None and limit < 1:
        raise ValueError("--limit must be at least 1")
    for name, n in (("--unanswerable", unanswerable), ("--near-miss", near_miss)):
        if n < 0:
            raise ValueError(f"{name} must be 0 or more, not {n}")
    a, b = span
    library = {i: contexts[i] for i in range(a, b)}
    by_paragraph: dict[int, list[Question]] = {}
    for q in questions:
        by_paragraph.setdefault(q.paragraph, []).append(q)
    order = list(library)
    random.Random(seed).shuffle(order)
    misses: list[Question] = []
    for i in order:
        if len(misses) == near_miss:
            break
        for q in by_paragraph.get(i, []):
            cut = cut_answer(library[i], q.answers) if q.answers else None
            if cut is not None:
                library[i] = cut
                misses.append(q)
                break
    cut_paragraphs = {q.paragraph for q in misses}

    def still_asked(q: Question) -> bool:
        if q.paragraph not in cut_paragraphs:
            return True
        return q not in misses and (not q.answers or any(g in library[q.paragraph] for g in q.answers))

    asked = [q for q in questions if a <= q.paragraph < b and still_asked(q)][:limit]
    pool = [q for q in questions if not a <= q.paragraph < b and q.answers]
    if unanswerable > len(pool):
        raise ValueError(f"--unanswerable {unanswerable}: only {len(pool)} answerable questions lie outside "
                         f"paragraphs {a}:{b}; give fewer, or a narrower --paragraphs")
    left_out = random.Random(seed).sample(pool, unanswerable)
    return Selection(library, asked, misses, left_out)


def doc_name(i: int) -> str:
    return f"p{i:05d}.txt"


def build_library(contexts: dict[int, str], folder: Path, embedder, progress: bool = True) -> None:
    """One document per paragraph, through the library's own add path."""
    from .. import library

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


def _progress(questions: list[Question], desc: str, progress: bool):
    from ..text.progress import progress as bar

    return bar(questions, desc=desc, unit="q", enabled=progress)


def evaluate(retriever, sel: Selection, progress: bool = True) -> dict:
    """Ask every question of the library; the per-question rows and the totals."""
    rows = []
    for q in _progress(sel.questions, "asking", progress):
        t0 = time.perf_counter()
        r = retriever.ask(q.question, k=5)
        ms = (time.perf_counter() - t0) * 1000
        pred = prediction(r)
        docs = [p.doc for p in r.passages]
        row = sel.row(q)
        answerable = row["answerable"]
        row.update({"prediction": pred, "short": r.short, "confident": r.confident,
                    "em": exact_match(pred, q.answers) if answerable else None,
                    "f1": char_f1(pred, q.answers) if answerable else None,
                    "hit1": docs[:1] == [doc_name(q.paragraph)] if answerable else None,
                    "hit5": doc_name(q.paragraph) in docs[:5] if answerable else None, "ms": round(ms, 1)})
        rows.append(row)
    return {"totals": totals(rows), "rows": rows}


def evaluate_oracle(reader, sel: Selection, seed: int = 0, progress: bool = True) -> dict:
    """The reader alone on each question's paragraph (a near miss's cut one; for a question left out, a
    seeded random paragraph of the library). "confident" is a margin of 0 or more; EM and F1 score the span
    whatever the margin, as published readers are scored."""
    rng = random.Random(seed)
    inside = sorted(sel.library)
    rows = []
    for q in _progress(sel.questions, "reading", progress):
        row = sel.row(q)
        i = rng.choice(inside) if row["left_out"] else q.paragraph
        context = sel.library[i]
        t0 = time.perf_counter()
        span = reader.read(q.question, [context])[0]
        ms = (time.perf_counter() - t0) * 1000
        pred = (context[span.start:span.end].strip(SPAN_STRIP) or None) if span else None
        answerable = row["answerable"]
        row.update({"read": doc_name(i), "prediction": pred, "margin": round(span.margin, 3) if span else None,
                    "confident": span is not None and span.margin >= 0,
                    "em": exact_match(pred, q.answers) if answerable else None,
                    "f1": char_f1(pred, q.answers) if answerable else None,
                    "hit1": None, "hit5": None, "ms": round(ms, 1)})
        rows.append(row)
    return {"totals": totals(rows, oracle=True), "rows": rows}


def _share(values) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def totals(rows: list[dict], oracle: bool = False) -> dict:
    """The figures of a run; with ``oracle`` the share of answerable questions not confident is the
    reader's own "no answer" (``reader_no_answer``), not what the user is told."""
    ans = [r for r in rows if r["answerable"]]
    left = [r for r in rows if r["left_out"]]
    near = [r for r in rows if r["near_miss"]]
    impossible = [r for r in rows if not r["answerable"] and not r["left_out"] and not r["near_miss"]]
    ms = sorted(r["ms"] for r in rows)
    return {
        "answerable": len(ans), "em": _share(r["em"] for r in ans), "f1": _share(r["f1"] for r in ans),
        "hit1": _share(r["hit1"] for r in ans if r["hit1"] is not None),
        "hit5": _share(r["hit5"] for r in ans if r["hit5"] is not None),
        "reader_no_answer" if oracle else "told_no_answer": _share(not r["confident"] for r in ans),
        "near_miss": len(near), "near_miss_flagged": _share(not r["confident"] for r in near),
        "left_out": len(left), "left_out_flagged": _share(not r["confident"] for r in left),
        "impossible": len(impossible), "impossible_flagged": _share(not r["confident"] for r in impossible),
        "ask_ms_p50": ms[len(ms) // 2] if ms else None,
    }


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def format_table(t: dict) -> str:
    oracle = "reader_no_answer" in t
    lines = [f"| questions | EM | F1 | hit@1 | hit@5 | {'reader: no answer' if oracle else 'told no answer'} |",
             "|---|---|---|---|---|---|",
             f"| {t['answerable']} answerable | {_fmt(t['em'])} | {_fmt(t['f1'])} | {_fmt(t['hit1'])} | "
             f"{_fmt(t['hit5'])} | {_fmt(t['reader_no_answer' if oracle else 'told_no_answer'])} |"]
    if t["near_miss"]:
        lines.append(f"| {t['near_miss']} near misses (answer sentence cut) | | | | | {_fmt(t['near_miss_flagged'])} |")
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
    g.add_argument("--paragraphs", default=None, metavar="P|A:B",
                   help="--squad: the library holds paragraphs 0..P-1, or A..B-1 with A:B (file order; "
                        "default: all); their questions are asked")
    g.add_argument("--limit", type=int, default=None, metavar="N",
                   help="--squad: ask only the first N questions of those paragraphs (the --near-miss and "
                        "--unanswerable ones come on top)")
    g.add_argument("--unanswerable", type=int, default=0, metavar="N",
                   help="--squad: also ask N questions about paragraphs left out of the library (they should be "
                        "told 'no answer'); drawn at random (--seed) from the paragraphs outside --paragraphs")
    g.add_argument("--near-miss", type=int, default=0, metavar="N",
                   help="--squad: in N paragraphs of the library (chosen at random, --seed) cut the sentence that "
                        "answers one question and ask it (it should be told 'no answer': the topic is there, "
                        "the answer is not)")
    g.add_argument("--oracle", action="store_true",
                   help="--squad: the span reader alone on each question's own paragraph, no library and no "
                        "retrieval, scored as published readers are (EM/F1 of its span whatever its 'no answer' "
                        "margin); writes squad-<name>-oracle.json/.md")
    g.add_argument("--seed", type=int, default=0,
                   help="--squad: seed for --unanswerable, --near-miss and --oracle's paragraphs for the "
                        "questions left out (default: 0)")


def _run_library(sel: Selection, model: str | None) -> tuple[dict, str]:
    """Build the temporary library and ask it every question; the result and the embedding model's id."""
    from ..index.embedding import load_embedder
    from ..retriever import Retriever

    work = Path(tempfile.mkdtemp(prefix="qa-squad-"))
    try:
        embedder = load_embedder(model)
        build_library(sel.library, work / "library", embedder)
        retriever = Retriever(index_dir=str(work / "library"), model=model)
        return evaluate(retriever, sel), retriever.index.model_id
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run_oracle(sel: Selection, seed: int) -> tuple[dict, str]:
    """The reader on every question's paragraph; the result and the reader's weights (sha256 of its graphs,
    16 digits)."""
    from ..answer.reader import Reader, ReaderError

    try:
        reader = Reader()
    except ReaderError as exc:
        raise ValueError(f"--oracle needs the span reader: {exc}") from None
    h = hashlib.sha256()
    for graph in reader.graphs:
        h.update(graph.read_bytes())
    digest = h.hexdigest()[:16]
    return evaluate_oracle(reader, sel, seed), digest


def run(args) -> int:
    path = Path(args.squad)
    contexts, questions = load(path)
    a, b = paragraph_range(args.paragraphs, len(contexts))
    sel = select(contexts, questions, (a, b), limit=args.limit, unanswerable=args.unanswerable,
                 near_miss=args.near_miss, seed=args.seed)
    if len(sel.near_miss) < args.near_miss:
        print(f"qa eval: --near-miss {args.near_miss}: only {len(sel.near_miss)} paragraph(s) could lose an answer "
              f"sentence and keep {MIN_CUT_CHARS} characters; going on with those", file=sys.stderr)
    print(f"qa eval: {path.name}: {'the reader on' if args.oracle else 'a library of'} {b - a} paragraphs "
          f"({a}:{b}); {len(sel.asked)} questions, {len(sel.near_miss)} near misses and {len(sel.left_out)} "
          f"about paragraphs left out", file=sys.stderr)
    meta = {"squad": str(path), "mode": "oracle" if args.oracle else "library",
            "paragraphs": f"{a}:{b}" if args.paragraphs and ":" in args.paragraphs else b - a,
            "paragraph_range": [a, b], "questions": len(sel.asked), "near_miss": len(sel.near_miss),
            "left_out": len(sel.left_out), "seed": args.seed}
    if args.oracle:
        result, meta["reader_sha256"] = _run_oracle(sel, args.seed)
    else:
        result, meta["model_id"] = _run_library(sel, args.model)
    meta["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "squad-" + path.stem + ("-oracle" if args.oracle else "")
    (out / f"{stem}.json").write_text(json.dumps({"meta": meta, **result}, ensure_ascii=False, indent=1) + "\n",
                                      encoding="utf-8")
    table = format_table(result["totals"])
    title = f"qa eval --squad {path.name}" + (" --oracle" if args.oracle else "")
    (out / f"{stem}.md").write_text(f"# {title}\n\n" + "\n".join(
        f"- {k}: {v}" for k, v in meta.items()) + "\n\n" + table, encoding="utf-8")
    if args.oracle:
        print(f"{title}: the reader alone on each question's paragraph ({a}:{b}), no retrieval")
    else:
        print(f"{title}: paragraphs {a}:{b} in the library, model {meta['model_id']}")
    print()
    sys.stdout.write(table)
    print(f"\nwrote {out / (stem + '.json')}, {out / (stem + '.md')}")
    return 0
