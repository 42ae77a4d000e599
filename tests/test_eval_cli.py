"""`assistant eval` as a real subprocess on a small dataset: outputs, baseline, gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

ASSISTANT = ROOT / ".venv" / "bin" / "assistant"
PLANT = "What does the draft say about the Zaporizhzhia nuclear power plant?"
CASES: list[dict[str, Any]] = [
    {
        "id": "army-cap",
        "question": "What limit does the draft set on Ukraine's armed forces?",
        "answerable": True,
        "must_include": [["600,000", "600000"]],
        "evidence": [
            "The size of the Ukrainian Armed Forces will be limited to 600,000 personnel."
        ],
    },
    {
        "id": "plant-split",
        "history": [PLANT],
        "question": "How would its electricity be split?",
        "answerable": True,
        "must_include": [["equally"]],
        "evidence": ['"equally between Russia and Ukraine"'],
    },
    {"id": "capital", "question": "What is the capital of Australia?", "answerable": False},
]


def eval_cli(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ASSISTANT), "eval", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "true", **(env or {})},
        cwd=ROOT,
        timeout=180,
    )


def write_cases(path: Path, cases: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump(cases, sort_keys=False), encoding="utf-8")
    return path


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def workspace(data_dir: Path, tmp_path: Path) -> Path:
    """A temp dataset next to the prebuilt index (data_dir exports ASSISTANT_DATA_DIR)."""
    write_cases(tmp_path / "cases.yaml", CASES)
    return tmp_path


def run_against_baseline(ws: Path, name: str, **env: str) -> subprocess.CompletedProcess[str]:
    return eval_cli(
        "--dataset", ws / "cases.yaml",
        "--output", ws / f"{name}.jsonl",
        "--report", ws / name,
        "--baseline", ws / "baseline.json",
        env=env,
    )  # fmt: skip


def test_a_baseline_then_a_clean_run_then_regressions(workspace: Path) -> None:
    ws = workspace
    made = eval_cli(
        "--dataset", ws / "cases.yaml", "--output", ws / "first.jsonl", "--report", ws / "first",
        "--baseline", ws / "baseline.json", "--update-baseline",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    baseline = json.loads((ws / "baseline.json").read_text(encoding="utf-8"))
    assert set(baseline["cases"]) == {"army-cap", "plant-split", "capital"}
    assert all(case["pass"] for case in baseline["cases"].values())
    assert len(baseline["dataset"]["sha256"]) == len(baseline["settings"]["sha256"]) == 64

    clean = run_against_baseline(ws, "clean")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Gate: passed" in clean.stdout and "| fact_recall | 1.000 | 1.000 |" in clean.stdout
    check_results_lines(lines(ws / "clean.jsonl"))
    check_report_files(ws / "clean")

    # A setting that makes the offline answerer decline everything: two cases break.
    strict = run_against_baseline(ws, "strict", ASSISTANT_MIN_SUPPORT="0.99")
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert "2 case(s) went from pass to fail: army-cap, plant-split" in strict.stdout
    assert "note: the engine settings differ from the baseline's: min_support 0.336 → 0.99" in (
        strict.stdout
    )
    gate = json.loads((ws / "strict" / "aggregates.json").read_text(encoding="utf-8"))["gate"]
    assert gate["passed"] is False
    assert any(f.startswith("false_refusal_rate rose to 1.0000") for f in gate["failures"])
    assert "pass→fail" in (ws / "strict" / "report.html").read_text(encoding="utf-8")

    # A dataset change: the army case now also expects a figure the answer lacks.
    changed = [{**CASES[0], "must_include": [["600,000"], ["880,000"]]}, *CASES[1:]]
    write_cases(ws / "cases.yaml", changed)
    edited = run_against_baseline(ws, "edited")
    assert edited.returncode == 1
    assert "1 case(s) went from pass to fail: army-cap" in edited.stdout
    assert "note: the dataset changed since the baseline" in edited.stdout
    assert json.loads((ws / "baseline.json").read_text(encoding="utf-8")) == baseline


def check_results_lines(rows: list[dict[str, Any]]) -> None:
    assert [row["id"] for row in rows] == ["army-cap", "plant-split", "capital"]
    for row in rows:
        for key in ("answer", "refused", "citations", "retrieved", "backend", "timings_ms"):
            assert key in row, key
        assert row["backend"] == "extractive" and isinstance(row["pass"], bool)
    army, plant, capital = rows
    assert "600,000" in army["answer"] and army["metrics"]["fact_recall"] == 1.0
    assert army["metrics"]["citation_valid"] and army["metrics"]["first_hit_rank"] >= 1
    assert army["sentences"] and all(s["supported"] for s in army["sentences"])
    assert plant["history"] == [PLANT] and "equally" in plant["answer"]
    assert capital["refused"] and capital["citations"] == []
    assert capital["metrics"]["correct_refusal"] is True


def check_report_files(report: Path) -> None:
    summary = (report / "summary.md").read_text(encoding="utf-8")
    assert "| metric | value | baseline | Δ | gate |" in summary
    aggregates = json.loads((report / "aggregates.json").read_text(encoding="utf-8"))
    assert aggregates["gate"] == {"passed": True, "failures": []}
    assert aggregates["aggregates"]["refusal_accuracy"] == 1.0
    assert aggregates["baseline_aggregates"]["fact_recall"] == 1.0
    page = (report / "report.html").read_text(encoding="utf-8")
    assert page.count('<tr id="case-') == 3 and "<svg" in page
    assert 'href="#c-army-cap-1"' in page  # markers link to their citations
    chart = (report / "chart.svg").read_text(encoding="utf-8")
    assert chart.startswith("<svg") and "fact_recall" in chart


def test_an_invalid_dataset_stops_before_asking_and_names_the_case(workspace: Path) -> None:
    broken = [*CASES, {**CASES[0], "evidence": ["A quote no article contains."]}]
    result = eval_cli("--dataset", write_cases(workspace / "broken.yaml", broken))
    assert result.returncode == 2
    assert "case 'army-cap' (#4): duplicate id (case #1 has the same id)" in result.stderr
    assert "case 'army-cap': evidence quote not found" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_custom_dataset_needs_a_baseline_path_to_update_one(workspace: Path) -> None:
    result = eval_cli("--dataset", workspace / "cases.yaml", "--update-baseline")
    assert result.returncode == 2
    assert "needs --baseline PATH" in result.stderr


def test_a_custom_dataset_without_baseline_still_gates_on_refusals(workspace: Path) -> None:
    wrong = [{**CASES[0], "id": "army-says-no", "answerable": False}]
    for key in ("must_include", "evidence"):
        wrong[0].pop(key)
    result = eval_cli(
        "--dataset", write_cases(workspace / "wrong.yaml", wrong),
        "--output", workspace / "wrong.jsonl", "--report", workspace / "wrong",
    )  # fmt: skip
    assert result.returncode == 1
    assert "refusal_accuracy is 0.000, it must be 1.0" in result.stdout


def test_a_progress_set_gates_on_regressions_only(workspace: Path) -> None:
    """evals/reader/ tracks progress: a refusal accuracy below 1.0 may be the baseline, but
    a case that goes from pass to fail still fails the run."""
    wrong = [{**CASES[0], "id": "army-says-no", "answerable": False}, CASES[0]]
    for key in ("must_include", "evidence"):
        wrong[0].pop(key)
    dataset = write_cases(workspace / "progress.yaml", wrong)

    def run(*extra: str | Path) -> subprocess.CompletedProcess[str]:
        return eval_cli(
            "--dataset", dataset, "--output", workspace / "p.jsonl", "--report", workspace / "p",
            "--baseline", workspace / "progress.json", "--regressions-only", *extra,
        )  # fmt: skip

    written = run("--update-baseline")
    assert written.returncode == 0, written.stderr
    assert run().returncode == 0
    # The army case now also expects a figure the answer lacks: pass -> fail.
    write_cases(dataset, [wrong[0], {**CASES[0], "must_include": [["600,000"], ["880,000"]]}])
    regressed = run()
    assert regressed.returncode == 1
    assert "1 case(s) went from pass to fail: army-cap" in regressed.stdout
    assert "must be 1.0" not in regressed.stdout


def test_the_command_module_is_light_and_lists_its_options() -> None:
    probe = (
        "import sys, assistant.evaluation.cli; "
        "heavy = ('llama_index', 'chromadb', 'gradio', 'openai', 'yaml', 'numpy', 'pydantic'); "
        "print([m for m in sys.modules if m.split('.')[0] in heavy])"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert loaded.stdout.strip() == "[]", loaded.stderr
    usage = eval_cli("--help").stdout
    for option in ("--dataset", "--output", "--report", "--baseline", "--update-baseline"):
        assert option in usage
    assert "{lexical,llm}" in usage
