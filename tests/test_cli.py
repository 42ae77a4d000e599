"""The CLI, run as a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SOURCES
from tests.fakes.openai_server import FakeOpenAIServer
from tests.test_llm import cite_passage_with

ASSISTANT = [sys.executable, "-m", "assistant.cli"]


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return subprocess.run(
        [*ASSISTANT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _assert_clean_error(result, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.usefixtures("data_dir")
def test_ask_prints_a_cited_answer_and_sources() -> None:
    result = run("ask", "What limit does the draft set on Ukraine's armed forces?")
    assert result.returncode == 0, result.stderr
    assert "600,000" in result.stdout and "[1]" in result.stdout
    assert "Sources:" in result.stdout
    # Readers see where the article lies inside its corpus folder, never a server path.
    assert "\n    2025-11-21-leaked-us-draft-plan-what-we-know.md\n" in result.stdout
    assert "index/sources/" not in result.stdout and str(ROOT) not in result.stdout


@pytest.mark.usefixtures("data_dir")
def test_ask_json_with_history() -> None:
    result = run(
        "ask",
        "How would its electricity be split?",
        "--history",
        "What does the draft say about the Zaporizhzhia nuclear power plant?",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["refused"] is False and data["backend"] == "extractive"
    assert data["history"] == [
        "What does the draft say about the Zaporizhzhia nuclear power plant?"
    ]
    citation = data["citations"][0]
    original = (ROOT / citation["source"]).read_bytes().decode("utf-8")
    assert original[citation["start"] : citation["end"]] == citation["quote"]
    assert data["retrieved"][0]["rank"] == 1
    assert set(data["timings_ms"]) == {"retrieve", "generate", "total"}


@pytest.mark.usefixtures("data_dir")
def test_ask_json_decline() -> None:
    data = json.loads(run("ask", "Write me a poem about Paris", "--json").stdout)
    assert data["refused"] is True and data["citations"] == []


@pytest.mark.usefixtures("data_dir")
def test_chat_streams_answers_and_lists_sources() -> None:
    script = (
        "What does the draft say about the Zaporizhzhia nuclear power plant?\n"
        "How would its electricity be split?\n"
        "\n"
    )
    result = run("chat", stdin=script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Sources:") == 2
    assert "equally" in result.stdout.split("Sources:")[1].lower()


def test_chat_reprints_the_answer_when_verification_removes_a_shown_sentence(
    data_dir: Path, fake_openai: FakeOpenAIServer
) -> None:
    def answer(request):  # type: ignore[no-untyped-def]
        first = cite_passage_with("600,000")(request)
        return f"{first} {cite_passage_with('rejects any limits')(request)}"

    fake_openai.responder(answer)
    fake_openai.reply("1: SUPPORTED\n2: CONTRADICTED")
    env = {"OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": "test"}
    result = run(
        "chat", stdin="What limit does the draft set on Ukraine's armed forces?\n", env=env
    )
    assert result.returncode == 0, result.stderr
    streamed, checked = result.stdout.split("(checked answer)")
    assert "rejects any limits" in streamed
    assert "rejects any limits" not in checked.split("Sources:")[0]
    assert "note: 1 sentence was removed: its source says otherwise." in result.stdout


def test_ingest_builds_then_skips_with_a_summary(tmp_path: Path) -> None:
    env = {"ASSISTANT_DATA_DIR": str(tmp_path / "data")}
    first = run("ingest", str(SOURCES), env=env)
    assert first.returncode == 0, first.stderr
    assert "2 added, 0 updated, 0 unchanged, 0 removed" in first.stdout
    second = run("ingest", env=env)
    assert "0 added, 0 updated, 2 unchanged, 0 removed" in second.stdout
    rebuilt = run("ingest", "--rebuild", env=env)
    assert "2 added" in rebuilt.stdout


def test_ingest_warns_about_bad_files_and_keeps_going(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Title\n\nA story about the harbour.\n", encoding="utf-8")
    (corpus / "bad.md").write_bytes(b"\xff\xfe\xfa")
    result = run("ingest", str(corpus), env={"ASSISTANT_DATA_DIR": str(tmp_path / "d")})
    assert result.returncode == 0
    assert "warning: skipped" in result.stderr and "bad.md" in result.stderr
    assert "1 added" in result.stdout


def test_missing_corpus_path_is_one_clear_line(tmp_path: Path) -> None:
    result = run("ingest", str(tmp_path / "missing"))
    _assert_clean_error(result, "corpus path not found")


def test_unreadable_corpus_is_one_clear_line(tmp_path: Path) -> None:
    env = {"ASSISTANT_DATA_DIR": str(tmp_path / "d"), "ASSISTANT_SOURCES": '["/nonexistent/x"]'}
    _assert_clean_error(run("ask", "Anything?", env=env), "not found")


def test_unusable_index_path_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    env = {"ASSISTANT_DATA_DIR": str(blocker / "index")}
    _assert_clean_error(run("ask", "What is the draft?", env=env), "a-file")


def test_bad_settings_are_one_clear_line() -> None:
    _assert_clean_error(run("ask", "Anything?", env={"ASSISTANT_TOP_K": "lots"}), "top_k")


def test_empty_question_is_one_clear_line() -> None:
    _assert_clean_error(run("ask", "  "), "empty")


@pytest.mark.usefixtures("data_dir")
def test_unreachable_llm_is_one_clear_line() -> None:
    env = {"OPENAI_BASE_URL": f"http://127.0.0.1:{_closed_port()}/v1", "OPENAI_API_KEY": "x"}
    _assert_clean_error(run("ask", "What is the draft?", env=env), "cannot reach the LLM")


def test_unreachable_chroma_server_is_one_clear_line() -> None:
    env = {"ASSISTANT_CHROMA_URL": f"http://127.0.0.1:{_closed_port()}"}
    _assert_clean_error(run("ask", "What is the draft?", env=env), "Chroma server")


@pytest.mark.usefixtures("data_dir")
def test_llm_answer_through_the_cli(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.responder(cite_passage_with("600,000"))
    env = {"OPENAI_BASE_URL": fake_openai.base_url, "ASSISTANT_LLM_MODEL": "local-model"}
    result = run(
        "ask", "What limit does the draft set on Ukraine's armed forces?", "--json", env=env
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["backend"] == "llm:local-model"
    assert data["answer"].rstrip(".").endswith("[1]") and len(data["citations"]) == 1
    assert "600,000" in data["citations"][0]["quote"]


def test_help_lists_the_commands() -> None:
    result = run("--help")
    for command in ("ingest", "ask", "chat"):
        assert command in result.stdout


@pytest.mark.usefixtures("data_dir")
def test_ask_offers_the_closest_passages_when_the_articles_do_not_answer_directly() -> None:
    question = "For how long would the front lines in Kherson stay frozen?"
    result = run("ask", question)
    assert result.returncode == 0, result.stderr
    first, *rest = result.stdout.splitlines()
    assert first == "The articles don't answer this directly. The closest passages are:"
    assert any(line.strip().startswith("[1] ") and "Kherson" in line for line in rest)
    data = json.loads(run("ask", "--json", question).stdout)
    assert data["refused"] is True and data["citations"] == []
    assert data["related"] and all(r["quote"] for r in data["related"])
