"""Readers' feedback from the web chat: stored in SQLite, exported by `assistant feedback`."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

ARMED_FORCES = "What limit does the draft set on Ukraine's armed forces?"
DECLINED = "What is the capital of Australia?"


@pytest.fixture
def chat(assistant):  # type: ignore[no-untyped-def]
    from assistant.feedback import FeedbackStore
    from assistant.web.chat import WebChat
    from assistant.web.settings import WebSettings

    store = FeedbackStore(assistant.settings.feedback_db)
    return WebChat(assistant=assistant, feedback=store, settings=WebSettings(), examples=[])


def answered(chat: Any, *questions: str) -> list[Any]:
    turns: list[Any] = []
    for question in questions:
        for _ in chat.respond(question, turns):
            pass
    return turns


def test_thumbs_up_is_stored_at_once_with_the_answer(chat: Any) -> None:
    turns = answered(chat, ARMED_FORCES)
    notice = chat.on_feedback(turns, {"action": "rate", "turn": "1", "rating": "up"}, "ann")
    assert notice == ""
    turn = turns[0]
    assert turn.rating == "up"
    [record] = chat.feedback.all()
    assert record["channel"] == "web"
    assert record["rating"] == "up" and record["reason"] is None
    assert record["question"] == ARMED_FORCES
    assert record["answer"] == turn.answer.text
    assert record["citations"] == [c.to_dict() for c in turn.answer.citations]
    assert record["backend"] == "extractive"
    assert record["refused"] is False
    assert record["user"] == "ann"


def test_thumbs_down_asks_for_a_reason_before_storing(chat: Any) -> None:
    turns = answered(chat, ARMED_FORCES, DECLINED)
    chat.on_feedback(turns, {"action": "rate", "turn": 2, "rating": "down"})
    assert turns[1].asking_reason and chat.feedback.all() == []
    chat.on_feedback(turns, {"action": "cancel", "turn": 2})
    assert not turns[1].asking_reason and turns[1].rating is None
    chat.on_feedback(turns, {"action": "rate", "turn": 2, "rating": "down"})
    chat.on_feedback(
        turns, {"action": "send", "turn": 2, "reason": "wrong", "comment": "  It is Canberra. "}
    )
    [record] = chat.feedback.all()
    assert (record["rating"], record["reason"], record["comment"]) == (
        "down",
        "wrong",
        "It is Canberra.",
    )
    assert record["refused"] is True and record["citations"] == []
    assert turns[1].rating == "down" and not turns[1].asking_reason


@pytest.mark.parametrize("reason", ["wrong", "unsupported", "incomplete", "other", None])
def test_every_reason_or_none_can_be_given(chat: Any, reason: str | None) -> None:
    turns = answered(chat, ARMED_FORCES)
    chat.on_feedback(turns, {"action": "send", "turn": 1, "reason": reason, "comment": ""})
    [record] = chat.feedback.all()
    assert record["reason"] == reason and record["comment"] is None


def test_odd_feedback_is_ignored_or_tidied(chat: Any) -> None:
    turns = answered(chat, ARMED_FORCES)
    for data in (
        {"action": "rate", "turn": "nine", "rating": "up"},
        {"action": "rate", "turn": 7, "rating": "up"},
        {"action": "rate", "turn": 1, "rating": "meh"},
        {"action": "dance", "turn": 1},
    ):
        assert chat.on_feedback(turns, data) == ""
    assert chat.feedback.all() == []
    chat.on_feedback(
        turns, {"action": "send", "turn": 1, "reason": "<script>", "comment": "x" * 900}
    )
    chat.on_feedback(turns, {"action": "rate", "turn": 1, "rating": "up"})  # rated already
    [record] = chat.feedback.all()
    assert record["reason"] is None
    assert record["comment"] == "x" * 500


def test_feedback_survives_a_restart(chat: Any, settings: Any) -> None:
    from assistant.feedback import FeedbackStore

    turns = answered(chat, ARMED_FORCES)
    chat.on_feedback(turns, {"action": "rate", "turn": 1, "rating": "up"})
    assert settings.feedback_db.parent == settings.data_dir
    reopened = FeedbackStore(settings.feedback_db)
    assert [r["question"] for r in reopened.all()] == [ARMED_FORCES]


# -- assistant feedback export ---------------------------------------------------------------


def export(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "feedback", "export", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


@pytest.fixture
def rated(chat: Any, settings: Any) -> Path:
    """A data directory with two feedback records from the web chat."""
    turns = answered(chat, ARMED_FORCES, DECLINED)
    chat.on_feedback(turns, {"action": "rate", "turn": 1, "rating": "up"})
    chat.on_feedback(
        turns,
        {"action": "send", "turn": 2, "reason": "incomplete", "comment": 'says "no", sadly'},
    )
    return settings.data_dir


def test_export_as_json_lines(rated: Path) -> None:
    done = export("--format", "jsonl", data_dir=rated)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["rating"], r["reason"], r["channel"]) for r in records] == [
        ("up", None, "web"),
        ("down", "incomplete", "web"),
    ]
    assert records[0]["question"] == ARMED_FORCES
    assert records[0]["citations"][0]["quote"] in records[0]["answer"]
    assert records[1]["comment"] == 'says "no", sadly'


def test_export_as_csv_to_a_file(rated: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "feedback.csv"
    done = export("--format", "csv", "--output", str(target), data_dir=rated)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert f"wrote 2 records to {target}" in done.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [row["rating"] for row in rows] == ["up", "down"]
    assert rows[1]["comment"] == 'says "no", sadly'
    assert json.loads(rows[0]["citations"])[0]["id"] == 1
    assert rows[1]["refused"] == "True"


def test_export_with_no_feedback_yet(tmp_path: Path) -> None:
    done = export(data_dir=tmp_path / "empty")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "id,created_at,channel,rating,reason,comment,question,answer,citations,backend,refused,user"
    ]


def test_export_rejects_an_unknown_format(tmp_path: Path) -> None:
    done = export("--format", "xml", data_dir=tmp_path)
    assert done.returncode == 2
    assert "invalid choice: 'xml'" in done.stderr
