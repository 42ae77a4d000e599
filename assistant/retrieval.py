"""Hybrid retrieval: dense (Chroma) and lexical (BM25) rankings fused by reciprocal rank.

The fusion is the reciprocal-rank formula of llama-index's QueryFusionRetriever, with
weights per ranking. It is written out here because the query path must not import
llama-index: that import alone costs about 1.4 s of a 3 s cold-start budget (see
bench/README.md). The constants come from the benchmark's "Fusion at scale" table: with
k = 60 and equal weights, evidence recall on the eval set fell from 0.966 to 0.78 once the
bundled articles sat among 10,000 others; k = 10 with BM25 weighted over dense keeps 0.966.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from assistant.answer import Passage
from assistant.chunking import parse_sentence_spans
from assistant.embeddings import Embedder
from assistant.lexical import LexicalIndex
from assistant.lexicon import default_lexicon
from assistant.provenance import corpus_path
from assistant.store import ChunkStore, StoredChunk
from assistant.text import normalise, terms

if TYPE_CHECKING:
    from assistant.dates import CorpusDates
    from assistant.when import DateRange

RRF_K = 10.0
DENSE_WEIGHT = 0.3  # of the dense ranking, relative to the BM25 ranking of the same text
# A follow-up is searched on its own and with the earlier questions: their relative weights.
FOLLOW_UP_ALONE_WEIGHT = 0.5
FOLLOW_UP_WITH_CONTEXT_WEIGHT = 1.0
# "Latest": the candidates ranked by their article's date join the fusion with this weight.
RECENCY_WEIGHT = 1.0
# A question word no article uses, asked again as its synonyms the articles use: the same
# question in the articles' words, so a keyword ranking of its own with the plain one's
# weight, beside it rather than instead of it (replacing the plain query moved the qa.yaml
# 'deadline' passage from first to third: "expected" stood in as "likely", "set").
STAND_IN_WEIGHT = 1.0
ALL_HITS = 10**9  # a dated query reads every BM25 hit: any of them may fall in the range


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], weights: Sequence[float] | None = None
) -> list[tuple[str, float]]:
    weights = weights or [1.0] * len(rankings)
    fused: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking):
            fused[item] = fused.get(item, 0.0) + weight / (RRF_K + rank + 1)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


@dataclass(frozen=True)
class Query:
    """What to search for: the question, plus earlier turns for follow-ups.

    `dates`: only chunks of articles published on those days (assistant.when.DateRange),
    in both retrievers; `newest_first`: newer articles rank higher ("latest"). Without
    them, retrieval is exactly as it always was.
    """

    text: str
    context: str = ""
    dates: DateRange | None = None
    newest_first: bool = False


class HybridRetriever:
    def __init__(
        self,
        *,
        store: ChunkStore,
        lexical: LexicalIndex,
        embedder: Embedder,
        candidate_k: int,
        dates: Callable[[], CorpusDates] | None = None,
    ) -> None:
        self._store = store
        self._lexical = lexical
        self._embedder = embedder
        self._candidate_k = candidate_k
        self._dates = dates  # the corpus's dates, read when a query asks for time

    @property
    def lexical(self) -> LexicalIndex:
        return self._lexical

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._embedder.embed([normalise(t) for t in texts])

    def retrieve(self, query: Query, k: int) -> list[Passage]:
        """The k best passages; with context, the rankings of the context-expanded query join."""
        texts = [query.text] + ([f"{query.context}\n{query.text}"] if query.context else [])
        vectors = self.embed(texts)
        rankings: list[list[str]] = []
        weights: list[float] = []
        for i, text in enumerate(texts):
            weight = 1.0
            if query.context:
                weight = FOLLOW_UP_ALONE_WEIGHT if i == 0 else FOLLOW_UP_WITH_CONTEXT_WEIGHT
            if query.dates is None:
                dense = self._store.query(vectors[i], self._candidate_k)
                lexical = self._lexical.search(terms(text), self._candidate_k)
            else:
                dense, lexical = self._dated(vectors[i], text, query.dates)
            rankings += [[cid for cid, _ in dense], [cid for cid, _ in lexical]]
            weights += [weight * DENSE_WEIGHT, weight]
            stand_ins = self._with_stand_ins(text) if query.dates is None else None
            if stand_ins is not None:
                found = self._lexical.search(stand_ins, self._candidate_k)
                rankings.append([cid for cid, _ in found])
                weights.append(weight * STAND_IN_WEIGHT)
                weights[-2] *= self._known_share(text)
        if query.newest_first:
            rankings.append(self._by_recency(rankings))
            weights.append(RECENCY_WEIGHT)
        fused = reciprocal_rank_fusion(rankings, weights)[:k]
        chunks = self._store.get([cid for cid, _ in fused])
        scores = dict(fused)
        return [passage_from(chunk, scores[chunk.id]) for chunk in chunks]

    def _known_share(self, text: str) -> float:
        """How much of the query the plain keyword ranking reads: the idf of its terms the
        articles use, of the idf of all (a term no article uses weighs as the rarest)."""
        known = total = 0.0
        for t in dict.fromkeys(terms(text)):
            used = self._lexical.knows(t)
            weight = self._lexical.idf(t) if used else self._lexical.rare_idf()
            total += weight
            known += weight if used else 0.0
        return known / total if total else 1.0

    def _with_stand_ins(self, text: str) -> list[str] | None:
        """The query's terms with each term no article uses replaced by the words of its
        synonym group that they do use ("army" by "armed forces", "military", "troops"),
        for a keyword ranking of its own beside the plain one; None when every term is
        known (or none has a stand-in), so a question in the articles' words ranks as
        before."""
        found: list[str] = []
        replaced = False
        for term in terms(text):
            if self._lexical.knows(term):
                found.append(term)
                continue
            for member in default_lexicon().members(term):
                known = [t for t in terms(member) if t not in found and self._lexical.knows(t)]
                found += known
                replaced = replaced or bool(known)
        for figure in _figures_as_written(text):
            if figure not in found and self._lexical.knows(figure):
                found.append(figure)  # "600k", "six hundred thousand": the articles' 600,000
                replaced = True
        return found if replaced else None

    def _corpus_dates(self) -> CorpusDates:
        if self._dates is None:
            from assistant.dates import CorpusDates

            heads = self._store.article_heads()
            self._dates = lambda: CorpusDates.from_heads(heads)
        return self._dates()

    def _dated(
        self, vector: np.ndarray, text: str, dates: DateRange
    ) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """Both rankings within the days asked for: Chroma filters on `published_ts`; BM25
        hits (all of them: any may fall in the range) are kept when their article does."""
        from assistant.dates import range_where

        where = range_where(dates.start, dates.end)
        dense = self._store.query(vector, self._candidate_k, where=where)
        hits = self._lexical.search(terms(text), ALL_HITS)
        kept = self._corpus_dates().keep(hits, dates.start, dates.end)
        return dense, kept[: self._candidate_k]

    def _by_recency(self, rankings: Sequence[Sequence[str]]) -> list[str]:
        """Every candidate, newest article first (undated last); ties keep the order found."""
        corpus = self._corpus_dates()
        candidates = list(dict.fromkeys(cid for ranking in rankings for cid in ranking))
        order = {cid: i for i, cid in enumerate(candidates)}
        return sorted(
            candidates, key=lambda cid: (-(corpus.ts_for_recency(cid) or -(2**62)), order[cid])
        )


def passage_from(chunk: StoredChunk, score: float) -> Passage:
    """A stored chunk as a passage, with its article's metadata (assistant.dates keys) and
    where readers find it (url, author, path inside its corpus folder)."""
    meta = chunk.metadata
    return Passage(
        id=chunk.id,
        source=str(meta.get("source", "")),
        title=str(meta.get("title", "")),
        date=str(meta.get("date", "")),
        text=chunk.text,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        score=score,
        sentences=tuple(parse_sentence_spans(meta)),
        published=str(meta.get("published", "")),
        date_source=str(meta.get("date_source", "")),
        url=str(meta.get("url") or ""),
        author=str(meta.get("author") or ""),
        corpus_path=corpus_path(meta),
    )


def _figures_as_written(text: str) -> list[str]:
    """The whole figures a text states in another form than the articles' ("600k", "0.6
    million", "six hundred thousand", "a hundred billion"), as the keyword index holds
    them: "600000" (from "600,000"); "100" and "bn" (from "$100bn")."""
    from assistant.quantities import figure_terms

    written = set(terms(text))
    figures: list[str] = []
    for value in dict.fromkeys(figure_terms(text).values()):
        if value < 1000 or value != int(value):
            continue
        if value >= 1e9 and value % 1e9 == 0:  # "a hundred billion": the articles' "$100bn"
            forms = [str(int(value // 1e9)), "bn"]
        elif value >= 1e6 and value % 1e6 == 0:  # "two million": "2m"
            forms = [str(int(value // 1e6)), "m"]
        else:  # "600k": "600,000"
            forms = [str(int(value))]
        figures += [f for f in forms if f not in written and f not in figures]
    return figures
