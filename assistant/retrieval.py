"""Hybrid retrieval: dense (Chroma) and lexical (BM25) rankings fused by reciprocal rank.

The fusion is the reciprocal-rank formula of llama-index's QueryFusionRetriever, with
weights per ranking. It is written out here because the query path must not import
llama-index: that import alone costs about 1.4 s of a 3 s cold-start budget (see
bench/README.md). The constants come from the benchmark's "Fusion at scale" table: with
k = 60 and equal weights, evidence recall on the eval set fell from 0.966 to 0.78 once the
bundled articles sat among 10,000 others; k = 10 with BM25 weighted over dense keeps 0.966.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answer import Passage
from assistant.chunking import parse_sentence_spans
from assistant.embeddings import Embedder
from assistant.lexical import LexicalIndex
from assistant.store import ChunkStore
from assistant.text import normalise, terms

RRF_K = 10.0
DENSE_WEIGHT = 0.3  # of the dense ranking, relative to the BM25 ranking of the same text
# A follow-up is searched on its own and with the earlier questions: their relative weights.
FOLLOW_UP_ALONE_WEIGHT = 0.5
FOLLOW_UP_WITH_CONTEXT_WEIGHT = 1.0


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
    """What to search for: the question, plus earlier turns for follow-ups."""

    text: str
    context: str = ""


class HybridRetriever:
    def __init__(
        self,
        *,
        store: ChunkStore,
        lexical: LexicalIndex,
        embedder: Embedder,
        candidate_k: int,
    ) -> None:
        self._store = store
        self._lexical = lexical
        self._embedder = embedder
        self._candidate_k = candidate_k

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
            dense = self._store.query(vectors[i], self._candidate_k)
            lexical = self._lexical.search(terms(text), self._candidate_k)
            rankings += [[cid for cid, _ in dense], [cid for cid, _ in lexical]]
            weights += [weight * DENSE_WEIGHT, weight]
        fused = reciprocal_rank_fusion(rankings, weights)[:k]
        chunks = self._store.get([cid for cid, _ in fused])
        scores = dict(fused)
        return [
            Passage(
                id=chunk.id,
                source=str(chunk.metadata.get("source", "")),
                title=str(chunk.metadata.get("title", "")),
                date=str(chunk.metadata.get("date", "")),
                text=chunk.text,
                start=int(chunk.metadata.get("start", 0)),
                end=int(chunk.metadata.get("end", 0)),
                score=scores[chunk.id],
                sentences=tuple(parse_sentence_spans(chunk.metadata)),
            )
            for chunk in chunks
        ]
