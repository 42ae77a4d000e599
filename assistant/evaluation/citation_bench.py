"""The citation benchmark: replay known sentences through the real engine and score its check.

A scripted model (``scripted_model.py``) answers with sentences written for the benchmark:
good ones, each with the verbatim evidence it rests on, and corrupted ones (a negation, a
wrong number, a wrong name, an addition, the wrong passage, an outside fact). The engine
checks the reply as it checks any model's. Labels come from how the data was built: a good
sentence should be kept and cited to a passage holding its evidence, a corrupted one
removed. Nothing here asks the engine's own support test (``assistant.support``,
``assistant.citations``) for an opinion.

The dataset schema and the metrics are described in evals/README.md ("Citation benchmark").
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.answer import Answer, Citation
from assistant.errors import AssistantError
from assistant.evaluation.dataset import DatasetError, _is_text, _read_yaml, _short
from assistant.evaluation.scripted_model import (
    CITATION_STYLES,
    Reply,
    ScriptedModel,
    ScriptedSentence,
    find_verbatim,
)
from assistant.text import normalise, squash

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CITATIONS_DIR = PROJECT_ROOT / "evals" / "citations"
SPLITS = ("dev", "test")
ANSWER_STYLES = ("close", "reworded", "strong", "synonym", "two-passage")
CORRUPTION_KINDS = (
    "negated",
    "wrong-number",
    "wrong-entity",
    "addition",
    "wrong-passage",
    "outside",
)
# Corrupted sentences are replayed only where the check has markers to test.
CORRUPTED_STYLES = ("markers", "quotes")

CASE_FIELDS = frozenset({"id", "question", "answerable", "answers", "corrupted"})
ANSWER_FIELDS = frozenset({"style", "sentences"})
SENTENCE_FIELDS = frozenset({"text", "evidence"})
CORRUPTED_FIELDS = frozenset({"kind", "text", "cites"})

# A citation marker in the engine's answer: [3], [3, 4], or [3: "a quote"].
_ANSWER_MARKER = re.compile(r"\s*\[\s*(\d+(?:\s*,\s*\d+)*)\s*(?::[^\]]*)?\]")
_TRAILING = " .!?;:,\"')]…"
_TAIL_CHARACTERS = ".!?;:,\"'”’)] \t\n"


# -- the dataset -----------------------------------------------------------------------------


@dataclass(frozen=True)
class GoodSentence:
    text: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class GoodAnswer:
    style: str
    sentences: tuple[GoodSentence, ...]


@dataclass(frozen=True)
class Corruption:
    kind: str
    text: str
    cites: str


@dataclass(frozen=True)
class BenchQuestion:
    id: str
    split: str
    question: str
    answerable: bool
    answers: tuple[GoodAnswer, ...] = ()
    corrupted: tuple[Corruption, ...] = ()


@dataclass(frozen=True)
class CitationDataset:
    directory: Path
    splits: tuple[str, ...]
    questions: tuple[BenchQuestion, ...]

    @property
    def sha256(self) -> str:
        """A hash of the questions' content: comments and layout do not change it."""
        canonical = json.dumps([asdict(q) for q in self.questions], sort_keys=True)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def splits_for(choice: str) -> tuple[str, ...]:
    """``dev``, ``test`` or ``all`` (both)."""
    return SPLITS if choice == "all" else (choice,)


def split_files(directory: Path, split: str) -> list[Path]:
    """``dev.yaml`` first, then any ``dev-*.yaml`` written later, in name order."""
    return [directory / f"{split}.yaml", *sorted(directory.glob(f"{split}-*.yaml"))]


def load_citation_dataset(
    directory: Path, splits: Sequence[str], corpus_texts: Iterable[str]
) -> CitationDataset:
    """Read ``<split>.yaml`` (and ``<split>-*.yaml``) of each split; any problem raises
    DatasetError naming the case."""
    questions: list[BenchQuestion] = []
    problems: list[str] = []
    first_seen: dict[str, str] = {}
    files = [(split, path) for split in splits for path in split_files(directory, split)]
    for split, path in files:
        parsed, found = parse_questions(_read_yaml(path), split, path.name)
        problems += found
        for number, question in enumerate(parsed, start=1):
            if question.id in first_seen:
                problems.append(
                    f"{path.name}: case {question.id!r}: duplicate id "
                    f"(also in {first_seen[question.id]})"
                )
            first_seen.setdefault(question.id, f"{path.name} #{number}")
        questions += parsed
    problems += missing_quotes(questions, corpus_texts)
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise DatasetError(
            f"the citation dataset in {directory} is not valid ({len(problems)} problem(s)):\n"
            f"{listed}"
        )
    return CitationDataset(directory, tuple(splits), tuple(questions))


def parse_questions(raw: Any, split: str, file: str) -> tuple[list[BenchQuestion], list[str]]:
    """Typed questions and the problems found, each naming its file and case."""
    if not isinstance(raw, list) or not raw:
        return [], [f"{file}: the file must be a non-empty YAML list of cases"]
    questions: list[BenchQuestion] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, item in enumerate(raw, start=1):
        label = f"{file}: {_case_label(item, number)}"
        found = _check_case(item, label)
        problems += found
        case_id = item.get("id") if isinstance(item, dict) else None
        if _is_text(case_id):
            if case_id in seen:
                problems.append(f"{label}: duplicate id (case #{seen[case_id]} has the same id)")
            seen.setdefault(case_id, number)
        if not found:
            questions.append(_as_question(item, split))
    return questions, problems


def _case_label(item: Any, number: int) -> str:
    if isinstance(item, dict) and _is_text(item.get("id")):
        return f"case {item['id']!r} (#{number})"
    return f"case #{number} (no id)"


def _check_case(item: Any, label: str) -> list[str]:
    if not isinstance(item, dict):
        return [f"{label}: a case must be a mapping of fields"]
    required = ("id", "question", "answerable") + (("answers",) if item.get("answerable") else ())
    problems = [f"{label}: missing field {name!r}" for name in required if name not in item]
    problems += [f"{label}: unknown field {name!r}" for name in item if name not in CASE_FIELDS]
    for name in ("id", "question"):
        if name in item and not _is_text(item[name]):
            problems.append(f"{label}: {name!r} must be a non-empty string")
    if "answerable" in item and not isinstance(item["answerable"], bool):
        problems.append(f"{label}: 'answerable' must be true or false")
    problems += _check_answers(item.get("answers", []), item.get("answerable"), label)
    problems += _check_corrupted(item.get("corrupted", []), label)
    return problems


def _check_answers(answers: Any, answerable: Any, label: str) -> list[str]:
    if not isinstance(answers, list):
        return [f"{label}: 'answers' must be a list"]
    if answerable is True and not answers:
        return [f"{label}: an answerable case needs at least one answer"]
    if answerable is False and answers:
        return [f"{label}: an unanswerable case cannot have answers (use answers: [])"]
    problems = []
    for number, answer in enumerate(answers, start=1):
        where = f"{label}: answer #{number}"
        problems += _check_mapping(answer, ANSWER_FIELDS, where)
        if not isinstance(answer, dict):
            continue
        if "style" in answer and answer["style"] not in ANSWER_STYLES:
            problems.append(
                f"{where}: unknown style {answer['style']!r} (one of {', '.join(ANSWER_STYLES)})"
            )
        sentences = answer.get("sentences")
        if "sentences" in answer and not (isinstance(sentences, list) and sentences):
            problems.append(f"{where}: 'sentences' must be a non-empty list")
            continue
        for index, sentence in enumerate(sentences or [], start=1):
            problems += _check_sentence(sentence, f"{where}, sentence #{index}")
    return problems


def _check_sentence(sentence: Any, where: str) -> list[str]:
    problems = _check_mapping(sentence, SENTENCE_FIELDS, where)
    if not isinstance(sentence, dict):
        return problems
    if "text" in sentence and not _is_text(sentence["text"]):
        problems.append(f"{where}: 'text' must be a non-empty string")
    evidence = sentence.get("evidence")
    if "evidence" in sentence and not (
        isinstance(evidence, list) and evidence and all(_is_text(e) for e in evidence)
    ):
        problems.append(f"{where}: 'evidence' must be a non-empty list of non-empty strings")
    return problems


def _check_corrupted(corrupted: Any, label: str) -> list[str]:
    if not isinstance(corrupted, list):
        return [f"{label}: 'corrupted' must be a list"]
    problems = []
    for number, item in enumerate(corrupted, start=1):
        where = f"{label}: corrupted #{number}"
        problems += _check_mapping(item, CORRUPTED_FIELDS, where)
        if not isinstance(item, dict):
            continue
        if "kind" in item and item["kind"] not in CORRUPTION_KINDS:
            problems.append(
                f"{where}: unknown kind {item['kind']!r} (one of {', '.join(CORRUPTION_KINDS)})"
            )
        for name in ("text", "cites"):
            if name in item and not _is_text(item[name]):
                problems.append(f"{where}: {name!r} must be a non-empty string")
    return problems


def _check_mapping(item: Any, fields: frozenset[str], where: str) -> list[str]:
    if not isinstance(item, dict):
        return [f"{where}: must be a mapping with {', '.join(sorted(fields))}"]
    problems = [f"{where}: missing field {name!r}" for name in sorted(fields) if name not in item]
    problems += [f"{where}: unknown field {name!r}" for name in item if name not in fields]
    return problems


def _as_question(item: dict[str, Any], split: str) -> BenchQuestion:
    answers = tuple(
        GoodAnswer(
            style=answer["style"],
            sentences=tuple(
                GoodSentence(s["text"].strip(), tuple(s["evidence"])) for s in answer["sentences"]
            ),
        )
        for answer in item.get("answers") or ()
    )
    corrupted = tuple(
        Corruption(c["kind"], c["text"].strip(), c["cites"]) for c in item.get("corrupted") or ()
    )
    return BenchQuestion(
        id=item["id"],
        split=split,
        question=item["question"].strip(),
        answerable=item["answerable"],
        answers=answers,
        corrupted=corrupted,
    )


def missing_quotes(questions: Sequence[BenchQuestion], corpus_texts: Iterable[str]) -> list[str]:
    """One problem per evidence or cites string that is not verbatim in any article."""
    articles = [squash(text) for text in corpus_texts]
    problems = []
    for question in questions:
        for where, quote in _quotes(question):
            if not any(squash(quote) in article for article in articles):
                problems.append(
                    f"{question.split}.yaml: case {question.id!r}: {where} not found in the "
                    f"articles: {_short(quote)}"
                )
    return problems


def _quotes(question: BenchQuestion) -> Iterable[tuple[str, str]]:
    for a, answer in enumerate(question.answers, start=1):
        for s, sentence in enumerate(answer.sentences, start=1):
            for evidence in sentence.evidence:
                yield f"answer #{a}, sentence #{s}: evidence", evidence
    for c, corruption in enumerate(question.corrupted, start=1):
        yield f"corrupted #{c}: cites", corruption.cites


# -- what is replayed --------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One scripted sentence: ``good`` (alone), ``context`` (good, next to a corrupted one)
    or ``corrupted``; ``label`` is the answer style or the corruption kind."""

    role: str
    label: str
    text: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Replay:
    question: BenchQuestion
    citation_style: str
    kind: str  # "good" or "corrupted"
    label: str  # the answer style or the corruption kind
    lines: tuple[Line, ...]

    def script(self) -> list[ScriptedSentence]:
        return [ScriptedSentence(line.text, line.evidence) for line in self.lines]


def plan_replays(
    dataset: CitationDataset, citation_styles: Sequence[str] = CITATION_STYLES
) -> list[Replay]:
    """Every good answer alone in every style; every corrupted sentence after the question's
    first good answer (alone for an unanswerable question) in the marked styles."""
    replays = []
    for style in citation_styles:
        for question in dataset.questions:
            replays += [_good_replay(question, style, answer) for answer in question.answers]
            if style in CORRUPTED_STYLES:
                replays += [_corrupted_replay(question, style, c) for c in question.corrupted]
    return replays


def _good_replay(question: BenchQuestion, style: str, answer: GoodAnswer) -> Replay:
    lines = tuple(Line("good", answer.style, s.text, s.evidence) for s in answer.sentences)
    return Replay(question, style, "good", answer.style, lines)


def _corrupted_replay(question: BenchQuestion, style: str, corruption: Corruption) -> Replay:
    first = question.answers[0] if question.answers else None
    context = tuple(
        Line("context", first.style, s.text, s.evidence) for s in (first.sentences if first else ())
    )
    bad = Line("corrupted", corruption.kind, corruption.text, (corruption.cites,))
    return Replay(question, style, "corrupted", corruption.kind, (*context, bad))


# -- scoring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentenceScore:
    role: str
    label: str
    text: str
    status: str  # "kept", "removed" or "not_retrieved" (not scored)
    cited: tuple[int, ...] = ()  # the answer's citation ids next to the kept sentence
    correct: bool | None = None  # some citation's passage holds some of its evidence
    fully_cited: bool | None = None  # every evidence string is in some cited passage
    quote_overlap: bool | None = None  # a citation's quote overlaps the evidence

    @property
    def kept(self) -> bool:
        return self.status == "kept"

    @property
    def scored(self) -> bool:
        return self.status != "not_retrieved"


@dataclass
class ReplayResult:
    replay: Replay
    reply: str
    answer: Answer
    sentences: list[SentenceScore]

    @property
    def declined(self) -> bool | None:
        """A good answer declined: refused, or none of its sentences kept (None: unscored)."""
        good = [s for s in self.sentences if s.role == "good" and s.scored]
        if self.replay.kind != "good" or not good:
            return None
        return self.answer.refused or not any(s.kept for s in good)

    def to_json(self) -> dict[str, Any]:
        replay = self.replay
        return {
            "id": replay.question.id,
            "split": replay.question.split,
            "citation_style": replay.citation_style,
            "replay": replay.kind,
            "label": replay.label,
            "question": replay.question.question,
            "reply": self.reply,
            "answer": self.answer.text,
            "refused": self.answer.refused,
            "declined": self.declined,
            "notices": list(self.answer.notices),
            "citations": [{"id": c.id, "quote": c.quote} for c in self.answer.citations],
            "sentences": [asdict(s) for s in self.sentences],
        }


def score_replay(replay: Replay, reply: Reply, answer: Answer) -> ReplayResult:
    written = set(reply.written)
    sentences = [
        score_sentence(line, answer) if index in written else _unscored(line)
        for index, line in enumerate(replay.lines)
    ]
    return ReplayResult(replay, reply.text, answer, sentences)


def _unscored(line: Line) -> SentenceScore:
    return SentenceScore(line.role, line.label, line.text, "not_retrieved")


def score_sentence(line: Line, answer: Answer) -> SentenceScore:
    """Kept when the sentence's words are in the answer; then judge its citations."""
    located = None if answer.refused else locate(line.text, answer.text)
    if located is None:
        return SentenceScore(line.role, line.label, line.text, "removed")
    by_id = {c.id: c for c in answer.citations}
    cited = tuple(dict.fromkeys(n for n in located if n in by_id))
    citations = [by_id[n] for n in cited]
    return SentenceScore(
        line.role,
        line.label,
        line.text,
        "kept",
        cited=cited,
        correct=any(_holds(c, e) for c in citations for e in line.evidence),
        fully_cited=all(any(_holds(c, e) for c in citations) for e in line.evidence),
        quote_overlap=any(quote_overlaps(c, e) for c in citations for e in line.evidence),
    )


def sentence_words(sentence: str) -> str:
    """squash() of a sentence without citation markers and trailing punctuation."""
    return squash(_ANSWER_MARKER.sub("", sentence)).rstrip(_TRAILING)


def answer_words(answer: str) -> str:
    """squash() of an answer without its citation markers."""
    return squash(_ANSWER_MARKER.sub("", answer))


def is_kept(sentence: str, answer: str) -> bool:
    words = sentence_words(sentence)
    return bool(words) and words in answer_words(answer)


def locate(sentence: str, answer: str) -> tuple[int, ...] | None:
    """None when the sentence's words are not in the answer; else the citation numbers of
    the markers inside it or right after it (before the next sentence starts)."""
    if not is_kept(sentence, answer):
        return None
    stripped, where = _without_markers(answer)
    pattern = r"\s+".join(re.escape(token) for token in sentence_words(sentence).split())
    match = re.search(pattern, normalise(stripped))
    if match is None:  # squash() folded something normalise() keeps apart
        return ()
    start, end = where[match.start()], where[match.end()]
    end = _tail_end(answer, end)
    return tuple(
        int(number)
        for marker in _ANSWER_MARKER.finditer(answer)
        if start <= marker.start() < end
        for number in marker.group(1).split(",")
    )


def _without_markers(text: str) -> tuple[str, list[int]]:
    """The text without markers, and for each of its offsets the offset in ``text``."""
    kept: list[str] = []
    where: list[int] = []
    position = 0
    for marker in [*_ANSWER_MARKER.finditer(text), None]:
        stop = marker.start() if marker else len(text)
        kept.append(text[position:stop])
        where += range(position, stop)
        position = marker.end() if marker else len(text)
    where.append(len(text))
    return "".join(kept), where


def _tail_end(answer: str, end: int) -> int:
    """Past the closing punctuation and citation markers that follow a sentence's words."""
    while True:
        marker = _ANSWER_MARKER.match(answer, end)
        if marker:
            end = marker.end()
        elif end < len(answer) and answer[end] in _TAIL_CHARACTERS:
            end += 1
        else:
            return end


def _holds(citation: Citation, evidence: str) -> bool:
    return squash(evidence) in squash(citation.text)


def quote_overlaps(citation: Citation, evidence: str) -> bool:
    """The citation's quote and the evidence share characters of the passage."""
    quote = find_verbatim(citation.quote, citation.text)
    found = find_verbatim(evidence, citation.text)
    if quote is None or found is None:
        flat_quote, flat_evidence = squash(citation.quote), squash(evidence)
        return bool(flat_quote) and (flat_quote in flat_evidence or flat_evidence in flat_quote)
    return quote[0] < found[1] and found[0] < quote[1]


# -- metrics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    hits: int
    total: int

    @property
    def value(self) -> float | None:
        return round(self.hits / self.total, 6) if self.total else None

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "hits": self.hits, "total": self.total}


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    lower_is_better: bool = False
    gated: bool = True


METRICS: tuple[Metric, ...] = (
    Metric("declined", "good answers declined", lower_is_better=True),
    Metric("kept", "good sentences kept"),
    *(Metric(f"kept:{style}", f"… kept, {style}") for style in ANSWER_STYLES),
    Metric("cited", "kept good sentences correctly cited"),
    Metric("fully_cited", "kept good sentences with every evidence cited"),
    Metric("kept_cited", "good sentences kept and correctly cited"),
    Metric("quote_overlap", "kept good sentences whose citation quote overlaps the evidence"),
    Metric("removed", "corrupted sentences removed"),
    *(Metric(f"removed:{kind}", f"… removed, {kind}") for kind in CORRUPTION_KINDS),
    Metric("context_kept", "good sentences kept next to a corrupted one"),
    Metric("not_retrieved", "scripted sentences not retrieved (not scored)", gated=False),
)
METRIC_KEYS = tuple(m.key for m in METRICS)


def group_rates(results: Sequence[ReplayResult]) -> dict[str, Rate]:
    """Every metric over a group of replay results."""
    sentences = [s for r in results for s in r.sentences]
    good = [s for s in sentences if s.role == "good" and s.scored]
    kept = [s for s in good if s.kept]
    bad = [s for s in sentences if s.role == "corrupted" and s.scored]
    context = [s for s in sentences if s.role == "context" and s.scored]
    declined = [r.declined for r in results if r.declined is not None]
    rates = {
        "declined": _rate(declined),
        "kept": _rate(s.kept for s in good),
        "cited": _rate(bool(s.correct) for s in kept),
        "fully_cited": _rate(bool(s.fully_cited) for s in kept),
        "kept_cited": _rate(s.kept and bool(s.correct) for s in good),
        "quote_overlap": _rate(bool(s.quote_overlap) for s in kept),
        "removed": _rate(not s.kept for s in bad),
        "context_kept": _rate(s.kept for s in context),
        "not_retrieved": _rate(not s.scored for s in sentences),
    }
    for style in ANSWER_STYLES:
        rates[f"kept:{style}"] = _rate(s.kept for s in good if s.label == style)
    for kind in CORRUPTION_KINDS:
        rates[f"removed:{kind}"] = _rate(not s.kept for s in bad if s.label == kind)
    return {key: rates[key] for key in METRIC_KEYS}


def _rate(flags: Iterable[bool]) -> Rate:
    values = list(flags)
    return Rate(sum(values), len(values))


Metrics = dict[str, dict[str, dict[str, Rate]]]  # split -> citation style -> metric -> rate


def compute_metrics(
    results: Sequence[ReplayResult],
    splits: Sequence[str],
    citation_styles: Sequence[str] = CITATION_STYLES,
) -> Metrics:
    """Per split (and ``all`` when there are several) and per citation style."""
    groups = {split: [r for r in results if r.replay.question.split == split] for split in splits}
    if len(splits) > 1:
        groups["all"] = list(results)
    return {
        split: {
            style: group_rates([r for r in members if r.replay.citation_style == style])
            for style in citation_styles
        }
        for split, members in groups.items()
    }


# -- running ---------------------------------------------------------------------------------


@dataclass
class BenchRun:
    dataset: CitationDataset
    results: list[ReplayResult]
    metrics: Metrics
    seconds: float
    settings: Any = None  # the engine settings the run used
    notes: list[str] = field(default_factory=list)


Progress = Callable[[int, int, ReplayResult], None]
Opener = Callable[[Any], Any]  # settings -> an Assistant


# The scripted model can cite only passages in its prompt. At the engine's default of 8,
# a third of the scripted sentences lose their evidence to retrieval and go unscored; 16
# keeps most of them, and gives the check more passages to confuse a claim with.
BENCH_TOP_K = 16


def bench_settings(base_url: str, **overrides: Any) -> Any:
    """The engine settings from the environment, answering through the scripted model with
    only the deterministic check (no model verification, no retries)."""
    from assistant.settings import load_settings

    overrides.setdefault("top_k", BENCH_TOP_K)
    return load_settings(
        openai_base_url=base_url,
        openai_api_key="bench",
        llm_model="scripted",
        llm_enabled=True,
        llm_verify=False,
        llm_max_retries=0,
        **overrides,
    )


def run_benchmark(
    dataset: CitationDataset,
    *,
    open_assistant: Opener | None = None,
    citation_styles: Sequence[str] = CITATION_STYLES,
    progress: Progress | None = None,
) -> BenchRun:
    """Start the scripted model, open a real Assistant on it and replay the whole plan."""
    started = time.perf_counter()
    replays = plan_replays(dataset, citation_styles)
    with ScriptedModel() as model:
        settings = bench_settings(model.base_url)
        assistant = (open_assistant or _open)(settings)
        results = replay_all(assistant, model, replays, progress=progress)
    metrics = compute_metrics(results, dataset.splits, citation_styles)
    return BenchRun(dataset, results, metrics, time.perf_counter() - started, settings)


def _open(settings: Any) -> Any:
    from assistant.engine import Assistant

    return Assistant.open(settings)


def replay_all(
    assistant: Any, model: ScriptedModel, replays: Sequence[Replay], progress: Progress | None
) -> list[ReplayResult]:
    results = []
    for replay in replays:
        model.play(replay.script(), style=replay.citation_style)
        answer = assistant.ask(replay.question.question)
        reply = model.last_reply
        if reply is None:
            raise AssistantError(
                f"case {replay.question.id!r}: the engine answered without asking the model "
                "(is the LLM switched on?)"
            )
        results.append(score_replay(replay, reply, answer))
        if progress is not None:
            progress(len(results), len(replays), results[-1])
    return results
