"""Load on the web server: errors, latency and memory over time. A script, not a test.

Starts `assistant web` on the offline default in its own process (free port, its own data
directory under bench/results/tmp/load, indexed once), then
  1. `--concurrency` readers (50) ask through gradio_client's `/ask`, each in its own
     session, one question after another, for `--duration` seconds (300);
  2. `--calls` more questions (10,000) over Gradio's plain HTTP API (POST /gradio_api/call/ask,
     then read the event stream), `--workers` (8) at a time, each call in a new session,
     as curl users and simple scripts make them.
Questions cycle through evals/qa.yaml (answerable, declined and follow-ups with history).
The server's resident memory is sampled every `--sample` seconds throughout (psutil if
installed, else /proc/<pid>/status). The memory counts as flat when every sample after
the warm-up (`--warmup` seconds, the first minute) stays within 10% of the sample taken
at the end of the warm-up.

    .venv/bin/python -m bench.load                          # full run, writes bench/results-load.md
    .venv/bin/python -m bench.load --duration 30 --calls 500 --out /tmp/load.md   # a quick look
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.run import (
    ROOT,
    VENV_BIN,
    Case,
    child_env,
    free_port,
    load_cases,
    package_version,
    percentile,
    wait_for_http,
)

FLAT_WITHIN = 0.10
SOURCES = ROOT / "index" / "sources"


# -- the server and its memory -------------------------------------------------------------


def rss_mb(pid: int) -> float:
    """Resident memory of a live process in MB: psutil when installed, else /proc."""
    try:
        import psutil  # type: ignore[import-untyped]
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no VmRSS for process {pid}") from None
    return float(psutil.Process(pid).memory_info().rss) / (1024 * 1024)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    at: float  # seconds since the load began
    phase: str
    rss_mb: float


class Sampler:
    """Reads the server's RSS every `every` seconds in a background thread."""

    def __init__(self, pid: int, every: float) -> None:
        self.pid = pid
        self.every = every
        self.samples: list[Sample] = []
        self.phase = "idle"
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.started = time.monotonic()
        self.take()
        self._thread.start()

    def take(self) -> Sample:
        sample = Sample(time.monotonic() - self.started, self.phase, rss_mb(self.pid))
        self.samples.append(sample)
        return sample

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.take()
            except (OSError, RuntimeError):
                return  # the server is gone; the callers will say so

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.take()


def ensure_index(data_dir: Path, log: Callable[[str], None]) -> None:
    """Index the bundled articles into data_dir once; later runs reuse it."""
    if (data_dir / "chroma").exists():
        return
    log(f"indexing the bundled articles into {data_dir}")
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    subprocess.run(
        [str(VENV_BIN / "assistant"), "ingest", str(SOURCES)],
        cwd=ROOT,
        env=child_env(data_dir),
        check=True,
        capture_output=True,
    )


# -- callers ------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Latencies and errors of one phase, shared by its threads."""

    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)

    def failed(self, kind: str, detail: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            self.examples.setdefault(kind, detail[:300])

    @property
    def calls(self) -> int:
        return len(self.latencies) + sum(self.errors.values())


def timed_call(tally: Tally, call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """One /ask call, timed and counted: an exception or a malformed result is an error."""
    started = time.perf_counter()
    try:
        result = call(*args, **kwargs)
    except Exception as exc:
        tally.failed(type(exc).__name__, str(exc))
        return
    if well_formed(result):
        tally.ok(time.perf_counter() - started)
    else:
        tally.failed("malformed", repr(result))


def well_formed(result: Any) -> bool:
    return isinstance(result, dict) and isinstance(result.get("answer"), str) and result["answer"]


def readers(url: str, cases: Sequence[Case], concurrency: int, seconds: float) -> Tally:
    """`concurrency` gradio_client readers, each its own session, asking until time is up."""
    from gradio_client import Client

    tally = Tally()
    deadline = time.monotonic() + seconds

    def reader(number: int) -> None:
        client = Client(url, verbose=False)
        try:
            turn = number
            while time.monotonic() < deadline:
                case = cases[turn % len(cases)]
                turn += concurrency
                timed_call(
                    tally, client.predict, case.question, list(case.history), api_name="/ask"
                )
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(reader, range(concurrency)))
    return tally


def http_calls(url: str, cases: Sequence[Case], calls: int, workers: int) -> Tally:
    """`calls` questions over the plain HTTP API, each in a new session."""
    import httpx

    tally = Tally()
    counter = iter(range(calls))
    counter_lock = threading.Lock()

    def next_case() -> Case | None:
        with counter_lock:
            n = next(counter, None)
        return None if n is None else cases[n % len(cases)]

    def worker(_: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            while (case := next_case()) is not None:
                timed_call(tally, call_once, http, case)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(worker, range(workers)))
    return tally


def call_once(http: Any, case: Case) -> Any:
    """POST /gradio_api/call/ask (no session hash: a new session), then read its events."""
    posted = http.post("gradio_api/call/ask", json={"data": [case.question, list(case.history)]})
    posted.raise_for_status()
    event_id = posted.json()["event_id"]
    kind = data = None
    with http.stream("GET", f"gradio_api/call/ask/{event_id}") as events:
        events.raise_for_status()
        for line in events.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind in ("complete", "error"):
                data = line.removeprefix("data: ")
                break
    if kind != "complete" or data is None:
        raise RuntimeError(f"event {kind}: {data}")
    return json.loads(data)[0]


# -- the run ------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    detail: str
    seconds: float
    tally: Tally
    server_cpu: float  # seconds of the server's CPU time during the phase


def run(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    data_dir = args.work / "data"
    ensure_index(data_dir, log)
    cases = load_cases()
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log(f"starting assistant web on {url}")
    server = subprocess.Popen(
        [str(VENV_BIN / "assistant"), "web", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=child_env(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=(args.work / "server.log").open("w"),
        text=True,
    )
    phases: list[Phase] = []
    sampler = Sampler(server.pid, args.sample)
    try:
        wait_for_http(url, server, timeout=600)
        sampler.start()
        log(f"server up, RSS {sampler.samples[0].rss_mb:.0f} MB")

        log(f"{args.concurrency} readers through gradio_client for {args.duration:.0f} s")
        phases.append(
            run_phase(
                "readers",
                f"{args.concurrency} concurrent gradio_client readers, one session each, "
                f"for {args.duration:.0f} s",
                lambda: readers(url, cases, args.concurrency, args.duration),
                sampler,
                server.pid,
                log,
            )
        )
        log(f"{args.calls} calls over HTTP, {args.workers} at a time, a new session each")
        phases.append(
            run_phase(
                "calls",
                f"{args.calls:,} calls of POST /gradio_api/call/ask + its event stream, "
                f"{args.workers} at a time, each in a new session",
                lambda: http_calls(url, cases, args.calls, args.workers),
                sampler,
                server.pid,
                log,
            )
        )
        sampler.phase = "idle after"
        time.sleep(min(15.0, args.sample * 3))  # idle sessions are dropped within seconds
    finally:
        sampler.stop()
        alive = server.poll() is None
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return {"phases": phases, "samples": sampler.samples, "alive": alive}


# -- the report -------------------------------------------------------------------------------


def memory_verdict(samples: Sequence[Sample], warmup: float) -> dict[str, Any]:
    start = samples[0].rss_mb
    after = [s for s in samples if s.at >= warmup]
    if not after:
        return {"start": start, "warm": None, "end": samples[-1].rss_mb, "flat": None}
    warm = after[0].rss_mb
    low = min(s.rss_mb for s in after)
    high = max(s.rss_mb for s in after)
    drift = max(abs(high - warm), abs(warm - low)) / warm
    return {
        "start": start,
        "warm": warm,
        "warm_at": after[0].at,
        "end": samples[-1].rss_mb,
        "low": low,
        "high": high,
        "peak": max(s.rss_mb for s in samples),
        "drift": drift,
        "flat": drift <= FLAT_WITHIN,
    }


def render(result: dict[str, Any], args: argparse.Namespace, seconds: float) -> str:
    phases: list[Phase] = result["phases"]
    samples: list[Sample] = result["samples"]
    memory = memory_verdict(samples, args.warmup)
    errors = sum(sum(p.tally.errors.values()) for p in phases)
    lines = [
        "# Load on the web server",
        "",
        f"Command: `{' '.join(['.venv/bin/python -m bench.load', *sys.argv[1:]])}`",
        "",
        f"Run {dt.datetime.now():%Y-%m-%d %H:%M}, {seconds / 60:.1f} minutes, commit "
        f"{_commit()}; Python {platform.python_version()}, gradio {package_version('gradio')}, "
        f"{os.cpu_count()} CPUs, load average at the end {_loadavg()}. The server: "
        "`assistant web` on the offline default (extractive answers), default web settings, "
        "its own data directory with the two bundled articles. Callers ran on the same "
        "machine, so latencies include their share of the CPU and Gradio's queue "
        "(8 questions answered at once).",
        "",
        "| phase | calls | errors | p50 | p95 | max | calls/s | server CPU per call |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for phase in phases:
        t = phase.tally
        lat = t.latencies
        lines.append(
            f"| {phase.detail} | {t.calls:,} | {sum(t.errors.values())} | "
            f"{_ms(percentile(lat, 50))} | {_ms(percentile(lat, 95))} | "
            f"{_ms(max(lat) if lat else float('nan'))} | {t.calls / phase.seconds:.1f} | "
            f"{_ms(phase.server_cpu / max(t.calls, 1))} |"
        )
    lines += ["", f"**Errors: {errors}.**" + ("" if result["alive"] else " The server died.")]
    for phase in phases:
        for kind, count in phase.tally.errors.most_common():
            example = phase.tally.examples.get(kind, "")
            lines.append(f"- {phase.name}: {count} × {kind}: `{example}`")
    lines += ["", "## Server memory (RSS)", ""]
    if memory["warm"] is None:
        lines.append(f"The run was shorter than the {args.warmup:.0f} s warm-up: no verdict.")
    else:
        verdict = "flat" if memory["flat"] else "NOT flat"
        lines += [
            f"- at start (server up, idle): {memory['start']:.0f} MB",
            f"- after warm-up ({memory['warm_at']:.0f} s into the load): {memory['warm']:.0f} MB",
            f"- after warm-up, lowest / highest: {memory['low']:.0f} / {memory['high']:.0f} MB",
            f"- at the end (idle after the calls): {memory['end']:.0f} MB; "
            f"peak {memory['peak']:.0f} MB",
            f"- **{verdict}**: every sample after warm-up within {memory['drift']:.1%} of the "
            f"warm-up sample (target: within {FLAT_WITHIN:.0%})",
        ]
    lines += ["", _timeline(samples, args.report_every)]
    return "\n".join(lines) + "\n"


def _timeline(samples: Sequence[Sample], every: float) -> str:
    rows = ["| time | phase | RSS |", "|---:|---|---:|"]
    due = 0.0
    for i, sample in enumerate(samples):
        if sample.at >= due or i == len(samples) - 1:
            rows.append(f"| {sample.at / 60:.1f} min | {sample.phase} | {sample.rss_mb:.0f} MB |")
            due = sample.at + every
    return "\n".join(rows)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def _commit() -> str:
    """The commit measured; BENCH_COMMIT names it for a `git archive` export (no .git)."""
    if not (ROOT / ".git").exists():
        exported = os.environ.get("BENCH_COMMIT")
        return f"{exported} (a clean `git archive` export)" if exported else "?"
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", "assistant", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    dirty = " with uncommitted changes to the code" if changed.stdout.strip() else ""
    return (done.stdout.strip() or "?") + dirty


# -- entry point ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of phase 1")
    parser.add_argument("--concurrency", type=int, default=50, help="readers in phase 1")
    parser.add_argument("--calls", type=int, default=10_000, help="calls in phase 2")
    parser.add_argument("--workers", type=int, default=8, help="calls at once in phase 2")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before RSS counts")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--report-every", type=float, default=60.0, help="timeline row spacing")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "results" / "tmp" / "load")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results-load.md")
    return parser.parse_args(argv)


def run_phase(
    name: str,
    description: str,
    work: Callable[[], Tally],
    sampler: Sampler,
    pid: int,
    log: Callable[[str], None],
) -> Phase:
    """Run one phase of load, timing it and the server's CPU, RSS samples labelled by it."""
    sampler.phase = name
    started, cpu = time.perf_counter(), cpu_seconds(pid)
    tally = work()
    log(f"  {tally.calls} calls, {sum(tally.errors.values())} errors")
    return Phase(name, description, time.perf_counter() - started, tally, cpu_seconds(pid) - cpu)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = run(args, _log)
    report = render(result, args, time.perf_counter() - started)
    print(report)
    args.out.write_text(report, encoding="utf-8")
    _log(f"wrote {args.out}")
    errors = sum(sum(p.tally.errors.values()) for p in result["phases"])
    return 0 if errors == 0 and result["alive"] else 1


def _log(message: str) -> None:
    print(f"{dt.datetime.now():%H:%M:%S} {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
