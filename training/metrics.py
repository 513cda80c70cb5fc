"""EM and F1 for Chinese extractive QA, as defined by CMRC 2018's official evaluation script.

Follows ``cmrc2018_evaluate.py`` (ymcui/cmrc2018 on GitHub, "Evaluation Script for CMRC 2018",
v5; Cui et al., "A Span-Extraction Dataset for Chinese Machine Reading Comprehension",
EMNLP 2019):

- text is lower-cased and stripped; the punctuation list ``SP_CHAR`` below is removed;
- EM: 1 if the punctuation-free prediction equals any punctuation-free gold answer;
- F1: "mixed segmentation": every CJK character (U+4E00..U+9FA5) is one token, the text between
  them is word-tokenized; F1 uses the longest common *substring* (contiguous run of tokens) of
  the prediction and each gold answer, precision = lcs / len(prediction), recall = lcs / len(gold);
  the best over the gold answers is kept.

Dependency-free: the official script runs ``nltk.word_tokenize`` over the non-CJK runs; here a
small regex stands in for it (runs of letters/digits, with inner "." or "," as in "3.5" or
"1,000", are one token; any other non-space character is its own token). On Chinese answers the
two agree; they can differ only on English contractions and the like.
"""
from __future__ import annotations

import re

SP_CHAR = {
    "-", ":", "_", "*", "^", "/", "\\", "~", "`", "+", "=",
    "，", "。", "：", "？", "！", "“", "”", "；", "’", "《", "》", "……", "·", "、",
    "「", "」", "（", "）", "－", "～", "『", "』",
}
_CJK = re.compile(r"[\u4e00-\u9fa5]")
_WORD = re.compile(r"\w+(?:[.,]\w+)*|[^\w\s]")


def _word_tokenize(text: str) -> list[str]:
    return _WORD.findall(text)


def mixed_segmentation(text: str, rm_punc: bool = False) -> list[str]:
    text = str(text).lower().strip()
    out: list[str] = []
    buf = ""
    for ch in text:
        if rm_punc and ch in SP_CHAR:
            continue
        if _CJK.match(ch) or ch in SP_CHAR:
            if buf:
                out.extend(_word_tokenize(buf))
                buf = ""
            out.append(ch)
        else:
            buf += ch
    if buf:
        out.extend(_word_tokenize(buf))
    return out


def remove_punctuation(text: str) -> str:
    return "".join(ch for ch in str(text).lower().strip() if ch not in SP_CHAR)


def find_lcs(s1: list[str], s2: list[str]) -> tuple[list[str], int]:
    """Longest common contiguous run of tokens."""
    best, end = 0, 0
    prev = [0] * (len(s2) + 1)
    for i in range(len(s1)):
        cur = [0] * (len(s2) + 1)
        for j in range(len(s2)):
            if s1[i] == s2[j]:
                cur[j + 1] = prev[j] + 1
                if cur[j + 1] > best:
                    best, end = cur[j + 1], i + 1
        prev = cur
    return s1[end - best:end], best


def f1_score(answers: list[str], prediction: str) -> float:
    scores = []
    pred = mixed_segmentation(prediction, rm_punc=True)
    for ans in answers:
        gold = mixed_segmentation(ans, rm_punc=True)
        _, n = find_lcs(gold, pred)
        if n == 0:
            scores.append(0.0)
            continue
        p, r = n / len(pred), n / len(gold)
        scores.append(2 * p * r / (p + r))
    return max(scores) if scores else 0.0


def em_score(answers: list[str], prediction: str) -> float:
    pred = remove_punctuation(prediction)
    return 1.0 if any(remove_punctuation(a) == pred for a in answers) else 0.0


def evaluate(golds: dict[str, list[str]], preds: dict[str, str]) -> dict:
    """Mean EM and F1 (0..1) over the questions of ``golds``; a missing prediction scores 0."""
    em = f1 = 0.0
    for qid, answers in golds.items():
        p = preds.get(qid, "")
        em += em_score(answers, p)
        f1 += f1_score(answers, p)
    n = max(1, len(golds))
    return {"em": em / n, "f1": f1 / n, "n": len(golds)}
