"""Shared fixtures: the real model and the real default index, loaded once per test session."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_d45281373ae632ae.txt"


@pytest.fixture(scope="session")
def retriever():
    from qa.pipeline import Pipeline, default_retriever

    # never rebuild here: a stale committed index must fail, not be rebuilt quietly
    return default_retriever(lambda: Pipeline(rebuild=False))


@pytest.fixture(scope="session")
def embedder(retriever):
    return retriever.embedder


@pytest.fixture(scope="session")
def seed_text() -> str:
    from qa.ingest.chunking import read_document

    return read_document(SEED)


def qa_command() -> list[str]:
    """The installed ``qa`` console script beside this interpreter."""
    return [str(Path(sys.executable).parent / "qa")]


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    env.update(extra)
    return env
