"""Follow-up and starter questions: real questions drawn from the articles (the question a
sentence answers, the headline asked), from the newest articles, kept only when answered."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from assistant.answer import Answer, Citation
from assistant.corpus import load_corpus
from assistant.engine import Assistant, ingest
from assistant.phrasing import headline_question, names_in, question_for
from assistant.settings import load_settings
from assistant.store import ChunkStore
from assistant.suggestions import (
    ArticleText,
    follow_up_candidates,
    keep_answerable,
    newest_articles,
    starter_candidates,
    suggest_follow_ups,
    suggest_starters,
)
from assistant.text import split_sentences, squash
from tests.conftest import SOURCES

ARMED_FORCES = "What limit does the draft set on Ukraine's armed forces?"
ZAPORIZHZHIA = "What does the draft say about the Zaporizhzhia nuclear power plant?"
TRAM = (
    "---\ntitle: City opens its first tram line\ndate: 2025-12-01\nauthor: Jane Roe\n"
    "url: https://news.example.com/2025/12/01/tram\n---\n\n"
    "The city opened its first tram line on Monday. The line has twelve stops and cost "
    "40 million euros, the mayor said. Riders praised the quiet carriages.\n"
)
FERRY = (
    "Night ferry returns\n\nThe harbour authority restored the night ferry on Friday. "
    "The night ferry will carry 300 passengers on each crossing.\n"
)
# What the old templates offered: a lone capitalised word as the whole topic.
TOPIC_TEMPLATE = re.compile(r"(?:say|about) (?:the )?[A-Z][\w'’-]*\?$")


@pytest.mark.parametrize(
    ("sentence", "question"),
    [
        (
            "The size of the Ukrainian Armed Forces will be limited to 600,000 personnel.",
            "What will the size of the Ukrainian Armed Forces be limited to?",
        ),
        ("The line has twelve stops and cost 40 million euros.",
         "How many stops does the line have?"),
        ("The city opened its first tram line on Monday.", "What did the city open?"),
        ("The tram line cost 40 million euros.", "How much did the tram line cost?"),
        ("The new mayor met Steve Witkoff in Miami.", "Who did the new mayor meet?"),
        ("The museum in Venmor will return 35 artefacts to Bangladesh.",
         "How many artefacts will the museum in Venmor return?"),
        ("The story was updated on Friday with comments.", "When was the story updated?"),
        ("Similar measures were tried in Bulgaria in 2005.", "Where were similar measures tried?"),
        ("The figures were published by the teachers' union.",
         "Who were the figures published by?"),
        ("Ukraine's armed forces were estimated at 880,000 active personnel last January.",
         "What were Ukraine's armed forces estimated at?"),
        ("The draft proposes that $100bn of frozen Russian assets should be invested.",
         "What does the draft propose about frozen Russian assets?"),
        ("Several commentators have pointed out that the plan does not require limits.",
         "What have several commentators pointed out?"),
        ("Under the draft, the frozen assets would go to a US-Russian investment vehicle.",
         "What would the frozen assets go to?"),
        ('"The size of the armed forces will be limited to 600,000 personnel."',
         "What will the size of the armed forces be limited to?"),
        ("Article 5 is the alliance promise that an attack on one member is an attack on all.",
         "What is Article 5?"),
    ],
)  # fmt: skip
def test_a_sentence_gives_the_question_it_answers(sentence: str, question: str) -> None:
    names = frozenset({"Ukraine", "Ukrainian", "Armed", "Forces", "Article"})
    asked = question_for(sentence, names)
    assert asked is not None and asked.question == question


@pytest.mark.parametrize(
    "sentence",
    [
        "It might also be too big a number for Russia to accept.",  # a pronoun
        "Kyiv would want more than a vague promise.",  # a lone name as the subject
        "Five would be too many.",
        "Critics say the plan does little for people outside the city.",  # whose words
        "The announcement came after 11 weeks of negotiations.",  # a circumstance
        "Cutting to 600,000 might sound like a peacetime ceiling.",  # a clause as subject
        "The exhibition runs until April and includes 17 works.",  # a verb in the subject
        "Russian forces will not enter this demilitarised zone.",  # a negation
        "The rest would flow into a US-Russian investment vehicle.",  # the rest of what?
        "Tax receipts came in £604m below forecasts.",
        "What else is known about the text?",
    ],
)
def test_a_sentence_too_unclear_to_ask_about_gives_none(sentence: str) -> None:
    assert question_for(sentence, frozenset({"Kyiv", "Russia", "Russian"})) is None


@pytest.mark.parametrize(
    ("title", "question"),
    [
        (
            "Update: What we know about leaked US draft plan to end Russia's Ukraine war",
            "What do we know about the leaked US draft plan to end Russia's Ukraine war?",
        ),
        (
            "Leaked US-Russia plan: Donbas handover, 600k limit",
            "What do we know about the leaked US-Russia plan?",
        ),
        ("City opens its first tram line", "What did the city open?"),
        ("Berkar Telecom to cut 763 jobs after profits fall",
         "How many jobs will Berkar Telecom cut?"),
        ("Data breach at Corkar Logistics exposes 312,055 customers",
         "How many customers did the data breach at Corkar Logistics expose?"),
        ("Who pays for the grid upgrade?", "Who pays for the grid upgrade?"),
        ("Doctors' strike: what patients need to know",
         "What do we know about the doctors' strike?"),
    ],
)  # fmt: skip
def test_a_headline_is_asked_as_a_question(title: str, question: str) -> None:
    names = frozenset({"Berkar", "Telecom", "Corkar", "Logistics", "US-Russia", "Donbas"})
    common = frozenset({"city", "data", "leaked"})
    asked = headline_question(title, names, common)
    assert asked is not None and asked.question == question


def test_no_suggestion_is_a_template_around_a_lone_name(tmp_path: Path) -> None:
    """Every question the bundled articles and a newsroom's own give, checked or not."""
    folder = tmp_path / "newsroom"
    folder.mkdir()
    (folder / "tram.md").write_text(TRAM, encoding="utf-8")
    (folder / "ferry.txt").write_text(FERRY + "Green said Five would be enough.\n", "utf-8")
    articles = load_corpus([SOURCES, folder]).articles
    names = names_in([a.body for a in articles], [a.title for a in articles])
    asked = [headline_question(a.title, names) for a in articles]
    asked += [question_for(s, names) for a in articles for s in split_sentences(a.body)]
    found = [a for a in asked if a is not None]
    assert len(found) >= 20
    for question in found:
        assert len(question.subject.split()) >= 2, question
        assert not TOPIC_TEMPLATE.search(question.question), question
        assert question.question.endswith("?") and question.question[:1].isupper()
    texts = [ArticleText(a.key, a.title, tuple(split_sentences(a.body))) for a in articles]
    for question in starter_candidates(texts):
        assert not TOPIC_TEMPLATE.search(question), question
        assert "articles say" not in question


def test_follow_up_candidates_come_from_around_the_answer_and_skip_what_was_asked(
    assistant: Assistant,
) -> None:
    answer = assistant.ask(ZAPORIZHZHIA)
    candidates = follow_up_candidates(answer)
    assert candidates, "the passages around the answer give questions"
    assert all(squash(q) != squash(ZAPORIZHZHIA) for q in candidates)
    assert not any(TOPIC_TEMPLATE.search(q) or "articles say" in q for q in candidates)


def test_follow_ups_are_answered_by_the_engine_with_something_new(assistant: Assistant) -> None:
    answer = assistant.ask(ARMED_FORCES)
    suggestions = suggest_follow_ups(assistant, answer)
    assert 1 <= len(suggestions) <= 3
    history = [
        {"role": "user", "content": ARMED_FORCES},
        {"role": "assistant", "content": answer.text},
    ]
    shown = {squash(c.quote) for c in answer.citations}
    for question in suggestions:
        follow_up = assistant.ask(question, history)
        assert not follow_up.refused, question
        assert {squash(c.quote) for c in follow_up.citations} - shown, question


def test_after_a_decline_the_suggestions_are_answerable(assistant: Assistant) -> None:
    declined = assistant.ask("What is the capital of Australia?")
    assert declined.refused
    suggestions = suggest_follow_ups(assistant, declined)
    assert suggestions
    for question in suggestions:
        assert not assistant.ask(question).refused


def test_no_suggestions_when_switched_off(assistant: Assistant) -> None:
    answer = assistant.ask(ARMED_FORCES)
    assert suggest_follow_ups(assistant, answer, limit=0) == []


# -- starters from the newest articles -----------------------------------------------------


def test_starters_come_from_the_newest_article_by_date(built_index: Path, tmp_path: Path) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(built_index, data)
    folder = tmp_path / "newsroom"
    folder.mkdir()
    (folder / "2025-12-01-tram.md").write_text(TRAM, encoding="utf-8")
    settings = load_settings(data_dir=data, sources=[SOURCES])
    ingest(settings, [folder])
    articles = newest_articles(ChunkStore(settings=settings))
    assert articles[0].title == "City opens its first tram line"  # 1 Dec, after 21 Nov
    assert articles[0].published.startswith("2025-12-01")
    engine = Assistant.open(settings)
    starters = suggest_starters(engine, articles)
    assert 2 <= len(starters) <= 4
    assert starters[0] == "What did the city open?", starters  # the newest story first
    for question in starters:
        assert not engine.ask(question).refused, question
        assert not TOPIC_TEMPLATE.search(question), question


def test_follow_ups_stay_on_the_story_of_the_answer(built_index: Path, tmp_path: Path) -> None:
    """A passage of another story, retrieved for a shared word ("line"), gives none."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(built_index, data)
    folder = tmp_path / "newsroom"
    folder.mkdir()
    (folder / "2025-12-01-tram.md").write_text(TRAM, encoding="utf-8")
    settings = load_settings(data_dir=data, sources=[SOURCES])
    ingest(settings, [folder])
    engine = Assistant.open(settings)
    answer = engine.ask("How many stops does the new tram line have?")
    assert any("draft" in p.text for p in answer.retrieved), "another story was retrieved"
    candidates = follow_up_candidates(answer)
    assert candidates and not any("draft" in q.lower() for q in candidates), candidates


def test_without_dates_the_last_ingested_article_is_the_newest(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    tram = "Tram line opens\n\n" + TRAM.split("---\n\n", 1)[1]  # no front matter, no date
    for name, text in (("ferry", FERRY), ("tram", tram)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
        ingest(settings, [folder])
    store = ChunkStore(settings=settings)
    if any(a.published for a in newest_articles(store)):
        pytest.skip("the index dates undated files by their modification time")
    assert [a.title for a in newest_articles(store)] == ["Tram line opens", "Night ferry returns"]


# -- kept only when answered -----------------------------------------------------------------


class ScriptedAsker:
    """A deterministic stand-in for the engine: answers from a table, records the calls."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, list[Any]]] = []

    def ask(self, question: str, history: Sequence[Any] = ()) -> Answer:
        self.asked.append((question, list(history)))
        return self.answers[question]


def cited(question: str, quote: str) -> Answer:
    citation = Citation(1, "a.md", "A", "2025-01-01", quote, quote, 0, len(quote))
    return Answer(question, f"{quote} [1]", [citation], False, "extractive")


def test_keep_answerable_drops_declines_repeats_and_stops_at_the_limit() -> None:
    engine = ScriptedAsker(
        {
            "declined?": Answer("declined?", "no", [], True, "extractive"),
            "seen?": cited("seen?", "Already shown."),
            "new?": cited("new?", "Something new."),
            "same again?": cited("same again?", "Something new."),
            "another?": cited("another?", "Another thing."),
            "never asked?": cited("never asked?", "Too late."),
        }
    )
    kept = keep_answerable(
        engine,
        ["declined?", "seen?", "new?", "same again?", "another?", "never asked?"],
        ["earlier question"],
        seen_quotes=["Already shown."],
        limit=2,
    )
    assert kept == ["new?", "another?"]
    assert [q for q, _ in engine.asked] == ["declined?", "seen?", "new?", "same again?", "another?"]
    assert all(history == ["earlier question"] for _, history in engine.asked)


def test_keep_answerable_checks_at_most_max_checks() -> None:
    engine = ScriptedAsker({f"q{i}?": Answer(f"q{i}?", "no", [], True, "x") for i in range(10)})
    assert keep_answerable(engine, [f"q{i}?" for i in range(10)], limit=3, max_checks=4) == []
    assert len(engine.asked) == 4
