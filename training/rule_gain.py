"""What each family of phrase rules adds beside the reader, on the article's dev split and on public sets.

A rule stays only where it shows a gain on the article's dev split *and* on a public validation set
(a library of its paragraphs, ``qa eval --squad``'s setting). Each question is read once, as ``ask()``
reads it (``Pipeline.evidence``, through ``calibrate.py``'s readers); then ``ask()``'s own ``decide``
runs again with the rules' spans of one family taken away, and with no rule at all (``QA_RULES=0``).
A family's gain is what the product loses without it: short-answer EM and F1, answered, flagged
(unanswerable questions declined) and precision (answers given whose short F1 reaches 0.5).

Taking a family's span away leaves the question to the reader, as ``QA_RULES=0`` does (check 3 judged on
the reader's span); where another family would then have found a span the real deletion differs a
little, which the ``QA_RULES=0`` row (exact) bounds.

    .venv/bin/python training/rule_gain.py --rows ~/.cache/qa/rule-rows.pkl     # prints a markdown table
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import pickle
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

#: Rule families by the kind of span they give.
FAMILIES = {"figures": {"amount", "count", "percent", "ordinal", "number", "share"}, "times": {"time"},
            "names": {"person", "place", "org", "name", "nr", "who"}, "lists": {"list"}, "phrases": {"phrase"}}
SETS = {"drcd": (HERE / "validation_drcd_simplified.json", "0:104"),
        "cmrc": (HERE / "validation_cmrc_simplified.json", "0:128")}


def family(kind: str) -> str:
    return next((f for f, kinds in FAMILIES.items() if kind in kinds), kind)


def without(ev, families: set[str] | None):
    """``ev`` with the rules' span of ``families`` taken away (None: every rule, as with ``QA_RULES=0``), the
    reader's span then judged by check 3."""
    from qa.answer import noanswer
    from qa.answer.policy import Candidate

    if ev is None or not ev.read or ev.rule.short is None:
        return ev
    if families is not None and family(ev.rule.short.kind) not in families:
        return ev
    return dataclasses.replace(ev, rule=Candidate(None, None, ev.none),
                               typed_checks=tuple(noanswer.typed_checks_for(ev.query, ev.best.short)))


def score(rows: list[dict], policy, families: set[str] | None | bool = False) -> dict:
    """Short EM/F1 over answerable questions with a short gold, answered, flagged and precision, deciding
    every row again (``families``: False keeps every rule; else as :func:`without`)."""
    from qa.answer.policy import decide
    from qa.eval.metrics import char_f1, exact_match

    em = f1 = 0.0
    n_short = answered = n_ans = flagged = n_un = given = right = 0
    for row in rows:
        ev = row["evidence"]
        ok, short = False, None
        if ev is not None:
            d = decide(ev if families is False else without(ev, families), policy)
            ok, short = d.confident, (d.shown.text if d.shown is not None else None)
        if not row["answerable"]:
            n_un += 1
            flagged += not ok
            given += ok and short is not None
            continue
        n_ans += 1
        answered += ok
        if row["golds"]:
            n_short += 1
            em += exact_match(short if ok else None, row["golds"])
            f = char_f1(short if ok else None, row["golds"])
            f1 += f
            if ok and short is not None:
                given += 1
                right += f >= 0.5
    return {"em": em / max(1, n_short), "f1": f1 / max(1, n_short), "answered": answered / max(1, n_ans),
            "flagged": flagged / max(1, n_un), "precision": right / max(1, given), "questions": len(rows)}


def table(results: dict[str, dict[str, dict]]) -> str:
    """Markdown: per set, each variant's figures and its gain over the variant (all rules minus it)."""
    lines = []
    for name, res in results.items():
        base = res["all rules"]
        lines += [f"\n{name} ({base['questions']} questions)\n",
                  "| rules | EM | F1 | answered | flagged | precision | gain of the family (EM / F1) |",
                  "|---|---|---|---|---|---|---|"]
        for variant, r in res.items():
            gain = "" if variant == "all rules" else \
                f"{base['em'] - r['em']:+.3f} / {base['f1'] - r['f1']:+.3f}"
            lines.append(f"| {variant} | {r['em']:.3f} | {r['f1']:.3f} | {r['answered']:.3f} | {r['flagged']:.3f} "
                         f"| {r['precision']:.3f} | {gain} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    import calibrate

    from qa.answer.policy import Policy

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="drcd,cmrc", help="public sets beside the article (default: %(default)s; "
                    f"of {', '.join(SETS)})")
    ap.add_argument("--near-miss", type=int, default=80)
    ap.add_argument("--unanswerable", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=None, metavar="N",
                    help="only the first N questions of each set (a quick look; not for decisions)")
    ap.add_argument("--rows", type=Path, default=None,
                    help="keep what was read in this file and score from it when it exists (delete it after a "
                         "change to the reader, the retriever or the rules)")
    args = ap.parse_args(argv)
    names = [s for s in args.sets.split(",") if s]
    if any(s not in SETS for s in names):
        ap.error(f"--sets: of {', '.join(SETS)}")
    if args.rows is not None and args.rows.is_file():
        rows = pickle.loads(args.rows.read_bytes())
    else:
        rows = {"article dev": calibrate.read_article_dev(args.limit)}
        for s in names:
            path, paragraphs = SETS[s]
            rows[s] = calibrate.read_library_set(calibrate.library_selection(
                path, paragraphs, args.unanswerable, args.near_miss, args.seed), args.limit)
        if args.rows is not None:
            tmp = args.rows.with_name(args.rows.name + f".tmp-{os.getpid()}")
            tmp.write_bytes(pickle.dumps(rows))
            os.replace(tmp, args.rows)
    policy = Policy.load()
    kinds = sorted({family(r["evidence"].rule.short.kind) for rs in rows.values() for r in rs
                    if r["evidence"] is not None and r["evidence"].rule.short is not None})
    results = {}
    for name, rs in rows.items():
        res = {"all rules": score(rs, policy)}
        for f in kinds:
            res[f"without {f}"] = score(rs, policy, {f})
        res["no rules (QA_RULES=0)"] = score(rs, policy, None)
        results[name] = res
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
