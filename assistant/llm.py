"""The LLM side: any OpenAI-compatible endpoint through llama-index's OpenAILike.

Retries are ours, not the client's: one policy for plain and streamed calls (a stream
is retried only before its first token), with backoff that honours Retry-After.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from assistant.errors import LLMUnavailableError
from assistant.settings import Settings

log = logging.getLogger(__name__)


class TransientLLMError(Exception):
    """429, 5xx or a timeout that survived every retry: the caller falls back."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Message:
    role: str
    content: str


class ChatModel:
    def __init__(self, *, settings: Settings, sleep: Callable[[float], None] = time.sleep) -> None:
        from llama_index.llms.openai_like import OpenAILike

        self.model = settings.llm_model
        self._settings = settings
        self._sleep = sleep
        self._llm = OpenAILike(
            model=settings.llm_model,
            api_key=settings.openai_api_key or "not-needed",
            api_base=settings.openai_base_url or "https://api.openai.com/v1",
            is_chat_model=True,
            context_window=settings.llm_context_window,
            temperature=settings.llm_temperature,
            timeout=settings.llm_timeout,
            max_retries=0,
        )

    def complete(self, messages: list[Message]) -> str:
        response = self._with_retries(lambda: self._llm.chat(self._convert(messages)))
        return str(response.message.content or "")

    def stream(self, messages: list[Message]) -> Iterator[str]:
        """Yield pieces of the reply; retries happen only before the first piece."""
        attempt = 0
        while True:
            started = False
            try:
                for chunk in self._llm.stream_chat(self._convert(messages)):
                    if chunk.delta:
                        started = True
                        yield chunk.delta
                return
            except Exception as exc:
                kind = _classify(exc)
                if started or kind is None:
                    raise _as_domain_error(exc, kind) from exc
                attempt = self._backoff_or_raise(exc, kind, attempt)

    def _with_retries(self, call: Callable[[], Any]) -> Any:
        attempt = 0
        while True:
            try:
                return call()
            except Exception as exc:
                kind = _classify(exc)
                if kind is None:
                    raise _as_domain_error(exc, kind) from exc
                attempt = self._backoff_or_raise(exc, kind, attempt)

    def _backoff_or_raise(self, exc: Exception, kind: str, attempt: int) -> int:
        if attempt >= self._settings.llm_max_retries:
            raise TransientLLMError(kind) from exc
        delay = _retry_after(exc)
        if delay is None:
            delay = self._settings.llm_retry_base_delay * (2**attempt)
        log.warning("LLM call failed (%s); retry %d in %.2fs", kind, attempt + 1, delay)
        self._sleep(min(delay, 30.0))
        return attempt + 1

    @staticmethod
    def _convert(messages: list[Message]) -> list[Any]:
        from llama_index.core.llms import ChatMessage

        return [ChatMessage(role=m.role, content=m.content) for m in messages]


def _classify(exc: Exception) -> str | None:
    """A transient failure's name, or None when retrying cannot help."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.RateLimitError):
        return "rate limited (429)"
    if isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
        return f"server error ({exc.status_code})"
    return None


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def _as_domain_error(exc: Exception, kind: str | None) -> Exception:
    import openai

    if kind is not None:
        return TransientLLMError(kind)
    if isinstance(exc, openai.APIConnectionError):
        return LLMUnavailableError(f"cannot reach the LLM endpoint: {_first_line(exc)}")
    if isinstance(exc, openai.AuthenticationError):
        return LLMUnavailableError("the LLM endpoint rejected the API key (401)")
    if isinstance(exc, openai.NotFoundError):
        return LLMUnavailableError("the LLM endpoint does not know that model (404)")
    if isinstance(exc, openai.APIStatusError):
        return LLMUnavailableError(
            f"the LLM endpoint answered {exc.status_code}: {_first_line(exc)}"
        )
    return LLMUnavailableError(f"the LLM call failed: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__
