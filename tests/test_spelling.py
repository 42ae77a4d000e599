"""Typos read as the articles spell them (assistant/spelling.py), alone on a small
vocabulary and through the engine on the bundled articles."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from assistant.engine import Assistant
from assistant.lexicon import default_lexicon
from assistant.spelling import SpellingReader, is_english
from assistant.text import terms

# What a tiny corpus says, as the keyword index counts it: chunks per term.
ARTICLES = (
    "frozen assets assets assets sets guarantee crimea ukraine ukraine macon draft "
    "criminal criminals criminals admit"  # "crimin": one edit from "crimia", but no word
)


def frequencies(asked: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for term in terms(ARTICLES):
        counts[term] = counts.get(term, 0) + 1
    return {t: counts.get(t, 0) for t in asked}


@pytest.fixture
def reader() -> SpellingReader:
    return SpellingReader(
        frequencies=frequencies,
        is_english=is_english,
        is_alias=default_lexicon().is_alias,
    )


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("what happens to the frozen asets", "what happens to the frozen assets"),
        ("who would garantee it", "who would guarantee it"),
        ("what happens to crimia?", "what happens to crimea?"),
        ("What happens to Crimia?", "What happens to Crimea?"),  # a name the aliases know
        ("how many troops could ukrane keep", "how many troops could ukraine keep"),
    ],
)
def test_a_typo_is_read_as_the_articles_spell_it(
    reader: SpellingReader, typed: str, read: str
) -> None:
    spelling = reader.read(typed)
    assert spelling.text == read
    assert spelling.changes and spelling.notice.startswith("Read ")


@pytest.mark.parametrize(
    "question",
    [
        "what is the weather like",  # English: out of scope, not a typo of "whether"
        "i am the admin here",  # everyday English WordNet lacks, not a typo of "admit"
        "what did Macron say",  # a name the articles never use, one edit from "Macon"
        "what is an aset",  # four letters: too many words lie one edit away
        "what about the draft",  # the articles' own word
        "qwxzv plans",  # nothing one edit away
    ],
)
def test_words_that_are_no_typos_stay_as_they_are(reader: SpellingReader, question: str) -> None:
    assert reader.read(question).text == question


def test_the_nearest_word_keeps_the_first_letter_before_it_counts_uses(
    reader: SpellingReader,
) -> None:
    # "asets" is one edit from "assets" and from "sets"; typos seldom hit the first letter.
    assert reader.read("asets").changes == (("asets", "assets"),)


def test_an_answer_says_how_it_read_a_misspelt_question(assistant: Assistant) -> None:
    answer = assistant.ask("what happens to the frozen asets")
    assert not answer.refused and "Euroclear" in answer.text
    assert 'Read "asets" as "assets".' in answer.notices

    assert assistant.ask("What did Macron say about the plan?").refused
