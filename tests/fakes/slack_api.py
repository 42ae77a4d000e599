"""A deterministic local stand-in for Slack, both directions, standard library only.

* ``FakeSlackAPI``: an HTTP server speaking the Slack Web API (``POST /api/<method>``)
  and accepting ``response_url`` posts (``/response/<name>``). It records every call,
  keeps the messages it was sent (so ``conversations.replies`` returns a real thread),
  answers with realistic ``{"ok": true, ...}`` JSON, and can be scripted to fail
  (``fail``) or to hold a method's answers until released (``hold`` / ``release``).
  Point ``slack_sdk.WebClient(base_url=fake.api_url)`` at it; nothing is patched.
* ``SlackSender``: what Slack sends to an app: signed Events API, slash command and
  interactivity requests (X-Slack-Signature v0, X-Slack-Request-Timestamp).

    with FakeSlackAPI() as slack:
        ts = slack.add_message("C1", "<@UBOT> a question?", user="U1")
        sender = SlackSender(app_url, "secret")
        sender.event({"type": "app_mention", "channel": "C1", "user": "U1", "ts": ts, ...})
        posted = slack.wait_for("chat.postMessage")
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import socket
import struct
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JSON = dict[str, Any]
BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-1-fake-app-token"
SIGNING_SECRET = "fake-signing-secret"
TEAM_ID = "T0NEWS"
BOT_USER_ID = "UBOT0NEWS"
BOT_ID = "BBOT0NEWS"
APP_ID = "A0NEWS"
# Arguments Slack clients send as JSON text inside form-encoded bodies.
_JSON_ARGS = ("blocks", "attachments", "metadata", "prompts", "loading_messages")


@dataclass(frozen=True)
class Call:
    """One request the fake received: a Web API method, or ``response_url``."""

    method: str
    args: JSON
    headers: dict[str, str]
    path: str = ""


@dataclass
class _Failure:
    error: str
    times: int
    status: int = 200


@dataclass
class _State:
    messages: dict[str, list[JSON]] = field(default_factory=dict)
    reactions: dict[tuple[str, str], list[str]] = field(default_factory=dict)


class FakeSlackAPI:
    def __init__(self, *, bot_token: str = BOT_TOKEN, app_token: str = APP_TOKEN) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._state = _State()
        self._failures: dict[str, _Failure] = {}
        self._gates: dict[str, threading.Event] = {}
        self._ts_counter = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.socket_mode_url: str | None = None  # what apps.connections.open hands out

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> FakeSlackAPI:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        for gate in list(self._gates.values()):
            gate.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeSlackAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def api_url(self) -> str:
        """The Web API base URL (with the trailing slash slack_sdk wants)."""
        return f"{self.url}/api/"

    def response_url(self, name: str | None = None) -> str:
        return f"{self.url}/response/{name or uuid.uuid4().hex}"

    # -- state, as Slack would hold it ---------------------------------------------

    def next_ts(self) -> str:
        n = next(self._ts_counter)
        return f"{1_700_000_000 + n}.{n:06d}"

    def add_message(
        self, channel: str, text: str, *, user: str, thread_ts: str | None = None, **extra: Any
    ) -> str:
        """A message a person posted (before its event is delivered); returns its ts."""
        ts = self.next_ts()
        message: JSON = {"type": "message", "user": user, "text": text, "ts": ts, **extra}
        if thread_ts:
            message["thread_ts"] = thread_ts
        self._store(channel, message)
        return ts

    def messages(self, channel: str) -> list[JSON]:
        with self._lock:
            return [dict(m) for m in self._state.messages.get(channel, [])]

    def reactions(self, channel: str, ts: str) -> list[str]:
        with self._lock:
            return list(self._state.reactions.get((channel, ts), []))

    # -- scripting --------------------------------------------------------------------

    def fail(self, method: str, error: str = "internal_error", *, times: int = 1) -> None:
        """The next `times` calls of `method` answer {"ok": false, "error": error}."""
        with self._lock:
            self._failures[method] = _Failure(error, times)

    def hold(self, method: str) -> None:
        """Calls of `method` wait (unanswered) until `release(method)`."""
        with self._lock:
            self._gates[method] = threading.Event()

    def release(self, method: str) -> None:
        with self._lock:
            gate = self._gates.pop(method, None)
        if gate is not None:
            gate.set()

    # -- what was called ----------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        *,
        where: Callable[[Call], bool] | None = None,
        timeout: float = 20.0,
    ) -> list[Call]:
        """Wait until `count` matching calls arrived; a deadline, not a speed test."""
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.calls_to(method) if where is None or where(c)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                seen = [c.method for c in self.calls]
                raise AssertionError(f"{count} call(s) to {method} never came; calls: {seen}")
            time.sleep(0.01)

    # -- internals ---------------------------------------------------------------------

    def _store(self, channel: str, message: JSON) -> None:
        with self._lock:
            self._state.messages.setdefault(channel, []).append(message)

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def _scripted_failure(self, method: str) -> str | None:
        with self._lock:
            failure = self._failures.get(method)
            if failure is None:
                return None
            failure.times -= 1
            if failure.times <= 0:
                del self._failures[method]
            return failure.error

    def _gate(self, method: str) -> threading.Event | None:
        with self._lock:
            return self._gates.get(method)

    def _answer(self, method: str, args: JSON, headers: dict[str, str]) -> JSON:
        token = self.app_token if method == "apps.connections.open" else self.bot_token
        if not _bearer_is(token, headers, args):
            return {"ok": False, "error": "invalid_auth"}
        error = self._scripted_failure(method)
        if error is not None:
            return {"ok": False, "error": error}
        handler = _METHODS.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        return handler(self, args)

    # -- Web API methods ------------------------------------------------------------------

    def _auth_test(self, args: JSON) -> JSON:
        return {
            "ok": True,
            "url": "https://newsroom.slack.com/",
            "team": "Newsroom",
            "user": "newsbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, args: JSON) -> JSON:
        channel = str(args.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        message = self._bot_message(args)
        self._store(channel, message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _post_ephemeral(self, args: JSON) -> JSON:
        if not args.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        return {"ok": True, "message_ts": self.next_ts()}

    def _update(self, args: JSON) -> JSON:
        channel, ts = str(args.get("channel")), str(args.get("ts"))
        with self._lock:
            for message in self._state.messages.get(channel, []):
                if message["ts"] == ts:
                    for key in ("text", "blocks", "metadata"):
                        if key in args:
                            message[key] = args[key]
                    return {"ok": True, "channel": channel, "ts": ts, "message": dict(message)}
        return {"ok": False, "error": "message_not_found"}

    def _replies(self, args: JSON) -> JSON:
        channel, ts = str(args.get("channel")), str(args.get("ts"))
        with self._lock:
            thread = [
                dict(m)
                for m in self._state.messages.get(channel, [])
                if m["ts"] == ts or m.get("thread_ts") == ts
            ]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        thread.sort(key=lambda m: float(m["ts"]))
        return {
            "ok": True,
            "messages": thread,
            "has_more": False,
            "response_metadata": {"next_cursor": ""},
        }

    def _history(self, args: JSON) -> JSON:
        messages = [m for m in self.messages(str(args.get("channel"))) if "thread_ts" not in m]
        messages.sort(key=lambda m: float(m["ts"]), reverse=True)
        return {"ok": True, "messages": messages, "has_more": False}

    def _reaction(self, args: JSON, *, add: bool) -> JSON:
        key = (str(args.get("channel")), str(args.get("timestamp")))
        name = str(args.get("name"))
        with self._lock:
            names = self._state.reactions.setdefault(key, [])
            if add and name in names:
                return {"ok": False, "error": "already_reacted"}
            if not add and name not in names:
                return {"ok": False, "error": "no_reaction"}
            names.append(name) if add else names.remove(name)
        return {"ok": True}

    def _connections_open(self, args: JSON) -> JSON:
        if self.socket_mode_url is None:
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": self.socket_mode_url}

    def _bot_message(self, args: JSON) -> JSON:
        message: JSON = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": args.get("text") or "",
            "ts": self.next_ts(),
        }
        for key in ("blocks", "thread_ts", "metadata"):
            if args.get(key):
                message[key] = args[key]
        return message


def _bearer_is(token: str, headers: dict[str, str], args: JSON) -> bool:
    sent = headers.get("authorization", "").removeprefix("Bearer ") or args.get("token")
    return sent == token


def _ok(fake: FakeSlackAPI, args: JSON) -> JSON:
    return {"ok": True}


_METHODS: dict[str, Callable[[FakeSlackAPI, JSON], JSON]] = {
    "auth.test": FakeSlackAPI._auth_test,
    "chat.postMessage": FakeSlackAPI._post_message,
    "chat.postEphemeral": FakeSlackAPI._post_ephemeral,
    "chat.update": FakeSlackAPI._update,
    "conversations.replies": FakeSlackAPI._replies,
    "conversations.history": FakeSlackAPI._history,
    "reactions.add": lambda fake, args: fake._reaction(args, add=True),
    "reactions.remove": lambda fake, args: fake._reaction(args, add=False),
    "assistant.threads.setStatus": _ok,
    "assistant.threads.setSuggestedPrompts": _ok,
    "assistant.threads.setTitle": _ok,
    "apps.connections.open": FakeSlackAPI._connections_open,
}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSlackAPI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        path, _, query = self.path.partition("?")
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8") if length else ""
        args = _parse_args(query, raw, headers.get("content-type", ""))
        if path.startswith("/response/"):
            self.fake._record(Call("response_url", args, headers, path))
            self._send(200, "ok", "text/plain")
            return
        if not path.startswith("/api/"):
            self._send(404, json.dumps({"ok": False, "error": "not_found"}))
            return
        method = path.removeprefix("/api/")
        self.fake._record(Call(method, args, headers, path))
        gate = self.fake._gate(method)
        if gate is not None:
            gate.wait(timeout=30)
        self._send(200, json.dumps(self.fake._answer(method, args, headers)))

    def _send(self, status: int, body: str, content_type: str = "application/json") -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _parse_args(query: str, raw: str, content_type: str) -> JSON:
    args: JSON = dict(urllib.parse.parse_qsl(query))
    if raw and "json" in content_type:
        args.update(json.loads(raw))
    elif raw:
        args.update(urllib.parse.parse_qsl(raw, keep_blank_values=True))
    for key in _JSON_ARGS:
        if isinstance(args.get(key), str):
            with contextlib.suppress(ValueError):
                args[key] = json.loads(args[key])
    return args


# -- the other direction: requests Slack sends to the app ---------------------------------


def sign(secret: str, timestamp: str, body: str) -> str:
    """Slack's v0 request signature."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class SlackSender:
    """Sends signed requests to an app's /slack/events, as Slack does."""

    def __init__(self, url: str, signing_secret: str = SIGNING_SECRET) -> None:
        self.url = url
        self.signing_secret = signing_secret
        self._ids = itertools.count(1)

    def event(
        self,
        event: JSON,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        **overrides: Any,
    ) -> Reply:
        """An Events API callback wrapping `event`."""
        body = {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ids):08d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
            **overrides,
        }
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post(json.dumps(body), "application/json", headers)

    def command(
        self, text: str, *, response_url: str, command: str = "/ask", **fields: str
    ) -> Reply:
        form = {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "newsroom",
            "channel_id": "C0DESK",
            "channel_name": "desk",
            "user_id": "U0REPORTER",
            "user_name": "reporter",
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "response_url": response_url,
            "trigger_id": self.trigger_id(),
            **fields,
        }
        return self.post(urllib.parse.urlencode(form), "application/x-www-form-urlencoded")

    def block_action(
        self,
        action: JSON,
        *,
        response_url: str,
        channel: str = "C0DESK",
        user: str = "U0EDITOR",
        message_ts: str | None = None,
        ephemeral: bool = False,
        trigger_id: str | None = None,
    ) -> Reply:
        """A click; `action` may carry its own action_ts (Slack's: the click's time)."""
        container: JSON = {"type": "message", "channel_id": channel, "is_ephemeral": ephemeral}
        if message_ts:
            container["message_ts"] = message_ts
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM_ID, "domain": "newsroom"},
            "user": {"id": user, "username": "editor", "name": "editor", "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "container": container,
            "trigger_id": trigger_id or self.trigger_id(),
            "channel": {"id": channel, "name": "desk"},
            "response_url": response_url,
            "actions": [{"action_ts": f"{time.time():.6f}", **action}],
        }
        form = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self.post(form, "application/x-www-form-urlencoded")

    def trigger_id(self) -> str:
        """A fresh trigger_id, as Slack mints one for every command and interaction."""
        return f"1337.42.{next(self._ids):08x}"

    def post(
        self,
        body: str,
        content_type: str,
        extra_headers: dict[str, str] | None = None,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        signed: bool = True,
    ) -> Reply:
        """POST `body`; signed correctly unless a timestamp/signature is forced or omitted."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        headers = {"Content-Type": content_type, **(extra_headers or {})}
        if signed:
            headers["X-Slack-Request-Timestamp"] = ts
            headers["X-Slack-Signature"] = signature or sign(self.signing_secret, ts, body)
        request = urllib.request.Request(
            self.url, data=body.encode("utf-8"), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode("utf-8")
                return Reply(response.status, text, dict(response.headers.items()))
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8")
            return Reply(error.code, text, dict(error.headers.items()))


def texts_of(blocks: list[JSON]) -> Iterator[str]:
    """Every text string in a block tree (to assert on what people would see)."""
    for block in blocks:
        yield from _texts(block)


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


# -- Socket Mode: Slack's side of the WebSocket ------------------------------------------

_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_OP_TEXT, _OP_CLOSE, _OP_PING, _OP_PONG = 0x1, 0x8, 0x9, 0xA


class FakeSocketMode:
    """A WebSocket endpoint speaking Slack's Socket Mode: it greets a client with `hello`,
    sends envelopes (`events_api`, `slash_commands`, `interactive`) and collects the
    client's acknowledgements. Register it with ``FakeSlackAPI.socket_mode_url = fake.url``
    so that apps.connections.open hands it out."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._conn: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._acks: dict[str, JSON] = {}
        self.connected = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FakeSocketMode:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed = True
        for sock in (self._conn, self._listener):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._listener.getsockname()[1]}/link/?ticket=fake"

    def send_envelope(self, kind: str, payload: JSON, *, retry_attempt: int = 0) -> str:
        """Deliver one envelope to the connected client; returns its envelope_id."""
        if not self.connected.wait(timeout=30):
            raise AssertionError("no Socket Mode client connected")
        envelope_id = uuid.uuid4().hex
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        self._send(_OP_TEXT, json.dumps(envelope).encode())
        return envelope_id

    def wait_for_ack(self, envelope_id: str, timeout: float = 20.0) -> JSON:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if envelope_id in self._acks:
                    return self._acks[envelope_id]
            time.sleep(0.01)
        raise AssertionError(f"envelope {envelope_id} was never acknowledged")

    # -- internals ---------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            if self._handshake(conn):
                self._conn = conn
                self._send(_OP_TEXT, json.dumps(_HELLO).encode())
                self.connected.set()
                self._read_frames(conn)
                self.connected.clear()

    def _handshake(self, conn: socket.socket) -> bool:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(1024)
            if not chunk:
                return False
            request += chunk
        lines = request.decode("latin-1").split("\r\n")
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])
        }
        key = headers.get("sec-websocket-key", "")
        accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
        conn.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        return True

    def _read_frames(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        while True:
            try:
                head = reader.read(2)
                if len(head) < 2:
                    return
                opcode, length = head[0] & 0x0F, head[1] & 0x7F
                if length == 126:
                    length = struct.unpack(">H", reader.read(2))[0]
                elif length == 127:
                    length = struct.unpack(">Q", reader.read(8))[0]
                mask = reader.read(4) if head[1] & 0x80 else b"\0\0\0\0"
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(reader.read(length)))
            except OSError:
                return
            if opcode == _OP_PING:
                self._send(_OP_PONG, data)
            elif opcode == _OP_CLOSE:
                return
            elif opcode == _OP_TEXT:
                self._record_ack(data)

    def _record_ack(self, data: bytes) -> None:
        with contextlib.suppress(ValueError):
            message = json.loads(data)
            if isinstance(message, dict) and "envelope_id" in message:
                with self._lock:
                    self._acks[message["envelope_id"]] = message

    def _send(self, opcode: int, data: bytes) -> None:
        length = len(data)
        if length < 126:
            header = struct.pack(">BB", 0x80 | opcode, length)
        elif length < 1 << 16:
            header = struct.pack(">BBH", 0x80 | opcode, 126, length)
        else:
            header = struct.pack(">BBQ", 0x80 | opcode, 127, length)
        with self._send_lock:
            if self._conn is not None:
                self._conn.sendall(header + data)


_HELLO = {
    "type": "hello",
    "num_connections": 1,
    "debug_info": {"host": "fake-socket-mode", "approximate_connection_time": 18060},
    "connection_info": {"app_id": APP_ID},
}
