"""Server mode against a real `chroma run` on loopback: ingest, answers, auth, outages.

The server is the `chroma` CLI that ships with the chromadb package. Every test uses its
own collection; tests that stop a server start their own.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant import indexing
from assistant.corpus import load_corpus
from assistant.embeddings import WordLlamaEmbedder
from assistant.engine import Assistant, ingest
from assistant.errors import IndexStateError, StoreUnavailableError
from assistant.lexical import LexicalIndex
from assistant.settings import Settings, load_settings
from tests.conftest import ROOT, SOURCES, keyword_file

CHROMA = Path(sys.executable).parent / "chroma"
QUESTION = "What limit does the draft set on Ukraine's armed forces?"
PLANT = "What does the draft say about the Zaporizhzhia nuclear power plant?"
SPLIT = "How would its electricity be split?"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ChromaServer:
    """`chroma run` in a subprocess; start() returns once its heartbeat answers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = path.parent / f"chroma-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> ChromaServer:
        command = [str(CHROMA), "run", "--path", str(self.path)]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=_server_env()
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"chroma run exited: {self._log.read_text()[-2000:]}")
            if self._heartbeat():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"chroma run gave no heartbeat in {timeout:.0f}s")

    def _heartbeat(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2) as reply:
                return reply.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=15)

    def collection(self, name: str) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        client = chromadb.HttpClient(
            host="127.0.0.1", port=self.port, settings=ChromaSettings(anonymized_telemetry=False)
        )
        return client.get_collection(name)


def _server_env() -> dict[str, str]:
    return {**os.environ, "ANONYMIZED_TELEMETRY": "False"}


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path_factory.mktemp("chroma") / "db")
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ChromaServer]:
    """A server this test may stop."""
    server = ChromaServer(tmp_path / "own-db")
    try:
        yield server.start()
    finally:
        server.stop()


def server_settings(server_url: str, data_dir: Path, **overrides: Any) -> Settings:
    return load_settings(
        data_dir=data_dir,
        sources=[SOURCES],
        chroma_url=server_url,
        collection=f"test-{uuid.uuid4().hex[:12]}",
        **overrides,
    )


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=180,
    )


def comparable(answer_dict: dict[str, Any]) -> dict[str, Any]:
    """An answer's JSON without what legitimately differs between two runs."""
    kept = {k: v for k, v in answer_dict.items() if k != "timings_ms"}
    kept["retrieved"] = [{**r, "score": round(r["score"], 6)} for r in kept["retrieved"]]
    return kept


# -- ingest and answers through the engine API ------------------------------------------


def test_engine_ingests_into_the_server_and_answers_as_embedded_does(
    chroma_server: ChromaServer, tmp_path: Path, settings: Settings
) -> None:
    # candidate_k above the number of chunks: queries must not ask the server for more.
    remote = server_settings(chroma_server.url, tmp_path / "remote", candidate_k=100)
    report = ingest(remote)
    assert (report.added, report.chunks_total) == (2, report.chunks_written)
    assert chroma_server.collection(remote.collection).count() == report.chunks_total
    assert not (tmp_path / "remote" / "chroma").exists()  # nothing went to a local store
    assert keyword_file(tmp_path / "remote").name.startswith(f"{remote.collection}-")

    on_server = Assistant.open(remote)
    embedded = Assistant.open(settings.model_copy(update={"candidate_k": 100}))
    assert on_server.info().chunks == embedded.info().chunks == report.chunks_total
    for question, history in [
        (QUESTION, []),
        (SPLIT, [PLANT]),
        ("What is the capital of Australia?", []),
    ]:
        remote_answer = on_server.ask(question, history)
        assert comparable(remote_answer.to_dict()) == comparable(
            embedded.ask(question, history).to_dict()
        )
    answer = on_server.ask(QUESTION)
    assert not answer.refused and "600,000" in answer.text and answer.citations


def test_reingest_against_the_server_skips_unchanged_articles(
    chroma_server: ChromaServer, tmp_path: Path
) -> None:
    remote = server_settings(chroma_server.url, tmp_path / "data")
    first = ingest(remote)
    again = ingest(remote)
    assert (again.added, again.unchanged, again.chunks_written) == (0, 2, 0)
    assert again.chunks_total == first.chunks_total


# -- the CLI in subprocesses ---------------------------------------------------------------


def test_cli_ingests_and_asks_against_the_server_from_two_machines(
    chroma_server: ChromaServer, tmp_path: Path
) -> None:
    env = {
        "ASSISTANT_CHROMA_URL": chroma_server.url,
        "ASSISTANT_COLLECTION": f"cli-{uuid.uuid4().hex[:12]}",
        "ASSISTANT_DATA_DIR": str(tmp_path / "first"),
    }
    built = run_cli("ingest", str(SOURCES), env=env)
    assert built.returncode == 0, built.stderr
    assert "2 added" in built.stdout
    assert chroma_server.collection(env["ASSISTANT_COLLECTION"]).count() > 0

    # Another host with an empty data dir: its BM25 index is rebuilt from the server.
    for data_dir in ("first", "second"):
        asked = run_cli(
            "ask", QUESTION, "--json", env={**env, "ASSISTANT_DATA_DIR": str(tmp_path / data_dir)}
        )
        assert asked.returncode == 0, asked.stderr
        answer = json.loads(asked.stdout)
        assert not answer["refused"] and "600,000" in answer["answer"]
        assert answer["citations"][0]["source"].startswith("index/sources/")
    assert not (tmp_path / "second" / "chroma").exists()


# -- a server that goes away ----------------------------------------------------------------


def test_server_down_is_a_clear_error_in_the_engine_and_the_cli(
    own_server: ChromaServer, tmp_path: Path
) -> None:
    remote = server_settings(own_server.url, tmp_path / "data")
    ingest(remote)
    assistant = Assistant.open(remote)
    assert not assistant.ask(QUESTION).refused

    own_server.stop()
    with pytest.raises(StoreUnavailableError, match=own_server.url.replace(".", r"\.")):
        assistant.ask(QUESTION)  # an open assistant whose server went away mid-session
    with pytest.raises(StoreUnavailableError, match="cannot reach the Chroma server at"):
        Assistant.open(remote)

    env = {
        "ASSISTANT_CHROMA_URL": own_server.url,
        "ASSISTANT_COLLECTION": remote.collection,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
    }
    for args in (("ask", QUESTION, "--json"), ("ingest", str(SOURCES))):
        result = run_cli(*args, env=env)
        assert result.returncode == StoreUnavailableError.exit_code
        assert "Traceback" not in result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, result.stderr
        assert errors[0].startswith(f"error: cannot reach the Chroma server at {own_server.url}")
        assert result.stdout == ""


# -- credentials: a token-checking reverse proxy in front of the server --------------------


class AuthProxy:
    """What a deployment puts in front of `chroma run`: it forwards only with the token."""

    def __init__(self, upstream_port: int, header: str, value: str) -> None:
        self.seen: list[str | None] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                given = self.headers.get(header)
                proxy.seen.append(given)
                if given != value:
                    self._reply(401, b'{"error":"Unauthorized","message":"bad token"}', {})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                upstream.request(self.command, self.path, body=body, headers=headers)
                reply = upstream.getresponse()
                self._reply(reply.status, reply.read(), dict(reply.getheaders()))
                upstream.close()

            def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, val in headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, val)
                self.send_header("Content-Type", headers.get("content-type", "application/json"))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> AuthProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_token_setting_sends_a_bearer_token(chroma_server: ChromaServer, tmp_path: Path) -> None:
    with AuthProxy(chroma_server.port, "Authorization", "Bearer s3cret") as proxy:
        env = {
            "ASSISTANT_CHROMA_URL": proxy.url,
            "ASSISTANT_CHROMA_TOKEN": "s3cret",
            "ASSISTANT_COLLECTION": f"tok-{uuid.uuid4().hex[:12]}",
            "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        }
        built = run_cli("ingest", str(SOURCES), env=env)
        assert built.returncode == 0, built.stderr
        asked = run_cli("ask", QUESTION, "--json", env=env)
        assert asked.returncode == 0 and "600,000" in json.loads(asked.stdout)["answer"]
        assert proxy.seen and set(proxy.seen) == {"Bearer s3cret"}

        refused = run_cli("ask", QUESTION, env={**env, "ASSISTANT_CHROMA_TOKEN": "wrong"})
        assert refused.returncode == StoreUnavailableError.exit_code
        assert "Traceback" not in refused.stderr
        assert refused.stderr.startswith(
            f"error: the Chroma server at {proxy.url} refused the credentials"
        ), refused.stderr


def test_headers_setting_sends_custom_headers(chroma_server: ChromaServer, tmp_path: Path) -> None:
    with AuthProxy(chroma_server.port, "X-Chroma-Token", "ck-123") as proxy:
        remote = server_settings(
            proxy.url, tmp_path / "data", chroma_headers={"X-Chroma-Token": "ck-123"}
        )
        ingest(remote)
        assert not Assistant.open(remote).ask(QUESTION).refused
        assert set(proxy.seen) == {"ck-123"}

        with pytest.raises(StoreUnavailableError, match="refused the credentials"):
            Assistant.open(remote.model_copy(update={"chroma_headers": {}}))


# -- big ingests prepare chunks in a worker process: same result ----------------------------


def test_worker_process_prepares_exactly_what_this_process_does(
    chroma_server: ChromaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    articles = load_corpus([SOURCES]).articles
    options = indexing.PrepareOptions(chunk_tokens=80, batch_chunks=16)
    here = list(indexing.prepare_batches(articles, options, WordLlamaEmbedder().embed))
    there = list(indexing.prepared_in_worker(articles, options, "l2_supercat_256"))
    assert len(here) == len(there) > 1
    for mine, theirs in zip(here, there, strict=True):
        assert (mine.ids, mine.texts, mine.metadatas) == (
            theirs.ids,
            theirs.texts,
            theirs.metadatas,
        )
        assert (mine.head_start, mine.articles, mine.terms) == (
            theirs.head_start,
            theirs.articles,
            theirs.terms,
        )
        assert np.array_equal(mine.vectors, theirs.vectors)

    # End to end: an ingest through the worker stores what an in-process ingest stores.
    in_process = server_settings(chroma_server.url, tmp_path / "a")
    ingest(in_process)
    monkeypatch.setattr(indexing, "WORKER_MIN_ARTICLES", 1)
    via_worker = server_settings(chroma_server.url, tmp_path / "b")
    ingest(via_worker)
    include = ["documents", "metadatas", "embeddings"]
    a = chroma_server.collection(in_process.collection).get(include=include)
    b = chroma_server.collection(via_worker.collection).get(include=include)
    assert a["ids"] == b["ids"] and a["documents"] == b["documents"]
    assert a["metadatas"] == b["metadatas"]
    assert np.array_equal(np.asarray(a["embeddings"]), np.asarray(b["embeddings"]))
    keywords = [
        LexicalIndex.open(keyword_file(root)).documents()
        for root in (tmp_path / "a", tmp_path / "b")
    ]
    assert keywords[0] == keywords[1] and sorted(keywords[0]) == sorted(a["ids"])


def test_a_failing_worker_is_a_clear_error() -> None:
    articles = load_corpus([SOURCES]).articles
    options = indexing.PrepareOptions(chunk_tokens=0, batch_chunks=16)
    with pytest.raises(IndexStateError, match="preparing chunks failed"):
        list(indexing.prepared_in_worker(articles, options, "l2_supercat_256"))
