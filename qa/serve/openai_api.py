"""An OpenAI-compatible chat API on ``qa serve``'s own port, for the chat front-ends people use.

Open WebUI, LobeChat, ChatBox and Cherry Studio speak OpenAI's chat-completions API, so
``qa serve`` answers it too (an ASGI middleware in front of the page, like
:class:`qa.serve.security.Guard`):

* ``GET /v1/models`` lists the served index: ``qa`` (the demo) or ``qa-library``.
* ``POST /v1/chat/completions``: the last user message is the question, the earlier user
  messages its history, so follow-ups resolve as on the page. The reply's ``content`` is
  Markdown (the short answer, the sentence, numbered citations), or says there is no answer
  as the page does; the extra field ``qa`` carries the ``Answer`` JSON. ``stream: true``
  sends OpenAI's chunks over server-sent events, the short answer first, ending with
  ``data: [DONE]``. The fields read are ``model``, ``messages``, ``stream`` and ``n`` (1 only); any
  other is named in the reply's ``ignored`` list.
* Keys: ``QA_API_KEYS`` or ``key:`` lines of the auth file, as ``Authorization: Bearer``.
  With no key configured, the API is open on loopback; beyond loopback it needs keys (or
  ``--insecure-no-auth``). Errors are OpenAI's JSON (``{"error": {message, type, code}}``):
  401 bad key (or several ``Authorization`` headers), 400 bad body (not JSON, nested deeper than
  64 levels, a question over 1,000 characters), 404 unknown model, 413 body over the limit.
"""
from __future__ import annotations

import json
import time
import uuid

from ..answer.followup import history_questions
from .security import BodyError, authorization, key_ok, parse_json, read_body


def _error(status: int, message: str, code: str, kind: str = "invalid_request_error") -> tuple[int, dict]:
    return status, {"error": {"message": message, "type": kind, "code": code, "param": None}}


def _text_of(content) -> str:
    """The text of a message's content: a string, or OpenAI's list of parts ({"type": "text", "text": …})."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") not in ("text", "input_text"):
                continue  # images and other parts carry no question text
            if not isinstance(part.get("text"), str):
                raise ValueError("each text part of a message must have a string 'text'")
            parts.append(part["text"])
        return " ".join(parts)
    raise ValueError("a message's content must be a string or a list of content parts")


#: The request fields this API reads. Any other (``max_tokens``, ``temperature``, ``tools`` …) is named in
#: the reply's ``ignored`` list: an answer is a span of the documents, which no sampling setting changes.
HONOURED = ("model", "messages", "stream", "n")


def parse_request(body: dict, model_id: str) -> tuple[str, list[str], bool, list[str]]:
    """(question, earlier user questions, stream, fields ignored) from a chat-completions body;
    ValueError or LookupError. ``n`` other than 1 is refused: a client asking for several choices
    would otherwise get one without being told."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    model = body.get("model", model_id)
    if not isinstance(model, str):
        raise ValueError("'model' must be a string")
    if model != model_id:
        raise LookupError(f"the model '{model}' does not exist on this server; it serves '{model_id}' "
                          "(GET /v1/models)")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty list of {role, content}")
    users = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise ValueError(f"messages[{i}] must be an object with a 'role'")
        if m["role"] == "user":
            users.append(_text_of(m.get("content")))
    if not users:
        raise ValueError("there is no user message to answer")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ValueError("'stream' must be true or false")
    if body.get("n", 1) not in (1, None):
        raise ValueError("'n' must be 1: this server gives one answer a question")
    history = history_questions(users[:-1])
    ignored = sorted(k for k in body if k not in HONOURED and body[k] is not None)
    return users[-1], history, stream, ignored


def to_markdown(answer, question: str | None = None) -> list[str]:
    """The reply as Markdown, in the parts a stream sends one by one: the short answer (or the verdict
    that there is none) first, with how a follow-up was understood."""
    head = f"理解为：{answer.resolved}\n\n" if answer.resolved and answer.resolved != (question or "").strip() else ""
    parts = []
    if answer.confident and answer.answer:
        if answer.short:
            parts.append(f"{head}**{answer.short}**\n\n")
            head = ""
        parts.append(f"{head}{answer.answer} [1]\n\n")
        parts.append("引用 Sources:\n")
    else:
        parts.append(f"{head}**文中似乎没有回答这个问题。** The documents do not seem to answer this question.\n\n")
        parts += [f"原因：{n}\n\n" for n in answer.notes]
        parts.append("最接近的段落 Nearest passages:\n")
    for p in answer.passages:
        where = [p.doc] + ([p.section] if p.section else []) + ([f"第{p.page}页"] if p.page else [])
        where.append(f"字符 {p.start}–{p.end}")
        parts.append(f"{p.rank}. {' · '.join(where)}: {p.answer}\n")
    return parts


class OpenAIApi:
    """ASGI middleware: ``/v1/models`` and ``/v1/chat/completions``; everything else passes on.

    ``source``: :class:`qa.serve.app.Source` (its ``get()`` is the retriever, None for an empty library);
    ``keys``: the API keys; ``open_without_keys``: whether no key is asked when none is configured."""

    def __init__(self, app, source, model_id: str = "qa", keys: list[str] | None = None,
                 open_without_keys: bool = True, concurrency: int = 2):
        import anyio

        self.app, self.source, self.model_id = app, source, model_id
        self.keys = list(keys or [])
        self.open_without_keys = open_without_keys
        self.limit = anyio.CapacityLimiter(concurrency)

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/v1/"):
            return await self.app(scope, receive, send)
        status, payload = self._auth(scope)
        if status is None:
            route, method = path.rstrip("/"), scope.get("method", "GET")
            if route == "/v1/models" and method == "GET":
                status, payload = 200, {"object": "list", "data": [
                    {"id": self.model_id, "object": "model", "created": 0, "owned_by": "qa"}]}
            elif route == "/v1/chat/completions" and method == "POST":
                return await self._chat(receive, send)
            elif route in ("/v1/models", "/v1/chat/completions"):
                status, payload = _error(405, f"{method} is not allowed on {route}", "method_not_allowed")
            else:
                status, payload = _error(404, f"no route {route} (this server has /v1/models and "
                                              "/v1/chat/completions)", "not_found")
        await _send_json(send, status, payload)

    def _auth(self, scope) -> tuple[int | None, dict | None]:
        header = authorization(scope)
        if self.keys:
            if key_ok(header, self.keys):
                return None, None
            return _error(401, "Incorrect API key provided: send 'Authorization: Bearer <key>' with a key of "
                               "QA_API_KEYS or the auth file's key: lines", "invalid_api_key")
        if self.open_without_keys:
            return None, None
        return _error(401, "this server listens beyond this machine and has no API keys: set QA_API_KEYS (or "
                           "key: lines in the auth file) to use the API", "invalid_api_key")

    async def _chat(self, receive, send):
        import anyio

        try:
            data = parse_json(await read_body(receive))
            question, history, stream, ignored = parse_request(data, self.model_id)
        except BodyError as exc:
            code = "request_too_large" if exc.status == 413 else "invalid_request"
            return await _send_json(send, *_error(exc.status, f"bad request: {exc}", code))
        except LookupError as exc:
            return await _send_json(send, *_error(404, str(exc), "model_not_found"))
        except ValueError as exc:
            return await _send_json(send, *_error(400, f"bad request: {exc}", "invalid_request"))
        retriever = self.source.get()
        if retriever is None:
            return await _send_json(send, *_error(400, "the library has no documents yet: add some first",
                                                  "empty_library"))
        try:
            answer = await anyio.to_thread.run_sync(
                lambda: retriever.ask(question, k=5, history=history), limiter=self.limit)
        except ValueError as exc:
            return await _send_json(send, *_error(400, str(exc), "invalid_question"))
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        parts = to_markdown(answer, question)
        if not stream:
            return await _send_json(send, 200, {
                "id": cid, "object": "chat.completion", "created": created, "model": self.model_id,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(parts)},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "qa": answer.to_dict(), "ignored": ignored})
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]})

        def chunk(delta: dict, finish: str | None = None, extra: dict | None = None) -> bytes:
            c = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": self.model_id,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **(extra or {})}
            return b"data: " + json.dumps(c, ensure_ascii=False).encode("utf-8") + b"\n\n"

        events = [chunk({"role": "assistant", "content": parts[0]})]
        events += [chunk({"content": p}) for p in parts[1:]]
        events += [chunk({}, "stop", {"qa": answer.to_dict(), "ignored": ignored}), b"data: [DONE]\n\n"]
        for i, e in enumerate(events):
            await send({"type": "http.response.body", "body": e, "more_body": i < len(events) - 1})


async def _send_json(send, status: int, payload: dict) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
