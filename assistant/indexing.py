"""Incremental ingest: articles -> sentence-aligned chunks -> vectors in Chroma + BM25.

The keyword index (assistant.lexical) follows the store article by article: an ingest
writes each article's terms into it right after the store, and the index's ledger (per
article the metadata of the store's head chunk, and the store version it matches) is what
the next ingest plans from, instead of reading every head back from Chroma (seconds at
10,000 articles). When the ledger does not match the store's version (another process or
host changed the store, a crash, a new or damaged keyword file), the two are compared and
only the articles whose content differs are read back from the store.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from assistant.ahead import ChunksAhead
from assistant.chunking import Chunk, article_metadata, chunk_article, chunk_id
from assistant.corpus import (
    Article,
    LoadProblem,
    corpus_name,
    corpus_root,
    load_corpus,
    load_files,
)
from assistant.embeddings import Embedder, WordLlamaEmbedder
from assistant.errors import CorpusError, DamagedIndexError, IndexStateError
from assistant.lexical import Changes, LexicalIndex
from assistant.locking import ingest_lock, ingest_lock_if_free
from assistant.settings import Settings
from assistant.store import ChunkStore, article_key
from assistant.text import normalise, terms

Progress = Callable[[str, int, int], None]
# Below this many articles to write, a worker process costs more than it saves (~2 s start).
WORKER_MIN_ARTICLES = 300
# Chunks per write: Chroma's embedded store takes at most 5,461 per call, and 4,096 per call
# ingests ~7% faster than 1,024 (fewer transactions).
WRITE_BATCH_CHUNKS = 4096
log = logging.getLogger(__name__)


def no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class ArticleChange:
    """What an ingest did to one article: "added", "updated", "removed" or "moved" (an
    unchanged article whose file is now `file`, was `was`)."""

    what: str
    file: str
    was: str = ""


@dataclass(frozen=True)
class FolderChanges:
    """What changed under one corpus folder since it was last ingested, as a watcher saw it."""

    folder: Path  # the corpus folder (its name is part of its articles' identity)
    files: tuple[Path, ...] = ()  # article files under it to read: new or changed
    gone: tuple[Path, ...] = ()  # files or folders under it deleted or moved away


@dataclass
class _Selection:
    """What one ingest reads, and where it looks for stored articles whose file is gone.

    An ordinary ingest reads whole corpus paths (`whole`): every stored article of those
    folders whose file no longer exists is removed. A targeted one (`targeted`) reads some
    files of a folder and looks only at the stored articles whose file was one of `gone`.
    """

    articles: list[Article]
    problems: list[LoadProblem]
    whole: list[Path] = field(default_factory=list)
    targeted: list[FolderChanges] = field(default_factory=list)

    @property
    def folders(self) -> set[str]:
        """The corpus names of the folders read whole."""
        return {corpus_name(corpus_root(p)) for p in self.whole if p.is_dir()}

    def widened(self, folders: set[Path]) -> _Selection:
        """The same, with the targeted changes of these folders read as whole folders."""
        keep = [c for c in self.targeted if c.folder not in folders]
        names = {corpus_name(corpus_root(f)) for f in folders}
        loaded = load_corpus(sorted(folders))
        return _Selection(
            articles=[a for a in self.articles if a.corpus not in names] + loaded.articles,
            problems=list(dict.fromkeys([*self.problems, *loaded.problems])),  # once each
            whole=[*self.whole, *sorted(folders)],
            targeted=keep,
        )


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks_written: int = 0
    chunks_total: int = 0
    articles_total: int = 0
    seconds: float = 0.0
    problems: list[LoadProblem] = field(default_factory=list)
    # Each article added, updated, removed or moved (files are absolute, as stored).
    articles: list[ArticleChange] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.removed} removed; {self.chunks_written} chunks written, "
            f"{self.chunks_total} in index; {self.seconds:.1f}s"
        )


class Indexer:
    def __init__(self, *, settings: Settings, store: ChunkStore, embedder: Embedder) -> None:
        self._settings = settings
        self._store = store
        self._embedder = embedder
        self._keywords: LexicalIndex | None = None
        # The store version the last ingest through this object left; "" after a failure.
        self._left: str | None = None

    def ingest(
        self,
        paths: Sequence[Path] | None = None,
        *,
        rebuild: bool = False,
        progress: Progress = no_progress,
    ) -> IngestReport:
        """Bring the index in line with the corpus paths (default: the configured sources).

        One ingest at a time per data directory (the others wait). With rebuild, a damaged
        embedded store is moved aside and built afresh.
        """
        started = time.perf_counter()
        paths = list(paths or self._settings.sources)
        corpus = load_corpus(paths)
        if not corpus.articles and not corpus.problems and not paths:
            raise CorpusError("no corpus paths given")
        selection = _Selection(corpus.articles, corpus.problems, whole=paths)
        return self._ingest_locked(selection, rebuild=rebuild, progress=progress, started=started)

    def ingest_changes(
        self, changes: Sequence[FolderChanges], *, progress: Progress = no_progress
    ) -> IngestReport:
        """Bring the index in line with what changed in corpus folders, reading only the files
        named: the same articles, with the same identities, as ingesting the folders whole
        would give (a later `ingest` of them finds nothing to do).

        The stored articles whose file was one of `gone` (or under one) and no longer exists
        are removed; nothing else of the folders is read. When a file read declares the
        identity of another file that still exists, its folder is read whole instead, so
        that the same one of the two wins as in an ordinary ingest.
        """
        started = time.perf_counter()
        articles: list[Article] = []
        problems: list[LoadProblem] = []
        for change in changes:
            loaded = load_files(change.folder, change.files)
            articles += loaded.articles
            problems += loaded.problems
        selection = _Selection(articles, problems, targeted=list(changes))
        return self._ingest_locked(selection, rebuild=False, progress=progress, started=started)

    def _ingest_locked(
        self, selection: _Selection, *, rebuild: bool, progress: Progress, started: float
    ) -> IngestReport:
        """_ingest under this data directory's ingest lock; with rebuild, a damaged embedded
        store is moved aside and built afresh."""
        with ingest_lock(
            self._settings.data_dir,
            timeout=self._settings.ingest_lock_timeout,
            on_wait=log.warning,
        ):
            # Before the store is opened: the child must be forked before chromadb loads.
            ahead = (
                ChunksAhead.start(selection.articles, chunk_tokens=self._settings.chunk_tokens)
                if self._settings.ingest_chunk_ahead
                else None
            )
            try:
                self._reopen_store_unless_as_left()
                self._left = ""
                try:
                    report = self._ingest(
                        selection, rebuild=rebuild, progress=progress, ahead=ahead
                    )
                except DamagedIndexError as exc:
                    if not rebuild or self._settings.chroma_url:
                        raise
                    moved = self._store.move_aside()
                    log.warning(
                        "%s; moved it to %s and building a fresh one",
                        str(exc).split("; run `", 1)[0],
                        moved,
                    )
                    report = self._ingest(selection, rebuild=True, progress=progress, ahead=ahead)
            finally:
                if ahead is not None:
                    ahead.close()
        report.seconds = time.perf_counter() - started
        return report

    def _reopen_store_unless_as_left(self) -> None:
        """For an Indexer used for one ingest after another (`ingest --watch`): keep the
        embedded store open while it is at the version the last ingest left, else open it
        afresh. chromadb reads an embedded store's vector index once per process: another
        process's writes since would be missing from that copy, and writing through it would
        lose them. Keeping it saves reopening the store (~1 s at 10,000 articles)."""
        if self._left is None or self._settings.chroma_url:
            return  # the first ingest; a Chroma server answers every client from its data
        if not self._left or self._store.refresh().marker != self._left:
            self._store.reconnect()

    def _ingest(
        self,
        selection: _Selection,
        *,
        rebuild: bool,
        progress: Progress,
        ahead: ChunksAhead | None = None,
    ) -> IngestReport:
        report = IngestReport()
        if rebuild:
            self._store.drop()
            self._store.remove_orphan_segments()
        self._open_store()
        recorded = self._store.info(derive=False)
        keywords = self._open_keywords(reset=rebuild)
        self._sync(keywords, recorded.version, progress)
        heads = self._ledger_heads(keywords, selection)
        clashes = _clashing_folders(selection, heads)
        if clashes:
            selection = selection.widened(clashes)
            heads = self._ledger_heads(keywords, selection)
        articles = selection.articles
        report.problems = selection.problems
        folders = selection.folders | {
            corpus_name(corpus_root(c.folder)) for c in selection.targeted
        }
        todo, moved = self._plan(articles, heads, report)
        gone = self._missing(folders, articles, heads)
        stored_articles = keywords.article_count()
        # Only a collection that records no chunks may be empty (count() is 0.4 s, cold, at
        # 200,000 chunks); one that records some but holds none is written as a full one.
        fresh = recorded.chunks == 0 and self._store.count() == 0
        if todo and not fresh:
            self._store.load_ahead()  # beside llama-index's import and the chunking
        progress("articles", 0, len(todo))
        # The first batch (all of a small ingest) is chunked and embedded before the store is
        # touched: any use of it waits for the vector index to load (ChunkStore.load_ahead),
        # and llama-index's import (~1.3 s) can go on meanwhile.
        batches = _first_ready(self._prepared(todo, ahead=ahead))
        marker = ""
        if todo or gone:
            keywords.forget_store_version()
            marker = self._store.begin_changes()  # a crash from here on leaves the store unsettled
        changes = keywords.changes()
        self._write(batches, len(todo), heads, report, progress, changes, fresh=fresh)
        self._remove(gone, heads, report, changes)
        self._relocate(moved, heads, changes)
        report.chunks_total = self._store.count()
        report.articles_total = stored_articles + report.added - report.removed
        counted = (recorded.articles, recorded.chunks) == (
            report.articles_total,
            report.chunks_total,
        )
        # Another host writing to the same Chroma server meanwhile replaced our marker.
        interfered = bool(marker) and self._store.refresh().marker != marker
        if report.changed or rebuild or not recorded.settled or not counted:
            version = self._store.mark_changed(
                articles=report.articles_total, chunks=report.chunks_total
            )
        else:
            version = recorded.version
        if todo or gone:
            progress("lexical index", 0, 1)
        changes.flush(store_version="" if interfered else version)
        if todo or gone:
            progress("lexical index", 1, 1)
        if interfered:
            self._sync(keywords, version, progress)
        self._left = version
        return report

    @staticmethod
    def _ledger_heads(keywords: LexicalIndex, selection: _Selection) -> dict[str, dict]:
        """The store's heads, as the keyword index's ledger has them: of the articles read,
        of the folders read whole and of the files gone (where a deleted file's article is
        found), not of every article."""
        heads = keywords.heads([a.key for a in selection.articles], corpora=selection.folders)
        for change in selection.targeted:
            gone = [_stored_path(path) for path in change.gone]
            heads.update(keywords.heads_of_files(corpus_name(corpus_root(change.folder)), gone))
        return heads

    def _open_store(self) -> None:
        """Create the collection, or check that this ingest may update the existing one."""
        if not self._store.exists():
            self._store.create(
                embed_backend=self._embedder.backend,
                embed_model=self._embedder.model,
                embed_dim=self._embedder.dim,
            )
            return
        self._store.check_embedder(
            backend=self._embedder.backend, model=self._embedder.model, dim=None
        )
        try:
            self._store.check_format()
        except IndexStateError:
            if self._store.count():
                raise
            self._store.drop()  # an empty index of the old format: nothing to keep
            self._open_store()

    def ensure_lexical(self, version: str, *, progress: Progress = no_progress) -> LexicalIndex:
        """The keyword index, in step with the store at `version` ("" while an ingest is
        under way or did not finish): opened, and brought in step by difference when it
        records another version (or was missing or damaged: then from nothing)."""
        if not version:
            log.warning(
                "an ingest into %s is under way or did not finish (run `assistant ingest` to "
                "complete it); answering from what is stored so far",
                self._settings.chroma_url or self._settings.chroma_dir,
            )
        keywords = self._open_keywords()
        self._sync_unless_ingesting(keywords, version, progress)
        keywords.stats()  # idf() and rare_idf() as the index is now
        return keywords

    def sync_lexical(self, progress: Progress = no_progress) -> bool:
        """Bring the keyword index in step with the store as it is now; True when it changed.

        For a process that keeps running while others ingest (into the same data directory,
        or from other hosts into the same Chroma server). When the store's version is the
        one the keyword index records, this costs one small read of the collection's
        metadata; otherwise the articles whose content hash differs are read back, and no
        others. While an ingest holds this data directory's lock it does nothing (False):
        that ingest writes the keyword index itself. Searches of an open LexicalIndex see a
        change at once; what was computed from it beforehand (such as rare_idf()) is the
        caller's to renew.
        """
        version = self._store.refresh().version
        return self._sync_unless_ingesting(self._open_keywords(), version, progress)

    def _sync_unless_ingesting(
        self, keywords: LexicalIndex, version: str, progress: Progress
    ) -> bool:
        """_sync, unless the index is in step or an ingest is writing to this data directory
        (its own writes would race with ours: it brings the index in step when it ends)."""
        if version and keywords.store_version == version:
            return False
        with ingest_lock_if_free(self._settings.data_dir) as free:
            return free and self._sync(keywords, version, progress)

    def _open_keywords(self, *, reset: bool = False) -> LexicalIndex:
        if self._keywords is None or reset:
            directory = self._settings.bm25_dir
            self._keywords = LexicalIndex.open(
                directory / f"{self._store_key()}.sqlite3", reset=reset
            )
            # Earlier versions kept a bm25s index in a folder of that name: a stale cache.
            shutil.rmtree(directory / self._store_key(), ignore_errors=True)
        return self._keywords

    def _sync(self, keywords: LexicalIndex, version: str, progress: Progress) -> bool:
        """Compare the store's heads with the keyword index's ledger and apply the difference,
        unless the index records `version`. True when the ledger changed."""
        if version and keywords.store_version == version:
            return False
        heads = self._store.article_heads()
        mine = keywords.heads()
        if heads and not mine:
            self._rebuild(keywords, heads, version, progress)
            return True
        stale = [key for key, head in heads.items() if _content(mine.get(key)) != _content(head)]
        gone = [key for key in mine if key not in heads]
        moved = {
            key: head
            for key, head in heads.items()
            if key in mine and head != mine[key] and _content(mine[key]) == _content(head)
        }
        if stale:
            progress("lexical index", 0, len(stale))
        changes = keywords.changes()
        done = 0
        for batch in _runs(stale, heads, WRITE_BATCH_CHUNKS):
            owner = {chunk_id(key, i): key for key in batch for i in range(_content(heads[key])[1])}
            stored = self._store.get(list(owner))
            changes.put(
                {key: heads[key] for key in batch},
                ((chunk.id, owner[chunk.id], terms(chunk.text)) for chunk in stored),
            )
            done += len(batch)
            progress("lexical index", done, len(stale))
        for key in gone:
            changes.remove(key)
        for key, head in moved.items():
            changes.relocate(key, head)
        changes.flush(store_version=version)
        if stale or gone:
            log.info(
                "keyword index: %d article(s) read back from the store, %d removed",
                len(stale),
                len(gone),
            )
        return bool(stale or gone or moved)

    def _rebuild(
        self, keywords: LexicalIndex, heads: dict[str, dict], version: str, progress: Progress
    ) -> None:
        """Fill an empty keyword index with every complete article, in the store's order: the
        order a clean build writes them in, which decides ties in BM25 rankings."""
        owner = {
            chunk_id(key, i): key for key, head in heads.items() for i in range(_content(head)[1])
        }
        changes = keywords.changes()
        pending: list[tuple[str, str, list[str]]] = []
        waiting: dict[str, int] = {}  # chunks still to come of the articles pending
        done = 0
        progress("lexical index", 0, len(heads))
        for cid, text in self._store.scan_documents():
            key = owner.get(cid)
            if key is None:
                continue  # of an article whose write never finished
            waiting[key] = waiting.get(key, _content(heads[key])[1]) - 1
            pending.append((cid, key, terms(text)))
            if len(pending) >= WRITE_BATCH_CHUNKS and not any(waiting.values()):
                changes.put({k: heads[k] for k in waiting}, pending)  # whole articles only
                done += len(waiting)
                progress("lexical index", done, len(heads))
                pending, waiting = [], {}
        changes.put({k: heads[k] for k in waiting}, pending)
        changes.flush(store_version=version)
        progress("lexical index", len(heads), len(heads))
        log.info("keyword index: rebuilt from the store (%d articles)", len(heads))

    def _store_key(self) -> str:
        """One saved lexical index per collection and server; the version check guards it."""
        import hashlib

        if not self._settings.chroma_url:
            return self._settings.collection
        digest = hashlib.sha1(self._settings.chroma_url.encode()).hexdigest()[:10]
        return f"{self._settings.collection}-{digest}"

    def _plan(
        self, articles: list[Article], heads: dict[str, dict], report: IngestReport
    ) -> tuple[list[Article], list[Article]]:
        """Articles to write, and unchanged ones whose file has moved (metadata only)."""
        todo, moved = [], []
        for article in articles:
            head = heads.get(article.key)
            if head is None:
                report.added += 1
                report.articles.append(ArticleChange("added", article.file))
            elif head.get("doc_hash") != article.content_hash:
                report.updated += 1
                report.articles.append(ArticleChange("updated", article.file))
            else:
                report.unchanged += 1
                if head.get("file") != article.file:
                    was = str(head.get("file") or "")
                    report.articles.append(ArticleChange("moved", article.file, was))
                if (
                    head.get("file") != article.file
                    or head.get("corpus") != article.corpus
                    or any(
                        head.get(k) != v
                        for k, v in article.date_metadata().items()  # dates (issue 13)
                    )
                ):
                    moved.append(article)
                continue
            todo.append(article)
        return todo, moved

    def _write(
        self,
        batches: Iterator[PreparedBatch],
        articles: int,
        heads: dict[str, dict],
        report: IngestReport,
        progress: Progress,
        changes: Changes,
        *,
        fresh: bool,
    ) -> None:
        """Store the batches of `articles` articles (chunked and embedded as they come), then
        hand their terms to the keyword index."""
        done = 0
        for batch in batches:
            for key, n_chunks in batch.articles:
                old = int(heads.get(key, {}).get("n_chunks", 0))
                stale = [chunk_id(key, i) for i in range(n_chunks, old)]
                if stale:
                    self._store.delete(stale)
            self._store_batch(batch, fresh=fresh)
            report.chunks_written += len(batch.ids)
            changes.put(
                {article_key(meta): meta for meta in batch.metadatas[batch.head_start :]},
                (
                    (cid, article_key(meta), doc_terms)
                    for cid, meta, doc_terms in zip(
                        batch.ids, batch.metadatas, batch.terms, strict=True
                    )
                ),
            )
            done += len(batch.articles)
            progress("articles", done, articles)

    def _prepared(
        self, articles: list[Article], *, ahead: ChunksAhead | None
    ) -> Iterator[PreparedBatch]:
        """Batches ready to store: prepared in a worker process when that pays off, with
        the chunks cut ahead in a child when there is one."""
        options = PrepareOptions(
            chunk_tokens=self._settings.chunk_tokens, batch_chunks=WRITE_BATCH_CHUNKS
        )
        if _worth_a_worker(articles, self._embedder):
            model = self._embedder.model
            return prepared_in_worker(articles, options, model)
        chunker = ahead.chunk if ahead is not None else chunk_article
        return prepare_batches(articles, options, self._embedder.embed, chunker=chunker)

    def _store_batch(self, batch: PreparedBatch, *, fresh: bool) -> None:
        """Write chunk 0 of each article last: its hash marks the article complete.

        Into a collection that was empty when this ingest began nothing can collide, so
        the store adds (new=True), skipping upsert's existence checks (~25% of Chroma's time).
        """
        for lo, hi in ((0, batch.head_start), (batch.head_start, len(batch.ids))):
            if hi > lo:
                self._store.upsert(
                    batch.ids[lo:hi],
                    batch.vectors[lo:hi],
                    batch.texts[lo:hi],
                    batch.metadatas[lo:hi],
                    new=fresh,
                )

    def _missing(
        self, folders: set[str], articles: list[Article], heads: dict[str, dict]
    ) -> list[str]:
        """Stored articles of the corpus folders given (by name) whose file is gone.

        A stored article belongs to the folder it was last ingested from (its `corpus`
        name). One whose file still exists but could not be read this time is kept, and so
        is everything when a single file, not a folder, is ingested.
        """
        present = {a.key for a in articles}
        return [
            key
            for key, head in heads.items()
            if key not in present
            and head.get("corpus") in folders
            and not Path(str(head.get("file") or head.get("source"))).exists()
        ]

    def _remove(
        self, keys: list[str], heads: dict[str, dict], report: IngestReport, changes: Changes
    ) -> None:
        for key in keys:
            n_chunks = int(heads[key].get("n_chunks", 0))
            self._store.delete(chunk_id(key, i) for i in range(n_chunks))
            changes.remove(key)
            report.removed += 1
            file = heads[key].get("file") or heads[key].get("source")
            report.articles.append(ArticleChange("removed", str(file)))

    def _relocate(self, articles: list[Article], heads: dict[str, dict], changes: Changes) -> None:
        """Point unchanged articles at where their files are now (no re-embedding)."""
        ids: list[str] = []
        metadatas: list[dict[str, Any]] = []
        for article in articles:
            where = {"source": article.source, "file": article.file, "corpus": article.corpus}
            where.update(article.date_metadata(), date=article.date)  # an index from before dates
            n_chunks = int(heads[article.key].get("n_chunks", 0))
            for i in [*range(1, n_chunks), 0]:  # the head last, as when writing
                ids.append(chunk_id(article.key, i))
                metadatas.append(where)
            changes.relocate(article.key, {**heads[article.key], **where})
        self._store.update_metadata(ids, metadatas)


def _first_ready(batches: Iterator[PreparedBatch]) -> Iterator[PreparedBatch]:
    """The same batches, the first of them prepared now."""
    first = next(batches, None)
    return iter(()) if first is None else itertools.chain([first], batches)


def _stored_path(path: Path) -> str:
    """A path as articles record their file (Article.file: symbolic links resolved), also for
    a path that no longer exists."""
    return Path(os.path.abspath(path)).resolve().as_posix()


def _clashing_folders(selection: _Selection, heads: Mapping[str, Mapping[str, Any]]) -> set[Path]:
    """Folders of a targeted selection where a file read declares the identity (front matter
    `id` or `url`) of an article stored from another file that still exists."""
    targeted = {corpus_name(corpus_root(c.folder)): c.folder for c in selection.targeted}
    clashes = set()
    for article in selection.articles:
        head = heads.get(article.key)
        stored = str(head.get("file") or "") if head else ""
        if (
            article.corpus in targeted
            and stored
            and stored != article.file
            and Path(stored).exists()
        ):
            clashes.add(targeted[article.corpus])
    return clashes


def _content(head: Mapping[str, Any] | None) -> tuple[str, int]:
    """What decides an article's chunks: its content hash and chunk count."""
    if head is None:
        return ("", 0)
    return (str(head.get("doc_hash") or ""), int(head.get("n_chunks") or 0))


def _runs(
    keys: list[str], heads: Mapping[str, Mapping[str, Any]], size: int
) -> Iterator[list[str]]:
    """The keys in order, in runs of articles holding about `size` chunks."""
    run: list[str] = []
    chunks = 0
    for key in keys:
        run.append(key)
        chunks += _content(heads[key])[1]
        if chunks >= size:
            yield run
            run, chunks = [], 0
    if run:
        yield run


# -- preparing chunks: in this process, or in a worker while this one writes ---------------


@dataclass(frozen=True)
class PrepareOptions:
    chunk_tokens: int
    batch_chunks: int
    terms: bool = True  # also each chunk's terms (else PreparedBatch.terms is empty)


@dataclass
class PreparedBatch:
    """Chunks of whole articles ready to store; chunks from head_start on are chunk 0s."""

    ids: list[str]
    texts: list[str]
    metadatas: list[dict[str, Any]]
    vectors: np.ndarray
    head_start: int
    articles: list[tuple[str, int]]  # (Article.key, number of chunks) of each article
    terms: list[list[str]]  # assistant.text.terms of each text, for the keyword index


def prepare_batches(
    articles: Sequence[Article],
    options: PrepareOptions,
    embed: Callable[[list[str]], np.ndarray],
    *,
    chunker: Callable[..., list[Chunk]] = chunk_article,
) -> Iterator[PreparedBatch]:
    """Chunk and embed articles, in batches of about options.batch_chunks chunks; `chunker`
    cuts an article as chunk_article() does (ChunksAhead.chunk: cut in a child already)."""
    pending: list[tuple[Chunk, int]] = []
    sources: list[tuple[str, int]] = []
    for article in articles:
        chunks = chunker(article, chunk_tokens=options.chunk_tokens)
        pending.extend((chunk, len(chunks)) for chunk in chunks)
        sources.append((article.key, len(chunks)))
        if len(pending) >= options.batch_chunks:
            yield _prepare(pending, sources, options, embed)
            pending, sources = [], []
    if sources:
        yield _prepare(pending, sources, options, embed)


def _prepare(
    batch: list[tuple[Chunk, int]],
    sources: list[tuple[str, int]],
    options: PrepareOptions,
    embed: Callable[[list[str]], np.ndarray],
) -> PreparedBatch:
    ordered = sorted(batch, key=lambda item: item[0].index == 0)
    shared: dict[str, dict[str, Any]] = {}  # what every chunk of an article carries
    for chunk, _ in batch:
        if chunk.article.key not in shared:
            shared[chunk.article.key] = article_metadata(chunk.article)
    texts = [chunk.text for chunk, _ in ordered]
    heads = [i for i, (chunk, _) in enumerate(ordered) if chunk.index == 0]
    return PreparedBatch(
        ids=[chunk.id for chunk, _ in ordered],
        texts=texts,
        metadatas=[chunk.metadata(n, shared[chunk.article.key]) for chunk, n in ordered],
        vectors=embed([normalise(text) for text in texts]),
        head_start=heads[0] if heads else len(ordered),
        articles=sources,
        terms=[terms(text) for text in texts] if options.terms else [],
    )


def _worth_a_worker(articles: Sequence[Article], embedder: Embedder) -> bool:
    """A worker process pays off for big ingests with the local embedder on 2+ cores.

    Chroma's embedded writes hold the GIL, so a thread would not overlap them; a process
    does. Only wordllama is rebuilt in the worker: it gives the very same vectors there.
    """
    return (
        len(articles) >= WORKER_MIN_ARTICLES
        and (os.cpu_count() or 1) > 1
        and type(embedder) is WordLlamaEmbedder
    )


def prepared_in_worker(
    articles: Sequence[Article], options: PrepareOptions, model: str
) -> Iterator[PreparedBatch]:
    """prepare_batches() run in a spawned process; at most two batches wait in the queue.

    The chunks' terms are found here, not in the worker: splitting and embedding keep the
    worker busier than the store's writes keep this process (a profile at 10,000 articles:
    worker ~2.7 times the main process's Python time, a quarter of it the terms), and the
    terms need not be pickled through the queue.

    The worker holds the read end of a pipe whose only write end is here: when this process
    ends in any way (kill -9 included) the pipe closes and the worker exits, and with it
    the last user of multiprocessing's resource tracker, which then exits too.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # never fork a process running Chroma
    batches = context.Queue(maxsize=2)
    lifeline, keep_alive = context.Pipe(duplex=False)
    worker = context.Process(
        target=_prepare_in_worker,
        args=(list(articles), replace(options, terms=False), model, batches, lifeline),
        daemon=True,
    )
    try:
        worker.start()
    finally:
        lifeline.close()  # the worker has its own copy; this one would keep the pipe open
    try:
        while True:
            item = _next_from(batches, worker)
            if item is None:
                return
            if isinstance(item, str):
                raise IndexStateError(f"preparing chunks failed: {item}")
            if options.terms:
                item.terms = [terms(text) for text in item.texts]
            yield item
    finally:
        keep_alive.close()
        if worker.is_alive():
            worker.terminate()
        worker.join(timeout=10)
        batches.close()


def _next_from(batches: Any, worker: Any) -> PreparedBatch | str | None:
    while True:
        try:
            return batches.get(timeout=1.0)
        except queue.Empty:
            if not worker.is_alive():
                return f"the worker process stopped (exit code {worker.exitcode})"


def _prepare_in_worker(
    articles: list[Article], options: PrepareOptions, model: str, batches: Any, lifeline: Any
) -> None:
    _exit_with_parent(lifeline)
    try:
        embedder = WordLlamaEmbedder(model)
        for batch in prepare_batches(articles, options, embedder.embed):
            batches.put(batch)
    except Exception as exc:
        batches.put(f"{type(exc).__name__}: {exc}")
        return
    batches.put(None)


def _exit_with_parent(lifeline: Any) -> None:
    """End this worker as soon as the parent's end of the lifeline pipe closes.

    Nothing is ever sent: recv() returns or fails only when the parent has closed it or
    died. os._exit, because the main thread may be blocked on a full queue.
    """

    def watch() -> None:
        with suppress(EOFError, OSError):
            lifeline.recv()
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
