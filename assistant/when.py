"""Time in questions: "latest", "this week", "yesterday", "in November", "on 2 December 2025",
"since Monday" and the like.

    >>> import datetime as dt
    >>> asked = parse_time("What happened on 2 December 2025?", anchor=dt.date(2025, 12, 3))
    >>> asked.text, asked.range.start, asked.range.end, asked.wants_latest
    ('What happened?', datetime.date(2025, 12, 2), datetime.date(2025, 12, 2), False)

The dates themselves are read by dateparser (imported only for a question that names a
month, a weekday, a year or a word of time such as "week" or "yesterday": most questions
never load it). Relative expressions resolve against an anchor day: today, or the newest
article's date when the corpus is older than a week (`anchor_day`), so "this week" means
the corpus's last week.

A found expression becomes a range of days: the day, week (Monday to Sunday), month or year
it names; "since"/"after"/"from" open it towards now, "before"/"until"/"by" towards the
past. Words such as "latest" and "most recent" set `wants_latest` (assistant/data/
time_words.yaml). What was found is removed from the question's text; an expression that
reads as a date but names none (durations such as "within 100 days", "now") is left alone.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from assistant.dates import format_range
from assistant.text import terms

CURRENT_DAYS = 7  # a corpus whose newest article is this recent is read against today
_WORD = re.compile(r"[A-Za-z]+|\d+(?:[-/.]\d+)*")
_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}


@dataclass(frozen=True)
class DateRange:
    """Days from start to end, both included; None is open-ended."""

    start: dt.date | None
    end: dt.date | None

    def contains(self, day: dt.date) -> bool:
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    def overlaps(self, other: DateRange) -> bool:
        """Whether the two spans share a day (None: open-ended)."""
        starts_in_time = self.start is None or other.end is None or self.start <= other.end
        ends_in_time = other.start is None or self.end is None or other.start <= self.end
        return starts_in_time and ends_in_time

    def describe(self) -> str:
        return format_range(self.start, self.end)


@dataclass(frozen=True)
class TimeQuestion:
    """A question read for time.

    `text` is the question without its time words (the question itself when it has none);
    `range` the days it asks about, or None; `wants_latest` whether it asks for the newest
    ("latest", "most recent"); `expression` the words that said so, as written.
    """

    text: str
    range: DateRange | None = None
    wants_latest: bool = False
    expression: str = ""

    @property
    def asks_time(self) -> bool:
        return self.range is not None or self.wants_latest


def anchor_day(today: dt.date, newest: dt.date | None) -> dt.date:
    """The day relative expressions are read against: today, or the newest article's day
    when the corpus is older than CURRENT_DAYS (an archive: "this week" is its last week)."""
    if newest is None or newest >= today - dt.timedelta(days=CURRENT_DAYS):
        return today
    return newest


def mentions_time(question: str) -> bool:
    """Cheap: whether the question holds a word worth giving to the date parser."""
    words = _words()
    lowered = question.lower()
    if any(phrase in lowered for phrase in words.recency_phrases):
        return True
    return any(_is_time_word(token) or _numeric_date(token) for token in _WORD.findall(lowered))


def _is_time_word(token: str) -> bool:
    """A month, a weekday, a time word of time_words.yaml ("week", "yesterday") or a year."""
    return token in _words().gate or (token.isdigit() and len(token) == 4)


def parse_time(question: str, *, anchor: dt.date | Callable[[], dt.date]) -> TimeQuestion:
    """The question's time: the days it asks about and whether it wants the newest.

    `anchor` (or a function giving it, called only when the question mentions time) is the
    day relative expressions are read against (see anchor_day)."""
    if not mentions_time(question):
        return TimeQuestion(question)
    text, latest, said = _without_recency(question)
    base = anchor() if callable(anchor) else anchor
    found = _find_range(text, base)
    if found is None:
        if not latest:
            return TimeQuestion(question)
        return TimeQuestion(_tidy(text), None, True, said)
    start, end, date_range = found
    rest = _tidy(text[:start] + " " + text[end:])
    expression = " ".join(filter(None, (said, text[start:end].strip())))
    return TimeQuestion(rest, date_range, latest, expression)


def ranges_in(text: str, *, anchor: dt.date) -> list[DateRange]:
    """Every span of days a text states ("last January", "in February 2022", "on 3 March"),
    relative expressions read against `anchor` (the day the text was published).

    Each time word (a month, a weekday, "week", a year...) is read with the few words
    around it, fewer when those do not parse: the date parser reads a whole sentence as
    one date or none ("last January at 880,000 active personnel": none)."""
    words = list(re.finditer(r"\S+", text))
    found: list[DateRange] = []
    for i, word in enumerate(words):
        if not _is_time_word(word.group(0).strip(".,;:!?()[]\"'").lower()):
            continue
        for before, after in _TIME_WINDOWS:
            start = words[max(0, i - before)].start()
            end = words[min(len(words) - 1, i + after)].end()
            hit = _find_range(text[start:end], anchor)
            if hit is not None:
                if hit[2] not in found:
                    found.append(hit[2])
                break
    return found


_TIME_WINDOWS = ((3, 2), (2, 1), (1, 1), (1, 0), (0, 0))  # words before and after, widest first


# -- reading the question ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Words:
    recency_phrases: tuple[str, ...]
    gate: frozenset[str]
    months: frozenset[str]
    weekdays: frozenset[str]
    relative: frozenset[str]
    from_words: tuple[str, ...]
    until_words: tuple[str, ...]
    exclusive: frozenset[str]
    prepositions: frozenset[str]
    rolling: frozenset[str]
    generic_terms: frozenset[str]


@lru_cache(maxsize=1)
def _words() -> _Words:
    from assistant.lexicon import load_table

    table = load_table("time_words")
    months = {m.lower() for m in (*calendar.month_name, *calendar.month_abbr) if m} | {"sept"}
    weekdays = {d.lower() for d in (*calendar.day_name, *calendar.day_abbr)}
    ranges = table["range_words"]
    return _Words(
        recency_phrases=tuple(sorted(table["recency"], key=len, reverse=True)),
        gate=frozenset(table["time_words"]) | (months - {"may", "mar", "jun", "sun"}) | weekdays,
        months=frozenset(months),
        weekdays=frozenset(weekdays),
        relative=frozenset(table["relative_words"]),
        from_words=tuple(sorted(ranges["from"], key=len, reverse=True)),
        until_words=tuple(sorted(ranges["until"], key=len, reverse=True)),
        exclusive=frozenset(ranges["exclusive"]),
        prepositions=frozenset(table["prepositions"]),
        rolling=frozenset(table["rolling"]),
        generic_terms=frozenset(table["generic_terms"]),
    )


@lru_cache(maxsize=1)
def time_terms() -> frozenset[str]:
    """Stemmed terms that name a time, not a topic: months, weekdays, "tomorrow",
    "morning" (not a length of time: "within 100 days", "these days")."""
    from assistant.lexicon import load_table

    named = {n.lower() for n in (*calendar.month_name, *calendar.day_name) if n}
    named |= {str(w) for w in load_table("time_words")["day_parts"]}
    return frozenset(t for word in named for t in terms(str(word)))


def generic_terms() -> frozenset[str]:
    """Stemmed terms that say nothing about a topic ("happened", "news", "story")."""
    return _words().generic_terms


def _without_recency(question: str) -> tuple[str, bool, str]:
    """The question without its "latest"/"most recent" words; whether it had any; them."""
    said: list[str] = []
    text = question
    for phrase in _words().recency_phrases:
        pattern = re.compile(rf"\b(?:the\s+)?{re.escape(phrase)}\b", re.IGNORECASE)
        match = pattern.search(text)
        if match:
            said.append(match.group(0).strip())
            text = pattern.sub(" ", text, count=1)
    return text, bool(said), " ".join(said)


def _find_range(text: str, anchor: dt.date) -> tuple[int, int, DateRange] | None:
    """The first time expression in the text that names days: its span and its range."""
    rolling = _rolling(text, anchor)
    if rolling is not None:
        return rolling
    from dateparser.search import search_dates

    base = dt.datetime(anchor.year, anchor.month, anchor.day)
    pair = _between(text, base)
    if pair is not None:
        return pair
    settings = {
        "RELATIVE_BASE": base,
        "PREFER_DATES_FROM": "past",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    cursor = 0
    for words, _ in search_dates(text, languages=["en"], settings=settings) or ():
        at = text.find(words, cursor)
        if at < 0:
            continue
        cursor = at + len(words)
        span = _expression(text, at, at + len(words), base)
        if span is not None:
            return span
    return None


def _expression(
    text: str, start: int, end: int, base: dt.datetime
) -> tuple[int, int, DateRange] | None:
    """The found words trimmed to what reads as a date ("on Friday about the" -> "Friday"),
    widened to a day number before a month ("1 December" where the search saw "December")
    and to "last"/"this" before it, with the word that opens a range ("since") or the
    preposition ("on") before it."""
    vocabulary = _words()
    tokens = [m for m in _WORD.finditer(text) if start <= m.start() < end]
    while tokens and not _date_token(tokens[-1].group(0)):
        tokens.pop()
    while tokens and not _date_token(tokens[0].group(0)):
        word = tokens[0].group(0).lower()
        if word in ("last", "this", "past", "next") and len(tokens) > 1:
            break
        tokens.pop(0)
    if not tokens:
        return None
    start, end = tokens[0].start(), tokens[-1].end()
    before = list(_WORD.finditer(text[:start]))
    if (
        before
        and before[-1].group(0).isdigit()
        and _day_range(text[before[-1].start() : end], base)
    ):
        start = before.pop().start()
    if before and before[-1].group(0).lower() in ("last", "this", "next"):
        start = before.pop().start()
    words = [w.lower() for w in _WORD.findall(text[start:end])]
    preceding = before[-1].group(0).lower() if before else ""
    if not _names_days(words, preceding):
        return None
    days = _day_range(text[start:end], base)
    if days is None and words[0] in ("last", "this", "next"):  # "last January": January
        days = _day_range(text[start:end].split(None, 1)[-1], base)
    if days is None:
        return None
    opening, opened_at = _opening(text[:start])
    first, last = days
    if opening in vocabulary.from_words:
        first = last + dt.timedelta(days=1) if opening in vocabulary.exclusive else first
        last = None
    elif opening in vocabulary.until_words:
        last = first - dt.timedelta(days=1) if opening in vocabulary.exclusive else last
        first = None
    else:
        opened_at = _preposition_start(text, start)
    return opened_at, end, DateRange(first, last)


def _date_token(token: str) -> bool:
    vocabulary = _words()
    word = token.lower()
    return (
        token.isdigit()
        or _numeric_date(token)
        or word in vocabulary.months
        or word in vocabulary.weekdays
        or word in vocabulary.relative
        or word.rstrip("s") in vocabulary.relative
        or word in ("day", "days", "ago")
    )


def _names_days(words: list[str], preceding: str) -> bool:
    """A month, a weekday, a relative word ("week", "yesterday", "ago"), a numeric date, or
    a year after a preposition ("in 2025"); never a bare duration or "now"."""
    vocabulary = _words()
    if any(w in vocabulary.weekdays or w in vocabulary.relative for w in words):
        return True
    if any(_numeric_date(w) for w in words):
        return True
    after_preposition = preceding in (vocabulary.prepositions - {"the"}) | _range_words()
    months = [w for w in words if w in vocabulary.months]
    if months:
        # "May" and "March" may be a name or a verb, and an abbreviation may be a word: they
        # need a number beside them or a preposition before them ("in May").
        plain = len(months[0]) > 3 and months[0] not in ("may", "march")
        return plain or any(w.isdigit() for w in words) or after_preposition
    years = [w for w in words if w.isdigit() and len(w) == 4]
    return bool(years) and len(words) == 1 and after_preposition


def _range_words() -> frozenset[str]:
    words = _words()
    return frozenset(
        w for phrase in (*words.from_words, *words.until_words) for w in phrase.split()
    )


def _numeric_date(token: str) -> bool:
    parts = re.split(r"[-/.]", token)
    return len(parts) == 3 and all(p.isdigit() for p in parts) and any(len(p) == 4 for p in parts)


def _day_range(expression: str, base: dt.datetime) -> tuple[dt.date, dt.date] | None:
    """The days an expression names, by the period dateparser reads in it."""
    from dateparser.date import DateDataParser

    parser = DateDataParser(
        languages=["en"],
        settings={
            "RELATIVE_BASE": base,
            "PREFER_DATES_FROM": "past",
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    data = parser.get_date_data(expression)
    if data.date_obj is None:
        return None
    day = data.date_obj.date()
    if data.period == "week":
        monday = day - dt.timedelta(days=day.weekday())
        return monday, monday + dt.timedelta(days=6)
    if data.period == "month":
        last = calendar.monthrange(day.year, day.month)[1]
        return day.replace(day=1), day.replace(day=last)
    if data.period == "year":
        return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    return day, day


_PAIR = re.compile(
    r"\b(between|from)\s+(.+?)\s+(?:and|to|until|till|through|-|–)\s+(.+?)\s*(?=[?.!,;]|$)",
    re.IGNORECASE,
)


def _between(text: str, base: dt.datetime) -> tuple[int, int, DateRange] | None:
    """ "between 1 and 3 December", "from 1 December to 3 December 2025": both ends read by
    dateparser; a bare day number takes the month (and year) of the other end."""
    match = _PAIR.search(text)
    if match is None:
        return None
    first_words, last_words = match.group(2), match.group(3)
    tokens = last_words.split()
    while tokens and not _date_token(re.sub(r"\W", "", tokens[-1])):
        tokens.pop()
    if not tokens:
        return None
    last = _day_range(" ".join(tokens), base)
    if first_words.isdigit() and len(tokens) > 1:
        first = _day_range(" ".join([first_words, *tokens[1:]]), base)
    else:
        first = _day_range(first_words, base)
    if first is None or last is None or first[0] > last[1]:
        return None
    end = match.start(3) + len(last_words.rsplit(tokens[-1], 1)[0]) + len(tokens[-1])
    return match.start(), end, DateRange(first[0], last[1])


def _rolling(text: str, anchor: dt.date) -> tuple[int, int, DateRange] | None:
    """ "the past week", "the last 3 days": the days up to the anchor (dateparser reads a
    calendar "last week", not these)."""
    rolling = "|".join(sorted(_words().rolling))
    numbers = "|".join(_NUMBER_WORDS)
    pattern = re.compile(
        rf"\b(?:(?:in|over|during|for)\s+)?(?:the\s+)?(?:{rolling})\s+"
        rf"(?:(\d+|{numbers})\s+)?(day|week|fortnight|month|year)s?\b",
        re.IGNORECASE,
    )
    match = pattern.search(text)
    if match is None:
        return None
    count_word, unit = match.group(1), match.group(2).lower()
    if count_word is None and match.group(0).lower().split()[-2:-1] == ["last"]:
        return None  # "last week": the calendar week before, which dateparser reads
    count = (
        int(count_word)
        if count_word and count_word.isdigit()
        else _NUMBER_WORDS.get((count_word or "one").lower(), 1)
    )
    days = {"day": 1, "week": 7, "fortnight": 14, "month": 30, "year": 365}[unit] * count
    start = anchor - dt.timedelta(days=days - 1)
    return match.start(), match.end(), DateRange(start, anchor)


def _opening(before: str) -> tuple[str, int]:
    """The range word right before an expression ("since", "up to") and where it starts."""
    stripped = before.rstrip()
    lowered = stripped.lower()
    words = _words()
    for phrase in (*words.from_words, *words.until_words):
        if lowered.endswith(phrase) and (
            len(lowered) == len(phrase) or not lowered[-len(phrase) - 1].isalnum()
        ):
            return phrase, len(stripped) - len(phrase)
    return "", len(before)


def _preposition_start(text: str, start: int) -> int:
    """Where the expression starts with the preposition before it ("on" 2 December)."""
    before = list(_WORD.finditer(text[:start]))
    if before and before[-1].group(0).lower() in _words().prepositions - {"the", "past"}:
        return before[-1].start()
    return start


def _tidy(text: str) -> str:
    text = re.sub(r"\s+([?.!,;:])", r"\1", text)
    text = re.sub(r"([,;:])\s*([?.!])", r"\2", text)
    text = re.sub(r"\s{2,}", " ", text).strip()
    return re.sub(r"^[,;:\s]+", "", text)
