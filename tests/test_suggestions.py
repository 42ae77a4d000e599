"""Follow-up and starter questions: built from the passages, kept only when answered."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.answer import Answer, Citation
from assistant.suggestions import (
    follow_up_candidates,
    keep_answerable,
    starter_candidates,
    suggest_follow_ups,
    suggest_starters,
    topics_in,
)
from assistant.text import squash
from tests.conftest import SOURCES

ARMED_FORCES = "What limit does the draft set on Ukraine's armed forces?"
ZAPORIZHZHIA = "What does the draft say about the Zaporizhzhia nuclear power plant?"


def phrases(sentence: str, known: set[str] | None = None) -> list[str]:
    return [t.phrase for t in topics_in(sentence, known_names=known)]


def test_names_in_a_sentence_become_topics() -> None:
    found = phrases("Reports say US envoy Steve Witkoff met officials in Moscow on Monday.")
    assert "Steve Witkoff" in found
    assert "Moscow" in found
    assert not any("Monday" in p for p in found)


def test_possessives_and_adjectives_are_not_topics() -> None:
    found = phrases("It would help Vladimir Putin's Russia and the Russian-occupied Zaporizhzhia.")
    assert "Vladimir Putin" in found
    assert "Zaporizhzhia" in found
    assert not any("Russian" in p or "'s" in p for p in found)


def test_the_stays_with_names_that_take_it() -> None:
    assert "the Kremlin" in phrases("A deal suits the Kremlin, officials said.")
    assert phrases("Ceding the Donetsk fortress belt is hard.") == ["Donetsk"]


def test_a_sentence_opening_word_is_a_name_only_when_seen_elsewhere() -> None:
    assert phrases("Equally, nobody knows.") == []
    assert phrases("Kyiv refused.", {"Kyiv"}) == ["Kyiv"]


def test_short_quoted_phrases_are_topics_and_quoted_clauses_are_not() -> None:
    assert phrases('Kyiv would have to become a "non-nuclear state".') == ["the non-nuclear state"]
    assert phrases('He said "we will never accept this".') == []


def test_headlines_give_starter_topics_and_openings_give_the_rest() -> None:
    bodies = [
        "The plan was leaked on Friday. Officials in Brussels said Steve Witkoff wrote it.",
        "Talks went on. The envoy Kirill Dmitriev met Steve Witkoff in Miami.",
    ]
    questions = starter_candidates(bodies, ["Leaked plan: Donbas handover, 600k limit", "Talks"])
    # Articles take turns: the first article's headline, then the second's best topic, ...
    assert questions[:4] == [
        "What do the articles say about the leaked plan?",
        "What do the articles say about Kirill Dmitriev?",
        "What do the articles say about the Donbas handover?",
        "What do the articles say about Steve Witkoff?",
    ]
    assert "What do the articles say about the 600k limit?" in questions
    assert len(questions) == len(set(questions))


def test_follow_up_candidates_skip_what_was_asked(assistant) -> None:  # type: ignore[no-untyped-def]
    answer = assistant.ask(ZAPORIZHZHIA)
    candidates = follow_up_candidates(answer)
    assert candidates, "the passages around the answer name other topics"
    assert not any("Zaporizhzhia nuclear" in q for q in candidates)
    assert all(q.startswith("What do the articles say about ") for q in candidates)


def test_follow_ups_are_answered_by_the_engine_with_something_new(assistant) -> None:  # type: ignore[no-untyped-def]
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


def test_after_a_decline_the_suggestions_are_answerable(assistant) -> None:  # type: ignore[no-untyped-def]
    declined = assistant.ask("What is the capital of Australia?")
    assert declined.refused
    suggestions = suggest_follow_ups(assistant, declined)
    assert suggestions
    for question in suggestions:
        assert not assistant.ask(question).refused


def test_starters_come_from_the_articles_and_are_answered(assistant) -> None:  # type: ignore[no-untyped-def]
    starters = suggest_starters(assistant, [SOURCES])
    assert 1 <= len(starters) <= 4
    for question in starters:
        assert not assistant.ask(question).refused, question


def test_no_suggestions_when_switched_off(assistant) -> None:  # type: ignore[no-untyped-def]
    answer = assistant.ask(ARMED_FORCES)
    assert suggest_follow_ups(assistant, answer, limit=0) == []


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
