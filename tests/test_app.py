"""The web chat: formatting and escaping (in process), then a real ``qa serve`` in a subprocess,
driven through its API (gradio_client) and in headless Chromium (playwright)."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from qa.serve.app import EXAMPLES, article_html, esc, format_reply
from qa.retriever import Answer, Passage

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
START_TIMEOUT = 120
#: The library server deletes uploads never added after this many seconds (the default is 30 minutes).
UPLOAD_MAX_AGE = 30
STOP_TIMEOUT = 20

PASSAGE_KEYS = {"text", "score", "rank", "doc", "section", "start", "end", "answer", "answer_start",
                "answer_end", "page"}
GOLD = [
    ("2021年山西煤炭产量是多少？", "11.9亿吨"),
    ("去年汾河流域秋汛中紧急转移安置了多少群众？", "16.34万人"),
    ("What was the PM2.5 average concentration last year?", "39微克"),
]
INJECTIONS = ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>"]
UNANSWERABLE = EXAMPLES[-1]


# -- formatting, in process (no model) -----------------------------------------------------------

DOC = "标题　　第一段<b>粗</b>。答案在这里：11.9亿吨。　　第二段 *星号* [链接](javascript:alert(1))。"


def _passage(rank=1, start=0, end=None, answer="答案在这里：11.9亿吨。", section="一、<i>节</i>"):
    end = len(DOC) if end is None else end
    a = DOC.index(answer)
    return Passage(text=DOC[start:end], score=0.875, rank=rank, doc="doc.txt", section=section,
                   start=start, end=end, answer=answer, answer_start=a, answer_end=a + len(answer))


def test_esc_neutralises_html_and_markdown():
    out = esc('<img src=x onerror=alert(1)> *a* [b](c) $$x$$ `d` & "e"\nf')
    assert "<" not in out.replace("<br>", "") and ">" not in out.replace("<br>", "")
    for ch in "*[]()$`\"":
        assert ch not in out
    assert "&lt;img" in out and "&amp;" in out and "<br>" in out


def test_reply_leads_with_answer_then_citations():
    p = _passage()
    text = format_reply(Answer(answer=p.answer, confident=True, passages=[p], notes=["cut <x>"]),
                        {"doc.txt": len(DOC)}, "hybrid", 0.01)
    assert text.index("**答案：**") < text.index("**[1]**")
    assert "<mark>答案在这里：11.9亿吨。</mark>" in text
    assert "0.875" in text and f"第 0–{len(DOC)} 字" in text and "&lt;i&gt;节&lt;/i&gt;" in text
    assert "cut &lt;x&gt;" in text  # notes shown, escaped
    assert "<b>" not in text and "<i>" not in text and "[链接]" not in text


def test_reply_when_not_confident_shows_nearest_passages():
    p = _passage()
    text = format_reply(Answer(answer=None, confident=False, passages=[p]), {"doc.txt": len(DOC)})
    assert "文中似乎没有回答这个问题" in text and "最接近的段落" in text and "**[1]**" in text
    assert "**答案：**" not in text


def test_article_highlights_cited_passages_escaped():
    p1 = _passage(rank=1, start=2, end=DOC.index("　　第二段"))
    p2 = _passage(rank=2, start=DOC.index("　　第二段"), end=len(DOC),
                  answer="第二段 *星号* [链接](javascript:alert(1))。")
    out = article_html({"doc.txt": DOC}, [p1, p2], answer_rank=1)
    assert 'id="qa-cite-1"' in out and 'id="qa-cite-2"' in out
    assert '<mark style="background:#ffb347">答案在这里：11.9亿吨。</mark>' in out
    assert "&lt;b&gt;粗&lt;/b&gt;" in out and "<b>" not in out
    plain = article_html({"doc.txt": DOC})
    assert "<mark" not in plain.split("</p>", 1)[1]  # no highlight before the first question


# -- the server ----------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``python -m qa.cli serve`` on a free port with the repo's default index; stopped with SIGINT."""
    import httpx

    logs = tmp_path_factory.mktemp("serve")
    out_path, err_path = logs / "stdout.txt", logs / "stderr.txt"
    port = _free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", GRADIO_ANALYTICS_ENABLED="False",
               QA_FEEDBACK=str(logs / "feedback.sqlite"))
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--port", str(port)],
                                cwd=ROOT, stdout=out, stderr=err, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"qa serve exited with {proc.returncode}:\n{err_path.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"qa serve did not answer on {url} within {START_TIMEOUT} s:\n"
                            f"{err_path.read_text()}")
            if "running on" in out_path.read_text():  # printed once the server listens
                try:
                    if httpx.get(url, timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            time.sleep(0.5)
        yield SimpleNamespace(url=url, proc=proc, stdout=out_path, stderr=err_path, feedback=logs / "feedback.sqlite")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                rc = proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                pytest.fail(f"qa serve did not stop within {STOP_TIMEOUT} s of SIGINT")
            assert rc == 0, f"qa serve exited with {rc} after SIGINT:\n{err_path.read_text()[-3000:]}"


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False)


@pytest.mark.slow
def test_server_logs_loading_and_url(server):
    assert re.search(r"qa: model and index loaded in [\d.]+ s", server.stderr.read_text())
    assert f"running on {server.url}" in server.stdout.read_text()  # loopback by default


@pytest.mark.slow
@pytest.mark.parametrize("question,gold", GOLD)
def test_api_answers_with_gold_passage(client, question, gold):
    result = client.predict(question, 5, "hybrid", api_name="/ask")
    assert set(result) == {"answer", "confident", "short", "short_start", "short_end", "resolved", "passages"}
    assert len(result["passages"]) == 5
    for p in result["passages"]:
        assert set(p) == PASSAGE_KEYS
    assert [p["rank"] for p in result["passages"]] == [1, 2, 3, 4, 5]
    assert gold in result["passages"][0]["text"], result["passages"][0]
    assert result["confident"] and gold in result["answer"]


@pytest.mark.slow
def test_api_matches_cli_json(client):
    question = "2021年山西煤炭产量是多少？"
    cli = subprocess.run([sys.executable, "-m", "qa.cli", "ask", question, "--k", "3", "--json"], cwd=ROOT,
                         capture_output=True, text=True, encoding="utf-8", timeout=180)
    assert cli.returncode == 0, cli.stderr
    assert client.predict(question, 3, "hybrid", api_name="/ask") == json.loads(cli.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("args,message", [
    (("2021年山西煤炭产量是多少？", 0, "hybrid"), "k must be"),
    (("2021年山西煤炭产量是多少？", 5, "fuzzy"), "mode must be"),
    (("   ", 5, "hybrid"), "问题不能为空"),
])
def test_api_rejects_bad_input(client, args, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name="/ask")


@pytest.mark.slow
def test_api_modes_and_k(client):
    for mode in ("dense", "lexical"):
        result = client.predict("2021年山西煤炭产量是多少？", 2, mode, api_name="/ask")
        assert len(result["passages"]) == 2


# -- the page, in headless Chromium --------------------------------------------------------------

@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    folder = Path(os.environ["QA_ARTIFACTS"]) if os.environ.get("QA_ARTIFACTS") else \
        tmp_path_factory.mktemp("artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="python playwright is not installed")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    pg = context.new_page()
    pg.dialogs = []

    def on_dialog(dialog):
        pg.dialogs.append(dialog.message)
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    pg.goto(server.url)
    pg.wait_for_selector("#qa-question textarea", timeout=30_000)
    yield pg
    context.close()


def _ask(page, question: str | None = None, click: str | None = None):
    """Send ``question`` (or click the button labelled ``click``) and return the new bot message."""
    bots = page.locator("[data-testid=bot]")
    before = bots.count()
    if click is not None:
        page.get_by_role("button", name=click, exact=True).click()
    else:
        page.locator("#qa-question textarea").fill(question)
        page.locator("#qa-send").click()
    reply = bots.nth(before)
    reply.wait_for(timeout=60_000)
    return reply


@pytest.mark.slow
@pytest.mark.browser
def test_page_answers_with_citations(page, artifacts, capsys):
    reply = _ask(page, "2021年山西煤炭产量是多少？")
    text = reply.inner_text()
    assert "答案：" in text and "11.9亿吨" in text
    assert text.index("答案：") < text.index("[1]") and "[5]" in text and "相关度" in text
    assert "11.9亿吨" in reply.locator("mark").first.inner_text()  # answer highlighted in its passage
    cite = page.locator("#qa-article #qa-cite-1")
    cite.wait_for()
    assert "可以接着追问" in page.content()
    page.wait_for_timeout(800)  # the page scrolls the chat to the start of the reply
    chat, head = page.locator("#qa-chat").bounding_box(), reply.locator("strong").first.bounding_box()
    assert chat["y"] <= head["y"] <= chat["y"] + chat["height"], "answer sentence scrolled out of view"
    shot = artifacts / "chat.png"
    page.screenshot(path=str(shot), full_page=True)
    with capsys.disabled():
        print(f"\nscreenshot: {shot}")
    assert shot.stat().st_size > 10_000
    assert page.dialogs == []


@pytest.mark.slow
@pytest.mark.browser
def test_page_injection_shows_as_text(page, artifacts):
    for payload in INJECTIONS:
        _ask(page, payload)
        user = page.locator("[data-testid=user]").last
        assert user.inner_text().strip() == payload
        assert page.get_by_text(payload, exact=True).first.is_visible()
    page.wait_for_timeout(500)
    assert page.dialogs == []
    assert page.locator("#qa-chat img[src='x'], #qa-chat script").count() == 0
    page.screenshot(path=str(artifacts / "injection.png"), full_page=True)


@pytest.mark.slow
@pytest.mark.browser
def test_page_empty_question(page):
    reply = _ask(page, "")
    assert "问题不能为空" in reply.inner_text()
    reply = _ask(page, "   ")
    assert "问题不能为空" in reply.inner_text()


@pytest.mark.slow
@pytest.mark.browser
def test_page_examples_english_and_unanswerable(page):
    reply = _ask(page, click="How much coal did Shanxi produce in 2021?")
    assert "11.9亿吨" in reply.inner_text()
    reply = _ask(page, click=UNANSWERABLE)
    text = reply.inner_text()
    assert "文中似乎没有回答这个问题" in text and "最接近的段落" in text and "[1]" in text


@pytest.mark.slow
@pytest.mark.browser
def test_page_leads_with_the_short_answer_and_flags_a_near_miss(page, artifacts):
    reply = _ask(page, "2021年山西煤矿事故中有多少人死亡？")
    text = reply.inner_text()
    assert text.strip().startswith("答案：") and text.splitlines()[0].strip().endswith("11人")
    assert reply.locator("strong.qa-short").inner_text() == "11人"
    assert "依据：" in text and text.index("依据：") < text.index("[1]")
    reply = _ask(page, "去年山西PM2.5日均浓度最高达到多少？")
    text = reply.inner_text()
    assert "文中似乎没有回答这个问题" in text and "最高" in text and "最接近的段落" in text
    assert "答案：" not in text
    page.screenshot(path=str(artifacts / "near-miss.png"), full_page=True)


@pytest.mark.slow
@pytest.mark.browser
def test_page_conversation_and_feedback(page, server, artifacts):
    import sqlite3

    _ask(page, "2021年山西煤炭产量是多少？")
    reply = _ask(page, "同比增长了多少？")
    text = reply.inner_text()
    assert "理解为" in text and "煤炭产量" in text and "10.5%" in text
    reply = _ask(page, "那去年汾河秋汛转移安置了多少群众？")  # a complete question: not rewritten
    text = reply.inner_text()
    assert "16.34万人" in text and "理解为" not in text
    page.screenshot(path=str(artifacts / "conversation.png"), full_page=True)
    # 👎 on the last reply, with a comment
    reply.hover()
    page.locator("#qa-chat button[aria-label='踩'], #qa-chat button[aria-label='Dislike']").last.click()  # zh-CN: 踩
    page.locator("#qa-comment textarea").wait_for(timeout=10_000)
    page.locator("#qa-comment textarea").fill("应该再多说说受灾情况")
    page.locator("#qa-comment-send").click()
    page.get_by_text("意见已记录").wait_for(timeout=10_000)
    rows = sqlite3.connect(server.feedback).execute("SELECT rating, question, comment, short FROM feedback").fetchall()
    assert rows[-1] == (-1, "那去年汾河秋汛转移安置了多少群众？", "应该再多说说受灾情况", "16.34万人")
    # 新对话 clears the context: the same follow-up now has nothing to lean on
    page.locator("#qa-new").click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=bot]').length === 0", timeout=30_000)
    reply = _ask(page, "同比增长了多少？")
    assert "理解为" not in reply.inner_text()


@pytest.mark.slow
def test_server_with_logins_rejects_anonymous_requests(tmp_path):
    import httpx
    from gradio_client import Client

    port = _free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", GRADIO_ANALYTICS_ENABLED="False", QA_AUTH="tester:correct-horse",
               QA_FEEDBACK=str(tmp_path / "f.sqlite"))
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--host", "0.0.0.0", "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert proc.poll() is None, proc.stderr.read()
            try:
                if httpx.get(url, timeout=5).status_code in (200, 401):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.5)
        r = httpx.post(url + "gradio_api/call/ask", json={"data": ["2021年山西煤炭产量是多少？"]}, timeout=30)
        assert r.status_code in (401, 403), r.status_code
        assert "11.9" not in r.text
        client = Client(url, auth=("tester", "correct-horse"), verbose=False)
        assert client.predict("2021年山西煤炭产量是多少？", api_name="/ask")["short"] == "11.9亿吨"
        # beyond loopback with logins but no API keys, the OpenAI-compatible API stays closed
        r = httpx.get(url + "v1/models", timeout=30)
        assert r.status_code == 401 and "QA_API_KEYS" in r.json()["error"]["message"]
        # guessing: a few wrong passwords a minute from one address, then 429 even for the right one
        codes = [httpx.post(url + "login", data={"username": "tester", "password": f"guess-{i}"}, timeout=30)
                 .status_code for i in range(8)]
        assert all(c in (400, 401) for c in codes[:5]) and set(codes[5:]) == {429}, codes
        assert httpx.post(url + "login", data={"username": "tester", "password": "correct-horse"},
                          timeout=30).status_code == 429
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()


def _routes(routes, prefix: str = ""):
    """(path, methods) of every route of a FastAPI app, those of included routers too."""
    for r in routes:
        if hasattr(r, "original_router"):  # FastAPI's included router (Gradio's /gradio_api)
            yield from _routes(r.original_router.routes, prefix + r.include_context.prefix)
        elif getattr(r, "routes", None):
            yield from _routes(r.routes, prefix + r.path)
        elif getattr(r, "path", None) is not None:
            yield prefix + r.path, sorted(getattr(r, "methods", None) or {"GET"})


@pytest.fixture(scope="module")
def login_server(retriever):
    """The real app with logins (tester / correct-horse), served in this process so its routes can be walked."""
    from qa.serve.app import Source, build_app, middleware

    source = Source(retriever)
    demo = build_app(source)
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                auth=[("tester", "correct-horse")], app_kwargs={"middleware": middleware(
                    demo, source, library=False, api_keys=[], concurrency=1, open_without_keys=False)})
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}", demo=demo)
    finally:
        demo.close()


@pytest.mark.slow
def test_with_logins_a_stranger_reaches_only_the_page_the_login_form_and_static_files(login_server):
    """Walks every route of the real app (Gradio's, ours): without a login each answers 401 or 403, but
    for the page, the login form and its static files; a new open route fails here."""
    import httpx

    from qa.serve.security import open_to_strangers

    demo, url = login_server.demo, login_server.url
    deep = ('{"data": ["煤炭", ' + "[" * 5000 + "]" * 5000 + "]}").encode()
    walked = 0
    for path, methods in _routes(demo.server_app.routes):
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        if concrete.endswith("/startup-events"):
            continue  # Gradio's own call at launch, open to this machine only (test_security)
        for method in methods:
            for body in ((None, deep) if method in ("POST", "PUT", "PATCH") else (None,)):
                r = httpx.request(method, url + concrete, content=body, timeout=30,
                                  headers={"content-type": "application/json"} if body else None)
                walked += 1
                if open_to_strangers(path):
                    assert r.status_code < 500, (method, path, r.status_code)
                else:
                    assert r.status_code in (401, 403), (method, path, r.status_code, r.text[:200])
    assert walked > 40  # Gradio's routes were found, not only ours
    for path in ("/openapi.json", "/docs", "/gradio_api/info", "/config", "/gradio_api/call/ask"):
        assert httpx.get(url + path, timeout=30).status_code in (401, 403), path
    # the login lets the same requests in; a deep body is then the client's 400, not a 500
    with httpx.Client(base_url=url, timeout=60) as c:
        assert c.post("/login", data={"username": "tester", "password": "correct-horse"}).status_code == 200
        r = c.post("/gradio_api/call/ask", content=deep, headers={"content-type": "application/json"})
        assert r.status_code == 400 and "nests deeper" in r.json()["error"]
        r = c.post("/gradio_api/call/ask", json={"data": ["2021年山西煤炭产量是多少？"]})
        assert r.status_code == 200 and "event_id" in r.json()


@pytest.mark.slow
@pytest.mark.browser
def test_the_login_form_works_in_a_browser_behind_the_closed_doors(browser, login_server):
    pg = browser.new_context(locale="zh-CN").new_page()
    pg.goto(login_server.url + "/")
    pg.locator("input[type=password]").wait_for(timeout=30_000)
    pg.locator("input").first.fill("tester")
    pg.locator("input[type=password]").fill("correct-horse")
    pg.locator("input[type=password]").press("Enter")
    pg.locator("#qa-question textarea").wait_for(timeout=30_000)
    assert "11.9亿吨" in _ask(pg, "2021年山西煤炭产量是多少？").inner_text()
    pg.context.close()


# -- the library: uploads in the page (issue 10) ---------------------------------------------------------
@pytest.fixture(scope="module")
def library_server(tmp_path_factory):
    """``qa serve --library`` on an empty library folder."""
    import httpx

    logs = tmp_path_factory.mktemp("libserve")
    port = _free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", GRADIO_ANALYTICS_ENABLED="False",
               QA_FEEDBACK=str(logs / "feedback.sqlite"), QA_UPLOAD_MAX_AGE=str(UPLOAD_MAX_AGE))
    out, err = open(logs / "stdout.txt", "w"), open(logs / "stderr.txt", "w")
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--port", str(port), "--library",
                             str(logs / "library")], cwd=ROOT, stdout=out, stderr=err, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while True:
            assert proc.poll() is None, (logs / "stderr.txt").read_text()
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.5)
        yield SimpleNamespace(url=url, proc=proc, library=logs / "library")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
@pytest.mark.browser
def test_page_uploads_a_pdf_and_answers_with_its_page(browser, library_server, artifacts, tmp_path):
    """All five formats go in through the page (a scan is refused, in Chinese); each is then asked
    about, and the reply cites that document (and, for the PDF, page 2)."""
    from test_formats import SAMPLES, make_pdf, make_samples

    paths = make_samples(tmp_path, names={"pdf": "供水办法.pdf"})
    bad = make_pdf(tmp_path / "scan.pdf", text=False)
    context = browser.new_context(viewport={"width": 1400, "height": 1100}, locale="zh-CN")
    page = context.new_page()
    page.goto(library_server.url)
    page.wait_for_selector("#qa-question textarea", timeout=30_000)
    reply = _ask(page, "水价是多少？")
    assert "文库里还没有文档" in reply.inner_text()
    page.locator("#qa-upload input[type=file]").set_input_files([str(p) for p in paths.values()] + [str(bad)])
    page.wait_for_timeout(1500)
    page.locator("#qa-add").click()
    status = page.locator("#qa-docs-status")
    status.get_by_text("已添加").first.wait_for(timeout=120_000)
    text = status.inner_text()
    assert "供水办法.pdf" in text and "PDF, 2 pages" in text and "扫描件" in text  # refused per file, in Chinese
    assert "scan.pdf" in text and text.count("已添加") == len(paths), text
    table = page.locator("#qa-docs-table").inner_text()
    assert all(p.name in table for p in paths.values()) and "scan.pdf" not in table
    for fmt, _, question, fact, section, pg in SAMPLES:
        name = paths[fmt].name
        text = _ask(page, question).inner_text()
        head = next(line for line in text.splitlines() if line.startswith("[1]"))  # the top passage:
        # [1] · 章节：… · 文档：… · 第 2 页 · 位置：… · 相关度：…
        assert "答案：" in text and fact in text[:text.index(head)], (fmt, text)
        assert f"文档：{name} ·" in head and (section is None or f"章节：{section} ·" in head), (fmt, head)
        assert ("第 2 页" in head) == (pg == 2) and ("页 ·" in head) == (pg is not None), (fmt, head)
    page.screenshot(path=str(artifacts / "library.png"), full_page=True)
    context.close()


# -- the routes a hostile client reaches (issue 17) ---------------------------------------------------------
def _fn_index(url: str, api_name: str) -> int:
    import httpx

    deps = httpx.get(url + "config", timeout=30).json()["dependencies"]
    return next(d["id"] for d in deps if d.get("api_name") == api_name)


@pytest.mark.slow
@pytest.mark.parametrize("path,body,status", [
    ("run/predict", {"data": []}, 422),
    ("api/predict", {"data": []}, 422),
    ("run/predict", {"fn_index": 9999, "data": []}, 404),
    ("api/predict", {"fn_index": 9999, "data": []}, 404),
    ("queue/join", {"fn_index": 9999, "data": [], "session_hash": "s1"}, 404),
    ("queue/join", {"data": [], "session_hash": "s1"}, 422),
    ("call/ask", {"data": ["煤炭", 5, "hybrid", [{"role": "user", "content": [{"type": "text", "text": 5}]}]]}, 422),
    ("call/ask", {"data": ["煤炭", 5, "hybrid", [{"role": "user", "content": [{"type": "text", "text": None}]}]]}, 422),
    ("call/ask", {"data": ["煤炭", 5, "hybrid", [{"role": "user", "content": [{"type": "text", "text": {}}]}]]}, 422),
])
def test_bad_event_calls_get_a_clean_4xx(server, path, body, status):
    import httpx

    r = httpx.post(server.url + "gradio_api/" + path, json=body, timeout=30)
    assert r.status_code == status, (r.status_code, r.text)
    assert "Traceback" not in r.text and "Error" not in r.json()["error"]


@pytest.mark.slow
def test_a_page_event_with_wrong_inputs_is_a_422_not_a_500(server):
    import httpx

    add_user = _fn_index(server.url, "add_user")
    r = httpx.post(server.url + "gradio_api/run/predict", json={"fn_index": add_user, "data": ["x", 5]}, timeout=30)
    assert r.status_code == 422 and "pydantic" not in r.text, r.text
    ok = httpx.post(server.url + "gradio_api/run/predict", json={"fn_index": add_user, "data": ["x", []]}, timeout=30)
    assert ok.status_code == 200


@pytest.mark.slow
def test_a_lone_surrogate_through_the_queue_gets_a_whole_reply(server):
    """The page's own route: the event stream runs to its end instead of being cut by an encoding error."""
    import httpx

    question = "\\ud8002021年山西煤炭产量是多少？"  # a JSON escape: a lone surrogate, then the question
    for route, fn in (("run/predict", "add_user"), ("queue/join", "answer")):  # as the page sends it
        data = f'["{question}", []]' if fn == "add_user" else f'["{question}", [], 5, "hybrid", [], {{}}]'
        raw = '{"fn_index": %d, "data": %s, "session_hash": "surrogate1"}' % (_fn_index(server.url, fn), data)
        r = httpx.post(server.url + "gradio_api/" + route, content=raw.encode(),
                       headers={"content-type": "application/json"}, timeout=30)
        assert r.status_code == 200, r.text
    done = None
    with httpx.stream("GET", server.url + "gradio_api/queue/data?session_hash=surrogate1", timeout=120) as s:
        for line in s.iter_lines():
            if line.startswith("data:") and '"process_completed"' in line:
                done = json.loads(line[5:])
                break
    assert done is not None and done["success"] is True
    assert "11.9亿吨" in json.dumps(done["output"]["data"], ensure_ascii=False)


@pytest.mark.slow
def test_uploads_never_added_are_deleted(library_server, tmp_path):
    import httpx

    r = httpx.post(library_server.url + "gradio_api/upload",
                   files={"files": ("note.txt", "一份没有添加的文件。".encode(), "text/plain")}, timeout=30)
    assert r.status_code == 200, r.text
    path = Path(r.json()[0])
    assert path.exists()
    deadline = time.monotonic() + UPLOAD_MAX_AGE * 3
    while path.exists() and time.monotonic() < deadline:
        time.sleep(1)
    assert not path.exists()


@pytest.mark.slow
@pytest.mark.browser
def test_page_refuses_an_upload_over_the_limit_in_chinese(browser, library_server, tmp_path):
    """The limit is the server's, so the refusal is the page's own message, not Gradio's English toast."""
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:
        f.truncate(51 << 20)
    context = browser.new_context(viewport={"width": 1300, "height": 900}, locale="en-US")
    page = context.new_page()
    page.goto(library_server.url)
    page.wait_for_selector("#qa-question textarea", timeout=30_000)
    page.locator("#qa-upload input[type=file]").set_input_files([str(big)])
    toast = page.get_by_text("文件太大").first
    toast.wait_for(timeout=30_000)
    assert "50 MB" in toast.inner_text()
    context.close()


@pytest.mark.slow
def test_openai_api_on_loopback_needs_no_key(server):
    from openai import OpenAI

    client = OpenAI(base_url=server.url + "v1", api_key="anything", max_retries=0, timeout=60)
    r = client.chat.completions.create(model="qa", messages=[{"role": "user", "content": "2021年山西煤炭产量是多少？"}])
    assert r.model_extra["qa"]["short"] == "11.9亿吨"
