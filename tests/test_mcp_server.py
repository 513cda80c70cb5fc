"""qa mcp, driven by the mcp SDK's own client: over stdio and over streamable HTTP (one server each, in a
subprocess, shared by the module), in process for an empty library, and the key middleware alone."""
from __future__ import annotations

import argparse
import contextlib
import functools
import re
import signal
import subprocess
import time

import anyio
import httpx
import pytest
from anyio.from_thread import start_blocking_portal
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from conftest import ROOT, SEED, qa_command, subprocess_env

QUESTION = "2021年山西煤炭产量是多少？"
DOC = SEED.name
KEY = "qa-test-key-0123456789"
TIMEOUT = 300  # seconds: the machine may be busy


class Sync:
    """An async MCP client called from synchronous tests: ``sync.call_tool(...)`` runs in the portal's loop."""

    def __init__(self, portal, client: Client):
        self.portal, self.client = portal, client

    def __getattr__(self, name):
        method = getattr(self.client, name)
        return lambda *a, **kw: self.portal.call(functools.partial(method, *a, **kw))


@contextlib.contextmanager
def connected(transport):
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(
            Client(transport, read_timeout_seconds=TIMEOUT)) as client:
        yield Sync(portal, client)


def error_text(result) -> str:
    assert result.is_error, result
    return result.content[0].text


# -- over stdio ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stdio():
    params = StdioServerParameters(command=qa_command()[0], args=["mcp"], env=subprocess_env(), cwd=ROOT)
    with connected(params) as client:
        yield client


@pytest.mark.slow
def test_stdio_lists_the_tools_with_their_schemas(stdio):
    tools = {t.name: t for t in stdio.list_tools().tools}
    assert {"ask", "search", "list_documents"} <= set(tools)
    ask = tools["ask"]
    assert ask.input_schema["required"] == ["question"] and "history" in ask.input_schema["properties"]
    assert ask.input_schema["properties"]["question"]["description"] and "citations" in ask.description
    assert "citations" in ask.output_schema["properties"]
    k = tools["search"].input_schema["properties"]["k"]
    assert (k["minimum"], k["maximum"], k["default"]) == (1, 20, 5)
    assert tools["list_documents"].input_schema["properties"] == {}
    assert all(t.annotations.read_only_hint for t in tools.values())


@pytest.mark.slow
def test_stdio_ask_gives_the_short_answer_and_its_citation(stdio, seed_text):
    result = stdio.call_tool("ask", {"question": QUESTION})
    assert not result.is_error
    data = result.structured_content
    assert data["confident"] and data["short"] == "11.9亿吨" and "11.9亿吨" in data["answer"]
    top = data["citations"][0]
    assert top["document"] == DOC and seed_text[top["start"]:top["end"]] == top["text"]
    assert seed_text[data["short_start"]:data["short_end"]] == "11.9亿吨"
    assert top["uri"] == f"qa://documents/{DOC}" and top["section"]
    assert "11.9亿吨" in result.content[0].text  # and a readable text beside the structured content


@pytest.mark.slow
def test_stdio_follow_up_with_history(stdio):
    data = stdio.call_tool("ask", {"question": "同比增长了多少？", "history": [QUESTION]}).structured_content
    assert data["short"] == "10.5%" and "煤炭产量" in data["resolved"]


@pytest.mark.slow
def test_stdio_unanswerable_question_says_so_with_the_nearest_passages(stdio):
    result = stdio.call_tool("ask", {"question": "火星上住着多少人？"})
    data = result.structured_content
    assert not result.is_error and not data["confident"] and data["short"] is None
    assert "do not seem to answer" in data["message"] and data["citations"]
    assert "does not seem to answer" in result.content[0].text


@pytest.mark.slow
def test_stdio_search(stdio):
    data = stdio.call_tool("search", {"query": "煤炭产量", "k": 3}).structured_content
    passages = data["passages"]
    assert len(passages) == 3 and [p["rank"] for p in passages] == [1, 2, 3]
    assert all(p["document"] == DOC for p in passages) and "煤炭" in passages[0]["text"]
    assert passages[0]["score"] >= passages[1]["score"] >= passages[2]["score"]


@pytest.mark.slow
def test_stdio_lists_and_serves_the_documents(stdio, seed_text):
    data = stdio.call_tool("list_documents", {}).structured_content
    assert [(d["name"], d["chars"]) for d in data["documents"]] == [(DOC, len(seed_text))]
    uris = [r.uri for r in stdio.list_resources().resources]
    assert uris == [f"qa://documents/{DOC}"]
    assert [t.uri_template for t in stdio.list_resource_templates().resource_templates] == ["qa://documents/{name}"]
    contents = stdio.read_resource(uris[0]).contents[0]
    assert contents.text == seed_text and contents.mime_type == "text/plain"


@pytest.mark.slow
def test_stdio_bad_input_is_a_tool_error_and_the_server_keeps_working(stdio):
    assert "empty" in error_text(stdio.call_tool("ask", {"question": "  "}))
    assert "1 to 20" in error_text(stdio.call_tool("search", {"query": "煤炭", "k": 21}))
    cut = stdio.call_tool("ask", {"question": "2021年山西煤炭产量是多少？" + "煤炭" * 600})  # one rule: cut, with a note
    assert not cut.is_error and "1,000" in cut.structured_content["notes"][0]
    assert "history" in error_text(stdio.call_tool("ask", {"question": QUESTION, "history": "煤炭"}))
    assert stdio.call_tool("ask", {"question": QUESTION}).structured_content["short"] == "11.9亿吨"


@pytest.mark.slow
def test_stdio_server_stops_cleanly_on_sigterm():
    proc = subprocess.Popen(qa_command() + ["mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=subprocess_env(), cwd=ROOT)
    try:
        assert b"loaded in" in proc.stderr.readline()  # stdin stays open, as a host keeps it
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        assert proc.stdout.read() == b""  # nothing but the protocol on stdout, and no message was asked for
    finally:
        proc.kill()
        proc.communicate()


# -- over streamable HTTP --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def http_server(tmp_path_factory):
    log = tmp_path_factory.mktemp("mcp") / "stderr.txt"
    with log.open("w") as err:
        proc = subprocess.Popen(qa_command() + ["mcp", "--http", "--port", "0"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT,
                                env=subprocess_env(QA_API_KEYS=KEY, QA_AUTH_FILE=""))
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (found := re.search(r"http://127\.0\.0\.1:\d+/mcp", log.read_text("utf-8"))):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text("utf-8")
            time.sleep(0.2)
        yield proc, found.group(0), log
    finally:
        proc.terminate()
        proc.wait(60)


@contextlib.contextmanager
def http_client(url: str, key: str):
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    @contextlib.asynccontextmanager
    async def transport():
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"},
                                      timeout=httpx2.Timeout(30, read=TIMEOUT)) as http:
            async with streamable_http_client(url, http_client=http) as streams:
                yield streams

    with connected(transport()) as client:
        yield client


@pytest.mark.slow
def test_http_with_the_key_lists_tools_and_answers(http_server):
    _, url, _ = http_server
    with http_client(url, KEY) as client:
        assert {"ask", "search", "list_documents"} <= {t.name for t in client.list_tools().tools}
        data = client.call_tool("ask", {"question": QUESTION}).structured_content
        assert data["short"] == "11.9亿吨" and data["citations"][0]["document"] == DOC


@pytest.mark.slow
def test_http_without_the_right_key_is_401(http_server):
    _, url, _ = http_server
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    for headers in ({"Authorization": "Bearer wrong-key-0123456789"}, {"Authorization": KEY}, {}):
        r = httpx.post(url, json=body, headers={"Accept": "application/json, text/event-stream", **headers})
        assert r.status_code == 401 and "API key" in r.json()["error"], headers


@pytest.mark.slow
def test_http_beyond_loopback_without_keys_is_refused():
    out = subprocess.run(qa_command() + ["mcp", "--http", "--host", "0.0.0.0", "--port", "0"], capture_output=True,
                         text=True, encoding="utf-8", env=subprocess_env(QA_API_KEYS="", QA_AUTH_FILE=""),
                         cwd=ROOT, timeout=120)
    assert out.returncode == 2 and "refusing to listen on 0.0.0.0" in out.stderr and "QA_API_KEYS" in out.stderr
    assert out.stdout == ""


@pytest.mark.slow
def test_http_server_stops_cleanly_on_sigterm(http_server):
    """(Last of the HTTP tests: it stops the module's server.)"""
    proc, _, log = http_server
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0 and "Traceback" not in log.read_text("utf-8")


# -- in process ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_an_empty_library_says_so_then_answers_once_documents_arrive(tmp_path, embedder):
    from qa import library
    from qa.serve.mcp_server import Source, build_server

    note = tmp_path / "energy.txt"  # a short document: quick to add
    note.write_text("山西是国家重要综合能源基地和电力外送基地。2021年，在确保安全生产的基础上满产增产，"
                    "煤炭产量11.9亿吨、增长10.5%；累计完成煤炭保供4356.02万吨、兑现率达106%。", encoding="utf-8")
    args = argparse.Namespace(library=str(tmp_path / "lib"), index=None, model=None, store=None, milvus_uri=None)
    server = build_server(Source(args))  # makes the empty library, as qa serve --library does

    async def check():
        async with Client(server) as client:
            result = await client.call_tool("list_documents", {})
            assert not result.is_error and result.structured_content["documents"] == []
            assert "no documents yet" in result.content[0].text
            assert (await client.list_resources()).resources == []
            for tool, arguments in (("ask", {"question": QUESTION}), ("search", {"query": "煤炭"})):
                assert "no documents yet" in error_text(await client.call_tool(tool, arguments))
            await anyio.to_thread.run_sync(lambda: library.add(tmp_path / "lib", [note], embedder, progress=False))
            data = (await client.call_tool("ask", {"question": QUESTION})).structured_content
            assert data["short"] == "11.9亿吨" and data["citations"][0]["document"] == "energy.txt"
            assert [r.name for r in (await client.list_resources()).resources] == ["energy.txt"]

    anyio.run(check)


def test_key_check_middleware():
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from qa.serve.mcp_server import KeyCheck

    inner = Starlette(routes=[Route("/mcp", lambda request: PlainTextResponse("ok"), methods=["POST"])])
    with TestClient(KeyCheck(inner, [KEY])) as client:
        assert client.post("/mcp", headers={"Authorization": f"Bearer {KEY}"}).text == "ok"
        for headers in ({}, {"Authorization": "Bearer nope-nope-nope-nope"}, {"Authorization": f"Basic {KEY}"}):
            r = client.post("/mcp", headers=headers)
            assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer"), headers
    with TestClient(KeyCheck(inner, [])) as client:  # no keys configured (loopback): none asked
        assert client.post("/mcp").text == "ok"
