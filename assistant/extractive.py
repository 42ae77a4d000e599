"""The offline answerer: picks the source sentences that best answer the question.

Each sentence is scored by how much of the question's weighted terms it covers
(BM25 idf weights, so rare words count most) blended with embedding similarity.
Nothing above the calibrated threshold means the sources don't cover the question.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import numpy as np

from assistant.answer import Passage
from assistant.lexicon import Token, default_lexicon, load_table
from assistant.quantities import figure_terms, states_figure
from assistant.questions import (
    MEASURE_WORDS,
    SPEECH_VERBS,
    Part,
    Wants,
    answer_kind,
    asked_category,
    asked_focus,
    asked_head,
    asked_role,
    asked_speaker,
    asks_about_now,
    asks_decision_taken,
    asks_what_was_said,
    counted_noun,
    counts,
    described_category,
    figure_noun,
    locates_something,
    measure_asked,
    measured_phrase,
    named_days,
    offers_answer,
    places_asked,
    proposes,
    reports_decision,
    reports_speech,
    says_something,
    spoken_by,
    states_day_of_month,
    subject_verb,
    when_deed,
    without_comparison_frame,
    without_date_frame,
    without_measure_frame,
    without_naming_frame,
    without_now_frame,
    without_reaction_frame,
    without_stated_figure,
    without_summary_frame,
)
from assistant.text import STOPWORDS, closed_compounds, normalise, proper_names, stem, terms, words
from assistant.thesaurus import NONE as NO_RELATIONS
from assistant.thesaurus import Phrase, Relations, Thesaurus, default_thesaurus
from assistant.when import time_terms

SENTENCE_WEIGHT = 0.4
PASSAGE_WEIGHT = 0.2
DENSE_WEIGHT = 0.35
CONTEXT_WEIGHT = 1.0
UNKNOWN_TERM_WEIGHT = 0.8  # times the idf of the rarest known term
SOFT_MATCH = 0.45
NEAR_DUPLICATE = 0.6
TYPE_BONUS = 1.15
DENSE_FLOOR = 0.3
SYNONYM_CREDIT = 0.9
THESAURUS_SYNONYM_CREDIT = 0.7  # a WordNet synonym: the same sense, less sure than our tables
THESAURUS_RELATED_CREDIT = 0.5  # a derived form, a broader or narrower word
# A word with more WordNet synonyms than this has so many senses ("run", "hold", "get",
# "make", "take": 59-77; "lead" 37, "manage" 24) that its related words say nothing.
POLYSEMOUS = 40
RELATED_SHARE = 0.5  # of the decline threshold: how near a sentence must come to be offered
TOPIC_SHARE = 0.25  # of the question's topic weight that an offered passage must share
WORD_VECTORS_KEPT = 20_000  # single-word embeddings kept between questions (~20 MB)
# A name at least half the passages say (idf below ln 2) is the corpus's background, as
# "Ukraine" is in articles about the war: no passage need name it to answer.
BACKGROUND_IDF = math.log(2)
# Indefinite pronouns name no topic ("is there a pact so nobody attacks anybody?"); rare in
# articles, they would weigh as much as the topic's own words.
INDEFINITE = frozenset(
    terms(
        "anybody anyone anything somebody someone something everybody everyone everything "
        "nobody nothing whoever whatever"
    )
)
_MEASURE_TERMS = frozenset(t for word in MEASURE_WORDS for t in terms(word))
# People in general ("why are people whispering...?", "what are ppl fighting about?"): the
# asker's way of saying "anyone", unless they are counted ("how many people live there?")
_GENERIC_PEOPLE = frozenset(t for word in load_table("people")["generic"] for t in terms(str(word)))
_LIGHT_TERMS = frozenset(t for word in load_table("verbs")["light"] for t in terms(str(word)))
CLOSE_ALTERNATIVE = 0.85  # of a dangling sentence's score, for one that stands alone


@dataclass(frozen=True)
class Sentence:
    passage: Passage
    rank: int
    start: int  # offset in the article text
    end: int
    terms: frozenset[str]

    @property
    def text(self) -> str:
        offset = self.start - self.passage.start
        return self.passage.text[offset : offset + self.end - self.start]


@dataclass(frozen=True)
class Scored:
    """score ranks (earlier turns included); strength is what the decline threshold sees."""

    sentence: Sentence
    score: float
    covered: frozenset[str]
    strength: float
    said: frozenset[str] = frozenset()  # the terms it says, in other words too


class ExtractiveAnswerer:
    def __init__(
        self,
        *,
        idf: Callable[[str], float],
        known: Callable[[str], bool],
        embed: Callable[[list[str]], np.ndarray],
        min_support: float,
        max_sentences: int,
        rare_idf: float,
    ) -> None:
        self._unknown_weight = UNKNOWN_TERM_WEIGHT * rare_idf
        self._idf = idf
        self._known = known
        self._embed = embed
        self._min_support = min_support
        self._max_sentences = max_sentences
        self._words: OrderedDict[str, np.ndarray] = OrderedDict()

    def unknown_names(self, question: str) -> list[str]:
        """Names in the question that no article mentions, by that name or by another name
        of the same entity ("America" where the articles say "the United States"): a sign
        the question is out of scope. A place of the table typed in lower case ("troops in
        belarus") is a name too."""
        named = proper_names(question) + default_lexicon().places_in_lower_case(question)
        return [
            name
            for name in named
            if name.lower() not in STOPWORDS
            and not self._knows_words(name)
            and not self._knows_entity(name, question)
        ]

    def _knows_words(self, phrase: str) -> bool:
        return all(self._known(t) for t in terms(phrase))

    def _knows_entity(self, name: str, question: str) -> bool:
        return self._entity_known_as_other(name, question) is not None

    def _entity_known_as_other(self, name: str, question: str) -> str | None:
        """The entity ("@united-states") a name stands for, when the articles name it only
        in other words ("America" where they say "the United States"). Not for a capital
        asked about as a city ("the capital Washington"): that is a place."""
        lexicon = default_lexicon()
        groups = {t.entity for t in lexicon.tokens(name) if t.entity is not None}
        if len(groups) != 1 or set(words(question)) & lexicon.city_words:
            return None
        group = groups.pop()
        known = any(self._knows_words(alias) for alias in lexicon.aliases[group])
        return f"@{group}" if known else None

    def select(
        self, question: str, context: str, passages: Sequence[Passage]
    ) -> list[list[Sentence]]:
        """The sentences to quote, grouped by passage in reading order; [] means decline."""
        wants = answer_kind(question)
        asked = _cased(question, passages)
        return _group(self._chosen(asked, context, passages, wants, history=context))

    def select_parts(
        self, parts: Sequence[Part], context: str, passages: Sequence[Passage]
    ) -> list[list[Sentence]]:
        """Each part of a question answered on its own, the sentences quoted once."""
        chosen: dict[int, Scored] = {}
        for part in parts:
            lean = " ".join(filter(None, (part.context, context)))
            asked = _cased(part.text, passages)
            for item in self._chosen(asked, lean, passages, part.wants, history=context):
                chosen.setdefault(item.sentence.start, item)
        return _group(list(chosen.values()))

    def closest(
        self, parts: Sequence[Part], context: str, passages: Sequence[Passage], limit: int = 3
    ) -> list[Sentence]:
        """For a question the articles do not clearly answer: the sentences nearest to it,
        one per passage, when they come at least half way to an answer; [] when the
        question is out of scope (names the articles never use, or nothing near)."""
        best: dict[str, Scored] = {}
        floor = RELATED_SHARE * self._min_support
        for part in parts:
            if self.unknown_names(part.text):
                return []
            lean = " ".join(filter(None, (part.context, context)))
            text = _cased(part.text, passages)
            asked = self._topic_weights(text)
            in_phrases = default_lexicon().phrase_members(text)
            unknown = sum(w for t, w in asked.items() if not self._reachable(t, in_phrases))
            if unknown >= RELATED_SHARE * sum(asked.values()):
                return []  # mostly words the articles never use: out of scope
            entities = self._places_asked_about(text)
            timed = time_terms()  # "on Friday" is when, not what: it shares no topic
            for item in self.score(text, lean, passages, Wants.ANYTHING):
                if item.strength < floor or refers_back(item.sentence.text):
                    continue
                if not entities <= _concepts(item.sentence.passage.text):
                    continue  # "the capital of canada": not a passage that never names Canada
                shared = sum(w for t, w in asked.items() if t in item.said and t not in timed)
                if shared < TOPIC_SHARE * sum(asked.values()):
                    continue  # it shares names or small words with the question, not its topic
                held = best.get(item.sentence.passage.id)
                if held is None or item.score > held.score:
                    best[item.sentence.passage.id] = item
        ranked = sorted(best.values(), key=lambda s: -s.score)[:limit]
        return [item.sentence for item in ranked]

    def _reachable(self, term: str, in_phrases: dict[str, list[str]]) -> bool:
        """Whether the articles use the term, or a word of a synonym group that a phrase
        holding it stands for (`in_phrases`, Lexicon.phrase_members of the question: "pull"
        in "pull out": "withdraw")."""
        if self._known(term):
            return True
        members = in_phrases.get(term, ())
        return any(self._known(t) for member in members for t in terms(member))

    @staticmethod
    def _places_asked_about(question: str) -> set[str]:
        """The entities of a question about a place as such ("the capital of Canada", "the
        weather in Kyiv"): a passage offered as related must name them."""
        lexicon = default_lexicon()
        tokens = lexicon.tokens(question)
        if not any(t.raw in lexicon.city_words for t in tokens):
            return set()
        return {f"@{t.entity}" for t in tokens if t.entity is not None}

    def _topic_weights(self, question: str) -> dict[str, float]:
        """The question's weighted terms without its names (proper names and known
        entities, "canada" included): what it asks about them."""
        names = {t for name in proper_names(question) for t in terms(name)}
        names |= {
            c
            for token in default_lexicon().tokens(question)
            if token.entity
            for c in token.concepts
        }
        return {t: w for t, w in self._weights(question).items() if t not in names}

    def _chosen(
        self,
        question: str,
        context: str,
        passages: Sequence[Passage],
        wants: Wants,
        *,
        history: str = "",
    ) -> list[Scored]:
        """`context`: what the question leans on (earlier turns, or a two-part question's
        first part); `history`: the earlier turns alone."""
        if self.unknown_names(question):
            return []
        scored = self.score(question, context, passages, wants)
        names = self._asked_names(question)
        if not scored or scored[0].strength < self._min_support:
            if not any(self._stands_for_background(n) for n in names):
                return []
            # Only passages that name Kyiv were looked at: one that names no party may
            # answer too ("Reports point to a push to secure answers by Thanksgiving").
            scored = self.score(question, context, passages, wants, background_names=True)
            if not scored or scored[0].strength < self._min_support:
                return []
        if not self._says_the_topic(scored[0], question):
            return []
        scored = _own_topic_first(scored, self._own_topic(question, history))
        doing = self._of_the_deed(scored, question, wants)
        if not doing:
            return []
        chosen = self._choose(doing, names, wants)
        if wants is Wants.DATE:
            chosen = _with_named_day_dated(chosen, scored)
        return _with_antecedents(chosen, scored, self._min_support)

    def _says_the_topic(self, best: Scored, question: str) -> bool:
        """Whether the best sentence, matched on the question's time, says something of what
        the question asks about beyond its names and time: "any storms expected on Friday
        morning?" is not answered by
        "The EU said on Friday morning it had not seen the plan". A question of names, time
        and light words only ("What did the EU say on Friday?") asks nothing more."""
        if not time_terms() & best.said:
            return True  # the time does not make the match
        framing = default_lexicon().framing
        topic = {
            t
            for t in self._topic_weights(question)
            if t not in time_terms() and t not in _LIGHT_TERMS and t not in framing
        }
        return not topic or bool(topic & best.said)

    def _of_the_deed(self, scored: list[Scored], question: str, wants: Wants) -> list[Scored]:
        """For "when" a deed is done ("When must Kyiv agree by?"): the sentences that say it,
        when one of them answers, not "snap elections in 100 days" beside them."""
        deed = when_deed(question) if wants is Wants.DATE else None
        if deed is None:
            return scored
        says = _says_concept(deed)
        doing = [s for s in scored if says(s.sentence)]
        if doing and doing[0].strength >= self._min_support:
            return doing
        # The articles say the deed, and no sentence that gives a time says it: the time
        # given beside it is another deed's ("elections within 100 days" for "when is
        # martial law to be lifted?"). A deed in words they never use is left unchecked.
        return [] if self._says_deed_anywhere(deed) else scored

    def _says_deed_anywhere(self, deed: str) -> bool:
        """Whether the articles use the deed's own word or a word of its synonym groups."""
        lexicon = default_lexicon()
        words = [deed.split()[-1]]
        for token in _tokens(deed):
            words += [m for c in token.concepts if c.startswith("~") for m in lexicon.groups[c]]
        return any(self._known(t) for word in words for t in terms(word))

    def _stands_for_background(self, name: AskedName) -> bool:
        """Whether an asked name is another name of the articles' background ("Kyiv",
        where most passages name Ukraine)."""
        return name.entity is not None and self._is_background(name.entity.removeprefix("@"))

    def _own_topic(self, question: str, context: str) -> frozenset[str]:
        """A follow-up's own topic words ("and the rest of the money?": "rest", "money");
        empty when there is no earlier turn or it names none (framing words only)."""
        if not context:
            return frozenset()
        framing = default_lexicon().framing
        return frozenset(t for t in self._weights(_topic_of(question)) if t not in framing)

    def _is_background(self, entity: str) -> bool:
        """Whether at least half the passages name the entity by one of its names."""
        return any(
            all(self._known(t) and self._idf(t) < BACKGROUND_IDF for t in terms(alias))
            for alias in default_lexicon().aliases.get(entity, ())
            if terms(alias)
        )

    def _asked_names(self, question: str) -> list[AskedName]:
        """The names a question asks about that the articles know, as terms, each with the
        entity it stands for ("Moscow" for Russia, "Washington" for the United States), which
        a passage may name instead. Not when the question speaks of a city ("the population
        of Kyiv" asks about the city, not the government), nor for a demonym ("American
        companies" are not any mention of the United States); a demonym of the corpus's
        background ("Ukrainians" where most passages name Ukraine) is background itself; nor
        a name that describes the person or place asked for ("which US president")."""
        lexicon = default_lexicon()
        as_city = bool(set(words(question)) & lexicon.city_words)
        describing = described_category(question)
        asked = []
        for name in proper_names(question):
            if name.lower() in STOPWORDS or name.lower() in lexicon.compass:
                continue
            if set(name.lower().split()) <= describing:
                continue  # "which US president": the answer's description, not a topic
            groups = {t.entity for t in lexicon.tokens(name) if t.entity is not None}
            entity = before = None
            if len(groups) == 1 and lexicon.is_demonym(name):
                if self._is_background(next(iter(groups))):
                    continue  # "Ukrainians" in articles about Ukraine: the background too
                if _stands_for_the_state(name, question):
                    entity = f"@{groups.pop()}"  # "the American side": the United States
                elif (before := _noun_after(name, question)) is not None:
                    entity = f"@{groups.pop()}"  # "American websites": only "US websites"
            elif len(groups) == 1 and (not as_city or _acts(name, question)):
                entity = f"@{groups.pop()}"  # "Kyiv would have to abandon": its government
            elif not groups and name.lower() in lexicon.leaders:
                entity = f"@{lexicon.leaders[name.lower()]}"  # "Putin": the Kremlin's side
            asked += [
                AskedName(t, entity, before)
                for t in terms(name)
                if self._known(t) and self._idf(t) >= BACKGROUND_IDF
            ]
        return asked

    def score(
        self,
        question: str,
        context: str,
        passages: Sequence[Passage],
        wants: Wants | None = None,
        *,
        background_names: bool = False,
    ) -> list[Scored]:
        sentences = _sentences(passages)
        if not sentences:
            return []
        kind = wants or answer_kind(question)
        topic = _topic_of(question)
        weights = self._weights(topic)
        probe = f"{context}\n{question}" if context else question
        said = question  # what the question's words are looked for in (with synonyms)
        if context and all(t in default_lexicon().framing for t in weights):
            # "Is that more or less than they've got now?" names no topic of its own (only
            # framing words): it is the earlier turn's, asked again ("now" still ranks how
            # things stand first).
            topic, context = _topic_of(context), ""
            if kind is Wants.NUMBER and asks_about_now(question):
                topic = _without_measure_words(topic)  # "how many now?" asks its own measure
            probe = said = topic
            weights = self._weights(topic)
        context_weights = {t: w for t, w in self._weights(context).items() if t not in weights}
        total = sum(weights.values()) or 1.0
        context_total = sum(context_weights.values()) or 1.0
        vectors = self._embed([normalise(probe)] + [normalise(s.text) for s in sentences])
        dense = vectors[1:] @ vectors[0]
        cover = self._coverage(said, weights, sentences)
        cover_context = self._coverage(context, context_weights, sentences)
        passage_terms = _terms_by_passage(sentences)
        fits = self._answer_type_check(question, kind, sentences, background_names=background_names)
        now = kind is Wants.NUMBER and asks_about_now(question)
        coverages = [cover(sentence) for sentence in sentences]
        said_around = _said_around(sentences, coverages, weights, passage_terms)
        scored = []
        category = _category_term(question, kind, weights)
        for sentence, similarity, coverage in zip(sentences, dense, coverages, strict=True):
            around = passage_terms[sentence.passage.id]
            fit = fits(sentence, around)
            if fit is None:
                continue
            covered, said = coverage.covered, coverage.said
            if (
                category is not None
                and category not in coverage.said_terms
                and _names_instance(sentence, question, kind)
            ):
                said += weights[category]  # "at which cities": "at Moscow" names one
            lexical = said / total
            nearby = sum(w for t, w in weights.items() if t in around) / total
            # What the passage says in other words supports answering, but does not rank:
            # a sentence is chosen for what it and its passage say in the question's words.
            reworded = PASSAGE_WEIGHT * (said_around[sentence.passage.id] / total - nearby)
            score = (
                SENTENCE_WEIGHT * lexical
                + PASSAGE_WEIGHT * nearby
                + DENSE_WEIGHT * _rescaled(float(similarity))
            )
            strength = score + reworded
            if context_weights:
                near = sum(w for t, w in context_weights.items() if t in around)
                follow = (cover_context(sentence).said + near) / (2 * context_total)
                blended = (score + CONTEXT_WEIGHT * follow) / (1 + CONTEXT_WEIGHT)
                # Earlier turns rerank, and can only add support: an unrelated turn must not
                # make a good question fall under the decline threshold.
                score, strength = blended, max(strength, blended)
            score *= fit
            strength *= fit
            if now and not proposes(sentence.text):
                score *= TYPE_BONUS  # ranks, never decides: "the army now" is not its cap
            scored.append(Scored(sentence, score, covered, strength, coverage.said_terms))
        scored.sort(key=lambda s: (-s.score, s.sentence.rank, s.sentence.start))
        return scored

    def _coverage(
        self, text: str, weights: dict[str, float], sentences: list[Sentence]
    ) -> Callable[[Sentence], Coverage]:
        """For a sentence: the terms of `text` it holds, and the weight it says, counting
        a synonym, an alias, a WordNet relation or a close word for part of a term's."""
        if not weights:
            return lambda sentence: Coverage(frozenset(), 0.0, {})
        soft = self._soft_matcher(text, sentences)
        synonym = _synonym_matcher(text, weights)
        same_sense = _thesaurus_matcher(text, weights, related=False)
        related = _thesaurus_matcher(text, weights, related=True)
        names = _name_terms(text)
        figure = _figure_matcher(text)

        def cover(sentence: Sentence) -> Coverage:
            covered = frozenset(t for t in weights if t in sentence.terms)
            reworded = {
                t: max(synonym(t, sentence), figure(t, sentence))
                for t in weights
                if t not in covered
            }
            strong = {
                t: max(by_table, same_sense(t, sentence), soft(t, sentence))
                for t, by_table in reworded.items()
            }
            # A WordNet relation is a weak clue ("weather" relates to "hold"): it counts
            # only beside another word of the question's topic that the sentence says.
            said = (covered | {t for t, credit in strong.items() if credit}) - names
            credits = dict.fromkeys(covered, 1.0)
            for t, credit in strong.items():
                credits[t] = max(credit, related(t, sentence) if said - {t} else 0.0)
            return Coverage(
                covered,
                sum(weights[t] * c for t, c in credits.items()),
                reworded,
                frozenset(t for t, c in credits.items() if c),
            )

        return cover

    def _answer_type_check(
        self,
        question: str,
        wants: Wants,
        sentences: list[Sentence],
        *,
        background_names: bool = False,
    ) -> Callable[[Sentence, frozenset[str]], float | None]:
        """What a sentence must hold to answer this kind of question.

        "How many ..." wants a number, "when ..." a time, "who ..." a name; and every
        name the question asks about must appear in the passage around the sentence (by
        another of its names when the articles only use another: "America", "the US").
        """
        names = self._asked_names(question)
        if background_names:
            # "When must Kyiv answer?": a name of the articles' background (Kyiv, in
            # articles about Ukraine) need not be in the passage, as "Ukraine" need not
            names = [n for n in names if not self._stands_for_background(n)]
        entities = [
            entity
            for name in proper_names(question)
            if not self._knows_words(name)
            and (entity := self._entity_known_as_other(name, question)) is not None
        ]
        measure = measure_asked(question)
        measured_terms: set[str] = set()
        if wants is Wants.NUMBER:
            # the figure's own sentence names what it measures, and where: "the population of
            # Pokrovsk", "how many people live in Pokrovsk?"
            measured_terms = set(terms(measured_phrase(question)))
            measured_terms |= {t for place in places_asked(question) for t in terms(place)}
        measured = [n for n in names if n.term in measured_terms]
        typed = wants in (Wants.NUMBER, Wants.DATE, Wants.PERSON, Wants.PLACE, Wants.NAME)
        does = self._says_verb(question, sentences) if wants is Wants.PERSON else None
        role = asked_role(question) if wants is Wants.PERSON else None
        fills = self._says_word(role, question, sentences, related=False) if role else None
        focus = self._says_focus(question, wants, sentences)
        speech = asks_what_was_said(question)
        speaker = _speaker_test(question)
        counted = (counted_noun(question) if wants is Wants.NUMBER else None) or figure_noun(
            question
        )
        counting = _counting(counted, sentences) if counted else None
        owned = _owned(question)
        decider = asks_decision_taken(question)
        decided_by = _party_test(decider) if decider else None

        def fits(sentence: Sentence, around: frozenset[str]) -> float | None:
            """None rules the sentence out; otherwise a factor for its score."""
            if names and not _names_in_passage(names, sentence.passage, around):
                return None
            if measured and not _names_all(sentence, measured):
                return None  # "the population of Pokrovsk": a figure said of that place
            if entities and not set(entities) <= _concepts(sentence.passage.text):
                return None  # "America" asked, and the passage never names the United States
            if focus is not None and not focus(sentence):
                return None  # "Has parliament voted on the 28 points?": "There are 28 points"
            if speech and not says_something(sentence.text):
                return None  # "What has Euroclear said?": "€200bn sits at Euroclear"
            if speaker is not None and not _spoken_by(sentence, speaker):
                return None  # "How has the Kremlin reacted?": not commentators on its tastes
            if counting and (sentence.passage.id, sentence.start) not in counting:
                return None  # "How many points...?": "28 key points", not "pointed out"
            # "Does it cap Russia's army?": not "Ukraine's armed forces would be capped"
            if owned and _owned_by_another(owned, _owned(sentence.text)):
                return None
            if decider is not None and not _reports_decision(sentence.text, decided_by):
                return None  # "Did Kyiv end up saying yes?": not "has until Thursday to agree"
            if not typed:
                # A verb of speech reports a statement more surely than quotation marks,
                # which also quote the draft's own words ("a 'robust' military response").
                return TYPE_BONUS if speech and reports_speech(sentence.text) else 1.0
            if does is not None and not does(sentence):
                return None  # "Who would patrol the zone?": a sentence that never says so
            if fills is not None and not fills(sentence):
                return None  # "Who is the UK prime minister?": "led by the UK and France"
            return TYPE_BONUS if offers_answer(sentence.text, question, wants, measure) else None

        return fits

    def _says_verb(
        self, question: str, sentences: list[Sentence]
    ) -> Callable[[Sentence], bool] | None:
        """For "who <verb>s ...?": whether a sentence says that verb, in its words, by a
        synonym, a WordNet synonym or related word, or a close word ("wrote": "drafting")."""
        verb = subject_verb(question)
        if verb in SPEECH_VERBS:  # "Who noticed...?": "commentators have pointed out"
            return lambda sentence: says_something(sentence.text)
        says = self._says_word(verb, question, sentences, related=True)
        term = next(iter(terms(verb)), None) if verb else None
        if says is None or term is None:
            return says
        return lambda sentence: says(sentence) and not _done_by_no_one(sentence.text, term)

    def _says_focus(
        self, question: str, wants: Wants, sentences: list[Sentence]
    ) -> Callable[[Sentence], bool] | None:
        """For a yes/no question about something done that no article speaks of in these
        words ("Has parliament voted on the plan?", and no article says "vote"): whether a
        sentence says it in other words. A related word is not enough ("said" is not
        "voted"); a deed the articles do speak of is left to the score."""
        focus = asked_focus(question)
        if focus is None and wants in (Wants.ANYTHING, Wants.DEFINITION):
            focus = asked_head(question)  # "What rate of return would it earn?": a rate
        if focus is None or any(self._known(t) for t in terms(focus)):
            return None
        return self._says_word(focus, question, sentences, related=False)

    def _says_word(
        self, word: str | None, question: str, sentences: list[Sentence], *, related: bool
    ) -> Callable[[Sentence], bool] | None:
        term = next(iter(terms(word)), None) if word else None
        if term is None:
            return None
        weights = {term: 1.0}
        matchers = [
            _synonym_matcher(question, weights),
            _thesaurus_matcher(question, weights, related=False),
            self._soft_matcher(question, sentences),
        ]
        if related:
            matchers.append(_thesaurus_matcher(question, weights, related=True))
        return lambda sentence: (
            term in sentence.terms or any(match(term, sentence) for match in matchers)
        )

    def _weights(self, text: str) -> dict[str, float]:
        """Each term's weight: its idf, or the unknown weight for a word no article uses;
        a light verb ("goes", "get") weighs as a framing word does, and so does a framing
        word no article uses ("the explainer"): it says where the answer is written, not
        what it is; a word that only names the kind of number asked ("what slice of...")
        counts when the articles use it."""
        weights = {}
        for t in dict.fromkeys(terms(text)):
            if t in INDEFINITE:
                continue
            known = self._known(t)
            if not known and t in _MEASURE_TERMS:
                continue
            weight = self._idf(t) if known else self._unknown_weight
            light = t in _LIGHT_TERMS or (t in _GENERIC_PEOPLE and counted_noun(text) is None)
            light = light or (not known and t in default_lexicon().framing)
            weights[t] = weight * default_lexicon().framing_weight if light else weight
        return weights

    def _word_vectors(self, vocab: list[str]) -> np.ndarray:
        """Embeddings of single words, kept between questions (the same words recur)."""
        missing = [w for w in vocab if w not in self._words]
        if missing:
            for word, vector in zip(missing, self._embed(missing), strict=True):
                self._words[word] = vector
            while len(self._words) > WORD_VECTORS_KEPT:
                self._words.popitem(last=False)
        for word in vocab:
            self._words.move_to_end(word)
        return np.stack([self._words[w] for w in vocab])

    def _soft_matcher(
        self, question: str, sentences: list[Sentence]
    ) -> Callable[[str, Sentence], float]:
        """Credit for a question word whose embedding is close to a word of the sentence."""
        asked = {stem(w): w for w in _content_words(question)}
        said = {id(s): _content_words(s.text) for s in sentences}
        vocab = sorted(set(asked.values()) | {w for found in said.values() for w in found})
        if not asked or not vocab:
            return lambda term, sentence: 0.0
        index = {w: i for i, w in enumerate(vocab)}
        vectors = self._word_vectors(vocab)
        cache: dict[tuple[str, int], float] = {}

        def soft(term: str, sentence: Sentence) -> float:
            word = asked.get(term)
            if word is None:
                return 0.0
            key = (term, id(sentence))
            if key not in cache:
                mine = [index[w] for w in said[id(sentence)]]
                best = float(np.max(vectors[mine] @ vectors[index[word]])) if mine else 0.0
                cache[key] = best if best >= SOFT_MATCH else 0.0
            return cache[key]

        return soft

    def _choose(
        self, scored: list[Scored], names: Sequence[AskedName] = (), wants: Wants = Wants.ANYTHING
    ) -> list[Scored]:
        """The best sentence, and those that come close to it or add to what it covers;
        for an overview ("What does the plan say about Nato?"), every sentence that clears
        the bar on its own, since each says something of its own about the topic.

        A sentence added to the best must itself name what the question names ("What does
        the plan say about Nato?" is not answered by a sentence about the war's causes
        that merely sits near a mention of Nato), unless it continues the best sentence.
        """
        best = scored[0]
        chosen = [best]
        covered = set(best.covered)
        for candidate in scored[1:]:
            if len(chosen) >= self._max_sentences:
                break
            if candidate.strength < 0.8 * self._min_support or _repeats(candidate, chosen):
                continue
            adds = candidate.covered - covered
            close = candidate.score >= 0.85 * best.score
            follows = _follows(best.sentence, candidate.sentence)
            if not follows and not _names_all(candidate.sentence, names):
                continue
            overview = wants is Wants.OVERVIEW and candidate.strength >= self._min_support
            if (
                close
                or overview
                or (adds and candidate.score >= 0.7 * best.score)
                or (follows and candidate.score >= 0.5 * best.score)
            ):
                chosen.append(candidate)
                covered |= candidate.covered
        return chosen


def _topic_of(question: str) -> str:
    """The question without the words that only say what kind of answer it wants: a stated
    figure ("more than half a million"), "how large", "what year", "more or less than",
    "called", "react", "the main points of", "right now" (as "now")."""
    framed = without_comparison_frame(without_stated_figure(without_measure_frame(question)))
    framed = without_date_frame(framed)
    framed = without_summary_frame(without_now_frame(framed))
    return without_reaction_frame(without_naming_frame(framed))


def _without_measure_words(topic: str) -> str:
    """An earlier turn's topic without its measure ("the troop ceiling": "the troop"), for
    a follow-up that asks how things stand now ("and how many have they got now?"). Not for
    another time ("and how big were they last January?"): with its measure gone, the topic
    matched a storm's cost in a week's news."""
    kept = [w for w in topic.split() if w.lower().strip("?!.,;:") not in MEASURE_WORDS]
    return " ".join(kept) if any(terms(w) for w in kept) else topic


def _category_term(question: str, wants: Wants, weights: dict[str, float]) -> str | None:
    """The weighted term of the category a typed question asks for an instance of ("which
    cities": "citi"), which a sentence holding an answer of that type says by its instance;
    None when there is none, or the question does not weigh it."""
    category = asked_category(question, wants)
    term = next(iter(terms(category)), None) if category else None
    return term if term in weights else None


def _names_instance(sentence: Sentence, question: str, wants: Wants) -> bool:
    """Whether a sentence that fits a typed question's kind (a name, a time) says its
    category by an instance rather than in words: a place where something happens for
    "which cities" ("at Moscow", not "out of NATO"); any new name or time for the rest."""
    if wants is Wants.PLACE:
        return locates_something(sentence.text, question)
    return True


def _speaker_test(question: str) -> Callable[[Token], bool] | None:
    """For a question asking what someone said: whether a sentence's word names them (by
    an alias: "Europe" is "European", "the Kremlin" is "Russia"; or by its own word)."""
    speaker = asked_speaker(question)
    return None if speaker is None else _party_test(speaker)


def _party_test(party: str) -> Callable[[Token], bool] | None:
    """Whether a sentence's word names the party ("Ukraine", "the Kremlin") by its own word
    or an alias; None when it names no one in particular ("officials")."""
    lexicon = default_lexicon()
    named = [t for t in lexicon.tokens(party) if t.content]
    groups = {t.entity for t in named if t.entity}
    words = {stem(t.raw) for t in named if not t.entity} - _GENERIC_SPEAKERS
    if not groups and not words:
        return None
    # A body named after the speaker speaks for it: "Europe" asked, "the European Union" said
    forms = {t for g in groups for form in lexicon.aliases.get(g, []) for t in terms(form)}

    def names_speaker(token: Token) -> bool:
        if token.entity:
            return token.entity in groups or bool(forms & set(terms(token.raw)))
        return stem(token.raw) in words

    return names_speaker


# Words of a speaker that say who only with the rest of its name ("the foreign ministry")
_GENERIC_SPEAKERS = frozenset(
    stem(w) for w in "government officials official leaders leader side ministry".split()
)


def _spoken_by(sentence: Sentence, speaker: Callable[[Token], bool]) -> bool:
    """Whether the speaker says the sentence: it reports them speaking, or it goes on with
    a quotation from a sentence that does ('Hayovyshyn told the council: "There will never
    be any recognition... Ukraine will not accept any limits..."')."""
    lexicon = default_lexicon()
    if spoken_by(lexicon.tokens(sentence.text), speaker):
        return True
    if reports_speech(sentence.text):
        return False  # someone else speaks here
    previous = _previous(sentence, ())
    if previous is None:
        return False
    quoted = sentence.text.lstrip().startswith(_QUOTE_MARKS) or _leaves_quote_open(previous.text)
    return quoted and spoken_by(lexicon.tokens(previous.text), speaker)


_QUOTE_MARKS = ('"', "\u201c")


def _leaves_quote_open(text: str) -> bool:
    """A quotation that goes on into the next sentence ('...told the council: "There will
    never be any recognition...' and the closing mark comes a sentence later)."""
    return text.count('"') % 2 == 1 or text.count("\u201c") > text.count("\u201d")


def _stands_for_the_state(demonym: str, question: str) -> bool:
    """Whether a demonym names its country's state by the noun after it ("the American side",
    "Russian officials": aliases.yaml state_nouns), not its people or firms ("American
    companies" are not the United States), or as a plural noun of its own ("are the Russians
    willing?", "would it go to the Americans?": the country's side)."""
    after = _word_after(demonym, question)
    if demonym.endswith("s") and (after is None or after in STOPWORDS):
        return True
    return after in default_lexicon().state_nouns


def _noun_after(demonym: str, question: str) -> str | None:
    """The stem of the noun a demonym describes in the question ("American websites":
    "websit"); None when no word follows it."""
    word = _word_after(demonym, question)
    return None if word is None or word in STOPWORDS else stem(word)


def _acts(name: str, question: str) -> bool:
    """Whether a name is the subject of a modal verb ("... cities Kyiv would have to
    abandon", "which cities would Kyiv give up?"): a government acting, not the city a
    city word speaks of."""
    before = re.search(rf"\b(\w+)\s+{re.escape(name)}\b", question, re.I)
    return _word_after(name, question) in _MODALS or (
        before is not None and before.group(1).lower() in _MODALS
    )


_MODALS = frozenset("would will could can must should might may shall has had".split())


def _word_after(name: str, question: str) -> str | None:
    """The word right after a name in the question, lower-cased; None when none follows."""
    found = re.search(rf"\b{re.escape(name)}\s+([a-z]+)", question, re.I)
    return found.group(1).lower() if found is not None else None


def _counting(noun: str, sentences: list[Sentence]) -> set[tuple[str, int]]:
    """For "how many <things>...?" (or "... two dozen <things>, yeah?"): the sentences that
    count those things, by that word or a synonym ("600,000 personnel" for soldiers). Where
    some do, only they answer: a sentence with some other number beside the word's stem
    ("Several commentators have pointed out...") does not."""
    forms = {noun, _singular(noun)}
    forms |= {m for m in default_lexicon().members(stem(noun)) if m}
    return {
        (sentence.passage.id, sentence.start)
        for sentence in sentences
        if counts(normalise(sentence.text), sorted(forms))
    }


def _done_by_no_one(sentence: str, verb_term: str) -> bool:
    """Whether a sentence uses the verb only as a deed without its doer: passive or as a
    participle, with no "by" after it ("details that were leaked to US websites", "the
    leaked draft"), so it cannot say who did it. False when the verb is not there in its
    own words (a synonym's sentence is left to the other checks)."""
    said = _LOWER_WORD.findall(sentence.lower())
    found = [i for i, word in enumerate(said) if stem(word) == verb_term]
    if not found:
        return False
    return all(_after_a_participle_word(said, i) and "by" not in said[i + 1 : i + 7] for i in found)


def _after_a_participle_word(said: list[str], i: int) -> bool:
    """ "were leaked", "the leaked", "has been widely leaked" (one adverb between)."""
    before = said[i - 1] if i > 0 else ""
    if before.endswith("ly") and i > 1:
        before = said[i - 2]
    return before in _BEFORE_A_PARTICIPLE


_BEFORE_A_PARTICIPLE = frozenset(
    "is are was were be been being the a an its their this that these those".split()
)


def _singular(noun: str) -> str:
    if noun.endswith("ies"):
        return noun[:-3] + "y"
    if noun.endswith(("ches", "shes", "sses", "xes")):
        return noun[:-2]
    return noun[:-1] if noun.endswith("s") else noun


def _figure_matcher(question: str) -> Callable[[str, Sentence], float]:
    """Full credit for a term of a figure the question states ("600k", "six hundred
    thousand", "half") when the sentence states the same figure in any form ("600,000",
    "50%"): the same number, written as the article writes it."""
    asked = figure_terms(question)
    if not asked:
        return lambda term, sentence: 0.0
    stated: dict[int, dict[float, bool]] = {}

    def credit(term: str, sentence: Sentence) -> float:
        value = asked.get(term)
        if value is None:
            return 0.0
        known = stated.setdefault(id(sentence), {})
        if value not in known:
            known[value] = states_figure(sentence.text, value)
        return 1.0 if known[value] else 0.0

    return credit


def _synonym_matcher(question: str, weights: dict[str, float]) -> Callable[[str, Sentence], float]:
    """Credit for a question word that the sentence says with a synonym or an alias.

    The tables are the citation check's (assistant/data/synonyms.yaml, aliases.yaml):
    "army" finds "armed forces", "cap" finds "limited", "Washington" finds "the US".
    """
    lexicon = default_lexicon()
    meanings: dict[str, set[str]] = {}
    for token in lexicon.tokens(question):
        if token.concepts & lexicon.framing:
            continue  # "plan" for "proposal" says nothing about what is asked
        shared = {c for c in token.concepts if c.startswith(("~", "@"))}
        for term in token.concepts & weights.keys():
            meanings.setdefault(term, set()).update(shared)
    if not any(meanings.values()):
        return lambda term, sentence: 0.0

    def synonym(term: str, sentence: Sentence) -> float:
        wanted = meanings.get(term)
        return SYNONYM_CREDIT if wanted and wanted & _concepts(sentence.text) else 0.0

    return synonym


def _name_terms(text: str) -> frozenset[str]:
    """The terms of a text's names: proper names and the entities the alias table knows."""
    found = {t for name in proper_names(text) for t in terms(name)}
    found |= {c for token in default_lexicon().tokens(text) if token.entity for c in token.concepts}
    return frozenset(found)


def _thesaurus_matcher(
    question: str, weights: dict[str, float], *, related: bool
) -> Callable[[str, Sentence], float]:
    """Credit for a question word that the sentence says with a word WordNet relates to it
    (assistant/data/thesaurus.tsv.gz): "rocket" finds "missile", "wrote" finds "drafting".
    Names are left to the alias table: WordNet's "Washington" is a city and a president."""
    thesaurus = default_thesaurus()
    names = {t for name in proper_names(question) for t in terms(name)}
    meanings: dict[str, Relations] = {}
    for word in _content_words(question):
        term = next(iter(terms(word)), None)
        if term in weights and term not in names and term not in meanings:
            meanings[term] = thesaurus.relations(word)
    for phrase, relations in _phrases_in(question, thesaurus):
        # "pull back" finds "withdraw", "give up" finds "relinquish": each of the phrase's
        # terms may be said by what the phrase as a whole means.
        for term in terms(phrase):
            if term in weights and term not in names:
                held = meanings.get(term, NO_RELATIONS)
                meanings[term] = Relations(
                    held.synonyms | relations.synonyms, held.related | relations.related
                )

    def credit(term: str, sentence: Sentence) -> float:
        relations = meanings.get(term)
        if relations is None:
            return 0.0
        if related:
            if len(relations.synonyms) > POLYSEMOUS:
                return 0.0  # "run" relates to "led", "go" and "leave" by some of its senses
            return THESAURUS_RELATED_CREDIT if _says_any(relations.related, sentence.terms) else 0.0
        return THESAURUS_SYNONYM_CREDIT if _says_any(relations.synonyms, sentence.terms) else 0.0

    return credit


PHRASE_WORDS = (2, 3)  # a phrase the thesaurus knows is two or three words long


def _phrases_in(question: str, thesaurus: Thesaurus) -> list[tuple[str, Relations]]:
    """The question's phrases of two or three words that the thesaurus knows ("pull back",
    "set up", "give up"), each with what it may be said with instead."""
    said = words(question)
    found = []
    for size in PHRASE_WORDS:
        for i in range(len(said) - size + 1):
            phrase = " ".join(said[i : i + size])
            own = frozenset(terms(phrase))
            if not own:
                continue  # only small words
            relations = _beyond(thesaurus.relations(phrase), own)
            if relations.synonyms or relations.related:
                found.append((phrase, relations))
    return found


def _beyond(relations: Relations, own: frozenset[str]) -> Relations:
    """Without the phrases made only of the phrase's own words ("back" for "pull back",
    from "back away"): the sentence saying them proves nothing more."""

    def kept(phrases: frozenset[Phrase]) -> frozenset[Phrase]:
        return frozenset(p for p in phrases if not set(p) <= own)

    return Relations(kept(relations.synonyms), kept(relations.related))


def _says_any(phrases: frozenset[tuple[str, ...]], sentence_terms: frozenset[str]) -> bool:
    """Whether the sentence holds one of the phrases (each as terms, all of them)."""
    words, multi = _split_phrases(phrases)
    return not words.isdisjoint(sentence_terms) or any(
        all(t in sentence_terms for t in phrase) for phrase in multi
    )


@lru_cache(maxsize=8192)
def _split_phrases(
    phrases: frozenset[tuple[str, ...]],
) -> tuple[frozenset[str], tuple[tuple[str, ...], ...]]:
    """One-word phrases as a set (one intersection finds any), the longer ones as a list."""
    words = frozenset(p[0] for p in phrases if len(p) == 1)
    return words, tuple(p for p in phrases if len(p) > 1)


@lru_cache(maxsize=4096)
def _concepts(text: str) -> frozenset[str]:
    """The synonym groups and entities a sentence mentions."""
    return frozenset(
        c for token in default_lexicon().tokens(text) for c in token.concepts if c[0] in "~@"
    )


_REFERS_BACK = re.compile(
    r"^\W*(?:(?:and|but|so|yet)\s+)?(?:(?:one|some|many|most|all|each|none|several|two|"
    r"three|either|neither)\s+of\s+)?(?:that|this|these|those|such|another|it|its|they|their|"
    r"them|he|his|she|her|both|neither|the latter|the former|the same|the move|the idea)\b"
    r"(?!\s+(?:week|weekend|year|month|day|morning|afternoon|evening|time|is why)\b)|"
    r"\b(?:that|this|those|these|the same) (?:wording|words|phrase|language|line|idea|"
    r"proposal|point|plan|claim|statement|remark|comment)s?\b",
    re.IGNORECASE,
)


def refers_back(text: str) -> bool:
    """A sentence that leans on the one before it: "That reads as...", "Another proposes..."."""
    return bool(_REFERS_BACK.search(text))


def _with_antecedents(chosen: list[Scored], scored: list[Scored], floor: float) -> list[Scored]:
    """Each sentence that refers back comes with the sentence it refers to, when the
    retrieved text holds it; otherwise a close alternative that stands alone replaces it,
    and failing that it stays as it is."""
    pool = [s.sentence for s in scored]
    kept: list[Scored] = []
    for item in chosen:
        if not refers_back(item.sentence.text):
            kept.append(item)
            continue
        before = _previous(item.sentence, pool)
        if before is not None:
            kept += [Scored(before, item.score, frozenset(), item.strength), item]
            continue
        alternative = next(
            (
                s
                for s in scored
                if s.score >= CLOSE_ALTERNATIVE * item.score
                and s.strength >= floor
                and not refers_back(s.sentence.text)
                and s not in chosen
            ),
            None,
        )
        kept.append(alternative or item)
    unique: dict[int, Scored] = {}
    for item in kept:
        unique.setdefault(item.sentence.start, item)
    return list(unique.values())


def _own_topic_first(scored: list[Scored], own: frozenset[str]) -> list[Scored]:
    """A follow-up answered first by a sentence that says all of its own topic ("and the
    rest of the money?": "The rest of those frozen assets would go..."), where one comes
    close to the best, rather than by one that only answers the earlier turn again."""
    if not own or own & scored[0].said:
        return scored
    best = scored[0]
    own_best = next(
        (s for s in scored if own <= s.said and s.score >= CLOSE_ALTERNATIVE * best.score), None
    )
    if own_best is None:
        return scored
    return [own_best, *(s for s in scored if s is not own_best)]


@lru_cache(maxsize=8192)
def _owned(text: str) -> frozenset[tuple[str, frozenset[str]]]:
    """What the text says an entity has: "Russia's own army", "Ukraine's armed forces",
    "the Ukrainian Armed Forces" as (the entity, the concepts of the thing had)."""
    lexicon = default_lexicon()
    flat = normalise(text)
    tokens = [t for t in lexicon.tokens(text) if t.content]
    found = set()
    for token, following in pairwise(tokens):
        if token.entity is None or following.entity is not None:
            continue
        between = flat[token.end : following.start]
        possessive = re.fullmatch(r"'s?\s+(?:own\s+)?", between) is not None
        adjective = lexicon.is_demonym(token.raw) and between.isspace()
        if possessive or adjective:
            found.add((token.entity, following.concepts - {following.raw}))
    return frozenset(found)


def _owned_by_another(
    asked: frozenset[tuple[str, frozenset[str]]], said: frozenset[tuple[str, frozenset[str]]]
) -> bool:
    """Whether a sentence gives the thing a question asks of one entity to another only
    ("Russia's army" asked; "Ukraine's armed forces" said, Russia's not)."""
    for owner, concepts in asked:
        others = {o for o, c in said if c & concepts and o != owner}
        if others and not any(o == owner and c & concepts for o, c in said):
            return True
    return False


def _with_named_day_dated(chosen: list[Scored], scored: list[Scored]) -> list[Scored]:
    """For a "when" question answered with a day named without its date ("Ukraine has until
    Thanksgiving late next week"): the retrieved sentence that gives that same holiday its date
    ("by US Thanksgiving on Thursday 27 November 2025"), added after the answer, where no
    quote already writes out a date."""
    if any(states_day_of_month(item.sentence.text) for item in chosen):
        return chosen
    named = frozenset().union(*(named_days(item.sentence.text) for item in chosen))
    if not named:
        return chosen
    dated = next(
        (
            item
            for item in scored
            if item not in chosen
            and named & named_days(item.sentence.text)
            and states_day_of_month(item.sentence.text)
        ),
        None,
    )
    return chosen if dated is None else [*chosen, dated]


def _previous(sentence: Sentence, pool: Sequence[Sentence]) -> Sentence | None:
    """The sentence just before this one in its article, if the retrieved text holds it."""
    passage = sentence.passage
    spans = [(passage.start + s, passage.start + e) for s, e in passage.sentences]
    starts = [s for s, _ in spans]
    if sentence.start in starts and starts.index(sentence.start) > 0:
        start, end = spans[starts.index(sentence.start) - 1]
        text = passage.text[start - passage.start : end - passage.start]
        return Sentence(passage, sentence.rank, start, end, frozenset(terms(text)))
    return next((other for other in pool if _follows(other, sentence)), None)


_LOWER_WORD = re.compile(r"(?<![\w'’-])[a-z][a-z'’-]*[a-z](?![\w'’-])")


def _cased(question: str, passages: Sequence[Passage]) -> str:
    """The question with the names it types in lower case spelled as the retrieved passages
    spell them ("what happens to donetsk?" asks about Donetsk): a word the passages only
    ever write with a capital, in mid-sentence, is a name."""
    spelled: dict[str, str] = {}
    lower: set[str] = set()
    for passage in passages:
        names, plain = _spellings(passage.text)
        for name in names:
            spelled.setdefault(name.lower(), name)
        lower |= plain

    def restored(match: re.Match[str]) -> str:
        word = match.group(0)
        if word in lower or word in STOPWORDS or word not in spelled:
            return word
        if _ordinary_word(word, spelled[word]):
            return word  # "willing": the passages' "Coalition of the Willing" is not asked
        return spelled[word]

    return _LOWER_WORD.sub(restored, question)


def _ordinary_word(word: str, name: str) -> bool:
    """A word of ordinary English (the thesaurus knows it) whose spelling as a name the
    alias table does not know: typed in lower case, it is that word, not part of a name
    ("willing", not the passages' "Coalition of the Willing"; but "eu" is the EU)."""
    lexicon = default_lexicon()
    if word in lexicon.leaders or any(t.entity for t in lexicon.tokens(name)):
        return False
    return default_thesaurus().knows(word)


def _says_concept(deed: str) -> Callable[[Sentence], bool]:
    """Whether a sentence says a deed: its own word ("lifted": "lift") or a word of the
    synonym groups that hold it as a whole ("agree" or "say yes": "agreed", "sign"; not
    "agreement", a thing rather than the deed; "say yes" is not "said")."""
    tokens = [t for t in _tokens(deed) if not t.punct]
    wanted = frozenset.intersection(*(t.concepts for t in tokens)) if tokens else frozenset()
    wanted = frozenset(c for c in wanted if c[0] in "~@")
    own = frozenset(terms(deed.split()[-1]))
    return lambda sentence: bool(wanted & _concepts(sentence.text) or own & sentence.terms)


def _reports_decision(text: str, by: Callable[[Token], bool] | None) -> bool:
    return reports_decision(_tokens(text), by)


@lru_cache(maxsize=4096)
def _tokens(text: str) -> list[Token]:
    return default_lexicon().tokens(text)


@lru_cache(maxsize=4096)
def _spellings(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """A text's names (capitalised in mid-sentence, and acronyms) and its lower-case words."""
    return frozenset(proper_names(text)), frozenset(_LOWER_WORD.findall(text))


@dataclass(frozen=True)
class AskedName:
    term: str  # "moscow"
    entity: str | None  # "@russia": a passage may name it so instead
    # "websit" for "American websites": the entity counts only by another of its names
    # before the same noun ("US websites"), not as just any mention of the US
    before: str | None = None


def _mentioned(name: AskedName, held: frozenset[str], text: str) -> bool:
    """Whether a text (its terms `held`) names it: the same stem, or the same entity by
    another of its names."""
    if any(_same_name(name.term, term) for term in held):
        return True
    if name.entity is not None and name.before is not None:
        return _names_before(text, name.entity, name.before)
    return name.entity is not None and name.entity in _concepts(text)


def _names_before(text: str, entity: str, noun: str) -> bool:
    """Whether a text names the entity ("@united-states") by any of its names right before
    the noun ("US websites" for "American websites")."""
    tokens = [t for t in default_lexicon().tokens(text) if not t.punct]
    return any(
        f"@{first.entity}" == entity and stem(second.raw) == noun
        for first, second in pairwise(tokens)
    )


def _names_in_passage(names: Sequence[AskedName], passage: Passage, held: frozenset[str]) -> bool:
    """Whether the passage (its terms `held`) names them, read under its article's headline
    ("...Russia's Ukraine war": a passage of that article is about Ukraine)."""
    headline = _title_terms(passage.title)
    text = f"{passage.title}\n{passage.text}"
    return all(_mentioned(name, held | headline, text) for name in names)


@lru_cache(maxsize=4096)
def _title_terms(title: str) -> frozenset[str]:
    return frozenset(terms(title))


def _names_all(sentence: Sentence, names: Sequence[AskedName]) -> bool:
    return all(_mentioned(name, sentence.terms, sentence.text) for name in names)


def _rescaled(similarity: float) -> float:
    """Topical sentences all score about 0.4 with static embeddings: count what is above."""
    return max(similarity - DENSE_FLOOR, 0.0) / (1.0 - DENSE_FLOOR)


def _same_name(name: str, term: str) -> bool:
    """Ukraine ~ Ukrainian, Russia ~ Russian: stems that extend each other."""
    if len(name) < 4 or len(term) < 4:
        return name == term
    return term.startswith(name) or name.startswith(term)


@lru_cache(maxsize=8192)
def _content_words(text: str) -> tuple[str, ...]:
    return tuple(w for w in words(text) if w not in STOPWORDS and w.isalpha() and len(w) > 2)


def _sentences(passages: Sequence[Passage]) -> list[Sentence]:
    out = []
    for rank, passage in enumerate(passages):
        spans = passage.sentences or ((0, len(passage.text)),)
        for s, e in spans:
            text = passage.text[s:e]
            said = frozenset(terms(text)) | frozenset(closed_compounds(text))
            out.append(Sentence(passage, rank, passage.start + s, passage.start + e, said))
    return out


@dataclass(frozen=True)
class Coverage:
    """What a sentence says of a text's weighted terms: those it holds as they are, the
    weight it says in all (a synonym or close word counting for part of a term's), and
    the credit our synonym and alias tables give each term it says in other words."""

    covered: frozenset[str]
    said: float
    reworded: dict[str, float]
    said_terms: frozenset[str] = frozenset()  # those it says at all, in other words too


def _said_around(
    sentences: list[Sentence],
    coverages: list[Coverage],
    weights: dict[str, float],
    passage_terms: dict[str, frozenset[str]],
) -> dict[str, float]:
    """Each passage's weight of the question said anywhere in it: a term in its text
    (headings included) counts whole, one its sentences say in the words of our synonym
    and alias tables for the best credit any of them gives ("pull back" where it says
    "withdraw", "soldiers" where it says "forces"). WordNet senses and close words are
    left out: over a whole passage, many loose senses add up to support for questions it
    does not answer ("good morning": "good" has a sense that a word of it shares)."""
    best: dict[str, dict[str, float]] = {}
    for sentence, coverage in zip(sentences, coverages, strict=True):
        held = best.setdefault(sentence.passage.id, {})
        for t, credit in coverage.reworded.items():
            held[t] = max(held.get(t, 0.0), credit)
    said = {}
    for pid, around in passage_terms.items():
        credits = best.get(pid, {})
        said[pid] = sum(
            w * (1.0 if t in around else credits.get(t, 0.0)) for t, w in weights.items()
        )
    return said


def _terms_by_passage(sentences: list[Sentence]) -> dict[str, frozenset[str]]:
    """Each passage's terms: its whole text's, headings (which are not sentences) included."""
    passages = {sentence.passage.id: sentence.passage for sentence in sentences}
    return {pid: frozenset(terms(passage.text)) for pid, passage in passages.items()}


def _repeats(candidate: Scored, chosen: list[Scored]) -> bool:
    """A sentence that says what an already chosen one says (often the other article)."""
    mine = candidate.sentence.terms
    for other in chosen:
        theirs = other.sentence.terms
        if not mine or not theirs:
            continue
        overlap = len(mine & theirs) / min(len(mine), len(theirs))
        if overlap >= NEAR_DUPLICATE:
            return True
    return False


def _group(chosen: list[Scored]) -> list[list[Sentence]]:
    """Readable order: articles in order of their best sentence, then article order."""
    source_order: dict[str, int] = {}
    for item in chosen:
        source_order.setdefault(item.sentence.passage.source, len(source_order))
    ordered = sorted(
        (item.sentence for item in chosen),
        key=lambda s: (source_order[s.passage.source], s.start),
    )
    groups: list[list[Sentence]] = []
    for sentence in ordered:
        last = groups[-1][-1] if groups else None
        if (
            last is not None
            and last.passage.id == sentence.passage.id
            and _adjacent(last, sentence)
        ):
            groups[-1].append(sentence)
        else:
            groups.append([sentence])
    return groups


def _follows(first: Sentence, second: Sentence) -> bool:
    """The very next sentence of the same article, even across a chunk boundary."""
    same_article = first.passage.source == second.passage.source
    return same_article and 0 <= second.start - first.end <= 3


def _adjacent(first: Sentence, second: Sentence) -> bool:
    spans = first.passage.sentences
    starts = [first.passage.start + s for s, _ in spans]
    try:
        return starts.index(second.start) == starts.index(first.start) + 1
    except ValueError:
        return False
