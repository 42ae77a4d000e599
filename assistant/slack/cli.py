"""`assistant slack`: run the Slack app. Light at import: argparse only."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

DEFAULT_PORT = 3000


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "slack",
        help="run the Slack app (Socket Mode if SLACK_APP_TOKEN is set, else HTTP)",
        description=(
            "Answers @mentions, direct messages, thread follow-ups and /ask in Slack. "
            "Needs SLACK_BOT_TOKEN, and SLACK_SIGNING_SECRET in HTTP mode; with "
            "SLACK_APP_TOKEN it connects over Socket Mode instead of listening on a port. "
            "SLACK_API_URL changes the Web API base URL."
        ),
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="HTTP mode: port for /slack/events (default: $PORT or 3000; 0 picks a free one)",
    )
    parser.add_argument(
        "--host", default="0.0.0.0", help="HTTP mode: address to bind (default: 0.0.0.0)"
    )
    parser.set_defaults(handler=run_slack)


def run_slack(args: argparse.Namespace) -> int:
    from assistant.cli import load_settings_from_env, open_assistant, stop_on_signals
    from assistant.slack.config import load_slack_config

    config = load_slack_config()  # before the engine loads: bad credentials fail fast
    port = args.port if args.port is not None else _port_from_env()
    settings = load_settings_from_env()
    logging.getLogger("assistant.slack").setLevel(logging.INFO)

    from assistant.feedback import FeedbackStore
    from assistant.slack.app import build_app, check_bot_token, serve

    check_bot_token(config.bot_token, config.api_url)
    assistant = open_assistant(settings)
    app = build_app(
        assistant=assistant,
        feedback=FeedbackStore(settings.feedback_db),
        bot_token=config.bot_token,
        signing_secret=config.signing_secret,
        api_url=config.api_url,
        suggested_prompts=config.suggested_prompts,
        socket_mode=config.socket_mode,
    )
    stop_on_signals()
    try:
        serve(app, config, host=args.host, port=port, announce=_announce)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0


def _port_from_env() -> int:
    from assistant.errors import ConfigError

    raw = os.environ.get("PORT", "").strip() or str(DEFAULT_PORT)
    if not raw.isdigit() or int(raw) > 65535:
        raise ConfigError(f"PORT must be a port number, not {raw!r}")
    return int(raw)


def _announce(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
