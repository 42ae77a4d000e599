"""The side-by-side peer: the plain llama-index starter pipeline, offline.

SimpleDirectoryReader -> VectorStoreIndex (default SentenceSplitter chunking) over Chroma
(llama-index-vector-stores-chroma) with the same wordllama model wrapped as a llama-index
BaseEmbedding -> top-k retrieval. No LLM: offline it can only retrieve, so its latency is
compared with ours for retrieval, and its ranked context for evidence recall.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.embeddings import BaseEmbedding
from pydantic import PrivateAttr

from assistant.embeddings import WordLlamaEmbedder

COLLECTION = "starter"


class WordLlamaEmbedding(BaseEmbedding):
    """The engine's default embedder, as llama-index sees an embedding model."""

    _embedder: WordLlamaEmbedder = PrivateAttr()

    def __init__(self, model: str = "l2_supercat_256", **kwargs: Any) -> None:
        super().__init__(model_name=f"wordllama:{model}", **kwargs)
        self._embedder = WordLlamaEmbedder(model)

    def _vectors(self, texts: list[str]) -> list[list[float]]:
        return np.asarray(self._embedder.embed(texts)).tolist()

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vectors([query])[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vectors([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._vectors(texts)


class StarterPipeline:
    """What the llama-index starter tutorial builds, pointed at a local Chroma folder."""

    def __init__(self, index: Any) -> None:
        self._index = index
        self._retrievers: dict[int, Any] = {}

    @classmethod
    def build(cls, corpus: Path, persist_dir: Path) -> tuple[StarterPipeline, dict[str, float]]:
        """Index the corpus from scratch; returns the pipeline and ingest figures."""
        from llama_index.core import (
            Settings,
            SimpleDirectoryReader,
            StorageContext,
            VectorStoreIndex,
        )

        started = time.perf_counter()
        Settings.embed_model = WordLlamaEmbedding()
        shutil.rmtree(persist_dir, ignore_errors=True)
        # exclude_hidden=False only so a work folder under a dot-directory still reads.
        documents = SimpleDirectoryReader(
            str(corpus), recursive=True, required_exts=[".md", ".txt"], exclude_hidden=False
        ).load_data()
        storage = StorageContext.from_defaults(vector_store=_vector_store(persist_dir))
        index = VectorStoreIndex.from_documents(documents, storage_context=storage)
        seconds = time.perf_counter() - started
        nodes = int(storage.vector_store._collection.count())
        return cls(index), {"chunks": nodes, "seconds": seconds, "documents": len(documents)}

    @classmethod
    def open(cls, persist_dir: Path) -> StarterPipeline:
        from llama_index.core import Settings, VectorStoreIndex

        Settings.embed_model = WordLlamaEmbedding()
        return cls(VectorStoreIndex.from_vector_store(_vector_store(persist_dir)))

    def retrieve(self, query: str, k: int) -> list[str]:
        """The texts of the top-k nodes, best first."""
        if k not in self._retrievers:
            self._retrievers[k] = self._index.as_retriever(similarity_top_k=k)
        return [hit.node.get_content() for hit in self._retrievers[k].retrieve(query)]


def _vector_store(persist_dir: Path) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.vector_stores.chroma import ChromaVectorStore

    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    client = chromadb.PersistentClient(
        path=str(persist_dir), settings=ChromaSettings(anonymized_telemetry=False)
    )
    return ChromaVectorStore(chroma_collection=client.get_or_create_collection(COLLECTION))
