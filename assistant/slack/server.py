"""HTTP mode: one port, one path (/slack/events) for events, interactivity and the slash
command. A small threaded adapter around `App.dispatch`, like Bolt's development server,
but bindable to any host and port (0 picks a free one) and stoppable from another thread.

It is the app's front door to the internet, so it trusts nothing before the signature:

1. the declared Content-Length is checked before a byte of the body is read (missing or
   chunked: 411; negative, non-numeric or contradictory: 400; over MAX_BODY_BYTES: 413),
   and never more than that length is read;
2. the Slack signature is checked over the body's exact bytes (401), before any parsing;
3. only then is the body decoded and parsed; a malformed one is a 400 with a short JSON
   error and one log line, never a traceback;
4. a client gets `idle_timeout` seconds between bytes and `read_deadline` seconds for the
   whole request, then the connection is closed.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import socket
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from slack_bolt import BoltContext, BoltRequest
from slack_bolt.request.internals import build_context
from slack_sdk.signature import SignatureVerifier

if TYPE_CHECKING:
    from slack_bolt import App, BoltResponse

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1_000_000  # Slack's payloads are a few kilobytes
IDLE_TIMEOUT = 5.0  # seconds a client may stay silent while sending a request
READ_DEADLINE = 15.0  # seconds to send the whole request: line, headers and body
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"


class SlackHTTPServer:
    """`signing_secret` defaults to the one the Bolt app was built with."""

    def __init__(
        self,
        app: App,
        *,
        host: str = "0.0.0.0",
        port: int = 3000,
        path: str = EVENTS_PATH,
        signing_secret: str | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        idle_timeout: float = IDLE_TIMEOUT,
        read_deadline: float = READ_DEADLINE,
    ) -> None:
        secret = signing_secret or getattr(app, "_signing_secret", None) or ""
        if not secret.strip():
            raise ValueError("HTTP mode needs the Slack signing secret")
        limits = _Limits(max_body_bytes, idle_timeout, read_deadline)
        handler = _handler_for(app, path, _RawBodyVerifier(secret), limits)
        self._httpd = _Server((host, port), handler)
        self._httpd.logger = app.logger
        self.path = path
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._httpd.server_address[0])
        return f"http://{host}:{self.port}{self.path}"

    def serve_forever(self) -> None:
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._httpd.server_close()

    def start(self) -> SlackHTTPServer:
        """Serve in a daemon thread (for tests and embedding)."""
        self._thread = threading.Thread(target=self.serve_forever, name="slack-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SlackHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class _Limits:
    max_body_bytes: int
    idle_timeout: float
    read_deadline: float


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    logger: logging.Logger = logging.getLogger("assistant.slack")

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Instead of socketserver's stack trace on stderr: a client that hung up is one
        debug line; anything else is a bug here, logged as an error with its traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            self.logger.debug("%s hung up: %s", client_address[0], _describe(exc))
        else:
            self.logger.error("Slack HTTP request from %s failed", client_address[0], exc_info=True)


class _RawBodyVerifier(SignatureVerifier):
    """Slack signs the body's exact bytes. SignatureVerifier decodes bytes as UTF-8 first,
    which raises on a body that is not UTF-8; this signs the bytes themselves."""

    def generate_signature(self, *, timestamp: str, body: str | bytes) -> str | None:
        if not isinstance(body, bytes):
            return super().generate_signature(timestamp=timestamp, body=body)
        base = b"v0:" + timestamp.encode("utf-8") + b":" + body
        digest = hmac.new(self.signing_secret.encode("utf-8"), base, hashlib.sha256)
        return "v0=" + digest.hexdigest()

    def is_signed(self, body: bytes, timestamp: str | None, signature: str | None) -> bool:
        try:
            return self.is_valid(body=body, timestamp=timestamp, signature=signature)
        except (ValueError, TypeError, OverflowError):
            # a timestamp that is no number; a signature with non-ASCII characters
            return False


class _DeadlineSocketReader(io.RawIOBase):
    """The socket as a raw stream that gives up after `idle` seconds of silence, and in any
    case at `deadline`: a client dripping one byte at a time cannot hold a thread."""

    def __init__(self, sock: socket.socket, idle: float, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._idle = idle
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request was not received in time")
        self._sock.settimeout(min(self._idle, remaining))
        return self._sock.recv_into(buffer)


class _Rejected(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _handler_for(
    app: App, path: str, verifier: _RawBodyVerifier, limits: _Limits
) -> type[BaseHTTPRequestHandler]:
    logger = app.logger

    class SlackRequestHandler(BaseHTTPRequestHandler):
        server_version = "news-assistant-slack"
        sys_version = ""
        default_request_version = "HTTP/1.0"  # a status line even for a garbled request
        timeout = limits.idle_timeout  # also bounds writes to a client that stops reading

        def setup(self) -> None:
            super().setup()
            self.rfile.close()
            deadline = time.monotonic() + limits.read_deadline
            raw = _DeadlineSocketReader(self.connection, limits.idle_timeout, deadline)
            self.rfile = io.BufferedReader(raw)

        def do_POST(self) -> None:
            try:
                request = self._verified_request()
            except _Rejected as rejected:
                self._reply(rejected.status, {}, {"error": rejected.message})
                return
            response: BoltResponse = app.dispatch(request)
            self._reply(response.status, response.headers, response.body)

        def _verified_request(self) -> BoltRequest:
            request_path, _, query = self.path.partition("?")
            if request_path != path:
                raise _Rejected(HTTPStatus.NOT_FOUND, "not found")
            length = self._declared_length()
            raw = self.rfile.read(length) if length else b""
            if len(raw) < length:
                raise _Rejected(HTTPStatus.BAD_REQUEST, "the body ended before Content-Length")
            timestamp = self.headers.get("X-Slack-Request-Timestamp")
            signature = self.headers.get("X-Slack-Signature")
            if not verifier.is_signed(raw, timestamp, signature):
                logger.info("Invalid request signature from %s", self.client_address[0])
                raise _Rejected(HTTPStatus.UNAUTHORIZED, "invalid request")
            text, form = _checked_body(raw, self.headers.get("Content-Type") or "")
            headers = {
                key.lower(): value
                for key, value in self.headers.items()
                if not key.lower().startswith("x-slack-bolt-")  # Bolt's own, internal
            }
            try:
                request = BoltRequest(body=text, query=query, headers=headers)
                if form is not None and "payload" not in form:
                    # Bolt takes any form mentioning "payload" (`/ask what payload…`) for
                    # an interaction and loses the command; give it the form as parsed.
                    request.body = form
                    request.context = build_context(BoltContext(), form)
                return request
            except Exception as exc:
                logger.warning("malformed Slack request: %s", _describe(exc))
                raise _Rejected(HTTPStatus.BAD_REQUEST, "malformed request") from None

        def _declared_length(self) -> int:
            """The body's length as declared, checked before anything is read."""
            if self.headers.get("Transfer-Encoding") is not None:
                raise _Rejected(
                    HTTPStatus.LENGTH_REQUIRED, "send a Content-Length; chunked bodies are refused"
                )
            declared = {v.strip() for v in self.headers.get_all("Content-Length") or []}
            if not declared:
                raise _Rejected(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required")
            if len(declared) > 1:
                raise _Rejected(HTTPStatus.BAD_REQUEST, "conflicting Content-Length headers")
            value = declared.pop()
            if not (value.isascii() and value.isdigit()):
                raise _Rejected(HTTPStatus.BAD_REQUEST, "bad Content-Length")
            if len(value) > 15 or int(value) > limits.max_body_bytes:
                raise _Rejected(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too large")
            return int(value)

        def do_GET(self) -> None:
            self._reply(HTTPStatus.METHOD_NOT_ALLOWED, {}, {"error": "POST only"})

        def send_error(
            self, code: int, message: str | None = None, explain: str | None = None
        ) -> None:
            """The standard library's own refusals (bad request line, too many headers,
            unknown method), as short JSON instead of an HTML page."""
            self.log_error("code %d, message %s", code, message)
            self._reply(code, {}, {"error": message or HTTPStatus(code).phrase})

        def _reply(self, status: int, headers: dict[str, Any], body: str | dict[str, Any]) -> None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
            self.connection.settimeout(limits.idle_timeout)  # the read deadline is over
            self.send_response(status)
            for key, values in headers.items():
                if key.lower() in ("content-length", "connection"):
                    continue
                for value in values if isinstance(values, list | tuple) else [values]:
                    self.send_header(key, str(value))
            if not any(key.lower() == "content-type" for key in headers):
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s %s", self.address_string(), format % args)

    return SlackRequestHandler


def _checked_body(raw: bytes, content_type: str) -> tuple[str, dict[str, str] | None]:
    """The signed body as text, if it is what Slack sends: a JSON object (Events API) or a
    form (slash commands; interactivity with a JSON object in `payload`), shaped as Bolt
    and the listeners expect. For a form, also its fields."""
    media = content_type.partition(";")[0].strip().lower()
    if media not in (JSON_TYPE, FORM_TYPE):
        raise _Rejected(HTTPStatus.BAD_REQUEST, f"Content-Type must be {JSON_TYPE} or {FORM_TYPE}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Rejected(HTTPStatus.BAD_REQUEST, "the body is not UTF-8") from None
    try:
        if media == JSON_TYPE:
            payload, form = _json_object(text), None
        else:
            fields = urllib.parse.parse_qs(text, keep_blank_values=True, strict_parsing=True)
            if not fields:
                raise ValueError("an empty form")
            form = {key: values[-1] for key, values in fields.items()}
            payload = _json_object(form["payload"]) if "payload" in form else {}
    except ValueError:
        kind = "JSON object" if media == JSON_TYPE else "form"
        raise _Rejected(HTTPStatus.BAD_REQUEST, f"the body is not a valid {kind}") from None
    problem = _shape_problem(payload)
    if problem is not None:
        raise _Rejected(HTTPStatus.BAD_REQUEST, f"malformed Slack payload: {problem}")
    return text, form


def _json_object(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


# Top-level fields Bolt reads as an id or an object (never a list or a number).
_OBJECT_OR_ID = ("type", "team", "user", "enterprise", "channel", "container", "view", "message")
# Events the listeners answer, and the fields they index.
_EVENT_FIELDS = {"app_mention": ("channel", "ts"), "message": ("channel", "ts")}


def _shape_problem(payload: dict[str, Any]) -> str | None:
    """What in a JSON payload would make Bolt or a listener fail, if anything. Bolt indexes
    these fields without checking them; a wrong type would be a stack trace in the log."""
    for key in _OBJECT_OR_ID:
        if not isinstance(payload.get(key), str | dict | None):
            return f"{key} has the wrong type"
    for key in ("authorizations", "actions"):
        items = payload.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            return f"{key} must be a list of objects"
    if not all(isinstance(a.get("action_id"), str) for a in payload.get("actions", [])):
        return "every action needs an action_id"
    if payload.get("type") == "event_callback":
        event = payload.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return "event must be an object with a type"
        for key in _EVENT_FIELDS.get(event["type"], ()):
            if not isinstance(event.get(key), str):
                return f"the event has no {key}"
    return None


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
