"""Questions to ask next: follow-ups after an answer, and starters for an empty chat.

Candidates name a topic the reader has not seen answered yet: a name or a short quoted
phrase from the sentences around the cited quotes, from the other retrieved passages
or, for starters, from the articles' opening paragraphs. A candidate is offered only
when the engine answers it (does not decline) with a passage the conversation has not
cited yet, so every suggestion leads somewhere new.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from assistant.answer import Answer, Turn, as_turns
from assistant.errors import AssistantError
from assistant.text import STOPWORDS, split_sentences, squash, terms

FOLLOW_UP_LIMIT = 3
STARTER_LIMIT = 4
MAX_CHECKS = 8
TEMPLATE = "What do the articles say about {topic}?"

NEIGHBOUR_WEIGHT = 3.0  # a sentence next to a cited quote
RETRIEVED_WEIGHT = 2.0  # a sentence of another retrieved passage (minus a little per rank)
LEAD_WEIGHT = 2.0  # one of an article's first sentences
BODY_WEIGHT = 1.0
MULTI_WORD_BONUS = 0.5  # "Marco Rubio" says more than "Rubio"
REPEAT_BONUS = 0.3  # per extra sentence naming the topic, up to three
ATTACHED_PENALTY = 2.0  # "security Council": a capital inside a lower-case phrase
BROAD_SHARE = 0.12  # a topic in more sentences than this is what everything is about

# Capitalised words, joined by "of", "of the", "for" or "de" (Coalition of the Willing).
_NAME_PHRASE = re.compile(
    r"(?<![\w'’‑-])[A-Z][\w'’‑-]*(?:(?:\s+(?:of|of the|for|de))?\s+[A-Z][\w'’‑-]*)*"
)
_QUOTED = re.compile(r"[\"“‘']([^\"“”‘’']{3,60})[\"”’']")
_POSSESSIVE = re.compile(r"['’]s?$")
_POSSESSIVE_JOIN = re.compile(r"['’]s\s+")
_HYPHEN = re.compile(r"[-‑]")
_DEMONYM = re.compile(r"(?:ian|ean|ese|ern)$")
_THE_BEFORE = re.compile(r"\bthe\s+$", re.IGNORECASE)
_NEXT_WORD = re.compile(r"\s+([a-z][\w'’]*)")
_PREVIOUS_WORD = re.compile(r"([a-z][\w'’]*)\s+$")
_TITLE_BREAK = re.compile(r"[:;,|?!]\s+|\s+[-–—]\s+")
_CALENDAR = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday".split()
)
_REPORTING_VERBS = frozenset(
    "said says told tells added warned wants wanted announced insisted argued".split()
)


class AsksQuestions(Protocol):
    def ask(self, question: str, history: Sequence[Any] = ()) -> Answer: ...


@dataclass(frozen=True)
class Topic:
    name: str  # "Marco Rubio", "Kremlin", "fortress belt"
    key: frozenset[str]  # its stemmed terms, to recognise the same topic twice
    article: bool = False  # read as "the Kremlin"
    attached: bool = False  # found inside a lower-case phrase ("security Council")

    @property
    def phrase(self) -> str:
        return f"the {self.name}" if self.article else self.name


def question_about(topic: Topic) -> str:
    return TEMPLATE.format(topic=topic.phrase)


# -- topics of one sentence -----------------------------------------------------------


def topics_in(sentence: str, *, known_names: set[str] | None = None) -> list[Topic]:
    """Names and quoted phrases of one sentence that could be asked about.

    `known_names` are words seen capitalised mid-sentence somewhere: only those count
    as names when they open a sentence.
    """
    found: list[Topic] = []
    for match in _NAME_PHRASE.finditer(sentence):
        found += _name_topics(match, sentence, known_names or set())
    for match in _QUOTED.finditer(sentence):
        topic = _quoted_topic(match.group(1))
        if topic is not None:
            found.append(topic)
    return found


def _name_topics(match: re.Match[str], sentence: str, known: set[str]) -> list[Topic]:
    """ "Vladimir Putin's Russia" names two topics; "Russian-occupied Zaporizhzhia" one."""
    topics: list[Topic] = []
    parts = _POSSESSIVE_JOIN.split(match.group(0))
    for i, part in enumerate(parts):
        words = _POSSESSIVE.sub("", part.strip()).split()
        at_start = i == 0 and not _mid_sentence(match.start(), sentence)
        if at_start and words and words[0] not in known:
            words = words[1:]  # the first word of a sentence is capitalised anyway
        leading = len(words)
        while words and _not_a_name(words[0]):
            words.pop(0)
        trimmed = len(words) < leading
        while words and _not_a_name(words[-1]):
            words.pop()
        if not words or (len(words) == 1 and _not_a_single_name(words[0])):
            continue
        before = sentence[: match.start()] if i == 0 and not trimmed else ""
        after = sentence[match.end() :] if i == len(parts) - 1 else " of"
        topic = _name_topic(words, before, after)
        if topic is not None:
            topics.append(topic)
    return topics


def _name_topic(words: list[str], before: str, after: str) -> Topic | None:
    name = " ".join(words)
    key = frozenset(terms(name))
    if not key:
        return None
    article = bool(_THE_BEFORE.search(before)) and _ends_noun_phrase(after)
    if name.isupper() and len(name) <= 3 and not article:
        return None  # "US" on its own is an adjective more often than not
    if len(name) < 3 and not name.isupper():
        return None  # "St"
    previous = _PREVIOUS_WORD.search(before)
    attached = (
        len(words) == 1
        and previous is not None
        and previous.group(1) not in STOPWORDS
        and previous.group(1) not in _REPORTING_VERBS
    )
    return Topic(name, key, article=article, attached=attached)


def _ends_noun_phrase(after: str) -> bool:
    """ "the Kremlin said" ends at Kremlin; "the Donetsk fortress belt" does not."""
    following = _NEXT_WORD.match(after)
    if following is None:
        return True
    word = following.group(1)
    return word in STOPWORDS or word in _REPORTING_VERBS


def _not_a_name(word: str) -> bool:
    """Edge words to trim: "of", months, and adjectives such as "Russian-occupied"."""
    if word.lower() in STOPWORDS or word.lower() in _CALENDAR:
        return True
    parts = _HYPHEN.split(word)
    return len(parts) > 1 and any(not p[:1].isupper() for p in parts[1:])


def _not_a_single_name(word: str) -> bool:
    """ "Ukrainian" and "US-Russia" describe something else."""
    return bool(_DEMONYM.search(word) or _HYPHEN.search(word))


def _mid_sentence(start: int, sentence: str) -> bool:
    before = sentence[:start].rstrip()
    return bool(before) and before[-1] not in ".!?:\"“‘('"


def _quoted_topic(quoted: str) -> Topic | None:
    """A short quoted noun phrase ("non-nuclear state"), not a quoted clause."""
    text = quoted.strip()
    words = text.split()
    if not 2 <= len(words) <= 4 or text[-1:] in ".,;:!?":
        return None
    first, last = words[0].lower(), words[-1].lower()
    if first in STOPWORDS or last in STOPWORDS or first.endswith("ly"):
        return None
    if not all(_HYPHEN.sub("", w).isalpha() for w in words):
        return None
    key = frozenset(terms(text))
    return Topic(text, key, article=True) if key else None


def known_names(texts: Iterable[str]) -> set[str]:
    """Capitalised words seen in the middle of a sentence somewhere."""
    names: set[str] = set()
    for text in texts:
        for sentence in split_sentences(text):
            for match in _NAME_PHRASE.finditer(sentence):
                if _mid_sentence(match.start(), sentence):
                    names.update(_POSSESSIVE.sub("", w) for w in match.group(0).split())
    return names


# -- ranking --------------------------------------------------------------------------


@dataclass
class _Tally:
    """Topic candidates with their best weight, and how many sentences name each."""

    names: set[str]
    weights: dict[frozenset[str], float] = field(default_factory=dict)
    topics: dict[frozenset[str], Topic] = field(default_factory=dict)
    mentions: Counter[frozenset[str]] = field(default_factory=Counter)
    with_article: set[frozenset[str]] = field(default_factory=set)
    sentences: int = 0

    def add(self, sentence: str, weight: float) -> None:
        self.sentences += 1
        named: set[frozenset[str]] = set()
        for topic in topics_in(sentence, known_names=self.names):
            score = weight + (MULTI_WORD_BONUS if " " in topic.name else 0.0)
            score -= ATTACHED_PENALTY if topic.attached else 0.0
            if score > self.weights.get(topic.key, float("-inf")):
                self.weights[topic.key] = score
                self.topics[topic.key] = topic
            if topic.article:
                self.with_article.add(topic.key)
            named.add(topic.key)
        self.mentions.update(named)

    def ranked(
        self, covered: Iterable[str] = (), *, broad_share: float = BROAD_SHARE
    ) -> list[Topic]:
        """Best first, leaving out broad topics and those the conversation covered."""
        most = max(2, int(broad_share * self.sentences))
        covered = set(covered)
        keep = [
            key
            for key in self.weights
            if self.mentions[key] <= most and len(key & covered) * 2 <= len(key)
        ]
        keep.sort(key=lambda k: (-self._score(k), self.topics[k].name))
        return [self._topic(k) for k in keep]

    def broad(self) -> set[frozenset[str]]:
        most = max(2, int(BROAD_SHARE * self.sentences))
        return {key for key, count in self.mentions.items() if count > most}

    def _score(self, key: frozenset[str]) -> float:
        return self.weights[key] + REPEAT_BONUS * min(self.mentions[key] - 1, 3)

    def _topic(self, key: frozenset[str]) -> Topic:
        topic = self.topics[key]
        if key in self.with_article and not topic.article:
            return Topic(topic.name, key, article=True)
        return topic


def follow_up_candidates(answer: Answer, history: Sequence[Any] = ()) -> list[str]:
    """Questions about topics near the cited quotes and in the other retrieved passages."""
    texts = [c.text for c in answer.citations] + [p.text for p in answer.retrieved]
    tally = _Tally(known_names(texts))
    quotes = [squash(c.quote) for c in answer.citations]
    for citation in answer.citations:
        for sentence in split_sentences(citation.text):
            if not _quoted_already(sentence, quotes):
                tally.add(sentence, NEIGHBOUR_WEIGHT)
    for rank, passage in enumerate(answer.retrieved):
        for sentence in split_sentences(passage.text):
            if not _quoted_already(sentence, quotes):
                tally.add(sentence, RETRIEVED_WEIGHT - 0.1 * rank)
    covered = set(terms(answer.question))
    for turn in as_turns(history):
        if turn.role == "user":
            covered |= set(terms(turn.content))
    return [question_about(topic) for topic in tally.ranked(covered)]


def _quoted_already(sentence: str, quotes: list[str]) -> bool:
    flat = squash(sentence)
    return any(flat in quote or quote in flat for quote in quotes)


def title_topics(title: str, common_words: set[str]) -> list[Topic]:
    """Short noun phrases of a headline: "Donbas handover" in "Leaked plan: Donbas handover"."""
    topics = []
    for fragment in _TITLE_BREAK.split(title):
        words = fragment.strip().split()
        if not 2 <= len(words) <= 4 or words[0].lower() in STOPWORDS:
            continue
        if words[-1].lower() in STOPWORDS or not all(_HYPHEN.sub("", w).isalnum() for w in words):
            continue
        if words[0].lower() in common_words:  # "Leaked plan" reads "the leaked plan"
            words[0] = words[0].lower()
        key = frozenset(terms(fragment))
        if key:
            topics.append(Topic(" ".join(words), key, article=True))
    return topics


def starter_candidates(
    bodies: Sequence[str], titles: Sequence[str] = (), *, lead_sentences: int = 6
) -> list[str]:
    """Questions about the articles' headlines and openings, one article after another."""
    names = known_names(bodies)
    common = {w for body in bodies for w in re.findall(r"\b[a-z][\w'’-]*", body)}
    overall = _Tally(names)
    per_article: list[list[Topic]] = []
    for i, body in enumerate(bodies):
        tally = _Tally(names)
        for n, sentence in enumerate(split_sentences(body)):
            weight = LEAD_WEIGHT if n < lead_sentences else BODY_WEIGHT
            tally.add(sentence, weight)
            overall.add(sentence, weight)
        headline = title_topics(titles[i], common) if i < len(titles) else []
        per_article.append(headline + tally.ranked(broad_share=1.0))
    broad = overall.broad()
    chosen: dict[frozenset[str], str] = {}
    for round_ in range(max((len(topics) for topics in per_article), default=0)):
        for topics in per_article:
            if round_ < len(topics) and topics[round_].key not in broad:
                chosen.setdefault(topics[round_].key, question_about(topics[round_]))
    return list(chosen.values())


# -- checked by the engine --------------------------------------------------------------


def keep_answerable(
    assistant: AsksQuestions,
    candidates: Iterable[str],
    history: Sequence[Any] = (),
    *,
    seen_quotes: Iterable[str] = (),
    limit: int,
    max_checks: int = MAX_CHECKS,
) -> list[str]:
    """The first candidates the engine answers, each with a passage not cited before."""
    seen = {squash(quote) for quote in seen_quotes}
    kept: list[str] = []
    for checked, question in enumerate(candidates):
        if len(kept) >= limit or checked >= max_checks:
            break
        try:
            answer = assistant.ask(question, history)
        except AssistantError:
            continue
        new = {squash(c.quote) for c in answer.citations} - seen
        if answer.refused or not new:
            continue
        kept.append(question)
        seen |= new
    return kept


def suggest_follow_ups(
    assistant: AsksQuestions,
    answer: Answer,
    history: Sequence[Any] = (),
    *,
    seen_quotes: Iterable[str] = (),
    limit: int = FOLLOW_UP_LIMIT,
    max_checks: int = MAX_CHECKS,
) -> list[str]:
    """Up to `limit` follow-up questions the articles answer, for the conversation so far.

    `history` is the conversation before `answer`. Each suggestion is checked the way it
    would be asked: as the next turn, after `answer` (unless it was declined).
    """
    if limit <= 0:
        return []
    after = as_turns(history)
    if not answer.refused:  # a declined turn gives the next question no context to use
        after += [Turn("user", answer.question), Turn("assistant", answer.text)]
    seen = [*seen_quotes, *(c.quote for c in answer.citations)]
    return keep_answerable(
        assistant,
        follow_up_candidates(answer, history),
        after,
        seen_quotes=seen,
        limit=limit,
        max_checks=max_checks,
    )


STARTER_ARTICLES = 50


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def suggest_starters(
    assistant: AsksQuestions,
    sources: Sequence[Path],
    *,
    limit: int = STARTER_LIMIT,
    max_checks: int = 3 * STARTER_LIMIT,
) -> list[str]:
    """Questions to open a chat with, about the newest articles under `sources`."""
    from assistant.corpus import find_article_files, load_corpus

    if limit <= 0:
        return []
    try:
        files = find_article_files(sources)
        # A newsroom corpus has thousands of files: starters only need the latest few, and
        # reading them all costs the web server ~25 s and ~290 MB at 10,000 articles.
        newest = sorted(files, key=_modified, reverse=True)[:STARTER_ARTICLES]
        articles = load_corpus(sorted(newest)).articles
    except (AssistantError, OSError):
        return []
    candidates = starter_candidates([a.body for a in articles], [a.title for a in articles])
    return keep_answerable(assistant, candidates, limit=limit, max_checks=max_checks)
