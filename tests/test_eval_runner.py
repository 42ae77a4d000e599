"""The runner against a real opened Assistant: follow-ups carry real answers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from assistant.answer import Answer
from assistant.errors import InvalidQuestionError
from assistant.evaluation.dataset import Case, Dataset
from assistant.evaluation.judges import LexicalJudge
from assistant.evaluation.runner import ask_case, run_dataset

PLANT = "What does the draft say about the Zaporizhzhia nuclear power plant?"
SPLIT = Case(
    "split",
    "How would its electricity be split?",
    True,
    (("equally",),),
    ('"equally between Russia and Ukraine"',),
    (PLANT,),
)


class Recording:
    """Passes every question to the real assistant and keeps what it was asked."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[str, list[Any]]] = []
        self.answers: list[Answer] = []

    def ask(self, question: str, history: Sequence[Any] = ()) -> Answer:
        self.calls.append((question, list(history)))
        self.answers.append(self.inner.ask(question, history))
        return self.answers[-1]


def test_a_follow_up_is_asked_after_its_history_with_the_real_answers(assistant: Any) -> None:
    recording = Recording(assistant)
    final = ask_case(recording, SPLIT)

    first_answer = recording.answers[0].text
    assert "Zaporizhzhia" in first_answer
    assert recording.calls == [
        (PLANT, []),
        (
            SPLIT.question,
            [{"role": "user", "content": PLANT}, {"role": "assistant", "content": first_answer}],
        ),
    ]
    assert "equally" in final.text and final.history == [PLANT]


def test_an_engine_error_names_the_case(assistant: Any) -> None:
    long = Case("too-long", "Why? " * 1000, False)
    with pytest.raises(InvalidQuestionError, match="case 'too-long': the question is too long"):
        ask_case(assistant, long)


def test_a_run_reports_progress_and_aggregates(assistant: Any) -> None:
    refused = Case("capital", "What is the capital of Australia?", False)
    seen: list[tuple[int, int, str]] = []
    run = run_dataset(
        assistant,
        Dataset(Path("x.yaml"), (SPLIT, refused)),
        LexicalJudge(),
        progress=lambda done, total, result: seen.append((done, total, result.case.id)),
    )
    assert seen == [(1, 2, "split"), (2, 2, "capital")]
    assert run.passed == 2 and run.aggregates["refusal_accuracy"] == 1.0
    assert run.results[0].to_json()["id"] == "split"
