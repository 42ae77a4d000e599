"""Dataset loading and validation: each kind of problem stops the run and names the case."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.evaluation.dataset import DatasetError, corpus_texts, load_dataset
from tests.conftest import ROOT, SOURCES

BUNDLED = ROOT / "evals" / "qa.yaml"
ARMY_CAP = {
    "id": "army-cap",
    "question": "What limit does the draft set on Ukraine's armed forces?",
    "answerable": True,
    "must_include": [["600,000", "600000"]],
    "evidence": ["The size of the Ukrainian Armed Forces will be limited to 600,000 personnel."],
}
CAPITAL = {"id": "capital", "question": "What is the capital of Australia?", "answerable": False}


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return corpus_texts([SOURCES])


def write(tmp_path: Path, cases: Any) -> Path:
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump(cases, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def problems(tmp_path: Path, cases: Any, texts: list[str]) -> str:
    with pytest.raises(DatasetError) as caught:
        load_dataset(write(tmp_path, cases), texts)
    return str(caught.value)


def test_a_valid_dataset_loads_into_typed_cases(tmp_path: Path, texts: list[str]) -> None:
    follow_up = {**ARMY_CAP, "id": "army-now", "history": [ARMY_CAP["question"]], "tags": ["x"]}
    dataset = load_dataset(write(tmp_path, [ARMY_CAP, follow_up, CAPITAL]), texts)

    assert [c.id for c in dataset.cases] == ["army-cap", "army-now", "capital"]
    assert dataset.cases[0].must_include == (("600,000", "600000"),)
    assert dataset.cases[1].history == (ARMY_CAP["question"],)
    assert dataset.cases[1].is_follow_up and not dataset.cases[0].is_follow_up
    assert dataset.cases[2].evidence == () and dataset.cases[2].answerable is False


def test_evidence_matches_after_folding_typography_and_whitespace(
    tmp_path: Path, texts: list[str]
) -> None:
    # The explainer writes "Ukraine’s" (curly) and "full‑scale" (U+2011) on one line.
    quote = (
        "Ukraine's armed forces were estimated at roughly 880,000 active personnel\n"
        "   last January, up from about 250,000 before the full-scale invasion"
    )
    case = {**ARMY_CAP, "evidence": [quote]}
    assert load_dataset(write(tmp_path, [case]), texts).cases[0].evidence == (quote,)


def test_an_evidence_quote_missing_from_the_articles_names_the_case(
    tmp_path: Path, texts: list[str]
) -> None:
    invented = "The size of the Ukrainian Armed Forces will be limited to 500,000 personnel."
    case = {**ARMY_CAP, "id": "made-up", "evidence": [ARMY_CAP["evidence"][0], invented]}
    message = problems(tmp_path, [CAPITAL, case], texts)

    assert "case 'made-up'" in message
    assert "evidence quote not found" in message and "500,000" in message
    assert "capital" not in message


def test_a_duplicate_id_names_both_cases(tmp_path: Path, texts: list[str]) -> None:
    message = problems(tmp_path, [ARMY_CAP, CAPITAL, {**CAPITAL, "question": "Why?"}], texts)
    assert "case 'capital' (#3): duplicate id (case #2 has the same id)" in message


@pytest.mark.parametrize("field", ["id", "question", "answerable"])
def test_a_missing_required_field_names_the_case(
    tmp_path: Path, texts: list[str], field: str
) -> None:
    broken = {k: v for k, v in CAPITAL.items() if k != field}
    message = problems(tmp_path, [ARMY_CAP, broken], texts)

    label = "case #2 (no id)" if field == "id" else "case 'capital' (#2)"
    assert f"{label}: missing field {field!r}" in message


@pytest.mark.parametrize("field", ["must_include", "evidence"])
def test_an_answerable_case_needs_facts_and_evidence(
    tmp_path: Path, texts: list[str], field: str
) -> None:
    broken = {k: v for k, v in ARMY_CAP.items() if k != field}
    assert f"case 'army-cap' (#1): missing field {field!r}" in problems(tmp_path, [broken], texts)


def test_an_unanswerable_case_cannot_expect_facts(tmp_path: Path, texts: list[str]) -> None:
    broken = {**CAPITAL, "must_include": [["Canberra"]]}
    assert "case 'capital' (#1): an unanswerable case cannot have 'must_include'" in problems(
        tmp_path, [broken], texts
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"must_include": ["600,000", "600000"]}, "'must_include' must be a list of facts"),
        ({"must_include": [[]]}, "'must_include' must be a list of facts"),
        ({"evidence": "a single string"}, "'evidence' must be a list of non-empty strings"),
        ({"history": [""]}, "'history' must be a list of non-empty strings"),
        ({"answerable": "yes"}, "'answerable' must be true or false"),
        ({"question": "  "}, "'question' must be a non-empty string"),
        ({"must_inculde": [["x"]]}, "unknown field 'must_inculde'"),
    ],
)
def test_malformed_fields_name_the_case(
    tmp_path: Path, texts: list[str], change: dict[str, Any], expected: str
) -> None:
    message = problems(tmp_path, [{**ARMY_CAP, **change}], texts)
    assert "case 'army-cap' (#1)" in message and expected in message


def test_every_problem_is_listed_at_once(tmp_path: Path, texts: list[str]) -> None:
    cases = [{**ARMY_CAP, "evidence": ["Not in any article."]}, {"id": "x"}, CAPITAL, CAPITAL]
    message = problems(tmp_path, cases, texts)
    assert "(4 problem(s))" in message
    assert message.count("case 'x' (#2): missing field") == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [("- id: [unclosed\n", "not valid YAML at line"), ("id: one\n", "non-empty YAML list")],
)
def test_unusable_files_are_reported(
    tmp_path: Path, texts: list[str], text: str, expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DatasetError, match=expected):
        load_dataset(path, texts)
    with pytest.raises(DatasetError, match="dataset not found"):
        load_dataset(tmp_path / "missing.yaml", texts)


def test_the_hash_follows_content_not_formatting(tmp_path: Path, texts: list[str]) -> None:
    first = load_dataset(write(tmp_path, [ARMY_CAP, CAPITAL]), texts).sha256
    reformatted = tmp_path / "reformatted.yaml"
    reformatted.write_text(
        "# a comment\n" + yaml.safe_dump([ARMY_CAP, CAPITAL], default_flow_style=True),
        encoding="utf-8",
    )
    assert load_dataset(reformatted, texts).sha256 == first
    changed = [{**ARMY_CAP, "must_include": [["600,000"]]}, CAPITAL]
    assert load_dataset(write(tmp_path, changed), texts).sha256 != first


def test_the_bundled_dataset_is_valid_and_covers_the_issue(texts: list[str]) -> None:
    cases = load_dataset(BUNDLED, texts).cases
    tags = Counter(tag for case in cases for tag in case.tags)

    assert len(cases) >= 60
    assert sum(case.is_follow_up for case in cases) >= 8
    assert sum(not case.answerable for case in cases) >= 12
    for tag in ("numbers", "names", "definition", "two-facts", "paraphrase"):
        assert tags[tag] >= 3, tag
    for tag in ("out-of-scope", "near-miss", "injection"):
        assert tags[tag] >= 2, tag


def test_every_reader_set_is_valid_and_ids_are_unique_across_them(texts: list[str]) -> None:
    """evals/reader/ holds several writers' sets (dev, test, dev-b, test-b, ...): each one
    loads, and an id names one case across all of them."""
    paths = sorted((ROOT / "evals" / "reader").glob("*.yaml"))
    assert len(paths) >= 4
    ids = Counter(case.id for path in paths for case in load_dataset(path, texts).cases)
    assert [name for name, count in ids.items() if count > 1] == []
