"""The OpenAI-compatible API of ``qa serve``, through the official ``openai`` client."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from conftest import ROOT
from qa.serve.openai_api import parse_request, to_markdown

KEY = "sk-qa-test-0123456789abcdef"
QUESTION = "2021年山西煤炭产量是多少？"


def test_parse_request_takes_the_last_user_message_and_the_earlier_ones_as_history():
    body = {"model": "qa", "messages": [{"role": "system", "content": "be brief"},
                                        {"role": "user", "content": QUESTION},
                                        {"role": "assistant", "content": "11.9亿吨"},
                                        {"role": "user", "content": [{"type": "text", "text": "同比增长了多少？"}]}]}
    assert parse_request(body, "qa") == ("同比增长了多少？", [QUESTION], False, [])


def test_parse_request_names_the_fields_it_ignores_and_refuses_several_choices():
    body = {"model": "qa", "messages": [{"role": "user", "content": QUESTION}], "max_tokens": 1, "temperature": 0.2,
            "user": None}
    assert parse_request(body, "qa")[3] == ["max_tokens", "temperature"]
    assert parse_request({**body, "n": 1}, "qa")[3] == ["max_tokens", "temperature"]
    with pytest.raises(ValueError, match="'n' must be 1"):
        parse_request({**body, "n": 3}, "qa")


@pytest.mark.parametrize("body,error", [
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}, LookupError),
    ({"model": "qa", "messages": []}, ValueError),
    ({"model": "qa", "messages": [{"role": "assistant", "content": "x"}]}, ValueError),
    ({"model": "qa", "messages": [{"role": "user", "content": 5}]}, ValueError),
    ({"model": "qa", "messages": [{"role": "user", "content": [{"type": "text", "text": None}]}]}, ValueError),
    ({"model": "qa", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}, ValueError),
    ([], ValueError),
])
def test_parse_request_refuses_bad_bodies(body, error):
    with pytest.raises(error):
        parse_request(body, "qa")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``qa serve`` with an API key set (so the key is checked even on loopback)."""
    import httpx

    logs = tmp_path_factory.mktemp("openai")
    port = _free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", GRADIO_ANALYTICS_ENABLED="False", QA_API_KEYS=KEY,
               QA_FEEDBACK=str(logs / "feedback.sqlite"))
    err = open(logs / "stderr.txt", "w")
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=err, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            assert proc.poll() is None, (logs / "stderr.txt").read_text()
            try:
                # up, and done logging its start-up: the server answers before its last lines are written
                if httpx.get(url + "/", timeout=5).status_code == 200 and \
                        "OpenAI-compatible API" in (logs / "stderr.txt").read_text():
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "qa serve did not start"
            time.sleep(0.5)
        yield SimpleNamespace(url=url, log=logs / "stderr.txt")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def client(server):
    from openai import OpenAI

    return OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0, timeout=60)


@pytest.mark.slow
def test_models_lists_the_served_index(client, server):
    assert [m.id for m in client.models.list()] == ["qa"]
    assert "OpenAI-compatible API: base URL" in server.log.read_text()


@pytest.mark.slow
def test_plain_reply_has_the_short_answer_citations_and_the_answer_json(client):
    r = client.chat.completions.create(model="qa", messages=[{"role": "user", "content": QUESTION}])
    content = r.choices[0].message.content
    assert content.startswith("**11.9亿吨**") and "煤炭产量11.9亿吨" in content
    assert "1. 000_d45281373ae632ae.txt" in content and "字符 989–1097" in content
    qa = r.model_extra["qa"]
    assert qa["short"] == "11.9亿吨" and qa["confident"] and qa["passages"][0]["doc"] == "000_d45281373ae632ae.txt"
    assert r.choices[0].finish_reason == "stop" and r.object == "chat.completion"


@pytest.mark.slow
def test_streamed_reply_comes_in_chunks_short_answer_first(client):
    stream = client.chat.completions.create(model="qa", messages=[{"role": "user", "content": QUESTION}],
                                            stream=True)
    chunks = list(stream)
    texts = [c.choices[0].delta.content or "" for c in chunks]
    assert len([t for t in texts if t]) >= 2 and texts[0] == "**11.9亿吨**\n\n"
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].model_extra["qa"]["short"] == "11.9亿吨"


@pytest.mark.slow
def test_a_follow_up_uses_the_earlier_user_messages(client):
    r = client.chat.completions.create(model="qa", messages=[
        {"role": "user", "content": QUESTION}, {"role": "assistant", "content": "11.9亿吨"},
        {"role": "user", "content": "同比增长了多少？"}])
    assert r.model_extra["qa"]["short"] == "10.5%" and "理解为" in r.choices[0].message.content


@pytest.mark.slow
def test_no_answer_is_said_as_the_page_says_it(client):
    r = client.chat.completions.create(model="qa", messages=[{"role": "user", "content": "2021年山西日均煤炭产量是多少？"}])
    content = r.choices[0].message.content
    assert not r.model_extra["qa"]["confident"] and content.startswith("**文中似乎没有回答这个问题。**")
    assert "原因：文中没有提到“日均”" in content and "最接近的段落" in content


@pytest.mark.slow
def test_errors_are_openai_errors_with_the_right_status(client, server):
    import httpx
    import openai

    with pytest.raises(openai.AuthenticationError) as e:
        openai.OpenAI(base_url=server.url + "/v1", api_key="sk-wrong-key-000000000", max_retries=0).models.list()
    assert e.value.status_code == 401 and e.value.body["code"] == "invalid_api_key"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="qa", messages=[{"role": "user", "content": "   "}])
    assert e.value.status_code == 400
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="qa", messages=[])
    headers = {"authorization": f"Bearer {KEY}", "content-type": "application/json"}
    r = httpx.post(server.url + "/v1/chat/completions", content=b"{not json", headers=headers, timeout=30)
    assert r.status_code == 400 and set(r.json()["error"]) >= {"message", "type", "code"}
    r = httpx.post(server.url + "/v1/chat/completions", content=b"x" * (2 << 20), headers=headers, timeout=30)
    assert r.status_code == 413
    assert httpx.get(server.url + "/v1/models", timeout=30).status_code == 401  # no key at all
    two = [("authorization", "Bearer sk-wrong-key-000000000"), ("authorization", f"Bearer {KEY}")]
    for pair in (two, two[::-1]):  # several Authorization headers: refused, whichever comes first
        assert httpx.get(server.url + "/v1/models", headers=pair, timeout=30).status_code == 401
    for depth in (100, 1000, 100_000):  # nested past the parser's reach: a 400 in OpenAI's shape
        body = b'{"model": "qa", "x": ' + b"[" * depth + b"]" * depth + b"}"
        r = httpx.post(server.url + "/v1/chat/completions", content=body, headers=headers, timeout=30)
        assert r.status_code == 400 and "nests deeper" in r.json()["error"]["message"], (depth, r.text[:200])
    with pytest.raises(openai.BadRequestError, match="'n' must be 1"):
        client.chat.completions.create(model="qa", messages=[{"role": "user", "content": QUESTION}], n=3)
    reply = client.chat.completions.create(model="qa", messages=[{"role": "user", "content": QUESTION}], max_tokens=1)
    assert reply.model_extra["ignored"] == ["max_tokens"] and "11.9亿吨" in reply.choices[0].message.content
    assert "Traceback" not in server.log.read_text()


def test_markdown_of_an_answer_and_of_no_answer():
    from qa.retriever import Answer, Passage

    p = Passage("煤炭产量11.9亿吨。", 1.0, 1, "a.txt", "一、能源", 10, 20, "煤炭产量11.9亿吨。", 10, 20, page=2)
    parts = to_markdown(Answer("煤炭产量11.9亿吨。", True, [p], short="11.9亿吨"), "煤炭产量？")
    assert parts[0] == "**11.9亿吨**\n\n" and parts[-1] == "1. a.txt · 一、能源 · 第2页 · 字符 10–20: 煤炭产量11.9亿吨。\n"
    none = to_markdown(Answer(None, False, [p], notes=["文中没有提到“日均”"]), "日均产量？")
    assert none[0].startswith("**文中似乎没有回答这个问题。**") and none[1] == "原因：文中没有提到“日均”\n\n"
