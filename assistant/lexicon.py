"""Word tables kept as data (assistant/data/*.yaml) and the tokens the citation check reads.

The tables: entity aliases (Washington for the United States), synonyms (army for armed
forces), polarity words (not, bars, rules out) and number words. A `Token` carries the
concepts a word stands for: its stem, its synonym groups and its entity, so that a claim
and a passage can be compared on meaning rather than on spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from assistant.errors import ConfigError
from assistant.text import _IRREGULAR, STOPWORDS, normalise, stem, terms

DATA_DIR = Path(__file__).resolve().parent / "data"
# libyaml's parser when PyYAML was built with it: the same tables, ~10 times faster to read
# (~80 ms of every cold start with the pure-Python one).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=16)
def load_table(name: str, directory: Path = DATA_DIR) -> dict[str, Any]:
    path = directory / f"{name}.yaml"
    try:
        table = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # a safe loader
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"word table {name!r} cannot be read from {path}: {exc}") from None
    if not isinstance(table, dict):
        raise ConfigError(f"word table {name!r} at {path} must be a mapping")
    return table


DEMONYM_ENDINGS = ("an", "ans", "ian", "ians", "ese", "ish", "i", "is", "ic")


@dataclass(frozen=True)
class Token:
    raw: str  # the word as written, lower-cased and typography-folded
    start: int  # offsets in the text the token came from
    end: int
    concepts: frozenset[str]  # stem, synonym groups ("~3"), entity ("@russia")
    content: bool  # carries meaning (not a stop word or punctuation)
    punct: bool = False
    entity: str | None = None
    self_negated: bool = False  # "uncapped": the token stands for "not capped"

    @property
    def key(self) -> str:
        """The concept this token is weighed and reported as."""
        return f"@{self.entity}" if self.entity else min(self.concepts, key=len, default=self.raw)


_TOKEN = re.compile(
    r"[0-9]+(?:[.,][0-9]+)*|non-[^\W\d_]+|[^\W\d_]+(?:'[^\W\d_]+)*|[,;:.!?()]|[$€£]",
    re.UNICODE,
)


# The particles of phrasal verbs ("pull back", "hand over"): a reader inflects the verb and
# puts its object between ("pulled the troops back", "give any land back").
PARTICLES = frozenset("back out up down off over away aside".split())
PHRASAL_REACH = 3  # words that may stand between a phrasal verb and its particle


def _phrase_pattern(phrase: str, *, exact_case: bool) -> re.Pattern[str]:
    parts = _phrase_words(phrase)
    words = [re.escape(w) for w in parts]
    if not exact_case and len(parts) > 1:
        words[0] = _inflected(parts[0])  # "saying yes", "signed up"
    body = r"[\s-]+".join(words)
    flags = 0 if exact_case else re.IGNORECASE
    return re.compile(rf"(?<![\w]){body}(?![\w])", flags)


def _inflected(word: str) -> str:
    """A pattern for the word and its inflections: "say" matches "says", "saying" and
    "said"; "sign" matches "signed"; "give" matches "giving" and "gave"."""
    lowered = word.lower()
    if not lowered.isalpha() or len(lowered) < 2:
        return re.escape(word)
    forms = {lowered, lowered + "s", lowered + "es", lowered + "ed", lowered + "ing"}
    if lowered.endswith("e"):
        forms |= {lowered + "d", lowered[:-1] + "ing"}
    if lowered.endswith("y"):
        forms |= {lowered[:-1] + "ies", lowered[:-1] + "ied"}
    if re.search(r"[^aeiou][aeiou][bdgmnpt]$", lowered):
        forms |= {lowered + lowered[-1] + "ed", lowered + lowered[-1] + "ing"}  # "stepped"
    forms |= {form for form, base in _IRREGULAR.items() if base == lowered}
    return "(?:" + "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)) + ")"


def _phrase_words(phrase: str) -> list[str]:
    """The words a phrase's pattern matches ("the alliance": the article is optional)."""
    words = [w for w in re.split(r"[\s-]+", phrase.strip()) if w]
    return words[1:] if phrase.lower().startswith("the ") and len(words) > 1 else words


class _Phrase(NamedTuple):
    """A table phrase compiled for Lexicon.tokens: its pattern, its group, whether it is
    matched in the folded text (any case) or the text as written, and its longest word,
    which any text it matches contains (in lower case when folded): a text without it is
    not searched, which saves most of the searches (the tables hold hundreds of phrases)."""

    pattern: re.Pattern[str]
    label: str
    folded: bool
    needle: str

    @classmethod
    def of(cls, phrase: str, label: str, *, exact_case: bool) -> _Phrase:
        words = _phrase_words(phrase)
        # an inflected first word ("said yes") need not be in the text as the table writes it
        longest = max(words if exact_case or len(words) < 2 else words[1:], key=len)
        needle = longest if exact_case else longest.lower()
        return cls(_phrase_pattern(phrase, exact_case=exact_case), label, not exact_case, needle)


def stem_word(word: str) -> str:
    word = word[:-2] if word.endswith("'s") else word
    return stem(_IRREGULAR.get(word, word))


class Lexicon:
    """The tables, compiled once: entity and synonym phrases, polarity words."""

    def __init__(self, directory: Path = DATA_DIR) -> None:
        aliases = load_table("aliases", directory)
        synonyms = load_table("synonyms", directory)
        polarity = load_table("polarity", directory)
        self.entities: list[_Phrase] = []
        self.aliases: dict[str, list[str]] = {
            group: [str(m) for m in members] for group, members in aliases["groups"].items()
        }
        for group, members in aliases["groups"].items():
            for member in sorted(members, key=len, reverse=True):
                exact = member.replace(".", "").isupper()
                self.entities.append(_Phrase.of(member, group, exact_case=exact))
        self.entities.sort(key=lambda item: -len(item.pattern.pattern))
        self._alias_names = frozenset(
            m.lower() for members in self.aliases.values() for m in members
        )
        self.titles = frozenset(t.lower() for t in aliases.get("titles", []))
        self.city_words = frozenset(w.lower() for w in aliases.get("city_words", []))
        self.compass = frozenset(str(w).lower() for w in aliases.get("compass", []))
        self.state_nouns = frozenset(str(w).lower() for w in aliases.get("state_nouns", []))
        self.leaders = {str(k).lower(): str(v) for k, v in aliases.get("leaders", {}).items()}
        self.places = frozenset(p.lower() for p in aliases.get("places", []))
        self._place_pattern = re.compile(
            r"(?<![\w'])(?:"
            + "|".join(re.escape(p) for p in sorted(self.places, key=len, reverse=True))
            + r")(?![\w'])"
        )
        self.entity_words = frozenset(
            w.lower() for members in aliases["groups"].values() for m in members for w in m.split()
        )
        self.framing = frozenset(stem_word(w) for w in synonyms.get("framing", []))
        self.framing_weight = float(synonyms.get("framing_weight", 1.0))
        self.synonyms: dict[str, set[str]] = {}
        self.groups: dict[str, list[str]] = {}
        self.synonym_phrases: list[_Phrase] = []
        self.phrasal: dict[str, list[tuple[str, str]]] = {}  # particle: (verb stem, group)
        for number, group in enumerate(synonyms["groups"]):
            self._add_group(f"~{number}", group)
        self.negators = [
            tuple("*" if w == "*" else w for w in re.findall(r"\*|[^\s]+", normalise(n)))
            for n in polarity["negators"]
        ]
        self.boundaries = frozenset(polarity["boundaries"])
        self.reach = int(polarity.get("reach", 3))
        self.negative_words = frozenset(polarity.get("negative_words", []))
        openers = sorted(polarity.get("answer_openers", []), key=len, reverse=True)
        self.answer_opener = re.compile(
            r"^\s*(?:" + "|".join(re.escape(o) for o in openers) + r")\s*[,:;.!\-–—]\s*",
            re.IGNORECASE,
        )
        self.negative_prefixes = tuple(polarity.get("negative_prefixes", []))
        self.not_prefixed = frozenset(polarity.get("not_negative_prefixed", []))
        groups = {
            g[0]: frozenset(stem_word(w) for w in g if " " not in w) for g in polarity["antonyms"]
        }
        self.opposites = [(groups[a], groups[b]) for a, b in polarity["opposites"]]

    def is_alias(self, word: str) -> bool:
        """Whether a word is one of the names the alias table knows ("Kiev", "Ukraine")."""
        return word.strip().lower() in self._alias_names

    def is_demonym(self, name: str) -> bool:
        """Whether a name is a group's adjective or people (American, British), not its name."""
        folded = name.strip().lower()
        for members in self.aliases.values():
            alternatives = [m.lower() for m in members[1:]]
            if folded in alternatives and folded.endswith(DEMONYM_ENDINGS):
                return True
        return False

    def places_in_lower_case(self, text: str) -> list[str]:
        """The places of the table (countries and cities) a text writes in lower case
        ("russian troops in belarus"): names, though no capital says so."""
        return [m.group(0) for m in self._place_pattern.finditer(text)]

    def members(self, word_stem: str) -> list[str]:
        """The words and phrases of every synonym group the stem belongs to ("armi": army,
        military, armed forces, troops...)."""
        return [m for label in sorted(self.synonyms.get(word_stem, ())) for m in self.groups[label]]

    def phrase_members(self, text: str) -> dict[str, list[str]]:
        """Each term of the text that is part of a phrase of the synonym groups there, with
        the members of those groups: "pull" in "pull out" has "withdraw", "retreat"; "bill"
        in "foot the bill" has "pay", "finance" (a phrase is not as ambiguous as a word:
        "won" alone is not "gains")."""
        labels: dict[str, set[str]] = {}
        for token in self.tokens(text):
            groups = {c for c in token.concepts if c.startswith("~")}
            groups -= self.synonyms.get(stem_word(token.raw), set())
            for term in terms(token.raw) if groups else ():
                labels.setdefault(term, set()).update(groups)
        return {
            term: [m for label in sorted(found) for m in self.groups[label]]
            for term, found in labels.items()
        }

    def _add_group(self, label: str, group: list[str]) -> None:
        self.groups[label] = [str(member) for member in group]
        for member in group:
            if re.search(r"[\s-]", member):
                self.synonym_phrases.append(_Phrase.of(member, label, exact_case=False))
            parts = normalise(str(member)).split()
            if len(parts) == 2 and parts[1] in PARTICLES:
                self.phrasal.setdefault(parts[1], []).append((stem_word(parts[0]), label))
            self.synonyms.setdefault(stem_word(normalise(member)), set()).add(label)

    def tokens(self, text: str) -> list[Token]:
        """The text's words and clause punctuation, with the concepts each stands for."""
        flat = normalise(text)
        taken = [False] * len(flat)
        found: list[Token] = []
        for pattern, group, folded, needle in self.entities:
            source = flat if folded else text
            if needle not in source:
                continue
            for match in pattern.finditer(source):
                if any(taken[match.start() : match.end()]):
                    continue
                taken[match.start() : match.end()] = [True] * (match.end() - match.start())
                raw = flat[match.start() : match.end()]
                concepts = frozenset({f"@{group}", *(stem_word(w) for w in _words_of(raw))})
                found.append(Token(raw, match.start(), match.end(), concepts, True, entity=group))
        phrase_groups: dict[tuple[int, int], set[str]] = {}
        for pattern, label, _, needle in self.synonym_phrases:
            if needle not in flat:
                continue
            for match in pattern.finditer(flat):
                if not any(taken[match.start() : match.end()]):
                    phrase_groups.setdefault((match.start(), match.end()), set()).add(label)
        words = [m for m in _TOKEN.finditer(flat) if not any(taken[m.start() : m.end()])]
        self._phrasal_verbs(words, phrase_groups)
        for match in words:
            found.append(self._word(match, phrase_groups))
        found.sort(key=lambda t: t.start)
        return found

    def _phrasal_verbs(
        self, words: list[re.Match[str]], phrase_groups: dict[tuple[int, int], set[str]]
    ) -> None:
        """Phrasal verbs of the synonym groups in any form and split by their object
        ("pulled back", "give any land back"): the verb and its particle stand for the
        group; the words between keep their own meanings."""
        for i, particle in enumerate(words):
            verbs = self.phrasal.get(particle.group(0))
            if not verbs:
                continue
            for verb in reversed(words[max(0, i - 1 - PHRASAL_REACH) : i]):
                if verb.group(0) in ",;:.!?()":
                    break  # not across a clause
                root = stem_word(verb.group(0))
                labels = {label for stem_, label in verbs if stem_ == root}
                if labels:
                    phrase_groups.setdefault((verb.start(), verb.end()), set()).update(labels)
                    phrase_groups.setdefault((particle.start(), particle.end()), set()).update(
                        labels
                    )
                    break

    def _word(self, match: re.Match[str], phrase_groups: dict[tuple[int, int], set[str]]) -> Token:
        raw = match.group(0)
        if raw in ",;:.!?()":
            return Token(raw, match.start(), match.end(), frozenset(), False, punct=True)
        root = stem_word(raw)
        concepts = {root, *self.synonyms.get(root, ())}
        for (start, end), labels in phrase_groups.items():
            if start <= match.start() and match.end() <= end:
                concepts |= labels
        bare = raw[:-2] if raw.endswith("'s") else raw
        content = bare not in STOPWORDS and (len(bare) > 1 or bare.isdigit())
        positive = self._without_negative_prefix(raw)
        if positive:
            concepts |= {stem_word(positive), *self.synonyms.get(stem_word(positive), ())}
        return Token(
            raw,
            match.start(),
            match.end(),
            frozenset(concepts),
            content,
            self_negated=bool(positive),
        )

    def _without_negative_prefix(self, word: str) -> str | None:
        """ "uncapped" -> "capped"; None for a word that only starts like one ("united")."""
        if word in self.not_prefixed or word.startswith("under"):
            return None
        for prefix in self.negative_prefixes:
            rest = word[len(prefix) :].lstrip("-")
            if word.startswith(prefix) and len(rest) >= 4 and rest.isalpha():
                return rest
        return None

    def negated(self, tokens: list[Token]) -> list[bool]:
        """For each token: is it reached by an odd number of negators in its clause?

        "not be barred from stationing troops" negates "stationing" twice: it is not negated.
        """
        counts = [0] * len(tokens)
        for _, reached in self.negations(tokens):
            for j in reached:
                counts[j] += 1
        return [count % 2 == 1 for count in counts]

    def negations(self, tokens: list[Token]) -> list[tuple[int, list[int]]]:
        """Each negator's position and the positions of the content words it reaches."""
        found = []
        raws = [t.raw for t in tokens]
        i = 0
        while i < len(tokens):
            words = () if tokens[i].self_negated else self._negator_at(raws, i)
            if not words:
                i += 1
                continue
            size = words[-1] - i + 1
            reached: list[int] = []
            j = i + size
            while j < len(tokens) and len(reached) < self.reach:
                token = tokens[j]
                if token.punct or token.raw in self.boundaries:
                    break
                if token.content:
                    reached.append(j)
                j += 1
            found.append((i, reached))
            i += size
        found += [(i, [i]) for i, token in enumerate(tokens) if token.self_negated]
        return found

    def is_negative(self, tokens: list[Token]) -> bool:
        """Holds a word that is negative in itself ("impossible", "uncapped")."""
        raws = [t.raw for t in tokens]
        return any(r in self.negative_words for r in raws) or any(t.self_negated for t in tokens)

    def _negator_at(self, raws: list[str], i: int) -> tuple[int, ...]:
        """Positions of the words of the negator that starts at i (none: no negator)."""
        if raws[i].endswith("n't") or raws[i] == "cannot":
            return (i,)
        for words in self.negators:
            found = _match_at(raws, i, words)
            if found:
                return found
        return ()

    def negator_words(self, tokens: list[Token]) -> set[int]:
        """Positions of the words that make up negators ("shut", "out", "of"; not the
        "its troops" a "keep * out of" encloses), and of negative words."""
        raws = [t.raw for t in tokens]
        found: set[int] = set()
        for i in range(len(raws)):
            if raws[i] in self.negative_words or tokens[i].self_negated:
                found.add(i)
            found.update(self._negator_at(raws, i))
        return found


def _match_at(raws: list[str], i: int, words: tuple[str, ...]) -> tuple[int, ...]:
    """Positions of the phrase's own words when it stands at i ("*" takes up to three
    other words, which are not the phrase's), or () when it does not."""
    if "*" not in words:
        if tuple(raws[i : i + len(words)]) == words:
            return tuple(range(i, i + len(words)))
        return ()
    star = words.index("*")
    head, tail = words[:star], words[star + 1 :]
    if tuple(raws[i : i + len(head)]) != head:
        return ()
    for gap in (0, 1, 2, 3):
        start = i + len(head) + gap
        if tuple(raws[start : start + len(tail)]) == tail:
            return (*range(i, i + len(head)), *range(start, start + len(tail)))
    return ()


def _words_of(text: str) -> list[str]:
    return [m.group(0) for m in _TOKEN.finditer(normalise(text)) if m.group(0) not in ",;:.!?()"]


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    return Lexicon()


def without_answer_opener(claim: str, lexicon: Lexicon | None = None) -> str:
    """ "Not really, because the draft never says who ..." -> "because the draft never ...":
    an opening that answers the question is not part of the claim."""
    opener = (lexicon or default_lexicon()).answer_opener
    for _ in range(2):  # "Yes, on paper, ..."
        match = opener.match(claim)
        claim = claim[match.end() :] if match else claim
    return claim
