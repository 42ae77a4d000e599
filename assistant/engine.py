"""The engine every interface calls: ask(question, history) -> Answer, and its stream twin."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from assistant.answer import Answer, Passage, StreamEvent, Turn, as_turns
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
from assistant.embeddings import Embedder, make_embedder
from assistant.errors import InvalidQuestionError
from assistant.extractive import ExtractiveAnswerer
from assistant.grounding import ClaimChecker
from assistant.indexing import Indexer, IngestReport, Progress, no_progress
from assistant.lexical import LexicalIndex
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
from assistant.retrieval import HybridRetriever, Query
from assistant.settings import Settings
from assistant.store import ChunkStore
from assistant.support import strip_markers
from assistant.text import has_control_characters, squash
from assistant.timeline import Timeline, TimePlan, numbered_header, strip_as_of

DECLINE = (
    "I can't answer that from the articles I have: they don't cover it. "
    "Try asking about what the articles report."
)
RELATED_LABEL = "The articles don't answer this directly. The closest passages are:"
NOT_GROUNDED_NOTICE = "The model's answer cited no source passage, so it was withheld."
HistoryLike = Sequence[str | Turn | dict[str, Any]]
PROMPT_NAMES = ("system", "answer", "condense", "verify")
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
        self._store = store
        self._embedder = embedder
        self._chat = chat_model
        self._timeline = Timeline(store)  # the articles' dates, read on the first need
        self._retriever = HybridRetriever(
            store=store,
            lexical=lexical,
            embedder=embedder,
            candidate_k=settings.candidate_k,
            dates=self._timeline.corpus,
        )
        self._extractive = ExtractiveAnswerer(
            idf=lexical.idf,
            known=lexical.knows,
            embed=embedder.embed,
            min_support=settings.min_support,
            max_sentences=settings.max_sentences,
            rare_idf=lexical.rare_idf(),
        )
        self._checker = ClaimChecker(embed=embedder.embed, idf=lexical.idf, known=lexical.knows)

    # -- construction -----------------------------------------------------------

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        progress: Progress = no_progress,
        store: ChunkStore | None = None,
        embedder: Embedder | None = None,
    ) -> Assistant:
        """Connect to the index, building it from the bundled sources on first use."""
        store = store or ChunkStore(settings=settings)
        embedder = embedder or make_embedder(settings)
        indexer = Indexer(settings=settings, store=store, embedder=embedder)
        if not store.exists() or store.count() == 0:
            indexer.ingest(settings.sources, progress=progress)
        store.check_embedder(backend=embedder.backend, model=embedder.model, dim=embedder.dim)
        lexical = indexer.ensure_lexical(store.info().version, progress=progress)
        chat_model = None
        if settings.use_llm:
            from assistant.llm import ChatModel

            chat_model = ChatModel(settings=settings)
        return cls(
            settings=settings,
            store=store,
            embedder=embedder,
            lexical=lexical,
            chat_model=chat_model,
        )

    def info(self) -> CorpusInfo:
        stored = self._store.info()
        return CorpusInfo(
            articles=stored.articles,
            chunks=stored.chunks,
            updated_at=stored.updated_at,
            backend=self.backend,
            embedder=f"{stored.embed_backend}:{stored.embed_model}",
        )

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
        parsed = parse_question(question)
        query = self._standalone(parsed, turns)
        plan = self._timeline.plan(query)  # time in the question: see assistant.timeline
        if plan.query.text != query.text:
            parsed = _reparsed(parsed, plan.query.text)
        query = plan.query
        if plan.leads:
            passages = self._with_provenance(
                self._timeline.lead_passages(plan, self.settings.top_k)
            )
        else:
            passages = self._retrieve(query, parsed.parts)
        retrieved_at = time.perf_counter()
        if self._chat is not None:
            stream = self._llm_answer(question, query, passages, parsed, plan)
        else:
            stream = self._extractive_answer(question, query, passages, parsed, plan=plan)
        answer: Answer | None = None
        for event in stream:
            if event.answer is None:
                yield event
            else:
                answer = event.answer
        assert answer is not None
        finished = time.perf_counter()
        answer.history = [t.content for t in turns if t.role == "user"]
        answer.notices = history_notices + answer.notices
        answer.retrieved = passages
        answer.timings_ms = {
            "retrieve": (retrieved_at - started) * 1000,
            "generate": (finished - retrieved_at) * 1000,
            "total": (finished - started) * 1000,
        }
        yield StreamEvent(answer=answer)

    def _retrieve(self, query: Query, parts: Sequence[Part]) -> list[Passage]:
        """The question's passages; offline, a question in several parts also gets each
        part's own, since each part is answered on its own (a model gets the question's)."""
        passages = self._retriever.retrieve(query, self.settings.top_k)
        if len(parts) < 2 or self._chat is not None:
            return self._with_provenance(passages)
        seen = {p.id for p in passages}
        for part in parts:
            lean = " ".join(filter(None, (part.context, query.context)))
            for passage in self._retriever.retrieve(Query(part.text, lean), self.settings.top_k):
                if passage.id not in seen:
                    seen.add(passage.id)
                    passages.append(passage)
        return self._with_provenance(passages)

    def _with_provenance(self, passages: list[Passage]) -> list[Passage]:
        """Each passage with its article's url, author and path inside its corpus folder,
        from the stored metadata, where retrieval left them out (a reader is shown these,
        never a server path)."""
        missing = [p.id for p in passages if not p.corpus_path]
        if not missing:
            return passages
        stored = {chunk.id: chunk.metadata for chunk in self._store.get(missing)}
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
            quotes = self._timeline.lead_quotes(passages)  # about the articles as a whole
        elif parsed.injection:
            quotes = []  # it asks to change the rules, not about the articles
        elif len(parsed.parts) > 1:
            quotes = self._extractive.select_parts(parsed.parts, query.context, passages)
        else:
            quotes = self._extractive.select(query.text, query.context, passages)
        if not quotes:
            yield from self._decline_with_related(
                question, query, passages, parsed, backend, list(notices)
            )
            return
        text, citations = compose_extractive(self._timeline.newest_first(quotes))
        for i, citation in enumerate(citations):
            shown = shown_quote(citation.quote)
            yield StreamEvent(delta=("" if i == 0 else " ") + f"{shown} [{citation.id}]")
        notices = [*notices, *self._timeline.as_of(citations, passages)]
        if parsed.wants is Wants.DATE:  # "on Sunday": which Sunday, from the article's date
            notices += self._timeline.derived_days(citations, passages)
        yield StreamEvent(
            answer=Answer(question, text, citations, False, backend, notices=list(notices))
        )

    @staticmethod
    def _decline(question: str, backend: str, notices: list[str]) -> Answer:
        return Answer(question, DECLINE, [], True, backend, notices=notices)

    def _decline_with_related(
        self,
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
        if not parsed.injection:
            nearest = self._extractive.closest(parsed.parts, query.context, passages)
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
        reader = _SentenceReader(passages, self._checker)
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
            yield from self._extractive_answer(question, query, passages, parsed, [notice], plan)
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
    return ParsedQuestion(parsed.original, again.text, again.parts, injection=parsed.injection)


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
    store = ChunkStore(settings=settings)
    indexer = Indexer(settings=settings, store=store, embedder=make_embedder(settings))
    return indexer.ingest(paths, rebuild=rebuild, progress=progress)
