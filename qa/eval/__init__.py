"""Eval: scoring on the question set (evaluate), its metrics (metrics) and SQuAD-format sets (squad).

It imports qa.retriever, qa.library, qa.options and qa.config, and the layers below them; only qa.cli imports it.
"""
