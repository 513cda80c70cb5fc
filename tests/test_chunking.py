from qa.ingest.chunking import Span, chunk_document, is_heading, paragraphs, read_document, run_in_head, sentences


def test_offsets_round_trip_on_the_article(seed_text):
    for max_chars in (60, 150, 300):
        chunks = chunk_document(seed_text, "a.txt", max_chars)
        assert chunks
        for c in chunks:
            assert seed_text[c.start:c.end] == c.text
            for a, b in c.sentences:
                assert c.start <= a < b <= c.end
        # chunks are in order and never overlap
        assert all(x.end <= y.start for x, y in zip(chunks, chunks[1:]))


def test_chunks_cover_every_sentence(seed_text):
    chunks = chunk_document(seed_text, "a.txt")
    covered = "".join(c.text for c in chunks)
    for para in paragraphs(seed_text):
        for s in sentences(para.text, para.start):
            assert s.text in covered


def test_never_cuts_inside_a_sentence_that_fits(seed_text):
    max_chars = 150
    sents = [s for p in paragraphs(seed_text) for s in sentences(p.text, p.start)]
    chunks = chunk_document(seed_text, "a.txt", max_chars)
    bounds = {c.start for c in chunks} | {c.end for c in chunks}
    for s in sents:
        if len(s.text) <= max_chars:
            assert not any(s.start < b < s.end for b in bounds), s.text
    assert all(len(c.text) <= max_chars for c in chunks)


def test_sentence_ends_and_closing_quotes():
    text = "他说：“今天下雨。”我们走吧！真的吗？好；走。"
    got = [s.text for s in sentences(text)]
    assert got == ["他说：“今天下雨。”", "我们走吧！", "真的吗？", "好；", "走。"]
    for s in sentences(text, 10):
        assert text[s.start - 10:s.end - 10] == s.text


def test_paragraphs_split_on_newlines_and_ideographic_spaces():
    text = "标题\u3000\u3000第一段。\n\n第二段。  \n第三段。"
    paras = paragraphs(text)
    assert [p.text for p in paras] == ["标题", "第一段。", "第二段。", "第三段。"]
    assert all(text[p.start:p.end] == p.text for p in paras)


def test_sections_headings_and_run_in_heads(seed_text):
    chunks = chunk_document(seed_text, "a.txt")
    coal = next(c for c in chunks if "11.9亿吨" in c.text)
    assert coal.section.startswith("一、坚定捍卫")
    assert coal.section.endswith("一是牢固树立大局意识")
    flood = next(c for c in chunks if "16.34万人" in c.text)
    assert flood.section.endswith("全力防汛救灾")
    assert chunks[0].section == chunks[0].text  # the title names the opening section
    assert is_heading("一、坚定捍卫“两个确立”、坚决做到“两个维护”，始终坚持党的领导")
    assert not is_heading("一是牢固树立大局意识。胸怀“两个大局”。")
    assert run_in_head("统筹疫情防控。时刻绷紧疫情防控这根弦。") == "统筹疫情防控"
    assert run_in_head("二是始终做到居安思危。坚持把防范化解重大风险摆在突出位置。") == "二是始终做到居安思危"
    assert run_in_head("习近平总书记强调，国泰民安是人民群众最基本的愿望。我们始终。") is None


def test_an_over_long_sentence_is_cut_at_clause_marks():
    sentence = "，".join(["这是一个相当长的分句用于测试"] * 20) + "。"
    chunks = chunk_document(sentence, "long.txt", 100)
    assert len(chunks) > 1
    assert "".join(c.text for c in chunks) == sentence
    assert all(len(c.text) <= 100 for c in chunks)
    assert all(c.text.endswith(("，", "。")) for c in chunks)


def test_text_without_punctuation_and_empty_text():
    assert chunk_document("", "e.txt") == []
    assert chunk_document("   \n\u3000\u3000 ", "e.txt") == []
    chunks = chunk_document("没有标点的一段话" * 50, "n.txt", 120)
    assert "".join(c.text for c in chunks) == "没有标点的一段话" * 50


def test_read_document_strips_bom_and_normalises_newlines(tmp_path):
    p = tmp_path / "d.txt"
    p.write_bytes("\ufeff第一行。\r\n第二行。".encode("utf-8"))
    assert read_document(p) == "第一行。\n第二行。"
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01\x02\x03binary\x00" * 10)
    import pytest

    with pytest.raises(ValueError, match="binary"):
        read_document(bad)


def test_span_is_a_value():
    assert Span("a", 0, 1) == Span("a", 0, 1)


# -- short lines (issue 17) --------------------------------------------------------------------------------
def test_runs_of_short_lines_are_packed_into_chunks_with_exact_offsets():
    text = "清单\n\n" + "\n".join("苹香橘葡"[i % 4] for i in range(1000))
    chunks = chunk_document(text, "t", 150)
    assert 10 <= len(chunks) <= 16  # not a chunk a line
    for c in chunks:
        assert text[c.start:c.end] == c.text and len(c.text) <= 150
        assert c.sentences == ((c.start, c.end),)  # more than RUN_SENTENCES lines: one sentence


def test_a_short_list_keeps_its_lines_as_sentences_and_sentences_stay_apart():
    text = "水果\n苹果\n香蕉\n橘子\n价格\n大型客车，每小时15元。\n小型汽车，每小时6元。\n摩托车，每小时2元。"
    chunks = chunk_document(text, "t", 150)
    listed = [c for c in chunks if "苹果" in c.text]
    assert len(listed) == 1 and [text[a:b] for a, b in listed[0].sentences] == ["水果", "苹果", "香蕉", "橘子", "价格"]
    rows = [c.text for c in chunks if "每小时" in c.text]  # lines that end a sentence chunk as before
    assert rows == ["大型客车，每小时15元。", "小型汽车，每小时6元。", "摩托车，每小时2元。"]


def test_two_short_lines_are_not_a_run():
    chunks = chunk_document("第一行\n第二行\n这是一个完整的句子，它说明了一件事情。", "t", 150)
    assert [c.text for c in chunks] == ["第一行", "第二行", "这是一个完整的句子，它说明了一件事情。"]
