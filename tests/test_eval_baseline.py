"""Baseline comparison and the gate, on runs built from hand-made answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.answer import Answer, Citation
from assistant.errors import ConfigError
from assistant.evaluation.baseline import (
    LLM_TOLERANCE,
    answer_settings,
    build_baseline,
    compare,
    gate_failures,
    load_baseline,
    save_baseline,
    settings_hash,
    tolerance_for,
)
from assistant.evaluation.dataset import Case, Dataset, corpus_texts, load_dataset
from assistant.evaluation.judges import LexicalJudge
from assistant.evaluation.metrics import aggregate, score_case
from assistant.evaluation.runner import CaseResult, RunResult
from assistant.settings import load_settings
from tests.conftest import ROOT, SOURCES

ARMY = "The size of the Ukrainian Armed Forces will be limited to 600,000 personnel."
ASKED = Case("army", "How big may the army be?", True, (("600,000",),), (ARMY,))
OUT_OF_SCOPE = Case("capital", "What is the capital of Australia?", False)


def answered(text: str = ARMY, ms: float = 5.0) -> Answer:
    cite = Citation(1, "a.md", "A", "", ARMY, ARMY, 0, len(ARMY))
    return Answer("q", f"{text} [1]", [cite], False, "extractive", timings_ms={"total": ms})


def declined(ms: float = 5.0) -> Answer:
    return Answer("q", "I can't answer that.", [], True, "extractive", timings_ms={"total": ms})


def run_of(*pairs: tuple[Case, Answer]) -> RunResult:
    judge = LexicalJudge()
    results = [CaseResult(c, a, score_case(c, a, judge)) for c, a in pairs]
    return RunResult(results, aggregate([c for c, _ in pairs], [r.score for r in results]), 0.1)


def baseline_of(run: RunResult) -> dict:  # type: ignore[type-arg]
    cases = tuple(r.case for r in run.results)
    return build_baseline(
        run,
        dataset=Dataset(Path("cases.yaml"), cases),
        dataset_label="cases.yaml",
        settings=load_settings(),
        corpus_sha256="c",
        judge="lexical",
        backend="extractive",
    )


def gate(run: RunResult, baseline: dict, tolerance: float = 0.0) -> list[str]:  # type: ignore[type-arg]
    comparison = compare(
        run,
        baseline,
        tolerance=tolerance,
        dataset_sha256=baseline["dataset"]["sha256"],
        settings_sha256=baseline["settings"]["sha256"],
        judge="lexical",
    )
    return gate_failures(run.aggregates, comparison)


GOOD = run_of((ASKED, answered()), (OUT_OF_SCOPE, declined()))


def test_the_same_results_pass_even_when_latency_grows() -> None:
    slower = run_of((ASKED, answered(ms=500.0)), (OUT_OF_SCOPE, declined(ms=900.0)))
    assert gate(slower, baseline_of(GOOD)) == []


def test_a_case_going_from_pass_to_fail_fails_the_gate() -> None:
    worse = run_of((ASKED, answered("The army will be limited.")), (OUT_OF_SCOPE, declined()))
    failures = gate(worse, baseline_of(GOOD))
    assert "1 case(s) went from pass to fail: army" in failures
    expected = "fact_recall fell to 0.0000, below the baseline 1.0000"
    assert any(f.startswith(expected) for f in failures)


def test_a_rising_false_refusal_rate_is_a_regression() -> None:
    refusing = run_of((ASKED, declined()), (OUT_OF_SCOPE, declined()))
    failures = gate(refusing, baseline_of(GOOD))
    expected = "false_refusal_rate rose to 1.0000, above the baseline 0.0000"
    assert any(f.startswith(expected) for f in failures)


def test_tolerance_lets_a_small_drop_through_but_not_a_pass_to_fail() -> None:
    base = baseline_of(GOOD)
    base["aggregates"]["citation_precision"] = 1.0 + LLM_TOLERANCE / 2
    assert gate(GOOD, base, tolerance=LLM_TOLERANCE) == []
    assert gate(GOOD, base, tolerance=0.0) != []


def test_citation_validity_and_refusal_accuracy_must_be_perfect_without_a_baseline() -> None:
    bad_marker = Answer("q", f"{ARMY} [2]", answered().citations, False, "extractive")
    broken = run_of((ASKED, bad_marker), (OUT_OF_SCOPE, answered()))
    assert gate_failures(broken.aggregates, None) == [
        "citation_validity is 0.500, it must be 1.0",
        "refusal_accuracy is 0.000, it must be 1.0",
    ]
    assert gate_failures(GOOD.aggregates, None) == []


def test_the_comparison_reports_changes_per_case_and_notes() -> None:
    base = baseline_of(GOOD)
    base["settings"]["sha256"] = "other"
    worse = run_of((ASKED, declined()), (OUT_OF_SCOPE, declined()))
    comparison = compare(
        worse, base, tolerance=0.0, dataset_sha256="x", settings_sha256="y", judge="llm"
    )
    diff = comparison.cases["army"]
    assert diff.status == "pass→fail" and diff.answer_changed
    assert ("refused", False, True) in diff.changes
    assert comparison.cases["capital"].status == "pass"
    assert len(comparison.notes) == 3


def test_the_tolerance_is_zero_only_in_the_deterministic_mode() -> None:
    assert tolerance_for(backend="extractive", judge="lexical") == 0.0
    assert tolerance_for(backend="extractive", judge="llm") == LLM_TOLERANCE
    assert tolerance_for(backend="llm:gpt-4o-mini", judge="lexical") == LLM_TOLERANCE


def test_the_settings_hash_ignores_paths_and_secrets_but_not_answer_settings(
    tmp_path: Path,
) -> None:
    plain = load_settings()
    elsewhere = load_settings(data_dir=tmp_path, sources=[tmp_path], chroma_token="secret")
    assert settings_hash(plain) == settings_hash(elsewhere)
    assert "secret" not in json.dumps(answer_settings(elsewhere))
    assert settings_hash(load_settings(top_k=3)) != settings_hash(plain)
    with_llm = load_settings(openai_api_key="sk-test")
    assert answer_settings(with_llm)["backend"] == "llm:gpt-4o-mini"
    assert "sk-test" not in json.dumps(answer_settings(with_llm))


def test_a_baseline_round_trips_and_a_missing_one_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "baseline.json"
    save_baseline(path, baseline_of(GOOD))
    loaded = load_baseline(path)
    assert loaded["cases"]["army"]["pass"] is True
    assert "latency_ms" not in loaded["cases"]["army"]["metrics"]
    with pytest.raises(ConfigError, match="--update-baseline"):
        load_baseline(tmp_path / "none.json")


def test_the_committed_baseline_matches_the_bundled_dataset() -> None:
    """Editing evals/qa.yaml means running `assistant eval --update-baseline` too."""
    committed = load_baseline(ROOT / "evals" / "baseline.json")
    dataset = load_dataset(ROOT / "evals" / "qa.yaml", corpus_texts([SOURCES]))
    assert committed["dataset"]["sha256"] == dataset.sha256
    assert committed["settings"]["values"]["top_k"] == load_settings().top_k
    assert set(committed["cases"]) == {c.id for c in dataset.cases}
    assert committed["judge"] == "lexical" and committed["backend"] == "extractive"
