"""The report: results.jsonl, a Markdown summary, JSON aggregates, an HTML page, a chart."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.evaluation.baseline import GATED_METRICS, CaseDiff, Comparison
from assistant.evaluation.metrics import LATENCY_METRICS, LOWER_IS_BETTER, RATE_METRICS
from assistant.evaluation.runner import CaseResult, RunResult

CHECK_COLUMNS = (
    ("evidence@1200", "ctx"),
    ("hit", "hit"),
    ("facts", "facts"),
    ("refusal", "refusal"),
    ("validity", "valid"),
    ("citation_recall", "c.rec"),
    ("citation_precision", "c.prec"),
    ("faithfulness", "faith"),
)


@dataclass(frozen=True)
class RunInfo:
    dataset: str
    dataset_sha256: str
    settings_sha256: str
    judge: str
    backend: str
    tolerance: float
    baseline: str | None
    seconds: float


def write_results(path: Path, results: Sequence[CaseResult]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for result in results:
            out.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")


def write_report(
    directory: Path,
    run: RunResult,
    info: RunInfo,
    comparison: Comparison | None,
    failures: Sequence[str],
) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "summary.md": summary_markdown(run, info, comparison, failures),
        "aggregates.json": json.dumps(
            aggregates_document(run, info, comparison, failures), indent=2, ensure_ascii=False
        )
        + "\n",
        "chart.svg": chart_svg(run.aggregates, _baseline_values(comparison)),
        "report.html": report_html(run, info, comparison, failures),
    }
    written = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _baseline_values(comparison: Comparison | None) -> dict[str, float | None] | None:
    if comparison is None:
        return None
    return {d.name: d.baseline for d in comparison.aggregates}


# -- JSON ---------------------------------------------------------------------------------


def aggregates_document(
    run: RunResult, info: RunInfo, comparison: Comparison | None, failures: Sequence[str]
) -> dict[str, Any]:
    return {
        "run": asdict(info),
        "cases": len(run.results),
        "passed": run.passed,
        "aggregates": run.aggregates,
        "baseline_aggregates": _baseline_values(comparison),
        "regressed_metrics": [d.name for d in comparison.regressed_metrics] if comparison else [],
        "pass_to_fail": comparison.broken_cases if comparison else [],
        "notes": comparison.notes if comparison else [],
        "gate": {"passed": not failures, "failures": list(failures)},
    }


# -- Markdown -------------------------------------------------------------------------------


def summary_markdown(
    run: RunResult, info: RunInfo, comparison: Comparison | None, failures: Sequence[str]
) -> str:
    base = _baseline_values(comparison) or {}
    regressed = {d.name for d in comparison.regressed_metrics} if comparison else set()
    lines = [
        "## Eval summary",
        "",
        f"{len(run.results)} cases from `{info.dataset}`, {run.passed} pass · "
        f"answers: {info.backend} · judge: {info.judge} · {info.seconds:.1f} s",
        "",
        "| metric | value | baseline | Δ | gate |",
        "|---|---:|---:|---:|---|",
    ]
    for name in (*RATE_METRICS, *LATENCY_METRICS):
        value, before = run.aggregates.get(name), base.get(name)
        lines.append(
            f"| {name}{' ↓' if name in LOWER_IS_BETTER else ''} | {_fmt(name, value)} | "
            f"{_fmt(name, before)} | {_delta(name, value, before)} | "
            f"{_gate_mark(name, name in regressed, comparison is not None)} |"
        )
    lines += ["", "↓ lower is better. Latency is reported, not gated.", ""]
    lines += _verdict_lines(failures)
    if comparison is not None:
        lines += [f"- note: {note}" for note in comparison.notes]
        changed = [d for d in comparison.cases.values() if d.status in ("pass→fail", "fail→pass")]
        if changed:
            lines += ["", "Changed since the baseline:"]
            lines += [f"- `{d.id}`: {d.status}" for d in changed]
    failing = [r for r in run.results if not r.passed]
    if failing:
        lines += ["", "Failing cases:"]
        lines += [f"- `{r.case.id}`: {', '.join(_failed_checks(r)) or 'fail'}" for r in failing]
    return "\n".join(lines) + "\n"


def _verdict_lines(failures: Sequence[str]) -> list[str]:
    if not failures:
        return ["**Gate: passed.**"]
    return ["**Gate: FAILED**", "", *[f"- {f}" for f in failures]]


def _failed_checks(result: CaseResult) -> list[str]:
    return [name for name, ok in result.score.checks.items() if ok is False and name != "pass"]


def _gate_mark(name: str, regressed: bool, compared: bool) -> str:
    if name not in GATED_METRICS:
        return "–"
    if regressed:
        return "**regressed**"
    return "ok" if compared else "–"


def _fmt(name: str, value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f} ms" if name in LATENCY_METRICS else f"{value:.3f}"


def _delta(name: str, value: float | None, before: float | None) -> str:
    if value is None or before is None:
        return "–"
    delta = value - before
    return f"{delta:+.0f} ms" if name in LATENCY_METRICS else f"{delta:+.3f}"


# -- the chart (inline SVG, drawn here) ----------------------------------------------------

_BAR_AREA = 400
_LABEL_WIDTH = 170
_ROW = 30


def chart_svg(aggregates: dict[str, float | None], baseline: dict[str, float | None] | None) -> str:
    """Horizontal bars on a 0..1 scale: each rate metric now, and the baseline under it."""
    names = [n for n in RATE_METRICS if aggregates.get(n) is not None]
    width = _LABEL_WIDTH + _BAR_AREA + 70
    height = 40 + _ROW * len(names) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="12" '
        'aria-label="Aggregate metrics of this run against the baseline">',
        "<title>Aggregate metrics: this run against the baseline</title>",
        _legend(baseline is not None),
    ]
    for row, name in enumerate(names):
        parts.append(_bar_row(row, name, aggregates[name], (baseline or {}).get(name)))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _legend(with_baseline: bool) -> str:
    entries = [("#2563eb", "this run")]
    if with_baseline:
        entries += [("#dc2626", "worse than baseline"), ("#94a3b8", "baseline")]
    out, x = [], _LABEL_WIDTH
    for colour, label in entries:
        out.append(
            f'<rect x="{x}" y="8" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 17}" y="18">{label}</text>'
        )
        x += 30 + 7 * len(label)
    return "".join(out)


def _bar_row(row: int, name: str, value: float | None, before: float | None) -> str:
    y = 36 + row * _ROW
    value = value or 0.0
    lower = name in LOWER_IS_BETTER
    worse = before is not None and (value > before if lower else value < before)
    colour = "#dc2626" if worse else "#2563eb"
    label = html.escape(name + (" ↓" if lower else ""))
    out = [
        f'<text x="{_LABEL_WIDTH - 8}" y="{y + 11}" text-anchor="end">{label}</text>',
        f'<rect x="{_LABEL_WIDTH}" y="{y}" width="{_BAR_AREA}" height="22" fill="#f1f5f9"/>',
        f'<rect x="{_LABEL_WIDTH}" y="{y + 1}" width="{_scaled(value)}" height="11" '
        f'fill="{colour}"><title>{label}: {value:.3f}</title></rect>',
        f'<text x="{_LABEL_WIDTH + _BAR_AREA + 6}" y="{y + 11}">{value:.3f}</text>',
    ]
    if before is not None:
        out.append(
            f'<rect x="{_LABEL_WIDTH}" y="{y + 13}" width="{_scaled(before)}" height="8" '
            f'fill="#94a3b8"><title>{label} baseline: {before:.3f}</title></rect>'
        )
    return "".join(out)


def _scaled(value: float) -> str:
    return f"{max(0.0, min(1.0, value)) * _BAR_AREA:.1f}"


# -- HTML ------------------------------------------------------------------------------------

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#0f172a}
table{border-collapse:collapse;margin:12px 0}
td,th{border:1px solid #cbd5e1;padding:4px 8px;vertical-align:top;text-align:left}
th{background:#f1f5f9}
.ok{color:#15803d}.bad{color:#b91c1c;font-weight:600}.na{color:#94a3b8}
.fail{background:#fef2f2}.cites{font-size:12px;color:#334155;margin:4px 0 0 16px;padding:0}
.meta{color:#475569}.hist{color:#64748b;font-size:12px}
td.answer{max-width:520px}
"""


def report_html(
    run: RunResult, info: RunInfo, comparison: Comparison | None, failures: Sequence[str]
) -> str:
    e = html.escape
    verdict = (
        '<p class="ok"><strong>Gate: passed.</strong></p>'
        if not failures
        else '<p class="bad">Gate: FAILED</p><ul>'
        + "".join(f"<li>{e(f)}</li>" for f in failures)
        + "</ul>"
    )
    notes = "".join(f"<li>{e(n)}</li>" for n in (comparison.notes if comparison else []))
    head = (
        f"<h1>Eval report</h1><p class=meta>{len(run.results)} cases from "
        f"<code>{e(info.dataset)}</code>, {run.passed} pass · answers: {e(info.backend)} · "
        f"judge: {e(info.judge)} · baseline: {e(info.baseline or 'none')} · "
        f"{info.seconds:.1f} s</p>"
    )
    body = [
        head,
        verdict,
        f"<ul class=meta>{notes}</ul>" if notes else "",
        chart_svg(run.aggregates, _baseline_values(comparison)),
        _aggregate_table(run, comparison),
        _case_table(run.results, comparison),
    ]
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Eval report</title><style>{_STYLE}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def _aggregate_table(run: RunResult, comparison: Comparison | None) -> str:
    base = _baseline_values(comparison) or {}
    regressed = {d.name for d in comparison.regressed_metrics} if comparison else set()
    rows = []
    for name in (*RATE_METRICS, *LATENCY_METRICS):
        value, before = run.aggregates.get(name), base.get(name)
        mark = '<span class="bad">regressed</span>' if name in regressed else ""
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{_fmt(name, value)}</td>"
            f"<td>{_fmt(name, before)}</td><td>{_delta(name, value, before)}</td>"
            f"<td>{mark}</td></tr>"
        )
    return (
        "<h2>Aggregates</h2><table><tr><th>metric</th><th>value</th><th>baseline</th>"
        "<th>Δ</th><th></th></tr>" + "".join(rows) + "</table>"
    )


def _case_table(results: Sequence[CaseResult], comparison: Comparison | None) -> str:
    headers = "".join(f"<th>{label}</th>" for _, label in CHECK_COLUMNS)
    rows = [_case_row(r, comparison.cases.get(r.case.id) if comparison else None) for r in results]
    return (
        "<h2>Cases</h2><table><tr><th>case</th><th>question</th><th>answer</th>"
        f"<th>pass</th>{headers}<th>vs baseline</th></tr>" + "".join(rows) + "</table>"
    )


def _case_row(result: CaseResult, diff: CaseDiff | None) -> str:
    e = html.escape
    case = result.case
    history = "".join(f'<div class="hist">earlier: {e(q)}</div>' for q in case.history)
    kind = "answerable" if case.answerable else "unanswerable"
    checks = "".join(_check_cell(result.score.checks.get(key)) for key, _ in CHECK_COLUMNS)
    return (
        f'<tr id="case-{e(case.id)}" class="{"" if result.passed else "fail"}">'
        f"<td><code>{e(case.id)}</code><div class=hist>{kind}</div></td>"
        f"<td>{history}{e(case.question)}</td>"
        f'<td class="answer">{_answer_html(result)}</td>'
        f"{_check_cell(result.passed)}{checks}<td>{_diff_html(diff)}</td></tr>"
    )


def _check_cell(ok: bool | None) -> str:
    if ok is None:
        return '<td class="na">–</td>'
    return '<td class="ok">✓</td>' if ok else '<td class="bad">✗</td>'


def _answer_html(result: CaseResult) -> str:
    e = html.escape
    anchor = f"c-{result.case.id}-"
    text = re.sub(
        r"\[(\d+)\]",
        lambda m: f'<a href="#{e(anchor)}{m.group(1)}">[{m.group(1)}]</a>',
        e(result.answer.text),
    )
    cites = "".join(
        f'<li id="{e(anchor)}{c.id}">[{c.id}] {e(c.title)}{", " + e(c.date) if c.date else ""}: '
        f"“{e(c.quote)}” <span class=hist>({e(c.source)}, {c.start}-{c.end})</span></li>"
        for c in result.answer.citations
    )
    return text + (f'<ol class="cites" style="list-style:none">{cites}</ol>' if cites else "")


def _diff_html(diff: CaseDiff | None) -> str:
    if diff is None:
        return '<span class="na">no baseline</span>'
    e = html.escape
    css = {"pass→fail": "bad", "fail→pass": "ok"}.get(diff.status, "")
    parts = [f'<span class="{css}">{e(diff.status)}</span>']
    parts += [f"<div>{e(name)}: {e(str(b))} → {e(str(a))}</div>" for name, b, a in diff.changes]
    if diff.answer_changed:
        parts.append(
            f"<details><summary>answer changed</summary>{e(diff.baseline_answer)}</details>"
        )
    return "".join(parts)
