"""Logins and the guard in front of the web server: uploads, file serving, API request shapes."""
import json

import pytest

from qa.security import AuthError, Guard, check_ask_data, is_loopback, load_auth


def test_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def test_logins_from_file_and_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("QA_AUTH", raising=False)
    monkeypatch.delenv("QA_AUTH_FILE", raising=False)
    assert load_auth() == []
    f = tmp_path / "logins"
    f.write_text("# who may log in\nana:correct-horse\n", encoding="utf-8")
    assert load_auth(str(f)) == [("ana", "correct-horse")]
    monkeypatch.setenv("QA_AUTH", "bo:battery-staple")
    assert load_auth(str(f)) == [("ana", "correct-horse"), ("bo", "battery-staple")]
    monkeypatch.setenv("QA_AUTH", "nocolon")
    with pytest.raises(AuthError):
        load_auth()
    with pytest.raises(AuthError, match="cannot read"):
        load_auth(str(tmp_path / "missing"))


def test_ask_data_is_checked_and_completed():
    assert check_ask_data(["煤炭"]) == ["煤炭", 5, "hybrid", None]
    assert check_ask_data(["煤炭", 3, "dense", ["前一个问题"]]) == ["煤炭", 3, "dense", ["前一个问题"]]
    assert check_ask_data(["\ud800煤炭"])[0] == "?煤炭"
    for bad in ([], "煤炭", ["   "], ["煤炭", 0], ["煤炭", 5.0], ["煤炭", 5, "fuzzy"], ["煤炭", 5, "hybrid", "h"],
                ["煤炭", 5, "hybrid", None, "extra"], [{"q": 1}]):
        with pytest.raises(ValueError):
            check_ask_data(bad)


def _client(**kw):
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    async def echo(request):
        return PlainTextResponse((await request.body()).decode("utf-8"))

    app = Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST"])])
    return TestClient(Guard(app, **kw))


def test_guard_closes_uploads_and_file_serving():
    c = _client()
    assert c.post("/gradio_api/upload", files={"files": ("a.html", b"<script>", "text/html")}).status_code == 403
    assert c.get("/gradio_api/file=/tmp/gradio/x/a.html").status_code == 403
    big = _client(uploads=True, max_upload=10)
    assert big.post("/gradio_api/upload", content=b"x" * 100,
                    headers={"content-length": "100"}).status_code == 413
    assert big.post("/gradio_api/upload", content=b"x" * 5, headers={"content-length": "5"}).status_code == 200


def test_guard_checks_api_calls():
    c = _client()
    assert c.post("/gradio_api/call/nope", json={"data": []}).status_code == 404
    r = c.post("/gradio_api/call/ask", json={"data": []})
    assert r.status_code == 422 and "data must be a list" in r.json()["error"]
    assert c.post("/gradio_api/call/ask", content=b"{broken").status_code == 400
    r = c.post("/gradio_api/call/ask", json={"data": ["煤炭产量", 3]})
    assert r.status_code == 200 and json.loads(r.text)["data"] == ["煤炭产量", 3, "hybrid", None]
