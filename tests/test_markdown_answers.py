"""Markdown articles: body text is read as text, and citations still point into the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.engine import Assistant, ingest
from assistant.settings import load_settings
from assistant.text import sentence_spans

ARTICLE = """---
title: Riverside council approves new tram line
date: 2026-11-30
---
# Riverside council approves new tram line

The council voted on Monday
to approve the **Riverside tram line**, which will run
from the station to the *harbour*.

## What we know

- The line will have twelve stops.
- Building it will cost **£40m**, paid for by the [city](https://example.org/city).
1. Work starts in March next year.

> "We have waited a decade
> for this," said councillor Ana Ruiz.
"""


@pytest.fixture
def tram(tmp_path: Path) -> Assistant:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "tram.md").write_text(ARTICLE, encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "data", sources=[corpus])
    ingest(settings, [corpus])
    return Assistant.open(settings)


def test_headings_and_list_markers_are_not_sentences() -> None:
    body = ARTICLE.split("---\n", 2)[2]
    sentences = [body[s:e] for s, e in sentence_spans(body)]
    assert not any(s.lstrip().startswith(("#", "-", "1.", ">")) for s in sentences), sentences
    assert "The line will have twelve stops." in sentences
    assert "Work starts in March next year." in sentences


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("How many stops will the tram line have?", "twelve stops"),
        ("How much will building the line cost?", "£40m, paid for by the city."),
        ("When did the council vote on the tram line?", "voted on Monday to approve"),
    ],
)
def test_answers_read_as_text_and_cite_the_exact_span(
    tram: Assistant, question: str, fact: str
) -> None:
    answer = tram.ask(question)
    assert not answer.refused, answer.text
    assert fact in answer.text
    assert "**" not in answer.text and "](" not in answer.text and "\n" not in answer.text
    assert not answer.text.lstrip().startswith("#")
    for citation in answer.citations:
        original = Path(citation.source).read_text(encoding="utf-8")
        assert original[citation.start : citation.end] == citation.quote


def test_a_quotation_over_two_quoted_lines_reads_as_one(tram: Assistant) -> None:
    answer = tram.ask("What did councillor Ana Ruiz say about the tram line?")
    assert '"We have waited a decade for this," said councillor Ana Ruiz.' in answer.text
