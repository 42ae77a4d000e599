"""The one way the bot answers anywhere in Slack: ask the engine, post the blocks, remember
where they went, and turn any failure into a short `:warning:` reply plus a log entry."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from assistant.errors import AssistantError
from assistant.slack.answer_log import AnswerLog, LoggedAnswer
from assistant.slack.blocks import Message, answer_message, note_message, warning_message
from assistant.slack.mrkdwn import question_from_message, slack_to_plain
from assistant.slack.prompts import SuggestedPrompts

if TYPE_CHECKING:
    from slack_bolt import Respond
    from slack_sdk import WebClient

    from assistant.engine import Assistant
    from assistant.feedback import FeedbackStore

History = list[dict[str, str]]
GENERIC_FAILURE = (
    "Sorry, I couldn't answer that just now. The problem has been logged; "
    "please try again in a moment."
)
EMPTY_QUESTION = "Ask me a question about the articles, for example: “{example}”"
MAX_HISTORY_TURNS = 12
# Besides ordinary messages, these subtypes are still a person talking.
HUMAN_SUBTYPES = (None, "file_share", "thread_broadcast")
POST_OPTIONS = {"unfurl_links": False, "unfurl_media": False}
WORKING_REACTION = "mag"


@dataclass(frozen=True)
class Services:
    """What every listener shares: the engine, the stores and the app's logger."""

    assistant: Assistant
    feedback: FeedbackStore
    answers: AnswerLog
    prompts: SuggestedPrompts
    logger: logging.Logger

    def ask(self, question: str, history: Sequence[Mapping[str, str]] = ()) -> LoggedAnswer:
        answer = self.assistant.ask(question, [dict(turn) for turn in history])
        logged = LoggedAnswer.from_answer(answer)
        self.answers.add(logged)
        return logged

    def empty_question_hint(self) -> str:
        return EMPTY_QUESTION.format(example=self.prompts.get()[0])


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot is in this workspace (from auth.test), to recognise its own messages."""

    user_id: str | None
    bot_id: str | None

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> BotIdentity:
        return cls(user_id=context.get("bot_user_id"), bot_id=context.get("bot_id"))

    def wrote(self, message: Mapping[str, Any]) -> bool:
        user, bot = message.get("user"), message.get("bot_id")
        return bool((user and user == self.user_id) or (bot and bot == self.bot_id))

    def is_mentioned_in(self, text: str) -> bool:
        return bool(self.user_id) and f"<@{self.user_id}" in text


@dataclass(frozen=True)
class Place:
    """Where a reply goes: a channel, and the thread in it (None: top level)."""

    channel: str
    thread_ts: str | None = None


def is_from_a_bot(message: Mapping[str, Any]) -> bool:
    return bool(message.get("bot_id")) or message.get("subtype") == "bot_message"


def is_human_message(message: Mapping[str, Any]) -> bool:
    return not is_from_a_bot(message) and message.get("subtype") in HUMAN_SUBTYPES


def reply_with_answer(
    services: Services,
    client: WebClient,
    place: Place,
    question: str,
    *,
    history: Callable[[], History] = list,
    before_answer: Callable[[History], None] | None = None,
) -> LoggedAnswer | None:
    """Answer `question` at `place`; on failure post a `:warning:` there instead.

    `history` is called lazily (it may call Slack); `before_answer` sees it first.
    """
    try:
        if not question:
            post(client, place, note_message(services.empty_question_hint()))
            return None
        turns = history()
        if before_answer is not None:
            before_answer(turns)
        answer = services.ask(question, turns)
        response = post(client, place, answer_message(answer))
        services.answers.mark_posted(
            answer.id, channel=place.channel, thread_ts=place.thread_ts, ts=str(response["ts"])
        )
        return answer
    except Exception as exc:
        report_failure(services.logger, exc, lambda text: post(client, place, text))
        return None


def report_failure(
    logger: logging.Logger, exc: BaseException, send: Callable[[Message], object]
) -> None:
    """Log the cause (with its traceback for the unexpected) and send a short warning."""
    if isinstance(exc, AssistantError):
        logger.info("question not answered: %s", exc)
        message = warning_message(str(exc))
    else:
        logger.exception("answering failed: %s", exc)
        message = warning_message(GENERIC_FAILURE)
    try:
        send(message)
    except Exception as send_error:
        logger.error("could not post the failure warning either: %s", send_error)


def post(client: WebClient, place: Place, message: Message) -> Any:
    return client.chat_postMessage(
        channel=place.channel,
        thread_ts=place.thread_ts,
        **message.as_kwargs(),
        **POST_OPTIONS,
    )


def send(respond: Respond, message: Message, **options: Any) -> None:
    """Post through a response_url; unlike the Web API client, a failure must be checked."""
    response = respond(
        text=message.text,
        blocks=message.blocks or None,
        unfurl_links=False,
        unfurl_media=False,
        **options,
    )
    if response.status_code != 200:
        raise RuntimeError(f"response_url answered {response.status_code}: {response.body}")


def thread_history(
    services: Services,
    client: WebClient,
    place: Place,
    *,
    before_ts: str,
    identity: BotIdentity,
) -> History:
    """The thread's earlier messages as turns: people's as user, the bot's answers as
    assistant. Other bots, system messages and the bot's warnings are left out."""
    if place.thread_ts is None:
        return []
    response = client.conversations_replies(channel=place.channel, ts=place.thread_ts, limit=200)
    messages = sorted(response.get("messages") or [], key=lambda m: _ts(m.get("ts")))
    turns: History = []
    for message in messages:
        if _ts(message.get("ts")) >= _ts(before_ts):
            continue
        turn = _as_turn(services, place, message, identity)
        if turn is not None:
            turns.append(turn)
    return turns[-MAX_HISTORY_TURNS:]


def _as_turn(
    services: Services, place: Place, message: Mapping[str, Any], identity: BotIdentity
) -> dict[str, str] | None:
    if identity.wrote(message):
        if not message.get("blocks"):  # warnings, greetings and hints are not answers
            return None
        logged = services.answers.by_message(place.channel, str(message.get("ts")))
        content = logged.text if logged else slack_to_plain(str(message.get("text") or ""))
        return {"role": "assistant", "content": content}
    if not is_human_message(message):
        return None
    question = question_from_message(str(message.get("text") or ""), identity.user_id)
    return {"role": "user", "content": question} if question else None


def _ts(value: object) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def best_effort(logger: logging.Logger, what: str, call: Callable[[], object]) -> None:
    """Cosmetic calls (reactions, status, title): a failure is logged, never shown."""
    try:
        call()
    except Exception as exc:
        logger.debug("%s failed: %s", what, exc)


@contextmanager
def working_reaction(
    logger: logging.Logger, client: WebClient, channel: str, ts: str
) -> Iterator[None]:
    """A :mag: on the question while the bot searches the sources."""
    best_effort(
        logger,
        "reactions.add",
        lambda: client.reactions_add(channel=channel, timestamp=ts, name=WORKING_REACTION),
    )
    try:
        yield
    finally:
        best_effort(
            logger,
            "reactions.remove",
            lambda: client.reactions_remove(channel=channel, timestamp=ts, name=WORKING_REACTION),
        )
