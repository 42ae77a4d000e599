"""What newsroom staff see in Slack, through signed requests and the local fake Slack:
sources that link to the article's own address (never a server path), and side-panel
prompts that are real questions about the newest articles, found again after an ingest."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.engine import Assistant, ingest
from assistant.settings import load_settings
from tests.conftest import SOURCES
from tests.fakes.slack_api import FakeSlackAPI
from tests.test_slack_app import CHANNEL, DM, REPORTER, _serve, citation_sections
from tests.test_suggestions import TOPIC_TEMPLATE

TRAM_URL = "https://news.example.com/2025/12/01/tram?from=rss&lang=en"
TRAM = (
    "---\ntitle: City opens its first tram line\ndate: 2025-12-01\nauthor: Jane Roe\n"
    f"url: {TRAM_URL}\n---\n\n"
    "The city opened its first tram line on Monday. The line has twelve stops and cost "
    "40 million euros, the mayor said. Riders praised the quiet carriages.\n"
)
FERRY = (
    "---\ntitle: Night ferry returns\nurl: 'javascript:alert(1)'\n---\n\n"
    "The harbour authority restored the night ferry on Friday after a two-year pause.\n"
)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as fake:
        yield fake


def _index(built_index: Path, tmp_path: Path, *articles: tuple[str, str]) -> Any:
    data = tmp_path / "data"
    shutil.copytree(built_index, data)
    settings = load_settings(data_dir=data, sources=[SOURCES])
    if articles:
        _ingest(settings, tmp_path / "newsroom", *articles)
    return settings


def _ingest(settings: Any, folder: Path, *articles: tuple[str, str]) -> None:
    folder.mkdir(exist_ok=True)
    for name, text in articles:
        (folder / name).write_text(text, encoding="utf-8")
    ingest(settings, [folder])


def test_a_source_links_to_the_articles_own_address(
    built_index: Path, tmp_path: Path, fake_slack: FakeSlackAPI
) -> None:
    settings = _index(
        built_index, tmp_path, ("2025-12-01-tram.md", TRAM), ("2025-12-02-ferry.md", FERRY)
    )
    for workspace in _serve(Assistant.open(settings), settings, fake_slack):
        workspace.mention("How many stops does the new tram line have?")
        tram = workspace.wait_for_post(channel=CHANNEL)
        workspace.mention("When was the night ferry restored?")
        ferry = workspace.wait_for_post(2, channel=CHANNEL)

    source = citation_sections(tram)[0]
    link = TRAM_URL.replace("&", "&amp;")
    heading, where, quote = source.split("\n", 2)
    assert heading == f"*[1]* *<{link}|City opens its first tram line>* · Jane Roe · 2025-12-01"
    assert where == f"<{link}|news.example.com/2025/12/01/tram?from=rss&amp;lang=en>"
    assert quote.startswith(">") and "twelve stops" in quote
    assert tram.args["unfurl_links"] is False

    ferry_source = citation_sections(ferry)[0]
    assert "<javascript" not in ferry_source and "alert" not in ferry_source
    assert ferry_source.split("\n")[1] == "2025-12-02-ferry.md"  # no url: the file's path
    for post in (tram, ferry):
        text = " ".join(citation_sections(post))
        assert str(tmp_path) not in text and "index/sources" not in text


def _side_panel_prompts(workspace: Any, slack: FakeSlackAPI, count: int) -> list[str]:
    thread = slack.add_message(DM, "New chat", user=REPORTER, subtype="assistant_app_thread")
    started = {
        "type": "assistant_thread_started",
        "assistant_thread": {"user_id": REPORTER, "channel_id": DM, "thread_ts": thread},
        "event_ts": thread,
    }
    assert workspace.sender.event(started).status == 200
    call = slack.wait_for("assistant.threads.setSuggestedPrompts", count)[count - 1]
    return [p["message"] for p in call.args["prompts"]]


def test_side_panel_prompts_are_questions_about_the_newest_articles(
    built_index: Path, tmp_path: Path, fake_slack: FakeSlackAPI
) -> None:
    settings = _index(built_index, tmp_path)
    engine = Assistant.open(settings)
    for workspace in _serve(engine, settings, fake_slack):
        before = _side_panel_prompts(workspace, fake_slack, 1)
        _ingest(settings, tmp_path / "newsroom", ("2025-12-01-tram.md", TRAM))
        after = _side_panel_prompts(workspace, fake_slack, 2)

    assert 1 <= len(before) <= 4 and 1 <= len(after) <= 4
    assert not any(re.search(r"\b(tram|city)\b", q) for q in before)
    assert after[0] == "What did the city open?", after  # the newest article's, first
    for question in before + after:
        assert not TOPIC_TEMPLATE.search(question) and "articles say" not in question
        assert not Assistant.open(settings).ask(question).refused, question
