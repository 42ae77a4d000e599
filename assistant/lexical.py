"""The keyword side of retrieval: BM25 over stemmed, typography-folded terms, kept in SQLite.

Each chunk is stored as its terms (assistant.text.terms), with an inverted index beside
them: per term a few blocks of postings (chunk, term frequency, chunk length). Scores are
computed at query time with the formula and float32 arithmetic of the bm25s index this
replaced (Lucene's BM25, k1 = 1.5, b = 0.75), so rankings, ties and idf are what bm25s
gave for the same chunks in the same order, while adding, replacing or removing an
article writes only that article's rows and postings. Every change is one SQLite
transaction: a reader (WAL mode) sees an article's old chunks or its new ones, never
half, and a process killed mid-change leaves the last committed state.

Postings of a term are appended as a new block per change; a block is merged into the
one before it when that one is no bigger (a binary counter), so a term has O(log n)
blocks and each posting is rewritten O(log n) times. Removed chunks leave their postings
behind until a quarter of the chunks are such leftovers; then the postings are rebuilt
from the stored terms (in the same transaction). Searches skip them meanwhile.

The index also keeps a ledger: per article the identity, content hash, chunk count and
file that the store's head chunk records, and the store version it matches. An ingest
plans from the ledger instead of reading every head back from Chroma, and an index that
fell behind (another host's ingest, a crash) is brought in step by comparing ledgers
(assistant.indexing). It is a cache of the store: a damaged file is rebuilt from it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from assistant.text import TERMS_VERSION

FORMAT = "2"
K1, B = 1.5, 0.75  # bm25s's defaults, which built the keyword index before
EMPTY = "\u2205"  # a chunk without terms is indexed as this one term, as bm25s had it
LEFTOVER_SHARE = 0.25  # removed chunks' postings rebuilt away past this share of the chunks
FLUSH_CHUNKS = 20_000  # Changes writes a transaction once this many chunks wait
BUSY_SECONDS = 60.0  # a writer waits this long for another one (SQLite's own lock)
_PARAMS = 10_000  # values per IN (...) list, well below SQLite's limit
_STATS = ("docs", "length", "next_doc", "leftover", "generation")
SCHEMA = f"""
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE articles(
    id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, corpus TEXT, head TEXT NOT NULL
);
CREATE INDEX articles_by_corpus ON articles(corpus);
CREATE TABLE chunks(
    doc INTEGER PRIMARY KEY, id TEXT NOT NULL, article INTEGER NOT NULL, terms TEXT NOT NULL
);
CREATE INDEX chunks_by_article ON chunks(article);
CREATE TABLE terms(term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE postings(
    term TEXT NOT NULL, first INTEGER NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (term, first)
);
INSERT INTO meta VALUES ('format', '{FORMAT}'), ('terms', '{TERMS_VERSION}'),
    ('store_version', ''), ('docs', '0'), ('length', '0'), ('next_doc', '1'),
    ('leftover', '0'), ('generation', '0');
"""
log = logging.getLogger(__name__)


class DamagedKeywordIndex(Exception):
    """The file cannot be read as a keyword index."""


@dataclass(frozen=True)
class Stats:
    docs: int  # chunks indexed
    length: int  # their terms, counted with repeats (the BM25 lengths)
    next_doc: int  # the next chunk number; numbers are never reused until a rebuild
    leftover: int  # removed chunks whose postings are still in blocks
    generation: int  # +1 per committed change: caches of df are only good for one


class LexicalIndex:
    """The keyword index at `path`. Open it with LexicalIndex.open().

    Reads use one read-only connection per thread; each search is one read transaction.
    idf(), knows() and rare_idf() follow the counts as last seen: by a search, a change
    made through this object, or stats(); a change another process committed since is
    picked up by the next of these. Document frequencies are cached until then.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._df: dict[str, int] = {}
        self._complained = False
        with self._reader() as db:
            self._stats = _read_stats(db)

    # -- opening ----------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, reset: bool = False) -> LexicalIndex:
        """The index at path, created empty when missing, built for other terms or another
        format, or when reset; a damaged file is replaced by an empty one, with a warning.
        An empty index has no store version: the caller fills it from the store."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if not reset:
            try:
                _check(path)
                return cls(path)
            except FileNotFoundError:
                pass
            except _Stale:
                log.info("the keyword index at %s was built for other terms; rebuilding", path)
            except DamagedKeywordIndex as exc:
                log.warning(
                    "the keyword index at %s is damaged (%s); rebuilding it from the store",
                    path,
                    str(exc).splitlines()[0][:200] if str(exc) else "unreadable",
                )
        with _file_lock(path, fcntl.LOCK_EX):
            if not reset:  # another process may have replaced it meanwhile
                with suppress(FileNotFoundError, _Stale, DamagedKeywordIndex):
                    _check(path)
                    return cls(path)
            _create(path)
        return cls(path)

    # -- querying -----------------------------------------------------------------

    def search(self, query_terms: list[str], k: int) -> list[tuple[str, float]]:
        """The k best-scoring chunks (score > 0), best first; ties go to the earlier chunk."""
        if k <= 0 or not query_terms:
            return []
        try:
            with self._snapshot() as (db, stats):
                return self._search(db, stats, query_terms, k)
        except sqlite3.Error as exc:
            self._unreadable(exc)
            return []

    def _search(
        self, db: sqlite3.Connection, stats: Stats, query_terms: list[str], k: int
    ) -> list[tuple[str, float]]:
        wanted = list(dict.fromkeys(query_terms))
        df = dict(_select_in(db, "SELECT term, df FROM terms WHERE term IN ({})", wanted))
        known = [t for t in query_terms if df.get(t, 0) > 0]
        if not known or not stats.docs:
            return []
        blocks: dict[str, list[bytes]] = {}
        sql = "SELECT term, data FROM postings WHERE term IN ({}) ORDER BY term, first"
        for term, data in _select_in(db, sql, list(dict.fromkeys(known))):
            blocks.setdefault(term, []).append(data)
        avgdl = np.float64(stats.length) / stats.docs  # as bm25s's mean of the lengths
        scores = np.zeros(stats.next_doc, dtype=np.float32)
        parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term in known:  # in query order, repeats included, as bm25s summed them
            if term not in parts:
                parts[term] = _term_scores(blocks.get(term, []), df[term], stats.docs, avgdl)
            docs, values = parts[term]
            scores[docs] += values
        return _best_live(db, scores, k)

    def idf(self, term: str) -> float:
        """Inverse document frequency; a term the corpus never uses gets the highest."""
        n = max(self._stats.docs, 1)
        df = self._frequency(term)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def rare_idf(self) -> float:
        """The idf of a term found in a single chunk: the scale unknown terms are weighed on."""
        n = max(self._stats.docs, 1)
        return math.log(1 + (n - 0.5) / 1.5)

    def knows(self, term: str) -> bool:
        return self._frequency(term) > 0

    def frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        """Each term's chunk count (0 for a term the corpus never uses), the ones not yet
        known read in one query (the spelling reader asks about hundreds of candidates at
        once). Only the terms found are kept in the cache."""
        wanted = list(dict.fromkeys(terms))
        missing = [t for t in wanted if t not in self._df]
        found: dict[str, int] = {}
        if not missing:
            return {t: self._df[t] for t in wanted}
        try:
            with self._reader() as db:
                for i in range(0, len(missing), _PARAMS):
                    batch = missing[i : i + _PARAMS]
                    marks = ",".join("?" * len(batch))
                    sql = f"SELECT term, df FROM terms WHERE term IN ({marks})"
                    found.update((t, int(df)) for t, df in db.execute(sql, batch))
        except sqlite3.Error as exc:
            self._unreadable(exc)
        self._df.update(found)
        return {t: self._df.get(t, 0) for t in wanted}

    def _frequency(self, term: str) -> int:
        cache = self._df
        if term not in cache:
            try:
                with self._reader() as db:
                    row = db.execute("SELECT df FROM terms WHERE term = ?", (term,)).fetchone()
            except sqlite3.Error as exc:
                self._unreadable(exc)
                return 0
            cache[term] = int(row[0]) if row else 0
        return cache[term]

    # -- the ledger -----------------------------------------------------------------

    @property
    def store_version(self) -> str:
        """The store version this index is known to match; "" when none."""
        with self._reader() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'store_version'").fetchone()
        return str(row[0]) if row else ""

    def heads(
        self, keys: Iterable[str] | None = None, *, corpora: Iterable[str] = ()
    ) -> dict[str, dict[str, Any]]:
        """Per article key, what the store's head chunk records (see Changes.put): of every
        article, or of those `keys` and every article whose head names one of `corpora`."""
        rows: Iterable[tuple[str, str]]
        with self._reader() as db:
            if keys is None:
                rows = db.execute("SELECT key, head FROM articles").fetchall()
            else:
                sql = "SELECT key, head FROM articles WHERE {} IN ({{}})"
                rows = [
                    *_select_in(db, sql.format("key"), list(keys)),
                    *_select_in(db, sql.format("corpus"), list(corpora)),
                ]
        return {key: json.loads(head) for key, head in rows}

    def heads_of_files(self, corpus: str, paths: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Per article key, the head record of the articles of `corpus` whose file (the head's
        `file`) is one of `paths` or lies under one of them (a folder). Reads the ledger's
        file names of that corpus, and the whole records of those found only."""
        wanted = {path.rstrip("/") for path in paths}
        if not wanted:
            return {}
        folders = tuple(f"{path}/" for path in wanted)
        with self._reader() as db:
            rows = db.execute(
                "SELECT id, json_extract(head, '$.file') FROM articles WHERE corpus = ?",
                (corpus,),
            ).fetchall()
            found = [
                row_id
                for row_id, file in rows
                if file and (file in wanted or str(file).startswith(folders))
            ]
            sql = "SELECT key, head FROM articles WHERE id IN ({})"
            return {key: json.loads(head) for key, head in _select_in(db, sql, found)}

    def article_count(self) -> int:
        with self._reader() as db:
            return int(db.execute("SELECT count(*) FROM articles").fetchone()[0])

    def documents(self) -> dict[str, list[str]]:
        """Every indexed chunk's terms, by chunk id."""
        with self._reader() as db:
            return {cid: text.split() for cid, text in db.execute("SELECT id, terms FROM chunks")}

    def stats(self) -> Stats:
        """The counts as committed now; idf(), knows() and rare_idf() follow them from here."""
        with self._reader() as db:
            return self._observe(_read_stats(db))

    def _observe(self, stats: Stats) -> Stats:
        if stats != self._stats:  # changed since: cached frequencies are stale
            self._df = {}
            self._stats = stats
        return stats

    # -- changing -------------------------------------------------------------------

    def changes(self, flush_chunks: int | None = None) -> Changes:
        return Changes(self, flush_chunks or FLUSH_CHUNKS)

    def forget_store_version(self) -> None:
        """Record that the store is about to change: until a later flush names the new
        version, whoever opens this index compares it with the store."""
        self.changes().flush(store_version="")

    def _apply(
        self,
        heads: Mapping[str, Mapping[str, Any]],
        chunks: Sequence[tuple[str, str, str]],
        remove: Collection[str],
        relocate: Mapping[str, Mapping[str, Any]],
        store_version: str | None,
    ) -> None:
        """One transaction: the articles in `heads` get exactly `chunks` (id, article key,
        space-joined terms, in index order), `remove` are dropped, `relocate` get a new head
        record, and the store version is recorded when given."""
        with self._writing(checkpoint=bool(store_version)) as db:  # at the end of an ingest
            stats = _read_stats(db)
            docs, length, next_doc = stats.docs, stats.length, stats.next_doc
            leftover = stats.leftover
            delta: Counter[str] = Counter()
            replaced = [*heads, *remove]
            ids = dict(_select_in(db, "SELECT key, id FROM articles WHERE key IN ({})", replaced))
            if ids:
                sql = "SELECT doc, terms FROM chunks WHERE article IN ({})"
                for _, text in _select_in(db, sql, list(ids.values())):
                    tokens = text.split()
                    delta.subtract(set(tokens))
                    docs, length, leftover = docs - 1, length - len(tokens), leftover + 1
                for batch in _batched(list(ids.values())):
                    marks = ",".join("?" * len(batch))
                    db.execute(f"DELETE FROM chunks WHERE article IN ({marks})", batch)
            gone = [(key,) for key in remove if key in ids]
            db.executemany("DELETE FROM articles WHERE key = ?", gone)
            db.executemany(
                "INSERT INTO articles(key, corpus, head) VALUES (?, ?, ?) ON CONFLICT(key) "
                "DO UPDATE SET corpus = excluded.corpus, head = excluded.head",
                [(key, *_ledger_row(head)) for key, head in heads.items()],
            )
            db.executemany(
                "UPDATE articles SET corpus = ?, head = ? WHERE key = ?",
                [(*_ledger_row(head), key) for key, head in relocate.items()],
            )
            if chunks:
                owner = dict(
                    _select_in(db, "SELECT key, id FROM articles WHERE key IN ({})", list(heads))
                )
                rows = [
                    (doc, cid, owner[key], text or EMPTY)
                    for doc, (cid, key, text) in enumerate(chunks, start=next_doc)
                ]
                db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?)", rows)
                postings = _postings((doc, text) for doc, _, _, text in rows)
                for term, block in postings.items():
                    delta[term] += block.shape[1]
                docs += len(rows)
                length += sum(int(b[1].sum()) for b in postings.values())  # every term counted
                next_doc += len(rows)
                _add_blocks(db, postings)
            _count_documents(db, delta)
            values = {
                "docs": docs,
                "length": length,
                "next_doc": next_doc,
                "leftover": leftover,
                "generation": stats.generation + 1,
            }
            if store_version is not None:
                values["store_version"] = store_version
            _write_meta(db, values)
            if leftover > LEFTOVER_SHARE * max(docs, 1):
                _rebuild_postings(db)
        self.stats()  # what this process wrote, idf() and rare_idf() follow at once

    # -- connections --------------------------------------------------------------------

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """This thread's read-only connection, reopened when the file was replaced. Read-only
        connections never checkpoint or delete the WAL, so they are safe to leave open."""
        held = getattr(self._local, "db", None)
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            inode = None
        if held is None or held[1] != inode:
            if held is not None:
                held[0].close()
            db = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro",
                uri=True,
                timeout=BUSY_SECONDS,
                isolation_level=None,
                check_same_thread=False,
            )
            held = self._local.db = (db, inode)
        yield held[0]

    @contextmanager
    def _snapshot(self) -> Iterator[tuple[sqlite3.Connection, Stats]]:
        with self._reader() as db:
            db.execute("BEGIN")
            try:
                yield db, self._observe(_read_stats(db))
            finally:
                db.execute("COMMIT")

    @contextmanager
    def _writing(self, *, checkpoint: bool = False) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE: the write lock up front), on a connection of
        its own, under a shared file lock that keeps replacing the file out. `checkpoint`:
        then copy the WAL into the file and empty it (unless a reader holds it)."""
        with _file_lock(self.path, fcntl.LOCK_SH):
            db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
                if checkpoint:
                    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                db.close()

    def close(self) -> None:
        held = getattr(self._local, "db", None)
        if held is not None:
            held[0].close()
            self._local.db = None

    def _unreadable(self, exc: BaseException) -> None:
        if not self._complained:
            self._complained = True
            log.warning(
                "the keyword index at %s cannot be read (%s); searching without it until "
                "the next ingest or start rebuilds it",
                self.path,
                str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__,
            )


class Changes:
    """Article changes for a keyword index, written in transactions of about
    `flush_chunks` chunks: each transaction holds whole articles."""

    def __init__(self, index: LexicalIndex, flush_chunks: int) -> None:
        self._index = index
        self._flush_chunks = flush_chunks
        self._heads: dict[str, dict[str, Any]] = {}
        self._chunks: list[tuple[str, str, str]] = []
        self._remove: set[str] = set()
        self._relocate: dict[str, dict[str, Any]] = {}

    def put(
        self,
        heads: Mapping[str, Mapping[str, Any]],
        chunks: Iterable[tuple[str, str, Sequence[str]]],
    ) -> None:
        """Give the articles of `heads` (key -> the head record the ledger keeps) exactly
        these chunks: (chunk id, article key, terms), in the order they are indexed."""
        self._heads.update({key: dict(head) for key, head in heads.items()})
        self._chunks.extend((cid, key, " ".join(doc_terms)) for cid, key, doc_terms in chunks)
        if len(self._chunks) >= self._flush_chunks:
            self.flush()

    def remove(self, key: str) -> None:
        self._remove.add(key)

    def relocate(self, key: str, head: Mapping[str, Any]) -> None:
        """A new head record for an article whose chunks stay as they are."""
        self._relocate[key] = dict(head)

    def flush(self, *, store_version: str | None = None) -> None:
        """Write what waits, and the store version when given, in one transaction."""
        if not (self._heads or self._remove or self._relocate or store_version is not None):
            return
        self._index._apply(self._heads, self._chunks, self._remove, self._relocate, store_version)
        self._heads, self._chunks, self._remove, self._relocate = {}, [], set(), {}


# -- scoring ----------------------------------------------------------------------------


def _term_scores(
    blocks: list[bytes], df: int, n: int, avgdl: np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """(chunk numbers, float32 scores) of one term: bm25s's "lucene" BM25, computed as it
    computed it (idf rounded to float32, the tf part in float64, the product to float32)."""
    if not blocks:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
    columns = np.concatenate([_decode(data) for data in blocks], axis=1)
    docs, tf, lengths = columns[0], columns[1].astype(np.float32), columns[2]
    idf = np.float32(math.log(1 + (n - df + 0.5) / (df + 0.5)))
    tfc = tf / (K1 * ((1 - B) + B * lengths / avgdl) + tf)
    return docs, (idf * tfc).astype(np.float32)


def _best_live(db: sqlite3.Connection, scores: np.ndarray, k: int) -> list[tuple[str, float]]:
    """The k best chunks that are still indexed (a removed chunk's postings linger)."""
    wanted = k
    while True:
        order = top_positive(scores, wanted)
        ids = dict(_select_in(db, "SELECT doc, id FROM chunks WHERE doc IN ({})", order))
        live = [(ids[doc], float(scores[doc])) for doc in order if doc in ids]
        if len(live) >= k or len(order) < wanted:
            return live[:k]
        wanted = 2 * wanted + len(order) - len(live)


def top_positive(scores: np.ndarray, k: int) -> list[int]:
    """Positions of the k highest positive scores, best first, ties by position.

    A full argpartition over every chunk is ~5 ms at 200,000 chunks; with most scores zero,
    selecting among the non-zero scores first is ~0.3 ms.
    """
    hits = np.flatnonzero(scores > 0)
    if len(hits) > k:
        values = scores[hits]
        kth = np.partition(values, len(values) - k)[len(values) - k]
        hits = hits[values >= kth]
    order = np.lexsort((hits, -scores[hits].astype(np.float64)))
    return [int(i) for i in hits[order[:k]]]


# -- postings -------------------------------------------------------------------------


def _postings(docs: Iterable[tuple[int, str]]) -> dict[str, np.ndarray]:
    """Per term, a block: int32 rows (chunk numbers, term frequencies, chunk lengths), the
    chunks in ascending order. Counted with numpy: one sort of every (term, chunk) pair."""
    numbers, token_lists = [], []
    for doc, text in docs:
        numbers.append(doc)
        token_lists.append(text.split())
    tokens = list(chain.from_iterable(token_lists))
    if not tokens:
        return {}
    names = list(dict.fromkeys(tokens))  # each term once, numbered in order
    number_of = {term: i for i, term in enumerate(names)}
    term_ids = np.fromiter(map(number_of.__getitem__, tokens), dtype=np.int64, count=len(tokens))
    counts = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    owners = np.repeat(np.asarray(numbers, dtype=np.int64), counts)
    span = max(numbers) + 1
    pairs, tf = np.unique(term_ids * span + owners, return_counts=True)
    term_of, doc_of = np.divmod(pairs, span)
    length_of = np.zeros(span, dtype=np.int64)
    length_of[numbers] = counts
    rows = np.stack([doc_of, tf, length_of[doc_of]]).astype("<i4")
    starts = np.flatnonzero(np.diff(term_of, prepend=-1)).tolist()
    ends = [*starts[1:], len(pairs)]
    return {
        names[term_of[start]]: np.ascontiguousarray(rows[:, start:end])
        for start, end in zip(starts, ends, strict=True)
    }


def _decode(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i4").reshape(3, -1)


def _add_blocks(db: sqlite3.Connection, postings: Mapping[str, np.ndarray]) -> None:
    """Append each term's new block, merging it with the newest blocks no bigger than the
    merged result (a binary counter: O(log n) blocks per term)."""
    existing: dict[str, list[tuple[int, int]]] = {}
    sql = "SELECT term, first, size FROM postings WHERE term IN ({}) ORDER BY term, first"
    for term, first, size in _select_in(db, sql, list(postings)):
        existing.setdefault(term, []).append((first, size))
    rows = []
    for term, block in postings.items():
        older = existing.get(term, [])
        first, size, merged = int(block[0, 0]), block.shape[1], None
        while older and older[-1][1] <= size:
            first, extra = older.pop()
            size += extra
            merged = first
        if merged is None:
            rows.append((term, first, size, block.tobytes()))
            continue
        parts = [
            _decode(data)
            for (data,) in db.execute(
                "SELECT data FROM postings WHERE term = ? AND first >= ? ORDER BY first",
                (term, merged),
            )
        ]
        db.execute("DELETE FROM postings WHERE term = ? AND first >= ?", (term, merged))
        whole = np.concatenate([*parts, block], axis=1)
        rows.append((term, merged, size, np.ascontiguousarray(whole).tobytes()))
    db.executemany("INSERT INTO postings VALUES (?, ?, ?, ?)", rows)


def _rebuild_postings(db: sqlite3.Connection) -> None:
    """Renumber the chunks 1..n in their order and rebuild every block from their terms:
    the removed chunks' postings go."""
    rows = db.execute("SELECT id, article, terms FROM chunks ORDER BY doc").fetchall()
    db.execute("DELETE FROM chunks")
    db.execute("DELETE FROM postings")
    numbered = [(doc, cid, article, text) for doc, (cid, article, text) in enumerate(rows, 1)]
    db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?)", numbered)
    postings = _postings((doc, text) for doc, _, _, text in numbered)
    db.executemany(
        "INSERT INTO postings VALUES (?, ?, ?, ?)",
        [(t, int(b[0, 0]), b.shape[1], b.tobytes()) for t, b in postings.items()],
    )
    _write_meta(db, {"next_doc": len(numbered) + 1, "leftover": 0})


def _count_documents(db: sqlite3.Connection, delta: Mapping[str, int]) -> None:
    changed = [(term, n) for term, n in delta.items() if n]
    db.executemany(
        "INSERT INTO terms VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
        changed,
    )
    db.executemany(
        "DELETE FROM terms WHERE term = ? AND df <= 0", [(t,) for t, n in changed if n < 0]
    )


# -- the file --------------------------------------------------------------------------


class _Stale(Exception):
    """A sound index built for other terms or in another format."""


def _check(path: Path) -> None:
    """Raise FileNotFoundError, _Stale or DamagedKeywordIndex unless path is a sound index.

    Cheap checks (no full scan): the header, the tables, the bookkeeping, the chunk count
    and, when no WAL is pending, the file's length against its page count.
    """
    if not path.exists():
        raise FileNotFoundError(path)
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_SECONDS)
        try:
            meta = dict(db.execute("SELECT key, value FROM meta"))
            if meta.get("format") != FORMAT or meta.get("terms") != TERMS_VERSION:
                if set(_STATS) <= set(meta):
                    raise _Stale()
                raise DamagedKeywordIndex(f"its bookkeeping reads {sorted(meta)[:8]}")
            stats = _read_stats(db)
            (chunks,) = db.execute("SELECT count(*) FROM chunks").fetchone()
            if chunks != stats.docs:
                raise DamagedKeywordIndex(f"{chunks} chunks stored, {stats.docs} recorded")
            wal = path.with_name(path.name + "-wal")
            if not wal.exists() or wal.stat().st_size == 0:
                (pages,) = db.execute("PRAGMA page_count").fetchone()
                (page_size,) = db.execute("PRAGMA page_size").fetchone()
                if pages * page_size > path.stat().st_size:
                    raise DamagedKeywordIndex(
                        f"{path.stat().st_size} bytes, {pages * page_size} expected"
                    )
        finally:
            db.close()
    except (sqlite3.Error, ValueError, KeyError) as exc:
        raise DamagedKeywordIndex(f"{type(exc).__name__}: {exc}") from None


def _create(path: Path) -> None:
    """A new, empty index file in place of whatever is there (call under the file lock)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(f"BEGIN; {SCHEMA} COMMIT;")
    finally:
        db.close()


@contextmanager
def _file_lock(path: Path, mode: int) -> Iterator[None]:
    """Writers share it; replacing the file takes it alone (no writer has the old file open)."""
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)


def _ledger_row(head: Mapping[str, Any]) -> tuple[str | None, str]:
    """(corpus, head as JSON): the corpus apart, to find a folder's articles."""
    corpus = head.get("corpus")
    return (str(corpus) if corpus is not None else None, json.dumps(dict(head), sort_keys=True))


def _read_stats(db: sqlite3.Connection) -> Stats:
    meta = dict(db.execute("SELECT key, value FROM meta"))
    return Stats(**{name: int(meta[name]) for name in _STATS})


def _write_meta(db: sqlite3.Connection, values: Mapping[str, object]) -> None:
    db.executemany(
        "UPDATE meta SET value = ? WHERE key = ?", [(str(v), k) for k, v in values.items()]
    )


def _batched(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _PARAMS):
        yield values[start : start + _PARAMS]


def _select_in(db: sqlite3.Connection, sql: str, values: Sequence[Any]) -> Iterator[tuple]:
    """Rows of `sql`, whose one "IN ({})" gets `values` in lists SQLite accepts."""
    for batch in _batched(values):
        yield from db.execute(sql.format(",".join("?" * len(batch))), batch)
