"""Dates (issue 13): where an article's date comes from, time in questions, time in answers.

The acceptance tests write a small dated corpus, one article per date source (front matter,
file name, dateline, file modification time), and ask through the real CLI.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from assistant.corpus import parse_article
from assistant.dates import format_day, weekday_dates
from assistant.when import anchor_day, parse_time
from tests.fakes.openai_server import FakeOpenAIServer
from tests.test_cli import run

LIBRARY_DAY = dt.datetime(2025, 11, 20, 9, 30, tzinfo=dt.UTC)  # the mtime-dated article


def write_dated_corpus(root: Path) -> Path:
    """Four articles, one per date source; the newest is the dateline's, 3 December 2025."""
    corpus = root / "dated"
    corpus.mkdir()
    (corpus / "storm.md").write_text(
        "---\ntitle: Storm Bert floods Porthaven\ndate: 2025-12-01\nauthor: Ana Lopez\n"
        "url: https://news.example.org/storm\n---\n\n"
        "Storm Bert made landfall on Sunday night, flooding 200 homes in Porthaven.\n\n"
        "Emergency crews pumped water from the high street through the night.\n",
        encoding="utf-8",
    )
    (corpus / "2025-11-24-council-budget.md").write_text(
        "# Council approves harbour budget\n\n"
        "The town council approved a budget of 4 million pounds for the harbour wall.\n",
        encoding="utf-8",
    )
    (corpus / "ferry.txt").write_text(
        "Ferry service resumes after the storm\n\nPublished 3 December 2025\n\n"
        "The ferry between Porthaven and Isle Marra resumed service on Wednesday.\n\n"
        "The number of flooded homes has risen to 260, the council said.\n",
        encoding="utf-8",
    )
    library = corpus / "library.txt"
    library.write_text(
        "Library reopens\n\nThe town library reopened after repairs to its leaking roof.\n",
        encoding="utf-8",
    )
    stamp = LIBRARY_DAY.timestamp()
    os.utime(library, (stamp, stamp))
    return corpus


# -- dates as data ------------------------------------------------------------------------------


def test_every_date_source_is_found_and_marked(tmp_path: Path) -> None:
    from assistant.corpus import load_corpus

    loaded = load_corpus([write_dated_corpus(tmp_path)])
    by_name = {Path(a.source).name: a for a in loaded.articles}
    found = {
        name: (a.published.day.isoformat(), a.published.source, a.date)
        for name, a in by_name.items()
        if a.published
    }
    assert found == {
        "storm.md": ("2025-12-01", "front_matter", "2025-12-01"),
        "2025-11-24-council-budget.md": ("2025-11-24", "file_name", "2025-11-24"),
        "ferry.txt": ("2025-12-03", "dateline", "3 December 2025"),
        "library.txt": ("2025-11-20", "mtime", ""),
    }
    meta = by_name["storm.md"].metadata()
    assert meta["published"] == "2025-12-01" and meta["date_source"] == "front_matter"
    assert meta["published_ts"] == int(dt.datetime(2025, 12, 1, tzinfo=dt.UTC).timestamp())
    assert (meta["author"], meta["url"]) == ("Ana Lopez", "https://news.example.org/storm")
    assert by_name["library.txt"].metadata()["published_ts"] == int(LIBRARY_DAY.timestamp())


def test_front_matter_published_key_and_words() -> None:
    raw = b"---\ntitle: T\npublished: 2 December 2025\n---\nThe council met again today.\n"
    article = parse_article(raw, source="x.md")
    assert article.published is not None
    assert article.published.day == dt.date(2025, 12, 2) and article.date == "2 December 2025"
    jekyll = b"---\ntitle: T\npublished: false\n---\nNo date here at all, none.\n"
    assert parse_article(jekyll, source="y.md").published is None


def test_a_date_in_the_story_is_not_a_dateline() -> None:
    raw = (
        b"A long look back\n\nWhen Russia invaded on 24 February 2022, few expected the war to "
        b"last; this long opening line goes on well past the point where a dateline could be.\n"
    )
    assert parse_article(raw, source="z.txt").published is None


# -- time in questions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "rest", "start", "end", "latest"),
    [
        ("What happened on 2 December 2025?", "What happened?", "2025-12-02", "2025-12-02", False),
        ("What happened this week?", "What happened?", "2025-12-01", "2025-12-07", False),
        ("What happened yesterday?", "What happened?", "2025-12-02", "2025-12-02", False),
        ("What happened in November?", "What happened?", "2025-11-01", "2025-11-30", False),
        ("What has happened since Monday?", "What has happened?", "2025-12-01", None, False),
        ("Anything before 1 December?", "Anything?", None, "2025-11-30", False),
        ("What is the latest on the storm?", "What is on the storm?", None, None, True),
        ("Which story is newest?", "Which story is?", None, None, True),
    ],
)
def test_time_expressions(
    question: str, rest: str, start: str | None, end: str | None, latest: bool
) -> None:
    asked = parse_time(question, anchor=dt.date(2025, 12, 3))
    assert asked.text == rest and asked.wants_latest is latest
    got = (asked.range.start, asked.range.end) if asked.range else (None, None)
    assert got == tuple(dt.date.fromisoformat(d) if d else None for d in (start, end))


@pytest.mark.parametrize(
    "question",
    ["What did May say?", "Would elections come within 100 days?", "What is happening now?"],
)
def test_no_time_expression(question: str) -> None:
    asked = parse_time(question, anchor=dt.date(2025, 12, 3))
    assert not asked.asks_time and asked.text == question


def test_relative_days_resolve_against_today_or_the_newest_article() -> None:
    today = dt.date(2026, 3, 10)
    assert anchor_day(today, dt.date(2026, 3, 9)) == today  # a current corpus
    assert anchor_day(today, dt.date(2025, 12, 3)) == dt.date(2025, 12, 3)  # an archive


def test_weekdays_resolve_on_or_before_the_article_date() -> None:
    monday = dt.date(2025, 12, 1)
    (sunday,) = weekday_dates("The storm made landfall on Sunday night.", monday)
    assert sunday.day == dt.date(2025, 11, 30) and "derived" in sunday.note()
    (same,) = weekday_dates("It hit on Monday.", monday)
    assert same.day == monday
    assert weekday_dates("It hit on Sunday 30 November.", monday) == []
    assert format_day(monday) == "1 December 2025"


# -- acceptance: through the CLI, offline --------------------------------------------------------


@pytest.fixture
def dated_env(tmp_path: Path) -> dict[str, str]:
    corpus = write_dated_corpus(tmp_path)
    env = {
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_SOURCES": json.dumps([str(corpus)]),
        "ASSISTANT_LLM_ENABLED": "false",
    }
    result = run("ingest", str(corpus), env=env)
    assert result.returncode == 0, result.stderr
    return env


def _ask(env: dict[str, str], question: str) -> dict:
    result = run("ask", question, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _cited(answer: dict) -> list[str]:
    return [Path(c["source"]).name for c in answer["citations"]]


def test_latest_this_week_and_named_dates_answer_from_the_right_article(
    dated_env: dict[str, str],
) -> None:
    latest = _ask(dated_env, "What is the latest news?")
    assert _cited(latest) == ["ferry.txt"] and "resumed service" in latest["answer"]
    week = _ask(dated_env, "What happened this week?")  # the week of 3 December 2025
    assert _cited(week) == ["ferry.txt", "storm.md"]
    assert any(n.startswith("As of 3 December 2025") for n in week["notices"])
    assert _cited(_ask(dated_env, "What happened on 1 December 2025?")) == ["storm.md"]
    assert _cited(_ask(dated_env, "What happened on 24 November 2025?")) == [
        "2025-11-24-council-budget.md"
    ]
    library = _ask(dated_env, "What happened on 20 November 2025?")
    assert _cited(library) == ["library.txt"]
    empty = _ask(dated_env, "What happened on 10 December 2025?")
    assert empty["refused"] and empty["citations"] == []
    assert "No article is dated 10 December 2025" in " ".join(empty["notices"])


def test_latest_ranks_the_newest_report_of_a_story_first(dated_env: dict[str, str]) -> None:
    answer = _ask(dated_env, "What is the latest number of flooded homes?")
    assert _cited(answer)[0] == "ferry.txt" and "260" in answer["answer"]


def test_when_question_gets_the_weekday_date_as_a_separate_note(
    dated_env: dict[str, str],
) -> None:
    result = run("ask", "When did Storm Bert make landfall?", env=dated_env)
    assert result.returncode == 0, result.stderr
    answer, _, rest = result.stdout.partition("\n")
    assert "on Sunday night" in answer and "30 November" not in answer  # the quote is verbatim
    assert "Sunday, 30 November 2025, derived from the article's date" in rest
    data = _ask(dated_env, "When did Storm Bert make landfall?")
    citation = data["citations"][0]
    source = Path(citation["source"])
    original = source.read_text(encoding="utf-8")
    assert original[citation["start"] : citation["end"]] == citation["quote"]


def test_no_time_expression_leaves_retrieval_alone(dated_env: dict[str, str]) -> None:
    answer = _ask(dated_env, "How much did the council approve for the harbour wall?")
    assert _cited(answer) == ["2025-11-24-council-budget.md"] and answer["notices"] == []


# -- with a model: the prompt carries the dates --------------------------------------------------


def test_the_prompt_shows_each_passage_date_and_as_of_passes_the_check(
    dated_env: dict[str, str], fake_openai: FakeOpenAIServer
) -> None:
    fake_openai.reply(
        "As of 3 December 2025, the number of flooded homes has risen to 260 "
        '[1: "The number of flooded homes has risen to 260"].'
    )
    env = {
        **dated_env,
        "ASSISTANT_LLM_ENABLED": "true",
        "OPENAI_BASE_URL": fake_openai.base_url,
        "OPENAI_API_KEY": "test",
        "ASSISTANT_LLM_VERIFY": "false",
    }
    data = _ask(env, "What is the latest number of flooded homes?")
    prompt = fake_openai.chat_requests[-1]["messages"][-1]["content"]
    assert "(published 3 December 2025)" in prompt
    assert "(published 1 December 2025)" in prompt
    assert "as of" in prompt.lower()
    assert data["answer"].startswith("As of 3 December 2025,") and not data["refused"]
    assert "260" in data["citations"][0]["quote"]


def test_today_in_a_question_about_a_topic_asks_how_things_stand(
    dated_env: dict[str, str],
) -> None:
    """ "Today" with a topic is the present of that topic, not a publication date: the
    budget from an older article answers; "What happened today?" still reads the newest."""
    budget = _ask(dated_env, "What is the budget for the harbour wall today?")
    assert not budget["refused"], budget["answer"]
    assert _cited(budget)[0] == "2025-11-24-council-budget.md"
    assert _cited(_ask(dated_env, "What happened today?")) == ["ferry.txt"]


def test_a_time_the_story_tells_of_answers_when_that_days_articles_do_not(
    tmp_path: Path,
) -> None:
    """ "How much cargo did the harbour handle last January?": January's article (an ice
    rink) does not say; November's report does ("last January", read from its own date).
    A sentence that states another time ("In March ...") does not answer for January."""
    corpus = tmp_path / "port"
    corpus.mkdir()
    (corpus / "2025-01-20-ice-rink.md").write_text(
        "# Ice rink opens\n\nThe new ice rink opened on the river bank, the council said.\n",
        encoding="utf-8",
    )
    (corpus / "2025-11-24-harbour.md").write_text(
        "# Harbour traffic report\n\n"
        "The harbour handled 1.2 million tonnes of cargo last January, up from 900,000 "
        "tonnes a year earlier.\n\n"
        "In March the port authority hired forty new harbour pilots.\n",
        encoding="utf-8",
    )
    env = {
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_SOURCES": json.dumps([str(corpus)]),
        "ASSISTANT_LLM_ENABLED": "false",
    }
    assert run("ingest", str(corpus), env=env).returncode == 0
    cargo = _ask(env, "How much cargo did the harbour handle last January?")
    assert not cargo["refused"], cargo["answer"]
    assert _cited(cargo)[0] == "2025-11-24-harbour.md" and "1.2 million" in cargo["answer"]
    pilots = _ask(env, "How many harbour pilots did the port authority hire last January?")
    assert pilots["refused"], pilots["answer"]
    assert "forty" not in pilots["answer"].split("closest passages")[0]


def test_every_span_of_days_a_sentence_states_is_read() -> None:
    from assistant.when import ranges_in

    sentence = (
        "Ukraine's military was estimated last January at 880,000 active personnel, up from "
        "250,000 at the start of the full-scale invasion in February 2022."
    )
    found = ranges_in(sentence, anchor=dt.date(2025, 11, 21))
    assert [(r.start, r.end) for r in found] == [
        (dt.date(2025, 1, 1), dt.date(2025, 1, 31)),
        (dt.date(2022, 2, 1), dt.date(2022, 2, 28)),
    ]
    assert ranges_in("Elections would be held within 100 days.", anchor=dt.date(2025, 11, 21)) == []
