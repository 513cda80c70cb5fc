"""Logins and the guard in front of the web server: uploads, file serving, API request shapes."""
import json

import pytest

from qa.serve.security import AuthError, Guard, check_ask_data, is_loopback, load_auth


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


# -- event routes, lone surrogates and login guessing (issue 17) --------------------------------------------
def _blocks():
    from types import SimpleNamespace

    return SimpleNamespace(fns={0: SimpleNamespace(api_name="add_user", inputs=[1, 2]),
                                1: SimpleNamespace(api_name="ask", inputs=[1, 2, 3, 4])})


@pytest.mark.parametrize("path", ["/gradio_api/queue/join", "/gradio_api/run/predict", "/gradio_api/api/predict"])
def test_guard_checks_the_event_number_and_its_inputs(path):
    c = _client(blocks=_blocks())
    r = c.post(path, json={"data": []})
    assert r.status_code == 422 and "fn_index" in r.json()["error"]
    assert c.post(path, json={"fn_index": "0", "data": []}).status_code == 422
    r = c.post(path, json={"fn_index": 99, "data": [], "session_hash": "s"})
    assert r.status_code == 404 and "99" in r.json()["error"]
    r = c.post(path, json={"fn_index": 0, "data": ["x"], "session_hash": "s"})
    assert r.status_code == 422 and "takes 2 inputs" in r.json()["error"]
    r = c.post(path, json={"fn_index": 1, "data": [5], "session_hash": "s"})  # /ask by number: its own checks
    if path.endswith("predict"):
        assert r.status_code == 422 and "text" in r.json()["error"]
    else:  # the queue: completed to four values; the handler's error event says what is wrong
        assert r.status_code == 200 and json.loads(r.text)["data"] == [5, None, None, None]
    r = c.post(path, content='{"fn_index": 0, "data": ["\\ud800煤炭", []], "session_hash": "s"}'.encode())
    assert r.status_code == 200 and json.loads(r.text)["data"] == ["?煤炭", []]


def test_guard_turns_a_failing_direct_event_into_a_422():
    from starlette.applications import Starlette
    from starlette.routing import Route
    from starlette.testclient import TestClient

    async def boom(request):
        raise RuntimeError("internal detail")

    app = Starlette(routes=[Route("/{path:path}", boom, methods=["POST"])])
    c = TestClient(Guard(app, blocks=_blocks()), raise_server_exceptions=False)
    r = c.post("/gradio_api/run/predict", json={"fn_index": 0, "data": ["x", []]})
    assert r.status_code == 422 and "internal detail" not in r.text


def test_guard_limits_wrong_logins_per_address():
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    async def login(request):
        form = await request.form()
        ok = form.get("password") == "correct-horse"
        return PlainTextResponse("ok" if ok else "Incorrect credentials.", status_code=200 if ok else 400)

    c = TestClient(Guard(Starlette(routes=[Route("/login", login, methods=["POST"])])))
    assert c.post("/login", data={"username": "a", "password": "correct-horse"}).status_code == 200
    codes = [c.post("/login", data={"username": "a", "password": f"guess{i}"}).status_code for i in range(8)]
    assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}
    r = c.post("/login", data={"username": "a", "password": "correct-horse"})
    assert r.status_code == 429 and "try again" in r.json()["error"]  # even the right one waits


def test_api_keys_come_from_the_environment_and_key_lines_which_are_not_logins(tmp_path, monkeypatch):
    from qa.serve.security import key_ok, load_api_keys

    f = tmp_path / "auth.txt"
    f.write_text("ana:correct-horse\nkey: sk-qa-file-key-0123456789\n# key:commented-out-0000000\n", encoding="utf-8")
    monkeypatch.setenv("QA_API_KEYS", "sk-qa-env-key-0123456789, ")
    assert load_auth(str(f)) == [("ana", "correct-horse")]
    keys = load_api_keys(str(f))
    assert keys == ["sk-qa-file-key-0123456789", "sk-qa-env-key-0123456789"]
    assert key_ok(b"Bearer sk-qa-env-key-0123456789", keys) and key_ok("bearer  sk-qa-file-key-0123456789 ", keys)
    assert not key_ok(b"Bearer sk-qa-env-key-012345678", keys) and not key_ok(None, keys)
    assert not key_ok(b"Basic sk-qa-env-key-0123456789", keys)
    monkeypatch.setenv("QA_API_KEYS", "short")
    with pytest.raises(AuthError, match="16 characters"):
        load_api_keys()


# -- bodies, headers and closed doors ----------------------------------------------------------------------
def test_nesting_is_counted_without_parsing_and_strings_do_not_count():
    from qa.serve.security import nesting

    assert nesting(b'{"a": [1, {"b": []}]}') == 4
    assert nesting(b'{"a": "[[[[{{{{\\"]]]"}') == 1
    assert nesting(b"[" * 100_000) == 100_000
    assert nesting(b"") == 0


@pytest.mark.parametrize("depth", [100, 990, 5_000, 100_000])
@pytest.mark.parametrize("path", ["/call/ask", "/gradio_api/call/ask", "/gradio_api/run/predict", "/run/predict",
                                  "/gradio_api/queue/join", "/gradio_api/reset"])
def test_a_deeply_nested_body_is_a_400_on_every_route(path, depth):
    c = _client(blocks=_blocks())
    deep = "[" * depth + "]" * depth
    for body in ('{"data": ["煤炭", 5, "hybrid", %s]}' % deep, '{"fn_index": 1, "x": %s}' % deep):
        r = c.post(path, content=body.encode(), headers={"content-type": "application/json"})
        assert r.status_code == 400 and "nests deeper than 64" in r.json()["error"], r.text[:200]
    assert c.post(path, json={"data": [[[["fine"]]]]}).status_code != 400  # shallow nesting passes


def test_one_authorization_header_or_none():
    from qa.serve.security import authorization

    assert authorization({"headers": [(b"authorization", b"Bearer a")]}) == b"Bearer a"
    assert authorization({"headers": []}) is None
    assert authorization({"headers": [(b"authorization", b"Bearer a"), (b"authorization", b"Bearer b")]}) is None


def test_mcp_over_http_refuses_two_authorization_headers():
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from qa.serve.mcp_server import KeyCheck

    key = "sk-qa-test-0123456789abcdef"
    app = Starlette(routes=[Route("/mcp", lambda r: PlainTextResponse("ok"), methods=["POST"])])
    c = TestClient(KeyCheck(app, [key]))
    assert c.post("/mcp", headers={"authorization": f"Bearer {key}"}).status_code == 200
    for pair in ([("authorization", f"Bearer {key}"), ("authorization", "Bearer sk-bad-0000000000000000")],
                 [("authorization", "Bearer sk-bad-0000000000000000"), ("authorization", f"Bearer {key}")]):
        assert c.post("/mcp", headers=pair).status_code == 401


def test_gradiosown_start_call_is_let_in_from_this_machine_only():
    from qa.serve.security import own_start

    assert own_start({"client": ("127.0.0.1", 5000)}, "/gradio_api/startup-events")
    assert not own_start({"client": ("10.0.0.7", 5000)}, "/gradio_api/startup-events")
    assert not own_start({"client": ("127.0.0.1", 5000)}, "/gradio_api/info")
