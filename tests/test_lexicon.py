"""The word tables as the engine reads them."""

from __future__ import annotations

import pytest

from assistant.lexicon import default_lexicon


@pytest.mark.parametrize(
    ("name", "demonym"),
    [
        ("American", True),
        ("Ukrainians", True),
        ("British", True),
        ("Russia", False),
        ("Moscow", False),  # a capital standing for its government
        ("Iran", False),  # a country whose name ends like a demonym
        ("US", False),
    ],
)
def test_a_demonym_is_told_from_the_name_of_its_country(name: str, demonym: bool) -> None:
    assert default_lexicon().is_demonym(name) is demonym


def test_a_capital_standing_for_its_government_finds_the_country(assistant) -> None:  # type: ignore[no-untyped-def]
    """The passage about the assets says "Russia", never "Moscow"; asked about Kyiv as a
    city, the articles have nothing, whatever they say about Ukraine."""
    answer = assistant.ask("Where is Moscow's frozen money held?")
    assert not answer.refused
    assert "Euroclear" in answer.text
    assert assistant.ask("What is the population of Kyiv?").refused


@pytest.mark.parametrize("question", ["whats the capital of canada", "What's the weather in Kyiv?"])
def test_a_question_about_a_place_as_such_gets_a_plain_decline(assistant, question: str) -> None:  # type: ignore[no-untyped-def]
    """Not passages that merely say "capital": the articles never speak of the place."""
    answer = assistant.ask(question)
    assert answer.refused and not answer.related, [c.quote for c in answer.related]
