"""Where a source comes from, as readers see it, and one number per cited sentence."""

from __future__ import annotations

from assistant.answer import Citation
from assistant.citations import merge_same_sentences
from assistant.provenance import CitationFields, byline, corpus_path, origin, safe_url, shown_url

SENTENCE = "The line has twelve stops."


def cited(number: int, start: int, source: str = "news/tram.md", **extra: str) -> Citation:
    quote = SENTENCE if start == 0 else "Riders praised it."
    return Citation(number, source, "Tram", "2025-12-01", quote, quote, start, start + 26, **extra)


def test_citations_of_the_same_sentence_share_one_number() -> None:
    text = f"{SENTENCE} [1] Riders praised it. [2] Twelve stops, again [3][2]. And [1, 3]."
    merged_text, merged = merge_same_sentences(text, [cited(1, 0), cited(2, 40), cited(3, 0)])
    assert [(c.id, c.start) for c in merged] == [(1, 0), (2, 40)]
    assert merged_text == (
        f"{SENTENCE} [1] Riders praised it. [2] Twelve stops, again [1][2]. And [1]."
    )


def test_the_same_span_of_another_article_is_another_citation() -> None:
    citations = [cited(1, 0), cited(2, 0, source="other/tram.md")]
    text, kept = merge_same_sentences("A [1] B [2]", citations)
    assert (text, kept) == ("A [1] B [2]", citations)


def test_a_duplicate_renumbers_the_citations_after_it() -> None:
    text, kept = merge_same_sentences("A [1][2] B [3]", [cited(1, 0), cited(2, 0), cited(3, 40)])
    assert text == "A [1] B [2]"
    assert [c.id for c in kept] == [1, 2] and kept[1].start == 40


def test_the_path_shown_is_the_one_inside_the_corpus_folder() -> None:
    assert corpus_path({"corpus": "sources", "doc_id": "sources/2025/a.md"}) == "2025/a.md"
    declared = {"corpus": "news", "doc_id": "id:42", "file": "/srv/data/news/local/ferry.txt"}
    assert corpus_path(declared) == "local/ferry.txt"
    assert corpus_path({"source": "/srv/x/y/story.md"}) == "story.md"


def test_only_plain_web_addresses_become_links() -> None:
    assert safe_url("https://news.example.com/a?b=1&c=2") == "https://news.example.com/a?b=1&c=2"
    for bad in (
        "javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "https://x.example/<script>",
        'https://x.example/" onmouseover="x',
        "//x.example/a",
        "ftp://x.example/a",
        "https://exa mple.com",
    ):
        assert safe_url(bad) == "", bad
    assert shown_url("https://www.news.example.com/2025/tram/") == "news.example.com/2025/tram"


def test_a_source_reads_as_title_author_date_and_link_or_path() -> None:
    linked = cited(1, 0, url="https://news.example.com/tram", author="Jane  Roe")
    assert byline(linked) == "Jane Roe · 2025-12-01"
    assert origin(linked) == "https://news.example.com/tram"
    unlinked = cited(1, 0, corpus_path="local/tram.md", url="javascript:alert(1)")
    assert origin(unlinked) == "local/tram.md"
    assert origin(CitationFields({"source": "/srv/news/tram.md"})) == "tram.md"
