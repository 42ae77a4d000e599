"""The incremental keyword index: same scores as bm25s, changes cost what they touch, it
follows the store by difference, and crashes and concurrent readers never see half an article.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import bm25s
import pytest

from assistant import lexical
from assistant.chunking import chunk_id
from assistant.embeddings import WordLlamaEmbedder
from assistant.engine import Assistant, ingest
from assistant.indexing import Indexer
from assistant.lexical import LexicalIndex, top_positive
from assistant.locking import LOCK_FILE
from assistant.settings import Settings, load_settings
from assistant.text import terms
from tests.conftest import CountingStore, keyword_file, run_cli

# -- the scores are bm25s's --------------------------------------------------------------

Doc = tuple[str, str, list[str]]  # chunk id, article key, terms
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each index at DEBUG


def reference(docs: list[Doc], query: list[str], k: int) -> list[tuple[str, float]]:
    """What the bm25s index the engine used before answers for these chunks, in this order."""
    index = bm25s.BM25()
    index.index([t or ["\u2205"] for _, _, t in docs], show_progress=False)
    known = [t for t in query if t in index.vocab_dict]
    if not known:
        return []
    scores = index.get_scores(known)
    return [(docs[i][0], float(scores[i])) for i in top_positive(scores, k)]


def reference_idf(docs: list[Doc], term: str) -> float:
    """BM25's idf over the chunks (what the answerer and the grounding check weigh by)."""
    import math

    n = len(docs)
    df = sum(term in t for _, _, t in docs)
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def random_article(rng: random.Random, key: str, vocabulary: list[str]) -> list[Doc]:
    chunks = []
    for i in range(rng.randint(1, 6)):
        length = rng.choice([0, 1, 3, 8, 8, 12, 20])  # some chunks have no terms at all
        weights = [1 / (rank + 1) for rank in range(len(vocabulary))]  # Zipf: real ties
        chunks.append((f"{key}-{i:05d}", key, rng.choices(vocabulary, weights, k=length)))
    return chunks


def put(index: LexicalIndex, articles: dict[str, list[Doc]], flush_chunks: int = 10**6) -> None:
    changes = index.changes(flush_chunks)
    for key, chunks in articles.items():
        changes.put({key: {"doc_hash": key, "n_chunks": len(chunks)}}, chunks)
    changes.flush(store_version="v")


def assert_same_as_bm25s(index: LexicalIndex, docs: list[Doc], vocabulary: list[str]) -> None:
    rng = random.Random(len(docs))
    queries = [rng.sample(vocabulary, rng.randint(1, 5)) for _ in range(40)]
    queries += [[vocabulary[0], vocabulary[0]], ["never-seen"], [vocabulary[-1], "never-seen"]]
    for query in queries:
        for k in (1, 8, 30, 10_000):
            assert index.search(query, k) == reference(docs, query, k), (query, k)
    for term in [*vocabulary, "never-seen"]:
        assert index.idf(term) == pytest.approx(reference_idf(docs, term), rel=1e-12)
        assert index.knows(term) == any(term in t for _, _, t in docs)
    once = [(docs[0][0], docs[0][1], [*docs[0][2], "once"]), *docs[1:]]  # in one chunk
    assert index.rare_idf() == pytest.approx(reference_idf(once, "once"), rel=1e-12)


def test_scores_ties_and_idf_are_those_of_bm25s_through_adds_replacements_and_removals(
    tmp_path: Path,
) -> None:
    rng = random.Random(7)
    vocabulary = [f"w{i}" for i in range(60)]
    index = LexicalIndex.open(tmp_path / "keywords.sqlite3")
    articles = {f"a{i}": random_article(rng, f"a{i}", vocabulary) for i in range(40)}
    put(index, articles, flush_chunks=25)  # several transactions
    order = [doc for chunks in articles.values() for doc in chunks]
    assert_same_as_bm25s(index, order, vocabulary)

    # Remove some articles, replace others, add new ones one by one (each a block that the
    # binary counter merges): a replaced article's chunks go to the end of the order.
    for step in range(30):
        key = f"a{rng.randrange(40)}" if step % 3 else f"n{step}"
        order = [doc for doc in order if doc[1] != key]
        if step % 3 == 1:
            changes = index.changes()
            changes.remove(key)
            changes.flush()
        else:
            fresh = random_article(rng, key, vocabulary)
            put(index, {key: fresh})
            order += fresh
        assert_same_as_bm25s(index, order, vocabulary)


def test_many_removals_rebuild_the_postings_and_keep_the_order(tmp_path: Path) -> None:
    rng = random.Random(11)
    vocabulary = [f"w{i}" for i in range(30)]
    index = LexicalIndex.open(tmp_path / "keywords.sqlite3")
    articles = {f"a{i}": random_article(rng, f"a{i}", vocabulary) for i in range(30)}
    put(index, articles)
    changes = index.changes()
    for i in range(0, 30, 3):
        changes.remove(f"a{i}")
        del articles[f"a{i}"]
    changes.flush()
    stats = index.stats()
    assert stats.leftover == 0 and stats.next_doc == stats.docs + 1  # rebuilt, renumbered
    assert_same_as_bm25s(index, [d for chunks in articles.values() for d in chunks], vocabulary)


def test_blocks_per_term_stay_few_as_articles_arrive_one_at_a_time(tmp_path: Path) -> None:
    index = LexicalIndex.open(tmp_path / "keywords.sqlite3")
    for i in range(300):
        put(index, {f"a{i}": [(f"a{i}-00000", f"a{i}", ["common", f"own{i}"])]})
    import sqlite3

    with sqlite3.connect(index.path) as db:
        (blocks,) = db.execute("SELECT count(*) FROM postings WHERE term = 'common'").fetchone()
    assert blocks <= 9  # about log2(300); without merging it would be 300
    assert len(index.search(["common"], 1000)) == 300


# -- ingest: changes go straight in, nothing is read back -----------------------------


def write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def story(word: str, sentences: int = 6) -> str:
    body = " ".join(
        f"The {word} council reports figure {i} for the harbour district." for i in range(sentences)
    )
    return f"The {word} report\n\n{body}\n"


def indexer_for(settings: Settings) -> tuple[Indexer, CountingStore]:
    store = CountingStore(settings=settings)
    return Indexer(settings=settings, store=store, embedder=WordLlamaEmbedder()), store


def found(index: LexicalIndex, word: str) -> set[str]:
    return {cid.rsplit("-", 1)[0] for cid, _ in index.search(terms(word), 100)}


def test_an_ingest_writes_its_articles_into_the_keyword_index_and_reads_nothing_back(
    tmp_path: Path,
) -> None:
    news = tmp_path / "news"
    for word in ("alpha", "bravo", "charlie", "delta"):
        write(news, f"{word}.txt", story(word))
    settings = load_settings(data_dir=tmp_path / "data", sources=[news])
    ingest(settings, [news])

    write(news, "echo.txt", story("zanzibarite"))  # one new article
    indexer, store = indexer_for(settings)
    report = indexer.ingest([news])
    assert (report.added, report.unchanged) == (1, 4)
    assert store.calls == []  # no heads, no documents read back from the store
    keywords = LexicalIndex.open(keyword_file(tmp_path / "data"))
    assert len(found(keywords, "zanzibarite")) == 1
    assert keywords.store_version == store.info().version

    # Changed: found by its new words only. Removed: not found at all.
    write(news, "alpha.txt", story("quokkaland"))
    (news / "bravo.txt").unlink()
    indexer, store = indexer_for(settings)
    report = indexer.ingest([news])
    assert (report.updated, report.removed) == (1, 1) and store.calls == []
    assert found(keywords, "quokkaland") and not found(keywords, "alpha")
    assert not found(keywords, "bravo")
    assert found(keywords, "charlie") and found(keywords, "zanzibarite")
    assert not keywords.knows(terms("bravo")[0]) and keywords.knows(terms("quokkaland")[0])
    assert set(keywords.documents()) == set(store_chunk_ids(settings))

    # The engine answers from it.
    answer = Assistant.open(settings).ask("What does the quokkaland council report?")
    assert not answer.refused and "quokkaland" in answer.text.lower()


def test_an_ingest_reads_the_ledger_of_its_own_folder_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk, wire = tmp_path / "desk", tmp_path / "wire"
    for word in ("alpha", "bravo", "charlie"):
        write(desk, f"{word}.txt", story(word))
    write(wire, "delta.txt", story("delta"))
    settings = load_settings(data_dir=tmp_path / "data")
    ingest(settings, [desk])
    ingest(settings, [wire])
    read: list[set[str]] = []
    real = LexicalIndex.heads

    def heads(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        found = real(self, *args, **kwargs)
        read.append(set(found))
        return found

    monkeypatch.setattr(LexicalIndex, "heads", heads)
    write(wire, "echo.txt", story("echo"))
    report = ingest(settings, [wire])
    assert (report.added, report.unchanged, report.articles_total) == (1, 1, 5)
    assert read == [{"wire/delta.txt"}]  # not the desk's three


def store_chunk_ids(settings: Settings) -> list[str]:
    return [cid for cid, _ in CountingStore(settings=settings).scan_documents()]


def test_sync_by_difference_reads_back_only_what_another_writer_changed(tmp_path: Path) -> None:
    """Two data directories, one store: each its own keyword index, as two hosts on one
    Chroma server have."""
    news = tmp_path / "news"
    for word in ("alpha", "bravo", "charlie", "delta"):
        write(news, f"{word}.txt", story(word))
    shared = tmp_path / "shared-chroma"
    here = load_settings(data_dir=tmp_path / "here", chroma_path=shared, sources=[news])
    there = load_settings(data_dir=tmp_path / "there", chroma_path=shared, sources=[news])
    ingest(here, [news])
    reader, store = indexer_for(there)
    keywords = reader.ensure_lexical(store.info().version)  # built from the store
    assert found(keywords, "alpha") and store.calls == ["article_heads", "scan_documents"]

    # Nothing changed: one small read of the collection's metadata, nothing else.
    store.calls.clear()
    assert reader.sync_lexical() is False and store.calls == []

    write(news, "alpha.txt", story("quokkaland"))
    (news / "bravo.txt").unlink()
    write(news, "echo.txt", story("zanzibarite"))
    ingest(here, [news])  # the other writer
    assert not found(keywords, "zanzibarite")
    with (tmp_path / "there" / LOCK_FILE).open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # an ingest into this data directory is writing:
        assert reader.sync_lexical() is False  # it is left to bring the index in step
    assert not found(keywords, "zanzibarite")
    store.fetched.clear()
    assert reader.sync_lexical() is True
    read_back = {cid.rsplit("-", 1)[0] for cid in store.fetched}
    assert read_back == found(keywords, "zanzibarite") | found(keywords, "quokkaland")
    assert found(keywords, "zanzibarite") and found(keywords, "quokkaland")
    assert not found(keywords, "alpha") and not found(keywords, "bravo")
    theirs = LexicalIndex.open(keyword_file(tmp_path / "here"))
    assert keywords.documents() == theirs.documents()
    assert keywords.heads() == theirs.heads()
    assert keywords.store_version == theirs.store_version
    store.calls.clear()
    assert reader.sync_lexical() is False and store.calls == []


# -- crashes ------------------------------------------------------------------------------

CRASH = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from assistant import indexing, lexical
    from assistant.engine import ingest
    from assistant.settings import load_settings
    from assistant.store import ChunkStore

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    where = sys.argv[1]
    if where == "inside-the-keyword-transaction":  # chunk rows written, postings not yet
        lexical._add_blocks = die
    elif where == "between-keyword-transactions":  # one article per transaction; the 2nd dies
        indexing.WRITE_BATCH_CHUNKS = lexical.FLUSH_CHUNKS = 1
        add_blocks, calls = lexical._add_blocks, []
        def second_dies(*args):
            calls.append(args)
            return die() if len(calls) > 1 else add_blocks(*args)
        lexical._add_blocks = second_dies
    elif where == "after-the-store-writes":  # the store has the articles, the index not
        flush = lexical.Changes.flush
        lexical.Changes.flush = lambda self, **kw: die() if self._heads else flush(self, **kw)
    else:  # "before-the-bookkeeping": all stored, the store not yet settled
        ChunkStore.mark_changed = die
    news = Path(sys.argv[2])
    ingest(load_settings(data_dir=Path(sys.argv[3]), sources=[news]), [news])
    """
)


def articles_in(index: LexicalIndex) -> dict[str, dict[str, list[str]]]:
    """Per article key, its chunks' terms by chunk id."""
    documents = index.documents()
    return {
        key: {cid: t for cid, t in documents.items() if cid.startswith(chunk_id(key, 0)[:-5])}
        for key in index.heads()
    }


def keyword_state(data: Path) -> dict[str, object]:
    """All a keyword index holds that answers depend on (numbering aside)."""
    index = LexicalIndex.open(keyword_file(data))
    documents = index.documents()
    words = sorted({t for doc in documents.values() for t in doc})
    stats = index.stats()
    return {
        "heads": index.heads(),
        "documents": documents,
        "docs": stats.docs,
        "length": stats.length,
        "idf": {t: index.idf(t) for t in words},
        "scores": {t: dict(index.search([t, words[0]], 10_000)) for t in words},
        "store_version": index.store_version != "",
    }


@pytest.mark.parametrize(
    "where",
    [
        "after-the-store-writes",
        "inside-the-keyword-transaction",
        "between-keyword-transactions",
        "before-the-bookkeeping",
    ],
)
def test_kill_9_mid_update_then_a_rerun_ends_as_a_clean_build(tmp_path: Path, where: str) -> None:
    news = tmp_path / "news"
    for word in ("alpha", "bravo", "charlie", "delta"):
        write(news, f"{word}.txt", story(word))
    data = tmp_path / "data"
    run_cli("ingest", "news", cwd=tmp_path, data=data)
    before = articles_in(LexicalIndex.open(keyword_file(data)))
    write(news, "alpha.txt", story("quokkaland", sentences=9))
    write(news, "charlie.txt", story("wombatville", sentences=3))
    (news / "bravo.txt").unlink()
    write(news, "echo.txt", story("zanzibarite"))

    crashed = subprocess.run(
        [sys.executable, "-c", CRASH, where, "news", str(data)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    after_crash = LexicalIndex.open(keyword_file(data))
    crashed_articles = articles_in(after_crash)
    assert after_crash.store_version == ""  # not trusted until an ingest completes

    run_cli("ingest", "news", cwd=tmp_path, data=data)
    clean = tmp_path / "clean"
    run_cli("ingest", "news", cwd=tmp_path, data=clean)
    assert keyword_state(data) == keyword_state(clean)
    # What the crash left: every article as it was, or as it is now; never half of one.
    now = articles_in(LexicalIndex.open(keyword_file(clean)))
    assert all(crashed_articles[key] in (before.get(key), now.get(key)) for key in crashed_articles)
    if where == "between-keyword-transactions":  # the first transaction's article is in
        assert crashed_articles != before
    question = "What does the quokkaland council report?"
    assert (
        json.loads(run_cli("ask", question, "--json", cwd=tmp_path, data=data).stdout)["answer"]
        == json.loads(run_cli("ask", question, "--json", cwd=tmp_path, data=clean).stdout)["answer"]
    )


# -- readers while a writer works -----------------------------------------------------------

FLIP = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from assistant.lexical import LexicalIndex

    index = LexicalIndex.open(Path(sys.argv[1]))
    for i in range(int(sys.argv[2])):
        word, n = ("alpha", 5) if i % 2 else ("beta", 3)
        chunks = [(f"x-{j:05d}", "x", [word, f"w{j}", "filler"]) for j in range(n)]
        changes = index.changes()
        changes.put({"x": {"doc_hash": str(i), "n_chunks": n}}, chunks)
        changes.flush(store_version=str(i))
    """
)


def test_readers_see_an_article_whole_while_another_process_rewrites_it(tmp_path: Path) -> None:
    path = tmp_path / "keywords.sqlite3"
    index = LexicalIndex.open(path)
    put(index, {"x": [(f"x-{j:05d}", "x", ["alpha", f"w{j}", "filler"]) for j in range(5)]})
    put(index, {"y": [("y-00000", "y", ["filler", "other"])]})
    writer = subprocess.Popen([sys.executable, "-c", FLIP, str(path), "400"])
    seen: set[int] = set()
    reads = 0
    while writer.poll() is None or reads < 50:
        hits = index.search(["alpha", "beta", "filler"], 10)  # one read: x's chunks and y's
        x = [score for cid, score in hits if cid.startswith("x-")]
        assert len(hits) == len(x) + 1 and len(x) in (3, 5), hits
        assert len(set(x)) == 1  # all x's chunks from one state: equal scores
        seen.add(len(x))
        reads += 1
    assert writer.returncode == 0
    assert seen == {3, 5}  # both states were seen while the writer worked, and nothing else


def test_a_question_asked_while_an_ingest_writes_is_answered(tmp_path: Path) -> None:
    news = tmp_path / "news"
    for i in range(3):
        write(news, f"base-{i}.txt", story(f"base{i}"))
    data = tmp_path / "data"
    run_cli("ingest", "news", cwd=tmp_path, data=data)
    for i in range(40):
        write(news, f"more-{i}.txt", story(f"more{i}", sentences=12))
    writing = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "ingest", "news"],
        cwd=tmp_path,
        env={**os.environ, "ASSISTANT_DATA_DIR": str(data)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    answers = []
    while writing.poll() is None or not answers:
        answers.append(
            run_cli("ask", "What does the base1 council report?", cwd=tmp_path, data=data)
        )
        time.sleep(0.1)
    _, err = writing.communicate(timeout=300)
    assert writing.returncode == 0, err
    assert all("base1" in a.stdout.lower() and "Traceback" not in a.stderr for a in answers)


def test_a_file_that_goes_bad_under_a_reader_costs_keyword_results_not_the_question(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    index = LexicalIndex.open(tmp_path / "keywords.sqlite3")
    put(index, {"x": [("x-00000", "x", ["alpha"])]})
    assert index.search(["alpha"], 3)
    index.close()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"keywords.sqlite3{suffix}").unlink(missing_ok=True)
    (tmp_path / "keywords.sqlite3").write_bytes(b"garbage" * 1000)
    assert index.search(["alpha"], 3) == []
    assert "cannot be read" in caplog.text
    assert LexicalIndex.open(tmp_path / "keywords.sqlite3").search(["alpha"], 3) == []
    assert "is damaged" in caplog.text


def test_idf_follows_what_this_object_wrote_without_a_search_between(tmp_path: Path) -> None:
    """The engine computes rare_idf() once, right after a first ingest in the same process."""
    writer = LexicalIndex.open(tmp_path / "keywords.sqlite3")
    put(writer, {f"a{i}": [(f"a{i}-00000", f"a{i}", ["common", f"own{i}"])] for i in range(9)})
    fresh = LexicalIndex.open(tmp_path / "keywords.sqlite3")
    assert writer.rare_idf() == fresh.rare_idf() != LexicalIndex.open(tmp_path / "x").rare_idf()
    assert writer.idf("common") == fresh.idf("common") and writer.knows("own3")


def test_the_engine_built_in_this_process_weighs_terms_as_a_reopened_index(
    tmp_path: Path,
) -> None:
    news = tmp_path / "news"
    for word in ("alpha", "bravo", "charlie"):
        write(news, f"{word}.txt", story(word))
    settings = load_settings(data_dir=tmp_path / "data", sources=[news])
    indexer, store = indexer_for(settings)
    indexer.ingest([news])
    built = indexer.ensure_lexical(store.info().version)
    reopened = LexicalIndex.open(keyword_file(tmp_path / "data"))
    assert built.rare_idf() == reopened.rare_idf()
    assert [built.idf(t) for t in ("alpha", "council", "nothing")] == [
        reopened.idf(t) for t in ("alpha", "council", "nothing")
    ]


def test_the_flush_size_only_changes_how_many_transactions(tmp_path: Path) -> None:
    rng = random.Random(3)
    vocabulary = [f"w{i}" for i in range(40)]
    articles = {f"a{i}": random_article(rng, f"a{i}", vocabulary) for i in range(25)}
    one = LexicalIndex.open(tmp_path / "one.sqlite3")
    many = LexicalIndex.open(tmp_path / "many.sqlite3")
    put(one, articles)
    put(many, articles, flush_chunks=4)
    assert many.stats().generation > one.stats().generation
    for word in vocabulary:
        assert one.search([word], 50) == many.search([word], 50)


def test_lexical_module_constants_are_bm25s_defaults() -> None:
    assert (bm25s.BM25().k1, bm25s.BM25().b) == (lexical.K1, lexical.B)
