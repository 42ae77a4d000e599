"""Command line: a thin adapter over the engine. Heavy imports wait until a command needs them."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from assistant.answer import Answer
    from assistant.engine import Assistant
    from assistant.settings import Settings

Handler = Callable[[argparse.Namespace], int]
# Escape sequences (CSI, OSC, two-byte) and other control characters in article text:
# shown in a terminal they could recolour, retitle or rewrite the screen.
_ESCAPES = re.compile(
    r"\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|\x1b(?:\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, clearing
    r"|\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, hyperlinks
    r"|[@-_]?)"  # any other escape
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def main(argv: Sequence[str] | None = None) -> int:
    _quiet_third_parties()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    from assistant.errors import AssistantError

    try:
        return int(args.handler(args))
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Answers questions strictly from a set of news articles, with citations.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ingest = sub.add_parser("ingest", help="build or update the index from article files")
    ingest.add_argument("paths", nargs="*", type=Path, help="files or folders (default: sources)")
    ingest.add_argument("--rebuild", action="store_true", help="start the index over")
    ingest.set_defaults(handler=run_ingest)

    ask = sub.add_parser("ask", help="ask one question")
    ask.add_argument("question")
    ask.add_argument(
        "--history", action="append", default=[], metavar="QUESTION", help="an earlier question"
    )
    ask.add_argument("--json", action="store_true", help="print the full answer as JSON")
    ask.set_defaults(handler=run_ask)

    chat = sub.add_parser("chat", help="a conversation in the terminal")
    chat.set_defaults(handler=run_chat)

    _register_optional_commands(sub)
    return parser


# Each of these modules is light (argparse only) and has register(subparsers).
INTERFACE_COMMANDS = ("assistant.web.cli", "assistant.slack.cli", "assistant.evaluation.cli")


def _register_optional_commands(sub: Any) -> None:
    """Commands of the interface packages, when they are present."""
    import importlib

    for module_name in INTERFACE_COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        module.register(sub)


# -- shared helpers -----------------------------------------------------------------


def load_settings_from_env() -> Settings:
    from assistant.settings import load_settings

    return load_settings()


def open_assistant(settings: Settings, *, stream: TextIO = sys.stderr) -> Assistant:
    from assistant.engine import Assistant

    return Assistant.open(settings, progress=ProgressPrinter(stream))


class ProgressPrinter:
    """A progress bar on a terminal; nothing when output is redirected."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self._stream = stream
        self._live = stream.isatty() and os.environ.get("CI", "").lower() not in ("1", "true")
        self._announced: set[str] = set()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self._live:
            if stage not in self._announced and done == 0:
                self._announced.add(stage)
                print(f"building index: {stage}...", file=self._stream, flush=True)
            return
        width = 30
        filled = int(width * done / total) if total else width
        bar = "#" * filled + "-" * (width - filled)
        end = "\n" if done >= total else ""
        print(f"\r{stage:>14} [{bar}] {done}/{total}", end=end, file=self._stream, flush=True)


# -- commands -----------------------------------------------------------------------


def run_ingest(args: argparse.Namespace) -> int:
    from assistant.engine import ingest

    settings = load_settings_from_env()
    report = ingest(
        settings, args.paths or None, rebuild=args.rebuild, progress=ProgressPrinter(sys.stderr)
    )
    for problem in report.problems:
        print(f"warning: {problem}", file=sys.stderr)
    print(report.summary())
    return 0


def run_ask(args: argparse.Namespace) -> int:
    settings = load_settings_from_env()
    assistant = open_assistant(settings)
    answer = assistant.ask(args.question, args.history)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer))
    return 0


def run_chat(args: argparse.Namespace) -> int:
    settings = load_settings_from_env()
    assistant = open_assistant(settings)
    info = assistant.info()
    print(
        f"Ask about {info.articles} article(s) · answers by {info.backend} · "
        "empty line or Ctrl-D to quit"
    )
    history: list[dict[str, str]] = []
    from assistant.errors import InvalidQuestionError

    while True:
        try:
            question = input("\nyou> ").strip()
        except EOFError:
            print()
            return 0
        if not question:
            return 0
        print("assistant> ", end="", flush=True)
        try:
            answer = _stream_answer(assistant, question, history)
        except InvalidQuestionError as exc:
            print(f"\n{exc}")
            continue
        print(terminal_safe(format_sources(answer)))
        history += [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer.text},
        ]


def _stream_answer(assistant: Assistant, question: str, history: list[dict[str, str]]) -> Answer:
    """Print checked sentences as they come; if the final check changed them, reprint."""
    final = None
    shown = ""
    for event in assistant.ask_stream(question, history):
        if event.answer is not None:
            final = event.answer
        else:
            shown += event.delta
            print(terminal_safe(event.delta), end="", flush=True)
    assert final is not None
    print()
    if " ".join(shown.split()) != " ".join(final.text.split()):
        print(f"(checked answer) {terminal_safe(final.text)}")
    for line in format_related(final):
        print(terminal_safe(line))
    for notice in final.notices:
        print(f"note: {terminal_safe(notice)}")
    return final


def terminal_safe(text: str) -> str:
    """Text with escape sequences and control characters (but newlines and tabs) removed."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def format_answer(answer: Answer) -> str:
    lines = [answer.text, *format_related(answer)]
    lines += [f"note: {notice}" for notice in answer.notices]
    sources = format_sources(answer)
    return terminal_safe("\n".join(lines) + ("\n" + sources if sources else ""))


def format_related(answer: Answer) -> list[str]:
    """The passages offered with a decline: each quote, and where it is from."""
    lines = []
    for c in answer.related:
        dated = f", {c.date}" if c.date else ""
        lines += [f'  [{c.id}] "{c.quote}"', f"      {c.title}{dated} — {c.source}"]
    return lines


def format_sources(answer: Answer) -> str:
    if not answer.citations:
        return ""
    lines = ["", "Sources:"]
    for c in answer.citations:
        dated = f", {c.date}" if c.date else ""
        lines.append(f"[{c.id}] {c.title}{dated} — {c.source} (chars {c.start}-{c.end})")
        lines.append(f'    "{c.quote}"')
    return "\n".join(lines)


def _quiet_third_parties() -> None:
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("bm25s", "chromadb", "httpx", "llama_index", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


if __name__ == "__main__":
    raise SystemExit(main())
