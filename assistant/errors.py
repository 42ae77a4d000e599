"""Domain errors. Interfaces translate them into their own words at the edge."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: the message is safe to show to a user."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(AssistantError):
    """Settings that cannot work (bad value, missing credential)."""

    exit_code = 2


class InvalidQuestionError(AssistantError):
    """An empty, over-long or otherwise unusable question."""

    exit_code = 2


class CorpusError(AssistantError):
    """The corpus cannot be read at all (missing path, nothing readable)."""

    exit_code = 3


class IndexStateError(AssistantError):
    """The index is missing, damaged or built with other settings."""

    exit_code = 4


class EmbeddingMismatchError(IndexStateError):
    """The collection was built with another embedding model or dimension."""


class DamagedIndexError(IndexStateError):
    """The embedded store's files cannot be read; `assistant ingest --rebuild` starts over."""


class StoreUnavailableError(AssistantError):
    """The vector store (for example a Chroma server) cannot be reached."""

    exit_code = 5


class LLMUnavailableError(AssistantError):
    """The LLM endpoint failed after retries, or cannot be reached."""

    exit_code = 6


class EmbeddingServiceError(AssistantError):
    """The remote embedding endpoint failed."""

    exit_code = 6


class PromptError(AssistantError):
    """A prompt template is missing or was rendered without a variable it needs."""

    exit_code = 7
