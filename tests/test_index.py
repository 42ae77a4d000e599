"""Ingest against real Chroma, wordllama and bm25s: incremental, deterministic, checked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.chunking import chunk_article
from assistant.corpus import load_corpus
from assistant.embeddings import WordLlamaEmbedder
from assistant.engine import Assistant, ingest
from assistant.errors import EmbeddingMismatchError, IndexStateError
from assistant.indexing import Indexer
from assistant.lexical import LexicalIndex
from assistant.settings import load_settings
from assistant.store import STORE_FORMAT, ChunkStore
from tests.conftest import SOURCES, CountingStore, keyword_file
from tests.fakes.openai_server import FakeOpenAIServer


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _story(title: str, sentences: int) -> str:
    body = " ".join(
        f"Sentence {i} about the {title.lower()} reports new figures for district {i}."
        for i in range(sentences)
    )
    return f"{title}\n\n{body}\n"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    _write(folder, "harbour.txt", _story("Harbour Expansion", 12))
    _write(folder, "sub/rail.md", "---\ntitle: Rail Strike\n---\n" + _story("Rail", 6))
    return folder


def _store_ids(settings) -> list[str]:  # type: ignore[no-untyped-def]
    store = ChunkStore(settings=settings)
    return sorted(cid for cid, _ in store.scan_documents())


def test_incremental_ingest_adds_skips_updates_and_removes(tmp_path: Path, corpus: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", sources=[corpus])
    first = ingest(settings, [corpus])
    assert (first.added, first.updated, first.unchanged, first.removed) == (2, 0, 0, 0)
    assert first.chunks_total == first.chunks_written > 2

    again = ingest(settings, [corpus])
    assert (again.added, again.updated, again.unchanged, again.removed) == (0, 0, 2, 0)
    assert again.chunks_written == 0
    assert again.chunks_total == first.chunks_total

    _write(corpus, "harbour.txt", _story("Harbour Expansion", 3))
    (corpus / "sub" / "rail.md").unlink()
    _write(corpus, "new.txt", _story("Bridge Repairs", 2))
    changed = ingest(settings, [corpus])
    assert (changed.added, changed.updated, changed.unchanged, changed.removed) == (1, 1, 0, 1)
    stored = ChunkStore(settings=settings)
    assert set(stored.article_heads()) == {a.key for a in load_corpus([corpus]).articles}
    assert "4 added" not in changed.summary() and "1 removed" in changed.summary()


def test_chunk_ids_are_deterministic_and_reruns_leave_no_duplicates(
    tmp_path: Path, corpus: Path
) -> None:
    one = load_settings(data_dir=tmp_path / "one", sources=[corpus])
    two = load_settings(data_dir=tmp_path / "two", sources=[corpus])
    ingest(one, [corpus])
    ingest(two, [corpus])
    ids = _store_ids(one)
    assert ids == _store_ids(two)
    assert len(ids) == len(set(ids))

    # An interrupted write: the article's head chunk never landed, so the next run
    # must redo the article and end in exactly the same state. (An ingest marks the store
    # as changing before its first write, so that is how a crash leaves it.)
    store = ChunkStore(settings=one)
    heads = store.article_heads()
    harbour = next(meta for source, meta in heads.items() if source.endswith("harbour.txt"))
    store.begin_changes()
    store.collection.update(ids=[ids[0]], metadatas=[{**harbour, "doc_hash": "interrupted"}])
    report = ingest(one, [corpus])
    assert report.updated + report.added >= 1
    assert _store_ids(one) == ids


def test_rebuild_starts_over(tmp_path: Path, corpus: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", sources=[corpus])
    ingest(settings, [corpus])
    report = ingest(settings, [corpus], rebuild=True)
    assert report.added == 2 and report.unchanged == 0


def test_chunks_are_sentence_aligned_spans_of_the_original() -> None:
    for article in load_corpus([SOURCES]).articles:
        chunks = chunk_article(article, chunk_tokens=80)
        assert len(chunks) > 10
        for chunk in chunks:
            assert chunk.text == article.text[chunk.start : chunk.end]
            assert chunk.text.rstrip()[-1] in ".!?\"'”’:)"
            assert len(chunk.text) < 700
            meta = chunk.metadata(len(chunks))
            assert meta["title"] == article.title and meta["source"] == article.source


def test_bad_files_do_not_stop_the_rest(tmp_path: Path, corpus: Path) -> None:
    (corpus / "broken.md").write_bytes(b"\xff\xfe\x00garbage")
    settings = load_settings(data_dir=tmp_path / "data", sources=[corpus])
    report = ingest(settings, [corpus])
    assert report.added == 2
    assert [p.path.endswith("broken.md") for p in report.problems] == [True]


def test_collection_records_the_embedder_and_refuses_another(
    data_dir: Path, fake_openai: FakeOpenAIServer
) -> None:
    settings = load_settings(data_dir=data_dir)
    info = ChunkStore(settings=settings).info()
    assert (info.embed_backend, info.embed_model, info.embed_dim) == (
        "wordllama",
        "l2_supercat_256",
        256,
    )
    other = load_settings(
        data_dir=data_dir,
        embed_backend="openai",
        embed_model="local-embedder",
        openai_base_url=fake_openai.base_url,
        openai_api_key="test",
        llm_enabled=False,
    )
    with pytest.raises(EmbeddingMismatchError, match="ingest --rebuild"):
        Assistant.open(other)


def test_openai_embedding_backend_builds_and_answers(
    tmp_path: Path, corpus: Path, fake_openai: FakeOpenAIServer
) -> None:
    settings = load_settings(
        data_dir=tmp_path / "remote",
        sources=[corpus],
        embed_backend="openai",
        embed_model="local-embedder",
        openai_base_url=fake_openai.base_url,
        openai_api_key="test",
        llm_enabled=False,
    )
    ingest(settings, [corpus])
    info = ChunkStore(settings=settings).info()
    assert (info.embed_backend, info.embed_model, info.embed_dim) == (
        "openai",
        "local-embedder",
        64,
    )
    paths = {r["path"] for r in fake_openai.requests}
    assert "/v1/embeddings" in paths
    answer = Assistant.open(settings).ask("What does the harbour expansion report for district 3?")
    assert not answer.refused and "district 3" in answer.text


def test_first_question_builds_the_index_with_progress(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "fresh", sources=[SOURCES])
    stages: list[str] = []
    assistant = Assistant.open(settings, progress=lambda stage, done, total: stages.append(stage))
    assert "articles" in stages and "lexical index" in stages
    assert assistant.info().articles == 2
    assert not assistant.ask("What limit does the draft set on Ukraine's armed forces?").refused


def test_lexical_index_is_loaded_not_rebuilt_when_the_store_is_unchanged(data_dir: Path) -> None:
    settings = load_settings(data_dir=data_dir)
    saved = keyword_file(data_dir)
    before = (saved.stat().st_mtime_ns, LexicalIndex.open(saved).stats())
    store = CountingStore(settings=settings)
    indexer = Indexer(settings=settings, store=store, embedder=WordLlamaEmbedder())
    stages: list[str] = []
    indexer.ensure_lexical(store.info().version, progress=lambda s, d, t: stages.append(s))
    assert stages == [] and store.calls == []
    assert (saved.stat().st_mtime_ns, LexicalIndex.open(saved).stats()) == before

    # A new store version with the same articles: the ledgers are compared, nothing is read.
    store.mark_changed(articles=2, chunks=store.count())
    keywords = indexer.ensure_lexical(store.info().version)
    assert store.calls == ["article_heads"]
    assert keywords.store_version == store.info().version
    assert keywords.stats().docs == before[1].docs


def test_index_copies_are_independent(data_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(data_dir, copy)
    assert Assistant.open(load_settings(data_dir=copy)).info().chunks > 0


def test_article_identity_is_the_front_matter_id_or_url_else_the_path_in_its_folder(
    tmp_path: Path,
) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    desk = tmp_path / "desk"
    _write(desk, "plain.txt", _story("Harbour Expansion", 4))
    _write(desk, "2024/linked.md", "---\nurl: https://example.org/rail\n---\n" + _story("Rail", 3))
    _write(desk, "2024/known.md", "---\nid: story-17\n---\n" + _story("Bridge", 3))
    first = ingest(settings, [desk])
    assert first.added == 3
    assert set(ChunkStore(settings=settings).article_heads()) == {
        "desk/plain.txt",
        "url:https://example.org/rail",
        "id:story-17",
    }

    # Moving an article that names itself keeps it (its shown source follows); renaming one
    # that does not is a new article, and the old one goes.
    (desk / "2024" / "linked.md").rename(desk / "rail-strike.md")
    (desk / "plain.txt").rename(desk / "harbour.txt")
    moved = ingest(settings, [desk])
    assert (moved.added, moved.updated, moved.unchanged, moved.removed) == (1, 0, 2, 1)
    heads = ChunkStore(settings=settings).article_heads()
    assert heads["url:https://example.org/rail"]["source"].endswith("desk/rail-strike.md")
    assert "desk/harbour.txt" in heads and "desk/plain.txt" not in heads

    # Another folder with the same file names is another corpus; a single file given alone
    # removes nothing from its folder, the folder does.
    other = tmp_path / "wire"
    _write(other, "harbour.txt", _story("Harbour Strike", 5))
    assert ingest(settings, [other]).added == 1
    assert ingest(settings, [other / "harbour.txt"]).unchanged == 1
    (other / "harbour.txt").unlink()
    _write(other, "ferry.txt", _story("Ferry Fares", 2))
    assert ingest(settings, [other / "ferry.txt"]).removed == 0
    assert len(ChunkStore(settings=settings).article_heads()) == 5
    assert ingest(settings, [other]).removed == 1
    assert len(ChunkStore(settings=settings).article_heads()) == 4

    # Two files declaring the same id are one article: the first is kept, the other named.
    _write(desk, "zz-copy.md", "---\nid: story-17\n---\n" + _story("Copy", 2))
    report = ingest(settings, [desk])
    assert report.added == 0 and report.removed == 0
    [problem] = report.problems
    assert problem.path.endswith("zz-copy.md")
    assert problem.reason == "the same article as " + str(desk / "2024" / "known.md") + (
        " (id:story-17)"
    )


def test_an_index_of_the_old_path_identities_asks_for_a_rebuild(
    tmp_path: Path, corpus: Path
) -> None:
    settings = load_settings(data_dir=tmp_path / "data", sources=[corpus])
    ingest(settings, [corpus])
    store = ChunkStore(settings=settings)
    store.collection.modify(metadata={**store.collection.metadata, "format": "1"})

    with pytest.raises(IndexStateError, match=r"older version.*`assistant ingest --rebuild`"):
        ingest(settings, [corpus])
    assert not Assistant.open(settings).ask("What does the rail report for district 2?").refused
    rebuilt = ingest(settings, [corpus], rebuild=True)
    assert rebuilt.added == 2
    assert ChunkStore(settings=settings).info().format == STORE_FORMAT
