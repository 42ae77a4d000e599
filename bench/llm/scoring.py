"""What one question produced, and how it is judged. Independent of the engine's own code, so
the same yardstick measures any checkout."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bench.llm.proxy import Exchange
from bench.llm.questions import Question

# A citation marker: [2], [2, 3], or quote-anchored, [2: "verbatim words"].
MARKER = re.compile(r"\[\s*\d+(?:\s*[,:;][^\[\]]*)?\]")
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”")
_MARKER_AFTER_STOP = re.compile(r"([.!?][\"'”’)]*)((?:\s*\[\d+(?:\s*,\s*\d+)*\])+)")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=\S)")
_DECLINE = re.compile(r"don['’]t cover", re.IGNORECASE)
_PROMPT_ECHO = ("source passages:", "answer using only the passages", "you are a news assistant")


@dataclass
class Result:
    question: Question
    answer: dict[str, Any] | None
    error: str | None
    wall_s: float
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def answer_call(self) -> Exchange | None:
        """The call that wrote the answer: the first streamed one, else the first."""
        streamed = [e for e in self.exchanges if e.stream]
        return (streamed or self.exchanges or [None])[0]

    @property
    def raw(self) -> str:
        call = self.answer_call
        return call.reply if call is not None else ""

    @property
    def text(self) -> str:
        return str((self.answer or {}).get("answer", ""))

    @property
    def refused(self) -> bool:
        return bool((self.answer or {}).get("refused", True))

    @property
    def notices(self) -> list[str]:
        return [str(n) for n in (self.answer or {}).get("notices", [])]

    @property
    def citations(self) -> list[dict[str, Any]]:
        return list((self.answer or {}).get("citations", []))

    @property
    def backend(self) -> str:
        return str((self.answer or {}).get("backend", ""))

    @property
    def facts(self) -> list[bool]:
        return facts_present(self.text, self.question.must_include)

    @property
    def raw_facts(self) -> list[bool]:
        return facts_present(self.raw, self.question.must_include)

    @property
    def prompt(self) -> str:
        """What the answer call sent: every message's text."""
        call = self.answer_call
        return "\n".join(str(m.get("content", "")) for m in call.messages) if call else ""

    @property
    def prompt_facts(self) -> list[bool]:
        return facts_present(self.prompt, self.question.must_include)

    @property
    def correct(self) -> bool:
        if self.answer is None:
            return False
        if not self.question.answerable:
            return self.refused
        return not self.refused and all(self.facts)

    @property
    def raw_declined(self) -> bool:
        return is_decline(self.raw)

    @property
    def raw_sentences(self) -> list[str]:
        return [s for s in sentences(self.raw) if not is_decline(s)]

    @property
    def kept_sentences(self) -> list[str]:
        return [] if self.refused else sentences(self.text)

    @property
    def removed_sentences(self) -> int:
        return max(len(self.raw_sentences) - len(self.kept_sentences), 0)


def facts_present(text: str, facts: tuple[tuple[str, ...], ...]) -> list[bool]:
    """Each fact: does any of its alternatives appear in text (case-insensitively)?"""
    folded = text.casefold()
    return [any(alt.casefold() in folded for alt in fact) for fact in facts]


def sentences(text: str) -> list[str]:
    """Split after . ! ? followed by space, keeping a marker written after the stop in its
    sentence (`... troops. [1]` counts as one sentence); a marker's quote is not split."""
    moved = _MARKER_AFTER_STOP.sub(r"\2\1", plain_markers(text).strip())
    parts = (p.strip() for p in _SENTENCE_END.split(moved))
    return [p for p in parts if p and re.search(r"\w", MARKER.sub("", p))]


def is_decline(text: str) -> bool:
    return bool(_DECLINE.search(text)) and len(sentences(text)) <= 1


def markers(text: str) -> list[int]:
    """The passage numbers of every marker, in order."""
    return [n for m in MARKER.finditer(text) for n in _numbers(m.group(0))]


def plain_markers(text: str) -> str:
    """Every marker as [n] or [n,m]: quotes dropped."""
    return MARKER.sub(lambda m: "[" + ",".join(str(n) for n in _numbers(m.group(0))) + "]", text)


def _numbers(marker: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", _QUOTED.sub("", marker[1:-1]))]


def marker_only(text: str) -> bool:
    """Markers and punctuation, no words."""
    return bool(MARKER.search(text)) and not re.search(r"\w", MARKER.sub("", text))


def echoes_prompt(text: str) -> bool:
    folded = text.casefold()
    return any(phrase in folded for phrase in _PROMPT_ECHO)
