"""Fit when ``ask()`` answers with the reader: the thresholds of ``qa.answer.policy.ReaderPolicy``.

How far the reader's span must beat its own "no answer" (``min_margin``), below which margin each
check still counts (``checks_below`` for the typed check, ``figures_below``,
``qualifiers_below``, ``kinds_below``), the rules' tied span replaces the reader's (``rules_below``)
and how near the reader's best a span of the asked kind must score to take its place (``swap_within``)
depend on the reader, so they are chosen on dev questions of two sources, asked the
way a user asks them:

* the **dev split** of the shipped question set, on the article (the test split stays held out);
* the first ``--paragraphs`` (default 0:104) of ``training/validation_drcd_simplified.json`` as a
  temporary library (``qa eval --squad``'s own path), with ``--near-miss`` of them cut and
  ``--unanswerable`` questions about the other validation paragraphs, left out of the library. The
  other half (104:208) is never used here: ``qa eval --squad ... --paragraphs 104:208`` reports on it.

Each question is read once (``Pipeline.evidence``, as ``ask()`` reads it); the grid then decides every
question again under each policy with ``ask()``'s own ``decide``, so the fit cannot drift from the product. The policy kept is
the best on DRCD among those that keep the article's guarantees on its dev split (``--keep-em``,
``--min-answered``, ``--keep-flagged``, ``--keep-far-off``: what the test split promises), ties going to the better on the
article; when none keeps them, the best averaged over both. The score of a policy is short-answer EM + the share of unanswerable questions told
so (averaged over the two sources when they are traded), less 3 x the shortfall of answered answerable questions below ``--min-answered``. The rules'
spans are let in (``rules_below``) only as far as they cost DRCD at most ``--rule-cost`` EM (1.5
points): a rule must not lose out of domain much of what it wins on the article.
The reader was adapted on the article's dev split (``training/adapt.py``), so its margins there are
optimistic; the DRCD half keeps the fit honest.

    .venv/bin/python training/calibrate.py            # writes the "reader" entry of qa/data/calibration.json
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import pickle
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

GRID = {"min_margin": [-99.0, -10.0, -6.0, -3.0, 0.0],
        "checks_below": [-99.0, 0.0, 3.0, 6.0, 99.0],
        "rules_below": [-99.0, 0.0, 3.0, 6.0, 10.0],
        "qualifiers_below": [99.0],  # always counts: the reader cannot tell 最高 from 平均, however sure it is
        "figures_below": [6.0, 99.0],
        "kinds_below": [-99.0, 0.0, 1.5, 3.0, 4.5, 6.0, 7.5, 9.0, 10.5, 99.0],
        "swap_within": [-99.0, 2.5, 5.0, 10.0],
        "ruled_min": [None, -15.0, -99.0]}


def read_questions(r, questions) -> list[dict]:
    """What ``ask()`` reads of each question (``Pipeline.evidence``), for the grid to decide on again and again.

    ``questions``: (id, question, history or None, short golds, answerable, group)."""
    out = []
    for qid, question, history, golds, answerable, group in questions:
        ev = r.evidence(question, history)
        out.append({"id": qid, "golds": golds, "answerable": answerable, "group": group, "evidence": ev,
                    "author": ev is not None and ev.query.want == "author"})
    return out


def read_article_dev(limit: int | None = None) -> list[dict]:
    """The article's dev split (its first ``limit`` questions), read; questions about the author are left
    out (the byline path decides them)."""
    from qa.eval import evaluate as E
    from qa.retriever import Retriever

    items = [it for it in E.load_set(E.default_set_path()) if it.split == "dev"][:limit]
    rows = read_questions(Retriever(), [(it.id, it.question, list(it.history) if it.dialogue else None,
                                         list(it.short), it.answerable, it.group) for it in items])
    return [x for x in rows if not x.get("author")]


def library_selection(path: Path, paragraphs: str, unanswerable: int, near_miss: int, seed: int):
    """``qa eval --squad``'s selection: the library's paragraphs and the questions asked of it."""
    from qa.eval import squad

    contexts, questions = squad.load(path)
    return squad.select(contexts, questions, squad.paragraph_range(paragraphs, len(contexts)),
                        unanswerable=unanswerable, near_miss=near_miss, seed=seed)


def read_library_set(sel, limit: int | None = None) -> list[dict]:
    """The questions of a SQuAD-format selection (its first ``limit``), read over a temporary library of its
    paragraphs (groups: answerable, near_miss, left_out)."""
    from qa.eval import squad
    from qa.index.embedding import load_embedder
    from qa.retriever import Retriever

    work = Path(tempfile.mkdtemp(prefix="qa-calibrate-"))
    try:
        squad.build_library(sel.library, work / "library", load_embedder())
        r = Retriever(index_dir=str(work / "library"))
        return read_questions(r, [(q.id, q.question, None, list(q.answers) if sel.row(q)["answerable"] else [],
                                   sel.row(q)["answerable"],
                                   "near_miss" if q in sel.near_miss else "left_out" if q in sel.left_out
                                   else "answerable") for q in sel.questions[:limit]])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def replay(rows: list[dict], policy, calibration) -> dict:
    """Decide every question under ``policy`` with ``ask()``'s own :func:`qa.answer.policy.decide`."""
    from qa.answer.policy import Policy, decide
    from qa.eval.metrics import exact_match

    both = Policy(policy, calibration)
    em, n_short, answered, n_ans, flagged = 0.0, 0, 0, 0, {}
    for row in rows:
        if row["evidence"] is None:  # a follow-up the conversation does not resolve: never answered
            ok, short = False, None
        else:
            d = decide(row["evidence"], both)
            ok, short = d.confident, (d.shown.text if d.shown is not None else None)
        if row["answerable"]:
            n_ans += 1
            answered += ok
            if row["golds"]:
                n_short += 1
                em += exact_match(short if ok else None, row["golds"])
        else:
            flagged.setdefault(row["group"], []).append(not ok)
    return {"em": em / max(1, n_short), "answered": answered / max(1, n_ans),
            **{f"flagged_{g}": sum(v) / len(v) for g, v in flagged.items()}}


#: How far below the lowest answerable English dev question's dense score the English bar sits: twice the
#: spread of those scores (0.761 to 0.783 on the article), so that "far below" means far.
ENGLISH_FAR = 0.04
OFFTOPIC_ENGLISH = HERE / "offtopic_english_dev.txt"


def english_bar(r, items) -> tuple[float, dict]:
    """``english_min_score``: the lowest dense score of the top passage over the answerable English dev
    questions, less ``ENGLISH_FAR``; and what it does to them and to the off-topic English dev questions."""
    from qa.answer.policy import decide
    from qa.answer.query import cjk_share

    english = [it for it in items if cjk_share(it.question) < 0.5 and not it.dialogue]
    answerable = [it for it in english if it.answerable]
    scores = {it.question: r.evidence(it.question).top_score for it in answerable}
    bar = round(min(scores.values()) - ENGLISH_FAR, 4)
    off = [q.strip() for q in OFFTOPIC_ENGLISH.read_text(encoding="utf-8").splitlines()
           if q.strip() and not q.startswith("#")]
    pol = dataclasses.replace(r.policy.reader, english_min_score=bar)
    both = dataclasses.replace(r.policy, reader=pol)
    declined = [q for q in off if not decide(r.evidence(q), both).confident]
    kept = [q for q in scores if decide(r.evidence(q), both).confident]
    return bar, {"answerable_english_dev": len(answerable), "their_lowest_score": round(min(scores.values()), 4),
                 "answered_at_the_bar": len(kept), "off_topic_english_dev": len(off),
                 "off_topic_declined": len(declined)}


def objective(res: dict, min_answered: float) -> float:
    flags = [v for k, v in res.items() if k.startswith("flagged_")]
    return res["em"] + sum(flags) / max(1, len(flags)) - 3 * max(0.0, min_answered - res["answered"])


def main(argv=None) -> int:
    from qa.answer.policy import Calibration, ReaderPolicy
    from qa.eval import evaluate as E
    from qa.retriever import Retriever

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--squad", type=Path, default=HERE / "validation_drcd_simplified.json")
    ap.add_argument("--paragraphs", default="0:104")
    ap.add_argument("--near-miss", type=int, default=80)
    ap.add_argument("--unanswerable", type=int, default=150)
    ap.add_argument("--min-answered", type=float, default=0.95)
    ap.add_argument("--rule-cost", type=float, default=0.015,
                    help="DRCD EM the rules' spans may cost at most (default %(default)s)")
    ap.add_argument("--keep-em", type=float, default=0.80,
                    help="short EM the article's dev split must keep (default %(default)s: what the reader reaches "
                         "there; at 0.85 no policy keeps the guarantees and the fit trades them against DRCD)")
    ap.add_argument("--keep-flagged", type=float, default=0.93,
                    help="share of the article's dev near misses that must stay flagged (the test split's promise)")
    ap.add_argument("--keep-far-off", type=float, default=1.0,
                    help="share of the article's dev far-off questions that must stay flagged: a question the "
                         "text has nothing to do with is never answered")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default=None, metavar="NAME[,NAME]",
                    help="fit only these thresholds and keep the others of the policy in --out (a check "
                         "added, or one threshold tried again)")
    ap.add_argument("--out", type=Path, default=None, help="default: qa/data/calibration.json")
    ap.add_argument("--english", action="store_true",
                    help="only set english_min_score (from the article's English dev questions) and keep the rest")
    ap.add_argument("--rows", type=Path, default=None,
                    help="keep what was read in this file and fit from it when it exists (to try the grid again "
                         "without reading; delete it after a change to the reader or the retriever)")
    args = ap.parse_args(argv)
    only = args.only.split(",") if args.only else []
    if any(n not in GRID for n in only):
        ap.error(f"--only: thresholds are {', '.join(GRID)}; not {', '.join(n for n in only if n not in GRID)}")

    if args.english:
        out = args.out or E.calibration_path()
        items = [it for it in E.load_set(E.default_set_path()) if it.split == "dev"]
        bar, report = english_bar(Retriever(), items)
        cal = Calibration.load(out)
        cal.reader = {**(cal.reader or {}), "english_min_score": bar,
                      "info": {**(cal.reader or {}).get("info", {}), "english": report}}
        tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
        tmp.write_text(cal.to_json(), encoding="utf-8")
        os.replace(tmp, out)
        print(json.dumps({"english_min_score": bar, **report}, ensure_ascii=False))
        return 0
    sel = library_selection(args.squad, args.paragraphs, args.unanswerable, args.near_miss, args.seed)
    if args.rows is not None and args.rows.is_file():
        article, drcd = pickle.loads(args.rows.read_bytes())
    else:
        article, drcd = read_article_dev(), read_library_set(sel)
        if args.rows is not None:
            tmp = args.rows.with_name(args.rows.name + f".tmp-{os.getpid()}")
            tmp.write_bytes(pickle.dumps((article, drcd)))
            os.replace(tmp, args.rows)

    calibration = Calibration.load(args.out or E.calibration_path())

    def judge(pol):
        res = {"article_dev": replay(article, pol, calibration), "drcd_fit": replay(drcd, pol, calibration)}
        if pol.rules_below > -99:  # the rules' spans stay only where they cost nothing out of domain
            bare = replay(drcd, dataclasses.replace(pol, rules_below=-99.0), calibration)
            if res["drcd_fit"]["em"] < bare["em"] - args.rule_cost:
                return None, res
        a = res["article_dev"]
        keeps = (a["em"] >= args.keep_em and a["answered"] >= args.min_answered
                 and min((v for k, v in a.items() if k.startswith("flagged_") and k != "flagged_far-off"),
                         default=1.0) >= args.keep_flagged and a.get("flagged_far-off", 1.0) >= args.keep_far_off)
        return (keeps, objective(res["drcd_fit"], args.min_answered) if keeps else
                sum(objective(v, args.min_answered) for v in res.values()) / len(res),
                objective(a, args.min_answered)), res  # ties: the better on the article

    grid = GRID
    if only:
        now = ReaderPolicy.load(args.out or E.calibration_path())
        grid = {n: (GRID[n] if n in only else [getattr(now, n)]) for n in GRID}
    best = None
    for values in itertools.product(*grid.values()):
        pol = ReaderPolicy(**dict(zip(grid, values)))
        score, res = judge(pol)
        if score is not None and (best is None or score > best[0]):
            best = (score, pol, res)
    score, pol, res = best
    # Where several values of a threshold score the same, the dev questions do not tell them apart: take
    # the middle of those values (the widest margin on both sides), not the first one the grid tried.
    for name, values in grid.items():
        tied = [v for v in values if v is not None and judge(dataclasses.replace(pol, **{name: v}))[0] == score]
        if len(tied) > 1:
            mid = (tied[(len(tied) - 1) // 2] + tied[len(tied) // 2]) / 2
            if judge(dataclasses.replace(pol, **{name: mid}))[0] == score:
                pol = dataclasses.replace(pol, **{name: mid})
    kept = score[0]
    pol.info = {"article_guarantees_kept": kept, "fitted_on": {"article_dev": f"{len(article)} dev questions of qa/data/questions.jsonl",
                              "drcd_fit": f"{args.squad.name} paragraphs {args.paragraphs}: "
                                          f"{len(sel.asked)} questions, {len(sel.near_miss)} near misses, "
                                          f"{len(sel.left_out)} left out (seed {args.seed})"},
                "objective": round(score[1], 4), "min_answered": args.min_answered,
                "dev": {k: {m: round(x, 4) for m, x in v.items()} for k, v in res.items()}}
    out = args.out or E.calibration_path()
    pol.english_min_score, pol.info["english"] = english_bar(Retriever(), [
        it for it in E.load_set(E.default_set_path()) if it.split == "dev"])
    cal = Calibration.load(out)
    cal.reader = pol.to_dict()
    tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
    tmp.write_text(cal.to_json(), encoding="utf-8")
    os.replace(tmp, out)
    print(json.dumps(pol.to_dict(), ensure_ascii=False, indent=1))
    print(f"wrote the reader policy into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
