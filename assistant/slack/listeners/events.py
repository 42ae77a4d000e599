"""Events API: @mentions in channels, direct messages, and follow-ups in answered threads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.slack.conversation import (
    BotIdentity,
    History,
    Place,
    Services,
    is_from_a_bot,
    is_human_message,
    reply_with_answer,
    thread_history,
    working_reaction,
)
from assistant.slack.mrkdwn import question_from_message

if TYPE_CHECKING:
    from collections.abc import Callable

    from slack_bolt import App, BoltContext
    from slack_sdk import WebClient

CHANNEL_TYPES = ("channel", "group", "mpim")


def register(app: App, services: Services) -> None:
    @app.event("app_mention")
    def answer_mention(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        """Answered in a thread under the mention (or in the thread it was made in)."""
        if is_from_a_bot(event):
            return
        identity = BotIdentity.from_context(context)
        place = Place(event["channel"], event.get("thread_ts") or event["ts"])
        history = _history_loader(services, client, place, event, identity)
        question = question_from_message(event.get("text") or "", identity.user_id)
        with working_reaction(services.logger, client, event["channel"], event["ts"]):
            reply_with_answer(services, client, place, question, history=history)

    @app.event("message")
    def answer_message(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        """Direct messages, and replies in channel threads the bot has answered in."""
        if not is_human_message(event):
            return
        identity = BotIdentity.from_context(context)
        if event.get("channel_type") == "im" and not event.get("thread_ts"):
            place = Place(event["channel"])
            question = question_from_message(event.get("text") or "", identity.user_id)
            with working_reaction(services.logger, client, event["channel"], event["ts"]):
                reply_with_answer(services, client, place, question)
        elif _is_follow_up(services, event, identity):
            place = Place(event["channel"], event["thread_ts"])
            history = _history_loader(services, client, place, event, identity)
            question = question_from_message(event.get("text") or "", identity.user_id)
            with working_reaction(services.logger, client, event["channel"], event["ts"]):
                reply_with_answer(services, client, place, question, history=history)


def _is_follow_up(services: Services, event: dict[str, Any], identity: BotIdentity) -> bool:
    """A reply in a channel thread the bot answered in, not itself a mention (app_mention
    delivers those)."""
    thread_ts = event.get("thread_ts")
    return (
        event.get("channel_type") in CHANNEL_TYPES
        and bool(thread_ts)
        and thread_ts != event.get("ts")
        and not identity.is_mentioned_in(event.get("text") or "")
        and services.answers.answered_in_thread(event["channel"], thread_ts)
    )


def _history_loader(
    services: Services,
    client: WebClient,
    place: Place,
    event: dict[str, Any],
    identity: BotIdentity,
) -> Callable[[], History]:
    if not event.get("thread_ts"):
        return list
    return lambda: thread_history(services, client, place, before_ts=event["ts"], identity=identity)
