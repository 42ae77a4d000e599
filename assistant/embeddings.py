"""Embedding backends: wordllama (offline default) and any OpenAI-compatible endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.errors import ConfigError, EmbeddingServiceError
from assistant.settings import Settings


class Embedder(Protocol):
    backend: str
    model: str

    @property
    def dim(self) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


class WordLlamaEmbedder:
    """Static token embeddings shipped inside the wordllama wheel: no download, ever."""

    backend = "wordllama"

    def __init__(self, model: str = "l2_supercat_256") -> None:
        import wordllama
        from wordllama import WordLlama

        config, _, dim = model.rpartition("_")
        if not config or not dim.isdigit():
            raise ConfigError(f"wordllama model must look like 'l2_supercat_256', got {model!r}")
        package_dir = Path(wordllama.__file__).parent
        try:
            self._model = WordLlama.load(
                config=config, dim=int(dim), cache_dir=package_dir, disable_download=True
            )
        except (FileNotFoundError, ValueError) as exc:
            raise ConfigError(f"wordllama model {model!r} is not installed: {exc}") from None
        self.model = model
        self._dim = int(dim)

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return unit_rows(self._model.embed(texts, norm=False))


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible endpoint, through llama-index's wrapper."""

    backend = "openai"

    def __init__(self, settings: Settings) -> None:
        from llama_index.embeddings.openai import OpenAIEmbedding

        self.model = settings.embed_model_name
        self._client = OpenAIEmbedding(
            model_name=self.model,
            api_key=settings.openai_api_key or "not-needed",
            api_base=settings.openai_base_url,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            embed_batch_size=min(settings.embed_batch_size, 2048),
        )
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.embed(["dimension probe"]).shape[1])
        return self._dim

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        try:
            vectors = unit_rows(np.array(self._client.get_text_embedding_batch(texts)))
        except Exception as exc:  # the wrapper raises many client error types
            raise EmbeddingServiceError(f"embedding endpoint failed: {_short(exc)}") from exc
        self._dim = int(vectors.shape[1])
        return vectors


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def make_embedder(settings: Settings) -> Embedder:
    if settings.embed_backend == "openai":
        return OpenAIEmbedder(settings)
    return WordLlamaEmbedder(settings.embed_model_name)
