"""Tests for the fake OpenAI-compatible server, driven by the real clients."""

from __future__ import annotations

import json
import math
import time
import urllib.request
from collections.abc import Iterator

import openai
import pytest

from tests.fakes.openai_server import FakeOpenAIServer, hash_embedding, split_text

MESSAGES = [{"role": "user", "content": "What happened? [1] Some passage."}]


@pytest.fixture
def srv() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


_clients: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _clients:
        _clients.pop().close()


def make_client(srv: FakeOpenAIServer, **kwargs: object) -> openai.OpenAI:
    """A real OpenAI client pointed at ``srv``; closed automatically after the test."""
    client = openai.OpenAI(base_url=srv.base_url, api_key="test", **kwargs)  # type: ignore[arg-type]
    _clients.append(client)
    return client


def straddles(pieces: list[str], marker: str) -> bool:
    """True if some chunk boundary falls strictly inside an occurrence of ``marker``."""
    text = "".join(pieces)
    boundaries, pos = set(), 0
    for piece in pieces[:-1]:
        pos += len(piece)
        boundaries.add(pos)
    start = text.find(marker)
    while start != -1:
        if any(start < b < start + len(marker) for b in boundaries):
            return True
        start = text.find(marker, start + 1)
    return False


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_base_url_and_lifecycle() -> None:
    srv = FakeOpenAIServer()
    srv.start()
    try:
        assert srv.base_url.startswith("http://127.0.0.1:")
        assert srv.base_url.endswith("/v1")
        assert srv.port > 0
    finally:
        srv.stop()
    srv.stop()  # idempotent


def test_plain_chat_completion(srv: FakeOpenAIServer) -> None:
    srv.reply("Scripted answer [1].")
    resp = make_client(srv).chat.completions.create(model="my-local-llama-3", messages=MESSAGES)
    assert resp.choices[0].message.content == "Scripted answer [1]."
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.model == "my-local-llama-3"
    assert resp.object == "chat.completion"
    assert resp.id.startswith("chatcmpl-")
    assert resp.usage is not None and resp.usage.total_tokens > 0

    # Queue empty: the default text is used.
    srv.default_text = "fallback"
    resp = make_client(srv).chat.completions.create(model="x", messages=MESSAGES)
    assert resp.choices[0].message.content == "fallback"

    (first, second) = srv.chat_requests
    assert first["model"] == "my-local-llama-3"
    assert first["messages"] == MESSAGES
    assert second["model"] == "x"
    recorded = srv.requests[0]
    assert recorded["method"] == "POST"
    assert recorded["path"] == "/v1/chat/completions"
    assert recorded["headers"]["authorization"] == "Bearer test"


def test_streaming_chat_reassembles(srv: FakeOpenAIServer) -> None:
    text = "Prices rose sharply [12] while wages stalled [3]. Analysts disagree [12][4]."
    srv.reply(text)
    stream = make_client(srv).chat.completions.create(
        model="my-local-llama-3", messages=MESSAGES, stream=True
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert "".join(pieces) == text
    assert all(3 <= len(p) <= 8 for p in pieces[:-1])
    assert straddles(pieces, "[12]")
    assert srv.chat_requests[0]["stream"] is True


def test_streaming_usage_and_explicit_chunks(srv: FakeOpenAIServer) -> None:
    srv.reply("ab[1]c", chunks=["ab[", "1]", "c"])
    stream = make_client(srv).chat.completions.create(
        model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    contents = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta]
    assert [c for c in contents if c] == ["ab[", "1]", "c"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None


def test_split_text_cuts_markers() -> None:
    text = "x [12] y [12] z [12] w [12] v [12] u [12]"
    pieces = split_text(text)
    assert "".join(pieces) == text
    assert straddles(pieces, "[12]")


def test_429_then_success_with_retries(srv: FakeOpenAIServer) -> None:
    srv.fail(429)
    srv.reply("after retry")
    start = time.monotonic()
    resp = make_client(srv, max_retries=2).chat.completions.create(model="m", messages=MESSAGES)
    assert resp.choices[0].message.content == "after retry"
    assert len(srv.requests) == 2
    assert time.monotonic() - start < 0.4  # retry-after-ms honoured: no backoff


def test_error_body_shape(srv: FakeOpenAIServer) -> None:
    srv.fail(429, headers={"x-should-retry": "false"})
    with pytest.raises(openai.RateLimitError) as info:
        make_client(srv, max_retries=0).chat.completions.create(model="m", messages=MESSAGES)
    assert info.value.status_code == 429
    assert info.value.code == "rate_limit_exceeded"
    assert info.value.type == "rate_limit_error"


def test_500_without_retries_raises(srv: FakeOpenAIServer) -> None:
    srv.fail(500, times=2, body="boom")
    client = make_client(srv, max_retries=0)
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="m", messages=MESSAGES)
    assert "boom" in str(info.value)
    assert len(srv.requests) == 1
    assert srv.pending == 1


def test_delay_triggers_client_timeout_and_stop_is_fast() -> None:
    srv = FakeOpenAIServer().start()
    try:
        srv.delay(2)
        client = make_client(srv, timeout=0.5, max_retries=0)
        with pytest.raises(openai.APITimeoutError):
            client.chat.completions.create(model="m", messages=MESSAGES)
        srv.delay(30, then_text="never")
        # stop() must not wait for a handler still sleeping in this delay.
        slow = make_client(srv, timeout=0.2, max_retries=0)
        with pytest.raises(openai.APITimeoutError):
            slow.chat.completions.create(model="m", messages=MESSAGES)
    finally:
        start = time.monotonic()
        srv.stop()
        assert time.monotonic() - start < 1.0


def test_delay_then_text(srv: FakeOpenAIServer) -> None:
    srv.delay(0.1, then_text="slow but fine")
    resp = make_client(srv, timeout=5).chat.completions.create(model="m", messages=MESSAGES)
    assert resp.choices[0].message.content == "slow but fine"


def test_responder_builds_reply_from_prompt(srv: FakeOpenAIServer) -> None:
    def answer(body: dict) -> str:
        prompt = body["messages"][-1]["content"]
        return "Cited " + " ".join(m for m in ("[1]", "[2]") if m in prompt)

    srv.responder(answer)
    resp = make_client(srv).chat.completions.create(model="m", messages=MESSAGES)
    assert resp.choices[0].message.content == "Cited [1]"

    srv.default_responder = lambda body: f"echo {len(body['messages'])}"
    resp = make_client(srv).chat.completions.create(model="m", messages=MESSAGES)
    assert resp.choices[0].message.content == "echo 1"


def test_responder_exception_surfaces_without_retry(srv: FakeOpenAIServer) -> None:
    def broken(body: dict) -> str:
        raise KeyError("nope")

    srv.responder(broken)
    with pytest.raises(openai.InternalServerError, match="KeyError"):
        make_client(srv, max_retries=2).chat.completions.create(model="m", messages=MESSAGES)
    assert len(srv.requests) == 1


def test_legacy_completions(srv: FakeOpenAIServer) -> None:
    srv.reply("completed text")
    client = make_client(srv)
    resp = client.completions.create(model="m", prompt="Say something")
    assert resp.choices[0].text == "completed text"
    assert resp.object == "text_completion"
    srv.reply("streamed completion")
    pieces = [
        c.choices[0].text for c in client.completions.create(model="m", prompt="p", stream=True)
    ]
    assert "".join(pieces) == "streamed completion"


def test_embeddings_deterministic_unit_vectors(srv: FakeOpenAIServer) -> None:
    client = make_client(srv)
    texts = [
        "The central bank raised interest rates",
        "Central bank raises interest rates again",
        "A football match ended in a draw",
    ]
    resp = client.embeddings.create(model="text-embedding-3-small", input=texts)
    vectors = [d.embedding for d in resp.data]
    assert len(vectors) == len(texts)
    assert [d.index for d in resp.data] == [0, 1, 2]
    assert all(len(v) == 64 for v in vectors)
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-5) for v in vectors)
    assert resp.usage.total_tokens > 0

    again = client.embeddings.create(model="text-embedding-3-small", input=texts)
    assert [d.embedding for d in again.data] == vectors
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])

    # Float format, single string input, custom dimensions.
    single = client.embeddings.create(
        model="e", input="The central bank", encoding_format="float", dimensions=16
    )
    assert len(single.data) == 1
    assert single.data[0].embedding == pytest.approx(hash_embedding("the CENTRAL bank", 16))


def test_models_endpoint(srv: FakeOpenAIServer) -> None:
    ids = [m.id for m in make_client(srv).models.list()]
    assert ids == srv.models
    with urllib.request.urlopen(f"{srv.base_url}/models") as r:
        assert json.load(r)["object"] == "list"


def test_llama_index_openai_like_unknown_model(srv: FakeOpenAIServer) -> None:
    from llama_index.core.llms import ChatMessage
    from llama_index.llms.openai_like import OpenAILike

    llm = OpenAILike(
        model="my-local-llama-3",
        api_base=srv.base_url,
        api_key="test",
        is_chat_model=True,
        context_window=8192,
    )
    messages = [ChatMessage(role="user", content="Hello?")]

    srv.reply("Hi from llama [1].")
    assert llm.chat(messages).message.content == "Hi from llama [1]."

    srv.reply("Streaming hello [12] done.")
    deltas = [r.delta or "" for r in llm.stream_chat(messages)]
    assert len(deltas) > 1
    assert "".join(deltas) == "Streaming hello [12] done."
    assert [b["model"] for b in srv.chat_requests] == ["my-local-llama-3"] * 2
    assert srv.chat_requests[1]["stream"] is True
