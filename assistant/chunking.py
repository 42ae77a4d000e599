"""Sentence-aligned chunks, small enough that a citation points at a precise passage."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from assistant.corpus import Article
from assistant.text import sentence_spans


@dataclass(frozen=True)
class Chunk:
    id: str
    article: Article
    index: int
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.article.text[self.start : self.end]

    def metadata(self, n_chunks: int, article: dict[str, Any] | None = None) -> dict[str, Any]:
        """What the store keeps with the chunk; `article`: article_metadata(self.article), when
        the caller has it already (one per article, not one per chunk)."""
        spans = sentence_spans(self.text)
        return {
            **(article if article is not None else article_metadata(self.article)),
            "chunk_index": self.index,
            "n_chunks": n_chunks,
            "start": self.start,
            "end": self.end,
            "sentences": ",".join(f"{s}:{e}" for s, e in spans),
        }


def article_metadata(article: Article) -> dict[str, Any]:
    """The metadata every chunk of the article carries (Article.metadata and its hash)."""
    return {**article.metadata(), "doc_hash": article.content_hash}


def chunk_id(article_key: str, index: int) -> str:
    """Deterministic: the same position in the same article (Article.key) gets the same id."""
    return _joined(chunk_id_prefix(article_key), index)


def lead_chunk_id(chunk: str) -> str:
    """The id of the first chunk of the article that chunk id `chunk` belongs to."""
    split = split_chunk_id(chunk)
    return chunk if split is None else _joined(split[0], 0)


def _joined(prefix: str, index: int) -> str:
    return f"{prefix}-{index:05d}"


def chunk_id_prefix(article_key: str) -> str:
    """What every chunk id of the article starts with (before "-<index>")."""
    return hashlib.sha1(article_key.encode("utf-8")).hexdigest()[:16]


def split_chunk_id(cid: str) -> tuple[str, int] | None:
    """(prefix, index) of an id chunk_id() makes; None for any other string."""
    prefix, _, index = cid.rpartition("-")
    if not prefix or not index.isdigit() or _joined(prefix, int(index)) != cid:
        return None
    return prefix, int(index)


@lru_cache(maxsize=4)
def sentence_splitter(chunk_tokens: int):  # type: ignore[no-untyped-def]
    """llama-index's SentenceSplitter as chunks are cut (its import takes ~1.5 s)."""
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(
        chunk_size=chunk_tokens,
        chunk_overlap=0,
        paragraph_separator="\n\n",
        include_metadata=False,
        include_prev_next_rel=False,
    )


def chunk_article(article: Article, *, chunk_tokens: int) -> list[Chunk]:
    """Split the body with llama-index's SentenceSplitter and keep each chunk's span."""
    return chunks_at(article, chunk_spans(article, chunk_tokens=chunk_tokens))


def chunk_spans(article: Article, *, chunk_tokens: int) -> list[tuple[int, int]]:
    """Where chunk_article() cuts the article: each chunk's (start, end) in its text."""
    from llama_index.core import Document

    body = article.body
    nodes = sentence_splitter(chunk_tokens).get_nodes_from_documents([Document(text=body)])
    spans: list[tuple[int, int]] = []
    cursor = 0
    for node in nodes:
        text = node.get_content()
        start = node.start_char_idx
        if start is None or body[start : start + len(text)] != text:
            start = body.find(text, cursor)
        if start < 0:
            continue
        cursor = start + len(text)
        spans.append((article.body_start + start, article.body_start + start + len(text)))
    return spans


def chunks_at(article: Article, spans: list[tuple[int, int]]) -> list[Chunk]:
    """The article's chunks at those spans (chunk_spans), numbered in order."""
    return [
        Chunk(id=chunk_id(article.key, i), article=article, index=i, start=start, end=end)
        for i, (start, end) in enumerate(spans)
    ]


def parse_sentence_spans(meta: dict[str, Any]) -> list[tuple[int, int]]:
    raw = str(meta.get("sentences", ""))
    spans = []
    for part in raw.split(","):
        if ":" in part:
            s, e = part.split(":", 1)
            spans.append((int(s), int(e)))
    return spans
