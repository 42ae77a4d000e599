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
    def __init__(self, rows: dict[str, str]) -> None:
        self._rows = rows  # word -> "synonyms<TAB>related", as written in the file

    @classmethod
    def load(cls, path: Path = PATH) -> Thesaurus:
        """Each line kept as written and parsed when its word is looked up: reading the
        145,000 lines takes ~0.2 s this way, ~0.9 s splitting every one."""
        try:
            text = gzip.decompress(path.read_bytes()).decode("utf-8")
            rows = dict(line.split("\t", 1) for line in text.splitlines() if line[:1] != "#")
        except (OSError, ValueError, EOFError) as exc:
            raise ConfigError(f"the thesaurus cannot be read from {path}: {exc}") from None
        return cls(rows)

    def relations(self, word: str) -> Relations:
        """What a word as written ("punished") may be said with instead, as terms."""
        return _relations(self, word.lower())

    def knows(self, word: str) -> bool:
        """Whether WordNet has the word, in any of its inflected forms ("voted": "vote")."""
        return any(w in self._rows for w in _lemmas(word.lower()))

    def _parse(self, word: str) -> Relations:
        row = next((self._rows[w] for w in _lemmas(word) if w in self._rows), None)
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
