"""Asks every case through the engine's public API and scores the answers."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant.answer import Answer
from assistant.errors import AssistantError
from assistant.evaluation.dataset import Case, Dataset
from assistant.evaluation.judges import Judge
from assistant.evaluation.metrics import CaseScore, aggregate, score_case


class Asks(Protocol):
    def ask(self, question: str, history: Sequence[Any] = ()) -> Answer: ...


@dataclass
class CaseResult:
    case: Case
    answer: Answer
    score: CaseScore

    @property
    def passed(self) -> bool:
        return self.score.passed

    def to_json(self) -> dict[str, Any]:
        """One line of results.jsonl: the id, `assistant ask --json` fields, the metrics."""
        return {
            "id": self.case.id,
            "answerable": self.case.answerable,
            **self.answer.to_dict(),
            "metrics": self.score.metrics,
            "checks": self.score.checks,
            "pass": self.passed,
            "sentences": [s.to_dict() for s in self.score.sentences],
        }


@dataclass
class RunResult:
    results: list[CaseResult]
    aggregates: dict[str, float | None]
    seconds: float

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)


Progress = Callable[[int, int, CaseResult], None]


def ask_case(assistant: Asks, case: Case) -> Answer:
    """Follow-ups: earlier questions are asked first, so the history holds real answers."""
    conversation: list[dict[str, str]] = []
    try:
        for earlier in case.history:
            reply = assistant.ask(earlier, conversation)
            conversation += [
                {"role": "user", "content": earlier},
                {"role": "assistant", "content": reply.text},
            ]
        return assistant.ask(case.question, conversation)
    except AssistantError as exc:
        raise type(exc)(f"case {case.id!r}: {exc}") from exc


def run_dataset(
    assistant: Asks,
    dataset: Dataset,
    judge: Judge,
    progress: Progress | None = None,
    assistant_for: Callable[[Path], Asks] | None = None,
) -> RunResult:
    """Every case through `assistant`; a case with a corpus of its own (Case.corpus) through
    `assistant_for(folder)`, an engine over that folder alone (one per folder)."""
    started = time.perf_counter()
    results: list[CaseResult] = []
    engines: dict[Path, Asks] = {}
    for case in dataset.cases:
        folder = dataset.corpus_path(case)
        engine = assistant
        if folder is not None:
            if assistant_for is None:
                raise AssistantError(f"case {case.id!r} has a corpus of its own: {folder}")
            engine = engines.get(folder) or engines.setdefault(folder, assistant_for(folder))
        answer = ask_case(engine, case)
        results.append(CaseResult(case, answer, score_case(case, answer, judge)))
        if progress is not None:
            progress(len(results), len(dataset.cases), results[-1])
    aggregates = aggregate(dataset.cases, [r.score for r in results])
    return RunResult(results, aggregates, time.perf_counter() - started)
