"""`assistant web` and `assistant feedback export`. Light at import: argparse only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    web = subparsers.add_parser("web", help="serve the web chat (Gradio)")
    web.add_argument(
        "--host", default=None, help="address to listen on ($ASSISTANT_WEB_HOST or 127.0.0.1)"
    )
    web.add_argument(
        "--port", type=int, default=None, help="port to listen on ($ASSISTANT_WEB_PORT or 7860)"
    )
    web.set_defaults(handler=run_web)

    feedback = subparsers.add_parser("feedback", help="readers' feedback on answers")
    actions = feedback.add_subparsers(dest="feedback_command", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="write all feedback out as CSV or JSON lines")
    export.add_argument(
        "--format", choices=("csv", "jsonl"), default="csv", dest="fmt", help="default: csv"
    )
    export.add_argument(
        "--output", "-o", type=Path, default=None, help="file to write (default: standard output)"
    )
    export.set_defaults(handler=run_feedback_export)


def run_web(args: argparse.Namespace) -> int:
    from assistant.web.memory import limit_malloc_arenas

    limit_malloc_arenas()  # before the engine and the server start their threads
    from assistant.cli import load_settings_from_env, open_assistant, stop_on_signals
    from assistant.web.settings import load_web_settings

    settings = load_settings_from_env()
    web_settings = load_web_settings()
    host = args.host or web_settings.host
    port = args.port or web_settings.port
    _check_address(host, port)  # before the slow start, not after it
    print("opening the index (built on first use)...", file=sys.stderr, flush=True)
    assistant = open_assistant(settings)
    print("loading the web app...", file=sys.stderr, flush=True)
    from assistant.feedback import FeedbackStore
    from assistant.web.app import build_app, serve

    app = build_app(
        assistant=assistant, feedback=FeedbackStore(settings.feedback_db), settings=web_settings
    )
    stop_on_signals()  # gradio's own loop closes its server on the KeyboardInterrupt
    try:
        serve(app, settings=web_settings, host=host, port=port)
    except KeyboardInterrupt:  # a signal while gradio was still starting: close it here
        app.close()
    except OSError as exc:
        raise _address_error(host, port, exc) from None
    print("stopped", file=sys.stderr)
    return 0


def _check_address(host: str, port: int) -> None:
    import socket

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise _address_error(host, port, exc) from None


def _address_error(host: str, port: int, exc: OSError) -> Exception:
    from assistant.errors import ConfigError

    reason = exc.strerror or str(exc)
    return ConfigError(f"cannot serve on {host}:{port} ({reason}); choose another with --port")


def run_feedback_export(args: argparse.Namespace) -> int:
    from assistant.cli import load_settings_from_env
    from assistant.feedback import FeedbackStore

    settings = load_settings_from_env()
    store = FeedbackStore(settings.feedback_db)
    text = store.export(args.fmt)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8", newline="")
    count = len(store.all())
    print(f"wrote {count} record{'' if count == 1 else 's'} to {args.output}", file=sys.stderr)
    return 0
