"""The public API under its first name: ``Retriever`` is :class:`qa.pipeline.Pipeline`.

``retrieve()``/``ask()``, the ``Passage``/``Answer`` contract and the checks on what callers pass live in
:mod:`qa.pipeline`; this module keeps the names that code written against ``qa.retriever`` imports.
"""
from __future__ import annotations

from .pipeline import (ASK_AGAIN, MAX_K, MAX_QUESTION_CHARS, MODES, STORES, Answer, Passage, Pipeline, check_k,
                       check_mode, check_store, clean_question, default_retriever, format_answer, ask, retrieve)

Retriever = Pipeline

__all__ = ["ASK_AGAIN", "MAX_K", "MAX_QUESTION_CHARS", "MODES", "STORES", "Answer", "Passage", "Retriever",
           "check_k", "check_mode", "check_store", "clean_question", "default_retriever", "format_answer", "ask",
           "retrieve"]
