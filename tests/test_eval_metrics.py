"""Metrics on hand-made Answers: every metric can fail, and does here when it should."""

from __future__ import annotations

import pytest

from assistant.answer import Answer, Citation, Passage
from assistant.evaluation.dataset import Case
from assistant.evaluation.judges import LexicalJudge
from assistant.evaluation.metrics import (
    aggregate,
    citation_precision,
    citation_recall,
    citations_valid,
    evidence_in_context,
    facts_found,
    faithfulness,
    first_hit_rank,
    percentile,
    quote_overlap,
    score_case,
    score_sentences,
    statements,
)
from assistant.support import SUPPORT_THRESHOLD

ARMY = "The draft caps the army at 600,000 personnel."
VOTE = "It sets snap elections within 100 days."
ENVOY = "Witkoff met Dmitriev for three days."
JUDGE = LexicalJudge()


def passage(text: str, rank: int = 1) -> Passage:
    return Passage(f"p{rank}", "a.md", "A", "2025-11-21", text, 0, len(text), 1.0 / rank)


def citation(number: int, text: str) -> Citation:
    return Citation(number, "a.md", "A", "2025-11-21", text, text, 0, len(text))


def answer(
    text: str,
    cited: dict[int, str] | None = None,
    retrieved: list[str] | None = None,
    *,
    refused: bool = False,
    ms: float = 10.0,
) -> Answer:
    return Answer(
        question="q",
        text=text,
        citations=[citation(n, t) for n, t in (cited or {}).items()],
        refused=refused,
        backend="extractive",
        retrieved=[passage(t, i) for i, t in enumerate(retrieved or [], start=1)],
        timings_ms={"total": ms},
    )


def case(answerable: bool = True, facts: tuple[tuple[str, ...], ...] = (("600,000",),)) -> Case:
    if not answerable:
        return Case("u", "What is the capital of Australia?", False)
    return Case("a", "How big may the army be?", True, facts, (ARMY,))


# -- sentences and their markers --------------------------------------------------------


def test_a_marker_after_the_full_stop_and_a_closing_quote_belongs_to_its_sentence() -> None:
    text = '"The size will be limited to 600,000 personnel." [1] Ukraine said no. [2][3]'
    found = statements(text)
    assert [(s.text, s.cited) for s in found] == [
        ('"The size will be limited to 600,000 personnel."', (1,)),
        ("Ukraine said no.", (2, 3)),
    ]


def test_markers_inside_a_sentence_and_uncited_sentences() -> None:
    found = statements("Rubio [1] and Witkoff [2, 4] drafted it. They met in St. Petersburg.")
    assert [(s.text, s.cited) for s in found] == [
        ("Rubio and Witkoff drafted it.", (1, 2, 4)),
        ("They met in St. Petersburg.", ()),
    ]


def test_a_marker_followed_by_a_new_sentence_ends_a_statement_without_a_stop() -> None:
    found = statements("Donbas handover, 600k limit [1] The army is capped [2]")
    assert [(s.text, s.cited) for s in found] == [
        ("Donbas handover, 600k limit", (1,)),
        ("The army is capped", (2,)),
    ]


# -- validity ---------------------------------------------------------------------------


def test_validity_fails_for_a_marker_without_a_citation() -> None:
    assert citations_valid(answer(f"{ARMY} [1]", {1: ARMY}))
    assert not citations_valid(answer(f"{ARMY} [2]", {1: ARMY}))
    assert not citations_valid(answer(f"{ARMY} [1][3]", {1: ARMY, 2: VOTE}))


def test_validity_fails_for_duplicate_citation_ids() -> None:
    broken = answer(f"{ARMY} [1]", {1: ARMY})
    broken.citations.append(citation(1, VOTE))
    assert not citations_valid(broken)


# -- citation recall and precision (ALCE) ---------------------------------------------


def scored(text: str, cited: dict[int, str], retrieved: list[str] | None = None):  # type: ignore[no-untyped-def]
    return score_sentences(answer(text, cited, retrieved or list(cited.values())), JUDGE)


def test_a_citation_that_supports_its_sentence_scores_full_recall_and_precision() -> None:
    sentences = scored(f"{ARMY} [1]", {1: ARMY})
    assert citation_recall(sentences) == 1.0 and citation_precision(sentences) == 1.0


def test_a_number_the_passage_lacks_makes_the_sentence_unsupported() -> None:
    sentences = scored("The draft caps the army at 500,000 personnel. [1]", {1: ARMY})
    assert citation_recall(sentences) == 0.0 and citation_precision(sentences) == 0.0


def test_a_name_the_passage_lacks_makes_the_sentence_unsupported() -> None:
    claim = "The draft caps the army at 600,000 personnel, says Rubio. [1]"
    assert citation_recall(scored(claim, {1: ARMY})) == 0.0


def test_an_uncited_sentence_counts_against_recall() -> None:
    sentences = scored(f"{VOTE} {ARMY} [1]", {1: ARMY}, [ARMY, VOTE])
    assert [s.supported for s in sentences] == [False, True]
    assert citation_recall(sentences) == 0.5
    assert citation_precision(sentences) == 1.0
    assert faithfulness(sentences) == 1.0


def test_two_citations_both_needed_are_both_precise() -> None:
    claim = "The draft caps the army at 600,000 and sets elections within 100 days. [1][2]"
    sentences = scored(claim, {1: ARMY, 2: VOTE})
    assert sentences[0].precise == (True, True)
    assert citation_recall(sentences) == 1.0 and citation_precision(sentences) == 1.0


def test_an_unneeded_citation_is_imprecise() -> None:
    sentences = scored(f"{ARMY} [1][2]", {1: ARMY, 2: ENVOY})
    assert sentences[0].precise == (True, False)
    assert citation_recall(sentences) == 1.0 and citation_precision(sentences) == 0.5


def test_citations_that_do_not_support_together_are_all_imprecise() -> None:
    sentences = scored("The army had 880,000 troops last January. [1][2]", {1: ARMY, 2: ENVOY})
    assert citation_recall(sentences) == 0.0 and citation_precision(sentences) == 0.0


def test_a_marker_without_a_citation_supports_nothing() -> None:
    sentences = scored(f"{ARMY} [1][2]", {1: ARMY})
    assert sentences[0].supported and sentences[0].precise == (True, False)


def test_faithfulness_fails_for_a_sentence_the_retrieved_context_lacks() -> None:
    sentences = scored(f"{ARMY} [1] {ENVOY} [1]", {1: ARMY}, [ARMY, VOTE])
    assert [s.faithful for s in sentences] == [True, False]
    assert faithfulness(sentences) == 0.5


def test_the_lexical_judge_uses_the_committed_threshold() -> None:
    assert JUDGE.threshold == SUPPORT_THRESHOLD == 0.6
    # Two of the claim's three content terms are in the passage: coverage 0.67.
    assert LexicalJudge().supports("The army grew quickly.", ["The army grew."])
    assert not LexicalJudge(threshold=0.7).supports("The army grew quickly.", ["The army grew."])
    assert not JUDGE.supports(ARMY, [])


# -- facts ----------------------------------------------------------------------------------


def test_a_fact_is_found_when_any_alternative_is_in_the_answer() -> None:
    facts = (("600,000", "600000"), ("Witkoff",), ("Flamingo",))
    assert facts_found("Capped at 600000 troops, said WITKOFF. [1]", facts) == [True, True, False]


def test_facts_are_matched_after_folding_typography() -> None:
    text = "Ukraine’s long‑range missiles [1]"
    assert facts_found(text, (("Ukraine's long-range",),)) == [True]


def test_citation_markers_are_not_facts() -> None:
    assert facts_found("Nothing here. [1]", (("1",), ("[1]",))) == [False, False]


# -- retrieval -------------------------------------------------------------------------------


def test_evidence_counts_only_inside_the_first_1200_characters() -> None:
    filler = "x" * 1170
    assert evidence_in_context([filler[:1150], ARMY], [ARMY])  # ends at 1198
    assert not evidence_in_context([filler, ARMY], [ARMY])  # starts at 1172, ends past 1200
    assert evidence_in_context([filler[:900], ARMY.replace(" ", "\n  ")], [ARMY])


def test_a_chunk_is_a_hit_when_it_holds_at_least_half_of_a_quote() -> None:
    quote = "Ceding territory where at least a quarter of a million Ukrainians live is hard."
    cut = len(quote) * 6 // 10
    head, tail = quote[:cut], quote[cut:]
    assert quote_overlap(f"Earlier sentence. {quote} Later.", quote) == 1.0
    assert quote_overlap(f"Earlier sentence. {head}", quote) == pytest.approx(
        len(head.strip()) / len(quote), abs=0.02
    )
    assert first_hit_rank(["unrelated", f"Before. {head}"], [quote]) == 2
    assert first_hit_rank(["unrelated", f"{tail} After."], [quote]) is None


def test_rank_and_reciprocal_rank_of_the_first_hit() -> None:
    scores = score_case(case(), answer(f"{ARMY} [1]", {1: ARMY}, ["a", "b", ARMY]), JUDGE)
    assert scores.metrics["first_hit_rank"] == 3
    assert scores.metrics["reciprocal_rank"] == pytest.approx(1 / 3, abs=1e-6)


# -- cases and aggregates ---------------------------------------------------------------


def test_an_answerable_case_passes_with_all_facts_and_supported_citations() -> None:
    good = score_case(case(), answer(f"{ARMY} [1]", {1: ARMY}, [ARMY]), JUDGE)
    assert good.passed and good.metrics["fact_recall"] == 1.0


@pytest.mark.parametrize(
    ("reply", "failed"),
    [
        (answer("I can't answer that.", refused=True), "refusal"),
        (answer(f"{VOTE} [1]", {1: VOTE}, [VOTE]), "facts"),
        (answer(f"{ARMY} [2]", {1: ARMY}, [ARMY]), "validity"),
        (answer(f"{ARMY} {VOTE} [1]", {1: VOTE}, [ARMY, VOTE]), "citation_recall"),
    ],
)
def test_an_answerable_case_fails_for_each_reason(reply: Answer, failed: str) -> None:
    result = score_case(case(), reply, JUDGE)
    assert not result.passed
    assert result.checks[failed] is False


def test_a_refusal_scores_no_facts_even_if_the_decline_text_matches() -> None:
    result = score_case(case(facts=(("answer",),)), answer("I can't answer.", refused=True), JUDGE)
    assert result.metrics["fact_recall"] == 0.0 and result.metrics["false_refusal"] is True


def test_an_unanswerable_case_passes_only_as_a_refusal_without_citations() -> None:
    declined = answer("I can't answer that from the articles.", refused=True)
    assert score_case(case(False), declined, JUDGE).passed
    answered = answer(f"{ARMY} [1]", {1: ARMY}, [ARMY])
    assert not score_case(case(False), answered, JUDGE).passed
    cited_refusal = answer("I can't answer that. [1]", {1: ARMY}, refused=True)
    assert not score_case(case(False), cited_refusal, JUDGE).metrics["correct_refusal"]


def test_aggregates_average_over_the_cases_each_metric_applies_to() -> None:
    cases = [case(), case(), case(False), case(False)]
    answers = [
        answer(f"{ARMY} [1]", {1: ARMY}, [ARMY], ms=10),
        answer("Sorry.", refused=True, ms=30),
        answer("Sorry.", refused=True, ms=20),
        answer(f"{ENVOY} [1]", {1: ENVOY}, ["x", ENVOY], ms=40),
    ]
    scores = [score_case(c, a, JUDGE) for c, a in zip(cases, answers, strict=True)]
    result = aggregate(cases, scores)

    assert result["fact_recall"] == 0.5 and result["all_facts_rate"] == 0.5
    assert result["false_refusal_rate"] == 0.5
    assert result["refusal_accuracy"] == 0.5
    assert result["citation_recall"] == 1.0  # over the two answers that were not refusals
    assert result["evidence_recall@1200"] == 0.5 and result["hit@1"] == 0.5
    assert result["pass_rate"] == 0.5
    assert result["latency_p50_ms"] == 20 and result["latency_p95_ms"] == 40


def test_a_metric_that_applies_to_no_case_is_none() -> None:
    result = aggregate([case()], [score_case(case(), answer("No.", refused=True), JUDGE)])
    assert result["refusal_accuracy"] is None and result["citation_recall"] is None


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(20, 0, -1)]
    assert percentile(values, 50) == 10 and percentile(values, 95) == 19
    assert percentile([7.0], 95) == 7 and percentile([], 50) is None
