"""The deterministic citation check, claim by claim (assistant.grounding).

The cases are the failures the citation issue reported, written for these tests; the
benchmark (`assistant eval --citations`) measures the check on its own data.
"""

from __future__ import annotations

import pytest

from assistant.answer import Passage
from assistant.embeddings import WordLlamaEmbedder
from assistant.grounding import ClaimChecker
from assistant.lexicon import default_lexicon
from assistant.quantities import missing_quantities
from assistant.text import sentence_spans

SANCTIONS = (
    "Some €200bn in Russia frozen assets are largely held by Euroclear in Belgium, and the "
    "European Union is currently working on a plan to use the money to fund Kyiv financially "
    'and militarily. However, a plan for a "full amnesty" for all parties will go down well in '
    "Moscow and very badly in Kyiv and European capitals."
)
TROOPS = (
    "Other draft proposals are that Nato agrees not to station troops in Ukraine and that "
    "European fighter jets will be stationed in Poland. Kyiv would also have to commit to being "
    'a "non-nuclear state".'
)
ARMY = (
    "Latest versions of the text also call for Ukraine to cut the size of its armed forces to "
    "600,000 people. Dmitriev is known to have spent as long as three days with Witkoff."
)


ALLIANCES = (
    "On alliances, the draft would lock Ukraine out of NATO by embedding neutrality in "
    "Ukraine's constitution and adding a new NATO-level rule that Ukraine will not be "
    "admitted in future."
)
G7 = (
    "If the UK, Canada, France, Germany, Italy and Japan were reluctant before the full-scale "
    "invasion, there's even less chance of that happening now."
)


def _passage(text: str, title: str = "Title") -> Passage:
    spans = tuple(sentence_spans(text))
    return Passage(f"p{hash(text)}", "src.md", title, "", text, 0, len(text), 0.0, spans)


@pytest.fixture(scope="module")
def checker() -> ClaimChecker:
    return ClaimChecker(embed=WordLlamaEmbedder().embed)


@pytest.mark.parametrize(
    ("claim", "source"),
    [
        ("The army would be held to 600k troops.", ARMY),
        ("Kyiv's military would be capped at six hundred thousand.", ARMY),
        ("The alliance would agree not to deploy troops in Ukraine.", TROOPS),
        ("The plan bars NATO from stationing troops in Ukraine.", TROOPS),
        ("Nato would keep its troops out of Ukraine.", TROOPS),
        ("European warplanes would be based in Poland.", TROOPS),
        (
            "Most of the roughly €200bn of frozen Russian assets sits with Euroclear in Belgium.",
            SANCTIONS,
        ),
        ("A full amnesty would go down badly in Kyiv.", SANCTIONS),
        ("No, the draft bars NATO from stationing troops in Ukraine.", TROOPS),
        ("Paris and Berlin were reluctant before the full-scale invasion.", G7),
        ("Not really: Kyiv would have to stay non-nuclear.", TROOPS),
        ("Ukraine would be shut out of NATO for good.", ALLIANCES),
    ],
)
def test_faithful_rewording_is_supported(checker: ClaimChecker, claim: str, source: str) -> None:
    verdict = checker.check(claim, [_passage(source)])
    assert verdict.supported, verdict.reason


@pytest.mark.parametrize(
    ("claim", "source", "reason"),
    [
        ("The capital of Australia is Canberra.", SANCTIONS, "name"),
        ("The capital of Australia is Sydney.", SANCTIONS, "name"),
        ("The capital of Canada is Ottawa.", G7, "name"),
        ("The capital of France is Paris.", G7, "name"),
        ("The frozen assets are largely held by Euroclear in France.", SANCTIONS, "name"),
        ("European fighter jets would be stationed in Romania.", TROOPS, "name"),
        ("Ukraine's armed forces would be cut to 800,000 people.", ARMY, "state"),
        ("Dmitriev spent two years with Witkoff.", ARMY, "state"),
        ("Dmitriev spent three weeks with Witkoff.", ARMY, "state"),
        ("The draft lets Nato station troops in Ukraine.", TROOPS, "contradict"),
        ("Nato troops would be allowed into Ukraine.", TROOPS, "contradict"),
        ("The EU is not working on any plan to use the money.", SANCTIONS, "contradict"),
        ("Kyiv would be free to become a nuclear state.", TROOPS, "contradict"),
        (
            "The frozen assets would be sold at auction to pay for new hospitals and schools.",
            SANCTIONS,
            "say",
        ),
        (
            "The draft proposes significant commitments on Ukraine's strategic future:",
            TROOPS,
            "unfinished",
        ),
        ("[1]. [2].", TROOPS, "nothing"),
    ],
)
def test_contradicted_swapped_and_invented_claims_are_not(
    checker: ClaimChecker, claim: str, source: str, reason: str
) -> None:
    verdict = checker.check(claim, [_passage(source)])
    assert not verdict.supported
    assert reason in verdict.reason


def test_a_claim_citing_two_passages_rests_on_both(checker: ClaimChecker) -> None:
    claim = "Nato would not station troops in Ukraine, and Euroclear in Belgium holds the assets."
    both = checker.check(claim, [_passage(TROOPS), _passage(SANCTIONS)])
    assert both.supported and set(both.spans) == {0, 1}
    assert not checker.check(claim, [_passage(TROOPS)]).supported


def test_a_quote_from_the_model_anchors_the_citation_span(checker: ClaimChecker) -> None:
    passage = _passage(TROOPS)
    verdict = checker.check(
        "Jets would be based in Poland.", [passage], ["fighter jets will be  stationed in Poland"]
    )
    start, end = verdict.spans[0]
    assert verdict.supported and TROOPS[start:end] == "fighter jets will be stationed in Poland"


@pytest.mark.parametrize(
    ("claim", "evidence", "missing"),
    [
        ("600k", "600,000", []),
        ("six hundred thousand", "600,000", []),
        ("a quarter of a million people", "250,000 people", []),
        ("half of the profits", "50% of the profits", []),
        ("$100 billion", "$100bn", []),
        ("for two years", "for 2 years", []),
        ("for two years", "for three years", ["two"]),
        ("one of the points", "a point", []),
        ("split fifty-fifty", "split equally", []),
    ],
)
def test_quantities_in_digits_and_words(claim: str, evidence: str, missing: list[str]) -> None:
    assert missing_quantities(claim, evidence) == missing


def test_a_name_that_labels_the_document_may_come_from_the_headline(
    checker: ClaimChecker,
) -> None:
    passage = _passage(ARMY, title="What we know about the leaked US draft plan")
    labelled = (
        "The draft US peace plan calls for Ukraine to cut its armed forces to 600,000 people."
    )
    assert checker.check(labelled, [passage]).supported
    claimed = "The US calls for Ukraine to cut its armed forces to 600,000 people."
    assert "name US" in checker.check(claimed, [passage]).reason


def test_negator_phrases_are_found_around_the_words_they_enclose() -> None:
    lexicon = default_lexicon()
    tokens = lexicon.tokens("Nato would keep its troops out of Ukraine, not of Poland.")
    marked = {tokens[i].raw for i in lexicon.negator_words(tokens)}
    assert marked == {"keep", "out", "of", "not"}
    reached = {tokens[j].raw for _, found in lexicon.negations(tokens) for j in found}
    assert reached == {"ukraine", "poland"}
