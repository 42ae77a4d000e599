"""What the web chat does, without Gradio: stream an answer into a turn, record feedback.

app.py wires these methods to Gradio events; keeping them here keeps the adapter thin
and lets the behaviour be read (and tested) on its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assistant.errors import AssistantError, InvalidQuestionError
from assistant.feedback import REASONS, FeedbackRecord, FeedbackStore
from assistant.suggestions import AsksQuestions, Starters, suggest_follow_ups
from assistant.web.render import ChatTurn
from assistant.web.settings import WebSettings

if TYPE_CHECKING:
    from assistant.answer import Answer
    from assistant.engine import Assistant

log = logging.getLogger(__name__)

# While an answer streams, the page is redrawn at most this often (seconds).
REDRAW_INTERVAL = 0.05
MAX_COMMENT_CHARS = 500
FAILED = "Sorry, something went wrong while answering. Please try again in a moment."


@dataclass(frozen=True)
class Step:
    """One update of the page while a question is handled."""

    turns: list[ChatTurn]
    notice: str = ""
    busy: bool = False
    accepted: bool = True  # False: the question was refused before asking (keep it in the box)


class WebChat:
    def __init__(
        self,
        *,
        assistant: Assistant,
        feedback: FeedbackStore,
        settings: WebSettings,
        examples: Sequence[str] | None = None,
    ) -> None:
        self.assistant = assistant
        self.feedback = feedback
        self.settings = settings
        self.checker = suggestion_checker(assistant, settings)
        self.redraw_interval = REDRAW_INTERVAL
        fixed = examples if examples is not None else settings.examples
        self._fixed_examples = list(fixed) if fixed is not None else None
        self._starters = Starters(self.checker, assistant.settings)
        self.examples  # noqa: B018 - found now, before the first reader waits for them

    @property
    def examples(self) -> list[str]:
        """The empty page's example questions: the configured ones, or questions about
        the newest articles, found again after other articles are ingested."""
        if self._fixed_examples is not None:
            return list(self._fixed_examples)
        return self._starters.get()

    # -- asking -------------------------------------------------------------------------

    def respond(self, question: str, turns: list[ChatTurn]) -> Iterator[Step]:
        """Validate, stream the answer into a new turn, then add follow-up suggestions."""
        try:
            question = self.assistant.validate(question)
        except InvalidQuestionError as exc:
            yield Step(turns, notice=friendly(exc), accepted=False)
            return
        history = conversation_history(turns)
        turn = ChatTurn(number=len(turns) + 1, question=question)
        turns.append(turn)
        yield Step(turns, busy=True)
        try:
            yield from self._stream_into(turn, turns, history)
        except AssistantError as exc:
            turn.status, turn.error = "failed", f"Sorry, I couldn't answer that: {exc}."
        except Exception:
            log.exception("answering failed")
            turn.status, turn.error = "failed", FAILED
        if turn.answer is not None:
            yield Step(turns)
            turn.suggestions = self._follow_ups(turn.answer, turns[:-1], history)
        turn.settled = True
        yield Step(turns)

    def _stream_into(
        self, turn: ChatTurn, turns: list[ChatTurn], history: list[dict[str, str]]
    ) -> Iterator[Step]:
        drawn = time.monotonic()
        for event in self.assistant.ask_stream(turn.question, history):
            if event.answer is not None:
                turn.answer, turn.text, turn.status = event.answer, event.answer.text, "done"
                return
            turn.text += event.delta
            if time.monotonic() - drawn >= self.redraw_interval:
                drawn = time.monotonic()
                yield Step(turns, busy=True)

    def _follow_ups(
        self, answer: Answer, earlier: Sequence[ChatTurn], history: list[dict[str, str]]
    ) -> list[str]:
        seen = [c.quote for t in earlier if t.answer for c in t.answer.citations]
        try:
            return suggest_follow_ups(
                self.checker, answer, history, seen_quotes=seen, limit=self.settings.suggestions
            )
        except Exception:  # suggestions are a nicety: the answer stands without them
            log.exception("could not suggest follow-up questions")
            return []

    def ask_api(self, question: str, history: object) -> dict[str, Any]:
        """The /ask endpoint: the same object as `assistant ask --json`."""
        turns = api_history(history, self.settings.max_history_items)
        return self.assistant.ask(question, turns).to_dict()

    # -- feedback -------------------------------------------------------------------------

    def on_feedback(
        self, turns: list[ChatTurn], data: dict[str, Any], user: str | None = None
    ) -> str:
        """Handle a click on the feedback controls; returns a notice (empty when all is well)."""
        turn = _find(turns, data.get("turn"))
        if turn is None or turn.answer is None or turn.rating is not None:
            return ""
        action = data.get("action")
        if action == "rate" and data.get("rating") == "down":
            turn.asking_reason = True
            return ""
        if action == "cancel":
            turn.asking_reason = False
            return ""
        if action == "rate" and data.get("rating") == "up":
            return self._store(turn, "up", None, None, user)
        if action == "send":
            reason = data.get("reason") if data.get("reason") in REASONS else None
            comment = str(data.get("comment") or "").strip()[:MAX_COMMENT_CHARS] or None
            return self._store(turn, "down", reason, comment, user)
        return ""

    def _store(
        self,
        turn: ChatTurn,
        rating: str,
        reason: str | None,
        comment: str | None,
        user: str | None,
    ) -> str:
        answer = turn.answer
        assert answer is not None
        record = FeedbackRecord(
            channel="web",
            rating="up" if rating == "up" else "down",
            question=turn.question,
            answer=answer.text,
            citations=[c.to_dict() for c in answer.citations],
            backend=answer.backend,
            refused=answer.refused,
            reason=reason,
            comment=comment,
            user=user,
        )
        try:
            self.feedback.add(record)
        except Exception:
            log.exception("could not store feedback")
            return "Sorry, your feedback could not be saved. Please try again later."
        turn.rating = record.rating
        turn.asking_reason = False
        return ""


def suggestion_checker(assistant: Assistant, settings: WebSettings) -> AsksQuestions:
    """Who confirms that a suggested question gets an answer.

    With an LLM, asking it each candidate would cost up to eight model calls per answer,
    so by default the offline extractive answerer checks them over the same index: when
    it finds supporting sentences, the model gets the same passages.
    """
    if settings.check_suggestions_with == "engine" or not assistant.settings.use_llm:
        return assistant
    from assistant.engine import Assistant

    return Assistant.open(assistant.settings.model_copy(update={"llm_enabled": False}))


def friendly(exc: InvalidQuestionError) -> str:
    """The engine's message as a sentence for a reader."""
    message = str(exc)
    if "empty" in message:
        return "Please type a question about the articles first."
    return f"Sorry, {message}. Please shorten or rephrase it."


def conversation_history(turns: Sequence[ChatTurn]) -> list[dict[str, str]]:
    """Earlier answered turns, in the engine's history format.

    Declined turns are left out: the articles said nothing about them, and as context
    their words would only pull the next question away from what the articles cover.
    """
    history: list[dict[str, str]] = []
    for turn in turns:
        if turn.answer is not None and not turn.answer.refused:
            history.append({"role": "user", "content": turn.question})
            history.append({"role": "assistant", "content": turn.answer.text})
    return history


def api_history(history: object, max_items: int = 200) -> list[Any]:
    """History as clients send it, in the engine's format; anything else: InvalidQuestionError.

    A list (at most `max_items` long, counted before anything else is looked at) of
    earlier questions, {"role": "user"|"assistant", "content": ...} messages, or
    [question, answer] pairs; one string is one earlier question; None is no history.
    """
    if history is None:
        return []
    if isinstance(history, str):
        return [history] if history.strip() else []
    if not isinstance(history, list | tuple):
        raise InvalidQuestionError(
            f"the conversation history must be a list, not {_kind(history)}: earlier "
            'questions, {"role", "content"} messages or [question, answer] pairs'
        )
    if len(history) > max_items:
        raise InvalidQuestionError(
            f"the conversation history is too long ({len(history)} items; the limit is {max_items})"
        )
    turns: list[Any] = []
    for number, item in enumerate(history, start=1):
        if isinstance(item, str):
            turns.append({"role": "user", "content": item})
        elif isinstance(item, dict) and _is_message(item):
            turns.append({"role": item["role"], "content": item["content"]})
        elif isinstance(item, list | tuple) and len(item) == 2 and all(_is_text(x) for x in item):
            user, reply = item
            if user is not None:
                turns.append({"role": "user", "content": user})
            if reply is not None:
                turns.append({"role": "assistant", "content": reply})
        else:
            raise InvalidQuestionError(
                f"item {number} of the conversation history is not a question, a "
                '{"role", "content"} message or a [question, answer] pair'
            )
    return turns


def _is_message(item: dict[Any, Any]) -> bool:
    return item.get("role") in ("user", "assistant") and isinstance(item.get("content"), str)


def _is_text(value: object) -> bool:
    return value is None or isinstance(value, str)


def _kind(value: object) -> str:
    return {dict: "an object", int: "a number", float: "a number", bool: "true or false"}.get(
        type(value), type(value).__name__
    )


def _find(turns: Sequence[ChatTurn], number: object) -> ChatTurn | None:
    try:
        wanted = int(str(number))
    except ValueError:
        return None
    return next((t for t in turns if t.number == wanted), None)
