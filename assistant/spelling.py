"""Reading a reader's misspelt words as the articles spell them.

"what happens to crimia?", "who would garantee ukraines security", "the frozen asets": a
word that no article uses and that is no English word either is most likely a typo. It is
read as the word one edit away (a letter left out, added, changed, or two swapped) that the
articles use most, preferring one with the same first letter; the answer says so in a
notice. The word read must itself be a word (WordNet's, or a name of the alias table): the
keyword index knows stems, and "crimin" (one edit from "crimia") is the stem of "criminal"
in a corpus about courts. Not corrected:
- a word the articles use, or an English word they do not (WordNet's, in the thesaurus, and
  everyday words it lacks, data/everyday_words.yaml: "admin" is not "admit"): "weather",
  "poem" and "recipe" are out of scope, not typos of "whether" or "recipes";
- a name the alias table knows ("Kiev");
- a word of under MIN_LETTERS letters (too many words lie one edit away), or with digits;
- a capitalised word, unless it becomes a name the alias table knows ("Ukrane" becomes
  "Ukraine"; "Macron" is not read as some "Macon" in the articles).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from assistant.lexicon import load_table
from assistant.text import STOPWORDS, terms
from assistant.thesaurus import default_thesaurus

MIN_LETTERS = 5
LETTERS = "abcdefghijklmnopqrstuvwxyz"
_WORD = re.compile(r"(?<![\w'’‑-])[A-Za-z]+(?![\w'’‑-])")


@dataclass(frozen=True)
class Spelling:
    """A question as read, and the words read otherwise (as typed, as read)."""

    text: str
    changes: tuple[tuple[str, str], ...] = ()

    @property
    def notice(self) -> str:
        read = ", ".join(f'"{typed}" as "{read}"' for typed, read in self.changes)
        return f"Read {read}."


class SpellingReader:
    """Corrects typos against the articles' vocabulary (see the module docstring)."""

    def __init__(
        self,
        *,
        frequencies: Callable[[Iterable[str]], dict[str, int]],
        is_english: Callable[[str], bool],
        is_alias: Callable[[str], bool],
    ) -> None:
        self._frequencies = frequencies  # term -> number of chunks holding it
        self._is_english = is_english
        self._is_alias = is_alias

    def read(self, text: str) -> Spelling:
        changes: list[tuple[str, str]] = []

        def replace(match: re.Match[str]) -> str:
            typed = match.group(0)
            read = self._correction(typed)
            if read is None:
                return typed
            changes.append((typed, read))
            return read

        corrected = _WORD.sub(replace, text)
        return Spelling(corrected, tuple(changes))

    def _correction(self, typed: str) -> str | None:
        word = typed.lower()
        if len(word) < MIN_LETTERS or word in STOPWORDS or self._is_alias(typed):
            return None
        own = terms(word)
        if not own or self._frequencies(own).get(own[0], 0) > 0 or self._is_english(word):
            return None
        found = self._nearest(word)
        if found is None:
            return None
        if typed[0].isupper():
            found = found.capitalize()
            if not self._is_alias(found):
                return None  # a name the articles do not use stays as it is: out of scope
        return found

    def _nearest(self, word: str) -> str | None:
        by_term: dict[str, list[str]] = {}
        for candidate in _one_edit_away(word):
            own = terms(candidate)
            if len(own) == 1:
                by_term.setdefault(own[0], []).append(candidate)
        counts = self._frequencies(by_term)
        ranked = [
            (candidate[0] == word[0], count, candidate)
            for term, count in counts.items()
            if count > 0
            for candidate in by_term[term]
            # "crimin" shares the articles' stem of "criminal" but is no word
            if self._is_english(candidate) or self._is_alias(candidate)
        ]
        if not ranked:
            return None
        # Same first letter, then the most used; the alphabet decides a tie, the same way
        # every time.
        return min(ranked, key=lambda r: (not r[0], -r[1], r[2]))[2]


def is_english(word: str) -> bool:
    """An English word: WordNet's (the thesaurus), or everyday English it lacks."""
    return default_thesaurus().knows(word) or is_everyday(word)


def is_everyday(word: str) -> bool:
    """Everyday words WordNet 3.0 lacks ("admin", "email"): data/everyday_words.yaml."""
    return word.lower() in _everyday()


@lru_cache(maxsize=1)
def _everyday() -> frozenset[str]:
    return frozenset(str(w).lower() for w in load_table("everyday_words")["words"])


def _one_edit_away(word: str) -> set[str]:
    """Every string one deletion, transposition, replacement or insertion from the word."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in LETTERS}
    inserts = {a + c + b for a, b in splits for c in LETTERS}
    return (deletes | swaps | replaces | inserts) - {word}
