"""The baseline: a committed reference run, and the gate that compares a run with it.

It changes only through `assistant eval --update-baseline`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import ConfigError
from assistant.evaluation.metrics import LATENCY_METRICS, LOWER_IS_BETTER, RATE_METRICS

if TYPE_CHECKING:
    from assistant.evaluation.dataset import Dataset
    from assistant.evaluation.runner import CaseResult, RunResult
    from assistant.settings import Settings

BASELINE_FORMAT = 1
# Non-deterministic runs (an LLM answers or judges) may drift this much without failing.
LLM_TOLERANCE = 0.05
EPSILON = 1e-9
# Where things are and how to reach them, not how answers are made.
UNHASHED_SETTINGS = frozenset(
    {
        "data_dir",
        "sources",
        "chroma_path",
        "chroma_url",
        "chroma_token",
        "chroma_headers",
        "ingest_lock_timeout",
        "openai_api_key",
        "openai_base_url",
        # Whether an LLM answers is recorded as "backend", whatever switched it on or off.
        "llm_enabled",
    }
)
# Gated aggregates: every rate; latency only shows in the report, since timings vary.
GATED_METRICS = tuple(m for m in RATE_METRICS if m not in LATENCY_METRICS)
CASE_METRICS_SHOWN = (
    "refused",
    "fact_recall",
    "evidence_in_context",
    "first_hit_rank",
    "citation_valid",
    "citation_recall",
    "citation_precision",
    "faithfulness",
    "correct_refusal",
)


def answer_settings(settings: Settings) -> dict[str, Any]:
    """The engine settings that affect answers: no paths, endpoints or secrets."""
    values = settings.model_dump(mode="json")
    kept = {k: v for k, v in values.items() if k not in UNHASHED_SETTINGS}
    kept["backend"] = settings.backend_label
    return kept


def settings_hash(settings: Settings) -> str:
    return _sha256(json.dumps(answer_settings(settings), sort_keys=True))


def corpus_hash(texts: Iterable[str]) -> str:
    return _sha256("\n\x00".join(sorted(texts)))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tolerance_for(*, backend: str, judge: str) -> float:
    """0 in the deterministic offline mode (extractive answers, lexical judge)."""
    return 0.0 if backend == "extractive" and judge == "lexical" else LLM_TOLERANCE


# -- reading and writing ---------------------------------------------------------------


def build_baseline(
    run: RunResult,
    *,
    dataset: Dataset,
    dataset_label: str,
    settings: Settings,
    corpus_sha256: str,
    judge: str,
    backend: str,
) -> dict[str, Any]:
    return {
        "format": BASELINE_FORMAT,
        "dataset": {"path": dataset_label, "sha256": dataset.sha256, "cases": len(run.results)},
        "settings": {"sha256": settings_hash(settings), "values": answer_settings(settings)},
        "corpus_sha256": corpus_sha256,
        "judge": judge,
        "backend": backend,
        "aggregates": dict(run.aggregates),
        "cases": {r.case.id: case_record(r) for r in run.results},
    }


def case_record(result: CaseResult) -> dict[str, Any]:
    metrics = {k: v for k, v in result.score.metrics.items() if k != "latency_ms"}
    return {"pass": result.passed, "answer": result.answer.text, "metrics": metrics}


def save_baseline(path: Path, baseline: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(baseline, indent=2, ensure_ascii=False, sort_keys=False)
    path.write_text(text + "\n", encoding="utf-8")


def load_baseline(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"baseline not found: {path} (create it with `assistant eval --update-baseline`)"
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the baseline {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != BASELINE_FORMAT:
        raise ConfigError(f"{path} is not a baseline this version can read")
    return data


# -- comparing --------------------------------------------------------------------------


@dataclass(frozen=True)
class AggregateDiff:
    name: str
    current: float | None
    baseline: float | None
    regressed: bool

    @property
    def delta(self) -> float | None:
        if self.current is None or self.baseline is None:
            return None
        return round(self.current - self.baseline, 6)


@dataclass(frozen=True)
class CaseDiff:
    id: str
    was_pass: bool | None
    now_pass: bool
    changes: tuple[tuple[str, Any, Any], ...] = ()
    answer_changed: bool = False
    baseline_answer: str = ""

    @property
    def status(self) -> str:
        if self.was_pass is None:
            return "new"
        if self.was_pass and not self.now_pass:
            return "pass→fail"
        if not self.was_pass and self.now_pass:
            return "fail→pass"
        return "pass" if self.now_pass else "fail"


@dataclass
class Comparison:
    aggregates: list[AggregateDiff]
    cases: dict[str, CaseDiff]
    tolerance: float
    notes: list[str] = field(default_factory=list)

    @property
    def regressed_metrics(self) -> list[AggregateDiff]:
        return [d for d in self.aggregates if d.regressed]

    @property
    def broken_cases(self) -> list[str]:
        return [cid for cid, d in self.cases.items() if d.status == "pass→fail"]


def compare(
    run: RunResult,
    baseline: dict[str, Any],
    *,
    tolerance: float,
    dataset_sha256: str,
    settings_sha256: str,
    judge: str,
    corpus_sha256: str | None = None,
    settings_values: dict[str, Any] | None = None,
) -> Comparison:
    base_aggregates = baseline.get("aggregates") or {}
    diffs = [
        AggregateDiff(
            name,
            run.aggregates.get(name),
            base_aggregates.get(name),
            _regressed(name, run.aggregates.get(name), base_aggregates.get(name), tolerance),
        )
        for name in (*RATE_METRICS, *LATENCY_METRICS)
    ]
    base_cases = baseline.get("cases") or {}
    cases = {r.case.id: _case_diff(r, base_cases.get(r.case.id)) for r in run.results}
    notes = _notes(baseline, dataset_sha256, settings_sha256, judge, set(cases))
    if settings_values is not None:
        notes = [_with_changed_settings(n, baseline, settings_values) for n in notes]
    if corpus_sha256 is not None and baseline.get("corpus_sha256") != corpus_sha256:
        notes.append("the articles changed since the baseline")
    return Comparison(diffs, cases, tolerance, notes)


def _regressed(name: str, current: float | None, base: float | None, tolerance: float) -> bool:
    if name not in GATED_METRICS or current is None or base is None:
        return False
    if name in LOWER_IS_BETTER:
        return current > base + tolerance + EPSILON
    return current < base - tolerance - EPSILON


def _case_diff(result: CaseResult, base: dict[str, Any] | None) -> CaseDiff:
    if base is None:
        return CaseDiff(result.case.id, None, result.passed)
    before, after = base.get("metrics") or {}, result.score.metrics
    changes = tuple(
        (name, before.get(name), after.get(name))
        for name in CASE_METRICS_SHOWN
        if before.get(name) != after.get(name)
    )
    answer = str(base.get("answer", ""))
    return CaseDiff(
        result.case.id,
        bool(base.get("pass")),
        result.passed,
        changes,
        answer_changed=answer != result.answer.text,
        baseline_answer=answer,
    )


def _notes(
    baseline: dict[str, Any], dataset_sha: str, settings_sha: str, judge: str, ids: set[str]
) -> list[str]:
    notes = []
    if (baseline.get("dataset") or {}).get("sha256") != dataset_sha:
        notes.append("the dataset changed since the baseline: cases are compared by id")
    if (baseline.get("settings") or {}).get("sha256") != settings_sha:
        notes.append("the engine settings differ from the baseline's")
    if baseline.get("judge") != judge:
        notes.append(f"the baseline was judged by {baseline.get('judge')!r}, this run by {judge!r}")
    gone = sorted(set(baseline.get("cases") or {}) - ids)
    if gone:
        notes.append(f"{len(gone)} baseline case(s) are not in this dataset: {', '.join(gone)}")
    return notes


def _with_changed_settings(note: str, baseline: dict[str, Any], now: dict[str, Any]) -> str:
    if not note.startswith("the engine settings differ"):
        return note
    before = (baseline.get("settings") or {}).get("values") or {}
    changed = [
        f"{name} {before.get(name)!r} → {now.get(name)!r}"
        for name in sorted(set(before) | set(now))
        if before.get(name) != now.get(name)
    ]
    return f"{note}: {', '.join(changed)}" if changed else note


# -- the gate --------------------------------------------------------------------------


def gate_failures(
    aggregates: dict[str, float | None], comparison: Comparison | None, *, absolute: bool = True
) -> list[str]:
    """Why the run fails; empty when it passes. `absolute`: citation validity and refusal
    accuracy must also be 1.0 (a set that tracks progress gates on regressions only)."""
    failures = []
    for name in ("citation_validity", "refusal_accuracy") if absolute else ():
        value = aggregates.get(name)
        if value is not None and value < 1.0:
            failures.append(f"{name} is {value:.3f}, it must be 1.0")
    if comparison is None:
        return failures
    for diff in comparison.regressed_metrics:
        lower = diff.name in LOWER_IS_BETTER
        verb, worse = ("rose to", "above") if lower else ("fell to", "below")
        failures.append(
            f"{diff.name} {verb} {diff.current:.4f}, {worse} the baseline {diff.baseline:.4f}"
            + (f" (tolerance {comparison.tolerance})" if comparison.tolerance else "")
        )
    broken = comparison.broken_cases
    if broken:
        failures.append(f"{len(broken)} case(s) went from pass to fail: {', '.join(broken)}")
    return failures
