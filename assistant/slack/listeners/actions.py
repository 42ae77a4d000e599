"""Buttons on an answer: share it publicly, or say whether it helped (and why not)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.feedback import REASONS, FeedbackRecord
from assistant.slack.blocks import (
    ACTION_HELPFUL,
    ACTION_NOT_HELPFUL,
    ACTION_SHARE,
    answer_message,
    note_message,
    warning_message,
)
from assistant.slack.conversation import Services, best_effort, report_failure, send

if TYPE_CHECKING:
    from slack_bolt import Ack, App, Respond

GONE = "I no longer have that answer; please ask again."
THANKS = "Thanks, your feedback was recorded."


def register(app: App, services: Services) -> None:
    @app.action(ACTION_SHARE)
    def share_answer(
        ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        try:
            answer = services.answers.get(str(action.get("value")))
            if answer is None:
                send(
                    respond,
                    warning_message(GONE),
                    response_type="ephemeral",
                    replace_original=False,
                )
                return
            footer = f"Shared by {_user_name(body)} · answered only from the newsroom's articles"
            public = answer_message(answer, show_question=True, footer=footer)
            send(respond, public, response_type="in_channel", replace_original=False)
        except Exception as exc:
            report_failure(
                services.logger,
                exc,
                lambda m: send(respond, m, response_type="ephemeral", replace_original=False),
            )
            return
        best_effort(
            services.logger, "delete the private copy", lambda: respond(delete_original=True)
        )

    @app.action(ACTION_HELPFUL)
    def mark_helpful(
        ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        _record(services, respond, body, answer_id=str(action.get("value")), reason=None)

    @app.action(ACTION_NOT_HELPFUL)
    def mark_not_helpful(
        ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        value = str((action.get("selected_option") or {}).get("value") or "")
        answer_id, _, reason = value.rpartition(":")
        _record(
            services,
            respond,
            body,
            answer_id=answer_id,
            reason=reason if reason in REASONS else "other",
        )


def _record(
    services: Services,
    respond: Respond,
    body: dict[str, Any],
    *,
    answer_id: str,
    reason: str | None,
) -> None:
    """Store the rating with the answer it is about, then thank the person privately."""
    private = {"response_type": "ephemeral", "replace_original": False}
    try:
        answer = services.answers.get(answer_id)
        if answer is None:
            send(respond, warning_message(GONE), **private)
            return
        services.feedback.add(
            FeedbackRecord(
                channel="slack",
                rating="up" if reason is None else "down",
                question=answer.question,
                answer=answer.text,
                citations=answer.citations,
                backend=answer.backend,
                refused=answer.refused,
                reason=reason,
                user=(body.get("user") or {}).get("id"),
            )
        )
        send(respond, note_message(THANKS), **private)
    except Exception as exc:
        report_failure(services.logger, exc, lambda m: send(respond, m, **private))


def _user_name(body: dict[str, Any]) -> str:
    user = body.get("user") or {}
    return str(user.get("name") or user.get("username") or "a colleague")
