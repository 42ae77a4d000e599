"""Dates in the engine: questions about time, and time in answers.

- **Questions.** A question is read for time (assistant.when) against the corpus's own dates:
  relative expressions resolve against today, or against the newest article when the
  corpus is older. A range that holds articles filters both retrievers (`Query.dates`); a
  range that holds none is taken for a time in the story ("how big was the army last
  January?") and the question is asked as written. "Latest" asks retrieval to rank newer
  articles higher (`Query.newest_first`).
- **Questions about the articles as a whole** ("What happened on 2 December 2025?", "What
  is the latest news?", "Which story is newest?"): nothing is left once the time words
  and generic words ("happened", "news", "story") are removed, so the answer is the lead
  sentence of each article in the range, newest first; for "latest", of the newest article.
- **Answers.** When an answer's sources differ in date, the newest comes first and a notice
  says "As of <date> ...". For a "when" question, a quoted sentence that says only "on
  Sunday" gets a notice with the date that weekday resolves to, derived from the article's
  date. Notices, never words inside a quote: quotes stay verbatim and their citations exact.

A file's modification time (date_source `mtime`) filters like any date but never makes one
source newer than another while other articles give a date of their own (CorpusDates).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from assistant.answer import Citation, Passage
from assistant.chunking import chunk_id
from assistant.dates import (
    CorpusDates,
    format_day,
    parse_day,
    passage_day,
    weak_source,
    weekday_dates,
)
from assistant.extractive import Sentence
from assistant.retrieval import Query, passage_from
from assistant.store import ChunkStore
from assistant.text import terms
from assistant.when import DateRange, anchor_day, generic_terms, mentions_time, parse_time

# The present as a time of a topic, not of publication ("the army today", "Kyiv now")
_PRESENT = re.compile(r"(?:today|nowadays|these days|right now|at the moment|at present)", re.I)
LEADS = 3  # articles whose lead answers a question about a range as a whole
LEAD_MIN_WORDS = 4  # a lead sentence has this many words ("Published 2 December 2025" has 2)
_AS_OF = re.compile(r"\(?\bas (?:of|at)\s+([^,;()\[\]]{4,40}?)\)?(?=[,;.\[]|\s*$)", re.IGNORECASE)


@dataclass(frozen=True)
class TimePlan:
    """How a question is asked once its time is read.

    `query` is what retrieval searches (the question without its time words, with
    `dates`/`newest_first` set) or the query as it came; `leads`: the question is about the
    articles in the range as a whole (answer with their leads); `empty`: such a question
    whose range holds no article (decline with `notice`).
    """

    query: Query
    asks_time: bool = False
    leads: bool = False
    empty: bool = False
    notice: str = ""


class Timeline:
    """The corpus's dates, read on first need (from `heads`, by default every article's
    head chunk in the store) and kept: the engine builds one per state of the index."""

    def __init__(
        self,
        store: ChunkStore,
        *,
        today: Callable[[], dt.date] | None = None,
        heads: Callable[[], Mapping[str, Mapping[str, Any]]] | None = None,
    ) -> None:
        self._store = store
        self._today = today or (lambda: dt.datetime.now(dt.UTC).date())
        self._heads = heads or store.article_heads
        self._corpus: CorpusDates | None = None
        self._reading = threading.Lock()  # one thread reads them; others wait for it

    def corpus(self) -> CorpusDates:
        if self._corpus is None:
            with self._reading:
                if self._corpus is None:
                    self._corpus = CorpusDates.from_heads(self._heads())
        return self._corpus

    def anchor(self) -> dt.date:
        return anchor_day(self._today(), self.corpus().newest_day())

    # -- questions ------------------------------------------------------------------------

    def plan(self, query: Query) -> TimePlan:
        """Read the question for time; without a time expression the query is untouched."""
        if not mentions_time(query.text):
            return TimePlan(query)
        asked = parse_time(query.text, anchor=self.anchor)
        if not asked.asks_time:
            return TimePlan(query)
        corpus = self.corpus()
        about_all = not _topic(asked.text)
        if not about_all and _PRESENT.fullmatch(asked.expression.strip()):
            # "What's the size of Ukraine's army today?" asks how things stand, not for
            # articles published today (the answer ranks how things stand first).
            return TimePlan(query)
        date_range = asked.range
        future = date_range is not None and date_range.start is not None
        future = future and date_range.start > self.anchor()  # "next year": not a dateline
        if date_range is not None and (
            future or not corpus.in_range(date_range.start, date_range.end)
        ):
            if not about_all:
                return TimePlan(query)  # a time in the story, not a publication date
            newest = corpus.newest()
            latest = f"; the newest is from {format_day(newest.published.day)}" if newest else ""
            notice = f"No article is dated {_dated(date_range)}{latest}."
            return TimePlan(query, asks_time=True, leads=True, empty=True, notice=notice)
        if about_all and date_range is None:  # "What is the latest news?": the newest article
            newest = corpus.newest()
            if newest is None:
                return TimePlan(query)
            date_range = DateRange(newest.published.day, newest.published.day)
        timed = replace(
            query,
            text=asked.text if not about_all else query.text,
            dates=date_range,
            newest_first=asked.wants_latest,
        )
        return TimePlan(timed, asks_time=True, leads=about_all)

    def lead_passages(self, plan: TimePlan, k: int) -> list[Passage]:
        """The first chunk of each article in the plan's range, newest first."""
        if plan.empty or plan.query.dates is None:
            return []
        dates = plan.query.dates
        articles = self.corpus().in_range(dates.start, dates.end)
        if plan.query.newest_first:
            articles = [a for a in articles if self.corpus().counts(a)] or articles
        ids = [chunk_id(a.key, 0) for a in articles[:k]]
        chunks = self._store.get(ids)
        return [passage_from(chunk, 1.0 / (rank + 1)) for rank, chunk in enumerate(chunks)]

    def lead_quotes(
        self, passages: Sequence[Passage], limit: int = LEADS, sentences: int = 1
    ) -> list[list[Sentence]]:
        """The first sentence (or first few) of each lead passage, one group per article."""
        groups = []
        for rank, passage in enumerate(passages[:limit]):
            # Sentences that say something: not a dateline or byline on its own.
            spans = [
                (s, e)
                for s, e in passage.sentences
                if len(re.findall(r"[^\W\d_]+", passage.text[s:e])) >= LEAD_MIN_WORDS
            ]
            group = [
                Sentence(
                    passage,
                    rank,
                    passage.start + start,
                    passage.start + end,
                    frozenset(terms(passage.text[start:end])),
                )
                for start, end in spans[:sentences]
            ]
            if group:
                groups.append(group)
        return groups

    # -- answers --------------------------------------------------------------------------

    def newest_first(self, groups: Sequence[Sequence[Sentence]]) -> list[list[Sentence]]:
        """Quote groups with the newest article's first, when their articles differ in date
        (dates the articles give; otherwise the order is kept)."""
        days = [self._strong_day(g[0].passage) for g in groups]
        if len({d for d in days if d is not None}) < 2:
            return [list(g) for g in groups]
        order = sorted(range(len(groups)), key=lambda i: (-_ordinal(days[i]), i))
        return [list(groups[i]) for i in order]

    def as_of(self, citations: Sequence[Citation], passages: Sequence[Passage]) -> list[str]:
        """'As of <newest date> ...' when the cited articles differ in date."""
        by_source = {p.source: p for p in passages}
        dated: list[tuple[dt.date, int]] = []
        for citation in citations:
            passage = by_source.get(citation.source)
            day = self._strong_day(passage) if passage is not None else None
            if day is not None:
                dated.append((day, citation.id))
        if len({d for d, _ in dated}) < 2:
            return []
        newest = max(d for d, _ in dated)
        latest = [f"[{n}]" for d, n in dated if d == newest]
        older = sorted(
            {(d, n) for d, n in dated if d != newest}, key=lambda x: (-_ordinal(x[0]), x[1])
        )
        earlier = "; ".join(f"[{n}] is from {format_day(d)}" for d, n in older)
        return [
            f"As of {format_day(newest)}, the date of the newest source "
            f"({', '.join(latest)}); {earlier}."
        ]

    def derived_days(self, citations: Sequence[Citation], passages: Sequence[Passage]) -> list[str]:
        """For a quote that says only "on Sunday": the day it was, from the article's date."""
        by_source = {p.source: p for p in passages}
        notes = []
        for citation in citations:
            passage = by_source.get(citation.source)
            day = self._strong_day(passage) if passage is not None else None
            if day is None:
                continue
            for derived in weekday_dates(citation.quote, day):
                notes.append(f'"{derived.weekday}" in [{citation.id}]: {derived.note()}.')
        return notes

    def _strong_day(self, passage: Passage) -> dt.date | None:
        """The passage's publication day, unless it is a file date beside better ones."""
        day = passage_day(passage.published)
        if day is None or not weak_source(passage.date_source):
            return day  # a date the article gives always counts: no need for the corpus's
        article = self.corpus().of_chunk(passage.id)
        if article is not None and not self.corpus().counts(article):
            return None
        return day


def strip_as_of(claim: str, passages: Sequence[Passage]) -> str:
    """A model's sentence without "as of <date>" when the date is a passage's publication
    date (the prompt gave it): the check then reads only what the passage must support."""
    if "as " not in claim.lower():
        return claim
    days = {passage_day(p.published) for p in passages} - {None}
    if not days:
        return claim

    def drop(match: re.Match[str]) -> str:
        when = parse_day(match.group(1))
        return "" if when is not None and when.date() in days else match.group(0)

    stripped = _AS_OF.sub(drop, claim)
    stripped = re.sub(r"^\s*[,;]\s*", "", stripped)
    stripped = re.sub(r"\s+([,.;])", r"\1", stripped).strip()
    return stripped[:1].upper() + stripped[1:] if stripped else claim


def numbered_header(passage: Passage) -> str:
    """How a passage's date reads in the model's prompt."""
    day = passage_day(passage.published)
    if day is None:
        return f" ({passage.date})" if passage.date else ""
    if passage.date_source == "mtime":
        return f" (no publication date; file dated {format_day(day)})"
    return f" (published {format_day(day)})"


def _topic(text: str) -> list[str]:
    """The question's terms that name a topic (not "happened", "news", "story")."""
    generic = generic_terms()
    return [t for t in terms(text) if t not in generic]


def _dated(days: DateRange) -> str:
    if days.start is not None and days.start == days.end:
        return format_day(days.start)
    if days.start is not None and days.end is not None:
        return f"between {format_day(days.start)} and {format_day(days.end)}"
    return days.describe()


def _ordinal(day: dt.date | None) -> int:
    return day.toordinal() if day is not None else 0
