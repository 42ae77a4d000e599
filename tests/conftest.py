"""Shared fixtures: an isolated environment, a prebuilt index, local fake servers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.store import ChunkStore, forget_embedded
from tests.fakes.openai_server import FakeOpenAIServer

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "index" / "sources"


# Prefixed to a command: it starts with SIGINT ignored, as a shell script's background job
# does (and Python keeps).
IGNORING_SIGINT = ("bash", "-c", 'trap "" INT; exec "$@"', "bash")
# A server's stop test, run twice: SIGINT though started ignoring it, and SIGTERM.
STOP_SIGNALS = pytest.mark.parametrize(
    ("launcher", "signum"),
    [(IGNORING_SIGINT, signal.SIGINT), ((), signal.SIGTERM)],
    ids=["sigint-though-started-ignoring-it", "sigterm"],
)


def run_cli(*args: str, data: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`assistant ARGS` as a subprocess on the data directory `data`; it must succeed."""
    done = subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "ASSISTANT_DATA_DIR": str(data)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done


_ISOLATED_PREFIXES = ("ASSISTANT_", "OPENAI_", "SLACK_", "GRADIO_")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's keys, endpoints or index."""
    for name in list(os.environ):
        if name.startswith(_ISOLATED_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(autouse=True)
def release_embedded_stores(tmp_path: Path) -> Iterator[None]:
    """After each test, stop chromadb's in-process copies of the stores it made under its
    tmp_path: chromadb keeps every embedded store it opened, with ~11 open files each, for
    the life of the process, and past 1,024 open files pexpect's select() fails in the
    terminal tests."""
    yield
    if "chromadb" not in sys.modules:
        return
    from chromadb.api.shared_system_client import SharedSystemClient

    for key in list(SharedSystemClient._identifier_to_system):
        if Path(key).is_relative_to(tmp_path):
            forget_embedded(Path(key))


class CountingStore(ChunkStore):
    """A real store that notes every read of articles or chunks back from it."""

    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self.calls: list[str] = []
        self.fetched: list[str] = []

    def article_heads(self):  # type: ignore[no-untyped-def]
        self.calls.append("article_heads")
        return super().article_heads()

    def scan_documents(self, batch: int = 5000):  # type: ignore[no-untyped-def]
        self.calls.append("scan_documents")
        return super().scan_documents(batch)

    def get(self, ids):  # type: ignore[no-untyped-def]
        self.calls.append("get")
        self.fetched.extend(ids)
        return super().get(ids)


def keyword_file(data_dir: Path) -> Path:
    """The keyword index (assistant.lexical) of a data directory: its one database."""
    [path] = (data_dir / "bm25").glob("*.sqlite3")
    return path


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled articles indexed once per session; tests get copies."""
    from assistant.engine import ingest
    from assistant.settings import load_settings

    data_dir = tmp_path_factory.mktemp("built") / "data"
    ingest(load_settings(data_dir=data_dir, sources=[SOURCES]), [SOURCES])
    return data_dir


@pytest.fixture
def data_dir(built_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the built index, also exported as ASSISTANT_DATA_DIR."""
    target = tmp_path / "data"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(built_index, target)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(target))
    return target


@pytest.fixture
def settings(data_dir: Path):  # type: ignore[no-untyped-def]
    from assistant.settings import load_settings

    return load_settings(data_dir=data_dir, sources=[SOURCES])


@pytest.fixture
def assistant(settings):  # type: ignore[no-untyped-def]
    from assistant.engine import Assistant

    return Assistant.open(settings)


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server
