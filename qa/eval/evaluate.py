"""``qa eval``: score retrieval, answer sentences and "no answer" on a question set.

The question set is JSONL, one question per line (blank lines are skipped)::

    {"id": "q001", "question": "…", "kind": "fact", "answers": ["…"], "doc": "000_….txt", "split": "dev"}

* ``id`` (string, unique), ``question`` (non-empty string);
* ``kind`` (non-empty string, free-form: the set's kinds become report rows);
* ``answers``: gold strings, each an *exact* substring of document ``doc``;
  ``[]`` marks a question the documents do not answer;
* ``doc``: the document's file name as indexed; ``split``: ``dev`` or ``test``.

Scoring, per retrieval mode and per kind (and overall). Each question is asked
once per mode with ``Retriever.ask(question, k=max(10, k), mode=mode)``:

* A passage is *relevant* (a hit) when its text contains one of the gold strings.
* hit@1/3/5 (and hit@k for ``--k``), MRR@10 and nDCG@10 (binary gains, ideal DCG
  from the number of index chunks that contain a gold string, capped at 10) are
  averaged over the answerable questions only.
* Answer accuracy and CMRC 2018 character F1 score the answer sentence of the
  *top passage*, whether or not ``ask()`` was confident, over answerable
  questions: they measure answer extraction. Whether the bot should have
  answered at all is scored separately, by abstention precision and recall
  (abstain = ``not confident``; positives = unanswerable questions).
* Latency: mean wall time of one ``ask()`` call in milliseconds.

The abstention trade-off: for every evaluated question,
``p = calibration.probability(retriever.signals(question))``; a question is
answered when ``p >= threshold``, and the report gives, as the threshold
varies, the share of answerable questions kept and of unanswerable ones flagged.
The signals do not depend on the mode, so neither does abstention.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from . import metrics

SPLITS = ("dev", "test")
#: Kinds whose questions the documents do not answer (``answers`` must be ``[]``).
UNANSWERABLE_KINDS = ("unanswerable", "near-miss", "followup-unanswerable", "followup-unresolvable")
FIELDS: dict[str, type] = {"id": str, "question": str, "kind": str, "answers": list, "doc": str, "split": str}
#: Depth of the ranked list scored by MRR and nDCG.
RANK_DEPTH = 10
#: Thresholds shown in the Markdown trade-off table (the current one is added).
TABLE_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

DEFINITIONS = """\
- **hit@k**: share of answerable questions with a relevant passage among the first k; a passage is relevant when its text contains one of the question's gold strings.
- **MRR** (MRR@10): mean of 1/rank of the first relevant passage among the first 10 (0 when none).
- **nDCG** (nDCG@10): DCG = Σ gain_i / log2(i+1) over the first 10 passages with gain 1 for a relevant passage, divided by the ideal DCG of min(R, 10) relevant passages, where R is the number of chunks in the whole index that contain a gold string.
- **acc** (answer accuracy): share of answerable questions whose answer sentence (of the top passage, whether or not the bot was confident) contains a gold string, after NFKC normalisation.
- **F1**: CMRC 2018 F1 of that answer sentence against the golds, best over golds: NFKC and lower case, each CJK character one token, each run of Latin letters/digits one token (decimals kept whole), punctuation and whitespace dropped; overlap = longest common contiguous token sequence; F1 = 2PR/(P+R).
- **abst-P / abst-R**: abstention precision and recall; the bot abstains when `ask()` is not confident; positives are the unanswerable questions. P = abstained ∩ unanswerable / abstained, R = abstained ∩ unanswerable / unanswerable; "–" where the denominator is 0.
- **abst**: share of the row's questions the bot abstained on (for an answerable kind: its false "no answer" rate).
- **sEM / sF1**: the short answer (`Answer.short`, None when the bot gives none or abstains) against the question's `short` golds: exact match after NFKC, lower case and dropping whitespace and punctuation, and CMRC F1 as above; over answerable questions that have a short gold.
- **answered / near-miss flagged / far-off flagged**: share of answerable questions answered (confident), of near-miss unanswerable questions (kind `near-miss`, and unanswerable follow-ups) and of far-off ones (other unanswerable kinds) given "no answer".
- **Dialogues** (kinds `followup*`, the last turn asked with its `history`): *resolved and answered correctly*: follow-ups for which the bot found a topic, answered, and whose answer sentence holds a gold; *rewritten*: complete questions whose `Answer.resolved` differs from the question; *asked again*: unresolvable follow-ups that got the ask-again reply.
- **ms**: mean wall time of one `ask()` call, in milliseconds.
- Retrieval metrics, acc and F1 are averaged over answerable questions only; n counts all questions of the row.
"""


@dataclass(frozen=True)
class Item:
    """One question of a set; ``line`` is its 1-based line number in the file."""

    id: str
    question: str
    kind: str
    answers: tuple[str, ...]
    doc: str
    split: str
    line: int = 0
    short: tuple[str, ...] = ()
    history: tuple[str, ...] | None = None
    resolved: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.answers)

    @property
    def dialogue(self) -> bool:
        return self.history is not None

    @property
    def group(self) -> str:
        """Which abstention figure the question counts in: answerable, near-miss or far-off."""
        if self.answerable:
            return "answerable"
        return "near-miss" if "near" in self.kind or self.kind == "followup-unanswerable" else "far-off"


# ----------------------------------------------------------------------------
# loading and validating a set
# ----------------------------------------------------------------------------
def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _folder_documents() -> dict[str, str]:
    """The default documents folder's documents (``QA_DOCS`` or ``seeds/``), read as the index reads them."""
    from ..ingest.chunking import read_document
    from ..index.generations import collect_documents, default_sources

    return {name: read_document(p) for name, p in collect_documents(default_sources()).items()}


def load_set(path: str | os.PathLike, documents: Mapping[str, str] | None = None, *,
             check_documents: bool = True) -> list[Item]:
    """Read and validate a question set (the JSONL format in this module's docstring).

    ``documents`` maps document names to their text (use ``retriever.index.documents``);
    when None, the documents folder (``QA_DOCS`` or ``seeds/``) is read. With
    ``check_documents=False`` only the format is checked. Every problem raises
    ``ValueError("questions.jsonl line 7: …")`` naming the file and the line.
    """
    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    docs = None
    if check_documents:
        docs = documents if documents is not None else _folder_documents()
    items: list[Item] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue

        def fail(msg: str, lineno: int = lineno) -> ValueError:
            return ValueError(f"{name} line {lineno}: {msg}")

        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise fail(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise fail(f"expected a JSON object with fields {', '.join(FIELDS)}, got {type(obj).__name__}")
        missing = [f for f in FIELDS if f not in obj]
        if missing:
            raise fail(f"missing field{'s' if len(missing) > 1 else ''} {', '.join(repr(f) for f in missing)}")
        for field_name, typ in FIELDS.items():
            value = obj[field_name]
            if not isinstance(value, typ):
                want = "a list of strings" if typ is list else "a string"
                raise fail(f"field {field_name!r} must be {want}, not {type(value).__name__} ({value!r:.40})")
        for field_name in ("id", "question", "kind", "doc"):
            if not obj[field_name].strip():
                raise fail(f"field {field_name!r} is empty")
        answers = obj["answers"]
        for a in answers:
            if not isinstance(a, str) or not a:
                raise fail(f"field 'answers' must hold non-empty strings, found {a!r}")
        if obj["split"] not in SPLITS:
            raise fail(f"unknown split {obj['split']!r}: use one of {', '.join(SPLITS)}")
        if obj["kind"] in UNANSWERABLE_KINDS and answers:
            raise fail(f"kind {obj['kind']!r} but answers are given: use \"answers\": [] for an unanswerable question")
        short = obj.get("short", [])
        if not isinstance(short, list) or not all(isinstance(a, str) and a for a in short):
            raise fail("field 'short' must be a list of non-empty strings")
        history = obj.get("history")
        if history is not None and (not isinstance(history, list) or not all(isinstance(h, str) for h in history)):
            raise fail("field 'history' must be a list of earlier questions (strings), oldest first")
        resolved = obj.get("resolved")
        if resolved is not None and not isinstance(resolved, str):
            raise fail("field 'resolved' must be a string or null")
        if obj["id"] in seen:
            raise fail(f"duplicate id {obj['id']!r} (first on line {seen[obj['id']]})")
        seen[obj["id"]] = lineno
        if docs is not None:
            if obj["doc"] not in docs:
                known = ", ".join(sorted(docs)[:5]) + (" …" if len(docs) > 5 else "")
                raise fail(f"unknown document {obj['doc']!r} (indexed: {known or 'none'})")
            for a in list(answers) + list(short):
                if a not in docs[obj["doc"]]:
                    raise fail(f"gold string {_short(a)!r} is not an exact substring of document {obj['doc']!r}")
        items.append(Item(obj["id"], obj["question"], obj["kind"], tuple(answers), obj["doc"], obj["split"],
                          lineno, tuple(short), tuple(history) if history is not None else None, resolved))
    if not items:
        raise ValueError(f"{name}: no questions in the file")
    return items


def select_split(items: Iterable[Item], split: str) -> list[Item]:
    """The items of ``split`` ("dev", "test" or "all")."""
    return [i for i in items if split == "all" or i.split == split]


# ----------------------------------------------------------------------------
# scoring
# ----------------------------------------------------------------------------
def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _aggregate(records: list[dict], ks: Sequence[int]) -> dict:
    ans = [r for r in records if r["answerable"]]
    p, r = metrics.abstention_pr([x["abstained"] for x in records], [not x["answerable"] for x in records])
    out: dict = {"n": len(records), "n_answerable": len(ans), "n_unanswerable": len(records) - len(ans)}
    for k in ks:
        out[f"hit@{k}"] = _mean([x["hits"][f"hit@{k}"] for x in ans])
    out["mrr@10"] = _mean([x["mrr@10"] for x in ans])
    out["ndcg@10"] = _mean([x["ndcg@10"] for x in ans])
    out["accuracy"] = _mean([float(x["correct"]) for x in ans])
    out["f1"] = _mean([x["f1"] for x in ans])
    with_short = [x for x in ans if x.get("short_gold")]
    out["n_short"] = len(with_short)
    out["short_em"] = _mean([float(x["short_em"]) for x in with_short])
    out["short_f1"] = _mean([x["short_f1"] for x in with_short])
    out["answered"] = _mean([float(not x["abstained"]) for x in ans])
    for group in ("near-miss", "far-off"):
        g = [x for x in records if x.get("group") == group]
        out[f"{group}_flagged"] = _mean([float(x["abstained"]) for x in g])
    out["abstention_precision"] = p
    out["abstention_recall"] = r
    out["abstained"] = _mean([float(x["abstained"]) for x in records])
    out["latency_ms"] = _mean([x["ms"] for x in records])
    out["latency_p95_ms"] = (statistics.quantiles([x["ms"] for x in records], n=20)[-1]
                             if len(records) > 1 else out["latency_ms"])
    return out


def _dialogue(records: list[dict]) -> dict | None:
    """Scores of the last turns of the dialogues (kinds ``followup*``): follow-ups resolved and answered
    correctly, complete questions rewritten (wrongly), unanswerable follow-ups flagged, unresolvable
    ones asked again."""
    d = [r for r in records if r["kind"].startswith("followup")]
    if not d:
        return None
    follow = [r for r in d if r["kind"] == "followup"]
    complete = [r for r in d if r["kind"] == "followup-complete"]
    unans = [r for r in d if r["kind"] == "followup-unanswerable"]
    unres = [r for r in d if r["kind"] == "followup-unresolvable"]
    return {
        "n": len(d),
        "resolved_and_correct": _mean([float(r["resolved"] is not None and r["confident"] and r["correct"])
                                       for r in follow]),
        "resolved": _mean([float(r["resolved"] is not None) for r in follow]),
        "hit@1": _mean([r["hits"]["hit@1"] for r in follow]),
        "wrong_rewrites": _mean([float(r["rewritten"]) for r in complete]),
        "complete_correct": _mean([float(r["correct"]) for r in complete]),
        "unanswerable_flagged": _mean([float(r["abstained"]) for r in unans]),
        "unresolvable_asked_again": _mean([float(r["asked_again"] and r["abstained"]) for r in unres]),
        "counts": {"followup": len(follow), "complete": len(complete), "unanswerable": len(unans),
                   "unresolvable": len(unres)},
    }


def _progress(total: int, desc: str, enabled: bool):
    from ..text.progress import progress

    return progress(total=total, desc=desc, unit="q", enabled=enabled)


def relevant_chunks(retriever, golds: Sequence[str]) -> int:
    """How many chunks of the index contain one of ``golds``."""
    return sum(1 for c in retriever.index.chunks if any(g in c.text for g in golds))


def evaluate(retriever, items: Sequence[Item], modes: Sequence[str] = ("dense", "lexical", "hybrid"),
             k: int = 5, progress: bool = True) -> dict:
    """Score ``items`` with ``retriever`` in each of ``modes``; see the module docstring.

    Returns ``{"ks", "depth", "kinds", "modes": {mode: {"overall", "by_kind", "items"}},
    "abstention": {...}, "warnings"}``.
    """
    if not items:
        raise ValueError("no questions to evaluate")
    ks = sorted({1, 3, 5, int(k)})
    depth = max(RANK_DEPTH, int(k))
    kinds = list(dict.fromkeys(i.kind for i in items))
    n_rel = {i.id: relevant_chunks(retriever, i.answers) for i in items}
    warnings = [f"{i.id} (line {i.line}): no chunk of the index contains a gold string whole "
                f"(a gold string may cross a chunk boundary), so it can never be a hit"
                for i in items if i.answerable and n_rel[i.id] == 0]

    bar = _progress(len(items) * (len(modes) + 1), "qa eval", progress)
    probs = []
    for it in items:
        bar.set_postfix_str("no-answer signals", refresh=False)
        sig = retriever.signals(it.question, history=list(it.history)) if it.dialogue else \
            retriever.signals(it.question)
        probs.append(float(retriever.policy.calibration.probability(sig)))
        bar.update()

    out_modes: dict = {}
    for mode in modes:
        records = []
        for it in items:
            bar.set_postfix_str(mode, refresh=False)
            t0 = time.perf_counter()
            if it.dialogue:
                result = retriever.ask(it.question, k=depth, mode=mode, history=list(it.history))
            else:
                result = retriever.ask(it.question, k=depth, mode=mode)
            ms = (time.perf_counter() - t0) * 1000
            ranked = [any(g in p.text for g in it.answers) for p in result.passages]
            top = result.passages[0] if result.passages else None
            sentence = top.answer if top else None
            first = next((r for r, h in enumerate(ranked, 1) if h), None)
            records.append({
                "id": it.id, "kind": it.kind, "answerable": it.answerable,
                "first_hit_rank": first,
                "hits": {f"hit@{kk}": metrics.hit_at_k(ranked, kk) for kk in ks},
                "mrr@10": metrics.mrr_at_k(ranked, RANK_DEPTH),
                "ndcg@10": metrics.ndcg_at_k([float(h) for h in ranked], RANK_DEPTH, n_relevant=n_rel[it.id]),
                "n_relevant": n_rel[it.id],
                "answer_sentence": sentence,
                "correct": metrics.answer_correct(sentence, it.answers),
                "f1": metrics.char_f1(sentence, it.answers),
                "confident": bool(result.confident),
                "abstained": not result.confident,
                "group": it.group,
                "short": getattr(result, "short", None),
                "short_gold": list(it.short),
                "short_em": metrics.exact_match(getattr(result, "short", None), it.short),
                "short_f1": metrics.char_f1(getattr(result, "short", None), it.short),
                "resolved": getattr(result, "resolved", None),
                "rewritten": bool(it.dialogue and getattr(result, "resolved", None) is not None
                                  and result.resolved != it.question.strip()),
                "asked_again": bool(it.dialogue and getattr(result, "resolved", None) is None),
                "ms": ms,
            })
            bar.update()
        out_modes[mode] = {
            "overall": _aggregate(records, ks),
            "by_kind": {kind: _aggregate([r for r in records if r["kind"] == kind], ks) for kind in kinds},
            "dialogue": _dialogue(records),
            "items": records,
        }
    bar.close()

    answerable = [i.answerable for i in items]
    cal = retriever.policy.calibration
    kept, flagged = metrics.tradeoff_rates(probs, answerable, cal.threshold)
    abstention = {
        "threshold": cal.threshold,
        "calibration": {"weights": list(cal.weights), "bias": cal.bias, "info": cal.info},
        "at_threshold": {"answerable_kept": kept, "unanswerable_flagged": flagged},
        "table": [{"threshold": t, "answerable_kept": a, "unanswerable_flagged": u}
                  for t in sorted({*TABLE_THRESHOLDS, cal.threshold})
                  for a, u in [metrics.tradeoff_rates(probs, answerable, t)]],
        "curve": [{"threshold": t, "answerable_kept": a, "unanswerable_flagged": u}
                  for t, a, u in metrics.tradeoff_curve(probs, answerable)],
        "probabilities": [{"id": i.id, "kind": i.kind, "answerable": i.answerable, "p": p}
                          for i, p in zip(items, probs)],
    }
    return {"ks": ks, "k": int(k), "depth": depth, "kinds": kinds, "n": len(items), "modes": out_modes,
            "abstention": abstention, "warnings": warnings}


# ----------------------------------------------------------------------------
# --fit
# ----------------------------------------------------------------------------
def calibration_path() -> Path:
    """Where :meth:`qa.answer.policy.Policy.load` reads the fitted policy."""
    return Path(str(resources.files("qa").joinpath("data/calibration.json")))


def fit(retriever, dev_items: Sequence[Item], progress: bool = True) -> Path:
    """Fit the no-answer calibration on ``dev_items``, write it and reload it into ``retriever``."""
    from ..answer.policy import Calibration, Policy, fit_calibration

    if not dev_items:
        raise ValueError("--fit needs questions with split 'dev' in the set")
    if all(i.answerable for i in dev_items) or not any(i.answerable for i in dev_items):
        raise ValueError("--fit needs both answerable and unanswerable questions in the dev split")
    signals = []
    with _progress(len(dev_items), "qa eval --fit", progress) as bar:
        for it in dev_items:
            signals.append(retriever.signals(it.question, history=list(it.history)) if it.dialogue
                           else retriever.signals(it.question))
            bar.update()
    calibration = fit_calibration(signals, [i.answerable for i in dev_items])
    calibration.reader = Calibration.load().reader  # the reader's policy is fitted elsewhere
    target = calibration_path()
    fd, tmp = tempfile.mkstemp(prefix=".calibration-", suffix=".json", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(calibration.to_json())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    retriever.policy = Policy.load(target)
    return target


# ----------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------
def _fmt(v, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def table_rows(result: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows (mode x kind, overall first) of the results table, as text."""
    ks = result["ks"]
    header = ["mode", "kind", "n", *[f"hit@{k}" for k in ks], "MRR", "nDCG", "acc", "F1", "sEM", "sF1",
              "abst-P", "abst-R", "abst", "ms"]
    rows = []
    for mode, m in result["modes"].items():
        for kind, agg in [("all", m["overall"]), *m["by_kind"].items()]:
            rows.append([mode, kind, str(agg["n"]), *[_fmt(agg[f"hit@{k}"]) for k in ks], _fmt(agg["mrr@10"]),
                         _fmt(agg["ndcg@10"]), _fmt(agg["accuracy"]), _fmt(agg["f1"]), _fmt(agg.get("short_em")),
                         _fmt(agg.get("short_f1")), _fmt(agg["abstention_precision"]),
                         _fmt(agg["abstention_recall"]), _fmt(agg["abstained"]), _fmt(agg["latency_ms"], 1)])
    return header, rows


def summary_lines(result: dict) -> list[str]:
    """The headline figures per mode: short answers, who is answered and who is flagged, dialogues."""
    out = []
    for mode, m in result["modes"].items():
        o = m["overall"]
        out.append(f"{mode}: short answers EM {_fmt(o.get('short_em'))}, F1 {_fmt(o.get('short_f1'))} "
                   f"(over {o.get('n_short', 0)} questions with a short gold); answerable answered "
                   f"{_fmt(o.get('answered'))}; near-miss flagged {_fmt(o.get('near-miss_flagged'))}; "
                   f"far-off flagged {_fmt(o.get('far-off_flagged'))}")
        d = m.get("dialogue")
        if d:
            c = d["counts"]
            out.append(f"{mode} dialogues: follow-ups resolved and answered correctly "
                       f"{_fmt(d['resolved_and_correct'])} (n={c['followup']}), complete questions rewritten "
                       f"{_fmt(d['wrong_rewrites'])} (n={c['complete']}), unanswerable follow-ups flagged "
                       f"{_fmt(d['unanswerable_flagged'])} (n={c['unanswerable']}), unresolvable ones asked again "
                       f"{_fmt(d['unresolvable_asked_again'])} (n={c['unresolvable']})")
    return out


def format_table(result: dict) -> str:
    """The results as an aligned plain-text table."""
    header, rows = table_rows(result)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    prev_mode = None
    for r in [header, *rows]:
        if prev_mode is not None and r[0] != prev_mode:
            lines.append("")
        prev_mode = r[0] if r is not header else None
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
        if r is header:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def format_markdown(result: dict, meta: dict) -> str:
    """The Markdown report: settings, results table, abstention trade-off, definitions."""
    header, rows = table_rows(result)
    ab = result["abstention"]
    cal_info = ab["calibration"]["info"] or {}
    fitted = "fitted" if cal_info.get("fitted", True) else "not fitted (the fallback hand rule)"
    lines = [
        "# qa eval report", "",
        f"- Question set: `{meta['set']}`, split **{meta['split']}** ({result['n']} questions; "
        f"kinds: {', '.join(result['kinds'])})",
        f"- Model: `{meta['model_id']}`; index generation `{meta['index_generation']}` "
        f"({meta['index_chunks']} chunks)",
        f"- Date: {meta['date']}; modes: {', '.join(result['modes'])}; ranked list depth {result['depth']}",
        f"- No-answer calibration: threshold {ab['threshold']:.3f}, {fitted}", "",
        "## Results by mode and kind", "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(":---" if i < 2 else "---:" for i in range(len(header))) + "|",
    ]
    for r in rows:
        lines.append("| " + " | ".join(f"**{c}**" if r[1] == "all" and i < 2 else c for i, c in enumerate(r)) + " |")
    lines += ["", "## Short answers, abstention and dialogues", ""] + [f"- {x}" for x in summary_lines(result)]
    lines += ["", "![chart](chart.png)", "",
              "## Abstention trade-off", "",
              "The bot answers when the calibrated probability p ≥ threshold. *Answerable kept*: share of "
              "answerable questions answered; *unanswerable flagged*: share of unanswerable questions "
              "given \"no answer\". Abstention does not depend on the retrieval mode.", "",
              "| threshold | answerable kept | unanswerable flagged |", "|---:|---:|---:|"]
    for row in ab["table"]:
        mark = " ← current" if row["threshold"] == ab["threshold"] else ""
        lines.append(f"| {row['threshold']:.3f}{mark} | {_fmt(row['answerable_kept'])} | "
                     f"{_fmt(row['unanswerable_flagged'])} |")
    if result["warnings"]:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in result["warnings"]]
    lines += ["", "## Definitions", "", DEFINITIONS]
    return "\n".join(lines)


def write_chart(result: dict, path: Path) -> None:
    """Grouped bars of hit@1, hit@5, MRR and accuracy per mode, and the abstention trade-off curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = list(result["modes"])
    series = [("hit@1", "hit@1"), ("hit@5", "hit@5"), ("MRR@10", "mrr@10"), ("accuracy", "accuracy")]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    width = 0.8 / len(series)
    for j, (label, key) in enumerate(series):
        vals = [result["modes"][m]["overall"].get(key) or 0.0 for m in modes]
        xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(modes))]
        bars = ax1.bar(xs, vals, width, label=label)
        ax1.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax1.set_xticks(range(len(modes)), modes)
    ax1.set_ylim(0, 1.18)
    ax1.set_ylabel("score (answerable questions)")
    ax1.set_title(f"Retrieval and answers by mode (n={result['n']})")
    ax1.legend(loc="upper center", ncol=len(series), fontsize=8)
    ax1.grid(axis="y", alpha=0.3)

    ab = result["abstention"]
    pts = [(c["unanswerable_flagged"], c["answerable_kept"]) for c in ab["curve"]
           if c["unanswerable_flagged"] is not None and c["answerable_kept"] is not None]
    if pts:
        ax2.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", ms=4,
                 label="threshold varies")
        cur = ab["at_threshold"]
        ax2.plot([cur["unanswerable_flagged"]], [cur["answerable_kept"]], "o", color="crimson", ms=9,
                 label=f"current threshold {ab['threshold']:.2f}")
        ax2.annotate(f"kept {cur['answerable_kept']:.2f}, flagged {cur['unanswerable_flagged']:.2f}",
                     (cur["unanswerable_flagged"], cur["answerable_kept"]), textcoords="offset points",
                     xytext=(-10, -18), ha="right", fontsize=8, color="crimson")
        ax2.legend(loc="lower left", fontsize=8)
    else:
        ax2.text(0.5, 0.5, "needs answerable and unanswerable questions", ha="center", va="center")
    ax2.set_xlim(-0.02, 1.02)
    ax2.set_ylim(-0.02, 1.05)
    ax2.set_xlabel("unanswerable flagged (\"no answer\")")
    ax2.set_ylabel("answerable kept (answered)")
    ax2.set_title("Abstention trade-off")
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_reports(result: dict, meta: dict, out: Path) -> list[Path]:
    """Write report.json, report.md and chart.png into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md", out / "chart.png"]
    paths[0].write_text(json.dumps({**meta, **result}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    paths[1].write_text(format_markdown(result, meta), encoding="utf-8")
    write_chart(result, paths[2])
    return paths


# ----------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------
def default_set_path() -> Path:
    """The question set shipped inside the package."""
    return Path(str(resources.files("qa").joinpath("data/questions.jsonl")))


def _modes(text: str) -> list[str]:
    from ..retriever import MODES

    modes = list(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise argparse.ArgumentTypeError(f"modes must be a comma list of {', '.join(MODES)}; got {text!r}")
    return modes


def _k(text: str) -> int:
    from ..retriever import MAX_K

    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--k must be a whole number, not {text!r}") from None
    if not 1 <= k <= MAX_K:
        raise argparse.ArgumentTypeError(f"--k must be from 1 to {MAX_K}, got {k}")
    return k


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``qa eval`` (``--index`` and ``--model`` are added by the CLI)."""
    parser.add_argument("--set", metavar="FILE", default=None,
                        help="question set, JSONL (default: the set shipped with qa, qa/data/questions.jsonl)")
    parser.add_argument("--split", choices=("dev", "test", "all"), default="test",
                        help="which questions to score (default: test)")
    parser.add_argument("--modes", type=_modes, default=["dense", "lexical", "hybrid"], metavar="LIST",
                        help="comma-separated retrieval modes (default: dense,lexical,hybrid)")
    parser.add_argument("--k", type=_k, default=5, metavar="N",
                        help="also report hit@N next to hit@1, hit@3, hit@5 (default: 5)")
    parser.add_argument("--out", metavar="DIR", default="reports",
                        help="folder for report.json, report.md and chart.png (default: reports/)")
    parser.add_argument("--kinds", metavar="LIST", default=None,
                        help="comma-separated kinds to score (default: all); e.g. the set before near-miss "
                             "questions and dialogues: fact,paraphrase,colloquial,figure,list,english,unanswerable")
    parser.add_argument("--fit", action="store_true",
                        help="first fit the no-answer calibration on the dev split and save it to "
                             "qa/data/calibration.json, then evaluate")
    from . import squad

    squad.add_arguments(parser)


def run(args) -> int:
    """``qa eval``: evaluate, print the table and write the three report files."""
    from ..retriever import Retriever

    if getattr(args, "squad", None):
        from . import squad

        return squad.run(args)

    set_path = Path(args.set) if args.set else default_set_path()
    if not set_path.is_file():
        raise FileNotFoundError(f"No such question set: {set_path}")
    load_set(set_path, check_documents=False)  # format errors before the model loads
    progress = True
    from .. import options

    retriever = Retriever(index_dir=options.index_dir(args), model=args.model, store=options.store(args),
                          milvus_uri=args.milvus_uri, milvus_name=options.milvus_name(args))
    items = load_set(set_path, retriever.index.documents)
    fitted_to = None
    if args.fit:
        fitted_to = fit(retriever, select_split(items, "dev"), progress)
        print(f"qa eval: fitted the no-answer calibration on {len(select_split(items, 'dev'))} dev questions "
              f"and saved it to {fitted_to} (threshold {retriever.policy.calibration.threshold:.3f})", file=sys.stderr)
        if args.split in ("dev", "all"):
            print("qa eval: note: the scores include the questions the calibration was fitted on",
                  file=sys.stderr)
    chosen = select_split(items, args.split)
    if getattr(args, "kinds", None):
        wanted = {k.strip() for k in args.kinds.split(",") if k.strip()}
        chosen = [i for i in chosen if i.kind in wanted]
    if not chosen:
        raise ValueError(f"{set_path.name}: no questions in split {args.split!r}"
                         + (f" of kinds {args.kinds}" if getattr(args, "kinds", None) else ""))
    result = evaluate(retriever, chosen, args.modes, args.k, progress)
    manifest = retriever.index.manifest
    meta = {
        "set": str(set_path), "split": args.split, "model_id": retriever.index.model_id,
        "index_generation": manifest.get("generation"), "index_built_at": manifest.get("built_at"),
        "store": retriever.store_kind,
        "index_documents": [d.get("name") for d in manifest.get("documents", [])],
        "index_chunks": len(retriever.index.chunks),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "fitted_calibration": str(fitted_to) if fitted_to else None,
    }
    out = Path(args.out)
    paths = write_reports(result, meta, out)
    ab = result["abstention"]
    print(f"qa eval: {set_path.name}, split {args.split}: {len(chosen)} questions "
          f"({sum(i.answerable for i in chosen)} answerable); model {meta['model_id']}")
    print()
    sys.stdout.write(format_table(result))
    print()
    kept, flagged = ab["at_threshold"]["answerable_kept"], ab["at_threshold"]["unanswerable_flagged"]
    print(f"no answer: threshold {ab['threshold']:.3f}: answerable kept {_fmt(kept)}, "
          f"unanswerable flagged {_fmt(flagged)}")
    for line in summary_lines(result):
        print(line)
    for w in result["warnings"]:
        print(f"warning: {w}")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
