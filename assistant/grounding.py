"""The deterministic citation check: does the cited passage back this sentence of an answer?

A claim is compared with the sentences of the passage(s) it cites that match it best
(the "window"; with a quote from the model, the sentences holding the quote):

1. a claim with no words, or an unfinished one ending in a colon, is never supported;
2. every name, place, organisation and country it states is in the window, allowing the
   aliases of assistant/data/aliases.yaml (Washington for the United States);
3. every quantity it states is in the window, in digits or in words (assistant/quantities);
4. its polarity on the words it shares with the window agrees: a negator that reaches a
   shared word on one side only, or an opposite word ("allows" for "bars"), contradicts;
5. enough of its content is in the window: idf-weighted coverage of its words, with
   credit for synonyms (assistant/data/synonyms.yaml) and for words whose embeddings
   are close, so that strong rewording still passes; and no clause of it (", which has
   already agreed to ...") is almost wholly absent, so that an added detail does not.

An opening that answers the question ("No, ...", "Not really: ...") is not part of the claim.

The thresholds were set on the benchmark's dev files only (evals/citations/dev*.yaml), at
the point past which loosening them lets through about as many corrupted sentences as it
saves good ones.

The check runs on every model answer, before and without any model verification.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.answer import Passage
from assistant.lexicon import Lexicon, Token, default_lexicon, without_answer_opener
from assistant.quantities import is_number_word, missing_periods, missing_quantities
from assistant.support import strip_markers
from assistant.text import STOPWORDS, normalise, squash

MIN_COVERAGE = 0.4  # share of the claim's weighted content the window must state
SOFT_MATCH = 0.5  # word-embedding similarity from which a word counts as paraphrased
WINDOW_SENTENCES = 3
WINDOW_GAIN = 0.15  # a further sentence joins the window when it adds this much coverage
CLAUSE_WORDS = 3  # a clause with this many content words is checked on its own
CLAUSE_MIN = 0.3  # ... and must be stated at least this much (dev: no good sentence lost)
OPPOSITE_VOTES = 2  # an opposite word ("expected" for "unlikely") outweighs a shared negation
NAME_WEIGHT = 2.0  # times the mean idf: names weigh more than common words
UNKNOWN_WEIGHT = 1.0  # times the highest idf seen: a word no article uses

_NAME = re.compile(r"(?<![\w'’])([A-Z][\w’'‑-]*[A-Za-z][\w’'‑-]*|[A-Z]{2,}[0-9]*|[A-Z]+[0-9]+)")


@dataclass(frozen=True)
class Verdict:
    supported: bool
    reason: str  # "" when supported; else why not, for notices and logs
    coverage: float
    spans: dict[int, tuple[int, int]] = field(default_factory=dict)  # passage -> quote span

    @property
    def contradicted(self) -> bool:
        return self.reason.startswith("contradict")


@dataclass(frozen=True)
class _Sentence:
    passage: int  # index into the cited passages
    start: int  # offsets in the passage text
    end: int
    tokens: tuple[Token, ...]
    concepts: frozenset[str]


class ClaimChecker:
    """Checks claims against passages. Build one per engine; it caches passage sentences."""

    def __init__(
        self,
        *,
        embed: Callable[[list[str]], np.ndarray] | None = None,
        idf: Callable[[str], float] | None = None,
        known: Callable[[str], bool] | None = None,
        lexicon: Lexicon | None = None,
        min_coverage: float = MIN_COVERAGE,
    ) -> None:
        self._embed = embed
        self._idf = idf
        self._known = known
        self._lexicon = lexicon or default_lexicon()
        self._min_coverage = min_coverage
        self._sentences: dict[tuple[str, int], list[_Sentence]] = {}
        self._vectors: dict[str, np.ndarray] = {}

    # -- the check ----------------------------------------------------------------

    def check(
        self,
        claim: str,
        passages: Sequence[Passage],
        quotes: Sequence[str | None] = (),
    ) -> Verdict:
        """Does the claim rest on these passages (cited together)? quotes: one per passage."""
        claim = without_answer_opener(strip_markers(claim), self._lexicon)
        tokens = self._lexicon.tokens(claim)
        content = [
            t for t in tokens if t.content and not _is_number(t) and not is_number_word(t.raw)
        ]
        if not any(t.content for t in tokens):
            return Verdict(False, "it says nothing", 0.0)
        if claim.rstrip().endswith(":"):
            return Verdict(False, "it is an unfinished sentence", 0.0)
        anchors = {i: _find_quote(q, passages[i].text) for i, q in enumerate(quotes) if q}
        weights = self._weights(content)
        window = self._window(content, weights, passages, anchors)
        spans = _spans(window, anchors)
        window_text = " ".join(passages[s.passage].text[s.start : s.end] for s in window)
        missing = self._missing_names(claim, tokens, window, passages)
        if missing:
            return Verdict(False, f"its source does not name {missing[0]}", 0.0, spans)
        numbers = missing_quantities(claim, window_text) + missing_periods(claim, window_text)
        if numbers:
            return Verdict(False, f"its source does not state {numbers[0]}", 0.0, spans)
        if window and self._contradicts(tokens, _leading(window)):
            return Verdict(False, "contradicted: its source says otherwise", 0.0, spans)
        coverage = self._coverage(tokens, content, weights, window)
        if coverage < self._min_coverage:
            return Verdict(False, "its source does not say that", coverage, spans)
        return Verdict(True, "", coverage, spans)

    # -- the window: the cited sentences that match the claim best -------------------

    def _window(
        self,
        content: list[Token],
        full: list[float],
        passages: Sequence[Passage],
        anchors: dict[int, tuple[int, int] | None],
    ) -> list[_Sentence]:
        candidates = [s for i, p in enumerate(passages) for s in self._passage_sentences(i, p)]
        if not candidates:
            return []
        # Growing the window for a name alone would let a swapped name find itself nearby.
        weights = [0.0 if t.entity else w for t, w in zip(content, full, strict=True)]
        total = sum(full) or 1.0

        def gain(sentence: _Sentence, chosen: list[_Sentence], by: list[float] = weights) -> float:
            before = self._covered(by, content, chosen)
            return (self._covered(by, content, [*chosen, sentence]) - before) / total

        chosen: list[_Sentence] = []
        for index, span in anchors.items():
            if span is not None:
                chosen += [s for s in candidates if s.passage == index and _overlaps(s, span)]
        while len(chosen) < WINDOW_SENTENCES:
            rest = [s for s in candidates if s not in chosen]
            best = max(rest, key=lambda s: gain(s, chosen), default=None)
            if best is None or (chosen and gain(best, chosen) < WINDOW_GAIN):
                break
            chosen.append(best)
        # A claim citing several passages rests on each: each lends the sentence adding most.
        for index in range(len(passages)):
            own = [s for s in candidates if s.passage == index and s not in chosen]
            if own and all(s.passage != index for s in chosen):
                best = max(own, key=lambda s: gain(s, chosen, full))
                if gain(best, chosen, full) > 0:
                    chosen.append(best)
        return chosen

    def _passage_sentences(self, index: int, passage: Passage) -> list[_Sentence]:
        key = (passage.id or passage.text[:64], hash(passage.text))
        if key not in self._sentences:
            spans = passage.sentences or ((0, len(passage.text)),)
            found = []
            for start, end in spans:
                tokens = tuple(self._lexicon.tokens(passage.text[start:end]))
                concepts = frozenset(c for t in tokens for c in t.concepts)
                found.append(_Sentence(0, start, end, tokens, concepts))
            if len(self._sentences) > 4096:
                self._sentences.clear()
            self._sentences[key] = found
        return [
            _Sentence(index, s.start, s.end, s.tokens, s.concepts) for s in self._sentences[key]
        ]

    @staticmethod
    def _covered(weights: list[float], content: list[Token], window: list[_Sentence]) -> float:
        concepts = frozenset().union(*(s.concepts for s in window)) if window else frozenset()
        return sum(w for w, t in zip(weights, content, strict=True) if t.concepts & concepts)

    # -- names ----------------------------------------------------------------------

    def _missing_names(
        self,
        claim: str,
        tokens: list[Token],
        window: list[_Sentence],
        passages: Sequence[Passage],
    ) -> list[str]:
        """Names the window does not state. A name that only labels the document ("the
        US-Russia peace plan") may come from the rest of the cited passage or its headline."""
        concepts = frozenset().union(*(s.concepts for s in window)) if window else frozenset()
        framing = self._framing_entities(tokens)
        around: frozenset[str] | None = None  # the cited passages' and headlines' concepts
        window_text = squash(" ".join(t.raw for s in window for t in s.tokens))
        missing = []
        literal = self._literal_entities(tokens)
        for token in tokens:
            unstated = token.entity and f"@{token.entity}" not in concepts
            if unstated and id(token) in framing:
                around = around if around is not None else self._cited_context(passages, window)
                unstated = f"@{token.entity}" not in around
            if unstated or (
                id(token) in literal and not _name_in(token.raw, window_text, frozenset())
            ):
                missing.append(claim[token.start : token.end])
        for name in self._names(claim, tokens):
            if not _name_in(name, window_text, concepts):
                missing.append(name)
        return missing

    def _cited_context(
        self, passages: Sequence[Passage], window: list[_Sentence]
    ) -> frozenset[str]:
        """The concepts of the cited passages (their sentences are cached) and headlines."""
        found: set[str] = set()
        for index in dict.fromkeys(s.passage for s in window):
            passage = passages[index]
            found.update(c for s in self._passage_sentences(index, passage) for c in s.concepts)
            found.update(c for t in self._lexicon.tokens(passage.title) for c in t.concepts)
        return frozenset(found)

    def _framing_entities(self, tokens: list[Token]) -> set[int]:
        """Entities right before a framing word: "the US draft", "the US-Russia peace plan"."""
        framing = self._lexicon.framing
        found = set()
        for i, token in enumerate(tokens):
            if not token.entity:
                continue
            following = [t for t in tokens[i + 1 : i + 4] if not t.punct][:3]
            if any(t.concepts & framing for t in following):
                found.add(id(token))
        return found

    def _literal_entities(self, tokens: list[Token]) -> set[int]:
        """In "the capital of Canada is Ottawa" the city is a city, not its government: when
        a claim speaks of a capital or city and names two members of one group, each must be
        named as such."""
        if not any(t.raw in self._lexicon.city_words for t in tokens):
            return set()
        groups: dict[str, set[str]] = {}
        for token in tokens:
            if token.entity:
                groups.setdefault(token.entity, set()).add(squash(token.raw))
        return {id(t) for t in tokens if t.entity and len(groups[t.entity]) > 1}

    def _names(self, claim: str, tokens: list[Token]) -> list[str]:
        """Capitalised words that are not titles, not aliases, and not sentence starts."""
        entity_spans = [(t.start, t.end) for t in tokens if t.entity]
        found = []
        for match in _NAME.finditer(claim):
            if any(s <= match.start() < e for s, e in entity_spans):
                continue
            for part in re.split(r"[‑-]", match.group(1)):
                word = re.sub(r"['’]s?$", "", part)
                lower = normalise(word)
                if len(word) < 2 or not word[:1].isupper() or lower in STOPWORDS:
                    continue
                if lower in self._lexicon.titles:
                    continue
                if _starts_sentence(claim, match.start()) and not (
                    lower in self._lexicon.places or word.isupper()
                ):
                    continue
                found.append(word)
        return found

    # -- polarity -------------------------------------------------------------------

    def _contradicts(self, claim_tokens: list[Token], window: list[_Sentence]) -> bool:
        """Does the claim flip the polarity of what it shares with the window?

        Each negation ("not", "bars", "rules out") on either side votes on the words it
        reaches that the other side also uses: consistent when the other side negates one
        of them too; inconsistent when the other side uses them only un-negated (unless it
        is itself a negative sentence, "elections are impossible"). Opposite words
        ("allows" for "bars") vote the same way. Contradicted: more inconsistent votes.
        """
        source = [t for s in window for t in s.tokens]
        claim_neg = self._lexicon.negated(claim_tokens)
        source_neg = [f for s in window for f in self._lexicon.negated(list(s.tokens))]
        claim_map = _polarity_map(claim_tokens, claim_neg)
        source_map = _polarity_map(source, source_neg)
        votes = self._negation_votes(claim_tokens, claim_map, source_map, source)
        votes += self._negation_votes(source, source_map, claim_map, claim_tokens)
        flips = self._opposites(claim_tokens, claim_neg, source, source_neg)
        votes += [not flip for flip in flips for _ in range(OPPOSITE_VOTES)]
        return votes.count(False) > votes.count(True)

    def _negation_votes(
        self,
        tokens: list[Token],
        mine: dict[str, set[bool]],
        theirs: dict[str, set[bool]],
        their_tokens: list[Token],
    ) -> list[bool]:
        """True for each of this side's negations the other side agrees with, else False."""
        votes = []
        they_are_negative = self._lexicon.is_negative(their_tokens)
        for _, reached in self._lexicon.negations(tokens):
            verdicts = []
            for j in reached:
                shared = [c for c in tokens[j].concepts if c in theirs]
                if not shared:
                    continue
                if any(True in theirs[c] for c in shared):
                    verdicts.append(True)
                elif not any(False in mine[c] for c in shared if c in mine):
                    verdicts.append(False)
            if True in verdicts:
                votes.append(True)
            elif verdicts and not they_are_negative:
                votes.append(False)
        return votes

    def _opposites(
        self,
        claim: list[Token],
        claim_neg: list[bool],
        source: list[Token],
        source_neg: list[bool],
    ) -> list[bool]:
        """For each opposite pair split across claim and source: True when it contradicts."""
        claim_stems = {c: n for t, n in zip(claim, claim_neg, strict=True) for c in t.concepts}
        source_stems = {c: n for t, n in zip(source, source_neg, strict=True) for c in t.concepts}
        flips = []
        for one, other in self._lexicon.opposites:
            for mine, theirs in ((one, other), (other, one)):
                said = mine & claim_stems.keys()
                answered = theirs & source_stems.keys()
                if not said or not answered or mine & source_stems.keys():
                    continue
                claim_negated = any(claim_stems[s] for s in said)
                source_negated = any(source_stems[s] for s in answered)
                flips.append(claim_negated == source_negated)
        return flips

    # -- coverage -------------------------------------------------------------------

    def _coverage(
        self,
        tokens: list[Token],
        content: list[Token],
        weights: list[float],
        window: list[_Sentence],
    ) -> float:
        """The weighted share of the claim the window states; a clause of the claim that the
        window hardly states at all (an added detail) caps it."""
        if not content:
            return 1.0
        credit = self._credit(tokens, content, window)
        total = sum(w * c for w, c in zip(weights, credit, strict=True)) / sum(weights)
        for clause in _clauses(tokens, content):
            if len(clause) >= CLAUSE_WORDS:
                part = sum(weights[i] * credit[i] for i in clause) / sum(weights[i] for i in clause)
                if part < CLAUSE_MIN:
                    total = min(total, part)
        return total

    def _credit(
        self, tokens: list[Token], content: list[Token], window: list[_Sentence]
    ) -> list[float]:
        """Per claim word: 1 when the window states it, its embedding closeness when close."""
        concepts = frozenset().union(*(s.concepts for s in window)) if window else frozenset()
        negative = self._negative(list(t for s in window for t in s.tokens))
        negators = self._lexicon.negator_words(tokens) if negative else set()
        negating = {id(tokens[i]) for i in negators}
        credit = [1.0 if t.concepts & concepts or id(t) in negating else 0.0 for t in content]
        unmatched = [i for i, c in enumerate(credit) if not c and not content[i].entity]
        if unmatched and self._embed is not None and window:
            others = [
                t.raw
                for s in window
                for t in s.tokens
                if t.content and not _is_number(t) and t.raw.isalpha()
            ]
            scores = self._soft([content[i].raw for i in unmatched], others)
            for i, score in zip(unmatched, scores, strict=True):
                credit[i] = score if score >= SOFT_MATCH else 0.0
        return credit

    def _negative(self, tokens: list[Token]) -> bool:
        """Negates something: a negator ("bars") or a negative word ("impossible")."""
        return bool(self._lexicon.negations(tokens)) or self._lexicon.is_negative(tokens)

    def _soft(self, words: list[str], others: list[str]) -> list[float]:
        if not others:
            return [0.0] * len(words)
        mine = self._vectors_of(words)
        theirs = self._vectors_of(list(dict.fromkeys(others)))
        return [float(x) for x in (mine @ theirs.T).max(axis=1)]

    def _vectors_of(self, words: list[str]) -> np.ndarray:
        assert self._embed is not None
        new = [w for w in dict.fromkeys(words) if w not in self._vectors]
        if new:
            if len(self._vectors) > 50_000:
                self._vectors.clear()
            for word, vector in zip(new, self._embed(new), strict=True):
                self._vectors[word] = vector
        return np.stack([self._vectors[w] for w in words])

    def _weights(self, content: list[Token]) -> list[float]:
        base = (
            [NAME_WEIGHT if t.entity else 1.0 for t in content]
            if self._idf is None
            else [self._weight(t) for t in content]
        )
        framing = self._lexicon.framing
        light = self._lexicon.framing_weight
        return [
            w * light if t.concepts & framing else w for w, t in zip(base, content, strict=True)
        ]

    def _weight(self, token: Token) -> float:
        assert self._idf is not None
        stems = [c for c in token.concepts if not c.startswith(("~", "@"))]
        known = [s for s in stems if self._known is None or self._known(s)]
        if not known:
            return UNKNOWN_WEIGHT * max(self._idf(s) for s in stems) if stems else 1.0
        return max(self._idf(s) for s in known)


def _clauses(tokens: list[Token], content: list[Token]) -> list[list[int]]:
    """Indexes into content of the claim's words, grouped by clause: split at a comma,
    semicolon, colon or bracket, and before a word that opens a clause ("which", "after")."""
    position = {id(t): i for i, t in enumerate(content)}
    groups: list[list[int]] = [[]]
    for token in tokens:
        if token.punct or token.raw in _CLAUSE_OPENERS:
            groups.append([])
        if id(token) in position:
            groups[-1].append(position[id(token)])
    return [g for g in groups if g]


_CLAUSE_OPENERS = frozenset(
    [
        "which",
        "who",
        "whom",
        "whose",
        "after",
        "before",
        "while",
        "whereas",
        "because",
        "although",
        "though",
        "but",
        "so",
        "until",
        "unless",
        "since",
    ]
)


def _leading(window: list[_Sentence]) -> list[_Sentence]:
    """Each passage's first (best-matching or quoted) sentence of the window: polarity is read
    there, not in the sentences that only add a word or two."""
    seen: set[int] = set()
    leading = []
    for sentence in window:
        if sentence.passage not in seen:
            seen.add(sentence.passage)
            leading.append(sentence)
    return leading


def _polarity_map(tokens: list[Token], negated: list[bool]) -> dict[str, set[bool]]:
    found: dict[str, set[bool]] = {}
    for token, flag in zip(tokens, negated, strict=True):
        if token.content and not _is_number(token):
            for concept in token.concepts:
                found.setdefault(concept, set()).add(flag)
    return found


def _is_number(token: Token) -> bool:
    return token.raw[:1].isdigit()


def _starts_sentence(text: str, position: int) -> bool:
    before = text[:position].rstrip()
    return not before or before[-1] in '.!?:"“(['


def _name_in(name: str, window_text: str, concepts: frozenset[str]) -> bool:
    from assistant.lexicon import stem_word

    flat = squash(name)
    if re.search(rf"(?<!\w){re.escape(flat)}", window_text):
        return True  # also Russia in Russian, Ukraine in Ukrainian
    return stem_word(flat) in concepts


def _find_quote(quote: str, text: str) -> tuple[int, int] | None:
    """Where a model's quote stands in the passage, tolerant of typography and spacing."""
    words = re.findall(r"\w+", normalise(quote))
    if not words:
        return None
    pattern = r"\W+".join(re.escape(w) for w in words)
    match = re.search(rf"(?<!\w){pattern}(?!\w)", normalise(text))
    return (match.start(), match.end()) if match else None


def _overlaps(sentence: _Sentence, span: tuple[int, int]) -> bool:
    return sentence.start < span[1] and span[0] < sentence.end


def _spans(
    window: list[_Sentence], anchors: dict[int, tuple[int, int] | None]
) -> dict[int, tuple[int, int]]:
    """Per passage: the model's quote when found, else the window's sentences in it."""
    spans: dict[int, tuple[int, int]] = {}
    for sentence in window:
        start, end = spans.get(sentence.passage, (sentence.start, sentence.end))
        spans[sentence.passage] = (min(start, sentence.start), max(end, sentence.end))
    spans.update({i: s for i, s in anchors.items() if s is not None})
    return spans
