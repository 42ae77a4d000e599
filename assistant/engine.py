"""The engine every interface calls: ask(question, history) -> Answer, and its stream twin.

A long-running process (web, Slack, chat) keeps one Assistant, which follows the index as
other processes and hosts change it: see Assistant.refresh().
"""

from __future__ import annotations

import gc
import logging
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from assistant.answer import Answer, Passage, StreamEvent, Turn, as_turns
from assistant.chunking import lead_chunk_id
from assistant.citations import (
    Numbering,
    SentenceCheck,
    answer_sentences,
    assemble,
    check_sentence,
    citation_for,
    compose_extractive,
    removal_notices,
    shown_quote,
)
from assistant.dates import passage_day
from assistant.embeddings import Embedder, make_embedder
from assistant.errors import AssistantError, InvalidQuestionError
from assistant.extractive import ExtractiveAnswerer, Sentence
from assistant.grounding import ClaimChecker
from assistant.indexing import Indexer, IngestReport, Progress, no_progress
from assistant.lexical import LexicalIndex
from assistant.lexicon import default_lexicon
from assistant.prompts import load_prompt
from assistant.provenance import corpus_path
from assistant.questions import (
    ParsedQuestion,
    Part,
    Wants,
    clean_question,
    leans_on_history,
    parse_question,
)
from assistant.retrieval import HybridRetriever, Query, passage_from
from assistant.settings import Settings
from assistant.spelling import SpellingReader, is_english
from assistant.store import ChunkStore
from assistant.support import strip_markers
from assistant.text import has_control_characters, squash
from assistant.thesaurus import default_thesaurus
from assistant.timeline import Timeline, TimePlan, numbered_header, strip_as_of
from assistant.when import DateRange, ranges_in

DECLINE = (
    "I can't answer that from the articles I have: they don't cover it. "
    "Try asking about what the articles report."
)
RELATED_LABEL = "The articles don't answer this directly. The closest passages are:"
NOT_GROUNDED_NOTICE = "The model's answer cited no source passage, so it was withheld."
HistoryLike = Sequence[str | Turn | dict[str, Any]]
PROMPT_NAMES = ("system", "answer", "condense", "verify")
SUMMARY_ARTICLES = 2  # "What are the main points of X?": the leads of this many articles
SUMMARY_SENTENCES = 2  # ... their first sentences: a news article says its main points first
CONDENSE_TURNS = 6  # the condense prompt sees the last few turns only, each clipped
CONDENSE_TURN_CHARS = 600
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CorpusInfo:
    articles: int
    chunks: int
    updated_at: str
    backend: str
    embedder: str
    version: str = ""  # the store version answers come from ("" while an ingest is unfinished)


@dataclass(frozen=True)
class _Index:
    """Everything a question reads the index through, as of one store version.

    Assistant.refresh() replaces the whole object at once; a question takes it once, at
    its start, and finishes on it, however many refreshes happen meanwhile.
    """

    version: str
    info: CorpusInfo
    store: ChunkStore
    probe: ChunkStore  # reads the store's version for refresh(); never used by a question
    keywords: LexicalIndex  # the keyword index (read live: see Assistant._keywords_ahead)
    timeline: Timeline
    retriever: HybridRetriever
    extractive: ExtractiveAnswerer
    checker: ClaimChecker
    spelling: SpellingReader


class Assistant:
    """Answers strictly from the indexed articles. Build it with Assistant.open()."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: ChunkStore,
        embedder: Embedder,
        lexical: LexicalIndex,
        chat_model: Any | None = None,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._chat = chat_model
        self._index = self._index_of(store, lexical, store.info().version)
        self._checked_at = time.monotonic()
        self._keywords_seen = self._index.version  # the keyword index's version, last check
        self._refreshing = threading.Lock()
        self._retired: list[weakref.ref[_Index]] = []  # replaced, maybe still in use
        self._retired_lock = threading.Lock()

    def _index_of(self, store: ChunkStore, lexical: LexicalIndex, version: str) -> _Index:
        """The _Index over `store` and `lexical`, which match the store at `version`."""
        stored = store.info()
        info = CorpusInfo(
            articles=stored.articles,
            chunks=stored.chunks,
            updated_at=stored.updated_at,
            backend=self.backend,
            embedder=f"{stored.embed_backend}:{stored.embed_model}",
            version=version,
        )

        def heads() -> dict[str, dict[str, Any]]:
            """Every article's head chunk metadata, for the dates: the keyword index's ledger
            holds the same as the store while it matches this version, and reads in 0.2 s
            at 10,000 articles where Chroma takes 3-5 s."""
            if version and lexical.store_version == version:
                return lexical.heads()
            return store.article_heads()

        timeline = Timeline(store, heads=heads)  # the articles' dates, read on the first need
        return _Index(
            version=version,
            info=info,
            store=store,
            probe=ChunkStore(settings=self.settings, client=store.client),
            keywords=lexical,
            timeline=timeline,
            retriever=HybridRetriever(
                store=store,
                lexical=lexical,
                embedder=self._embedder,
                candidate_k=self.settings.candidate_k,
                dates=timeline.corpus,
            ),
            extractive=ExtractiveAnswerer(
                idf=lexical.idf,
                known=lexical.knows,
                embed=self._embedder.embed,
                min_support=self.settings.min_support,
                max_sentences=self.settings.max_sentences,
                rare_idf=lexical.rare_idf(),
            ),
            checker=ClaimChecker(embed=self._embedder.embed, idf=lexical.idf, known=lexical.knows),
            spelling=SpellingReader(
                frequencies=lexical.frequencies,
                is_english=is_english,
                is_alias=default_lexicon().is_alias,
            ),
        )

    # -- construction -----------------------------------------------------------

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        progress: Progress = no_progress,
        store: ChunkStore | None = None,
        embedder: Embedder | None = None,
        many_questions: bool = True,
    ) -> Assistant:
        """Connect to the index, building it from the bundled sources on first use.

        With `many_questions` (a chat, a server, an eval) the articles' dates are read
        ahead, beside the first question; for one question (`assistant ask`) they are read
        only if it needs them (a question about time: about one in ten), since reading
        them holds the interpreter ~0.2 s at 10,000 articles that the answer would wait for.
        """
        store = store or ChunkStore(settings=settings)
        built = store.exists() and not store.is_empty()
        if built:
            store.load_ahead()  # while the embedder, keywords and word tables load
        embedder = embedder or make_embedder(settings)
        indexer = Indexer(settings=settings, store=store, embedder=embedder)
        if not built:
            indexer.ingest(settings.sources, progress=progress)
        store.check_embedder(backend=embedder.backend, model=embedder.model, dim=embedder.dim)
        lexical = indexer.ensure_lexical(store.info().version, progress=progress)
        chat_model = None
        if settings.use_llm:
            from assistant.llm import ChatModel

            chat_model = ChatModel(settings=settings)
        assistant = cls(
            settings=settings,
            store=store,
            embedder=embedder,
            lexical=lexical,
            chat_model=chat_model,
        )
        threading.Thread(
            target=assistant._prepare,
            kwargs={"many_questions": many_questions},
            name="answer-preparation",
        ).start()
        return assistant

    def _prepare(self, *, many_questions: bool) -> None:
        """Read what the first answers need on first use in another thread, while this one
        goes on and the vector index loads. For many questions: the articles' dates (~0.2 s
        at 10,000 articles), then every line of the thesaurus (Thesaurus.read_all). For one:
        the thesaurus's file only (mostly decompressing, during which other threads run).
        Whoever needs either meanwhile waits for it rather than reading it again; a failure
        is left for that use to report."""
        try:
            if many_questions:
                self._index.timeline.corpus()
                default_thesaurus().read_all()
            else:
                default_thesaurus()
        except AssistantError as exc:
            log.debug("preparing for the first answer failed: %s", exc)

    def info(self) -> CorpusInfo:
        """The index questions are answered from (checked for a newer one first, see
        refresh()): article and chunk counts, the last ingest, the store version."""
        self.refresh()
        return self._index.info

    @property
    def version(self) -> str:
        """The store version questions are answered from (no check for a newer one)."""
        return self._index.version

    # -- following the index ---------------------------------------------------------

    def refresh(self, *, force: bool = False) -> bool:
        """Answer from the index as it is now, if it changed; True when it did.

        At most once per `refresh_interval` seconds (unless forced), or as soon as the
        keyword index records a newer ingest (_keywords_ahead), this reads the store's
        version: one small read of the collection's metadata (an HTTP request to a Chroma
        server). When an ingest, in this process, another one or on another host, has
        finished since, the whole _Index is replaced: a fresh copy of the embedded store
        (chromadb's copy never sees what other processes add to the vector index), the
        keyword index brought in step by difference (Indexer.ensure_lexical: nothing to do
        when an ingest into this data directory wrote it; fetched from the store for the
        articles that differ when another host ingested into a shared Chroma server), and
        the corpus's counts and dates. Questions under way finish on the _Index they
        started with. An ingest still under way is waited for (its version is ""). One
        thread checks at a time; others meanwhile go on with the current index, unless they
        force a check: then they wait for it. A failure is logged, and the current index
        kept.
        """
        due = time.monotonic() - self._checked_at >= self.settings.refresh_interval
        if not (force or due or self._keywords_ahead()):
            return False
        # Forced, wait for a check under way in another thread (it may be swapping in just
        # what the caller is after); otherwise leave it to that thread.
        if not self._refreshing.acquire(blocking=force):
            return False
        try:
            self._checked_at = time.monotonic()
            self._keywords_seen = self._keywords_version()
            changed = self._follow_store()
        finally:
            self._refreshing.release()
        self._free_retired()
        return changed

    def _keywords_version(self) -> str:
        """The store version the keyword index records now ("" while an ingest writes it)."""
        try:
            return self._index.keywords.store_version
        except sqlite3.Error as exc:
            log.debug("could not read the keyword index's version: %s", exc)
            return ""

    def _keywords_ahead(self) -> bool:
        """An ingest into this data directory finished since the last check: the keyword
        index (one file, read live by every process) records another store version than the
        one questions are answered from. Its searches already find the new articles, so the
        check is not left to the interval: the vector index and the corpus info follow at
        once. One small read of the keyword index; a version already checked (a swap that
        failed) waits for the interval."""
        recorded = self._keywords_version()
        return bool(recorded) and recorded not in (self._index.version, self._keywords_seen)

    def _follow_store(self) -> bool:
        current = self._index
        try:
            version = current.probe.refresh().version
            if not version or version == current.version:
                return False
            fresh = self._reload(current, version)
        except AssistantError as exc:
            log.warning("could not bring the index up to date: %s", exc)
            return False
        self._index = fresh
        with self._retired_lock:
            self._retired.append(weakref.ref(current))
        log.info(
            "index updated: %d articles, %d chunks (version %s)",
            fresh.info.articles,
            fresh.info.chunks,
            fresh.version[:8],
        )
        return True

    def _reload(self, current: _Index, version: str) -> _Index:
        store = current.store.reopened(version)
        store.check_embedder(
            backend=self._embedder.backend, model=self._embedder.model, dim=self._embedder.dim
        )
        indexer = Indexer(settings=self.settings, store=store, embedder=self._embedder)
        lexical = indexer.ensure_lexical(version)
        fresh = self._index_of(store, lexical, version)
        # What the first question would otherwise wait for, done before the swap: the vector
        # index (chromadb reads it on the first query) and the articles' dates (every answer
        # with several quotes orders them by date).
        store.query(self._embedder.embed(["news"])[0], 1)
        fresh.timeline.corpus()
        return fresh

    def _free_retired(self) -> None:
        """Once no question uses a replaced _Index, free its copy of the embedded store:
        chromadb's objects refer to each other, so only the garbage collector frees them
        (a copy holds the whole vector index in memory)."""
        if not self._retired:
            return
        with self._retired_lock:
            unused = [ref for ref in self._retired if ref() is None]
            self._retired = [ref for ref in self._retired if ref() is not None]
        if unused:
            gc.collect()

    @property
    def backend(self) -> str:
        return f"llm:{self._chat.model}" if self._chat is not None else "extractive"

    # -- the contract -----------------------------------------------------------

    def ask(self, question: str, history: str | HistoryLike = ()) -> Answer:
        answer: Answer | None = None
        for event in self.ask_stream(question, history):
            if event.answer is not None:
                answer = event.answer
        assert answer is not None
        return answer

    def ask_stream(self, question: str, history: str | HistoryLike = ()) -> Iterator[StreamEvent]:
        """Yield text as it is produced, then one event carrying the full Answer."""
        started = time.perf_counter()
        question = self.validate(question)
        turns, history_notices = self._bounded_history(history)
        self.refresh()
        try:
            answer, retrieved_at = yield from self._answer(self._index, question, turns)
            finished = time.perf_counter()
            answer.history = [t.content for t in turns if t.role == "user"]
            answer.notices = history_notices + answer.notices
            answer.timings_ms = {
                "retrieve": (retrieved_at - started) * 1000,
                "generate": (finished - retrieved_at) * 1000,
                "total": (finished - started) * 1000,
            }
            yield StreamEvent(answer=answer)
        finally:
            self._free_retired()  # this question may have been the last on a replaced index

    def _answer(
        self, ix: _Index, question: str, turns: list[Turn]
    ) -> Generator[StreamEvent, None, tuple[Answer, float]]:
        """The answer's text events, all on `ix`; returns the Answer and when retrieval
        ended."""
        parsed = parse_question(question)
        spelling = ix.spelling.read(parsed.text)
        if spelling.changes:  # "crimia": the articles' "crimea"
            parsed = _reparsed(parsed, spelling.text)
        query = self._standalone(parsed, turns)
        plan = ix.timeline.plan(query)  # time in the question: see assistant.timeline
        as_asked = (query, parsed)  # with its time words
        if plan.query.text != query.text:
            parsed = _reparsed(parsed, plan.query.text)
        query = plan.query
        if plan.leads:
            passages = self._with_provenance(
                ix, ix.timeline.lead_passages(plan, self.settings.top_k)
            )
        else:
            passages = self._retrieve(ix, query, parsed.parts)
        retrieved_at = time.perf_counter()
        if self._chat is not None:
            stream = self._llm_answer(ix, question, query, passages, parsed, plan)
        else:
            stream = self._extractive_answer(ix, question, query, passages, parsed, plan=plan)
        events: Iterable[StreamEvent] = stream
        dates = plan.query.dates
        if self._chat is None and dates is not None and not plan.leads:
            events = list(stream)
            if events[-1].answer is not None and events[-1].answer.refused:
                told = self._told_in_the_story(ix, question, *as_asked, dates)
                if told is not None:
                    events, passages = told
        answer: Answer | None = None
        for event in events:
            if event.answer is None:
                yield event
            else:
                answer = event.answer
        assert answer is not None
        answer.retrieved = passages
        if spelling.changes:
            answer.notices = [spelling.notice, *answer.notices]
        return answer, retrieved_at

    def _told_in_the_story(
        self, ix: _Index, question: str, query: Query, parsed: ParsedQuestion, dates: DateRange
    ) -> tuple[list[StreamEvent], list[Passage]] | None:
        """A question about a topic at a time ("How big was the army last January?") that the
        articles published then do not answer: the time may be one a story tells of, in an
        article of any day. Its answer from every article, taken only when it states a day
        in that span (read against its own article's date): "estimated
        last January at 880,000", in an article of November. The first sentence quoted must
        state it: the one that answers best (the others add to it)."""
        passages = self._retrieve(ix, query, parsed.parts)
        events = list(
            self._extractive_answer(ix, question, query, passages, parsed, plan=TimePlan(query))
        )
        answer = events[-1].answer
        if answer is None or answer.refused or not answer.citations:
            return None
        first = answer.citations[0]  # the sentence that answers best; others add to it
        published = next((p.published for p in passages if p.source == first.source), "")
        anchor = passage_day(published) or ix.timeline.anchor()
        if not any(told.overlaps(dates) for told in ranges_in(first.quote, anchor=anchor)):
            return None
        return events, passages

    def _retrieve(self, ix: _Index, query: Query, parts: Sequence[Part]) -> list[Passage]:
        """The question's passages; offline, a question in several parts also gets each
        part's own, since each part is answered on its own (a model gets the question's)."""
        passages = ix.retriever.retrieve(query, self.settings.top_k)
        if len(parts) < 2 or self._chat is not None:
            return self._with_provenance(ix, passages)
        seen = {p.id for p in passages}
        for part in parts:
            lean = " ".join(filter(None, (part.context, query.context)))
            for passage in ix.retriever.retrieve(Query(part.text, lean), self.settings.top_k):
                if passage.id not in seen:
                    seen.add(passage.id)
                    passages.append(passage)
        return self._with_provenance(ix, passages)

    def _with_provenance(self, ix: _Index, passages: list[Passage]) -> list[Passage]:
        """Each passage with its article's url, author and path inside its corpus folder,
        from the stored metadata, where its passage lacks them (passage_from fills them from
        the chunk it read; a reader is shown these, never a server path)."""
        missing = [p.id for p in passages if not p.corpus_path]
        if not missing:
            return passages
        stored = {chunk.id: chunk.metadata for chunk in ix.store.get(missing)}
        enriched = []
        for passage in passages:
            meta = stored.get(passage.id)
            if meta is not None:
                passage = replace(
                    passage,
                    url=passage.url or str(meta.get("url") or ""),
                    author=passage.author or str(meta.get("author") or ""),
                    corpus_path=corpus_path(meta),
                )
            enriched.append(passage)
        return enriched

    def validate(self, question: str) -> str:
        if not isinstance(question, str) or not question.strip():
            raise InvalidQuestionError("the question is empty: ask something about the articles")
        if len(question) > self.settings.max_question_chars:
            raise InvalidQuestionError(
                f"the question is too long ({len(question)} characters; "
                f"the limit is {self.settings.max_question_chars})"
            )
        if has_control_characters(question):
            raise InvalidQuestionError("the question contains control characters")
        if not _encodable(question):
            raise InvalidQuestionError("the question contains invalid characters (lone surrogates)")
        return question.strip()

    def _bounded_history(self, history: str | HistoryLike) -> tuple[list[Turn], list[str]]:
        """The last `max_history_turns` turns, each checked like a question; a notice if cut."""
        turns = as_turns(history)
        keep = self.settings.max_history_turns
        recent = turns[-keep:] if keep else []
        for turn in recent:
            self._check_turn(turn)
        if len(recent) == len(turns):
            return recent, []
        return recent, [f"Only the last {keep} turns of the conversation were used."]

    def _check_turn(self, turn: Turn) -> None:
        limit = (
            self.settings.max_question_chars
            if turn.role == "user"
            else self.settings.max_history_turn_chars
        )
        if len(turn.content) > limit:
            raise InvalidQuestionError(
                f"a turn of the conversation history is too long ({len(turn.content)} "
                f"characters; the limit is {limit})"
            )
        if not _encodable(turn.content):
            raise InvalidQuestionError(
                "the conversation history contains invalid characters (lone surrogates)"
            )

    # -- follow-ups ---------------------------------------------------------------

    def _standalone(self, parsed: ParsedQuestion, turns: list[Turn]) -> Query:
        question = parsed.text
        earlier = [t.content for t in turns if t.role == "user"][-2:]
        # A question that stands on its own is answered on its own: earlier turns only
        # resolve what a follow-up refers to ("its", "and what about ...?"). Judged on the
        # message as written: cleaning strips "Switching topics," along with the greetings.
        leans = leans_on_history(parsed.original)
        context = " ".join(clean_question(e) for e in earlier) if leans else ""
        if self._chat is None or not turns:
            return Query(question, context)
        from assistant.llm import Message, TransientLLMError

        prompt = load_prompt("condense").render(
            history="\n".join(
                f"{t.role}: {_clipped(strip_markers(t.content))}" for t in turns[-CONDENSE_TURNS:]
            ),
            question=question,
        )
        try:
            rewritten = self._chat.complete([Message("user", prompt)]).strip()
        except TransientLLMError:
            return Query(question, context)
        return Query(rewritten or question, context)

    # -- offline ----------------------------------------------------------------

    def _extractive_answer(
        self,
        ix: _Index,
        question: str,
        query: Query,
        passages: list[Passage],
        parsed: ParsedQuestion,
        notices: Sequence[str] = (),
        plan: TimePlan | None = None,
    ) -> Iterator[StreamEvent]:
        backend = "extractive" if not notices else "extractive (fallback)"
        if plan is not None and plan.empty:
            notices = [*notices, plan.notice]
        if plan is not None and plan.leads:
            quotes = ix.timeline.lead_quotes(passages)  # about the articles as a whole
        elif parsed.declined_plainly:
            quotes = []  # it asks to change the rules, not about the articles
        elif len(parsed.parts) > 1:
            quotes = ix.extractive.select_parts(parsed.parts, query.context, passages)
        elif parsed.wants is Wants.SUMMARY:
            quotes = self._summary(ix, query, passages)
        else:
            quotes = ix.extractive.select(query.text, query.context, passages)
        if not quotes:
            yield from self._decline_with_related(
                ix, question, query, passages, parsed, backend, list(notices)
            )
            return
        text, citations = compose_extractive(ix.timeline.newest_first(quotes))
        for i, citation in enumerate(citations):
            shown = shown_quote(citation.quote)
            yield StreamEvent(delta=("" if i == 0 else " ") + f"{shown} [{citation.id}]")
        notices = [*notices, *ix.timeline.as_of(citations, passages)]
        if parsed.wants is Wants.DATE:  # "on Sunday": which Sunday, from the article's date
            notices += ix.timeline.derived_days(citations, passages)
        yield StreamEvent(
            answer=Answer(question, text, citations, False, backend, notices=list(notices))
        )

    def _summary(self, ix: _Index, query: Query, passages: list[Passage]) -> list[list[Sentence]]:
        """ "What are the main points of the plan?": the leads of the articles whose sentences
        answer for the topic (a news article says its main points first); [] when none
        does, as for any question."""
        chosen = ix.extractive.select(query.text, query.context, passages)
        leads = list(dict.fromkeys(lead_chunk_id(s.passage.id) for g in chosen for s in g))
        leads = ix.store.get(leads[:SUMMARY_ARTICLES])
        found = [passage_from(chunk, 1.0) for chunk in leads]
        return ix.timeline.lead_quotes(found, SUMMARY_ARTICLES, SUMMARY_SENTENCES) or chosen

    @staticmethod
    def _decline(question: str, backend: str, notices: list[str]) -> Answer:
        return Answer(question, DECLINE, [], True, backend, notices=notices)

    def _decline_with_related(
        self,
        ix: _Index,
        question: str,
        query: Query,
        passages: list[Passage],
        parsed: ParsedQuestion,
        backend: str,
        notices: list[str],
    ) -> Iterator[StreamEvent]:
        """A decline; when passages come near the question, they are offered under a plain
        label, as reading rather than as an answer (the answer stays refused)."""
        answer = self._decline(question, backend, notices)
        if not parsed.declined_plainly:
            nearest = ix.extractive.closest(parsed.parts, query.context, passages)
            answer.related = [
                citation_for(n, s.passage, s.start, s.end) for n, s in enumerate(nearest, start=1)
            ]
        if answer.related:
            answer.text = RELATED_LABEL
        yield StreamEvent(delta=answer.text)
        yield StreamEvent(answer=answer)

    # -- with a model -------------------------------------------------------------

    def _llm_answer(
        self,
        ix: _Index,
        question: str,
        query: Query,
        passages: list[Passage],
        parsed: ParsedQuestion,
        plan: TimePlan | None = None,
    ) -> Iterator[StreamEvent]:
        """Stream the model's answer one checked sentence at a time, then verify it."""
        from assistant.llm import Message, TransientLLMError

        assert self._chat is not None
        system = load_prompt("system").render()
        user = load_prompt("answer").render(
            passages=_numbered(passages) or "(no passages)", question=question
        )
        messages = [Message("system", system), Message("user", user)]
        reader = _SentenceReader(passages, ix.checker)
        try:
            for piece in self._chat.stream(messages):
                reader.add(piece)
                yield from reader.shown(final=False)
                if reader.leaked:
                    break
            else:
                yield from reader.shown(final=True)
        except TransientLLMError as exc:
            notice = (
                f"The language model was unavailable ({exc.reason}); "
                "this answer was composed directly from the sources."
            )
            yield StreamEvent(delta="\n\n" if reader.raw else "")
            yield from self._extractive_answer(
                ix, question, query, passages, parsed, [notice], plan
            )
            return
        yield StreamEvent(answer=self._checked(question, reader, passages))

    def _checked(self, question: str, reader: _SentenceReader, passages: list[Passage]) -> Answer:
        if reader.leaked:
            return self._decline(question, self.backend, ["The model's answer was withheld."])
        notices = []
        if self.settings.llm_verify and any(c.kept for c in reader.checks):
            notices += self._verify(reader.checks, passages)
        checked = assemble(reader.checks, passages)
        notices = removal_notices(checked.sentences) + notices
        if not checked.citations:
            if reader.raw.strip() and not _declines(reader.raw):
                notices.append(NOT_GROUNDED_NOTICE)
            return self._decline(question, self.backend, notices)
        answer = Answer(question, checked.text, checked.citations, False, self.backend)
        answer.notices = notices
        answer.dropped_markers = checked.dropped_markers
        return answer

    def _verify(self, checks: list[SentenceCheck], passages: list[Passage]) -> list[str]:
        """The model labels each kept citation; what it does not find SUPPORTED is removed."""
        from assistant.errors import LLMUnavailableError
        from assistant.llm import TransientLLMError
        from assistant.verification import Pair, UnreadableVerdicts, verify

        cited = [(c, n) for c in checks if c.kept for n in c.cited]
        pairs = [
            Pair(
                c.claim,
                f"({numbered_header(passages[n - 1]).strip(' ()')})\n{passages[n - 1].text}",
            )
            if passages[n - 1].published
            else Pair(c.claim, passages[n - 1].text)
            for c, n in cited
        ]
        try:
            labels = verify(self._chat, pairs)
        except (TransientLLMError, LLMUnavailableError, UnreadableVerdicts) as exc:
            log.warning("citation verification failed: %s", exc)
            return [
                "The model could not verify the citations "
                f"({getattr(exc, 'reason', None) or exc}); they were checked by rules only."
            ]
        for (check, number), label in zip(cited, labels, strict=True):
            if label != "SUPPORTED":
                check.cited.remove(number)
                check.removed.append(
                    "its source says otherwise"
                    if label == "CONTRADICTED"
                    else "its source does not say that"
                )
        return []


class _SentenceReader:
    """Collects the model's stream and checks each sentence once it is complete."""

    def __init__(self, passages: list[Passage], checker: ClaimChecker) -> None:
        self.raw = ""
        self.leaked = False  # the model repeated a prompt: nothing more is shown
        self.checks: list[SentenceCheck] = []
        self._passages = passages
        self._checker = checker
        self._numbering = Numbering()

    def add(self, piece: str) -> None:
        self.raw += piece

    def shown(self, *, final: bool) -> Iterator[StreamEvent]:
        """Check the sentences completed so far; yield the kept ones as text.

        Before anything new is shown (and at the end), the whole reply so far is checked
        for a repeated prompt."""
        sentences = answer_sentences(self.raw)
        if not final:
            # The last sentence may still grow; so may the one before it while the last
            # holds nothing but the start of a marker that belongs to it.
            complete = len(sentences) - (1 if sentences and _has_words(sentences[-1]) else 2)
            sentences = sentences[: max(complete, 0)]
        new = sentences[len(self.checks) :]
        if (new or final) and _leaks(self.raw):
            self.leaked = True
            return
        for sentence in new:
            # "As of <a passage's date>, ...": the date came from the prompt, not the passage
            # text; the check reads the rest, the reader sees the sentence as written.
            undated = strip_as_of(sentence, self._passages)
            check = (
                SentenceCheck(strip_markers(sentence), [], {}, empty=True)
                if _declines(sentence)
                else check_sentence(undated, self._passages, self._checker)
            )
            if undated != sentence and check.kept:
                check.claim = strip_markers(sentence)
            self.checks.append(check)
            if check.kept:
                lead = " " if self._numbering.order else ""
                yield StreamEvent(delta=lead + self._numbering.render(check))


def _numbered(passages: list[Passage]) -> str:
    """The passages as the model reads them, each headed by its title and date."""
    return "\n\n".join(
        f"[{i}] {p.title}{numbered_header(p)}\n{p.text}" for i, p in enumerate(passages, start=1)
    )


def _reparsed(parsed: ParsedQuestion, text: str) -> ParsedQuestion:
    """The question read again without its time words (its wording as asked kept)."""
    again = parse_question(text)
    return replace(parsed, text=again.text, parts=again.parts)


def _leaks(answer: str, window: int = 60) -> bool:
    """True when the answer repeats a stretch of any prompt template (system, answer...)."""
    flat_answer = squash(answer)
    if len(flat_answer) < window:
        return False
    return any(
        stretch[i : i + window] in flat_answer
        for stretch in _template_stretches()
        for i in range(0, max(len(stretch) - window, 0) + 1, window // 2)
        if len(stretch) >= window
    )


@lru_cache(maxsize=1)
def _template_stretches() -> tuple[str, ...]:
    """The fixed text of every prompt, between its {variables}."""
    stretches = []
    for name in PROMPT_NAMES:
        template = load_prompt(name).template
        stretches += [squash(part) for part in re.split(r"\{\w+\}", template)]
    return tuple(stretches)


def _encodable(text: str) -> bool:
    """False for text that cannot be written as UTF-8 (a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _clipped(text: str, limit: int = CONDENSE_TURN_CHARS) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def _has_words(text: str) -> bool:
    return any(ch.isalpha() for ch in strip_markers(text))


def _declines(text: str) -> bool:
    """The model's own "The sources don't cover that.\""""
    return "don't cover" in squash(text)


def ingest(
    settings: Settings,
    paths: Sequence[Any] | None = None,
    *,
    rebuild: bool = False,
    progress: Progress = no_progress,
) -> IngestReport:
    """Build or update the index (the engine's other public entry point)."""
    return indexer(settings).ingest(paths, rebuild=rebuild, progress=progress)


def indexer(settings: Settings) -> Indexer:
    """An Indexer, for one ingest or several in a row (Indexer.ingest, ingest_changes)."""
    store = ChunkStore(settings=settings)
    return Indexer(settings=settings, store=store, embedder=make_embedder(settings))
