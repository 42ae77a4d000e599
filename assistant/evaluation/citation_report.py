"""The citation benchmark's baseline, gate and report (Markdown and JSON).

The baseline (evals/citations-baseline.json) changes only through
``assistant eval --citations --update-baseline``. Every run is deterministic (a scripted
model, the deterministic check), so the gate has no tolerance: a gated rate below the
baseline's (the declined rate above it) fails the run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError
from assistant.evaluation.baseline import answer_settings, settings_hash
from assistant.evaluation.citation_bench import METRICS, BenchRun, Metric, Metrics, Rate

BASELINE_FORMAT = 1
EPSILON = 1e-9
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# What decides how a replayed answer is checked: the engine's modules, data tables and prompts.
ENGINE_FILES = ("assistant/*.py", "assistant/data/*", "prompts/*.md")


@dataclass(frozen=True)
class RunInfo:
    dataset: str
    baseline: str | None
    corpus_sha256: str
    engine_sha256: str


def engine_hash(root: Path = PROJECT_ROOT) -> str:
    digest = hashlib.sha256()
    for pattern in ENGINE_FILES:
        for path in sorted(root.glob(pattern)):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def metrics_json(metrics: Metrics) -> dict[str, Any]:
    return {
        split: {
            style: {key: rate.to_json() for key, rate in rates.items()}
            for style, rates in styles.items()
        }
        for split, styles in metrics.items()
    }


# -- the baseline ----------------------------------------------------------------------------


def build_baseline(run: BenchRun, info: RunInfo) -> dict[str, Any]:
    return {"format": BASELINE_FORMAT, **_run_record(run, info)}


def _run_record(run: BenchRun, info: RunInfo) -> dict[str, Any]:
    """What a run was measured on, and its metrics: shared by the baseline and the report."""
    return {
        "dataset": _dataset_record(run, info),
        "settings": {
            "sha256": settings_hash(run.settings),
            "values": answer_settings(run.settings),
        },
        "corpus_sha256": info.corpus_sha256,
        "engine_sha256": info.engine_sha256,
        "metrics": metrics_json(run.metrics),
    }


def _dataset_record(run: BenchRun, info: RunInfo) -> dict[str, Any]:
    return {
        "path": info.dataset,
        "splits": list(run.dataset.splits),
        "sha256": run.dataset.sha256,
        "questions": len(run.dataset.questions),
        "replays": len(run.results),
    }


def load_baseline(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"citation baseline not found: {path} "
            "(create it with `assistant eval --citations --update-baseline`)"
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the citation baseline {path}: {exc}") from None
    if (
        not isinstance(data, dict)
        or data.get("format") != BASELINE_FORMAT
        or not isinstance(data.get("metrics"), dict)
    ):
        raise ConfigError(f"{path} is not a citation baseline this version can read")
    return data


# -- comparing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    split: str
    style: str
    metric: Metric
    current: Rate
    baseline: float

    @property
    def regressed(self) -> bool:
        value = self.current.value
        if not self.metric.gated or value is None:
            return False
        if self.metric.lower_is_better:
            return value > self.baseline + EPSILON
        return value < self.baseline - EPSILON

    def failure(self) -> str:
        verb, side = ("rose to", "above") if self.metric.lower_is_better else ("fell to", "below")
        rate = self.current
        return (
            f"{self.style}/{self.split}: {self.metric.label} {verb} {rate.value:.3f} "
            f"({rate.hits}/{rate.total}), {side} the baseline {self.baseline:.3f}"
        )


@dataclass
class Comparison:
    changes: list[Change]
    notes: list[str]

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.regressed]

    def change(self, split: str, style: str, key: str) -> Change | None:
        for change in self.changes:
            if (change.split, change.style, change.metric.key) == (split, style, key):
                return change
        return None


def compare(run: BenchRun, baseline: dict[str, Any], info: RunInfo) -> Comparison:
    """Every rate that differs from the baseline's, and notes on what else differs."""
    before = baseline.get("metrics") or {}
    changes = []
    for split, styles in run.metrics.items():
        for style, rates in styles.items():
            for metric in METRICS:
                change = _change(split, style, metric, rates[metric.key], before)
                if change is not None:
                    changes.append(change)
    return Comparison(changes, _notes(run, baseline, info))


def _change(
    split: str, style: str, metric: Metric, rate: Rate, before: dict[str, Any]
) -> Change | None:
    old = ((before.get(split) or {}).get(style) or {}).get(metric.key) or {}
    value, base = rate.value, old.get("value")
    if value is None or not isinstance(base, int | float) or abs(value - base) <= EPSILON:
        return None
    return Change(split, style, metric, rate, float(base))


def _notes(run: BenchRun, baseline: dict[str, Any], info: RunInfo) -> list[str]:
    notes = []
    if (baseline.get("dataset") or {}).get("sha256") != run.dataset.sha256:
        notes.append("the dataset (or the splits run) differs from the baseline's")
    if (baseline.get("settings") or {}).get("sha256") != settings_hash(run.settings):
        notes.append(_settings_note(baseline, answer_settings(run.settings)))
    if baseline.get("corpus_sha256") != info.corpus_sha256:
        notes.append("the articles changed since the baseline")
    if baseline.get("engine_sha256") != info.engine_sha256:
        notes.append("the engine's code or prompts changed since the baseline")
    return notes


def _settings_note(baseline: dict[str, Any], now: dict[str, Any]) -> str:
    before = (baseline.get("settings") or {}).get("values") or {}
    changed = [
        f"{name} {before.get(name)!r} → {now.get(name)!r}"
        for name in sorted(set(before) | set(now))
        if before.get(name) != now.get(name)
    ]
    note = "the engine settings differ from the baseline's"
    return f"{note}: {', '.join(changed)}" if changed else note


def gate_failures(comparison: Comparison | None) -> list[str]:
    """Why the run fails; empty when it passes (always, without a baseline)."""
    return [c.failure() for c in comparison.regressions] if comparison else []


# -- the report ------------------------------------------------------------------------------


def summary_markdown(
    run: BenchRun, info: RunInfo, comparison: Comparison | None, failures: Sequence[str]
) -> str:
    dataset = run.dataset
    counts = ", ".join(
        f"{split} {sum(q.split == split for q in dataset.questions)} questions"
        for split in dataset.splits
    )
    lines = [
        "# Citation benchmark",
        "",
        f"Dataset `{info.dataset}` ({counts}); {len(run.results)} replays in "
        f"{run.seconds:.1f} s. The scripted model answers; the engine's deterministic check "
        "decides (model verification off).",
        f"Baseline: `{info.baseline}`." if info.baseline else "No baseline compared.",
        "Cells: rate (count/total); ▼/▲ worse/better than the baseline's value in brackets.",
    ]
    for style in _styles(run.metrics):
        lines += ["", f"## Citation style: {style}", "", *_style_table(run, style, comparison)]
    lines += ["", _verdict(failures), *(f"- {failure}" for failure in failures)]
    if comparison is not None:
        lines += [f"note: {note}" for note in comparison.notes]
    return "\n".join(lines) + "\n"


def _styles(metrics: Metrics) -> list[str]:
    return list(next(iter(metrics.values()), {}))


def _style_table(run: BenchRun, style: str, comparison: Comparison | None) -> list[str]:
    splits = list(run.metrics)
    rows = [
        f"| metric | {' | '.join(splits)} |",
        f"|---|{'---|' * len(splits)}",
    ]
    for metric in METRICS:
        name = metric.label + (" (lower is better)" if metric.lower_is_better else "")
        cells = [
            _cell(run.metrics[split][style][metric.key], comparison, split, style, metric)
            for split in splits
        ]
        if all(cell == "–" for cell in cells) and ":" in metric.key:
            continue
        rows.append(f"| {name} | {' | '.join(cells)} |")
    return rows


def _cell(rate: Rate, comparison: Comparison | None, split: str, style: str, metric: Metric) -> str:
    if rate.value is None:
        return "–"
    text = f"{rate.value:.3f} ({rate.hits}/{rate.total})"
    change = comparison.change(split, style, metric.key) if comparison else None
    if change is None or not metric.gated:
        return text
    return f"{text} {'▼' if change.regressed else '▲'} ({change.baseline:.3f})"


def _verdict(failures: Sequence[str]) -> str:
    if not failures:
        return "Gate: passed"
    return f"Gate: FAILED ({len(failures)} rate(s) worse than the baseline)"


def report_document(
    run: BenchRun, info: RunInfo, comparison: Comparison | None, failures: Sequence[str]
) -> dict[str, Any]:
    return {
        **_run_record(run, info),
        "seconds": round(run.seconds, 2),
        "baseline": info.baseline,
        "changes": [
            {
                "split": c.split,
                "citation_style": c.style,
                "metric": c.metric.key,
                "current": c.current.value,
                "baseline": c.baseline,
                "regressed": c.regressed,
            }
            for c in (comparison.changes if comparison else [])
        ],
        "notes": list(comparison.notes) if comparison else [],
        "gate": {"passed": not failures, "failures": list(failures)},
    }


def write_report(
    directory: Path,
    run: BenchRun,
    info: RunInfo,
    comparison: Comparison | None,
    failures: Sequence[str],
) -> list[Path]:
    """citations.md, citations.json and citations-replays.jsonl (one line per replay)."""
    directory.mkdir(parents=True, exist_ok=True)
    document = report_document(run, info, comparison, failures)
    files = {
        "citations.md": summary_markdown(run, info, comparison, failures),
        "citations.json": json.dumps(document, indent=2, ensure_ascii=False) + "\n",
        "citations-replays.jsonl": "".join(
            json.dumps(result.to_json(), ensure_ascii=False) + "\n" for result in run.results
        ),
    }
    written = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
