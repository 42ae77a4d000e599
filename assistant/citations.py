"""Citation markers: numbering, checking and renumbering, also while streaming."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.answer import Citation, Passage
from assistant.extractive import Sentence
from assistant.support import MARKER, strip_markers, support
from assistant.text import sentence_spans, terms

_PARTIAL_MARKER = re.compile(r"\[[\d,\s]*$")
MIN_MARKER_SUPPORT = 0.25


def citation_for(number: int, passage: Passage, start: int, end: int) -> Citation:
    offset = start - passage.start
    return Citation(
        id=number,
        source=passage.source,
        title=passage.title,
        date=passage.date,
        text=passage.text,
        quote=passage.text[offset : offset + end - start],
        start=start,
        end=end,
    )


def compose_extractive(quotes: Sequence[Sequence[Sentence]]) -> tuple[str, list[Citation]]:
    """Each sentence, verbatim, followed by the citation of exactly that sentence."""
    parts: list[str] = []
    citations: list[Citation] = []
    for sentence in (s for group in quotes for s in group):
        citation = citation_for(len(citations) + 1, sentence.passage, sentence.start, sentence.end)
        citations.append(citation)
        parts.append(f"{citation.quote} [{citation.id}]")
    return " ".join(parts), citations


@dataclass
class MarkerRenumberer:
    """Maps the model's passage numbers to citation numbers in order of first use.

    Feed it text as it streams; a marker cut across pieces is held back until complete,
    and a marker naming no passage is dropped and counted.
    """

    passage_count: int
    order: list[int] = field(default_factory=list)
    dropped: int = 0
    _pending: str = ""

    def feed(self, piece: str) -> str:
        text = self._pending + piece
        partial = _PARTIAL_MARKER.search(text)
        if partial and len(text) - partial.start() <= 24:
            self._pending = text[partial.start() :]
            text = text[: partial.start()]
        else:
            self._pending = ""
        return MARKER.sub(self._replace, text)

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return MARKER.sub(self._replace, text)

    def _replace(self, match: re.Match[str]) -> str:
        kept: list[str] = []
        for raw in match.group(1).split(","):
            number = int(raw)
            if not 1 <= number <= self.passage_count:
                self.dropped += 1
                continue
            if number not in self.order:
                self.order.append(number)
            kept.append(f"[{self.order.index(number) + 1}]")
        if not kept:
            return ""
        lead = match.group(0)[: len(match.group(0)) - len(match.group(0).lstrip())]
        return lead + "".join(dict.fromkeys(kept))


@dataclass
class CheckedAnswer:
    text: str
    citations: list[Citation]
    dropped_markers: int
    unsupported_markers: int
    dropped_sentences: int


def check_cited_text(text: str, passages: Sequence[Passage]) -> CheckedAnswer:
    """Keep only sentences with a marker whose passage supports them; renumber the rest.

    ``text`` carries citation numbers that index ``passages`` (1-based).
    """
    kept_sentences: list[str] = []
    dropped = 0
    unsupported = 0
    dropped_sentences = 0
    for sentence in _answer_sentences(text):
        numbers = [int(n) for m in MARKER.finditer(sentence) for n in m.group(1).split(",")]
        claim = strip_markers(sentence)
        in_range = [n for n in numbers if 1 <= n <= len(passages)]
        dropped += len(numbers) - len(in_range)
        valid = list(dict.fromkeys(in_range))
        backed = [n for n in valid if _backs(claim, passages[n - 1])]
        unsupported += len(valid) - len(backed)
        if not claim:
            continue
        if not backed:
            dropped_sentences += 1
            continue
        kept_sentences.append(_with_markers(claim, backed))
    renumber = MarkerRenumberer(len(passages))
    body = renumber.feed(" ".join(kept_sentences)) + renumber.flush()
    citations = [
        _best_quote(new, passages[old - 1], body) for new, old in enumerate(renumber.order, start=1)
    ]
    return CheckedAnswer(body.strip(), citations, dropped, unsupported, dropped_sentences)


def _with_markers(claim: str, numbers: list[int]) -> str:
    """Markers go before the closing full stop, as the model is asked to write them."""
    markers = "".join(f"[{n}]" for n in numbers)
    stripped = claim.rstrip()
    if stripped and stripped[-1] in ".!?":
        return f"{stripped[:-1]} {markers}{stripped[-1]}"
    return f"{stripped} {markers}"


def _backs(claim: str, passage: Passage) -> bool:
    result = support(claim, passage.text)
    return result.coverage >= MIN_MARKER_SUPPORT and not _missing_numbers(result.missing)


def _missing_numbers(missing: Sequence[str]) -> bool:
    return any(item[:1].isdigit() for item in missing)


def _answer_sentences(text: str) -> list[str]:
    """Split on sentence ends, keeping a marker that follows the full stop with its sentence."""
    moved = re.sub(r"([.!?][\"'”’)]*)((?:\s*\[\d+(?:\s*,\s*\d+)*\])+)[.!?]?", r"\2\1", text)
    return [moved[s:e] for s, e in sentence_spans(moved)]


def _best_quote(number: int, passage: Passage, answer: str) -> Citation:
    """The sentence of the passage that shares most terms with what cites it."""
    citing = set()
    for sentence in _answer_sentences(answer):
        if f"[{number}]" in sentence:
            citing |= set(terms(strip_markers(sentence)))
    spans = passage.sentences or ((0, len(passage.text)),)
    best = max(spans, key=lambda span: len(citing & set(terms(passage.text[span[0] : span[1]]))))
    return citation_for(number, passage, passage.start + best[0], passage.start + best[1])
