"""Model verification of citations: one batched call labels every (sentence, passage) pair.

It runs after the deterministic check, on the sentences that passed it. A pair the model
does not label SUPPORTED loses its citation. A reply that does not label every pair is
ignored as a whole, and the deterministic check decides alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from assistant.prompts import load_prompt

Label = Literal["SUPPORTED", "CONTRADICTED", "NOT IN PASSAGE"]
_LINE = re.compile(
    r"^\W*(?:item\s*)?(\d+)\W+(SUPPORTED|CONTRADICTED|NOT[\s_-]*IN[\s_-]*(?:THE[\s_-]*)?PASSAGE)\b",
    re.IGNORECASE | re.MULTILINE,
)


class _Model(Protocol):
    def complete(self, messages: list) -> str: ...  # type: ignore[type-arg]


@dataclass(frozen=True)
class Pair:
    sentence: str
    passage: str


class UnreadableVerdicts(Exception):
    """The model's reply does not give one label for every pair."""


def verification_prompt(pairs: Sequence[Pair]) -> str:
    items = "\n\n".join(
        f"Item {i}\nSentence: {pair.sentence}\nPassage: {pair.passage}"
        for i, pair in enumerate(pairs, start=1)
    )
    return load_prompt("verify").render(items=items)


def parse_verdicts(reply: str, count: int) -> list[Label]:
    found: dict[int, Label] = {}
    for match in _LINE.finditer(reply):
        number = int(match.group(1))
        word = match.group(2).upper()
        label: Label = (
            "SUPPORTED"
            if word == "SUPPORTED"
            else ("CONTRADICTED" if word == "CONTRADICTED" else "NOT IN PASSAGE")
        )
        if not 1 <= number <= count or found.get(number, label) != label:
            # Labels for items never asked about, or two labels for one item: the model did
            # not follow the list, so none of its labels can be trusted.
            raise UnreadableVerdicts(f"the reply does not follow the {count} items asked about")
        found[number] = label
    if len(found) != count:
        raise UnreadableVerdicts(f"the reply labelled {len(found)} of {count} citations")
    return [found[i] for i in range(1, count + 1)]


def verify(model: _Model, pairs: Sequence[Pair]) -> list[Label]:
    """Ask the model once for every pair; raises the model's errors or UnreadableVerdicts."""
    from assistant.llm import Message

    if not pairs:
        return []
    reply = model.complete([Message("user", verification_prompt(pairs))])
    return parse_verdicts(reply, len(pairs))
