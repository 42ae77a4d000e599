"""A recording HTTP proxy between the engine and llama.cpp: forwards every request unchanged,
streams the reply through as it comes, and keeps the text the model wrote (streamed or not).
Loopback only."""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_FORWARDED_REQUEST_HEADERS = {"content-type", "authorization", "accept", "user-agent"}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass
class Exchange:
    """One model call as the engine made it, and what the model wrote back."""

    method: str
    path: str
    request: dict[str, Any]
    status: int = 0
    reply: str = ""
    chunks: int = 0
    finish_reason: str | None = None
    seconds: float = 0.0
    error: str | None = None

    @property
    def stream(self) -> bool:
        return bool(self.request.get("stream"))

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.request.get("messages")
        return messages if isinstance(messages, list) else []


@dataclass
class _ReplyReader:
    """Collects the completion text from an SSE stream or a JSON body, line by line."""

    stream: bool
    text: list[str] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    chunks: int = 0
    finish_reason: str | None = None

    def feed(self, line: bytes) -> None:
        if not self.stream:
            self.body.extend(line)
            return
        if not line.startswith(b"data:"):
            return
        payload = line[5:].strip()
        if not payload or payload == b"[DONE]":
            return
        self._take(json.loads(payload), "delta")

    def finish(self) -> None:
        if not self.stream and self.body:
            self._take(json.loads(bytes(self.body)), "message")

    def _take(self, event: dict[str, Any], key: str) -> None:
        for choice in event.get("choices") or []:
            content = (choice.get(key) or {}).get("content")
            if content:
                self.text.append(content)
                self.chunks += 1
            self.finish_reason = choice.get("finish_reason") or self.finish_reason


class RecordingProxy:
    """Serves on 127.0.0.1 (a free port) and forwards to upstream (http://host:port)."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._settled = threading.Condition()
        self._exchanges: list[Exchange] = []
        self._in_flight = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def take(self, timeout: float = 30.0) -> list[Exchange]:
        """The calls made since the last take(), once those still running have finished
        (the engine can have its reply before this side has closed the call)."""
        with self._settled:
            self._settled.wait_for(lambda: self._in_flight == 0, timeout)
            taken, self._exchanges = self._exchanges, []
        return taken

    def _begin(self, exchange: Exchange) -> None:
        with self._settled:
            self._exchanges.append(exchange)
            self._in_flight += 1

    def _end(self) -> None:
        with self._settled:
            self._in_flight -= 1
            self._settled.notify_all()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy._forward(self, b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                proxy._forward(self, self.rfile.read(length))

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        started = time.perf_counter()
        request = _json_or_empty(body)
        exchange = Exchange(handler.command, handler.path, request)
        if handler.command != "POST":
            self._relay(handler, body, exchange)
            return
        self._begin(exchange)
        try:
            self._relay(handler, body, exchange)
        finally:
            exchange.seconds = time.perf_counter() - started
            self._end()

    def _relay(self, handler: BaseHTTPRequestHandler, body: bytes, exchange: Exchange) -> None:
        reader = _ReplyReader(stream=exchange.stream)
        connection = http.client.HTTPConnection(*self._upstream, timeout=900)
        try:
            headers = {
                k: v for k, v in handler.headers.items() if k.lower() in _FORWARDED_REQUEST_HEADERS
            }
            connection.request(handler.command, handler.path, body=body or None, headers=headers)
            response = connection.getresponse()
            exchange.status = response.status
            _send_head(handler, response)
            while line := response.readline():
                handler.wfile.write(line)
                handler.wfile.flush()
                reader.feed(line)
            reader.finish()
        except (OSError, ValueError) as exc:
            exchange.error = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()
            handler.close_connection = True
        exchange.reply = "".join(reader.text)
        exchange.chunks = reader.chunks
        exchange.finish_reason = reader.finish_reason


def _send_head(handler: BaseHTTPRequestHandler, response: http.client.HTTPResponse) -> None:
    """Status and headers; the body ends when the connection closes (HTTP/1.0 style)."""
    handler.send_response(response.status)
    for name, value in response.getheaders():
        if name.lower() not in _HOP_BY_HOP:
            handler.send_header(name, value)
    handler.send_header("Connection", "close")
    handler.end_headers()


def _json_or_empty(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body) if body else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
