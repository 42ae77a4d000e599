"""Incremental ingest: articles -> sentence-aligned chunks -> vectors in Chroma + BM25."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.chunking import Chunk, chunk_article, chunk_id
from assistant.corpus import Article, LoadProblem, corpus_name, corpus_root, load_corpus
from assistant.embeddings import Embedder, WordLlamaEmbedder
from assistant.errors import CorpusError, DamagedIndexError, IndexStateError
from assistant.lexical import LexicalIndex
from assistant.locking import ingest_lock
from assistant.settings import Settings
from assistant.store import ChunkStore
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
        with ingest_lock(
            self._settings.data_dir,
            timeout=self._settings.ingest_lock_timeout,
            on_wait=log.warning,
        ):
            try:
                report = self._ingest(paths, corpus.articles, rebuild=rebuild, progress=progress)
            except DamagedIndexError as exc:
                if not rebuild or self._settings.chroma_url:
                    raise
                moved = self._store.move_aside()
                log.warning(
                    "%s; moved it to %s and building a fresh one",
                    str(exc).split("; run `", 1)[0],
                    moved,
                )
                report = self._ingest(paths, corpus.articles, rebuild=True, progress=progress)
        report.problems = corpus.problems
        report.seconds = time.perf_counter() - started
        return report

    def _ingest(
        self, paths: list[Path], articles: list[Article], *, rebuild: bool, progress: Progress
    ) -> IngestReport:
        report = IngestReport()
        if rebuild:
            self._store.drop()
            self._store.remove_orphan_segments()
        self._open_store()
        heads = self._store.article_heads()
        todo, moved = self._plan(articles, heads, report)
        gone = self._missing(paths, articles, heads)
        recorded = self._store.info(derive=False)
        if todo or gone:
            self._store.begin_changes()  # a crash from here on leaves the store unsettled
        # Into an empty store, what this ingest writes is the whole store: its terms then
        # build the BM25 index without reading every document back (slow at scale).
        written: list[tuple[str, list[str]]] | None = [] if self._store.count() == 0 else None
        self._write(todo, heads, report, progress, written)
        self._remove(gone, heads, report)
        self._relocate(moved, heads)
        report.chunks_total = self._store.count()
        report.articles_total = len(heads) + report.added - report.removed
        counted = (recorded.articles, recorded.chunks) == (
            report.articles_total,
            report.chunks_total,
        )
        if report.changed or rebuild or not recorded.settled or not counted:
            version = self._store.mark_changed(
                articles=report.articles_total, chunks=report.chunks_total
            )
        else:
            version = recorded.version
        self.ensure_lexical(version, progress=progress, documents=written)
        return report

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

    def ensure_lexical(
        self,
        version: str,
        *,
        progress: Progress = no_progress,
        documents: Sequence[tuple[str, list[str]]] | None = None,
    ) -> LexicalIndex:
        """Load the saved BM25 index, or rebuild it when the store changed since.

        `documents`: every chunk of the store as (id, terms), in the store's order, when the
        caller has them; otherwise the store is read back.
        """
        directory = self._settings.bm25_dir / self._store_key()
        if not version:
            log.warning(
                "an ingest into %s is under way or did not finish (run `assistant ingest` to "
                "complete it); answering from what is stored so far",
                self._settings.chroma_url or self._settings.chroma_dir,
            )
        index = LexicalIndex.load(directory, version) if version else None
        if index is None:
            progress("lexical index", 0, 1)
            if documents is None:
                index = LexicalIndex.build(self._store.scan_documents(), version)
            else:
                index = LexicalIndex.from_terms(documents, version)
            if version:  # an unsettled store's index would be stale once the ingest ends
                index.save(directory)
            progress("lexical index", 1, 1)
        return index

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
            elif head.get("doc_hash") != article.content_hash:
                report.updated += 1
            else:
                report.unchanged += 1
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
        articles: list[Article],
        heads: dict[str, dict],
        report: IngestReport,
        progress: Progress,
        written: list[tuple[str, list[str]]] | None,
    ) -> None:
        """Chunk, embed and store the articles; `written` collects (id, terms) when given."""
        done = 0
        progress("articles", 0, len(articles))
        for batch in self._prepared(articles, with_terms=written is not None):
            for key, n_chunks in batch.articles:
                old = int(heads.get(key, {}).get("n_chunks", 0))
                stale = [chunk_id(key, i) for i in range(n_chunks, old)]
                if stale:
                    self._store.delete(stale)
            self._store_batch(batch, fresh=written is not None)
            report.chunks_written += len(batch.ids)
            if written is not None and batch.terms is not None:
                written.extend(zip(batch.ids, batch.terms, strict=True))
            done += len(batch.articles)
            progress("articles", done, len(articles))

    def _prepared(self, articles: list[Article], *, with_terms: bool) -> Iterator[PreparedBatch]:
        """Batches ready to store: prepared in a worker process when that pays off."""
        options = PrepareOptions(
            chunk_tokens=self._settings.chunk_tokens,
            batch_chunks=WRITE_BATCH_CHUNKS,
            with_terms=with_terms,
        )
        if _worth_a_worker(articles, self._embedder):
            model = self._embedder.model
            return prepared_in_worker(articles, options, model)
        return prepare_batches(articles, options, self._embedder.embed)

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
        self, paths: Sequence[Path], articles: list[Article], heads: dict[str, dict]
    ) -> list[str]:
        """Stored articles of the corpus folders given whose file is gone.

        A stored article belongs to the folder it was last ingested from (its `corpus`
        name). One whose file still exists but could not be read this time is kept, and so
        is everything when a single file, not a folder, is ingested.
        """
        folders = {corpus_name(corpus_root(p)) for p in paths if p.is_dir()}
        present = {a.key for a in articles}
        return [
            key
            for key, head in heads.items()
            if key not in present
            and head.get("corpus") in folders
            and not Path(str(head.get("file") or head.get("source"))).exists()
        ]

    def _remove(self, keys: list[str], heads: dict[str, dict], report: IngestReport) -> None:
        for key in keys:
            n_chunks = int(heads[key].get("n_chunks", 0))
            self._store.delete(chunk_id(key, i) for i in range(n_chunks))
            report.removed += 1

    def _relocate(self, articles: list[Article], heads: dict[str, dict]) -> None:
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
        self._store.update_metadata(ids, metadatas)


# -- preparing chunks: in this process, or in a worker while this one writes ---------------


@dataclass(frozen=True)
class PrepareOptions:
    chunk_tokens: int
    batch_chunks: int
    with_terms: bool


@dataclass
class PreparedBatch:
    """Chunks of whole articles ready to store; chunks from head_start on are chunk 0s."""

    ids: list[str]
    texts: list[str]
    metadatas: list[dict[str, Any]]
    vectors: np.ndarray
    head_start: int
    articles: list[tuple[str, int]]  # (Article.key, number of chunks) of each article
    terms: list[list[str]] | None = None


def prepare_batches(
    articles: Sequence[Article],
    options: PrepareOptions,
    embed: Callable[[list[str]], np.ndarray],
) -> Iterator[PreparedBatch]:
    """Chunk and embed articles, in batches of about options.batch_chunks chunks."""
    pending: list[tuple[Chunk, int]] = []
    sources: list[tuple[str, int]] = []
    for article in articles:
        chunks = chunk_article(article, chunk_tokens=options.chunk_tokens)
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
    texts = [chunk.text for chunk, _ in ordered]
    heads = [i for i, (chunk, _) in enumerate(ordered) if chunk.index == 0]
    return PreparedBatch(
        ids=[chunk.id for chunk, _ in ordered],
        texts=texts,
        metadatas=[chunk.metadata(n) for chunk, n in ordered],
        vectors=embed([normalise(text) for text in texts]),
        head_start=heads[0] if heads else len(ordered),
        articles=sources,
        terms=[terms(text) for text in texts] if options.with_terms else None,
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
        args=(list(articles), options, model, batches, lifeline),
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
