"""Questions to ask next: follow-ups after an answer, and starters for an empty chat.

Every suggestion is a real question drawn from the articles (assistant.phrasing): the
question a sentence answers, built from its subject and the kind of fact it states
("How many stops does the line have?"), or the headline asked as a question ("What do
we know about the leaked US-Russia plan?"); never a template around a lone name.
Starters come from the newest articles (by their dates when the index has them, else in
the order they were ingested); follow-ups from the sentences around the cited quotes and
the other retrieved passages, newer articles first. A candidate is offered only when the
engine answers it (does not decline) with a passage the conversation has not cited yet,
so every suggestion leads somewhere new.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from assistant.answer import Answer, Passage, Turn, as_turns
from assistant.errors import AssistantError
from assistant.phrasing import headline_question, names_in, question_for
from assistant.text import split_sentences, squash, terms

if TYPE_CHECKING:
    from assistant.settings import Settings
    from assistant.store import ChunkStore

log = logging.getLogger(__name__)
FOLLOW_UP_LIMIT = 3
STARTER_LIMIT = 4
MAX_CHECKS = 8
NEWEST_ARTICLES = 8  # starters are drawn from this many of the newest articles
LEAD_SENTENCES = 40  # of each, its headline and its sentences in order, up to this many
_LOWER_WORD = re.compile(r"\b[a-z][\w'’-]*")


class AsksQuestions(Protocol):
    def ask(self, question: str, history: Sequence[Any] = ()) -> Answer: ...


@dataclass(frozen=True)
class ArticleText:
    """An article as stored in the index: its headline and sentences, and when it is from."""

    key: str
    title: str
    sentences: tuple[str, ...]
    published: str = ""  # "YYYY-MM-DD" when known


# -- candidates -----------------------------------------------------------------------


def _vocabulary(texts: Sequence[str], titles: Sequence[str] = ()) -> tuple[frozenset[str], ...]:
    """The names (words a sentence's first word keeps its capital for) and the words
    the texts write in lower case."""
    names = names_in(texts, titles)
    common = frozenset(w for text in texts for w in _LOWER_WORD.findall(text))
    return names, common


def starter_candidates(articles: Sequence[ArticleText]) -> list[str]:
    """Questions about the given articles (newest first), taking turns: each article's
    headline question, then the question of each one's first sentence that gives one,
    and so on."""
    texts = [" ".join(a.sentences) for a in articles]
    names, common = _vocabulary(texts, [a.title for a in articles])
    per_article: list[list[str]] = []
    for article in articles:
        asked = [headline_question(article.title, names, common)]
        asked += [question_for(s, names) for s in article.sentences[:LEAD_SENTENCES]]
        per_article.append([a.question for a in asked if a is not None])
    return _distinct(_taking_turns(per_article))


def follow_up_candidates(answer: Answer, history: Sequence[Any] = ()) -> list[str]:
    """Questions the sentences near the cited quotes answer, then those of the other
    retrieved passages (newer articles first), leaving out what was asked already."""
    cited = [(c.text, c.quote) for c in answer.citations]
    others = _newest_first(p for p in answer.retrieved if p.text not in {t for t, _ in cited})
    names, _ = _vocabulary([t for t, _ in cited] + [p.text for p in others])
    quotes = [squash(q) for _, q in cited]
    sentences: list[tuple[str, bool]] = []  # (sentence, from an article the answer cites)
    for text, quote in cited:
        sentences += [(s, True) for s in _nearest_first(split_sentences(text), quote)]
    sources = {c.source for c in answer.citations}
    for passage in others:  # another passage of a cited article is the same story
        same = passage.source in sources
        sentences += [(s, same) for s in split_sentences(passage.text)]
    # After an answer, a question from another article must share two words with the
    # question or what it cites: a passage retrieved for "new" or "line" is another story.
    # After a decline, anything the articles answer may help.
    topic = set(terms(answer.question)).union(*(terms(t) for t, _ in cited))
    asked = {squash(answer.question)}
    covered = set(terms(answer.question))
    for turn in as_turns(history):
        if turn.role == "user":
            asked.add(squash(turn.content))
            covered |= set(terms(turn.content))
    questions = []
    for sentence, near in sentences:
        if _quoted_already(sentence, quotes):
            continue
        found = question_for(sentence, names)
        if found is None or squash(found.question) in asked:
            continue
        words = set(terms(found.question))
        if words <= covered:
            continue  # nothing the conversation has not asked about
        if not near and answer.citations and len(words & topic) < min(2, len(words)):
            continue
        questions.append(found.question)
    return _distinct(questions)


def _nearest_first(sentences: list[str], quote: str) -> list[str]:
    """The passage's sentences, those next to the quoted one first."""
    flat = squash(quote)
    at = next((i for i, s in enumerate(sentences) if squash(s) in flat or flat in squash(s)), 0)
    return sorted(sentences, key=lambda s: abs(sentences.index(s) - at))


def _newest_first(passages: Iterable[Passage]) -> list[Passage]:
    """Passages of newer articles first (by date when known); otherwise in rank order."""
    ranked = list(passages)
    return sorted(ranked, key=lambda p: -(_day(getattr(p, "published", "") or p.date) or 0))


def _quoted_already(sentence: str, quotes: list[str]) -> bool:
    flat = squash(sentence)
    return any(flat in quote or quote in flat for quote in quotes)


def _taking_turns(lists: Sequence[Sequence[str]]) -> Iterator[str]:
    for round_ in range(max((len(items) for items in lists), default=0)):
        for items in lists:
            if round_ < len(items):
                yield items[round_]


def _distinct(questions: Iterable[str]) -> list[str]:
    """Each question once, where it first comes."""
    first: dict[str, str] = {}
    for question in questions:
        first.setdefault(squash(question), question)
    return list(first.values())


# -- the newest articles in the index ---------------------------------------------------


def newest_articles(store: ChunkStore, limit: int = NEWEST_ARTICLES) -> list[ArticleText]:
    """The `limit` newest articles of the index: by publication date where the index has
    one, then the undated ones, the most recently ingested first (also among equal dates)."""
    from assistant.chunking import chunk_id, parse_sentence_spans

    if limit <= 0:
        return []
    heads = list(store.article_heads().items())  # in the order they were stored
    order = sorted(
        range(len(heads)),
        key=lambda i: (_day(_published(heads[i][1])) or 0, i),
        reverse=True,
    )[:limit]
    articles = []
    for i in order:
        key, head = heads[i]
        count = int(head.get("n_chunks") or 1)
        sentences: list[str] = []
        for chunk in store.get([chunk_id(key, n) for n in range(count)]):
            spans = parse_sentence_spans(chunk.metadata) or [(0, len(chunk.text))]
            sentences += [chunk.text[s:e] for s, e in spans]
        articles.append(
            ArticleText(key, str(head.get("title") or ""), tuple(sentences), _published(head))
        )
    return articles


def _published(meta: dict[str, Any]) -> str:
    """The article's own date; not a file's modification time, which the index keeps for
    undated files (date_source "mtime") but which says when a copy was made."""
    if meta.get("date_source") == "mtime":
        return ""
    return str(meta.get("published") or meta.get("date") or "")


def _day(value: str) -> int | None:
    """ "2025-11-21" (or a longer ISO stamp) as a day number; None when it is not one."""
    try:
        return dt.date.fromisoformat(str(value)[:10]).toordinal()
    except ValueError:
        return None


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


def suggest_starters(
    assistant: AsksQuestions,
    articles: Sequence[ArticleText],
    *,
    limit: int = STARTER_LIMIT,
    max_checks: int = 3 * STARTER_LIMIT,
) -> list[str]:
    """Questions to open a chat with, about the given (newest) articles."""
    if limit <= 0:
        return []
    return keep_answerable(
        assistant, starter_candidates(articles), limit=limit, max_checks=max_checks
    )


class Starters:
    """Starter questions that follow the index: found again once other articles were
    ingested (the index's version changed), otherwise reused.

    When the checker is an engine that follows the index (Assistant.refresh), it is asked
    to look for a newer index first, and its version decides: the starters are then
    checked against the very index that will answer them.
    """

    def __init__(
        self,
        checker: AsksQuestions,
        settings: Settings,
        *,
        limit: int = STARTER_LIMIT,
    ) -> None:
        self._checker = checker
        self._settings = settings
        self._limit = limit
        self._lock = threading.Lock()
        self._version: tuple[Any, ...] | None = None
        self._questions: list[str] = []

    def get(self) -> list[str]:
        from assistant.store import ChunkStore

        with self._lock:
            try:
                store = ChunkStore(settings=self._settings)
                version = self._index_version(store)
                if version != self._version:
                    articles = newest_articles(store)
                    self._questions = suggest_starters(self._checker, articles, limit=self._limit)
                    self._version = version
            except Exception:  # starters are a nicety: never fail a page over them
                log.exception("could not find starter questions in the articles")
            return list(self._questions)

    def _index_version(self, store: ChunkStore) -> tuple[Any, ...]:
        refresh = getattr(self._checker, "refresh", None)
        if callable(refresh):
            refresh(force=True)  # one read of the store's version, as store.info() costs
            info = self._checker.info()  # type: ignore[attr-defined]
        else:
            info = store.info()
        return (info.version, info.updated_at, info.articles, info.chunks)
