"""The /ask slash command: a private (ephemeral) answer with a "Share in channel" button."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.slack.blocks import answer_message
from assistant.slack.conversation import Services, report_failure, send
from assistant.slack.mrkdwn import safe_mrkdwn, slack_to_plain, truncate

if TYPE_CHECKING:
    from slack_bolt import Ack, App, Respond

COMMAND = "/ask"
USAGE = f"Usage: `{COMMAND} your question about the articles`. Only you see the answer."


def register(app: App, services: Services) -> None:
    @app.command(COMMAND)
    def ask_privately(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        question = " ".join(slack_to_plain(command.get("text") or "").split())
        if not question:
            ack(text=USAGE, response_type="ephemeral")
            return
        # Acknowledge within Slack's 3 seconds; the answer follows through response_url.
        searching = f"Searching the sources for “{safe_mrkdwn(truncate(question, 200))}”…"
        ack(text=searching, response_type="ephemeral")
        try:
            answer = services.ask(question)
            message = answer_message(answer, show_question=True, shareable=True)
            send(respond, message, response_type="ephemeral")
        except Exception as exc:
            report_failure(
                services.logger, exc, lambda m: send(respond, m, response_type="ephemeral")
            )
