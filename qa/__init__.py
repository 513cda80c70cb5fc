"""qa: ask questions about a Chinese document, offline.

>>> from qa import retrieve, ask
>>> passages = retrieve("2021年山西煤炭产量是多少？", k=5)
>>> result = ask("2021年山西煤炭产量是多少？")
"""
from .ingest.chunking import Chunk, chunk_document
from .index.embedding import Embedder, ModelError, NanoEmbedder, load_embedder
from .index.generations import Index, IndexError_, build_index, load_index
from .index.lexical import tokenize
from .retriever import MODES, Answer, Passage, Retriever, ask, retrieve

__version__ = "0.1.0"
__all__ = ["retrieve", "ask", "Retriever", "Passage", "Answer", "MODES", "Chunk", "chunk_document",
           "Embedder", "NanoEmbedder", "load_embedder", "ModelError", "Index", "IndexError_", "build_index", "load_index", "tokenize"]
