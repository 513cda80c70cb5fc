"""The answer sentence: dense cosine blended with idf-weighted overlap, and a heading never chosen
while its passage has something else to say. Sentences are made up here."""
import numpy as np

from qa.answer import sentences as answer
from qa.index.lexical import LexicalIndex

SENTS = ["维护粮食安全。", "全市粮食产量达到120万吨，增长3%。", "今年雨水偏多。"]


def unit(*xs):
    v = np.asarray(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_heading_sentences_are_the_section_own_head():
    assert answer.heading_sentences("二、民生 › 维护粮食安全", SENTS) == [True, False, False]
    assert answer.heading_sentences("二、民生", SENTS) == [False, False, False]
    assert answer.heading_sentences("", SENTS) == [False, False, False]


def test_overlap_weighs_rare_tokens():
    lex = LexicalIndex.build(SENTS + ["粮食是根本。", "粮食很重要。"])
    q = answer.content_tokens("全市粮食产量是多少？")
    assert answer.overlap(q, SENTS[1], lex) > answer.overlap(q, SENTS[0], lex) > 0
    assert answer.overlap([], SENTS[1], lex) == 0.0


def test_a_heading_loses_to_the_sentence_that_says_something():
    lex = LexicalIndex.build(SENTS)
    q_tokens = answer.content_tokens("维护粮食安全的产量目标是什么？")
    q = unit(1, 0, 0)
    vecs = np.stack([unit(1, 0.05, 0), unit(0.8, 0.6, 0), unit(0, 0, 1)])  # the heading is the closest
    best, _ = answer.best_sentence(q, vecs, SENTS, q_tokens, lex)
    assert best == 0
    best, scores = answer.best_sentence(q, vecs, SENTS, q_tokens, lex, headings=[True, False, False])
    assert best == 1 and scores[0] < scores[1]
    # a passage that is only its heading still answers with it
    best, _ = answer.best_sentence(q, vecs[:1], SENTS[:1], q_tokens, lex, headings=[True])
    assert best == 0
