"""The question a sentence answers, and the question a headline asks, in a reader's words.

"The size of the Ukrainian Armed Forces will be limited to 600,000 personnel." answers
"What will the size of the Ukrainian Armed Forces be limited to?"; "The line has twelve
stops" answers "How many stops does the line have?"; "The city opened a new tram line"
answers "What did the city open?". The sentence's subject (two words at least, never a
pronoun or a lone name) and its verb group are found with a few rules and word lists; the
kind of fact that follows (a count, a sum of money, a person met, anything else) picks the
question word. A sentence these rules cannot read gives no question: a wrong guess would
read as machine-made, and the suggestions only need a few good ones.
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from assistant.citations import plain_markdown
from assistant.text import STOPWORDS, split_sentences

MODALS = frozenset("will would could can should must may might shall".split())
BE = frozenset("is are was were".split())
HAVE = frozenset("has have had".split())
DO = frozenset("does do did".split())
AUXILIARIES = MODALS | BE | HAVE | DO
# A verb group goes on through these, and ends with at most two particles ("out of").
CHAIN = frozenset("be been being have".split())
PARTICLES = frozenset(
    """to at by for from with on in into onto over up out off about of against back down
    through across under behind between among towards toward around within without""".split()
)
SKIPPED_ADVERBS = frozenset(
    "also still only even already then now further instead both all so far".split()
)
NEGATIONS = frozenset("not never no n't cannot".split())
# Words that cannot open the subject of a sentence read on its own: they link it to
# another sentence, or refer to something named before.
OPENERS = frozenset(
    """but and or so yet if when while although though as because since unless until
    however meanwhile elsewhere also still even first latest other others another such
    there it this that these those he she they we i you its their his her our my your
    what who which where why how among according given despite instead in on at for from
    by with after before during under over about here now then let""".split()
)
# A subject holding one of these is a clause, not a noun phrase.
CLAUSE_WORDS = frozenset(
    "that who which whom whose where when if whether than what how why".split()
)
DETERMINERS = frozenset(
    """the a an several many some most both all each every no other another these those
    this that its their his her our one two three four five six seven eight nine ten
    few various""".split()
)
# Irregular past tenses and participles of verbs news sentences use.
IRREGULAR = {
    "said": "say", "told": "tell", "met": "meet", "made": "make", "took": "take",
    "taken": "take", "gave": "give", "given": "give", "won": "win", "lost": "lose",
    "began": "begin", "begun": "begin", "went": "go", "gone": "go", "came": "come",
    "left": "leave", "held": "hold", "found": "find", "sent": "send", "spent": "spend",
    "paid": "pay", "sold": "sell", "built": "build", "rose": "rise", "risen": "rise",
    "fell": "fall", "fallen": "fall", "led": "lead", "ran": "run", "wrote": "write",
    "written": "write", "thought": "think", "brought": "bring", "bought": "buy",
    "kept": "keep", "chose": "choose", "chosen": "choose", "struck": "strike",
    "drew": "draw", "drawn": "draw", "grew": "grow", "grown": "grow", "saw": "see",
    "seen": "see", "knew": "know", "known": "know", "became": "become", "spoke": "speak",
    "spoken": "speak", "stood": "stand", "sought": "seek", "thrown": "throw",
    "threw": "throw", "shown": "show", "hit": "hit", "set": "set", "put": "put",
    "cut": "cut", "cost": "cost", "let": "let", "shut": "shut", "hurt": "hurt",
    "meant": "mean", "felt": "feel", "heard": "hear", "understood": "understand",
    "broke": "break", "broken": "break", "drove": "drive", "driven": "drive",
    "fought": "fight", "caught": "catch", "taught": "teach", "withdrew": "withdraw",
    "withdrawn": "withdraw", "forgave": "forgive", "froze": "freeze", "frozen": "freeze",
    "stole": "steal", "stolen": "steal", "swore": "swear", "sworn": "swear", "got": "get",
    "laid": "lay", "lent": "lend", "dealt": "deal", "sat": "sit",
}  # fmt: skip
PARTICIPLES = frozenset(w for w in IRREGULAR if w not in ("said", "told"))
# Forms that are only participles ("frozen assets"): never the verb of a main clause.
PARTICIPLE_ONLY = frozenset(
    """taken given begun gone risen fallen written chosen drawn grown seen known spoken
    thrown shown broken driven withdrawn frozen stolen sworn""".split()
)
# Present tenses read as verbs only from this list: "forces", "plans" and "points" are
# nouns at least as often.
PRESENT_VERBS = frozenset(
    """says proposes suggests shows includes offers states notes argues means wants seeks
    appears seems faces gives makes takes allows requires remains describes warns adds
    outlines envisages promises calls opens closes backs rejects approves announces
    confirms expects estimates plans""".split()
)
# Present tenses after a plural subject: a subject never runs past them ("Critics say ...").
BARE_PRESENT = frozenset("say warn argue believe fear expect want agree hope insist think".split())
PERSON_VERBS = frozenset(
    """meet call name appoint elect visit replace thank praise criticise criticize accuse
    back support invite tell sack fire hire interview""".split()
)
REPORTING = frozenset("say tell announce add warn argue note claim insist".split())
# Verbs followed by what is said or proposed: "proposes that X ..." asks about X.
CLAUSE_VERBS = frozenset(
    "propose suggest note state argue envisage promise show find reveal conclude".split()
)
# An object that opens with one of these is a circumstance, not a thing to ask "what" of.
PREPOSITIONS = frozenset(
    """after before during since until despite following amid like as than via per near
    beyond except ahead""".split()
)
TIME_UNITS = frozenset("hours days weeks months years decades minutes".split())
_CURRENCY_WORDS = frozenset(
    "dollars dollar euros euro pounds pound yen rubles roubles hryvnias francs".split()
)
_NUMBER = re.compile(r"^[$€£¥]?\d[\d,.]*(?:bn|m|k|%)?$", re.IGNORECASE)
_NUMBER_WORDS = frozenset(
    "two three four five six seven eight nine ten eleven twelve dozen dozens hundreds "
    "thousands millions".split()
)
_SCALE = frozenset("hundred thousand million billion trillion".split())
_QUOTES = "\"“”‘’'«»"
_HEADLINE_LABEL = re.compile(
    r"^(?:update|live|breaking|analysis|explainer|opinion|watch|exclusive|comment)\s*:\s*",
    re.IGNORECASE,
)
_WHAT_WE_KNOW = re.compile(r"^what we know(?: so far)? about (.+)$", re.IGNORECASE)
_FRAGMENT_BREAK = re.compile(r"[:;,|]\s+|\s+[-–—]\s+")


@dataclass(frozen=True)
class Asked:
    """A question, the phrase it asks about, and the sentence or headline it came from."""

    question: str
    subject: str
    source: str


def question_for(
    sentence: str, names: frozenset[str] = frozenset(), *, headline: bool = False
) -> Asked | None:
    """The question a sentence answers, when its shape is clear enough to phrase one.

    `names`: words seen capitalised in the middle of a sentence; a sentence's first word
    keeps its capital only when it is one of them ("Russian special envoy ...").
    A headline's present tense tells of the past: "Council backs bridge" asks "did".
    """
    text = " ".join(plain_markdown(sentence).split())
    quoted = _WHOLLY_QUOTED.fullmatch(text)
    if quoted:  # a passage of the document quoted whole: "The size ... personnel."
        text = quoted.group(1)
    if not 4 <= len(text.split()) <= 60 or "?" in text or text[:1] in _QUOTES:
        return None
    words = _without_lead_in(text.rstrip(".!").split())
    verb = _main_verb(words, headline=headline)
    if verb is None:
        return None
    subject = _subject(words[:verb], names)
    if subject is None:
        return None
    return _phrase(subject, words, verb, text, names, headline)


_WHOLLY_QUOTED = re.compile(r"[\"“]([^\"“”]+[.!])[\"”]")
_CONNECTIVES = frozenset("but yet and however meanwhile equally finally still so".split())


def _without_lead_in(words: list[str]) -> list[str]:
    """The main clause: "But", "However," or a short opening phrase such as "Under the
    draft," or "On alliances," left out."""
    if words and words[0].lower().rstrip(",") in _CONNECTIVES:
        words = words[1:]
    for i, word in enumerate(words[:6]):
        if word.endswith(","):
            opening = words[0].lower()
            if opening in PARTICLES or opening in PREPOSITIONS or opening == "according":
                return words[i + 1 :]
            break
    return words


def headline_question(
    title: str, names: frozenset[str] = frozenset(), common: frozenset[str] = frozenset()
) -> Asked | None:
    """A headline asked as a question.

    "What we know about X" -> "What do we know about X?"; "Film festival in Belfen opens
    with record crowds" -> "What did the film festival in Belfen open with?"; "Berkar
    Telecom to cut 763 jobs" -> "How many jobs will Berkar Telecom cut?"; "Leaked plan:
    Donbas handover" -> "What do we know about the leaked plan?". `common`: words the
    articles write in lower case (a headline's "City" is one, its "Belgium" is not).
    """
    text = _HEADLINE_LABEL.sub("", " ".join(title.split())).strip()
    if not text:
        return None
    if text.endswith("?") and len(text.split()) >= 3:
        return Asked(text, text, title)
    known = _WHAT_WE_KNOW.match(text)
    if known:
        topic = _noun_phrase(known.group(1).rstrip(".!"), names)
        return Asked(f"What do we know about {topic}?", topic, title) if topic else None
    fragments = _FRAGMENT_BREAK.split(text)
    first = fragments[0].strip().rstrip(".!")
    words = first.split()
    if not words or words[0].lower() in OPENERS:
        return None
    joined = len(words) > 1 and words[1][:1].isupper()  # "New Zealand", not "new Zealand"
    if words[0].lower() in common and words[0].lower() not in DETERMINERS and not joined:
        first = f"The {first[:1].lower()}{first[1:]}"  # "City opens ..." -> "The city opens ..."
    planned = _PLANNED.match(first)
    if planned:  # "X to cut 763 jobs": what X will do
        first = f"{planned.group(1)} will {planned.group(2)}"
    clause = question_for(first + ".", names, headline=True)
    if clause is not None:
        return Asked(clause.question, clause.subject, title)
    # "Mexico drafts rules for ...": a clause; the last word ("Energy prices") is no verb.
    verbs = [_verb_like(w) or _headline_verb(w, b) for b, w in pairwise(words[:-1])]
    if len(fragments) < 2 or not 2 <= len(words) <= 6 or any(verbs) or _verb_like(words[0]):
        return None  # only a label ("Energy prices: ...") names a topic; "Ferry returns" tells
    topic = _noun_phrase(" ".join(words), names)
    if topic and words[0].lower().endswith(("'", "’", "'s", "’s")):
        topic = f"the {topic}"  # "Doctors' strike" -> "the doctors' strike"
    return Asked(f"What do we know about {topic}?", topic, title) if topic else None


_PLANNED = re.compile(r"^(\S+(?: \S+){1,5}) to ([a-z]+ .+)$")


def names_in(texts: Iterable[str], titles: Iterable[str] = ()) -> frozenset[str]:
    """Words that are names: written with a capital in the middle of sentences (or of
    headlines) more often than in lower case, or never in lower case and no English word.
    A sentence's first word keeps its capital in a question only when it is one."""
    capital: Counter[str] = Counter()
    lower: Counter[str] = Counter()
    opening: set[str] = set()
    pairs: set[str] = set()
    for text in texts:
        for sentence in split_sentences(text):
            previous = ""
            for i, word in enumerate(_WORD.findall(sentence)):
                word = _possessive_free(word)
                if word[:1].isupper() and i > 1 and previous[:1].isupper():
                    pairs.add(f"{previous} {word}")  # "New Zealand", mid-sentence
                previous = word if i else ""
                if word[:1].isupper() and i:
                    capital[word] += 1
                elif word[:1].isupper():
                    opening.add(word)
                else:
                    lower[word] += 1
    for title in titles:
        capital.update(_possessive_free(w) for w in _WORD.findall(title)[1:] if w[:1].isupper())
    seen_lower = {w.lower(): n for w, n in lower.items()}
    names = {w for w, n in capital.items() if n > seen_lower.get(w.lower(), 0)}
    names |= {w for w in opening if w.lower() not in seen_lower and not _english(w.lower())}
    return frozenset(names | pairs)


def _english(word: str) -> bool:
    """A word of the English word list, in the form given or as a plural ("tickets")."""
    known = _lemmas()
    return word in known or (word.endswith("s") and word[:-1] in known)


_WORD = re.compile(r"[A-Za-z][\w'’‑-]*")


# -- reading a sentence -----------------------------------------------------------------


def _main_verb(words: list[str], *, headline: bool = False) -> int | None:
    """Where the verb group of the sentence's main clause starts (it must come early)."""
    for i, word in enumerate(words[:11]):
        if i == 0:
            continue
        bare = word.lower()
        if word[-1:] in ",;:()" and i < 10:
            return None  # the subject is not a plain noun phrase
        if bare in PARTICIPLE_ONLY:
            continue
        if bare in AUXILIARIES or bare in IRREGULAR or bare in PRESENT_VERBS:
            return i
        if bare in BARE_PRESENT and word.islower():
            return None  # "Critics say the plan ...": whose words, not a fact to ask about
        if headline and _headline_verb(word, words[i - 1]):
            return i  # "Data breach at X exposes ...": headlines are all present tense
        if bare.endswith("ed") and word.islower() and _lemma(bare):
            before = words[i - 1].lower()
            if before in DETERMINERS or before in PARTICLES or before.endswith(("'s", "’s")):
                continue  # "the leaked plan", "Ukraine's armed forces": an adjective
            return i
    return None


def _headline_verb(word: str, before: str) -> bool:
    """ "exposes" in "Data breach exposes 312 customers"; not "athletics" after a number."""
    bare = word.lower()
    if not (word.islower() and bare.endswith("s") and len(bare) > 3 and bare not in STOPWORDS):
        return False
    if _is_number(before) or before.lower() in DETERMINERS | PARTICLES:
        return False
    return _present_lemma(bare) in _lemmas()


def _subject(words: list[str], names: frozenset[str] = frozenset()) -> str | None:
    """The noun phrase before the verb, as it reads mid-question, or None."""
    while words and (words[-1].lower() in SKIPPED_ADVERBS or words[-1].lower().endswith("ly")):
        words = words[:-1]  # "The draft also proposes", "X reportedly spent"
    if not 2 <= len(words) <= 9 or words[-1].lower() in PARTICLES | DETERMINERS:
        return None
    first = words[0].strip(_QUOTES).lower()
    if first in OPENERS or first.endswith(("ly", "ing")):
        return None  # "Cutting to 600,000 might ...": a clause, not a thing
    bare = [w.strip(_QUOTES + ".").lower() for w in words]
    if any(w in CLAUSE_WORDS or w in AUXILIARIES or w in NEGATIONS for w in bare):
        return None
    if any(w in CHAIN for w in bare):
        return None  # "Several points refer to Russia being ...": a verb inside
    if any(w == "to" and _base_verb(n) for w, n in pairwise(bare)):
        return None  # "Latvia to host ...": a plan, not a thing
    for word, following in zip(words, [*bare[1:], ""], strict=True):
        verb_like = word.islower() and word.endswith("s") and word[:-1] in _lemmas()
        if verb_like and following in (PARTICLES | PREPOSITIONS) - {"of"}:
            return None  # "The exhibition runs until April and ...": a verb inside
    if not any(w not in STOPWORDS and w not in DETERMINERS for w in bare):
        return None
    if " ".join(bare) in _ANAPHORIC:
        return None  # "The rest would flow into ...": the rest of what was said before
    if any(w[:1] in "$€£¥" for w in bare):
        return None  # "Some €200bn in frozen assets": a sum, not a thing to ask about
    return _noun_phrase(" ".join(words), names)


def _noun_phrase(text: str, names: frozenset[str] = frozenset()) -> str | None:
    """A phrase as it reads inside a question: quotation marks dropped, an opening word
    in lower case unless it is a name ("the size of ...", "de facto recognition"), and
    "the" before a bare "leaked plan"."""
    words = [_unquoted(w) for w in text.split()]
    words = [w for w in words if w]
    if len(words) < 2:
        return None  # never a lone word: "Five", "Green", "Kremlin"
    opening = words[0]
    pair = " ".join(_possessive_free(w.strip(",;:.")) for w in words[:2])
    joined = pair in names  # "New Zealand's health ministry", a name of two words
    if opening.lower() in DETERMINERS or (
        not joined
        and opening[:1].isupper()
        and not opening.isupper()
        and _possessive_free(opening.strip(",;:.")) not in names
    ):
        words[0] = opening.lower()
    if words[0] in _COMMON_OPENING:
        words = ["the", *words]  # "Leaked plan" -> "the leaked plan"
    return " ".join(words)


def _possessive_free(word: str) -> str:
    return re.sub(r"['’]s$", "", word)


_ANAPHORIC = frozenset(
    "the rest;the others;the latter;the former;the same;the remainder;the second;the first".split(
        ";"
    )
)
_COMMON_OPENING = frozenset(
    "leaked draft new proposed planned latest secret revised final former proposed".split()
)


def _unquoted(word: str) -> str:
    if word.endswith(("s'", "s’")) and word[:1] not in _QUOTES:
        return word  # "doctors'": a possessive, not a closing quote
    stripped = word.strip(_QUOTES)
    if word.endswith(("’s", "'s")) and not stripped.endswith("s"):
        stripped += word[-2:]
    return stripped


def _phrase(
    subject: str,
    words: list[str],
    verb: int,
    sentence: str,
    names: frozenset[str],
    headline: bool = False,
) -> Asked | None:
    head = words[verb].lower()
    said = words[verb + 1 :]  # with its punctuation, for a reported clause
    rest: list[str] = []
    for word in said:  # the clause ends at its first comma: "be frozen, with ..."
        rest.append(word.strip(",;:"))
        if word[-1:] in ",;:":
            break
    if head in AUXILIARIES:
        return _with_auxiliary(subject, head, rest, sentence)
    if head in PRESENT_VERBS or (headline and head.endswith("s") and head not in IRREGULAR):
        lemma = _present_lemma(head)
        did = "did" if headline else "does"
        return _simple_tense(subject, lemma, did, rest, sentence, said, names)
    lemma = IRREGULAR.get(head) or _lemma(head)
    if lemma is None:
        return None
    return _simple_tense(subject, lemma, "did", rest, sentence, said, names)


def _with_auxiliary(subject: str, aux: str, rest: list[str], sentence: str) -> Asked | None:
    """ "X will be limited to N" -> "What will X be limited to?"; "X has 12 stops" ->
    "How many stops does X have?"; "X was updated on Friday" -> "When was X updated?"."""
    rest = [w for w in rest if w.lower() not in SKIPPED_ADVERBS and not _adverb(w)]
    if not rest or rest[0].lower() in NEGATIONS:
        return None
    if aux in ("is", "are") and rest[0].lower() in ("a", "an", "the") and _short(subject):
        return _asked(f"What {aux} {subject}?", subject, sentence)  # "Article 5 is the ..."
    if aux in HAVE and _is_number(rest[0]):  # "has twelve stops": "have" is the verb
        did = {"has": "does", "have": "do", "had": "did"}[aux]
        return _counted(subject, did, "have", rest, sentence)
    first = rest[0].lower()
    if aux in BE and not _participle(first):
        return None  # "X is unlikely to ...": a copula, not a verb group
    if aux in HAVE and not _participle(first):
        return None
    if not first.isalpha() or not rest[0].islower():
        return None
    chain, after = _verb_chain(rest)
    if not after or any(w in NEGATIONS for w in chain) or chain[-1] in CHAIN:
        return None  # "would be "confirmed"": nothing to ask what about
    passive = aux in BE or any(w in ("be", "been", "being") for w in chain)
    if passive and chain[-1] not in PARTICLES:
        return None  # "was estimated last January": what was estimated is the subject
    asked = _asking(chain, after)
    if asked is None:
        return None
    wh, verb = asked
    return _asked(f"{wh} {aux} {subject} {' '.join(verb)}?", subject, sentence)


def _simple_tense(
    subject: str,
    lemma: str,
    did: str,
    rest: list[str],
    sentence: str,
    said: list[str],
    names: frozenset[str],
) -> Asked | None:
    """ "The city opened a tram line" -> "What did the city open?"; "X met Y" -> "Who did
    X meet?"; "X cost 40 million euros" -> "How much did X cost?"."""
    if not rest or rest[0].lower() in NEGATIONS:
        return None
    if rest[0].lower() in AUXILIARIES or _participle(rest[0].lower()):
        return None  # "The headline claims are stark": a noun after all
    if did == "does" and _plural(subject):
        return None  # "armed forces says" cannot be: a plural subject takes no "-s" verb
    if lemma in REPORTING or lemma in CLAUSE_VERBS:
        topic = _clause_topic(said, names)
        about = f" about {topic}" if topic else ""  # else "What does the draft propose?"
        return _asked(f"What {did} {subject} {lemma}{about}?", subject, sentence)
    verb = [lemma]
    if len(rest) > 1 and rest[0].lower() == "to" and _base_verb(rest[1]):
        verb += ["to", rest[1].lower()]  # "appears to offer"
        rest = rest[2:]
    if _spans_time(rest):
        return _asked(f"How long {did} {subject} {' '.join(verb)}?", subject, sentence)
    if rest[0].lower() == "of":
        return None  # "Sanctions on 12 companies accused of ...": a participle, not the verb
    particles = 0
    while particles < min(2, len(rest) - 1) and rest[particles].lower() in PARTICLES:
        particles += 1
    asked = _asking([*verb, *(w.lower() for w in rest[:particles])], rest[particles:], lemma)
    if asked is None:
        return None
    wh, words = asked
    return _asked(f"{wh} {did} {subject} {' '.join(words)}?", subject, sentence)


def _asking(verb: list[str], after: list[str], lemma: str = "") -> tuple[str, list[str]] | None:
    """The question word for what follows the verb, and the verb as the question keeps
    it: "on Friday" asks "When", "in Bulgaria" "Where", "by the union" "Who", a sum
    "How much", "35 artefacts" "How many artefacts"; anything else "What"."""
    if not after:
        return None
    head = after[0].strip(_QUOTES).lower()
    if head in PREPOSITIONS or head in ("when", "if", "whether", "where", "than", "while"):
        return None  # "The announcement came after 11 weeks": no "what" to ask
    if head in _MANNER or _adverb(head):
        return None  # "will go down well in Moscow": how, not what
    last = verb[-1]
    if last in PARTICLES:
        if _time_word(after[0]) and last in ("on", "in", "at", "during"):
            return "When", verb[:-1]
        if _is_number(after[0]) and last == "in":
            return None  # "came in £604m below forecasts"
        if last in ("in", "at") and after[0][:1].isupper() and head not in DETERMINERS:
            return "Where", verb[:-1]
        if last == "by" and (head in ("the", "a", "an") or after[0][:1].isupper()):
            return "Who", verb
        return "What", verb
    if _is_money(after):
        return "How much", verb
    counted = _counted_noun(after)
    if counted:
        return f"How many {counted}", verb
    if _is_number(after[0]):
        return None
    name = after[0][:1].isupper() and head not in DETERMINERS
    if lemma in PERSON_VERBS and name and len(verb) == 1:
        return "Who", verb
    return "What", verb


def _counted_noun(after: list[str]) -> str | None:
    """ "35 artefacts to Bangladesh" -> "artefacts"; None unless a count of things."""
    if not after or not _is_number(after[0]) or after[0].endswith("%"):
        return None
    words = after[1:]
    while words and words[0].lower() in _SCALE:
        words = words[1:]
    if not words or not words[0].isalpha() or not words[0].islower():
        return None
    noun = words[0].lower()
    if not noun.endswith("s") and noun not in ("people", "personnel", "staff", "police"):
        return None
    if noun in TIME_UNITS:
        return None
    following = words[1].lower().strip(",.;:") if len(words) > 1 else ""
    if following and following not in PARTICLES | PREPOSITIONS | {"and", "who", "which"}:
        return None  # "15 points clear at the top": not a count of what was done
    return noun


def _time_word(word: str) -> bool:
    bare = word.strip(_QUOTES + ",.;:").lower()
    return bare in _TIME_WORDS or bool(re.fullmatch(r"(?:1[89]|20)\d\d", bare))


_TIME_WORDS = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday january february march
    april may june july august september october november december yesterday today
    tomorrow""".split()
)


def _clause_topic(rest: list[str], names: frozenset[str]) -> str | None:
    """What a reported clause is about: its own subject ("proposes that $100bn of frozen
    Russian assets should ..." -> "frozen Russian assets"), two words at least."""
    words = list(rest)
    if words and words[0].lower() == "that":
        words = words[1:]
    end = next(
        (
            i
            for i, w in enumerate(words[:10])
            if w.lower() in AUXILIARIES
            or w.lower() in PRESENT_VERBS
            or w.lower() in SKIPPED_ADVERBS
            or (i and w.lower().endswith("ly"))
            or (w.lower() in IRREGULAR and w.lower() not in PARTICIPLE_ONLY)
            or (i > 1 and w.islower() and w.endswith("ed") and _lemma(w) is not None)
        ),
        None,
    )
    if not end:
        return None
    phrase = words[:end]
    if _is_number(phrase[0]):  # "$100bn of frozen Russian assets", "328,340 ballots"
        phrase = phrase[2:] if len(phrase) > 2 and phrase[1].lower() == "of" else []
    if not phrase:
        return None
    bare = [w.strip(_QUOTES).lower() for w in phrase]
    if bare and bare[0] in OPENERS - DETERMINERS:
        return None
    if any(w in CLAUSE_WORDS or w in CHAIN or w in NEGATIONS for w in bare):
        return None
    if not any(w not in STOPWORDS and w not in DETERMINERS for w in bare):
        return None
    text = " ".join(w.strip(_QUOTES) for w in phrase).strip(" ,;:")
    return _noun_phrase(text, names)


_MANNER = frozenset("well badly fast hard slowly quickly further".split())


def _adverb(word: str) -> bool:
    bare = word.lower()
    return bare.endswith("ly") and bare.isalpha() and len(bare) > 4 and bare not in ("supply",)


def _short(subject: str) -> bool:
    """A thing to define: a name or a short phrase, not "the rest of those assets"."""
    words = subject.split()
    return len(words) <= 4 and " of " not in f" {subject} "


def _plural(subject: str) -> bool:
    last = subject.split()[-1].lower()
    return last.endswith("s") and not last.endswith(("ss", "us", "is", "’s", "'s"))


def _spans_time(rest: list[str]) -> bool:
    """ "up to three days", "for two weeks": a duration follows the verb."""
    words = [w.lower() for w in rest[:5]]
    for i, word in enumerate(words):
        if _is_number(word) and i + 1 < len(words) and words[i + 1] in TIME_UNITS:
            return all(w in PARTICLES or w in ("as", "long", "more", "than") for w in words[:i])
    return False


def _counted(subject: str, did: str, lemma: str, rest: list[str], sentence: str) -> Asked | None:
    """A count or a sum: "How many stops does X have?", "How much did X cost?"."""
    if _is_money(rest):
        return _asked(f"How much {did} {subject} {lemma}?", subject, sentence)
    noun = _counted_noun(rest)
    if noun is None:
        return None
    return _asked(f"How many {noun} {did} {subject} {lemma}?", subject, sentence)


def _verb_chain(rest: list[str]) -> tuple[list[str], list[str]]:
    """ "be limited to 600,000 personnel" -> (["be", "limited", "to"], ["600,000", ...])."""
    chain = [rest[0].lower()]
    i = 1
    while i < len(rest) and (rest[i].lower() in CHAIN or _participle(rest[i].lower())):
        chain.append(rest[i].lower())
        i += 1
    # "have to commit to": "to" and a verb carry the group on.
    while i + 1 < len(rest) and rest[i].lower() == "to" and _base_verb(rest[i + 1]):
        chain += ["to", rest[i + 1].lower()]
        i += 2
        while i < len(rest) and _participle(rest[i].lower()):  # "to have spent"
            chain.append(rest[i].lower())
            i += 1
    for _ in range(2):
        if i < len(rest) and rest[i].lower() in PARTICLES:
            chain.append(rest[i].lower())
            i += 1
    return chain, rest[i:]


def _asked(question: str, subject: str, sentence: str) -> Asked:
    question = " ".join(question.split())
    return Asked(question[:1].upper() + question[1:], subject, sentence)


# -- words ------------------------------------------------------------------------------


def _is_number(word: str) -> bool:
    bare = word.lower().strip(_QUOTES)
    return bool(_NUMBER.match(bare)) or bare in _NUMBER_WORDS


def _is_money(rest: list[str]) -> bool:
    if not rest:
        return False
    first = rest[0]
    if first[:1] in "$€£¥":
        return True
    words = [w.lower() for w in rest[:4]]
    return _is_number(first) and any(w in _CURRENCY_WORDS for w in words)


def _participle(word: str) -> bool:
    if word in PARTICIPLES:
        return True
    return word.endswith("ed") and word.isalpha() and _lemma(word) is not None


def _verb_like(word: str) -> bool:
    bare = word.lower()
    return bare in AUXILIARIES or bare in PRESENT_VERBS or bare in IRREGULAR


def _base_verb(word: str) -> bool:
    bare = word.lower()
    if bare in ("have", "be"):
        return True
    return bare.isalpha() and word.islower() and bare in _lemmas() and bare not in STOPWORDS


def _present_lemma(word: str) -> str:
    for suffix, base in (("ies", "y"), ("s", ""), ("es", "")):
        stem = word[: len(word) - len(suffix)] + base
        if word.endswith(suffix) and stem in _lemmas():
            return stem
    return word[:-1]


def _lemma(word: str) -> str | None:
    """The base form of a regular past tense: "opened" -> "open", "planned" -> "plan",
    "announced" -> "announce", "carried" -> "carry"; None when no such verb is known."""
    if word in IRREGULAR:
        return IRREGULAR[word]
    if not word.endswith("ed") or len(word) < 5:
        return None
    stem = word[:-2]
    candidates = [stem[:-1] + "y"] if word.endswith("ied") else []
    candidates += [stem + "e", stem]
    if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "ls":
        candidates.append(stem[:-1])
    known = _lemmas()
    return next((c for c in candidates if c in known), None)


@lru_cache(maxsize=1)
def _lemmas() -> frozenset[str]:
    """English base forms: the words of the WordNet thesaurus the engine already ships."""
    from assistant.thesaurus import PATH

    words: set[str] = set()
    try:
        with gzip.open(PATH, "rt", encoding="utf-8") as lines:
            for line in lines:
                if not line.startswith("#"):
                    word = line.split("\t", 1)[0]
                    if word.isalpha():
                        words.add(word)
    except OSError:
        pass
    return frozenset(words)
