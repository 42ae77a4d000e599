"""A scripted OpenAI-compatible model: replays known sentences with computed citations.

The citation benchmark sets the answer to play (sentences, each with the verbatim evidence
it rests on) before each question. For every answer request the server reads the numbered
passages of the prompt (``[i] title (date)`` then the passage text), finds which passage
holds each evidence string (compared with ``assistant.text.squash``) and writes the
sentences with the right passage numbers. A sentence whose evidence is in no passage of
the prompt is left out and reported as not retrieved: a model could not have cited it.

Citation styles:

* ``markers``: ``The draft caps the army at 600,000 [3].`` (two evidence strings: ``[3][5]``)
* ``quotes``: ``... 600,000 [3: "limited to 600,000 personnel."]`` with the evidence as it
  reads in the passage, cut to its first 12 words;
* ``unmarked``: the sentences without any marker.

Requests without the answer prompt's ``Source passages:`` header (a verification or
condense prompt) get ``other_reply(messages)``; by default ``n: SUPPORTED`` for every line.

Standard library (and ``assistant.text``) only; deterministic; serves on 127.0.0.1 in a
background thread::

    with ScriptedModel() as model:
        model.play([ScriptedSentence("The army is capped at 600,000.", ("limited to 600,000",))])
        ...  # point OPENAI_BASE_URL at model.base_url and ask
        model.last_reply.text, model.last_reply.not_retrieved
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from assistant.text import normalise, squash

CITATION_STYLES = ("markers", "quotes", "unmarked")
ANSWER_HEADER = "Source passages:"
QUOTE_WORDS = 12
NOTHING_TO_SAY = "The sources don't cover that."
MODEL_NAME = "scripted"

Messages = list[dict[str, Any]]
OtherReply = Callable[[Messages], str]

_QUESTION = re.compile(r"\n\s*Question:")
_CLOSING = "\"'”’)]"
_SENTENCE_TAIL = re.compile(rf"^(.*?)([.!?]+)([{re.escape(_CLOSING)}]*)\s*$", re.DOTALL)


@dataclass(frozen=True)
class ScriptedSentence:
    """One sentence to say, and the verbatim evidence of each citation it should carry."""

    text: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Reply:
    """What the server answered to the last answer request."""

    text: str
    style: str
    written: tuple[int, ...]  # indexes into the script of the sentences written
    not_retrieved: tuple[int, ...]  # indexes of sentences whose evidence no passage held
    passages: tuple[str, ...]  # the passage texts read from the prompt, in order
    citations: tuple[tuple[int, ...], ...]  # passage numbers, one tuple per written sentence


# -- reading the prompt ---------------------------------------------------------------------


def last_user_text(messages: Messages) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def is_answer_prompt(prompt: str) -> bool:
    return ANSWER_HEADER in prompt


def prompt_passages(prompt: str) -> list[str]:
    """The passage texts of an answer prompt, passage 1 first (title lines left out)."""
    at = prompt.find(ANSWER_HEADER)
    if at < 0:
        return []
    body = prompt[at + len(ANSWER_HEADER) :]
    questions = list(_QUESTION.finditer(body))
    if questions:
        body = body[: questions[-1].start()]
    headers: list[re.Match[str]] = []
    while header := _passage_header(len(headers) + 1).search(
        body, headers[-1].end() if headers else 0
    ):
        headers.append(header)
    texts = []
    for index, header in enumerate(headers):
        end = headers[index + 1].start() if index + 1 < len(headers) else len(body)
        block = body[header.end() : end]
        _title, _, text = block.partition("\n")
        texts.append(text.strip())
    return texts


def _passage_header(number: int) -> re.Pattern[str]:
    return re.compile(rf"(?m)^\[{number}\] ")


def find_verbatim(needle: str, text: str) -> tuple[int, int] | None:
    """The span of ``needle`` in ``text`` compared after squash(), as offsets into ``text``."""
    tokens = squash(needle).split()
    if not tokens:
        return None
    pattern = r"\s+".join(re.escape(token) for token in tokens)
    match = re.search(pattern, normalise(text))
    return match.span() if match else None


def passage_holding(evidence: str, passages: Sequence[str]) -> int | None:
    """The 1-based number of the first passage whose text contains the evidence."""
    flat = squash(evidence)
    for number, text in enumerate(passages, start=1):
        if flat and flat in squash(text):
            return number
    return None


# -- writing the reply ----------------------------------------------------------------------


def compose_reply(script: Sequence[ScriptedSentence], passages: Sequence[str], style: str) -> Reply:
    """The scripted sentences with citations to the passages that hold their evidence."""
    if style not in CITATION_STYLES:
        raise ValueError(f"unknown citation style {style!r} (one of {', '.join(CITATION_STYLES)})")
    parts: list[str] = []
    written: list[int] = []
    missing: list[int] = []
    cited: list[tuple[int, ...]] = []
    for index, sentence in enumerate(script):
        numbers = [passage_holding(evidence, passages) for evidence in sentence.evidence]
        found = [n for n in numbers if n is not None]
        if len(found) < len(numbers) or not found:
            missing.append(index)
            continue
        markers = "".join(
            _marker(number, evidence, passages[number - 1], style)
            for number, evidence in zip(found, sentence.evidence, strict=True)
        )
        parts.append(with_markers(sentence.text, markers))
        written.append(index)
        cited.append(tuple(found))
    text = " ".join(parts) if parts else NOTHING_TO_SAY
    return Reply(text, style, tuple(written), tuple(missing), tuple(passages), tuple(cited))


def _marker(number: int, evidence: str, passage: str, style: str) -> str:
    if style == "unmarked":
        return ""
    if style == "markers":
        return f"[{number}]"
    return f'[{number}: "{short_quote(evidence, passage)}"]'


def short_quote(evidence: str, passage: str, words: int = QUOTE_WORDS) -> str:
    """The evidence as the passage spells it, cut to its first ``words`` words."""
    span = find_verbatim(evidence, passage)
    quote = passage[span[0] : span[1]] if span else evidence.strip()
    ends = [match.end() for match in re.finditer(r"\S+", quote)]
    return quote[: ends[words - 1]] if len(ends) > words else quote


def with_markers(sentence: str, markers: str) -> str:
    """Markers go before the final full stop (after a closing quote): ``... 600,000 [3].``"""
    text = sentence.strip()
    if not markers:
        return text
    tail = _SENTENCE_TAIL.match(text)
    if tail is None:
        return f"{text} {markers}"
    body, stop, closing = tail.groups()
    return f"{body}{closing} {markers}{stop}"


def supported_for_every_line(messages: Messages) -> str:
    """The default reply to a request that is not an answer request: one numbered
    ``n: SUPPORTED`` line per line of the prompt (enough for every item it can hold)."""
    lines = [line for line in last_user_text(messages).splitlines() if line.strip()]
    return "\n".join(f"{n}: SUPPORTED" for n in range(1, max(len(lines), 1) + 1))


# -- the server -----------------------------------------------------------------------------


class ScriptedModel:
    """The OpenAI-compatible server. ``play()`` sets the answer the next questions get."""

    def __init__(
        self,
        *,
        style: str = "markers",
        other_reply: OtherReply = supported_for_every_line,
        piece_size: int = 7,
    ) -> None:
        if style not in CITATION_STYLES:
            raise ValueError(f"unknown citation style {style!r}")
        if piece_size < 1:
            raise ValueError("piece_size must be positive")
        self.style = style
        self.other_reply = other_reply
        self.piece_size = piece_size
        self._script: tuple[ScriptedSentence, ...] = ()
        self._last: Reply | None = None
        self._answer_requests = 0
        self._other_requests = 0
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- scripting

    def play(self, sentences: Sequence[ScriptedSentence], *, style: str | None = None) -> None:
        """Answer every following answer request with these sentences (and forget the last)."""
        if style is not None and style not in CITATION_STYLES:
            raise ValueError(f"unknown citation style {style!r}")
        with self._lock:
            self._script = tuple(sentences)
            self.style = style or self.style
            self._last = None

    @property
    def last_reply(self) -> Reply | None:
        """The reply to the latest answer request since ``play()``, None before one."""
        with self._lock:
            return self._last

    @property
    def answer_requests(self) -> int:
        with self._lock:
            return self._answer_requests

    @property
    def other_requests(self) -> int:
        with self._lock:
            return self._other_requests

    def respond(self, messages: Messages) -> str:
        """The reply text for a chat request (what the HTTP handler sends)."""
        prompt = last_user_text(messages)
        if not is_answer_prompt(prompt):
            with self._lock:
                self._other_requests += 1
            return self.other_reply(messages)
        with self._lock:
            script, style = self._script, self.style
        reply = compose_reply(script, prompt_passages(prompt), style)
        with self._lock:
            self._answer_requests += 1
            self._last = reply
        return reply.text

    # -- lifecycle

    def start(self) -> ScriptedModel:
        if self._httpd is None:
            self._httpd = _Server(self)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="ScriptedModel",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd, self._thread = None, None

    def __enter__(self) -> ScriptedModel:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, for ``OPENAI_BASE_URL``."""
        if self._httpd is None:
            raise RuntimeError("the scripted model is not running")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, model: ScriptedModel) -> None:
        self.model = model
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except OSError:  # the client closed a kept-alive connection
            self.close_connection = True

    def do_GET(self) -> None:
        if self._path() == "/v1/models":
            model = {"id": MODEL_NAME, "object": "model", "created": 0, "owned_by": "bench"}
            self._send_json(200, {"object": "list", "data": [model]})
        else:
            self._send_error(404, f"unknown endpoint GET {self.path}")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self._path() != "/v1/chat/completions":
            self._send_error(404, f"unknown endpoint POST {self.path}")
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            self._send_error(400, "the body must be a JSON object with a 'messages' list")
            return
        text = self.server.model.respond(body["messages"])
        model = str(body.get("model") or MODEL_NAME)
        if body.get("stream"):
            self._send_stream(text, model)
        else:
            self._send_json(200, _completion(text, model))

    def _path(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/")

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status: int, message: str) -> None:
        error = {"message": message, "type": "invalid_request_error", "param": None, "code": None}
        self._send_json(status, {"error": error})

    def _send_stream(self, text: str, model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        size = self.server.model.piece_size
        pieces = [text[i : i + size] for i in range(0, len(text), size)]
        for event in _stream_events(pieces, model):
            self._write_chunk(f"data: {json.dumps(event)}\n\n".encode())
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")


def _completion(text: str, model: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": text, "refusal": None}
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def _stream_events(pieces: Sequence[str], model: str) -> Iterator[dict[str, Any]]:
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**base, "choices": [choice]}

    yield chunk({"role": "assistant", "content": ""}, None)
    for piece in pieces:
        yield chunk({"content": piece}, None)
    yield chunk({}, "stop")
