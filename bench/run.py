"""The scale-and-speed benchmark: prints a Markdown table. A script, not a test; offline.

For each corpus size (synthetic articles + the bundled two, from bench.corpus) it measures
  - ingest throughput (chunks/s) and index size on disk, from an empty index;
  - warm latency p50/p95 of retrieval alone and of a full extractive answer;
  - evidence recall on evals/qa.yaml and answer checks (must_include, declines);
  - cold start: wall time of `assistant ask --json` in a fresh process;
  - peak RSS of the `assistant web` server after 100 questions through gradio_client;
  - the plain llama-index starter pipeline (bench.peer) on the same corpus, side by side.
Each measurement runs in its own child process so one does not warm or bloat another.

Reproduce the committed results:  .venv/bin/python -m bench.run --out bench/results.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
EVALS = ROOT / "evals" / "qa.yaml"
RECALL_WINDOW = 1200
COLD_QUESTION = "What limit does the draft set on Ukraine's armed forces?"
# The fusion the engine had before this benchmark, measured side by side with today's
# (see bench/README.md, "Fusion at scale"): equal weights lost recall at 10,000 articles.
EARLIER_FUSION = {
    "RRF_K": 60.0,
    "DENSE_WEIGHT": 1.0,
    "FOLLOW_UP_ALONE_WEIGHT": 1.0,
    "FOLLOW_UP_WITH_CONTEXT_WEIGHT": 0.8,
}
TARGETS = {
    "answer_p50_ms": 50.0,
    "answer_p95_ms": 150.0,
    "ingest_chunks_per_s": 1000.0,
    "cold_start_s": 3.0,
    "web_rss_mb": 800.0,
}


# -- the eval cases and what counts as a hit -------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    history: tuple[str, ...]
    answerable: bool
    evidence: tuple[str, ...]
    must_include: tuple[tuple[str, ...], ...]


def load_cases(path: Path = EVALS, *, with_own_corpus: bool = False) -> list[Case]:
    """The eval cases asked of the benchmark's corpus: not those with a corpus of their own
    (`corpus:`, e.g. evals/fixtures/dated: "What is the latest news?" is about those four
    articles alone), unless with_own_corpus."""
    import yaml

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Case(
            id=str(item["id"]),
            question=str(item["question"]),
            history=tuple(item.get("history") or ()),
            answerable=bool(item["answerable"]),
            evidence=tuple(item.get("evidence") or ()),
            must_include=tuple(tuple(fact) for fact in item.get("must_include") or ()),
        )
        for item in raw
        if with_own_corpus or not item.get("corpus")
    ]


def evidence_in_window(
    texts: Sequence[str], evidence: Sequence[str], window: int | None = RECALL_WINDOW
) -> bool:
    """Is an evidence quote within the first `window` characters of ranked context?"""
    from assistant.text import squash

    context = squash("\n\n".join(texts)[:window])
    return any(squash(quote) in context for quote in evidence)


def includes_facts(text: str, facts: Sequence[Sequence[str]]) -> bool:
    lowered = text.lower()
    return all(any(alt.lower() in lowered for alt in fact) for fact in facts)


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * pct / 100
    low, high = int(rank), min(int(rank) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# -- child phases: each prints one JSON object on its last line --------------------------


def phase_ingest(corpus: Path, data_dir: Path) -> dict[str, Any]:
    from assistant.engine import ingest
    from assistant.settings import load_settings

    shutil.rmtree(data_dir, ignore_errors=True)
    settings = load_settings(data_dir=data_dir, sources=[corpus])
    started = time.perf_counter()
    report = ingest(settings, [corpus], rebuild=True)
    seconds = time.perf_counter() - started
    return {
        "articles": report.articles_total,
        "chunks": report.chunks_written,
        "seconds": seconds,
        "chunks_per_s": report.chunks_written / seconds,
        "cpu_seconds": time.process_time(),
    }


def phase_warm(corpus: Path, data_dir: Path, passes: int, fusion: str) -> dict[str, Any]:
    """Answer every eval case once untimed (quality), then `passes` timed rounds."""
    from assistant import retrieval
    from assistant.engine import Assistant
    from assistant.settings import load_settings

    if fusion == "earlier":
        for name, value in EARLIER_FUSION.items():
            setattr(retrieval, name, value)
    assistant = Assistant.open(load_settings(data_dir=data_dir, sources=[corpus]))
    cases = load_cases()
    recall, recall_all, answered, declined = [], [], [], []
    answered_wrongly: list[str] = []
    for case in cases:
        answer = assistant.ask(case.question, list(case.history))
        if case.answerable:
            texts = [p.text for p in answer.retrieved]
            recall.append(evidence_in_window(texts, case.evidence))
            recall_all.append(evidence_in_window(texts, case.evidence, window=None))
            answered.append(not answer.refused and includes_facts(answer.text, case.must_include))
        else:
            declined.append(answer.refused)
            if not answer.refused:
                answered_wrongly.append(case.id)
    retrieve_ms, answer_ms = [], []
    for _ in range(passes):
        for case in cases:
            started = time.perf_counter()
            answer = assistant.ask(case.question, list(case.history))
            answer_ms.append((time.perf_counter() - started) * 1000)
            retrieve_ms.append(answer.timings_ms["retrieve"])
    return {
        "chunks": assistant.info().chunks,
        "timed_questions": len(answer_ms),
        "retrieve_p50": percentile(retrieve_ms, 50),
        "retrieve_p95": percentile(retrieve_ms, 95),
        "answer_p50": percentile(answer_ms, 50),
        "answer_p95": percentile(answer_ms, 95),
        "recall": sum(recall) / len(recall),
        "recall_all": sum(recall_all) / len(recall_all),
        "recall_n": len(recall),
        "answered": sum(answered) / len(answered),
        "declined": sum(declined) / len(declined) if declined else float("nan"),
        "declined_n": len(declined),
        "answered_wrongly": answered_wrongly,
        "missed_evidence": [
            c.id for c, hit in zip(_answerable(cases), recall, strict=True) if not hit
        ],
    }


def phase_peer(corpus: Path, persist_dir: Path, passes: int, top_k: int) -> dict[str, Any]:
    from bench.peer import StarterPipeline

    pipeline, built = StarterPipeline.build(corpus, persist_dir)
    cases = load_cases()
    queries = {c.id: "\n".join([*c.history, c.question]) for c in cases}
    contexts = [(pipeline.retrieve(queries[c.id], top_k), c) for c in _answerable(cases)]
    recall = [evidence_in_window(texts, c.evidence) for texts, c in contexts]
    recall_all = [evidence_in_window(texts, c.evidence, window=None) for texts, c in contexts]
    retrieve_ms = []
    for _ in range(passes):
        for case in cases:
            started = time.perf_counter()
            pipeline.retrieve(queries[case.id], top_k)
            retrieve_ms.append((time.perf_counter() - started) * 1000)
    return {
        **built,
        "chunks_per_s": built["chunks"] / built["seconds"],
        "retrieve_p50": percentile(retrieve_ms, 50),
        "retrieve_p95": percentile(retrieve_ms, 95),
        "recall": sum(recall) / len(recall),
        "recall_all": sum(recall_all) / len(recall_all),
        "recall_n": len(recall),
    }


def phase_engine_rss(corpus: Path, data_dir: Path, questions: int) -> dict[str, Any]:
    """Fallback when `assistant web` is not installed: the engine alone answering."""
    from assistant.engine import Assistant
    from assistant.settings import load_settings

    assistant = Assistant.open(load_settings(data_dir=data_dir, sources=[corpus]))
    for case in _cycle(load_cases(), questions):
        assistant.ask(case.question, list(case.history))
    return {"peak_rss_mb": peak_rss_mb(os.getpid())}


def _answerable(cases: Sequence[Case]) -> list[Case]:
    return [c for c in cases if c.answerable]


def _cycle(cases: Sequence[Case], n: int) -> Iterator[Case]:
    for i in range(n):
        yield cases[i % len(cases)]


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the peak resident set size of a live process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


# -- the parent: orchestration --------------------------------------------------------


@dataclass
class SizeResult:
    articles: int
    ours: dict[str, Any] = field(default_factory=dict)
    earlier: dict[str, Any] = field(default_factory=dict)
    peer: dict[str, Any] = field(default_factory=dict)
    load: list[float] = field(default_factory=list)


def child_env(data_dir: Path | None = None, corpus: Path | None = None) -> dict[str, str]:
    """Offline, default settings: no keys, endpoints or developer index leak in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ASSISTANT_", "OPENAI_", "GRADIO_", "SLACK_"))
    }
    env.update(
        ANONYMIZED_TELEMETRY="False",
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONPATH=str(ROOT),
    )
    if data_dir is not None:
        env["ASSISTANT_DATA_DIR"] = str(data_dir)
    if corpus is not None:
        env["ASSISTANT_SOURCES"] = json.dumps([str(corpus)])
    return env


def run_phase(name: str, *args: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.run", "--phase", name, *args]
    done = subprocess.run(
        command, cwd=ROOT, env=child_env(), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"phase {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def du_mb(path: Path) -> float:
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return total / 1e6


def cold_start(corpus: Path, data_dir: Path, runs: int) -> list[float]:
    """Wall time of `assistant ask --json` in fresh processes, once the index exists."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [str(VENV_BIN / "assistant"), "ask", "--json", COLD_QUESTION],
            cwd=ROOT,
            env=child_env(data_dir, corpus),
            capture_output=True,
            text=True,
            check=False,
        )
        times.append(time.perf_counter() - started)
        if done.returncode != 0 or json.loads(done.stdout)["refused"]:
            raise RuntimeError(f"cold ask failed: {done.stderr[-2000:]}")
    return times


def web_peak_rss(
    corpus: Path, data_dir: Path, questions: int, extra_env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Start `assistant web`, ask `questions` through gradio_client, read its VmHWM."""
    port = free_port()
    server = subprocess.Popen(
        [str(VENV_BIN / "assistant"), "web", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env={**child_env(data_dir, corpus), **(extra_env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        started = time.perf_counter()
        wait_for_http(url, server, timeout=900)
        ready_s = time.perf_counter() - started
        from gradio_client import Client

        client = Client(url, verbose=False)
        for case in _cycle(load_cases(), questions):
            client.predict(case.question, list(case.history), api_name="/ask")
        return {"peak_rss_mb": peak_rss_mb(server.pid), "ready_s": ready_s, "via": "web"}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wait_for_http(url: str, process: subprocess.Popen[str], timeout: float) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def web_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("assistant.web") is not None


def measure(size: int, args: argparse.Namespace, log: Callable[[str], None]) -> SizeResult:
    from bench.corpus import write_corpus

    work: Path = args.work
    corpus = write_corpus(work / f"corpus-{size}", size, seed=args.seed)
    data_dir = work / f"index-{size}"
    result = SizeResult(size, load=[os.getloadavg()[0]])
    log(f"[{size}] ingest")
    result.ours.update(run_phase("ingest", str(corpus), str(data_dir)))
    result.ours["disk_mb"] = du_mb(data_dir)
    log(f"[{size}] warm questions")
    result.ours.update(run_phase("warm", str(corpus), str(data_dir), str(args.passes), "engine"))
    log(f"[{size}] warm questions, earlier fusion")
    result.earlier.update(run_phase("warm", str(corpus), str(data_dir), "1", "earlier"))
    log(f"[{size}] cold start")
    result.ours["cold_s"] = cold_start(corpus, data_dir, args.cold_runs)
    log(f"[{size}] server RSS after {args.rss_questions} questions")
    if web_available() and not args.engine_rss:
        result.ours.update(web_peak_rss(corpus, data_dir, args.rss_questions))
        # The same with opening examples given, so none are computed from the articles.
        given = {"ASSISTANT_WEB_EXAMPLES": json.dumps([COLD_QUESTION])}
        fixed = web_peak_rss(corpus, data_dir, args.rss_questions, given)
        result.ours.update(
            rss_examples_given_mb=fixed["peak_rss_mb"], ready_given_s=fixed["ready_s"]
        )
    else:
        rss = run_phase("rss", str(corpus), str(data_dir), str(args.rss_questions))
        result.ours.update(rss, via="engine")
    result.load.append(os.getloadavg()[0])
    if not args.skip_peer:
        log(f"[{size}] llama-index starter pipeline")
        peer_dir = work / f"peer-{size}"
        result.peer.update(
            run_phase("peer", str(corpus), str(peer_dir), str(args.passes), str(args.top_k))
        )
        result.peer["disk_mb"] = du_mb(peer_dir)
        result.load.append(os.getloadavg()[0])
    if not args.keep:
        shutil.rmtree(work / f"peer-{size}", ignore_errors=True)
    return result


# -- the report ---------------------------------------------------------------------------


def render(results: Sequence[SizeResult], args: argparse.Namespace, seconds: float) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC in {seconds / 60:.0f} min on "
        f"{os.cpu_count()} CPU cores ({platform.machine()}, Python {platform.python_version()}, "
        f"chromadb {package_version('chromadb')}, "
        f"llama-index-core {package_version('llama-index-core')}, "
        f"bm25s {package_version('bm25s')}), commit {_commit()}.",
        f"Command: `.venv/bin/python -m bench.run {' '.join(_argv())}`".rstrip(),
        "",
        "Corpus: N seeded synthetic news articles (~5,000 characters) plus the 2 bundled ones. "
        f"Warm latency: {args.passes} timed rounds over the {len(load_cases())} cases of "
        "evals/qa.yaml asked of this corpus (the "
        f"{len(load_cases(with_own_corpus=True)) - len(load_cases())} with a corpus of their "
        "own, evals/fixtures/dated, are left to the eval) after one untimed round. "
        "Evidence recall: answerable cases whose "
        f"evidence quote lies within the first {RECALL_WINDOW:,} characters of the ranked "
        f"context (in brackets: anywhere in the top-{args.top_k} passages). Answered ok: "
        "answerable cases answered with every must_include fact; declined ok: unanswerable "
        "cases declined. Embedding: wordllama l2_supercat_256 for both pipelines.",
        "",
        "## This engine (hybrid Chroma + BM25, extractive answers)",
        "",
        "| articles | chunks | ingest chunks/s | index on disk | retrieval p50 / p95 | "
        "full answer p50 / p95 | cold `ask --json` | server peak RSS | "
        "evidence recall (in all top-k) | answered ok | declined ok |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        o = r.ours
        lines.append(
            f"| {_label(r.articles)} | {o['chunks']:,} | {o['chunks_per_s']:,.0f} | "
            f"{o['disk_mb']:,.0f} MB | {o['retrieve_p50']:.1f} / {o['retrieve_p95']:.1f} ms | "
            f"{o['answer_p50']:.1f} / {o['answer_p95']:.1f} ms | "
            f"{statistics.median(o['cold_s']):.2f} s | {o['peak_rss_mb']:,.0f} MB | "
            f"{o['recall']:.3f} ({o['recall_all']:.3f}) | {o['answered']:.3f} | "
            f"{o['declined']:.3f} |"
        )
    lines += _peer_table(results) if any(r.peer for r in results) else []
    lines += _fusion_table(results)
    lines += _targets(results)
    lines += _notes(results, args)
    return "\n".join(lines) + "\n"


def _peer_table(results: Sequence[SizeResult]) -> list[str]:
    lines = [
        "",
        "## Peer: plain llama-index starter pipeline (VectorStoreIndex over Chroma, top-k)",
        "",
        "| articles | chunks | ingest chunks/s | index on disk | retrieval p50 / p95 | "
        "evidence recall (in all top-k) | retrieval p50 peer ÷ ours | "
        "peer retrieval ÷ our full answer (p50) | evidence recall ours ÷ peer (in all top-k) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        p, o = r.peer, r.ours
        if not p:
            continue
        lines.append(
            f"| {_label(r.articles)} | {p['chunks']:,} | {p['chunks_per_s']:,.0f} | "
            f"{p['disk_mb']:,.0f} MB | {p['retrieve_p50']:.1f} / {p['retrieve_p95']:.1f} ms | "
            f"{p['recall']:.3f} ({p['recall_all']:.3f}) | "
            f"{_ratio(p['retrieve_p50'], o['retrieve_p50'])} | "
            f"{_ratio(p['retrieve_p50'], o['answer_p50'])} | "
            f"{_ratio(o['recall'], p['recall'])} ({_ratio(o['recall_all'], p['recall_all'])}) |"
        )
    return lines


def _fusion_table(results: Sequence[SizeResult]) -> list[str]:
    earlier = ", ".join(f"{k} = {v:g}" for k, v in EARLIER_FUSION.items())
    lines = [
        "",
        "## Fusion at scale: the engine's fusion and the earlier one, same index",
        "",
        f"Earlier: {earlier}; the engine's (assistant/retrieval.py constants): RRF_K = 10, "
        "DENSE_WEIGHT = 0.3, FOLLOW_UP_ALONE_WEIGHT = 0.5, FOLLOW_UP_WITH_CONTEXT_WEIGHT = 1.",
        "",
        "| articles | evidence recall engine / earlier | answered ok engine / earlier | "
        "declined ok engine / earlier | full answer p50 engine / earlier |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        o, p = r.ours, r.earlier
        lines.append(
            f"| {_label(r.articles)} | {o['recall']:.3f} / {p['recall']:.3f} | "
            f"{o['answered']:.3f} / {p['answered']:.3f} | "
            f"{o['declined']:.3f} / {p['declined']:.3f} | "
            f"{o['answer_p50']:.1f} / {p['answer_p50']:.1f} ms |"
        )
    return lines


def _label(articles: int) -> str:
    return "2 (bundled only)" if articles == 0 else f"{articles:,} + 2"


def _targets(results: Sequence[SizeResult]) -> list[str]:
    largest = max(results, key=lambda r: r.articles)
    smallest = min(results, key=lambda r: r.articles)
    o = largest.ours
    cold = max(statistics.median(r.ours["cold_s"]) for r in results)
    rss = max(r.ours["peak_rss_mb"] for r in results)
    given = [r.ours["rss_examples_given_mb"] for r in results if "rss_examples_given_mb" in r.ours]
    recall_same = o["recall"] == smallest.ours["recall"]
    rows = [
        ("full answer p50, warm", f"≤ {TARGETS['answer_p50_ms']:.0f} ms",
         f"{o['answer_p50']:.1f} ms", o["answer_p50"] <= TARGETS["answer_p50_ms"]),
        ("full answer p95, warm", f"≤ {TARGETS['answer_p95_ms']:.0f} ms",
         f"{o['answer_p95']:.1f} ms", o["answer_p95"] <= TARGETS["answer_p95_ms"]),
        ("ingest, default embedding", f"≥ {TARGETS['ingest_chunks_per_s']:,.0f} chunks/s",
         f"{o['chunks_per_s']:,.0f} chunks/s",
         o["chunks_per_s"] >= TARGETS["ingest_chunks_per_s"]),
        ("cold `assistant ask --json` (worst size, median)", f"≤ {TARGETS['cold_start_s']:.0f} s",
         f"{cold:.2f} s", cold <= TARGETS["cold_start_s"]),
        ("server peak RSS (worst size)", f"≤ {TARGETS['web_rss_mb']:.0f} MB", f"{rss:,.0f} MB",
         rss <= TARGETS["web_rss_mb"]),
        ("… with ASSISTANT_WEB_EXAMPLES given (worst size)", f"≤ {TARGETS['web_rss_mb']:.0f} MB",
         f"{max(given):,.0f} MB" if given else "n/a",
         bool(given) and max(given) <= TARGETS["web_rss_mb"]),
        (f"evidence recall vs {_label(smallest.articles)}", f"= {smallest.ours['recall']:.3f}",
         f"{o['recall']:.3f}", recall_same),
    ]  # fmt: skip
    lines = [
        "",
        f"## Targets at {largest.articles:,} articles (2 cores)",
        "",
        "| target | wanted | measured | met |",
        "|---|---:|---:|:---:|",
    ]
    lines += [
        f"| {name} | {want} | {got} | {'yes' if ok else 'NO'} |" for name, want, got, ok in rows
    ]
    return lines


def _notes(results: Sequence[SizeResult], args: argparse.Namespace) -> list[str]:
    lines = ["", "## Notes", ""]
    for r in results:
        o = r.ours
        cold = ", ".join(f"{s:.2f}" for s in o["cold_s"])
        missed = ", ".join(o["missed_evidence"]) or "none"
        missed_earlier = ", ".join(r.earlier.get("missed_evidence", [])) or "none"
        lines.append(
            f"- {_label(r.articles)}: ingest {o['seconds']:.0f} s wall; cold runs {cold} s; "
            f"server RSS via {o.get('via', '?')}"
            + (f" (ready after {o['ready_s']:.0f} s)" if "ready_s" in o else "")
            + (
                f", {o['rss_examples_given_mb']:,.0f} MB with ASSISTANT_WEB_EXAMPLES given "
                f"(ready after {o['ready_given_s']:.0f} s)"
                if "rss_examples_given_mb" in o
                else ""
            )
            + f"; load average {' → '.join(f'{x:.1f}' for x in r.load)}; "
            f"evidence missed: {missed} (earlier fusion: {missed_earlier}); "
            f"unanswerable but answered: {', '.join(o['answered_wrongly']) or 'none'} "
            f"(earlier fusion: {', '.join(r.earlier.get('answered_wrongly', [])) or 'none'})."
        )
    lines.append(
        "- Retrieval alone is the engine's own `timings_ms.retrieve` of each answer; the full "
        "answer is the wall time of `Assistant.ask`. The peer has no offline answerer, so its "
        f"latency is its top-{args.top_k} retrieval; it is given the earlier questions of a "
        "follow-up joined to the question."
    )
    lines.append(
        "- Load average above the core count means other work shared the machine during the "
        "run: latency and throughput figures are then pessimistic."
    )
    return lines


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "n/a"


def package_version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--", "assistant", "bench/*.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    dirty = " with uncommitted changes to the code" if changed.stdout.strip() else ""
    return (done.stdout.strip() or "?") + dirty


def _argv() -> list[str]:
    return [a for a in sys.argv[1:]]


# -- entry point ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 100, 1000, 10000])
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "results" / "tmp")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    parser.add_argument("--seed", type=int, default=20251121)
    parser.add_argument("--passes", type=int, default=3, help="timed rounds over the eval set")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--rss-questions", type=int, default=100)
    parser.add_argument("--top-k", type=int, default=8, help="the peer's similarity_top_k")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--engine-rss", action="store_true", help="measure RSS without the web")
    parser.add_argument("--keep", action="store_true", help="keep the peer's index")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("phase_args", nargs="*", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run_child(args: argparse.Namespace) -> int:
    a = args.phase_args
    phases: dict[str, Callable[[], dict[str, Any]]] = {
        "ingest": lambda: phase_ingest(Path(a[0]), Path(a[1])),
        "warm": lambda: phase_warm(Path(a[0]), Path(a[1]), int(a[2]), a[3]),
        "peer": lambda: phase_peer(Path(a[0]), Path(a[1]), int(a[2]), int(a[3])),
        "rss": lambda: phase_engine_rss(Path(a[0]), Path(a[1]), int(a[2])),
    }
    print(json.dumps(phases[args.phase]()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.phase:
        return run_child(args)
    os.environ.update(ANONYMIZED_TELEMETRY="False", GRADIO_ANALYTICS_ENABLED="False")
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results = [measure(size, args, _log) for size in args.sizes]
    report = render(results, args, time.perf_counter() - started)
    print(report)
    if args.out:
        args.out.write_text(report, encoding="utf-8")
    return 0


def _log(message: str) -> None:
    print(f"{dt.datetime.now():%H:%M:%S} {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
