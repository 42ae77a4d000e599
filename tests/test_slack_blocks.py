"""Block Kit layout and mrkdwn safety: Slack's limits, and text that never pings anyone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.slack.answer_log import AnswerLog, LoggedAnswer
from assistant.slack.blocks import (
    MAX_BLOCKS,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    answer_message,
    warning_message,
)
from assistant.slack.config import load_slack_config
from assistant.slack.dedupe import SeenEvents
from assistant.slack.mrkdwn import (
    WORD_JOINER,
    question_from_message,
    safe_mrkdwn,
    slack_to_plain,
    split_escaped,
    truncate_escaped,
)
from tests.fakes.slack_api import texts_of

ROOT = Path(__file__).resolve().parent.parent


def citation(n: int, quote: str = "The draft caps the army at 600,000.", **extra: Any) -> dict:
    return {
        "id": n,
        "source": f"article-{n}.md",
        "title": f"Article {n}",
        "date": "2025-11-21",
        "text": quote,
        "quote": quote,
        "start": 0,
        "end": len(quote),
        **extra,
    }


def answer(text: str = "The army is capped at 600,000 [1].", **fields: Any) -> LoggedAnswer:
    defaults: dict[str, Any] = {
        "id": "a" * 32,
        "question": "What limit?",
        "text": text,
        "citations": [citation(1)],
        "backend": "extractive",
    }
    return LoggedAnswer(**{**defaults, **fields})


def assert_within_slack_limits(blocks: list[dict[str, Any]]) -> None:
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= MAX_HEADER_TEXT
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= 75
                assert len(element["value"]) <= 2000
            for option in element.get("options", []):
                assert len(option["value"]) <= 150
                assert len(option["text"]["text"]) <= 75


# -- mrkdwn safety ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hostile",
    [
        "<!channel> read this",
        "<!here|here> now",
        "<!everyone>",
        "<@U024BE7LH> look",
        "<#C024BE7LR|general>",
        "<https://evil.example|the official site>",
        "<!subteam^S0123|@editors> please",
        "ping @here and @channel and @everyone",
    ],
)
def test_nothing_in_untrusted_text_can_ping_or_link(hostile: str) -> None:
    safe = safe_mrkdwn(hostile)
    assert "<" not in safe and ">" not in safe
    assert not re.search(r"(?<![\w@])@(here|channel|everyone)\b", safe)


def test_escaping_covers_exactly_slacks_control_characters() -> None:
    assert safe_mrkdwn("R&D <b> 3 > 2") == "R&amp;D &lt;b&gt; 3 &gt; 2"
    assert safe_mrkdwn("*bold* _it_ [1]") == "*bold* _it_ [1]"
    assert safe_mrkdwn("mail me: desk@here.example") == "mail me: desk@here.example"


def test_incoming_slack_markup_becomes_plain_text() -> None:
    text = (
        "<@UBOT> what did <@U1|ana> say in <#C1|news> about <https://x.example|this> &amp; <!here>?"
    )
    assert question_from_message(text, "UBOT") == ("what did @ana say in #news about this & @here?")
    assert slack_to_plain("<https://x.example> &lt;3") == "https://x.example <3"
    assert slack_to_plain("&lt;&lt;!here&gt;&gt; <<@U1>>") == "@here @U1"


def test_long_escaped_text_is_split_and_cut_at_boundaries_not_inside_entities() -> None:
    text = safe_mrkdwn("a & b " * 2000)
    pieces = split_escaped(text, 3000)
    assert all(len(p) <= 3000 for p in pieces)
    assert "".join(p.replace(" ", "") for p in pieces) == text.replace(" ", "")
    one_word = safe_mrkdwn("&" * 5000)
    assert all(re.fullmatch(r"(&amp;)+", p) for p in split_escaped(one_word, 3000))
    assert truncate_escaped(safe_mrkdwn("x" * 10 + "&" * 10), 14) == "xxxxxxxxxx…"


# -- layout -------------------------------------------------------------------------------


def test_an_answer_has_text_sources_and_controls() -> None:
    message = answer_message(answer(), show_question=True, shareable=True)
    kinds = [b["type"] for b in message.blocks]
    assert kinds == ["header", "section", "divider", "section", "section", "context", "actions"]
    assert message.blocks[3]["text"]["text"] == "*Sources*"
    assert message.blocks[4]["text"]["text"] == (
        "*[1]* *Article 1* · 2025-11-21\narticle-1.md\n>The draft caps the army at 600,000."
    )
    actions = [e["action_id"] for e in message.blocks[-1]["elements"]]
    assert actions == ["share_answer", "feedback_helpful", "feedback_not_helpful"]
    assert message.text == "Q: What limit?\nThe army is capped at 600,000 [1]."


def test_a_decline_has_no_sources_but_can_be_rated() -> None:
    message = answer_message(
        answer("I can't answer that from the articles I have.", citations=[], refused=True)
    )
    assert [b["type"] for b in message.blocks] == ["section", "context", "actions"]
    assert message.text == "I can't answer that from the articles I have."


def test_huge_answers_stay_within_slack_limits_and_keep_a_fallback() -> None:
    quote = "A very long quoted passage. " * 200
    big = answer(
        "Word " * 40_000 + "[1]",
        question="Why? " * 100,
        citations=[citation(n, quote, title="T" * 500) for n in range(1, 80)],
        notices=["note " * 1000],
    )
    message = answer_message(big, show_question=True, shareable=True)

    assert_within_slack_limits(message.blocks)
    assert message.blocks[-1]["type"] == "actions", "the controls survive"
    assert "more sources, not shown" in " ".join(texts_of(message.blocks))
    assert 0 < len(message.text) <= 3000
    assert message.blocks[0]["text"]["text"].endswith("…")


def test_hostile_sources_are_neutralised_in_every_field() -> None:
    evil = "<!channel> <@U1> <https://evil.example|click> @here"
    message = answer_message(
        answer(
            f"{evil} [1]",
            question=evil,
            citations=[citation(1, evil, title=evil, date="<!here>")],
            notices=[evil],
        ),
        show_question=True,
        footer=f"Shared by {evil}",
    )
    for text in [message.text, *texts_of(message.blocks)]:
        assert not re.search(r"<[!@#h]|(?<![\w@])@(here|channel|everyone)\b", text), text
    assert f"@{WORD_JOINER}here" in message.text


def test_warnings_are_short_text_only_messages() -> None:
    message = warning_message("x" * 5000)
    assert message.blocks == []
    assert message.text.startswith(":warning: ") and len(message.text) < 600


# -- small parts --------------------------------------------------------------------------


def test_seen_events_remembers_ids_for_a_while_and_within_a_bound() -> None:
    now = [0.0]
    seen = SeenEvents(ttl=60, capacity=3, clock=lambda: now[0])
    assert seen.first_time("a") and not seen.first_time("a")
    now[0] = 61
    assert seen.first_time("a"), "forgotten after the ttl"
    for event_id in "bcd":
        assert seen.first_time(event_id)
    assert seen.first_time("a"), "the oldest is dropped beyond the capacity"


def test_the_answer_log_keeps_answers_and_where_they_were_posted(tmp_path: Path) -> None:
    log = AnswerLog(tmp_path / "answers.sqlite3")
    logged = answer()
    log.add(logged)
    log.mark_posted(logged.id, channel="C1", thread_ts="1.1", ts="1.2")

    assert log.get(logged.id) == logged
    assert log.by_message("C1", "1.2") == logged
    assert log.answered_in_thread("C1", "1.1")
    assert not log.answered_in_thread("C1", "9.9")
    assert AnswerLog(tmp_path / "answers.sqlite3").get(logged.id) == logged, "survives restarts"


def test_config_reads_the_environment() -> None:
    config = load_slack_config(
        {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": "http://gateway.internal/api",
            "SLACK_SUGGESTED_PROMPTS": " One? | Two? ||",
        }
    )
    assert config.api_url == "http://gateway.internal/api/"
    assert config.suggested_prompts == ("One?", "Two?")
    assert not config.socket_mode
    socket = load_slack_config({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
    assert socket.socket_mode and socket.api_url == "https://slack.com/api/"
    assert socket.suggested_prompts is None, "unset: drawn from the articles"


# -- the manifest matches the app ----------------------------------------------------------


def test_the_manifest_subscribes_to_what_the_app_handles() -> None:
    manifest = yaml.safe_load((ROOT / "assistant/slack/manifest.yaml").read_text())
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])

    assert {"app_mention", "message.im", "message.channels", "assistant_thread_started"} <= events
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/ask"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert "assistant_view" in manifest["features"]
    needed = {
        "app_mentions:read",  # app_mention
        "chat:write",  # chat.postMessage
        "commands",  # /ask
        "reactions:write",  # reactions.add / remove
        "assistant:write",  # assistant.threads.*
        "im:history",  # message.im, conversations.replies in DMs
        "channels:history",  # message.channels, conversations.replies in channels
        "groups:history",  # message.groups
        "mpim:history",  # message.mpim
    }
    assert scopes == needed
    for event in events:
        if event.startswith("message."):
            kind = event.split(".")[1]
            assert f"{kind}:history" in scopes or kind == "channels"
