"""The LLM side: any OpenAI-compatible endpoint through llama-index's OpenAILike.

Retries are ours, not the client's: one policy for plain and streamed calls (a stream
is retried only before its first token), with backoff that honours Retry-After.

Every call has a deadline of `llm_timeout` seconds, retries and waits included. A reply
that is empty, broken off, stalled, too slow, too long or not an OpenAI reply at all is a
model failure (`TransientLLMError`): the engine answers offline instead, with a notice.
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
    """A model failure that survived every retry, or cannot be retried: the caller falls back."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Message:
    role: str
    content: str


class Deadline:
    """The time left for one model call, retries and waits included."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._ends = clock() + seconds

    def remaining(self) -> float:
        return max(self._ends - self._clock(), 0.0)

    def expired(self) -> bool:
        return self.remaining() <= 0.0


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
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            timeout=settings.llm_timeout,
            max_retries=0,
        )

    def complete(self, messages: list[Message]) -> str:
        deadline = Deadline(self._settings.llm_timeout)
        attempt = 0
        while True:
            try:
                response = self._llm.chat(self._convert(messages), timeout=_seconds_left(deadline))
                return self._bounded(_reply_text(response))
            except TransientLLMError:
                raise
            except Exception as exc:
                kind = _classify(exc)
                if kind is None:
                    raise _as_domain_error(exc, kind) from exc
                attempt = self._backoff_or_raise(exc, kind, attempt, deadline)

    def stream(self, messages: list[Message]) -> Iterator[str]:
        """Yield pieces of the reply; retries happen only before the first piece.

        The stream must end with a finish reason: one that stops early, stalls, trickles
        past the deadline or grows past the size limit raises TransientLLMError.
        """
        deadline = Deadline(self._settings.llm_timeout)
        attempt = 0
        while True:
            reply = _StreamedReply(self._settings.llm_max_reply_chars, deadline)
            try:
                chunks = self._llm.stream_chat(
                    self._convert(messages), timeout=_seconds_left(deadline)
                )
                for chunk in chunks:
                    piece = reply.take(chunk)
                    if piece:
                        yield piece
                reply.finish()
                return
            except TransientLLMError:
                raise
            except Exception as exc:
                if reply.started:
                    raise TransientLLMError(f"the reply broke off: {_first_line(exc)}") from exc
                kind = _classify(exc)
                if kind is None:
                    raise _as_domain_error(exc, kind) from exc
                attempt = self._backoff_or_raise(exc, kind, attempt, deadline)

    def _bounded(self, text: str) -> str:
        _check_length(len(text), self._settings.llm_max_reply_chars)
        return text

    def _backoff_or_raise(self, exc: Exception, kind: str, attempt: int, deadline: Deadline) -> int:
        if attempt >= self._settings.llm_max_retries:
            raise TransientLLMError(kind) from exc
        asked = _retry_after(exc)
        delay = asked if asked is not None else self._settings.llm_retry_base_delay * (2**attempt)
        if delay >= deadline.remaining():
            source = "the server asked to wait" if asked is not None else "the next retry is in"
            log.warning(
                "LLM call failed (%s); not retrying: %s %.1fs, beyond the %.1fs limit",
                kind,
                source,
                delay,
                deadline.seconds,
            )
            raise TransientLLMError(kind) from exc
        log.warning("LLM call failed (%s); retry %d in %.2fs", kind, attempt + 1, delay)
        self._sleep(delay)
        return attempt + 1

    @staticmethod
    def _convert(messages: list[Message]) -> list[Any]:
        from llama_index.core.llms import ChatMessage

        return [ChatMessage(role=m.role, content=m.content) for m in messages]


class _StreamedReply:
    """What one streamed attempt has received so far, and whether it may go on."""

    def __init__(self, max_chars: int, deadline: Deadline) -> None:
        self._max_chars = max_chars
        self._deadline = deadline
        self.chars = 0
        self.started = False
        self.finished = False

    def take(self, chunk: Any) -> str:
        """The text of one streamed chunk, after checking the limits."""
        if self._deadline.expired():
            raise TransientLLMError(
                f"the reply took longer than the {self._deadline.seconds:g}s limit"
            )
        if _finish_reason(chunk):
            self.finished = True
        piece = str(chunk.delta or "")
        if piece:
            self.started = True
            self.chars += len(piece)
            _check_length(self.chars, self._max_chars)
        return piece

    def finish(self) -> None:
        if not self.started:
            raise TransientLLMError("the model sent an empty reply")
        if not self.finished:
            raise TransientLLMError("the reply stopped before its end")


def _check_length(chars: int, limit: int) -> None:
    if chars > limit:
        raise TransientLLMError(f"the reply was longer than {limit:,} characters")


def _seconds_left(deadline: Deadline) -> float:
    remaining = deadline.remaining()
    if remaining <= 0:
        raise TransientLLMError(f"no answer within the {deadline.seconds:g}s limit")
    return remaining


def _finish_reason(chunk: Any) -> str | None:
    choices = getattr(getattr(chunk, "raw", None), "choices", None) or []
    return getattr(choices[0], "finish_reason", None) if choices else None


def _reply_text(response: Any) -> str:
    """The text of a plain reply; a body that is not an OpenAI reply is a model failure."""
    raw = getattr(response, "raw", None)
    if raw is not None and not getattr(raw, "choices", None):
        raise TransientLLMError("the endpoint's reply was not a chat completion")
    return str(response.message.content or "")


def _classify(exc: Exception) -> str | None:
    """A transient failure's name, or None when retrying cannot help."""
    import httpx
    import openai

    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, openai.RateLimitError):
        return "rate limited (429)"
    if isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
        return f"server error ({exc.status_code})"
    if isinstance(exc, openai.APIConnectionError) and not isinstance(
        exc.__cause__, httpx.ConnectError
    ):
        return "the connection closed before the reply"
    if isinstance(exc, openai.APIStatusError):
        return None
    if isinstance(exc, openai.APIResponseValidationError | ValueError | AttributeError | TypeError):
        return "the endpoint's reply was not a chat completion"
    if isinstance(exc, httpx.HTTPError):
        return f"the connection failed ({type(exc).__name__})"
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
