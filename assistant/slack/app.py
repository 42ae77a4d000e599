"""Builds the Bolt app from explicit dependencies, and runs it in HTTP or Socket Mode."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from assistant.errors import ConfigError
from assistant.slack.answer_log import AnswerLog
from assistant.slack.config import SlackConfig, normalise_api_url
from assistant.slack.conversation import Services
from assistant.slack.dedupe import DropRepeatsAndBots
from assistant.slack.listeners import register_listeners
from assistant.slack.prompts import SuggestedPrompts
from assistant.slack.server import EVENTS_PATH, SlackHTTPServer

if TYPE_CHECKING:
    from assistant.engine import Assistant
    from assistant.feedback import FeedbackStore

LOGGER_NAME = "assistant.slack"
ANSWER_LOG_FILE = "slack_answers.sqlite3"


def build_app(
    *,
    assistant: Assistant,
    feedback: FeedbackStore,
    bot_token: str,
    signing_secret: str,
    api_url: str | None = None,
    answers: AnswerLog | None = None,
    suggested_prompts: Sequence[str] | None = None,
    socket_mode: bool = False,
    listener_executor: Executor | None = None,
    logger: logging.Logger | None = None,
) -> App:
    """A Bolt app answering from `assistant`; checks the bot token with auth.test first.

    `suggested_prompts` for the side panel default to questions drawn from the articles.

    In HTTP mode every request must carry a valid Slack signature; in Socket Mode the
    WebSocket connection itself is authenticated, so no signing secret is needed.
    """
    if not bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is not set")
    if not signing_secret and not socket_mode:
        raise ConfigError("SLACK_SIGNING_SECRET is not set (it is required in HTTP mode)")
    logger = logger or logging.getLogger(LOGGER_NAME)
    check_bot_token(bot_token, api_url)
    with _quiet_about_env_token(logger):
        app = App(
            client=web_client(bot_token, api_url),
            signing_secret=signing_secret,
            name="news-assistant",
            logger=logger,
            token_verification_enabled=False,  # check_bot_token did it, with a clearer error
            request_verification_enabled=not socket_mode,
            listener_executor=listener_executor,
        )
    app.use(DropRepeatsAndBots())
    services = Services(
        assistant=assistant,
        feedback=feedback,
        answers=answers or AnswerLog(assistant.settings.data_dir / ANSWER_LOG_FILE),
        prompts=SuggestedPrompts(assistant, suggested_prompts, logger),
        logger=logger,
    )
    register_listeners(app, services)
    return app


@contextmanager
def _quiet_about_env_token(logger: logging.Logger) -> Iterator[None]:
    """Bolt reads SLACK_BOT_TOKEN itself and warns that our client (holding that very token)
    wins over it; the warning would only confuse."""
    from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

    noise = warning_client_prioritized_and_token_skipped()

    def drop_noise(record: logging.LogRecord) -> bool:
        return record.getMessage() != noise

    logger.addFilter(drop_noise)
    try:
        yield
    finally:
        logger.removeFilter(drop_noise)


def web_client(
    bot_token: str, api_url: str | None = None, logger: logging.Logger | None = None
) -> WebClient:
    return WebClient(
        token=bot_token,
        base_url=normalise_api_url(api_url or ""),
        timeout=30,
        logger=logger,
        retry_handlers=[
            ConnectionErrorRetryHandler(),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


def check_bot_token(bot_token: str, api_url: str | None = None) -> None:
    """auth.test, turning a refusal or an unreachable API into one clear ConfigError."""
    quiet = logging.getLogger(f"{LOGGER_NAME}.token_check")
    quiet.propagate = False  # the ConfigError says it all; slack_sdk would log it again
    if not quiet.handlers:
        quiet.addHandler(logging.NullHandler())
    client = web_client(bot_token, api_url, logger=quiet)
    try:
        client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown error")
        raise ConfigError(f"Slack rejected SLACK_BOT_TOKEN ({error})") from None
    except Exception as exc:
        raise ConfigError(f"cannot reach the Slack Web API at {client.base_url} ({exc})") from None


def serve(
    app: App,
    config: SlackConfig,
    *,
    host: str,
    port: int,
    announce: Callable[[str], None],
) -> None:
    """Run until interrupted: Socket Mode when an app token is set, else HTTP mode."""
    if config.app_token is not None:
        serve_socket_mode(app, config.app_token, announce)
    else:
        serve_http(app, host=host, port=port, announce=announce)


def serve_http(app: App, *, host: str, port: int, announce: Callable[[str], None]) -> None:
    try:
        server = SlackHTTPServer(app, host=host, port=port, path=EVENTS_PATH)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    announce(f"Slack app listening on {server.url} (HTTP mode; Ctrl-C to stop)")
    server.serve_forever()


def serve_socket_mode(app: App, app_token: str, announce: Callable[[str], None]) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(app, app_token)
    try:
        handler.connect()
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown error")
        raise ConfigError(f"Slack rejected SLACK_APP_TOKEN ({error})") from None
    announce("Slack app connected (Socket Mode; Ctrl-C to stop)")
    try:
        threading.Event().wait()
    finally:
        handler.close()
