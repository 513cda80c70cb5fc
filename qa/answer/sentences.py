"""Choosing the answer sentence inside a retrieved passage.

Every sentence of a passage is scored by a blend of its own dense cosine with the
question and the idf-weighted share of the question's content tokens it contains
(figures count whole); the best one is the answer. The dense side finds the
sentence that means the same in other words (and answers English questions); the
lexical side keeps a sentence that shares the question's rare words and figures
ahead of one that is merely on the same topic.

With the reader (:mod:`qa.answer.reader`), the sentence that holds its span replaces this choice in
the top passage; the short span is the reader's (or :mod:`qa.answer.spans`'), and whether the passage
answers at all is :mod:`qa.answer.noanswer`'s.
"""
from __future__ import annotations

import numpy as np

from ..index import lexical

#: Weight of the dense cosine against lexical overlap when scoring sentences.
SENTENCE_DENSE_WEIGHT = 0.7

# Function words and question words: they say nothing about the topic.
_STOP = set("的了是在吗呢吧啊么嘛呀哪谁几怎何为与和及或也都就还又被把对从到向给让于以其这那些个有没无不请问说下多少什么怎么样哪些哪里如何为什么是否能否可以一个我们你们他们它们这个那个文章文中提到里面")
_STOP_WORDS = {"什么", "多少", "怎么", "怎样", "哪些", "哪里", "如何", "为什么", "是否", "能否", "可以", "一下",
               "文章", "文中", "提到", "里面", "这篇", "作者", "请问", "有没", "没有", "有哪", "是多", "是什",
               "是怎", "了多", "有多"}
#: English words that carry no topic (an English question's content is what is left).
EN_STOP = frozenset("the a an of in on at to for from by with and or is are was were be been what which who "
                    "whom how many much did does do when where why this that these those it its as about article "
                    "text say says said according".split())


def content_tokens(question: str) -> list[str]:
    """The question's lexical tokens without function and question words."""
    out = []
    for t in lexical.tokenize(question):
        if len(t) == 1 and t in _STOP:
            continue
        if t in _STOP_WORDS or t in EN_STOP:
            continue
        if len(t) == 2 and t[0] in _STOP and t[1] in _STOP:
            continue
        out.append(t)
    return out


def overlap(q_tokens: list[str], text: str, lex: lexical.LexicalIndex) -> float:
    """Idf-weighted share of the question's tokens that occur in ``text`` (0..1)."""
    if not q_tokens:
        return 0.0
    have = set(lexical.tokenize(text))
    weights = [(lex.idf(t) or 0.0, t in have) for t in dict.fromkeys(q_tokens)]
    total = sum(w for w, _ in weights)
    return sum(w for w, hit in weights if hit) / total if total > 0 else 0.0


def heading_sentences(section: str, sent_texts: list[str]) -> list[bool]:
    """Which sentences of a passage are its section's own heading (a run-in head such as
    ``三是坚决当好首都“护城河”。`` or ``维护经济安全。``, which the chunker made the section)."""
    last = section.rsplit(" › ", 1)[-1].strip()
    return [bool(last) and t.strip().rstrip("。！？；：:").strip() == last for t in sent_texts]


def heading_only(section: str, text: str) -> bool:
    """Whether a chunk's whole text is its section's heading (a title or ``三、统筹…`` on a line of its
    own, which the chunker keeps as a chunk): it names a topic and says nothing about it."""
    return heading_sentences(section.strip().rstrip("。！？；：:"), [text])[0]


def best_sentence(q_vec: np.ndarray, sent_vecs: np.ndarray, sent_texts: list[str],
                  q_tokens: list[str], lex: lexical.LexicalIndex,
                  dense_weight: float = SENTENCE_DENSE_WEIGHT, headings: list[bool] | None = None,
                  ) -> tuple[int, np.ndarray]:
    """Index of the sentence that best answers, and every sentence's score.

    A heading sentence (``headings``) is chosen only when the passage has nothing else: it shares
    every topic word of a question about its section, so it would often win, but it only names the
    topic (and the citation shows it as the section anyway).
    """
    cos = sent_vecs @ q_vec
    lexs = np.array([overlap(q_tokens, t, lex) for t in sent_texts], dtype=np.float32)
    scores = dense_weight * cos + (1 - dense_weight) * lexs
    if headings is not None and not all(headings):
        scores = np.where(np.asarray(headings, dtype=bool), scores - 10.0, scores)
    return int(np.argmax(scores)), scores
