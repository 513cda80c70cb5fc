"""The web chat: a Gradio 6 page (and a named API endpoint) over :meth:`Retriever.ask`.

``qa serve`` loads one :class:`~qa.retriever.Retriever` before the first request, builds the page
with :func:`build_app` and serves it on loopback unless ``--host`` says otherwise.

Everything shown on the page that comes from the documents or from the user goes through
:func:`esc` first (HTML escaping plus entity-encoding of Markdown syntax), so a question such as
``<img src=x onerror=alert(1)>`` is displayed as text and never runs.

API (same JSON as ``qa ask --json``)::

    from gradio_client import Client
    Client("http://127.0.0.1:7860/").predict("2021年山西煤炭产量是多少？", 5, "hybrid", api_name="/ask")
"""
from __future__ import annotations

import argparse
import html
import re
from pathlib import Path
import signal
import socket
import sys
import threading
import time
from types import SimpleNamespace

import gradio as gr

from .. import config
from ..retriever import MAX_K, MODES, Answer, Passage, Retriever, check_k, check_mode, clean_question

#: Cited documents shown whole in the 全文 panel.
MAX_SHOWN_DOCS = 3
#: Settings offered on the page (the API accepts k up to MAX_K).
PAGE_MAX_K = 10
DEFAULT_K = 5
DEFAULT_CONCURRENCY = 2
#: Queued events beyond this are refused with "queue full" instead of waiting forever.
QUEUE_MAX_SIZE = 256
#: Longest user message echoed in full in the chat (the question itself is cut by clean_question).
ECHO_MAX_CHARS = 2000
#: Sessions whose state (a conversation's questions, its ratable replies) is kept. Every API call is a
#: session of its own, and Gradio keeps 10,000 by default, which is what made memory grow without a
#: plateau under load (about 60 KB a request); a thousand conversations fit in about 60 MB.
SESSION_CAPACITY = 1000
#: The largest upload (a document for the library), in bytes.
MAX_UPLOAD_BYTES = 50 << 20
#: Uploads never added are deleted once older than this many seconds (``QA_UPLOAD_MAX_AGE``), looked for
#: every sixth of it (at most every 5 minutes); added ones are deleted at once (add_documents).
UPLOAD_MAX_AGE = 1800


def _upload_cleanup() -> tuple[int, int]:
    """Gradio's ``delete_cache`` (frequency, age) for uploads that were never added."""
    age = max(1, int(config.number("QA_UPLOAD_MAX_AGE") or UPLOAD_MAX_AGE))
    return max(1, min(300, age // 6)), age

EXAMPLES = [
    "2021年山西煤炭产量是多少？",
    "去年汾河流域秋汛中紧急转移安置了多少群众？",
    "PM2.5平均浓度是多少？",
    "How much coal did Shanxi produce in 2021?",
    "北京冬奥会中国队获得了多少枚金牌？",
]

MODE_LABELS = {
    "hybrid": "混合 hybrid（推荐）",
    "dense": "语义 dense",
    "lexical": "关键词 lexical (BM25)",
}
SCORE_HELP = {
    "hybrid": "0–1，1 为最相关",
    "dense": "余弦相似度",
    "lexical": "BM25 分数，越高越相关",
}

INTRO = """\
# 文档问答 · qa
用中文或英文就文章提问：机器人先给出**简短的答案**（如 **11.9亿吨**），再给出**回答问题的那句话**和它所依据的段落
（章节、在全文中的位置、相关度），答案句用<mark>高亮</mark>标出。文章里找不到答案时，会直接说明缺了什么，
并列出最接近的段落供参考。可以接着追问（如“同比涨了多少？”），回复里的“理解为”会说明机器人怎样理解了追问；
换话题时点“新对话”。每条回复下的 👍/👎 帮助我们改进。全部在本机离线运行。
"""

# The chat scrolls by itself (autoscroll is off, so a long reply does not hide its answer
# sentence): to the bottom when a question is sent, and to the top of the latest question once
# the reply arrives; the article panel then scrolls to the first cited passage.
_SCROLLER_JS = """const scroller = (el) => {
  for (let e = el && el.parentElement; e; e = e.parentElement) {
    const o = getComputedStyle(e).overflowY;
    if ((o === 'auto' || o === 'scroll') && e.scrollHeight > e.clientHeight) return e;
  }
  return null;
};"""
SCROLL_CHAT_TO_END_JS = """() => setTimeout(() => {
  %s
  const last = [...document.querySelectorAll('#qa-chat [data-testid]')].pop();
  const box = scroller(last);
  if (box) box.scrollTop = box.scrollHeight;
}, 100)""" % _SCROLLER_JS
SHOW_REPLY_JS = """() => setTimeout(() => {
  %s
  const q = [...document.querySelectorAll('#qa-chat [data-testid=user]')].pop();
  const box = scroller(q);
  if (box) box.scrollTop += q.getBoundingClientRect().top - box.getBoundingClientRect().top - 48;
  const art = document.querySelector('#qa-article .qa-article');
  const cite = art && art.querySelector('#qa-cite-1');
  if (cite) art.scrollTop += cite.getBoundingClientRect().top - art.getBoundingClientRect().top - 40;
}, 150)""" % _SCROLLER_JS

CSS = """
.qa-article { max-height: 70vh; overflow-y: auto; line-height: 1.8; padding: 0 .5em; }
.qa-article mark { padding: 0 .1em; }
.qa-short { font-size: 1.25em; color: #b45309; }
"""

# Markdown syntax characters, entity-encoded so that text from the document or the user is shown
# literally (entities are decoded as plain text both in Markdown and inside HTML blocks).
_MD_ENTITIES = {c: f"&#{ord(c)};" for c in "\\`*_{}[]()#+-!|~$:"}
_MD_RE = re.compile("[" + re.escape("".join(_MD_ENTITIES)) + "]")


def esc(text: object) -> str:
    """HTML-escape ``text`` and neutralise Markdown syntax, for display in the chat or the article."""
    escaped = html.escape(str(text), quote=True)
    escaped = _MD_RE.sub(lambda m: _MD_ENTITIES[m.group(0)], escaped)
    return escaped.replace("\n", "<br>")


def _mark_answer(p: Passage, short: tuple[int, int] | None = None) -> str:
    """The passage's text, escaped, with its answer sentence wrapped in <mark> and the short answer
    (document offsets ``short``), when it lies inside, in bold."""
    a, b = p.answer_start - p.start, p.answer_end - p.start
    if not (p.answer and 0 <= a < b <= len(p.text)):
        return esc(p.text)
    inner = esc(p.text[a:b])
    if short is not None and p.answer_start <= short[0] < short[1] <= p.answer_end:
        x, y = short[0] - p.answer_start, short[1] - p.answer_start
        sent = p.text[a:b]
        inner = esc(sent[:x]) + "<strong>" + esc(sent[x:y]) + "</strong>" + esc(sent[y:])
    return esc(p.text[:a]) + "<mark>" + inner + "</mark>" + esc(p.text[b:])


def _position(p: Passage, doc_len: int | None) -> str:
    where = f"第 {p.start}–{p.end} 字"
    if doc_len:
        where += f"（全文 {doc_len} 字，约 {round(100 * p.start / doc_len)}% 处）"
    return where


def format_reply(result: Answer, doc_lengths: dict[str, int] | None = None, mode: str = "hybrid",
                 seconds: float | None = None, question: str | None = None) -> str:
    """The assistant's message (Markdown with escaped text): how a follow-up was understood, the short
    answer, the sentence that answers (the short answer in bold), then the citations."""
    doc_lengths = doc_lengths or {}
    multi_doc = len(doc_lengths) > 1
    lines: list[str] = []
    if result.resolved and (question is None or result.resolved != question.strip()):
        lines.append(f"🔎 **理解为：** {esc(result.resolved)}")
        lines.append("")
    answered = result.confident and bool(result.answer)
    if not answered:  # the verdict first, then why: a reader sees at once that there is no answer
        lines.append("**文中似乎没有回答这个问题。**")
        lines.append("")
    for note in result.notes:
        lines.append(f"ℹ️ {'原因' if not answered else '提示'}：{esc(note)}")
        lines.append("")
    short = (result.short_start, result.short_end) if result.short else None
    if result.confident and result.answer and result.short:
        top = result.passages[0]
        lines.append(f"**答案：** <strong class=\"qa-short\">{esc(result.short)}</strong>")
        lines.append("")
        lines.append(f"依据：{_mark_answer(top, short).split('<mark>', 1)[1].split('</mark>', 1)[0]}（见 [1]）")
        lines.append("")
        lines.append("**引用段落**（按相关度排序，答案句已高亮，答案加粗）")
    elif result.confident and result.answer:
        lines.append(f"**答案：** {esc(result.answer)}（见 [1]）")
        lines.append("")
        lines.append("**引用段落**（按相关度排序，答案句已高亮）")
    else:
        lines.append("**最接近的段落**（仅供参考，不一定包含答案；高亮的是各段中最接近问题的一句）")
    lines.append("")
    for p in result.passages:
        meta = [f"**[{p.rank}]**", f"章节：{esc(p.section) if p.section else '（无小节标题）'}"]
        if multi_doc:
            meta.append(f"文档：{esc(p.doc)}")
        if p.page:
            meta.append(f"第 {p.page} 页")
        meta.append(f"位置：{_position(p, doc_lengths.get(p.doc))}")
        meta.append(f"相关度：**{p.score:.3f}**")
        lines.append(" · ".join(meta))
        lines.append("")
        lines.append("> " + _mark_answer(p, short if p.rank == 1 and result.confident else None))
        lines.append("")
    if not result.passages:
        lines.append("（没有找到段落）")
        lines.append("")
    footer = f"检索方式 {mode}，相关度 {SCORE_HELP.get(mode, '')}"
    if seconds is not None:
        footer += f"，用时 {seconds:.2f} 秒"
    lines.append(f"<small>{footer}。右侧“全文”中可以看到这些段落在文章里的位置。</small>")
    return "\n".join(lines)


def article_html(documents, passages: list[Passage] | None = None,
                 answer_rank: int | None = None) -> str:
    """The whole text of the cited documents (or of the only one), escaped, with ``passages``
    highlighted and labelled [n].

    The answer sentence of passage ``answer_rank`` (the passage the answer came from) is
    highlighted more strongly.
    """
    passages = passages or []
    parts = ['<div class="qa-article">']
    if passages:
        parts.append('<p style="font-size:.9em;opacity:.8">'
                     '<mark style="background:#fff3b0">浅黄</mark>：最近一次回答引用的段落 [n]；'
                     '<mark style="background:#ffb347">橙色</mark>：答案句。</p>')
    else:
        parts.append('<p style="font-size:.9em;opacity:.8">提问之后，回答所引用的段落会在这里高亮显示。</p>')
    names = list(dict.fromkeys(p.doc for p in sorted(passages, key=lambda p: p.rank)))[:MAX_SHOWN_DOCS]
    if not names:
        names = list(documents)[:1] if len(documents) == 1 else []
        if not names and len(documents):
            shown = list(documents)[:50]
            parts.append("<p>文库中的文档：" + "、".join(esc(n) for n in shown)
                         + (f" 等 {len(documents)} 篇" if len(documents) > len(shown) else "") + "。</p>")
    for name in names:
        text = documents[name]
        ps = [p for p in passages if p.doc == name]
        if len(documents) > 1:
            parts.append(f"<h4>{esc(name)}</h4>")
        cuts = {0, len(text)}
        for p in ps:
            cuts.update((max(0, p.start), min(len(text), p.end)))
            if p.rank == answer_rank:
                cuts.update((max(0, p.answer_start), min(len(text), p.answer_end)))
        cuts_sorted = sorted(cuts)
        body = []
        for a, b in zip(cuts_sorted, cuts_sorted[1:]):
            for p in sorted(ps, key=lambda p: p.rank):
                if p.start == a:
                    body.append(f'<sup id="qa-cite-{p.rank}" style="color:#b45309;font-weight:600">'
                                f'[{p.rank}]</sup>')
            segment = _paragraphs(esc(text[a:b]))
            covering = [p for p in ps if p.start <= a and b <= p.end]
            in_answer = any(p.rank == answer_rank and p.answer_start <= a and b <= p.answer_end
                            for p in ps)
            if in_answer:
                body.append(f'<mark style="background:#ffb347">{segment}</mark>')
            elif covering:
                ranks = ",".join(str(p.rank) for p in covering)
                body.append(f'<mark style="background:#fff3b0" title="[{ranks}]">{segment}</mark>')
            else:
                body.append(segment)
        parts.append("<p>" + "".join(body) + "</p>")
    parts.append("</div>")
    return "".join(parts)


def _paragraphs(escaped: str) -> str:
    # The article separates paragraphs with two ideographic spaces; start each on a new line.
    return re.sub("(\u3000{2,})", r"<br>\1", escaped)


def _coerce_k(k: object) -> int:
    if isinstance(k, float) and k.is_integer():
        k = int(k)
    return check_k(k)


def _echo(message: str) -> str:
    if not message.strip():
        return "（空白问题）"
    if len(message) > ECHO_MAX_CHARS:
        return esc(message[:ECHO_MAX_CHARS]) + f" …（共 {len(message):,} 字，只显示前 {ECHO_MAX_CHARS} 字）"
    return esc(message)


#: Earlier questions of one conversation kept for follow-ups, and replies remembered for 👍/👎.
MAX_TURNS = 8
MAX_RATED = 20


class Source:
    """What the page answers from: a loaded retriever, or a library that may still be empty (then the
    retriever is made once documents are added)."""

    def __init__(self, retriever: Retriever | None = None, make=None, library=None):
        self._retriever = retriever
        self._make = make
        self.library = library  # the library folder, when the page can change it
        self._lock = threading.Lock()
        self._lengths: tuple[str, dict] | None = None

    def get(self) -> Retriever | None:
        if self._retriever is None and self._make is not None:
            with self._lock:
                if self._retriever is None:
                    from ..index.generations import EmptyLibrary

                    try:
                        self._retriever = self._make()
                    except EmptyLibrary:
                        return None
        return self._retriever

    def changed(self) -> None:
        """The library was just changed by this process: answer from the new generation at once."""
        r = self._retriever
        if r is not None:
            r.live.check_now()
        self._lengths = None

    def documents(self):
        r = self.get()
        return r.index.documents if r is not None else {}

    def doc_lengths(self) -> dict[str, int]:
        r = self.get()
        if r is None:
            return {}
        gen = r.index.generation
        if self._lengths is None or self._lengths[0] != gen:
            self._lengths = (gen, {d["name"]: d["chars"] for d in r.index.store.document_info()})
        return self._lengths[1]

    def embedder(self):
        r = self.get()
        if r is not None:
            return r.embedder
        from ..index.embedding import load_embedder

        return load_embedder()


_ZH_REASONS = [("empty", "文件是空的"), ("no text layer", "是扫描件，没有文字层，需要先做文字识别（OCR）"),
               ("encrypted", "是加密的 PDF，请去掉密码后再上传"), ("zip bomb", "解压后过大，疑似压缩炸弹，已拒绝"),
               ("binary", "不是文本文件"), ("corrupt", "文件已损坏"), ("not a valid", "文件已损坏或格式不对"),
               ("not a readable", "文件已损坏，无法读取"), ("over the", "超过了大小上限"),
               ("not a supported format", "不支持这种格式（支持 .txt .md .html .pdf .docx）"),
               ("has no text", "没有可读的文字"), ("not text", "无法识别文字编码")]


def _zh(reason: str) -> str:
    for key, zh in _ZH_REASONS:
        if key in reason:
            return f"{zh}（{reason}）"
    return reason


def library_rows(folder) -> list[list]:
    from .. import library

    rows = []
    for d in library.listing(folder):
        rows.append([d["name"], d["format"], f"{(d['size'] or 0) / 1024:.0f} KB", d["chunks"], d["pages"] or "",
                     (d["added"] or "").replace("T", " ").rstrip("Z"), d["encoding"] or ""])
    return rows


def build_app(retriever: Retriever | Source, concurrency: int = DEFAULT_CONCURRENCY, feedback=None) -> gr.Blocks:
    """The chat page and the ``/ask`` API over ``retriever`` (or a :class:`Source`, for a library).

    ``feedback``: a :class:`qa.serve.feedback.FeedbackStore` for the 👍/👎 buttons (None: no buttons).
    With a library, the page gets a 文档 tab to upload and delete documents.

    The page's parts are built one function each: :func:`chat_panel` (left), then on the right
    :func:`documents_panel` (a library only), :func:`settings_panel` and :func:`full_text_panel`;
    each is laid out where it stands on the page, and its events are wired once all parts exist.
    """
    source = retriever if isinstance(retriever, Source) else Source(retriever)
    # uploads that were never added are deleted after UPLOAD_MAX_AGE (added ones at once, in documents_panel)
    with gr.Blocks(title="qa · 文档问答", analytics_enabled=False,
                   delete_cache=_upload_cleanup()) as demo:
        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chat = chat_panel(source, feedback)
            with gr.Column(scale=2, min_width=320):
                documents = documents_panel(source) if source.library is not None else None
                settings = settings_panel()
                full_text = full_text_panel(source)
        chat.wire(settings, full_text, concurrency)
        if documents is not None:
            documents.wire()
        ask_api(source, concurrency)
    demo.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=concurrency)
    return demo


# quiet events: no queue, no spinner, not in the API
_QUIET = dict(queue=False, show_progress="hidden", api_visibility="private")


def chat_panel(source: Source, feedback=None) -> SimpleNamespace:
    """The chat: the conversation, the question box, 👍/👎 with an optional comment, the example
    questions and 新对话. Its ``wire(settings, full_text, concurrency)`` connects the events: each
    question is answered through the queue with the settings' k and mode, and the reply's cited
    passage is shown in the full text."""
    empty = ("⚠️ **文库里还没有文档。** 请先在“文档”页上传文档（PDF、Word、网页、文本），再来提问。")
    chatbot = gr.Chatbot(
        label="对话（可以追问；换话题请点“新对话”）", height=620, latex_delimiters=[],
        buttons=["copy", "copy_all"], feedback_options=("Like", "Dislike") if feedback else None,
        elem_id="qa-chat", placeholder="在下方输入问题，或点击示例问题。", autoscroll=False)
    with gr.Row():
        question = gr.Textbox(placeholder="输入关于文章的问题（中文或英文），按回车发送",
                              show_label=False, scale=6, max_lines=4, elem_id="qa-question")
        send = gr.Button("发送", variant="primary", scale=1, min_width=80, elem_id="qa-send")
    feedback_status = gr.Markdown("", elem_id="qa-feedback-status")
    with gr.Row(visible=False) as comment_row:
        comment = gr.Textbox(placeholder="哪里不对？（可选，例如：答案应该是……）", show_label=False,
                             scale=6, max_lines=3, elem_id="qa-comment")
        comment_send = gr.Button("提交意见", size="sm", scale=1, min_width=80, elem_id="qa-comment-send")
    examples = EXAMPLES if source.library is None else []  # the examples are about the demo article
    if examples:
        gr.Markdown("**示例问题**（点击即提问；最后一个是文章回答不了的问题）")
    with gr.Row():
        example_buttons = [gr.Button(q, size="sm", variant="secondary") for q in examples]
    clear = gr.Button("新对话", size="sm", variant="stop", elem_id="qa-new")
    gr.Markdown("<small>同时提问的人多时需要排队：等待期间对话框右下角显示排队位置"
                "（queue: 位置/总数）和已等待的时间。</small>")

    def add_user(message: str, history: list) -> tuple[str, list, str]:
        history = list(history or [])
        message = (message or "") if isinstance(message, str) else ""
        message = message.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate cannot be sent back
        history.append({"role": "user", "content": _echo(message)})
        return "", history, message

    def answer(question: str, history: list, k: float, mode: str, asked: list, rated: dict):
        history, asked, rated = list(history or []), list(asked or []), dict(rated or {})
        try:
            clean_question(question)
        except ValueError:
            history.append({"role": "assistant", "content":
                            "⚠️ **问题不能为空。** 请在下面的输入框里输入一个关于这篇文章的问题，"
                            "例如“2021年山西煤炭产量是多少？”，或点击示例问题。"})
            return history, gr.skip(), asked, rated
        r = source.get()
        if r is None:
            history.append({"role": "assistant", "content": empty})
            return history, gr.skip(), asked, rated
        try:
            t0 = time.perf_counter()
            result = r.ask(question, k=_coerce_k(k), mode=check_mode(mode), history=asked)
            seconds = time.perf_counter() - t0
        except ValueError as exc:
            history.append({"role": "assistant", "content": f"⚠️ 出错了：{esc(exc)}"})
            return history, gr.skip(), asked, rated
        history.append({"role": "assistant",
                        "content": format_reply(result, source.doc_lengths(), mode, seconds, question=question)})
        # the conversation goes on from how the question was understood
        asked = (asked + [result.resolved or question])[-MAX_TURNS:]
        rated[str(len(history) - 1)] = {"question": question, "answer": result.to_dict(), "mode": mode}
        while len(rated) > MAX_RATED:
            rated.pop(next(iter(rated)))
        rank = result.passages[0].rank if result.confident and result.passages else None
        return history, article_html(r.index.documents, result.passages, rank), asked, rated

    def on_like(rated: dict, data: gr.LikeData):
        if feedback is None:
            return gr.skip(), gr.skip(), gr.skip()
        index = data.index if isinstance(data.index, int) else data.index[0]
        turn = (rated or {}).get(str(index))
        if turn is None:
            return None, gr.update(visible=False), "（这条回复太早了，无法记录评价）"
        liked = data.liked is True or data.liked == "Like"
        current = source.get()
        row = feedback.add(1 if liked else -1, turn["question"], turn["answer"], turn["mode"],
                           current.index.generation if current is not None else None)
        if liked:
            return None, gr.update(visible=False), "👍 已记录，谢谢！"
        return row, gr.update(visible=True, value=""), "👎 已记录。可以在下面说说哪里不对（可选）。"

    def on_comment(row, text: str):
        if feedback is None or row is None or not (text or "").strip():
            return gr.update(visible=row is not None), "（没有可提交的意见）"
        feedback.comment(int(row), text.strip())
        return gr.update(visible=False, value=""), "意见已记录，谢谢！"

    def wire(settings: SimpleNamespace, full_text: SimpleNamespace, concurrency: int) -> None:
        article = full_text.article
        pending = gr.State("")
        asked = gr.State([])  # this conversation's questions, as understood
        rated = gr.State({})  # reply index -> what was asked and answered, for 👍/👎
        rating_row = gr.State(None)

        def chain(event):
            """Echo the question at once, answer it through the queue, then show the reply and the
            cited passage."""
            event.then(None, js=SCROLL_CHAT_TO_END_JS, **_QUIET)
            event.then(answer, [pending, chatbot, settings.k, settings.mode, asked, rated],
                       [chatbot, article, asked, rated],
                       show_progress="full", show_progress_on=[chatbot], concurrency_limit=concurrency,
                       concurrency_id="qa", api_visibility="private").then(None, js=SHOW_REPLY_JS, **_QUIET)

        for trigger in (question.submit, send.click):
            chain(trigger(add_user, [question, chatbot], [question, chatbot, pending], **_QUIET))
        for button, text in zip(example_buttons, examples):
            chain(button.click(lambda history, text=text: add_user(text, history), [chatbot],
                               [question, chatbot, pending], **_QUIET))

        def new_conversation():
            return [], "", full_text.blank(), [], {}, None, gr.update(visible=False), ""

        outputs = [chatbot, question, article, asked, rated, rating_row, comment_row, feedback_status]
        clear.click(new_conversation, None, outputs, **_QUIET)
        chatbot.clear(new_conversation, None, outputs, **_QUIET)  # the chat's own 🗑 starts afresh too
        if feedback is not None:
            chatbot.like(on_like, [rated], [rating_row, comment_row, feedback_status], **_QUIET)
            for trigger in (comment.submit, comment_send.click):
                trigger(on_comment, [rating_row, comment], [comment_row, feedback_status], **_QUIET)

    return SimpleNamespace(chatbot=chatbot, question=question, wire=wire)


def documents_panel(source: Source) -> SimpleNamespace:
    """The 文档 panel of a library: upload documents, see them, delete one. Its ``wire()`` connects
    the buttons (one library change at a time)."""
    from .. import library

    with gr.Accordion("文档（上传、查看、删除）", open=source.get() is None, elem_id="qa-docs"):
        uploads = gr.File(label="上传文档（可多选：PDF、Word .docx、网页 .html、文本 .txt/.md）",
                          file_count="multiple", file_types=[".pdf", ".docx", ".txt", ".md",
                                                              ".markdown", ".html", ".htm"],
                          elem_id="qa-upload")
        add_button = gr.Button("添加到文库", variant="primary", size="sm", elem_id="qa-add")
        docs_status = gr.Markdown("", elem_id="qa-docs-status")
        rows = library_rows(source.library)
        docs_table = gr.Dataframe(
            value=rows, headers=["文档", "格式", "大小", "段落数", "页数", "添加时间", "编码"],
            interactive=False, wrap=True, elem_id="qa-docs-table")
        with gr.Row():
            doomed = gr.Dropdown(choices=[r[0] for r in rows], label="删除文档", scale=3,
                                 elem_id="qa-doc-choice")
            remove_button = gr.Button("删除", variant="stop", size="sm", scale=1,
                                      elem_id="qa-remove")

    def add_documents(files, progress=gr.Progress(track_tqdm=True)):
        files = [f for f in (files or []) if f]
        if not files:
            return gr.skip(), "请先选择要上传的文件。", gr.skip(), gr.skip()
        paths = [Path(getattr(f, "name", f)) for f in files]
        names = [getattr(f, "orig_name", None) or p.name for f, p in zip(files, paths)]
        progress(0, desc="读取并编码文档……")
        try:
            change = library.add(source.library, paths, source.embedder(), names=names, progress=True,
                                 log=lambda m: None)
        except Exception as exc:  # noqa: BLE001 - the page says what went wrong instead of failing
            return gr.skip(), f"⚠️ 添加失败：{esc(_zh(str(exc)))}", gr.skip(), gr.skip()
        finally:
            for p in paths:  # an upload is not kept once it is in the library
                p.unlink(missing_ok=True)
        source.changed()
        lines = [f"✅ 已添加 {esc(n)}（{esc(how)}）" for n, how in change.added]
        lines += [f"↩️ {esc(n)} 已在文库中（{esc(o)}），未重复添加" for n, o in change.duplicates]
        lines += [f"❌ {esc(n)}：{esc(_zh(w))}" for n, w in change.refused]
        rows = library_rows(source.library)
        return rows, "<br>".join(lines) or "没有添加任何文档。", gr.update(choices=[r[0] for r in rows], value=None), None

    def remove_document(name):
        if not name:
            return gr.skip(), "请先选择要删除的文档。", gr.skip()
        change = library.remove(source.library, [name], source.embedder(), progress=False, log=lambda m: None)
        source.changed()
        rows = library_rows(source.library)
        msg = f"🗑️ 已删除 {esc(name)}" if change.removed else f"⚠️ {esc(name)} 不在文库中"
        return rows, msg, gr.update(choices=[r[0] for r in rows], value=None)

    def wire() -> None:
        add_button.click(add_documents, [uploads], [docs_table, docs_status, doomed, uploads],
                         concurrency_limit=1, concurrency_id="library", api_visibility="private")
        remove_button.click(remove_document, [doomed], [docs_table, docs_status, doomed],
                            concurrency_limit=1, concurrency_id="library", api_visibility="private")

    return SimpleNamespace(table=docs_table, wire=wire)


def settings_panel() -> SimpleNamespace:
    """The 设置 panel: how many passages a reply lists (k) and the ranking mode."""
    with gr.Accordion("设置", open=True):
        k = gr.Slider(1, PAGE_MAX_K, value=DEFAULT_K, step=1, label="引用段落数 k",
                      info="每次回答列出的段落数（1–10）")
        mode = gr.Radio([(MODE_LABELS[m], m) for m in MODES], value="hybrid", label="检索方式",
                        info="混合：语义向量与关键词 BM25 融合；英文提问靠语义一侧。")
    return SimpleNamespace(k=k, mode=mode)


def full_text_panel(source: Source) -> SimpleNamespace:
    """The 全文 panel: the documents, with the passages of the latest reply highlighted
    (:func:`article_html`); ``blank()`` is the view without highlights, for a new conversation."""
    with gr.Accordion("全文（高亮最近一次回答引用的段落）", open=True):
        article = gr.HTML(article_html(source.documents()), elem_id="qa-article")
    return SimpleNamespace(article=article, blank=lambda: article_html(source.documents()))


def ask_api(source: Source, concurrency: int) -> None:
    """The named ``/ask`` endpoint: the same JSON as ``qa ask --json``, queued with the chat."""

    def api_ask(question: str, k: int = DEFAULT_K, mode: str = "hybrid", history: list | None = None) -> dict:
        """Answer one question: the same JSON as `qa ask --json` (answer, short, confident, resolved,
        passages). `history`: the earlier questions of the conversation, oldest first, for follow-ups."""
        r = source.get()
        if r is None:
            raise gr.Error("the library has no documents yet: add some first", title="Bad request",
                           print_exception=False)
        try:
            return r.ask(question, k=_coerce_k(k), mode=check_mode(mode), history=history).to_dict()
        except ValueError as exc:
            raise gr.Error(str(exc), title="Bad request", print_exception=False) from None

    gr.api(api_ask, api_name="ask", concurrency_limit=concurrency, concurrency_id="qa",
           api_description=f"Answer a question about the documents (k: 1..{MAX_K}, mode: "
                           f"{' | '.join(MODES)}, history: earlier questions, oldest first); returns the "
                           "same JSON as `qa ask --json`: {answer, confident, short, short_start, short_end, "
                           "resolved, passages}.")


# -- serving -------------------------------------------------------------------------------------

def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _feedback_store(index_folder: Path):
    """The feedback file beside the index (None, with a message, when it cannot be written)."""
    from .feedback import FeedbackStore, default_path

    path = default_path(index_folder)
    try:
        store = FeedbackStore(path)
    except (OSError, Exception) as exc:  # noqa: BLE001 - sqlite3 errors too: the page works without 👍/👎
        _log(f"qa serve: feedback disabled: cannot write {path} ({exc})")
        return None
    _log(f"qa: feedback (👍/👎) is stored in {path}")
    return store


def middleware(demo: gr.Blocks, source: Source, library: bool, api_keys: list[str], concurrency: int,
               open_without_keys: bool) -> list:
    """What stands in front of the page, outermost first: the OpenAI-compatible API (its own keys), then
    the guard (logins, bodies, uploads; :class:`qa.serve.security.Guard`)."""
    from starlette.middleware import Middleware

    from .openai_api import OpenAIApi
    from .security import Guard

    return [Middleware(OpenAIApi, source=source, model_id="qa-library" if library else "qa", keys=api_keys,
                       concurrency=concurrency, open_without_keys=open_without_keys),
            Middleware(Guard, api_names=("ask",), uploads=library, max_upload=MAX_UPLOAD_BYTES, blocks=demo)]


def run(args: argparse.Namespace) -> int:
    """``qa serve``: load the model and index once, serve until Ctrl-C or SIGTERM, exit 0."""
    from .security import AuthError, is_loopback, load_api_keys, load_auth

    port = args.port
    if not 0 <= port <= 65535:
        _log(f"qa serve: --port must be from 0 to 65535, not {port}")
        return 2
    if args.concurrency < 1:
        _log("qa serve: --concurrency must be at least 1")
        return 2
    try:
        logins = load_auth(getattr(args, "auth_file", None))
        api_keys = load_api_keys(getattr(args, "auth_file", None))
    except AuthError as exc:
        _log(f"qa serve: {exc}")
        return 2
    if not is_loopback(args.host) and not logins:
        if not getattr(args, "insecure_no_auth", False):
            _log(f"qa serve: refusing to listen on {args.host} without logins: anyone who can reach this machine "
                 "could use it. Give logins with --auth-file FILE (one 'user:password' per line) or "
                 "QA_AUTH='user:password', or pass --insecure-no-auth if that is really what you want.")
            return 2
        _log("=" * 78 + f"\nqa serve: WARNING: listening on {args.host} WITHOUT LOGINS (--insecure-no-auth).\n"
             "Anyone who can reach this machine can ask questions and read the documents.\n" + "=" * 78)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    demo = None
    try:
        t0 = time.perf_counter()
        from .. import options

        folder = options.index_dir(args)
        library_dir = options.library_dir(args.library) if getattr(args, "library", None) is not None else None
        library_target = options.target(args, library_dir) if library_dir is not None else None
        if library_target is not None:
            from .. import library
            from ..index.embedding import load_embedder

            library.ensure(library_target, load_embedder(args.model))  # a new library starts empty
        source = Source(make=lambda: Retriever(index_dir=folder, model=args.model, store=options.store(args),
                                               milvus_uri=args.milvus_uri, milvus_name=options.milvus_name(args)),
                        library=library_target)
        retriever = source.get()
        if retriever is not None:
            retriever.ask("warm-up 预热", k=1)  # first inference is slow; pay it before the first user
            _log(f"qa: model and index loaded in {time.perf_counter() - t0:.1f} s "
                 f"({len(retriever.index.chunks)} passages from {len(retriever.index.documents)} document(s))")
        else:
            _log(f"qa: the library {library_dir} is empty: add documents in the page's 文档 tab")
        if stop.is_set():
            return 0
        if retriever is not None:
            index_folder = retriever.index.folder
        else:  # an empty library: its folder, or for Milvus the folder beside its database
            index_folder = library_target if isinstance(library_target, Path) else library_target.folder
        demo = build_app(source, concurrency=args.concurrency, feedback=_feedback_store(Path(index_folder)))
        if port == 0:
            port = _free_port(args.host)
        try:
            _, url, _ = demo.launch(
                # show_error=False: a client sees the messages of gr.Error (ours), never an internal one
                server_name=args.host, server_port=port, prevent_thread_lock=True, quiet=True, show_error=False,
                css=CSS, footer_links=["api", "settings"], auth=logins or None,
                state_session_capacity=SESSION_CAPACITY,  # the upload limit is the Guard's: its
                # refusal reads in Chinese, where Gradio's own check in the browser shows an English toast
                app_kwargs={"middleware": middleware(
                    demo, source, library=library_dir is not None, api_keys=api_keys, concurrency=args.concurrency,
                    open_without_keys=is_loopback(args.host) or getattr(args, "insecure_no_auth", False))})
        except OSError as exc:
            _log(f"qa serve: cannot listen on {args.host}:{port}: {exc}")
            return 1
        print(f"qa: chat running on {url} (Ctrl-C to stop)", flush=True)
        _log(f"qa: API: gradio_client.Client({url!r}).predict(question, k, mode, api_name='/ask')")
        _log(f"qa: OpenAI-compatible API: base URL {url.rstrip('/')}/v1, model "
             f"{'qa-library' if library_dir is not None else 'qa'}"
             + (f" ({len(api_keys)} API key(s))" if api_keys else
                " (no key needed on this machine)" if is_loopback(args.host) else
                " (open: --insecure-no-auth)" if getattr(args, "insecure_no_auth", False) else
                " (closed: set QA_API_KEYS to use it from the network)"))
        while not stop.wait(0.5):
            pass
        _log("qa: shutting down")
        return 0
    finally:
        if demo is not None:
            demo.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
