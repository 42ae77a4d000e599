"""Model faults after a 200, against the local fake OpenAI-compatible server.

Every fault must end in the offline answer with a notice that names it, within the
whole-answer timeout plus a second: empty replies, streams that stop early or break
off, HTML pages, stalls, slow trickles and huge replies. Retry-After is honoured only
up to the deadline.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

from assistant.engine import Assistant
from assistant.errors import InvalidQuestionError
from tests.fakes.openai_server import FakeOpenAIServer
from tests.test_llm import QUESTION, _llm_settings, cite_passage_with

TIMEOUT = 2.0
GRACE = 1.0
SENTENCE = "The draft would cap Ukraine's armed forces at a set size [1]. "
HTML_PAGE = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


def _assistant(data_dir: Path, server: FakeOpenAIServer, **extra: Any) -> Assistant:
    settings = _llm_settings(data_dir, server.base_url, llm_timeout=TIMEOUT, **extra)
    return Assistant.open(settings)


def _timed_answer(assistant: Assistant, question: str = QUESTION) -> tuple[Any, float]:
    started = time.monotonic()
    answer = assistant.ask(question)
    return answer, time.monotonic() - started


def _assert_offline_fallback(answer: Any, reason: str) -> None:
    assert answer.backend == "extractive (fallback)", answer.backend
    assert not answer.refused and "600,000" in answer.text
    assert any(reason in notice for notice in answer.notices), answer.notices


FAULTS = [
    pytest.param({"kind": "empty"}, "empty reply", id="empty-stream"),
    pytest.param({"kind": "truncated", "text": SENTENCE}, "stopped before its end", id="no-end"),
    pytest.param({"kind": "disconnect", "text": SENTENCE}, "broke off", id="cut-mid-body"),
    pytest.param({"kind": "raw", "body": HTML_PAGE}, "", id="html-200"),
    pytest.param({"kind": "stall", "text": SENTENCE, "seconds": 30}, "", id="stall-mid-stream"),
    pytest.param(
        {"kind": "trickle", "text": SENTENCE * 40, "seconds": 0.05}, "limit", id="slow-trickle"
    ),
]


@pytest.mark.parametrize(("fault", "reason"), FAULTS)
def test_model_fault_ends_in_the_offline_answer_with_a_notice(
    data_dir: Path, fake_openai: FakeOpenAIServer, fault: dict[str, Any], reason: str
) -> None:
    fake_openai.fault(**fault, times=5)
    answer, elapsed = _timed_answer(_assistant(data_dir, fake_openai))
    _assert_offline_fallback(answer, reason)
    assert any("language model was unavailable" in n for n in answer.notices)
    assert elapsed < TIMEOUT + GRACE, f"{elapsed:.2f}s"


def test_huge_reply_is_cut_off_and_answered_offline(
    data_dir: Path, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply(SENTENCE * 2000)  # about 120,000 characters
    answer, elapsed = _timed_answer(_assistant(data_dir, fake_openai, llm_max_reply_chars=4000))
    _assert_offline_fallback(answer, "longer than 4,000 characters")
    assert elapsed < TIMEOUT + GRACE


def test_max_tokens_is_sent_to_the_model(data_dir: Path, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.responder(cite_passage_with("600,000"))
    _assistant(data_dir, fake_openai, llm_max_tokens=321).ask(QUESTION)
    assert fake_openai.chat_requests[-1]["max_tokens"] == 321


def test_retry_after_beyond_the_deadline_is_not_waited_for(
    data_dir: Path, fake_openai: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    fake_openai.fail(429, headers={"retry-after": "120", "retry-after-ms": "120000"}, times=3)
    with caplog.at_level(logging.WARNING, logger="assistant.llm"):
        answer, elapsed = _timed_answer(_assistant(data_dir, fake_openai))
    _assert_offline_fallback(answer, "rate limited (429)")
    assert elapsed < TIMEOUT + GRACE
    assert len(fake_openai.chat_requests) == 1
    assert "not retrying: the server asked to wait 120.0s" in caplog.text


def test_retry_after_within_the_deadline_is_honoured(
    data_dir: Path, fake_openai: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    fake_openai.fail(429, headers={"retry-after": "0.3", "retry-after-ms": "300"})
    fake_openai.responder(cite_passage_with("600,000"))
    with caplog.at_level(logging.WARNING, logger="assistant.llm"):
        answer, elapsed = _timed_answer(_assistant(data_dir, fake_openai))
    assert answer.backend.startswith("llm:") and "600,000" in answer.text
    assert "retry 1 in 0.30s" in caplog.text
    assert 0.3 <= elapsed < TIMEOUT + GRACE


def test_retries_stop_at_the_deadline(data_dir: Path, fake_openai: FakeOpenAIServer) -> None:
    fake_openai.fault("stall", text="", seconds=30, times=10)
    assistant = _assistant(data_dir, fake_openai, llm_max_retries=5)
    answer, elapsed = _timed_answer(assistant)
    _assert_offline_fallback(answer, "")
    assert elapsed < TIMEOUT + GRACE


def test_condense_call_fault_keeps_the_question_as_asked(
    data_dir: Path, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.fault("raw", body=HTML_PAGE, times=3)  # the first try and two retries
    fake_openai.responder(cite_passage_with("600,000"))
    answer = _assistant(data_dir, fake_openai).ask(QUESTION, ["What is the draft about?"])
    assert answer.backend.startswith("llm:") and "600,000" in answer.text


def test_condense_prompt_sees_only_the_last_turns_clipped(
    data_dir: Path, fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply("What limit does the draft set on Ukraine's army?")
    fake_openai.responder(cite_passage_with("600,000"))
    history = [f"earlier question {i}: " + "x" * 1900 for i in range(15)]
    _assistant(data_dir, fake_openai).ask(QUESTION, history)
    condense = fake_openai.chat_requests[0]["messages"][-1]["content"]
    assert "earlier question 14" in condense and "earlier question 8" not in condense
    assert len(condense) < 6 * 700 + 2000


def test_oversized_history_turn_is_a_clear_error_before_any_model_call(
    data_dir: Path, fake_openai: FakeOpenAIServer
) -> None:
    assistant = _assistant(data_dir, fake_openai)
    with pytest.raises(InvalidQuestionError, match="history is too long"):
        assistant.ask(QUESTION, ["x" * 1_000_000])
    assert fake_openai.chat_requests == []
