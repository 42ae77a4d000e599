"""Where a cited passage comes from, as a reader sees it: title, author, date, and the
article's own address (its front matter's `url`) as a link, or, only when it has none,
the file's path inside the folder it was ingested from. Never a server path."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, Protocol
from urllib.parse import urlsplit

_UNSAFE_IN_URL = re.compile(r"[\s<>\"'`\x00-\x1f\x7f]")


class Cited(Protocol):
    """What a Citation (or its --json dict, read through `fields`) offers."""

    title: str
    date: str
    source: str
    url: str
    author: str
    corpus_path: str


def corpus_path(metadata: Mapping[str, Any]) -> str:
    """The article's path inside its corpus folder, from its stored chunk metadata.

    The identity of an article without a front-matter id is "<corpus>/<path inside>";
    otherwise the stored file path is cut after the corpus folder's name; failing
    both, the file name alone.
    """
    corpus = str(metadata.get("corpus") or "")
    doc_id = str(metadata.get("doc_id") or "")
    if corpus and doc_id.startswith(corpus + "/"):
        return doc_id[len(corpus) + 1 :]
    for path in (str(metadata.get("file") or ""), str(metadata.get("source") or "")):
        parts = PurePosixPath(path.replace("\\", "/")).parts
        if corpus and corpus in parts[:-1]:
            last = len(parts) - 1 - parts[::-1].index(corpus)
            return "/".join(parts[last + 1 :])
    source = str(metadata.get("source") or metadata.get("file") or "")
    return PurePosixPath(source.replace("\\", "/")).name


def safe_url(url: str) -> str:
    """The url when a reader can follow it safely (http or https, nothing odd in it); else ""."""
    url = (url or "").strip()
    if not url or len(url) > 2000 or _UNSAFE_IN_URL.search(url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return url


def shown_url(url: str, limit: int = 80) -> str:
    """ "https://www.news.example.com/a/b/" -> "news.example.com/a/b": an address, readably."""
    shown = re.sub(r"^https?://(?:www\.)?", "", url, flags=re.IGNORECASE).rstrip("/")
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def shown_path(citation: Cited) -> str:
    """The path a reader is shown when there is no url: inside the corpus folder."""
    return citation.corpus_path or PurePosixPath(citation.source.replace("\\", "/")).name


def origin(citation: Cited) -> str:
    """The link (a safe url) or, without one, the path inside the corpus folder."""
    return safe_url(citation.url) or shown_path(citation)


def byline(citation: Cited, *, date: str | None = None) -> str:
    """ "Jane Roe · 1 Dec 2025": the author and the date, those the article has."""
    shown_date = citation.date if date is None else date
    return " · ".join(part for part in (" ".join(citation.author.split()), shown_date) if part)


class CitationFields:
    """A citation dict (`Citation.to_dict()`, as Slack stores it) read as a Cited."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        return str(self._data.get(name) or "")
