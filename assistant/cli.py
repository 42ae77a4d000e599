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
    from assistant.answer import Answer, Citation
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
    except BrokenPipeError:  # before OSError, of which it is one: `assistant ask … | head -1`
        return _reader_went_away()
    except OSError as exc:
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _reader_went_away() -> int:
    """The command reading our output closed the pipe: stop quietly, as `cat` would.

    Standard output is pointed at /dev/null first, or Python's own flush at exit would
    hit the closed pipe again and print "Exception ignored … BrokenPipeError".
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
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
    ingest.add_argument(
        "--watch",
        action="store_true",
        help="then keep the index in step with the folders until Ctrl-C or SIGTERM",
    )
    ingest.add_argument(
        "--settle",
        type=float,
        metavar="SECONDS",
        help="with --watch: how long a file must stay unchanged before it is read (default 1)",
    )
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


def stop_on_signals() -> None:
    """For a server (`assistant web`, `assistant slack`): SIGINT (Ctrl-C) and SIGTERM stop it
    cleanly, as they do uvicorn or gunicorn, by a KeyboardInterrupt in the main thread. Also
    when it was started with SIGINT ignored, as a shell script's background job is (Python
    then leaves SIGINT ignored); and SIGTERM closes connections instead of killing the
    process where it stands."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)


def load_settings_from_env() -> Settings:
    from assistant.settings import load_settings

    return load_settings()


def open_assistant(
    settings: Settings, *, stream: TextIO = sys.stderr, many_questions: bool = True
) -> Assistant:
    from assistant.store import ChunkStore

    # The store first: its vector index then loads (ChunkStore.load_ahead) while the
    # engine's own modules are imported, ~0.2 s of a cold start.
    store = ChunkStore(settings=settings)
    if store.exists() and not store.is_empty():
        store.load_ahead()
    from assistant.engine import Assistant

    return Assistant.open(
        settings, progress=ProgressPrinter(stream), store=store, many_questions=many_questions
    )


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
    if args.settle is not None and not args.watch:
        from assistant.errors import ConfigError

        raise ConfigError("--settle goes with --watch")
    if args.watch:
        from assistant.watch import watch_folders

        return watch_folders(
            settings,
            args.paths,
            rebuild=args.rebuild,
            settle=args.settle,
            progress=ProgressPrinter(sys.stderr),
        )
    report = ingest(
        settings, args.paths or None, rebuild=args.rebuild, progress=ProgressPrinter(sys.stderr)
    )
    for problem in report.problems:
        print(f"warning: {problem}", file=sys.stderr)
    print(report.summary())
    return 0


def run_ask(args: argparse.Namespace) -> int:
    settings = load_settings_from_env()
    assistant = open_assistant(settings, many_questions=False)
    answer = assistant.ask(args.question, args.history)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer, width=terminal_width(sys.stdout)))
    return 0


def run_chat(args: argparse.Namespace) -> int:
    settings = load_settings_from_env()
    assistant = open_assistant(settings)
    info = assistant.info()
    width = terminal_width(sys.stdout, default=DEFAULT_WIDTH)
    print(
        wrap(
            f"Ask about {count(info.articles, 'article')} · answers by {info.backend} · "
            "empty line or Ctrl-D to quit",
            width,
        )
    )
    history: list[dict[str, str]] = []
    from assistant.errors import InvalidQuestionError

    while True:
        try:
            question = input(f"\n{QUESTION_PROMPT}").strip()
        except EOFError:
            print()
            return 0
        if not question:
            return 0
        width = terminal_width(sys.stdout, default=DEFAULT_WIDTH)  # the window may have changed
        now = assistant.info()  # looks for a newer index (Assistant.refresh)
        if now.version != info.version:
            info = now
            print(wrap(f"(index updated: {count(info.articles, 'article')} now)", width))
        print(PROMPT, end="", flush=True)
        try:
            answer = _stream_answer(assistant, question, history, width)
        except InvalidQuestionError as exc:
            print(f"\n{wrap(str(exc), width)}")
            continue
        print(terminal_safe(format_sources(answer, width=width)))
        history += [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer.text},
        ]


QUESTION_PROMPT = "you> "
PROMPT = "assistant> "
DEFAULT_WIDTH = 80


def _stream_answer(
    assistant: Assistant, question: str, history: list[dict[str, str]], width: int | None = None
) -> Answer:
    """Print checked sentences as they come; if the final check changed them, reprint."""
    final = None
    shown = ""
    # Typed at a terminal, the question ends with Enter; piped in, it is not echoed and
    # the answer goes on the prompt's line.
    column = len(PROMPT) + (0 if _is_terminal(sys.stdin) else len(QUESTION_PROMPT))
    out = StreamWrapper(sys.stdout, width, column=column)
    for event in assistant.ask_stream(question, history):
        if event.answer is not None:
            final = event.answer
        else:
            shown += event.delta
            out.write(terminal_safe(event.delta))
    assert final is not None
    print()
    if " ".join(shown.split()) != " ".join(final.text.split()):
        print(wrap(f"(checked answer) {terminal_safe(final.text)}", width))
    for line in format_related(final, width=width):
        print(terminal_safe(line))
    for notice in final.notices:
        print(wrap(f"note: {terminal_safe(notice)}", width, indent="      "))
    return final


def count(n: int, noun: str) -> str:
    """ "1 article", "2 articles"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def terminal_safe(text: str) -> str:
    """Text with escape sequences and control characters (but newlines and tabs) removed."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


# -- layout for a terminal ----------------------------------------------------------------

# A citation mark stays with the word before it: "personnel [1]." never breaks before "[1]".
_MARK_AFTER_WORD = re.compile(r"(?<=\S)[ \t]+(?=\[\d+(?:\s*,\s*\d+)*\])")
_SPACE_IN_MARK = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
_GLUE = "\x00"  # never in shown text: terminal_safe removes it


def terminal_width(stream: TextIO, *, default: int | None = None) -> int | None:
    """Columns to wrap at: the terminal's (or $COLUMNS); `default` when not a terminal."""
    import shutil

    if not _is_terminal(stream) and not os.environ.get("COLUMNS"):
        return default
    return max(shutil.get_terminal_size((default or DEFAULT_WIDTH, 24)).columns, 20)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed
        return False


def _glued(text: str) -> str:
    text = _SPACE_IN_MARK.sub(lambda m: re.sub(r"\s+", _GLUE, m.group(0)), text)
    return _MARK_AFTER_WORD.sub(_GLUE, text)


def wrap(text: str, width: int | None, *, indent: str = "", first: str = "") -> str:
    """Text wrapped to `width` columns (None: as it is), citation marks kept with their word.

    `first` opens the first line and `indent` the others; paragraphs and line breaks stay.
    """
    import textwrap

    if not width:
        return first + text
    lines = []
    for n, line in enumerate(text.split("\n")):
        lead = first if n == 0 else indent
        if not line.strip():
            lines.append("")
            continue
        lines += textwrap.wrap(
            _glued(line),
            width=width,
            initial_indent=lead,
            subsequent_indent=indent,
            break_long_words=len(line) > width,
            break_on_hyphens=False,
        ) or [lead]
    return "\n".join(lines).replace(_GLUE, " ")


class StreamWrapper:
    """Writes streamed text, breaking lines between words before they pass `width`."""

    def __init__(self, stream: TextIO, width: int | None, *, column: int = 0) -> None:
        self._stream = stream
        self._width = width
        self._column = column

    def write(self, text: str) -> None:
        if not self._width:
            self._stream.write(text)
            self._stream.flush()
            return
        out: list[str] = []
        for n, line in enumerate(text.split("\n")):
            if n:
                out.append("\n")
                self._column = 0
            for match in re.finditer(r"(\s*)(\S+)", _glued(line)):
                space = " " if match.group(1) and self._column else ""
                word = match.group(2).replace(_GLUE, " ")
                if self._column and self._column + len(space) + len(word) > self._width:
                    out.append("\n")
                    self._column, space = 0, ""
                out.append(space + word)
                self._column += len(space) + len(word)
            if line and line[-1].isspace() and self._column:
                out.append(" ")
                self._column += 1
        self._stream.write("".join(out))
        self._stream.flush()


# -- answers and their sources ------------------------------------------------------------


def format_answer(answer: Answer, *, width: int | None = None) -> str:
    lines = [wrap(answer.text, width), *format_related(answer, width=width)]
    lines += [wrap(f"note: {notice}", width, indent="      ") for notice in answer.notices]
    sources = format_sources(answer, width=width)
    return terminal_safe("\n".join(lines) + ("\n" + sources if sources else ""))


def source_line(citation: Citation) -> str:
    """ "Title — Author · 2025-11-21": who wrote what, and when (those the article has)."""
    from assistant.provenance import byline

    by = byline(citation)
    return f"{citation.title} — {by}" if by else citation.title


def format_related(answer: Answer, *, width: int | None = None) -> list[str]:
    """The passages offered with a decline: each quote, and where it is from."""
    from assistant.citations import in_quotation_marks
    from assistant.provenance import origin

    lines = []
    for c in answer.related:
        lines += [
            wrap(in_quotation_marks(c.quote), width, first=f"  [{c.id}] ", indent="      "),
            wrap(source_line(c), width, first="      ", indent="      "),
            f"      {origin(c)}",
        ]
    return lines


def format_sources(answer: Answer, *, width: int | None = None) -> str:
    """Each citation: its title, author and date, the article's link (or, without one, its
    path inside the corpus folder) and the quoted sentence."""
    from assistant.citations import in_quotation_marks
    from assistant.provenance import origin

    if not answer.citations:
        return ""
    lines = ["", "Sources:"]
    for c in answer.citations:
        lines.append(wrap(source_line(c), width, first=f"[{c.id}] ", indent="    "))
        lines.append(f"    {origin(c)}")  # a link is never broken: terminals open it whole
        lines.append(wrap(in_quotation_marks(c.quote), width, first="    ", indent="    "))
    return "\n".join(lines)


def _quiet_third_parties() -> None:
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("chromadb", "httpx", "llama_index", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


if __name__ == "__main__":
    raise SystemExit(main())
