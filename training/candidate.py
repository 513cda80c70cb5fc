"""Measure a candidate reader in the product, beside the shipped one, before it replaces it.

The training's own validation reads each question over its own paragraph with the float weights; the
product reads 150-character chunks of a library with the int8 graph, through the rules and a policy
fitted to the reader. The two can disagree (see ``training/README.md``), so a candidate is judged the
way the product is used: in a scratch copy of the project, with the candidate's graph in
``qa/data/reader/``, ``calibrate.py`` fits the policy to it, then ``qa eval`` runs on the article's test
split and on the DRCD and CMRC 2018 held-out halves as libraries. The shipped reader is measured the
same way (without a refit: its policy is the one shipped), and one table gives both, precision beside EM.

    .venv/bin/python training/candidate.py training/out            # about 40 minutes on two cores
    .venv/bin/python training/candidate.py training/out --shipped-work /tmp/cand-shipped   # reuse its runs
    .venv/bin/python training/candidate.py training/checkpoint --ensemble   # beside the shipped graph, logits averaged

CMRC 2018 dev is never read here: it is reported once per shipped version, not used to choose one.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
COPY = ("qa", "training", "seeds", "embeddings", "pyproject.toml")
HELD_OUT = {"drcd": "validation_drcd_simplified.json", "cmrc": "validation_cmrc_simplified.json"}
LIBRARY = ["--paragraphs", "{half}", "--near-miss", "80", "--unanswerable", "150"]


def scratch_copy(work: Path, reader: Path | None, ensemble: float = 0.0) -> Path:
    """The project's code, data and index in ``work``, with ``reader``'s graph and config if given; with
    ``ensemble`` (its share, in (0, 1)), its graph joins the shipped one (``candidate.onnx``, the graphs'
    logits averaged with that weight)."""
    work.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        src, dst = ROOT / name, work / name
        if dst.exists():
            continue
        (shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "out", "checkpoint"))
         if src.is_dir() else shutil.copy2(src, dst))
    if reader is not None and ensemble:
        folder = work / "qa" / "data" / "reader"
        shutil.copy2(reader / "reader.onnx", folder / "candidate.onnx")
        conf = json.loads((folder / "reader_config.json").read_text(encoding="utf-8"))
        shipped = conf.get("ensemble") or ["reader.onnx"]
        weights = conf.get("ensemble_weights") or [1.0] * len(shipped)
        conf["ensemble"] = [*shipped, "candidate.onnx"]
        conf["ensemble_weights"] = [*(w * (1 - ensemble) / sum(weights) for w in weights), ensemble]
        (folder / "reader_config.json").write_text(json.dumps(conf, ensure_ascii=False, indent=1), encoding="utf-8")
    elif reader is not None:  # a snapshot (train.py --snapshot) has no config of its own: the shipped one serves
        for name in ("reader.onnx", "reader_config.json"):
            if (reader / name).is_file():
                shutil.copy2(reader / name, work / "qa" / "data" / "reader" / name)
    return work


def run(work: Path, args: list[str], log: str) -> None:
    """``args`` run with this interpreter inside ``work`` (its ``qa`` package, not the checkout's)."""
    with open(work / log, "w", encoding="utf-8") as f:
        subprocess.run([sys.executable, *args], cwd=work, stdout=f, stderr=subprocess.STDOUT, check=True)


def measure(work: Path, fit: bool) -> dict:
    """Fit the policy (``fit``), then the three evaluations; their figures, precision included."""
    if fit:
        run(work, ["training/calibrate.py", "--rows", str(work / "calibrate-rows.pkl")], "calibrate.log")
    out = {}
    for name, file in HELD_OUT.items():
        report = work / f"rep-{name}" / f"squad-{Path(file).stem}.json"
        if not report.is_file():
            half = "104:208" if name == "drcd" else "128:256"
            run(work, ["-m", "qa.cli", "eval", "--squad", f"training/{file}",
                       *[a.format(half=half) for a in LIBRARY], "--out", f"rep-{name}"], f"{name}.log")
        out[name] = library_figures(json.loads(report.read_text(encoding="utf-8")))
    report = work / "rep-test" / "report.json"
    if not report.is_file():
        run(work, ["-m", "qa.cli", "eval", "--split", "test", "--modes", "hybrid", "--out", "rep-test"], "test.log")
    out["article test"] = article_figures(json.loads(report.read_text(encoding="utf-8")))
    return out


def library_figures(report: dict) -> dict:
    """``qa eval --squad``'s totals, and precision: of the confident answers, those with F1 >= 0.5."""
    t, rows = report["totals"], report["rows"]
    given = [r for r in rows if r["confident"]]
    right = sum(1 for r in given if r["answerable"] and r["f1"] >= 0.5)
    return {"EM": t["em"], "F1": t["f1"], "answered": 1 - t["told_no_answer"],
            "near misses flagged": t["near_miss_flagged"], "left out / far-off flagged": t["left_out_flagged"],
            "precision": right / max(1, len(given))}


def article_figures(report: dict) -> dict:
    """The test split's hybrid figures, and precision (the short answer's F1 >= 0.5, or for an answer
    without a short answer or a short gold, its sentence holding a gold)."""
    mode = report["modes"]["hybrid"]
    o, items = mode["overall"], mode["items"]
    given = [i for i in items if i["confident"]]
    right = sum(1 for i in given if i["answerable"] and
                ((i.get("short_f1") or 0) >= 0.5 if i.get("short") and i.get("short_gold") else i["correct"]))
    return {"EM": o["short_em"], "F1": o["short_f1"], "answered": o["answered"],
            "near misses flagged": o["near-miss_flagged"], "left out / far-off flagged": o["far-off_flagged"],
            "precision": right / max(1, len(given))}


def table(shipped: dict, candidate: dict) -> str:
    cols = list(next(iter(shipped.values())))
    lines = ["| set | reader | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    for name in shipped:
        for who, figs in (("shipped", shipped[name]), ("candidate", candidate[name])):
            lines.append(f"| {name} | {who} | " + " | ".join(f"{figs[c]:.3f}" for c in cols) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("reader", type=Path, help="folder holding the candidate's reader.onnx (and its reader_config.json)")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder for the candidate (default: a new "
                    "temporary one); runs already there are reused")
    ap.add_argument("--shipped-work", type=Path, default=None,
                    help="scratch folder for the shipped reader; runs already there are reused")
    ap.add_argument("--ensemble", type=float, nargs="?", const=0.5, default=0.0, metavar="SHARE",
                    help="measure the candidate beside the shipped graph, their logits averaged (the candidate's "
                         "share: SHARE, by default 0.5), not instead of it")
    ap.add_argument("--out", type=Path, default=None, help="also write both sets of figures here (JSON)")
    args = ap.parse_args(argv)
    if not 0 <= args.ensemble < 1:
        ap.error(f"--ensemble takes the candidate's share of the average, between 0 and 1, not {args.ensemble}")
    if not (args.reader / "reader.onnx").is_file():
        ap.error(f"{args.reader / 'reader.onnx'} is missing: give the folder train.py --export, --snapshot "
                 "or adapt.py wrote")
    work = args.work or Path(tempfile.mkdtemp(prefix="qa-candidate-"))
    shipped_work = args.shipped_work or Path(tempfile.mkdtemp(prefix="qa-shipped-"))
    print(f"candidate in {work}, shipped reader in {shipped_work}", flush=True)
    shipped = measure(scratch_copy(shipped_work, None), fit=False)
    candidate = measure(scratch_copy(work, args.reader, args.ensemble), fit=True)
    print(table(shipped, candidate))
    if args.out:
        args.out.write_text(json.dumps({"shipped": shipped, "candidate": candidate}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
