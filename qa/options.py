"""Where things are: the index, the library, the store and the model, from the command's flags, else the
QA_ variables (:mod:`qa.config`). The ``qa`` command, the page (``qa serve``), the MCP server and ``qa eval``
all resolve them here.

``args`` is an :class:`argparse.Namespace` with the options of :func:`qa.cli._common`: ``index``,
``library`` (None: not asked for; "": the default library; else its folder), ``model``, ``store`` and
``milvus_uri``.
"""
from __future__ import annotations

from pathlib import Path

from . import config


def store(args) -> str:
    """``faiss`` (an index folder, the default) or ``milvus``: --store, else ``QA_STORE``."""
    return getattr(args, "store", None) or config.get("QA_STORE") or "faiss"


def library_dir(value: str | None) -> Path:
    """The library folder: ``value`` when given, else ``QA_LIBRARY`` or ``~/.local/share/qa/library``."""
    return Path(value) if value else config.library_home()


def index_dir(args) -> str | None:
    """The index folder asked for: the library's with --library, --index's, else None (``QA_INDEX`` or
    ``embeddings/``, as :class:`qa.Retriever` decides)."""
    if getattr(args, "library", None) is not None:
        if args.index:
            raise ValueError("give either --index or --library, not both")
        return str(library_dir(args.library))
    return args.index


def milvus_name(args) -> str:
    """A library in Milvus is its own index there, next to the demo's."""
    return "qa_library" if getattr(args, "library", None) is not None else "qa"


def target(args, folder):
    """The index folder, or the Milvus store with --store milvus."""
    if store(args) == "milvus":
        from .index.milvus import Milvus

        return Milvus(args.milvus_uri, milvus_name(args))
    return folder
