"""Small ingests into a large index: what adding, changing and removing articles costs.

A script, not a test; offline. With N articles indexed (bench.corpus, built once with
`assistant ingest` and reused while its corpus and the stamp below match), each case runs
`assistant ingest` in a fresh process on a copy of that index, --repeat times:
  - 1 new and 10 new articles (a folder of synthetic articles N, N+1, ... of the same seed);
  - then, on the copy holding the 1 new article: that article changed, then removed.
It prints the wall time of each ingest (process start-up included) and its peak RSS (the
process's own, from wait4: the ingest uses no worker process below 300 articles), plus the
keyword search alone at N articles: p50/p95 of LexicalIndex.search over the questions of
evals/qa.yaml (also with their earlier turns) and evals/reader/dev.yaml, k = 30.

    .venv/bin/python -m bench.incremental --articles 10000
    .venv/bin/python -m bench.incremental --articles 1000 --repeat 1 --out /tmp/incremental.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.load import _commit
from bench.run import (
    ROOT,
    VENV_BIN,
    child_env,
    load_cases,
    package_version,
    percentile,
)
from bench.watch import replace_section

TARGETS = {"1 new": 3.0, "10 new": 5.0}  # seconds, end to end, at 10,000 articles
RSS_TARGET_MB = 600.0
STAMP = ".bench-incremental"
BEGIN = "<!-- bench.incremental: begin -->"
END = "<!-- bench.incremental: end -->"


def ingest(data_dir: Path, *paths: Path) -> dict[str, Any]:
    """`assistant ingest PATHS` in a fresh process: wall seconds, peak RSS, its summary."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(VENV_BIN / "assistant"), "ingest", *map(str, paths)],
            cwd=ROOT,
            env=child_env(data_dir),
            stdout=out,
            stderr=err,
            text=True,
        )
        _, status, usage = os.wait4(process.pid, 0)  # the rusage of this one process
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        lines, problems = out.read().strip().splitlines(), err.read()
    if process.returncode != 0:
        raise RuntimeError(f"ingest failed: {problems[-2000:]}")
    return {
        "seconds": seconds,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "summary": lines[-1],
    }


def base_index(corpus: Path, work: Path, articles: int) -> Path:
    """The index of the corpus, built once by `assistant ingest` and reused; when only the
    keyword index's format changed since, one ingest of the corpus brings it in step."""
    from assistant.lexical import FORMAT
    from assistant.text import TERMS_VERSION

    data_dir = work / f"index-{articles}"
    built_from = (corpus / ".complete").read_text()
    expected = f"{built_from}|keywords {FORMAT}:{TERMS_VERSION}"
    stamp = data_dir / STAMP
    recorded = stamp.read_text() if stamp.exists() else ""
    if recorded != expected:
        if not recorded.startswith(f"{built_from}|"):
            shutil.rmtree(data_dir, ignore_errors=True)
            _log(f"building the {articles:,}-article index (minutes at 10,000)")
        else:
            _log("bringing the index's keyword index in step with its store")
        done = ingest(data_dir, corpus)
        _log(done["summary"])
        stamp.write_text(expected)
    return data_dir


def fresh_copy(data_dir: Path, work: Path) -> Path:
    trial = work / "trial"
    shutil.rmtree(trial, ignore_errors=True)
    shutil.copytree(data_dir, trial)
    return trial


def new_articles(work: Path, first: int, count: int, seed: int) -> Path:
    """`count` synthetic articles numbered from `first`, in a folder of their own."""
    from bench.corpus import make_article

    folder = work / f"incoming-{count}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for i in range(first, first + count):
        (folder / f"article-{i:05d}.md").write_text(make_article(seed, i), encoding="utf-8")
    return folder


def keyword_latency(data_dir: Path) -> dict[str, Any]:
    """In a fresh process: p50/p95 of the keyword search alone, warm (one round untimed)."""
    code = (
        "import json, sys\n"
        "from bench.incremental import measure_search\n"
        "print(json.dumps(measure_search(sys.argv[1])))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(data_dir)],
        cwd=ROOT,
        env=child_env(data_dir),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def search_queries() -> list[list[str]]:
    """The terms of evals/qa.yaml's questions (also with their earlier turns) and of
    evals/reader/dev.yaml's, as retrieval searches them."""
    import yaml

    from assistant.text import terms

    queries = []
    for case in load_cases(with_own_corpus=True):  # the same queries as before
        queries.append(terms(case.question))
        if case.history:
            queries.append(terms("\n".join([*case.history, case.question])))
    reader = ROOT / "evals" / "reader" / "dev.yaml"
    if reader.exists():
        queries += [terms(c["question"]) for c in yaml.safe_load(reader.read_text())]
    return [q for q in queries if q]


def measure_search(data_dir: str, rounds: int = 3, k: int = 30) -> dict[str, Any]:
    from assistant.lexical import LexicalIndex

    [path] = (Path(data_dir) / "bm25").glob("*.sqlite3")
    started = time.perf_counter()
    index = LexicalIndex.open(path)
    open_ms = (time.perf_counter() - started) * 1000
    queries = search_queries()
    for query in queries:
        index.search(query, k)
    times = []
    for _ in range(rounds):
        for query in queries:
            started = time.perf_counter()
            index.search(query, k)
            times.append((time.perf_counter() - started) * 1000)
    everything = []
    for query in queries[:20]:
        started = time.perf_counter()
        index.search(query, 10**9)
        everything.append((time.perf_counter() - started) * 1000)
    stats = index.stats()
    return {
        "open_ms": open_ms,
        "queries": len(queries),
        "p50_ms": percentile(times, 50),
        "p95_ms": percentile(times, 95),
        "all_hits_p50_ms": percentile(everything, 50),
        "chunks": stats.docs,
        "file_mb": path.stat().st_size / 1e6,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.corpus import write_corpus

    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    corpus = write_corpus(work / f"corpus-{args.articles}", args.articles, seed=args.seed)
    base = base_index(corpus, work, args.articles)
    results: dict[str, list[dict[str, Any]]] = {}
    for count in (1, 10):
        incoming = new_articles(work, args.articles, count, args.seed)
        for attempt in range(args.repeat):
            trial = fresh_copy(base, work)
            _log(f"{count} new, run {attempt + 1}")
            results.setdefault(f"{count} new", []).append(ingest(trial, incoming))
            if count == 1:  # the same article changed, then removed, on this copy
                story = next(incoming.iterdir())
                original = story.read_text(encoding="utf-8")
                story.write_text(original.replace(". ", ". Late update: ", 1), encoding="utf-8")
                results.setdefault("1 changed", []).append(ingest(trial, incoming))
                story.unlink()
                results.setdefault("1 removed", []).append(ingest(trial, incoming))
                story.write_text(original, encoding="utf-8")
    shutil.rmtree(work / "trial", ignore_errors=True)
    return {"ingests": results, "search": keyword_latency(base), "base": str(base)}


def render(measured: dict[str, Any], args: argparse.Namespace, seconds: float) -> str:
    search = measured["search"]
    lines = [
        BEGIN,
        f"## Small ingests into {args.articles:,} articles",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC in {seconds / 60:.0f} min on "
        f"{os.cpu_count()} CPU cores ({platform.machine()}, Python "
        f"{platform.python_version()}, chromadb {package_version('chromadb')}, SQLite "
        f"{_sqlite_version()}), commit {_commit()}, load average "
        f"{os.getloadavg()[0]:.1f} at the end.",
        f"Command: `.venv/bin/python -m bench.incremental {' '.join(sys.argv[1:])}`".rstrip(),
        "",
        f"`assistant ingest` in a fresh process on a copy of the {args.articles:,}-article index "
        f"({search['chunks']:,} chunks), {args.repeat} run(s) each: median wall time (process "
        "start-up included), the median CPU time of the process (user + system: what other "
        "work on the machine does not inflate) and the largest peak RSS.",
        "",
        "| ingest | wall time (median) | all runs | CPU time | peak RSS | target | met |",
        "|---|---:|---:|---:|---:|---:|:---:|",
    ]
    for case, runs in measured["ingests"].items():
        median = statistics.median(r["seconds"] for r in runs)
        rss = max(r["rss_mb"] for r in runs)
        every = ", ".join(f"{r['seconds']:.2f}" for r in runs)
        cpu = statistics.median(r["cpu_s"] for r in runs)
        target = TARGETS.get(case)
        wanted = f"≤ {target:g} s, ≤ {RSS_TARGET_MB:.0f} MB" if target else ""
        met = "" if target is None else "yes" if median <= target and rss <= RSS_TARGET_MB else "NO"
        times = f"{median:.2f} s | {every} | {cpu:.2f} s"
        lines.append(f"| {case} | {times} | {rss:,.0f} MB | {wanted} | {met} |")
    lines += [
        "",
        f"Keyword search alone (LexicalIndex.search, k = 30, warm, {search['queries']} queries "
        f"× 3): p50 {search['p50_ms']:.2f} ms, p95 {search['p95_ms']:.2f} ms; opening the "
        f"index {search['open_ms']:.0f} ms; its file {search['file_mb']:.0f} MB. Every hit "
        f"(k = 10^9, as a dated question asks; first 20 queries): p50 "
        f"{search['all_hits_p50_ms']:.0f} ms.",
        "",
        "Summaries: "
        + "; ".join(f"{case}: {runs[0]['summary']}" for case, runs in measured["ingests"].items()),
        END,
    ]
    return "\n".join(lines) + "\n"


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def _log(message: str) -> None:
    print(f"{dt.datetime.now():%H:%M:%S} {message}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000, help="articles in the index")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each case")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "results" / "tmp")
    parser.add_argument("--seed", type=int, default=20251121)
    parser.add_argument("--out", type=Path, help="replace this file's section of small ingests")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    report = render(run(args), args, time.perf_counter() - started)
    print(report)
    if args.out:
        replace_section(args.out, report, BEGIN, END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
