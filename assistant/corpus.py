"""Reading articles: Markdown or text, with or without YAML front matter.

The original text is kept exactly as decoded from the file; the article body is a
span of it, so every offset we report points into the file a reader can open.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.dates import Published, article_date
from assistant.errors import CorpusError

ARTICLE_SUFFIXES = (".md", ".markdown", ".txt")
KNOWN_FIELDS = ("title", "date", "author", "excerpt", "tags", "url")
_FRONT_MATTER = re.compile(r"\A(\ufeff)?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_DATE_PREFIX = re.compile(r"^(\d{4}-\d{2}-\d{2})-")
_NAVIGATION = re.compile(
    r"^\s*(?:[←«‹<]\s*)?(?:back to (?:stories|top|home|news|articles|all stories)|"
    r"(?:previous|next) (?:story|article|post))\s*(?:[→»›>])?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Article:
    source: str
    text: str
    body_start: int
    body_end: int
    title: str
    date: str = ""
    author: str = ""
    excerpt: str = ""
    tags: tuple[str, ...] = ()
    url: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    # Identity, independent of the working directory: the front matter's `id` or `url` when
    # present, else "<corpus folder name>/<path inside it>". Chunk ids derive from it.
    doc_id: str = ""
    corpus: str = ""  # the name of the folder the article was ingested from
    file: str = ""  # the file's absolute path when it was loaded, to notice a moved corpus
    # The publication date and where it was found (assistant.dates); None when none was.
    published: Published | None = None

    @property
    def key(self) -> str:
        """What identifies the article in the index."""
        return self.doc_id or self.source

    @property
    def body(self) -> str:
        return self.text[self.body_start : self.body_end]

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def date_metadata(self) -> dict[str, Any]:
        """`published` (ISO day), `published_ts` (int, epoch seconds UTC) and `date_source`;
        {} for an article without a date. See assistant.dates."""
        return self.published.metadata() if self.published is not None else {}

    def metadata(self) -> dict[str, Any]:
        """Flat metadata that a vector store accepts: strings, plus the int `published_ts`.

        Stable keys for readers: `title`, `author`, `url`, `date` (as the article gives it),
        `published`, `published_ts`, `date_source` (assistant.dates), `source`, `tags`."""
        meta: dict[str, Any] = {f"meta_{k}": v for k, v in self.extra.items()}
        meta.update(
            source=self.source,
            title=self.title,
            date=self.date,
            author=self.author,
            excerpt=self.excerpt,
            tags=", ".join(self.tags),
            url=self.url,
            doc_id=self.key,
            corpus=self.corpus,
            file=self.file,
            **self.date_metadata(),
        )
        return meta


@dataclass(frozen=True)
class LoadProblem:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"skipped {self.path}: {self.reason}"


@dataclass
class LoadResult:
    articles: list[Article]
    problems: list[LoadProblem]


def display_path(path: Path) -> str:
    """A path relative to the working directory when it lies below it, else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def find_article_files(paths: Iterable[Path]) -> list[Path]:
    """All article files under the given files or folders; a missing path is an error."""
    found: list[Path] = []
    for path in paths:
        found.extend(_files_under(path))
    return sorted(dict.fromkeys(found))


def _files_under(path: Path) -> list[Path]:
    if not path.exists():
        raise CorpusError(f"corpus path not found: {path}")
    if path.is_file():
        return [path]
    found: list[Path] = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(
            Path(root) / name
            for name in sorted(files)
            if name.lower().endswith(ARTICLE_SUFFIXES) and not name.startswith(".")
        )
    return sorted(found)


def corpus_root(path: Path) -> Path:
    """The folder a corpus path names: the folder itself, or a single file's folder.

    Absolute but with symbolic links kept, so the name is the one the user gave.
    """
    absolute = Path(os.path.abspath(path))
    return absolute.parent if path.is_file() else absolute


def corpus_name(root: Path) -> str:
    return root.name or root.as_posix()


def load_corpus(paths: Iterable[Path]) -> LoadResult:
    """Load every article under paths; unreadable files are reported and skipped.

    A file reached through two of the paths is loaded once, through the first. Two files
    that declare the same `id` (or `url`) are one article: the first is kept.
    """
    loader = _Loader()
    for path in paths:
        loader.load(corpus_root(path), _files_under(path))
    return LoadResult(loader.articles, loader.problems)


def load_files(folder: Path, files: Iterable[Path]) -> LoadResult:
    """Load some article files of the corpus folder `folder`, each as load_corpus([folder])
    would load it: the same identity (`<folder name>/<path inside it>` unless the front matter
    gives one), corpus and source. A file that is gone meanwhile is left out silently."""
    root = corpus_root(folder)
    loader = _Loader()
    loader.load(root, sorted(f for f in files if f.is_file()))
    return LoadResult(loader.articles, loader.problems)


class _Loader:
    """Articles and problems of the files loaded so far; a file is loaded once, and of two
    files that declare the same identity the first."""

    def __init__(self) -> None:
        self.articles: list[Article] = []
        self.problems: list[LoadProblem] = []
        self._seen_files: set[Path] = set()
        self._seen_ids: dict[str, str] = {}

    def load(self, root: Path, files: Iterable[Path]) -> None:
        name = corpus_name(root)
        for file in files:
            resolved = file.resolve()
            if resolved in self._seen_files:
                continue
            self._seen_files.add(resolved)
            source = display_path(file)
            inside = Path(os.path.abspath(file)).relative_to(root).as_posix()
            try:
                article = parse_article(
                    file.read_bytes(),
                    source=source,
                    doc_id=f"{name}/{inside}",
                    corpus=name,
                    file=resolved.as_posix(),
                    mtime=file.stat().st_mtime,
                )
            except ArticleError as exc:
                self.problems.append(LoadProblem(source, str(exc)))
                continue
            except OSError as exc:
                self.problems.append(LoadProblem(source, exc.strerror or str(exc)))
                continue
            first = self._seen_ids.setdefault(article.key, source)
            if first != source:
                self.problems.append(
                    LoadProblem(source, f"the same article as {first} ({article.key})")
                )
                continue
            self.articles.append(article)


class ArticleError(ValueError):
    """One article cannot be used; the rest of the corpus still loads."""


def parse_article(
    raw: bytes,
    *,
    source: str,
    doc_id: str = "",
    corpus: str = "",
    file: str = "",
    mtime: float | None = None,
) -> Article:
    """One article; `doc_id` is its identity unless the front matter gives an id or url.

    `mtime`, the file's modification time, dates an article that gives no date itself."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise ArticleError("empty file")
    front, body_start = _front_matter(text)
    body_start, body_end, title_line = _body_span(text, body_start, want_title="title" not in front)
    if body_end <= body_start:
        raise ArticleError("no article text")
    declared = _declared_identity(front)
    title = _as_text(front.pop("title", None)) or title_line or Path(source).stem
    published = article_date(front, Path(source).name, text[body_start:body_end], mtime)
    date = _as_date(front.pop("date", None)) or _date_from_name(source)
    if not date and published is not None and published.source != "mtime":
        date = published.text  # a `published:` key or a dateline, as written
    tags = front.pop("tags", None)
    return Article(
        source=source,
        text=text,
        body_start=body_start,
        body_end=body_end,
        title=title,
        date=date,
        author=_as_text(front.pop("author", None)),
        excerpt=_as_text(front.pop("excerpt", None)),
        tags=_as_tags(tags),
        url=_as_text(front.pop("url", None)),
        extra={k: _as_text(v) for k, v in front.items() if v not in (None, "", [])},
        doc_id=declared or doc_id,
        corpus=corpus,
        file=file,
        published=published,
    )


def _declared_identity(front: dict[str, Any]) -> str:
    """The article's own identity from its front matter: `id`, else `url`; else ""."""
    for key in ("id", "url"):
        value = _as_text(front.get(key))
        if value:
            return f"{key}:{value}"
    return ""


def _front_matter(text: str) -> tuple[dict[str, Any], int]:
    match = _FRONT_MATTER.match(text)
    if not match:
        if text.lstrip("\ufeff").startswith("---\n") or text.lstrip("\ufeff").startswith("---\r\n"):
            raise ArticleError("front matter opened with --- but never closed")
        return {}, 0
    try:
        data = yaml.safe_load(match.group(2)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise ArticleError(f"broken front matter{where}") from None
    if not isinstance(data, dict):
        raise ArticleError("front matter is not a mapping of keys to values")
    return {str(k).lower(): v for k, v in data.items()}, match.end()


def _lines(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl == -1 else nl
        yield pos, stop
        pos = stop + 1


def _body_span(text: str, start: int, *, want_title: bool) -> tuple[int, int, str]:
    end = len(text)
    title = ""
    if want_title:
        for line_start, line_end in _lines(text, start, end):
            line = text[line_start:line_end].strip()
            if line:
                title = line.lstrip("#").strip()
                start = line_end
                break
    lines = list(_lines(text, start, end))
    while lines:
        line_start, line_end = lines[-1]
        line = text[line_start:line_end]
        if line.strip() and not _NAVIGATION.match(line):
            break
        end = line_start
        lines.pop()
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end, title


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(_as_text(v) for v in value)
    return str(value).strip()


def _as_date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    text = _as_text(value)
    match = re.match(r"\d{4}-\d{2}-\d{2}", text)
    return match.group(0) if match else text


def _as_tags(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return tuple(t.strip() for t in value.split(",") if t.strip())
    if isinstance(value, list | tuple):
        return tuple(_as_text(v) for v in value if _as_text(v))
    return (_as_text(value),)


def _date_from_name(source: str) -> str:
    match = _DATE_PREFIX.match(Path(source).name)
    return match.group(1) if match else ""
