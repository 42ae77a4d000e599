"""Publication dates: where an article's date comes from, how it is stored, how it is shown.

An article's date is looked for, in this order (the `date_source` it is marked with):

1. its front matter: `date`, else `published`, `published_at`, `publish_date`, `pubdate`,
   `date_published`, `created` or `created_at` (`front_matter`);
2. the file name's `YYYY-MM-DD-` prefix (`file_name`);
3. a dateline in the body's first three lines: a full date (day, month and year) on a short
   line ("Published 2 December 2025", "By Jo Bloggs | 2 Dec 2025") or at the start of a line,
   before a dash ("LONDON, 2 December 2025 — ...") (`dateline`);
4. the file's modification time (`mtime`). That is when the file was written, not when the
   article was published: it is stored, shown and filtered on like the others, but it never
   makes one source newer than another while other articles have a better date (see
   `ArticleDate.weak` and `CorpusDates`).

Every chunk of an article carries these metadata keys (assistant.corpus.Article.metadata):

- `date` (str): the date as the article gives it, for display: the front matter's value
  (`2025-11-21` for a YAML timestamp), the file name's prefix, or the dateline's words as
  written; "" for an mtime date (the article gives none);
- `published` (str): the day, ISO `YYYY-MM-DD`;
- `published_ts` (int): seconds since the epoch, UTC: the publication time when the source
  gives one, else midnight UTC of the day. This is the filterable form (Chroma `where`
  `$gte`/`$lt`);
- `date_source` (str): `front_matter`, `file_name`, `dateline` or `mtime`.

An article with no date at all (text parsed without a file) has none of the last three.
Front matter's `title`, `author` and `url` are carried as the keys `title`, `author` and
`url` ("" when absent).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

DATE_KEYS = (
    "date",
    "published",
    "published_at",
    "publish_date",
    "pubdate",
    "date_published",
    "datepublished",
    "created",
    "created_at",
)
SOURCES = ("front_matter", "file_name", "dateline", "mtime")
DATELINE_LINES = 3  # the body's first non-empty lines looked at
DATELINE_SHORT_LINE = 100  # a line this short may hold its date anywhere
DATELINE_LEAD = 60  # in a longer line the date starts within this many characters...
_DATELINE_SEPARATORS = "—–-|:"  # ...and a dash or bar follows it
_FILE_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})-")
_DAY = 86400


@dataclass(frozen=True)
class Published:
    """An article's publication date as stored: see the module docstring for the keys."""

    day: dt.date
    ts: int
    text: str  # as the article gives it ("" for an mtime date)
    source: str  # one of SOURCES

    @property
    def weak(self) -> bool:
        """A file's modification time, not a date the article gives."""
        return weak_source(self.source)

    def metadata(self) -> dict[str, Any]:
        return {
            "published": self.day.isoformat(),
            "published_ts": self.ts,
            "date_source": self.source,
        }


# -- finding an article's date -------------------------------------------------------------


def article_date(
    front: Mapping[str, Any], file_name: str, body: str, mtime: float | None
) -> Published | None:
    """The article's date from the first source that gives one (module docstring)."""
    for key in DATE_KEYS:
        value = front.get(key)
        found = _from_value(value)
        if found is not None:
            return Published(found.date(), _ts(found), display_text(value), "front_matter")
    match = _FILE_DATE.match(file_name)
    if match:
        with_time = _from_value(match.group(1))
        if with_time is not None:
            return Published(with_time.date(), _ts(with_time), match.group(1), "file_name")
    dateline = find_dateline(body)
    if dateline is not None:
        text, when = dateline
        return Published(when.date(), _ts(when), text, "dateline")
    if mtime is not None:
        when = dt.datetime.fromtimestamp(mtime, dt.UTC)
        return Published(when.date(), int(mtime), "", "mtime")
    return None


def display_text(value: Any) -> str:
    """A front-matter date as shown: a YAML timestamp as its day, a string as written."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    match = re.match(r"\d{4}-\d{2}-\d{2}", text)
    return match.group(0) if match else text


def _from_value(value: Any) -> dt.datetime | None:
    """A front-matter value as a datetime (UTC when it has a zone), or None."""
    if isinstance(value, bool) or value is None:  # Jekyll's `published: false`
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    text = str(value).strip()
    if not text or len(text) > 80:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    return parse_day(text)


def parse_day(text: str) -> dt.datetime | None:
    """A date written in words or numbers ("2 December 2025", "Dec 2, 2025"); a day is
    required (a month alone is not a publication date)."""
    parser = _day_parser()
    data = parser.get_date_data(text)
    if data.date_obj is None or data.period not in ("day", "time"):
        return None
    return data.date_obj


@lru_cache(maxsize=1)
def _day_parser():  # type: ignore[no-untyped-def]
    from dateparser.date import DateDataParser

    return DateDataParser(
        languages=["en"],
        settings={"REQUIRE_PARTS": ["day", "month", "year"], "RETURN_AS_TIMEZONE_AWARE": False},
    )


def find_dateline(body: str) -> tuple[str, dt.datetime] | None:
    """A full date in the body's first lines that reads as its dateline, as (words, date)."""
    seen = 0
    for line in body.splitlines():
        line = line.strip().lstrip("#*_> ").rstrip("*_ ")
        if not line:
            continue
        seen += 1
        if seen > DATELINE_LINES:
            return None
        found = _dateline_in(line)
        if found is not None:
            return found
    return None


def _dateline_in(line: str) -> tuple[str, dt.datetime] | None:
    from dateparser.search import search_dates

    head = line[: max(DATELINE_SHORT_LINE, DATELINE_LEAD + 40)]
    found = search_dates(
        head,
        languages=["en"],
        settings={"REQUIRE_PARTS": ["day", "month", "year"], "RETURN_AS_TIMEZONE_AWARE": False},
    )
    for words, when in found or ():
        at = head.find(words)
        if at < 0 or not any(ch.isdigit() for ch in words):
            continue
        after = head[at + len(words) :].lstrip(" )")
        if len(line) <= DATELINE_SHORT_LINE or (
            at <= DATELINE_LEAD and after[:1] in _DATELINE_SEPARATORS and after
        ):
            return words.strip(), when
    return None


def _ts(when: dt.datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp())


def day_start_ts(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


# -- showing dates -------------------------------------------------------------------------


def format_day(day: dt.date) -> str:
    """2 December 2025."""
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"


def format_range(start: dt.date | None, end: dt.date | None) -> str:
    """How a range of days reads: "2 December 2025", "1–7 December 2025", "since 1 December
    2025"."""
    if start is None and end is None:
        return "any date"
    if start is None:
        assert end is not None
        return f"up to {format_day(end)}"
    if end is None:
        return f"since {format_day(start)}"
    if start == end:
        return format_day(start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {calendar.month_name[end.month]} {end.year}"
    if start.year == end.year:
        return f"{start.day} {calendar.month_name[start.month]} – {format_day(end)}"
    return f"{format_day(start)} – {format_day(end)}"


def passage_day(published: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(published) if published else None
    except ValueError:
        return None


# -- weekdays in sentences -------------------------------------------------------------------


@dataclass(frozen=True)
class DerivedDay:
    """A weekday a sentence names ("on Sunday"), dated from its article's date."""

    weekday: str
    day: dt.date
    article_day: dt.date

    def note(self) -> str:
        return (
            f"{self.weekday}, {format_day(self.day)}, derived from the article's date "
            f"({format_day(self.article_day)})"
        )


def weekday_dates(sentence: str, article_day: dt.date) -> list[DerivedDay]:
    """The weekdays a sentence names without a full date beside them, each resolved to the
    most recent such day on or before the article's date. [] when the sentence gives a
    date with day and month itself ("on Sunday 30 November")."""
    names = {name.lower(): i for i, name in enumerate(calendar.day_name)}
    named = [w for w in re.findall(r"[A-Za-z]+", sentence) if w.lower() in names]
    if not named or _has_explicit_day(sentence):
        return []
    found: dict[str, DerivedDay] = {}
    for word in named:
        weekday = names[word.lower()]
        back = (article_day.weekday() - weekday) % 7
        found.setdefault(
            word.lower(),
            DerivedDay(
                calendar.day_name[weekday], article_day - dt.timedelta(days=back), article_day
            ),
        )
    return list(found.values())


def _has_explicit_day(sentence: str) -> bool:
    from dateparser.search import search_dates

    found = search_dates(
        sentence,
        languages=["en"],
        settings={"REQUIRE_PARTS": ["day", "month"], "RETURN_AS_TIMEZONE_AWARE": False},
    )
    return any(any(ch.isdigit() for ch in words) for words, _ in found or ())


# -- the dates of a stored corpus -----------------------------------------------------------


@dataclass(frozen=True)
class ArticleDate:
    key: str  # Article.key (the head chunk's doc_id)
    title: str
    published: Published
    n_chunks: int  # its chunks are chunk_id(key, 0) ... chunk_id(key, n_chunks - 1)


class CorpusDates:
    """The stored articles' dates, read from the head chunks' metadata.

    `newest()` and `ts_for_recency()` count only dates the articles give (front matter,
    file name, dateline) while any article has one; files' modification times count when
    no article has a better date. Filters (`in_range`) use every date.
    """

    def __init__(self, articles: Iterable[ArticleDate]) -> None:
        from assistant.chunking import chunk_id_prefix

        self.articles = sorted(articles, key=lambda a: (-a.published.ts, a.key))
        # By the prefix their chunk ids share: one hash per article, not one per chunk
        # (196,425 of them at 10,000 articles, ~0.4 s of a cold start).
        self._by_prefix = {chunk_id_prefix(a.key): a for a in self.articles}
        self._by_chunk: dict[str, ArticleDate] | None = None  # see _chunks()
        self._strong = any(not a.published.weak for a in self.articles)

    @classmethod
    def from_heads(cls, heads: Mapping[str, Mapping[str, Any]]) -> CorpusDates:
        found = []
        for key, meta in heads.items():
            published = published_from_metadata(meta)
            if published is None:
                continue
            found.append(
                ArticleDate(
                    key,
                    str(meta.get("title", "")),
                    published,
                    int(meta.get("n_chunks", 0) or 0),
                )
            )
        return cls(found)

    def counts(self, article: ArticleDate) -> bool:
        """Whether the article's date may make it newer than another."""
        return not (self._strong and article.published.weak)

    def newest(self) -> ArticleDate | None:
        return next((a for a in self.articles if self.counts(a)), None)

    def newest_day(self) -> dt.date | None:
        newest = self.newest()
        return newest.published.day if newest else None

    def of_chunk(self, chunk_id: str) -> ArticleDate | None:
        from assistant.chunking import split_chunk_id

        parts = split_chunk_id(chunk_id)
        article = self._by_prefix.get(parts[0]) if parts else None
        return article if article is not None and parts and parts[1] < article.n_chunks else None

    def ts_for_recency(self, chunk_id: str) -> int | None:
        article = self.of_chunk(chunk_id)
        return article.published.ts if article is not None and self.counts(article) else None

    def in_range(self, start: dt.date | None, end: dt.date | None) -> list[ArticleDate]:
        """Articles published in [start, end] (days, inclusive; None is open), newest first."""
        return [
            a
            for a in self.articles
            if (start is None or a.published.day >= start)
            and (end is None or a.published.day <= end)
        ]

    def keep(
        self, ranked: Sequence[tuple[str, float]], start: dt.date | None, end: dt.date | None
    ) -> list[tuple[str, float]]:
        """The ranked chunk ids whose article lies in the range, in their order."""
        allowed = {a.key for a in self.in_range(start, end)}
        chunks = self._chunks()
        return [(cid, s) for cid, s in ranked if (a := chunks.get(cid)) and a.key in allowed]

    def _chunks(self) -> dict[str, ArticleDate]:
        """Every chunk id's article, made on first need from the prefixes (no hashing): a
        dated question filters every keyword hit, up to every chunk, by its article."""
        if self._by_chunk is None:
            self._by_chunk = {
                f"{prefix}-{i:05d}": article
                for prefix, article in self._by_prefix.items()
                for i in range(article.n_chunks)
            }
        return self._by_chunk


def weak_source(date_source: str) -> bool:
    """Whether a date of this source (a chunk's `date_source`) is a file's modification time."""
    return date_source == "mtime"


def published_from_metadata(meta: Mapping[str, Any]) -> Published | None:
    day = passage_day(str(meta.get("published", "")))
    ts = meta.get("published_ts")
    if day is None or not isinstance(ts, int | float):
        return None
    source = str(meta.get("date_source", ""))
    return Published(day, int(ts), str(meta.get("date", "")), source)


def range_where(start: dt.date | None, end: dt.date | None) -> dict[str, Any] | None:
    """A Chroma `where` filter on `published_ts` for the days [start, end]."""
    clauses: list[dict[str, Any]] = []
    if start is not None:
        clauses.append({"published_ts": {"$gte": day_start_ts(start)}})
    if end is not None:
        clauses.append({"published_ts": {"$lt": day_start_ts(end) + _DAY}})
    if not clauses:
        return {"published_ts": {"$gte": -(2**62)}}
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
