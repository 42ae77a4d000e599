"""A general English thesaurus (assistant/data/thesaurus.tsv.gz, derived from WordNet 3.0
by scripts/build_thesaurus.py), in the engine's term space.

The hand-written tables (synonyms.yaml, aliases.yaml) hold the news vocabulary the team
has seen; this one lets a reader's "rocket" find the article's "missile", "punished" find
"punishment" and "pact" find "treaty" for words nobody listed. Synonyms (the same sense)
and related words (a derived form, a broader term, a similar adjective) are kept apart,
since related words say less.
"""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.errors import ConfigError
from assistant.text import terms

PATH = Path(__file__).resolve().parent / "data" / "thesaurus.tsv.gz"

Phrase = tuple[str, ...]  # a word or phrase as terms: ("armed", "forc")


@dataclass(frozen=True)
class Relations:
    synonyms: frozenset[Phrase]
    related: frozenset[Phrase]


NONE = Relations(frozenset(), frozenset())


class Thesaurus:
    def __init__(self, text: bytes) -> None:
        # The file as written: comment lines, then "word<TAB>synonyms<TAB>related" lines
        # sorted by word (in UTF-8 that is the order of the words as str). A word's line is
        # found by binary search and parsed when the word is looked up.
        self._text = text
        self._first = 0  # where the first word's line starts
        while text.startswith(b"#", self._first):
            self._first = text.index(b"\n", self._first) + 1
        self._rows: dict[str, str] | None = None  # word -> "synonyms<TAB>related", see read_all

    def read_all(self) -> None:
        """Every line into a dict, for a process answering many questions: a lookup then
        takes well under a microsecond instead of ~30 (a new question looks up ~20 words and
        their base forms), for ~0.1 s of reading that holds the interpreter."""
        if self._rows is None:
            text = self._text[self._first :].decode("utf-8")
            self._rows = dict(line.split("\t", 1) for line in text.splitlines())
            self._text = b""

    @classmethod
    def load(cls, path: Path = PATH) -> Thesaurus:
        """The file's lines kept as they are, without its comments: decompressing the
        13 MB takes ~0.1 s (zlib lets other threads run meanwhile); building a dict of the
        145,000 lines took another ~0.1 s, splitting every one ~0.9 s."""
        try:
            return cls(gzip.decompress(path.read_bytes()))
        except (OSError, ValueError, EOFError) as exc:
            raise ConfigError(f"the thesaurus cannot be read from {path}: {exc}") from None

    def _row(self, word: str) -> str | None:
        """The word's "synonyms<TAB>related" as written in the file; None if it has no line."""
        # The text before the rows: read_all sets the rows, then empties the text, so text
        # read while the rows were still unset is the whole file. (Read the other way round,
        # a lookup during read_all searched the emptied text, and the word's relations were
        # cached as none for the life of the process.)
        lines = self._text
        rows = self._rows
        if rows is not None:
            return rows.get(word)
        key = word.encode("utf-8")
        lo, hi = self._first, len(lines)
        while lo < hi:  # the word's line, if any, starts in [lo, hi); lo starts a line
            mid = (lo + hi) // 2
            start = lines.rfind(b"\n", lo, mid) + 1 or lo  # of the line holding mid
            tab = lines.find(b"\t", start)
            end = lines.find(b"\n", tab)
            end = len(lines) if end < 0 else end
            found = lines[start:tab]
            if found == key:
                return lines[tab + 1 : end].decode("utf-8")
            if found < key:
                lo = end + 1
            else:
                hi = start
        return None

    def relations(self, word: str) -> Relations:
        """What a word as written ("punished") may be said with instead, as terms."""
        return _relations(self, word.lower())

    def knows(self, word: str) -> bool:
        """Whether WordNet has the word, in any of its inflected forms ("voted": "vote")."""
        return any(self._row(w) is not None for w in _lemmas(word.lower()))

    def _parse(self, word: str) -> Relations:
        row = next((r for w in _lemmas(word) if (r := self._row(w)) is not None), None)
        if row is None:
            return NONE
        synonym_column, _, related_column = row.partition("\t")
        own = {tuple(terms(word))}
        synonyms = _phrases(synonym_column) - own
        return Relations(frozenset(synonyms), frozenset(_phrases(related_column) - synonyms - own))


@lru_cache(maxsize=8192)
def _relations(thesaurus: Thesaurus, word: str) -> Relations:
    return thesaurus._parse(word)


def _lemmas(word: str) -> list[str]:
    """The word, then the base forms it may be inflected from (WordNet's own entries hold
    irregular forms: "wrote", "children"); a phrase inflects its first word ("pulled back",
    "looks like")."""
    first, space, rest = word.partition(" ")
    if space:
        return [word] + [f"{form} {rest}" for form in _word_lemmas(first)[1:]]
    return _word_lemmas(word)


def _word_lemmas(word: str) -> list[str]:
    forms = [word]
    for suffix, base in _INFLECTIONS:
        stem = word[: len(word) - len(suffix)]
        if word.endswith(suffix) and len(stem) >= 3:
            forms.append(stem + base)
            if not base and stem[-1] == stem[-2] and stem[-1] not in "aeiouls":
                forms.append(stem[:-1])  # "patrolling", "planned"
            elif not base and stem[-1] == stem[-2] == "l":
                forms.append(stem[:-1])
    return forms


_INFLECTIONS = (
    ("ies", "y"),
    ("es", ""),
    ("s", ""),
    ("ied", "y"),
    ("ed", ""),
    ("ed", "e"),
    ("ing", ""),
    ("ing", "e"),
    ("er", ""),
    ("est", ""),
)


def _phrases(column: str) -> set[Phrase]:
    return {tuple(terms(item)) for item in column.split(",") if item and terms(item)}


_LOADING = threading.Lock()


def default_thesaurus() -> Thesaurus:
    """The shipped thesaurus, read once per process (threads wait for the one reading it)."""
    with _LOADING:
        return _shipped()


@lru_cache(maxsize=1)
def _shipped() -> Thesaurus:
    return Thesaurus.load()
