"""What a reader of the command line sees: sources with links, wrapped text, plain
plurals, and quiet exits when the reader of a pipe goes away. All through subprocesses."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import termios
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_cli import ASSISTANT, run
from tests.test_cli_terminal import _read_until

ARMED_FORCES = "What limit does the draft set on Ukraine's armed forces?"
TRAM = "How many stops does the new tram line have?"
FERRY = "How often will the night ferry run?"
TRAM_ARTICLE = (
    "---\ntitle: City opens its first tram line\ndate: 2025-12-01\nauthor: Jane Roe\n"
    "url: https://news.example.com/2025/12/01/tram\n---\n\n"
    "The city opened its first tram line on Monday. The line has twelve stops and cost "
    "40 million euros, the mayor said at the opening ceremony.\n"
)
FERRY_ARTICLE = """Night ferry returns

The night ferry will run every two hours from March, the harbour authority said on Friday.
"""


@pytest.fixture
def corpus(tmp_path: Path) -> dict[str, str]:
    """Two articles of one's own, ingested from a folder outside the working directory:
    one with a url and an author in its front matter, one without (in a subfolder)."""
    folder = tmp_path / "newsroom"
    (folder / "local").mkdir(parents=True)
    (folder / "2025-12-01-tram.md").write_text(TRAM_ARTICLE, encoding="utf-8")
    (folder / "local" / "ferry.txt").write_text(FERRY_ARTICLE, encoding="utf-8")
    env = {"ASSISTANT_DATA_DIR": str(tmp_path / "data")}
    assert run("ingest", str(folder), env=env).returncode == 0
    return env


def test_sources_show_the_link_author_and_date_never_a_server_path(
    corpus: dict[str, str], tmp_path: Path
) -> None:
    tram = run("ask", TRAM, env=corpus)
    assert tram.returncode == 0, tram.stderr
    assert "twelve stops" in tram.stdout
    sources = tram.stdout.split("Sources:")[1]
    assert "[1] City opens its first tram line — Jane Roe · 2025-12-01" in sources
    assert "\n    https://news.example.com/2025/12/01/tram\n" in sources
    assert str(tmp_path) not in tram.stdout and "2025-12-01-tram.md" not in tram.stdout

    ferry = run("ask", FERRY, env=corpus)
    assert "every two hours" in ferry.stdout
    sources = ferry.stdout.split("Sources:")[1]
    assert "[1] Night ferry returns\n" in sources  # no author, no date: nothing dangling
    assert "\n    local/ferry.txt\n" in sources  # inside the corpus folder
    assert str(tmp_path) not in ferry.stdout


def test_json_citations_carry_url_author_and_the_path_inside_the_corpus(
    corpus: dict[str, str],
) -> None:
    tram = json.loads(run("ask", "--json", TRAM, env=corpus).stdout)["citations"][0]
    assert tram["url"] == "https://news.example.com/2025/12/01/tram"
    assert tram["author"] == "Jane Roe"
    assert tram["corpus_path"] == "2025-12-01-tram.md"
    assert (
        Path(tram["source"]).read_text(encoding="utf-8")[tram["start"] : tram["end"]]
        == (tram["quote"])
    )  # `source` still opens the file, for scripts
    ferry = json.loads(run("ask", "--json", FERRY, env=corpus).stdout)["citations"][0]
    assert (ferry["url"], ferry["author"], ferry["corpus_path"]) == ("", "", "local/ferry.txt")


@pytest.mark.usefixtures("data_dir")
def test_a_quoted_sentence_is_shown_in_one_pair_of_quotation_marks() -> None:
    """The article quotes the draft: its sentence keeps its own marks, and gains none."""
    shown = run("ask", ARMED_FORCES)
    assert shown.returncode == 0, shown.stderr
    sources = shown.stdout.split("Sources:")[1]
    assert '\n    "The size of the Ukrainian Armed Forces will be limited to 600,000' in sources
    assert '""' not in sources


@pytest.mark.usefixtures("data_dir")
def test_a_pipe_closed_before_the_answer_is_written_ends_quietly() -> None:
    """`assistant ask … | head -1` where head is gone before the answer comes."""
    for args in (["ask", ARMED_FORCES], ["ask", "--json", ARMED_FORCES]):
        process = subprocess.Popen(
            [*ASSISTANT, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=os.environ,
        )
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # the reader goes away before anything is written
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=120) == 0
        assert stderr == "", stderr  # no "error: Broken pipe", no "Exception ignored"


@pytest.mark.usefixtures("data_dir")
def test_head_in_a_shell_pipeline_prints_the_first_line_only() -> None:
    result = subprocess.run(
        ["bash", "-c", 'set -o pipefail; "$@" | head -1', "pipe", *ASSISTANT, "chat"],
        input=f"{ARMED_FORCES}\n{ARMED_FORCES}\n\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "COLUMNS"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Ask about 2 articles · answers by extractive")
    assert result.stdout.count("\n") == 1
    assert "Broken pipe" not in result.stderr and "Exception" not in result.stderr


@pytest.mark.usefixtures("data_dir")
def test_chat_wraps_to_the_width_and_keeps_citation_marks_with_their_words() -> None:
    result = run("chat", stdin=f"{ARMED_FORCES}\n\n", env={"COLUMNS": "48"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Ask about 2 articles · answers by extractive ·"
    prose = [line for line in lines if " " in line.strip()]  # a path or link stays whole
    assert all(len(line) <= 48 for line in prose), lines
    answer = result.stdout.split("assistant> ", 1)[1].split("Sources:")[0]
    assert "600,000" in answer and len(answer.strip().splitlines()) > 1
    assert not re.search(r"^\s*\[\d", answer, re.MULTILINE), answer  # no mark opens a line
    assert re.search(r"\S \[1\]", answer)  # it follows its sentence on the same line


@pytest.mark.usefixtures("data_dir")
def test_chat_in_a_real_terminal_wraps_to_its_width() -> None:
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 60, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    chat = subprocess.Popen(
        [*ASSISTANT, "chat"], stdin=terminal, stdout=terminal, stderr=terminal, cwd=ROOT, env=env
    )
    os.close(terminal)
    screen = bytearray()
    try:
        _read_until(controller, b"you> ", screen)
        os.write(controller, ARMED_FORCES.encode() + b"\n")
        _read_until(controller, b"Sources:", screen)
        _read_until(controller, b"you> ", screen)
        os.write(controller, b"\n")
        assert chat.wait(timeout=30) == 0
    finally:
        chat.kill()
        os.close(controller)
    shown = screen.decode("utf-8", errors="replace").replace("\r\n", "\n")
    answer = shown.split("assistant> ", 1)[1].split("Sources:")[0]
    lines = [line for line in answer.splitlines() if line.strip()]
    assert len(lines) > 1, answer  # the answer is longer than one 60-column line
    prose = [line for line in shown.splitlines() if " " in line.strip()]
    typed = [line for line in prose if "you> " not in line]  # the echo is the terminal's
    assert all(len(line) <= 60 for line in typed), shown
    assert "Ask about 2 articles" in shown and "article(s)" not in shown
