"""Incremental ingest: articles -> sentence-aligned chunks -> vectors in Chroma + BM25."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.chunking import Chunk, chunk_article, chunk_id
from assistant.corpus import Article, LoadProblem, display_path, load_corpus
from assistant.embeddings import Embedder
from assistant.errors import CorpusError
from assistant.lexical import LexicalIndex
from assistant.settings import Settings
from assistant.store import ChunkStore
from assistant.text import normalise

Progress = Callable[[str, int, int], None]


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
        started = time.perf_counter()
        paths = list(paths or self._settings.sources)
        corpus = load_corpus(paths)
        if not corpus.articles and not corpus.problems and not paths:
            raise CorpusError("no corpus paths given")
        report = IngestReport(problems=corpus.problems)
        if rebuild:
            self._store.drop()
        if self._store.exists():
            self._store.check_embedder(
                backend=self._embedder.backend, model=self._embedder.model, dim=None
            )
        else:
            self._store.create(
                embed_backend=self._embedder.backend,
                embed_model=self._embedder.model,
                embed_dim=self._embedder.dim,
            )
        heads = self._store.article_heads()
        todo = self._plan(corpus.articles, heads, report)
        self._write(todo, heads, report, progress)
        self._remove_missing(paths, corpus.articles, heads, report)
        report.chunks_total = self._store.count()
        report.articles_total = len(heads) + report.added - report.removed
        if report.changed or rebuild:
            version = self._store.mark_changed(
                articles=report.articles_total, chunks=report.chunks_total
            )
        else:
            version = self._store.info().version
        self.ensure_lexical(version, progress=progress)
        report.seconds = time.perf_counter() - started
        return report

    def ensure_lexical(self, version: str, *, progress: Progress = no_progress) -> LexicalIndex:
        """Load the saved BM25 index, or rebuild it when the store changed since."""
        directory = self._settings.bm25_dir / self._store_key()
        index = LexicalIndex.load(directory, version)
        if index is None:
            progress("lexical index", 0, 1)
            index = LexicalIndex.build(self._store.scan_documents(), version)
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
    ) -> list[Article]:
        todo = []
        for article in articles:
            head = heads.get(article.source)
            if head is None:
                report.added += 1
            elif head.get("doc_hash") != article.content_hash:
                report.updated += 1
            else:
                report.unchanged += 1
                continue
            todo.append(article)
        return todo

    def _write(
        self,
        articles: list[Article],
        heads: dict[str, dict],
        report: IngestReport,
        progress: Progress,
    ) -> None:
        batch: list[tuple[Chunk, int]] = []
        done = 0
        progress("articles", 0, len(articles))
        for article in articles:
            chunks = chunk_article(article, chunk_tokens=self._settings.chunk_tokens)
            batch.extend((chunk, len(chunks)) for chunk in chunks)
            old = int(heads.get(article.source, {}).get("n_chunks", 0))
            stale = [chunk_id(article.source, i) for i in range(len(chunks), old)]
            if stale:
                self._store.delete(stale)
            done += 1
            if len(batch) >= self._settings.embed_batch_size * 4:
                self._flush(batch, report)
                batch = []
                progress("articles", done, len(articles))
        self._flush(batch, report)
        progress("articles", done, len(articles))

    def _flush(self, batch: list[tuple[Chunk, int]], report: IngestReport) -> None:
        """Write chunk 0 of each article last: its hash marks the article complete."""
        if not batch:
            return
        ordered = sorted(batch, key=lambda item: item[0].index == 0)
        vectors = self._embedder.embed([normalise(chunk.text) for chunk, _ in ordered])
        tail = [i for i, (chunk, _) in enumerate(ordered) if chunk.index == 0]
        cut = tail[0] if tail else len(ordered)
        for lo, hi in ((0, cut), (cut, len(ordered))):
            if hi > lo:
                part = ordered[lo:hi]
                self._store.upsert(
                    [chunk.id for chunk, _ in part],
                    vectors[lo:hi],
                    [chunk.text for chunk, _ in part],
                    [chunk.metadata(n) for chunk, n in part],
                )
        report.chunks_written += len(ordered)

    def _remove_missing(
        self,
        paths: Sequence[Path],
        articles: list[Article],
        heads: dict[str, dict],
        report: IngestReport,
    ) -> None:
        roots = [display_path(p) for p in paths]
        present = {a.source for a in articles}
        for source, head in heads.items():
            if source in present or not any(_is_under(source, root) for root in roots):
                continue
            if Path(source).exists():  # still there but now unreadable: keep what we had
                continue
            self._store.delete(chunk_id(source, i) for i in range(int(head.get("n_chunks", 0))))
            report.removed += 1


def _is_under(source: str, root: str) -> bool:
    return source == root or source.startswith(root.rstrip("/") + "/")
