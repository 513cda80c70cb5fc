"""What ``qa serve`` lets in: logins, uploads, and the shape of API requests.

* **Logins.** Listening beyond loopback without a login would hand the documents (and the
  upload form) to the whole network, so ``qa serve`` refuses to, unless logins are set or
  ``--insecure-no-auth`` says the operator knows (then it warns loudly). Credentials come
  from a file (``--auth-file``, ``QA_AUTH_FILE``: one ``user:password`` per line) or the
  ``QA_AUTH`` variable, never from the command line, where ``ps`` would show them.
* **The guard** (:class:`Guard`, an ASGI middleware in front of Gradio):
  - Gradio's upload route is closed unless the page takes documents (``--library``), and
    then it takes at most ``max_upload`` bytes a request;
  - files are never served back from the server's origin (``/file=``): an uploaded
    ``.html`` must not run as the site;
  - ``/call/<name>``, ``/run/<name>`` and ``/api/<name>`` name an existing API endpoint
    (else 404, not a 500), and a call to ``/ask`` is checked before Gradio sees it: its
    ``data`` is ``[question, k?, mode?, history?]`` with the same rules as the Python API
    (else a 4xx with a short message, never an internal one), and the optional values are
    filled in so that the three-value calls of earlier versions keep working;
  - the routes that take a ``fn_index`` (the page's queue, ``/run/predict``) need one that
    exists (else 422 or 404), and every string in their body is made valid UTF-8 first:
    a lone surrogate would otherwise break the reply stream;
  - ``/login`` allows a few wrong passwords a minute from one address, then answers 429.
"""
from __future__ import annotations

import ipaddress
import json
import re
import threading
import time
from pathlib import Path

from .. import config

LOOPBACK = ("localhost", "127.0.0.1", "::1")
#: The largest API request body read (a question of any length fits well within it).
MAX_BODY = 1 << 20
#: Wrong logins allowed from one address within LOGIN_WINDOW seconds before /login answers 429.
LOGIN_FAILURES = 5
LOGIN_WINDOW = 60.0


class AuthError(ValueError):
    """Logins are missing or unreadable."""


def is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _auth_lines(path: str | None) -> list[str]:
    """The entries of the login file (``path`` or ``QA_AUTH_FILE``): non-blank lines, ``#`` comments out."""
    path = path or config.get("QA_AUTH_FILE")
    if not path:
        return []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise AuthError(f"cannot read the login file {path}: {exc.strerror or exc}") from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def load_auth(path: str | None = None) -> list[tuple[str, str]]:
    """Logins from ``path`` (or ``QA_AUTH_FILE``), and ``QA_AUTH``; each ``user:password``."""
    entries = _auth_lines(path)
    entries += config.listed("QA_AUTH")
    out = []
    for e in entries:
        if e.startswith(KEY_PREFIX):  # an API key (load_api_keys), not a login
            continue
        user, sep, password = e.partition(":")
        if not sep or not user or len(password) < 8:
            raise AuthError("each login must be 'user:password' with a password of 8 characters or more")
        out.append((user, password))
    return out


#: A line of the login file that holds an API key rather than a login: ``key:<the key>``.
KEY_PREFIX = "key:"
#: The shortest API key accepted.
MIN_KEY = 16


def load_api_keys(path: str | None = None) -> list[str]:
    """API keys for the OpenAI-compatible API and ``qa mcp --http``: ``QA_API_KEYS`` (comma-separated)
    and the ``key:…`` lines of the login file (``--auth-file`` or ``QA_AUTH_FILE``)."""
    keys = [e[len(KEY_PREFIX):].strip() for e in _auth_lines(path) if e.startswith(KEY_PREFIX)]
    keys += config.listed("QA_API_KEYS")
    for k in keys:
        if len(k) < MIN_KEY or any(c.isspace() for c in k):
            raise AuthError(f"each API key must be at least {MIN_KEY} characters, without spaces")
    return keys


def authorization(scope) -> bytes | None:
    """The request's one ``Authorization`` header; None when it has none or several (a request that
    sends two keys is not let in by either of them, on every route alike)."""
    values = [v for k, v in scope.get("headers", []) if k.lower() == b"authorization"]
    return values[0] if len(values) == 1 else None


def key_ok(header: bytes | str | None, keys: list[str]) -> bool:
    """Whether an ``Authorization: Bearer <key>`` header names one of ``keys`` (compared in constant time)."""
    import hmac

    if header is None:
        return False
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    token = token.strip().encode()
    return any(hmac.compare_digest(token, k.encode()) for k in keys)


#: The deepest nesting of arrays and objects a JSON body may have (real requests use four or five).
MAX_DEPTH = 64
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class BodyError(ValueError):
    """A request body the server will not read: ``status`` (400 or 413) and a message for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


async def read_body(receive, limit: int = MAX_BODY) -> bytes:
    """The whole request body; BodyError(413) once it passes ``limit`` bytes."""
    body, more = b"", True
    while more:
        msg = await receive()
        body += msg.get("body", b"")
        more = msg.get("more_body", False)
        if len(body) > limit:
            raise BodyError(413, f"the request is larger than {limit >> 20} MB")
    return body


def nesting(body: bytes) -> int:
    """How deeply a JSON text nests arrays and objects, counted without parsing it (strings skipped)."""
    depth = deepest = 0
    for m in _JSON_TOKENS.finditer(body):
        c = m.group()
        if c in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif c in (b"]", b"}"):
            depth -= 1
    return deepest


def parse_json(body: bytes, max_depth: int = MAX_DEPTH):
    """The JSON value of a request body, made valid UTF-8 (``clean_strings``). BodyError(400) when it is
    not JSON or nests deeper than ``max_depth``: the depth is checked before parsing, so no body a
    client chooses can exhaust the parser's recursion."""
    if nesting(body) > max_depth:
        raise BodyError(400, f"the JSON nests deeper than {max_depth} levels")
    try:
        return clean_strings(json.loads(body.decode("utf-8", "replace") or "null"))
    except ValueError:
        raise BodyError(400, "the body must be JSON") from None


def _json(send, status: int, message: str):
    body = json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")

    async def go():
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
    return go()


def _text(send, status: int, message: str):
    """A plain-text refusal: the page's upload shows it as it is ("HTTP 413: 文件太大…")."""
    body = message.encode("utf-8")

    async def go():
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
    return go()


def _no_500(send):
    """``send`` for a direct event call: a handler that fails on the inputs it was given is the
    caller's 422, with a short message, not a 500 carrying Python's (the server logs the error)."""
    failed = False

    async def wrapped(message):
        nonlocal failed
        if message["type"] == "http.response.start" and message["status"] == 500:
            failed = True
            return
        if failed:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                await _json(send, 422, "the event could not run with these inputs")
            return
        await send(message)
    return wrapped


def check_ask_data(data) -> list:
    """The ``data`` of an ``/ask`` call, checked and completed: ``[question, k, mode, history]``.

    Raises ValueError with a message for the caller.
    """
    from ..answer.followup import history_questions
    from ..retriever import MODES, check_k, check_mode, clean_question

    if not isinstance(data, list) or not 1 <= len(data) <= 4:
        raise ValueError("data must be a list: [question, k (1-100, optional), mode (optional), "
                         "history (optional: earlier questions, oldest first)]")
    data = data + [None] * (4 - len(data))
    question, k, mode, history = data
    if isinstance(question, str):
        question = question.encode("utf-8", "replace").decode("utf-8")  # lone surrogates become '?'
    if isinstance(history, list):
        history = [h.encode("utf-8", "replace").decode("utf-8") if isinstance(h, str) else h for h in history]
    clean_question(question)
    k = 5 if k is None else check_k(k)
    mode = "hybrid" if mode is None else check_mode(mode)
    history_questions(history)
    assert mode in MODES
    return [question, k, mode, history]


def clean_strings(value):
    """``value`` with every string made valid UTF-8 (a lone surrogate becomes '?'), recursively."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [clean_strings(v) for v in value]
    if isinstance(value, dict):
        return {clean_strings(k): clean_strings(v) for k, v in value.items()}
    return value


class _Logins:
    """Wrong logins per client address, in a sliding window."""

    def __init__(self, limit: int = LOGIN_FAILURES, window: float = LOGIN_WINDOW):
        self.limit, self.window = limit, window
        self.failures: dict[str, list[float]] = {}
        self.lock = threading.Lock()

    def _recent(self, who: str, now: float) -> list[float]:
        times = [t for t in self.failures.get(who, []) if now - t < self.window]
        if times:
            self.failures[who] = times
        else:
            self.failures.pop(who, None)
        return times

    def wait(self, who: str) -> float:
        """Seconds until ``who`` may try again (0: now)."""
        now = time.monotonic()
        with self.lock:
            times = self._recent(who, now)
            return self.window - (now - times[-self.limit]) if len(times) >= self.limit else 0.0

    def record(self, who: str, ok: bool) -> None:
        with self.lock:
            if ok:
                self.failures.pop(who, None)
            else:
                self.failures.setdefault(who, []).append(time.monotonic())
                if len(self.failures) > 10_000:  # forget the oldest addresses rather than grow without end
                    self.failures.pop(next(iter(self.failures)))


class Guard:
    """ASGI middleware in front of the Gradio app (see the module docstring).

    ``blocks``: the Gradio app, whose event functions are the valid ``fn_index`` values."""

    def __init__(self, app, api_names=("ask",), uploads: bool = False, max_upload: int = 50 << 20, blocks=None):
        self.app = app
        self.api_names = set(api_names)
        self.uploads = uploads
        self.max_upload = max_upload
        self.blocks = blocks
        self.logins = _Logins()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        method = scope.get("method", "GET")
        tail = path.split("/gradio_api", 1)[-1] if "/gradio_api" in path else path
        if not logged_in(scope) and not open_to_strangers(path) and not own_start(scope, path):
            return await _json(send, 401, "log in first (登录后才能使用): this server asks for a login")
        if tail.startswith("/file=") or tail.startswith("/file/"):
            return await _json(send, 403, "files are not served from this server")
        if method in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        if tail.rstrip("/") == "/login":
            return await self._login(scope, receive, send)
        if tail.startswith("/upload"):
            if not self.uploads:
                return await _json(send, 403, "uploads are closed on this server (start it with --library to "
                                              "take documents)")
            length = dict(scope.get("headers", [])).get(b"content-length")
            if length is None or not length.isdigit() or int(length) > self.max_upload:
                return await _text(send, 413, f"文件太大：一次上传最多 {self.max_upload // (1 << 20)} MB。"
                                              f"(an upload may be at most {self.max_upload // (1 << 20)} MB)")
            return await self.app(scope, receive, send)
        # every other body is read once, here, within the size and nesting limits, before Gradio parses it
        try:
            body = await read_body(receive)
            if nesting(body) > MAX_DEPTH:
                raise BodyError(400, f"the JSON nests deeper than {MAX_DEPTH} levels")
        except BodyError as exc:
            return await _json(send, exc.status, str(exc))
        for prefix in ("/call/", "/run/", "/api/"):
            if tail.startswith(prefix):
                name = tail[len(prefix):].strip("/").split("/")[0]
                if name == "predict" and prefix != "/call/":
                    return await self._by_index(scope, receive, body, send)
                if name not in self.api_names:
                    return await _json(send, 404, f"no API endpoint /{name}; this server has "
                                                  + ", ".join("/" + n for n in sorted(self.api_names)))
                if name == "ask":
                    return await self._ask(scope, receive, body, send)
        if tail.rstrip("/") == "/queue/join":
            return await self._by_index(scope, receive, body, send)
        return await self._forward(scope, receive, send, body)

    async def _login(self, scope, receive, send):
        who = (scope.get("client") or ("?", 0))[0]
        wait = self.logins.wait(who)
        if wait > 0:
            return await _json(send, 429, f"too many wrong logins: try again in {wait:.0f} s")
        status = 0

        async def watch(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        self.logins.record(who, 200 <= status < 400)

    async def _by_index(self, scope, receive, body: bytes, send):
        """``/queue/join`` and ``/run/predict``: the body names an existing ``fn_index``; strings made valid."""
        payload = await self._payload(send, body)
        if payload is None:
            return
        fn_index = payload.get("fn_index")
        if not isinstance(fn_index, int) or isinstance(fn_index, bool):
            return await _json(send, 422, "the body must name the event to run: \"fn_index\" (a number)")
        fn = self.blocks.fns.get(fn_index) if self.blocks is not None else None
        if self.blocks is not None and fn is None:
            return await _json(send, 404, f"no event with fn_index {fn_index} on this page")
        data = payload.get("data")
        if not isinstance(data, list):
            return await _json(send, 422, "the body must have \"data\": a list of the event's inputs")
        direct = scope.get("path", "").rstrip("/").endswith("/predict")
        if fn is not None and getattr(fn, "api_name", None) in self.api_names:  # /ask by its number
            if not 1 <= len(data) <= len(fn.inputs):
                return await _json(send, 422, f"/ask takes 1 to {len(fn.inputs)} inputs, not {len(data)}")
            payload["data"] = data + [None] * (len(fn.inputs) - len(data))
            if direct:  # through the queue (gradio_client's way), the handler's own error event says what is wrong
                try:
                    payload["data"] = check_ask_data(data)
                except ValueError as exc:
                    return await _json(send, 422, str(exc))
        elif fn is not None and len(data) != len(fn.inputs):
            return await _json(send, 422, f"event {fn_index} takes {len(fn.inputs)} inputs, not {len(data)}")
        if direct:
            send = _no_500(send)
        return await self._forward(scope, receive, send, _dumps(payload))

    async def _payload(self, send, body: bytes) -> dict | None:
        """The request's JSON object, or None once a 4xx has been sent."""
        try:
            payload = parse_json(body)
        except BodyError as exc:
            await _json(send, exc.status, str(exc))
            return None
        if not isinstance(payload, dict):
            await _json(send, 422, "the body must be a JSON object")
            return None
        return payload

    async def _ask(self, scope, receive, body: bytes, send):
        payload = await self._payload(send, body)
        if payload is None:
            return
        if "data" not in payload:
            return await _json(send, 422, 'the body must be a JSON object with "data": [question, k, mode, history]')
        try:
            payload["data"] = check_ask_data(payload["data"])
        except ValueError as exc:
            return await _json(send, 422, str(exc))
        return await self._forward(scope, receive, send, _dumps(payload))

    async def _forward(self, scope, receive, send, new_body: bytes):
        """Hand the (checked, perhaps rewritten) body on to Gradio."""
        headers = [(k, v) for k, v in scope.get("headers", []) if k != b"content-length"]
        headers.append((b"content-length", str(len(new_body)).encode()))
        scope = dict(scope, headers=headers)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": new_body, "more_body": False}
            return await receive()  # after the body: waits for the client to leave, as Starlette expects

        return await self.app(scope, replay, send)


def _dumps(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8", "replace")


#: What a stranger may fetch from a server that asks for logins: the page itself, the login form and
#: the static files they need. Everything else answers 401 until the login.
OPEN_PATHS = ("/", "/login", "/login/", "/favicon.ico", "/manifest.json", "/robots.txt",
              "/theme.css")
OPEN_PREFIXES = ("/assets/", "/static/", "/svelte/")


def open_to_strangers(path: str) -> bool:
    tail = path.split("/gradio_api", 1)[-1] if path.startswith("/gradio_api") else path
    return tail in OPEN_PATHS or path in OPEN_PATHS or tail.startswith(OPEN_PREFIXES) or tail == ""


def own_start(scope, path: str) -> bool:
    """Gradio's launch calls its own ``startup-events`` route, from this machine, before anyone logs in."""
    client = (scope.get("client") or ("", 0))[0]
    return path.rstrip("/").endswith("/startup-events") and is_loopback(client)


def logged_in(scope) -> bool:
    """Whether the request may pass the login: always when the server asks for none, else when it
    carries the session cookie of a login (Gradio's own ``access-token``)."""
    from http.cookies import CookieError, SimpleCookie

    app = scope.get("app")
    if not getattr(app, "auth", None):
        return True
    jar = SimpleCookie()
    for k, v in scope.get("headers", []):
        if k == b"cookie":
            try:
                jar.load(v.decode("latin-1"))
            except CookieError:
                return False
    cid = getattr(app, "cookie_id", "")
    for name in (f"access-token-{cid}", f"access-token-unsecure-{cid}"):
        if name in jar and jar[name].value in getattr(app, "tokens", {}):
            return True
    return False
