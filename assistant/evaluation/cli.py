"""`assistant eval`: run the regression evals. Light at import: argparse only."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.evaluation.baseline import Comparison
    from assistant.evaluation.dataset import Dataset
    from assistant.evaluation.runner import CaseResult, Progress, RunResult
    from assistant.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_DATASET = PROJECT_ROOT / "evals" / "qa.yaml"
BUNDLED_BASELINE = PROJECT_ROOT / "evals" / "baseline.json"
BUNDLED_CITATIONS = PROJECT_ROOT / "evals" / "citations"
BUNDLED_CITATIONS_BASELINE = PROJECT_ROOT / "evals" / "citations-baseline.json"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="score answers against fixed Q&A cases and fail on a regression",
        description=(
            "Ask every case of a dataset, score retrieval, answers, citations and refusals, "
            "and compare with the baseline. Exits 1 when a metric falls below the baseline, "
            "citation validity or refusal accuracy is below 1.0, or a case goes from pass "
            "to fail. Metrics are defined in evals/README.md."
        ),
    )
    parser.add_argument(
        "--dataset",
        type=Path,
        default=None,
        metavar="PATH",
        help="cases in the evals/qa.yaml schema (default: the bundled evals/qa.yaml); with "
        "--citations, a folder holding dev.yaml and test.yaml (default: evals/citations)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("results.jsonl"),
        metavar="PATH",
        help="one JSON line per case (default: results.jsonl)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=Path("eval-report"),
        metavar="DIR",
        help="where summary.md, aggregates.json, chart.svg and report.html go "
        "(default: eval-report)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="PATH",
        help="compare with this baseline (default: evals/baseline.json for the bundled "
        "dataset, evals/citations-baseline.json with --citations, none for other datasets)",
    )
    parser.add_argument(
        "--update-baseline",
        action="store_true",
        help="write this run as the new baseline instead of comparing with it",
    )
    parser.add_argument(
        "--regressions-only",
        action="store_true",
        help="gate only on regressions against the baseline, not on citation validity and "
        "refusal accuracy reaching 1.0 (for sets that track progress, as evals/reader/)",
    )
    parser.add_argument(
        "--judge",
        choices=("lexical", "llm"),
        default="lexical",
        help="who decides whether passages support a sentence (default: lexical, offline)",
    )
    parser.add_argument(
        "--citations",
        action="store_true",
        help="run the citation benchmark instead: a scripted model replays good and corrupted "
        "sentences and the engine's citation check is scored (offline; writes "
        "DIR/citations.md and DIR/citations.json)",
    )
    parser.add_argument(
        "--split",
        choices=("dev", "test", "all"),
        default=None,
        help="with --citations: which split of the citation dataset to run (default: all)",
    )
    parser.set_defaults(handler=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    from assistant.cli import load_settings_from_env, open_assistant
    from assistant.errors import ConfigError

    if args.citations:
        return run_citations(args)
    if args.split is not None:
        raise ConfigError("--split applies to the citation benchmark only (add --citations)")
    from assistant.evaluation.dataset import corpus_texts, load_dataset
    from assistant.evaluation.judges import make_judge
    from assistant.evaluation.runner import run_dataset

    started = time.perf_counter()
    settings = load_settings_from_env()
    dataset_path = (args.dataset or BUNDLED_DATASET).resolve()
    baseline_path = _baseline_path(args, dataset_path)
    texts = corpus_texts(settings.sources)
    dataset = load_dataset(dataset_path, texts)
    texts += [text for folder in dataset.corpora for text in corpus_texts([folder])]
    judge = make_judge(args.judge, settings)
    assistant = open_assistant(settings)
    with tempfile.TemporaryDirectory(prefix="assistant-eval-") as scratch:

        def assistant_for(folder: Path) -> Any:
            """An engine over a case's own corpus, indexed afresh in a scratch folder."""
            index = Path(scratch) / f"corpus-{len(list(Path(scratch).iterdir()))}"
            own = settings.model_copy(
                update={
                    "sources": [folder],
                    "data_dir": index,
                    "chroma_url": None,
                    "chroma_path": None,
                }
            )
            return open_assistant(own)

        run = run_dataset(
            assistant, dataset, judge, progress=_progress_printer(), assistant_for=assistant_for
        )
    context = _Context(settings, dataset, texts, judge.name, assistant.info().backend, started)
    if args.update_baseline:
        return _update_baseline(args, baseline_path, run, context)
    return _compare_and_report(args, baseline_path, run, context)


@dataclass(frozen=True)
class _Context:
    settings: Settings
    dataset: Dataset
    texts: list[str]
    judge: str
    backend: str
    started: float


def _baseline_path(args: argparse.Namespace, dataset_path: Path) -> Path | None:
    from assistant.errors import ConfigError

    if args.baseline is not None:
        return args.baseline
    if dataset_path == BUNDLED_DATASET.resolve():
        return BUNDLED_BASELINE
    if args.update_baseline:
        raise ConfigError(
            "--update-baseline with a dataset other than the bundled one needs --baseline PATH"
        )
    return None


def _compare_and_report(
    args: argparse.Namespace, baseline_path: Path | None, run: RunResult, ctx: _Context
) -> int:
    from assistant.evaluation.baseline import (
        answer_settings,
        compare,
        corpus_hash,
        gate_failures,
        load_baseline,
        settings_hash,
        tolerance_for,
    )

    comparison = None
    tolerance = tolerance_for(backend=ctx.backend, judge=ctx.judge)
    if baseline_path is not None:
        comparison = compare(
            run,
            load_baseline(baseline_path),
            tolerance=tolerance,
            dataset_sha256=ctx.dataset.sha256,
            settings_sha256=settings_hash(ctx.settings),
            judge=ctx.judge,
            corpus_sha256=corpus_hash(ctx.texts),
            settings_values=answer_settings(ctx.settings),
        )
    failures = gate_failures(run.aggregates, comparison, absolute=not args.regressions_only)
    _write_outputs(args, run, ctx, baseline_path, tolerance, comparison, failures)
    return 1 if failures else 0


def _update_baseline(
    args: argparse.Namespace, baseline_path: Path | None, run: RunResult, ctx: _Context
) -> int:
    from assistant.evaluation.baseline import (
        build_baseline,
        corpus_hash,
        gate_failures,
        save_baseline,
        tolerance_for,
    )

    assert baseline_path is not None
    failures = gate_failures(run.aggregates, None, absolute=not args.regressions_only)
    tolerance = tolerance_for(backend=ctx.backend, judge=ctx.judge)
    _write_outputs(args, run, ctx, baseline_path, tolerance, None, failures)
    if failures:
        print(f"baseline NOT written to {baseline_path}: fix the failures first", file=sys.stderr)
        return 1
    baseline = build_baseline(
        run,
        dataset=ctx.dataset,
        dataset_label=_label(ctx.dataset.path),
        settings=ctx.settings,
        corpus_sha256=corpus_hash(ctx.texts),
        judge=ctx.judge,
        backend=ctx.backend,
    )
    save_baseline(baseline_path, baseline)
    print(f"baseline written to {baseline_path}", file=sys.stderr)
    return 0


def _write_outputs(
    args: argparse.Namespace,
    run: RunResult,
    ctx: _Context,
    baseline_path: Path | None,
    tolerance: float,
    comparison: Comparison | None,
    failures: list[str],
) -> None:
    from assistant.evaluation.baseline import settings_hash
    from assistant.evaluation.report import RunInfo, summary_markdown, write_report, write_results

    info = RunInfo(
        dataset=_label(ctx.dataset.path),
        dataset_sha256=ctx.dataset.sha256,
        settings_sha256=settings_hash(ctx.settings),
        judge=ctx.judge,
        backend=ctx.backend,
        tolerance=tolerance,
        baseline=_label(baseline_path) if baseline_path and comparison is not None else None,
        seconds=round(time.perf_counter() - ctx.started, 2),
    )
    write_results(args.output, run.results)
    written = write_report(args.report, run, info, comparison, failures)
    print(summary_markdown(run, info, comparison, failures))
    print(f"results: {args.output} · report: {written[-1]}", file=sys.stderr)


def _label(path: Path) -> str:
    """A path relative to the project root when it lies below it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def _progress_printer() -> Progress:
    import os

    live = sys.stderr.isatty() and os.environ.get("CI", "").lower() not in ("1", "true")

    def report(done: int, total: int, result: CaseResult) -> None:
        if live:
            end = "\n" if done == total else ""
            print(f"\r\033[Keval {done}/{total} {result.case.id}", end=end, file=sys.stderr)

    return report


# -- the citation benchmark ------------------------------------------------------------


def run_citations(args: argparse.Namespace) -> int:
    from assistant.cli import load_settings_from_env, open_assistant
    from assistant.evaluation.baseline import corpus_hash, save_baseline
    from assistant.evaluation.citation_bench import load_citation_dataset, run_benchmark, splits_for
    from assistant.evaluation.citation_report import (
        RunInfo,
        build_baseline,
        compare,
        engine_hash,
        gate_failures,
        load_baseline,
        summary_markdown,
        write_report,
    )
    from assistant.evaluation.dataset import corpus_texts

    settings = load_settings_from_env()
    directory = _citations_directory(args)
    baseline_path = _citations_baseline_path(args, directory)
    texts = corpus_texts(settings.sources)
    dataset = load_citation_dataset(directory, splits_for(args.split or "all"), texts)
    run = run_benchmark(dataset, open_assistant=open_assistant, progress=_replay_printer())
    compared = baseline_path is not None and not args.update_baseline
    info = RunInfo(
        dataset=_label(directory),
        baseline=_label(baseline_path) if compared and baseline_path else None,
        corpus_sha256=corpus_hash(texts),
        engine_sha256=engine_hash(),
    )
    comparison = compare(run, load_baseline(baseline_path), info) if compared else None
    failures = gate_failures(comparison)
    written = write_report(args.report, run, info, comparison, failures)
    print(summary_markdown(run, info, comparison, failures))
    print(f"report: {written[0]}, {written[1]}", file=sys.stderr)
    if args.update_baseline:
        assert baseline_path is not None
        save_baseline(baseline_path, build_baseline(run, info))
        print(f"citation baseline written to {baseline_path}", file=sys.stderr)
        return 0
    return 1 if failures else 0


def _citations_directory(args: argparse.Namespace) -> Path:
    from assistant.errors import ConfigError

    directory = (args.dataset or BUNDLED_CITATIONS).resolve()
    if directory.is_file():
        raise ConfigError(
            f"with --citations, --dataset is a folder holding dev.yaml and test.yaml, "
            f"not a file: {directory}"
        )
    return directory


def _citations_baseline_path(args: argparse.Namespace, directory: Path) -> Path | None:
    from assistant.errors import ConfigError

    if args.baseline is not None:
        return args.baseline
    if directory == BUNDLED_CITATIONS.resolve():
        return BUNDLED_CITATIONS_BASELINE
    if args.update_baseline:
        raise ConfigError(
            "--update-baseline with a citation dataset other than evals/citations needs "
            "--baseline PATH"
        )
    return None


def _replay_printer() -> Callable[[int, int, Any], None]:
    import os

    live = sys.stderr.isatty() and os.environ.get("CI", "").lower() not in ("1", "true")

    def report(done: int, total: int, result: Any) -> None:
        if live:
            end = "\n" if done == total else ""
            replay = result.replay
            print(
                f"\r\033[Kcitations {done}/{total} {replay.citation_style} {replay.question.id}",
                end=end,
                file=sys.stderr,
            )

    return report
