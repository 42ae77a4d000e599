"""Chunking a small ingest's articles in a forked child while this process opens the store.

A small ingest spends most of its time importing: chromadb to open the store (~0.6 s) and
llama-index for its SentenceSplitter (~1-2 s), one after the other, both holding the GIL.
Forked before either is imported, a child imports llama-index and cuts the articles into
chunks while this process imports chromadb, opens the store and loads its vector index; it
hands back only the chunks' spans, so the chunks are exactly those chunk_article() cuts.

Only a process that has not imported chromadb and runs no other thread forks (forking a
process running Chroma, or any other thread, is unsafe), and only for a few articles: the
child chunks every article of the selection, and a big selection is mostly unchanged.
Anything that goes wrong in the child leaves the chunking to this process, as before.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import sys
import threading
from collections.abc import Sequence
from contextlib import suppress

from assistant.chunking import Chunk, chunk_article, chunk_spans, chunks_at
from assistant.corpus import Article

log = logging.getLogger(__name__)

AHEAD_MAX_ARTICLES = 100  # more, and the child would chunk mostly unchanged articles


class ChunksAhead:
    """The spans of each article's chunks, cut in a forked child."""

    def __init__(self, pid: int, reader: int, *, chunk_tokens: int) -> None:
        self._pid = pid
        self._reader = reader
        self._chunk_tokens = chunk_tokens
        self._spans: dict[str, list[tuple[int, int]]] | None = None

    @classmethod
    def start(cls, articles: Sequence[Article], *, chunk_tokens: int) -> ChunksAhead | None:
        """A child chunking the articles, or None when forking is not safe or not worth it."""
        if not _may_fork(articles):
            return None
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(reader)
            _chunk_in_child(list(articles), chunk_tokens, writer)
        os.close(writer)
        return cls(pid, reader, chunk_tokens=chunk_tokens)

    def chunk(self, article: Article, *, chunk_tokens: int) -> list[Chunk]:
        """The article's chunks, as chunk_article() cuts them (cut here if the child did not)."""
        spans = self._received().get(article.key) if chunk_tokens == self._chunk_tokens else None
        if spans is None:
            return chunk_article(article, chunk_tokens=chunk_tokens)
        return chunks_at(article, spans)

    def close(self) -> None:
        """Stop the child if it still runs, and reap it."""
        if self._spans is None:
            _kill(self._pid)
            os.close(self._reader)
            self._spans = {}
        _reap(self._pid)

    def _received(self) -> dict[str, list[tuple[int, int]]]:
        if self._spans is None:
            with os.fdopen(self._reader, "rb") as pipe:
                data = pipe.read()
            _reap(self._pid)
            try:
                self._spans = pickle.loads(data) if data else {}
            except (pickle.UnpicklingError, EOFError, ValueError):
                self._spans = {}
            if not self._spans:
                log.debug("chunking ahead gave nothing; chunking here")
        return self._spans


def _may_fork(articles: Sequence[Article]) -> bool:
    return (
        hasattr(os, "fork")
        and 0 < len(articles) <= AHEAD_MAX_ARTICLES
        and (os.cpu_count() or 1) > 1
        and "chromadb" not in sys.modules
        and "llama_index.core" not in sys.modules
        and threading.active_count() == 1
    )


def _chunk_in_child(articles: list[Article], chunk_tokens: int, writer: int) -> None:
    """Cut the articles into chunks, write their spans to the pipe and exit; never return."""
    status = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        spans = {a.key: chunk_spans(a, chunk_tokens=chunk_tokens) for a in articles}
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(pickle.dumps(spans, protocol=pickle.HIGHEST_PROTOCOL))
        status = 0
    finally:
        os._exit(status)


def _kill(pid: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _reap(pid: int) -> None:
    with suppress(ChildProcessError):
        os.waitpid(pid, 0)
