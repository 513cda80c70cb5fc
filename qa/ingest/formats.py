"""Reading documents: plain text in any common Chinese encoding, Markdown, HTML, PDF and Word.

Every reader returns a :class:`Document`: the plain text that is indexed (offsets of
passages are offsets into it), the headings found (their offsets, so that the chunker
makes them sections, whatever they look like), for PDFs the offset where each page
starts, and how the file was read (format, encoding). A file that cannot be read
raises :class:`Refused` with a one-line reason for the user; the other files of a
build go on.

* ``.txt`` (and ``.md``): UTF-8 with or without BOM, else GB18030/GBK or Big5 when one
  decodes into mostly Chinese, else charset-normalizer's confident guess (UTF-16 …); the
  encoding is recorded and shown, and a file no encoding reads sensibly is refused.
* ``.md``/``.markdown``: parsed with markdown-it-py; the text without markup (no ``#``,
  ``**``, table pipes), headings as sections, table rows as one line each.
* ``.html``/``.htm``: the standard library's HTML parser; text and headings (h1–h6),
  never ``script``, ``style`` or ``template``.
* ``.pdf``: the text layer through pypdfium2 (Google's PDFium, Apache/BSD: PyMuPDF is
  AGPL, see ``shared/notes/ingest-libraries.md``), page by page; a PDF without text is a
  scan that needs OCR, an encrypted one is refused.
* ``.docx``: python-docx; paragraphs, heading styles (Heading n, 标题 n, Title) as
  sections, tables row by row. The archive is checked before it is opened: a zip bomb
  or a corrupt file is refused.
"""
from __future__ import annotations

import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

SUFFIXES = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html",
            ".pdf": "pdf", ".docx": "docx"}
#: Default largest document file, in bytes (``--max-file-size``, ``QA_MAX_FILE_MB``).
MAX_FILE_BYTES = 50 << 20
#: A .docx may unpack to at most this many bytes, and this many times its size (zip bombs).
MAX_UNZIPPED = 200 << 20
MAX_ZIP_RATIO = 100


class Refused(ValueError):
    """This file cannot be indexed; the message says why, in one line."""


@dataclass
class Document:
    """A document read from a file: the text that is indexed, and how it was read."""

    text: str
    format: str
    encoding: str | None = None
    headings: list[tuple[int, int]] = field(default_factory=list)  # (start, end) offsets of heading lines
    pages: list[int] | None = None  # start offset of each page (PDF), page n starts at pages[n - 1]

    def page_of(self, offset: int) -> int | None:
        if not self.pages:
            return None
        import bisect

        return bisect.bisect_right(self.pages, offset)


def supported(path: Path) -> bool:
    return Path(path).suffix.lower() in SUFFIXES


def read(path: Path, max_bytes: int = MAX_FILE_BYTES) -> Document:
    """Read ``path`` by its suffix; raises :class:`Refused` with the reason when it cannot be indexed."""
    path = Path(path)
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise Refused(f"{path.suffix or 'files without a suffix'} is not a supported format "
                      f"(supported: {', '.join(sorted(set(SUFFIXES)))})")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise Refused(f"cannot be read ({exc.strerror or exc})") from None
    if size > max_bytes:
        raise Refused(f"is {size / (1 << 20):.1f} MB, over the {max_bytes / (1 << 20):.0f} MB limit")
    if size == 0:
        raise Refused("is empty")
    raw = path.read_bytes()
    doc = {"txt": _text, "md": _markdown, "html": _html, "pdf": _pdf, "docx": _docx}[fmt](raw)
    doc.text = _normalise(doc.text, doc)
    if not re.search(r"[\w]", doc.text):
        raise Refused("has no text" + (" layer: it looks like a scan and needs OCR first" if fmt == "pdf" else ""))
    return doc


def _normalise(text: str, doc: Document) -> str:
    """Newlines as \\n; control characters (NUL …) dropped. Offsets recorded on the way are kept in step."""
    if "\r" not in text and not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text):
        return text
    out, mapping = [], []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\r":
            if i + 1 < len(text) and text[i + 1] == "\n":
                mapping.append(len(out))
                i += 1
                continue
            c = "\n"
        if re.match(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", c):
            mapping.append(len(out))
            i += 1
            continue
        mapping.append(len(out))
        out.append(c)
        i += 1
    mapping.append(len(out))
    new = "".join(out)
    doc.headings = [(mapping[a], mapping[b]) for a, b in doc.headings]
    if doc.pages:
        doc.pages = [mapping[p] for p in doc.pages]
    return new


# -- plain text -------------------------------------------------------------------------------------
def decode(raw: bytes) -> tuple[str, str]:
    """Text and the encoding used.

    UTF-8 (with or without BOM) and UTF-16 with a BOM first. Then the two Chinese double-byte
    families, GB18030 (GBK, GB2312) and Big5: whichever decodes cleanly into mostly Chinese
    wins. Short Chinese notes are where a statistical detector goes wrong (a GBK line read as
    Thai), and these two checks are exact. Only then charset-normalizer's guess, taken when it
    is confident and gives text in a script a reader expects; otherwise the file is refused
    rather than stored as garbage.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", "replace"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _binary(raw):
        raise Refused("is a binary file, not text")
    best_cjk: tuple[float, str, str] | None = None
    for encoding in ("gb18030", "big5"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        share = chinese_share(text)
        if best_cjk is None or share > best_cjk[0]:
            best_cjk = (share, text, encoding)
    if best_cjk is not None and best_cjk[0] >= CHINESE_SHARE:
        return best_cjk[1], best_cjk[2]
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:200_000]).best()
    if best is None or best.chaos > MAX_CHAOS:
        raise Refused("is not text in any encoding that could be recognised for sure: save it as UTF-8 and "
                      "add it again")
    encoding = best.encoding
    if encoding in ("gb2312", "gbk"):
        encoding = "gb18030"  # the superset: characters GBK lacks decode too
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        text = raw.decode(encoding, "replace")
    if unexpected_share(text) > 0.5:
        raise Refused(f"could not be decoded for sure: read as {encoding} it is mostly characters of no "
                      "expected script; save it as UTF-8 and add it again")
    return text, encoding


#: A double-byte decoding is taken when at least this share of its non-ASCII characters is Chinese.
CHINESE_SHARE = 0.9
#: charset-normalizer's guess is taken only below this mess ratio (0 clean, 1 garbage).
MAX_CHAOS = 0.2


def _chinese(c: str) -> bool:
    o = ord(c)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x3000 <= o <= 0x303F or 0xFF00 <= o <= 0xFFEF
            or 0x2000 <= o <= 0x206F)


def chinese_share(text: str) -> float:
    """The share of non-ASCII, non-space characters that are Chinese (Han, CJK and full-width punctuation)."""
    wide = [c for c in text if ord(c) > 0x7F and not c.isspace()]
    return sum(map(_chinese, wide)) / len(wide) if wide else 0.0


def unexpected_share(text: str) -> float:
    """The share of non-ASCII, non-space characters that a reader of Chinese, Latin-script or CJK text does
    not expect: unassigned, private-use, replacement characters, and scripts such as Thai met by mis-decoding."""
    wide = [c for c in text if ord(c) > 0x7F and not c.isspace()]
    if not wide:
        return 0.0

    def odd(c: str) -> bool:
        if _chinese(c) or 0x00A0 <= ord(c) <= 0x024F or 0x3040 <= ord(c) <= 0x30FF or 0xAC00 <= ord(c) <= 0xD7AF:
            return False  # Han, Latin-1 and Latin Extended, kana, Hangul
        if c == "\ufffd" or unicodedata.category(c) in ("Cn", "Co", "Cs"):
            return True
        name = unicodedata.name(c, "")
        return name.startswith(("THAI", "LAO", "ARMENIAN", "GEORGIAN", "TIBETAN", "HEBREW", "ARABIC", "SYRIAC",
                                "THAANA", "KHMER", "MYANMAR", "BOX DRAWINGS", "BLOCK"))
    return sum(map(odd, wide)) / len(wide)


def _binary(raw: bytes) -> bool:
    head = raw[:8192]
    if b"\x00" in head:
        return True
    controls = sum(b < 9 or 13 < b < 32 for b in head)
    return controls > len(head) * 0.05


def _text(raw: bytes) -> Document:
    if _binary(raw) and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Refused("is a binary file, not text")
    text, enc = decode(raw)
    return Document(text, "txt", enc)


# -- Markdown ---------------------------------------------------------------------------------------
def _markdown(raw: bytes) -> Document:
    from markdown_it import MarkdownIt

    source, enc = decode(raw)
    tokens = MarkdownIt("commonmark").enable("table").parse(source)
    out: list[str] = []
    headings = []
    pos = 0
    row: list[str] | None = None
    heading = False
    for tok in tokens:
        if tok.type == "heading_open":
            heading = True
        elif tok.type == "heading_close":
            heading = False
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "tr_close" and row is not None:
            line = "，".join(c for c in row if c)
            if line:
                out.append(line + ("" if line.endswith(("。", "！", "？", "；")) else "。"))
                pos += len(out[-1]) + 1
            row = None
        elif tok.type == "inline":
            text = _inline_text(tok)
            if row is not None:
                row.append(text.strip())
                continue
            if not text.strip():
                continue
            if heading:
                headings.append((pos, pos + len(text)))
            out.append(text)
            pos += len(text) + 1
        elif tok.type in ("fence", "code_block"):
            out.append(tok.content.rstrip("\n"))
            pos += len(out[-1]) + 1
    return Document("\n".join(out), "md", enc, headings)


def _inline_text(tok) -> str:
    parts = []
    for child in tok.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts)


# -- HTML --------------------------------------------------------------------------------------------
_BLOCK = {"p", "div", "li", "tr", "br", "section", "article", "header", "footer", "blockquote", "pre", "table",
          "ul", "ol", "dd", "dt", "h1", "h2", "h3", "h4", "h5", "h6", "title", "hr"}
_SKIP = {"script", "style", "template", "noscript", "head", "svg", "iframe", "object"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.headings: list[tuple[int, int]] = []
        self.skip = 0
        self.heading_start: int | None = None
        self.pos = 0
        self.title = ""
        self.in_title = False

    def _newline(self):
        if self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")
            self.pos += 1

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip += 1
        if tag == "title":
            self.in_title = True
        if tag in _BLOCK:
            self._newline()
        if tag in ("td", "th") and self.parts and not self.parts[-1].endswith(("\n", "，")):
            self.parts.append("，")
            self.pos += 1
        if re.fullmatch(r"h[1-6]", tag) and not self.skip:
            self.heading_start = self.pos

    def handle_endtag(self, tag):
        if tag in _SKIP and self.skip:
            self.skip -= 1
        if tag == "tr" and self.parts and not self.parts[-1].endswith(("\n", "。", "！", "？", "；")):
            self.parts.append("。")  # a table row reads as one sentence
            self.pos += 1
        if tag == "title":
            self.in_title = False
        if re.fullmatch(r"h[1-6]", tag) and self.heading_start is not None:
            if self.pos > self.heading_start:
                self.headings.append((self.heading_start, self.pos))
            self.heading_start = None
        if tag in _BLOCK:
            self._newline()

    def handle_data(self, data):
        if self.in_title:
            self.title += data
            return
        if self.skip:
            return
        text = re.sub(r"[ \t\r\n\f\v]+", " ", data)
        if not text.strip():
            return
        if self.parts and self.parts[-1].endswith("\n"):
            text = text.lstrip()
        self.parts.append(text)
        self.pos += len(text)


def _html(raw: bytes) -> Document:
    m = re.search(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_-]+)", raw[:4096], re.I)
    source, enc = None, None
    if m:
        try:
            enc = m.group(1).decode("ascii").lower()
            source = raw.decode("gb18030" if enc in ("gb2312", "gbk") else enc)
        except (LookupError, UnicodeDecodeError):
            source = None
    if source is None:
        source, enc = decode(raw)
    p = _Text()
    try:
        p.feed(source)
        p.close()
    except Exception as exc:  # noqa: BLE001 - the parser is lenient; anything else is a broken file
        raise Refused(f"is not readable HTML ({exc})") from None
    return Document("".join(p.parts).strip("\n"), "html", enc, p.headings)


# -- PDF ---------------------------------------------------------------------------------------------
def _pdf(raw: bytes) -> Document:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as exc:
        msg = str(exc).lower()
        if "password" in msg or "security" in msg:
            raise Refused("is an encrypted PDF: remove the password and add it again") from None
        raise Refused(f"is not a readable PDF ({exc})") from None
    try:
        pages, parts, pos = [], [], 0
        for i in range(len(pdf)):
            page = pdf[i]
            try:
                text = page.get_textpage().get_text_range()
            finally:
                page.close()
            text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
            pages.append(pos)
            parts.append(text)
            pos += len(text) + 2
    finally:
        pdf.close()
    if not any(re.search(r"\w", t) for t in parts):
        raise Refused("has no text layer: it looks like a scanned PDF and needs OCR first")
    return Document("\n\n".join(parts), "pdf", None, [], pages)


# -- Word --------------------------------------------------------------------------------------------
def _docx(raw: bytes) -> Document:
    import io

    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise Refused(f"is not a valid .docx (a .docx is a zip archive: {exc})") from None
    unzipped = sum(i.file_size for i in infos)
    if unzipped > MAX_UNZIPPED or unzipped > MAX_ZIP_RATIO * max(len(raw), 1):
        raise Refused(f"would unpack to {unzipped / (1 << 20):.0f} MB from {len(raw) / 1024:.0f} KB: refused "
                      "as a possible zip bomb")
    if "word/document.xml" not in {i.filename for i in infos}:
        raise Refused("is not a Word document (no word/document.xml inside)")
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        d = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # noqa: BLE001 - python-docx raises many kinds on a broken file
        raise Refused(f"is a corrupt .docx ({type(exc).__name__})") from None
    lines: list[str] = []
    headings = []
    pos = 0
    # style names looked up once: python-docx's Paragraph.style searches the styles part each time,
    # minutes for a file of 300,000 paragraphs
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    names = {st.style_id: st.name or "" for st in d.styles}
    default = d.styles.default(WD_STYLE_TYPE.PARAGRAPH)
    default_name = (default.name or "") if default is not None else ""
    for block in d.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = Paragraph(block, d).text.strip()
            if not text:
                continue
            ref = block.find(f"{w}pPr/{w}pStyle")
            style = names.get(ref.get(f"{w}val"), default_name) if ref is not None else default_name
            if re.match(r"(Heading|标题|Title)\s*\d*", style, re.I):
                headings.append((pos, pos + len(text)))
            lines.append(text)
            pos += len(text) + 1
        elif tag == "tbl":
            for row in Table(block, d).rows:
                cells = []
                for c in row.cells:
                    t = re.sub(r"\s+", " ", c.text).strip()
                    if t and (not cells or cells[-1] != t):  # merged cells repeat
                        cells.append(t)
                if cells:
                    line = "，".join(cells)
                    line += "" if line.endswith(("。", "！", "？", "；")) else "。"
                    lines.append(line)
                    pos += len(line) + 1
    return Document("\n".join(lines), "docx", None, headings)


def describe(doc: Document) -> str:
    """How a document was read, for messages: ``PDF, 3 pages`` / ``text, GB18030``."""
    parts = [{"txt": "text", "md": "Markdown", "html": "HTML", "pdf": "PDF", "docx": "Word"}[doc.format]]
    if doc.pages:
        parts.append(f"{len(doc.pages)} pages")
    if doc.encoding and doc.encoding not in ("utf-8", None):
        parts.append(unicodedata.normalize("NFKC", doc.encoding).upper())
    return ", ".join(parts)
