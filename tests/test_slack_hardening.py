"""The Slack app's HTTP front door under hostile input and faults, through the real
protocol: raw and signed HTTP requests to a running SlackHTTPServer, Web API calls answered
by the local fake Slack.

A refusal "before reading the body" is shown by sending headers that promise a body and
then only a few bytes of it, and keeping the connection open: a server that waited for the
body would not answer until its (long) idle timeout. Bounds on time are deadlines, never
speed tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import threading
import time
import tracemalloc
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from assistant.engine import Assistant
from assistant.feedback import FeedbackStore
from assistant.settings import Settings
from assistant.slack.server import SlackHTTPServer
from tests.fakes.slack_api import SIGNING_SECRET, Call, FakeSlackAPI, SlackSender
from tests.test_llm import cite_passage_with
from tests.test_slack_app import (
    ARMED_FORCES,
    CHANNEL,
    PLANT,
    Workspace,
    action_elements,
    app_for_tests,
    blocks_of,
)

DEADLINE = 5.0  # "answered within": generous, not a speed test
FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"


@dataclass
class Front:
    """A running app: its workspace, its port, and every request Bolt was handed."""

    workspace: Workspace
    server: SlackHTTPServer
    dispatched: list[dict[str, Any]] = field(default_factory=list)

    @property
    def slack(self) -> FakeSlackAPI:
        return self.workspace.slack

    @property
    def sender(self) -> SlackSender:
        return self.workspace.sender

    def connect(self, timeout: float = DEADLINE) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.server.port), timeout=timeout)

    def exchange(self, data: bytes) -> Response:
        """Send `data` and leave the connection open: the answer must come anyway."""
        with self.connect() as sock:
            sock.sendall(data)
            return Response.parse(read_until_closed(sock))


@dataclass
class Response:
    status: int
    headers: str
    body: bytes

    @classmethod
    def parse(cls, raw: bytes) -> Response:
        head, _, body = raw.partition(b"\r\n\r\n")
        status_line, _, headers = head.decode("latin-1").partition("\r\n")
        return cls(int(status_line.split()[1]), headers, body)

    def json(self) -> Any:
        return json.loads(self.body)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (socket timeout: fail)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        except TimeoutError:
            raise AssertionError(f"the server neither answered nor closed; got {data!r}") from None
        if not chunk:
            return data
        data += chunk


@contextmanager
def running(
    assistant: Assistant, settings: Settings, slack: FakeSlackAPI, **limits: Any
) -> Iterator[Front]:
    app = app_for_tests(assistant, settings, slack)
    dispatched: list[dict[str, Any]] = []
    dispatch = app.dispatch

    def recording_dispatch(request: Any) -> Any:
        dispatched.append(request.body)
        return dispatch(request)

    app.dispatch = recording_dispatch  # type: ignore[method-assign]
    with SlackHTTPServer(app, host="127.0.0.1", port=0, **limits) as server:
        workspace = Workspace(slack, SlackSender(server.url), settings)
        yield Front(workspace, server, dispatched)


@pytest.fixture
def slack() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as fake:
        yield fake


@pytest.fixture
def patient(assistant: Assistant, settings: Settings, slack: FakeSlackAPI) -> Iterator[Front]:
    """A server that would wait 30 s for a missing byte: answering sooner proves it did not."""
    with running(assistant, settings, slack, idle_timeout=30.0, read_deadline=60.0) as front:
        yield front


@pytest.fixture
def impatient(assistant: Assistant, settings: Settings, slack: FakeSlackAPI) -> Iterator[Front]:
    with running(assistant, settings, slack, idle_timeout=0.5, read_deadline=2.0) as front:
        yield front


def signature_headers(body: bytes, secret: str = SIGNING_SECRET) -> str:
    """Slack's v0 signature over the body's exact bytes, as raw header lines."""
    ts = str(int(time.time()))
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return f"X-Slack-Request-Timestamp: {ts}\r\nX-Slack-Signature: v0={digest}\r\n"


def raw_post(body: bytes, content_type: str = JSON_TYPE, *, signed: bool = True) -> bytes:
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: app.example\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    )
    if signed:
        head += signature_headers(body)
    return head.encode("latin-1") + b"\r\n" + body


def mention_event(text: str = ARMED_FORCES, **fields: Any) -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": "T0NEWS",
        "event_id": "Ev0HOSTILE",
        "event": {
            "type": "app_mention",
            "user": "U0REPORTER",
            "text": text,
            "ts": "1700000001.000001",
            "channel": CHANNEL,
        },
        **fields,
    }


def no_tracebacks(caplog: pytest.LogCaptureFixture, stderr: str) -> None:
    for record in caplog.records:
        assert record.exc_info is None, record.getMessage()
        assert "Traceback" not in record.getMessage()
    assert "Traceback" not in stderr


# -- Content-Length: checked before the body is read -------------------------------------


@pytest.mark.parametrize(
    ("length_headers", "status"),
    [
        ("Content-Length: -1", 400),
        ("Content-Length: abc", 400),
        ("Content-Length: 1e3", 400),
        ("Content-Length: +12", 400),
        ("Content-Length: 12\r\nContent-Length: 13", 400),
        ("Content-Length: 200000000", 413),
        ("Content-Length: 99999999999999999999999999999999", 413),
        ("", 411),
        ("Transfer-Encoding: chunked", 411),
        ("Transfer-Encoding: chunked\r\nContent-Length: 12", 411),
    ],
)
def test_a_forged_content_length_is_refused_without_reading_the_body(
    patient: Front, length_headers: str, status: int
) -> None:
    head = f"POST /slack/events HTTP/1.1\r\nHost: app.example\r\nContent-Type: {JSON_TYPE}\r\n"
    if length_headers:
        head += length_headers + "\r\n"
    # A few bytes of the promised body, and the connection stays open.
    reply = patient.exchange(head.encode() + b"\r\n" + b'{"type": ')

    assert reply.status == status
    assert set(reply.json()) == {"error"}
    assert patient.dispatched == [], "Bolt never saw it"


def test_a_body_is_never_read_past_its_content_length(patient: Front) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-42", "token": "t"}).encode()
    reply = patient.exchange(raw_post(body) + b"TRAILING BYTES THAT ARE NOT PART OF IT")
    assert reply.status == 200, reply.body  # the signature covers exactly the declared bytes
    assert reply.json() == {"challenge": "c-42"}


def test_a_huge_body_without_a_usable_length_costs_no_memory(patient: Front) -> None:
    """A memory sanity check, not a timed test: the probe's Content-Length: -1 with a large
    body made the server read all of it; now it is refused and none of it is kept."""
    size = 32 * 1024 * 1024
    payload = b"x" * size
    head = b"POST /slack/events HTTP/1.1\r\nContent-Type: application/json\r\n"
    with patient.connect() as sock:
        sock.sendall(head + b"Content-Length: -1\r\n\r\n")

        def flood() -> None:
            try:
                sock.sendall(payload)
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server closed the connection: expected

        tracemalloc.start()
        try:
            sender = threading.Thread(target=flood, daemon=True)
            sender.start()
            reply = Response.parse(read_until_closed(sock))
            sender.join(timeout=30)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert peak < size // 8, f"{peak} bytes allocated while {size} were sent"
    assert reply.status == 400


# -- the signature: checked before anything is parsed ------------------------------------


def test_unsigned_or_forged_requests_are_refused_before_parsing(
    patient: Front, caplog: pytest.LogCaptureFixture
) -> None:
    event = json.dumps(mention_event("SECRET-BODY-MARKER " + ARMED_FORCES)).encode()
    forged_signature = signature_headers(event, secret="wrong-secret")
    not_a_number = "X-Slack-Request-Timestamp: soon\r\nX-Slack-Signature: v0=00\r\n"
    non_ascii = f"X-Slack-Request-Timestamp: {int(time.time())}\r\nX-Slack-Signature: v0=\xe9\r\n"

    def with_signature(lines: str, body: bytes) -> bytes:
        return raw_post(body, signed=False).replace(
            b"\r\n\r\n", b"\r\n" + lines.encode("latin-1") + b"\r\n", 1
        )

    with caplog.at_level(logging.DEBUG, logger="assistant.slack"):
        replies = [
            patient.exchange(raw_post(event, signed=False)),
            patient.exchange(with_signature(forged_signature, event)),
            patient.exchange(with_signature(not_a_number, event)),
            patient.exchange(with_signature(non_ascii, event)),
            # Parsed, these would be a 400: the signature comes first.
            patient.exchange(raw_post(b'{"broken json', signed=False)),
            patient.exchange(raw_post(b"\xff\xfe not UTF-8", "text/plain", signed=False)),
        ]
        patient.workspace.sentinel()

    assert [r.status for r in replies] == [401] * len(replies)
    assert patient.workspace.posts(CHANNEL) == [], "the forged mention was never answered"
    assert len(patient.dispatched) == 1, "only the sentinel reached Bolt"
    assert not any("SECRET-BODY-MARKER" in r.getMessage() for r in caplog.records)
    assert any("Invalid request signature" in r.getMessage() for r in caplog.records)


# -- malformed but signed: 400, one log line, no traceback ---------------------------------


MALFORMED = {
    "bad JSON": (b'{"type": "event_callback",', JSON_TYPE),
    "a JSON array": (b"[1, 2, 3]", JSON_TYPE),
    "an empty body": (b"", JSON_TYPE),
    "wrong content type": (json.dumps(mention_event()).encode(), "text/plain"),
    "not UTF-8": (b'{"type": "event_callback", "x": "\xff\xfe"}', JSON_TYPE),
    "not a form": (b"payload", FORM),
    "payload not JSON": (b"payload=%7Bnot+json", FORM),
    "payload a list": (b"payload=%5B1%5D", FORM),
    "event not an object": (json.dumps(mention_event(event="hi")).encode(), JSON_TYPE),
    "event without a channel": (
        json.dumps(mention_event(event={"type": "app_mention", "ts": "1.2"})).encode(),
        JSON_TYPE,
    ),
    "authorizations not a list": (
        json.dumps(mention_event(authorizations="x")).encode(),
        JSON_TYPE,
    ),
    "actions not a list": (
        urllib.parse.urlencode(
            {"payload": json.dumps({"type": "block_actions", "actions": "x", "trigger_id": "t"})}
        ).encode(),
        FORM,
    ),
    "action without an id": (
        urllib.parse.urlencode(
            {"payload": json.dumps({"type": "block_actions", "actions": [{"value": "1"}]})}
        ).encode(),
        FORM,
    ),
    "a number for a user": (
        urllib.parse.urlencode(
            {"payload": json.dumps({"type": "block_actions", "user": 5, "actions": []})}
        ).encode(),
        FORM,
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_signed_request_gets_400_and_no_traceback(
    patient: Front,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    case: str,
) -> None:
    body, content_type = MALFORMED[case]
    with caplog.at_level(logging.DEBUG, logger="assistant.slack"):
        reply = patient.exchange(raw_post(body, content_type))

    assert reply.status == 400, reply.body
    error = reply.json()["error"]
    assert isinstance(error, str) and len(error) < 120
    assert patient.dispatched == []
    no_tracebacks(caplog, capfd.readouterr().err)


def test_garbled_http_gets_short_json_errors_and_no_traceback(
    patient: Front, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.DEBUG, logger="assistant.slack"):
        garbage = patient.exchange(b"GARBAGE\r\n\r\n")
        version = patient.exchange(b"POST /slack/events HTTP/9.9\r\n\r\n")
        method = patient.exchange(b"BREW /slack/events HTTP/1.1\r\nHost: x\r\n\r\n")
        get = patient.exchange(b"GET /slack/events HTTP/1.1\r\nHost: x\r\n\r\n")
        elsewhere = patient.exchange(b"POST /admin HTTP/1.1\r\nContent-Length: 99\r\n\r\n")

    statuses = [r.status for r in (garbage, version, method, get, elsewhere)]
    assert statuses == [400, 505, 501, 405, 404]
    for reply in (garbage, version, method, get, elsewhere):
        assert "application/json" in reply.headers
        assert set(reply.json()) == {"error"}
    assert patient.dispatched == []
    no_tracebacks(caplog, capfd.readouterr().err)


def test_a_client_that_vanishes_mid_request_leaves_no_traceback(
    patient: Front, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.DEBUG, logger="assistant.slack"):
        for data in (b"POST /slack/ev", raw_post(json.dumps(mention_event()).encode())[:-10]):
            with patient.connect() as sock:
                sock.sendall(data)
            # (closed with the request half sent)
        patient.workspace.sentinel()
    assert patient.workspace.posts(CHANNEL) == []
    no_tracebacks(caplog, capfd.readouterr().err)


# -- idle and slow clients ----------------------------------------------------------------


def assert_closed_by_server(sock: socket.socket, drip: bytes = b"", within: float = 10.0) -> None:
    """Wait (sending `drip` one byte at a time, every 0.2 s) until the server hangs up."""
    give_up = time.monotonic() + within
    pending = iter(drip)
    sock.settimeout(0.2)
    while time.monotonic() < give_up:
        try:
            if sock.recv(65536) == b"":
                return
        except ConnectionResetError:
            return
        except TimeoutError:
            pass
        byte = next(pending, None)
        if byte is not None:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                return
    raise AssertionError(f"the server kept the connection open for {within} s")


SLOW_HEADERS = b"POST /slack/events HTTP/1.1\r\nX-Padding: " + b"a" * 200


@pytest.mark.parametrize(
    ("sent", "drip"),
    [
        (b"", b""),  # connects and says nothing
        (b"POST /slack/events HTTP/1.1\r\nHost: app.exa", b""),  # half the headers
        (b"POST /slack/events HTTP/1.1\r\nContent-Length: 100\r\n\r\n{", b""),  # half a body
        (b"", SLOW_HEADERS),  # one byte every 0.2 s: never idle, never done
    ],
    ids=["idle", "partial headers", "partial body", "slow drip"],
)
def test_idle_and_slow_connections_are_closed(impatient: Front, sent: bytes, drip: bytes) -> None:
    with impatient.connect(timeout=15) as lingering:
        lingering.sendall(sent)
        # Meanwhile the server answers others.
        ok = impatient.sender.post(
            json.dumps({"type": "url_verification", "challenge": "c"}), JSON_TYPE
        )
        assert ok.json() == {"challenge": "c"}
        assert_closed_by_server(lingering, drip)


# -- replays: each Slack id is acted on once --------------------------------------------


def _response_calls(slack: FakeSlackAPI, name: str) -> list[Call]:
    return [c for c in slack.calls_to("response_url") if c.path == f"/response/{name}"]


def test_a_replayed_slash_command_is_answered_once(patient: Front) -> None:
    sender, slack = patient.sender, patient.slack
    ask = {"response_url": slack.response_url("ask"), "trigger_id": "13345.99.replayed"}

    first = sender.command(ARMED_FORCES, **ask)
    replay = sender.command(ARMED_FORCES, **ask)
    assert first.status == 200 and "Searching the sources" in first.json()["text"]
    assert replay.status == 200, "a replay is acknowledged, or Slack would retry it"
    assert replay.body == ""
    # A later command is answered after the first (one worker): then all is done.
    sender.command(PLANT, response_url=slack.response_url("later"))
    slack.wait_for("response_url", where=lambda c: c.path == "/response/later")

    answers = _response_calls(slack, "ask")
    assert len(answers) == 1 and "600,000" in answers[0].args["text"]


def test_a_command_mentioning_payload_is_still_a_command(patient: Front) -> None:
    """Bolt takes any form body containing "payload" for an interaction."""
    reply = patient.sender.command(
        "What payload limits does the draft set?", response_url=patient.slack.response_url("p")
    )
    assert reply.status == 200
    assert "Searching the sources" in reply.json()["text"]
    patient.slack.wait_for("response_url", where=lambda c: c.path == "/response/p")


def test_a_replayed_feedback_click_is_recorded_once(patient: Front) -> None:
    workspace = patient.workspace
    workspace.mention(ARMED_FORCES)
    controls = action_elements(blocks_of(workspace.wait_for_post(channel=CHANNEL)))
    click = {
        **controls["feedback_helpful"],
        "block_id": "answer",
        "type": "button",
        "action_ts": "1700000099.000100",
    }

    for _ in range(3):
        reply = workspace.sender.block_action(
            click, response_url=workspace.slack.response_url("up"), trigger_id="777.1.clicked"
        )
        assert reply.status == 200
    other = next(o for o in controls["feedback_not_helpful"]["options"] if "wrong" in o["value"])
    workspace.sender.block_action(
        {"action_id": "feedback_not_helpful", "block_id": "answer", "selected_option": other},
        response_url=workspace.slack.response_url("down"),
    )
    workspace.slack.wait_for("response_url", where=lambda c: c.path == "/response/down")

    records = FeedbackStore(workspace.settings.feedback_db).all()
    assert [(r["rating"], r["reason"]) for r in records] == [("up", None), ("down", "wrong")]
    assert len(_response_calls(workspace.slack, "up")) == 1, "thanked once"


def test_a_replayed_share_click_posts_once(patient: Front) -> None:
    slack, sender = patient.slack, patient.sender
    sender.command(ARMED_FORCES, response_url=slack.response_url("ask"))
    private = slack.wait_for("response_url", where=lambda c: c.path == "/response/ask")[0]
    share = {
        **action_elements(private.args["blocks"])["share_answer"],
        "block_id": "answer",
        "type": "button",
        "action_ts": "1700000123.000200",
    }
    for _ in range(2):
        reply = sender.block_action(
            share, response_url=slack.response_url("share"), trigger_id="888.2.shared"
        )
        assert reply.status == 200
    helpful = action_elements(private.args["blocks"])["feedback_helpful"]
    sender.block_action({**helpful, "block_id": "a"}, response_url=slack.response_url("later"))
    slack.wait_for("response_url", where=lambda c: c.path == "/response/later")

    public = [c for c in _response_calls(slack, "share") if c.args.get("response_type")]
    assert [c.args["response_type"] for c in public] == ["in_channel"]


# -- Slack shows only checked sentences ---------------------------------------------------


def test_slack_never_shows_a_sentence_the_check_removed(
    settings: Settings, slack: FakeSlackAPI, fake_openai: Any
) -> None:
    """Slack does not stream: it posts the finished, checked answer (no chat.update). A
    model reply whose third sentence is uncited and unsupported never reaches Slack."""
    uncited = "Ukraine will also receive 300 fighter jets from Brazil."

    def respond(request: dict[str, Any]) -> str:
        first = cite_passage_with("600,000")(request)
        second = cite_passage_with("rejects any limits")(request)
        return f"{first} {second} {uncited}"

    llm_settings = settings.model_copy(
        update={
            "openai_base_url": fake_openai.base_url,
            "openai_api_key": "test",
            "llm_verify": False,
            "llm_retry_base_delay": 0.0,
        }
    )
    fake_openai.responder(respond, times=2)
    with running(Assistant.open(llm_settings), llm_settings, slack) as front:
        front.workspace.mention(ARMED_FORCES)
        post = front.workspace.wait_for_post(channel=CHANNEL)
        front.sender.command(ARMED_FORCES, response_url=slack.response_url("ask"))
        private = slack.wait_for("response_url", where=lambda c: c.path == "/response/ask")[0]

    assert len(fake_openai.chat_requests) == 2, "both answers came from the model"
    for shown in (post, private):
        assert "600,000" in shown.args["text"] and "rejects" in shown.args["text"]
    assert slack.calls_to("chat.update") == []
    for call in slack.calls:
        assert "Brazil" not in json.dumps(call.args), call.method
        assert "fighter jets" not in json.dumps(call.args), call.method
