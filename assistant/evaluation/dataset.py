"""The eval dataset: load a YAML file of cases and refuse it when any case is broken.

Every problem names its case. Evidence quotes must be verbatim from the corpus,
compared after folding typography and collapsing whitespace (``assistant.text.squash``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError
from assistant.text import squash

Fact = tuple[str, ...]
REQUIRED_FIELDS = ("id", "question", "answerable")
ANSWERABLE_FIELDS = ("must_include", "evidence")
OPTIONAL_FIELDS = ("history", "reference_answer", "tags", "corpus")
KNOWN_FIELDS = frozenset(REQUIRED_FIELDS + ANSWERABLE_FIELDS + OPTIONAL_FIELDS)


class DatasetError(AssistantError):
    """The dataset cannot be used as it is; the message lists every broken case."""

    exit_code = 2


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    answerable: bool
    must_include: tuple[Fact, ...] = ()
    evidence: tuple[str, ...] = ()
    history: tuple[str, ...] = ()
    reference_answer: str = ""
    tags: tuple[str, ...] = ()
    # A folder of articles of its own (relative to the dataset file), asked against an index
    # built from it alone; "" for the engine's configured sources.
    corpus: str = ""

    @property
    def is_follow_up(self) -> bool:
        return bool(self.history)

    def to_dict(self) -> dict[str, Any]:
        found = asdict(self)
        if not self.corpus:
            del found["corpus"]  # cases without one hash as they always did
        return found


@dataclass(frozen=True)
class Dataset:
    path: Path
    cases: tuple[Case, ...]

    def corpus_path(self, case: Case) -> Path | None:
        """The folder of a case's own corpus, or None for the configured sources."""
        return (self.path.parent / case.corpus).resolve() if case.corpus else None

    @property
    def corpora(self) -> list[Path]:
        """The cases' own corpus folders, each once, in order of first use."""
        found = (self.corpus_path(c) for c in self.cases)
        return list(dict.fromkeys(p for p in found if p is not None))

    @property
    def sha256(self) -> str:
        """A hash of the cases' content: comments and formatting do not change it."""
        canonical = json.dumps([c.to_dict() for c in self.cases], sort_keys=True)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_dataset(path: Path, corpus_texts: Iterable[str]) -> Dataset:
    """Parse and validate the dataset; any problem raises DatasetError naming the case."""
    raw = _read_yaml(path)
    cases, problems = parse_cases(raw)
    default = [c for c in cases if not c.corpus]
    problems += missing_evidence(default, corpus_texts)
    for folder in dict.fromkeys(c.corpus for c in cases if c.corpus):
        own = [c for c in cases if c.corpus == folder]
        where = path.parent / folder
        if not where.is_dir():
            problems += [f"case {c.id!r}: corpus folder not found: {where}" for c in own]
            continue
        problems += missing_evidence(own, _folder_texts(where))
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise DatasetError(
            f"the dataset {path} is not valid ({len(problems)} problem(s)):\n{listed}"
        )
    return Dataset(path, tuple(cases))


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"dataset not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read the dataset {path}: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise DatasetError(f"the dataset {path} is not valid YAML{where}") from None


def parse_cases(raw: Any) -> tuple[list[Case], list[str]]:
    """Typed cases and the list of problems found (each naming its case)."""
    if not isinstance(raw, list) or not raw:
        return [], ["the dataset must be a non-empty YAML list of cases"]
    cases: list[Case] = []
    problems: list[str] = []
    first_seen: dict[str, int] = {}
    for number, item in enumerate(raw, start=1):
        label = _label(item, number)
        shape_problems = _check_case(item, label)
        problems += shape_problems
        case_id = item.get("id") if isinstance(item, dict) else None
        if isinstance(case_id, str) and case_id.strip():
            if case_id in first_seen:
                problems.append(
                    f"{label}: duplicate id (case #{first_seen[case_id]} has the same id)"
                )
            else:
                first_seen[case_id] = number
        if not shape_problems:
            cases.append(_as_case(item))
    return cases, problems


def _label(item: Any, number: int) -> str:
    if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"].strip():
        return f"case {item['id']!r} (#{number})"
    return f"case #{number} (no id)"


def _check_case(item: Any, label: str) -> list[str]:
    if not isinstance(item, dict):
        return [f"{label}: a case must be a mapping of fields"]
    problems = [f"{label}: missing field {name!r}" for name in REQUIRED_FIELDS if name not in item]
    problems += [f"{label}: unknown field {name!r}" for name in item if name not in KNOWN_FIELDS]
    if "id" in item and not _is_text(item["id"]):
        problems.append(f"{label}: 'id' must be a non-empty string")
    if "question" in item and not _is_text(item["question"]):
        problems.append(f"{label}: 'question' must be a non-empty string")
    if "answerable" in item and not isinstance(item["answerable"], bool):
        problems.append(f"{label}: 'answerable' must be true or false")
    problems += _check_lists(item, label)
    if item.get("answerable") is True:
        problems += [
            f"{label}: missing field {name!r} (an answerable case needs at least one)"
            for name in ANSWERABLE_FIELDS
            if not item.get(name)
        ]
    elif item.get("answerable") is False:
        problems += [
            f"{label}: an unanswerable case cannot have {name!r}"
            for name in ANSWERABLE_FIELDS
            if item.get(name)
        ]
    return problems


def _check_lists(item: dict[str, Any], label: str) -> list[str]:
    problems = []
    for name in ("evidence", "history", "tags"):
        if name in item and not _is_text_list(item[name]):
            problems.append(f"{label}: {name!r} must be a list of non-empty strings")
    facts = item.get("must_include")
    if "must_include" in item and not (
        isinstance(facts, list) and all(_is_text_list(f) and f for f in facts)
    ):
        problems.append(
            f"{label}: 'must_include' must be a list of facts, each a non-empty list of "
            'acceptable alternatives, like [["600,000", "600000"]]'
        )
    if "reference_answer" in item and not isinstance(item["reference_answer"], str):
        problems.append(f"{label}: 'reference_answer' must be a string")
    if "corpus" in item and not _is_text(item["corpus"]):
        problems.append(f"{label}: 'corpus' must be a folder path (relative to the dataset)")
    return problems


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_text_list(value: Any) -> bool:
    return isinstance(value, list) and all(_is_text(v) for v in value)


def _as_case(item: dict[str, Any]) -> Case:
    return Case(
        id=item["id"],
        question=item["question"].strip(),
        answerable=item["answerable"],
        must_include=tuple(tuple(fact) for fact in item.get("must_include") or ()),
        evidence=tuple(item.get("evidence") or ()),
        history=tuple(item.get("history") or ()),
        reference_answer=item.get("reference_answer") or "",
        tags=tuple(item.get("tags") or ()),
        corpus=(item.get("corpus") or "").strip(),
    )


def missing_evidence(cases: Sequence[Case], corpus_texts: Iterable[str]) -> list[str]:
    """One problem per evidence quote that is not verbatim in any article."""
    flat_articles = [squash(text) for text in corpus_texts]
    problems = []
    for case in cases:
        for quote in case.evidence:
            if not any(squash(quote) in article for article in flat_articles):
                problems.append(
                    f"case {case.id!r}: evidence quote not found in the articles: {_short(quote)}"
                )
    return problems


def corpus_texts(sources: Sequence[Path]) -> list[str]:
    """The article bodies, read the way the engine reads them."""
    from assistant.corpus import load_corpus
    from assistant.errors import CorpusError

    loaded = load_corpus(sources)
    if not loaded.articles:
        raise CorpusError("no readable articles to check the evidence quotes against")
    return [article.body for article in loaded.articles]


def _folder_texts(folder: Path) -> list[str]:
    return corpus_texts([folder])


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
