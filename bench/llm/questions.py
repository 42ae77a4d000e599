"""The question set: answerable cases taken from evals/qa.yaml by id, out-of-scope ones inline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = Path(__file__).resolve().parent / "questions.yaml"
QA = ROOT / "evals" / "qa.yaml"


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    answerable: bool
    kind: str
    must_include: tuple[tuple[str, ...], ...] = ()
    source: str = ""


def load_questions(path: Path = QUESTIONS, qa: Path = QA) -> list[Question]:
    entries: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = {case["id"]: case for case in yaml.safe_load(qa.read_text(encoding="utf-8"))}
    questions: list[Question] = []
    for entry in entries:
        if "qa" in entry:
            questions.append(_from_qa(cases[entry["qa"]], qa))
        else:
            number = sum(not q.answerable for q in questions) + 1
            questions.append(
                Question(f"oos-{number:02d}", entry["question"], False, entry.get("kind", ""))
            )
    return questions


def _from_qa(case: dict[str, Any], qa: Path) -> Question:
    if not case.get("answerable") or case.get("history"):
        raise ValueError(f"{case['id']}: pick standalone answerable cases only")
    facts = tuple(tuple(str(alt) for alt in fact) for fact in case.get("must_include") or ())
    source = f"{qa.relative_to(ROOT)}#{case['id']}" if qa.is_relative_to(ROOT) else str(qa)
    return Question(
        case["id"], case["question"], True, ",".join(case.get("tags", [])), facts, source
    )
