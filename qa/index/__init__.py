"""Index: the embedding model (embedding), the stored chunks and vectors (store, ann, lexical), the
index's generations on disk (generations), the Milvus store (milvus), writer locks (locking) and the
dense + BM25 score fusion (fusion).

It imports only qa.ingest and qa.text.
"""
