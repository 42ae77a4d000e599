"""Watched folder: how long from a file dropped into a folder under `assistant ingest --watch`
until a fresh `assistant ask --json` cites it (and, after a deletion, no longer does).

For each corpus size (synthetic articles + the bundled two, from bench.corpus, in subfolders)
it starts the watcher on the corpus folder with an empty data directory, waits for the initial
sync, then repeats `--trials` times:
  - a new article written straight into the watched folder;
  - a new article written into a subfolder;
  - that first article deleted.
(Each round reads only the files that changed, and finds a deleted file's articles in the
keyword index's ledger; before e07e668 a subfolder's file or a deletion re-read the folder.)
"Answerable" is when the watcher's round ended (its summary line appeared), checked by a
fresh `assistant ask --json` started right then that must cite the article (after the
deletion: must not); if it does not, asks are repeated and the first that does counts.
"Printed" adds that ask's own run time, cold start included. A script, not a test; offline.

  .venv/bin/python -m bench.watch --out bench/results.md   (replaces its own section there)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 5.0
BEGIN = "<!-- bench.watch: begin -->"
END = "<!-- bench.watch: end -->"
KINDS = {
    "top": "new file in the folder",
    "sub": "new file in a subfolder",
    "delete": "file deleted",
}
PATIENCE = 600.0


@dataclass
class Trial:
    kind: str
    ingested_s: float  # the watcher's summary line for the round appeared
    answerable_s: float  # a question asked from then on is answered from the change
    printed_s: float  # ... and that first `assistant ask --json` process has printed it
    first_ask_ok: bool  # the ask started as the summary appeared already saw the change


@dataclass
class SizeResult:
    size: int
    initial_s: float = 0.0
    trials: list[Trial] = field(default_factory=list)
    cold_ask_s: list[float] = field(default_factory=list)
    stop_s: float = 0.0
    load: list[float] = field(default_factory=list)


class LogTail:
    """The watcher's stderr, read as it is written; each line with the time it was seen."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: list[tuple[float, str]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        with self.path.open(encoding="utf-8", errors="replace") as stream:
            partial = ""
            while not self._done.is_set():
                chunk = stream.readline()
                if not chunk:
                    time.sleep(0.01)
                    continue
                partial += chunk
                if partial.endswith("\n"):
                    self.lines.append((time.monotonic(), partial.rstrip("\n")))
                    partial = ""

    def summaries_after(self, since: float) -> list[float]:
        return [t for t, line in list(self.lines) if t >= since and " ingest: " in line]

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=2)


def article(i: int) -> tuple[str, str, str]:
    """(text, question, the answer's number) for a made-up story no other article tells."""
    place = "Qu" + "".join("aeiou"[int(d) % 5] + "rnst"[int(d) % 4] for d in f"{i:04d}") + "by"
    number = 4100 + i * 7
    text = (
        f"# Ferry plan for {place}\n\n"
        f"The {place} ferry plan adds {number} seats on the evening crossings. "
        f"Work on the {place} pier starts in the spring, the harbour office said.\n"
    )
    return text, f"How many seats does the {place} ferry plan add?", str(number)


def ask(question: str, data: Path) -> tuple[dict, float]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ask", "--json", question],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "ASSISTANT_DATA_DIR": str(data)},
        timeout=PATIENCE,
        check=True,
    )
    return json.loads(result.stdout), time.monotonic() - started


def cites(answer: dict, name: str) -> bool:
    return not answer["refused"] and any(c["source"].endswith(name) for c in answer["citations"])


def answered(
    question: str, data: Path, ok, since: float, tail: LogTail, cold: list[float]
) -> tuple[float, float, float, bool]:  # type: ignore[no-untyped-def]
    """Wait for the round's summary line, then ask until ok(answer). (ingested, answerable,
    printed) in seconds from `since`, and whether the first ask already saw the change."""
    ingested = ingested_after(tail, since)
    first = True
    while True:
        started = time.monotonic()
        answer, seconds = ask(question, data)
        cold.append(seconds)
        if ok(answer):
            return ingested, started - since, time.monotonic() - since, first
        first = False
        if time.monotonic() - since > PATIENCE:
            raise RuntimeError(f"not answered as expected after {PATIENCE:g}s: {question}")


def ingested_after(tail: LogTail, since: float) -> float:
    """Seconds from `since` until the watcher's next summary line."""
    deadline = since + PATIENCE
    while not tail.summaries_after(since):
        if time.monotonic() > deadline:
            raise RuntimeError("the watcher never ingested the change")
        time.sleep(0.01)
    return tail.summaries_after(since)[0] - since


def measure(size: int, args: argparse.Namespace) -> SizeResult:
    from bench.corpus import write_corpus

    corpus = write_corpus(args.work / f"watch-corpus-{size}", size, seed=args.seed)
    for stray in [*corpus.glob("dropped-*.md"), *corpus.glob("bundled/dropped-*.md")]:
        stray.unlink()  # left by an interrupted run
    data = args.work / f"watch-index-{size}"
    shutil.rmtree(data, ignore_errors=True)
    log_path = args.work / f"watch-{size}.log"
    result = SizeResult(size, load=[os.getloadavg()[0]])
    started = time.monotonic()
    with log_path.open("w") as log:
        watcher = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "ingest", "--watch", str(corpus)],
            cwd=ROOT,
            env={**os.environ, "ASSISTANT_DATA_DIR": str(data)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    tail = LogTail(log_path)
    try:
        result.initial_s = ingested_after(tail, started)
        _log(f"[{size}] initial sync after {result.initial_s:.1f}s")
        for t in range(args.trials):
            n = size * 100 + t * 2
            for kind, where, number in (
                ("top", corpus / f"dropped-{n}.md", n),
                ("sub", corpus / "bundled" / f"dropped-{n + 1}.md", n + 1),
            ):
                text, question, answer = article(number)
                since = time.monotonic()
                where.write_text(text, encoding="utf-8")
                trial = Trial(
                    kind,
                    *answered(
                        question,
                        data,
                        lambda a, w=where, x=answer: cites(a, w.name) and x in a["answer"],
                        since,
                        tail,
                        result.cold_ask_s,
                    ),
                )
                result.trials.append(trial)
                _log(f"[{size}] {KINDS[kind]}: {_times(trial)}")
            text, question, _ = article(n)
            gone = corpus / f"dropped-{n}.md"
            since = time.monotonic()
            gone.unlink()
            trial = Trial(
                "delete",
                *answered(
                    question,
                    data,
                    lambda a, w=gone: not cites(a, w.name),
                    since,
                    tail,
                    result.cold_ask_s,
                ),
            )
            result.trials.append(trial)
            _log(f"[{size}] file deleted: {_times(trial)}")
            since = time.monotonic()
            (corpus / "bundled" / f"dropped-{n + 1}.md").unlink()
            ingested_after(tail, since)  # let that round pass before the next trial
        stopping = time.monotonic()
        watcher.send_signal(signal.SIGTERM)
        watcher.wait(timeout=PATIENCE)
        result.stop_s = time.monotonic() - stopping
        if watcher.returncode != 0 or "Traceback" in log_path.read_text():
            raise RuntimeError(f"the watcher did not stop cleanly; see {log_path}")
    finally:
        tail.close()
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
        for stray in [*corpus.glob("dropped-*.md"), *corpus.glob("bundled/dropped-*.md")]:
            stray.unlink()
    result.load.append(os.getloadavg()[0])
    return result


def render(results: list[SizeResult], args: argparse.Namespace, seconds: float) -> str:
    from bench.run import _commit, package_version

    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        BEGIN,
        "## Watched folder: a file dropped → answerable",
        "",
        f"Run {when} in {seconds / 60:.0f} min on {os.cpu_count()} CPU cores "
        f"({platform.machine()}, Python {platform.python_version()}, "
        f"watchfiles {package_version('watchfiles')}, chromadb {package_version('chromadb')}), "
        f"commit {_commit()}.",
        f"Command: `.venv/bin/python -m bench.watch {' '.join(sys.argv[1:])}`",
        "",
        "`assistant ingest --watch` on the corpus folder, with its defaults (a burst ends after "
        "0.3 s without a change; a file must stay unchanged for 1 s); "
        f"{args.trials} trials of each change, median / max in seconds from the moment the "
        "file was written (or deleted). **Answerable**: a question asked from then on is "
        "answered from the new article (after a deletion: no longer cites it); it is the "
        "moment the watcher's round ended (its summary line), checked by starting a fresh "
        "`assistant ask --json` right then. **Answer printed**: when that ask process, "
        "cold start included, printed its answer, i.e. what a reader who asked at that "
        "moment on the command line waited in all.",
        "",
        "| articles | change | answerable after | answer printed after | first ask saw it | "
        f"target ≤ {TARGET_S:g} s |",
        "|---:|---|---:|---:|---:|:---:|",
    ]
    for r in results:
        label = "2 (bundled only)" if r.size == 0 else f"{r.size:,} + 2"
        for kind, name in KINDS.items():
            trials = [t for t in r.trials if t.kind == kind]
            if not trials:
                continue
            ready = [t.answerable_s for t in trials]
            printed = [t.printed_s for t in trials]
            met = "yes" if max(ready) <= TARGET_S else "NO"
            lines.append(
                f"| {label} | {name} | {statistics.median(ready):.1f} / {max(ready):.1f} | "
                f"{statistics.median(printed):.1f} / {max(printed):.1f} | "
                f"{sum(t.first_ask_ok for t in trials)}/{len(trials)} | {met} |"
            )
    lines += ["", "Notes:", ""]
    for r in results:
        label = "2 (bundled only)" if r.size == 0 else f"{r.size:,} + 2"
        cold = statistics.median(r.cold_ask_s) if r.cold_ask_s else 0.0
        lines.append(
            f"- {label}: initial sync (start-up included) {r.initial_s:.1f} s; a cold "
            f"`assistant ask --json` {cold:.2f} s (median of {len(r.cold_ask_s)}); SIGTERM "
            f"to exit {r.stop_s:.1f} s; load average "
            f"{' → '.join(f'{x:.1f}' for x in r.load)}."
        )
    lines += [
        "- Each round reads only the files that changed, wherever they are in the folder, and "
        "finds a deleted file's articles in the keyword index's ledger "
        "(`Indexer.ingest_changes`); the watcher keeps the store open between rounds while no "
        "other process changes it. Before e07e668 a new file in a subfolder or a deletion made "
        "the round ingest the whole folder: 11-13 s at 10,000 articles.",
        END,
    ]
    return "\n".join(lines) + "\n"


def replace_section(path: Path, section: str, begin: str = BEGIN, end: str = END) -> None:
    """Put the section (which starts with `begin` and ends with `end`) in the file, in place
    of an earlier one, else at the end."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    path.write_text(text, encoding="utf-8")


def _times(trial: Trial) -> str:
    return f"answerable after {trial.answerable_s:.1f}s, printed after {trial.printed_s:.1f}s" + (
        "" if trial.first_ask_ok else " (the first ask did not see it yet)"
    )


def _log(message: str) -> None:
    print(f"{dt.datetime.now():%H:%M:%S} {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 1000])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "results" / "tmp")
    parser.add_argument("--seed", type=int, default=20251121)
    parser.add_argument("--out", type=Path, help="replace this file's watched-folder section")
    args = parser.parse_args(argv)
    os.environ.update(ANONYMIZED_TELEMETRY="False", GRADIO_ANALYTICS_ENABLED="False")
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results = [measure(size, args) for size in args.sizes]
    section = render(results, args, time.monotonic() - started)
    print(section)
    if args.out:
        replace_section(args.out, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
