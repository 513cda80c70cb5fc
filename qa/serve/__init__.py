"""Serve: the web page and its /ask API (app), logins and limits (security), the 👍/👎 store
(feedback), the OpenAI-compatible /v1 API (openai_api) and the MCP server (mcp_server).

It imports qa.retriever, qa.library, qa.options and qa.config, and the layers below them; only qa.cli imports it.
"""
