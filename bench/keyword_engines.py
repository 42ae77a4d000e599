"""The keyword-index candidates side by side on one index's chunks: why SQLite postings.

A script, not a test; offline; needs bm25s (the `test` extra). It reads the stored terms
of every chunk from a built index's keyword database (the chunks exactly as the engine
indexes them, no re-tokenising) and compares, on the queries of evals/qa.yaml (also with
their earlier turns) and evals/reader/dev.yaml, k = 30:
  - this engine's SQLite postings (assistant.lexical): search p50/p95, and the
    transaction that adds, replaces or removes an article's chunks;
  - SQLite FTS5 with its bm25() ranking (terms stored pre-stemmed, space-separated): build,
    search p50/p95, one article's insert, and how often its top 10 equals ours;
  - bm25s rebuilt from the stored terms (what every ingest did before, minus reading the
    chunks back from Chroma and tokenising them again): build time and memory, search;
  - bm25s with a delta index (the last 5% of the chunks in a second bm25s index, scores
    added): how often its top 10 equals a clean build's, i.e. the cost of merging later.

    .venv/bin/python -m bench.keyword_engines bench/results/tmp/index-10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bench.incremental import search_queries
from bench.load import _commit
from bench.run import package_version, percentile
from bench.watch import replace_section

K = 30
SAFE = re.compile(r"[a-z0-9]+")
BEGIN = "<!-- bench.keyword_engines: begin -->"
END = "<!-- bench.keyword_engines: end -->"


def timed(search: Callable[[list[str]], object], queries: list[list[str]]) -> tuple[float, float]:
    for query in queries:
        search(query)
    times = []
    for _ in range(3):
        for query in queries:
            started = time.perf_counter()
            search(query)
            times.append((time.perf_counter() - started) * 1000)
    return percentile(times, 50), percentile(times, 95)


def fts_token(term: str) -> str:
    """A stored term as one token of FTS5's ascii tokenizer (which splits on punctuation)."""
    return term if SAFE.fullmatch(term) else "x" + term.encode().hex()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="a data directory with a built index")
    parser.add_argument("--out", type=Path, help="replace this file's section of candidates")
    args = parser.parse_args(argv)
    import bm25s

    from assistant.lexical import LexicalIndex

    [original] = (args.data_dir / "bm25").glob("*.sqlite3")
    scratch = Path(tempfile.mkdtemp(prefix="keyword-engines-"))
    path = scratch / original.name  # a copy: adding and removing an article changes it
    with sqlite3.connect(original) as source, sqlite3.connect(path) as copy:
        source.backup(copy)
    index = LexicalIndex.open(path)
    if not index.stats().docs:
        raise SystemExit(
            f"no chunks in {original} (none, or of another format): "
            f"run `assistant ingest` with ASSISTANT_DATA_DIR={args.data_dir} first"
        )
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT doc, id, terms FROM chunks ORDER BY doc").fetchall()
    ids = [cid for _, cid, _ in rows]
    docs = [text.split() for _, _, text in rows]
    queries = search_queries()
    lines = [
        BEGIN,
        f"## The keyword index: candidates on {len(docs):,} chunks",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPU cores, "
        f"SQLite {sqlite3.sqlite_version}, bm25s {package_version('bm25s')}, commit "
        f"{_commit()}, load average {os.getloadavg()[0]:.1f} at the start.",
        f"Command: `.venv/bin/python -m bench.keyword_engines {' '.join(sys.argv[1:])}`",
        "",
        f"The stored terms of every chunk, searched with the terms of {len(queries)} questions "
        f"(evals/qa.yaml, also with earlier turns, and evals/reader/dev.yaml), k = {K}, 3 timed "
        "rounds after one untimed. One article in: 20 chunks added in one change (for bm25s, "
        "a rebuild). Top 10 as ours: share of the questions whose top 10 equals this engine's "
        "(which equals a bm25s index built over the same chunks).",
        "",
        "| engine | build | search p50 / p95 | one article in | top 10 as ours |",
        "|---|---:|---:|---:|---:|",
    ]

    ours = {tuple(q): [cid for cid, _ in index.search(q, K)] for q in queries}
    p50, p95 = timed(lambda q: index.search(q, K), queries)
    article = [(f"bench-new-{i:05d}", "bench-new", docs[i]) for i in range(20)]
    started = time.perf_counter()
    changes = index.changes()
    changes.put({"bench-new": {"doc_hash": "x", "n_chunks": 20}}, article)
    changes.flush()
    added = time.perf_counter() - started
    started = time.perf_counter()
    changes.remove("bench-new")
    changes.flush()
    removed = time.perf_counter() - started
    lines.append(
        f"| SQLite postings (this engine) | incremental | {p50:.2f} / {p95:.2f} ms | "
        f"{added * 1000:.0f} ms (removal {removed * 1000:.0f} ms) | 1.000 |"
    )

    with tempfile.TemporaryDirectory() as scratch:
        fts = sqlite3.connect(Path(scratch) / "fts.sqlite3")
        started = time.perf_counter()
        fts.execute("CREATE VIRTUAL TABLE f USING fts5(terms, tokenize = 'ascii')")
        with fts:
            fts.executemany(
                "INSERT INTO f(rowid, terms) VALUES (?, ?)",
                ((i, " ".join(map(fts_token, d))) for i, d in enumerate(docs)),
            )
        built = time.perf_counter() - started

        def fts_search(query: list[str]) -> list[int]:
            match = " OR ".join(f'"{fts_token(t)}"' for t in query)
            sql = "SELECT rowid FROM f WHERE f MATCH ? ORDER BY rank LIMIT ?"
            return [r for (r,) in fts.execute(sql, (match, K))]

        agree = np.mean(
            [[ids[i] for i in fts_search(q)][:10] == ours[tuple(q)][:10] for q in queries]
        )
        p50, p95 = timed(fts_search, queries)
        started = time.perf_counter()
        with fts:
            fts.executemany(
                "INSERT INTO f(rowid, terms) VALUES (?, ?)",
                (
                    (len(docs) + i, " ".join(map(fts_token, d)))
                    for i, (_, _, d) in enumerate(article)
                ),
            )
        inserted = time.perf_counter() - started
        lines.append(
            f"| SQLite FTS5, bm25() | {built:.1f} s | {p50:.2f} / {p95:.2f} ms | "
            f"{inserted * 1000:.0f} ms | {agree:.3f} |"
        )

    def bm25s_index(corpus: list[list[str]]):  # type: ignore[no-untyped-def]
        model = bm25s.BM25()
        model.index([d or ["\u2205"] for d in corpus], show_progress=False)
        return model

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    full = bm25s_index(docs)
    built = time.perf_counter() - started
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024

    def scores_of(model, query: list[str]) -> np.ndarray:  # type: ignore[no-untyped-def]
        known = [t for t in query if t in model.vocab_dict]
        size = model.scores["num_docs"]
        return model.get_scores(known) if known else np.zeros(size, dtype=np.float32)

    from assistant.lexical import top_positive

    def full_search(query: list[str]) -> list[str]:
        return [ids[i] for i in top_positive(scores_of(full, query), K)]

    agree = np.mean([full_search(q)[:10] == ours[tuple(q)][:10] for q in queries])
    p50, p95 = timed(full_search, queries)
    lines.append(
        f"| bm25s, rebuilt from stored terms | {built:.1f} s (+{grown:,.0f} MB peak) | "
        f"{p50:.2f} / {p95:.2f} ms | {built:.1f} s (a rebuild) | {agree:.3f} |"
    )

    split = int(len(docs) * 0.95)
    base, delta = bm25s_index(docs[:split]), bm25s_index(docs[split:])

    def delta_search(query: list[str]) -> list[str]:
        scores = np.concatenate([scores_of(base, query), scores_of(delta, query)])
        return [ids[i] for i in top_positive(scores, K)]

    agree = np.mean([delta_search(q)[:10] == ours[tuple(q)][:10] for q in queries])
    p50, p95 = timed(delta_search, queries)
    lines.append(
        f"| bm25s + delta (last 5% apart) | {built:.1f} s per merge | {p50:.2f} / {p95:.2f} ms | "
        f"small delta rebuild | {agree:.3f} |"
    )
    lines.append(END)
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        replace_section(args.out, report, BEGIN, END)
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
