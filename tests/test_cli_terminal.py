"""The terminal chat in a real pseudo-terminal, and what the CLI lets reach a terminal."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.conftest import ROOT
from tests.fakes.openai_server import FakeOpenAIServer
from tests.test_cli import ASSISTANT, run
from tests.test_llm import cite_passage_with

QUESTION = "What limit does the draft set on Ukraine's armed forces?"
INVENTED = "Diplomats expect the treaty to be signed in Reykjavik before the spring equinox."


def _three_sentences(request: dict[str, Any]) -> str:
    """Two cited sentences from the passages, then an uncited one no passage backs."""
    first = cite_passage_with("600,000")(request)
    second = cite_passage_with("28")(request)
    return f"{first} {second} {INVENTED} More follows."


def _read_until(fd: int, marker: bytes, seen: bytearray, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return
            if not chunk:
                return
            seen.extend(chunk)


def test_terminal_chat_never_shows_an_uncited_sentence(
    data_dir: Path, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.responder(_three_sentences)
    env = {
        **os.environ,
        "OPENAI_BASE_URL": fake_openai.base_url,
        "OPENAI_API_KEY": "test",
        "ASSISTANT_LLM_VERIFY": "false",
    }
    controller, terminal = pty.openpty()
    chat = subprocess.Popen(
        [*ASSISTANT, "chat"], stdin=terminal, stdout=terminal, stderr=terminal, cwd=ROOT, env=env
    )
    os.close(terminal)
    screen = bytearray()
    try:
        _read_until(controller, b"you> ", screen)
        os.write(controller, QUESTION.encode() + b"\n")
        _read_until(controller, b"Sources:", screen)
        _read_until(controller, b"you> ", screen)
        os.write(controller, b"\n")
        assert chat.wait(timeout=30) == 0
    finally:
        chat.kill()
        os.close(controller)
    shown = screen.decode("utf-8", errors="replace")
    assert "600,000" in shown and "Sources:" in shown, shown
    assert "Reykjavik" not in shown
    assert "More follows" not in shown


def test_escape_sequences_in_articles_never_reach_the_terminal(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "tram.md").write_text(
        "# Tram line \x1b]0;pwned\x07opens\n\n"
        "The new tram line \x1b[31mopened\x1b[0m on Monday with \x1b[2Jtwelve stops.\n"
        "Riders praised the quiet carriages.\n",
        encoding="utf-8",
    )
    env = {"ASSISTANT_DATA_DIR": str(tmp_path / "data")}
    assert run("ingest", str(corpus), env=env).returncode == 0
    result = run("ask", "How many stops does the new tram line have?", env=env)
    assert result.returncode == 0, result.stderr
    assert "twelve stops" in result.stdout
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", result.stdout), repr(result.stdout)
    chat = run("chat", stdin="How many stops does the new tram line have?\n", env=env)
    assert "twelve stops" in chat.stdout
    assert "\x1b" not in chat.stdout


def test_lone_surrogate_and_oversized_history_are_one_clear_line(data_dir: Path) -> None:
    surrogate = subprocess.run(
        [*ASSISTANT, "ask", "What about \udcff?"],
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=120,
    )
    assert surrogate.returncode == 2
    assert b"Traceback" not in surrogate.stderr
    assert b"error: the question contains invalid characters" in surrogate.stderr
    too_long = run("ask", QUESTION, "--history", "x" * 100_000)
    assert too_long.returncode == 2 and "Traceback" not in too_long.stderr
    assert "history is too long" in too_long.stderr
