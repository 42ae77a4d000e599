"""The loader: front matter, titles, navigation, dates, bad files, typography."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.corpus import load_corpus, parse_article
from assistant.errors import CorpusError
from assistant.text import normalise, sentence_spans, terms
from tests.conftest import ROOT, SOURCES

SHARED = ROOT.parent / "shared" / "corpus"


def test_bundled_sources_are_byte_for_byte_copies() -> None:
    if not SHARED.exists():
        pytest.skip("../shared/corpus is not beside this checkout")
    for original in SHARED.iterdir():
        assert (SOURCES / original.name).read_bytes() == original.read_bytes()


def test_bundled_articles_load_with_their_metadata() -> None:
    result = load_corpus([SOURCES])
    assert result.problems == []
    by_name = {Path(a.source).name: a for a in result.articles}
    blog = by_name["2025-11-21-leaked-us-draft-plan-what-we-know.md"]
    assert blog.title.startswith("Update: What we know about leaked US draft plan")
    assert blog.date == "2025-11-21"
    assert blog.author == "badely"
    assert blog.excerpt.startswith("There are 28 key points")
    assert blog.extra["layout"] == "post"
    assert not blog.body.startswith("---")
    assert blog.body.startswith("Let's dive into the details")

    explainer = by_name["leaked-us-russia-plan-explainer.txt"]
    assert explainer.title == "Leaked US-Russia plan: Donbas handover, 600k limit"
    assert explainer.body.startswith("You may have seen")
    assert "Back to Stories" not in explainer.body
    assert explainer.body.endswith("wishful wording.")


def test_body_is_a_span_of_the_original_text() -> None:
    for article in load_corpus([SOURCES]).articles:
        raw = (ROOT / article.source).read_bytes().decode("utf-8")
        assert article.text == raw
        assert raw[article.body_start : article.body_end] == article.body


def test_plain_markdown_without_front_matter_takes_first_line_as_title(tmp_path: Path) -> None:
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "2024-03-05-budget.md").write_text(
        "\n\n# Council passes budget\n\nThe council passed the budget on Tuesday.\n\n"
        "← Back to Stories\n",
        encoding="utf-8",
    )
    (tmp_path / "ignored.json").write_text("{}", encoding="utf-8")
    articles = load_corpus([tmp_path]).articles
    assert len(articles) == 1
    article = articles[0]
    assert article.title == "Council passes budget"
    assert article.date == "2024-03-05"
    assert article.body == "The council passed the budget on Tuesday."


def test_front_matter_tags_url_and_extra_keys(tmp_path: Path) -> None:
    path = tmp_path / "story.md"
    path.write_text(
        "---\ntitle: Floods\ndate: 2023-01-02\ntags: [weather, rivers]\n"
        "url: https://example.org/floods\ndesk: metro\n---\nRivers rose overnight.\n",
        encoding="utf-8",
    )
    article = load_corpus([path]).articles[0]
    assert article.tags == ("weather", "rivers")
    assert article.url == "https://example.org/floods"
    assert article.extra == {"desk": "metro"}
    assert article.metadata()["meta_desk"] == "metro"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xff\xfe not utf-8 \xc3\x28", "not valid UTF-8"),
        (b"---\ntitle: [unclosed\n---\nBody text.\n", "broken front matter"),
        (b"---\ntitle: Never closed\nBody text.\n", "never closed"),
        (b"   \n\n", "empty file"),
        (b"---\n- a list\n---\nBody.\n", "not a mapping"),
    ],
)
def test_bad_files_are_reported_by_name_and_skipped(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    (tmp_path / "bad.md").write_bytes(content)
    (tmp_path / "good.txt").write_text("Good title\n\nA fine story.\n", encoding="utf-8")
    result = load_corpus([tmp_path])
    assert [a.title for a in result.articles] == ["Good title"]
    assert len(result.problems) == 1
    assert result.problems[0].path.endswith("bad.md")
    assert reason in result.problems[0].reason
    assert "bad.md" in str(result.problems[0])


def test_missing_path_is_a_corpus_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not found"):
        load_corpus([tmp_path / "nowhere"])


def test_crlf_text_keeps_offsets(tmp_path: Path) -> None:
    raw = b"Title line\r\n\r\nFirst sentence here. Second one.\r\n"
    article = parse_article(raw, source="x.txt")
    assert article.text == raw.decode("utf-8")
    assert article.body == "First sentence here. Second one."


def test_normalise_folds_typography_without_moving_offsets() -> None:
    original = "The 28‑point plan — “robust” guarantees, Ukraine’s forces"
    folded = normalise(original)
    assert len(folded) == len(original)
    assert folded.index("28-point") == original.index("28‑point")
    assert '"robust"' in folded and "ukraine's" in folded
    assert terms("28-point") == terms("28‑POINT")
    assert terms("600,000 personnel") == terms("600000 personnel")


def test_a_negated_auxiliary_is_not_a_term() -> None:
    """ "why can't they vote?" is about voting: "can't" (in no article) weighed as the
    rarest word, as "cannot" and "won't" never did."""
    assert terms("why can't they vote") == terms("why cannot they vote") == terms("vote")


def test_sentence_spans_respect_abbreviations_and_quotes() -> None:
    text = 'He said "never." Then St. Petersburg was named. Mr. Smith left! Why?'
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences == [
        'He said "never."',
        "Then St. Petersburg was named.",
        "Mr. Smith left!",
        "Why?",
    ]
