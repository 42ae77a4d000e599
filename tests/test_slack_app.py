"""The Slack app through Slack's real protocol: signed HTTP requests to the Bolt app in HTTP
mode, its Web API calls answered and recorded by a local fake Slack API.

The app runs its listeners on a single worker, so the answers to two requests come in the
order the requests were sent: waiting for a later request's answer proves that an earlier
request produced nothing (no sleeping, no timing)."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from assistant.engine import Assistant
from assistant.feedback import FeedbackStore
from assistant.settings import Settings
from assistant.slack.app import build_app
from assistant.slack.server import SlackHTTPServer
from tests.fakes.slack_api import (
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    Call,
    FakeSlackAPI,
    SlackSender,
    sign,
    texts_of,
)

ARMED_FORCES = "What limit does the draft set on Ukraine's armed forces?"
PLANT = "What does the draft say about the Zaporizhzhia nuclear power plant?"
OFF_TOPIC = "What is the capital of Australia?"
CHANNEL = "C0DESK"
DM = "D0REPORTER"
REPORTER = "U0REPORTER"
SENTINEL = "D0SENTINEL"


@dataclass
class Workspace:
    """A Slack workspace with the app installed: the fake API, and the app's front door."""

    slack: FakeSlackAPI
    sender: SlackSender
    settings: Settings

    def mention(self, text: str, *, channel: str = CHANNEL, thread_ts: str | None = None) -> str:
        """A person @mentions the bot; returns the ts of their message."""
        full = f"<@{BOT_USER_ID}> {text}"
        ts = self.slack.add_message(channel, full, user=REPORTER, thread_ts=thread_ts)
        event = _message_event(channel, full, ts, thread_ts, type="app_mention")
        assert self.sender.event(event).status == 200
        return ts

    def say(
        self,
        text: str,
        *,
        channel: str = CHANNEL,
        channel_type: str = "channel",
        thread_ts: str | None = None,
        **extra: Any,
    ) -> str:
        """A person posts a message (delivered as a `message` event); returns its ts."""
        user = extra.pop("user", REPORTER)
        ts = self.slack.add_message(channel, text, user=user, thread_ts=thread_ts, **extra)
        event = _message_event(channel, text, ts, thread_ts, user=user, **extra)
        event["channel_type"] = channel_type
        assert self.sender.event(event).status == 200
        return ts

    def posts(self, channel: str | None = None) -> list[Call]:
        return [
            c
            for c in self.slack.calls_to("chat.postMessage")
            if channel is None or c.args.get("channel") == channel
        ]

    def wait_for_post(self, count: int = 1, **match: Any) -> Call:
        """The `count`-th chat.postMessage whose args include `match`."""
        calls = self.slack.wait_for(
            "chat.postMessage",
            count,
            where=lambda c: all(c.args.get(k) == v for k, v in match.items()),
        )
        return calls[count - 1]

    def sentinel(self) -> None:
        """A DM (in a DM of its own) that is certainly answered: once its answer is posted,
        everything sent before it has been fully handled."""
        self.say(ARMED_FORCES, channel=SENTINEL, channel_type="im")
        self.wait_for_post(channel=SENTINEL)


def _message_event(
    channel: str, text: str, ts: str, thread_ts: str | None, **fields: Any
) -> dict[str, Any]:
    event = {
        "type": "message",
        "user": REPORTER,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        **fields,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


@pytest.fixture
def slack() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as fake:
        yield fake


def app_for_tests(
    assistant: Assistant, settings: Settings, slack: FakeSlackAPI, **options: Any
) -> Any:
    """The real Bolt app, talking to the fake Slack, listeners run one at a time."""
    return build_app(
        assistant=assistant,
        feedback=FeedbackStore(settings.feedback_db),
        bot_token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        api_url=slack.api_url,
        listener_executor=ThreadPoolExecutor(max_workers=1),
        **options,
    )


def _serve(
    assistant: Assistant, settings: Settings, slack: FakeSlackAPI, **options: Any
) -> Iterator[Workspace]:
    app = app_for_tests(assistant, settings, slack, **options)
    with SlackHTTPServer(app, host="127.0.0.1", port=0) as server:
        yield Workspace(slack, SlackSender(server.url), settings)


@pytest.fixture
def workspace(assistant: Assistant, settings: Settings, slack: FakeSlackAPI) -> Iterator[Workspace]:
    yield from _serve(assistant, settings, slack)


def blocks_of(call: Call) -> list[dict[str, Any]]:
    return call.args.get("blocks") or []


def visible_text(call: Call) -> str:
    return "\n".join([str(call.args.get("text") or ""), *texts_of(blocks_of(call))])


def answer_text(call: Call) -> str:
    """The answer's own sections (before the sources)."""
    parts = []
    for block in blocks_of(call):
        if block["type"] == "divider":
            break
        if block["type"] == "section":
            parts.append(block["text"]["text"])
    return "\n".join(parts)


def citation_sections(call: Call) -> list[str]:
    return [
        b["text"]["text"]
        for b in blocks_of(call)
        if b["type"] == "section" and re.match(r"\*\[\d+\]\*", b["text"]["text"])
    ]


def action_elements(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        element["action_id"]: element
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    }


# -- conversations ---------------------------------------------------------------------


def test_a_mention_is_answered_in_a_thread_with_cited_sources(workspace: Workspace) -> None:
    ts = workspace.mention(ARMED_FORCES)
    post = workspace.wait_for_post(channel=CHANNEL)

    assert post.args["thread_ts"] == ts
    assert "600,000" in post.args["text"], "the text fallback carries the answer"
    body = answer_text(post)
    marks = sorted(set(re.findall(r"\[(\d+)\]", body)))
    assert marks, body
    sources = citation_sections(post)
    assert [re.match(r"\*\[(\d+)\]\*", s).group(1) for s in sources] == marks
    for source in sources:
        heading, quote = source.split("\n>", 1)
        title, where = heading.split("\n")
        assert re.search(r"\* · (?:\S.* · )?\d{4}-\d{2}-\d{2}$", title), "title, author, date"
        assert where.endswith((".md", ".txt")) and "/" not in where, "the file, not its path"
        assert len(quote) > 20
    assert "600,000" in " ".join(sources)
    assert {"feedback_helpful", "feedback_not_helpful"} <= set(action_elements(blocks_of(post)))
    assert post.args["unfurl_links"] is False
    assert [c.args["name"] for c in workspace.slack.calls_to("reactions.add")] == ["mag"]
    workspace.slack.wait_for("reactions.remove")
    assert workspace.slack.reactions(CHANNEL, ts) == []


def test_a_decline_says_so_plainly_and_lists_no_sources(workspace: Workspace) -> None:
    workspace.mention(OFF_TOPIC)
    post = workspace.wait_for_post(channel=CHANNEL)

    assert "can't answer" in post.args["text"]
    assert citation_sections(post) == []
    assert not any(b["type"] == "divider" for b in blocks_of(post))
    assert "Sources" not in visible_text(post)


def test_a_direct_message_is_answered_in_the_dm(workspace: Workspace) -> None:
    workspace.say(ARMED_FORCES, channel=DM, channel_type="im")
    post = workspace.wait_for_post(channel=DM)

    assert "600,000" in post.args["text"]
    assert "thread_ts" not in post.args, "a top-level DM gets a top-level answer"


def test_a_reply_in_an_answered_thread_is_a_follow_up_using_the_thread(
    workspace: Workspace,
) -> None:
    # Alone, the follow-up means nothing: the assistant declines it. (The articles do not
    # say who would run the plant, only how its power would be shared.)
    workspace.mention("Who would share it?", channel="C0OTHER")
    alone = workspace.wait_for_post(channel="C0OTHER")
    assert "can't answer" in alone.args["text"]

    root = workspace.mention(PLANT)
    workspace.wait_for_post(channel=CHANNEL, thread_ts=root)
    reply = workspace.say("Who would share it?", thread_ts=root)
    follow_up = workspace.wait_for_post(2, channel=CHANNEL, thread_ts=root)

    assert "Zaporizhzhia" in follow_up.args["text"]
    replies = workspace.slack.calls_to("conversations.replies")
    assert any(c.args["ts"] == root and c.args["channel"] == CHANNEL for c in replies)
    assert reply in {c.args["timestamp"] for c in workspace.slack.calls_to("reactions.add")}


def test_follow_up_history_has_user_and_assistant_turns(
    settings: Settings, slack: FakeSlackAPI, fake_openai: Any
) -> None:
    """With a model, the condensing prompt shows the thread as the engine received it."""
    llm_settings = settings.model_copy(
        update={"openai_base_url": fake_openai.base_url, "openai_api_key": "test"}
    )
    for workspace in _serve(Assistant.open(llm_settings), llm_settings, slack):
        root = workspace.mention(PLANT)
        first = workspace.wait_for_post(channel=CHANNEL, thread_ts=root)
        fake_openai.reset()
        workspace.say("Who would share it?", thread_ts=root)
        workspace.wait_for_post(2, channel=CHANNEL, thread_ts=root)

    prompts = [m["content"] for body in fake_openai.chat_requests for m in body["messages"]]
    condense = next(p for p in prompts if "Who would share it?" in p and PLANT in p)
    assert f"user: {PLANT}" in condense
    assert "assistant: " in condense
    assert first.args["text"] != ""
    assert f"<@{BOT_USER_ID}>" not in condense, "the bot's mention is not part of the question"


def test_replies_in_threads_the_bot_never_answered_are_left_alone(workspace: Workspace) -> None:
    root = workspace.say("Lunch at noon?")
    workspace.say(ARMED_FORCES, thread_ts=root)
    workspace.sentinel()

    assert workspace.posts(CHANNEL) == []


def test_bots_and_the_bot_itself_are_ignored(workspace: Workspace) -> None:
    workspace.say(ARMED_FORCES, channel=DM, channel_type="im", user="U0OTHERBOT", bot_id="B0OTHER")
    workspace.say(ARMED_FORCES, channel=DM, channel_type="im", subtype="bot_message")
    workspace.say(ARMED_FORCES, channel=DM, channel_type="im", user=BOT_USER_ID, bot_id=BOT_ID)
    text = f"<@{BOT_USER_ID}> {ARMED_FORCES}"
    ts = workspace.slack.add_message(CHANNEL, text, user="U0OTHERBOT", bot_id="B0OTHER")
    mention = _message_event(CHANNEL, text, ts, None, type="app_mention", bot_id="B0OTHER")
    assert workspace.sender.event(mention).status == 200
    workspace.sentinel()

    assert workspace.posts(DM) == [] and workspace.posts(CHANNEL) == []


def test_a_redelivered_event_is_not_answered_twice(workspace: Workspace) -> None:
    ts = workspace.slack.add_message(CHANNEL, f"<@{BOT_USER_ID}> {ARMED_FORCES}", user=REPORTER)
    event = _message_event(
        CHANNEL, f"<@{BOT_USER_ID}> {ARMED_FORCES}", ts, None, type="app_mention"
    )
    assert workspace.sender.event(event, event_id="Ev0REPEAT").status == 200
    retry = workspace.sender.event(event, event_id="Ev0REPEAT", retry_num=1)
    assert retry.status == 200, "a retry is acknowledged, or Slack would keep retrying"
    workspace.sentinel()

    assert len(workspace.posts(CHANNEL)) == 1


def test_events_are_acknowledged_before_the_answer_is_posted(workspace: Workspace) -> None:
    workspace.slack.hold("chat.postMessage")
    try:
        workspace.mention(ARMED_FORCES)  # asserts HTTP 200 while the answer cannot be posted
        workspace.slack.wait_for("chat.postMessage")
        assert workspace.slack.messages(CHANNEL)[-1]["user"] == REPORTER, "not posted yet"
    finally:
        workspace.slack.release("chat.postMessage")
    workspace.slack.wait_for("reactions.remove")
    assert workspace.slack.messages(CHANNEL)[-1]["user"] == BOT_USER_ID


def test_an_empty_mention_gets_a_hint(workspace: Workspace) -> None:
    workspace.mention("")
    post = workspace.wait_for_post(channel=CHANNEL)
    assert "Ask me a question about the articles" in post.args["text"]


# -- the slash command, sharing and feedback ------------------------------------------------


def _ask_privately(workspace: Workspace, question: str) -> Call:
    reply = workspace.sender.command(question, response_url=workspace.slack.response_url("ask"))
    assert reply.status == 200
    assert "Searching the sources" in reply.json()["text"]
    return workspace.slack.wait_for("response_url", where=lambda c: c.path == "/response/ask")[0]


def test_ask_answers_privately_with_a_share_button(workspace: Workspace) -> None:
    private = _ask_privately(workspace, ARMED_FORCES)

    assert private.args["response_type"] == "ephemeral"
    blocks = private.args["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": ARMED_FORCES, "emoji": False},
    }
    assert "600,000" in private.args["text"]
    assert citation_sections(private)
    controls = action_elements(blocks)
    assert controls["share_answer"]["text"]["text"] == "Share in channel"
    assert workspace.posts() == [], "nothing public until shared"


def test_ask_without_a_question_explains_usage(workspace: Workspace) -> None:
    reply = workspace.sender.command("  ", response_url=workspace.slack.response_url())
    assert reply.status == 200
    assert reply.json() == {
        "text": "Usage: `/ask your question about the articles`. Only you see the answer.",
        "response_type": "ephemeral",
    }


def test_ask_failures_come_back_privately_as_warnings(workspace: Workspace) -> None:
    reply = workspace.sender.command("why? " * 500, response_url=workspace.slack.response_url())
    assert reply.status == 200
    warning = workspace.slack.wait_for("response_url")[0]
    assert warning.args["response_type"] == "ephemeral"
    assert warning.args["text"].startswith(":warning: the question is too long")


def test_share_posts_the_answer_publicly(workspace: Workspace) -> None:
    private = _ask_privately(workspace, ARMED_FORCES)
    share = action_elements(private.args["blocks"])["share_answer"]

    reply = workspace.sender.block_action(
        {**share, "block_id": "answer", "type": "button"},
        response_url=workspace.slack.response_url("share"),
        ephemeral=True,
    )
    assert reply.status == 200
    calls = workspace.slack.wait_for("response_url", 2, where=lambda c: c.path == "/response/share")

    public, cleanup = calls
    assert public.args["response_type"] == "in_channel"
    assert public.args["replace_original"] is False
    assert "600,000" in public.args["text"]
    assert citation_sections(public) == citation_sections(private)
    assert "share_answer" not in action_elements(public.args["blocks"])
    assert "Shared by editor" in visible_text(public)
    assert cleanup.args["delete_original"] is True


def test_feedback_is_recorded_with_the_answer(workspace: Workspace) -> None:
    workspace.mention(ARMED_FORCES)
    post = workspace.wait_for_post(channel=CHANNEL)
    controls = action_elements(blocks_of(post))

    helpful = controls["feedback_helpful"]
    workspace.sender.block_action(
        {**helpful, "block_id": "answer", "type": "button"},
        response_url=workspace.slack.response_url("up"),
    )
    not_helpful = controls["feedback_not_helpful"]
    incomplete = next(o for o in not_helpful["options"] if o["value"].endswith(":incomplete"))
    workspace.sender.block_action(
        {
            "action_id": "feedback_not_helpful",
            "block_id": "answer",
            "type": "static_select",
            "selected_option": incomplete,
        },
        response_url=workspace.slack.response_url("down"),
    )
    thanks = workspace.slack.wait_for("response_url", 2)

    assert all(t.args["response_type"] == "ephemeral" for t in thanks)
    assert all("feedback was recorded" in t.args["text"] for t in thanks)
    records = FeedbackStore(workspace.settings.feedback_db).all()
    assert [(r["channel"], r["rating"], r["reason"]) for r in records] == [
        ("slack", "up", None),
        ("slack", "down", "incomplete"),
    ]
    for record in records:
        assert record["question"] == ARMED_FORCES
        assert "600,000" in record["answer"]
        assert record["citations"] and record["citations"][0]["quote"]
        assert record["user"] == "U0EDITOR"
        assert record["backend"] == "extractive"
    assert all(len(o["value"]) <= 150 for o in not_helpful["options"])
    assert len(helpful["value"]) <= 2000


def test_feedback_on_an_unknown_answer_is_explained_not_stored(workspace: Workspace) -> None:
    workspace.sender.block_action(
        {"action_id": "feedback_helpful", "block_id": "b", "type": "button", "value": "nope"},
        response_url=workspace.slack.response_url("gone"),
    )
    reply = workspace.slack.wait_for("response_url")[0]
    assert reply.args["text"].startswith(":warning:")
    assert FeedbackStore(workspace.settings.feedback_db).all() == []


# -- the assistant side panel -------------------------------------------------------------


def test_the_side_panel_suggests_prompts_shows_status_and_titles_the_thread(
    workspace: Workspace, assistant: Assistant
) -> None:
    slack = workspace.slack
    thread = slack.add_message(DM, "New chat", user=REPORTER, subtype="assistant_app_thread")
    started = {
        "type": "assistant_thread_started",
        "assistant_thread": {
            "user_id": REPORTER,
            "context": {"channel_id": CHANNEL, "team_id": "T0NEWS", "enterprise_id": None},
            "channel_id": DM,
            "thread_ts": thread,
        },
        "event_ts": thread,
    }
    assert workspace.sender.event(started).status == 200
    prompts = slack.wait_for("assistant.threads.setSuggestedPrompts")[0]
    assert prompts.args["channel_id"] == DM and prompts.args["thread_ts"] == thread
    suggested = [p["message"] for p in prompts.args["prompts"]]
    assert 1 <= len(suggested) <= 4, "drawn from the articles"
    assert not any(assistant.ask(question).refused for question in suggested), "all answerable"
    greeting = workspace.wait_for_post(channel=DM, thread_ts=thread)
    assert "articles" in greeting.args["text"]

    workspace.say(PLANT, channel=DM, channel_type="im", thread_ts=thread)
    answer = workspace.wait_for_post(2, channel=DM, thread_ts=thread)
    status = slack.calls_to("assistant.threads.setStatus")[0]
    assert "searching the sources" in status.args["status"]
    assert slack.calls_to("assistant.threads.setTitle")[0].args["title"] == PLANT
    assert "Zaporizhzhia" in answer.args["text"]

    workspace.say("Who would share it?", channel=DM, channel_type="im", thread_ts=thread)
    follow_up = workspace.wait_for_post(3, channel=DM, thread_ts=thread)
    assert "Zaporizhzhia" in follow_up.args["text"], "the thread is the history"
    assert len(slack.calls_to("assistant.threads.setStatus")) == 2
    assert len(slack.calls_to("assistant.threads.setTitle")) == 1, "titled once, by question one"


def test_configured_prompts_are_suggested_as_given(
    assistant: Assistant, settings: Settings, slack: FakeSlackAPI
) -> None:
    prompts = ["Who drafted the plan?", "What happens to sanctions?"]
    for workspace in _serve(assistant, settings, slack, suggested_prompts=prompts):
        thread = slack.add_message(DM, "New chat", user=REPORTER, subtype="assistant_app_thread")
        started = {
            "type": "assistant_thread_started",
            "assistant_thread": {"user_id": REPORTER, "channel_id": DM, "thread_ts": thread},
        }
        workspace.sender.event(started)
        call = slack.wait_for("assistant.threads.setSuggestedPrompts")[0]
    assert call.args["prompts"] == [{"title": p, "message": p} for p in prompts]


# -- safety -------------------------------------------------------------------------------


def test_unsigned_wrongly_signed_and_stale_requests_are_rejected(workspace: Workspace) -> None:
    sender = workspace.sender
    body = json.dumps(
        {
            "type": "event_callback",
            "event_id": "Ev0FORGED",
            "team_id": "T0NEWS",
            "event": _message_event(DM, ARMED_FORCES, "1.000001", None, channel_type="im"),
        }
    )
    now = int(time.time())
    stale = now - 6 * 60
    rejected = [
        sender.post(body, "application/json", signed=False),
        sender.post(body, "application/json", signature=sign("wrong-secret", str(now), body)),
        sender.post(body, "application/json", signature="v0=" + "0" * 64),
        sender.post(body, "application/json", timestamp=stale),  # validly signed, but old
    ]
    assert [r.status for r in rejected] == [401, 401, 401, 401]

    challenge = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"})
    assert sender.post(challenge, "application/json").json() == {"challenge": "c-123"}
    workspace.sentinel()
    assert workspace.posts(DM) == [], "the forged event was never answered"


def test_a_failure_posts_a_short_warning_and_logs_the_cause(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    workspace.slack.fail("chat.postMessage", "invalid_blocks")
    with caplog.at_level(logging.INFO, logger="assistant.slack"):
        ts = workspace.mention(ARMED_FORCES)
        warning = workspace.wait_for_post(2, channel=CHANNEL, thread_ts=ts)

    assert warning.args["text"].startswith(":warning: ")
    assert "blocks" not in warning.args or not warning.args["blocks"]
    assert "Traceback" not in warning.args["text"] and "invalid_blocks" not in warning.args["text"]
    assert any("invalid_blocks" in r.getMessage() for r in caplog.records)


def test_a_failing_thread_lookup_posts_a_warning(workspace: Workspace) -> None:
    root = workspace.mention(PLANT)
    workspace.wait_for_post(channel=CHANNEL, thread_ts=root)
    workspace.slack.fail("conversations.replies", "ratelimited", times=5)
    workspace.say("Who would share it?", thread_ts=root)
    warning = workspace.wait_for_post(2, channel=CHANNEL, thread_ts=root)
    assert warning.args["text"].startswith(":warning: Sorry, I couldn't answer that")


def test_an_invalid_question_gets_the_engines_reason(workspace: Workspace) -> None:
    workspace.mention("why? " * 500)
    post = workspace.wait_for_post(channel=CHANNEL)
    assert post.args["text"].startswith(":warning: the question is too long")


PINGS = re.compile(r"<[!@#]|<https?:|(?<![\w@])@(here|channel|everyone)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def harbour_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Articles full of Slack markup: mentions, broadcasts, disguised links."""
    from assistant.engine import ingest
    from assistant.settings import load_settings

    root = tmp_path_factory.mktemp("harbour")
    sources = root / "sources"
    sources.mkdir()
    (sources / "2025-01-02-harbour.md").write_text(
        "---\ntitle: Council <!channel> backs the harbour bridge & more\ndate: 2025-01-02\n---\n"
        "The city council approved the harbour bridge budget of 40 million euros <!channel> "
        "on Tuesday. Officials said @here that <@U12345> will lead the harbour bridge project, "
        "as <https://evil.example|the plan> and <#C999|general> show <!everyone>."
        "\n\nThe harbour bridge will open in 2027, according to the council.\n",
        encoding="utf-8",
    )
    data = root / "data"
    ingest(load_settings(data_dir=data, sources=[sources]), [sources])
    return data


def test_answers_never_ping_anyone(harbour_index: Path, slack: FakeSlackAPI) -> None:
    from assistant.settings import load_settings

    settings = load_settings(data_dir=harbour_index)
    for workspace in _serve(Assistant.open(settings), settings, slack):
        workspace.mention("<!here> @channel who will lead the harbour bridge project?")
        post = workspace.wait_for_post(channel=CHANNEL)
        private = _ask_privately(workspace, "<!channel> <@U777> who leads the bridge project?")
        thread = slack.next_ts()
        workspace.say(
            "<!everyone> who will lead the harbour bridge project?",
            channel=DM,
            channel_type="im",
            thread_ts=thread,
        )
        in_panel = workspace.wait_for_post(channel=DM, thread_ts=thread)

    for answer in (post, in_panel):
        assert "U12345" in answer.args["text"], "the source's markup reached the answer..."
        assert "&lt;@U12345&gt;" in answer.args["text"], "...escaped"
        assert "@\u2060here" in answer.args["text"]
        assert "&lt;https://evil.example|the plan&gt;" in answer.args["text"]
    outgoing = [c for c in slack.calls if c.method not in ("auth.test", "conversations.replies")]
    for call in outgoing:
        for text in [str(call.args.get("text") or ""), str(call.args.get("title") or "")]:
            text += "\n".join(texts_of(call.args.get("blocks") or []))
            assert not PINGS.search(text), (call.method, text)
    header = private.args["blocks"][0]["text"]["text"]
    assert header.startswith("@\u2060channel @U777 who leads"), header
    titles = [c.args["title"] for c in slack.calls_to("assistant.threads.setTitle")]
    assert titles == ["@\u2060everyone who will lead the harbour bridge project?"]


def test_a_question_answered_only_nearby_gets_the_closest_passages_labelled(
    workspace: Workspace,
) -> None:
    workspace.mention("For how long would the front lines in Kherson stay frozen?")
    post = workspace.wait_for_post(channel=CHANNEL)

    assert "don't answer this directly" in post.args["text"]
    shown = visible_text(post)
    assert "Closest passages" in shown and "Sources" not in shown
    assert "Kherson" in shown.split("Closest passages", 1)[1]
