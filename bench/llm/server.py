"""llama-cpp-python's OpenAI-compatible server, started in the background and always stopped."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class ServerError(RuntimeError):
    """The server exited or did not answer in time."""


@dataclass(frozen=True)
class ServerConfig:
    python: Path
    model: Path
    alias: str
    n_ctx: int = 4096
    threads: int = 2
    chat_format: str | None = None  # None: the GGUF's own chat template
    startup_timeout: float = 300.0


@dataclass(frozen=True)
class Server:
    url: str
    command: list[str]
    log: Path
    seconds_to_ready: float


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_command(config: ServerConfig, port: int) -> list[str]:
    command = [
        str(config.python),
        *("-m", "llama_cpp.server", "--model", str(config.model)),
        *("--model_alias", config.alias, "--host", "127.0.0.1", "--port", str(port)),
        *("--n_ctx", str(config.n_ctx), "--n_threads", str(config.threads)),
        *("--n_threads_batch", str(config.threads)),
    ]
    if config.chat_format:
        command += ["--chat_format", config.chat_format]
    return command


@contextlib.contextmanager
def llama_server(config: ServerConfig, log: Path) -> Iterator[Server]:
    """Start the server, wait until GET /v1/models answers, stop it on the way out."""
    port = free_port()
    command = server_command(config, port)
    url = f"http://127.0.0.1:{port}"
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print(f"server: {' '.join(command)}", file=sys.stderr)
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        try:
            _wait_ready(process, url, log, config.startup_timeout)
            ready = time.perf_counter() - started
            print(f"server: ready at {url} after {ready:.1f}s (log: {log})", file=sys.stderr)
            yield Server(url, command, log, ready)
        finally:
            _stop(process)


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"llama_cpp.server exited ({process.returncode}):\n{_tail(log)}")
        if _models(url) is not None:
            return
        time.sleep(0.5)
    raise ServerError(f"llama_cpp.server did not answer within {timeout:.0f}s:\n{_tail(log)}")


def _models(url: str) -> list[str] | None:
    try:
        with urllib.request.urlopen(f"{url}/v1/models", timeout=2) as response:
            payload = json.load(response)
    except (OSError, urllib.error.URLError, ValueError):
        return None
    return [m.get("id", "") for m in payload.get("data", [])]


def warm_up(url: str) -> None:
    """One short completion, so the first question does not pay for paging the model in."""
    body = {"messages": [{"role": "user", "content": "Say OK."}], "max_tokens": 4}
    request = urllib.request.Request(
        f"{url}/v1/chat/completions",
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        response.read()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    print(f"server: stopped (pid {process.pid})", file=sys.stderr)


def _tail(log: Path, chars: int = 3000) -> str:
    try:
        return log.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def chat_template_lines(log: Path) -> list[str]:
    """What the server's log says about the chat template it uses."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line.strip() for line in lines if "chat" in line.lower() and "using" in line.lower()]
