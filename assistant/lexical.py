"""The lexical side of retrieval: a bm25s index over stemmed, typography-folded terms.

It is persisted next to the store and tagged with the store's version, so a process
start loads it (memory-mapped) instead of re-tokenising the whole corpus. It is only a
cache of the store: when its files are damaged, it is rebuilt from the store.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path

import numpy as np

from assistant.text import TERMS_VERSION, terms

ProgressFn = Callable[[int, int], None]
MANIFEST = "manifest.json"  # the size of every other file, as saved
_VERSION_TAG = re.compile(r"[^:\s]+:[^:\s]+")
_SCRATCH = re.compile(r"\.(?:tmp|old)-(\d+)-[0-9a-f]+")
log = logging.getLogger(__name__)


def _bm25s():  # type: ignore[no-untyped-def]
    import bm25s

    # bm25s sets its own logger to DEBUG on import; its index-building chatter is noise here.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class LexicalIndex:
    def __init__(self, bm25, ids: list[str], version: str) -> None:  # type: ignore[no-untyped-def]
        self._bm25 = bm25
        self.ids = ids
        self.version = version
        self._df = self._document_frequencies()

    # -- building and persistence ------------------------------------------------

    @classmethod
    def build(cls, docs: Iterable[tuple[str, str]], version: str) -> LexicalIndex:
        return cls.from_terms(((cid, terms(text)) for cid, text in docs), version)

    @classmethod
    def from_terms(cls, docs: Iterable[tuple[str, list[str]]], version: str) -> LexicalIndex:
        """The index of documents already split into terms (as assistant.text.terms does)."""
        bm25s = _bm25s()
        ids: list[str] = []
        tokens: list[list[str]] = []
        for cid, doc_terms in docs:
            ids.append(cid)
            tokens.append(doc_terms or ["\u2205"])
        bm25 = bm25s.BM25()
        if tokens:
            bm25.index(tokens, show_progress=False)
        return cls(bm25, ids, version)

    def save(self, directory: Path) -> None:
        """Write the index beside `directory`, then swap it in (readers never see half)."""
        _remove_abandoned_scratch(directory)
        scratch = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp = directory.with_name(f"{directory.name}.tmp-{scratch}")
        tmp.mkdir(parents=True)
        if self.ids:
            self._bm25.save(str(tmp))
        (tmp / "ids.json").write_text(json.dumps(self.ids))
        (tmp / "version.txt").write_text(f"{self.version}:{TERMS_VERSION}")
        sizes = {f.name: f.stat().st_size for f in sorted(tmp.iterdir())}
        (tmp / MANIFEST).write_text(json.dumps(sizes, indent=0))
        old = directory.with_name(f"{directory.name}.old-{scratch}")
        with suppress(FileNotFoundError):  # nothing saved yet
            directory.rename(old)
        try:
            tmp.rename(directory)
        except OSError:  # another process saved the same index a moment ago
            shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path, version: str) -> LexicalIndex | None:
        """The saved index when it matches the store's version, else None.

        Damaged files (empty, short, unreadable, inconsistent) also give None, with a
        warning: the caller rebuilds the index from the store.
        """
        try:
            saved = (directory / "version.txt").read_text()
        except FileNotFoundError:
            return None  # never saved
        except (OSError, ValueError) as exc:
            return _damaged(directory, f"version.txt: {exc}")
        if saved != f"{version}:{TERMS_VERSION}":
            if not _VERSION_TAG.fullmatch(saved):
                return _damaged(directory, f"version.txt reads {saved[:40]!r}")
            return None  # saved for another state of the store
        try:
            _check_sizes(directory)
            ids = json.loads((directory / "ids.json").read_text())
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise ValueError("ids.json is not a list of chunk ids")
            bm25s = _bm25s()
            bm25 = bm25s.BM25.load(str(directory), mmap=True) if ids else bm25s.BM25()
            index = cls(bm25, ids, version)
            index._check_shape()
        except Exception as exc:  # bm25s and numpy raise many kinds on damaged files
            return _damaged(directory, f"{type(exc).__name__}: {exc}")
        return index

    def _check_shape(self) -> None:
        """The loaded arrays agree with each other and with the chunk ids."""
        scores = getattr(self._bm25, "scores", None)
        if not self.ids:
            return
        if not scores or "indptr" not in scores:
            raise ValueError("no score matrix")
        indptr = np.asarray(scores["indptr"])
        if int(scores.get("num_docs", -1)) != len(self.ids):
            raise ValueError(f"{scores.get('num_docs')} documents for {len(self.ids)} ids")
        lists, vocab = len(indptr) - 1, len(self._vocab)
        if not vocab - 1 <= lists <= vocab:  # bm25s adds an empty term without a list
            raise ValueError(f"{lists} posting lists for {vocab} terms")
        if not len(scores["data"]) == len(scores["indices"]) == int(indptr[-1]):
            raise ValueError("posting lists of different lengths")

    # -- querying -----------------------------------------------------------------

    def search(self, query_terms: list[str], k: int) -> list[tuple[str, float]]:
        """The k best-scoring chunks (score > 0), best first; ties go to the earlier chunk."""
        known = [t for t in query_terms if t in self._vocab]
        if not known or not self.ids or k <= 0:
            return []
        scores = self._bm25.get_scores(known)
        return [(self.ids[i], float(scores[i])) for i in top_positive(scores, k)]

    def idf(self, term: str) -> float:
        """Inverse document frequency; a term the corpus never uses gets the highest."""
        n = max(len(self.ids), 1)
        df = self._df.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def rare_idf(self) -> float:
        """The idf of a term found in a single chunk: the scale unknown terms are weighed on."""
        n = max(len(self.ids), 1)
        return math.log(1 + (n - 0.5) / 1.5)

    def knows(self, term: str) -> bool:
        return self._df.get(term, 0) > 0

    @property
    def _vocab(self) -> dict[str, int]:
        return getattr(self._bm25, "vocab_dict", None) or {}

    def _document_frequencies(self) -> dict[str, int]:
        scores = getattr(self._bm25, "scores", None)
        if not scores or "indptr" not in scores:
            return {}
        counts = np.diff(np.asarray(scores["indptr"]))
        return {term: int(counts[i]) for term, i in self._vocab.items() if i < len(counts)}


def top_positive(scores: np.ndarray, k: int) -> list[int]:
    """Positions of the k highest positive scores, best first, ties by position.

    bm25s's own top-k runs argpartition over every chunk; with most scores zero that is
    ~5 ms at 200,000 chunks. Selecting among the non-zero scores first is ~0.3 ms.
    """
    hits = np.flatnonzero(scores > 0)
    if len(hits) > k:
        values = scores[hits]
        kth = np.partition(values, len(values) - k)[len(values) - k]
        hits = hits[values >= kth]
    order = np.lexsort((hits, -scores[hits].astype(np.float64)))
    return [int(i) for i in hits[order[:k]]]


def _check_sizes(directory: Path) -> None:
    """Every file has the size it was saved with (when the save recorded them)."""
    try:
        sizes = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError:
        return  # saved before manifests; the other checks still apply
    if not isinstance(sizes, dict):
        raise ValueError(f"{MANIFEST} is not a mapping")
    for name, size in sizes.items():
        actual = (directory / name).stat().st_size
        if actual != size:
            raise ValueError(f"{name} has {actual} bytes, {size} when saved")


def _damaged(directory: Path, reason: str) -> None:
    log.warning(
        "the keyword index at %s is damaged (%s); rebuilding it from the store",
        directory,
        reason.splitlines()[0][:200] if reason else "unreadable",
    )
    return None


def _remove_abandoned_scratch(directory: Path) -> None:
    """Half-written copies left by processes that died while saving."""
    if not directory.parent.is_dir():
        return
    prefix = directory.name
    for entry in directory.parent.iterdir():
        match = _SCRATCH.fullmatch(entry.name[len(prefix) :])
        if entry.name.startswith(prefix) and match and not _alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
