"""Metric definitions (see evals/README.md): pure functions of a case and its Answer."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.answer import Answer
from assistant.evaluation.dataset import Case, Fact
from assistant.evaluation.judges import Judge
from assistant.support import MARKER, strip_markers
from assistant.text import split_sentences, squash

CONTEXT_WINDOW = 1200
HIT_OVERLAP = 0.5
HIT_KS = (1, 3, 5)

# A marker group after the full stop (and any closing quote) belongs to that sentence:
# it is moved in front of the punctuation before the answer is split into sentences.
_MARKERS_AFTER_STOP = re.compile(r"([.!?]+[\"'”’)]*)((?:\s*\[\d+(?:\s*,\s*\d+)*\])+)")
# A marker group followed by a new capitalised start ends a statement even without a stop.
_MARKERS_THEN_START = re.compile(r"\[\d+(?:\s*,\s*\d+)*\](?=\s+[\"'“‘(]?[A-Z0-9])")


# -- answers as cited statements ---------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """One sentence of an answer (markers removed) and the citation ids it carries."""

    text: str
    cited: tuple[int, ...]


def marker_ids(text: str) -> list[int]:
    return [int(n) for m in MARKER.finditer(text) for n in m.group(1).split(",")]


def statements(answer_text: str) -> list[Statement]:
    """The answer's sentences, each with the markers inside it or right after its stop.

    A sentence without a marker of its own has no citations (as in ALCE), even when
    the next sentence's marker cites a passage that would support it.
    """
    moved = _MARKERS_AFTER_STOP.sub(r"\2\1", answer_text)
    pieces: list[str] = []
    for sentence in split_sentences(moved):
        pieces += _split_after_markers(sentence)
    out = []
    for piece in pieces:
        text = strip_markers(piece)
        if any(ch.isalnum() for ch in text):
            out.append(Statement(text, tuple(dict.fromkeys(marker_ids(piece)))))
    return out


def _split_after_markers(sentence: str) -> list[str]:
    pieces, start = [], 0
    for match in _MARKERS_THEN_START.finditer(sentence):
        pieces.append(sentence[start : match.end()].strip())
        start = match.end()
    pieces.append(sentence[start:].strip())
    return [p for p in pieces if p]


# -- citations (ALCE) ----------------------------------------------------------------


def citations_valid(answer: Answer) -> bool:
    """Every [n] marker names a citation of the answer (and citation ids are unique)."""
    ids = [c.id for c in answer.citations]
    return len(ids) == len(set(ids)) and set(marker_ids(answer.text)) <= set(ids)


@dataclass(frozen=True)
class SentenceScore:
    text: str
    cited: tuple[int, ...]
    supported: bool
    precise: tuple[bool, ...]
    faithful: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "sentence": self.text,
            "cited": list(self.cited),
            "supported": self.supported,
            "precise": list(self.precise),
            "faithful": self.faithful,
        }


def score_statement(
    statement: Statement, cited_texts: dict[int, str], context: Sequence[str], judge: Judge
) -> SentenceScore:
    """Citation recall and precision of one sentence as in ALCE, and its faithfulness."""
    texts = [cited_texts.get(i, "") for i in statement.cited]
    supported = bool(texts) and judge.supports(statement.text, texts)
    if supported and len(texts) > 1:
        precise = tuple(
            judge.supports(statement.text, [own])
            or not judge.supports(statement.text, texts[:i] + texts[i + 1 :])
            for i, own in enumerate(texts)
        )
    else:
        precise = tuple(supported for _ in texts)
    faithful = judge.supports(statement.text, list(context))
    return SentenceScore(statement.text, statement.cited, supported, precise, faithful)


def score_sentences(answer: Answer, judge: Judge) -> list[SentenceScore]:
    cited_texts = {c.id: c.text for c in answer.citations}
    context = [p.text for p in answer.retrieved]
    return [score_statement(s, cited_texts, context, judge) for s in statements(answer.text)]


def citation_recall(sentences: Sequence[SentenceScore]) -> float:
    return _share(s.supported for s in sentences) if sentences else 0.0


def citation_precision(sentences: Sequence[SentenceScore]) -> float:
    flags = [flag for s in sentences for flag in s.precise]
    return _share(flags) if flags else 0.0


def faithfulness(sentences: Sequence[SentenceScore]) -> float:
    return _share(s.faithful for s in sentences) if sentences else 0.0


# -- answer content --------------------------------------------------------------------


def facts_found(answer_text: str, facts: Sequence[Fact]) -> list[bool]:
    """Each fact is found when any of its alternatives is a substring (normalised)."""
    flat = squash(strip_markers(answer_text))
    return [any(squash(alt) in flat for alt in fact) for fact in facts]


def is_correct_refusal(answer: Answer) -> bool:
    """A refusal carries no citations and no markers."""
    return answer.refused and not answer.citations and not marker_ids(answer.text)


# -- retrieval --------------------------------------------------------------------


def evidence_in_context(
    passages: Sequence[str], evidence: Sequence[str], window: int = CONTEXT_WINDOW
) -> bool:
    """Some evidence quote lies inside the first `window` characters of ranked context."""
    context = squash("\n\n".join(passages)[:window])
    return any(squash(quote) in context for quote in evidence)


def quote_overlap(chunk: str, quote: str) -> float:
    """The share of the quote's characters (normalised) that lie inside the chunk.

    Chunks and quotes are both contiguous spans of an article, so a chunk holds the whole
    quote, a middle part of it, or a prefix or suffix of it cut by a chunk boundary.
    """
    c, q = squash(chunk), squash(quote)
    if not q or not c:
        return 0.0
    if q in c:
        return 1.0
    if c in q:
        return len(c) / len(q)
    best = 0
    for k in range(min(len(c), len(q)) - 1, 0, -1):
        if c.endswith(q[:k]) or c.startswith(q[-k:]):
            best = k
            break
    return best / len(q)


def is_hit(chunk: str, evidence: Sequence[str], threshold: float = HIT_OVERLAP) -> bool:
    return any(quote_overlap(chunk, quote) >= threshold for quote in evidence)


def first_hit_rank(passages: Sequence[str], evidence: Sequence[str]) -> int | None:
    for rank, text in enumerate(passages, start=1):
        if is_hit(text, evidence):
            return rank
    return None


# -- one case -----------------------------------------------------------------------


@dataclass
class CaseScore:
    metrics: dict[str, Any]
    checks: dict[str, bool | None]
    sentences: list[SentenceScore] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks["pass"])


def score_case(case: Case, answer: Answer, judge: Judge) -> CaseScore:
    sentences = [] if answer.refused else score_sentences(answer, judge)
    metrics: dict[str, Any] = {
        "refused": answer.refused,
        "citation_valid": citations_valid(answer),
        "latency_ms": round(float(answer.timings_ms.get("total", 0.0)), 2),
        "sentences": len(sentences),
    }
    if not answer.refused:
        metrics.update(
            citation_recall=round(citation_recall(sentences), 6),
            citation_precision=round(citation_precision(sentences), 6),
            faithfulness=round(faithfulness(sentences), 6),
        )
    if case.answerable:
        metrics.update(_answerable_metrics(case, answer))
    else:
        metrics["correct_refusal"] = is_correct_refusal(answer)
    return CaseScore(metrics, case_checks(case, metrics), sentences)


def _answerable_metrics(case: Case, answer: Answer) -> dict[str, Any]:
    texts = [p.text for p in answer.retrieved]
    found = [False] * len(case.must_include)
    if not answer.refused:
        found = facts_found(answer.text, case.must_include)
    rank = first_hit_rank(texts, case.evidence)
    return {
        "evidence_in_context": evidence_in_context(texts, case.evidence),
        "first_hit_rank": rank,
        "reciprocal_rank": round(1.0 / rank, 6) if rank else 0.0,
        "facts_found": found,
        "fact_recall": round(_share(found), 6) if found else 1.0,
        "all_facts": all(found),
        "false_refusal": answer.refused,
    }


def case_checks(case: Case, m: dict[str, Any]) -> dict[str, bool | None]:
    """Pass or fail per metric (None: does not apply), and the case's overall pass."""
    answered = not m["refused"]
    checks: dict[str, bool | None] = {
        "evidence@1200": m.get("evidence_in_context"),
        "hit": (m["first_hit_rank"] is not None) if case.answerable else None,
        "facts": m.get("all_facts"),
        "refusal": (not m["refused"]) if case.answerable else m["correct_refusal"],
        "validity": m["citation_valid"],
        "citation_recall": (m["citation_recall"] == 1.0) if answered else None,
        "citation_precision": (m["citation_precision"] == 1.0) if answered else None,
        "faithfulness": (m["faithfulness"] == 1.0) if answered else None,
    }
    if case.answerable:
        checks["pass"] = bool(
            answered and m["all_facts"] and m["citation_valid"] and checks["citation_recall"]
        )
    else:
        checks["pass"] = bool(m["correct_refusal"])
    return checks


# -- aggregates -----------------------------------------------------------------------

LOWER_IS_BETTER = frozenset({"false_refusal_rate", "latency_p50_ms", "latency_p95_ms"})
RATE_METRICS = (
    "evidence_recall@1200",
    *(f"hit@{k}" for k in HIT_KS),
    "mrr",
    "fact_recall",
    "all_facts_rate",
    "citation_validity",
    "citation_recall",
    "citation_precision",
    "faithfulness",
    "refusal_accuracy",
    "false_refusal_rate",
    "pass_rate",
)
LATENCY_METRICS = ("latency_p50_ms", "latency_p95_ms")


def aggregate(cases: Sequence[Case], scores: Sequence[CaseScore]) -> dict[str, float | None]:
    """Macro averages over the cases each metric applies to (None when none does)."""
    pairs = list(zip(cases, scores, strict=True))
    answerable = [s.metrics for c, s in pairs if c.answerable]
    unanswerable = [s.metrics for c, s in pairs if not c.answerable]
    answered = [s.metrics for _, s in pairs if not s.metrics["refused"]]
    every = [s.metrics for _, s in pairs]
    ranks = [m["first_hit_rank"] for m in answerable]
    latencies = [m["latency_ms"] for m in every]
    out: dict[str, float | None] = {
        "evidence_recall@1200": _mean(m["evidence_in_context"] for m in answerable),
        **{f"hit@{k}": _mean(r is not None and r <= k for r in ranks) for k in HIT_KS},
        "mrr": _mean(m["reciprocal_rank"] for m in answerable),
        "fact_recall": _mean(m["fact_recall"] for m in answerable),
        "all_facts_rate": _mean(m["all_facts"] for m in answerable),
        "citation_validity": _mean(m["citation_valid"] for m in every),
        "citation_recall": _mean(m["citation_recall"] for m in answered),
        "citation_precision": _mean(m["citation_precision"] for m in answered),
        "faithfulness": _mean(m["faithfulness"] for m in answered),
        "refusal_accuracy": _mean(m["correct_refusal"] for m in unanswerable),
        "false_refusal_rate": _mean(m["false_refusal"] for m in answerable),
        "pass_rate": _mean(s.passed for s in scores),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }
    return {k: (round(v, 6) if v is not None else None) for k, v in out.items()}


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least p% of values at or below."""
    if not values:
        return None
    ordered = sorted(values)
    index = max(math.ceil(p / 100 * len(ordered)) - 1, 0)
    return float(ordered[index])


def _share(flags: Iterable[bool]) -> float:
    items = list(flags)
    return sum(1 for f in items if f) / len(items)


def _mean(values: Iterable[float | bool]) -> float | None:
    items = [float(v) for v in values]
    return sum(items) / len(items) if items else None
