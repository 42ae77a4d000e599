"""Judges decide whether passages support a sentence.

The lexical judge is the engine's deterministic support test (coverage of the
sentence's content terms at SUPPORT_THRESHOLD, and every number and name present).
The LLM judge asks a model with prompts/judge.md, one sentence at a time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Protocol

from assistant.errors import ConfigError, LLMUnavailableError
from assistant.support import SUPPORT_THRESHOLD, strip_markers, support

if TYPE_CHECKING:
    from assistant.llm import ChatModel
    from assistant.settings import Settings

JudgeKind = Literal["lexical", "llm"]
JUDGE_KINDS: tuple[JudgeKind, ...] = ("lexical", "llm")
_VERDICT = re.compile(r"\b(unsupported|not supported|supported)\b", re.IGNORECASE)


class Judge(Protocol):
    name: str

    @property
    def deterministic(self) -> bool: ...

    def supports(self, sentence: str, passages: Sequence[str]) -> bool:
        """True when the passages, taken together, support the sentence."""
        ...


class LexicalJudge:
    """The engine's support test: assistant.support.support(...).ok(threshold)."""

    name = "lexical"

    def __init__(self, threshold: float = SUPPORT_THRESHOLD) -> None:
        self.threshold = threshold

    @property
    def deterministic(self) -> bool:
        return True

    def supports(self, sentence: str, passages: Sequence[str]) -> bool:
        if not passages:
            return False
        return support(sentence, "\n\n".join(passages)).ok(self.threshold)


class LLMJudge:
    """Asks a model, sentence by sentence; identical questions are asked once."""

    name = "llm"

    def __init__(self, chat: ChatModel) -> None:
        from assistant.prompts import load_prompt

        self._chat = chat
        self._prompt = load_prompt("judge")
        self._verdicts: dict[tuple[str, tuple[str, ...]], bool] = {}
        self.calls = 0
        self.unreadable = 0

    @property
    def deterministic(self) -> bool:
        return False

    def supports(self, sentence: str, passages: Sequence[str]) -> bool:
        passages = [p for p in passages if p.strip()]
        if not passages:
            return False
        key = (strip_markers(sentence), tuple(passages))
        if key not in self._verdicts:
            self._verdicts[key] = self._ask(*key)
        return self._verdicts[key]

    def _ask(self, sentence: str, passages: tuple[str, ...]) -> bool:
        from assistant.llm import Message, TransientLLMError

        numbered = "\n\n".join(f"[{i}] {text}" for i, text in enumerate(passages, start=1))
        prompt = self._prompt.render(passages=numbered, sentence=sentence)
        self.calls += 1
        try:
            reply = self._chat.complete([Message("user", prompt)])
        except TransientLLMError as exc:
            raise LLMUnavailableError(f"the judge's LLM endpoint failed: {exc.reason}") from None
        verdict = parse_verdict(reply)
        if verdict is None:
            self.unreadable += 1
            return False
        return verdict


def parse_verdict(reply: str) -> bool | None:
    """SUPPORTED -> True, UNSUPPORTED / NOT SUPPORTED -> False, anything else -> None."""
    match = _VERDICT.search(reply)
    if match is None:
        return None
    return match.group(1).lower() == "supported"


def make_judge(kind: str, settings: Settings) -> Judge:
    if kind == "lexical":
        return LexicalJudge()
    if kind == "llm":
        if not (settings.openai_api_key or settings.openai_base_url):
            raise ConfigError(
                "--judge llm needs an LLM endpoint: set OPENAI_API_KEY or OPENAI_BASE_URL"
            )
        from assistant.llm import ChatModel

        return LLMJudge(ChatModel(settings=settings))
    raise ConfigError(f"unknown judge {kind!r}: choose {' or '.join(JUDGE_KINDS)}")
