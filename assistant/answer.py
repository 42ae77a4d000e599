"""The engine's contract: what a question returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Turn:
    role: Role
    content: str


def as_turns(history: str | Sequence[str | Turn | dict[str, Any]] | None) -> list[Turn]:
    """Earlier conversation: plain strings are earlier user questions; one string is one turn."""
    turns: list[Turn] = []
    if isinstance(history, str):
        history = [history] if history.strip() else []
    for item in history or ():
        if isinstance(item, Turn):
            turns.append(item)
        elif isinstance(item, str):
            turns.append(Turn("user", item))
        elif isinstance(item, dict) and item.get("role") in ("user", "assistant"):
            content = item.get("content")
            if isinstance(content, str):
                turns.append(Turn(item["role"], content))
    return turns


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: a span of one article."""

    id: str
    source: str
    title: str
    date: str
    text: str
    start: int
    end: int
    score: float
    sentences: tuple[tuple[int, int], ...] = ()
    # The article's publication day, ISO "YYYY-MM-DD", and where it was found: front_matter,
    # file_name, dateline or mtime (the file's time, not a date the article gives); "" when
    # none (assistant.dates). `date` is the date as the article writes it, for display.
    published: str = ""
    date_source: str = ""
    # The article's front matter and where it lies, for readers ("" when unknown).
    url: str = ""
    author: str = ""
    corpus_path: str = ""  # the file's path inside the folder it was ingested from


@dataclass(frozen=True)
class Citation:
    id: int
    source: str
    title: str
    date: str
    text: str
    quote: str
    start: int
    end: int
    url: str = ""  # the article's own address (front matter), when it has one
    author: str = ""
    corpus_path: str = ""  # the path inside its corpus folder, shown when there is no url

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation]
    refused: bool
    backend: str
    history: list[str] = field(default_factory=list)
    retrieved: list[Passage] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    dropped_markers: int = 0
    # With a decline: the passages closest to the question, offered as reading, not as an answer.
    related: list[Citation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "history": list(self.history),
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "retrieved": [
                {
                    "rank": rank,
                    "source": p.source,
                    "title": p.title,
                    "text": p.text,
                    "score": round(p.score, 6),
                }
                for rank, p in enumerate(self.retrieved, start=1)
            ],
            "backend": self.backend,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "notices": list(self.notices),
            "related": [c.to_dict() for c in self.related],
        }


@dataclass(frozen=True)
class StreamEvent:
    """One piece of a streamed answer: text to append, or the final Answer."""

    delta: str = ""
    answer: Answer | None = None
