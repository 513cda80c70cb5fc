"""The ``qa`` command: build the index, ask a question, serve the web chat, evaluate."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import config, options

EXAMPLES = """examples:
  qa ask "2021年山西煤炭产量是多少？"
  qa ask "How much coal did Shanxi produce in 2021?" --k 3
  qa ask "空气质量怎么样" --json
  qa build seeds/
  qa ask "同比涨了多少？" --history "2021年山西煤炭产量是多少？"
  qa serve --port 7860
  qa eval --modes dense,lexical,hybrid --out reports/
  qa docs add report.pdf notes.docx      # your own documents, in a library of their own
  qa ask "合同金额是多少？" --library
  qa serve --library                      # the page gets a 文档 tab for uploads
                                          # (and an OpenAI-compatible API at http://127.0.0.1:7860/v1)
  qa mcp                                  # tools for agent hosts over MCP (see qa mcp --help)
  qa eval --squad cmrc2018_dev.json --paragraphs 150 --unanswerable 100
  qa feedback stats

environment:
""" + config.help_text() + "\n"


SERVE_CONCURRENCY = 2

MCP_HOST_CONFIG = """add qa to an MCP host (Claude Desktop, Cursor, VS Code, Cherry Studio …), in its JSON settings:

  {
    "mcpServers": {
      "qa": {"command": "qa", "args": ["mcp"]}
    }
  }

with your own documents: "args": ["mcp", "--library"]; over HTTP: qa mcp --http, then the URL
http://127.0.0.1:8765/mcp (with QA_API_KEYS set, the header Authorization: Bearer <key>)."""


def _common(p: argparse.ArgumentParser, library: bool = True) -> None:
    p.add_argument("--index", metavar="DIR", help="index folder (default: $QA_INDEX or embeddings/)")
    if library:
        p.add_argument("--library", nargs="?", const="", metavar="DIR", default=None,
                       help="answer from your document library (qa docs add) instead of the demo article; "
                            "DIR defaults to $QA_LIBRARY or ~/.local/share/qa/library")
    p.add_argument("--model", metavar="NAME_OR_PATH",
                   help="sentence-transformers model: a local folder or a cached name "
                        "(default: $QA_MODEL or the bundled multilingual-e5-small)")
    _store_options(p)


def _store_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", choices=("faiss", "milvus"), default=None,
                   help="where the index lives: faiss (an index folder, default) or milvus ($QA_STORE)")
    p.add_argument("--milvus-uri", metavar="URI", default=None,
                   help="Milvus to use with --store milvus: a Milvus Lite file (default ./qa-milvus.db), or "
                        "http://host:19530 (token in $QA_MILVUS_TOKEN); also $QA_MILVUS_URI")


def _listening(p: argparse.ArgumentParser, port: int, scope: str, host_help: str, auth_help: str,
               insecure_help: str) -> None:
    """Where a server listens and who may use it (``qa serve`` and ``qa mcp --http``)."""
    p.add_argument("--host", default="127.0.0.1", help=scope + host_help)
    p.add_argument("--port", type=int, default=port, help=f"{scope}port (default: {port}; 0 picks a free one)")
    p.add_argument("--auth-file", metavar="FILE", help=scope + auth_help)
    p.add_argument("--insecure-no-auth", action="store_true", help=scope + insecure_help)


def build_parser(eval_options: bool = True) -> argparse.ArgumentParser:
    """The ``qa`` parser; ``eval_options=False`` leaves out ``qa eval``'s own options (and the import
    of :mod:`qa.eval.evaluate` they need), for a command line that does not run it."""
    from .ingest import chunking
    from .retriever import MAX_K, MODES

    parser = argparse.ArgumentParser(
        prog="qa", description="Ask questions about a Chinese document, offline: hybrid dense + BM25 "
        "retrieval that shows the sentence that answers and says when the document has no answer.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    b = sub.add_parser("build", help="(re)build an index from document files",
                       description="Read, chunk, embed and index documents (.txt, .md, .html, .pdf, .docx; "
                       "default: seeds/). The new index replaces the old one atomically; a file that cannot be "
                       "read is skipped with the reason.")
    b.add_argument("paths", nargs="*", metavar="PATH", help="documents or folders (default: $QA_DOCS or seeds/)")
    b.add_argument("--max-chars", type=int, default=None, metavar="N",
                   help=f"largest chunk in characters (default: {chunking.DEFAULT_MAX_CHARS})")
    b.add_argument("--max-file-size", type=float, default=None, metavar="MB",
                   help="skip documents larger than this (default: $QA_MAX_FILE_MB or 50)")
    b.add_argument("--max-chunks", type=int, default=None, metavar="N",
                   help="skip documents that would make more chunks than this (default: $QA_MAX_CHUNKS or 50000)")
    _common(b, library=False)

    a = sub.add_parser("ask", help="answer one question",
                       description="Print the sentence that answers, then the passages it came from.")
    a.add_argument("question", help="the question, in Chinese or English")
    a.add_argument("--k", type=int, default=5, metavar="N", help=f"passages to show, 1..{MAX_K} (default: 5)")
    a.add_argument("--mode", choices=MODES, default="hybrid", help="ranking: hybrid (default), dense or lexical")
    a.add_argument("--json", action="store_true", help="print the answer as JSON (UTF-8)")
    a.add_argument("--history", action="append", metavar="QUESTION", default=None,
                   help="an earlier question of the conversation, oldest first (repeat the option); a "
                        "follow-up such as '那去年呢？' borrows its topic from them")
    _common(a)

    s = sub.add_parser("serve", help="start the web chat",
                       description="Serve the chat page (and its API) on http://HOST:PORT.")
    # declared here, not in qa.serve.app, so that `qa ask` never pays for importing gradio
    _listening(s, 7860, "", "address to listen on (default: 127.0.0.1, this machine only; use 0.0.0.0 to accept "
               "connections from the network)", "logins, one 'user:password' per line (or $QA_AUTH_FILE, or "
               "$QA_AUTH='user:password'); required to listen beyond this machine",
               "listen beyond this machine without logins (anyone on the network can use the page)")
    s.add_argument("--concurrency", type=int, default=SERVE_CONCURRENCY, metavar="N",
                   help=f"questions answered at the same time; the rest wait in the queue "
                        f"(default: {SERVE_CONCURRENCY}, fits two CPU cores)")
    _common(s)

    m = sub.add_parser("mcp", help="serve qa's tools to agent hosts (Model Context Protocol)",
                       description="An MCP server (official `mcp` SDK) with the tools ask, search and "
                       "list_documents, and each document's text as a resource. It talks over stdio by default "
                       "(the host starts it), or over streamable HTTP with --http.",
                       epilog=MCP_HOST_CONFIG, formatter_class=argparse.RawDescriptionHelpFormatter)
    m.add_argument("--http", action="store_true", help="serve over streamable HTTP (at /mcp) instead of stdio")
    _listening(m, 8765, "--http: ", "address to listen on (default: 127.0.0.1)",
               "API keys, as 'key:<key>' lines (or $QA_API_KEYS, comma-separated); required to listen beyond "
               "this machine, then sent as 'Authorization: Bearer <key>'", "listen beyond this machine without keys")
    _common(m)

    d = sub.add_parser("docs", help="your document library: add, list, remove",
                       description="Your own documents (.txt, .md, .html, .pdf, .docx; Chinese text in UTF-8, "
                       "GB18030/GBK or Big5), kept in a library index apart from the demo article. Adding encodes "
                       "only the new document; every change is atomic, and a running `qa serve --library` picks "
                       "it up; two changes at once queue, and neither is lost. A folder is added file by file: a "
                       "file that cannot be read is reported and skipped. Ask with `qa ask \"…\" --library`. "
                       "Exit status: 0 all done, 3 some files refused (the rest added), 1 nothing could be done.")
    d.add_argument("action", choices=("add", "list", "remove"))
    d.add_argument("items", nargs="*", metavar="FILE_OR_NAME",
                   help="add: files or folders; remove: document names (as `qa docs list` shows them)")
    d.add_argument("--library", metavar="DIR", default=None,
                   help="library folder (default: $QA_LIBRARY or ~/.local/share/qa/library)")
    d.add_argument("--max-file-size", type=float, default=None, metavar="MB",
                   help="refuse files larger than this (default: $QA_MAX_FILE_MB or 50)")
    d.add_argument("--max-chunks", type=int, default=None, metavar="N",
                   help="refuse documents that would make more chunks than this (default: $QA_MAX_CHUNKS "
                        "or 50000)")
    d.add_argument("--json", action="store_true", help="list: print JSON")
    d.add_argument("--model", metavar="NAME_OR_PATH", help="embedding model (default: the bundled one)")
    _store_options(d)

    f = sub.add_parser("feedback", help="the 👍/👎 ratings given on the chat page",
                       description="Counts of the ratings stored beside the index, or an export of the rated "
                       "turns in the question-set format (golds left to fill) for `qa eval --set`.")
    f.add_argument("action", choices=("stats", "export"), help="stats: print counts; export: write JSONL")
    f.add_argument("--out", metavar="FILE", help="export: the JSONL file to write")
    f.add_argument("--only", choices=("dislikes", "likes", "all"), default="all",
                   help="export: which ratings (default: all, dislikes first)")
    f.add_argument("--feedback", metavar="FILE", help="the feedback file (default: $QA_FEEDBACK or "
                                                        "feedback.sqlite in the index folder)")
    f.add_argument("--index", metavar="DIR", help="index folder whose feedback to read (default: $QA_INDEX or "
                                                    "embeddings/)")

    e = sub.add_parser("eval", help="score retrieval and answers on a question set",
                       description="Evaluate on the shipped question set (or --set FILE): hit@k, MRR, "
                       "nDCG, answer accuracy, F1 and abstention, per mode and kind.")
    if eval_options:
        from .eval import evaluate  # light: matplotlib and the model load only when it runs

        evaluate.add_arguments(e)
    _common(e)
    return parser


def _retriever(args, mode: str = "hybrid"):
    from .retriever import Retriever

    return Retriever(index_dir=options.index_dir(args), model=args.model, mode=mode, store=options.store(args),
                     milvus_uri=args.milvus_uri, milvus_name=options.milvus_name(args))


def _max_bytes(value: float | None) -> int:
    from .ingest import formats

    mb = value if value is not None else (config.number("QA_MAX_FILE_MB") or formats.MAX_FILE_BYTES >> 20)
    if not 0 < mb <= 10_000:
        raise ValueError("--max-file-size must be from 0 to 10000 MB")
    return int(mb * (1 << 20))


def cmd_docs(args) -> int:
    from . import library
    from .index.embedding import load_embedder

    args.library = args.library if args.library is not None else ""
    folder = options.target(args, options.library_dir(args.library))
    if args.action == "list":
        docs = library.listing(folder)
        if args.json:
            sys.stdout.write(json.dumps(docs, ensure_ascii=False, indent=2) + "\n")
            return 0
        if not docs:
            print(f"the library {folder} has no documents yet: add some with `qa docs add FILES`")
            return 0
        print(f"{len(docs)} document(s) in {folder}:")
        for d in docs:
            size = f"{(d['size'] or 0) / 1024:.0f} KB"
            extra = [d["format"] or "?", size, f"{d['chunks']} chunks"]
            if d["pages"]:
                extra.append(f"{d['pages']} pages")
            if d["encoding"]:
                extra.append(d["encoding"].upper())
            print(f"  {d['name']}  ({', '.join(extra)}; added {d['added']})")
        return 0
    if not args.items:
        print(f"qa docs {args.action}: name at least one {'file' if args.action == 'add' else 'document'}",
              file=sys.stderr)
        return 2
    if args.action == "add":
        from .index.generations import max_chunks

        max_chunks(args.max_chunks)  # a bad limit fails before the model loads
    embedder = load_embedder(args.model)
    if args.action == "add":
        from .index.generations import collect_documents

        paths: list[Path] = []
        refused: list[tuple[str, str]] = []
        for item in map(Path, args.items):
            if item.is_dir():
                skipped: list = []
                try:
                    paths += list(collect_documents([item], skipped).values())
                except FileNotFoundError as exc:
                    refused.append((str(item), str(exc)))
                refused += [(str(p), w) for p, w in skipped]
            else:
                paths.append(item)
        change = library.add(folder, paths, embedder, max_bytes=_max_bytes(args.max_file_size),
                             chunk_cap=args.max_chunks)
        change.refused = refused + change.refused
    else:
        change = library.remove(folder, args.items, embedder)
    for name, how in change.added:
        print(f"added {name} ({how})")
    for name in change.removed:
        print(f"removed {name}")
    for name, other in change.duplicates:
        print(f"skipped {name}: already in the library as {other}")
    for name, why in change.refused:
        print(f"refused {name}: {why}", file=sys.stderr)
    print(f"qa docs: {len(change.added)} added, {len(change.removed)} removed, {len(change.refused)} refused, "
          f"in {change.seconds:.1f} s ({folder})", file=sys.stderr)
    if not change.refused:
        return 0
    return 3 if (change.added or change.removed or change.duplicates) else 1


def cmd_build(args) -> int:
    from .ingest import chunking
    from .index.embedding import load_embedder
    from .index.generations import build_index, check_max_chars, default_index_dir, default_sources

    sources = [Path(p) for p in args.paths] or default_sources()
    folder = Path(args.index) if args.index else default_index_dir()
    try:
        max_chars = check_max_chars(chunking.DEFAULT_MAX_CHARS if args.max_chars is None else args.max_chars)
    except ValueError as exc:
        print(f"qa build: --max-chars: {exc}", file=sys.stderr)
        return 2
    from .index.generations import max_chunks

    try:
        cap = max_chunks(args.max_chunks)
    except ValueError as exc:
        print(f"qa build: --max-chunks: {exc}", file=sys.stderr)
        return 2
    build_index(sources, options.target(args, folder), load_embedder(args.model), max_chars,
                max_bytes=_max_bytes(args.max_file_size), chunk_cap=cap)
    return 0


def cmd_ask(args) -> int:
    from .answer.followup import history_questions
    from .retriever import check_k, clean_question, format_answer

    try:  # validate before loading anything heavy
        clean_question(args.question)
        check_k(args.k)
        history_questions(args.history)
    except ValueError as exc:
        print(f"qa ask: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "library", None) is not None and options.store(args) != "milvus":
        advice = _library_advice(options.library_dir(args.library))
        if advice:
            print(f"qa ask: {advice}", file=sys.stderr)
            return 1
    result = _retriever(args, args.mode).ask(args.question, k=args.k, mode=args.mode, history=args.history)
    if args.json:
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(format_answer(result))
    return 0


def _library_advice(folder: Path) -> str | None:
    """What to do when the library at ``folder`` cannot answer yet (missing or empty); None when it can."""
    from . import library

    how = f"add documents with `qa docs add FILE --library {folder}`"
    if not folder.exists():
        return f"no library at {folder}: {how}"
    try:
        empty = not library.listing(folder)
    except Exception:  # noqa: BLE001 - not a library at all: the retriever says what it is
        return None
    return f"the library at {folder} has no documents yet: {how}" if empty else None


def cmd_feedback(args) -> int:
    from .serve.feedback import FeedbackStore, default_path
    from .index.generations import default_index_dir

    path = Path(args.feedback) if args.feedback else default_path(Path(args.index) if args.index
                                                                    else default_index_dir())
    if not path.exists():
        print(f"qa feedback: no feedback yet ({path} does not exist)", file=sys.stderr)
        return 1
    store = FeedbackStore(path)
    if args.action == "stats":
        st = store.stats()
        print(f"{path}: {st['total']} ratings: {st['likes']} 👍, {st['dislikes']} 👎 "
              f"({st['with_comment']} with a comment; {st['not_confident']} on 'no answer' replies)"
              + (f"; {st['first']} – {st['last']}" if st["total"] else ""))
        return 0
    if not args.out:
        print("qa feedback export: --out FILE is required", file=sys.stderr)
        return 2
    which = {"dislikes": (-1,), "likes": (1,), "all": (-1, 1)}[args.only]
    n = store.export(Path(args.out), which)
    print(f"qa feedback: wrote {n} rated turn(s) to {args.out}; fill in their answers, then "
          f"`qa eval --set {args.out} --split all`", file=sys.stderr)
    return 0


def _words_after(argv: list[str], i: int, takes_value: set[str]) -> bool:
    """Whether ``argv[i:]`` holds a word that is neither an option nor an option's value."""
    while i < len(argv):
        if argv[i].split("=", 1)[0] in takes_value and "=" not in argv[i]:
            i += 2
            continue
        if not argv[i].startswith("-"):
            return True
        i += 1
    return False


def _question_last(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``qa ask -1是多少`` : a question that starts with '-' is a question, not an option."""
    if len(argv) < 2 or argv[0] != "ask" or "--" in argv:
        return argv
    ask = next(a for a in parser._subparsers._group_actions[0].choices.values() if a.prog.endswith(" ask"))
    takes_value = {o for act in ask._actions for o in act.option_strings if act.nargs not in (0, "?")}
    may_take = {o for act in ask._actions for o in act.option_strings if act.nargs == "?"}
    flags = {o for act in ask._actions for o in act.option_strings}
    options, positional, i = [], [], 1
    while i < len(argv):
        tok = argv[i]
        name = tok.split("=", 1)[0]
        if name in flags:
            options.append(tok)
            if "=" not in tok and i + 1 < len(argv) and (
                    name in takes_value or (name in may_take and not argv[i + 1].startswith("-")
                                            and (positional or _words_after(argv, i + 2, takes_value)
                                                 or Path(argv[i + 1]).exists()))):
                # `--library DIR`: the word after it is its folder, whether or not that exists, when the
                # question is elsewhere on the line (`qa ask --library 问题` keeps the default library)
                options.append(argv[i + 1])
                i += 1
        else:
            positional.append(tok)
        i += 1
    return ["ask", *options, "--", *positional] if positional else argv


def main(argv: list[str] | None = None) -> int:
    try:
        rc = _main(argv)
        sys.stdout.flush()
        return rc
    except BrokenPipeError:  # `qa docs list | head -1`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit flush goes nowhere, quietly
        return 0


def _main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(encoding="utf-8", errors="replace")
        except (AttributeError, ValueError):
            pass
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(eval_options="eval" in argv)
    args, extra = parser.parse_known_args(_question_last(argv, parser))
    if extra:
        if args.command == "docs" and not any(e.startswith("-") for e in extra):
            # `qa docs add --library DIR a.pdf b.docx`: argparse took `add` with no items before the option
            args.items += extra
        else:
            parser.error("unrecognized arguments: " + " ".join(extra))
    if not args.command:
        parser.print_help()
        return 2
    from .index.embedding import ModelError
    from .index.generations import IndexError_
    from .index.locking import LockTimeout

    try:
        if args.command == "build":
            return cmd_build(args)
        if args.command == "ask":
            return cmd_ask(args)
        if args.command == "feedback":
            return cmd_feedback(args)
        if args.command == "docs":
            return cmd_docs(args)
        if args.command == "serve":
            import shutil
            import tempfile

            # uploads land in a folder of this server's own, removed when it stops
            uploads = tempfile.mkdtemp(prefix="qa-serve-", dir=os.environ.get("GRADIO_TEMP_DIR"))
            os.environ["GRADIO_TEMP_DIR"] = uploads
            try:
                from .serve import app
                return app.run(args)
            finally:
                shutil.rmtree(uploads, ignore_errors=True)
        if args.command == "mcp":
            from .serve import mcp_server
            return mcp_server.run(args)
        if args.command == "eval":
            from .eval import evaluate
            return evaluate.run(args)
    except (ModelError, IndexError_, FileNotFoundError, ValueError, LockTimeout) as exc:
        print(f"qa {args.command}: {exc}", file=sys.stderr)
        return 1

    except KeyboardInterrupt:
        print(f"qa {args.command}: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
