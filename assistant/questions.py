"""Question understanding for the offline answerer: what a reader's message actually asks.

A message is cleaned of markup, greetings, thanks, sign-offs, the asker's name and polite
frames (the word lists are data: assistant/data/wrappers.yaml), split into its parts when
it asks two things, and each part gets the kind of answer it wants: a number, a person, a
place, a date, yes or no, a reason, a definition, or anything.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from assistant.lexicon import Token, default_lexicon, load_table
from assistant.text import STOPWORDS, proper_names, terms


class Wants(Enum):
    NUMBER = "number"
    PERSON = "person"
    PLACE = "place"
    NAME = "name"  # "Which institution...?", "What are the rockets called?": a name
    DATE = "date"
    YES_NO = "yes/no"
    REASON = "reason"
    DEFINITION = "definition"
    OVERVIEW = "overview"  # "What does the plan say about Nato?": all it says, not one fact
    SUMMARY = "summary"  # "What are the main points of the plan?": the articles' leads
    ANYTHING = "anything"


class Measure(Enum):
    """What a number question measures: it decides which numbers can answer it."""

    COUNT = "count"
    PERCENT = "percent"
    MONEY = "money"
    DURATION = "duration"


@dataclass(frozen=True)
class Part:
    """One thing the message asks; `context` is the part it leans on ("and what about X?")."""

    text: str
    wants: Wants
    context: str = ""
    measure: Measure = Measure.COUNT


@dataclass(frozen=True)
class ParsedQuestion:
    original: str
    text: str  # cleaned: what is scored
    parts: tuple[Part, ...]
    injection: bool = False  # it tries to change the rules rather than ask
    clock: bool = False  # it asks about the present moment ("what time is it in Kyiv?")

    @property
    def wants(self) -> Wants:
        return self.parts[0].wants

    @property
    def declined_plainly(self) -> bool:
        """Whether no article could answer it, whatever it names: a change of rules, or
        the time of day."""
        return self.injection or self.clock


_QUESTION_START = (
    "what|which|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|will|would|"
    "can|could|should|shall|has|have|had|may|might|must|if|whether|about|the|in|on|under|"
    "according|any|anything|tell|give|list|name|explain|describe|summari[sz]e|by when|until when"
)
_AUXILIARY = re.compile(
    r"^(?:is|are|was|were|do|does|did|will|would|can|could|should|shall|has|have|had|if|whether|"
    r"may|might|must|isn't|aren't|doesn't|don't|didn't|won't|wouldn't|can't|hasn't|"
    r"haven't)\b"
)
_ASKING_WORD = (  # a word that opens a question, and nothing else
    "what|which|who|whose|when|where|why|how|is|are|was|were|do|does|did|will|would|can|"
    "could|should|has|have"
)
_NAME = r"(?-i:[A-Z][a-z]+(?:\s[A-Z][a-z]+)?)"  # capitalised, even in a case-blind pattern
_PUNCT = r"\s*[,.!:;\u2014\u2013-]+\s*"
_MARKUP = re.compile(r"<[^>]{1,200}>|\*\*|__|`+|~~|^\s*(?:#{1,6}|>|[-*+]|\d+[.)])\s+", re.M)
_EMPHASIS = re.compile(r"(?<![\w*])[*_]([^*_\n]+)[*_](?![\w*])")
_REPEATED = re.compile(r"([?!.])[?!.]+")

_HOW = "many|much|big|large|small|long|soon|far|old|often|high|low"
_WHAT_MEASURE = (
    "number|percentage|percent|share|proportion|amount|size|sum|figure|total|cap|limit|"
    "ceiling|age|slice|cut|portion|fraction"
)
# "what's the size of the army?", "what would the cap be?": the measure word is the frame
_WHAT_IS_THE_MEASURE = re.compile(
    r"\bwhat(?:'s|\s+is|\s+was|\s+are|\s+were|\s+would\s+be|\s+will\s+be)\s+the\s+"
    r"(?:(?:current|actual|new|total|overall|exact|estimated|likely|proposed)\s+)?"
    rf"(?P<measure>{_WHAT_MEASURE})\b",
    re.I,
)
_NUMBER = re.compile(
    rf"\bhow (?:{_HOW})\b|\bwhat (?:{_WHAT_MEASURE})\b|{_WHAT_IS_THE_MEASURE.pattern}"
)
# The words that name a number's kind ("what slice of the profits"): the question's frame.
MEASURE_WORDS = frozenset((_HOW + "|" + _WHAT_MEASURE).split("|"))
# "Is that more or less than now?", "How does that compare?": a comparison of figures
_COMPARISON = re.compile(
    r"\b(?:more or (?:less|fewer)|(?:less|fewer) or more|bigger or smaller|smaller or bigger|"
    r"larger or smaller|smaller or larger|higher or lower|lower or higher|up or down)\b|"
    r"\bhow (?:does|do|did|would) (?:that|this|it|they|those|these) compare\b"
)
# A yes/no question against a stated figure: "more than half a million soldiers?", "over
# 500,000?". The figure is what a sentence's own number is compared with, not a topic word.
_FIGURE_WORD = (
    r"half|quarter|third|one (?:hundred|thousand|million|billion)|two|three|four|five|six|"
    r"seven|eight|nine|ten|twenty|thirty|forty|fifty|hundred|thousand|million|billion|trillion|"
    r"dozens?"
)
_STATED_FIGURE = re.compile(
    r"\b(?:(?:more|less|fewer|greater|higher|lower|bigger|smaller|larger) than|over|under|"
    r"above|below|at least|at most|up to|beyond|exceed(?:s|ing)?|"
    # a guess to be checked: "the plan has something like two dozen points?"
    r"something like|roughly|approximately|around|about|nearly|almost)\s+"
    rf"(?P<figure>(?:(?:a|an|about|around|roughly|of|and)\s+)*(?:\d[\d,.]*\w*|(?:{_FIGURE_WORD})\b)"
    rf"(?:\s*(?:(?:a|an|of|and)\s+)*(?:\d[\d,.]*\w*|(?:{_FIGURE_WORD})\b))*)",
    re.I,
)


# A yes/no question about a stated span of time: "was he there for like a whole week?" is
# settled by the span the articles give ("up to three days").
_STATED_SPAN = re.compile(
    r"\bfor\s+(?:(?:like|about|around|nearly|almost|roughly|over|at\s+least|more\s+than|"
    r"less\s+than)\s+)?(?P<figure>(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|"
    r"\d+)\s+(?:(?:whole|full|entire|couple\s+of)\s+)?(?:hour|day|week|month|year)s?)\b",
    re.I,
)


def states_a_span(question: str) -> bool:
    """Whether a yes/no question asks about a span of time it states ("for a whole week?")."""
    asked = " ".join(question.lower().split())
    return bool(_AUXILIARY.match(asked) and _STATED_SPAN.search(asked))


def without_stated_figure(question: str) -> str:
    """The question without the figure it compares against: "Can Ukraine keep more than half
    a million soldiers?" asks about soldiers, whatever the figure; "for a whole week" too."""
    found = _STATED_FIGURE.search(question)
    if found is None and states_a_span(question):
        found = _STATED_SPAN.search(question)
    return _without_group(question, found, "figure")


_HOW_MEASURE = re.compile(rf"\bhow\s+(?:{_HOW})\b", re.I)


def without_measure_frame(question: str) -> str:
    """The question without the word that asks for a number and names no topic: the
    adjective of "how large/long/far..." ("How large could the army be?" is not about
    "largely") and the noun of "what's the size/number/share of..." ("size")."""
    found = _WHAT_IS_THE_MEASURE.search(question)
    if found is not None and found.group("measure").lower() in _LIMITS:
        found = None  # "what is the ceiling on troops?": a limit, not how many there are
    return " ".join(_HOW_MEASURE.sub("how", _without_group(question, found, "measure")).split())


# Measures that say which figure is asked: a limit set on something, not its size
_LIMITS = frozenset({"cap", "limit", "ceiling"})


def _without_group(question: str, found: re.Match[str] | None, group: str) -> str:
    """The question without what a match's group holds, its spaces collapsed."""
    if found is None:
        return question
    return " ".join((question[: found.start(group)] + question[found.end(group) :]).split())


_DATE_FRAME = re.compile(
    r"\b(?:what|which)\s+(?:date|year|day|month|weekday|time)s?\b|"
    # "what's the actual date?", "what is the exact day": asks when, as "what date" does
    r"\bwhat(?:'s|\u2019s|\s+is|\s+was|\s+will\s+be|\s+would\s+be)\s+the\s+"
    r"(?:(?:actual|exact|precise|likely|new|final|target)\s+)?(?:date|day|year|month)\b",
    re.I,
)


def without_date_frame(question: str) -> str:
    """The question without the noun that asks for a time: "What year will the elections be
    held?" asks when the elections are held, and "six years later" does not say "year" of
    them."""
    return " ".join(_DATE_FRAME.sub("when", question).split())


def without_comparison_frame(question: str) -> str:
    """The question without the words that only ask for a comparison: "Is that more or less
    than they've got now?" compares figures; "more or less than" names no topic."""
    found = _COMPARISON.search(question.lower())
    if found is None:
        return question
    rest = question[found.end() :]
    rest = re.sub(r"^\s*(?:than|with|to)\b", "", rest, flags=re.I)
    return " ".join((question[: found.start()] + rest).split())


# "when" asks a time where it opens a question, follows a preposition ("by when") or opens
# an embedded question ("do we know when..."), not where it opens a clause ("tips for
# spotting weasel words when I read the text", "what happens when the war ends").
_DATE = re.compile(
    r"(?:^|[.?!:;]\s+|\b(?:and|so|but)\s+)when\b|\b(?:since|until|till|by|from) when\b|"
    r"\b(?:know|knows|known|idea|say|says|said|tell|told|sure|clear|ask|asked|decide|decided|"
    r"specify|specifies|mention|mentions|wonder|wondering|expected|explain|explains) when\b|"
    r"\bwhat (?:date|year|day|month|time)\b|\bwhich (?:day|year|month)\b|"
    # "what's the actual date of the vote?", "which date is set for it?"
    r"^(?:what|which)(?:'s|\s+is|\s+was|\s+will\s+be|\s+would\s+be)?\s+(?:the\s+)?"
    r"(?:\w+\s+)?dates?\b|"
    # "is there an end date on it?", "is there a deadline?": asks for a time, or its absence
    r"^(?:is|are|was|were|will|would)\s+there\s+(?:(?:a|an|any)\s+)?(?:\w+\s+)?"
    r"(?:dates?|deadlines?|timetables?|timelines?|time limits?)\b|"
    # "what is the timeframe for the pullout?": a time is the answer (not of "what's the
    # timeline for sanctions relief?", which "in stages" answers, nor always of a deadline,
    # which a condition may set)
    r"^(?:what|which)(?:'s|s|\s+is|\s+was|\s+are|\s+were|\s+will\s+be|\s+would\s+be)\s+"
    r"(?:the\s+)?(?:\w+\s+)?(?:time\s?frames?|time limits?)\b"
)
# "which (us) president", "which two european countries": up to two words may describe the
# category before its noun.
_DESCRIBED = (
    r"(?:(?!(?:is|are|was|were|be|would|will|could|can|should|shall|do|does|did|has|have|had|"
    r"might|may|must)\b)[\w'-]+\s+){0,2}?"
)
_PERSON = re.compile(
    r"(?:^|[,;:]\s*)(?:and |so |but )?(?:who|whom|whose)\b|"
    rf"\bwhich {_DESCRIBED}(?P<category>person|people|officials?|ministers?|envoys?|leaders?|"
    r"presidents?|politicians?|diplomats?|negotiators?|commentators?|critics?|analysts?|"
    r"experts?|spokes(?:man|woman|person)|ambassadors?|lawmakers?)\b"
)
_PLACE = re.compile(
    r"^(?:and |so |but )?where\b|"
    # "what towns...?" as "which towns...?" (not "what state is it in?", "what areas of...")
    rf"\b(?:which|in what|what(?= {_DESCRIBED}(?:countr|cit|region|town|village|province|"
    rf"oblast))) {_DESCRIBED}(?P<category>country|countries|city|cities|regions?|"
    r"towns?|villages?|provinces?|oblasts?|territory|territories|places?|areas?|states?)\b"
)
_BODIES = "|".join(re.escape(str(w)) for w in load_table("people")["bodies"])
_ROLE_WORDS = "|".join(re.escape(str(w)) for w in load_table("people")["roles"])
# "what's the name of the spokesperson who...?" asks who, as "who is the spokesperson?" does
_NAME_OF_ROLE = re.compile(
    r"\bwhat(?:'s|\u2019s|\s+is|\s+was|\s+are|\s+were) the names? of "
    r"(?:the |a |an |their |its |that |this )(?:[\w'-]+\s+){0,3}?"
    rf"(?P<category>{_ROLE_WORDS})\b"
)
_NAME_ASKED = re.compile(
    rf"\b(?:which|what) (?:{_BODIES})\b|"
    r"^(?:and |so |but )?what(?:'s|\s+is|\s+are|\s+was|\s+were)\b.*\b(?:called|named)\W*$|"
    r"\bwhat(?:'s|\s+is|\s+are|\s+were|\s+was) the names? (?:of|for)\b"
)
# The words that only ask for a name ("what are the rockets called?"): the question's frame.
_NAMING_FRAME = re.compile(r"\s+(?:called|named)(?=\W*$)|\bthe names? (?:of|for)\s+", re.I)


def without_naming_frame(question: str) -> str:
    """The question without the words that ask for a name: "What are Ukraine's long-range
    rockets called?" asks about the rockets, and a sentence that says "called" of something
    else ("Hayovyshyn has called any constraint...") does not answer it for that word."""
    if not _NAME_ASKED.search(" ".join(question.lower().split())):
        return question
    return " ".join(_NAMING_FRAME.sub("", question).split())


_REASON = re.compile(r"^(?:and |so |but )?why\b|\bhow come\b|\bwhat (?:is|was) the reason\b")
_DEFINITION = re.compile(
    r"^(?:and |so )?(?:what|who) (?:is|are|was|were) (?:a |an |the )?[\w' -]+\??$|"
    r"\bwhat does [\w' -]+ mean\b|\bwhat is meant by\b"
)
_OVERVIEW = re.compile(
    # a document or a named speaker says it; "what did she say about ..." asks for a quote
    r"\bwhat (?:do|does|did|will|would) (?!(?:he|she|they|we|you|i|it)\b)"
    r"(?:the |this |that |these |those )?[\w' -]{0,40}?"
    r"\b(?:say|said|says|propose|proposes|suggest|suggests|offer|offers|cover|covers|"
    r"mention|mentions|report|reports) (?:about|on|regarding|concerning|for)\b|"
    r"\btell me (?:more |everything |all )?(?:about|on|regarding)\b|"
    r"\bwhat(?:'s| is) (?:in|there in) (?:it|this|that|the [\w' -]{1,40}?) (?:about|on|for|"
    r"regarding)\b|^(?:anything|something) (?:about|on|regarding)\b|^about\b"
)
# A request for the gist of something: answered with the leads of the articles about it.
_SUMMARY_FRAME = (
    r"\b(?:summari[sz]e|summari[sz]ing|sum up|recap|give me (?:a |the )?(?:quick |short |brief )?"
    r"(?:summary|rundown|overview|recap)(?: of)?|(?:a |the )?(?:quick |short |brief )?"
    r"(?:summary|rundown|overview|recap) of|(?:the )?(?:main|key|big|basic) (?:points|takeaways|"
    r"facts|ideas) (?:of|in)|(?:the )?gist of|in a nutshell|tl;?dr|in short)\b"
)
_SUMMARY = re.compile(_SUMMARY_FRAME)
_SUMMARY_WORDS = re.compile(_SUMMARY_FRAME + r"[:,]?", re.I)


def without_summary_frame(question: str) -> str:
    """The question without the words that ask for a summary: "What are the main points of
    the plan?" is about the plan."""
    return " ".join(_SUMMARY_WORDS.sub(" ", question).split())


_SECOND_PART = re.compile(
    r"(?:[,;]\s*|\s+)(?:and|also|plus|but)\s+(?:also\s+)?(?=(?:what|which|who|when|where|why|how|"
    r"is|are|does|do|did|will|would|can|could)\b)",
    re.I,
)


def parse_question(message: str) -> ParsedQuestion:
    """The message cleaned, split into parts, each with the kind of answer it wants."""
    text = clean_question(message)
    parts = tuple(_part(piece, context) for piece, context in _split_parts(text))
    return ParsedQuestion(
        message,
        text,
        parts or (_part(text, ""),),
        injection=is_injection(message),
        clock=asks_the_clock(text),
    )


def asks_the_clock(question: str) -> bool:
    """Whether a question asks the time or date of the present moment ("what time is it in
    Kyiv right now?", data/time_words.yaml), which no article answers."""
    return bool(_clock().search(" ".join(question.lower().replace("’", "'").split())))


@lru_cache(maxsize=1)
def _clock() -> re.Pattern[str]:
    phrases = [str(p).lower() for p in load_table("time_words")["clock_questions"]]
    forms = [re.escape(p).replace("'", "'?") for p in phrases]
    # "what is the time frame for...?" asks of the articles: "time" there opens a noun
    return re.compile(
        r"\b(?:" + "|".join(forms) + r")\b(?!\s+(?:frames?|limits?|scales?|spans?|periods?)\b)"
    )


def is_injection(message: str) -> bool:
    """Whether a message tries to change the assistant's rules ("ignore your instructions")."""
    return bool(_injection().search(" ".join(message.split())))


@lru_cache(maxsize=1)
def _injection() -> re.Pattern[str]:
    phrases = []
    for phrase in load_table("injections")["phrases"]:
        words = [re.escape(w) for w in str(phrase).split()]
        body = r"\s+".join(r"(?:\S+\s+){0,3}?" if w == r"\*" else w for w in words)
        body = body.replace(r"\s+(?:\S+\s+){0,3}?\s+", r"\s+(?:\S+\s+){0,3}?")
        phrases.append(body)
    return re.compile(r"(?<![\w])(?:" + "|".join(phrases) + r")(?![\w])", re.I)


def clean_question(message: str) -> str:
    """The question without markup, greetings, thanks, sign-offs, names or polite frames."""
    text = _standard_spelling(_without_markup(_asking_lines(message)))
    before = None
    while text != before:
        before = text
        text = _strip_leading(text)
        text = _strip_trailing(text)
    text = _without_fillers(_without_source_frame(text))
    text = _capitals_named(_topic_framed(_keep_questions(text)))
    return text if any(ch.isalnum() for ch in text) else " ".join(message.split())


def _without_source_frame(text: str) -> str:
    """The question without where the asker wants it answered from ("..., the way the
    explainer puts it?", "According to the article, ..."; wrappers.yaml: sources) or "-wise"
    ("civics-wise": about civics)."""
    leading, trailing = _source_frames()
    stripped = _WISE.sub("", trailing.sub("", text, count=1))
    led = leading.sub("", stripped, count=1)
    if led != stripped:
        stripped = _capitalised(led)
    return stripped if any(ch.isalnum() for ch in stripped) else text


_WISE = re.compile(r"(?<=[a-z])-wise\b", re.I)


@lru_cache(maxsize=1)
def _source_frames() -> tuple[re.Pattern[str], re.Pattern[str]]:
    sources = _alternatives(load_table("wrappers")["sources"])
    source = rf"(?:the|this|that|your)\s+(?:[\w-]+\s+)?(?:{sources})"
    leading = re.compile(
        rf"^(?:according to|per|in)\s+{source}(?:'s|’s)?(?:\s+words)?\s*[,:]\s*", re.I
    )
    trailing = re.compile(
        rf"[\s,;\u2014\u2013-]+(?:according to|per|the way|as|how|in the words of)\s+{source}"
        r"(?:\s+(?:puts|put|says|said|describes|explains|words|has|tells|frames)(?:\s+it)?)?"
        r"(?=\s*[?.!]*$)",
        re.I,
    )
    return leading, trailing


def _capitals_named(text: str) -> str:
    """ "the Russian capital", "Ukraine's capital city" as the articles name it: "Moscow",
    "Kyiv" (aliases.yaml: capitals)."""
    pattern, capitals = _capital_phrases()
    return pattern.sub(lambda m: capitals[m.group("country").lower()], text)


@lru_cache(maxsize=1)
def _capital_phrases() -> tuple[re.Pattern[str], dict[str, str]]:
    table = load_table("aliases")
    capitals: dict[str, str] = {}
    for group, city in table.get("capitals", {}).items():
        for member in table["groups"].get(group, []):
            # not the abbreviations ("US", "UK"): "tell us capital gains" is no country
            if member.lower() != str(city).lower() and not member.replace(".", "").isupper():
                capitals[member.lower()] = str(city)
    names = "|".join(re.escape(m) for m in sorted(capitals, key=len, reverse=True))
    pattern = re.compile(
        rf"\b(?:the\s+)?(?P<country>{names})(?:'s|’s)?\s+capital(?:\s+city)?\b", re.I
    )
    return pattern, capitals


def answer_kind(question: str) -> Wants:
    """What kind of answer a (clean, single) question wants."""
    asked = " ".join(question.lower().split())
    checks = (
        (_REASON, Wants.REASON),
        (_NUMBER, Wants.NUMBER),
        (_COMPARISON, Wants.NUMBER),
        (_STATED_FIGURE, Wants.NUMBER),
        (_DATE, Wants.DATE),
        (_PERSON, Wants.PERSON),
        (_NAME_OF_ROLE, Wants.PERSON),
        (_PLACE, Wants.PLACE),
        (_NAME_ASKED, Wants.NAME),
    )
    for pattern, kind in checks:
        if pattern.search(asked):
            return kind
    if states_a_span(asked):
        return Wants.NUMBER  # "was he there for a whole week?": the span settles it
    if _SUMMARY.search(asked):
        return Wants.SUMMARY
    if _OVERVIEW.search(asked):
        return Wants.OVERVIEW
    if _AUXILIARY.match(re.sub(r"^(?:and|so|but|also)\s+", "", asked)):
        return Wants.YES_NO
    if _DEFINITION.search(asked):
        return Wants.DEFINITION
    return Wants.ANYTHING


def leans_on_history(question: str) -> bool:
    """Whether a question needs the conversation to be understood.

    "And what about Kherson?", "Who would pay for it?", "How big is that?" lean on what
    was said before; "What limit does the draft set on Ukraine's army?" does not.
    """
    if _topic_switch().search(question):
        return False
    asked = " ".join(clean_question(question).lower().split())
    if _FOLLOW_UP_START.match(asked) or _BACK_REFERENCE.search(asked):
        return True
    content = [w for w in re.findall(r"[a-z0-9']+", asked) if w not in _FUNCTION_WORDS]
    # Nor one whose words only ask for a kind of answer ("what's the actual date?" asks
    # when, of the earlier topic).
    topic = without_date_frame(without_measure_frame(asked))
    own = [w for w in re.findall(r"[a-z0-9']+", topic) if w not in _FUNCTION_WORDS]
    return len(content) <= 1 or not own


# -- cleaning ------------------------------------------------------------------------


# The header lines of a forwarded or quoted e-mail ("---------- Forwarded message ---------",
# "From: Dad", "Subject: that ukraine plan"), and lines drawn with dashes or underscores.
_MAIL_HEADER = re.compile(
    r"^[ \t>]*(?:[-_=*]{3,}[ \t]*(?:(?:begin )?forwarded message|original message)?[ \t:]*"
    r"[-_=*]*|(?:from|to|cc|bcc|subject|date|sent|reply-to)[ \t]*:.*)[ \t]*$",
    re.I | re.M,
)


def _asking_lines(message: str) -> str:
    """Of a message laid out in lines (Markdown headings, list items, a code block), the
    lines that ask something: "### reading notes / - finished the explainer / - stuck on:
    which words ...?" asks the last line's question, not the notes before it. A message
    without such a layout is left whole (a question may wrap over lines)."""
    lines = [line for line in message.splitlines() if line.strip()]
    if len(lines) < 2 or not any(_BLOCK_LINE.match(line) for line in lines):
        return message
    asking = [line for line in lines if "?" in line]
    return "\n".join(asking) if asking else message


_BLOCK_LINE = re.compile(r"^\s*(?:#{1,6}\s|>|[-*+]\s|\d+[.)]\s|```|~~~)")


def _without_markup(text: str) -> str:
    text = _MAIL_HEADER.sub(" ", text)
    text = _MARKUP.sub(" ", text)
    text = _EMPHASIS.sub(r"\1", text)
    text = "".join(" " if _is_symbol(ch) else ch for ch in text)
    text = _REPEATED.sub(r"\1", text)
    return " ".join(text.split())


def _standard_spelling(text: str) -> str:
    """Informal spellings as the words they stand for: "whats" is "what is", "u" is "you"."""
    table = _informal()

    def standard(match: re.Match[str]) -> str:
        word = match.group(0)
        if len(word) == 1 and word.isupper():
            return word  # "U" in "U-turn" or a list item "R" is not "you" or "are"
        return table.get(word.lower(), word)

    def in_compound(match: re.Match[str]) -> str:
        word = match.group(0)  # "wont" in "a we-wont-attack-each-other pact"; not "u-turn"
        return table.get(word.lower(), word) if len(word) > 2 else word

    return _COMPOUND_PART.sub(in_compound, _INFORMAL_WORD.sub(standard, text))


# A whole word between spaces or the text's ends (a final . ? ! , ; or : allowed):
# "U.S." and "R&D" are not "u" and "r".
_INFORMAL_WORD = re.compile(r"(?<!\S)[\w'/]+(?=[.?!,;:]*(?:\s|$))")
# A word of a hyphenated compound that a reader coins ("the we-wont-attack-each-other pact")
_COMPOUND_PART = re.compile(r"(?:(?<=\w-)[a-z']+(?=-\w|[\s.?!,;:]|$)|(?<!\S)[a-z']+(?=-\w))", re.I)


@lru_cache(maxsize=1)
def _informal() -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in load_table("wrappers")["informal"].items()}


def _without_fillers(text: str) -> str:
    """ "Who actually wrote it?" asks who wrote it (wrappers.yaml: fillers)."""
    stripped = _fillers().sub("", text)
    stripped = re.sub(r"\s+([,?.!;:])", r"\1", " ".join(stripped.split()))
    stripped = re.sub(r"[,;:]+(?=[?.!]|$)", "", stripped)  # "the depot, by the way?"
    stripped = stripped.replace(",,", "")  # "is the levy, on balance, fair?"
    led = stripped.lstrip(",;: ")  # "On balance, is the levy fair?"
    if led != stripped or (led[:1].islower() and text[:1].isupper()):
        stripped = _capitalised(led)
    return stripped if any(ch.isalnum() for ch in stripped) else text


@lru_cache(maxsize=1)
def _fillers() -> re.Pattern[str]:
    return re.compile(
        rf"(?<![\w'])(?:{_alternatives(load_table('wrappers')['fillers'])})(?![\w'])"
        r"(?!\s+as\b)",  # "as well as" joins two things
        re.I,
    )


def _is_symbol(ch: str) -> bool:
    """Emoji and pictographs (not letters, digits, punctuation or currency)."""
    category = unicodedata.category(ch)
    return category in ("So", "Sk", "Cs", "Co") or ch in "\ufe0f\u200d"


def _strip_leading(text: str) -> str:
    for pattern in _leading_patterns():
        stripped = pattern.sub("", text, count=1)
        if stripped != text and stripped.strip():
            return _capitalised(stripped)
    return text


def _strip_trailing(text: str) -> str:
    for pattern in _trailing_patterns():
        stripped = pattern.sub("", text, count=1)
        if stripped != text and stripped.strip():
            return stripped.rstrip(" ,;:-\u2014\u2013")
    return text


def _keep_questions(text: str) -> str:
    """Of several sentences, keep those that ask something (all, if none clearly does)."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
    if len(sentences) < 2:
        return text
    asking = [s for s in sentences if s.endswith("?") or _starts_a_question(s)]
    asked = [s for s in asking if not _points_at_a_question(s)]  # "answer the question above"
    return " ".join(asked or asking) if asking else text


def _points_at_a_question(sentence: str) -> bool:
    lowered = sentence.lower()
    return any(str(p) in lowered for p in load_table("wrappers")["pointers"])


def _starts_a_question(sentence: str) -> bool:
    return bool(re.match(rf"(?:{_QUESTION_START})\b", sentence.strip().lower()))


def _capitalised(text: str) -> str:
    text = text.lstrip(" ,;:.!-\u2014\u2013")
    return text[:1].upper() + text[1:] if text else text


@lru_cache(maxsize=1)
def _leading_patterns() -> tuple[re.Pattern[str], ...]:
    table = load_table("wrappers")
    greeting = _alternatives(table["greetings"])
    addressee = _alternatives(table["greeting_addressees"])
    thanks = _alternatives(table["thanks"])
    intro = _alternatives(table["asker_intros"], name=True)
    label = _alternatives(table["labels"])
    frame = _alternatives(table["frames"] + table["topic_switches"])
    aside = _alternatives(table["asides"])
    brevity = _alternatives(table["brevity"])
    return (
        re.compile(
            rf"^(?:{greeting})(?:\s+(?:{addressee}|{_NAME}))?(?:\s+from\s+{_NAME})?"
            rf"(?:{_PUNCT}|\s+(?=(?:{_QUESTION_START}|{greeting}|{aside}|{brevity})(?!\w)))",
            re.I,
        ),
        re.compile(rf"^(?:{brevity})(?:{_PUNCT}|\s+)(?=(?:{_ASKING_WORD})\b)", re.I),
        re.compile(rf"^(?:{thanks})(?:\s+(?:{addressee}|{_NAME}))?{_PUNCT}", re.I),
        re.compile(r"^(?:<@[\w.-]+>|@[\w.-]+)[\s,:]*"),  # a chat mention: "@newsbot"
        re.compile(rf"^(?:{label})\s*:\s*", re.I),  # "q: what ...", "Re: ..."
        re.compile(rf"^(?:{intro}){_PUNCT}", re.I),
        re.compile(rf"^(?:{frame})(?:{_PUNCT}|\s+)", re.I),
        re.compile(rf"^(?:{aside})\s*[-:\u2014\u2013]+\s*", re.I),
        # the asker's own situation before a dash or colon ("Before we publish - ...",
        # "For my essay: ..."): a clause of theirs, with no question of its own
        re.compile(
            r"^(?![^-:\u2014\u2013?]*\?)(?:[\w',]+\s+){0,6}?(?:i|i'm|i've|we|we're|we've|my|our)"
            r"(?:\s+[\w',]+){0,6}?\s*(?:\s-+|[:\u2014\u2013])\s*"
            rf"(?=(?:{_QUESTION_START}|between|among|for|from|with)\b)",
            re.I,
        ),
    )


def _topic_framed(text: str) -> str:
    """ "What happens to Donetsk?" as "About Donetsk?": the frame's words ask for what the
    articles say about the topic, and are not themselves the topic."""
    return _topic_frame().sub("About ", text, count=1)


@lru_cache(maxsize=1)
def _topic_frame() -> re.Pattern[str]:
    frames = _alternatives(load_table("wrappers")["topic_frames"])
    return re.compile(rf"^(?:(?:and|so|but)\s+)?(?:{frames})\s+(?=\w)", re.I)


@lru_cache(maxsize=1)
def _topic_switch() -> re.Pattern[str]:
    switches = _alternatives(load_table("wrappers")["topic_switches"])
    return re.compile(rf"^\W*(?:(?:ok|okay|got it|thanks|right)\W+)*(?:{switches})\b", re.I)


@lru_cache(maxsize=1)
def _trailing_patterns() -> tuple[re.Pattern[str], ...]:
    table = load_table("wrappers")
    sign_off = _alternatives(table["sign_offs"])
    tag = _alternatives(table["question_tags"])
    return (
        # "..., yeah?", "..., right?": a statement asked to be confirmed
        re.compile(rf"[\s,]*,\s*(?:{tag})\s*(?=[?!.]*$)", re.I),
        re.compile(rf"(?<=[?.!,;])\s*(?:{sign_off})(?:[\s,]+{_NAME})?[\s.!]*$", re.I),
        re.compile(rf"[\s,]+(?:{sign_off})(?:[\s,]+{_NAME})?[\s.!]*$", re.I),
        re.compile(rf"(?<=[?.!])\s*(?:[-\u2014\u2013~]\s*)?{_NAME}[\s.!]*$"),
        re.compile(rf"\s+[-\u2014\u2013~]\s*{_NAME}[\s.!]*$"),
    )


def _alternatives(phrases: list[str], *, name: bool = False) -> str:
    ordered = sorted((str(p) for p in phrases), key=len, reverse=True)
    escaped = [re.escape(p).replace(r"\ ", r"\s+") for p in ordered]
    if name:
        escaped = [p.replace(re.escape("{name}"), _NAME) for p in escaped]
        escaped = [p.replace(re.escape("{role}"), _SELF_DESCRIPTION) for p in escaped]
    return "|".join(escaped)


_SELF_DESCRIPTION = r"(?:[\w'’-]+\s+){0,5}?[\w'’-]+"  # "a student at Leeds"


# -- parts -----------------------------------------------------------------------------


def _split_parts(text: str) -> list[tuple[str, str]]:
    """(part, context) pairs: "What happens to X, and what about Y?" asks two things."""
    pieces = [p for p in re.split(r"(?<=\?)\s+(?=\S)", text) if p.strip()]
    parts: list[str] = []
    for piece in pieces:
        parts += [p.strip(" ,;") for p in _SECOND_PART.split(piece) if p.strip(" ,;")]
    if len(parts) < 2:
        return [(text, "")]
    # A later part leans on the first: "..., and what about Kherson?", "..., and who wrote it?"
    return [(parts[0], "")] + [(part, parts[0]) for part in parts[1:]]


def _part(text: str, context: str) -> Part:
    kind = answer_kind(text)
    if kind is Wants.ANYTHING and context:
        kind = answer_kind(context)
    return Part(_as_question(text), kind, context, measure_asked(text))


def subject_verb(question: str) -> str | None:
    """The verb of a question that asks who does something ("Who would patrol the zone?":
    "patrol"), which an answering sentence must say; None for other questions, for "who
    is/did <subject> ..." and for verbs that say little on their own ("get", "have")."""
    verbs = load_table("verbs")
    between = "|".join(re.escape(str(w)) for w in verbs["between"])
    found = re.match(
        rf"^(?:(?:and|so|but)\s+)?who\s+(?:(?:{between})\s+)*([a-z]+)\b",
        " ".join(question.lower().split()),
    )
    if found is None:
        return None
    verb = found.group(1)
    if verb in STOPWORDS or verb in _LIGHT_VERBS or verb in _FUNCTION_WORDS:
        return None
    return verb


def asked_role(question: str) -> str | None:
    """The role a "who is the <role>?" question asks to have filled ("Who is the UK prime
    minister?": "minister"; "Who's the US negotiator?": "negotiator"), which an answering
    sentence must say: naming the UK does not name its prime minister. None for a name
    ("Who is Kirill Dmitriev?"), for other questions and for a word that names no role
    ("Who is the person behind it?")."""
    asked = " ".join(question.split()).rstrip("?!. ")
    named = _NAME_OF_ROLE.search(asked.lower())
    if named is not None:
        return named.group("category")  # "what's the name of the spokesperson?"
    found = _WHO_IS_THE.match(asked)
    if found is None:
        return None
    # the role ends where a phrase about it starts: "of...", "who...", "working on..."
    words = re.split(
        r"\s+(?:of|in|for|at|on|behind|with|to|who|that|which|from|[a-z]+ing|[a-z]+ed)\b",
        found.group(1),
    )
    head = words[0].split()[-1] if words[0].split() else ""
    if not head.islower() or head in STOPWORDS or head in _NO_ROLE:
        return None  # a name ("Who is Rubio?"), or no word for a role
    return head


_WHO_IS_THE = re.compile(
    r"^(?:(?:and|so|but)\s+)?who(?:'s|\u2019s|\s+is|\s+was|\s+are|\s+were|\s+will\s+be|"
    r"\s+would\s+be)\s+(?:the|a|an|their|its|his|her)\s+(.+)$",
    re.I,
)
_NO_ROLE = frozenset("person people one man woman guy someone body party side group".split())


_PERFECT_OR_PASSIVE = re.compile(r"^(?:has|have|had|is|are|was|were)\s+(.*)$")
# "how many soldiers have been killed since 2022?": what is counted was done, and the
# figure must be of that deed (not of the army's size)
_COUNTED_DEED = re.compile(
    r"^(?:(?:and|so|but)\s+)?how (?:many|much)\s+(?:[a-z'-]+\s+){1,4}?"
    r"(has|have|had|is|are|was|were)\s+(?:(?:been|being)\s+)?(.*)$"
)
_SUBJECT_WORDS = 4  # "has ukraine's parliament voted": the participle comes within 4 words


_WH_HEAD = re.compile(
    r"^(?:(?:and|so|but)\s+)?(?:what|which)\s+([a-z-]+)(?:\s+of\s+(?:the\s+)?([a-z-]+))?\s+"
    r"(?:is|are|was|were|would|will|could|can|should|does|do|did|has|have|had|might|must)\b"
)


def asked_head(question: str) -> str | None:
    """The noun of "what/which <noun> ... would/is ...?", which names the kind of thing
    asked ("What rate of return would it earn?": "rate"); after a vague head, the noun of its
    "of" ("what kind of guarantees": "guarantees"). None when the question has none."""
    asked = " ".join(question.lower().split())
    head = _WH_HEAD.match(asked)
    if head is None:
        return None
    vague = {str(w) for w in load_table("verbs")["vague_heads"]} | MEASURE_WORDS
    noun = head.group(2) if head.group(1) in vague else head.group(1)
    if not noun or noun in vague or noun in STOPWORDS or noun in _FUNCTION_WORDS:
        return None
    return noun


_CATEGORY = re.compile(
    r"\b(?:which|what)\s+(?:(?:kind|kinds|sort|sorts|type|types)\s+of\s+)?([a-z-]+)"
)
_INSTANCE_KINDS = frozenset({Wants.PERSON, Wants.PLACE, Wants.NAME, Wants.DATE})


def asked_category(question: str, wants: Wants) -> str | None:
    """The noun of "which/what <noun>" in a question that wants a person, place, name or
    date: the category whose instance answers it ("Firing at which cities would void the
    guarantee?": "cities", answered by "Moscow"; "What year...?": a date). None for other
    kinds: "how many cities" is answered by a number, not by a city."""
    if wants not in _INSTANCE_KINDS:
        return None
    asked = " ".join(question.lower().split())
    typed = {Wants.PERSON: _PERSON, Wants.PLACE: _PLACE}.get(wants)
    named = _typed_category(asked, (typed,) if typed is not None else ())
    if named is not None:
        return named.group("category")  # "which us president": "president"
    found = _CATEGORY.search(asked)
    if found is None:
        return None
    noun = found.group(1)
    if noun in STOPWORDS or noun in _FUNCTION_WORDS:
        return None
    return noun


def described_category(question: str) -> frozenset[str]:
    """The words of "which <described> <person or place>" ("which US president": us,
    president), whose instance answers the question: a name among them ("US") describes
    the answer (Trump), not a topic a passage must name."""
    named = _typed_category(" ".join(question.lower().split()), (_PERSON, _PLACE))
    return frozenset(named.group(0).split()[1:]) if named is not None else frozenset()


def _typed_category(asked: str, patterns: Sequence[re.Pattern[str]]) -> re.Match[str] | None:
    """The first "which <described> <category>" of the patterns (_PERSON, _PLACE) found."""
    for pattern in patterns:
        found = pattern.search(asked)
        if found is not None and found.group("category"):
            return found
    return None


def asked_focus(question: str) -> str | None:
    """The verb of a yes/no question about something done, which an answer must say (in its
    words or in other words): the participle of "has/was <subject> <participle>...?" ("Has
    parliament voted on the plan?": "voted"). None for other questions, and for a
    participle that only frames the verb after it ("Is Ukraine allowed to keep...?")."""
    asked = " ".join(question.lower().split()).rstrip("?!. ")
    counted = _COUNTED_DEED.match(asked)
    if counted is not None:  # "how many soldiers have been killed?": "killed"
        asked = f"{counted.group(1)} it {counted.group(2)}"
    done = _PERFECT_OR_PASSIVE.match(asked)
    if done is None:
        return None
    permission = {str(w) for w in load_table("verbs")["permission"]}
    following = done.group(1).split()
    for i, word in enumerate(following[1 : _SUBJECT_WORDS + 1], start=1):
        if following[i - 1] not in _DETERMINERS and _is_participle(word):
            framing = _frames_a_verb(following[i + 1 : i + 3])  # allowed/supposed to ...
            framing = framing or word in permission
            if framing or word in _LIGHT_VERBS or word in STOPWORDS:
                return None
            if following[i + 1 : i + 2] and following[i + 1] in _PARTICLES:
                return None  # "holed up", "tied up": the phrase, not the verb, says the deed
            return word
    return None


_PARTICLES = frozenset("up out off down over away back around".split())
_DETERMINERS = frozenset(
    "the a an this that these those its their his her any some all our my your".split()
)


def _frames_a_verb(after: list[str]) -> bool:
    """ "allowed to keep": the participle frames the verb after "to"; "agreed to the plan"
    does not. (After a determiner a word is a noun: "a cut of the profits".)"""
    return len(after) == 2 and after[0] == "to" and after[1] not in _DETERMINERS


def _is_participle(word: str) -> bool:
    return word in _PARTICIPLES or (len(word) > 4 and word.endswith("ed") and word != "indeed")


def asks_what_was_said(question: str) -> bool:
    """Whether a question asks what someone said ("What has Euroclear said about the plan?",
    "What did Rubio call it?"): its answer reports speech."""
    return _speaker_span(question) is not None


def asked_speaker(question: str) -> str | None:
    """Who a question asks to have said something ("How has the Kremlin reacted?": "the
    Kremlin", as written); None when it asks no one, or the plan, the articles or "it"
    (see asks_what_was_said), or asks how something was received ("How is the amnesty
    likely to be received in Kyiv?": the amnesty is what was received, not who spoke)."""
    span = _speaker_span(question)
    if span is None:
        return None
    written = " ".join(question.split())
    start, end = span
    if _PASSIVE_REACTION.match(written[:start].lower() + "x" + written[end:].lower()):
        return None
    return written[start:end]


_PASSIVE_REACTION = re.compile(
    r"^(?:(?:and|so|but)\s+)?how\s+(?:is|are|was|were|has been|have been|will be|would be)\s+"
    r"x\s+(?:\w+\s+){0,3}?(?:received|viewed|taken|greeted|seen)\b"
)


def _speaker_span(question: str) -> tuple[int, int] | None:
    """Where the speaker is in the (whitespace-normalised) question: it asks what was said
    by someone other than the plan, the articles or "it", which state things without verbs
    of speech ("What does the draft say about Nato?": "the draft would lock Ukraine out")."""
    asked = " ".join(question.lower().split())
    found = _WHAT_SAID.search(asked) or _REACTION.search(asked)
    if found is None:
        return None
    group = "speaker" if found.group("speaker") else "owner"
    named = set((found.group(group) or "").split()) - _FUNCTION_WORDS
    return (found.start(group), found.end(group)) if named - _DOCUMENT_WORDS else None


def without_reaction_frame(question: str) -> str:
    """The question without the word that asks for a reaction ("How did Russia react to the
    plan?" asks what Russia said of the plan): the answer must report speech, and need not
    say "react" or "response"."""
    found = _REACTION.search(" ".join(question.lower().split()))
    if found is None:
        return question
    return " ".join(_REACTION_WORD.sub("", question, count=1).split())


# The verbs of a reaction question, which are its frame, not its topic.
_REACTING = "react|reacted|reacting|respond|responded|responding|reply|replied|replying"
_REACTION_WORD = re.compile(rf"\b(?:{_REACTING}|reaction|response|verdict)\b", re.I)
# "How did Russia react?", "What was Kyiv's response?": what they said of it.
_REACTION = re.compile(
    r"^(?:(?:and|so|but)\s+)?(?:"
    r"how\s+(?:has|have|had|did|does|do|will|would|is|are|was|were)\s+(?P<speaker>.+?)\s+"
    rf"(?:{_REACTING}|take|taken|taking|took|view|viewed|receive|received|greet|greeted)\b"
    r"|what\s+(?:is|was|were|are|has been|have been)\s+(?:the\s+)?(?P<owner>.+?)(?:'s|s')\s+"
    r"(?:reaction|response|reply|verdict|view|stance|position|take)\b"
    r")"
)


_WHAT_SAID = re.compile(
    r"^(?:(?:and|so|but)\s+)?what\s+(?:has|have|had|did|does|do|would|will)\s+(?P<speaker>.+?)\s+"
    r"(?:(?:itself|themselves|himself|herself|actually|publicly|officially)\s+)?"
    r"(?:say|said|tell|told|call|called|think|reckon|believe|expect|predict|claim|claimed|"
    r"argue|argued|make of|warn|warned)\b"
)


SPEAKER_REACH = 12  # words a verb of speech may follow its speaker by ("The EU said")
_CLAUSE_END = frozenset(";:.!?") | {"but", "while", "whereas", "although", "though"}
_SAID_BEFORE = frozenset({"said", "says", "according", "told", "tells", "added"})


def spoken_by(sentence_tokens: Sequence[Token], is_speaker: Callable[[Token], bool]) -> bool:
    """Whether a sentence (as lexicon tokens) reports speech by the speaker: named in the
    clause before a verb of speech or a reaction ("The European Union said", "Russia's
    response", "the Russian foreign ministry said the same") or just after one ("said
    Putin", "according to Moscow"). "Commentators have pointed out that ... too vague for
    Kremlin tastes" is not the Kremlin speaking."""
    for j, token in enumerate(sentence_tokens):
        if not _speech_at(sentence_tokens, j):
            continue
        if _named_in_clause_before(sentence_tokens, j, is_speaker):
            return True
        after = sentence_tokens[j + 1 : j + 4]
        if token.raw in _SAID_BEFORE and any(is_speaker(t) for t in after):
            return True
    return False


def _speech_at(tokens: Sequence[Token], j: int) -> bool:
    """Whether a verb of speech starts at token j: a word ("said") or a phrase ("pointed
    out", "spoke up")."""
    return any(
        " ".join(t.raw for t in tokens[j : j + n]) in _SPEECH_WORDS
        for n in range(1, _LONGEST_SPEECH + 1)
    )


def _opens_a_clause(tokens: Sequence[Token], k: int) -> bool:
    """ "..., and" or "..., so" at k: a new clause with its own subject ("a path to both
    NATO and the EU, and Hayovyshyn has called ...": Hayovyshyn calls, not the EU)."""
    return tokens[k].raw in _COORDINATORS and k > 0 and tokens[k - 1].raw == ","


_COORDINATORS = frozenset({"and", "or", "so", "yet"})


def says_something(sentence: str) -> bool:
    """Whether a sentence reports speech: a verb of speech (verbs.yaml) or a quotation."""
    return reports_speech(sentence) or any(mark in sentence for mark in _QUOTES)


def reports_speech(sentence: str) -> bool:
    """Whether a sentence has a verb of speech (verbs.yaml): "Putin has said...")."""
    return bool(_SPEECH.search(sentence))


SPEECH_VERBS = frozenset(str(w) for w in load_table("verbs")["speech"])
_LIGHT_VERBS = frozenset(str(w) for w in load_table("verbs")["light"])
_PARTICIPLES = frozenset(str(w) for w in load_table("verbs")["participles"])
_PROSPECTIVE = frozenset(str(w) for w in load_table("verbs")["prospective"])
_VAGUE_DEEDS = frozenset(str(w) for w in load_table("verbs")["vague_deeds"])
_QUOTES = ('"', "“", "”")
_DOCUMENT_WORDS = frozenset(
    "it they this that plan draft proposal proposals document text deal article articles "
    "report reports story piece explainer leak framework blueprint agreement treaty".split()
)
_SPEECH = re.compile(r"\b(?:" + "|".join(map(re.escape, SPEECH_VERBS)) + r")\b", re.I)
_SPEECH_WORDS = SPEECH_VERBS | {
    "response",
    "responses",
    "responded",
    "responds",
    "reaction",
    "reactions",
    "reacted",
    "reacts",
    "reply",
    "replied",
    "verdict",
}
_LONGEST_SPEECH = max(len(w.split()) for w in _SPEECH_WORDS)


def measure_asked(question: str) -> Measure:
    asked = " ".join(question.lower().split())
    for pattern, measure in _MEASURES:
        if pattern.search(asked):
            return measure
    return Measure.COUNT


# The verbs that follow what a "how many" question counts ("how many points are...").
_AUXILIARIES = "are|is|was|were|do|does|did|would|could|will|can|has|have|had"


def counted_noun(question: str) -> str | None:
    """The thing a "how many" question counts ("How many points are in the plan?",
    "What's the number of points in the plan?": "points"; "how many Ukrainian soldiers
    could stay?": "soldiers")."""
    asked = " ".join(question.lower().split())
    found = re.search(
        rf"\b(?:how many|number of)\s+((?:[a-z'-]+\s+){{0,2}}?[a-z'-]+)"
        rf"(?=\s+(?:{_AUXILIARIES}|should|might|may|must|in|on|of|for|from|under|at|to|there|"
        r"it|they|we|you|he|she)\b|\W*$)",
        asked,
    )
    if found is None:
        return None
    said = found.group(1).split()
    return _counted_in(said, fallback=said[-1])


_PLURALS = frozenset("people personnel staff children men women police cattle".split())


def _counted_in(said: Sequence[str], *, fallback: str | None) -> str | None:
    """The noun a count counts among the words after it: the first plural ("people live"
    holds the noun "people", "key points" the noun "points" after its modifier), else
    `fallback`; None for a stop word."""
    plural = [w for w in said if w in _PLURALS or (w.endswith("s") and not w.endswith("ss"))]
    noun = plural[0] if plural else fallback
    return None if noun is None or noun in STOPWORDS or noun in _FUNCTION_WORDS else noun


def figure_noun(question: str) -> str | None:
    """The thing a figure stated in the question counts ("the plan has something like two
    dozen points, yeah?": "points"), which a sentence that settles it counts too."""
    found = _STATED_FIGURE.search(question)
    if found is None:
        return None
    said = re.findall(r"[a-z'-]+", question[found.end("figure") :].lower())[:3]
    return _counted_in(said, fallback=None)


_MEASURED = re.compile(
    r"\bhow (?:many|much)\s+(?P<counted>(?:[\w'-]+\s+){0,3}?)"
    rf"(?=(?:{_AUXILIARIES}|live|lives|died|work|works)\b)"
    r"|\b(?:population|number|size|share|amount|cost|price|value|total) of\s+"
    r"(?P<of>(?:the\s+)?[\w'-]+(?:\s+[A-Z][\w'-]*)?)",
    re.I,
)


def measured_phrase(question: str) -> str:
    """The words of what a number question measures ("How many Russian troops are...":
    "Russian troops"; "the population of Pokrovsk": "Pokrovsk"): a name among them is
    what the figure must be said of, in the sentence that gives it."""
    return " ".join(
        (m.group("counted") or m.group("of") or "").strip() for m in _MEASURED.finditer(question)
    )


# Phrases for the present: asks_about_now reads them, without_now_frame reads them as "now"
_PRESENT_PHRASES = ("at the moment", "at present", "these days", "right now", "at this point")
_NOW = re.compile(rf"\b(?:now|currently|today|{'|'.join(_PRESENT_PHRASES)})\b")
_HYPOTHETICAL = re.compile(r"\b(?:would|could|will|might|may|should|shall|if)\b")
_PROPOSAL = re.compile(
    r"\b(?:would|will|could|should|shall|calls? for|propos\w*|plan\w*|draft\w*)\b", re.I
)


def without_now_frame(question: str) -> str:
    """The question with a phrase for the present as "now" ("how big is it right now?",
    "these days", "at present"): its words ("right", "days", "present") are not topics."""
    return _NOW_PHRASE.sub("now", question)


_NOW_PHRASE = re.compile(rf"\b(?:{'|'.join(_PRESENT_PHRASES)})\b", re.I)


def asks_about_now(question: str) -> bool:
    """Whether a question asks how things stand ("How big is Ukraine's army now?"), not
    what a proposal would make of them ("How big could it be?")."""
    asked = " ".join(question.lower().split())
    return bool(_NOW.search(asked)) and not _HYPOTHETICAL.search(asked)


def proposes(sentence: str) -> bool:
    """Whether a sentence speaks of what would or will be (a proposal, a plan), rather than
    of how things stand ("was estimated last January at 880,000")."""
    return bool(_PROPOSAL.search(sentence))


def counts(sentence: str, nouns: Sequence[str]) -> bool:
    """Whether a sentence gives a count of one of the nouns: a number just before it, at
    most two words between ("28 key points", "600,000 personnel", "four new stops")."""
    if not nouns:
        return False
    forms = "|".join(sorted({re.escape(n) for n in nouns}, key=len, reverse=True))
    return bool(
        re.search(rf"(?:{_COUNT})(?:[\s-]+[\w'-]+){{0,2}}?[\s-]+(?:{forms})\b", sentence, re.I)
    )


def offers_answer(sentence: str, question: str, wants: Wants, measure: Measure) -> bool:
    """Whether a sentence holds something new of the kind the question wants.

    A "who" question needs a name the question does not already hold, a "where" one a
    place, a "how much money" one a sum, a "when" one a time; a sentence that only
    repeats the question's own names and numbers does not answer it.
    """
    unknown = _WH_WORD.get(wants)
    if unknown is None:
        return True
    if unknown.search(sentence):
        return True  # it speaks of that very unknown: "no detail on who would provide them"
    if wants is Wants.NUMBER:
        found = _new_matches(_MEASURE_FORMS[measure], sentence, question)
        if _ASKS_MAGNITUDE.search(question):  # "How big could the army be?": not "several"
            found -= _VAGUE_COUNTS
        return bool(found)
    if wants is Wants.DATE:
        # "What is the date of the election?" is not answered by "within 100 days"
        wanted = _CALENDAR_DATE if _CALENDAR_ASKED.search(question) else _TIME
        return bool(_new_matches(wanted, sentence, question))
    if wants is Wants.PLACE and _WHERE.match(" ".join(question.lower().split())):
        # "Where did they meet?" wants a location: "in Belgium", "to a US-Russian vehicle",
        # not any name ("a deal to suit Moscow").
        return locates_something(sentence, question)
    if wants is Wants.PERSON and _names_new_role(sentence, question):
        return True  # "Who noticed...?": "Several commentators have pointed out..."
    asked = {t for name in proper_names(question) for t in terms(name)}
    return any(_names_something_new(name, asked) for name in proper_names(sentence))


def locates_something(sentence: str, question: str) -> bool:
    """Whether a sentence places something at a name the question does not hold ("fires a
    missile at Moscow", "held in Belgium"), not merely names one ("out of NATO")."""
    asked = {t for name in proper_names(question) for t in terms(name)}
    named = [m.group(1) for m in _LOCATED_NAME.finditer(sentence)]
    return any(_names_something_new(name, asked) for name in named)


def _names_new_role(sentence: str, question: str) -> bool:
    """Whether a sentence names people by a role (data/people.yaml) the question does not."""
    asked = set(question.lower().split())
    return any(m.group(0).lower() not in asked for m in _ROLE.finditer(sentence))


_ROLE = re.compile(
    r"\b(?:" + "|".join(re.escape(str(w)) for w in load_table("people")["roles"]) + r")\b",
    re.I,
)


_WHERE = re.compile(r"^(?:(?:and|so|but)\s+)?where\b")
_LOCATED_NAME = re.compile(
    r"\b(?i:in|at|to|into|onto|from|near|inside|outside|across|throughout|within|towards?|"
    r"via|between|around)\s+(?:(?i:the|a|an)\s+)?[\"“]?([A-Z][\w‑-]*)(?![\w‑-]|['’]s?\b)"
)  # not a possessive: "a stitch-up in Moscow's favour" places nothing in Moscow


def places_asked(question: str) -> list[str]:
    """The names a question places its topic at ("How many people live in Pokrovsk?":
    "Pokrovsk"): a figure answers it only where its own sentence names that place."""
    return [m.group(1) for m in _LOCATED_NAME.finditer(question)]


def _names_something_new(name: str, asked: set[str]) -> bool:
    """Whether a name says more than the question's own names do: "Russia" and "US" add
    nothing to "the US-Russian vehicle" (Russia ~ Russian: stems that extend each other)."""
    return any(not any(_same_stem(t, a) for a in asked) for t in terms(name))


def _same_stem(one: str, other: str) -> bool:
    if min(len(one), len(other)) < 4:
        return one == other
    return one.startswith(other) or other.startswith(one)


def _new_matches(pattern: re.Pattern[str], sentence: str, question: str) -> set[str]:
    asked = {m.group(0).lower() for m in pattern.finditer(question)}
    return {m.group(0).lower() for m in pattern.finditer(sentence)} - asked


_UNSAID = (  # "there is no detail on who would provide them"
    r"(?:no details?|unclear|not clear|not say|not specif\w*|not state|no indication|"
    r"not known|unknown|no word|silent)\b[^.]{0,30}"
)
_WH_WORD = {
    Wants.NUMBER: re.compile(_UNSAID + r"\bhow (?:many|much|long|big|large)\b", re.I),
    Wants.DATE: re.compile(_UNSAID + r"\bwhen\b", re.I),
    Wants.PERSON: re.compile(_UNSAID + r"\bwho(?:m|se)?\b", re.I),
    Wants.PLACE: re.compile(_UNSAID + r"\bwhere\b", re.I),
    Wants.NAME: re.compile(_UNSAID + r"\b(?:which|what)\b", re.I),
}
_FOLLOW_UP_START = re.compile(
    r"^(?:and|but|also|so|then|plus|or)\b|^(?:what|how) about\b|^(?:why|how|when|where|who)"
    r"(?: so| not)?\s*\??$|^(?:is|was|are|were|does|did) (?:that|it|this)\b"
)
_BACK_REFERENCE = re.compile(
    r"\b(?:it|its|it's|they|them|their|theirs|he|him|his|she|her|hers|that|this|those|these|"
    r"such|there|the same|the other|the former|the latter|then|else|more)\b(?!\s+(?:is|are)\s+"
    r"(?:a|an|the)\b)"
)
_FUNCTION_WORDS = frozenset(
    "a an the and or but so of in on at to for from by with about what which who whom whose "
    "when where why how is are was were be been do does did will would can could should shall "
    "has have had may might must i you we me us my your our please any anything else".split()
)
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    r"forty|fifty|sixty|hundred|thousand|million|billion|trillion|dozen|dozens|hundreds|"
    r"thousands|millions|several|a few|a couple"
)
# Counts that say how many without a size: an answer to "how many?", not to "how big?"
_VAGUE_COUNTS = frozenset({"several", "a few", "a couple"})
_ASKS_MAGNITUDE = re.compile(r"\bhow (?:big|large|small)\b", re.I)
# a count, not a year: "the 2022 invasion" holds no count ("2,022 troops" does)
_COUNT = rf"(?<![\w,.])(?!(?:19|20)\d\d\b)\d[\d,.]*\w*|\b(?:{_NUMBER_WORDS})\b"
_UNIT = r"(?:hours?|days?|weeks?|months?|years?|decades?|centur(?:y|ies))"
_MEASURE_FORMS = {
    Measure.COUNT: re.compile(_COUNT, re.I),
    Measure.PERCENT: re.compile(
        r"\d[\d.,]*\s*(?:%|per\s?cent\b|percent\b)|\b(?:half|quarter|third|two-thirds|"
        r"three-quarters|majority|minority|equally|evenly)\b",
        re.I,
    ),
    Measure.MONEY: re.compile(
        r"[$€£]\s?\d[\d.,]*\s*(?:bn|m|tn|billion|million|trillion)?|"
        r"\d[\d.,]*\s*(?:bn|tn|billion|million|trillion|dollars|euros|pounds)\b",
        re.I,
    ),
    Measure.DURATION: re.compile(
        rf"(?:\d[\d.,]*|\b(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|"
        rf"twelve|several|a few|many|over a|more than a|nearly a|almost a))[\s-]+{_UNIT}\b",
        re.I,
    ),
}
_MEASURES = (
    (
        re.compile(r"\b(?:percentage|percent|per cent|proportion|share|slice|fraction|cut)\b"),
        Measure.PERCENT,
    ),
    (
        re.compile(
            r"\bhow much (?:money|cash|funding)\b|\bhow much (?:would|will|does|did|is|are|was)\b"
            r".*\b(?:cost|worth|pay|paid|spend|spent|invest|fund|raise|give|put in|owe)\b|"
            r"\bhow much\b.*\b(?:money|cash|funds|euros|dollars)\b|"
            r"\bwhat (?:sum|amount|price|cost|bill|value)\b"
        ),
        Measure.MONEY,
    ),
    (
        re.compile(r"\bhow long\b|\bfor how long\b|\bhow many (?:days|weeks|months|years|hours)\b"),
        Measure.DURATION,
    ),
)
_NUMERIC_DATE = r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b"  # "27/11/2025"
# A point in the calendar: what "what date...?" or "which year...?" wants.
_CALENDAR = (
    r"\b(?:1[89]\d\d|20\d\d)\b|(?-i:\bMay\b)(?!\s+(?:be|have|not)\b)|"
    r"\b(?:january|february|march|april|june|july|august|"
    r"september|october|november|december|monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday|thanksgiving|christmas|easter|today|yesterday|tomorrow|tonight)\b|"
    + _NUMERIC_DATE
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
# A day of the calendar written out: "27 November", "November 27th", "27/11/2025".
_DAY_OF_MONTH = re.compile(
    rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?![a-z])|"
    rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b|{_NUMERIC_DATE}",
    re.I,
)
# A holiday named without its date ("by Thanksgiving"): one day of its year, unlike a
# weekday ("on Thursday" may be any Thursday).
_NAMED_DAY = re.compile(
    r"\b(?:thanksgiving|christmas(?: day| eve)?|easter(?: sunday| monday)?|new year's (?:day|eve)|"
    r"independence day|victory day|boxing day|halloween)\b",
    re.I,
)


def states_day_of_month(sentence: str) -> bool:
    """Whether a sentence writes out a day of the calendar ("Thursday 27 November 2025")."""
    return bool(_DAY_OF_MONTH.search(sentence))


def named_days(sentence: str) -> frozenset[str]:
    """The holidays a sentence names ("until Thanksgiving": "thanksgiving")."""
    return frozenset(m.group(0).lower() for m in _NAMED_DAY.finditer(sentence))


_CALENDAR_ASKED = re.compile(
    r"\b(?:dates?|(?:what|which) (?:day|year|month|weekday)|day of the week)\b", re.I
)
_CALENDAR_DATE = re.compile(_CALENDAR, re.I)
_TIME = re.compile(
    _CALENDAR
    + r"|\b(?:spring|summer|autumn|winter)\b|\b(?:within|in|by|after|before|since|until)\s+"
    r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|a few|several)\s+"
    + _UNIT
    + r"|\b(?:last|next|this)\s+(?:week|month|year|weekend)\b|\bago\b"
    # a time of day: "at 23:40", "by 6pm", "at noon"
    r"|\b(?:[01]?\d|2[0-3]):[0-5]\d\b|\b(?:1[0-2]|0?[1-9])\s?(?:am|pm|a\.m\.|p\.m\.)"
    r"|\b(?:noon|midnight|midday)\b",
    re.I,
)


def _as_question(text: str) -> str:
    text = text.strip()
    return text if text.endswith(("?", ".", "!")) else text + "?"


# "did Ukraine ...", "has Kyiv already ...": the auxiliary of something done or not
_DONE_AUXILIARY = re.compile(r"\b(?:did|has|have|had)\s+")
_DONE_ADVERBS = frozenset("already ever actually finally eventually now yet end ended up".split())
_DECIDER_WORDS = 3  # words the one deciding may take between the auxiliary and the verb
_INDEFINITE_SUBJECTS = frozenset("anyone anybody someone somebody everyone everybody".split())


@lru_cache(maxsize=1)
def decision_concepts() -> frozenset[str]:
    """The concepts of a decision a proposal waits for (verbs.yaml: decisions): the synonym
    group each word heads ("accept": agree, sign, say yes...), or its stem ("veto")."""
    lexicon = default_lexicon()
    found: set[str] = set()
    for word in load_table("verbs")["decisions"]:
        word = str(word)
        headed = {label for label, members in lexicon.groups.items() if members[0] == word}
        found |= headed or set(terms(word))
    return frozenset(found)


def asks_decision_taken(question: str) -> str | None:
    """Who a question asks to have taken a decision ("did Ukraine end up saying yes?":
    "ukraine"; "how many points has Kyiv already agreed to?": "kyiv"; "" for no one named),
    or None when it asks no such thing, or what the document says of one ("did the plan say
    Ukraine must agree?"): a sentence answers only by reporting the decision taken."""
    asked = " ".join(question.split())
    for found in _DONE_AUXILIARY.finditer(asked.lower()):
        after = asked[found.end() :].split()
        for length in range(1, _DECIDER_WORDS + 1):
            subject, rest = after[:length], after[length:]
            named = {w.lower() for w in subject}
            if named & (_DOCUMENT_WORDS - {"it", "they", "this", "that"}):
                break  # the document did the saying: "did the plan say Kyiv must agree?"
            while rest and rest[0].lower() in _DONE_ADVERBS:
                rest = rest[1:]
            tokens = default_lexicon().tokens(" ".join(rest[:3]))
            if tokens and tokens[0].concepts & decision_concepts():
                anyone = named <= STOPWORDS | _FUNCTION_WORDS | _INDEFINITE_SUBJECTS
                return "" if anyone else " ".join(subject)
    return None


def reports_decision(
    sentence_tokens: Sequence[Token], by: Callable[[Token], bool] | None = None
) -> bool:
    """Whether a sentence (as lexicon tokens) reports a decision as taken ("Kyiv agreed",
    "Ukraine has rejected it"), not one still to come ("has until Thursday to agree", "would
    sign", "could be accepted"); with `by`, taken by the one it names in the clause before
    the verb ("Nato agrees not to station troops" is no decision of Ukraine's)."""
    for i, token in enumerate(sentence_tokens):
        if not token.concepts & decision_concepts():
            continue
        if {t.raw for t in sentence_tokens[max(0, i - PROSPECTIVE_REACH) : i]} & _PROSPECTIVE:
            continue
        if by is None or _named_in_clause_before(sentence_tokens, i, by):
            return True
    return False


def _named_in_clause_before(
    tokens: Sequence[Token], j: int, is_named: Callable[[Token], bool]
) -> bool:
    before = tokens[max(0, j - SPEAKER_REACH) : j]
    for k in range(len(before) - 1, -1, -1):
        if before[k].raw in _CLAUSE_END or _opens_a_clause(before, k):
            return False
        if is_named(before[k]):
            return True
    return False


PROSPECTIVE_REACH = 2  # words before a decision's verb that may say it is still to come


_WHEN = re.compile(
    r"^(?:(?:and|so|but)\s+)?(?:by\s+|until\s+)?when\s+"
    r"(?:is|are|was|were|does|do|did|will|would|must|should|can|could|has|have)\s+(?P<rest>.+)$"
)


def when_deed(question: str) -> str | None:
    """The deed a "when" question asks the time of: the verb after "to" ("When does Kyiv
    need to agree by?": "agree"; "when is martial law due to be lifted?": "lifted"), with
    the light verb before it when the two are a phrase of the synonym table ("say yes"),
    or a closing participle ("when was the plan leaked?": "leaked"); None for other
    questions and for light verbs alone ("when is it going to happen?")."""
    found = _WHEN.match(" ".join(question.lower().split()).rstrip("?!. "))
    if found is None:
        return None
    light = _LIGHT_VERBS | STOPWORDS
    rest = [w.strip(",;:") for w in found.group("rest").split()]
    if "to" in rest:
        after = rest[rest.index("to") + 1 :]
        for i, word in enumerate(after):
            phrases = _phrases_at(after, i)
            if _VAGUE_DEEDS.intersection(phrases):
                return None  # "when is it going to take place?"
            phrase = next((p for p in phrases if _is_synonym_phrase(p)), None)
            if phrase is not None:
                return phrase  # "say yes", "give up"
            if word not in light:
                return None if word in _VAGUE_DEEDS else word
        return None
    last = rest[-1] if rest else ""
    return last if _is_participle(last) and last not in light | _VAGUE_DEEDS else None


def _phrases_at(words: list[str], i: int) -> list[str]:
    """The phrases of two and three words starting at `i`, the longest first."""
    return [" ".join(words[i : i + n]) for n in (3, 2) if i + n <= len(words)]


def _is_synonym_phrase(phrase: str) -> bool:
    """Whether the words together mean what a synonym group does that the last alone
    does not ("say yes": agree; "say no"... only where the table lists it)."""
    tokens = [t for t in default_lexicon().tokens(phrase) if not t.punct]
    together = set.intersection(*({c for c in t.concepts if c[0] == "~"} for t in tokens))
    alone = {c for t in default_lexicon().tokens(phrase.split()[-1]) for c in t.concepts}
    return bool(together - alone)
