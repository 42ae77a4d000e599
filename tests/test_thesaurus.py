"""The WordNet-derived thesaurus, and the offline answerer using it on a reader's words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.text import terms
from assistant.thesaurus import default_thesaurus
from tests.test_cli import run

HARBOUR = """---
title: Harbour town agrees new rules for its fishing fleet
---
# Harbour town agrees new rules for its fishing fleet

The council of Port Ellery voted on Tuesday to adopt a new code for the town's fishing fleet.

Under the code, each trawler must carry a working radio beacon and file its catch figures
with the harbour office every week.

Skippers who break the rules face a fine and may lose their mooring for a season.

The harbour office will hire two extra inspectors to check the boats.

Local fishermen said the code was fair but worried about the cost of the beacons.
"""


def _phrase(word: str) -> tuple[str, ...]:
    return tuple(terms(word))


def test_synonyms_and_related_words_come_in_the_engines_terms() -> None:
    thesaurus = default_thesaurus()
    assert _phrase("treaty") in thesaurus.relations("pact").synonyms
    assert _phrase("penalize") in thesaurus.relations("punished").synonyms  # an inflection
    # Relations run both ways: "missile" lists "rocket" as broader, "rocket" finds "missile".
    assert _phrase("missile") in thesaurus.relations("rocket").related
    assert _phrase("draft") in thesaurus.relations("wrote").related  # an irregular form


def test_a_word_the_thesaurus_lacks_relates_to_nothing() -> None:
    relations = default_thesaurus().relations("zzyzxqv")
    assert not relations.synonyms and not relations.related


def test_a_question_in_other_words_is_answered_from_the_sentence_that_means_it(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "harbour.md").write_text(HARBOUR)
    env = {"ASSISTANT_DATA_DIR": str(tmp_path / "data"), "ASSISTANT_LLM_ENABLED": "false"}
    assert run("ingest", str(corpus), env=env).returncode == 0

    # "violate the regulations" is the article's "break the rules" in other words.
    asked = run("ask", "--json", "What happens to skippers who violate the regulations?", env=env)
    answer = json.loads(asked.stdout)
    assert not answer["refused"], answer
    assert [c["quote"] for c in answer["citations"]] == [
        "Skippers who break the rules face a fine and may lose their mooring for a season."
    ]

    # Related words do not make an answer out of a sentence that lacks one.
    unasked = run("ask", "--json", "How much does each beacon cost?", env=env)
    assert json.loads(unasked.stdout)["refused"]


def _answerer():  # type: ignore[no-untyped-def]
    from assistant.embeddings import make_embedder
    from assistant.extractive import ExtractiveAnswerer
    from assistant.settings import load_settings

    return ExtractiveAnswerer(
        idf=lambda term: 2.0,
        known=lambda term: True,
        embed=make_embedder(load_settings()).embed,
        min_support=0.3,
        max_sentences=4,
        rare_idf=2.0,
    )


def test_a_follow_up_finds_the_earlier_topic_said_in_other_words() -> None:
    """'they' in the follow-up are the vessels asked about before: the article's boats."""
    from assistant.answer import Passage
    from assistant.text import sentence_spans

    text = (
        "Residents will pay 5% more for their parking permits from next spring.\n\n"
        "Boats moored in the inner harbour will pay 20% more from next summer."
    )
    spans = tuple(sentence_spans(text))
    passage = Passage("p1", "fees.md", "Fees", "", text, 0, len(text), 1.0, spans)
    question = "How much more will they pay?"
    for earlier, first in (
        ("What do the new rules mean for vessels?", "Boats"),
        ("What changes for ships?", "Boats"),
    ):
        ranked = _answerer().score(question, earlier, [passage])
        assert ranked[0].sentence.text.startswith(first), (earlier, ranked[0].sentence.text)
        assert ranked[0].score > ranked[1].score


def test_phrases_are_in_the_thesaurus_and_their_first_word_may_be_inflected() -> None:
    thesaurus = default_thesaurus()
    assert _phrase("withdraw") in thesaurus.relations("pull back").synonyms
    assert _phrase("withdraw") in thesaurus.relations("pulled back").synonyms
    assert _phrase("relinquish") in thesaurus.relations("gives up").synonyms
    # Both ways: a word lists the phrase that means it.
    assert _phrase("pull back") in thesaurus.relations("withdraw").synonyms


def test_a_phrase_in_the_question_finds_the_word_that_means_it() -> None:
    """ "pull back" is the sentence's "withdraw": both of the phrase's words earn the
    thesaurus's synonym credit, where neither word alone means "withdraw"."""
    from assistant.answer import Passage
    from assistant.extractive import THESAURUS_SYNONYM_CREDIT, _sentences

    text = "The council will establish a fund for the fort."
    passage = Passage("p1", "fort.md", "Fort", "", text, 0, len(text), 1.0, ((0, len(text)),))
    question = "Will the council set up a fund for the fort?"
    weights = {"council": 1.0, "set": 1.0, "fund": 1.0, "fort": 1.0}
    answerer = _answerer()
    sentences = _sentences([passage])
    coverage = answerer._coverage(question, weights, sentences)(sentences[0])
    assert coverage.covered == {"council", "fund", "fort"}
    assert coverage.said >= 3.0 + THESAURUS_SYNONYM_CREDIT - 1e-9, coverage.said


def test_a_who_question_is_answered_only_by_a_sentence_that_says_its_verb() -> None:
    """ "Who would run the depot?" is not answered by a sentence that merely names someone
    new beside the depot; "Who would manage it?" is, and so is "who would operate it?",
    said in other words."""
    from assistant.answer import Passage
    from assistant.text import sentence_spans

    text = (
        "The old tram depot will go to the Harbour Trust next spring.\n\n"
        "The depot's yard will stay open to the public."
    )
    spans = tuple(sentence_spans(text))
    passage = Passage("p1", "depot.md", "Depot", "", text, 0, len(text), 1.0, spans)
    answerer = _answerer()
    assert answerer.select("Who would run the old tram depot?", "", [passage]) == []
    assert answerer.select("Who would get the old tram depot?", "", [passage]) != []

    managed = "The Harbour Trust will manage the old tram depot from next spring."
    other = Passage("p2", "depot.md", "Depot", "", managed, 0, len(managed), 1.0, ())
    assert answerer.select("Who would manage the old tram depot?", "", [other]) != []
    assert answerer.select("Who would administer the old tram depot?", "", [other]) != []


def test_frame_words_weigh_less_than_the_topic() -> None:
    """In "What slice of the profits goes to the city?" the topic is profits and the city:
    "slice" only names the kind of number asked (and no article says it), "goes" is a light
    verb, and "anybody" names nothing."""
    from assistant.embeddings import make_embedder
    from assistant.extractive import ExtractiveAnswerer
    from assistant.settings import load_settings

    answerer = ExtractiveAnswerer(
        idf=lambda term: 2.0,
        known=lambda term: term not in {"slice", "anybodi"},
        embed=make_embedder(load_settings()).embed,
        min_support=0.3,
        max_sentences=4,
        rare_idf=2.0,
    )
    weights = answerer._weights("What slice of the profits goes to the city, says anybody?")
    assert "slice" not in weights and "anybodi" not in weights
    assert weights["goe"] < weights["profit"] == weights["citi"]
    # A measure word the articles do use still counts: "limit" in "what limit is set?"
    assert answerer._weights("What limit is set on the fleet?")["limit"] == 2.0


def test_looked_up_by_binary_search_or_read_whole_the_thesaurus_says_the_same() -> None:
    """A one-question process finds a word's line by binary search in the file as read; a
    process answering many reads every line into a dict (Thesaurus.read_all)."""
    from assistant.thesaurus import Thesaurus

    searched, read = Thesaurus.load(), Thesaurus.load()
    read.read_all()
    words = [
        "a",  # the first line
        "zyrian",  # the last
        "pact",
        "punished",
        "pull back",
        "pulled back",
        "wrote",
        "rocket",
        "withdraw",
        "aardvarks",
        "zzyzxqv",  # after the last
        "",
        "#",  # the file's comment lines are no words
        "derived",
    ]
    for word in words:
        assert searched._parse(word) == read._parse(word), word
        assert searched.knows(word) == read.knows(word), word
    assert searched._row("a") is not None and searched._row("zyrian") is not None
    assert searched._row("#") is None and searched._row("zzyzxqv") is None


def test_a_word_of_many_senses_is_not_said_by_its_related_words() -> None:
    """ "run" has dozens of senses, and WordNet relates it to "led" and "go": "Who would run
    the fund?" is not answered by "US-led efforts" (it was, as a near miss that the articles
    do not answer). "administer" has few, and "manage" still says it."""
    from assistant.answer import Passage

    text = "The fund would go to US-led efforts to rebuild the harbour."
    passage = Passage("p1", "fund.md", "Fund", "", text, 0, len(text), 1.0, ((0, len(text)),))
    answerer = _answerer()
    assert answerer.select("Who would run the harbour fund?", "", [passage]) == []


def test_a_passage_said_in_other_words_is_offered_as_the_closest() -> None:
    """Below the answer threshold, a passage is offered as related when it shares enough of
    the question's topic, counting what it says in other words ("pull back": "withdraw",
    "boats": "ferry"), not only the question's own words (none here: it was not offered)."""
    from assistant.answer import Passage
    from assistant.embeddings import make_embedder
    from assistant.extractive import ExtractiveAnswerer
    from assistant.questions import parse_question
    from assistant.settings import load_settings
    from assistant.text import sentence_spans

    strict = ExtractiveAnswerer(
        idf=lambda term: 2.0,
        known=lambda term: True,
        embed=make_embedder(load_settings()).embed,
        min_support=0.6,  # so that the question is not answered, only helped
        max_sentences=4,
        rare_idf=2.0,
    )
    text = (
        "The harbour board will withdraw the ferry subsidy in the spring, the council said.\n\n"
        "Fares on the island route have doubled since 2020."
    )
    passage = Passage(
        "p1", "ferry.md", "Ferry", "", text, 0, len(text), 1.0, tuple(sentence_spans(text))
    )
    parsed = parse_question("Would they pull back the cash for boats?")
    assert strict.select(parsed.text, "", [passage]) == []
    closest = strict.closest(parsed.parts, "", [passage])
    assert [s.text for s in closest] == [text.split("\n\n")[0]]


@pytest.mark.parametrize(
    ("question", "answered"),
    [
        ("How many Russian soldiers would the plan allow?", False),
        ("How many Ukrainian soldiers would the plan allow?", True),
    ],
)
def test_a_figure_asked_of_a_name_is_given_in_a_sentence_that_names_it(
    question: str, answered: bool
) -> None:
    """The name in what a number question measures ("Russian soldiers") must be in the
    sentence with the figure, not only in its passage: the cap on the Ukrainian army is no
    count of Russian soldiers (it was the answer)."""
    from assistant.answer import Passage
    from assistant.text import sentence_spans

    text = (
        "Russian officials met in Geneva on Monday.\n\n"
        "The plan would cap the Ukrainian army at 600,000 soldiers."
    )
    passage = Passage(
        "p1", "army.md", "Army", "", text, 0, len(text), 1.0, tuple(sentence_spans(text))
    )
    assert bool(_answerer().select(question, "", [passage])) is answered
