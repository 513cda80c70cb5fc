"""Document formats, read from real files that the tests make with real libraries (reportlab for PDF,
python-docx for Word, the codecs for GBK/Big5), and the one-line refusals of files that cannot be read."""
from __future__ import annotations

import io
import zipfile

import pytest

from qa.ingest import formats
from qa.ingest.chunking import chunk_document

PAGE1 = "第一章 总则\n本办法适用于全市的供水管理。供水企业应当保障水质安全。"
PAGE2 = "第二章 价格\n居民生活用水价格为每立方米3.5元。非居民用水价格另行规定。"


def make_pdf(path, pages=(PAGE1, PAGE2), encrypt=None, text=True):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path), pagesize=A4, encrypt=encrypt)
    for page in pages:
        if text:
            y = 780
            for i, line in enumerate(page.split("\n")):
                c.setFont("STSong-Light", 18 if i == 0 else 12)
                c.drawString(60, y, line)
                y -= 28
        else:
            c.rect(60, 600, 300, 150, fill=1)  # a "scan": shapes, no text layer
        c.showPage()
    c.save()
    return path


WATER_ROWS = [("用水类别", "价格"), ("居民生活用水", "每立方米3.5元"), ("非居民用水", "每立方米5.8元")]


def make_docx(path, title="供水管理办法", intro="本办法适用于全市的供水管理。", heading="价格",
              lead="各类用水价格见下表。", rows=WATER_ROWS):
    """A Word file: a level-1 ``title``, ``intro``, a level-2 ``heading``, ``lead`` and a table of ``rows``."""
    import docx

    d = docx.Document()
    d.add_heading(title, level=1)
    d.add_paragraph(intro)
    d.add_heading(heading, level=2)
    d.add_paragraph(lead)
    table = d.add_table(rows=len(rows), cols=len(rows[0]))
    for row, cells in zip(table.rows, rows):
        for cell, value in zip(row.cells, cells):
            cell.text = value
    d.save(str(path))
    return path


#: One document per format, each with its own facts so that each question has exactly one right
#: document: (format, file name, question, fact in the answer, section of the cited passage or None
#: where the format has no headings, page of the cited passage).
SAMPLES = [
    ("pdf", "water.pdf", "居民生活用水价格是多少？", "3.5元", None, 2),
    ("docx", "rules.docx", "大型客车停车每小时收费多少？", "15元", "收费标准", None),
    ("txt", "parks.txt", "本市共有多少座公园？", "十二座", None, None),
    ("md", "guide.md", "图书的借期是多少天？", "三十天", "借阅规则", None),
    ("html", "notice.html", "光明小区什么时候停电？", "3月15日", "停电通知", None),
]


def make_samples(folder, names=None):
    """Write the :data:`SAMPLES` documents into ``folder`` (``names``: format -> another file name);
    return their paths by format. The text file is GBK, the HTML page carries a script that must not
    be indexed, the PDF's answer is on page 2 and the Word file's in a table."""
    names = {fmt: name for fmt, name, *_ in SAMPLES} | (names or {})
    paths = {fmt: folder / name for fmt, name in names.items()}
    make_pdf(paths["pdf"])
    make_docx(paths["docx"], title="停车场管理规定", intro="本规定适用于市属公共停车场。", heading="收费标准",
              lead="各类车辆的停车收费见下表。",
              rows=[("车辆类型", "收费标准"), ("小型汽车", "每小时6元"), ("大型客车", "每小时15元")])
    paths["txt"].write_bytes("本市共有公园十二座，其中今年新建公园三座。\n公园每天早上六点开门，晚上十点关门，"
                             "节假日延长开放一小时。\n".encode("gbk"))
    paths["md"].write_text("# 市图书馆借阅指南\n\n市图书馆位于人民路十八号，周一闭馆。\n\n## 借阅规则\n\n"
                           "每位读者最多可借图书**八册**，借期为三十天。\n", encoding="utf-8")
    paths["html"].write_text("<html><body><h1>停电通知</h1><script>alert(1)</script>"
                             "<p>因线路检修，光明小区将于3月15日上午九点至下午三点停电。</p></body></html>",
                             encoding="utf-8")
    return paths


def test_pdf_pages_and_text(tmp_path):
    doc = formats.read(make_pdf(tmp_path / "w.pdf"))
    assert doc.format == "pdf" and len(doc.pages) == 2
    assert "每立方米3.5元" in doc.text
    at = doc.text.index("3.5元")
    assert doc.page_of(at) == 2 and doc.page_of(doc.text.index("水质安全")) == 1
    chunks = chunk_document(doc.text, "w.pdf", 150, page_of=doc.page_of)
    assert {c.page for c in chunks} == {1, 2}
    assert next(c for c in chunks if "3.5元" in c.text).page == 2


def test_scanned_and_encrypted_pdfs_are_refused_with_a_reason(tmp_path):
    with pytest.raises(formats.Refused, match="OCR"):
        formats.read(make_pdf(tmp_path / "scan.pdf", text=False))
    with pytest.raises(formats.Refused, match="encrypted"):
        formats.read(make_pdf(tmp_path / "secret.pdf", encrypt="s3cret-pass"))
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\n not really")
    with pytest.raises(formats.Refused, match="not a readable PDF"):
        formats.read(tmp_path / "broken.pdf")


def test_docx_headings_and_tables(tmp_path):
    doc = formats.read(make_docx(tmp_path / "w.docx"))
    assert doc.format == "docx"
    heads = [doc.text[a:b] for a, b in doc.headings]
    assert heads == ["供水管理办法", "价格"]
    assert "居民生活用水，每立方米3.5元。" in doc.text  # a table row is one sentence
    chunks = chunk_document(doc.text, "w.docx", 150, headings=doc.headings)
    row = next(c for c in chunks if "5.8元" in c.text)
    assert row.section.startswith("价格") and not any(c.text == "价格" for c in chunks)


def test_docx_zip_bomb_and_corrupt_files_are_refused(tmp_path):
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"0" * (300 << 20))
    (tmp_path / "bomb.docx").write_bytes(bomb.getvalue())
    with pytest.raises(formats.Refused, match="zip bomb"):
        formats.read(tmp_path / "bomb.docx")
    (tmp_path / "corrupt.docx").write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(formats.Refused, match="not a valid .docx"):
        formats.read(tmp_path / "corrupt.docx")


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "big5", "utf-8-sig", "utf-16"])
def test_chinese_encodings_are_detected_and_named(tmp_path, encoding):
    text = "居民生活用水价格为每立方米3.5元。" * 3 + "供水企业应当保障水质安全，不得擅自停止供水。" * 3
    if encoding == "big5":
        text = "居民生活用水價格為每立方米3.5元。" * 3 + "供水企業應當保障水質安全，不得擅自停止供水。" * 3
    p = tmp_path / f"t-{encoding}.txt"
    p.write_bytes(text.encode(encoding))
    doc = formats.read(p)
    assert doc.text == text
    assert doc.encoding.replace("_", "-").lower() in {encoding, "gb18030", "utf-16", "utf-8-sig", "big5", "cp950",
                                                      "big5hkscs"}


def test_html_text_and_headings_without_script_or_style(tmp_path):
    p = tmp_path / "p.html"
    p.write_text("<html><head><title>通知</title><style>.x{color:red}</style>"
                 "<script>var secret='不该出现';</script></head><body><h1>供水通知</h1>"
                 "<p>居民生活用水价格为<b>每立方米3.5元</b>。</p><h2>停水</h2><p>明天停水一天。</p>"
                 "<table><tr><td>区域</td><td>时间</td></tr></table></body></html>", encoding="utf-8")
    doc = formats.read(p)
    assert "不该出现" not in doc.text and "color" not in doc.text
    assert [doc.text[a:b] for a, b in doc.headings] == ["供水通知", "停水"]
    assert "居民生活用水价格为每立方米3.5元。" in doc.text and "区域，时间" in doc.text


def test_markdown_without_markup(tmp_path):
    p = tmp_path / "m.md"
    p.write_text("# 供水办法\n\n居民用水**每立方米3.5元**。\n\n## 价格表\n\n| 类别 | 价格 |\n|---|---|\n"
                 "| 非居民 | 5.8元 |\n\n- 第一条\n- 第二条\n", encoding="utf-8")
    doc = formats.read(p)
    assert "#" not in doc.text and "**" not in doc.text and "|" not in doc.text
    assert "非居民，5.8元。" in doc.text and "居民用水每立方米3.5元。" in doc.text
    assert [doc.text[a:b] for a, b in doc.headings] == ["供水办法", "价格表"]


@pytest.mark.parametrize("content,reason", [
    (b"", "empty"),
    (b"   \n\n\t ", "no text"),
    (b"\x00" * 500, "binary"),
    (bytes(range(256)) * 20, "binary"),
])
def test_empty_and_binary_files_are_refused(tmp_path, content, reason):
    p = tmp_path / "x.txt"
    p.write_bytes(content)
    with pytest.raises(formats.Refused, match=reason):
        formats.read(p)


def test_size_limit_and_unknown_formats(tmp_path):
    p = tmp_path / "big.txt"
    p.write_text("字" * 2000, encoding="utf-8")
    with pytest.raises(formats.Refused, match="over the"):
        formats.read(p, max_bytes=1000)
    with pytest.raises(formats.Refused, match="not a supported format"):
        formats.read(tmp_path / "x.xlsx")


# -- short texts in Chinese encodings, degenerate files, encryption without a password (issue 17) -----------
@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "big5"])
@pytest.mark.parametrize("text", ["中文编码测试：合同编号是甲乙丙。", "合同", "請於三日內回覆。"])
def test_short_chinese_text_decodes_to_its_chinese(tmp_path, encoding, text):
    try:
        raw = text.encode(encoding)
    except UnicodeEncodeError:
        pytest.skip(f"{text} has no {encoding} form")
    p = tmp_path / "note.txt"
    p.write_bytes(raw)
    doc = formats.read(p)
    assert doc.text == text, (doc.text, doc.encoding)


def test_the_gbk_sample_is_named_and_not_read_as_thai(tmp_path):
    p = tmp_path / "gbk.txt"
    p.write_bytes("中文编码测试：合同编号是甲乙丙。".encode("gbk"))
    doc = formats.read(p)
    assert doc.text == "中文编码测试：合同编号是甲乙丙。" and doc.encoding == "gb18030"
    assert formats.describe(doc) == "text, GB18030"


def test_text_in_no_sensible_encoding_is_refused_not_stored_as_garbage(tmp_path):
    import random

    assert formats.unexpected_share("ึะฮฤฑเย๋ฒโสิ") == 1.0 and formats.chinese_share("中文编码测试：") == 1.0
    p = tmp_path / "noise.txt"
    rnd = random.Random(1)
    p.write_bytes(bytes(rnd.randrange(128, 256) for _ in range(200)))  # high bytes in no encoding's order
    with pytest.raises(formats.Refused, match="UTF-8"):
        formats.read(p)


def test_a_docx_of_many_tiny_paragraphs_reads_into_few_chunks(tmp_path):
    import docx

    d = docx.Document()
    d.add_heading("清单", level=1)
    for i in range(20_000):
        d.add_paragraph("abcdefghij"[i % 10])
    path = tmp_path / "tiny.docx"
    d.save(str(path))
    doc = formats.read(path)
    assert doc.headings == [(0, 2)]
    chunks = chunk_document(doc.text, "tiny.docx", 150, headings=doc.headings)
    assert 200 <= len(chunks) <= 400 and all(c.section == "清单" for c in chunks)


def test_a_pdf_encrypted_with_an_empty_user_password_is_read(tmp_path):
    """It opens without a password in any viewer, so it is read (its permission flags are not DRM we
    enforce); a PDF that needs a password is refused (test_scanned_and_encrypted_pdfs_are_refused_with_a_reason)."""
    from reportlab.lib.pdfencrypt import StandardEncryption

    path = make_pdf(tmp_path / "open.pdf", encrypt=StandardEncryption("", ownerPassword="owner-secret",
                                                                       canCopy=0, canPrint=0))
    doc = formats.read(path)
    assert doc.format == "pdf" and "居民生活用水" in doc.text
