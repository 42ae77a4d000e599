"""Slack's assistant side panel (Bolt's Assistant middleware): suggested prompts when a
thread starts, a "searching the sources…" status while working, and the thread titled
after its first question. Every later message in the thread is a follow-up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Assistant

from assistant.slack.conversation import (
    BotIdentity,
    History,
    Place,
    Services,
    best_effort,
    reply_with_answer,
    thread_history,
)
from assistant.slack.mrkdwn import question_from_message, safe_mrkdwn, safe_plain, truncate

if TYPE_CHECKING:
    from slack_bolt import App, BoltContext, Say, SetStatus, SetSuggestedPrompts, SetTitle
    from slack_sdk import WebClient

STATUS = "is searching the sources…"
LOADING_MESSAGES = ["Searching the sources…", "Checking every citation…"]
MAX_TITLE = 80
MAX_PROMPT_TITLE = 40


def register(app: App, services: Services) -> None:
    panel = Assistant(logger=services.logger)

    @panel.thread_started
    def greet(say: Say, set_suggested_prompts: SetSuggestedPrompts) -> None:
        say(text=safe_mrkdwn(_greeting(services)))
        prompts = [
            {"title": truncate(safe_plain(p), MAX_PROMPT_TITLE), "message": p}
            for p in services.prompts.get()
        ]
        best_effort(
            services.logger,
            "assistant.threads.setSuggestedPrompts",
            lambda: set_suggested_prompts(prompts=prompts, title="Try asking:"),
        )

    @panel.user_message
    def answer_in_panel(
        payload: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        set_status: SetStatus,
        set_title: SetTitle,
    ) -> None:
        identity = BotIdentity.from_context(context)
        place = Place(payload["channel"], payload["thread_ts"])
        question = question_from_message(payload.get("text") or "", identity.user_id)
        best_effort(
            services.logger,
            "assistant.threads.setStatus",
            lambda: set_status(status=STATUS, loading_messages=LOADING_MESSAGES),
        )

        def title_after_first_question(turns: History) -> None:
            if question and not any(turn["role"] == "user" for turn in turns):
                title = truncate(safe_plain(question), MAX_TITLE)
                best_effort(services.logger, "assistant.threads.setTitle", lambda: set_title(title))

        reply_with_answer(
            services,
            client,
            place,
            question,
            history=lambda: thread_history(
                services, client, place, before_ts=payload["ts"], identity=identity
            ),
            before_answer=title_after_first_question,
        )

    app.assistant(panel)


def _greeting(services: Services) -> str:
    try:
        articles = f"the {services.assistant.info().articles} articles"
    except Exception as exc:
        services.logger.warning("corpus info unavailable: %s", exc)
        articles = "the newsroom's articles"
    return (
        f"Hi! Ask me about {articles} I have. Every answer cites the passages it comes from; "
        "when the articles don't say, I'll tell you so."
    )
