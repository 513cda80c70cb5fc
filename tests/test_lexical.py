import numpy as np

from qa.index.lexical import LexicalIndex, figures, tokenize


def test_figures_stay_whole_with_bare_number():
    toks = tokenize("煤炭产量11.9亿吨，化解率达97.52%，2021年")
    for t in ("11.9亿吨", "11.9", "97.52%", "97.52", "2021年", "2021"):
        assert t in toks
    assert "11" not in toks and "9" not in toks
    assert figures("2021年产量11.9亿吨") == ["2021年", "11.9亿吨"]


def test_full_width_digits_and_latin_are_normalised():
    assert tokenize("１１．９亿吨") == tokenize("11.9亿吨")
    assert "pm2.5" in tokenize("PM2.5平均浓度")
    assert tokenize("Coal OUTPUT") == ["coal", "output"]


def test_cjk_unigrams_and_bigrams():
    assert tokenize("煤炭产量") == ["煤", "炭", "产", "量", "煤炭", "炭产", "产量"]
    assert tokenize("") == [] and tokenize("？！，") == []


def test_bm25_ranks_the_chunk_with_the_figure_first():
    ix = LexicalIndex.build(["煤炭产量11.9亿吨。", "空气质量优良天数比例达72.1%。", "防汛救灾转移群众16.34万人。"])
    s = ix.scores("产量是11.9亿吨吗")
    assert int(np.argmax(s)) == 0
    assert ix.scores("完全无关的英文 words").max() == 0
    assert ix.coverage("煤炭") == 1.0 and ix.coverage("quantum") == 0.0
    assert ix.idf("煤") > 0 and ix.idf("不存在") == 0


def test_save_and_load_round_trip(tmp_path):
    ix = LexicalIndex.build(["煤炭产量11.9亿吨。", "空气质量优良天数比例达72.1%。"])
    saved = ix.save(tmp_path)
    vocab = {t: (i, d) for t, i, d in saved["terms"]}
    back = LexicalIndex.load(tmp_path, vocab, saved["n_docs"], saved["avg_len"])
    q = "空气质量72.1%"
    assert np.allclose(ix.scores(q), back.scores(q))
    assert back.df("空气") == ix.df("空气") == 1 and back.has("72.1%") and not back.has("煤矿")


def test_scores_equal_bm25s_lucene(seed_text):
    """Our BM25 is bm25s's "lucene" variant: same scores on the article's chunks for the shipped questions."""
    import json
    from importlib import resources

    import bm25s

    from qa.ingest.chunking import chunk_document

    texts = [c.text for c in chunk_document(seed_text, "a.txt")]
    ours = LexicalIndex.build(texts)
    ref = bm25s.BM25(k1=1.2, b=0.75)
    ref.index([tokenize(t) or ["\u0000"] for t in texts], show_progress=False)
    questions = [json.loads(line)["question"] for line in
                 resources.files("qa").joinpath("data/questions.jsonl").read_text("utf-8").splitlines() if line]
    assert len(questions) > 100
    for q in questions:
        toks = [t for t in tokenize(q) if t in ref.vocab_dict]
        want = ref.get_scores(toks) if toks else np.zeros(len(texts))
        assert np.allclose(ours.scores(q), want, atol=1e-4), q


def test_candidates_and_exact_scores_for_a_subset(seed_text):
    from qa.ingest.chunking import chunk_document

    texts = [c.text for c in chunk_document(seed_text, "a.txt", 60)]
    ix = LexicalIndex.build(texts)
    for q in ("2021年山西煤炭产量是多少？", "汾河秋汛转移安置群众", "PM2.5平均浓度", "的的的"):
        full = ix.scores(q)
        cand = ix.candidates(q, 10)
        assert len(cand) <= 10 and len(set(cand.tolist())) == len(cand)
        # every candidate is a chunk the rare tokens match; the best chunk is among them
        if full.max() > 0:
            assert int(np.argmax(full)) in set(cand.tolist()) or q == "的的的"
        ids = np.array([5, 0, len(texts) - 1, 17], dtype=np.int64)
        assert np.allclose(ix.scores_for(q, ids), full[ids], atol=1e-5)
