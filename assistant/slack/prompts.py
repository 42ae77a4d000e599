"""Suggested prompts for the side panel: configured ones, or questions drawn from the
newest articles (and checked to be answerable), found again once others are ingested."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.slack.config import DEFAULT_PROMPTS, MAX_PROMPTS

if TYPE_CHECKING:
    from assistant.engine import Assistant
    from assistant.suggestions import AsksQuestions, Starters


class SuggestedPrompts:
    """The configured prompts, or questions about the newest articles that the engine
    answers, found again after other articles are ingested."""

    def __init__(
        self,
        assistant: Assistant,
        configured: Sequence[str] | None,
        logger: logging.Logger,
    ) -> None:
        self._assistant = assistant
        self._configured: tuple[str, ...] | None = tuple(configured) if configured else None
        self._logger = logger
        self._lock = threading.Lock()
        self._starters: Starters | None = None

    def get(self) -> tuple[str, ...]:
        if self._configured is not None:
            return self._configured
        with self._lock:
            if self._starters is None:
                try:
                    checker = _checker(self._assistant)
                except Exception:  # prompts are a nicety: never fail a thread over them
                    self._logger.exception("could not open the index for suggested prompts")
                    return DEFAULT_PROMPTS
                from assistant.suggestions import Starters

                self._starters = Starters(checker, self._assistant.settings, limit=MAX_PROMPTS)
            starters = self._starters
        return tuple(starters.get()) or DEFAULT_PROMPTS


def _checker(assistant: Assistant) -> AsksQuestions:
    """With an LLM, checking each candidate would cost a model call: the offline answerer
    over the same index checks them instead (the web chat does the same)."""
    if not assistant.settings.use_llm:
        return assistant
    from assistant.engine import Assistant

    return Assistant.open(assistant.settings.model_copy(update={"llm_enabled": False}))
