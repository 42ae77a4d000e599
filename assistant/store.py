"""The chunk store: a Chroma collection, embedded (PersistentClient) or remote (HttpClient)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import shutil
import sqlite3
import threading
import uuid
import weakref
from collections.abc import Iterable, Sequence
from contextlib import closing, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from assistant.errors import (
    AssistantError,
    ConfigError,
    DamagedIndexError,
    EmbeddingMismatchError,
    IndexStateError,
    StoreUnavailableError,
)
from assistant.settings import Settings

log = logging.getLogger(__name__)

# 2: articles are identified by Article.key (front matter id/url, or corpus folder + path);
# 1 used the path as seen from the working directory of the ingest.
STORE_FORMAT = "2"
# What SQLite, and Chroma's segment readers, say about files they cannot read.
_DAMAGED = re.compile(
    r"not a database|malformed|corrupt|\(code: (?:11|26)\)|no such table|hnsw|pickle|"
    r"segment reader",
    re.IGNORECASE,
)
_SEGMENT_DIR = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class StoreInfo:
    """What the collection records about itself.

    `settled` is False from the moment an ingest starts writing until its bookkeeping is
    done; meanwhile (or for good, if it crashed) the counts come from the stored chunks
    and `version` is "" (nothing cached against the store may be trusted). `marker` is the
    recorded version even then: every begin_changes and mark_changed writes a new one.
    """

    articles: int
    chunks: int
    updated_at: str
    version: str
    embed_backend: str
    embed_model: str
    embed_dim: int
    format: str = STORE_FORMAT
    settled: bool = True
    marker: str = ""


def _chroma_settings():  # type: ignore[no-untyped-def]
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def connect(settings: Settings):  # type: ignore[no-untyped-def]
    """A Chroma client: HttpClient when ASSISTANT_CHROMA_URL is set, else on-disk."""
    import chromadb

    if not settings.chroma_url:
        settings.chroma_dir.mkdir(parents=True, exist_ok=True)
        try:
            return chromadb.PersistentClient(
                path=str(settings.chroma_dir), settings=_chroma_settings()
            )
        except Exception as exc:
            raise store_error(settings, exc) from None
    url = urlparse(settings.chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(
            f"ASSISTANT_CHROMA_URL must be an http(s) URL, got {settings.chroma_url!r}"
        )
    headers = dict(settings.chroma_headers)
    if settings.chroma_token:
        headers.setdefault("Authorization", f"Bearer {settings.chroma_token}")
    try:
        client = chromadb.HttpClient(
            host=url.hostname,
            port=url.port or (443 if url.scheme == "https" else 80),
            ssl=url.scheme == "https",
            headers=headers or None,
            settings=_chroma_settings(),
        )
        client.heartbeat()
    except Exception as exc:
        if refused_credentials(exc):
            raise credentials_error(settings.chroma_url, exc) from None
        raise StoreUnavailableError(
            f"cannot reach the Chroma server at {settings.chroma_url}: {_first_line(exc)}"
        ) from None
    return client


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def refused_credentials(exc: BaseException) -> bool:
    """HTTP 401/403 from the server, or from a reverse proxy in front of it."""
    code = getattr(exc, "code", None)
    if callable(code):
        try:
            if code() in (401, 403):
                return True
        except Exception:  # chromadb's error codes are methods; anything else is no code
            pass
    text = str(exc).lower()
    return "unauthorized" in text or "forbidden" in text or bool(re.search(r"\b40[13]\b", text))


def store_error(settings: Settings, exc: BaseException) -> AssistantError:
    """A failure of the store in the user's words: damaged files, credentials, unreachable."""
    if settings.chroma_url and refused_credentials(exc):
        return credentials_error(settings.chroma_url, exc)
    if not settings.chroma_url and _DAMAGED.search(str(exc)):
        return DamagedIndexError(
            f"the index at {settings.chroma_dir} is damaged ({_first_line(exc)}); "
            "run `assistant ingest --rebuild` to rebuild it"
        )
    where = settings.chroma_url or str(settings.chroma_dir)
    return StoreUnavailableError(f"the Chroma store at {where} failed: {_first_line(exc)}")


def forget_embedded(path: Path) -> None:
    """Drop chromadb's in-process cache of the embedded store at path (its open files)."""
    for system in _uncache_embedded(path):
        with suppress(Exception):  # a damaged store may fail to stop; it is gone anyway
            system.stop()


def _uncache_embedded(path: Path) -> list[Any]:
    """Take chromadb's in-process copies of the embedded store at path out of its cache
    (SharedSystemClient), still running: whoever holds one may go on using it, and the
    next client for path opens a new copy."""
    from chromadb.api.shared_system_client import SharedSystemClient

    taken = []
    for key in list(SharedSystemClient._identifier_to_system):
        if key == str(path) or Path(key).resolve() == path.resolve():
            taken.append(SharedSystemClient._identifier_to_system.pop(key))
            SharedSystemClient._identifier_to_refcount.pop(key, None)
    return taken


# Per embedded store path: the store version a copy was opened for, and its client (see
# ChunkStore.reopened). Weak: the copy lives as long as the stores that use it.
_REOPENED: dict[str, tuple[str, weakref.ref[Any]]] = {}
_REOPEN_LOCK = threading.Lock()


def credentials_error(url: str, exc: BaseException) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"the Chroma server at {url} refused the credentials ({_first_line(exc)}); "
        "check ASSISTANT_CHROMA_TOKEN or ASSISTANT_CHROMA_HEADERS"
    )


class ChunkStore:
    """Chunks with their vectors and metadata; collection metadata records the embedder."""

    def __init__(self, *, settings: Settings, client: Any | None = None) -> None:
        self._settings = settings
        self._client = client
        self._name = settings.collection
        self._collection: Any | None = None
        self._loading: threading.Thread | None = None

    @property
    def client(self) -> Any:
        """The Chroma client, connected on first use (so an ingest can lock first)."""
        if self._client is None:
            self._client = connect(self._settings)
        return self._client

    # -- collection lifecycle -------------------------------------------------

    def exists(self) -> bool:
        client = self.client
        try:
            self._collection = client.get_collection(self._name, embedding_function=None)
        except Exception as exc:
            if _is_not_found(exc):
                return False
            raise self._unavailable(exc) from None
        return True

    def create(self, *, embed_backend: str, embed_model: str, embed_dim: int) -> None:
        metadata = {
            "format": STORE_FORMAT,
            "embed_backend": embed_backend,
            "embed_model": embed_model,
            "embed_dim": embed_dim,
            "version": uuid.uuid4().hex,
            "updated_at": "",
            "articles": 0,
            "chunks": 0,
            "settled": False,
        }
        client = self.client
        try:
            self._collection = client.get_or_create_collection(
                self._name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine", "ef_search": 100}},
                metadata=metadata,
            )
        except Exception as exc:
            raise self._unavailable(exc) from None

    def drop(self) -> None:
        client = self.client
        try:
            client.delete_collection(self._name)
        except Exception as exc:
            if not _is_not_found(exc):
                raise self._unavailable(exc) from None
        self._collection = None

    def remove_orphan_segments(self) -> list[Path]:
        """Delete the embedded store's segment folders that no collection uses any more.

        Chroma leaves a dropped collection's vector index folder behind. Call it only while
        no other process can be creating a collection (the ingest lock).
        """
        directory = self._settings.chroma_dir
        if self._settings.chroma_url or not directory.is_dir():
            return []
        try:
            with closing(sqlite3.connect(directory / "chroma.sqlite3", timeout=30)) as db:
                live = {str(row[0]) for row in db.execute("SELECT id FROM segments")}
        except sqlite3.Error:
            return []
        removed = []
        for entry in sorted(directory.iterdir()):
            if entry.is_dir() and _SEGMENT_DIR.fullmatch(entry.name) and entry.name not in live:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
        return removed

    def reconnect(self) -> None:
        """Open the store afresh on next use: for the embedded store, a new in-process copy
        (chromadb's cached one is stopped, for it may be stale)."""
        self._client = None
        self._collection = None
        if not self._settings.chroma_url:
            forget_embedded(self._settings.chroma_dir)

    def move_aside(self) -> Path:
        """Rename a damaged embedded store to chroma.corrupt-<timestamp>; the next use starts
        a fresh one. Returns where it went."""
        directory = self._settings.chroma_dir
        self._client = None
        self._collection = None
        forget_embedded(directory)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        target = directory.with_name(f"{directory.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = directory.with_name(f"{directory.name}.corrupt-{stamp}-{n}")
        directory.rename(target)
        return target

    @property
    def collection(self) -> Any:
        if self._collection is None and not self.exists():
            raise StoreUnavailableError(f"collection {self._name!r} does not exist")
        return self._collection

    def info(self, *, derive: bool = True) -> StoreInfo:
        """The recorded state; while unsettled (see StoreInfo) the counts are derived from the
        stored chunks unless derive=False."""
        meta = dict(self.collection.metadata or {})
        settled = bool(meta.get("settled", True))
        articles, chunks = int(meta.get("articles", 0)), int(meta.get("chunks", 0))
        if not settled and derive:
            articles, chunks = self.count_articles(), self.count()
        return StoreInfo(
            articles=articles,
            chunks=chunks,
            updated_at=str(meta.get("updated_at", "")),
            version=str(meta.get("version", "")) if settled else "",
            embed_backend=str(meta.get("embed_backend", "")),
            embed_model=str(meta.get("embed_model", "")),
            embed_dim=int(meta.get("embed_dim", 0)),
            format=str(meta.get("format", "1")),
            settled=settled,
            marker=str(meta.get("version", "")),
        )

    def reopened(self, version: str) -> ChunkStore:
        """A new ChunkStore that sees the store as it is now (at `version` or later); this
        one is left as it is, for whoever is still using it.

        A Chroma server answers every client from its latest data: the new store shares
        this one's client. The embedded store is another matter: chromadb keeps one copy of
        it per process (SharedSystemClient), whose vector index is read from disk once, so
        chunks another process adds later are stored (get and count see them) but never
        found by query(). The new store gets a copy opened now; stores reopened for the
        same `version` in this process share one. A copy no store uses any more is freed by
        the garbage collector (chromadb's objects refer to each other: run gc.collect()).
        """
        if self._settings.chroma_url:
            return ChunkStore(settings=self._settings, client=self.client)
        key = str(self._settings.chroma_dir)
        with _REOPEN_LOCK:
            known = _REOPENED.get(key)
            client = known[1]() if known is not None and known[0] == version else None
            if client is None:
                _uncache_embedded(self._settings.chroma_dir)
                client = connect(self._settings)
                _REOPENED[key] = (version, weakref.ref(client))
        return ChunkStore(settings=self._settings, client=client)

    def refresh(self) -> StoreInfo:
        """What the collection records now, read again (another process may have changed it
        since this one opened it): one small read, never the chunks. Counts as recorded."""
        self._after_load_ahead()  # not while load_ahead's thread uses this collection
        self._collection = None
        return self.info(derive=False)

    def check_embedder(self, *, backend: str, model: str, dim: int | None) -> None:
        info = self.info()
        same = info.embed_backend == backend and info.embed_model == model
        if not same or (dim is not None and info.embed_dim != dim):
            raise EmbeddingMismatchError(
                f"the index was built with {info.embed_backend}:{info.embed_model} "
                f"({info.embed_dim} dimensions) but the settings ask for {backend}:{model}"
                f"{f' ({dim} dimensions)' if dim is not None else ''}; "
                "run `assistant ingest --rebuild` to rebuild it"
            )

    def begin_changes(self) -> str:
        """Record, before the first write, that the store is changing (see StoreInfo); the
        marker written, which another writer's changes would replace."""
        marker = uuid.uuid4().hex
        self._set_metadata(version=marker, settled=False)
        return marker

    def check_format(self) -> None:
        """Refuse to update an index whose chunk ids follow an older scheme."""
        if self.info(derive=False).format != STORE_FORMAT:
            where = self._settings.chroma_url or str(self._settings.chroma_dir)
            raise IndexStateError(
                f"the index at {where} was built by an older version that told articles apart "
                "by their path as seen from the working directory; run "
                "`assistant ingest --rebuild` to rebuild it"
            )

    def mark_changed(self, *, articles: int, chunks: int) -> str:
        """The bookkeeping after an ingest: counts, a new version, settled again."""
        version = uuid.uuid4().hex
        self._set_metadata(
            version=version,
            updated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            articles=articles,
            chunks=chunks,
            settled=True,
        )
        return version

    def _set_metadata(self, **values: Any) -> None:
        meta = dict(self.collection.metadata or {})
        meta.update(values)
        meta.pop("hnsw:space", None)
        self._call(lambda: self.collection.modify(metadata=meta))

    # -- data -----------------------------------------------------------------

    def article_heads(self) -> dict[str, dict[str, Any]]:
        """First-chunk metadata of every article: its hash and chunk count."""
        heads: dict[str, dict[str, Any]] = {}
        for _, meta in self._scan(where={"chunk_index": 0}, documents=False):
            heads[article_key(meta)] = meta
        return heads

    def count_articles(self, batch: int = 5000) -> int:
        """Articles whose head chunk (written last) is stored: the complete ones."""
        total, offset = 0, 0
        while True:
            page = self._call(
                lambda offset=offset: self.collection.get(
                    where={"chunk_index": 0}, include=[], limit=batch, offset=offset
                )
            )
            total += len(page["ids"])
            if len(page["ids"]) < batch:
                return total
            offset += batch

    def update_metadata(self, ids: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None:
        """Change the given metadata keys of stored chunks (other keys and vectors stay)."""
        for start in range(0, len(ids), 5000):
            batch = slice(start, start + 5000)
            self._call(
                lambda batch=batch: self.collection.update(
                    ids=list(ids[batch]), metadatas=list(metadatas[batch])
                )
            )

    def upsert(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
        *,
        new: bool = False,
    ) -> None:
        """Write chunks; new=True for ids known to be absent (Chroma skips existence checks)."""
        write = self.collection.add if new else self.collection.upsert
        self._call(
            lambda: write(
                ids=list(ids),
                embeddings=vectors,
                documents=list(texts),
                metadatas=list(metadatas),
            )
        )

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for start in range(0, len(ids), 5000):
            batch = ids[start : start + 5000]
            self._call(lambda batch=batch: self.collection.delete(ids=batch))

    def count(self) -> int:
        return int(self._call(self.collection.count))

    def is_empty(self) -> bool:
        """No chunk stored. A settled store's recorded count says so without counting
        (chromadb's count() holds the GIL while it first loads the collection: ~0.4 s of a
        cold start at 10,000 articles); an unsettled one is counted."""
        info = self.info(derive=False)
        if info.settled and info.chunks > 0:
            return False
        return self.count() == 0

    def load_ahead(self) -> None:
        """Start reading the embedded store's vector index in another thread (once per
        store), which the first query would otherwise do (~0.5 s at 10,000 articles):
        chromadb releases the GIL while it does, so it goes on beside the rest of a
        process's start-up. A failure is left for the first real query to report. Not a
        daemon thread: the interpreter waits for it at exit rather than stopping it inside
        chromadb's native code. A Chroma server has its index loaded already."""
        if self._settings.chroma_url or self._loading is not None:
            return

        def load() -> None:
            try:
                dim = self.info(derive=False).embed_dim
                if dim > 0:
                    probe = np.zeros(dim, dtype=np.float32)
                    probe[0] = 1.0
                    self.query(probe, 1)
            except AssistantError as exc:
                log.debug("loading the vector index ahead failed: %s", exc)

        self._loading = threading.Thread(target=load, name="vector-index-load")
        self._loading.start()

    def _after_load_ahead(self) -> None:
        """Any use of the store from another thread waits for load_ahead's first query to
        finish rather than run beside it inside chromadb: a query needs the index loaded
        anyway, and other calls beside the load are not something chromadb's embedded store
        promises to handle."""
        loading = self._loading
        if loading is not None and loading is not threading.current_thread():
            loading.join()

    def get(self, ids: Sequence[str]) -> list[StoredChunk]:
        """Chunks by id, in the order asked for (Chroma returns its own order)."""
        if not ids:
            return []
        found = self._call(
            lambda: self.collection.get(ids=list(ids), include=["documents", "metadatas"])
        )
        by_id = {
            cid: StoredChunk(cid, doc or "", dict(meta or {}))
            for cid, doc, meta in zip(
                found["ids"], found["documents"], found["metadatas"], strict=True
            )
        }
        return [by_id[cid] for cid in ids if cid in by_id]

    def query(
        self, vector: np.ndarray, k: int, *, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """Nearest chunk ids with cosine similarity; `where` filters on chunk metadata
        (Chroma's syntax, e.g. assistant.dates.range_where on `published_ts`).

        No count() first to clamp k: Chroma returns fewer results when the collection is
        smaller, and count() costs ~20 ms per call on a 200,000-chunk local store.
        """
        if k <= 0:
            return []
        filtered = {"where": where} if where else {}
        result = self._call(
            lambda: self.collection.query(
                query_embeddings=[vector], n_results=k, include=["distances"], **filtered
            )
        )
        return [
            (cid, 1.0 - float(dist))
            for cid, dist in zip(result["ids"][0], result["distances"][0], strict=True)
        ]

    def scan_documents(self, batch: int = 5000) -> Iterable[tuple[str, str]]:
        yield from self._scan(documents=True, batch=batch)

    def _scan(
        self, *, where: dict[str, Any] | None = None, documents: bool, batch: int = 5000
    ) -> Iterable[tuple[str, Any]]:
        include = ["documents"] if documents else ["metadatas"]
        offset = 0
        while True:
            page = self._call(
                lambda offset=offset: self.collection.get(
                    where=where, include=include, limit=batch, offset=offset
                )
            )
            values = page["documents"] if documents else page["metadatas"]
            yield from zip(page["ids"], values, strict=True)
            if len(page["ids"]) < batch:
                return
            offset += batch

    def _call(self, fn):  # type: ignore[no-untyped-def]
        self._after_load_ahead()
        try:
            return fn()
        except AssistantError:
            raise
        except Exception as exc:
            raise self._unavailable(exc) from None

    def _unavailable(self, exc: BaseException) -> AssistantError:
        return store_error(self._settings, exc)


def article_key(meta: dict[str, Any]) -> str:
    """The article (Article.key) a chunk belongs to, from its metadata."""
    return str(meta.get("doc_id") or meta["source"])


def _is_not_found(exc: BaseException) -> bool:
    name = type(exc).__name__
    text = str(exc).lower()
    return name in ("NotFoundError", "InvalidCollectionException") or (
        "does not exist" in text or "not found" in text
    )
