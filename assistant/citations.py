"""Citation markers: numbering, checking and renumbering, one sentence at a time.

A model answer is read sentence by sentence. Each sentence's markers, `[n]` or the
quote-anchored `[n: "verbatim quote"]`, name passages of the prompt; the claim is checked
against them (assistant.grounding). A citation that does not back its claim is removed, a
sentence left with none is removed, and a sentence the model left unmarked is cited to the
retrieved passage that backs it, if one does. Kept sentences are renumbered in order of
first use, and each citation quotes the exact span of its passage the claim rests on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from assistant.answer import Citation, Passage
from assistant.extractive import Sentence
from assistant.grounding import ClaimChecker
from assistant.support import MARKER, QUOTED_MARKER, strip_markers
from assistant.text import sentence_spans


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
        url=passage.url,
        author=passage.author,
        corpus_path=passage.corpus_path,
    )


_MARKER_RUN = re.compile(r"(?:[ \t]*\[\d+(?:\s*,\s*\d+)*\])+")


def merge_same_sentences(text: str, citations: Sequence[Citation]) -> tuple[str, list[Citation]]:
    """One number per cited sentence: citations of the same source and span become one.

    The survivors are numbered 1, 2, ... in order, and every marker of the text follows
    (`[1][3]` with 3 a repeat of 1 reads `[1]`). Without repeats nothing changes.
    """
    number: dict[int, int] = {}
    first: dict[tuple[str, int, int], int] = {}
    kept: list[Citation] = []
    for citation in citations:
        key = (citation.source, citation.start, citation.end)
        if key not in first:
            first[key] = len(kept) + 1
            kept.append(replace(citation, id=len(kept) + 1))
        number[citation.id] = first[key]
    if len(kept) == len(citations) and all(old == new for old, new in number.items()):
        return text, list(citations)

    def renumbered(run: re.Match[str]) -> str:
        found = [int(n) for n in re.findall(r"\d+", run.group(0))]
        new = list(dict.fromkeys(number.get(n, n) for n in found))
        lead = run.group(0)[: len(run.group(0)) - len(run.group(0).lstrip())]
        return lead + "".join(f"[{n}]" for n in new)

    return _MARKER_RUN.sub(renumbered, text), kept


def compose_extractive(quotes: Sequence[Sequence[Sentence]]) -> tuple[str, list[Citation]]:
    """Each sentence, verbatim, followed by the citation of exactly that sentence."""
    parts: list[str] = []
    citations: list[Citation] = []
    for sentence in (s for group in quotes for s in group):
        citation = citation_for(len(citations) + 1, sentence.passage, sentence.start, sentence.end)
        citations.append(citation)
        parts.append(f"{shown_quote(citation.quote)} [{citation.id}]")
    return merge_same_sentences(" ".join(parts), citations)


def in_quotation_marks(quote: str) -> str:
    """A quote between quotation marks, once: a sentence that is itself a quotation
    ("The size ... 600,000 personnel.") keeps its own marks rather than gaining a pair."""
    text = quote.strip()
    if len(text) > 1 and text[0] in '"“' and text[-1] in '"”' and balanced_quotes(text) == text:
        return text
    return f'"{text}"'


def shown_quote(quote: str) -> str:
    """A source sentence as a reader sees it in an answer: Markdown emphasis, links and
    hard line wraps read as plain text, and a quotation it cuts shown whole. The
    citation keeps the exact span of the file."""
    return balanced_quotes(plain_markdown(quote))


_MARKDOWN = (
    (re.compile(r"!?\[([^\]\n]+)\]\([^)\s]+(?:\s+\"[^\"]*\")?\)"), r"\1"),  # links, images
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # strong
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"), r"\1"),  # emphasis
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"`([^`\n]+)`"), r"\1"),  # code
    (re.compile(r"\s*\n\s*(?:>\s?)*"), " "),  # hard wraps, quote markers on later lines
)


def plain_markdown(text: str) -> str:
    for pattern, replacement in _MARKDOWN:
        text = pattern.sub(replacement, text)
    return text


_OPENERS = {"\u201c": "\u201d", "\u2018": "\u2019"}


def balanced_quotes(sentence: str) -> str:
    """A lifted sentence with the quotation it opens (or closes) shown whole.

    A quotation may run over several sentences in the article; quoted on its own, its
    first sentence gets the closing mark and its last one the opening mark. The
    citation keeps the exact source span; only the answer's text is completed.
    """
    text = sentence
    for opening, closing in _OPENERS.items():
        opened, closed = text.count(opening), text.count(closing)
        if opening == "\u2018":
            closed = len(re.findall(r"\u2019(?!\w)", text))  # not the apostrophe in "Ukraine’s"
        if opened > closed:
            text = _close(text, closing)
        elif closed > opened and opening != "\u2018":
            text = opening + text
    if text.count('"') % 2:
        text = _close(text, '"') if _opens_straight(text) else '"' + text
    return text


def _close(text: str, mark: str) -> str:
    stripped = text.rstrip()
    return stripped + mark + text[len(stripped) :]


def _opens_straight(text: str) -> bool:
    """Whether the odd straight quote in the text opens a quotation (it follows a space)."""
    last = text.rfind('"')
    return last == 0 or (not text[last - 1].isalnum() and text[last - 1] not in ".,!?;:")


UNMARKED_PAIR_POOL = 4  # an unmarked sentence may join two of its four closest passages


@dataclass
class SentenceCheck:
    """One sentence of a model answer after the check."""

    claim: str  # the sentence without its markers
    cited: list[int]  # passage numbers (1-based, as in the prompt) that back it, kept
    spans: dict[int, tuple[int, int]]  # passage number -> supporting span in the passage
    removed: list[str] = field(default_factory=list)  # why citations were removed
    dropped_markers: int = 0  # markers naming no passage
    empty: bool = False  # no words at all (markers only)

    @property
    def kept(self) -> bool:
        return bool(self.cited)


def check_sentence(
    sentence: str, passages: Sequence[Passage], checker: ClaimChecker
) -> SentenceCheck:
    """Check one sentence of a model answer against the passages its markers name."""
    markers = _markers(sentence)
    claim = strip_markers(sentence)
    in_range = [(n, q) for n, q in markers if 1 <= n <= len(passages)]
    dropped = len(markers) - len(in_range)
    if not any(ch.isalnum() for ch in claim):
        return SentenceCheck(claim, [], {}, dropped_markers=dropped, empty=True)
    numbers = list(dict.fromkeys(n for n, _ in in_range))
    if not numbers:
        return _cite_unmarked(claim, passages, checker, dropped)
    quotes = [next((q for m, q in in_range if m == n and q), None) for n in numbers]
    verdict = checker.check(claim, [passages[n - 1] for n in numbers], quotes)
    if not verdict.supported:
        return SentenceCheck(
            claim, [], {}, removed=[verdict.reason] * len(numbers), dropped_markers=dropped
        )
    spans = {numbers[i]: span for i, span in verdict.spans.items()}
    backing = [n for n in numbers if n in spans]
    unused = ["it does not back the sentence"] * (len(numbers) - len(backing))
    return SentenceCheck(claim, backing, spans, removed=unused, dropped_markers=dropped)


def _cite_unmarked(
    claim: str,
    passages: Sequence[Passage],
    checker: ClaimChecker,
    dropped: int,
) -> SentenceCheck:
    """A sentence without a usable marker: cite the retrieved passage(s) that back it best.

    One passage when one backs it; otherwise two of the closest, as a model would cite a
    sentence that joins facts from two places.
    """
    singles = [(n, checker.check(claim, [p])) for n, p in enumerate(passages, start=1)]
    backing = [(n, v) for n, v in singles if v.supported]
    if backing:
        number, verdict = max(backing, key=lambda item: item[1].coverage)
        spans = {number: verdict.spans[0]}
        return SentenceCheck(claim, [number], spans, dropped_markers=dropped)
    closest = sorted(singles, key=lambda item: -item[1].coverage)[:UNMARKED_PAIR_POOL]
    pairs = []
    for i, (first, _) in enumerate(closest):
        for second, _ in closest[i + 1 :]:
            numbers = sorted((first, second))
            verdict = checker.check(claim, [passages[n - 1] for n in numbers])
            if verdict.supported and len(verdict.spans) == 2:
                pairs.append((numbers, verdict))
    if not pairs:
        reason = "no retrieved passage backs it"
        return SentenceCheck(claim, [], {}, removed=[reason], dropped_markers=dropped)
    numbers, verdict = max(pairs, key=lambda item: item[1].coverage)
    spans = {numbers[i]: span for i, span in verdict.spans.items()}
    return SentenceCheck(claim, numbers, spans, dropped_markers=dropped)


def _markers(sentence: str) -> list[tuple[int, str | None]]:
    found: list[tuple[int, int, str | None]] = []
    for match in QUOTED_MARKER.finditer(sentence):
        found.append((match.start(), int(match.group(1)), match.group(2)))
    plain = QUOTED_MARKER.sub(lambda m: " " * len(m.group(0)), sentence)
    for match in MARKER.finditer(plain):
        found += [(match.start(), int(n), None) for n in match.group(1).split(",")]
    return [(n, q) for _, n, q in sorted(found, key=lambda item: item[0])]


@dataclass
class CheckedAnswer:
    text: str
    citations: list[Citation]
    sentences: list[SentenceCheck]

    @property
    def dropped_markers(self) -> int:
        return sum(s.dropped_markers for s in self.sentences)


class Numbering:
    """Citation numbers in order of first use, as kept sentences arrive."""

    def __init__(self) -> None:
        self.order: list[int] = []

    def render(self, check: SentenceCheck) -> str:
        for number in check.cited:
            if number not in self.order:
                self.order.append(number)
        return _with_markers(check.claim, [self.order.index(n) + 1 for n in check.cited])


def assemble(checks: Sequence[SentenceCheck], passages: Sequence[Passage]) -> CheckedAnswer:
    """The answer from its kept sentences: renumbered markers, one citation per passage."""
    numbering = Numbering()
    body = " ".join(numbering.render(c) for c in checks if c.kept)
    citations = []
    for new, old in enumerate(numbering.order, start=1):
        spans = [c.spans[old] for c in checks if c.kept and old in c.cited and old in c.spans]
        passage = passages[old - 1]
        start, end = (min(s for s, _ in spans), max(e for _, e in spans)) if spans else (0, 0)
        if end <= start:
            start, end = 0, len(passage.text)
        citations.append(citation_for(new, passage, passage.start + start, passage.start + end))
    body, citations = merge_same_sentences(body, citations)
    return CheckedAnswer(body, citations, list(checks))


def _with_markers(claim: str, numbers: list[int]) -> str:
    """Markers go before the closing full stop, as the model is asked to write them."""
    markers = "".join(f"[{n}]" for n in numbers)
    stripped = claim.rstrip()
    if stripped and stripped[-1] in ".!?":
        return f"{stripped[:-1]} {markers}{stripped[-1]}"
    return f"{stripped} {markers}"


_TRAILING_MARKERS = re.compile(
    r"([.!?][\"'”’)]*)((?:\s*\[\d+(?:\s*,\s*\d+)*\]|\s*\[\d+\s*:\s*[\"“”'][^\]]*?[\"“”']\s*\])+)[.!?]?"
)


def answer_sentences(text: str) -> list[str]:
    """Split on sentence ends, keeping a marker that follows the full stop with its sentence."""
    moved = _TRAILING_MARKERS.sub(r"\2\1", text)
    return [moved[s:e] for s, e in sentence_spans(moved)]


def removal_notices(checks: Sequence[SentenceCheck]) -> list[str]:
    """What the check removed and why, in a reader's words."""
    notices = []
    dropped = sum(c.dropped_markers for c in checks)
    if dropped:
        notices.append(f"{_count(dropped, 'citation')} to no passage {_was(dropped)} removed.")
    reasons: dict[str, int] = {}
    partly = 0
    for check in checks:
        if check.empty:
            continue
        if not check.kept:
            reason = check.removed[-1] if check.removed else "no source backs it"
            reasons[reason] = reasons.get(reason, 0) + 1
        elif check.removed:
            partly += len(check.removed)
    for reason, count in reasons.items():
        notices.append(f"{_count(count, 'sentence')} {_was(count)} removed: {reason}.")
    if partly:
        notices.append(
            f"{_count(partly, 'citation')} that did not back {_its(partly)} sentence "
            f"{_was(partly)} removed."
        )
    return notices


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _was(n: int) -> str:
    return "was" if n == 1 else "were"


def _its(n: int) -> str:
    return "its" if n == 1 else "their"
