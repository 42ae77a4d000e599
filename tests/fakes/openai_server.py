"""A deterministic, scriptable, local OpenAI-compatible HTTP server for tests.

Point the real ``openai`` client (or llama-index's ``OpenAILike``) at
``srv.base_url``; nothing is patched.  Standard library only, so it starts in
milliseconds::

    with FakeOpenAIServer() as srv:
        srv.reply("Hello [1].")
        client = openai.OpenAI(base_url=srv.base_url, api_key="test")
        client.chat.completions.create(model="any-model", messages=[...])

Endpoints:

* ``POST /v1/chat/completions`` (plain and ``stream: true`` SSE),
* ``POST /v1/completions`` (plain and streamed),
* ``POST /v1/embeddings`` (deterministic bag-of-words hashing vectors),
* ``GET /v1/models`` and ``GET /v1/models/{id}``.

Chat and completion requests consume one scripted behaviour each from a FIFO
queue (``reply``, ``fail``, ``delay``, ``responder``); when the queue is empty
the ``default_responder`` (if set) or ``default_text`` is used.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import math
import re
import socket
import struct
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypedDict

__all__ = [
    "DEFAULT_CHUNK_SIZES",
    "DEFAULT_MODELS",
    "FakeOpenAIServer",
    "RecordedRequest",
    "Responder",
    "error_body",
    "hash_embedding",
    "split_text",
]

JSON = dict[str, Any]
Responder = Callable[[JSON], str]

DEFAULT_MODELS: tuple[str, ...] = (
    "gpt-4o-mini",
    "my-local-llama-3",
    "text-embedding-3-small",
)
# Cycled chunk sizes for streamed text: all between 3 and 8 characters, so a
# 4-character citation marker such as "[12]" regularly straddles two chunks.
DEFAULT_CHUNK_SIZES: tuple[int, ...] = (3, 5, 8, 4, 7, 6)

_TOKEN_RE = re.compile(r"\w+")
_JSON_ROUTES = frozenset(
    {
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/completions"),
        ("POST", "/v1/embeddings"),
    }
)

_ERROR_TYPES: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("not_found_error", "model_not_found"),
    408: ("timeout_error", None),
    409: ("conflict_error", None),
    422: ("invalid_request_error", None),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", None),
    503: ("service_unavailable_error", None),
}


# --------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------


def split_text(text: str, sizes: Sequence[int] = DEFAULT_CHUNK_SIZES) -> list[str]:
    """Split ``text`` into consecutive pieces whose lengths cycle through ``sizes``."""
    if not sizes or any(s <= 0 for s in sizes):
        raise ValueError("chunk sizes must be positive")
    pieces: list[str] = []
    pos = 0
    for size in itertools.cycle(sizes):
        if pos >= len(text):
            break
        pieces.append(text[pos : pos + size])
        pos += size
    return pieces


def _bucket(token: str, dim: int) -> int:
    digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % dim


def hash_embedding(text: str, dim: int = 64) -> list[float]:
    """Deterministic unit vector: lowercase word tokens hashed into ``dim`` buckets.

    Texts sharing words get vectors with high cosine similarity.  A text with
    no word tokens maps to a fixed unit vector.
    """
    if dim <= 0:
        raise ValueError("dim must be positive")
    vec = [0.0] * dim
    tokens = _TOKEN_RE.findall(text.lower())
    if not tokens:
        vec[_bucket("", dim)] = 1.0
        return vec
    for token in tokens:
        vec[_bucket(token, dim)] += 1.0
    norm = math.sqrt(sum(v * v for v in vec))
    return [v / norm for v in vec]


def _count_tokens(text: str) -> int:
    """Cheap, deterministic token estimate (about 4 characters per token)."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def _prompt_text(body: JSON) -> str:
    """Concatenate the textual content of chat ``messages`` or a completion ``prompt``."""
    parts: list[str] = []
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(
                str(item.get("text", ""))
                for item in content
                if isinstance(item, dict) and item.get("type") == "text"
            )
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        parts.append(prompt)
    elif isinstance(prompt, list):
        parts.extend(p for p in prompt if isinstance(p, str))
    return "\n".join(parts)


def _usage(prompt: str, completion: str) -> JSON:
    p, c = _count_tokens(prompt), _count_tokens(completion)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def error_body(status: int, message: str | None = None) -> JSON:
    """An OpenAI-style error envelope for ``status``."""
    err_type, code = _ERROR_TYPES.get(status, ("api_error", None))
    if message is None:
        try:
            message = f"Fake server error: {HTTPStatus(status).phrase}"
        except ValueError:
            message = f"Fake server error {status}"
    return {"error": {"message": message, "type": err_type, "param": None, "code": code}}


# --------------------------------------------------------------------------
# Scripted behaviours
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reply:
    text: str
    chunks: tuple[str, ...] | None = None


@dataclass(frozen=True)
class _Fail:
    status: int
    body: JSON | str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Delay:
    seconds: float
    then_text: str | None = None


@dataclass(frozen=True)
class _Respond:
    fn: Responder


@dataclass(frozen=True)
class _Fault:
    """A reply that goes wrong after the status line: see ``FakeOpenAIServer.fault``."""

    kind: str
    text: str = ""
    seconds: float = 0.0
    body: str = ""
    content_type: str = "text/html; charset=utf-8"


FAULT_KINDS = frozenset({"empty", "truncated", "disconnect", "stall", "trickle", "raw"})

_Behaviour = _Reply | _Fail | _Delay | _Respond | _Fault


class RecordedRequest(TypedDict):
    """One request as received by the server."""

    method: str
    path: str  # without query string or trailing slash
    headers: dict[str, str]  # keys lower-cased
    body: Any  # parsed JSON, or None if empty / not JSON


class _ServerStopping(Exception):
    """Raised inside a handler when the server stops during a delay."""


# --------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeOpenAIServer) -> None:
        self.fake = fake
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def track(self, conn: socket.socket) -> None:
        with self._conns_lock:
            self._conns.add(conn)

    def untrack(self, conn: socket.socket) -> None:
        with self._conns_lock:
            self._conns.discard(conn)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
            self._conns.clear()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; chunked transfer for streams
    server: _HTTPServer
    server_version = "FakeOpenAI/1.0"
    sys_version = ""

    # -- lifecycle ---------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except OSError:  # client went away (e.g. timed out) or server stopping
            self.close_connection = True

    # -- verbs -------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # -- dispatch ----------------------------------------------------------

    def _dispatch(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        fake._record(
            RecordedRequest(
                method=self.command,
                path=path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
        )

        if fake.api_key is not None:
            auth = self.headers.get("Authorization", "")
            if auth != f"Bearer {fake.api_key}":
                self._send_json(401, error_body(401, "Incorrect API key provided."))
                return

        route = (self.command, path)
        if route in _JSON_ROUTES and not isinstance(body, dict):
            self._send_json(400, error_body(400, "Request body must be a JSON object."))
            return

        if route == ("POST", "/v1/chat/completions"):
            self._generate(body, chat=True)
        elif route == ("POST", "/v1/completions"):
            self._generate(body, chat=False)
        elif route == ("POST", "/v1/embeddings"):
            self._embeddings(body)
        elif route == ("GET", "/v1/models"):
            self._send_json(200, {"object": "list", "data": [_model_obj(m) for m in fake.models]})
        elif self.command == "GET" and path.startswith("/v1/models/"):
            name = path[len("/v1/models/") :]
            if name in fake.models:
                self._send_json(200, _model_obj(name))
            else:
                self._send_json(404, error_body(404, f"The model '{name}' does not exist"))
        else:
            self._send_json(404, error_body(404, f"Unknown endpoint: {self.command} {self.path}"))

    # -- responses ---------------------------------------------------------

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = payload.encode("utf-8") if isinstance(payload, str) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex}")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_error_behaviour(self, fail: _Fail) -> None:
        headers: dict[str, str] = {}
        if fail.status in (429, 503):
            # Retry almost immediately: the openai client ignores "retry-after: 0"
            # (falls back to ~0.5s backoff) but honours "retry-after-ms".
            headers = {"retry-after": "0", "retry-after-ms": "1"}
        headers.update(fail.headers)
        if isinstance(fail.body, dict):
            payload: Any = fail.body
        else:
            payload = error_body(fail.status, fail.body)
        self._send_json(fail.status, payload, headers)

    def _generate(self, body: JSON, *, chat: bool) -> None:
        fake = self.server.fake
        model = str(body.get("model") or "fake-model")
        try:
            text, chunks = fake._resolve(body)
        except _FailSignal as signal:
            self._send_error_behaviour(signal.fail)
            return
        except _FaultSignal as signal:
            self._send_fault(signal.fault, body, chat=chat)
            return
        except _ServerStopping:
            self.close_connection = True
            return
        except Exception as exc:  # responder bug: surface it, don't retry
            message = f"Fake server responder raised: {exc!r}\n{traceback.format_exc()}"
            self._send_json(500, error_body(500, message), {"x-should-retry": "false"})
            return

        prompt = _prompt_text(body)
        usage = _usage(prompt, text)
        created = int(time.time())
        cid = f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex[:24]}"

        if not body.get("stream"):
            if chat:
                choice: JSON = {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
                obj = "chat.completion"
            else:
                choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}
                obj = "text_completion"
            self._send_json(
                200,
                {
                    "id": cid,
                    "object": obj,
                    "created": created,
                    "model": model,
                    "system_fingerprint": "fp_fake",
                    "choices": [choice],
                    "usage": usage,
                },
            )
            return

        pieces = list(chunks) if chunks is not None else split_text(text, fake.chunk_sizes)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        events = _stream_events(
            chat=chat,
            cid=cid,
            created=created,
            model=model,
            pieces=pieces,
            usage=usage if include_usage else None,
        )
        self._send_sse(events)

    def _send_fault(self, fault: _Fault, body: JSON, *, chat: bool) -> None:
        """Start a normal-looking 200 reply, then fail the way ``fault.kind`` says."""
        if fault.kind == "raw":
            self._send_raw(fault.body, fault.content_type)
            return
        if not body.get("stream"):
            self._send_fault_plain(fault, chat=chat)
            return
        model = str(body.get("model") or "fake-model")
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        pieces = split_text(fault.text, self.server.fake.chunk_sizes) if fault.text else []
        events = list(
            _stream_events(
                chat=chat, cid=cid, created=int(time.time()), model=model, pieces=pieces, usage=None
            )
        )
        opening, content, closing = events[:1], events[1:-1], events[-1:]
        self._start_sse()
        for event in opening:
            self._write_event(event)
        for event in content:
            if fault.kind == "trickle" and not self._pause(fault.seconds):
                return
            self._write_event(event)
        if fault.kind == "stall" and not self._pause(fault.seconds):
            return
        if fault.kind == "disconnect":
            self._drop_connection()
            return
        if fault.kind != "truncated":
            for event in closing:
                self._write_event(event)
            self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _send_fault_plain(self, fault: _Fault, *, chat: bool) -> None:
        if fault.kind in ("stall", "trickle") and not self._pause(fault.seconds):
            return
        text = "" if fault.kind == "empty" else fault.text
        payload = json.dumps(
            {
                "id": "chatcmpl-fault",
                "object": "chat.completion" if chat else "text_completion",
                "created": int(time.time()),
                "model": "fake-model",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
            }
        ).encode()
        if fault.kind in ("truncated", "disconnect"):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self._drop_connection()
            return
        self._send_json(200, payload.decode())

    def _send_raw(self, text: str, content_type: str) -> None:
        data = text.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _pause(self, seconds: float) -> bool:
        """Wait, unless the server stops first (then drop the connection and say so)."""
        if self.server.fake._stopping.wait(seconds):
            self._drop_connection()
            return False
        return True

    def _drop_connection(self) -> None:
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex}")
        self.end_headers()

    def _write_event(self, event: JSON) -> None:
        self._write_chunk(f"data: {json.dumps(event)}\n\n".encode())

    def _send_sse(self, events: Iterator[JSON]) -> None:
        self._start_sse()
        pace = self.server.fake.stream_interval
        for event in events:
            if pace and not self._pause(pace):
                return
            self._write_chunk(f"data: {json.dumps(event)}\n\n".encode())
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _embeddings(self, body: JSON) -> None:
        fake = self.server.fake
        raw_input = body.get("input")
        inputs: list[str]
        if isinstance(raw_input, str):
            inputs = [raw_input]
        elif (
            isinstance(raw_input, list) and raw_input and all(isinstance(i, int) for i in raw_input)
        ):
            inputs = [" ".join(f"tok{i}" for i in raw_input)]  # a single token array
        elif isinstance(raw_input, list):
            inputs = [
                item if isinstance(item, str) else " ".join(f"tok{i}" for i in item)
                for item in raw_input
            ]
        else:
            self._send_json(400, error_body(400, "'input' must be a string or a list"))
            return
        dim = int(body.get("dimensions") or fake.embedding_dim)
        b64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(inputs):
            vector = hash_embedding(text, dim)
            embedding: Any = (
                base64.b64encode(struct.pack(f"<{dim}f", *vector)).decode("ascii")
                if b64
                else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = sum(_count_tokens(t) for t in inputs)
        self._send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": str(body.get("model") or "fake-embedding"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )


def _model_obj(name: str) -> JSON:
    return {"id": name, "object": "model", "created": 1700000000, "owned_by": "fake-openai"}


def _stream_events(
    *,
    chat: bool,
    cid: str,
    created: int,
    model: str,
    pieces: Sequence[str],
    usage: JSON | None,
) -> Iterator[JSON]:
    base: JSON = {"id": cid, "created": created, "model": model, "system_fingerprint": "fp_fake"}
    if chat:
        base["object"] = "chat.completion.chunk"

        def chunk(delta: JSON, finish: str | None) -> JSON:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return {**base, "choices": [choice]}

        yield chunk({"role": "assistant", "content": ""}, None)
        for piece in pieces:
            yield chunk({"content": piece}, None)
        yield chunk({}, "stop")
    else:
        base["object"] = "text_completion"

        def tchunk(text: str, finish: str | None) -> JSON:
            choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}
            return {**base, "choices": [choice]}

        for piece in pieces:
            yield tchunk(piece, None)
        yield tchunk("", "stop")
    if usage is not None:
        yield {**base, "choices": [], "usage": usage}


class _FailSignal(Exception):
    def __init__(self, fail: _Fail) -> None:
        super().__init__(fail.status)
        self.fail = fail


class _FaultSignal(Exception):
    def __init__(self, fault: _Fault) -> None:
        super().__init__(fault.kind)
        self.fault = fault


# --------------------------------------------------------------------------
# Public server
# --------------------------------------------------------------------------


class FakeOpenAIServer:
    """Local OpenAI-compatible server with a scripted chat/completions queue.

    Args:
        models: names listed by ``GET /v1/models`` (any name is accepted by the
            chat, completion and embedding endpoints regardless).
        default_text: content returned when nothing is scripted.
        embedding_dim: default embedding dimension (overridden per request by
            the ``dimensions`` parameter).
        chunk_sizes: cycled piece lengths used when streaming text.
        api_key: if set, requests without ``Authorization: Bearer <api_key>``
            get a 401.

    ``stream_interval`` (seconds, default 0) paces every streamed reply: the wait
    before each event, so a page can be watched while the answer arrives.
    """

    def __init__(
        self,
        *,
        models: Sequence[str] = DEFAULT_MODELS,
        default_text: str = "This is a fake response.",
        embedding_dim: int = 64,
        chunk_sizes: Sequence[int] = DEFAULT_CHUNK_SIZES,
        api_key: str | None = None,
    ) -> None:
        if not chunk_sizes or any(s <= 0 for s in chunk_sizes):
            raise ValueError("chunk_sizes must be non-empty and positive")
        self.models: list[str] = list(models)
        self.default_text = default_text
        self.default_responder: Responder | None = None
        self.embedding_dim = embedding_dim
        self.chunk_sizes: tuple[int, ...] = tuple(chunk_sizes)
        self.api_key = api_key
        self.stream_interval = 0.0
        self._lock = threading.Lock()
        self._queue: deque[_Behaviour] = deque()
        self._requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread (idempotent)."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeOpenAIServer:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake any handler sleeping in ``delay`` and close connections."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Root URL without the ``/v1`` suffix."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: pass as ``base_url`` / ``api_base``."""
        return f"{self.url}/v1"

    # -- scripting ---------------------------------------------------------

    def reply(self, text: str, *, times: int = 1, chunks: Sequence[str] | None = None) -> None:
        """Queue ``times`` answers with ``text``.

        When streamed, the text is split by ``chunk_sizes`` unless explicit
        ``chunks`` are given (they must concatenate to ``text``).
        """
        if chunks is not None and "".join(chunks) != text:
            raise ValueError("chunks must concatenate to text")
        behaviour = _Reply(text, tuple(chunks) if chunks is not None else None)
        self._enqueue(behaviour, times)

    def fail(
        self,
        status: int,
        times: int = 1,
        body: JSON | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Queue ``times`` HTTP error answers.

        ``body``: a dict is sent verbatim as JSON; a str becomes the message of
        the standard ``{"error": {...}}`` envelope; None gives a default message.
        429 and 503 default to ``retry-after: 0`` / ``retry-after-ms: 1`` headers
        (override or extend via ``headers``).
        """
        self._enqueue(_Fail(status, body, dict(headers or {})), times)

    def delay(self, seconds: float, then_text: str | None = None) -> None:
        """Queue one answer that sleeps ``seconds`` first.

        Afterwards it answers ``then_text`` or, if None, the default behaviour.
        ``stop()`` interrupts the sleep (the connection is then closed unanswered).
        """
        self._enqueue(_Delay(seconds, then_text), 1)

    def fault(
        self,
        kind: str,
        *,
        text: str = "",
        seconds: float = 0.0,
        body: str = "",
        content_type: str = "text/html; charset=utf-8",
        times: int = 1,
    ) -> None:
        """Queue a reply that starts as a 200 and then goes wrong.

        ``empty``: a complete stream with no content. ``truncated``: ``text``, then
        the body ends cleanly with no finish reason and no ``[DONE]``. ``disconnect``:
        ``text``, then the connection is dropped mid-body. ``stall``: ``text``, then
        ``seconds`` of silence before the normal end. ``trickle``: ``text`` with
        ``seconds`` between pieces. ``raw``: ``body`` as the whole 200 reply (an HTML
        error page, say). Plain (non-streamed) requests get the same fault in kind.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {sorted(FAULT_KINDS)}")
        self._enqueue(_Fault(kind, text, seconds, body, content_type), times)

    def responder(self, fn: Responder, *, times: int = 1) -> None:
        """Queue ``times`` answers computed by ``fn(request_json) -> text``.

        For a persistent responder, assign ``srv.default_responder = fn``.
        """
        self._enqueue(_Respond(fn), times)

    def clear_script(self) -> None:
        """Drop all queued behaviours."""
        with self._lock:
            self._queue.clear()

    @property
    def pending(self) -> int:
        """Number of queued behaviours not yet consumed."""
        with self._lock:
            return len(self._queue)

    # -- recorded requests -------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of all recorded requests, oldest first (thread-safe copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[JSON]:
        """Parsed JSON bodies of the recorded ``POST /v1/chat/completions`` requests."""
        return [
            r["body"]
            for r in self.requests
            if r["method"] == "POST" and r["path"] == "/v1/chat/completions"
        ]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def reset(self) -> None:
        """Clear the script and the recorded requests."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()

    # -- internals ---------------------------------------------------------

    def _enqueue(self, behaviour: _Behaviour, times: int) -> None:
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._queue.extend([behaviour] * times)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next(self) -> _Behaviour | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def _default(self, body: JSON) -> str:
        responder = self.default_responder
        return responder(body) if responder is not None else self.default_text

    def _resolve(self, body: JSON) -> tuple[str, tuple[str, ...] | None]:
        """Consume one behaviour; return (text, explicit chunks) or raise."""
        behaviour = self._next()
        if behaviour is None:
            return self._default(body), None
        if isinstance(behaviour, _Reply):
            return behaviour.text, behaviour.chunks
        if isinstance(behaviour, _Fail):
            raise _FailSignal(behaviour)
        if isinstance(behaviour, _Fault):
            raise _FaultSignal(behaviour)
        if isinstance(behaviour, _Delay):
            if self._stopping.wait(behaviour.seconds):
                raise _ServerStopping
            if behaviour.then_text is not None:
                return behaviour.then_text, None
            return self._default(body), None
        return str(behaviour.fn(body)), None
