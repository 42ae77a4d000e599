"""`make bench-llm`: ask the question set through a real engine checkout against a local model.

    .venv/bin/python -m bench.llm --out bench/results-llm.md               # this checkout
    .venv/bin/python -m bench.llm --repo /tmp/before --out bench/results-llm-before.md

Needs .venv-llm (llama-cpp-python[server] and gguf; `make bench-llm` builds it). The model is
assembled on first use into bench/llm/models/. The engine runs in a child process with the
checkout under test first on PYTHONPATH, its own temporary index, and the model behind a
recording proxy. The server and the engine process are always stopped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bench.llm.model import ensure_model, read_metadata
from bench.llm.proxy import RecordingProxy
from bench.llm.questions import QUESTIONS, ROOT, Question, load_questions
from bench.llm.report import RunInfo, render
from bench.llm.scoring import Result
from bench.llm.server import (
    Server,
    ServerConfig,
    chat_template_lines,
    llama_server,
    warm_up,
)

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct-q4_k_m"
ENGINE_SETTINGS = {
    "OPENAI_API_KEY": "local",
    "ASSISTANT_LLM_MODEL": MODEL_ALIAS,
    "ASSISTANT_LLM_TIMEOUT": "120",
    "ASSISTANT_LLM_MAX_RETRIES": "0",
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.llm", description=__doc__.split("\n")[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="engine checkout to measure")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results-llm.md")
    parser.add_argument("--llm-venv", type=Path, default=ROOT / ".venv-llm")
    parser.add_argument("--model-dir", type=Path, default=HERE / "models")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--limit", type=int, default=None, help="ask only the first N questions")
    parser.add_argument("--chat-format", default=None, help="default: the GGUF's own template")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--n-ctx", type=int, default=4096)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    model_python = args.llm_venv / "bin" / "python"
    if not model_python.exists():
        print(f"error: {model_python} missing; `make bench-llm` builds it", file=sys.stderr)
        return 2
    started = time.perf_counter()
    load_start = os.getloadavg()
    engine_state, harness_state = git_state(args.repo.resolve()), git_state(ROOT)
    model = ensure_model(args.model_dir)
    metadata = read_metadata(model_python, model)
    metadata["file"] = _shown(model)
    print("model metadata: " + json.dumps(metadata), file=sys.stderr)
    model_s = time.perf_counter() - started
    config = ServerConfig(
        model_python, model, MODEL_ALIAS, args.n_ctx, args.threads, args.chat_format
    )
    run = measure(config, args.repo.resolve(), load_questions(args.questions)[: args.limit])
    info = RunInfo(
        title="Model-answer path with a real local model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M)",
        command=_command(argv),
        date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        engine=f"{engine_state}; engine process imported `{run.engine}`",
        harness=f"{harness_state} (bench/llm)",
        model=metadata,
        server_command=shlex.join(_shown_command(run.server.command)),
        chat_template=run.template,
        settings={"OPENAI_BASE_URL": "(recording proxy → llama.cpp)/v1", **ENGINE_SETTINGS},
        question_sources=_sources_note([r.question for r in run.results]),
        machine=_machine_note(load_start, args.threads),
        timings=(
            f"model check {model_s:.0f}s, server ready {run.server.seconds_to_ready:.0f}s and"
            " warmed with one short completion (outside the timings below), engine open with a"
            f" fresh index {run.engine_open_s:.0f}s, questions {run.questions_s / 60:.1f} min,"
            f" whole run {(time.perf_counter() - started) / 60:.1f} min"
        ),
    )
    args.out.write_text(render(info, run.results), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


@dataclass
class Run:
    server: Server
    template: str
    engine: str
    engine_open_s: float
    results: list[Result]
    questions_s: float


def measure(config: ServerConfig, repo: Path, questions: Sequence[Question]) -> Run:
    """Server, proxy, fresh index and engine process up; every question asked; all stopped."""
    logs = HERE / "logs"
    with (
        llama_server(config, logs / "server.log") as server,
        RecordingProxy(server.url) as proxy,
        tempfile.TemporaryDirectory(prefix="bench-llm-index-") as data_dir,
        EngineWorker(repo, engine_env(repo, proxy.url, data_dir), logs / "engine.log") as engine,
    ):
        template = _template_note(config.chat_format, server.log)
        warm_up(server.url)
        asked = time.perf_counter()
        results = [ask(engine, proxy, q, i, len(questions)) for i, q in enumerate(questions, 1)]
        questions_s = time.perf_counter() - asked
    return Run(server, template, engine.location, engine.open_s, results, questions_s)


# -- the engine under test, in its own process --------------------------------------------


def engine_env(repo: Path, proxy_url: str, data_dir: str) -> dict[str, str]:
    """The caller's environment without engine settings, plus the benchmark's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "OPENAI_"))}
    env.update(ENGINE_SETTINGS)
    env.update(
        PYTHONPATH=str(repo),
        ASSISTANT_DATA_DIR=data_dir,
        OPENAI_BASE_URL=f"{proxy_url}/v1",
        PYTHONUNBUFFERED="1",
    )
    return env


class EngineWorker:
    """bench/llm/worker.py running the checkout under test; one JSON line per question."""

    def __init__(self, repo: Path, env: dict[str, str], log: Path) -> None:
        self._command = [sys.executable, str(WORKER)]
        self._repo, self._env, self._log = repo, env, log
        self._process: subprocess.Popen[str] | None = None
        self._sink: IO[bytes] | None = None
        self.location = ""
        self.open_s = 0.0

    def __enter__(self) -> EngineWorker:
        self._log.parent.mkdir(parents=True, exist_ok=True)
        self._sink = self._log.open("wb")
        self._process = subprocess.Popen(
            self._command,
            cwd=self._repo,
            env=self._env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._sink,
            text=True,
        )
        ready = self._read()
        self.location, self.open_s = ready["engine"], float(ready["open_s"])
        if not Path(self.location).is_relative_to(self._repo):
            raise RuntimeError(f"the engine came from {self.location}, not from {self._repo}")
        print(f"engine: {self.location} ready in {self.open_s:.1f}s", file=sys.stderr)
        return self

    def ask(self, question: str) -> dict[str, Any]:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(json.dumps({"question": question}) + "\n")
        self._process.stdin.flush()
        return self._read()

    def _read(self) -> dict[str, Any]:
        assert self._process is not None and self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            tail = self._log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"the engine process ended:\n{tail}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def __exit__(self, *_: object) -> None:
        if self._process is not None:
            _close(self._process)
        if self._sink is not None:
            self._sink.close()


def _close(process: subprocess.Popen[str]) -> None:
    if process.stdin is not None:
        process.stdin.close()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def ask(engine: EngineWorker, proxy: RecordingProxy, q: Question, i: int, n: int) -> Result:
    proxy.take()
    reply = engine.ask(q.text)
    result = Result(q, reply.get("answer"), reply.get("error"), reply["wall_s"], proxy.take())
    verdict = "correct" if result.correct else "WRONG"
    state = "error" if result.error else "declined" if result.refused else "answered"
    print(f"[{i}/{n}] {q.id}: {state}, {verdict}, {result.wall_s:.1f}s", file=sys.stderr)
    return result


# -- what the report says about the run ----------------------------------------------------


def git_state(repo: Path) -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
        return done.stdout.rstrip()

    changed = [line[3:] for line in git("status", "--porcelain", "-uno").splitlines()]
    state = "clean" if not changed else f"dirty: {len(changed)} modified: {', '.join(changed)}"
    return f"`{repo}` at commit `{git('rev-parse', '--short', 'HEAD').strip() or '?'}` ({state})"


def _command(argv: Sequence[str] | None) -> str:
    args = list(sys.argv[1:] if argv is None else argv)
    command = shlex.join([_shown(Path(sys.executable)), "-m", "bench.llm", *args])
    return f"make bench-llm → {command}" if os.environ.get("MAKELEVEL") else command


def _shown(path: Path) -> str:
    absolute = path.absolute()
    return str(absolute.relative_to(ROOT)) if absolute.is_relative_to(ROOT) else str(path)


def _shown_command(command: Sequence[str]) -> list[str]:
    return [_shown(Path(part)) if part.startswith("/") else part for part in command]


def _template_note(chat_format: str | None, log: Path) -> str:
    if chat_format:
        return f"`--chat_format {chat_format}`"
    said = "; ".join(f"“{line[:120]}”" for line in chat_template_lines(log)[:2])
    return "the GGUF's own tokenizer.chat_template (no --chat_format)" + (
        f"; server log: {said}" if said else ""
    )


def _sources_note(questions: Sequence[Question]) -> str:
    answerable = [q.id for q in questions if q.answerable]
    oos = len(questions) - len(answerable)
    return (
        f"{len(questions)} from `bench/llm/questions.yaml`: {len(answerable)} answerable cases of"
        f" `evals/qa.yaml` ({', '.join(answerable)}), correct when every must_include fact is in"
        f" the final answer; {oos} out-of-scope questions, correct only when declined."
        " (evals/citations/ has no must_include facts to score answers by, so none come from it.)"
    )


def _machine_note(load_start: tuple[float, float, float], threads: int) -> str:
    load_end = os.getloadavg()
    return (
        f"{os.cpu_count()} cores, shared with other work; load average (1 min) "
        f"{load_start[0]:.1f} at the start, {load_end[0]:.1f} at the end; "
        f"server threads {threads}"
    )
