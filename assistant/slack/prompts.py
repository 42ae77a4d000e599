"""Suggested prompts for the side panel: configured ones, or questions drawn from the
articles themselves (and checked to be answerable), found once and then reused."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.slack.config import DEFAULT_PROMPTS, MAX_PROMPTS

if TYPE_CHECKING:
    from assistant.engine import Assistant
    from assistant.suggestions import AsksQuestions


class SuggestedPrompts:
    def __init__(
        self,
        assistant: Assistant,
        configured: Sequence[str] | None,
        logger: logging.Logger,
    ) -> None:
        self._assistant = assistant
        self._prompts: tuple[str, ...] | None = tuple(configured) if configured else None
        self._logger = logger
        self._lock = threading.Lock()

    def get(self) -> tuple[str, ...]:
        with self._lock:
            if self._prompts is None:
                self._prompts = self._from_the_articles() or DEFAULT_PROMPTS
            return self._prompts

    def _from_the_articles(self) -> tuple[str, ...]:
        from assistant.suggestions import suggest_starters

        try:
            checker = _checker(self._assistant)
            found = suggest_starters(checker, self._assistant.settings.sources, limit=MAX_PROMPTS)
        except Exception:  # prompts are a nicety: never fail a thread over them
            self._logger.exception("could not find suggested prompts in the articles")
            return ()
        return tuple(found)


def _checker(assistant: Assistant) -> AsksQuestions:
    """With an LLM, checking each candidate would cost a model call: the offline answerer
    over the same index checks them instead (the web chat does the same)."""
    if not assistant.settings.use_llm:
        return assistant
    from assistant.engine import Assistant

    return Assistant.open(assistant.settings.model_copy(update={"llm_enabled": False}))
