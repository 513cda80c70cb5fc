"""``qa mcp``: qa's tools for agent hosts, over the Model Context Protocol.

Agent hosts (Claude Desktop, Cursor, VS Code, Cherry Studio …) reach outside tools through MCP, so
this server (the official ``mcp`` SDK, 2.x) offers what ``qa ask`` does, to the model in the host:

* the tools ``ask`` (the short answer, its sentence and citations: document, section, page, character
  offsets, passage; or a plain "the documents do not seem to answer" with the nearest passages),
  ``search`` (the best passages for a query) and ``list_documents``, each returning structured
  content and a readable text; bad input is a tool error with a message, never a crash;
* each document's text as the resource ``qa://documents/{name}`` (text/plain).

It talks over stdio by default (the host starts ``qa mcp``; stdout carries only the protocol, logs go
to stderr), or streamable HTTP at ``/mcp`` with ``--http``. Keys as for the rest of qa: ``QA_API_KEYS``
or the ``key:`` lines of ``--auth-file``, sent as ``Authorization: Bearer <key>`` (else 401); listening
beyond loopback needs keys or ``--insecure-no-auth``; on loopback without keys none is asked.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp_types import CallToolResult, Resource, TextContent, ToolAnnotations
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from ..retriever import Passage, clean_question
from .security import authorization, key_ok

URI_PREFIX = "qa://documents/"
ASK_K = 5
MAX_SEARCH_K = 20

INSTRUCTIONS = """qa answers questions about a set of (mostly Chinese) documents, offline, and cites them.
Use `ask` for a question (in Chinese or English; pass the earlier questions as `history` for a follow-up
such as "同比增长了多少？"): trust its answer only when `confident` is true, and cite the document and
section it gives. Use `search` to see passages on a topic, `list_documents` to see what the documents
are, and the resource qa://documents/{name} for a document's full text."""


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def document_uri(name: str) -> str:
    return URI_PREFIX + quote(name, safe="")


# -- what the tools return -----------------------------------------------------------------------
class Citation(BaseModel):
    rank: int = Field(description="1 = the best passage")
    document: str = Field(description="name of the document, as list_documents gives it")
    uri: str = Field(description="the document's resource (its full text)")
    section: str = Field(description="heading of the section the passage is in ('' when none)")
    page: int | None = Field(description="1-based page where the passage starts, for paged documents (PDF)")
    start: int = Field(description="character offset of the passage's start in the document")
    end: int = Field(description="character offset just after the passage's end")
    score: float = Field(description="retrieval score, higher is better (0 to 1)")
    text: str = Field(description="the passage")
    sentence: str = Field(description="the passage's sentence closest to the question")

    @classmethod
    def of(cls, p: Passage) -> Citation:
        return cls(rank=p.rank, document=p.doc, uri=document_uri(p.doc), section=p.section, page=p.page,
                   start=p.start, end=p.end, score=p.score, text=p.text, sentence=p.answer)


class AskResult(BaseModel):
    confident: bool = Field(description="true when the documents answer the question; false when they do not "
                                        "seem to (then the citations are only the nearest passages)")
    message: str = Field(description="one line to relay: the answer, or that the documents do not seem to answer")
    short: str | None = Field(description="the crisp answer (a figure, date, name …) when one fits, else null")
    short_start: int | None = Field(description="character offsets of `short` in the first citation's document")
    short_end: int | None = None
    answer: str | None = Field(description="the sentence of the documents that answers (null when not confident)")
    resolved: str | None = Field(description="a follow-up as understood from `history` (null without history)")
    notes: list[str] = Field(description="remarks on the question or on why it seems unanswered")
    citations: list[Citation]


class SearchResult(BaseModel):
    query: str
    passages: list[Citation]


class DocumentInfo(BaseModel):
    name: str
    uri: str = Field(description="the document's resource (its full text)")
    chars: int | None = Field(description="length of its text in characters")
    format: str | None = Field(description="txt, md, html, pdf or docx")
    size: int | None = Field(description="size of the file it was read from, in bytes")
    chunks: int = Field(description="passages it was split into")
    pages: int | None = Field(description="pages, for paged documents (PDF)")
    added: str | None = Field(description="when it was indexed (UTC)")
    encoding: str | None = None


class DocumentList(BaseModel):
    index: str = Field(description="the index or library answered from")
    documents: list[DocumentInfo]


# -- what the tools answer from ------------------------------------------------------------------
class Source:
    """The retriever, loaded (and warmed) once; for a library that is still empty, made on the first call
    after documents arrive (``qa docs add``)."""

    def __init__(self, args):
        from .. import library, options
        from ..retriever import Retriever

        folder = options.index_dir(args)
        self._make = lambda: Retriever(index_dir=folder, model=args.model, store=options.store(args),
                                       milvus_uri=args.milvus_uri, milvus_name=options.milvus_name(args))
        self._retriever = None
        self._lock = threading.Lock()
        if args.library is not None:
            from ..index.embedding import load_embedder

            self.name = str(options.library_dir(args.library))
            self.empty = (f"The library {self.name} has no documents yet (文档库还没有文档): add some with "
                          f"`qa docs add FILES --library {self.name}`.")
            # what library.listing() reads: a folder, or Milvus
            self.target = options.target(args, Path(self.name))
            library.ensure(self.target, load_embedder(args.model))  # a new library starts empty, as in qa serve
        with contextlib.suppress(ValueError):  # (an empty library)
            self.get().ask("warm-up 预热", k=1)  # the first inference is slow: pay for it before the host's
        if args.library is None:
            self.target = options.target(args, self._retriever.index_dir)
            self.name = str(self.target)  # the index folder, or "Milvus <uri> (qa)"
            self.empty = f"The index {self.name} has no documents."

    def get(self):
        """The retriever; ValueError (with what to do) while the library has no documents."""
        from ..index.generations import EmptyLibrary

        if self._retriever is None:
            with self._lock:
                if self._retriever is None:
                    try:
                        self._retriever = self._make()
                    except EmptyLibrary:
                        raise ValueError(self.empty) from None
        return self._retriever

    def documents(self):
        """Name -> text, from the index generation in use now (a library may have changed since the last ask)."""
        return self.get().live.current().index.documents

    def listing(self) -> list[dict]:
        """What ``qa docs list`` shows of each document, read afresh."""
        from .. import library

        return library.listing(self.target)


def _question(text: str) -> None:
    """An empty question is the caller's to fix. A long one is cut to its first ``MAX_QUESTION_CHARS``
    characters with a note, as on every surface (``qa.retriever.clean_question``)."""
    clean_question(text)


def _passage_text(c: Citation) -> str:
    page = f", 第{c.page}页" if c.page else ""
    return f"[{c.rank}] {c.section or c.document}  ({c.document}{page}, 字符 {c.start}–{c.end}, " \
           f"score {c.score:.3f})\n    {c.text}"


# -- the server ----------------------------------------------------------------------------------
def build_server(source: Source) -> MCPServer:
    from .. import __version__
    from ..retriever import format_answer

    class Server(MCPServer):
        async def list_resources(self) -> list[Resource]:
            """Every document of the index, as a resource (a resource template alone is never listed)."""
            try:
                docs = await anyio.to_thread.run_sync(source.listing)
            except Exception as exc:  # an index being rebuilt: no documents to offer this moment
                _log(f"qa mcp: cannot list the documents: {exc}")
                docs = []
            return await super().list_resources() + [
                Resource(uri=document_uri(d["name"]), name=d["name"], mime_type="text/plain",
                         description=f"{d['name']}: {d['chars'] or '?'} characters ({d['format'] or 'text'})")
                for d in docs]

    server = Server("qa", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)

    def result(text: str, data: BaseModel) -> CallToolResult:
        return CallToolResult(content=[TextContent(type="text", text=text)],
                              structured_content=data.model_dump(mode="json"))

    @contextlib.contextmanager
    def tool_errors():
        try:
            yield
        except ValueError as exc:  # what qa says about bad input, or an empty library
            raise ToolError(str(exc)) from None

    @server.tool(annotations=read_only)
    def ask(question: Annotated[str, Field(description="the question, in Chinese or English, e.g. "
                                                       "'2021年山西煤炭产量是多少？'")],
            history: Annotated[list[str] | None, Field(
                description="earlier questions of the conversation, oldest first, so that a follow-up such "
                            "as '同比增长了多少？' is understood; omit for a standalone question")] = None,
            ) -> Annotated[CallToolResult, AskResult]:
        """Answer a question from the indexed documents, with citations.

        Returns the short answer (`short`, e.g. "11.9亿吨"), the sentence that answers (`answer`) and the
        passages it came from (`citations`: document, section, page, character offsets, text). When
        `confident` is false the documents do not seem to answer: say so rather than guessing; the
        citations are then only the nearest passages. For a follow-up pass the earlier questions as
        `history`; `resolved` shows how the follow-up was understood."""
        with tool_errors():
            _question(question)
            a = source.get().ask(question, k=ASK_K, history=history)
        if a.confident:
            message = f"Answer: {a.short or a.answer}"
        else:
            message = ("The documents do not seem to answer this question (文中似乎没有回答这个问题); "
                       "the citations are the nearest passages.")
        data = AskResult(confident=a.confident, message=message, short=a.short, short_start=a.short_start,
                         short_end=a.short_end, answer=a.answer, resolved=a.resolved, notes=a.notes,
                         citations=[Citation.of(p) for p in a.passages])
        return result(format_answer(a), data)

    @server.tool(annotations=read_only)
    def search(query: Annotated[str, Field(description="what to look for, in Chinese or English")],
               k: Annotated[int, Field(description=f"how many passages, 1 to {MAX_SEARCH_K}",
                                       json_schema_extra={"minimum": 1, "maximum": MAX_SEARCH_K})] = 5,
               ) -> Annotated[CallToolResult, SearchResult]:
        """Find the passages of the indexed documents that best match a query, best first.

        Each passage comes with its document, section, page, character offsets and score. Use it to
        explore a topic or to gather context; use `ask` for a direct answer."""
        with tool_errors():
            _question(query)
            if not 1 <= k <= MAX_SEARCH_K:
                raise ValueError(f"k must be from 1 to {MAX_SEARCH_K}, not {k}.")
            passages = [Citation.of(p) for p in source.get().retrieve(query, k=k)]
        return result("\n\n".join(map(_passage_text, passages)), SearchResult(query=query, passages=passages))

    @server.tool(annotations=read_only)
    def list_documents() -> Annotated[CallToolResult, DocumentList]:
        """List the documents qa answers from: name, length in characters, format, pages, passages.

        Each document's full text is the resource `uri` (qa://documents/{name})."""
        docs = [DocumentInfo(uri=document_uri(d["name"]), **d) for d in source.listing()]
        if docs:
            text = f"{len(docs)} document(s) in {source.name}:\n" + "\n".join(
                f"- {d.name}: {d.chars or '?'} characters, {d.format or '?'}, {d.chunks} passages"
                + (f", {d.pages} pages" if d.pages else "") + f" ({d.uri})" for d in docs)
        else:
            text = source.empty
        return result(text, DocumentList(index=source.name, documents=docs))

    @server.resource(URI_PREFIX + "{name}", name="document", mime_type="text/plain",
                     description="The full text of one document, by its name (see list_documents).")
    def document(name: str) -> str:
        try:
            return source.documents()[name]
        except KeyError:
            raise ResourceNotFoundError(f"No document named {name!r}: list_documents names them.") from None
        except ValueError as exc:
            raise ResourceError(str(exc)) from None

    return server


# -- transports ----------------------------------------------------------------------------------
class KeyCheck:
    """ASGI middleware: with API keys configured, every HTTP request must carry
    ``Authorization: Bearer <key>`` naming one of them, else 401 (JSON)."""

    def __init__(self, app, keys: list[str]):
        self.app, self.keys = app, keys

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and self.keys:
            header = authorization(scope)  # none, or several: refused alike
            if not key_ok(header, self.keys):
                return await JSONResponse({"error": "a valid API key is required: send the header "
                                                    "'Authorization: Bearer <key>'"}, status_code=401,
                                          headers={"WWW-Authenticate": 'Bearer realm="qa"'})(scope, receive, send)
        await self.app(scope, receive, send)


@contextlib.contextmanager
def _stdout_to_stderr():
    """Anything printed while loading goes to stderr: on stdio, stdout is the protocol's alone."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


class _Stop(threading.Event):
    """Set by Ctrl-C or SIGTERM (its signal handler), which then runs the action given to ``then``."""

    action = None

    def __call__(self, signum, frame):
        self.set()
        if self.action is not None:
            self.action()

    def then(self, action) -> None:
        """Run ``action`` on the signal, or now if it came already."""
        self.action = action
        if self.is_set():
            action()


class _StdinRelay:
    """fd 0 becomes a pipe that a daemon thread feeds from the host's stdin, and ``stop()`` ends it as if the
    host had closed stdin: the SDK reads stdin in a worker thread that nothing can cancel, so Ctrl-C or
    SIGTERM alone would wait for the host's next message."""

    def __init__(self):
        self.host = os.dup(0)
        read, self.pipe = os.pipe()
        os.dup2(read, 0)
        os.close(read)
        self.wake, self.waker = os.pipe()
        threading.Thread(target=self._copy, daemon=True, name="qa-mcp-stdin").start()

    def _copy(self) -> None:
        try:
            while self.wake not in select.select([self.host, self.wake], [], [])[0]:
                data = os.read(self.host, 1 << 16)
                if not data:  # the host closed stdin
                    break
                while data:
                    data = data[os.write(self.pipe, data):]
        finally:
            os.close(self.pipe)

    def stop(self) -> None:
        os.write(self.waker, b"x")


def _serve_stdio(server, stop: _Stop) -> int:
    if os.name == "posix":
        stop.then(_StdinRelay().stop)
    else:  # no select() on pipes there: Ctrl-C as Python has it
        signal.signal(signal.SIGINT, signal.default_int_handler)
    anyio.run(server.run_stdio_async)  # until the host closes stdin (or a signal stops the relay)
    return 0


def _serve_http(server, host: str, port: int, keys: list[str], stop: _Stop) -> int:
    import uvicorn

    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        _log(f"qa mcp: cannot listen on {host}:{port}: {exc}")
        return 1
    app = KeyCheck(server.streamable_http_app(host=host), keys)
    web = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=3))
    url = f"http://{f'[{host}]' if ':' in host else host}:{sock.getsockname()[1]}/mcp"

    async def main():
        serving = asyncio.create_task(web.serve(sockets=[sock]))
        while not (web.started or serving.done()):
            await asyncio.sleep(0.05)
        if web.started and not web.should_exit:
            _log(f"qa mcp: serving on {url} ({'Authorization: Bearer <key> required' if keys else 'no key asked'}; "
                 f"Ctrl-C to stop)")
        await serving

    stop.then(lambda: setattr(web, "should_exit", True))
    try:
        asyncio.run(main())
    finally:
        sock.close()
    return 0


def run(args) -> int:
    """``qa mcp``: load the index once, then serve over stdio (default) or HTTP until stopped; exit 0."""
    from .security import AuthError, is_loopback, load_api_keys

    keys: list[str] = []
    if args.http:
        if not 0 <= args.port <= 65535:
            _log(f"qa mcp: --port must be from 0 to 65535, not {args.port}")
            return 2
        try:
            keys = load_api_keys(args.auth_file)
        except AuthError as exc:
            _log(f"qa mcp: {exc}")
            return 2
        if not is_loopback(args.host) and not keys:
            if not args.insecure_no_auth:
                _log(f"qa mcp: refusing to listen on {args.host} without API keys: anyone who can reach this "
                     "machine could read the documents. Set QA_API_KEYS=<key> (16+ characters; clients send "
                     "'Authorization: Bearer <key>') or 'key:<key>' lines in --auth-file FILE, or pass "
                     "--insecure-no-auth if that is really what you want.")
                return 2
            _log("=" * 78 + f"\nqa mcp: WARNING: listening on {args.host} WITHOUT API KEYS (--insecure-no-auth).\n"
                 "Anyone who can reach this machine can ask questions and read the documents.\n" + "=" * 78)
    stop = _Stop()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        t0 = time.perf_counter()
        with _stdout_to_stderr():
            source = Source(args)
        r = source._retriever
        _log(f"qa mcp: {len(r.index.chunks)} passages from {len(r.index.documents)} document(s) loaded in "
             f"{time.perf_counter() - t0:.1f} s" if r is not None else
             f"qa mcp: the library {source.name} is empty: tools will say so until `qa docs add` adds documents")
        if stop.is_set():
            return 0
        server = build_server(source)
        if args.http:
            return _serve_http(server, args.host, args.port, keys, stop)
        return _serve_stdio(server, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
